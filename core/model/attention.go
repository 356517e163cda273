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
// masked, dropout on P, context = P·v (the shared heads machinery). The
// projections are Projection slots so LoRA can wrap them.
type SelfAttention struct {
	Query, Key, Value Projection
	NumHeads          int
	// ProbsDropout is attention_probs_dropout_prob.
	ProbsDropout float32

	heads
}

func (a *SelfAttention) scale() float32 {
	return float32(1 / math.Sqrt(float64(a.Query.OutFeatures()/a.NumHeads)))
}

// Params lists the query, key and value parameters.
func (a *SelfAttention) Params() []*tensor.Param { return projParams(a.Query, a.Key, a.Value) }

// HasTrainable reports whether any of the three projections is trainable.
func (a *SelfAttention) HasTrainable() bool { return anyProjTrainable(a.Query, a.Key, a.Value) }

// Slots lists query, key and value under prefix (HF names
// "<prefix>.query" etc.).
func (a *SelfAttention) Slots(prefix string) []ProjectionSlot {
	return qkvSlots(prefix, "", &a.Query, &a.Key, &a.Value)
}

// Forward computes the attention context [tokens, hidden] (a buffer owned by a).
func (a *SelfAttention) Forward(x []float32, batch *Batch, train bool, rng *uint64) []float32 {
	a.project(x, batch, a.NumHeads, a.Query, a.Key, a.Value)
	a.startDropout(a.ProbsDropout, train, rng)
	return a.attend(a.scale(), false, nil)
}

// Backward takes dL/dcontext and, when dx is non-nil, writes dL/dx (the
// layer input). Gradients w.r.t. q/k/v are only formed where a projection is
// trainable or dx is needed; with dx nil and frozen projections their
// input-gradient GEMMs are skipped entirely. The workspace provides the
// [tokens, hidden] buffers for dq, dk, dv.
func (a *SelfAttention) Backward(dx, dctx []float32, ws *workspace) {
	needQ := dx != nil || a.Query.HasTrainable()
	needK := dx != nil || a.Key.HasTrainable()
	needV := dx != nil || a.Value.HasTrainable()
	if !needQ && !needK && !needV {
		return
	}
	a.attendBackward(dctx, ws.dq, ws.dk, ws.dv, a.scale(), needQ, needK, needV, nil)
	backwardProjections(dx, a.x, a.b*a.l,
		projGrad{a.Query, ws.dq, needQ}, projGrad{a.Key, ws.dk, needK}, projGrad{a.Value, ws.dv, needV})
}
