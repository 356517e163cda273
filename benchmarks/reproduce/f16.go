package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// float32ToHalf converts to IEEE 754 binary16 with round-to-nearest-even
// (torch's .half()): overflow gives ±Inf, tiny values become subnormals or
// ±0, NaN stays NaN.
func float32ToHalf(f float32) uint16 {
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

// WriteSafetensorsF16 writes tensors as an F16 safetensors file (tensors
// sorted by name, header padded with spaces to 8 bytes, as the safetensors
// library does); core/checkpoint reads it back as float32.
func WriteSafetensorsF16(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n, t := range tensors {
		if tensor.Numel(t.Shape) != len(t.Data) {
			return fmt.Errorf("%s: tensor %q: shape %v does not match %d values", path, n, t.Shape, len(t.Data))
		}
		names = append(names, n)
	}
	sort.Strings(names)
	type entry struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	off := 0
	for _, n := range names {
		t := tensors[n]
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[n] = entry{DType: string(checkpoint.F16), Shape: shape, Offsets: [2]int{off, off + 2*len(t.Data)}}
		off += 2 * len(t.Data)
	}
	hj, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	var buf bytes.Buffer
	buf.Grow(8 + len(hj) + off)
	_ = binary.Write(&buf, binary.LittleEndian, uint64(len(hj)))
	buf.Write(hj)
	var two [2]byte
	for _, n := range names {
		for _, v := range tensors[n].Data {
			binary.LittleEndian.PutUint16(two[:], float32ToHalf(v))
			buf.Write(two[:])
		}
	}
	return checkpoint.WriteFileAtomic(path, buf.Bytes())
}
