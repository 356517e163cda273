package onnx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Signature is a model's graph inputs and outputs (GraphProto.input/output
// minus inputs that are initializers, which IR < 4 files list as inputs).
type Signature struct {
	Inputs, Outputs []ValueInfo
}

// Input returns the input called name.
func (s *Signature) Input(name string) (ValueInfo, bool) { return findValue(s.Inputs, name) }

// Output returns the output called name.
func (s *Signature) Output(name string) (ValueInfo, bool) { return findValue(s.Outputs, name) }

func findValue(vs []ValueInfo, name string) (ValueInfo, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return ValueInfo{}, false
}

// maxSmallField bounds the fields ReadSignature decodes in memory (value
// infos, names); weights are skipped, never read.
const maxSmallField = 1 << 24

// ReadSignature reads the inputs and outputs of the ONNX model at path
// without loading its weights: it walks ModelProto → graph (field 7) and
// seeks past nodes' and initializers' bytes, so it costs a few reads even for
// a multi-gigabyte model. Only tensor-typed values are described; Dims hold
// dim_value or dim_param per axis.
func ReadSignature(path string) (*Signature, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	r := &protoReader{f: f, br: bufio.NewReaderSize(f, 1<<16), end: st.Size()}
	sig, err := r.model()
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: not a readable ONNX model: %w", path, err)
	}
	return sig, nil
}

// protoReader reads protobuf fields sequentially from a file and can skip
// ahead without reading.
type protoReader struct {
	f   *os.File
	br  *bufio.Reader
	pos int64
	end int64
}

func (r *protoReader) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := r.br.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("offset %d: %w", r.pos, errors.Join(io.ErrUnexpectedEOF, err))
		}
		r.pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("offset %d: varint overflow", r.pos)
}

// skip moves n bytes ahead, seeking when the buffer does not hold them.
func (r *protoReader) skip(n int64) error {
	if n < 0 || r.pos+n > r.end {
		return fmt.Errorf("offset %d: field of %d bytes runs past the end (%d)", r.pos, n, r.end)
	}
	if n <= int64(r.br.Buffered()) {
		_, err := r.br.Discard(int(n))
		r.pos += n
		return err
	}
	if _, err := r.f.Seek(r.pos+n, io.SeekStart); err != nil {
		return err
	}
	r.pos += n
	r.br.Reset(r.f)
	return nil
}

func (r *protoReader) bytes(n int64) ([]byte, error) {
	if n < 0 || n > maxSmallField || r.pos+n > r.end {
		return nil, fmt.Errorf("offset %d: implausible field length %d", r.pos, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, fmt.Errorf("offset %d: %w", r.pos, err)
	}
	r.pos += n
	return b, nil
}

// skipValue skips a field's value of wire type typ.
func (r *protoReader) skipValue(typ protowire.Type) error {
	switch typ {
	case protowire.VarintType:
		_, err := r.varint()
		return err
	case protowire.Fixed32Type:
		return r.skip(4)
	case protowire.Fixed64Type:
		return r.skip(8)
	case protowire.BytesType:
		n, err := r.varint()
		if err != nil {
			return err
		}
		return r.skip(int64(n))
	}
	return fmt.Errorf("offset %d: unsupported wire type %d", r.pos, typ)
}

func (r *protoReader) tag() (protowire.Number, protowire.Type, error) {
	v, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	num, typ := protowire.DecodeTag(v)
	if num <= 0 {
		return 0, 0, fmt.Errorf("offset %d: invalid field number", r.pos)
	}
	return num, typ, nil
}

// model scans ModelProto for the graph.
func (r *protoReader) model() (*Signature, error) {
	for r.pos < r.end {
		num, typ, err := r.tag()
		if err != nil {
			return nil, err
		}
		if num == 7 && typ == protowire.BytesType {
			n, err := r.varint()
			if err != nil {
				return nil, err
			}
			return r.graph(r.pos + int64(n))
		}
		if err := r.skipValue(typ); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("no graph (ModelProto field 7)")
}

// graph scans GraphProto up to end for inputs (11), outputs (12) and
// initializer names (5, to drop IR<4 style initializer inputs).
func (r *protoReader) graph(end int64) (*Signature, error) {
	if end > r.end {
		return nil, fmt.Errorf("graph of length %d runs past the end", end-r.pos)
	}
	sig := &Signature{}
	inits := map[string]bool{}
	for r.pos < end {
		num, typ, err := r.tag()
		if err != nil {
			return nil, err
		}
		if typ != protowire.BytesType || (num != 5 && num != 11 && num != 12) {
			if err := r.skipValue(typ); err != nil {
				return nil, err
			}
			continue
		}
		n, err := r.varint()
		if err != nil {
			return nil, err
		}
		if num == 5 {
			name, err := r.tensorName(r.pos + int64(n))
			if err != nil {
				return nil, err
			}
			inits[name] = true
			continue
		}
		b, err := r.bytes(int64(n))
		if err != nil {
			return nil, err
		}
		v, err := parseValueInfo(b)
		if err != nil {
			return nil, err
		}
		if num == 11 {
			sig.Inputs = append(sig.Inputs, v)
		} else {
			sig.Outputs = append(sig.Outputs, v)
		}
	}
	kept := sig.Inputs[:0]
	for _, in := range sig.Inputs {
		if !inits[in.Name] {
			kept = append(kept, in)
		}
	}
	sig.Inputs = kept
	return sig, nil
}

// tensorName reads a TensorProto's name (field 8) and skips the rest.
func (r *protoReader) tensorName(end int64) (string, error) {
	name := ""
	for r.pos < end {
		num, typ, err := r.tag()
		if err != nil {
			return "", err
		}
		if num == 8 && typ == protowire.BytesType {
			n, err := r.varint()
			if err != nil {
				return "", err
			}
			b, err := r.bytes(int64(n))
			if err != nil {
				return "", err
			}
			name = string(b)
			continue
		}
		if err := r.skipValue(typ); err != nil {
			return "", err
		}
	}
	return name, nil
}

// parseValueInfo decodes ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{dim_value=1|dim_param=2}}}}}.
func parseValueInfo(b []byte) (ValueInfo, error) {
	var v ValueInfo
	err := eachField(b, func(num protowire.Number, typ protowire.Type, val uint64, sub []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			v.Name = string(sub)
		case num == 2 && typ == protowire.BytesType:
			return eachField(sub, func(num protowire.Number, typ protowire.Type, _ uint64, tt []byte) error {
				if num != 1 || typ != protowire.BytesType {
					return nil // not a tensor type
				}
				return eachField(tt, func(num protowire.Number, typ protowire.Type, val uint64, shape []byte) error {
					switch {
					case num == 1 && typ == protowire.VarintType:
						v.ElemType = DataType(val)
					case num == 2 && typ == protowire.BytesType:
						v.Dims = []Dim{}
						return eachField(shape, func(num protowire.Number, typ protowire.Type, _ uint64, dim []byte) error {
							if num != 1 || typ != protowire.BytesType {
								return nil
							}
							var d Dim
							err := eachField(dim, func(num protowire.Number, typ protowire.Type, val uint64, s []byte) error {
								if num == 1 && typ == protowire.VarintType {
									d.Value = int64(val)
								} else if num == 2 && typ == protowire.BytesType {
									d.Param = string(s)
								}
								return nil
							})
							v.Dims = append(v.Dims, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return v, err
}

// eachField calls fn for every field of an in-memory message.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, val uint64, sub []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var val uint64
		var sub []byte
		switch typ {
		case protowire.VarintType:
			val, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			sub, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, val, sub); err != nil {
			return err
		}
	}
	return nil
}
