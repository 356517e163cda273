// Package optim holds the optimisation pieces of the OpenMed NER recipe:
// AdamW exactly as torch.optim.AdamW, Hugging Face's warm-up schedules
// (cosine, linear, constant) and global-norm gradient clipping as
// torch.nn.utils.clip_grad_norm_, plus gradient-accumulation helpers.
package optim

import (
	"fmt"
	"math"

	"github.com/openmed/openmed/core/tensor"
)

// AdamWConfig holds torch.optim.AdamW's hyper-parameters.
type AdamWConfig struct {
	// LR is the base learning rate (schedules multiply it).
	LR float64
	// Beta1, Beta2 are the moment decay rates.
	Beta1, Beta2 float64
	// Eps is added to the bias-corrected sqrt of the second moment.
	Eps float64
	// WeightDecay is the decoupled weight decay; parameters with
	// Param.NoDecay get none (HF Trainer's no-decay group for biases and LayerNorm).
	WeightDecay float64
}

// DefaultAdamWConfig returns torch.optim.AdamW's defaults (lr 1e-3, betas
// (0.9, 0.999), eps 1e-8, weight_decay 0.01), which are also the paper's
// optimiser settings apart from the tuned learning rate.
func DefaultAdamWConfig() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Option adjusts an AdamWConfig.
type Option func(*AdamWConfig)

// WithLR sets the base learning rate.
func WithLR(lr float64) Option { return func(c *AdamWConfig) { c.LR = lr } }

// WithBetas sets (β1, β2).
func WithBetas(b1, b2 float64) Option { return func(c *AdamWConfig) { c.Beta1, c.Beta2 = b1, b2 } }

// WithEps sets eps.
func WithEps(eps float64) Option { return func(c *AdamWConfig) { c.Eps = eps } }

// WithWeightDecay sets the decoupled weight decay.
func WithWeightDecay(wd float64) Option { return func(c *AdamWConfig) { c.WeightDecay = wd } }

// Validate checks the ranges torch.optim.AdamW checks.
func (c AdamWConfig) Validate() error {
	switch {
	case !(c.LR >= 0):
		return fmt.Errorf("adamw: invalid learning rate %g", c.LR)
	case !(c.Eps >= 0):
		return fmt.Errorf("adamw: invalid eps %g", c.Eps)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("adamw: invalid beta1 %g", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("adamw: invalid beta2 %g", c.Beta2)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("adamw: invalid weight decay %g", c.WeightDecay)
	}
	return nil
}

// AdamW is torch.optim.AdamW (amsgrad=False, maximize=False), following
// torch 1.13's _single_tensor_adamw step by step in float32 with float64
// scalars:
//
//	p ← p·(1 − lr·wd)
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	p ← p − (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + eps)
//
// (Loshchilov & Hutter, "Decoupled Weight Decay Regularization").
type AdamW struct {
	cfg    AdamWConfig
	lr     float64
	params []*tensor.Param
	m, v   [][]float32
	step   int64
}

// NewAdamW creates an optimiser over the trainable parameters (Grad != nil)
// of params; frozen parameters are ignored.
func NewAdamW(params []*tensor.Param, opts ...Option) (*AdamW, error) {
	cfg := DefaultAdamWConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return NewAdamWWithConfig(params, cfg)
}

// NewAdamWWithConfig is NewAdamW with an explicit configuration.
func NewAdamWWithConfig(params []*tensor.Param, cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &AdamW{cfg: cfg, lr: cfg.LR}
	seen := map[string]bool{}
	for i, p := range params {
		if p == nil || p.Value == nil {
			return nil, fmt.Errorf("adamw: parameter %d is nil", i)
		}
		if !p.Trainable() {
			continue
		}
		if len(p.Grad.Data) != len(p.Value.Data) {
			return nil, fmt.Errorf("adamw: parameter %q: grad has %d values, value %d", p.Name, len(p.Grad.Data), len(p.Value.Data))
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("adamw: parameter name %q appears twice", p.Name)
		}
		seen[p.Name] = true
		o.params = append(o.params, p)
		o.m = append(o.m, make([]float32, len(p.Value.Data)))
		o.v = append(o.v, make([]float32, len(p.Value.Data)))
	}
	return o, nil
}

// Config returns the optimiser's configuration.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Params returns the trainable parameters the optimiser updates.
func (o *AdamW) Params() []*tensor.Param { return o.params }

// LR returns the learning rate the next Step uses.
func (o *AdamW) LR() float64 { return o.lr }

// SetLR sets the learning rate for the next steps (what a scheduler does to
// param_group["lr"]).
func (o *AdamW) SetLR(lr float64) { o.lr = lr }

// StepCount is the number of steps taken (torch's state["step"]).
func (o *AdamW) StepCount() int64 { return o.step }

// Step applies one AdamW update from the current gradients.
func (o *AdamW) Step() {
	o.step++
	t := float64(o.step)
	b1, b2 := o.cfg.Beta1, o.cfg.Beta2
	bc1 := 1 - math.Pow(b1, t)
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(b2, t)))
	stepSize := float32(-(o.lr / bc1))
	b1f, b2f := float32(b1), float32(b2)
	a1, a2 := float32(1-b1), float32(1-b2)
	eps := float32(o.cfg.Eps)
	for i, p := range o.params {
		w, g, m, v := p.Value.Data, p.Grad.Data, o.m[i], o.v[i]
		if o.cfg.WeightDecay != 0 && !p.NoDecay {
			decay := float32(1 - o.lr*o.cfg.WeightDecay)
			for j := range w {
				w[j] *= decay
			}
		}
		for j := range w {
			gj := g[j]
			m[j] = m[j]*b1f + a1*gj
			v[j] = v[j]*b2f + a2*gj*gj
			denom := float32(math.Sqrt(float64(v[j])))/bc2Sqrt + eps
			w[j] += stepSize * m[j] / denom
		}
	}
}

// ZeroGrad sets every gradient of the optimised parameters to zero
// (optimizer.zero_grad(set_to_none=False)).
func (o *AdamW) ZeroGrad() { ZeroGrads(o.params) }
