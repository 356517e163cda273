package model

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newPosDropAttention builds a DisentangledAttention of the tiny config with
// random weights and the given pos_dropout / attention-probs dropout.
func newPosDropAttention(t *testing.T, r *rand.Rand, posP, probsP float32) (*DisentangledAttention, *RelEmbeddings) {
	t.Helper()
	H := 8
	cfg := tinyDebertaConfig(nil, false)
	rel, err := newRelEmbeddings("enc", cfg, 1e-7)
	require.NoError(t, err)
	a := &DisentangledAttention{Query: NewLinear("q", H, H, true), Key: NewLinear("k", H, H, true), Value: NewLinear("v", H, H, true),
		NumHeads: 2, Rel: rel, C2P: true, P2C: true, PosDropout: posP, ProbsDropout: probsP}
	for _, p := range append(a.Params(), rel.Params()...) {
		randFill(r, p.Value.Data, 0.5)
	}
	return a, rel
}

// TestDisentangledAttentionPosDropoutGradients checks dL/dx, the projections
// and rel_embeddings (+ encoder LayerNorm) against central differences in
// training mode with pos_dropout on at a fixed mask (the RNG is reset before
// every forward), alone and together with attention-probs dropout.
func TestDisentangledAttentionPosDropoutGradients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		probsP float32
	}{{"pos-only", 0}, {"pos+probs", 0.2}} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 8))
			H := 8
			a, rel := newPosDropAttention(t, r, 0.3, tc.probsP)
			x, w, b := attnInputs(r, H, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0})
			var rng uint64
			loss := func() float64 {
				rng = 1234
				rel.Forward()
				return dot64(a.Forward(x, b, true, &rng), w)
			}
			loss()
			require.True(t, a.posOn)
			// The mask is active: some entries of R' are zero where R is not.
			dropped := 0
			R := rel.R()[a.ix.lo*H : (a.ix.lo+a.ix.w)*H]
			for i, v := range a.rd {
				if v == 0 && R[i] != 0 {
					dropped++
				}
			}
			assert.Positive(t, dropped)
			assert.Less(t, dropped, len(R))
			checkAttentionGradients(t, a, rel, x, w, loss)
		})
	}
}

// TestDisentangledAttentionPosDropoutSemantics checks that pos_dropout
// (a) is HF's inverted dropout R' = R·keep/(1−p) on the shared R with a mask
// indexed by the element's place in the full [2·Span, hidden] R, and the
// training output equals an eval forward on R'; (b) leaves the shared R
// untouched; (c) differs between seeds and repeats with the same seed; and
// (d) is off in eval mode and when PosDropout is 0 (bit-identical to no
// dropout at all).
func TestDisentangledAttentionPosDropoutSemantics(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	B, L, H := 2, 6, 8
	n := B * L
	const p = 0.4
	a, rel := newPosDropAttention(t, r, p, 0)
	x := make([]float32, n*H)
	randFill(r, x, 1)
	b := &Batch{Batch: B, SeqLen: L, InputIDs: make([]int32, n), AttentionMask: []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}}
	rel.Forward()
	R0 := append([]float32(nil), rel.R()...)
	run := func(train bool, seed uint64) []float32 {
		rng := seed
		return append([]float32(nil), a.Forward(x, b, train, &rng)...)
	}
	eval := run(false, 0)
	assert.False(t, a.posOn)

	s1 := run(true, 1)
	assert.Equal(t, R0, rel.R(), "the shared R must not be modified")
	// (a) R' = R·keep/(1−p) with the seed drawn from the RNG.
	rng := uint64(1)
	seed := tensor.SplitMix64(&rng)
	require.Equal(t, seed, a.posSeed)
	lo, w := a.ix.lo, a.ix.w
	for i, v := range a.rd {
		want := float32(0)
		if tensor.DropoutKeep(seed, lo*H+i, p) {
			want = R0[lo*H+i] * (1 / (1 - float32(p)))
		}
		require.Equal(t, want, v, "R'[%d]", i)
	}
	// The training output is the eval output on R'.
	rel.r = slices.Clone(R0)
	copy(rel.r[lo*H:(lo+w)*H], a.rd)
	assert.Equal(t, s1, run(false, 0))
	rel.Forward()
	require.Equal(t, R0, rel.R())

	// (c) Seeds.
	assert.NotEqual(t, eval, s1)
	assert.Equal(t, s1, run(true, 1))
	assert.NotEqual(t, s1, run(true, 2))

	// (d) Off when p = 0 even in training mode: bit-identical to eval.
	a.PosDropout = 0
	assert.Equal(t, eval, run(true, 1))
	assert.False(t, a.posOn)
}

// TestDebertaPosDropoutPerLayer checks the model wiring: every layer's
// pos_dropout is hidden_dropout_prob; with every other dropout off, the
// training-mode logits differ from eval and between seeds, repeat with the
// same seed, and each layer draws its own mask over the shared R; in eval
// mode nothing changes.
func TestDebertaPosDropoutPerLayer(t *testing.T) {
	cfg := tinyDebertaConfig([]string{"p2c", "c2p"}, false)
	m, err := New(cfg, TokenClassification, 11)
	require.NoError(t, err)
	atts := make([]*DisentangledAttention, len(m.Encoder.Layers))
	for i, l := range m.Encoder.Layers {
		atts[i] = l.Attention.(*DisentangledAttention)
		assert.Equal(t, float32(cfg.HiddenDropoutProb), atts[i].PosDropout)
		// Only pos_dropout stays on.
		atts[i].ProbsDropout = 0
		l.AttnDrop.P, l.OutDrop.P = 0, 0
	}
	m.Encoder.Embeddings.Dropout.P = 0
	m.ClassifierDropout.P = 0
	b := tinyBatch()
	b.TokenTypeIDs = nil
	fwd := func(train bool, seed uint64) []float32 {
		m.SetTraining(train)
		m.Seed(seed)
		logits, err := m.Forward(b)
		require.NoError(t, err)
		return slices.Clone(logits.Data)
	}
	eval := fwd(false, 0)
	assert.Equal(t, eval, fwd(false, 5), "eval does not depend on the seed")
	s1 := fwd(true, 1)
	for _, a := range atts {
		assert.True(t, a.posOn)
	}
	// Each layer its own mask on the shared R.
	assert.NotEqual(t, atts[0].posSeed, atts[1].posSeed)
	require.Equal(t, atts[0].ix.lo, atts[1].ix.lo)
	assert.NotEqual(t, atts[0].rd, atts[1].rd)
	assert.NotEqual(t, eval, s1)
	assert.Equal(t, s1, fwd(true, 1))
	assert.NotEqual(t, s1, fwd(true, 2))
	assert.Equal(t, eval, fwd(false, 1))
	for _, a := range atts {
		assert.False(t, a.posOn)
	}
}
