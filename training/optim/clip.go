package optim

import (
	"math"

	"github.com/openmed/openmed/core/tensor"
)

// ClipGradNorm is torch.nn.utils.clip_grad_norm_ with the L2 norm: the total
// norm is the norm of the per-parameter gradient norms; when
// coef = maxNorm/(total+1e-6) is below 1 every gradient is multiplied by it.
// Frozen parameters (nil Grad) are skipped. It returns the total norm before
// clipping. maxNorm ≤ 0 only measures.
func ClipGradNorm(params []*tensor.Param, maxNorm float64) float64 {
	var sq float64
	for _, p := range params {
		if p == nil || p.Grad == nil {
			continue
		}
		var s float64
		for _, g := range p.Grad.Data {
			s += float64(g) * float64(g)
		}
		n := float64(float32(math.Sqrt(s))) // torch.norm returns a float32 tensor
		sq += n * n
	}
	total := float32(math.Sqrt(sq))
	if maxNorm <= 0 {
		return float64(total)
	}
	coef := float32(maxNorm) / (total + float32(1e-6))
	if coef < 1 {
		ScaleGrads(params, coef)
	}
	return float64(total)
}

// ScaleGrads multiplies every gradient by s (e.g. 1/accumulation_steps).
func ScaleGrads(params []*tensor.Param, s float32) {
	for _, p := range params {
		if p == nil || p.Grad == nil {
			continue
		}
		for j := range p.Grad.Data {
			p.Grad.Data[j] *= s
		}
	}
}

// ZeroGrads zeroes every gradient (before a new accumulation window).
func ZeroGrads(params []*tensor.Param) {
	for _, p := range params {
		if p != nil && p.Grad != nil {
			p.Grad.Zero()
		}
	}
}

// Accumulator counts micro-batches for gradient accumulation
// (TrainingArguments.gradient_accumulation_steps): gradients of Steps
// micro-batches are summed, then scaled by 1/Steps (when the per-micro-batch
// loss is a mean) before the optimiser step.
type Accumulator struct {
	// Steps is the number of micro-batches per optimiser step (≥ 1).
	Steps int
	n     int
}

// Add records one micro-batch and reports whether the optimiser should step now.
func (a *Accumulator) Add() bool {
	a.n++
	return a.n >= max(1, a.Steps)
}

// Finish scales the summed gradients by 1/micro-batches and resets the count.
func (a *Accumulator) Finish(params []*tensor.Param) {
	if a.n > 1 {
		ScaleGrads(params, 1/float32(a.n))
	}
	a.n = 0
}

// Pending is the number of micro-batches accumulated since the last Finish.
func (a *Accumulator) Pending() int { return a.n }
