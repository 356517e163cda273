package training

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training/loop"
)

func smallConfig(base, train, dev, out string) Config {
	c := DefaultConfig()
	c.Base, c.Train, c.Dev, c.Out = base, train, dev, out
	c.Epochs = 3
	c.BatchSize = 16
	c.LR = 2e-3
	c.LogEvery = 1
	c.Threads = 1
	return c
}

// Cancelling mid-epoch and resuming reaches bit-identical final weights,
// the same history and the same dev scores as an uninterrupted run.
func TestResumeIsBitIdentical(t *testing.T) {
	base := tinyBase(t, 2, 64)
	train := ncbiSubset(t, "train", 200)
	dev := ncbiSubset(t, "devel", 60)

	full := smallConfig(base, train, dev, t.TempDir())
	ref, err := Train(context.Background(), full)
	require.NoError(t, err)
	require.Equal(t, 3, ref.Loop.Epochs)

	cut := smallConfig(base, train, dev, t.TempDir())
	cut.CheckpointEvery = 4
	ctx, cancel := context.WithCancel(context.Background())
	stopAt := ref.Loop.Steps/2 + 1 // mid-epoch 2
	cut.Progress = func(p loop.Progress) {
		if p.Phase == loop.PhaseTrain && p.Step == stopAt {
			cancel()
		}
	}
	_, err = Train(ctx, cut)
	require.Error(t, err)
	require.True(t, errors.Is(err, loop.ErrInterrupted), "%v", err)
	require.True(t, errors.Is(err, context.Canceled))
	ck, err := loop.LatestCheckpoint(cut.Out)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(ck, "step-"+pad8(stopAt)), ck)

	// Resume on "another machine": a fresh folder holding only what
	// CopyLatestCheckpoint carries over.
	moved := t.TempDir()
	step, err := loop.CopyLatestCheckpoint(cut.Out, moved)
	require.NoError(t, err)
	require.Equal(t, stopAt, step)
	require.NoError(t, os.RemoveAll(cut.Out))
	cut.Out = moved
	cut.Progress = nil
	cut.Resume = true
	got, err := Train(context.Background(), cut)
	require.NoError(t, err)
	require.Equal(t, ref.Loop.Steps, got.Loop.Steps)
	require.Equal(t, ref.Loop.History, got.Loop.History)
	// Same kernels, one thread (Config.Threads) and the same batches on both
	// runs: the weights must be bit-identical, not merely close.
	rp, gp := ref.Model.TrainableParams(), got.Model.TrainableParams()
	require.Equal(t, len(rp), len(gp))
	for i := range rp {
		require.Equal(t, rp[i].Name, gp[i].Name)
		require.Equal(t, rp[i].Value.Data, gp[i].Value.Data, "%s differs after resume", rp[i].Name)
	}
	require.Equal(t, ref.Dev.Default.Micro, got.Dev.Default.Micro)
	// metrics.jsonl has no duplicated step lines after the resume.
	steps := jsonlSteps(t, filepath.Join(cut.Out, "metrics.jsonl"))
	require.Equal(t, jsonlSteps(t, filepath.Join(full.Out, "metrics.jsonl")), steps)
	// A finished run cannot be resumed again.
	_, err = Train(context.Background(), cut)
	require.ErrorContains(t, err, "already finished")
}

func pad8(n int) string {
	s := "00000000" + itoa(n)
	return s[len(s)-8:]
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func jsonlSteps(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var steps []int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), line)
		if v["type"] == "step" {
			steps = append(steps, int(v["step"].(float64)))
		}
	}
	return steps
}

// A few hundred LoRA steps on an NCBI subset lower the loss and lift dev F1
// above 0; the adapter folder has PEFT's key pattern and reloads (ours, and
// through lora.Load like a PEFT folder) to identical predictions.
func TestEndToEndLoRA(t *testing.T) {
	base := tinyBase(t, 2, 128)
	train := ncbiSubset(t, "train", 400)
	dev := ncbiSubset(t, "devel", 80)
	cfg := smallConfig(base, train, dev, t.TempDir())
	cfg.Test = ncbiSubset(t, "test", 80)
	cfg.Packing = PackSentences // a few hundred small steps
	cfg.Epochs = 12
	cfg.LR = 1e-2
	cfg.LabelSmoothing = 0
	cfg.Patience = 0
	res, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.Loop.Steps, 250)
	losses := jsonlLosses(t, filepath.Join(cfg.Out, "metrics.jsonl"))
	require.Greater(t, len(losses), 200)
	first, last := mean(losses[:20]), mean(losses[len(losses)-20:])
	t.Logf("loss %.4f -> %.4f; dev F1 %.4f; test F1 %.4f; %.0f tokens/s", first, last, res.Dev.Default.Micro.F1, res.Test.Default.Micro.F1, res.Loop.TokensPerSec)
	assert.Less(t, last, 0.8*first, "training loss falls")
	assert.Greater(t, res.Dev.Default.Micro.F1, 0.0, "dev F1 rises above 0")
	require.Equal(t, res.Loop.BestScore, res.Dev.Default.Micro.F1, "the best epoch's weights are restored")
	require.Equal(t, res.Loop.History[res.Loop.BestEpoch].Score, res.Loop.BestScore)
	require.Greater(t, res.TrainablePercent, 0.0)
	require.Less(t, res.TrainablePercent, 100.0)

	// Output folder contents.
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors", "config.json", "labels.json",
		"tokenizer.json", "vocab.txt", "training_args.json", "metrics.json"} {
		require.FileExists(t, filepath.Join(cfg.Out, f))
	}
	ac, err := checkpoint.LoadAdapterConfig(filepath.Join(cfg.Out, "adapter_config.json"))
	require.NoError(t, err)
	require.Equal(t, checkpoint.TaskTokenClassification, ac.TaskType)
	require.Equal(t, 16, ac.R)
	require.Equal(t, 32.0, ac.LoraAlpha)

	// Keys follow the fixture adapter's PEFT pattern (layer numbers aside).
	ours, err := checkpoint.ReadSafetensors(filepath.Join(cfg.Out, "adapter_model.safetensors"))
	require.NoError(t, err)
	fix, err := checkpoint.ReadSafetensors(filepath.Join(sharedDir(t), "fixtures", "bert", "adapter", "adapter_model.safetensors"))
	require.NoError(t, err)
	require.Equal(t, keyPattern(fix), keyPattern(ours))

	// Reload: base + adapter folder gives the same predictions.
	reloaded := reloadAdapter(t, base, cfg.Out)
	tok, _ := pubmedTokenizer(t)
	d, err := LoadDataset(dev, tok, res.Labels, DefaultDataOptions())
	require.NoError(t, err)
	words := d.Words()
	want, err := Predict(res.Model, tok, words)
	require.NoError(t, err)
	gotPred, err := Predict(reloaded, tok, words)
	require.NoError(t, err)
	require.Equal(t, want, gotPred)
	require.Equal(t, res.Dev.Pred, want, "Predict equals the evaluation's stitched predictions")
}

func reloadAdapter(t *testing.T, base, out string) *modelT {
	t.Helper()
	cfg, err := checkpoint.LoadConfig(filepath.Join(out, "config.json"))
	require.NoError(t, err)
	labels, err := NewLabelSet(cfg.Labels())
	require.NoError(t, err)
	m, _, err := LoadBase(base, labels, 99)
	require.NoError(t, err)
	_, err = lora.Load(m, out)
	require.NoError(t, err)
	return m
}

func keyPattern(m map[string]*tensorT) []string {
	set := map[string]bool{}
	for k := range m {
		parts := strings.Split(k, ".")
		for i, p := range parts {
			if p != "" && strings.Trim(p, "0123456789") == "" {
				parts[i] = "N"
			}
		}
		set[strings.Join(parts, ".")] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func jsonlLosses(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v))
		if v["type"] == "step" {
			out = append(out, v["loss"].(float64))
		}
	}
	return out
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// A tokenizer whose ids exceed the model's embedding table is a clear error
// naming both sizes; bad configurations name the field.
func TestTrainBadInputs(t *testing.T) {
	shared := sharedDir(t)
	_, tokDir := pubmedTokenizer(t)
	train := ncbiSubset(t, "train", 20)
	cfg := smallConfig(filepath.Join(shared, "fixtures", "bert"), train, "", t.TempDir())
	cfg.Tokenizer = tokDir
	_, err := Train(context.Background(), cfg)
	require.ErrorContains(t, err, "28895")
	require.ErrorContains(t, err, "vocab_size is 128")

	// Windows longer than the position table are refused up front.
	cfg = smallConfig(tinyBase(t, 1, 32), train, "", t.TempDir())
	cfg.MaxLen = 1024
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "max_position_embeddings 512")

	c := DefaultConfig()
	_, err = Train(context.Background(), c)
	require.ErrorContains(t, err, "training: base is required")
	c.Base, c.Train, c.Out = "b", "t", "o"
	c.BatchSize = 0
	_, err = Train(context.Background(), c)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "per_device_train_batch_size", fe.Field)
	require.Equal(t, "training: --batch-size must be positive, got 0", fe.Translate(func(f string) (string, bool) {
		return map[string]string{"per_device_train_batch_size": "--batch-size"}[f], f == "per_device_train_batch_size"
	}))

	// An unknown dev tag is an error naming the dev file and line.
	base := tinyBase(t, 1, 32)
	dir := t.TempDir()
	devPath := filepath.Join(dir, "devel.tsv")
	require.NoError(t, os.WriteFile(devPath, []byte("fever\tO\n\nmalaria\tB-Parasite\n\n"), 0o644))
	cfg = smallConfig(base, train, devPath, t.TempDir())
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "devel.tsv:3")
	require.ErrorContains(t, err, "B-Parasite")
}

// EvaluateFile of the trained model equals the trainer's own evaluation.
func TestEvaluateFileMatchesTrainer(t *testing.T) {
	base := tinyBase(t, 1, 32)
	train := ncbiSubset(t, "train", 40)
	dev := ncbiSubset(t, "devel", 30)
	cfg := smallConfig(base, train, dev, t.TempDir())
	cfg.Epochs = 1
	res, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	tok, _ := pubmedTokenizer(t)
	ev, err := EvaluateFile(res.Model, tok, dev, DefaultDataOptions(), 7)
	require.NoError(t, err)
	// dev_predictions.tsv has the gold tokens and the evaluated tags.
	gold, err := corpus.ReadFile(dev)
	require.NoError(t, err)
	pc, err := corpus.ReadFile(filepath.Join(cfg.Out, "dev_predictions.tsv"))
	require.NoError(t, err)
	require.NoError(t, corpus.CheckAligned(gold, pc))
	require.Equal(t, res.Dev.Pred, pc.Tags())
	require.Equal(t, res.Dev.Pred, ev.Pred)
	require.Equal(t, res.Dev.Default.Micro, ev.Default.Micro)
	// Batches of 7 and of EvalBatchSize pad to other lengths and run other
	// GEMM shapes: each logit within the reordering bound of the encoder's
	// path, so the mean cross-entropy (|∂CE/∂logits|₁ ≤ 2 per token) within
	// twice that, plus the float32 rounding of each side's batch means.
	labels, err := NewLabelSet(res.Model.Config.Labels())
	require.NoError(t, err)
	d, err := LoadDataset(dev, tok, labels, DefaultDataOptions())
	require.NoError(t, err)
	scale, seq := 1.0, 0
	res.Model.SetTraining(false)
	for i := range d.Examples {
		b, _ := collate([]*Example{&d.Examples[i]}, padID(tok))
		lg, err := res.Model.Forward(b)
		require.NoError(t, err)
		for _, v := range lg.Data {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		seq = max(seq, b.SeqLen)
	}
	c := res.Model.Config
	red := testutil.EncoderReductions(c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, seq)
	if res.Adapter != nil { // the unmerged LoRA path of each adapted projection
		for _, l := range res.Adapter.Layers {
			red = append(red, l.InFeatures(), l.Rank(), 2)
		}
	}
	tol := 2*testutil.ReorderTol(red...)*scale +
		2*testutil.F32Roundoff*res.Dev.Loss
	t.Logf("dev loss %.9g vs %.9g, tolerance %.3g (max |logit| %.2f, longest window %d)", res.Dev.Loss, ev.Loss, tol, scale, seq)
	require.InDelta(t, res.Dev.Loss, ev.Loss, tol)
}

// Resuming with settings that change the run is refused, naming them.
func TestResumeRefusesOtherSettings(t *testing.T) {
	base := tinyBase(t, 1, 32)
	train := ncbiSubset(t, "train", 40)
	cfg := smallConfig(base, train, "", t.TempDir())
	cfg.Epochs = 2
	cfg.Packing = PackSentences // several batches per epoch
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(p loop.Progress) {
		if p.Phase == loop.PhaseTrain && p.Step == 2 {
			cancel()
		}
	}
	_, err := Train(ctx, cfg)
	require.ErrorIs(t, err, loop.ErrInterrupted)
	cfg.Progress = nil
	cfg.Resume = true
	cfg.LR *= 2
	cfg.BatchSize = 8
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "cannot resume with different settings")
	require.ErrorContains(t, err, "lr ")
	require.ErrorContains(t, err, "batches_per_epoch")
}

// A finished run is never silently replaced, nor an interrupted one
// restarted: Overwrite or Resume must say so. A resumed run does not warn
// about a newly initialised classifier again.
func TestOutputFolderProtected(t *testing.T) {
	base := tinyBase(t, 1, 32)
	train := ncbiSubset(t, "train", 40)
	cfg := smallConfig(base, train, "", t.TempDir())
	cfg.Epochs = 1
	_, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	_, err = Train(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "finished run")
	assert.Contains(t, err.Error(), "`overwrite_output_dir`")
	cfg.Overwrite = true
	_, err = Train(context.Background(), cfg)
	require.NoError(t, err)

	out := t.TempDir()
	icfg := smallConfig(base, train, "", out)
	icfg.Epochs = 2
	icfg.Packing = PackSentences
	ctx, cancel := context.WithCancel(context.Background())
	icfg.Progress = func(p loop.Progress) {
		if p.Phase == loop.PhaseTrain && p.Step == 2 {
			cancel()
		}
	}
	_, err = Train(ctx, icfg)
	require.ErrorIs(t, err, loop.ErrInterrupted)
	icfg.Progress = nil
	_, err = Train(context.Background(), icfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "interrupted run")
	var warns []string
	icfg.Resume = true
	icfg.Warn = func(s string) { warns = append(warns, s) }
	_, err = Train(context.Background(), icfg)
	require.NoError(t, err)
	for _, w := range warns {
		assert.NotContains(t, w, "newly initialised")
	}
}

// A missing base or one without tokenizer files names the setting and the fix;
// a bad epoch count is refused before anything is written.
func TestBaseErrorsNameTheFix(t *testing.T) {
	train := ncbiSubset(t, "train", 10)
	bad := smallConfig(tinyBase(t, 1, 32), train, "", filepath.Join(t.TempDir(), "never"))
	bad.Epochs = -1
	_, err := Train(context.Background(), bad)
	require.ErrorContains(t, err, "epochs")
	assert.ErrorIs(t, err, ErrConfig, "bindings report it as bad input")
	_, statErr := os.Stat(bad.Out)
	assert.True(t, os.IsNotExist(statErr), "no output folder left behind")
	cfg := smallConfig(filepath.Join(t.TempDir(), "does", "not", "exist"), train, "", t.TempDir())
	_, err = Train(context.Background(), cfg)
	require.Error(t, err)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "base", fe.Field, "the JSON name; the CLI shows --base")
	assert.Contains(t, err.Error(), "not a folder")

	bare := t.TempDir()
	base := tinyBase(t, 1, 32)
	for _, f := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(base, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bare, f), data, 0o644))
	}
	cfg = smallConfig(bare, train, "", t.TempDir())
	_, err = Train(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "`tokenizer`", "names the field to set")
	cfg.Tokenizer = base
	cfg.Epochs = 1
	_, err = Train(context.Background(), cfg)
	require.NoError(t, err, "with the tokenizer named it trains")
}
