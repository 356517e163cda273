// Package tensor holds openmed's float32 tensors and the kernels the training
// engine is built from: matrix products through OpenBLAS (cgo), and parallel
// element-wise, normalisation and activation kernels with forward and backward
// passes. Tensors are plain row-major []float32 with a shape, in the spirit of
// llm.c: nothing hides the memory layout.
package tensor

import "fmt"

// Tensor is a dense, row-major float32 array. Data has exactly Numel(Shape)
// elements. The zero value is an empty tensor.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New allocates a zero-filled tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, Numel(shape))}
}

// FromData wraps data as a tensor of the given shape. It returns an error when
// the length does not match the shape.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	if n := Numel(shape); n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d values, got %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Numel is the number of elements of a shape (1 for a scalar shape).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Numel is the number of elements of t.
func (t *Tensor) Numel() int { return len(t.Data) }

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Zero sets every element of t to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// String describes the tensor's shape (not its values).
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// Param is a named trainable (or frozen) parameter with its gradient buffer,
// the unit optimisers and checkpoints work on. Name follows the Hugging Face
// state_dict key of the parameter (e.g. "bert.encoder.layer.0.attention.self.query.weight").
type Param struct {
	// Name is the Hugging Face state_dict key.
	Name string
	// Value holds the parameter values.
	Value *Tensor
	// Grad accumulates dL/dValue; nil for frozen parameters.
	Grad *Tensor
	// NoDecay excludes the parameter from AdamW weight decay (biases, LayerNorm).
	NoDecay bool
}

// Trainable reports whether p receives gradients.
func (p *Param) Trainable() bool { return p.Grad != nil }

// Transposed returns a new [c, r] tensor holding the transpose of the [r, c]
// tensor t (TensorFlow kernels and ONNX MatMul weights are stored [in, out];
// Hugging Face Linear weights are [out, in]).
func Transposed(t *Tensor) *Tensor {
	r, c := t.Shape[0], t.Shape[1]
	out := New(c, r)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Data[j*r+i] = t.Data[i*c+j]
		}
	}
	return out
}
