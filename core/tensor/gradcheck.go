package tensor

import "math"

// GradCheckResult reports the worst disagreement found by GradCheck.
type GradCheckResult struct {
	// MaxErr is max_i |analytic_i − numeric_i| / (max_j |numeric_j| + 1e-6):
	// the error relative to the gradient's scale, so a flipped sign on a
	// leading entry gives ≈2 and rounding noise stays ≪ 1e-2.
	MaxErr float64
	// Index is the element where MaxErr occurred.
	Index int
	// Analytic and Numeric are the two values at Index.
	Analytic, Numeric float64
	// Checked is the number of elements compared.
	Checked int
	// Scale is max_j |numeric_j|; when it is at rounding-noise level (the
	// true gradient is 0, e.g. an attention key bias under softmax's shift
	// invariance) callers should compare absolute values instead.
	Scale float64
}

// GradCheck compares an analytic gradient with float64 central differences
// (L(x+eps)−L(x−eps))/2eps of the scalar loss, perturbing the float32 inputs x
// in place (and restoring them). At most maxSamples evenly spaced elements
// are checked (0 = all). It is the finite-difference check every layer's
// Backward is tested with.
func GradCheck(loss func() float64, x, analytic []float32, eps float32, maxSamples int) GradCheckResult {
	n := len(x)
	stride := 1
	if maxSamples > 0 && n > maxSamples {
		stride = (n + maxSamples - 1) / maxSamples
	}
	idx := make([]int, 0, n/stride+1)
	num := make([]float64, 0, n/stride+1)
	var scale float64
	for i := 0; i < n; i += stride {
		orig := x[i]
		x[i] = orig + eps
		lp := loss()
		x[i] = orig - eps
		lm := loss()
		x[i] = orig
		d := (lp - lm) / (float64(x[i]+eps) - float64(x[i]-eps))
		idx = append(idx, i)
		num = append(num, d)
		scale = math.Max(scale, math.Abs(d))
	}
	res := GradCheckResult{Checked: len(idx)}
	for k, i := range idx {
		e := math.Abs(float64(analytic[i])-num[k]) / (scale + 1e-6)
		if e >= res.MaxErr {
			res = GradCheckResult{MaxErr: e, Index: i, Analytic: float64(analytic[i]), Numeric: num[k], Checked: len(idx), Scale: scale}
		}
	}
	return res
}
