package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/protowalk"
)

// TFDType is a TensorFlow DataType enum value (tensorflow/core/framework/
// types.proto) as stored in a bundle entry.
type TFDType int32

// The TensorFlow dtypes a bundle entry may carry; the float ones convert to
// float32 on Read.
const (
	TFFloat    TFDType = 1  // DT_FLOAT
	TFDouble   TFDType = 2  // DT_DOUBLE
	TFInt32    TFDType = 3  // DT_INT32
	TFString   TFDType = 7  // DT_STRING
	TFInt64    TFDType = 9  // DT_INT64 (global_step)
	TFBool     TFDType = 10 // DT_BOOL
	TFBFloat16 TFDType = 14 // DT_BFLOAT16
	TFHalf     TFDType = 19 // DT_HALF
)

// String names the dtype as TensorFlow does (DT_FLOAT, …).
func (d TFDType) String() string {
	switch d {
	case TFFloat:
		return "DT_FLOAT"
	case TFDouble:
		return "DT_DOUBLE"
	case TFInt32:
		return "DT_INT32"
	case TFString:
		return "DT_STRING"
	case TFInt64:
		return "DT_INT64"
	case TFBool:
		return "DT_BOOL"
	case TFBFloat16:
		return "DT_BFLOAT16"
	case TFHalf:
		return "DT_HALF"
	}
	return fmt.Sprintf("DT_%d", int32(d))
}

// elemSize is the byte width of the float dtypes Read converts, 0 otherwise.
func (d TFDType) elemSize() int {
	switch d {
	case TFFloat:
		return 4
	case TFDouble:
		return 8
	case TFBFloat16, TFHalf:
		return 2
	}
	return 0
}

// TFEntry is one variable of a bundle (a BundleEntryProto): where its raw
// little-endian bytes lie and their checksum.
type TFEntry struct {
	Name   string
	DType  TFDType
	Shape  []int
	Shard  int
	Offset int64
	Size   int64
	CRC32C uint32 // unmasked
	Sliced bool   // a partitioned variable (slices): not supported by Read
}

// TFBundle is an opened TensorFlow tensor bundle: the checkpoint format of
// tf.train.Saver / tf.train.Checkpoint and of a SavedModel's variables/ —
// PREFIX.index (an SSTable of BundleEntryProto keyed by variable name, with
// a BundleHeaderProto under the empty key) and PREFIX.data-SSSSS-of-NNNNN
// shards of raw tensor bytes. Google's BERT releases (bert_model.ckpt.*) and
// BioBERT ship in this format.
type TFBundle struct {
	// Prefix is the path the .index and .data-* files share.
	Prefix    string
	numShards int
	entries   map[string]TFEntry
}

// TFBundlePrefix resolves path to a bundle prefix: a prefix itself
// (".../bert_model.ckpt"), its .index file, one of its data shards, or a
// directory holding exactly one *.index (a SavedModel's variables/ or the
// SavedModel directory itself).
func TFBundlePrefix(path string) (string, error) {
	if strings.HasSuffix(path, ".index") {
		return strings.TrimSuffix(path, ".index"), nil
	}
	if i := strings.LastIndex(path, ".data-"); i > 0 {
		return path[:i], nil
	}
	st, err := os.Stat(path)
	if err == nil && st.IsDir() {
		for _, dir := range []string{path, filepath.Join(path, "variables")} {
			idx, _ := filepath.Glob(filepath.Join(dir, "*.index"))
			if len(idx) == 1 {
				return strings.TrimSuffix(idx[0], ".index"), nil
			}
			if len(idx) > 1 {
				return "", fmt.Errorf("%s: %d TensorFlow checkpoints (*.index); name one", dir, len(idx))
			}
		}
		return "", fmt.Errorf("%s: no TensorFlow checkpoint (*.index) in it or in its variables/", path)
	}
	if _, err := os.Stat(path + ".index"); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("%s: no TensorFlow checkpoint there (neither %s.index nor a directory)", path, filepath.Base(path))
}

// OpenTFBundle reads the index of the bundle at path (see TFBundlePrefix for
// the accepted forms). Tensors are read on demand by Read.
func OpenTFBundle(path string) (*TFBundle, error) {
	prefix, err := TFBundlePrefix(path)
	if err != nil {
		return nil, err
	}
	file := prefix + ".index"
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseTFIndex(prefix, file, data)
}

// parseTFIndex decodes the index table of the bundle at prefix.
func parseTFIndex(prefix, file string, data []byte) (*TFBundle, error) {
	kvs, err := readSSTable(data, file)
	if err != nil {
		return nil, err
	}
	if len(kvs) == 0 || len(kvs[0].key) != 0 {
		return nil, fmt.Errorf("%s: no bundle header (the empty key must come first)", file)
	}
	hdr, err := parseBundleHeader(kvs[0].value)
	if err != nil {
		return nil, fmt.Errorf("%s: bundle header: %w", file, err)
	}
	if hdr.bigEndian {
		return nil, fmt.Errorf("%s: big-endian bundle is not supported", file)
	}
	if hdr.numShards < 1 {
		return nil, fmt.Errorf("%s: bundle header says %d shards", file, hdr.numShards)
	}
	b := &TFBundle{Prefix: prefix, numShards: hdr.numShards, entries: make(map[string]TFEntry, len(kvs)-1)}
	for _, kv := range kvs[1:] {
		name := string(kv.key)
		e, err := parseBundleEntry(kv.value)
		if err != nil {
			return nil, fmt.Errorf("%s: variable %q: %w", file, name, err)
		}
		e.Name = name
		if e.Shard < 0 || e.Shard >= b.numShards {
			return nil, fmt.Errorf("%s: variable %q: shard %d outside [0, %d)", file, name, e.Shard, b.numShards)
		}
		if e.Offset < 0 || e.Size < 0 {
			return nil, fmt.Errorf("%s: variable %q: negative offset %d or size %d", file, name, e.Offset, e.Size)
		}
		b.entries[name] = e
	}
	return b, nil
}

// Names lists the bundle's variables, sorted.
func (b *TFBundle) Names() []string {
	out := make([]string, 0, len(b.entries))
	for k := range b.entries {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Entry returns the index entry of a variable.
func (b *TFBundle) Entry(name string) (TFEntry, bool) {
	e, ok := b.entries[name]
	return e, ok
}

// ShardPath is the data file of shard s (PREFIX.data-00000-of-00001).
func (b *TFBundle) ShardPath(s int) string {
	return fmt.Sprintf("%s.data-%05d-of-%05d", b.Prefix, s, b.numShards)
}

// Read returns the variable as a float32 tensor after checking its CRC32C.
// DT_FLOAT, DT_DOUBLE, DT_HALF and DT_BFLOAT16 convert; other dtypes and
// partitioned (sliced) variables are errors naming the file and variable.
func (b *TFBundle) Read(name string) (*tensor.Tensor, error) {
	e, ok := b.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s.index: no variable %q", b.Prefix, name)
	}
	file := b.ShardPath(e.Shard)
	if e.Sliced {
		return nil, fmt.Errorf("%s: variable %q is partitioned (slices): not supported", file, name)
	}
	es := e.DType.elemSize()
	if es == 0 {
		return nil, fmt.Errorf("%s: variable %q has dtype %s; only float variables are weights", file, name, e.DType)
	}
	n := 1
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("%s: variable %q has an unsupported shape %v", file, name, e.Shape)
		}
		n *= d
	}
	if int64(n*es) != e.Size {
		return nil, fmt.Errorf("%s: variable %q: shape %v of %s needs %d bytes, the index says %d", file, name, e.Shape, e.DType, n*es, e.Size)
	}
	raw, err := readAt(file, e.Offset, e.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: variable %q: %w", file, name, err)
	}
	if got := crc32.Checksum(raw, castagnoli); got != e.CRC32C {
		return nil, fmt.Errorf("%s: variable %q: CRC32C mismatch (index %#08x, data %#08x): corrupt checkpoint", file, name, e.CRC32C, got)
	}
	shape := append([]int(nil), e.Shape...)
	if len(shape) == 0 {
		shape = []int{1}
	}
	t := tensor.New(shape...)
	decodeTFFloats(e.DType, raw, t.Data)
	return t, nil
}

// decodeTFFloats converts little-endian raw values of a float dtype to dst.
func decodeTFFloats(d TFDType, raw []byte, dst []float32) {
	for i := range dst {
		switch d {
		case TFFloat:
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		case TFDouble:
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		case TFHalf:
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		case TFBFloat16:
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	}
}

// readAt reads size bytes at off of file, saying so when the file is short.
func readAt(file string, off, size int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if off+size > st.Size() || off+size < off {
		return nil, fmt.Errorf("bytes [%d, %d) lie past the end of the %d-byte shard: truncated checkpoint", off, off+size, st.Size())
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}

// bundleHeader is the part of BundleHeaderProto the reader uses.
type bundleHeader struct {
	numShards int
	bigEndian bool
}

// parseBundleHeader decodes BundleHeaderProto: num_shards = 1, endianness =
// 2 (LITTLE = 0, BIG = 1), version = 3 (ignored).
func parseBundleHeader(b []byte) (bundleHeader, error) {
	h := bundleHeader{numShards: 1}
	err := protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			h.numShards = int(int32(v))
		case num == 2 && typ == protowire.VarintType:
			h.bigEndian = v == 1
		}
		return nil
	})
	return h, err
}

// parseBundleEntry decodes BundleEntryProto: dtype = 1, shape = 2
// (TensorShapeProto), shard_id = 3, offset = 4, size = 5, crc32c = 6
// (fixed32, masked), slices = 7.
func parseBundleEntry(b []byte) (TFEntry, error) {
	var e TFEntry
	err := protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, v uint64, msg []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			e.DType = TFDType(int32(v))
		case num == 2 && typ == protowire.BytesType:
			shape, err := parseTensorShape(msg)
			if err != nil {
				return fmt.Errorf("shape: %w", err)
			}
			e.Shape = shape
		case num == 3 && typ == protowire.VarintType:
			e.Shard = int(int32(v))
		case num == 4 && typ == protowire.VarintType:
			e.Offset = int64(v)
		case num == 5 && typ == protowire.VarintType:
			e.Size = int64(v)
		case num == 6 && typ == protowire.Fixed32Type:
			e.CRC32C = unmaskCRC(uint32(v))
		case num == 7 && typ == protowire.BytesType:
			e.Sliced = true
		}
		return nil
	})
	return e, err
}

// parseTensorShape decodes TensorShapeProto: repeated Dim dim = 2 (size = 1),
// unknown_rank = 3.
func parseTensorShape(b []byte) ([]int, error) {
	shape := []int{}
	err := protowalk.Walk(b, func(num protowire.Number, typ protowire.Type, v uint64, msg []byte) error {
		switch {
		case num == 2 && typ == protowire.BytesType:
			size := int64(0)
			if err := protowalk.Walk(msg, func(n protowire.Number, t protowire.Type, v uint64, _ []byte) error {
				if n == 1 && t == protowire.VarintType {
					size = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			if size < 0 || size > math.MaxInt32 {
				return fmt.Errorf("dimension %d out of range", size)
			}
			shape = append(shape, int(size))
		case num == 3 && typ == protowire.VarintType && v != 0:
			return errors.New("unknown rank")
		}
		return nil
	})
	return shape, err
}
