package model

import (
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/stretchr/testify/require"
)

// benchStep times one training step (forward, CE gradient, backward of every
// parameter) of a mid-sized encoder: H=256, 4 heads, 4 layers, F=1024, 4×128 tokens.
func benchStep(b *testing.B, cfg *checkpoint.Config) {
	cfg.HiddenSize, cfg.NumAttentionHeads, cfg.NumHiddenLayers, cfg.IntermediateSize = 256, 4, 4, 1024
	cfg.VocabSize, cfg.MaxPositionEmbeddings = 1000, 512
	m, err := New(cfg, TokenClassification, 1)
	require.NoError(b, err)
	m.SetTraining(true)
	B, L := 4, 128
	batch := &Batch{Batch: B, SeqLen: L, InputIDs: make([]int32, B*L), AttentionMask: make([]float32, B*L)}
	for i := range batch.InputIDs {
		batch.InputIDs[i] = int32(1 + i%999)
		batch.AttentionMask[i] = 1
	}
	for i := B*L - 20; i < B*L; i++ {
		batch.AttentionMask[i] = 0
	}
	labels := make([]int32, B*L)
	for i := range labels {
		labels[i] = int32(i % 3)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		logits, err := m.Forward(batch)
		require.NoError(b, err)
		_, dl := refCrossEntropy(logits.Data, logits.Shape[2], labels, 0.1)
		m.ZeroGrad()
		require.NoError(b, m.Backward(dl))
	}
}

// BenchmarkTrainStepBERT is the absolute-position baseline for BenchmarkTrainStepDeBERTa.
func BenchmarkTrainStepBERT(b *testing.B) { benchStep(b, tinyConfig("gelu", 0)) }

// BenchmarkTrainStepDeBERTa is the same step with disentangled attention (c2p+p2c, 256 buckets).
func BenchmarkTrainStepDeBERTa(b *testing.B) {
	cfg := tinyDebertaConfig([]string{"p2c", "c2p"}, false)
	cfg.PositionBuckets = 256
	benchStep(b, cfg)
}
