package onnx

import (
	"fmt"
	"strings"

	"github.com/openmed/openmed/core/tensor"
)

// Opset is the default-domain operator set version openmed graphs use. Opset
// 17 has LayerNormalization as a native operator; everything else used here
// exists since opset 13/14.
const Opset = 17

// Builder assembles a Graph node by node. Each op helper (ops.go) appends one
// node and returns the name of its output value, so a model reads like its
// PyTorch forward. The first error (duplicate names, bad shapes, nil weights)
// is kept and returned by Model; later calls are no-ops for error purposes.
type Builder struct {
	graph  Graph
	names  map[string]bool // every value and initializer name in use
	consts map[string]string
	scope  string
	seq    int
	err    error
	// weights remembers each weight initializer's source tensor, so a
	// weight added again under the same name from the same tensor (a base
	// weight several branches of a shared graph read) is one initializer.
	weights map[string]*tensor.Tensor
}

// NewBuilder starts an empty graph called name.
func NewBuilder(name string) *Builder {
	return &Builder{graph: Graph{Name: name}, names: map[string]bool{}, consts: map[string]string{}, weights: map[string]*tensor.Tensor{}}
}

// Err is the first error the builder met, if any.
func (b *Builder) Err() error { return b.err }

func (b *Builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("onnx: "+format, args...)
	}
}

// SetScope sets the prefix of auto-generated node and value names (for example
// "/bert/encoder/layer.0/attention"), mirroring torch.onnx's module scopes so
// graphs are readable in Netron. It returns the previous scope.
func (b *Builder) SetScope(scope string) string {
	prev := b.scope
	b.scope = scope
	return prev
}

// claim reserves a unique name.
func (b *Builder) claim(name string) {
	if name == "" {
		b.fail("empty value name")
		return
	}
	if b.names[name] {
		b.fail("duplicate value name %q", name)
		return
	}
	b.names[name] = true
}

// fresh returns a new unique value name derived from the scope and op type.
func (b *Builder) fresh(op string) string {
	for {
		b.seq++
		name := fmt.Sprintf("%s/%s_%d", b.scope, op, b.seq)
		if !b.names[name] {
			b.names[name] = true
			return name
		}
	}
}

// Input declares a graph input.
func (b *Builder) Input(name string, elem DataType, dims ...Dim) string {
	b.claim(name)
	b.graph.Inputs = append(b.graph.Inputs, ValueInfo{Name: name, ElemType: elem, Dims: dims})
	return name
}

// Output declares value as the graph output called name. When the names
// differ an Identity node renames it (ORT removes it when optimising).
func (b *Builder) Output(value, name string, elem DataType, dims ...Dim) {
	if value != name {
		b.claim(name)
		b.graph.Nodes = append(b.graph.Nodes, Node{
			Name: b.nodeName("Identity"), OpType: "Identity", Inputs: []string{value}, Outputs: []string{name},
		})
	}
	b.graph.Outputs = append(b.graph.Outputs, ValueInfo{Name: name, ElemType: elem, Dims: dims})
}

// Initializer adds a constant tensor (a weight) under its own name.
func (b *Builder) Initializer(t *TensorProto) string {
	if t == nil {
		b.fail("nil initializer")
		return ""
	}
	b.claim(t.Name)
	b.graph.Initializers = append(b.graph.Initializers, t)
	return t.Name
}

// Weight adds a float32 weight as an initializer named after its Hugging Face
// state_dict key, with the tensor's own shape. The same name and tensor
// again return the existing initializer.
func (b *Builder) Weight(name string, t *tensor.Tensor) string {
	if t == nil {
		b.fail("missing weight %q", name)
		return name
	}
	if b.weights[name] == t {
		return name
	}
	b.weights[name] = t
	return b.Initializer(FloatTensor(name, t.Data, dims64(t.Shape)...))
}

// WeightTransposed adds the transpose of a 2-D weight ([out,in] torch Linear
// layout → [in,out]) so x·Wᵀ becomes a plain MatMul, as torch.onnx exports
// nn.Linear. The initializer is named key + ".T".
func (b *Builder) WeightTransposed(name string, t *tensor.Tensor) string {
	if t == nil {
		b.fail("missing weight %q", name)
		return name + ".T"
	}
	if len(t.Shape) != 2 {
		b.fail("weight %q: want 2-D [out,in], got shape %v", name, t.Shape)
		return name + ".T"
	}
	if b.weights[name+".T"] == t {
		return name + ".T"
	}
	b.weights[name+".T"] = t
	rows, cols := t.Shape[0], t.Shape[1]
	out := make([]float32, len(t.Data))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = t.Data[r*cols+c]
		}
	}
	return b.Initializer(FloatTensor(name+".T", out, int64(cols), int64(rows)))
}

// ConstInt64 adds (or reuses) an INT64 constant of the given shape; dims nil
// with one value makes a scalar.
func (b *Builder) ConstInt64(values []int64, dims ...int64) string {
	key := fmt.Sprintf("i64%v%v", dims, values)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.constName("const_i64", len(values))
	b.Initializer(Int64Tensor(name, values, dims...))
	b.consts[key] = name
	return name
}

// ConstFloat adds (or reuses) a FLOAT constant of the given shape; no dims
// makes a scalar.
func (b *Builder) ConstFloat(values []float32, dims ...int64) string {
	key := fmt.Sprintf("f32%v%v", dims, values)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.constName("const_f32", len(values))
	b.Initializer(FloatTensor(name, values, dims...))
	b.consts[key] = name
	return name
}

// ScalarFloat is a 0-d FLOAT constant.
func (b *Builder) ScalarFloat(v float32) string { return b.ConstFloat([]float32{v}) }

// ScalarInt64 is a 0-d INT64 constant.
func (b *Builder) ScalarInt64(v int64) string { return b.ConstInt64([]int64{v}) }

func (b *Builder) constName(prefix string, n int) string {
	for {
		b.seq++
		name := fmt.Sprintf("%s_%d", prefix, b.seq)
		if !b.names[name] {
			return name
		}
	}
}

func (b *Builder) nodeName(op string) string {
	b.seq++
	return fmt.Sprintf("%s/%s_%d", b.scope, op, b.seq)
}

// Op appends a node of opType with a single, auto-named output and returns
// that output's name. Every op helper goes through Op.
func (b *Builder) Op(opType string, inputs []string, attrs ...Attribute) string {
	for i, in := range inputs {
		if in != "" && !b.names[in] {
			b.fail("%s: input %d %q is not defined", opType, i, in)
		}
	}
	out := b.fresh(opType)
	b.graph.Nodes = append(b.graph.Nodes, Node{
		Name:       strings.Replace(out, "/"+opType+"_", "/"+opType+"_node_", 1),
		OpType:     opType,
		Inputs:     append([]string(nil), inputs...),
		Outputs:    []string{out},
		Attributes: attrs,
	})
	return out
}

// Model finishes the graph as a ModelProto at IR version 8, opset 17.
func (b *Builder) Model(producer, version string, metadata ...KeyValue) (*Model, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.graph.Outputs) == 0 {
		return nil, fmt.Errorf("onnx: graph %q has no output", b.graph.Name)
	}
	g := b.graph
	return &Model{
		IRVersion:       IRVersion,
		OpsetImports:    []OpsetID{{Domain: "", Version: Opset}},
		ProducerName:    producer,
		ProducerVersion: version,
		Graph:           &g,
		Metadata:        metadata,
	}, nil
}

func dims64(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}
