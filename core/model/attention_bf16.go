package model

import "github.com/openmed/openmed/core/tensor"

// bf16Heads are the bf16 operands of attention's products under
// tensor.BF16 (attendBF16, attendBackwardBF16), kept from forward to
// backward: q, k, v and the dropped-out probabilities P' as bfloat16, and
// all heads' score gradients.
type bf16Heads struct {
	qb, kb, vb, pb []uint16  // [tokens, hidden] ×3, [B, heads, L, L]
	dctxb, dsb     []uint16  // backward: dL/dcontext, dS
	dp             []float32 // backward: dP for every head [B, heads, L, L]
}

func growU16(s []uint16, n int) []uint16 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]uint16, n)
}

// Strides of the batched products: heads inside [tokens, hidden] as
// [B, heads, L, d] (headsT: the same read as [B, heads, d, L]), and the
// [B, heads, L, L] scores (scoresT transposed).
func attentionStrides(L, H, nh, d int) (heads, headsT, scores, scoresT tensor.Strides4) {
	return tensor.Strides4{L * H, d, H, 1}, tensor.Strides4{L * H, d, 1, H},
		tensor.Strides4{nh * L * L, L * L, L, 1}, tensor.Strides4{nh * L * L, L * L, 1, L}
}

// attendBF16 is attend with its two products — S = s·q·kᵀ and context =
// P'·v — in bf16 as one batched oneDNN call each over every (sequence,
// head), the way torch's bf16 autocast runs attention's matmuls; scores,
// softmax, masking and dropout stay fp32 as in attend.
func (s *heads) attendBF16(scale float32, zeroPadRows bool, addScores headFunc) []float32 {
	B, L, H, nh, d := s.b, s.l, s.width, s.nh, s.d
	n := B * L
	hv, hT, sc, _ := attentionStrides(L, H, nh, d)
	s.qb, s.kb, s.vb = growU16(s.qb, n*H), growU16(s.kb, n*H), growU16(s.vb, n*H)
	s.pb = growU16(s.pb, B*nh*L*L)
	tensor.ToBF16Parallel(s.qb, s.q[:n*H])
	tensor.ToBF16Parallel(s.kb, s.k[:n*H])
	tensor.ToBF16Parallel(s.vb, s.v[:n*H])
	tensor.GemmBF16Batched(B, nh, L, L, d, scale, s.qb, hv, s.kb, hT, 0, s.probs, sc)
	s.scratch = grow(s.scratch, tensor.Threads()*2*L*L)
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				P := s.probs[u*L*L : (u+1)*L*L]
				if addScores != nil {
					addScores(c, u, h, bi*L*H+h*d, P)
				}
				src := s.softmaxDrop(c, u, P, zeroPadRows)
				tensor.ToBF16(s.pb[u*L*L:(u+1)*L*L], src)
			}
		})
	})
	tensor.GemmBF16Batched(B, nh, L, d, L, 1, s.pb, sc, s.vb, hv, 0, s.ctx, hv)
	return s.ctx
}

// attendBackwardBF16 is attendBackward with its products in bf16, batched
// over every (sequence, head): dP = dctx·vᵀ, dv = P'ᵀ·dctx, dq = s·dS·k,
// dk = s·dSᵀ·q. dq and dk are written before scoreGrad runs, which adds
// to them (DeBERTa), as in attendBackward.
func (s *heads) attendBackwardBF16(dctx, dq, dk, dv []float32, scale float32, formQ, formK, needV bool, scoreGrad headFunc) {
	B, L, H, nh, d := s.b, s.l, s.width, s.nh, s.d
	n := B * L
	hv, hT, sc, scT := attentionStrides(L, H, nh, d)
	s.dctxb = growU16(s.dctxb, n*H)
	tensor.ToBF16Parallel(s.dctxb, dctx[:n*H])
	if needV {
		tensor.GemmBF16Batched(B, nh, L, d, L, 1, s.pb, scT, s.dctxb, hv, 0, dv, hv)
	}
	if !formQ && !formK {
		return
	}
	s.dp = grow(s.dp, B*nh*L*L)
	s.dsb = growU16(s.dsb, B*nh*L*L)
	tensor.GemmBF16Batched(B, nh, L, L, d, 1, s.dctxb, hv, s.vb, hT, 0, s.dp, sc)
	tensor.ParallelChunks(B*nh, func(_, lo, hi int) {
		for u := lo; u < hi; u++ {
			dP := s.dp[u*L*L : (u+1)*L*L]
			if s.dropOn {
				tensor.Dropout(dP, dP, s.probsDrop, s.seed, u*L*L)
			}
			tensor.SoftmaxBackwardRowsSerial(dP, dP, s.probs[u*L*L:(u+1)*L*L], L, L)
			tensor.ToBF16(s.dsb[u*L*L:(u+1)*L*L], dP)
		}
	})
	if formQ {
		tensor.GemmBF16Batched(B, nh, L, d, L, scale, s.dsb, sc, s.kb, hv, 0, dq, hv)
	}
	if formK {
		tensor.GemmBF16Batched(B, nh, L, d, L, scale, s.dsb, scT, s.qb, hv, 0, dk, hv)
	}
	if scoreGrad == nil {
		return
	}
	tensor.WithSingleThreadedBLAS(func() {
		tensor.ParallelChunks(B*nh, func(c, lo, hi int) {
			for u := lo; u < hi; u++ {
				bi, h := u/nh, u%nh
				scoreGrad(c, u, h, bi*L*H+h*d, s.dp[u*L*L:(u+1)*L*L])
			}
		})
	})
}
