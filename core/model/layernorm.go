package model

import "github.com/openmed/openmed/core/tensor"

// LayerNorm is torch.nn.LayerNorm over the last dimension (HF names
// "<prefix>.weight"/"<prefix>.bias"; legacy gamma/beta are renamed by
// core/checkpoint). It caches the per-row mean and 1/std of its last Forward.
type LayerNorm struct {
	Weight, Bias *tensor.Param
	Eps          float32

	mean, rstd, scratch []float32
}

// NewLayerNorm makes a LayerNorm with weight 1 and bias 0 (HF init).
func NewLayerNorm(prefix string, dim int, eps float32) *LayerNorm {
	ln := &LayerNorm{Weight: newParam(prefix+".weight", true, dim), Bias: newParam(prefix+".bias", true, dim), Eps: eps}
	for i := range ln.Weight.Value.Data {
		ln.Weight.Value.Data[i] = 1
	}
	return ln
}

// Forward writes y = LN(x) for n rows (y may alias x only if Backward is not needed).
func (ln *LayerNorm) Forward(y, x []float32, n int) {
	d := len(ln.Weight.Value.Data)
	ln.mean = grow(ln.mean, n)
	ln.rstd = grow(ln.rstd, n)
	tensor.LayerNormForward(y, x, ln.Weight.Value.Data, ln.Bias.Value.Data, ln.mean, ln.rstd, n, d, ln.Eps)
}

// Backward writes dx (nil: not needed; may alias dy) from dy and the
// forward input x, and accumulates the weight/bias gradients when trainable.
func (ln *LayerNorm) Backward(dx, x, dy []float32, n int) {
	d := len(ln.Weight.Value.Data)
	var dg, db []float32
	if ln.Weight.Grad != nil && ln.Bias.Grad != nil {
		dg, db = ln.Weight.Grad.Data, ln.Bias.Grad.Data
		ln.scratch = grow(ln.scratch, tensor.Threads()*2*d)
	}
	if dg == nil && dx == nil {
		return
	}
	tensor.LayerNormBackward(dx, dg, db, dy, x, ln.Weight.Value.Data, ln.mean, ln.rstd, n, d, ln.scratch)
}

// Params lists weight and bias.
func (ln *LayerNorm) Params() []*tensor.Param { return []*tensor.Param{ln.Weight, ln.Bias} }

// grow returns s resized to n, reusing its storage when possible.
func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

// growEach resizes every buffer to n with grow.
func growEach(n int, bufs ...*[]float32) {
	for _, b := range bufs {
		*b = grow(*b, n)
	}
}
