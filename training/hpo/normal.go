package hpo

import (
	"math"
	"math/rand/v2"
)

// Standard-normal helpers for the truncated-normal Parzen kernels (Optuna's _truncnorm
// plays the same role). Everything works on standardised bounds z = (x − μ)/σ.

const logSqrt2Pi = 0.9189385332046727 // log √(2π)

// ndtr is the standard normal CDF Φ(z).
func ndtr(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// logNdtr is log Φ(z), accurate in the far left tail (asymptotic series below −20).
func logNdtr(z float64) float64 {
	switch {
	case z > 6:
		return math.Log1p(-ndtr(-z))
	case z > -20:
		return math.Log(ndtr(z))
	}
	z2 := z * z
	series := 1 - 1/z2 + 3/(z2*z2) - 15/(z2*z2*z2)
	return -0.5*z2 - math.Log(-z) - logSqrt2Pi + math.Log(series)
}

// logNdtrDiff is log(Φ(b) − Φ(a)) for a ≤ b, computed without cancellation in either tail.
func logNdtrDiff(a, b float64) float64 {
	if !(a < b) {
		return math.Inf(-1)
	}
	if a > 0 { // Φ(b) − Φ(a) = Φ(−a) − Φ(−b): move the interval to the left tail.
		a, b = -b, -a
	}
	if b <= 0 {
		la, lb := logNdtr(a), logNdtr(b)
		return lb + math.Log1p(-math.Exp(la-lb))
	}
	// a ≤ 0 < b: the interval holds the mode, so the difference is not small.
	return math.Log(0.5 * (math.Erf(b/math.Sqrt2) - math.Erf(a/math.Sqrt2)))
}

// normLogPDF is log φ(z).
func normLogPDF(z float64) float64 { return -0.5*z*z - logSqrt2Pi }

// sampleTruncNorm draws from N(μ, σ²) truncated to [lo, hi] by inverting the CDF. The
// kernels' means always lie inside [lo, hi], so the interval holds the mode and the
// inversion is well conditioned; the result is clipped to [lo, hi] against round-off.
func sampleTruncNorm(rng *rand.Rand, mu, sigma, lo, hi float64) float64 {
	a, b := (lo-mu)/sigma, (hi-mu)/sigma
	flip := false
	if a > 0 {
		a, b, flip = -b, -a, true
	}
	pa, pb := ndtr(a), ndtr(b)
	u := pa + rng.Float64()*(pb-pa)
	var z float64
	if u < 0.5 {
		z = -math.Sqrt2 * math.Erfcinv(2*u)
	} else {
		z = math.Sqrt2 * math.Erfinv(2*u-1)
	}
	if flip {
		z = -z
	}
	x := mu + sigma*z
	if math.IsNaN(x) {
		x = mu
	}
	return math.Max(lo, math.Min(hi, x))
}

// logSumExp returns log Σ exp(v_i) (−Inf for an empty or all −Inf input).
func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}
