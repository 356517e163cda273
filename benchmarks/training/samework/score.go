package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/benchmarks/training/features"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/core/scheme"
)

// Predictions is what each side writes after training (D/<side>/pred.json):
// the argmax class of every position of every test window, plus its timing.
type Predictions struct {
	Argmax [][]int32 `json:"argmax"`
	// TrainSeconds is the training wall time (evaluation excluded).
	TrainSeconds float64 `json:"train_seconds"`
	// TrainTokens counts the training tokens processed (unpadded, specials included).
	TrainTokens int64 `json:"train_tokens"`
	// PaddedTokens counts the positions computed (Batch×SeqLen summed).
	PaddedTokens int64     `json:"padded_tokens"`
	Steps        int       `json:"steps"`
	EpochLoss    []float64 `json:"epoch_loss"`
	Engine       string    `json:"engine"`
	Threads      int       `json:"threads"`
	// TrainerTestF1 is training.Train's own test evaluation (openmed side),
	// a cross-check that the shared scorer agrees with the trainer's.
	TrainerTestF1 float64 `json:"trainer_test_f1,omitempty"`
}

// Result is D/<side>/result.json.
type Result struct {
	Name          string    `json:"name"`
	F1            float64   `json:"f1"`
	Precision     float64   `json:"precision"`
	Recall        float64   `json:"recall"`
	StrictF1      float64   `json:"strict_f1"`
	TrainSeconds  float64   `json:"train_seconds"`
	TokensPerSec  float64   `json:"tokens_per_sec"`
	PaddedPerSec  float64   `json:"padded_tokens_per_sec"`
	TrainTokens   int64     `json:"train_tokens"`
	Steps         int       `json:"steps"`
	EpochLoss     []float64 `json:"epoch_loss"`
	Engine        string    `json:"engine"`
	Threads       int       `json:"threads"`
	PredictionOut string    `json:"prediction_conll"`
	TrainerTestF1 float64   `json:"trainer_test_f1,omitempty"`
}

// wordTags turns per-window argmax classes into per-word tags exactly as the
// trainer's evaluation does: each word read at its owning window's first
// sub-token, "O" for words without a sub-token, then IOB2 repair.
func wordTags(f *Features, test *corpus.Corpus, argmax [][]int32) ([][]string, error) {
	if len(argmax) != len(f.Test) {
		return nil, fmt.Errorf("predictions: %d windows, features have %d", len(argmax), len(f.Test))
	}
	pred := make([][]string, len(test.Sentences))
	for i, s := range test.Sentences {
		pred[i] = make([]string, s.Len())
		for j := range pred[i] {
			pred[i][j] = "O"
		}
	}
	for k, ex := range f.Test {
		if len(argmax[k]) != len(ex.IDs) {
			return nil, fmt.Errorf("predictions: window %d has %d positions, want %d", k, len(argmax[k]), len(ex.IDs))
		}
		for i, w := range ex.Owned {
			if w < 0 {
				continue
			}
			c := argmax[k][i]
			if c < 0 || int(c) >= len(f.Labels) {
				return nil, fmt.Errorf("predictions: window %d position %d: class %d out of range", k, i, c)
			}
			pred[ex.Sent][w] = f.Labels[c]
		}
	}
	for i := range pred {
		pred[i] = scheme.RepairIOB2(pred[i])
	}
	return pred, nil
}

func runScore(args []string) error {
	fs, dir := newFlags("score")
	predPath := fs.String("pred", "", "predictions JSON (required)")
	name := fs.String("name", "", "side name: output goes to DIR/NAME/ (required)")
	_ = fs.Parse(args)
	if *dir == "" || *predPath == "" || *name == "" {
		return fmt.Errorf("score: -dir, -pred and -name are required")
	}
	var r Recipe
	var f Features
	var p Predictions
	if err := features.ReadJSON(filepath.Join(*dir, "recipe.json"), &r); err != nil {
		return err
	}
	if err := features.ReadJSON(filepath.Join(*dir, "features.json"), &f); err != nil {
		return err
	}
	if err := features.ReadJSON(*predPath, &p); err != nil {
		return err
	}
	test, err := corpus.ReadFile(r.Test)
	if err != nil {
		return err
	}
	pred, err := wordTags(&f, test, p.Argmax)
	if err != nil {
		return fmt.Errorf("%s: %w", *predPath, err)
	}
	gold := test.Tags()
	def, err := metrics.Evaluate(gold, pred)
	if err != nil {
		return err
	}
	strict, err := metrics.Evaluate(gold, pred, metrics.WithMode(scheme.Strict), metrics.WithScheme(scheme.IOB2))
	if err != nil {
		return err
	}
	out := filepath.Join(*dir, *name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	conll := filepath.Join(out, "test_pred.conll")
	sents := make([]corpus.Sentence, len(test.Sentences))
	for i, s := range test.Sentences {
		ns := corpus.Sentence{Doc: s.Doc, Line: s.Line, Tokens: make([]corpus.Token, len(s.Tokens))}
		for j, t := range s.Tokens {
			ns.Tokens[j] = corpus.Token{Text: t.Text, Tag: pred[i][j]}
		}
		sents[i] = ns
	}
	if err := corpus.WriteFile(conll, sents); err != nil {
		return err
	}
	res := Result{Name: *name, F1: def.Micro.F1, Precision: def.Micro.Precision, Recall: def.Micro.Recall,
		StrictF1: strict.Micro.F1, TrainSeconds: p.TrainSeconds, TrainTokens: p.TrainTokens, Steps: p.Steps,
		EpochLoss: p.EpochLoss, Engine: p.Engine, Threads: p.Threads, PredictionOut: conll, TrainerTestF1: p.TrainerTestF1}
	if p.TrainSeconds > 0 {
		res.TokensPerSec = float64(p.TrainTokens) / p.TrainSeconds
		res.PaddedPerSec = float64(p.PaddedTokens) / p.TrainSeconds
	}
	if p.TrainerTestF1 != 0 && math.Abs(p.TrainerTestF1-res.F1) > 1e-12 {
		return fmt.Errorf("%s: shared scorer F1 %.6f differs from training.Train's test F1 %.6f", *predPath, res.F1, p.TrainerTestF1)
	}
	if err := features.WriteJSON(filepath.Join(out, "result.json"), res); err != nil {
		return err
	}
	fmt.Printf("%-8s test micro-F1 %.2f (P %.2f R %.2f, strict %.2f)  train %.1f s  %.0f tokens/s  [%s]\n",
		*name, 100*res.F1, 100*res.Precision, 100*res.Recall, 100*res.StrictF1, res.TrainSeconds, res.TokensPerSec, res.Engine)
	return nil
}

func runReport(args []string) error {
	fs, dir := newFlags("report")
	tol := fs.Float64("tol", 1.0, "acceptance: |F1(go) − F1(peer)| in F1 points")
	_ = fs.Parse(args)
	var g, p Result
	if err := features.ReadJSON(filepath.Join(*dir, "go", "result.json"), &g); err != nil {
		return err
	}
	if err := features.ReadJSON(filepath.Join(*dir, "peer", "result.json"), &p); err != nil {
		return err
	}
	d := 100 * (g.F1 - p.F1)
	fmt.Printf("| side | test micro-F1 | P | R | strict F1 | train wall | tokens/s | engine |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range []Result{g, p} {
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.2f | %.1f s | %.0f | %s |\n", r.Name, 100*r.F1, 100*r.Precision, 100*r.Recall, 100*r.StrictF1, r.TrainSeconds, r.TokensPerSec, r.Engine)
	}
	fmt.Printf("F1 difference (openmed − peer): %+.2f points (acceptance ±%.1f); speed ratio openmed/peer: %.2fx\n", d, *tol, p.TrainSeconds/g.TrainSeconds)
	if d > *tol || d < -*tol {
		return fmt.Errorf("F1 difference %+.2f outside ±%.1f", d, *tol)
	}
	return nil
}
