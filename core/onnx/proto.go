package onnx

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// IRVersion is the ONNX IR version written in ModelProto.ir_version. IR 8 is
// the version that goes with opset 17 (onnx 1.12 through 1.13).
const IRVersion = 8

// DataType is TensorProto.DataType from onnx.proto.
type DataType int32

// Element types used by openmed graphs (onnx.proto TensorProto.DataType).
const (
	Float DataType = 1 // FLOAT (float32)
	Int32 DataType = 6 // INT32
	Int64 DataType = 7 // INT64
	Bool  DataType = 9 // BOOL
)

// String names the type as onnx.proto does.
func (d DataType) String() string {
	switch d {
	case Float:
		return "FLOAT"
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case Bool:
		return "BOOL"
	}
	return "DataType(" + strconv.Itoa(int(d)) + ")"
}

// AttributeType is AttributeProto.AttributeType from onnx.proto.
type AttributeType int32

// Attribute kinds written by openmed (onnx.proto AttributeProto.AttributeType).
const (
	AttrFloat   AttributeType = 1
	AttrInt     AttributeType = 2
	AttrString  AttributeType = 3
	AttrTensor  AttributeType = 4
	AttrFloats  AttributeType = 6
	AttrInts    AttributeType = 7
	AttrStrings AttributeType = 8
)

// Dim is one dimension of a value's shape: a fixed size (Value > 0) or a
// symbolic name (Param, e.g. "batch_size") as in TensorShapeProto.Dimension.
type Dim struct {
	Value int64
	Param string
}

// Fixed is a dimension of known size.
func Fixed(n int64) Dim { return Dim{Value: n} }

// Symbolic is a dynamic dimension named like HF Optimum names them
// ("batch_size", "sequence_length").
func Symbolic(name string) Dim { return Dim{Param: name} }

// TensorProto is a constant tensor (an initializer). Its values are written
// little-endian in raw_data, as torch.onnx and Optimum do: RawData as is, or,
// when RawData is nil, Floats encoded on the fly (so a weight is never copied
// into a byte slice before it is written).
type TensorProto struct {
	Name     string
	DataType DataType
	Dims     []int64
	RawData  []byte
	Floats   []float32
}

// rawLen is the length of raw_data in bytes.
func (t *TensorProto) rawLen() int {
	if t.RawData != nil {
		return len(t.RawData)
	}
	return 4 * len(t.Floats)
}

// Attribute is a node attribute (AttributeProto); exactly one value field is
// set, as named by Type.
type Attribute struct {
	Name    string
	Type    AttributeType
	F       float32
	I       int64
	S       []byte
	T       *TensorProto
	Floats  []float32
	Ints    []int64
	Strings [][]byte
}

// Node is an operator application (NodeProto).
type Node struct {
	Name       string
	OpType     string
	Domain     string
	Inputs     []string
	Outputs    []string
	Attributes []Attribute
}

// ValueInfo declares a graph input or output: a tensor of ElemType with Dims
// (ValueInfoProto with a TypeProto.Tensor).
type ValueInfo struct {
	Name     string
	ElemType DataType
	Dims     []Dim
}

// Graph is a GraphProto: nodes in topological order, initializers, inputs and
// outputs.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []*TensorProto
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// OpsetID is an OperatorSetIdProto: the default domain "" with its version.
type OpsetID struct {
	Domain  string
	Version int64
}

// Model is a ModelProto.
type Model struct {
	IRVersion       int64
	OpsetImports    []OpsetID
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           *Graph
	// Metadata are ModelProto.metadata_props, written in the given order.
	Metadata []KeyValue
}

// KeyValue is a StringStringEntryProto.
type KeyValue struct{ Key, Value string }

// Marshal encodes the model in the protobuf wire format of onnx.proto.
func (m *Model) Marshal() []byte {
	var buf bytes.Buffer
	buf.Grow(int(m.Size()))
	_, _ = m.WriteTo(&buf) // bytes.Buffer writes cannot fail
	return buf.Bytes()
}

// MaxProtoSize is protobuf's 2 GiB message limit; larger models would need
// ONNX external data, which openmed does not write.
const MaxProtoSize = 1<<31 - 1

// Size is the encoded size of the model in bytes.
func (m *Model) Size() int64 {
	head, tail := m.headTail()
	n := int64(len(head) + len(tail))
	if m.Graph != nil {
		g := m.Graph.size()
		n += int64(protowire.SizeTag(7)) + int64(protowire.SizeVarint(uint64(g))) + g
	}
	return n
}

// headTail are the model's small fields before and after the graph.
func (m *Model) headTail() (head, tail []byte) {
	head = appendVarintField(head, 1, uint64(m.IRVersion))
	head = appendStringField(head, 2, m.ProducerName)
	head = appendStringField(head, 3, m.ProducerVersion)
	head = appendStringField(head, 6, m.DocString)
	for _, o := range m.OpsetImports {
		var ob []byte
		ob = appendStringField(ob, 1, o.Domain)
		ob = appendVarintField(ob, 2, uint64(o.Version))
		tail = appendMessage(tail, 8, ob)
	}
	for _, kv := range m.Metadata {
		tail = appendMessage(tail, 14, marshalKeyValue(kv))
	}
	return head, tail
}

// WriteTo streams the encoded model to w without building it in memory:
// initializer data goes straight from the weights to w. It implements
// io.WriterTo.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	head, tail := m.headTail()
	cw.write(head)
	if m.Graph != nil {
		g := m.Graph.size()
		cw.write(protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.BytesType), uint64(g)))
		m.Graph.writeTo(cw)
	}
	cw.write(tail)
	return cw.n, cw.err
}

// countingWriter keeps the first error and the byte count.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) write(b []byte) {
	if c.err != nil || len(b) == 0 {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func marshalKeyValue(kv KeyValue) []byte {
	var b []byte
	b = appendStringField(b, 1, kv.Key)
	b = appendStringField(b, 2, kv.Value)
	return b
}

// parts are the graph's small fields: nodes and name before the
// initializers, inputs and outputs after them.
func (g *Graph) parts() (head, tail []byte) {
	for i := range g.Nodes {
		head = appendMessage(head, 1, g.Nodes[i].marshal())
	}
	head = appendStringField(head, 2, g.Name)
	for _, v := range g.Inputs {
		tail = appendMessage(tail, 11, v.marshal())
	}
	for _, v := range g.Outputs {
		tail = appendMessage(tail, 12, v.marshal())
	}
	return head, tail
}

func (g *Graph) size() int64 {
	head, tail := g.parts()
	n := int64(len(head) + len(tail))
	for _, t := range g.Initializers {
		ts := t.size()
		n += int64(protowire.SizeTag(5)) + int64(protowire.SizeVarint(uint64(ts))) + ts
	}
	return n
}

func (g *Graph) writeTo(cw *countingWriter) {
	head, tail := g.parts()
	cw.write(head)
	for _, t := range g.Initializers {
		cw.write(protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.BytesType), uint64(t.size())))
		t.writeTo(cw)
	}
	cw.write(tail)
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendStringField(b, 3, n.Name)
	b = appendStringField(b, 4, n.OpType)
	for i := range n.Attributes {
		b = appendMessage(b, 5, n.Attributes[i].marshal())
	}
	b = appendStringField(b, 7, n.Domain)
	return b
}

func (a Attribute) marshal() []byte {
	var b []byte
	b = appendStringField(b, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, 5, a.T.marshal())
		}
	case AttrFloats:
		for _, f := range a.Floats { // proto2 repeated float: unpacked by default
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, i := range a.Ints {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(i))
		}
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Type))
	return b
}

// header is the tensor's fields other than raw_data.
func (t *TensorProto) header() []byte {
	var b []byte
	for _, d := range t.Dims { // proto2 repeated int64 dims = 1 (unpacked)
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.DataType))
	b = appendStringField(b, 8, t.Name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(t.rawLen()))
}

func (t *TensorProto) size() int64 { return int64(len(t.header()) + t.rawLen()) }

// writeTo writes the tensor message body, encoding Floats in chunks.
func (t *TensorProto) writeTo(cw *countingWriter) {
	cw.write(t.header())
	if t.RawData != nil {
		cw.write(t.RawData)
		return
	}
	const chunk = 1 << 14
	buf := make([]byte, 4*chunk)
	for i := 0; i < len(t.Floats); i += chunk {
		end := min(i+chunk, len(t.Floats))
		for j, v := range t.Floats[i:end] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		cw.write(buf[:4*(end-i)])
	}
}

// marshal encodes the tensor message body in memory.
func (t *TensorProto) marshal() []byte {
	var buf bytes.Buffer
	t.writeTo(&countingWriter{w: &buf})
	return buf.Bytes()
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Dims {
		var db []byte
		if d.Param != "" {
			db = appendStringField(db, 2, d.Param)
		} else {
			db = protowire.AppendTag(db, 1, protowire.VarintType)
			db = protowire.AppendVarint(db, uint64(d.Value))
		}
		shape = appendMessage(shape, 1, db)
	}
	var tt []byte
	tt = appendVarintField(tt, 1, uint64(v.ElemType))
	tt = protowire.AppendTag(tt, 2, protowire.BytesType) // shape present even for scalars
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tt)
	var b []byte
	b = appendStringField(b, 1, v.Name)
	b = appendMessage(b, 2, typ)
	return b
}

// appendMessage appends field num holding an embedded message.
func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// appendStringField appends a string field, omitting empty strings.
func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendVarintField appends a varint field, omitting zero.
func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// FloatTensor makes a FLOAT TensorProto from row-major values. It keeps a
// reference to data (no copy); the values are encoded when written.
func FloatTensor(name string, data []float32, dims ...int64) *TensorProto {
	return &TensorProto{Name: name, DataType: Float, Dims: append([]int64(nil), dims...), Floats: data}
}

// Int64Tensor makes an INT64 TensorProto from row-major values.
func Int64Tensor(name string, data []int64, dims ...int64) *TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &TensorProto{Name: name, DataType: Int64, Dims: append([]int64(nil), dims...), RawData: raw}
}
