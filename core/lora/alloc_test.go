package lora

import (
	"runtime"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrainingStepAllocatesAlmostNothing runs LoRA training steps (dropout
// on) on a small BERT and checks that after the first step the heap grows by
// only a few kilobytes per step (closures handed to the worker pool), i.e.
// every activation and gradient buffer is reused.
func TestTrainingStepAllocatesAlmostNothing(t *testing.T) {
	cfg := &checkpoint.Config{ModelType: checkpoint.ModelBERT, VocabSize: 100, HiddenSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, IntermediateSize: 128, HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2,
		LayerNormEps: 1e-12, InitializerRange: 0.02, HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1,
		ID2Label: map[int]string{0: "O", 1: "B", 2: "I"}}
	m, err := model.New(cfg, model.TokenClassification, 1)
	require.NoError(t, err)
	a, err := Apply(m, NewConfig(WithRank(4), WithDropout(0.1)))
	require.NoError(t, err)
	opt, err := optim.NewAdamW(a.TrainableParams())
	require.NoError(t, err)
	m.SetTraining(true)
	B, L := 4, 32
	b := &model.Batch{Batch: B, SeqLen: L, InputIDs: make([]int32, B*L), AttentionMask: make([]float32, B*L)}
	labels := make([]int32, B*L)
	for i := range b.InputIDs {
		b.InputIDs[i] = int32(i*7%99 + 1)
		b.AttentionMask[i] = 1
		labels[i] = int32(i % 3)
	}
	dl := make([]float32, B*L*3)
	step := func() {
		logits, err := m.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		loss.CrossEntropy(logits.Data, B*L, 3, labels, 0.1, dl)
		opt.ZeroGrad()
		if err := m.Backward(dl); err != nil {
			t.Fatal(err)
		}
		opt.Step()
	}
	step()
	step()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const steps = 10
	for i := 0; i < steps; i++ {
		step()
	}
	runtime.ReadMemStats(&after)
	perStep := float64(after.TotalAlloc-before.TotalAlloc) / steps
	activations := float64(B * L * (cfg.HiddenSize*12 + cfg.IntermediateSize*2) * 4 * cfg.NumHiddenLayers)
	t.Logf("heap allocated per step: %.0f bytes (%.0f mallocs); activations ≈ %.0f bytes", perStep, float64(after.Mallocs-before.Mallocs)/steps, activations)
	assert.Less(t, perStep, 32*1024.0)
}
