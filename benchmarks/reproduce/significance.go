package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
)

// testPredictions is the file training.Train writes into a run's folder:
// the gold test file's tokens with the best weights' predicted tags.
const testPredictions = "test_predictions.tsv"

// SigAlpha is the level at which the table marks a p-value significant.
const SigAlpha = 0.05

// SigShuffles is the number of approximate-randomization shuffles of the
// table's tests (the OpenMed NER paper's §4.1 protocol: 10,000).
const SigShuffles = metrics.DefaultShuffles

// Axis says which factor a paired comparison varies; the other one is held.
type Axis int

const (
	// AxisMethod compares LoRA with full fine-tuning from the same init.
	AxisMethod Axis = iota
	// AxisInit compares the pre-trained with the random init, same method.
	AxisInit
)

// SigTest is the outcome of one paired test in the table: both runs' test
// micro-F1 and the approximate-randomization p-value, or why there is none.
type SigTest struct {
	// A and B are the job names, A the LoRA (AxisMethod) or pre-trained
	// (AxisInit) run.
	A, B string
	// Result is the test; nil when Note says why it was not run.
	Result *metrics.SignificanceResult
	// Note is "pending (<partner>)" when a run has not finished, or "n/a
	// (…)" when a finished run has no predictions file or the partner is
	// not part of the grid.
	Note string
}

// Cell formats the test for the table: the p-value with 4 decimals and a
// trailing "*" when p < SigAlpha, else the note.
func (s SigTest) Cell() string {
	if s.Result == nil {
		return s.Note
	}
	c := fmt.Sprintf("%.4f", s.Result.PValue)
	if s.Result.PValue < SigAlpha {
		c += "*"
	}
	return c
}

// significance runs the table's paired tests on demand and keeps the gold
// files, predictions and results of one Table call in memory (nothing is
// written to disk).
type significance struct {
	o     Options
	gold  map[string]*corpus.Corpus
	preds map[string][][]string
	tests map[string]SigTest
}

func newSignificance(o Options) *significance {
	return &significance{o: o, gold: map[string]*corpus.Corpus{}, preds: map[string][][]string{}, tests: map[string]SigTest{}}
}

// partner returns the fine-tuning job j is compared with along axis, and
// the pair in canonical order (LoRA or pre-trained first), so both rows of a
// pair share one test and one seed.
func partner(j Job, axis Axis) (other Job, a, b Job) {
	other = j
	if axis == AxisMethod {
		other.Method = "full"
		if j.Method == "full" {
			other.Method = "lora"
		}
	} else {
		other.Init = InitRandom
		if j.Init == InitRandom {
			other.Init = InitPretrained
		}
	}
	other.Name = FineTuneName(other.Corpus, other.Method, other.Init)
	if j.Kind == KindDeBERTaFineTune {
		other.Name = DeBERTaFineTuneName(other.Corpus, other.Method, other.Init)
	}
	a, b = j, other
	if (axis == AxisMethod && j.Method == "full") || (axis == AxisInit && j.Init == InitRandom) {
		a, b = other, j
	}
	return other, a, b
}

// label names a partner by the factor the axis varies.
func label(j Job, axis Axis) string {
	if axis == AxisMethod {
		return j.Method
	}
	return j.Init.String()
}

// Test returns the comparison of finished fine-tuning job j with its
// partner along axis (same corpus, the other method or the other init).
// A partner that has not finished gives a "pending" note, not an error; a
// predictions file that does not align with the corpus's test.tsv, or an
// unreadable gold file, is an error naming the file and line.
func (s *significance) Test(j Job, axis Axis) (SigTest, error) {
	other, a, b := partner(j, axis)
	key := a.Name + "|" + b.Name
	if t, ok := s.tests[key]; ok {
		return t, nil
	}
	t := SigTest{A: a.Name, B: b.Name}
	inGrid := contains(s.o.Methods, other.Method) && containsInit(s.o.Inits, other.Init)
	st, err := loadState(other.Dir(s.o.Work), other.Name)
	if err != nil {
		return SigTest{}, err
	}
	pa, err := s.predictions(a)
	if err != nil {
		return SigTest{}, err
	}
	pb, err := s.predictions(b)
	if err != nil {
		return SigTest{}, err
	}
	switch {
	case st.Status != StatusDone && !inGrid:
		t.Note = "n/a (" + label(other, axis) + " not in the grid)"
	case st.Status != StatusDone:
		t.Note = "pending (" + label(other, axis) + ")"
	case pa == nil || pb == nil:
		missing := a
		if pb == nil {
			missing = b
		}
		t.Note = "n/a (no " + testPredictions + ": " + label(missing, axis) + ")"
	default:
		g, err := s.goldTags(j.Corpus)
		if err != nil {
			return SigTest{}, err
		}
		r, err := metrics.ApproximateRandomization(g, pa, pb, metrics.WithShuffles(SigShuffles), metrics.WithSeed(s.o.Seed))
		if err != nil {
			return SigTest{}, fmt.Errorf("reproduce: significance %s vs %s: %w", a.Name, b.Name, err)
		}
		t.Result = &r
	}
	s.tests[key] = t
	return t, nil
}

func containsInit(list []Init, in Init) bool {
	for _, v := range list {
		if v == in {
			return true
		}
	}
	return false
}

// goldFile is the corpus's test split under --data.
func (s *significance) goldFile(c string) string { return filepath.Join(s.o.Data, c, "test.tsv") }

func (s *significance) goldCorpus(c string) (*corpus.Corpus, error) {
	if g, ok := s.gold[c]; ok {
		return g, nil
	}
	g, err := corpus.ReadFile(s.goldFile(c))
	if err != nil {
		return nil, fmt.Errorf("reproduce: significance gold: %w", err)
	}
	s.gold[c] = g
	return g, nil
}

func (s *significance) goldTags(c string) ([][]string, error) {
	g, err := s.goldCorpus(c)
	if err != nil {
		return nil, err
	}
	return g.Tags(), nil
}

// predictions reads a finished job's test_predictions.tsv and checks it
// aligns with the gold test file sentence by sentence and token by token;
// it returns nil (no error) when the job is not done or has no file.
func (s *significance) predictions(j Job) ([][]string, error) {
	if p, ok := s.preds[j.Name]; ok {
		return p, nil
	}
	dir := j.Dir(s.o.Work)
	st, err := loadState(dir, j.Name)
	if err != nil {
		return nil, err
	}
	var tags [][]string
	path := filepath.Join(dir, testPredictions)
	if st.Status == StatusDone {
		if _, err := os.Stat(path); err == nil {
			p, err := corpus.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("reproduce: %s: %w", j.Name, err)
			}
			g, err := s.goldCorpus(j.Corpus)
			if err != nil {
				return nil, err
			}
			if err := corpus.CheckAligned(g, p); err != nil {
				return nil, fmt.Errorf("reproduce: %s: %s does not align with the gold test file: %w", j.Name, path, err)
			}
			tags = p.Tags()
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	s.preds[j.Name] = tags
	return tags, nil
}

// Sentence states the test for the "pre-trained vs random" verdict: both
// runs' test F1 and the p-value, or the note; it starts with a space.
func (s SigTest) Sentence() string {
	if s.Result == nil {
		return " Test significance: " + s.Note + "."
	}
	sig := "not significant"
	if s.Result.PValue < SigAlpha {
		sig = "significant"
	}
	return fmt.Sprintf(" On test: %s vs %s micro-F1, approximate randomization p = %.4f (%s at %.2f).",
		pct(s.Result.F1A), pct(s.Result.F1B), s.Result.PValue, sig, SigAlpha)
}

// sigLegend explains the p-value columns under the table.
func sigLegend(o Options) string {
	return fmt.Sprintf("p-value columns: two-sided paired approximate-randomization test (Noreen 1989; the OpenMed NER paper's §4.1 "+
		"protocol) of the difference in test micro-F1 (seqeval default mode) between two runs' `%s`, against the corpus's "+
		"`test.tsv`: %d shuffles that swap the two runs' predictions per sentence with probability ½, p = (r+1)/(n+1), seed %d "+
		"(the table is reproducible). **p LoRA vs full**: this row's run against the other method's from the same init; "+
		"**p pre-trained vs random**: against the same method's from the other init. Both rows of a pair show the same p "+
		"(their test F1 columns give the direction); `*` marks p < %.2f, and 1/(n+1) ≈ 0.0001 is the smallest p the test "+
		"can give. `pending (x)`: the partner run x has not finished; `n/a (…)`: no test can be run (reason given).",
		testPredictions, SigShuffles, o.Seed, SigAlpha)
}
