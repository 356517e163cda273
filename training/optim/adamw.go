// Package optim holds the optimisation pieces of the OpenMed NER recipe:
// AdamW exactly as torch.optim.AdamW, Hugging Face's warm-up schedules
// (cosine, linear, constant) and global-norm gradient clipping as
// torch.nn.utils.clip_grad_norm_, plus gradient-accumulation helpers.
package optim

import (
	"fmt"
	"math"
	"sort"

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
	// offs[i] is where params[i] starts in the concatenation of all
	// trainable values (offs[len(params)] is the total), so Step can split
	// the whole update into contiguous chunks across the worker pool.
	offs []int
	step int64
}

// adamwMinChunk is the fewest values a Step chunk handles: below
// threads×adamwMinChunk values the update runs on the calling goroutine.
const adamwMinChunk = 1 << 14

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
	o := &AdamW{cfg: cfg, lr: cfg.LR, offs: []int{0}}
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
		o.offs = append(o.offs, o.offs[len(o.offs)-1]+len(p.Value.Data))
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
//
// The update is elementwise, so it is split over the worker pool
// (tensor.Threads: OPENMED_THREADS or Config.Threads): all trainable values,
// parameter after parameter, form one index range cut into contiguous
// chunks, one per thread. Each value sees exactly the float32 operations of
// torch's single-tensor loop in the same order, so the result is
// bit-identical for every thread count.
func (o *AdamW) Step() {
	o.step++
	t := float64(o.step)
	b1, b2 := o.cfg.Beta1, o.cfg.Beta2
	bc1 := 1 - math.Pow(b1, t)
	k := adamwScalars{
		b1: float32(b1), b2: float32(b2),
		a1: float32(1 - b1), a2: float32(1 - b2),
		bc2Sqrt:  float32(math.Sqrt(1 - math.Pow(b2, t))),
		stepSize: float32(-(o.lr / bc1)),
		eps:      float32(o.cfg.Eps),
		decay:    float32(1 - o.lr*o.cfg.WeightDecay),
	}
	withDecay := o.cfg.WeightDecay != 0
	tensor.Parallel(o.offs[len(o.offs)-1], adamwMinChunk, func(lo, hi int) {
		// First parameter whose values reach past lo.
		i := sort.Search(len(o.params), func(i int) bool { return o.offs[i+1] > lo })
		for ; i < len(o.params) && o.offs[i] < hi; i++ {
			a, b := max(lo, o.offs[i])-o.offs[i], min(hi, o.offs[i+1])-o.offs[i]
			p := o.params[i]
			k.update(p.Value.Data[a:b], p.Grad.Data[a:b], o.m[i][a:b], o.v[i][a:b], withDecay && !p.NoDecay)
		}
	})
}

// adamwScalars are one step's float32 constants.
type adamwScalars struct {
	b1, b2, a1, a2, bc2Sqrt, stepSize, eps, decay float32
}

// update applies the AdamW step to one contiguous run of values: decoupled
// decay p ← p·(1 − lr·wd) (when decay is set), then the moment updates and
// p ← p + stepSize·m/(√v/√(1−β2^t) + eps), per value exactly as torch 1.13's
// _single_tensor_adamw. torch does the decay as a separate pass over p; here
// it is fused into the one pass, with the same rounded float32 product per
// value (the explicit conversion forbids fusing it into a multiply-add).
func (k adamwScalars) update(w, g, m, v []float32, decay bool) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	d := float32(1) // x·1 == x exactly: no decay leaves p untouched
	if decay {
		d = k.decay
	}
	for j := range w {
		wj := float32(w[j] * d)
		gj := g[j]
		mj := m[j]*k.b1 + k.a1*gj
		vj := v[j]*k.b2 + k.a2*gj*gj
		m[j], v[j] = mj, vj
		denom := float32(math.Sqrt(float64(vj)))/k.bc2Sqrt + k.eps
		w[j] = wj + k.stepSize*mj/denom
	}
}

// ZeroGrad sets every gradient of the optimised parameters to zero
// (optimizer.zero_grad(set_to_none=False)).
func (o *AdamW) ZeroGrad() { ZeroGrads(o.params) }
