package model

import (
	"math"

	"github.com/openmed/openmed/core/tensor"
)

// Attention is the self-attention block of an EncoderLayer: BERT/ELECTRA's
// absolute-position SelfAttention, or DeBERTa-v2/v3's DisentangledAttention
// (deberta_attention.go), without changes to EncoderLayer or LoRA.
type Attention interface {
	// Forward returns the context [tokens, hidden] for the layer input x.
	Forward(x []float32, b *Batch, train bool, rng *uint64) []float32
	// Output is the context of the last Forward.
	Output() []float32
	// Backward takes dL/dcontext and writes dL/dx unless dx is nil.
	Backward(dx, dctx []float32, ws *workspace)
	// Probs are the attention probabilities of the last Forward, [B, heads, L, L].
	Probs() []float32
	// Slots lists the replaceable projections under the module path prefix
	// (e.g. "bert.encoder.layer.0.attention.self").
	Slots(prefix string) []ProjectionSlot
	Params() []*tensor.Param
	HasTrainable() bool
}

var _ Attention = (*SelfAttention)(nil)

// SelfAttention is BertSelfAttention (absolute positions): q, k, v =
// Query/Key/Value(x), per head P = softmax(q·kᵀ/√d + mask) with padded keys
// masked, dropout on P, context = P·v. Heads are addressed in place inside the
// [tokens, hidden] activations through sgemm strides (no transposes), and
// batch×heads run in parallel on the worker pool with single-threaded BLAS.
// The projections are Projection slots so LoRA can wrap them.
type SelfAttention struct {
	Query, Key, Value Projection
	NumHeads          int
	// ProbsDropout is attention_probs_dropout_prob.
	ProbsDropout float32

	x       []float32 // forward input (not owned)
	q, k, v []float32
	probs   []float32 // [B, heads, L, L] softmax output (before dropout)
	ctx     []float32
	mask    []float32
	seed    uint64
	dropOn  bool
	b, l    int
	scratch []float32 // per worker: 2·L·L
}

// Params lists the query, key and value parameters.
func (a *SelfAttention) Params() []*tensor.Param {
	ps := append([]*tensor.Param{}, a.Query.Params()...)
	ps = append(ps, a.Key.Params()...)
	return append(ps, a.Value.Params()...)
}

// Probs returns the attention probabilities of the last Forward, [B, heads, L, L].
func (a *SelfAttention) Probs() []float32 { return a.probs }

// Output is the context of the last Forward.
func (a *SelfAttention) Output() []float32 { return a.ctx }

// Slots lists query, key and value under prefix (HF names
// "<prefix>.query" etc.).
func (a *SelfAttention) Slots(prefix string) []ProjectionSlot {
	return []ProjectionSlot{
		{prefix + ".query", &a.Query},
		{prefix + ".key", &a.Key},
		{prefix + ".value", &a.Value},
	}
}

// Forward computes the attention context [tokens, hidden] (a buffer owned by a).
func (a *SelfAttention) Forward(x []float32, batch *Batch, train bool, rng *uint64) []float32 {
	B, L := batch.Batch, batch.SeqLen
	n := B * L
	H := a.Query.OutFeatures()
	nh := a.NumHeads
	d := H / nh
	a.x, a.b, a.l, a.mask = x, B, L, batch.AttentionMask
	a.q = grow(a.q, n*H)
	a.k = grow(a.k, n*H)
	a.v = grow(a.v, n*H)
	a.ctx = grow(a.ctx, n*H)
	a.probs = grow(a.probs, B*nh*L*L)
	a.Query.Forward(a.q, x, n)
	a.Key.Forward(a.k, x, n)
	a.Value.Forward(a.v, x, n)
	a.dropOn = train && a.ProbsDropout > 0
	if a.dropOn {
		a.seed = tensor.SplitMix64(rng)
		a.scratch = grow(a.scratch, tensor.Threads()*2*L*L)
	}
	scale := float32(1 / math.Sqrt(float64(d)))
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				off := bi*L*H + h*d
				P := a.probs[u*L*L : (u+1)*L*L]
				tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, L, d, scale, a.q[off:], H, a.k[off:], H, 0, P, L)
				var km []float32
				if a.mask != nil {
					km = a.mask[bi*L : (bi+1)*L]
				}
				tensor.SoftmaxRowsSerial(P, L, L, km)
				src := P
				if a.dropOn {
					src = a.scratch[c*2*L*L : c*2*L*L+L*L]
					tensor.Dropout(src, P, a.ProbsDropout, a.seed, u*L*L)
				}
				tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, L, 1, src, L, a.v[off:], H, 0, a.ctx[off:], H)
			}
		})
	})
	return a.ctx
}

// HasTrainable reports whether any of the three projections is trainable.
func (a *SelfAttention) HasTrainable() bool {
	return a.Query.HasTrainable() || a.Key.HasTrainable() || a.Value.HasTrainable()
}

// Backward takes dL/dcontext and, when dx is non-nil, writes dL/dx (the
// layer input). Gradients w.r.t. q/k/v are only formed where a projection is
// trainable or dx is needed; with dx nil and frozen projections their
// input-gradient GEMMs are skipped entirely. The workspace provides the
// [tokens, hidden] buffers for dq, dk, dv.
func (a *SelfAttention) Backward(dx, dctx []float32, ws *workspace) {
	dq, dk, dv := ws.dq, ws.dk, ws.dv
	B, L := a.b, a.l
	n := B * L
	H := a.Query.OutFeatures()
	nh := a.NumHeads
	d := H / nh
	needQ := dx != nil || a.Query.HasTrainable()
	needK := dx != nil || a.Key.HasTrainable()
	needV := dx != nil || a.Value.HasTrainable()
	if !needQ && !needK && !needV {
		return
	}
	a.scratch = grow(a.scratch, tensor.Threads()*2*L*L)
	scale := float32(1 / math.Sqrt(float64(d)))
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			dP := a.scratch[c*2*L*L : c*2*L*L+L*L]
			pd := a.scratch[c*2*L*L+L*L : (c+1)*2*L*L]
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				off := bi*L*H + h*d
				P := a.probs[u*L*L : (u+1)*L*L]
				// dP(dropped) = dC·Vᵀ
				tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, L, d, 1, dctx[off:], H, a.v[off:], H, 0, dP, L)
				src := P
				if a.dropOn {
					tensor.Dropout(pd, P, a.ProbsDropout, a.seed, u*L*L)
					src = pd
					tensor.Dropout(dP, dP, a.ProbsDropout, a.seed, u*L*L)
				}
				if needV {
					tensor.Sgemm(tensor.Trans, tensor.NoTrans, L, d, L, 1, src, L, dctx[off:], H, 0, dv[off:], H)
				}
				if !needQ && !needK {
					continue
				}
				tensor.SoftmaxBackwardRowsSerial(dP, dP, P, L, L)
				if needQ {
					tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, L, scale, dP, L, a.k[off:], H, 0, dq[off:], H)
				}
				if needK {
					tensor.Sgemm(tensor.Trans, tensor.NoTrans, L, d, L, scale, dP, L, a.q[off:], H, 0, dk[off:], H)
				}
			}
		})
	})
	acc := false
	if needQ {
		a.Query.Backward(dx, a.x, dq, n, acc)
		acc = dx != nil
	}
	if needK {
		a.Key.Backward(dx, a.x, dk, n, acc)
		acc = dx != nil
	}
	if needV {
		a.Value.Backward(dx, a.x, dv, n, acc)
	}
}
