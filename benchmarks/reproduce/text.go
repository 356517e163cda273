package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
)

// textFile is the pre-training text inside the work dir.
const textFile = "pretrain_text.txt"

// TextStats describes the pre-training text.
type TextStats struct {
	Corpora   []string `json:"corpora"`
	Sentences int      `json:"sentences"`
	Unique    int      `json:"unique_sentences"`
	Words     int      `json:"words"`
}

// BuildText writes the pre-training text: the *train* splits of every corpus
// of Corpora present under data (never devel or test), one sentence per
// line with its tokens joined by single spaces, duplicates dropped (BC5CDR-
// Chem and BC5CDR-Disease share their text), in corpus then file order.
func BuildText(data, out string) (*TextStats, error) {
	st := &TextStats{}
	seen := map[string]bool{}
	var b strings.Builder
	for _, c := range Corpora {
		p := filepath.Join(data, c, "train.tsv")
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		rd := corpus.NewReader(bufio.NewReader(f), p)
		for {
			s, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, err
			}
			words := s.Words()
			line := strings.Join(words, " ")
			st.Sentences++
			if line == "" || seen[line] {
				continue
			}
			seen[line] = true
			st.Unique++
			st.Words += len(words)
			b.WriteString(line)
			b.WriteByte('\n')
		}
		f.Close()
		st.Corpora = append(st.Corpora, c)
	}
	if st.Unique == 0 {
		return nil, fmt.Errorf("reproduce: no train.tsv of %v under %s", Corpora, data)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	return st, checkpoint.WriteFileAtomic(out, []byte(b.String()))
}
