package model

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
)

// TestShareScratchSameLogits: inference with the layers sharing one set of
// buffers gives bit-identical logits to the plain pass, over several passes
// of different shapes (buffers regrow and move on), for BERT and DeBERTa-v2,
// and training-mode passes after it still match.
func TestShareScratchSameLogits(t *testing.T) {
	for _, js := range []string{
		`{"model_type":"bert","vocab_size":50,"hidden_size":16,"num_hidden_layers":3,"num_attention_heads":2,
		"intermediate_size":32,"hidden_act":"gelu","max_position_embeddings":32,"type_vocab_size":2,
		"layer_norm_eps":1e-12,"initializer_range":0.2,"id2label":{"0":"O","1":"B-X","2":"I-X"}}`,
		`{"model_type":"deberta-v2","vocab_size":50,"hidden_size":16,"num_hidden_layers":3,"num_attention_heads":2,
		"intermediate_size":32,"hidden_act":"gelu","max_position_embeddings":32,"type_vocab_size":0,
		"layer_norm_eps":1e-7,"initializer_range":0.2,"relative_attention":true,"position_buckets":8,
		"norm_rel_ebd":"layer_norm","share_att_key":true,"pos_att_type":["p2c","c2p"],"position_biased_input":false,
		"max_relative_positions":-1,"id2label":{"0":"O","1":"B-X","2":"I-X"}}`,
	} {
		cfg, err := checkpoint.ParseConfig([]byte(js))
		require.NoError(t, err)
		plain, err := New(cfg, TokenClassification, 3)
		require.NoError(t, err)
		shared, err := New(cfg, TokenClassification, 3)
		require.NoError(t, err)
		plain.SetTraining(false)
		shared.SetTraining(false)
		shared.SetShareScratch(true)
		for pass, shape := range [][2]int{{2, 7}, {3, 11}, {1, 5}, {3, 11}} {
			B, L := shape[0], shape[1]
			b := &Batch{Batch: B, SeqLen: L, InputIDs: make([]int32, B*L), AttentionMask: make([]float32, B*L)}
			for i := range b.InputIDs {
				b.InputIDs[i] = int32((i*7 + 3 + pass) % 50)
				b.AttentionMask[i] = 1
			}
			b.AttentionMask[B*L-1] = 0
			want, err := plain.Forward(b)
			require.NoError(t, err)
			got, err := shared.Forward(b)
			require.NoError(t, err)
			require.Equal(t, want.Data, got.Data, "%s pass %d", cfg.ModelType, pass)
			// One set of buffers, back with the first layer after the pass.
			require.NotNil(t, shared.Encoder.Layers[0].z)
			for _, l := range shared.Encoder.Layers[1:] {
				require.Nil(t, l.z)
				require.Nil(t, attentionHeads(l.Attention).probs)
			}
		}
		plain.SetTraining(true)
		shared.SetTraining(true)
		b := &Batch{Batch: 2, SeqLen: 6, InputIDs: []int32{5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, AttentionMask: make([]float32, 12)}
		for i := range b.AttentionMask {
			b.AttentionMask[i] = 1
		}
		want, err := plain.Forward(b)
		require.NoError(t, err)
		got, err := shared.Forward(b)
		require.NoError(t, err)
		require.Equal(t, want.Data, got.Data, "%s training pass after shared inference", cfg.ModelType)
		require.NotNil(t, shared.Encoder.Layers[2].z, "training passes keep every layer's buffers")
	}
}

// TestCacheBF16Weights: with the weights cached in bf16 the bf16 forward is
// bit-identical to converting them per call (same rounding, same kernels),
// trainable weights are never cached, and DropBF16 forgets the copy.
func TestCacheBF16Weights(t *testing.T) {
	testutil.RequireBF16(t, tensor.BF16CPU, tensor.BF16Available)
	cfg, err := checkpoint.ParseConfig([]byte(`{"model_type":"bert","vocab_size":50,"hidden_size":32,"num_hidden_layers":2,
		"num_attention_heads":2,"intermediate_size":64,"hidden_act":"gelu","max_position_embeddings":32,"type_vocab_size":2,
		"layer_norm_eps":1e-12,"initializer_range":0.2,"id2label":{"0":"O","1":"B-X","2":"I-X"}}`))
	require.NoError(t, err)
	plain, err := New(cfg, TokenClassification, 4)
	require.NoError(t, err)
	cached, err := New(cfg, TokenClassification, 4)
	require.NoError(t, err)
	for _, m := range []*Model{plain, cached} {
		m.SetTraining(false)
		for _, p := range m.Params() {
			p.Grad = nil // frozen, as in the tagger
		}
	}
	restore, err := tensor.UsePrecision(tensor.BF16)
	require.NoError(t, err)
	defer restore()
	cached.CacheBF16Weights()
	l0 := cached.Encoder.Layers[0].Inter.(*Linear)
	require.NotNil(t, l0.wbf16)
	b := &Batch{Batch: 2, SeqLen: 9, InputIDs: make([]int32, 18), AttentionMask: make([]float32, 18)}
	for i := range b.InputIDs {
		b.InputIDs[i] = int32((i*5 + 1) % 50)
		b.AttentionMask[i] = 1
	}
	want, err := plain.Forward(b)
	require.NoError(t, err)
	got, err := cached.Forward(b)
	require.NoError(t, err)
	require.Equal(t, want.Data, got.Data)

	l0.DropBF16()
	require.Nil(t, l0.wbf16)
	tr := NewLinear("t", 4, 4, true) // trainable: Grad allocated
	tr.CacheBF16()
	require.Nil(t, tr.wbf16, "a trainable weight changes every step: never cached")
}

// TestInferenceModeRestores: InferenceMode switches dropout off and
// sharing on, and its restore puts both back.
func TestInferenceModeRestores(t *testing.T) {
	cfg, err := checkpoint.ParseConfig([]byte(`{"model_type":"bert","vocab_size":50,"hidden_size":16,"num_hidden_layers":2,
		"num_attention_heads":2,"intermediate_size":32,"hidden_act":"gelu","max_position_embeddings":32,"type_vocab_size":2,
		"layer_norm_eps":1e-12,"initializer_range":0.2,"id2label":{"0":"O","1":"B-X"}}`))
	require.NoError(t, err)
	m, err := New(cfg, TokenClassification, 1)
	require.NoError(t, err)
	m.SetTraining(true)
	restore := m.InferenceMode()
	require.False(t, m.Training())
	require.True(t, m.Encoder.shareScratch)
	restore()
	require.True(t, m.Training())
	require.False(t, m.Encoder.shareScratch)
}
