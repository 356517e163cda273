package tensor

import "fmt"

// Activation is a point-wise non-linearity named as in Hugging Face's
// config.json "hidden_act" (transformers.activations.ACT2FN).
type Activation int

const (
	// GELU is the exact erf form 0.5·x·(1+erf(x/√2)) (HF "gelu").
	GELU Activation = iota
	// GELUNew is the tanh approximation 0.5·x·(1+tanh(√(2/π)(x+0.044715x³)))
	// (HF "gelu_new", "gelu_pytorch_tanh", "gelu_fast" up to rounding).
	GELUNew
	// ReLU is max(x, 0) (HF "relu").
	ReLU
)

// ParseActivation maps a config.json hidden_act value to an Activation.
func ParseActivation(s string) (Activation, error) {
	switch s {
	case "gelu", "":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return GELUNew, nil
	case "relu":
		return ReLU, nil
	}
	return 0, fmt.Errorf("tensor: unsupported hidden_act %q (want gelu, gelu_new, gelu_pytorch_tanh, relu)", s)
}

// String gives the HF name of the activation.
func (a Activation) String() string {
	switch a {
	case GELU:
		return "gelu"
	case GELUNew:
		return "gelu_new"
	case ReLU:
		return "relu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

const (
	invSqrt2    = 0.70710678118654752
	invSqrt2Pi  = 0.39894228040143268
	sqrt2OverPi = 0.79788456080286536
	geluC       = 0.044715
)

func (a Activation) apply(z float32) float32 {
	switch a {
	case GELU:
		e, _ := erfWithExp(z * invSqrt2)
		return 0.5 * z * (1 + e)
	case GELUNew:
		return 0.5 * z * (1 + Tanhf(sqrt2OverPi*(z+geluC*z*z*z)))
	default:
		if z > 0 {
			return z
		}
		return 0
	}
}

func (a Activation) grad(z float32) float32 {
	switch a {
	case GELU:
		e, ex := erfWithExp(z * invSqrt2)
		// Φ(z) + z·φ(z), φ(z) = exp(-z²/2)/√(2π).
		return 0.5*(1+e) + z*ex*invSqrt2Pi
	case GELUNew:
		u := sqrt2OverPi * (z + geluC*z*z*z)
		t := Tanhf(u)
		return 0.5*(1+t) + 0.5*z*(1-t*t)*sqrt2OverPi*(1+3*geluC*z*z)
	default:
		if z > 0 {
			return 1
		}
		return 0
	}
}

// BiasAct is the fused bias + activation kernel of a feed-forward layer: for
// each of rows×cols entries it adds bias[col] to z in place (z keeps the
// pre-activation for the backward pass) and writes act(z) into y. bias may be
// nil. Rows run in parallel.
func BiasAct(y, z, bias []float32, rows, cols int, act Activation) {
	Parallel(rows, 4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			zr := z[r*cols : (r+1)*cols]
			yr := y[r*cols : (r+1)*cols]
			if bias != nil {
				for j := range zr {
					zr[j] += bias[j]
				}
			}
			for j, v := range zr {
				yr[j] = act.apply(v)
			}
		}
	})
}

// ActBackward writes dz = dy ⊙ act'(z) (dz may alias dy).
func ActBackward(dz, dy, z []float32, act Activation) {
	n := len(z)
	Parallel(n, 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dz[i] = dy[i] * act.grad(z[i])
		}
	})
}
