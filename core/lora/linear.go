// Package lora implements LoRA (Hu et al. 2021) with PEFT's semantics, as the
// OpenMed NER paper fine-tunes its encoders: a frozen base Linear plus a
// trainable low-rank update, h = W·x + b + (dropout(x)·Aᵀ·Bᵀ)·scaling with
// scaling = α/r (α/√r with rsLoRA); A is Kaiming-uniform(a=√5), B zero;
// merge/unmerge W ± B·A·scaling; PEFT adapter folders (adapter_config.json +
// adapter_model.safetensors) are read and written with PEFT's key names.
package lora

import (
	"math"

	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
)

// Linear is PEFT's lora.Linear around a frozen model.Linear. It implements
// model.Projection, so it can replace the base in any model slot. Each
// Forward pushes a small cache (x·Aᵀ, and dropout(x) when dropout is on) on a
// stack that Backward pops, so the same layer may be applied several times per
// step (DeBERTa's shared query projection) as long as backward runs in reverse.
type Linear struct {
	Base *model.Linear
	// A is lora_A.weight [r, in]; B is lora_B.weight [out, r].
	A, B *tensor.Param
	// Scaling is α/r (or α/√r).
	Scaling float32
	// Dropout is lora_dropout, applied to the LoRA branch input only.
	Dropout float32

	merged bool
	train  bool
	rng    uint64
	stack  []loraCache
	top    int
	du     []float32
	dxd    []float32
}

type loraCache struct {
	u, xd []float32
	seed  uint64
	drop  bool
}

// NewLinear wraps base (made frozen) with rank-r LoRA named after name (the
// HF module path): A gets PEFT's default init kaiming_uniform_(a=√5), i.e.
// U(−1/√in, 1/√in), drawn from seed; B is zero.
func NewLinear(name string, base *model.Linear, r int, scaling, dropout float32, seed uint64) *Linear {
	in, out := base.InFeatures(), base.OutFeatures()
	for _, p := range base.Params() {
		p.Grad = nil
	}
	l := &Linear{
		Base:    base,
		A:       &tensor.Param{Name: name + ".lora_A.weight", Value: tensor.New(r, in), Grad: tensor.New(r, in)},
		B:       &tensor.Param{Name: name + ".lora_B.weight", Value: tensor.New(out, r), Grad: tensor.New(out, r)},
		Scaling: scaling,
		Dropout: dropout,
		rng:     seed ^ 0x4c6f5241,
	}
	bound := 1 / math.Sqrt(float64(in))
	st := seed
	for i := range l.A.Value.Data {
		u := float64(tensor.SplitMix64(&st)>>11) / (1 << 53)
		l.A.Value.Data[i] = float32((2*u - 1) * bound)
	}
	return l
}

// Rank is r.
func (l *Linear) Rank() int { return l.A.Value.Shape[0] }

// InFeatures is the base input width.
func (l *Linear) InFeatures() int { return l.Base.InFeatures() }

// OutFeatures is the base output width.
func (l *Linear) OutFeatures() int { return l.Base.OutFeatures() }

// Params lists the (frozen) base parameters, then lora_A and lora_B.
func (l *Linear) Params() []*tensor.Param { return append(l.Base.Params(), l.A, l.B) }

// HasTrainable reports whether A or B (or the base) receives gradients.
func (l *Linear) HasTrainable() bool {
	return l.A.Grad != nil || l.B.Grad != nil || l.Base.HasTrainable()
}

// SetTraining turns the LoRA dropout on or off (called by model.Forward).
func (l *Linear) SetTraining(train bool) { l.train = train }

// ResetCache empties the per-call cache stack (called by model.Forward).
func (l *Linear) ResetCache() { l.top = 0 }

// CacheBF16 caches the base weight in bfloat16 (model.Linear.CacheBF16);
// the LoRA branch stays fp32.
func (l *Linear) CacheBF16() { l.Base.CacheBF16() }

// Merged reports whether B·A·scaling is currently folded into the base weight.
func (l *Linear) Merged() bool { return l.merged }

// Forward writes y = base(x) + scaling·(dropout(x)·Aᵀ)·Bᵀ. When merged it is the
// base alone (the delta is inside W).
func (l *Linear) Forward(y, x []float32, n int) {
	l.Base.Forward(y, x, n)
	if l.merged {
		return
	}
	in, out, r := l.InFeatures(), l.OutFeatures(), l.Rank()
	if l.top == len(l.stack) {
		l.stack = append(l.stack, loraCache{})
	}
	c := &l.stack[l.top]
	l.top++
	c.u = grow(c.u, n*r)
	xd := x
	c.drop = l.train && l.Dropout > 0
	if c.drop {
		c.seed = tensor.SplitMix64(&l.rng)
		c.xd = grow(c.xd, n*in)
		tensor.Dropout(c.xd, x[:n*in], l.Dropout, c.seed, 0)
		xd = c.xd
	}
	tensor.SgemmParallel(tensor.NoTrans, tensor.Trans, n, r, in, 1, xd, in, l.A.Value.Data, in, 0, c.u, r)
	tensor.SgemmParallel(tensor.NoTrans, tensor.Trans, n, out, r, l.Scaling, c.u, r, l.B.Value.Data, r, 1, y, out)
}

// Backward pops the cache of the matching Forward, accumulates dA and dB,
// and writes dx (base path plus LoRA path) unless dx is nil. The frozen base
// costs only its input-gradient GEMM, and nothing when dx is nil.
func (l *Linear) Backward(dx, x, dy []float32, n int, accumulate bool) {
	l.Base.Backward(dx, x, dy, n, accumulate)
	if l.merged || l.top == 0 {
		return
	}
	l.top--
	c := &l.stack[l.top]
	in, out, r := l.InFeatures(), l.OutFeatures(), l.Rank()
	xd := x
	if c.drop {
		xd = c.xd
	}
	if l.B.Grad != nil {
		tensor.SgemmParallel(tensor.Trans, tensor.NoTrans, out, r, n, l.Scaling, dy, out, c.u, r, 1, l.B.Grad.Data, r)
	}
	if l.A.Grad == nil && dx == nil {
		return
	}
	l.du = grow(l.du, n*r)
	tensor.SgemmParallel(tensor.NoTrans, tensor.NoTrans, n, r, out, l.Scaling, dy, out, l.B.Value.Data, r, 0, l.du, r)
	if l.A.Grad != nil {
		tensor.SgemmParallel(tensor.Trans, tensor.NoTrans, r, in, n, 1, l.du, r, xd, in, 1, l.A.Grad.Data, in)
	}
	if dx == nil {
		return
	}
	if !c.drop {
		tensor.SgemmParallel(tensor.NoTrans, tensor.NoTrans, n, in, r, 1, l.du, r, l.A.Value.Data, in, 1, dx, in)
		return
	}
	l.dxd = grow(l.dxd, n*in)
	tensor.SgemmParallel(tensor.NoTrans, tensor.NoTrans, n, in, r, 1, l.du, r, l.A.Value.Data, in, 0, l.dxd, in)
	tensor.Dropout(l.dxd, l.dxd, l.Dropout, c.seed, 0)
	tensor.AddInPlace(dx[:n*in], l.dxd)
}

// DeltaWeight returns B·A·scaling in the base weight's [out, in] layout
// (PEFT get_delta_weight with fan_in_fan_out=false).
func (l *Linear) DeltaWeight() *tensor.Tensor {
	in, out, r := l.InFeatures(), l.OutFeatures(), l.Rank()
	d := tensor.New(out, in)
	tensor.SgemmParallel(tensor.NoTrans, tensor.NoTrans, out, in, r, l.Scaling, l.B.Value.Data, r, l.A.Value.Data, in, 0, d.Data, in)
	return d
}

// Merge folds the update into the base weight (W += B·A·scaling); Forward
// then runs the base alone. It is a no-op when already merged.
func (l *Linear) Merge() {
	if l.merged {
		return
	}
	_ = AddDelta(l.Base.Weight.Value, l.B.Value, l.A.Value, float64(l.Scaling)) // shapes fixed at construction
	l.Base.DropBF16()
	l.merged = true
}

// Unmerge subtracts the update again (W −= B·A·scaling).
func (l *Linear) Unmerge() {
	if !l.merged {
		return
	}
	_ = AddDelta(l.Base.Weight.Value, l.B.Value, l.A.Value, -float64(l.Scaling))
	l.Base.DropBF16()
	l.merged = false
}

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
