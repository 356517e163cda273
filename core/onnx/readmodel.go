package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/internal/protowalk"
)

// ONNX TensorProto.DataType values the importer meets.
const (
	onnxFloat    = 1
	onnxUint8    = 2
	onnxInt8     = 3
	onnxInt32    = 6
	onnxInt64    = 7
	onnxFloat16  = 10
	onnxDouble   = 11
	onnxBFloat16 = 16
)

// onnxTypeName names a TensorProto.DataType for errors.
func onnxTypeName(t int32) string {
	switch t {
	case onnxFloat:
		return "float32"
	case onnxUint8:
		return "uint8"
	case onnxInt8:
		return "int8"
	case onnxInt32:
		return "int32"
	case onnxInt64:
		return "int64"
	case onnxFloat16:
		return "float16"
	case onnxDouble:
		return "float64"
	case onnxBFloat16:
		return "bfloat16"
	}
	return fmt.Sprintf("data type %d", t)
}

// tensorProto is a decoded ONNX TensorProto (initializer or Constant value).
type tensorProto struct {
	name     string
	dtype    int32
	dims     []int64
	raw      []byte
	floats   []float32
	int64s   []int64
	external bool
}

// nodeProto is a decoded ONNX NodeProto; value holds a Constant's tensor.
type nodeProto struct {
	name, op, domain string
	in, out          []string
	value            *tensorProto
	ints             map[string]int64
	floats           map[string]float32
}

// graphProto is the part of a ModelProto the importer walks.
type graphProto struct {
	nodes []*nodeProto
	inits map[string]*tensorProto
	order []string // initializer names in file order
}

// readGraph decodes the graph of the ONNX file at path in memory.
func readGraph(path string) (*graphProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	g := &graphProto{inits: map[string]*tensorProto{}}
	found := false
	err = protowalk.Walk(data, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) error {
		if num == 7 && typ == protowire.BytesType {
			found = true
			return g.parse(b)
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("no graph")
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: not a readable ONNX model: %w", path, err)
	}
	return g, nil
}

// parse decodes GraphProto: node = 1, initializer = 5.
func (g *graphProto) parse(b []byte) error {
	return protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			n, err := parseNode(m)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
		case 5:
			t, err := parseTensorProto(m)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.order), err)
			}
			g.inits[t.name] = t
			g.order = append(g.order, t.name)
		}
		return nil
	})
}

// parseNode decodes NodeProto: input = 1, output = 2, name = 3, op_type = 4,
// attribute = 5, domain = 7.
func parseNode(b []byte) (*nodeProto, error) {
	n := &nodeProto{ints: map[string]int64{}, floats: map[string]float32{}}
	err := protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			n.in = append(n.in, string(m))
		case 2:
			n.out = append(n.out, string(m))
		case 3:
			n.name = string(m)
		case 4:
			n.op = string(m)
		case 7:
			n.domain = string(m)
		case 5:
			return n.parseAttr(m)
		}
		return nil
	})
	return n, err
}

// parseAttr decodes AttributeProto: name = 1, f = 2, i = 3, t = 5.
func (n *nodeProto) parseAttr(b []byte) error {
	var name string
	var f *float32
	var i *int64
	var t *tensorProto
	err := protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, v uint64, m []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = string(m)
		case num == 2 && typ == protowire.Fixed32Type:
			x := math.Float32frombits(uint32(v))
			f = &x
		case num == 3 && typ == protowire.VarintType:
			x := int64(v)
			i = &x
		case num == 5 && typ == protowire.BytesType:
			tp, err := parseTensorProto(m)
			if err != nil {
				return err
			}
			t = tp
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("attribute %q: %w", name, err)
	}
	if f != nil {
		n.floats[name] = *f
	}
	if i != nil {
		n.ints[name] = *i
	}
	if t != nil && name == "value" {
		n.value = t
	}
	return nil
}

// parseTensorProto decodes TensorProto: dims = 1, data_type = 2, float_data
// = 4, int64_data = 7, name = 8, raw_data = 9, data_location = 14.
func parseTensorProto(b []byte) (*tensorProto, error) {
	t := &tensorProto{}
	err := protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, v uint64, m []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			t.dims = append(t.dims, int64(v))
		case num == 1 && typ == protowire.BytesType:
			return protowalk.Varints(m, func(x uint64) { t.dims = append(t.dims, int64(x)) })
		case num == 2 && typ == protowire.VarintType:
			t.dtype = int32(v)
		case num == 4 && typ == protowire.Fixed32Type:
			t.floats = append(t.floats, math.Float32frombits(uint32(v)))
		case num == 4 && typ == protowire.BytesType:
			if len(m)%4 != 0 {
				return fmt.Errorf("packed float_data of %d bytes", len(m))
			}
			for k := 0; k < len(m); k += 4 {
				t.floats = append(t.floats, math.Float32frombits(binary.LittleEndian.Uint32(m[k:])))
			}
		case num == 7 && typ == protowire.VarintType:
			t.int64s = append(t.int64s, int64(v))
		case num == 7 && typ == protowire.BytesType:
			return protowalk.Varints(m, func(x uint64) { t.int64s = append(t.int64s, int64(x)) })
		case num == 8 && typ == protowire.BytesType:
			t.name = string(m)
		case num == 9 && typ == protowire.BytesType:
			t.raw = m
		case num == 14 && typ == protowire.VarintType:
			t.external = v == 1
		}
		return nil
	})
	return t, err
}

// numel is the element count of the tensor's dims.
func (t *tensorProto) numel() (int, error) {
	n := 1
	for _, d := range t.dims {
		if d < 0 || (d > 0 && int64(n) > math.MaxInt32/d) {
			return 0, fmt.Errorf("unsupported dims %v", t.dims)
		}
		n *= int(d)
	}
	return n, nil
}

// float32s returns the values of a float tensor as float32 (float16,
// bfloat16 and float64 convert).
func (t *tensorProto) float32s() ([]float32, error) {
	if t.external {
		return nil, fmt.Errorf("its data lives in an external file: not supported (re-save the model with the weights inside)")
	}
	n, err := t.numel()
	if err != nil {
		return nil, err
	}
	if t.raw == nil {
		if t.dtype != onnxFloat || len(t.floats) != n {
			return nil, fmt.Errorf("%s tensor with %d dims %v carries no raw data", onnxTypeName(t.dtype), len(t.floats), t.dims)
		}
		return t.floats, nil
	}
	var width int
	switch t.dtype {
	case onnxFloat:
		width = 4
	case onnxFloat16, onnxBFloat16:
		width = 2
	case onnxDouble:
		width = 8
	default:
		return nil, fmt.Errorf("%s is not a float type", onnxTypeName(t.dtype))
	}
	if len(t.raw) != n*width {
		return nil, fmt.Errorf("raw data of %d bytes for dims %v of %s (want %d)", len(t.raw), t.dims, onnxTypeName(t.dtype), n*width)
	}
	out := make([]float32, n)
	for i := range out {
		switch t.dtype {
		case onnxFloat:
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.raw[4*i:]))
		case onnxFloat16:
			out[i] = checkpoint.HalfToFloat32(binary.LittleEndian.Uint16(t.raw[2*i:]))
		case onnxBFloat16:
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.raw[2*i:])) << 16)
		case onnxDouble:
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.raw[8*i:])))
		}
	}
	return out, nil
}

// ints returns the values of an integer tensor (a Constant's shape values).
func (t *tensorProto) ints() ([]int64, bool) {
	switch {
	case t.dtype == onnxInt64 && t.raw != nil && len(t.raw)%8 == 0:
		out := make([]int64, len(t.raw)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(t.raw[8*i:]))
		}
		return out, true
	case t.dtype == onnxInt64:
		return t.int64s, true
	case t.dtype == onnxInt32 && t.raw != nil && len(t.raw)%4 == 0:
		out := make([]int64, len(t.raw)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(t.raw[4*i:])))
		}
		return out, true
	}
	return nil, false
}
