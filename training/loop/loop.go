package loop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training/optim"
)

// Objective is what a Loop trains: the token-classification trainer and DAPT
// (training/dapt) both plug into the same loop, so optimisation, schedules,
// checkpoints, resume, progress and early stopping exist once.
type Objective interface {
	// Batches returns the number of micro-batches of an epoch; their order
	// must depend only on the epoch (and the objective's seed), so a resumed
	// run replays the same batches.
	Batches(epoch int) int
	// Step runs forward and backward on micro-batch i of epoch, adding the
	// gradients of its mean loss to the trainable parameters.
	Step(epoch, i int) (StepStats, error)
	// Evaluate scores the current weights (higher is better); nil means the
	// objective has no evaluation set.
	Evaluate() (*EvalStats, error)
}

// StepStats is the result of one micro-batch.
type StepStats struct {
	// Loss is the mean loss of the micro-batch.
	Loss float64
	// Tokens is the number of input tokens processed (padding excluded).
	Tokens int
}

// EvalStats is one evaluation: Score drives early stopping and best-model
// selection; Fields are logged to metrics.jsonl as they are.
type EvalStats struct {
	Score  float64            `json:"score"`
	Fields map[string]float64 `json:"fields"`
	// Detail is the objective's full evaluation (e.g. the dev predictions),
	// handed back as Result.BestDetail when this evaluation is the best, so
	// the caller need not evaluate the restored best weights again. It is
	// not kept in History or checkpoints.
	Detail any `json:"-"`
}

// Config configures a Loop (HF TrainingArguments names in comments).
type Config struct {
	Model *model.Model
	// Adapter is the LoRA adapter applied to Model, nil for full fine-tuning.
	Adapter *lora.Adapter
	// Epochs is num_train_epochs.
	Epochs int
	// GradAccum is gradient_accumulation_steps.
	GradAccum int
	// LR is learning_rate; WarmupRatio warmup_ratio; Schedule lr_scheduler_type.
	LR          float64
	WarmupRatio float64
	Schedule    optim.ScheduleKind
	// WeightDecay is weight_decay (none on biases and LayerNorm).
	WeightDecay float64
	// MaxGradNorm is max_grad_norm (≤ 0: no clipping).
	MaxGradNorm float64
	// Patience is early_stopping_patience in evaluations (0: no early stop).
	Patience int
	// MinSteps keeps early stopping from ending the run before this many
	// optimiser steps (Config.MinSteps; EpochsForMinSteps raises Epochs).
	MinSteps int
	// Seed drives dropout masks (re-derived per micro-batch from
	// (Seed, epoch, batch), so a resumed run draws the same masks).
	Seed uint64
	// Dir holds metrics.jsonl and checkpoints/ (required).
	Dir string
	// EvalEvery also evaluates every N optimiser steps (0: at epoch ends
	// only); patience then counts these evaluations.
	EvalEvery int
	// CheckpointEvery writes a checkpoint every N optimiser steps (0: only at
	// epoch ends and on interruption).
	CheckpointEvery int
	// LogEvery is logging_steps (default 10).
	LogEvery int
	// Resume continues from Dir's last checkpoint.
	Resume bool
	// Progress, when set, receives a snapshot after logging steps,
	// evaluations, checkpoints and at the end.
	Progress func(Progress)
}

// Result summarises a finished loop.
type Result struct {
	// Epochs is the number of epochs completed, Steps the optimiser steps.
	Epochs, Steps int
	// BestScore and BestEpoch (0-based) locate the best evaluation; BestEpoch
	// is −1 when there was no evaluation.
	BestScore float64
	BestEpoch int
	// EarlyStopped reports that patience ran out.
	EarlyStopped bool
	// BestDetail is the best evaluation's EvalStats.Detail when that
	// evaluation ran in this session (nil after a resume past it: evaluate
	// the restored weights then).
	BestDetail any
	// History has one entry per evaluation.
	History []EvalStats
	// Wall is the training wall time over all sessions (resumes add up).
	Wall time.Duration
	// Tokens is the number of training tokens processed (all sessions).
	Tokens int64
	// TokensPerSec is this session's training throughput (evaluation excluded).
	TokensPerSec float64
}

// loopState is what a checkpoint's state.json holds besides the tensors.
type loopState struct {
	Version      int         `json:"version"`
	Epoch        int         `json:"epoch"`
	Batch        int         `json:"batch"`
	Step         int         `json:"step"`
	HasBest      bool        `json:"has_best"`
	BestScore    float64     `json:"best_score"`
	BestEpoch    int         `json:"best_epoch"`
	BadEvals     int         `json:"bad_evals"`
	EarlyStopped bool        `json:"early_stopped"`
	History      []EvalStats `json:"history"`
	MetricsBytes int64       `json:"metrics_bytes"`
	Tokens       int64       `json:"tokens"`
	WallSeconds  float64     `json:"wall_seconds"`
	EpochLoss    float64     `json:"epoch_loss"`
	EpochLossN   int         `json:"epoch_loss_n"`
	EvalLoss     float64     `json:"eval_loss"`
	EvalLossN    int         `json:"eval_loss_n"`
	LastEvalStep int         `json:"last_eval_step"`
	Done         bool        `json:"done"`
	// Spec is the run's shape; a resume with other settings is refused.
	Spec runSpec `json:"spec"`
}

// runSpec lists the settings a resumed run must share with the original for
// the result to be the uninterrupted one.
type runSpec struct {
	Epochs      int     `json:"epochs"`
	Batches     int     `json:"batches_per_epoch"`
	GradAccum   int     `json:"grad_accum"`
	LR          float64 `json:"lr"`
	WarmupRatio float64 `json:"warmup_ratio"`
	Schedule    string  `json:"schedule"`
	WeightDecay float64 `json:"weight_decay"`
	MaxGradNorm float64 `json:"max_grad_norm"`
	Patience    int     `json:"patience"`
	EvalEvery   int     `json:"eval_every"`
	Seed        uint64  `json:"seed"`
	Trainable   int     `json:"trainable_values"`
}

// EpochsForMinSteps is the epoch count that gives at least minSteps
// optimiser steps at stepsPerEpoch, never fewer than epochs.
func EpochsForMinSteps(epochs, stepsPerEpoch, minSteps int) int {
	if stepsPerEpoch <= 0 || epochs*stepsPerEpoch >= minSteps {
		return epochs
	}
	return (minSteps + stepsPerEpoch - 1) / stepsPerEpoch
}

// diff names the fields that differ from o.
func (s runSpec) diff(o runSpec) []string {
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(o)
	var ma, mb map[string]any
	_ = json.Unmarshal(a, &ma)
	_ = json.Unmarshal(b, &mb)
	var out []string
	for k, v := range ma {
		if fmt.Sprint(v) != fmt.Sprint(mb[k]) {
			out = append(out, fmt.Sprintf("%s %v (checkpoint) vs %v (now)", k, mb[k], v))
		}
	}
	sort.Strings(out)
	return out
}

const stateVersion = 1

// ErrInterrupted is returned (wrapped with the context's error) when the
// context is cancelled: the loop has saved a resumable checkpoint.
var ErrInterrupted = errors.New("training interrupted")

// Loop is the training loop shared by every objective.
type Loop struct {
	cfg    Config
	obj    Objective
	params []*tensor.Param
	opt    *optim.AdamW
	sched  optim.Schedule
	st     loopState
	best   map[string][]float32
	// bestDetail is the Detail of the best evaluation of this session.
	bestDetail any
	log        *os.File
	lorae      []*lora.Linear
}

// Run trains obj with AdamW, warm-up + schedule, gradient accumulation
// and clipping (HF Trainer's inner loop), evaluating after every epoch, early
// stopping on the score, keeping the best weights (restored into the model
// at the end), logging JSON lines to Dir/metrics.jsonl and writing atomic,
// resumable checkpoints. On context cancellation it checkpoints at the next
// optimiser-step boundary and returns an error wrapping ErrInterrupted.
func Run(ctx context.Context, cfg Config, obj Objective) (*Result, error) {
	l, err := newLoop(cfg, obj)
	if err != nil {
		return nil, err
	}
	defer l.log.Close()
	return l.run(ctx)
}

func newLoop(cfg Config, obj Objective) (*Loop, error) {
	switch {
	case cfg.Model == nil:
		return nil, fmt.Errorf("training: Config.Model is nil")
	case cfg.Dir == "":
		return nil, fmt.Errorf("training: Config.Dir is empty")
	case cfg.Epochs <= 0:
		return nil, fmt.Errorf("training: epochs must be positive, got %d", cfg.Epochs)
	case cfg.LR <= 0:
		return nil, fmt.Errorf("training: learning rate must be positive, got %g", cfg.LR)
	case cfg.WarmupRatio < 0 || cfg.WarmupRatio > 1:
		return nil, fmt.Errorf("training: warmup ratio must be in [0,1], got %g", cfg.WarmupRatio)
	}
	if cfg.GradAccum <= 0 {
		cfg.GradAccum = 1
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 10
	}
	l := &Loop{cfg: cfg, obj: obj, st: loopState{Version: stateVersion, BestEpoch: -1}}
	l.params = cfg.Model.TrainableParams()
	if len(l.params) == 0 {
		return nil, fmt.Errorf("training: the model has no trainable parameter")
	}
	ac := optim.DefaultAdamWConfig()
	ac.LR, ac.WeightDecay = cfg.LR, cfg.WeightDecay
	opt, err := optim.NewAdamWWithConfig(l.params, ac)
	if err != nil {
		return nil, err
	}
	l.opt = opt
	nb := obj.Batches(0)
	if nb == 0 {
		return nil, fmt.Errorf("training: the training set gives no batch")
	}
	perEpoch := (nb + cfg.GradAccum - 1) / cfg.GradAccum
	total := perEpoch * cfg.Epochs
	warm := optim.WarmupFromRatio(cfg.WarmupRatio, total)
	switch cfg.Schedule {
	case optim.ScheduleLinear:
		l.sched = optim.LinearWithWarmup(warm, total)
	case optim.ScheduleConstant:
		l.sched = optim.ConstantWithWarmup(warm)
	default:
		l.sched = optim.CosineWithWarmup(warm, total)
	}
	trainable := 0
	for _, p := range l.params {
		trainable += p.Value.Numel()
	}
	l.st.Spec = runSpec{Epochs: cfg.Epochs, Batches: nb, GradAccum: cfg.GradAccum, LR: cfg.LR, WarmupRatio: cfg.WarmupRatio,
		Schedule: cfg.Schedule.String(), WeightDecay: cfg.WeightDecay, MaxGradNorm: cfg.MaxGradNorm, Patience: cfg.Patience,
		EvalEvery: cfg.EvalEvery, Seed: cfg.Seed, Trainable: trainable}
	if cfg.Adapter != nil {
		for _, n := range cfg.Adapter.Names {
			l.lorae = append(l.lorae, cfg.Adapter.Layers[n])
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if cfg.Resume {
		if err := l.restore(); err != nil {
			return nil, err
		}
	} else if err := os.RemoveAll(l.checkpointRoot()); err != nil {
		return nil, err
	}
	flags := os.O_CREATE | os.O_WRONLY
	if !cfg.Resume {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(filepath.Join(cfg.Dir, "metrics.jsonl"), flags, 0o644)
	if err != nil {
		return nil, err
	}
	if cfg.Resume {
		// Drop lines logged after the checkpoint: they will be logged again.
		// (A log shorter than recorded, e.g. deleted, is continued as is.)
		if fi, err := f.Stat(); err == nil && fi.Size() < l.st.MetricsBytes {
			l.st.MetricsBytes = fi.Size()
		}
		if err := f.Truncate(l.st.MetricsBytes); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(l.st.MetricsBytes, 0); err != nil {
		f.Close()
		return nil, err
	}
	l.log = f
	return l, nil
}

// mix derives a per-micro-batch seed (splitmix64 of the inputs).
func mix(vals ...uint64) uint64 {
	s := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		s ^= v
		s = tensor.SplitMix64(&s)
	}
	return s
}

// reseed sets the dropout RNGs for micro-batch (epoch, i).
func (l *Loop) reseed(epoch, i int) {
	l.cfg.Model.Seed(mix(l.cfg.Seed, uint64(epoch), uint64(i)))
	for k, ll := range l.lorae {
		ll.SetRNGState(mix(l.cfg.Seed, uint64(epoch), uint64(i), uint64(k)+1))
	}
}

func (l *Loop) totalSteps() int { return l.sched.TotalSteps }

func (l *Loop) run(ctx context.Context) (*Result, error) {
	cfg := l.cfg
	start := time.Now()
	wall0 := l.st.WallSeconds
	var sessTokens int64
	var trainTime time.Duration
	lossSum, lossN := 0.0, 0
	lastScore, hasScore := 0.0, false
	if n := len(l.st.History); n > 0 {
		lastScore, hasScore = l.st.History[n-1].Score, true
	}
	progress := func(p Progress) {
		if cfg.Progress == nil {
			return
		}
		p.Epoch, p.Epochs, p.Step, p.TotalSteps = l.st.Epoch, cfg.Epochs, l.st.Step, l.totalSteps()
		p.Score, p.HasScore, p.Best = lastScore, hasScore, l.st.BestScore
		secs := trainTime.Seconds()
		if secs > 0 {
			p.TokensPerSec = float64(sessTokens) / secs
		}
		cfg.Progress(p)
	}
	sessSteps := 0
	cfg.Model.SetTraining(true)
	for l.st.Epoch < cfg.Epochs && !l.st.EarlyStopped {
		epoch := l.st.Epoch
		nb := l.obj.Batches(epoch)
		acc := 0
		t0 := time.Now()
		for i := l.st.Batch; i < nb; i++ {
			l.reseed(epoch, i)
			cfg.Model.SetTraining(true)
			s, err := l.obj.Step(epoch, i)
			if err != nil {
				return nil, fmt.Errorf("epoch %d batch %d: %w", epoch, i, err)
			}
			if math.IsNaN(s.Loss) || math.IsInf(s.Loss, 0) {
				return nil, fmt.Errorf("epoch %d batch %d: loss is %v (learning rate %g too high?)", epoch, i, s.Loss, l.opt.LR())
			}
			lossSum += s.Loss
			lossN++
			l.st.EpochLoss += s.Loss
			l.st.EpochLossN++
			l.st.EvalLoss += s.Loss
			l.st.EvalLossN++
			l.st.Tokens += int64(s.Tokens)
			sessTokens += int64(s.Tokens)
			acc++
			if acc < cfg.GradAccum && i < nb-1 {
				continue
			}
			if acc > 1 {
				optim.ScaleGrads(l.params, 1/float32(acc))
			}
			acc = 0
			norm := optim.ClipGradNorm(l.params, cfg.MaxGradNorm)
			lr := l.sched.LR(cfg.LR, l.st.Step)
			l.opt.SetLR(lr)
			l.opt.Step()
			l.opt.ZeroGrad()
			l.st.Step++
			l.st.Batch = i + 1
			sessSteps++
			trainTime += time.Since(t0)
			if l.st.Step%cfg.LogEvery == 0 {
				tps := float64(sessTokens) / trainTime.Seconds()
				rem := l.totalSteps() - l.st.Step
				sps := float64(sessSteps) / trainTime.Seconds()
				mean := lossSum / float64(lossN)
				if err := l.logLine(map[string]any{"type": "step", "step": l.st.Step, "epoch": float64(epoch) + float64(i+1)/float64(nb),
					"loss": mean, "lr": lr, "grad_norm": norm, "tokens_per_s": tps}); err != nil {
					return nil, err
				}
				progress(Progress{Phase: PhaseTrain, Loss: mean, LR: lr, StepsPerSec: sps, ETA: time.Duration(float64(rem) / sps * float64(time.Second))})
				lossSum, lossN = 0, 0
			}
			if cfg.EvalEvery > 0 && l.st.Step%cfg.EvalEvery == 0 {
				line := map[string]any{"type": "eval", "epoch": float64(epoch) + float64(i+1)/float64(nb), "step": l.st.Step}
				ev, err := l.evaluate(epoch, line)
				if err != nil {
					return nil, err
				}
				if ev != nil {
					lastScore, hasScore = ev.Score, true
				}
				if err := l.logLine(line); err != nil {
					return nil, err
				}
				progress(Progress{Phase: PhaseEval})
				if l.st.EarlyStopped {
					break
				}
			}
			if cfg.CheckpointEvery > 0 && l.st.Step%cfg.CheckpointEvery == 0 {
				if err := l.checkpoint(wall0, start, progress); err != nil {
					return nil, err
				}
			}
			if err := ctx.Err(); err != nil {
				if cerr := l.checkpoint(wall0, start, progress); cerr != nil {
					return nil, fmt.Errorf("%w at step %d, and the checkpoint failed: %v", ErrInterrupted, l.st.Step, cerr)
				}
				progress(Progress{Phase: PhaseDone})
				return nil, fmt.Errorf("%w at step %d (checkpoint in %s; resume to continue): %w", ErrInterrupted, l.st.Step, l.checkpointRoot(), err)
			}
			// Logging, evaluation and checkpoints are not training time.
			t0 = time.Now()
		}
		// End of epoch: evaluate (unless a step evaluation just did), early
		// stopping, checkpoint.
		line := map[string]any{"type": "epoch", "epoch": epoch + 1, "step": l.st.Step}
		if l.st.EpochLossN > 0 {
			line["train_loss"] = l.st.EpochLoss / float64(l.st.EpochLossN)
		}
		if l.st.LastEvalStep != l.st.Step || len(l.st.History) == 0 {
			ev, err := l.evaluate(epoch, line)
			if err != nil {
				return nil, err
			}
			if ev != nil {
				lastScore, hasScore = ev.Score, true
			}
		}
		l.st.Epoch++
		l.st.Batch = 0
		l.st.EpochLoss, l.st.EpochLossN = 0, 0
		if err := l.logLine(line); err != nil {
			return nil, err
		}
		progress(Progress{Phase: PhaseEval})
		if l.st.Epoch >= cfg.Epochs || l.st.EarlyStopped {
			l.st.Done = true
		}
		if err := l.checkpoint(wall0, start, progress); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil && !l.st.Done {
			progress(Progress{Phase: PhaseDone})
			return nil, fmt.Errorf("%w after epoch %d (checkpoint in %s; resume to continue): %w", ErrInterrupted, epoch+1, l.checkpointRoot(), err)
		}
	}
	if l.st.HasBest {
		l.restoreBest()
	}
	cfg.Model.SetTraining(false)
	res := &Result{Epochs: l.st.Epoch, Steps: l.st.Step, BestScore: l.st.BestScore, BestEpoch: l.st.BestEpoch,
		EarlyStopped: l.st.EarlyStopped, BestDetail: l.bestDetail, History: l.st.History, Tokens: l.st.Tokens,
		Wall: time.Duration((wall0 + time.Since(start).Seconds()) * float64(time.Second))}
	if trainTime > 0 {
		res.TokensPerSec = float64(sessTokens) / trainTime.Seconds()
	}
	progress(Progress{Phase: PhaseDone})
	return res, nil
}

// evaluate runs the objective's evaluation, updates best weights and
// patience, and adds the fields to line (train_loss_since_eval, score,
// objective fields, best_score, best_epoch).
func (l *Loop) evaluate(epoch int, line map[string]any) (*EvalStats, error) {
	ev, err := l.obj.Evaluate()
	l.cfg.Model.SetTraining(true)
	if err != nil {
		return nil, fmt.Errorf("epoch %d step %d evaluation: %w", epoch, l.st.Step, err)
	}
	l.st.LastEvalStep = l.st.Step
	if l.st.EvalLossN > 0 {
		line["train_loss_since_eval"] = l.st.EvalLoss / float64(l.st.EvalLossN)
	}
	l.st.EvalLoss, l.st.EvalLossN = 0, 0
	if ev == nil {
		return nil, nil
	}
	h := *ev
	h.Detail = nil
	l.st.History = append(l.st.History, h)
	if !l.st.HasBest || ev.Score > l.st.BestScore {
		l.st.HasBest, l.st.BestScore, l.st.BestEpoch, l.st.BadEvals = true, ev.Score, epoch, 0
		l.snapshotBest()
		l.bestDetail = ev.Detail
	} else {
		l.st.BadEvals++
		if l.cfg.Patience > 0 && l.st.BadEvals >= l.cfg.Patience && l.st.Step >= l.cfg.MinSteps {
			l.st.EarlyStopped = true
		}
	}
	line["score"] = ev.Score
	for k, v := range ev.Fields {
		line[k] = v
	}
	line["best_score"] = l.st.BestScore
	line["best_epoch"] = l.st.BestEpoch + 1
	return ev, nil
}

func (l *Loop) logLine(v map[string]any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.log.Write(b); err != nil {
		return fmt.Errorf("metrics.jsonl: %w", err)
	}
	l.st.MetricsBytes += int64(len(b))
	return nil
}

// snapshotBest copies the trainable values (the only ones that change).
func (l *Loop) snapshotBest() {
	if l.best == nil {
		l.best = map[string][]float32{}
	}
	for _, p := range l.params {
		l.best[p.Name] = append(l.best[p.Name][:0], p.Value.Data...)
	}
}

func (l *Loop) restoreBest() {
	for _, p := range l.params {
		if v, ok := l.best[p.Name]; ok {
			copy(p.Value.Data, v)
		}
	}
}
