package model

import (
	"github.com/openmed/openmed/core/tensor"
)

// Projection is an affine map y = proj(x) over rows, the slot LoRA (and any
// other adapter) wraps: BERT's query/key/value/dense layers are all
// Projections. Implementations are stateless with respect to activations
// except where documented (LoRA keeps a LIFO of per-call caches), so one
// projection may be applied several times per step (DeBERTa's shared key).
type Projection interface {
	// InFeatures is the input width.
	InFeatures() int
	// OutFeatures is the output width.
	OutFeatures() int
	// Forward writes y[n,out] = proj(x[n,in]).
	Forward(y, x []float32, n int)
	// Backward takes the forward input x and dL/dy, accumulates parameter
	// gradients, and writes dL/dx into dx (added to it when accumulate),
	// unless dx is nil.
	Backward(dx, x, dy []float32, n int, accumulate bool)
	// Params lists the parameters (HF names).
	Params() []*tensor.Param
	// HasTrainable reports whether any parameter receives gradients, i.e.
	// whether Backward needs x and must run at all for its own sake.
	HasTrainable() bool
}

// Linear is torch.nn.Linear: y = x·Wᵀ + b with W stored [out, in] (the torch
// and safetensors layout), computed with one tensor.GemmParallel (OpenBLAS
// sgemm in fp32, oneDNN bf16 kernels under tensor.BF16).
type Linear struct {
	Weight *tensor.Param
	// Bias is nil for bias=False layers.
	Bias *tensor.Param
	// wbf16 is a bfloat16 copy of a frozen Weight (CacheBF16).
	wbf16 []uint16
}

// CacheBF16 keeps a bfloat16 copy of a frozen weight, which bf16 forward
// products use instead of converting the weight on every call (at tagging
// batch sizes the conversion cost as much as the product). Trainable
// weights are never cached. Whoever changes the weight in place afterwards
// calls DropBF16 (lora.Linear's Merge and Unmerge do); Model.CacheBF16Weights
// caches every projection.
func (l *Linear) CacheBF16() {
	if l.Weight.Grad != nil {
		return
	}
	l.wbf16 = make([]uint16, len(l.Weight.Value.Data))
	tensor.ToBF16(l.wbf16, l.Weight.Value.Data)
}

// DropBF16 forgets the CacheBF16 copy (the weight changed).
func (l *Linear) DropBF16() { l.wbf16 = nil }

// NewLinear makes a zero Linear named prefix.weight / prefix.bias.
func NewLinear(prefix string, in, out int, bias bool) *Linear {
	l := &Linear{Weight: newParam(prefix+".weight", false, out, in)}
	if bias {
		l.Bias = newParam(prefix+".bias", true, out)
	}
	return l
}

// InFeatures is the input width.
func (l *Linear) InFeatures() int { return l.Weight.Value.Shape[1] }

// OutFeatures is the output width.
func (l *Linear) OutFeatures() int { return l.Weight.Value.Shape[0] }

// Forward writes y = x·Wᵀ + b (bias pre-broadcast, then sgemm with beta=1).
func (l *Linear) Forward(y, x []float32, n int) {
	l.forward(y, x, n, true)
}

// ForwardNoBias writes y = x·Wᵀ, leaving the bias to a fused kernel
// (tensor.BiasAct).
func (l *Linear) ForwardNoBias(y, x []float32, n int) { l.forward(y, x, n, false) }

func (l *Linear) forward(y, x []float32, n int, bias bool) {
	in, out := l.InFeatures(), l.OutFeatures()
	beta := float32(0)
	if bias && l.Bias != nil {
		tensor.BroadcastRows(y[:n*out], l.Bias.Value.Data, n, out)
		beta = 1
	}
	if l.wbf16 != nil && l.Weight.Grad == nil && tensor.CurrentPrecision() == tensor.BF16 {
		tensor.GemmBF16Packed(tensor.NoTrans, tensor.Trans, n, out, in, 1, x, in, l.wbf16, beta, y, out)
		return
	}
	tensor.GemmParallel(tensor.NoTrans, tensor.Trans, n, out, in, 1, x, in, l.Weight.Value.Data, in, beta, y, out)
}

// Backward accumulates dW += dyᵀ·x and db += Σ dy when trainable (frozen
// weights cost no GEMM) and writes dx = dy·W when dx is non-nil.
func (l *Linear) Backward(dx, x, dy []float32, n int, accumulate bool) {
	in, out := l.InFeatures(), l.OutFeatures()
	if l.Weight.Grad != nil {
		tensor.GemmParallel(tensor.Trans, tensor.NoTrans, out, in, n, 1, dy, out, x, in, 1, l.Weight.Grad.Data, in)
	}
	if l.Bias != nil && l.Bias.Grad != nil {
		tensor.SumRows(l.Bias.Grad.Data, dy, n, out)
	}
	if dx != nil {
		beta := float32(0)
		if accumulate {
			beta = 1
		}
		tensor.GemmParallel(tensor.NoTrans, tensor.NoTrans, n, in, out, 1, dy, out, l.Weight.Value.Data, in, beta, dx, in)
	}
}

// Params lists weight (and bias).
func (l *Linear) Params() []*tensor.Param {
	if l.Bias == nil {
		return []*tensor.Param{l.Weight}
	}
	return []*tensor.Param{l.Weight, l.Bias}
}

// HasTrainable reports whether the weight or bias receives gradients.
func (l *Linear) HasTrainable() bool { return anyTrainable(l.Params()) }

func anyTrainable(ps []*tensor.Param) bool {
	for _, p := range ps {
		if p.Grad != nil {
			return true
		}
	}
	return false
}

// newParam makes a trainable zero parameter (gradient buffer allocated).
func newParam(name string, noDecay bool, shape ...int) *tensor.Param {
	return &tensor.Param{Name: name, Value: tensor.New(shape...), Grad: tensor.New(shape...), NoDecay: noDecay}
}
