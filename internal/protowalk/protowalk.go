// Package protowalk decodes protobuf messages field by field without
// generated code: the TensorFlow bundle index (core/checkpoint) and ONNX
// graphs (core/onnx) read only the few fields they need with it.
package protowalk

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Walk calls fn for every field of the message in b, in wire order: v
// carries varint and fixed-width values, m the bytes of length-delimited
// ones (sub-messages, strings, packed arrays). Groups are skipped. An error
// from fn stops the walk and is returned.
func Walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, m []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("corrupt protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v uint64
		var m []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			m, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("corrupt protobuf field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, m); err != nil {
			return err
		}
	}
	return nil
}

// Varints calls fn for each value of a packed repeated varint field.
func Varints(b []byte, fn func(uint64)) error {
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return fmt.Errorf("corrupt packed varint: %w", protowire.ParseError(n))
		}
		fn(x)
		b = b[n:]
	}
	return nil
}
