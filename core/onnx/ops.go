package onnx

import "math"

// One helper per ONNX operator (opset 17 semantics, see onnx/docs/Operators.md).
// Each returns the name of the node's output.

// MatMul is numpy-style matrix product with broadcasting.
func (b *Builder) MatMul(a, c string) string { return b.Op("MatMul", []string{a, c}) }

// Add is element-wise a + c with broadcasting.
func (b *Builder) Add(a, c string) string { return b.Op("Add", []string{a, c}) }

// Sub is element-wise a − c with broadcasting.
func (b *Builder) Sub(a, c string) string { return b.Op("Sub", []string{a, c}) }

// Mul is element-wise a · c with broadcasting.
func (b *Builder) Mul(a, c string) string { return b.Op("Mul", []string{a, c}) }

// Div is element-wise a / c with broadcasting.
func (b *Builder) Div(a, c string) string { return b.Op("Div", []string{a, c}) }

// Gather takes slices of data along axis at indices (embedding lookup with axis 0).
func (b *Builder) Gather(data, indices string, axis int64) string {
	return b.Op("Gather", []string{data, indices}, IntAttr("axis", axis))
}

// LayerNorm is LayerNormalization over the last axis (opset 17), matching
// torch.nn.LayerNorm(hidden, eps).
func (b *Builder) LayerNorm(x, scale, bias string, eps float32) string {
	return b.Op("LayerNormalization", []string{x, scale, bias}, IntAttr("axis", -1), FloatAttr("epsilon", eps))
}

// Reshape reshapes x to shape; 0 copies the input dimension, −1 is inferred.
func (b *Builder) Reshape(x string, shape ...int64) string {
	return b.Op("Reshape", []string{x, b.ConstInt64(shape, int64(len(shape)))})
}

// Transpose permutes the axes of x.
func (b *Builder) Transpose(x string, perm ...int64) string {
	return b.Op("Transpose", []string{x}, IntsAttr("perm", perm...))
}

// Softmax normalises along axis (opset ≥ 13: a single axis, like torch.softmax).
func (b *Builder) Softmax(x string, axis int64) string {
	return b.Op("Softmax", []string{x}, IntAttr("axis", axis))
}

// Erf is the Gauss error function, element-wise.
func (b *Builder) Erf(x string) string { return b.Op("Erf", []string{x}) }

// Tanh is the hyperbolic tangent, element-wise.
func (b *Builder) Tanh(x string) string { return b.Op("Tanh", []string{x}) }

// Relu is max(x, 0), element-wise.
func (b *Builder) Relu(x string) string { return b.Op("Relu", []string{x}) }

// Sigmoid is 1/(1+e^−x), element-wise.
func (b *Builder) Sigmoid(x string) string { return b.Op("Sigmoid", []string{x}) }

// Cast converts x to the element type to.
func (b *Builder) Cast(x string, to DataType) string {
	return b.Op("Cast", []string{x}, IntAttr("to", int64(to)))
}

// Unsqueeze inserts size-1 axes (opset 13: axes is an input).
func (b *Builder) Unsqueeze(x string, axes ...int64) string {
	return b.Op("Unsqueeze", []string{x, b.ConstInt64(axes, int64(len(axes)))})
}

// Shape is the 1-D INT64 shape of x.
func (b *Builder) Shape(x string) string { return b.Op("Shape", []string{x}) }

// Dim is dimension axis of x as a 0-d INT64 value (Shape then Gather).
func (b *Builder) Dim(x string, axis int64) string {
	return b.Gather(b.Shape(x), b.ScalarInt64(axis), 0)
}

// Range is [start, start+delta, …) below limit; all three are 0-d values.
func (b *Builder) Range(start, limit, delta string) string {
	return b.Op("Range", []string{start, limit, delta})
}

// Linear is torch.nn.Linear: x·Wᵀ + bias, with W stored [out,in] under its HF
// key (the initializer holds Wᵀ) and an optional bias ("" skips it).
func (b *Builder) Linear(x, wT, bias string) string {
	y := b.MatMul(x, wT)
	if bias == "" {
		return y
	}
	return b.Add(y, bias)
}

// GeluErf is the exact GELU of torch.nn.functional.gelu (HF "gelu"):
// 0.5·x·(1 + erf(x/√2)).
func (b *Builder) GeluErf(x string) string {
	e := b.Erf(b.Div(x, b.ScalarFloat(float32(math.Sqrt2))))
	return b.Mul(b.Mul(x, b.Add(e, b.ScalarFloat(1))), b.ScalarFloat(0.5))
}

// GeluTanh is the tanh approximation of GELU (HF "gelu_new",
// "gelu_pytorch_tanh"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (b *Builder) GeluTanh(x string) string {
	x3 := b.Mul(b.Mul(x, x), x)
	inner := b.Add(x, b.Mul(x3, b.ScalarFloat(0.044715)))
	t := b.Tanh(b.Mul(inner, b.ScalarFloat(float32(math.Sqrt(2/math.Pi)))))
	return b.Mul(b.Mul(x, b.Add(t, b.ScalarFloat(1))), b.ScalarFloat(0.5))
}

// Silu is x·sigmoid(x) (HF "silu"/"swish").
func (b *Builder) Silu(x string) string { return b.Mul(x, b.Sigmoid(x)) }
