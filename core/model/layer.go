package model

import (
	"fmt"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// EncoderLayer is BertLayer (post-LN): a = LN₁(dropout(O(attn(h))) + h);
// out = LN₂(dropout(Out(act(Inter(a)))) + a). Inter's bias and the
// activation are fused (tensor.BiasAct) when Inter is a plain *Linear.
type EncoderLayer struct {
	Attention Attention
	// AttnOut is attention.output.dense.
	AttnOut Projection
	AttnLN  *LayerNorm
	// Inter is intermediate.dense; Act its activation (config hidden_act).
	Inter Projection
	Act   tensor.Activation
	// Out is output.dense.
	Out   Projection
	OutLN *LayerNorm
	// AttnDrop and OutDrop are the hidden_dropout_prob dropouts.
	AttnDrop, OutDrop Dropout

	x             []float32 // input (not owned)
	ctxOut, sum1  []float32 // attention output after dropout, residual sum
	a             []float32 // LN₁ output
	z, g          []float32 // pre-activation (bias added), activation
	o, sum2, outp []float32
	n             int
}

// newLayers builds cfg.NumHiddenLayers zero-weight post-LN layers named
// "<prefix>.encoder.layer.<i>": the attention newAttn makes around the
// layer's query, key and value projections (attention.self.query<qkvSuffix>
// etc.; suffix "" for BERT/ELECTRA, "_proj" for DeBERTa-v2), then the tail
// all families share (attention.output, intermediate, output) with
// hidden_dropout_prob dropouts.
func newLayers(cfg *checkpoint.Config, prefix, qkvSuffix string, eps float32, act tensor.Activation, newAttn func(q, k, v Projection) Attention) []*EncoderLayer {
	H, F := cfg.HiddenSize, cfg.IntermediateSize
	hd := float32(cfg.HiddenDropoutProb)
	var out []*EncoderLayer
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		lp := fmt.Sprintf("%s.encoder.layer.%d", prefix, i)
		sp := lp + ".attention.self."
		out = append(out, &EncoderLayer{
			Attention: newAttn(
				NewLinear(sp+"query"+qkvSuffix, H, H, true),
				NewLinear(sp+"key"+qkvSuffix, H, H, true),
				NewLinear(sp+"value"+qkvSuffix, H, H, true)),
			AttnOut:  NewLinear(lp+".attention.output.dense", H, H, true),
			AttnLN:   NewLayerNorm(lp+".attention.output.LayerNorm", H, eps),
			Inter:    NewLinear(lp+".intermediate.dense", H, F, true),
			Act:      act,
			Out:      NewLinear(lp+".output.dense", F, H, true),
			OutLN:    NewLayerNorm(lp+".output.LayerNorm", H, eps),
			AttnDrop: Dropout{P: hd},
			OutDrop:  Dropout{P: hd},
		})
	}
	return out
}

// Params lists the layer's parameters in HF state_dict order.
func (l *EncoderLayer) Params() []*tensor.Param {
	ps := l.Attention.Params()
	ps = append(ps, l.AttnOut.Params()...)
	ps = append(ps, l.AttnLN.Params()...)
	ps = append(ps, l.Inter.Params()...)
	ps = append(ps, l.Out.Params()...)
	return append(ps, l.OutLN.Params()...)
}

// HasTrainable reports whether any parameter of the layer is trainable.
func (l *EncoderLayer) HasTrainable() bool { return anyTrainable(l.Params()) }

// lendScratch moves l's per-call buffers — everything but its output — to
// next (same shapes), leaving l without them (Model.SetShareScratch).
func (l *EncoderLayer) lendScratch(next *EncoderLayer) {
	next.ctxOut, next.sum1, next.a, next.z, next.g, next.o, next.sum2 = l.ctxOut, l.sum1, l.a, l.z, l.g, l.o, l.sum2
	l.ctxOut, l.sum1, l.a, l.z, l.g, l.o, l.sum2 = nil, nil, nil, nil, nil, nil, nil
	if from, to := attentionHeads(l.Attention), attentionHeads(next.Attention); from != nil && to != nil {
		to.q, to.k, to.v, to.ctx, to.probs, to.scratch = from.q, from.k, from.v, from.ctx, from.probs, from.scratch
		from.q, from.k, from.v, from.ctx, from.probs, from.scratch = nil, nil, nil, nil, nil, nil
		to.bf16Heads, from.bf16Heads = from.bf16Heads, bf16Heads{}
	}
}

// attentionHeads is the multi-head state of the attentions this package
// builds, nil for any other.
func attentionHeads(a Attention) *heads {
	switch t := a.(type) {
	case *SelfAttention:
		return &t.heads
	case *DisentangledAttention:
		return &t.heads
	}
	return nil
}

// Output returns the layer's last output [tokens, hidden].
func (l *EncoderLayer) Output() []float32 { return l.outp }

// Forward runs the layer on x [tokens, hidden] and returns its output (a
// buffer owned by l).
func (l *EncoderLayer) Forward(x []float32, b *Batch, train bool, rng *uint64) []float32 {
	n := b.Tokens()
	H := l.AttnOut.OutFeatures()
	F := l.Inter.OutFeatures()
	l.x, l.n = x, n
	ctx := l.Attention.Forward(x, b, train, rng)
	growEach(n*H, &l.ctxOut, &l.sum1, &l.a, &l.o, &l.sum2, &l.outp)
	growEach(n*F, &l.z, &l.g)

	l.AttnOut.Forward(l.ctxOut, ctx, n)
	l.AttnDrop.Forward(l.ctxOut, l.ctxOut, train, rng)
	tensor.Add(l.sum1, l.ctxOut, x)
	l.AttnLN.Forward(l.a, l.sum1, n)

	if lin, ok := l.Inter.(*Linear); ok {
		lin.ForwardNoBias(l.z, l.a, n)
		var bias []float32
		if lin.Bias != nil {
			bias = lin.Bias.Value.Data
		}
		tensor.BiasAct(l.g, l.z, bias, n, F, l.Act)
	} else {
		l.Inter.Forward(l.z, l.a, n)
		tensor.BiasAct(l.g, l.z, nil, n, F, l.Act)
	}
	l.Out.Forward(l.o, l.g, n)
	l.OutDrop.Forward(l.o, l.o, train, rng)
	tensor.Add(l.sum2, l.o, l.a)
	l.OutLN.Forward(l.outp, l.sum2, n)
	return l.outp
}

// workspace holds backward buffers shared by all layers of an encoder.
type workspace struct {
	d1, d2, d3, dq, dk, dv []float32 // [tokens, hidden]
	dF                     []float32 // [tokens, intermediate]
}

func (w *workspace) ensure(n, H, F int) {
	growEach(n*H, &w.d1, &w.d2, &w.d3, &w.dq, &w.dk, &w.dv)
	w.dF = grow(w.dF, n*F)
}

// Backward takes dout (dL/d output; overwritten) and writes dL/dx into dx
// unless dx is nil (the first layer over frozen embeddings needs none).
func (l *EncoderLayer) Backward(dx, dout []float32, ws *workspace) {
	n := l.n
	// LN₂: dsum2 in place.
	l.OutLN.Backward(dout, l.sum2, dout, n)
	// Residual: da = dsum2 (+ Inter's input gradient below); dO = dropout'(dsum2).
	da := ws.d1
	copy(da, dout)
	l.OutDrop.Backward(dout, dout)
	l.Out.Backward(ws.dF, l.g, dout, n, false)
	tensor.ActBackward(ws.dF, ws.dF, l.z, l.Act)
	l.Inter.Backward(da, l.a, ws.dF, n, true)
	// LN₁: dsum1 in place in da.
	l.AttnLN.Backward(da, l.sum1, da, n)
	// Residual into dx; attention output gradient.
	if dx != nil {
		copy(dx, da)
	}
	l.AttnDrop.Backward(da, da)
	dctx := ws.d2
	l.AttnOut.Backward(dctx, l.Attention.Output(), da, n, false)
	if dx == nil {
		l.Attention.Backward(nil, dctx, ws)
		return
	}
	// Attention writes its input gradient into d3, then it joins the residual.
	l.Attention.Backward(ws.d3, dctx, ws)
	tensor.AddInPlace(dx, ws.d3)
}
