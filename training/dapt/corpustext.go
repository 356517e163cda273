package dapt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
)

// TextStats describes DAPT text built from labelled corpora.
type TextStats struct {
	// Corpora are the corpora whose train split was used, in order.
	Corpora []string `json:"corpora"`
	// Sentences counts the train sentences read; Unique those kept.
	Sentences int `json:"sentences"`
	Unique    int `json:"unique_sentences"`
	// Words counts the kept sentences' words.
	Words int `json:"words"`
	// DroppedEval counts train sentences dropped because the same sentence
	// is in some corpus's devel or test split.
	DroppedEval int `json:"dropped_eval_overlap"`
}

// CorpusText returns the domain-adaptive pre-training text of the paper's
// recipe (§3.2) from the labelled corpora under data: the train split of
// each corpus (data/<name>/train.tsv; all that have one when corpora is
// empty, in name order), one sentence per line with its tokens joined by
// single spaces, in corpus then file order. Never devel or test text:
// duplicates are dropped (BC5CDR-Chem and BC5CDR-Disease share their text)
// and so is any train sentence that also occurs in a devel.tsv or test.tsv
// of any corpus under data.
func CorpusText(data string, corpora []string) ([]string, *TextStats, error) {
	if len(corpora) == 0 {
		ms, _ := filepath.Glob(filepath.Join(data, "*", "train.tsv"))
		for _, m := range ms {
			corpora = append(corpora, filepath.Base(filepath.Dir(m)))
		}
		sort.Strings(corpora)
	}
	held := map[string]bool{}
	evals, _ := filepath.Glob(filepath.Join(data, "*", "devel.tsv"))
	tests, _ := filepath.Glob(filepath.Join(data, "*", "test.tsv"))
	for _, p := range append(evals, tests...) {
		c, err := corpus.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range c.Sentences {
			held[strings.Join(s.Words(), " ")] = true
		}
	}
	st := &TextStats{}
	seen := map[string]bool{}
	var lines []string
	for _, name := range corpora {
		p := filepath.Join(data, name, "train.tsv")
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		c, err := corpus.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range c.Sentences {
			line := strings.Join(s.Words(), " ")
			st.Sentences++
			switch {
			case line == "" || seen[line]:
				continue
			case held[line]:
				st.DroppedEval++
				seen[line] = true
				continue
			}
			seen[line] = true
			st.Unique++
			st.Words += s.Len()
			lines = append(lines, line)
		}
		st.Corpora = append(st.Corpora, name)
	}
	if st.Unique == 0 {
		return nil, nil, fmt.Errorf("dapt: no train.tsv text of %v under %s", corpora, data)
	}
	return lines, st, nil
}

// WriteCorpusText writes CorpusText to out (atomically), one line each.
func WriteCorpusText(data string, corpora []string, out string) (*TextStats, error) {
	lines, st, err := CorpusText(data, corpora)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	return st, checkpoint.WriteFileAtomic(out, []byte(strings.Join(lines, "\n")+"\n"))
}
