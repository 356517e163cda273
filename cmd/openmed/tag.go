package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/models"
)

// tagFlags are the options of `openmed tag`.
type tagFlags struct {
	model, backend, device, aggregation, format, out, cache, base, use string
	text                                                               []string
	inputs, adapters, ignore                                           []string
	threshold                                                          float32
	overlap                                                            string
	window, stride, batch, batchTokens, threads                        int
	allAdapters, quiet                                                 bool
	precision                                                          tensor.Precision
}

func newTagCmd() *cobra.Command {
	var f tagFlags
	cmd := &cobra.Command{
		Use:   "tag [--model DIR] (TEXT... | --text TEXT | --input FILE... | stdin)",
		Short: "Tag biomedical entities in text (ONNX Runtime or the Go engine)",
		Long: `Tag runs a token-classification model over whole documents: HF-exact
tokenisation, windows of 256 tokens with a 50-token stride (stitched so each
token's prediction comes from the window where it is farthest from an edge),
then Hugging Face TokenClassificationPipeline aggregation (none, simple,
first, average, max). Offsets are Unicode code points.

--model is an HF token-classification folder, an ONNX export (openmed
export), a PEFT adapter folder (merged onto its base and exported into the
cache) or a folder with a default.json manifest (a base plus named
adapters). Without --model the default tagger is used: $OPENMED_MODEL, else
the models embedded in this binary (models/default.json: LoRA adapters
named disease, disease-cdr and chemical, …, over bert-base-cased from the
encoder cache with its DAPT delta merged in — 'openmed encoders install
bert-base-cased' once, make setup does it; see models/README.md; extracted
once into $OPENMED_CACHE or the user cache), else models/default.json beside
the binary or the working directory. --model fast is the small CPU-trained
tagger (models/fast.json), far faster.
--adapter [NAME=]DIR attaches adapters to the same base (named by their
folder unless NAME= is given). Without --use, attached adapters are used —
one alone, several together (the union of their typed entities), as the C
ABI and Python do; --use NAME tags with one.

Input: TEXT arguments and --text (one document each), or --input files
(each one document; "-" is stdin), or stdin.
With --format jsonl every input line is a document ({"text": ...} or plain
text) and every output line is {"text": ..., "entities": [...]}.
Formats: json, jsonl, conll (word<TAB>tag; with several adapters, as the
default tagger has, the flat union of their entities: overlapping entities of
different types keep the higher score), brat (.ann standoff; with several
--input files and --out DIR, one DIR/<name>.ann per file).
Invalid UTF-8 is an error naming the document.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.text = append(args, f.text...)
			return runTag(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model folder (HF, ONNX export, PEFT adapter or default.json folder) or preset name (default, fast); default $OPENMED_MODEL, else the embedded default tagger")
	fl.StringVar(&f.base, "base", "", "base model of an adapter --model whose adapter_config.json path does not resolve")
	fl.StringArrayVar(&f.adapters, "adapter", nil, "[NAME=]DIR: attach a PEFT adapter to the base (repeatable; named by its folder by default)")
	fl.StringVar(&f.use, "use", "", "tag with this adapter (of --adapter, or of the default tagger or a manifest, which then opens it alone)")
	fl.BoolVar(&f.allAdapters, "all-adapters", false, "tag with every --adapter and return the union")
	fl.StringVar(&f.backend, "backend", "auto", "auto (ORT if available, else go), ort or go")
	fl.StringVar(&f.device, "device", "cpu", "ONNX Runtime device: cpu or cuda")
	fl.IntVar(&f.threads, "threads", 0, "threads: ONNX Runtime intra-op threads, or the Go engine's (0 = one per core)")
	fl.Var(textFlag{&f.precision}, "precision", tagPrecisionUsage)
	fl.StringVar(&f.aggregation, "aggregation", tagger.DefaultOptions().Aggregation.String(), "none, simple, first, average or max (HF aggregation_strategy; first matches training: labels sit on a word's first sub-token)")
	fl.StringSliceVar(&f.ignore, "ignore-labels", []string{"O"}, "labels to drop (HF ignore_labels); --ignore-labels= keeps all")
	fl.Float32Var(&f.threshold, "threshold", 0, "drop entities scoring below this")
	fl.StringVar(&f.overlap, "overlap", "same-type", "with several adapters, overlapping entities collapse to the higher score: same-type (the union of types) or any (a flat list)")
	fl.IntVar(&f.window, "window", 0, "window length in tokens, up to max_position_embeddings (0 = 256, capped at it)")
	fl.IntVar(&f.stride, "stride", 50, "tokens shared by consecutive windows")
	fl.IntVar(&f.batch, "batch-size", tagger.DefaultOptions().BatchSize, "windows per model call")
	fl.IntVar(&f.batchTokens, "batch-tokens", tagger.DefaultOptions().BatchTokens, "padded tokens per model call (windows × length; 0 = sized by the encoder's width, 512 for BERT-base; -1 = no cap)")
	fl.StringVar(&f.format, "format", "json", "json, jsonl, conll or brat")
	fl.StringArrayVar(&f.text, "text", nil, "text to tag (repeatable: one document each)")
	fl.StringArrayVar(&f.inputs, "input", nil, "input file (repeatable; - is stdin)")
	fl.StringVar(&f.out, "out", "", "output file (or folder for brat with several inputs); default stdout")
	fl.StringVar(&f.cache, "cache", "", "ONNX export cache folder (default $OPENMED_CACHE or the user cache)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	return cmd
}

func init() {
	// The default tagger ships inside the binary (package models).
	tagger.RegisterDefaultFS(models.FS)
	rootCmd.AddCommand(newTagCmd())
}

// tagDoc is one input document.
type tagDoc struct {
	name, text string
}

func runTag(cmd *cobra.Command, f tagFlags) error {
	format, err := tagger.ParseFormat(f.format)
	if err != nil {
		return err
	}
	agg, err := tagger.ParseAggregation(f.aggregation)
	if err != nil {
		return err
	}
	backend, err := tagger.ParseBackend(f.backend)
	if err != nil {
		return err
	}
	device, err := tagger.ParseDevice(f.device)
	if err != nil {
		return err
	}
	if f.use != "" && f.allAdapters {
		return fmt.Errorf("--use and --all-adapters exclude each other")
	}
	docs, err := readTagInputs(cmd, f, format)
	if err != nil {
		return err
	}
	overlap, err := tagger.ParseOverlap(f.overlap)
	if err != nil {
		return fmt.Errorf("--overlap: %w", err)
	}
	var ignore []string
	for _, l := range f.ignore {
		if l != "" {
			ignore = append(ignore, l)
		}
	}
	openOpts := []tagger.Option{tagger.WithBackend(backend), tagger.WithDevice(device), tagger.WithThreads(f.threads), tagger.WithPrecision(f.precision),
		tagger.WithAggregation(agg), tagger.WithIgnoreLabels(ignore...), tagger.WithThreshold(f.threshold),
		tagger.WithOverlap(overlap), tagger.WithWindow(f.window, f.stride), tagger.WithBatchSize(f.batch), tagger.WithBatchTokens(f.batchTokens), tagger.WithCacheDir(f.cache), tagger.WithBaseDir(f.base)}
	if f.use != "" && len(f.adapters) == 0 {
		// a manifest (the default tagger) opens that adapter alone
		openOpts = append(openOpts, tagger.WithUse(f.use))
	}
	tg, err := tagger.Open(f.model, openOpts...)
	if err != nil {
		return err
	}
	defer tg.Close()
	for _, a := range f.adapters {
		name, dir, ok := strings.Cut(a, "=")
		if !ok {
			name, dir = tagger.AdapterName(a, tg.Adapters()), a
		}
		if name == "" || dir == "" {
			return fmt.Errorf("--adapter %q: want DIR or NAME=DIR", a)
		}
		if err := tg.AddAdapter(name, dir); err != nil {
			return err
		}
	}
	var topts []tagger.TagOption
	switch {
	case f.use != "":
		topts = append(topts, tagger.WithAdapter(f.use))
	case f.allAdapters:
		topts = append(topts, tagger.WithAllAdapters())
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt)
	defer stop()
	bar := newTagBar(cmd.ErrOrStderr(), f.quiet || len(f.inputs) == 0 && format != tagger.FormatJSONL, len(docs))
	results := make([]tagger.Document, len(docs))
	var toks [][]tagger.Token
	for i, n := 0, 1; i < len(docs); i += n {
		d := docs[i]
		n = 1
		switch {
		case format == tagger.FormatCoNLL:
			tk, err := tg.TagTokens(ctx, d.text, topts...)
			if err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			toks = append(toks, tk)
		case len(d.text) > tagger.LongDocumentBytes:
			longDocumentGC()
			opts := topts
			if !f.quiet {
				opts = append(append([]tagger.TagOption(nil), topts...), tagger.WithProgress(longProgress(cmd.ErrOrStderr(), d.name)))
			}
			ents, err := tg.Tag(ctx, d.text, opts...)
			if err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			results[i] = tagger.Document{Text: d.text, Entities: ents}
		default:
			var err error
			if n, err = tagGroup(ctx, tg, docs[i:], results[i:], topts); err != nil {
				return err
			}
		}
		if bar != nil {
			_ = bar.Add(n)
		}
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	return writeTagOutput(cmd, f, format, docs, results, toks)
}

// groupBytes bounds the text of the documents tagGroup passes to one
// TagBatch call.
const groupBytes = 256 << 10

// tagGroup tags the leading documents of docs that are not long — as many as
// fit in groupBytes, at least one — with one TagBatch call, so the tagger
// batches their windows by length across documents (one abstract alone is a
// full window and a short tail), writes their results and returns how many
// it took. When the call fails for a reason other than cancellation, it
// tags them one by one to name the failing document.
func tagGroup(ctx context.Context, tg *tagger.Tagger, docs []tagDoc, results []tagger.Document, opts []tagger.TagOption) (int, error) {
	n, size := 0, 0
	for n < len(docs) && len(docs[n].text) <= tagger.LongDocumentBytes && (n == 0 || size+len(docs[n].text) <= groupBytes) {
		size += len(docs[n].text)
		n++
	}
	texts := make([]string, n)
	for k := range texts {
		texts[k] = docs[k].text
	}
	ents, err := tg.TagBatch(ctx, texts, opts...)
	if err != nil && ctx.Err() == nil {
		for k := range texts {
			if _, err1 := tg.Tag(ctx, texts[k], opts...); err1 != nil {
				return 0, fmt.Errorf("%s: %w", docs[k].name, err1)
			}
		}
	}
	if err != nil {
		return 0, err
	}
	for k := range texts {
		results[k] = tagger.Document{Text: texts[k], Entities: ents[k]}
	}
	return n, nil
}

// longDocumentGCPercent is the Go GC target the CLI sets for the rest of
// the process once it streams a long document (unless GOGC or GOMEMLIMIT is
// set): the default 100 lets the heap grow to twice the live data between
// collections. A 5 MB one-line document with the default tagger peaked at
// 403 MB RSS with GOGC 100 and 272 MB with 25, with byte-identical output
// (benchmarks/RESULTS.md, 2026-12-06).
const longDocumentGCPercent = 25

// longDocumentGC lowers the GC target once for long documents.
func longDocumentGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(longDocumentGCPercent)
	}
}

// longProgress reports a streamed long document's progress on stderr, a
// line per tenth of the text (also when stderr is a file or a pipe, where no
// bar is drawn), with the rate so far. With several adapters each one's
// pass is a new round (the tagger reports each from 0).
func longProgress(w io.Writer, name string) func(done, total int) {
	start, next, last, pass := time.Now(), 0.1, 0, 1
	return func(done, total int) {
		if done < last {
			pass, next = pass+1, 0.1
		}
		last = done
		frac := float64(done) / float64(total)
		if frac+1e-9 < next && done < total {
			return
		}
		for next <= frac+1e-9 {
			next += 0.1
		}
		secs := time.Since(start).Seconds()
		fmt.Fprintf(w, "tag: %s: pass %d: %3.0f%% (%.1f of %.1f MB; %.0f KB/s over all passes)\n", name, pass, 100*frac,
			float64(done)/1e6, float64(total)/1e6, float64((pass-1)*total+done)/1e3/max(secs, 1e-9))
	}
}

func newTagBar(w io.Writer, quiet bool, n int) *progressbar.ProgressBar {
	fh, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(fh.Fd())) {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("doc"), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200_000_000),
		progressbar.OptionSetDescription("tagging"))
}

func readTagInputs(cmd *cobra.Command, f tagFlags, format tagger.Format) ([]tagDoc, error) {
	var docs []tagDoc
	for i, t := range f.text {
		docs = append(docs, tagDoc{name: fmt.Sprintf("--text #%d", i+1), text: t})
	}
	inputs := f.inputs
	if len(f.text) == 0 && len(inputs) == 0 {
		inputs = []string{"-"}
	}
	for _, in := range inputs {
		var data []byte
		var err error
		name := in
		if in == "-" {
			name = "stdin"
			data, err = io.ReadAll(cmd.InOrStdin())
		} else {
			data, err = os.ReadFile(in)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if format == tagger.FormatJSONL {
			texts, err := tagger.ReadJSONL(bytes.NewReader(data), name)
			if err != nil {
				return nil, err
			}
			for k, t := range texts {
				docs = append(docs, tagDoc{name: fmt.Sprintf("%s:%d", name, k+1), text: t})
			}
			continue
		}
		docs = append(docs, tagDoc{name: name, text: string(data)})
	}
	return docs, nil
}

func writeTagOutput(cmd *cobra.Command, f tagFlags, format tagger.Format, docs []tagDoc, results []tagger.Document, toks [][]tagger.Token) error {
	if format == tagger.FormatBrat && len(f.inputs) > 1 && f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return err
		}
		for i, d := range docs {
			var b bytes.Buffer
			if err := tagger.WriteBrat(&b, results[i].Entities); err != nil {
				return err
			}
			base := strings.TrimSuffix(filepath.Base(d.name), filepath.Ext(d.name))
			if err := os.WriteFile(filepath.Join(f.out, base+".ann"), b.Bytes(), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	var b bytes.Buffer
	switch format {
	case tagger.FormatJSONL:
		if err := tagger.WriteJSONL(&b, results); err != nil {
			return err
		}
	case tagger.FormatJSON:
		var v any = results
		if len(results) == 1 {
			v = results[0]
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	case tagger.FormatCoNLL:
		for _, t := range toks {
			if err := tagger.WriteCoNLL(&b, t); err != nil {
				return err
			}
		}
	case tagger.FormatBrat:
		if len(results) > 1 {
			return fmt.Errorf("brat output holds one document: pass one --input/--text, or several --input files with --out DIR")
		}
		if err := tagger.WriteBrat(&b, results[0].Entities); err != nil {
			return err
		}
	}
	if f.out == "" {
		_, err := cmd.OutOrStdout().Write(b.Bytes())
		return err
	}
	return os.WriteFile(f.out, b.Bytes(), 0o644)
}
