package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a safetensors element type name, as in the "dtype" field of a
// safetensors header (huggingface/safetensors `Dtype`).
type DType string

// The element types this package understands. Everything is converted to
// float32 on read; WriteSafetensors writes F32.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size is the number of bytes of one element, 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// decode converts little-endian raw bytes of dtype d into dst (len(dst)·size bytes).
func (d DType) decode(raw []byte, dst []float32) error {
	n := len(dst)
	if len(raw) != n*d.Size() || d.Size() == 0 {
		return fmt.Errorf("dtype %s: %d bytes for %d elements", d, len(raw), n)
	}
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(raw[i]))
		}
	case U8, Bool:
		for i := range dst {
			dst[i] = float32(raw[i])
		}
	}
	return nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly
// (subnormals, infinities and NaN included).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf / nan
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: mant · 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			return -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float32ToHalf converts to IEEE 754 binary16 with round-to-nearest-even
// (torch's .half()): overflow gives ±Inf, tiny values become subnormals or
// ±0, NaN stays NaN.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		he := uint32(exp-127+15) << 10
		hm := man >> 13
		rest := man & 0x1fff
		h := he | hm
		if rest > 0x1000 || (rest == 0x1000 && hm&1 == 1) {
			h++ // a carry into the exponent is correct (and reaches Inf at the top)
		}
		return sign | uint16(h)
	case exp-127 < -25: // below half the smallest subnormal
		return sign
	}
	// Subnormal half: value = m · 2^-24 with the implicit bit made explicit.
	m := man | 0x800000
	shift := uint32(-(exp - 127) - 14 + 13) // 14..24
	hm := m >> shift
	rest := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rest > half || (rest == half && hm&1 == 1) {
		hm++
	}
	return sign | uint16(hm)
}
