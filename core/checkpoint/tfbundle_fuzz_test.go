package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/tensor"
)

// FuzzTFBundle feeds arbitrary index and data-shard bytes to the TensorFlow
// bundle reader (SSTable blocks, varints, BundleEntryProto, CRC32C): it must
// return errors, never panic or allocate past what the shard holds.
func FuzzTFBundle(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed")
	writeTestBundle(f, seed, map[string][]float32{
		"bert/embeddings/LayerNorm/gamma": {1, 2}, "bert/pooler/dense/kernel": {1, 2, 3, 4},
	}, map[string][]int{"bert/embeddings/LayerNorm/gamma": {2}, "bert/pooler/dense/kernel": {2, 2}})
	idx, err := os.ReadFile(seed + ".index")
	if err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(seed + ".data-00000-of-00001")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(idx, data)
	f.Add(idx[:len(idx)/2], data)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, idx, data []byte) {
		prefix := filepath.Join(t.TempDir(), "ckpt")
		if err := os.WriteFile(prefix+".index", idx, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(prefix+".data-00000-of-00001", data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := OpenTFBundle(prefix)
		if err != nil {
			return
		}
		for _, n := range b.Names() {
			v, err := b.Read(n)
			if err != nil {
				continue
			}
			if tensor.Numel(v.Shape) != len(v.Data) {
				t.Fatalf("%s: shape %v vs %d values", n, v.Shape, len(v.Data))
			}
			if len(v.Data) > len(data) {
				t.Fatalf("%s: %d values from a %d-byte shard", n, len(v.Data), len(data))
			}
		}
		_, _, _ = ReadTFBert(b)
	})
}
