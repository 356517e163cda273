package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/openmed/openmed/core/tokenize"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newTokenizeCmd()) }

func newTokenizeCmd() *cobra.Command {
	var path string
	var words bool
	var workers int
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer DIR_OR_FILE [--words] < lines.txt",
		Short: "Tokenize lines exactly like Hugging Face tokenizers (one JSON object per line)",
		Long: `Reads one text per line from stdin and writes one JSON object per line:
{"ids":[..],"tokens":[..],"offsets":[[s,e],..],"word_ids":[..]}
with special tokens added, offsets in Unicode code points ([0,0] for special
tokens) and word_ids null for special tokens — the format of HF's reference
encodings. --tokenizer is a tokenizer.json, vocab.txt or spm.model file, or a
folder (tokenizer.json if present, else vocab.txt / spm.model with
tokenizer_config.json). With --words each line is split on whitespace into
pre-tokenized words (HF is_split_into_words): word_ids index those words and
offsets are relative to each word. The trailing newline of a line is not part
of its text.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return fmt.Errorf("--tokenizer is required")
			}
			tk, err := tokenize.Load(path)
			if err != nil {
				return err
			}
			return runTokenize(tk, cmd.InOrStdin(), cmd.OutOrStdout(), words, workers)
		},
	}
	cmd.Flags().StringVar(&path, "tokenizer", "", "tokenizer.json / vocab.txt / spm.model file or model folder")
	cmd.Flags().BoolVar(&words, "words", false, "treat each line as whitespace-separated pre-tokenized words")
	cmd.Flags().IntVar(&workers, "workers", 0, "encoding goroutines (0 = GOMAXPROCS)")
	return cmd
}

// tokenizeLine is the JSON written per input line.
type tokenizeLine struct {
	IDs     []int32  `json:"ids"`
	Tokens  []string `json:"tokens"`
	Offsets [][2]int `json:"offsets"`
	WordIDs []*int   `json:"word_ids"`
}

func runTokenize(tk *tokenize.Tokenizer, in io.Reader, out io.Writer, words bool, workers int) error {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriterSize(out, 1<<16)
	defer w.Flush()
	var opts []tokenize.BatchOption
	if workers > 0 {
		opts = append(opts, tokenize.WithWorkers(workers))
	}
	const chunk = 2048
	lines := make([]string, 0, chunk)
	lineNo := 0
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		var encs []*tokenize.Encoding
		var err error
		if words {
			split := make([][]string, len(lines))
			for i, l := range lines {
				split[i] = strings.Fields(l)
			}
			encs, err = tk.EncodeWordsBatch(split, opts...)
		} else {
			encs, err = tk.EncodeBatch(lines, opts...)
		}
		if err != nil {
			return fmt.Errorf("stdin line %d+: %w", lineNo-len(lines)+1, err)
		}
		for _, e := range encs {
			if err := writeEncodingJSON(w, e); err != nil {
				return err
			}
		}
		lines = lines[:0]
		return nil
	}
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 || err == nil {
			lineNo++
			lines = append(lines, strings.TrimSuffix(line, "\n"))
			if len(lines) == chunk {
				if ferr := flush(); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", lineNo+1, err)
		}
	}
	return flush()
}

func writeEncodingJSON(w io.Writer, e *tokenize.Encoding) error {
	l := tokenizeLine{IDs: e.IDs, Tokens: e.Tokens, Offsets: make([][2]int, e.Len()), WordIDs: make([]*int, e.Len())}
	for i := range e.IDs {
		l.Offsets[i] = [2]int{e.CharOffsets[i].Start, e.CharOffsets[i].End}
		if e.WordIDs[i] >= 0 {
			l.WordIDs[i] = &e.WordIDs[i]
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
