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

// BiasAct is the fused bias + activation kernel of a feed-forward layer: for
// each of rows×cols entries it adds bias[col] to z in place (z keeps the
// pre-activation for the backward pass) and writes act(z) into y. bias may be
// nil. Rows run in parallel.
func BiasAct(y, z, bias []float32, rows, cols int, act Activation) {
	Parallel(rows, 4, func(lo, hi int) {
		cBiasAct(y[lo*cols:hi*cols], z[lo*cols:hi*cols], bias, hi-lo, cols, act)
	})
}

// ActBackward writes dz = dy ⊙ act'(z) (dz may alias dy).
func ActBackward(dz, dy, z []float32, act Activation) {
	n := len(z)
	Parallel(n, 4096, func(lo, hi int) {
		cActBackward(dz[lo:hi], dy[lo:hi], z[lo:hi], act)
	})
}
