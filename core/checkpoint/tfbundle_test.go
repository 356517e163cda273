package checkpoint

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// maskCRC is crc32c::Mask, the inverse of unmaskCRC.
func maskCRC(c uint32) uint32 { return (c>>15 | c<<17) + crcMaskDelta }

// writeTestBundle writes a one-shard bundle of float32 variables in
// TensorFlow's layout (one data block, no prefix compression, an index
// block and the footer), independent of the reader's code paths.
func writeTestBundle(t testing.TB, prefix string, vars map[string][]float32, shapes map[string][]int) {
	t.Helper()
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var data []byte
	entries := [][2][]byte{{nil, protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)}}
	for _, n := range names {
		raw := make([]byte, 4*len(vars[n]))
		for i, v := range vars[n] {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		var shape []byte
		for _, d := range shapes[n] {
			dim := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(d))
			shape = protowire.AppendBytes(protowire.AppendTag(shape, 2, protowire.BytesType), dim)
		}
		e := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)
		e = protowire.AppendBytes(protowire.AppendTag(e, 2, protowire.BytesType), shape)
		e = protowire.AppendVarint(protowire.AppendTag(e, 4, protowire.VarintType), uint64(len(data)))
		e = protowire.AppendVarint(protowire.AppendTag(e, 5, protowire.VarintType), uint64(len(raw)))
		e = protowire.AppendFixed32(protowire.AppendTag(e, 6, protowire.Fixed32Type), maskCRC(crc32.Checksum(raw, castagnoli)))
		entries = append(entries, [2][]byte{[]byte(n), e})
		data = append(data, raw...)
	}
	block := func(kvs [][2][]byte) []byte {
		var b []byte
		for _, kv := range kvs {
			b = binary.AppendUvarint(b, 0)
			b = binary.AppendUvarint(b, uint64(len(kv[0])))
			b = binary.AppendUvarint(b, uint64(len(kv[1])))
			b = append(append(b, kv[0]...), kv[1]...)
		}
		b = binary.LittleEndian.AppendUint32(b, 0) // one restart at 0
		return binary.LittleEndian.AppendUint32(b, 1)
	}
	var file []byte
	appendBlock := func(b []byte) (off, size uint64) {
		off, size = uint64(len(file)), uint64(len(b))
		file = append(file, b...)
		crc := crc32.Update(crc32.Checksum(b, castagnoli), castagnoli, []byte{0})
		file = append(file, 0)
		file = binary.LittleEndian.AppendUint32(file, maskCRC(crc))
		return
	}
	doff, dsize := appendBlock(block(entries))
	handle := binary.AppendUvarint(binary.AppendUvarint(nil, doff), dsize)
	last := entries[len(entries)-1][0]
	moff, msize := appendBlock(block(nil))
	ioff, isize := appendBlock(block([][2][]byte{{last, handle}}))
	footer := binary.AppendUvarint(binary.AppendUvarint(nil, moff), msize)
	footer = binary.AppendUvarint(binary.AppendUvarint(footer, ioff), isize)
	footer = append(footer, make([]byte, 40-len(footer))...)
	file = binary.LittleEndian.AppendUint64(append(file, footer...), sstableMagic)
	require.NoError(t, os.WriteFile(prefix+".index", file, 0o644))
	require.NoError(t, os.WriteFile(prefix+".data-00000-of-00001", data, 0o644))
}

func TestTFBundleReadsAndMapsBERTNames(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "bert_model.ckpt")
	writeTestBundle(t, prefix, map[string][]float32{
		"module/bert/encoder/layer_3/attention/self/query/kernel": {1, 2, 3, 4, 5, 6},
		"bert/embeddings/LayerNorm/gamma":                         {0.5, 1.5},
	}, map[string][]int{
		"module/bert/encoder/layer_3/attention/self/query/kernel": {2, 3},
		"bert/embeddings/LayerNorm/gamma":                         {2},
	})
	b, err := OpenTFBundle(prefix + ".index")
	require.NoError(t, err)
	assert.Equal(t, []string{"bert/embeddings/LayerNorm/gamma", "module/bert/encoder/layer_3/attention/self/query/kernel"}, b.Names())
	w, skipped, err := ReadTFBert(b)
	require.NoError(t, err)
	assert.Empty(t, skipped)
	q := w["bert.encoder.layer.3.attention.self.query.weight"]
	require.NotNil(t, q)
	assert.Equal(t, []int{3, 2}, q.Shape) // [in, out] kernel transposed to HF [out, in]
	assert.Equal(t, []float32{1, 4, 2, 5, 3, 6}, q.Data)
	assert.Equal(t, []float32{0.5, 1.5}, w["bert.embeddings.LayerNorm.weight"].Data)
}

func TestTFBundleRejectsCorruption(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "ckpt")
	writeTestBundle(t, prefix, map[string][]float32{"bert/pooler/dense/bias": {1, 2}}, map[string][]int{"bert/pooler/dense/bias": {2}})
	data, err := os.ReadFile(prefix + ".data-00000-of-00001")
	require.NoError(t, err)
	data[0] ^= 1
	require.NoError(t, os.WriteFile(prefix+".data-00000-of-00001", data, 0o644))
	b, err := OpenTFBundle(prefix)
	require.NoError(t, err)
	_, err = b.Read("bert/pooler/dense/bias")
	require.ErrorContains(t, err, "CRC32C mismatch")
	require.ErrorContains(t, err, "bert/pooler/dense/bias")

	require.NoError(t, os.WriteFile(prefix+".data-00000-of-00001", data[:4], 0o644))
	_, err = b.Read("bert/pooler/dense/bias")
	require.ErrorContains(t, err, "truncated checkpoint")

	idx, err := os.ReadFile(prefix + ".index")
	require.NoError(t, err)
	idx[3] ^= 0x40 // inside the data block: its block CRC no longer matches
	require.NoError(t, os.WriteFile(prefix+".index", idx, 0o644))
	_, err = OpenTFBundle(prefix)
	require.ErrorContains(t, err, "corrupt index")
	require.NoError(t, os.WriteFile(prefix+".index", idx[:20], 0o644))
	_, err = OpenTFBundle(prefix)
	require.ErrorContains(t, err, "ckpt.index")
}

func TestTFBertRejectsForeignVariables(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "ckpt")
	writeTestBundle(t, prefix, map[string][]float32{"resnet/conv1/kernel": {1}, "global_step": {0}},
		map[string][]int{"resnet/conv1/kernel": {1}, "global_step": {1}})
	b, err := OpenTFBundle(prefix)
	require.NoError(t, err)
	_, _, err = ReadTFBert(b)
	require.ErrorContains(t, err, `"resnet/conv1/kernel" is not part of a BERT checkpoint`)
}
