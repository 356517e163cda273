package testutil

import "math"

// F32Roundoff is the unit roundoff u of IEEE float32 round-to-nearest, 2^-24:
// every rounded float32 operation has a relative error of at most u.
const F32Roundoff = 0x1p-24

// ReorderTol is the tolerance for comparing two float32 evaluations of the
// same computation that differ only in the order of their sums: another GEMM
// kernel set (OPENBLAS_CORETYPE=Haswell vs SkylakeX), another blocking (a
// window alone vs inside a batch), another thread split, or another engine
// (ONNX Runtime vs ours). A sum of K terms computed in two orders differs by at
// most about 2·K·u·Σ|terms| (Higham, Accuracy and Stability of Numerical
// Algorithms, §3.1, γ_K per evaluation); along a path of reductions the
// first-order bounds add. reductions are the K of each sum on the path (for a
// transformer layer: the hidden size for Q/K/V, output and FFN-in, the head
// size for the attention scores, the sequence length for attention·V, the FFN
// size for FFN-out, the hidden size twice for the LayerNorms). The result is
// relative to the magnitude of the terms (see Close).
func ReorderTol(reductions ...int) float64 {
	k := 0
	for _, r := range reductions {
		k += r
	}
	return 2 * float64(k) * F32Roundoff
}

// EncoderReductions lists the reduction lengths along one token's path
// through an encoder of the given shape (embeddings LayerNorm, then per layer
// Q/K/V, scores, attention·V, output, LayerNorm, FFN in, FFN out, LayerNorm)
// for ReorderTol.
func EncoderReductions(layers, hidden, heads, ffn, seq int) []int {
	r := []int{hidden}
	for range layers {
		r = append(r, hidden, hidden/heads, seq, hidden, hidden, hidden, ffn, hidden)
	}
	return r
}

// Close reports whether a and b agree within tol relative to scale (the
// magnitude of the compared quantities, at least 1): |a−b| ≤ tol·max(1, scale).
func Close(a, b, tol, scale float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, scale)
}
