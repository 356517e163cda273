package training

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/loss"
)

// Result is a finished token-classification run.
type Result struct {
	// Model is the trained model with the best dev weights (LoRA not merged).
	Model *model.Model
	// Adapter is the LoRA adapter (nil for full fine-tuning).
	Adapter *lora.Adapter
	// Labels is the label set (id2label).
	Labels *LabelSet
	// Dev and Test are the evaluations of the best weights (nil without the file).
	Dev, Test *EvalResult
	// Loop summarises optimisation (epochs, steps, best epoch, throughput).
	Loop *loop.Result
	// TotalParams, TrainableParams and TrainablePercent count parameters
	// (PEFT print_trainable_parameters).
	TotalParams, TrainableParams int
	TrainablePercent             float64
	// Out is the output folder.
	Out string
}

// Train runs the paper's token-classification recipe: reads the CoNLL files,
// builds the label set from the training file, loads the base encoder with a
// fresh classifier, applies LoRA (or trains everything), optimises with
// loop.Run (evaluation on dev each epoch, early stopping, best weights kept),
// evaluates the best weights on dev and test and writes the output folder
// (see writeOutputs). With cfg.Resume it continues an interrupted run in
// cfg.Out to the result an uninterrupted run gives.
func Train(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := checkOutFree(cfg); err != nil {
		return nil, err
	}
	base, err := encoder.Resolve(cfg.Base)
	if err != nil {
		return nil, err
	}
	cfg.Base = base
	if err := checkBase(cfg); err != nil {
		return nil, err
	}
	if cfg.Threads > 0 {
		tensor.SetThreads(cfg.Threads)
	}
	restore, err := tensor.UsePrecision(cfg.Precision)
	if err != nil {
		return nil, err
	}
	defer restore()
	tokDir := cfg.Tokenizer
	if tokDir == "" {
		tokDir = cfg.Base
	}
	tok, err := tokenize.Load(tokDir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	trainC, err := corpus.ReadFile(cfg.Train)
	if err != nil {
		return nil, err
	}
	if len(trainC.Sentences) == 0 {
		return nil, fmt.Errorf("%s: no sentences (empty file?)", cfg.Train)
	}
	labels, err := LabelsFromCorpus(trainC)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Train, err)
	}
	m, fresh, err := LoadBaseWithDropout(cfg.Base, labels, cfg.Seed, cfg.Dropout)
	if err != nil {
		return nil, err
	}
	if fresh && cfg.Warn != nil && !cfg.Resume { // a resumed run restores its trained head
		cfg.Warn(fmt.Sprintf("%s: classifier newly initialised for %d labels", cfg.Base, labels.Len()))
	}
	if err := CheckVocab(tok, m); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Base, err)
	}
	if mp := m.Config.MaxPositionEmbeddings; cfg.MaxLen > mp {
		return nil, fmt.Errorf("%s: max length %d exceeds the model's max_position_embeddings %d", cfg.Base, cfg.MaxLen, mp)
	}
	do := DataOptions{MaxLen: cfg.MaxLen, Stride: cfg.Stride, Packing: cfg.Packing, LabelAllSubtokens: cfg.LabelAllSubtokens,
		AllowUnknownTags: cfg.AllowUnknownTags, Warn: cfg.Warn}
	train, err := BuildDataset(trainC, tok, labels, do)
	if err != nil {
		return nil, err
	}
	// Dev and test keep their unknown tags in the gold (they are scored
	// against the original file); first-sub-token labels only.
	eo := do
	eo.LabelAllSubtokens = false
	if eo.Packing == PackMixed { // each word scored once, in its document
		eo.Packing = PackDocuments
	}
	var dev, test *Dataset
	if cfg.Dev != "" {
		if dev, err = LoadDataset(cfg.Dev, tok, labels, eo); err != nil {
			return nil, err
		}
	}
	if cfg.Test != "" {
		if test, err = LoadDataset(cfg.Test, tok, labels, eo); err != nil {
			return nil, err
		}
	}
	var ad *lora.Adapter
	if cfg.Method == MethodLoRA {
		// training_args.json records the modules actually adapted.
		cfg.LoRA.Targets = ResolveLoRATargets(m.Arch, cfg.LoRA.Targets)
		lc := lora.NewConfig(lora.WithRank(cfg.LoRA.R), lora.WithAlpha(cfg.LoRA.Alpha), lora.WithDropout(cfg.LoRA.Dropout),
			lora.WithTargets(cfg.LoRA.Targets...), lora.WithSeed(cfg.Seed))
		if ad, err = lora.Apply(m, lc); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	pad := padID(tok)
	obj := &tokenObjective{m: m, train: train, dev: dev, batchSize: cfg.BatchSize, evalBatch: cfg.EvalBatchSize,
		smoothing: float32(cfg.LabelSmoothing), pad: pad, seed: cfg.Seed, epoch: -1}
	minSteps := 0
	if cfg.Epochs == 0 { // automatic: DefaultEpochs, at least MinSteps steps
		ga := max(cfg.GradAccum, 1)
		perEpoch := (obj.Batches(0) + ga - 1) / ga
		cfg.Epochs, minSteps = loop.EpochsForMinSteps(DefaultEpochs, perEpoch, cfg.MinSteps), cfg.MinSteps
		if cfg.Epochs != DefaultEpochs && cfg.Warn != nil {
			cfg.Warn(fmt.Sprintf("%s: %d optimiser steps per epoch: training for %d epochs instead of %d to reach min_train_steps %d (--epochs N trains exactly N)",
				cfg.Train, perEpoch, cfg.Epochs, DefaultEpochs, cfg.MinSteps))
		}
	}
	lr, err := loop.Run(ctx, loop.Config{Model: m, Adapter: ad, Epochs: cfg.Epochs, GradAccum: cfg.GradAccum, LR: cfg.LR,
		WarmupRatio: cfg.WarmupRatio, Schedule: cfg.Schedule, WeightDecay: cfg.WeightDecay, MaxGradNorm: cfg.MaxGradNorm,
		Patience: cfg.Patience, MinSteps: minSteps, Seed: cfg.Seed, Dir: cfg.Out, CheckpointEvery: cfg.CheckpointEvery, LogEvery: cfg.LogEvery,
		Resume: cfg.Resume, Progress: cfg.Progress}, obj)
	if err != nil {
		return nil, err
	}
	res := &Result{Model: m, Adapter: ad, Labels: labels, Loop: lr, Out: cfg.Out}
	res.TotalParams, res.TrainableParams = m.NumParams()
	if ad != nil {
		res.TotalParams, res.TrainableParams, res.TrainablePercent = ad.Count()
	} else {
		res.TrainablePercent = 100 * float64(res.TrainableParams) / float64(res.TotalParams)
	}
	if dev != nil {
		// The loop's best evaluation ran on exactly these (restored) weights.
		if r, ok := lr.BestDetail.(*EvalResult); ok && r != nil {
			res.Dev = r
		} else if res.Dev, err = Evaluate(m, dev, pad, cfg.EvalBatchSize); err != nil {
			return nil, err
		}
	}
	if test != nil {
		if res.Test, err = Evaluate(m, test, pad, cfg.EvalBatchSize); err != nil {
			return nil, err
		}
	}
	if err := writeOutputs(cfg, tokDir, res); err != nil {
		return nil, err
	}
	if err := writePredictions(cfg.Out, "dev_predictions.tsv", dev, res.Dev); err != nil {
		return nil, err
	}
	if err := writePredictions(cfg.Out, "test_predictions.tsv", test, res.Test); err != nil {
		return nil, err
	}
	return res, nil
}

// tokenObjective is the token-classification Objective: length-bucketed
// batches, label-smoothed cross-entropy over first sub-tokens, dev micro-F1.
type tokenObjective struct {
	m          *model.Model
	train, dev *Dataset
	batchSize  int
	evalBatch  int
	smoothing  float32
	pad        int32
	seed       uint64
	epoch      int
	batches    [][]int
	dlogits    []float32
}

// Batches implements Objective: length-bucketed batches shuffled by (seed, epoch).
func (o *tokenObjective) Batches(epoch int) int {
	if epoch != o.epoch {
		o.batches = EpochBatches(exampleLengths(o.train.Examples), o.batchSize, o.seed, epoch)
		o.epoch = epoch
	}
	return len(o.batches)
}

// Step implements Objective: label-smoothed cross-entropy on one batch, backward.
func (o *tokenObjective) Step(epoch, i int) (loop.StepStats, error) {
	o.Batches(epoch)
	idx := o.batches[i]
	group := make([]*Example, len(idx))
	tokens := 0
	for k, j := range idx {
		group[k] = &o.train.Examples[j]
		tokens += len(group[k].IDs)
	}
	b, labels := collate(group, o.pad)
	logits, err := o.m.Forward(b)
	if err != nil {
		return loop.StepStats{}, err
	}
	C := o.train.Labels.Len()
	if cap(o.dlogits) < len(logits.Data) {
		o.dlogits = make([]float32, len(logits.Data))
	}
	o.dlogits = o.dlogits[:len(logits.Data)]
	l, _, err := loss.CrossEntropyChecked(logits.Data, b.Tokens(), C, labels, o.smoothing, o.dlogits)
	if err != nil {
		return loop.StepStats{}, err
	}
	if err := o.m.Backward(o.dlogits); err != nil {
		return loop.StepStats{}, err
	}
	return loop.StepStats{Loss: float64(l), Tokens: tokens}, nil
}

// Evaluate implements Objective: dev micro-F1 (seqeval default mode) is the score.
func (o *tokenObjective) Evaluate() (*loop.EvalStats, error) {
	if o.dev == nil {
		return nil, nil
	}
	r, err := Evaluate(o.m, o.dev, o.pad, o.evalBatch)
	if err != nil {
		return nil, err
	}
	return &loop.EvalStats{Score: r.Default.Micro.F1, Detail: r, Fields: map[string]float64{
		"dev_f1": r.Default.Micro.F1, "dev_precision": r.Default.Micro.Precision, "dev_recall": r.Default.Micro.Recall,
		"dev_strict_f1": r.Strict.Micro.F1, "dev_macro_f1": r.Default.Macro.F1, "dev_loss": r.Loss,
	}}, nil
}

// checkOutFree refuses an output folder holding a finished or an
// interrupted run unless cfg.Resume or cfg.Overwrite says what to do with it.
func checkOutFree(cfg Config) error {
	if cfg.Resume || cfg.Overwrite {
		return nil
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, MetricsFile)); err == nil {
		return FieldErrorf("training", "output_dir", "%s holds a finished run (%s): set `overwrite_output_dir` to replace it, or choose another folder", cfg.Out, MetricsFile)
	}
	if _, err := loop.LatestCheckpoint(cfg.Out); err == nil {
		return FieldErrorf("training", "output_dir", "%s holds an interrupted run: set `resume` to continue it or `overwrite_output_dir` to start over", cfg.Out)
	}
	return nil
}

// checkBase names the field and the fix when the base folder is missing or
// has no tokenizer (instead of the tokenizer loader's stat error).
func checkBase(cfg Config) error {
	st, err := os.Stat(cfg.Base)
	if err != nil || !st.IsDir() {
		return FieldErrorf("training", "base", "%q is not a folder: give a Hugging Face model folder or an encoder cache name (openmed encoders list)", cfg.Base)
	}
	if cfg.Tokenizer != "" {
		return nil
	}
	if tokenize.HasFiles(cfg.Base) {
		return nil
	}
	return FieldErrorf("training", "base", "%s has no tokenizer files (%v): name the tokenizer with `tokenizer`", cfg.Base, tokenize.ModelFiles)
}
