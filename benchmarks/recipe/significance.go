package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
)

// testPredictions is the file `openmed train` writes into a run folder: the
// test file's tokens with the best weights' tags.
const testPredictions = "test_predictions.tsv"

// pairs are the paired comparisons of the table: A against B on the same
// corpus's test sentences.
func pairs(c string) [][2]Job {
	find := func(enc, variant string) Job {
		for _, j := range AllJobs() {
			if j.Encoder.Name == enc && j.Corpus == c && j.Variant.Name == variant {
				return j
			}
		}
		return Job{}
	}
	out := [][2]Job{{find(Encoders[1].Name, "lora"), find(Encoders[0].Name, "lora")}}
	if contains(AblationCorpora, c) {
		for _, e := range Encoders {
			for _, v := range []string{"lora-nodapt", "full", "lora-all", "lora-bf16"} {
				out = append(out, [2]Job{find(e.Name, "lora"), find(e.Name, v)})
			}
		}
	}
	return out
}

// sigRow runs the approximate-randomization test (10,000 shuffles, the
// paper's §4.1 protocol) of a against b on their test predictions; "" when
// either run has none yet.
func sigRow(o Options, a, b Job) (string, error) {
	if a.Corpus == "" || b.Corpus == "" {
		return "", nil
	}
	gold, err := corpus.ReadFile(filepath.Join(o.Data, a.Corpus, "test.tsv"))
	if err != nil {
		return "", err
	}
	read := func(j Job) ([][]string, bool, error) {
		p := filepath.Join(resultDir(o, j), testPredictions)
		if !exists(p) {
			return nil, false, nil
		}
		c, err := corpus.ReadFile(p)
		if err != nil {
			return nil, false, err
		}
		out := make([][]string, len(c.Sentences))
		for i, s := range c.Sentences {
			out[i] = s.Tags()
		}
		return out, true, nil
	}
	pa, okA, err := read(a)
	if err != nil || !okA {
		return "", err
	}
	pb, okB, err := read(b)
	if err != nil || !okB {
		return "", err
	}
	g := make([][]string, len(gold.Sentences))
	for i, s := range gold.Sentences {
		g[i] = s.Tags()
	}
	r, err := metrics.ApproximateRandomization(g, pa, pb, metrics.WithShuffles(metrics.DefaultShuffles))
	if err != nil {
		return "", fmt.Errorf("%s vs %s: %w", a.Name(), b.Name(), err)
	}
	mark := ""
	if r.PValue < 0.05 {
		mark = " *"
	}
	return fmt.Sprintf("| %s | %s | %s | %.2f | %.2f | %+.2f | %.4f%s |", a.Corpus, label(a), label(b), 100*r.F1A, 100*r.F1B, 100*r.Diff, r.PValue, mark), nil
}

func label(j Job) string { return strings.TrimSuffix(j.Encoder.Name, "-cased") + " " + j.Variant.Name }
