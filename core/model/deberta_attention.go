package model

import (
	"math"

	"github.com/openmed/openmed/core/tensor"
)

var _ Attention = (*DisentangledAttention)(nil)

// DisentangledAttention is DebertaV2's DisentangledSelfAttention with
// share_att_key (DeBERTa-v3; fixtures README §7): q, k, v = query_proj,
// key_proj, value_proj (x); Pq = query_proj(R), Pk = key_proj(R) (the same
// projections, bias and LoRA included);
//
//	S[i,j] = (q_i·k_j + q_i·Pk[c2p(i−j)] + k_j·Pq[p2c(j−i)]) / √(d·(1+|pos_att_type|))
//
// with the c2p / p2c terms present per pos_att_type, then XSoftmax over the
// mask m_i·m_j (padded keys excluded, rows of padded queries all zero),
// dropout on P and context = P·v.
//
// In training mode R is first passed through this layer's own pos_dropout
// (transformers v4.36 DisentangledSelfAttention.forward:
// rel_embeddings = self.pos_dropout(rel_embeddings), StableDropout with
// hidden_dropout_prob, before disentangled_attention_bias projects it): each
// layer draws its own mask over the shared R, and Backward takes dL/dPq,
// dL/dPk through the same mask into the shared dL/dR.
type DisentangledAttention struct {
	Query, Key, Value Projection
	NumHeads          int
	// ProbsDropout is attention_probs_dropout_prob.
	ProbsDropout float32
	// PosDropout is hidden_dropout_prob, HF's pos_dropout on the relative
	// embeddings R (training mode only).
	PosDropout float32
	// Rel is the encoder's shared relative-position state.
	Rel *RelEmbeddings
	// C2P and P2C select the pos_att_type terms.
	C2P, P2C bool

	x              []float32
	q, k, v, ctx   []float32
	pq, pk         []float32 // [2·Span, hidden]
	probs          []float32
	mask           []float32
	c2pIdx, p2cIdx []int
	idxL           int
	lo, w          int // rows lo..lo+w−1 of R are the ones any index reaches
	seed           uint64
	dropOn         bool
	posSeed        uint64
	posOn          bool
	rd, drd        []float32 // pos_dropout(R) and its gradient, rows lo..lo+w−1
	b, l           int
	scratch        []float32 // per worker: 2·L·L
	dqp, dkp       []float32 // [B·heads, L, 2·Span]
	dPq, dPk       []float32 // [2·Span, hidden]
	qp, kp         []float32 // per worker: 2·L·2Span
}

func (a *DisentangledAttention) scale() float32 {
	f := 1
	if a.C2P {
		f++
	}
	if a.P2C {
		f++
	}
	d := a.Query.OutFeatures() / a.NumHeads
	return float32(1 / math.Sqrt(float64(d*f)))
}

// Params lists query_proj, key_proj and value_proj parameters.
func (a *DisentangledAttention) Params() []*tensor.Param {
	ps := append([]*tensor.Param{}, a.Query.Params()...)
	ps = append(ps, a.Key.Params()...)
	return append(ps, a.Value.Params()...)
}

// Probs returns the attention probabilities of the last Forward, [B, heads, L, L].
func (a *DisentangledAttention) Probs() []float32 { return a.probs }

// Output is the context of the last Forward.
func (a *DisentangledAttention) Output() []float32 { return a.ctx }

// Slots lists query_proj, key_proj and value_proj under prefix (HF/PEFT names).
func (a *DisentangledAttention) Slots(prefix string) []ProjectionSlot {
	return []ProjectionSlot{
		{prefix + ".query_proj", &a.Query},
		{prefix + ".key_proj", &a.Key},
		{prefix + ".value_proj", &a.Value},
	}
}

// HasTrainable reports whether any of the three projections is trainable.
func (a *DisentangledAttention) HasTrainable() bool {
	return a.Query.HasTrainable() || a.Key.HasTrainable() || a.Value.HasTrainable()
}

// Forward computes the attention context [tokens, hidden] (a buffer owned by a).
func (a *DisentangledAttention) Forward(x []float32, batch *Batch, train bool, rng *uint64) []float32 {
	B, L := batch.Batch, batch.SeqLen
	n := B * L
	H := a.Query.OutFeatures()
	nh := a.NumHeads
	d := H / nh
	S2 := 2 * a.Rel.Span
	a.x, a.b, a.l, a.mask = x, B, L, batch.AttentionMask
	if a.idxL != L {
		a.c2pIdx, a.p2cIdx = a.Rel.indices(L)
		a.idxL = L
		lo, hi := S2, -1
		for _, t := range [][]int{a.c2pIdx, a.p2cIdx} {
			for _, v := range t {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		a.lo, a.w = lo, hi-lo+1
	}
	r0, W := a.lo, a.w
	a.q = grow(a.q, n*H)
	a.k = grow(a.k, n*H)
	a.v = grow(a.v, n*H)
	a.ctx = grow(a.ctx, n*H)
	a.pq = grow(a.pq, S2*H)
	a.pk = grow(a.pk, S2*H)
	a.probs = grow(a.probs, B*nh*L*L)
	a.Query.Forward(a.q, x, n)
	a.Key.Forward(a.k, x, n)
	a.Value.Forward(a.v, x, n)
	// Pq/Pk only for the W rows of R that this length reaches (rows outside
	// get no score and no gradient).
	Rw := a.posDropForward(train, rng)
	a.Query.Forward(a.pq[r0*H:(r0+W)*H], Rw, W)
	a.Key.Forward(a.pk[r0*H:(r0+W)*H], Rw, W)
	a.dropOn = train && a.ProbsDropout > 0
	if a.dropOn {
		a.seed = tensor.SplitMix64(rng)
	}
	a.scratch = grow(a.scratch, tensor.Threads()*2*L*L)
	a.qp = grow(a.qp, tensor.Threads()*2*L*W)
	scale := a.scale()
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			// Only the W rows of Pq/Pk that relative distances of this length reach.
			qp := a.qp[c*2*L*W : c*2*L*W+L*W]
			kp := a.qp[c*2*L*W+L*W : (c+1)*2*L*W]
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				off := bi*L*H + h*d
				P := a.probs[u*L*L : (u+1)*L*L]
				tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, L, d, scale, a.q[off:], H, a.k[off:], H, 0, P, L)
				if a.C2P {
					tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, W, d, scale, a.q[off:], H, a.pk[r0*H+h*d:], H, 0, qp, W)
				}
				if a.P2C {
					tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, W, d, scale, a.k[off:], H, a.pq[r0*H+h*d:], H, 0, kp, W)
				}
				for i := 0; i < L; i++ {
					row := P[i*L : (i+1)*L]
					for j := range row {
						if a.C2P {
							row[j] += qp[i*W+a.c2pIdx[i-j+L-1]-r0]
						}
						if a.P2C {
							row[j] += kp[j*W+a.p2cIdx[j-i+L-1]-r0]
						}
					}
				}
				var km []float32
				if a.mask != nil {
					km = a.mask[bi*L : (bi+1)*L]
				}
				tensor.SoftmaxRowsSerial(P, L, L, km)
				if km != nil {
					// XSoftmax: rows of padded queries are zero.
					for i, m := range km {
						if m == 0 {
							clear(P[i*L : (i+1)*L])
						}
					}
				}
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

// Backward takes dL/dcontext and, when dx is non-nil, writes dL/dx. The
// score gradient flows into q, k (content and c2p/p2c paths), into Pq, Pk
// and through query_proj / key_proj applied to R into the shared dL/dR
// (when the relative embeddings are trainable). Projection backwards run in
// the reverse order of their forwards (LoRA's cache stack).
func (a *DisentangledAttention) Backward(dx, dctx []float32, ws *workspace) {
	dq, dk, dv := ws.dq, ws.dk, ws.dv
	B, L := a.b, a.l
	n := B * L
	H := a.Query.OutFeatures()
	nh := a.NumHeads
	d := H / nh
	S2 := 2 * a.Rel.Span
	r0, W := a.lo, a.w
	relGrad := a.Rel.NeedGrad()
	needQ := dx != nil || a.Query.HasTrainable()
	needK := dx != nil || a.Key.HasTrainable()
	needV := dx != nil || a.Value.HasTrainable()
	needS := needQ || needK || relGrad
	if !needS && !needV {
		return
	}
	a.scratch = grow(a.scratch, tensor.Threads()*2*L*L)
	a.dqp = grow(a.dqp, B*nh*L*W)
	a.dkp = grow(a.dkp, B*nh*L*W)
	scale := a.scale()
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			dP := a.scratch[c*2*L*L : c*2*L*L+L*L]
			pd := a.scratch[c*2*L*L+L*L : (c+1)*2*L*L]
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				off := bi*L*H + h*d
				P := a.probs[u*L*L : (u+1)*L*L]
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
				if !needS {
					continue
				}
				// dS (unscaled); zero query rows have P = 0 and so dS = 0.
				tensor.SoftmaxBackwardRowsSerial(dP, dP, P, L, L)
				dqp := a.dqp[u*L*W : (u+1)*L*W]
				dkp := a.dkp[u*L*W : (u+1)*L*W]
				clear(dqp)
				clear(dkp)
				for i := 0; i < L; i++ {
					for j := 0; j < L; j++ {
						g := dP[i*L+j]
						if a.C2P {
							dqp[i*W+a.c2pIdx[i-j+L-1]-r0] += g
						}
						if a.P2C {
							dkp[j*W+a.p2cIdx[j-i+L-1]-r0] += g
						}
					}
				}
				// dq = s·(dS·k + dQP·Pk_h); dk = s·(dSᵀ·q + dKP·Pq_h).
				tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, L, scale, dP, L, a.k[off:], H, 0, dq[off:], H)
				tensor.Sgemm(tensor.Trans, tensor.NoTrans, L, d, L, scale, dP, L, a.q[off:], H, 0, dk[off:], H)
				if a.C2P {
					tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, W, scale, dqp, W, a.pk[r0*H+h*d:], H, 1, dq[off:], H)
				}
				if a.P2C {
					tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, W, scale, dkp, W, a.pq[r0*H+h*d:], H, 1, dk[off:], H)
				}
			}
		})
	})
	if needS {
		// dPk[:, h] = s·Σ_b dQPᵀ·q_h; dPq[:, h] = s·Σ_b dKPᵀ·k_h (serial: shared rows).
		a.dPq = grow(a.dPq, S2*H)
		a.dPk = grow(a.dPk, S2*H)
		clear(a.dPq)
		clear(a.dPk)
		for u := 0; u < B*nh; u++ {
			bi, h := u/nh, u%nh
			off := bi*L*H + h*d
			if a.C2P {
				tensor.Sgemm(tensor.Trans, tensor.NoTrans, W, d, L, scale, a.dqp[u*L*W:], W, a.q[off:], H, 1, a.dPk[r0*H+h*d:], H)
			}
			if a.P2C {
				tensor.Sgemm(tensor.Trans, tensor.NoTrans, W, d, L, scale, a.dkp[u*L*W:], W, a.k[off:], H, 1, a.dPq[r0*H+h*d:], H)
			}
		}
	}
	rows := func(s []float32) []float32 { return s[r0*H : (r0+W)*H] }
	R := rows(a.Rel.R())
	var dR []float32
	if relGrad {
		dR = rows(a.Rel.dr)
	}
	// With pos_dropout on, the projections saw R' = dropout(R): their weight
	// gradients use R' and dL/dR' goes through the same mask into dL/dR.
	dRw, accR := dR, true
	if a.posOn {
		R = a.rd
		if relGrad {
			a.drd = grow(a.drd, W*H)
			dRw, accR = a.drd, false
		}
	}
	// Reverse of Forward: Key(R), Query(R), Value(x), Key(x), Query(x).
	if relGrad || a.Key.HasTrainable() {
		a.Key.Backward(dRw, R, rows(a.dPk), W, accR)
		accR = true
	}
	if relGrad || a.Query.HasTrainable() {
		a.Query.Backward(dRw, R, rows(a.dPq), W, accR)
	}
	if a.posOn && relGrad {
		tensor.Dropout(a.drd, a.drd, a.PosDropout, a.posSeed, r0*H)
		tensor.AddInPlace(dR, a.drd)
	}
	acc := false
	if needV {
		a.Value.Backward(dx, a.x, dv, n, acc)
		acc = dx != nil
	}
	if needK {
		a.Key.Backward(dx, a.x, dk, n, acc)
		acc = dx != nil
	}
	if needQ {
		a.Query.Backward(dx, a.x, dq, n, acc)
	}
}

// posDropForward returns the rows lo..lo+w−1 of R that the pos projections
// read: R itself in eval mode (or PosDropout 0), else this layer's
// pos_dropout(R) with a fresh seed from rng. The mask is indexed by the
// element's position in the full [2·Span, hidden] R (offset lo·hidden), as
// if HF's StableDropout were applied to all of rel_embeddings.
func (a *DisentangledAttention) posDropForward(train bool, rng *uint64) []float32 {
	H := a.Query.InFeatures()
	R := a.Rel.R()[a.lo*H : (a.lo+a.w)*H]
	a.posOn = train && a.PosDropout > 0
	if !a.posOn {
		return R
	}
	a.posSeed = tensor.SplitMix64(rng)
	a.rd = grow(a.rd, len(R))
	tensor.Dropout(a.rd, R, a.PosDropout, a.posSeed, a.lo*H)
	return a.rd
}
