package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	v     uint64
	bytes []byte
}

// decode splits a message into its fields with protowire (an independent
// check of the hand-written encoder).
func decode(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0, "bad tag")
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		require.GreaterOrEqual(t, n, 0, "bad value for field %d", num)
		b = b[n:]
		out = append(out, f)
	}
	return out
}

func pick(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

func TestModelWireFormat(t *testing.T) {
	b := NewBuilder("g")
	x := b.Input("x", Float, Symbolic("batch_size"), Fixed(3))
	w := b.Initializer(FloatTensor("w", []float32{1.5, -2, 0.25}, 3))
	y := b.Op("Add", []string{x, w})
	s := b.Softmax(y, -1)
	b.Output(s, "y", Float, Symbolic("batch_size"), Fixed(3))
	m, err := b.Model("openmed", "test", KeyValue{"k", "v"})
	require.NoError(t, err)

	top := decode(t, m.Marshal())
	require.Len(t, pick(top, 1), 1)
	assert.EqualValues(t, IRVersion, pick(top, 1)[0].v, "ir_version")
	assert.Equal(t, "openmed", string(pick(top, 2)[0].bytes), "producer_name")
	assert.Equal(t, "test", string(pick(top, 3)[0].bytes), "producer_version")
	opset := decode(t, pick(top, 8)[0].bytes)
	assert.EqualValues(t, Opset, pick(opset, 2)[0].v, "opset version")
	assert.Empty(t, pick(opset, 1), "default domain is empty")
	meta := decode(t, pick(top, 14)[0].bytes)
	assert.Equal(t, "k", string(pick(meta, 1)[0].bytes))
	assert.Equal(t, "v", string(pick(meta, 2)[0].bytes))

	g := decode(t, pick(top, 7)[0].bytes)
	assert.Equal(t, "g", string(pick(g, 2)[0].bytes))
	nodes := pick(g, 1)
	require.Len(t, nodes, 3, "Add, Softmax, Identity")
	add := decode(t, nodes[0].bytes)
	assert.Equal(t, "Add", string(pick(add, 4)[0].bytes))
	require.Len(t, pick(add, 1), 2)
	assert.Equal(t, "x", string(pick(add, 1)[0].bytes))
	assert.Equal(t, "w", string(pick(add, 1)[1].bytes))
	soft := decode(t, nodes[1].bytes)
	attr := decode(t, pick(soft, 5)[0].bytes)
	assert.Equal(t, "axis", string(pick(attr, 1)[0].bytes))
	assert.Equal(t, int64(-1), int64(pick(attr, 3)[0].v), "negative int64 as two's-complement varint")
	assert.EqualValues(t, AttrInt, pick(attr, 20)[0].v)
	ident := decode(t, nodes[2].bytes)
	assert.Equal(t, "Identity", string(pick(ident, 4)[0].bytes))
	assert.Equal(t, "y", string(pick(ident, 2)[0].bytes))

	init := decode(t, pick(g, 5)[0].bytes)
	assert.EqualValues(t, 3, pick(init, 1)[0].v, "dims")
	assert.EqualValues(t, Float, pick(init, 2)[0].v, "data_type")
	assert.Equal(t, "w", string(pick(init, 8)[0].bytes))
	raw := pick(init, 9)[0].bytes
	require.Len(t, raw, 12)
	for i, want := range []float32{1.5, -2, 0.25} {
		assert.Equal(t, want, math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}

	in := decode(t, pick(g, 11)[0].bytes)
	assert.Equal(t, "x", string(pick(in, 1)[0].bytes))
	typ := decode(t, pick(in, 2)[0].bytes)
	tt := decode(t, pick(typ, 1)[0].bytes)
	assert.EqualValues(t, Float, pick(tt, 1)[0].v, "elem_type")
	dims := pick(decode(t, pick(tt, 2)[0].bytes), 1)
	require.Len(t, dims, 2)
	assert.Equal(t, "batch_size", string(pick(decode(t, dims[0].bytes), 2)[0].bytes), "dim_param")
	assert.EqualValues(t, 3, pick(decode(t, dims[1].bytes), 1)[0].v, "dim_value")
	out := decode(t, pick(g, 12)[0].bytes)
	assert.Equal(t, "y", string(pick(out, 1)[0].bytes))
}

func TestAttributeKinds(t *testing.T) {
	for _, tc := range []struct {
		a    Attribute
		num  protowire.Number
		want uint64
	}{
		{FloatAttr("epsilon", 1e-12), 2, uint64(math.Float32bits(1e-12))},
		{IntAttr("to", int64(Int64)), 3, 7},
	} {
		fs := decode(t, tc.a.marshal())
		require.Len(t, pick(fs, tc.num), 1, tc.a.Name)
		assert.Equal(t, tc.want, pick(fs, tc.num)[0].v, tc.a.Name)
	}
	ints := decode(t, IntsAttr("perm", 0, 2, 1, 3).marshal())
	var got []uint64
	for _, f := range pick(ints, 8) {
		got = append(got, f.v)
	}
	assert.Equal(t, []uint64{0, 2, 1, 3}, got)
	assert.EqualValues(t, AttrInts, pick(ints, 20)[0].v)
	s := decode(t, StringAttr("mode", "constant").marshal())
	assert.Equal(t, "constant", string(pick(s, 4)[0].bytes))
}

func TestInt64TensorLittleEndian(t *testing.T) {
	tp := Int64Tensor("c", []int64{-1, 1 << 40}, 2)
	require.Len(t, tp.RawData, 16)
	assert.Equal(t, int64(-1), int64(binary.LittleEndian.Uint64(tp.RawData)))
	assert.Equal(t, int64(1<<40), int64(binary.LittleEndian.Uint64(tp.RawData[8:])))
}

func TestStreamingMatchesMarshal(t *testing.T) {
	b := NewBuilder("g")
	x := b.Input("x", Float, Fixed(40000))
	big := make([]float32, 40000) // spans several encoder chunks
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	y := b.Add(x, b.Initializer(FloatTensor("w", big, 40000)))
	y = b.Add(y, b.Initializer(&TensorProto{Name: "r", DataType: Float, Dims: []int64{1}, RawData: []byte{0, 0, 128, 63}}))
	b.Output(y, "y", Float, Fixed(40000))
	m, err := b.Model("openmed", "t")
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	require.NoError(t, err)
	assert.EqualValues(t, buf.Len(), n)
	assert.EqualValues(t, buf.Len(), m.Size())
	assert.Equal(t, buf.Bytes(), m.Marshal())
	g := decode(t, pick(decode(t, buf.Bytes()), 7)[0].bytes)
	raw := pick(decode(t, pick(g, 5)[0].bytes), 9)[0].bytes
	require.Len(t, raw, 4*len(big))
	for i := range big {
		require.Equal(t, big[i], math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])), "value %d", i)
	}
	r := pick(decode(t, pick(g, 5)[1].bytes), 9)[0].bytes
	assert.Equal(t, []byte{0, 0, 128, 63}, r)
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteToReportsErrors(t *testing.T) {
	b := NewBuilder("g")
	x := b.Input("x", Float, Fixed(1000))
	b.Output(b.Add(x, b.Initializer(FloatTensor("w", make([]float32, 1000), 1000))), "y", Float, Fixed(1000))
	m, err := b.Model("openmed", "t")
	require.NoError(t, err)
	_, err = m.WriteTo(&failingWriter{after: 100})
	assert.ErrorContains(t, err, "disk full")
}
