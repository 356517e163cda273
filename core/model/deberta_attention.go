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

	heads
	ix       *relIndex // of the last Forward's length
	pq, pk   []float32 // [2·Span, hidden]
	posSeed  uint64
	posOn    bool
	rd, drd  []float32 // pos_dropout(R) and its gradient, rows lo..lo+w−1
	dqp, dkp []float32 // [B·heads, L, w]
	dPq, dPk []float32 // [2·Span, hidden]
	qp       []float32 // per worker: 2·L·w
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
	return projParams(a.Query, a.Key, a.Value)
}

// Slots lists query_proj, key_proj and value_proj under prefix (HF/PEFT names).
func (a *DisentangledAttention) Slots(prefix string) []ProjectionSlot {
	return qkvSlots(prefix, "_proj", &a.Query, &a.Key, &a.Value)
}

// HasTrainable reports whether any of the three projections is trainable.
func (a *DisentangledAttention) HasTrainable() bool {
	return anyProjTrainable(a.Query, a.Key, a.Value)
}

// Forward computes the attention context [tokens, hidden] (a buffer owned by a).
func (a *DisentangledAttention) Forward(x []float32, batch *Batch, train bool, rng *uint64) []float32 {
	a.project(x, batch, a.NumHeads, a.Query, a.Key, a.Value)
	L, H := a.l, a.width
	S2 := 2 * a.Rel.Span
	a.ix = a.Rel.index(L)
	r0, W := a.ix.lo, a.ix.w
	growEach(S2*H, &a.pq, &a.pk)
	// Pq/Pk only for the W rows of R that this length reaches (rows outside
	// get no score and no gradient).
	Rw := a.posDropForward(train, rng)
	a.Query.Forward(a.pq[r0*H:(r0+W)*H], Rw, W)
	a.Key.Forward(a.pk[r0*H:(r0+W)*H], Rw, W)
	a.startDropout(a.ProbsDropout, train, rng)
	a.qp = grow(a.qp, tensor.Threads()*2*L*W)
	return a.attend(a.scale(), true, a.addRelScores)
}

// addRelScores adds one head's c2p term s·q_i·Pk[c2p(i−j)] and p2c term
// s·k_j·Pq[p2c(j−i)] to its scores S, through the per-worker blocks
// q·Pkᵀ and k·Pqᵀ over the W rows of R that this length reaches.
func (a *DisentangledAttention) addRelScores(c, _, h, off int, S []float32) {
	L, H, d := a.l, a.width, a.d
	r0, W := a.ix.lo, a.ix.w
	scale := a.scale()
	qp := a.qp[c*2*L*W : c*2*L*W+L*W]
	kp := a.qp[c*2*L*W+L*W : (c+1)*2*L*W]
	if a.C2P {
		tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, W, d, scale, a.q[off:], H, a.pk[r0*H+h*d:], H, 0, qp, W)
	}
	if a.P2C {
		tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, W, d, scale, a.k[off:], H, a.pq[r0*H+h*d:], H, 0, kp, W)
	}
	for ij := range S {
		if a.C2P {
			S[ij] += qp[a.ix.c2p[ij]]
		}
		if a.P2C {
			S[ij] += kp[a.ix.p2c[ij]]
		}
	}
}

// Backward takes dL/dcontext and, when dx is non-nil, writes dL/dx. The
// score gradient flows into q, k (content and c2p/p2c paths), into Pq, Pk
// and through query_proj / key_proj applied to R into the shared dL/dR
// (when the relative embeddings are trainable). Projection backwards run in
// the reverse order of their forwards (LoRA's cache stack).
func (a *DisentangledAttention) Backward(dx, dctx []float32, ws *workspace) {
	B, L, H, nh, d := a.b, a.l, a.width, a.nh, a.d
	S2 := 2 * a.Rel.Span
	r0, W := a.ix.lo, a.ix.w
	relGrad := a.Rel.NeedGrad()
	needQ := dx != nil || a.Query.HasTrainable()
	needK := dx != nil || a.Key.HasTrainable()
	needV := dx != nil || a.Value.HasTrainable()
	needS := needQ || needK || relGrad
	if !needS && !needV {
		return
	}
	growEach(B*nh*L*W, &a.dqp, &a.dkp)
	scale := a.scale()
	a.attendBackward(dctx, ws.dq, ws.dk, ws.dv, scale, needS, needS, needV, func(_, u, h, off int, dS []float32) {
		a.relScoreGrad(ws.dq, ws.dk, u, h, off, dS)
	})
	if needS {
		// dPk[:, h] = s·Σ_b dQPᵀ·q_h; dPq[:, h] = s·Σ_b dKPᵀ·k_h (serial: shared rows).
		growEach(S2*H, &a.dPq, &a.dPk)
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
	a.relBackward(relGrad)
	// Reverse of Forward: Value(x), Key(x), Query(x).
	backwardProjections(dx, a.x, B*L,
		projGrad{a.Value, ws.dv, needV}, projGrad{a.Key, ws.dk, needK}, projGrad{a.Query, ws.dq, needQ})
}

// relScoreGrad takes one head's score gradient dS (unscaled) to its c2p and
// p2c blocks dQP, dKP [L, W] (kept for dPk, dPq) and adds their part to dq
// and dk: dq += s·dQP·Pk_h, dk += s·dKP·Pq_h.
func (a *DisentangledAttention) relScoreGrad(dq, dk []float32, u, h, off int, dS []float32) {
	L, H, d := a.l, a.width, a.d
	r0, W := a.ix.lo, a.ix.w
	scale := a.scale()
	dqp := a.dqp[u*L*W : (u+1)*L*W]
	dkp := a.dkp[u*L*W : (u+1)*L*W]
	clear(dqp)
	clear(dkp)
	for ij, g := range dS {
		if a.C2P {
			dqp[a.ix.c2p[ij]] += g
		}
		if a.P2C {
			dkp[a.ix.p2c[ij]] += g
		}
	}
	if a.C2P {
		tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, W, scale, dqp, W, a.pk[r0*H+h*d:], H, 1, dq[off:], H)
	}
	if a.P2C {
		tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, W, scale, dkp, W, a.pq[r0*H+h*d:], H, 1, dk[off:], H)
	}
}

// relBackward runs Key(R) and Query(R) backward (reverse of their forwards)
// with dPk, dPq: their weight gradients when trainable, and dL/dR into the
// shared Rel.dr when relGrad. With pos_dropout on, the projections saw
// R' = dropout(R): their weight gradients use R' and dL/dR' goes through the
// same mask into dL/dR.
func (a *DisentangledAttention) relBackward(relGrad bool) {
	H := a.width
	r0, W := a.ix.lo, a.ix.w
	rows := func(s []float32) []float32 { return s[r0*H : (r0+W)*H] }
	R := rows(a.Rel.R())
	var dR []float32
	if relGrad {
		dR = rows(a.Rel.dr)
	}
	dRw, accR := dR, true
	if a.posOn {
		R = a.rd
		if relGrad {
			a.drd = grow(a.drd, W*H)
			dRw, accR = a.drd, false
		}
	}
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
}

// posDropForward returns the rows lo..lo+w−1 of R that the pos projections
// read: R itself in eval mode (or PosDropout 0), else this layer's
// pos_dropout(R) with a fresh seed from rng. The mask is indexed by the
// element's position in the full [2·Span, hidden] R (offset lo·hidden), as
// if HF's StableDropout were applied to all of rel_embeddings.
func (a *DisentangledAttention) posDropForward(train bool, rng *uint64) []float32 {
	H := a.Query.InFeatures()
	lo, w := a.ix.lo, a.ix.w
	R := a.Rel.R()[lo*H : (lo+w)*H]
	a.posOn = train && a.PosDropout > 0
	if !a.posOn {
		return R
	}
	a.posSeed = tensor.SplitMix64(rng)
	a.rd = grow(a.rd, len(R))
	tensor.Dropout(a.rd, R, a.PosDropout, a.posSeed, lo*H)
	return a.rd
}
