package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openmed/openmed/benchmarks/training/features"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
)

// runTrain is openmed's side: full fine-tuning of D/init on the shared
// features in the shared batch order, one optimiser step per batch as the
// trainer composes it (forward with dropout, label-smoothed CE, backward,
// clip_grad_norm, LambdaLR cosine-with-warm-up, AdamW with HF's no-decay
// group), then argmax predictions on every test window.
func runTrain(args []string) error {
	fs, dir := newFlags("train")
	engine := fs.String("engine", "trainer", "trainer (training.Train, full fine-tuning) or composed (the step written out here)")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("train: -dir is required")
	}
	var r Recipe
	var f Features
	if err := features.ReadJSON(filepath.Join(*dir, "recipe.json"), &r); err != nil {
		return err
	}
	if err := features.ReadJSON(filepath.Join(*dir, "features.json"), &f); err != nil {
		return err
	}
	var p *Predictions
	var m *model.Model
	var err error
	switch *engine {
	case "trainer":
		p, m, err = trainWithTrainer(*dir, &r)
	case "composed":
		p, m, err = trainComposed(*dir, &r, &f)
	default:
		err = fmt.Errorf("train: unknown -engine %q (trainer, composed)", *engine)
	}
	if err != nil {
		return err
	}
	if err := predictTest(m, &r, &f, p); err != nil {
		return err
	}
	out := filepath.Join(*dir, "go")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return features.WriteJSON(filepath.Join(out, "pred.json"), p)
}

// trainWithTrainer runs training.Train (full fine-tuning, no dev set so no
// early stopping: the last epoch's weights, as the peer) on D/train.tsv from
// D/init with the recipe.
func trainWithTrainer(dir string, r *Recipe) (*Predictions, *model.Model, error) {
	cfg := training.DefaultConfig()
	cfg.Base, cfg.Tokenizer, cfg.Train, cfg.Test = filepath.Join(dir, "init"), r.Tokenizer, r.Train, r.Test
	cfg.Out = filepath.Join(dir, "go", "run")
	cfg.Overwrite = true // a benchmark rerun replaces its own run
	cfg.Method = training.MethodFull
	cfg.Epochs, cfg.BatchSize, cfg.EvalBatchSize, cfg.LR = r.Epochs, r.BatchSize, r.EvalBatchSize, r.LR
	cfg.MaxLen, cfg.Stride, cfg.WarmupRatio, cfg.Schedule = r.MaxLen, r.Stride, r.WarmupRatio, optim.ScheduleCosine
	cfg.WeightDecay, cfg.LabelSmoothing, cfg.MaxGradNorm = r.WeightDecay, r.LabelSmoothing, r.MaxGradNorm
	cfg.Patience, cfg.GradAccum, cfg.Seed, cfg.LogEvery = 0, 1, r.Seed, 50
	var epochLoss []float64
	sum, n := 0.0, 0
	cfg.Progress = func(pr loop.Progress) {
		if pr.Phase == loop.PhaseTrain {
			sum, n = sum+pr.Loss, n+1
			fmt.Fprintf(os.Stderr, "go: epoch %d/%d step %d/%d loss %.4f lr %.2e %.0f tokens/s\n", pr.Epoch+1, pr.Epochs, pr.Step, pr.TotalSteps, pr.Loss, pr.LR, pr.TokensPerSec)
		}
		if pr.Phase == loop.PhaseCheckpoint && n > 0 {
			epochLoss = append(epochLoss, sum/float64(n))
			sum, n = 0, 0
		}
	}
	cfg.Warn = func(msg string) { fmt.Fprintln(os.Stderr, "go: warning:", msg) }
	res, err := training.Train(context.Background(), cfg)
	if err != nil {
		return nil, nil, err
	}
	p := &Predictions{Engine: "openmed training.Train (full fine-tuning)", Threads: tensor.Threads(),
		TrainSeconds: res.Loop.Wall.Seconds(), TrainTokens: res.Loop.Tokens, Steps: res.Loop.Steps, EpochLoss: epochLoss}
	if res.Test != nil {
		p.TrainerTestF1 = res.Test.Default.Micro.F1
	}
	return p, res.Model, nil
}

// trainComposed is the same recipe with the step written out here over the
// shared batch order (no checkpoints), a cross-check of training.Train.
func trainComposed(dir string, r *Recipe, f *Features) (*Predictions, *model.Model, error) {
	m, err := model.Load(filepath.Join(dir, "init"), model.TokenClassification)
	if err != nil {
		return nil, nil, err
	}
	m.Seed(r.Seed)
	params := m.TrainableParams()
	opt, err := optim.NewAdamW(params, optim.WithLR(r.LR), optim.WithWeightDecay(r.WeightDecay))
	if err != nil {
		return nil, nil, err
	}
	sched := optim.CosineWithWarmup(r.WarmupSteps, r.TotalSteps)
	C := len(f.Labels)
	exs := make([]training.Example, len(f.Train))
	for i, e := range f.Train {
		exs[i] = training.Example{IDs: e.IDs, Labels: e.Labels}
	}

	p := &Predictions{Engine: "openmed (core/model + training/loss + training/optim, composed step)", Threads: tensor.Threads()}
	var dl []float32
	step := 0
	start := time.Now()
	group := make([]training.Example, 0, r.BatchSize)
	for e, order := range f.Order {
		m.SetTraining(true)
		sum, n := 0.0, 0
		for _, idx := range order {
			group = group[:0]
			for _, k := range idx {
				group = append(group, exs[k])
			}
			pb := features.Pad(group, f.PadID)
			b := &model.Batch{Batch: pb.Batch, SeqLen: pb.SeqLen, InputIDs: pb.IDs, AttentionMask: pb.Mask}
			opt.ZeroGrad()
			logits, err := m.Forward(b)
			if err != nil {
				return nil, nil, fmt.Errorf("epoch %d step %d: %w", e, step, err)
			}
			T := b.Tokens()
			dl = append(dl[:0], make([]float32, T*C)...)
			l, _, err := loss.CrossEntropyChecked(logits.Data, T, C, pb.Labels, float32(r.LabelSmoothing), dl)
			if err != nil {
				return nil, nil, fmt.Errorf("epoch %d step %d: %w", e, step, err)
			}
			if err := m.Backward(dl); err != nil {
				return nil, nil, fmt.Errorf("epoch %d step %d: %w", e, step, err)
			}
			optim.ClipGradNorm(params, r.MaxGradNorm)
			opt.SetLR(sched.LR(r.LR, step))
			opt.Step()
			step++
			sum, n = sum+float64(l), n+1
			p.TrainTokens += int64(features.Tokens(group))
			p.PaddedTokens += int64(T)
		}
		p.EpochLoss = append(p.EpochLoss, sum/float64(n))
		fmt.Fprintf(os.Stderr, "go: epoch %d/%d loss %.4f (%d steps, %.0f s)\n", e+1, len(f.Order), sum/float64(n), step, time.Since(start).Seconds())
	}
	p.TrainSeconds = time.Since(start).Seconds()
	p.Steps = step
	return p, m, nil
}

// predictTest fills p.Argmax with the eval-mode argmax of every test window.
func predictTest(m *model.Model, r *Recipe, f *Features, p *Predictions) error {
	C := len(f.Labels)
	var group []training.Example
	m.SetTraining(false)
	p.Argmax = make([][]int32, len(f.Test))
	for lo := 0; lo < len(f.Test); lo += r.EvalBatchSize {
		hi := min(lo+r.EvalBatchSize, len(f.Test))
		group = group[:0]
		for _, e := range f.Test[lo:hi] {
			group = append(group, training.Example{IDs: e.IDs})
		}
		pb := features.Pad(group, f.PadID)
		logits, err := m.Forward(&model.Batch{Batch: pb.Batch, SeqLen: pb.SeqLen, InputIDs: pb.IDs, AttentionMask: pb.Mask})
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			p.Argmax[i] = argmaxRows(logits.Data[(i-lo)*pb.SeqLen*C:], len(f.Test[i].IDs), C)
		}
	}
	return nil
}

// argmaxRows returns the first maximum's class of each of n rows of width c
// (torch.argmax / the trainer's prediction rule).
func argmaxRows(logits []float32, n, c int) []int32 {
	out := make([]int32, n)
	for t := 0; t < n; t++ {
		row := logits[t*c : (t+1)*c]
		best := 0
		for k := 1; k < c; k++ {
			if row[k] > row[best] {
				best = k
			}
		}
		out[t] = int32(best)
	}
	return out
}
