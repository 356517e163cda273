package search

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/training"
)

// Prediction files the trainer writes beside metrics.json with the best weights.
const (
	DevPredictions  = "dev_predictions.tsv"
	TestPredictions = "test_predictions.tsv"
)

// SelectOptions configure Select. DefaultSelectOptions are the paper's §4.1 test:
// 10 000 shuffles, 10 000 bootstrap resamples, 95% intervals, seed 0.
type SelectOptions struct {
	// Gold is the gold test CoNLL file; empty means the "test" field of the
	// winner's training_args.json.
	Gold string
	// Shuffles, Resamples, Confidence and Seed configure the significance test and
	// the bootstrap intervals.
	Shuffles, Resamples int
	Confidence          float64
	Seed                uint64
}

// DefaultSelectOptions returns the paper's settings.
func DefaultSelectOptions() SelectOptions {
	return SelectOptions{Shuffles: metrics.DefaultShuffles, Resamples: 10000, Confidence: 0.95}
}

// RunScore is one candidate run (a trainer output dir) with its dev and test micro-F1
// from metrics.json.
type RunScore struct {
	Dir    string   `json:"dir"`
	DevF1  float64  `json:"dev_f1"`
	TestF1 *float64 `json:"test_f1,omitempty"`
}

// Selection is the best-of-breed choice (§3.5) among runs of one corpus: runs sorted
// by dev F1 (best first), the winner and the runner-up, and the winner-versus-runner-up
// comparison on test (§4.1): approximate randomization p-value and bootstrap
// intervals for each F1 and for the difference.
type Selection struct {
	Corpus   string     `json:"corpus,omitempty"`
	Gold     string     `json:"gold,omitempty"`
	Runs     []RunScore `json:"runs"`
	Winner   RunScore   `json:"winner"`
	RunnerUp *RunScore  `json:"runner_up,omitempty"`
	// Test is the approximate-randomization test of winner (A) vs runner-up (B) on
	// test; CIWinner, CIRunnerUp and CIDiff the bootstrap intervals. Nil with one run.
	Test       *metrics.SignificanceResult `json:"test,omitempty"`
	CIWinner   *metrics.Interval           `json:"ci_winner,omitempty"`
	CIRunnerUp *metrics.Interval           `json:"ci_runner_up,omitempty"`
	CIDiff     *metrics.Interval           `json:"ci_diff,omitempty"`
}

// ReadRunScore reads a trainer output dir's metrics.json
// (training.ReadRunMetrics).
func ReadRunScore(dir string) (RunScore, error) {
	m, err := training.ReadRunMetrics(dir)
	if err != nil {
		return RunScore{}, fmt.Errorf("search: run %s: %w", dir, err)
	}
	if m.Dev == nil {
		return RunScore{}, fmt.Errorf("search: %s: no \"dev\" scores (the run had no dev set)", filepath.Join(dir, training.MetricsFile))
	}
	rs := RunScore{Dir: dir, DevF1: m.Dev.Micro.F1}
	if m.Test != nil {
		f := m.Test.Micro.F1
		rs.TestF1 = &f
	}
	return rs, nil
}

// Select picks the run with the highest dev micro-F1 (ties: the earlier in dirs) and,
// with two or more runs, compares the winner with the runner-up on the gold test set
// using each run's test_predictions.tsv.
func Select(dirs []string, o SelectOptions) (*Selection, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("search: select: no runs")
	}
	sel := &Selection{}
	for _, d := range dirs {
		rs, err := ReadRunScore(d)
		if err != nil {
			return nil, err
		}
		sel.Runs = append(sel.Runs, rs)
	}
	sort.SliceStable(sel.Runs, func(i, j int) bool { return sel.Runs[i].DevF1 > sel.Runs[j].DevF1 })
	sel.Winner = sel.Runs[0]
	if len(sel.Runs) == 1 {
		return sel, nil
	}
	ru := sel.Runs[1]
	sel.RunnerUp = &ru
	gold := o.Gold
	if gold == "" {
		var err error
		if gold, err = trainingTest(sel.Winner.Dir); err != nil {
			return nil, err
		}
	}
	sel.Gold = gold
	g, err := corpus.ReadFile(gold)
	if err != nil {
		return nil, err
	}
	a, err := readPredictions(filepath.Join(sel.Winner.Dir, TestPredictions), g)
	if err != nil {
		return nil, err
	}
	b, err := readPredictions(filepath.Join(ru.Dir, TestPredictions), g)
	if err != nil {
		return nil, err
	}
	gt := g.Tags()
	sig, err := metrics.ApproximateRandomization(gt, a, b, metrics.WithShuffles(o.Shuffles), metrics.WithSeed(o.Seed))
	if err != nil {
		return nil, err
	}
	bo := []metrics.Option{metrics.WithResamples(o.Resamples), metrics.WithConfidence(o.Confidence), metrics.WithSeed(o.Seed)}
	ciA, err := metrics.Bootstrap(gt, a, bo...)
	if err != nil {
		return nil, err
	}
	ciB, err := metrics.Bootstrap(gt, b, bo...)
	if err != nil {
		return nil, err
	}
	ciD, err := metrics.BootstrapDiff(gt, a, b, bo...)
	if err != nil {
		return nil, err
	}
	sel.Test, sel.CIWinner, sel.CIRunnerUp, sel.CIDiff = &sig, &ciA, &ciB, &ciD
	return sel, nil
}

// trainingTest returns the test file recorded in a run's training_args.json.
func trainingTest(dir string) (string, error) {
	p := filepath.Join(dir, "training_args.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("search: select: no gold file given (--gold, Python gold=) and %w", err)
	}
	var args struct {
		Test string `json:"test"`
	}
	if err := json.Unmarshal(b, &args); err != nil {
		return "", fmt.Errorf("search: %s: %w", p, err)
	}
	if args.Test == "" {
		return "", fmt.Errorf("search: select: no gold file given (--gold, Python gold=) and %s has no \"test\" file", p)
	}
	return args.Test, nil
}

// readPredictions reads a prediction CoNLL file and checks it has the gold file's
// sentences and words.
func readPredictions(path string, gold *corpus.Corpus) ([][]string, error) {
	p, err := corpus.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if len(p.Sentences) != len(gold.Sentences) {
		return nil, fmt.Errorf("search: %s: %d sentences, gold %s has %d", path, len(p.Sentences), gold.Name, len(gold.Sentences))
	}
	for i, s := range p.Sentences {
		if !slices.Equal(s.Words(), gold.Sentences[i].Words()) {
			return nil, fmt.Errorf("search: %s:%d: sentence %d's words differ from gold %s:%d", path, s.Line, i+1, gold.Name, gold.Sentences[i].Line)
		}
	}
	return p.Tags(), nil
}
