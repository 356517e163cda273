package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"

	"github.com/openmed/openmed/core/tensor"
)

// MaxSafetensorsHeader is the largest header accepted, 100 MB, the limit of
// huggingface/safetensors (`MAX_HEADER_SIZE` in safetensors/src/tensor.rs).
const MaxSafetensorsHeader = 100_000_000

// metadataKey is the reserved header entry holding string metadata.
const metadataKey = "__metadata__"

// TensorInfo describes one tensor entry of a safetensors header.
type TensorInfo struct {
	// Name is the header key (the state_dict name).
	Name string
	// DType is the stored element type.
	DType DType
	// Shape is the tensor shape; an empty shape is a scalar.
	Shape []int
	// Begin and End are byte offsets into the data section (after the header).
	Begin, End int64
}

// SafetensorsHeader is a validated safetensors header.
type SafetensorsHeader struct {
	// Metadata is the "__metadata__" map (nil when absent).
	Metadata map[string]string
	// Tensors lists the entries in data-offset order.
	Tensors []TensorInfo
	// HeaderLen is the JSON header length in bytes (the u64 prefix).
	HeaderLen int64
}

type rawTensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ParseSafetensorsHeader parses and validates a header against a data section
// of dataLen bytes, following safetensors' `Metadata::validate`: known dtypes,
// non-negative shapes whose element count does not overflow, byte size equal to
// numel·dtype size, offsets contiguous from 0 and ending exactly at dataLen.
// Nothing is allocated in proportion to the sizes the header claims.
func ParseSafetensorsHeader(header []byte, dataLen int64) (*SafetensorsHeader, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	h := &SafetensorsHeader{HeaderLen: int64(len(header))}
	for name, msg := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("header field %q: %w", metadataKey, err)
			}
			continue
		}
		var ri rawTensorInfo
		if err := json.Unmarshal(msg, &ri); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		info, err := ri.validate(name)
		if err != nil {
			return nil, err
		}
		h.Tensors = append(h.Tensors, info)
	}
	sort.Slice(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Name < b.Name
	})
	var pos int64
	for _, t := range h.Tensors {
		if t.Begin != pos {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d,%d] not contiguous (previous tensor ends at %d)", t.Name, t.Begin, t.End, pos)
		}
		pos = t.End
	}
	if pos != dataLen {
		return nil, fmt.Errorf("tensors cover %d bytes but the data section has %d", pos, dataLen)
	}
	return h, nil
}

func (ri rawTensorInfo) validate(name string) (TensorInfo, error) {
	d := DType(ri.DType)
	if d.Size() == 0 {
		return TensorInfo{}, fmt.Errorf("tensor %q: unsupported dtype %q", name, ri.DType)
	}
	if len(ri.DataOffsets) != 2 {
		return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets needs 2 values, got %d", name, len(ri.DataOffsets))
	}
	begin, end := ri.DataOffsets[0], ri.DataOffsets[1]
	if end < begin || end > math.MaxInt64 {
		return TensorInfo{}, fmt.Errorf("tensor %q: invalid data_offsets [%d,%d]", name, begin, end)
	}
	numel := uint64(1)
	shape := make([]int, len(ri.Shape))
	for i, s := range ri.Shape {
		if s < 0 {
			return TensorInfo{}, fmt.Errorf("tensor %q: negative dimension %d in shape %v", name, s, ri.Shape)
		}
		hi, lo := bits.Mul64(numel, uint64(s))
		if hi != 0 || lo > math.MaxInt64 {
			return TensorInfo{}, fmt.Errorf("tensor %q: shape %v overflows", name, ri.Shape)
		}
		numel = lo
		shape[i] = int(s)
	}
	hi, nbytes := bits.Mul64(numel, uint64(d.Size()))
	if hi != 0 || nbytes != end-begin {
		return TensorInfo{}, fmt.Errorf("tensor %q: shape %v of %s needs %d·%d bytes but data_offsets [%d,%d] span %d",
			name, ri.Shape, d, numel, d.Size(), begin, end, end-begin)
	}
	return TensorInfo{Name: name, DType: d, Shape: shape, Begin: int64(begin), End: int64(end)}, nil
}

// ReadSafetensorsHeader reads and validates the header of a safetensors stream
// of the given total size.
func ReadSafetensorsHeader(r io.ReaderAt, size int64) (*SafetensorsHeader, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("file of %d bytes is too short for a safetensors header", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxSafetensorsHeader {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxSafetensorsHeader)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after the length prefix", n, size-8)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	return ParseSafetensorsHeader(header, size-8-int64(n))
}

// DecodeSafetensors parses an in-memory safetensors file and returns its
// tensors converted to float32 and its metadata.
func DecodeSafetensors(buf []byte) (map[string]*tensor.Tensor, map[string]string, error) {
	return readSafetensors(bytesReaderAt(buf), int64(len(buf)))
}

// ReadSafetensors reads a .safetensors file; F32, F16, BF16, F64 and integer
// tensors are converted to float32. The header is validated before any tensor
// memory is allocated.
func ReadSafetensors(path string) (map[string]*tensor.Tensor, error) {
	m, _, err := ReadSafetensorsWithMetadata(path)
	return m, err
}

// ReadSafetensorsWithMetadata is ReadSafetensors that also returns the
// header's "__metadata__" map.
func ReadSafetensorsWithMetadata(path string) (map[string]*tensor.Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	m, meta, err := readSafetensors(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, meta, nil
}

func readSafetensors(r io.ReaderAt, size int64) (map[string]*tensor.Tensor, map[string]string, error) {
	h, err := ReadSafetensorsHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	base := 8 + h.HeaderLen
	out := make(map[string]*tensor.Tensor, len(h.Tensors))
	var raw []byte
	for _, ti := range h.Tensors {
		nb := int(ti.End - ti.Begin)
		if cap(raw) < nb {
			raw = make([]byte, nb)
		}
		raw = raw[:nb]
		if _, err := r.ReadAt(raw, base+ti.Begin); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: reading data: %w", ti.Name, err)
		}
		t := tensor.New(ti.Shape...)
		if err := ti.DType.decode(raw, t.Data); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
		}
		out[ti.Name] = t
	}
	return out, h.Metadata, nil
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
