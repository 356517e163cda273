package model

import "github.com/openmed/openmed/core/tensor"

// heads is the multi-head attention machinery SelfAttention and
// DisentangledAttention share: q, k, v = Query/Key/Value(x); per sequence and
// head the scores S = s·q·kᵀ (+ whatever the attention adds), P =
// softmax(S) over unpadded keys, dropout on P and context = P·v. Heads are
// addressed in place inside the [tokens, hidden] activations through sgemm
// strides (no transposes), and batch×heads run in parallel on the worker pool
// with single-threaded BLAS. Backward mirrors it down to dq, dk, dv; the
// projections' own Backward is left to the attention (backwardProjections),
// which knows their order.
type heads struct {
	x            []float32 // forward input (not owned)
	q, k, v, ctx []float32 // [tokens, hidden]
	probs        []float32 // [B, heads, L, L] softmax output (before dropout)
	mask         []float32
	b, l         int
	nh, d, width int // heads, head size, hidden
	probsDrop    float32
	seed         uint64
	dropOn       bool
	scratch      []float32 // per worker: 2·L·L
	bf16Heads              // the bf16 path's operands (attention_bf16.go)
}

// headFunc works on one (sequence, head) pair u = bi·heads + h of the batch:
// c is the worker's chunk (for per-worker scratch), off the offset of the
// head's first element in the [tokens, hidden] activations and S its [L, L]
// scores (Forward) or score gradient (Backward).
type headFunc func(c, u, h, off int, S []float32)

// Probs returns the attention probabilities of the last Forward, [B, heads, L, L].
func (s *heads) Probs() []float32 { return s.probs }

// Output is the context of the last Forward.
func (s *heads) Output() []float32 { return s.ctx }

// project sizes the activations for batch and computes q, k, v from x.
func (s *heads) project(x []float32, batch *Batch, numHeads int, query, key, value Projection) {
	B, L := batch.Batch, batch.SeqLen
	n := B * L
	H := query.OutFeatures()
	s.x, s.b, s.l, s.mask = x, B, L, batch.AttentionMask
	s.nh, s.d, s.width = numHeads, H/numHeads, H
	growEach(n*H, &s.q, &s.k, &s.v, &s.ctx)
	s.probs = grow(s.probs, B*numHeads*L*L)
	query.Forward(s.q, x, n)
	key.Forward(s.k, x, n)
	value.Forward(s.v, x, n)
}

// startDropout switches attention-probs dropout (probability p) on in
// training mode, drawing this step's seed from rng.
func (s *heads) startDropout(p float32, train bool, rng *uint64) {
	s.probsDrop = p
	s.dropOn = train && p > 0
	if s.dropOn {
		s.seed = tensor.SplitMix64(rng)
	}
}

// attend computes the context (returned, owned by s) from q, k, v: S =
// scale·q·kᵀ, then addScores (when non-nil) adds the attention's own terms,
// then P = softmax(S) with padded keys masked and, when zeroPadRows
// (DeBERTa's XSoftmax), the rows of padded queries set to zero; dropout on P
// and context = P·v.
func (s *heads) attend(scale float32, zeroPadRows bool, addScores headFunc) []float32 {
	if tensor.CurrentPrecision() == tensor.BF16 {
		return s.attendBF16(scale, zeroPadRows, addScores)
	}
	B, L, H, nh, d := s.b, s.l, s.width, s.nh, s.d
	s.scratch = grow(s.scratch, tensor.Threads()*2*L*L)
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				off := bi*L*H + h*d
				P := s.probs[u*L*L : (u+1)*L*L]
				tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, L, d, scale, s.q[off:], H, s.k[off:], H, 0, P, L)
				if addScores != nil {
					addScores(c, u, h, off, P)
				}
				src := s.softmaxDrop(c, u, P, zeroPadRows)
				tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, L, 1, src, L, s.v[off:], H, 0, s.ctx[off:], H)
			}
		})
	})
	return s.ctx
}

// softmaxDrop turns head u's scores P into probabilities in place (padded
// keys masked; with zeroPadRows, padded queries' rows zero) and returns the
// probabilities after dropout (worker c's scratch when dropout is on): the
// step between attention's two products, in fp32 on both paths.
func (s *heads) softmaxDrop(c, u int, P []float32, zeroPadRows bool) []float32 {
	L := s.l
	bi := u / s.nh
	var km []float32
	if s.mask != nil {
		km = s.mask[bi*L : (bi+1)*L]
	}
	tensor.SoftmaxRowsSerial(P, L, L, km)
	if zeroPadRows && km != nil {
		for i, m := range km {
			if m == 0 {
				clear(P[i*L : (i+1)*L])
			}
		}
	}
	if !s.dropOn {
		return P
	}
	src := s.scratch[c*2*L*L : c*2*L*L+L*L]
	tensor.Dropout(src, P, s.probsDrop, s.seed, u*L*L)
	return src
}

// attendBackward takes dL/dcontext to dv = P'ᵀ·dctx (P' = dropout(P)) when needV,
// and to the unscaled score gradient dS = softmax'(dropout'(dctx·vᵀ)) when
// formQ or formK: dq = scale·dS·k when formQ, dk = scale·dSᵀ·q when formK,
// after which scoreGrad (when non-nil) takes dS on to what else the scores
// depend on. dq, dk, dv are [tokens, hidden]; rows of padded queries have
// P = 0 and so dS = 0.
func (s *heads) attendBackward(dctx, dq, dk, dv []float32, scale float32, formQ, formK, needV bool, scoreGrad headFunc) {
	if tensor.CurrentPrecision() == tensor.BF16 {
		s.attendBackwardBF16(dctx, dq, dk, dv, scale, formQ, formK, needV, scoreGrad)
		return
	}
	B, L, H, nh, d := s.b, s.l, s.width, s.nh, s.d
	s.scratch = grow(s.scratch, tensor.Threads()*2*L*L)
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			dP := s.scratch[c*2*L*L : c*2*L*L+L*L]
			pd := s.scratch[c*2*L*L+L*L : (c+1)*2*L*L]
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				off := bi*L*H + h*d
				P := s.probs[u*L*L : (u+1)*L*L]
				// dP(dropped) = dC·Vᵀ
				tensor.Sgemm(tensor.NoTrans, tensor.Trans, L, L, d, 1, dctx[off:], H, s.v[off:], H, 0, dP, L)
				src := P
				if s.dropOn {
					tensor.Dropout(pd, P, s.probsDrop, s.seed, u*L*L)
					src = pd
					tensor.Dropout(dP, dP, s.probsDrop, s.seed, u*L*L)
				}
				if needV {
					tensor.Sgemm(tensor.Trans, tensor.NoTrans, L, d, L, 1, src, L, dctx[off:], H, 0, dv[off:], H)
				}
				if !formQ && !formK {
					continue
				}
				tensor.SoftmaxBackwardRowsSerial(dP, dP, P, L, L)
				if formQ {
					tensor.Sgemm(tensor.NoTrans, tensor.NoTrans, L, d, L, scale, dP, L, s.k[off:], H, 0, dq[off:], H)
				}
				if formK {
					tensor.Sgemm(tensor.Trans, tensor.NoTrans, L, d, L, scale, dP, L, s.q[off:], H, 0, dk[off:], H)
				}
				if scoreGrad != nil {
					scoreGrad(c, u, h, off, dP)
				}
			}
		})
	})
}

// projGrad is one projection's share of an attention backward: dy is
// dL/d(its output) and run says whether its Backward is needed at all.
type projGrad struct {
	p   Projection
	dy  []float32
	run bool
}

// backwardProjections runs, in the given order, the Backward of the
// projections applied to the same input x [n rows], summing their input
// gradients into dx unless dx is nil. LoRA's per-call cache stack makes the
// order matter only within one projection; across projections it fixes the
// order of the sums (kept as each attention always had it).
func backwardProjections(dx, x []float32, n int, steps ...projGrad) {
	acc := false
	for _, st := range steps {
		if !st.run {
			continue
		}
		st.p.Backward(dx, x, st.dy, n, acc)
		acc = dx != nil
	}
}

// projParams lists the parameters of ps in order.
func projParams(ps ...Projection) []*tensor.Param {
	var out []*tensor.Param
	for _, p := range ps {
		out = append(out, p.Params()...)
	}
	return out
}

// anyProjTrainable reports whether any of ps has a trainable parameter.
func anyProjTrainable(ps ...Projection) bool {
	for _, p := range ps {
		if p.HasTrainable() {
			return true
		}
	}
	return false
}

// qkvSlots names the query, key and value slots "<prefix>.query<suffix>"
// etc. (suffix "" for BERT, "_proj" for DeBERTa).
func qkvSlots(prefix, suffix string, query, key, value *Projection) []ProjectionSlot {
	return []ProjectionSlot{
		{prefix + ".query" + suffix, query},
		{prefix + ".key" + suffix, key},
		{prefix + ".value" + suffix, value},
	}
}
