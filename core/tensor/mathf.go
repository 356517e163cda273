package tensor

import "math"

// Expf is a fast float32 exp (Cephes expf: range reduction by ln 2 and a
// degree-6 polynomial, about 1 ulp), used by softmax, GELU and losses where
// float64 math.Exp would dominate the step time. Inputs below -87.3 give 0,
// above 88.7 give +Inf.
func Expf(x float32) float32 {
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	fx := x*log2e + 0.5
	n := float32(int32(fx))
	if n > fx { // floor for negatives
		n--
	}
	r := x - n*c1 - n*c2
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// erfWithExp returns erf(x) and exp(-x²) (Abramowitz & Stegun 7.1.26,
// |error| ≤ 1.5e-7), so GELU's forward and backward share one exponential.
func erfWithExp(x float32) (erf, e float32) {
	ax := x
	if ax < 0 {
		ax = -ax
	}
	t := 1 / (1 + 0.3275911*ax)
	e = Expf(-ax * ax)
	y := 1 - (((((1.061405429*t-1.453152027)*t)+1.421413741)*t-0.284496736)*t+0.254829592)*t*e
	if x < 0 {
		y = -y
	}
	return y, e
}

// Tanhf is a float32 tanh built on Expf.
func Tanhf(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	if x > -0.04 && x < 0.04 {
		x2 := x * x
		return x * (1 - x2/3 + 2*x2*x2/15)
	}
	e := Expf(2 * x)
	return (e - 1) / (e + 1)
}
