package model

import (
	"math/rand/v2"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyDebertaConfig is a DeBERTa-v3-style config small enough for finite
// differences, with log buckets active at L = 6 (mid = 2).
func tinyDebertaConfig(posAtt []string, biased bool) *checkpoint.Config {
	return &checkpoint.Config{
		ModelType: checkpoint.ModelDebertaV2, VocabSize: 17, HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 12, HiddenAct: "gelu", MaxPositionEmbeddings: 10, TypeVocabSize: 0,
		LayerNormEps: 1e-7, InitializerRange: 0.3,
		HiddenDropoutProb: 0.2, AttentionProbsDropoutProb: 0.2,
		RelativeAttention: true, PositionBuckets: 4, MaxRelativePositions: -1, NormRelEbd: "layer_norm",
		ShareAttKey: true, PosAttType: posAtt, PositionBiasedInput: &biased,
		ID2Label: map[int]string{0: "O", 1: "B-X", 2: "I-X"},
	}
}

// TestDisentangledAttentionGradients checks dL/dx, the query/key/value
// projections (content and relative paths) and the relative embeddings with
// their LayerNorm against central differences, with padded keys and queries,
// for c2p+p2c, c2p only and p2c only.
func TestDisentangledAttentionGradients(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c2p, p2c bool
		buckets  int
	}{{"c2p+p2c", true, true, 4}, {"c2p", true, false, 4}, {"p2c", false, true, 4},
		// 2·16 rows of R, of which distances |i−j| ≤ 5 reach only 11.
		{"wide-span", true, true, 16},
		// norm_rel_ebd "none": R is rel_embeddings.weight itself.
		{"no-rel-layernorm", true, true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 5))
			L, H, nh := 6, 8, 2
			cfg := tinyDebertaConfig(nil, false)
			cfg.PositionBuckets = tc.buckets
			if tc.buckets == 0 {
				cfg.PositionBuckets, cfg.MaxRelativePositions, cfg.NormRelEbd = 4, 8, "none"
			}
			rel, err := newRelEmbeddings("enc", cfg, 1e-7)
			require.NoError(t, err)
			assert.Equal(t, tc.buckets != 0, rel.LN != nil)
			a := &DisentangledAttention{Query: NewLinear("q", H, H, true), Key: NewLinear("k", H, H, true), Value: NewLinear("v", H, H, true),
				NumHeads: nh, Rel: rel, C2P: tc.c2p, P2C: tc.p2c}
			for _, p := range append(a.Params(), rel.Params()...) {
				randFill(r, p.Value.Data, 0.5)
			}
			x, w, b := attnInputs(r, H, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0})
			var rng uint64
			loss := func() float64 {
				rel.Forward()
				return dot64(a.Forward(x, b, false, &rng), w)
			}
			loss()
			// XSoftmax: padded keys get zero probability, padded query rows are zero.
			P := a.Probs()
			for h := 0; h < nh; h++ {
				for i := 0; i < L; i++ {
					assert.Zero(t, P[((1*nh+h)*L+i)*L+4])
					assert.Zero(t, P[((1*nh+h)*L+i)*L+5])
				}
				for j := 0; j < L; j++ {
					assert.Zero(t, P[((1*nh+h)*L+5)*L+j])
				}
			}
			checkAttentionGradients(t, a, rel, x, w, loss)
		})
	}
}

// TestDebertaFullModelGradients checks every parameter of a tiny DeBERTa
// token classifier (embeddings, disentangled attention, rel_embeddings,
// encoder LayerNorm, classifier) against finite differences in training mode
// with dropout active, without (v3) and with absolute positions.
func TestDebertaFullModelGradients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		biased bool
		task   Task
	}{{"v3", false, TokenClassification}, {"position_biased_input", true, TokenClassification}, {"v3-mlm", false, MaskedLM}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tinyDebertaConfig([]string{"p2c", "c2p"}, tc.biased), tc.task, 7)
			require.NoError(t, err)
			require.NotNil(t, m.Encoder.Rel)
			assert.Equal(t, tc.biased, m.Encoder.Embeddings.Position != nil)
			b := tinyBatch()
			b.TokenTypeIDs = nil
			checkModelGradients(t, m, b, tinyLabels(tc.task))
			names := map[string]bool{}
			for _, p := range m.Params() {
				names[p.Name] = true
			}
			assert.True(t, names["deberta.encoder.rel_embeddings.weight"])
			assert.True(t, names["deberta.encoder.LayerNorm.weight"])
			assert.True(t, names["deberta.encoder.layer.1.attention.self.query_proj.weight"])
		})
	}
}

// TestDebertaFrozenEncoderRelPath checks that with only the query projection
// of layer 1 trainable, its gradient (content plus relative path) matches the
// one computed with everything trainable, and rel_embeddings stay gradient-free.
func TestDebertaFrozenEncoderRelPath(t *testing.T) {
	cfg := tinyDebertaConfig([]string{"p2c", "c2p"}, false)
	cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = 0, 0
	m, err := New(cfg, TokenClassification, 3)
	require.NoError(t, err)
	b := tinyBatch()
	b.TokenTypeIDs = nil
	labels := tinyLabels(TokenClassification)
	run := func() []float32 {
		logits, err := m.Forward(b)
		require.NoError(t, err)
		_, dl := refCrossEntropy(logits.Data, logits.Shape[2], labels, 0)
		m.ZeroGrad()
		require.NoError(t, m.Backward(dl))
		q := m.Encoder.Layers[1].Attention.(*DisentangledAttention).Query.(*Linear)
		return append([]float32(nil), q.Weight.Grad.Data...)
	}
	full := run()
	q := m.Encoder.Layers[1].Attention.(*DisentangledAttention).Query.(*Linear)
	keep := q.Weight.Grad
	m.FreezeAll()
	q.Weight.Grad = keep
	frozen := run()
	// Freezing skips other gradients only: layer 1's query gradient runs
	// the same kernels on the same shapes, so it is bit-identical.
	for i := range full {
		assert.Equal(t, full[i], frozen[i], "query grad %d", i)
	}
	assert.Nil(t, m.Encoder.Rel.Weight.Grad)
}
