package model

import "github.com/openmed/openmed/core/tensor"

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
