package model

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/internal/testutil"
)

func gatherTestConfig(t *testing.T) *checkpoint.Config {
	t.Helper()
	cfg, err := checkpoint.ParseConfig([]byte(`{"model_type":"bert","vocab_size":50,"hidden_size":16,
	"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":32,"hidden_act":"gelu",
	"max_position_embeddings":32,"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.2}`))
	require.NoError(t, err)
	return cfg
}

// The gathered MLM path gives the full path's logits at the masked positions
// and the same parameter gradients when the loss only looks at them.
func TestForwardMaskedEqualsFullPath(t *testing.T) {
	cfg := gatherTestConfig(t)
	full, err := New(cfg, MaskedLM, 3)
	require.NoError(t, err)
	gath, err := New(cfg, MaskedLM, 3)
	require.NoError(t, err)
	b := &Batch{Batch: 2, SeqLen: 7, InputIDs: make([]int32, 14), AttentionMask: make([]float32, 14)}
	for i := range b.InputIDs {
		b.InputIDs[i] = int32((i*7 + 3) % 50)
		b.AttentionMask[i] = 1
	}
	b.AttentionMask[13] = 0
	positions := []int{1, 4, 8, 12}
	V := cfg.VocabSize

	lf, err := full.Forward(b)
	require.NoError(t, err)
	lg, err := gath.ForwardMasked(b, positions)
	require.NoError(t, err)
	require.Equal(t, []int{len(positions), V}, lg.Shape)
	// The encoder runs the same kernels and shapes on both sides; only the
	// head runs on 4 gathered rows instead of 14 (another GEMM blocking):
	// its reductions are the transform (K = hidden), the LayerNorm's two
	// and the decoder (K = hidden), relative to the logits' magnitude.
	H := cfg.HiddenSize
	head := []int{H, H, H, H}
	scale := 1.0
	for _, v := range lf.Data {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	tol := testutil.ReorderTol(head...) * scale
	for i, p := range positions {
		for v := 0; v < V; v++ {
			require.InDelta(t, lf.Data[p*V+v], lg.Data[i*V+v], tol, "pos %d vocab %d", p, v)
		}
	}
	// dL/dlogits: an arbitrary function of the masked rows only.
	dfull := make([]float32, len(lf.Data))
	dg := make([]float32, len(lg.Data))
	for i, p := range positions {
		for v := 0; v < V; v++ {
			g := float32(math.Sin(float64(i*V+v))) * 0.1
			dfull[p*V+v] = g
			dg[i*V+v] = g
		}
	}
	full.ZeroGrad()
	gath.ZeroGrad()
	require.NoError(t, full.Backward(dfull))
	require.NoError(t, gath.BackwardMasked(dg))
	pf, pg := full.Params(), gath.Params()
	require.Equal(t, len(pf), len(pg))
	// The head's backward adds the decoder's input gradient (K = vocab), the
	// LayerNorm's and the transform's (K = hidden) and the weight gradients'
	// sums over the rows (14 vs 4) to the forward's reductions; the encoder's
	// backward runs the same kernels and shapes on both sides. Relative to
	// the gradients' magnitude.
	gscale := 1.0
	for _, p := range pf {
		if p.Grad != nil {
			for _, g := range p.Grad.Data {
				gscale = math.Max(gscale, math.Abs(float64(g)))
			}
		}
	}
	gtol := testutil.ReorderTol(append(head, V, H, H, H, b.Tokens())...) * gscale
	t.Logf("logit tolerance %.3g (max |logit| %.2f), gradient tolerance %.3g (max |grad| %.2f)", tol, scale, gtol, gscale)
	nonzero := 0
	for i := range pf {
		require.Equal(t, pf[i].Name, pg[i].Name)
		if pf[i].Grad == nil {
			continue
		}
		for j := range pf[i].Grad.Data {
			require.InDelta(t, pf[i].Grad.Data[j], pg[i].Grad.Data[j], gtol, "%s[%d]", pf[i].Name, j)
			if pf[i].Grad.Data[j] != 0 {
				nonzero++
			}
		}
	}
	require.Greater(t, nonzero, 100)
}

func TestForwardMaskedErrors(t *testing.T) {
	cfg := gatherTestConfig(t)
	m, err := New(cfg, MaskedLM, 1)
	require.NoError(t, err)
	b := &Batch{Batch: 1, SeqLen: 3, InputIDs: []int32{1, 2, 3}}
	_, err = m.ForwardMasked(b, []int{3})
	require.ErrorContains(t, err, "outside")
	require.ErrorContains(t, m.BackwardMasked(nil), "before ForwardMasked")
}
