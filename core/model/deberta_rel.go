package model

import (
	"fmt"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tensor"
)

// RelEmbeddings is DebertaV2Encoder's relative-position state shared by all
// layers (transformers modeling_deberta_v2.py, get_rel_embedding and
// get_rel_pos): R = LN_enc(rel_embeddings.weight) (LayerNorm only when
// norm_rel_ebd contains "layer_norm"), 2·Span rows, and the log-bucket
// relative positions r(i−j) (onnx.LogBucketPosition). Every
// DisentangledAttention reads R and adds its dL/dR into one buffer, which
// Backward (run by the Encoder after all layers) takes through the LayerNorm
// into rel_embeddings.weight.
type RelEmbeddings struct {
	// Weight is encoder.rel_embeddings.weight [2·Span, hidden].
	Weight *tensor.Param
	// LN is encoder.LayerNorm (nil when norm_rel_ebd is "none").
	LN *LayerNorm
	// Span is pos_ebd_size: position_buckets if > 0, else max_relative_positions.
	Span int
	// Buckets is position_buckets; MaxRel is max_relative_positions (≥ 1).
	Buckets, MaxRel int

	r, dr []float32 // R and dL/dR, [2·Span, hidden]
	idx   *relIndex // of the last sequence length
}

// newRelEmbeddings reads the DebertaV2Config relative-attention fields.
func newRelEmbeddings(prefix string, cfg *checkpoint.Config, eps float32) (*RelEmbeddings, error) {
	if !cfg.RelativeAttention {
		return nil, fmt.Errorf("model: config relative_attention=false is not supported for deberta-v2 (DeBERTa-v3 uses true)")
	}
	maxRel := cfg.MaxRelativePositions
	if maxRel < 1 {
		maxRel = cfg.MaxPositionEmbeddings
	}
	span := maxRel
	if cfg.PositionBuckets > 0 {
		span = cfg.PositionBuckets
	}
	H := cfg.HiddenSize
	re := &RelEmbeddings{
		Weight:  newParam(prefix+".rel_embeddings.weight", false, 2*span, H),
		Span:    span,
		Buckets: cfg.PositionBuckets,
		MaxRel:  maxRel,
	}
	if strings.Contains(cfg.NormRelEbd, "layer_norm") {
		re.LN = NewLayerNorm(prefix+".LayerNorm", H, eps)
	}
	return re, nil
}

// Params lists rel_embeddings.weight then encoder.LayerNorm (HF order).
func (re *RelEmbeddings) Params() []*tensor.Param {
	ps := []*tensor.Param{re.Weight}
	if re.LN != nil {
		ps = append(ps, re.LN.Params()...)
	}
	return ps
}

// NeedGrad reports whether dL/dR must be formed (a trainable rel parameter).
func (re *RelEmbeddings) NeedGrad() bool { return anyTrainable(re.Params()) }

// Forward computes R for this step and clears dL/dR.
func (re *RelEmbeddings) Forward() []float32 {
	rows, H := 2*re.Span, re.Weight.Value.Shape[1]
	re.r = grow(re.r, rows*H)
	re.dr = grow(re.dr, rows*H)
	clear(re.dr)
	if re.LN != nil {
		re.LN.Forward(re.r, re.Weight.Value.Data, rows)
	} else {
		copy(re.r, re.Weight.Value.Data)
	}
	return re.r
}

// R returns the normalised relative embeddings of the last Forward.
func (re *RelEmbeddings) R() []float32 { return re.r }

// Backward takes the dL/dR accumulated by the layers into the rel parameters.
func (re *RelEmbeddings) Backward() {
	if !re.NeedGrad() {
		return
	}
	rows := 2 * re.Span
	if re.LN == nil {
		tensor.AddInPlace(re.Weight.Grad.Data, re.dr)
		return
	}
	var dx []float32
	if re.Weight.Grad != nil {
		dx = re.dr
	}
	re.LN.Backward(dx, re.Weight.Value.Data, re.dr, rows)
	if dx != nil {
		tensor.AddInPlace(re.Weight.Grad.Data, dx)
	}
}

// relIndex addresses the c2p / p2c terms of the scores for one sequence
// length L. Rows lo..lo+w−1 of R are the ones any distance reaches: for
// δ = i−j the c2p row is clamp(r(δ)+Span, 0, 2Span−1) and the p2c row
// clamp(−r(δ)+Span, 0, 2Span−1) (DisentangledSelfAttention.disentangled_attention_bias).
// Score (i, j) reads its c2p term at c2p[i·L+j] = i·w + row − lo of a
// head's [L, w] block q·Pkᵀ, and its p2c term at p2c[i·L+j] = j·w + row − lo
// of the [L, w] block k·Pqᵀ.
type relIndex struct {
	L, lo, w int
	c2p, p2c []int32
}

// index returns the relIndex for length L, built on first use and kept
// (every layer reads the same one).
func (re *RelEmbeddings) index(L int) *relIndex {
	if re.idx != nil && re.idx.L == L {
		return re.idx
	}
	c2p := make([]int, 2*L-1)
	p2c := make([]int, 2*L-1)
	clamp := func(v int) int { return min(max(v, 0), 2*re.Span-1) }
	lo, hi := 2*re.Span, -1
	for d := -(L - 1); d <= L-1; d++ {
		b := onnx.LogBucketPosition(d, re.Buckets, re.MaxRel)
		c2p[d+L-1] = clamp(b + re.Span)
		p2c[d+L-1] = clamp(-b + re.Span)
		lo = min(lo, c2p[d+L-1], p2c[d+L-1])
		hi = max(hi, c2p[d+L-1], p2c[d+L-1])
	}
	ix := &relIndex{L: L, lo: lo, w: hi - lo + 1, c2p: make([]int32, L*L), p2c: make([]int32, L*L)}
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			ix.c2p[i*L+j] = int32(i*ix.w + c2p[i-j+L-1] - lo)
			ix.p2c[i*L+j] = int32(j*ix.w + p2c[j-i+L-1] - lo)
		}
	}
	re.idx = ix
	return ix
}
