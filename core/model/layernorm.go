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

// Dropout is inverted dropout (torch.nn.Dropout) whose mask is a hash of a
// per-call seed drawn from the model's RNG, so Backward recomputes the mask
// instead of storing it. Inactive (identity) in eval mode or when P is 0.
type Dropout struct {
	P    float32
	seed uint64
	on   bool
}

// Forward writes y = dropout(x) (y may alias x). rng is the model's
// splitmix64 state; train selects training mode.
func (d *Dropout) Forward(y, x []float32, train bool, rng *uint64) {
	d.on = train && d.P > 0
	if !d.on {
		if &y[0] != &x[0] {
			copy(y, x)
		}
		return
	}
	d.seed = tensor.SplitMix64(rng)
	tensor.Dropout(y, x, d.P, d.seed, 0)
}

// Backward writes dx = dy ⊙ mask/(1−P) with the mask of the last Forward (dx may alias dy).
func (d *Dropout) Backward(dx, dy []float32) {
	if !d.on {
		if &dx[0] != &dy[0] {
			copy(dx, dy)
		}
		return
	}
	tensor.Dropout(dx, dy, d.P, d.seed, 0)
}
