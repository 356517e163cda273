package checkpoint

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSafetensorsFixtures(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			m, meta, err := ReadSafetensorsWithMetadata(fixture(t, arch, "model.safetensors"))
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"format": "pt"}, meta)
			prefix := map[string]string{"bert": "bert.", "electra": "electra.", "deberta_v3": "deberta."}[arch]
			cfg, err := LoadConfig(fixture(t, arch))
			require.NoError(t, err)
			we := m[prefix+"embeddings.word_embeddings.weight"]
			require.NotNil(t, we)
			assert.Equal(t, []int{cfg.VocabSize, cfg.EmbeddingDim()}, we.Shape)
			assert.Equal(t, []int{cfg.NumLabels(), cfg.HiddenSize}, m["classifier.weight"].Shape)
			// pad row is zeroed by HF init; others are N(0, 0.2²)
			for _, v := range we.Data[:cfg.EmbeddingDim()] {
				assert.Zero(t, v)
			}
			var ss float64
			for _, v := range we.Data[cfg.EmbeddingDim():] {
				ss += float64(v) * float64(v)
			}
			std := math.Sqrt(ss / float64(len(we.Data)-cfg.EmbeddingDim()))
			assert.InDelta(t, 0.2, std, 0.02)
		})
	}
}

func TestLoadWeightsAdapterAndMLM(t *testing.T) {
	m, err := ReadSafetensors(fixture(t, "bert", "mlm", "model.safetensors"))
	require.NoError(t, err)
	assert.Len(t, m, 42)
	assert.NotContains(t, m, "cls.predictions.decoder.weight")
	assert.Contains(t, m, "cls.predictions.bias")
	base, err := ReadSafetensors(fixture(t, "bert", "model.safetensors"))
	require.NoError(t, err)
	for k, v := range base {
		if strings.HasPrefix(k, "bert.") {
			assert.Equal(t, v.Data, m[k].Data, k)
		}
	}
}

func TestWriteSafetensorsReproducesFixtureBytes(t *testing.T) {
	files := []string{"mlm/model.safetensors"}
	for _, a := range archs {
		files = append(files, a+"/model.safetensors", a+"/adapter/adapter_model.safetensors", a+"/adapter_step1/adapter_model.safetensors")
	}
	for _, f := range files {
		if strings.HasPrefix(f, "mlm/") {
			f = "bert/" + f
		}
		t.Run(f, func(t *testing.T) {
			path := fixture(t, f)
			orig, err := os.ReadFile(path)
			require.NoError(t, err)
			m, meta, err := DecodeSafetensors(orig)
			require.NoError(t, err)
			enc, err := EncodeSafetensors(m, meta)
			require.NoError(t, err)
			n := binary.LittleEndian.Uint64(orig)
			require.Equal(t, string(orig[8:8+n]), string(enc[8:8+n]), "header bytes")
			require.Equal(t, orig, enc, "whole file")

			out := filepath.Join(t.TempDir(), "x.safetensors")
			require.NoError(t, WriteSafetensors(out, m, meta))
			back, meta2, err := ReadSafetensorsWithMetadata(out)
			require.NoError(t, err)
			assert.Equal(t, meta, meta2)
			require.Equal(t, len(m), len(back))
			for k, v := range m {
				assert.Equal(t, v.Shape, back[k].Shape, k)
				assert.Equal(t, bitsOf(v.Data), bitsOf(back[k].Data), k)
			}
		})
	}
}

func bitsOf(x []float32) []uint32 {
	out := make([]uint32, len(x))
	for i, v := range x {
		out[i] = math.Float32bits(v)
	}
	return out
}

func TestSafetensorsRoundTripSpecialValues(t *testing.T) {
	m := map[string]*tensor.Tensor{
		"b":           mustT(t, []float32{float32(math.Inf(1)), float32(math.NaN()), -0, 1e-45}, 2, 2),
		"a\"quote\n":  mustT(t, []float32{3}),
		"scalar.zero": mustT(t, []float32{}, 0, 3),
	}
	buf, err := EncodeSafetensors(m, map[string]string{"k": "v", "format": "pt"})
	require.NoError(t, err)
	assert.Zero(t, binary.LittleEndian.Uint64(buf)%8)
	back, meta, err := DecodeSafetensors(buf)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"k": "v", "format": "pt"}, meta)
	for k, v := range m {
		assert.Equal(t, v.Shape, back[k].Shape)
		assert.Equal(t, bitsOf(v.Data), bitsOf(back[k].Data))
	}
}

func mustT(t *testing.T, d []float32, shape ...int) *tensor.Tensor {
	if shape == nil {
		shape = []int{len(d)}
	}
	x, err := tensor.FromData(d, shape...)
	require.NoError(t, err)
	return x
}

// craft builds a safetensors file from a literal header and data bytes.
func craft(header string, data []byte) []byte {
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(buf, header...), data...)
}

func TestSafetensorsDTypes(t *testing.T) {
	data := []byte{}
	data = binary.LittleEndian.AppendUint16(data, 0x3c00) // f16 1.0
	data = binary.LittleEndian.AppendUint16(data, 0xc000) // f16 -2.0
	data = binary.LittleEndian.AppendUint16(data, 0x0001) // f16 smallest subnormal
	data = binary.LittleEndian.AppendUint16(data, 0x3fc0) // bf16 1.5
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(0.25))
	data = binary.LittleEndian.AppendUint64(data, uint64(0xffffffffffffffff)) // i64 -1
	h := `{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]},` +
		`"d":{"dtype":"F64","shape":[],"data_offsets":[8,16]},"i":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}`
	m, _, err := DecodeSafetensors(craft(h, data))
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -2, float32(math.Ldexp(1, -24))}, m["h"].Data)
	assert.Equal(t, []float32{1.5}, m["b"].Data)
	assert.Equal(t, []float32{0.25}, m["d"].Data)
	assert.Empty(t, m["d"].Shape)
	assert.Equal(t, []float32{-1}, m["i"].Data)
}

func TestHalfToFloat32Exhaustive(t *testing.T) {
	// Every binary16 value: decode, then check against the definition.
	for h := 0; h < 1<<16; h++ {
		got := HalfToFloat32(uint16(h))
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		e, f := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0x1f && f == 0:
			want = math.Inf(int(sign))
		case e == 0x1f:
			require.True(t, math.IsNaN(float64(got)), "%#x", h)
			continue
		case e == 0:
			want = sign * math.Ldexp(float64(f), -24)
		default:
			want = sign * math.Ldexp(1+float64(f)/1024, e-15)
		}
		require.Equal(t, want, float64(got), "%#x", h)
		require.Equal(t, math.Signbit(want), math.Signbit(float64(got)), "%#x", h)
	}
}

func TestSafetensorsRejectsBadHeaders(t *testing.T) {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	cases := map[string][]byte{
		"truncated length":      {1, 2, 3},
		"header past EOF":       binary.LittleEndian.AppendUint64(nil, 1000),
		"header over 100MB":     binary.LittleEndian.AppendUint64(nil, 200_000_000),
		"not json":              craft("{nope    ", nil),
		"unknown dtype":         craft(`{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,4]}}`, f32(1)),
		"negative dim":          craft(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32(1)),
		"size mismatch":         craft(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f32(1)),
		"gap":                   craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)),
		"overlap":               craft(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)),
		"trailing data":         craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(2)),
		"end before begin":      craft(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f32(1)),
		"one offset":            craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, f32(1)),
		"shape overflow":        craft(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}`, f32(1)),
		"claims 1e12 bytes":     craft(`{"a":{"dtype":"F32","shape":[250000000000],"data_offsets":[0,1000000000000]}}`, f32(4)),
		"claims 2^62 elements":  craft(`{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,18446744073709551612]}}`, f32(4)),
		"metadata not strings":  craft(`{"__metadata__":{"a":1}}`, nil),
		"offsets past the data": craft(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32(1)),
	}
	for name, buf := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(buf)
			require.Error(t, err)
		})
	}
}

func TestSafetensorsLyingHeaderAllocatesLittle(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"1e12.safetensors": craft(`{"a":{"dtype":"F32","shape":[250000000000],"data_offsets":[0,1000000000000]}}`, make([]byte, 64)),
		"2e62.safetensors": craft(`{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,18446744073709551612]}}`, make([]byte, 64)),
		"hdr.safetensors":  binary.LittleEndian.AppendUint64(nil, 99_000_000),
	}
	for name, buf := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, buf, 0o644))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := ReadSafetensors(p)
		runtime.ReadMemStats(&after)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), p)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "%s allocated %d bytes", name, after.TotalAlloc-before.TotalAlloc)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(craft(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(craft(`{"a":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}`, make([]byte, 6)))
	// Small seeds only: large ones make the fuzzer's minimisation outlast -fuzztime.
	small, _ := EncodeSafetensors(map[string]*tensor.Tensor{"x.weight": tensor.New(2, 3), "x.bias": tensor.New(3)}, map[string]string{"format": "pt"})
	f.Add(small)
	f.Fuzz(func(t *testing.T, buf []byte) {
		m, meta, err := DecodeSafetensors(buf)
		if err != nil {
			return
		}
		total := 0
		for name, v := range m {
			if tensor.Numel(v.Shape) != len(v.Data) {
				t.Fatalf("%s: shape %v vs %d values", name, v.Shape, len(v.Data))
			}
			total += len(v.Data)
		}
		if total > len(buf) {
			t.Fatalf("decoded %d values from %d bytes", total, len(buf))
		}
		// Re-encoding valid input must decode to the same tensors.
		enc, err := EncodeSafetensors(m, meta)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := DecodeSafetensors(enc)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range m {
			if len(back[name].Data) != len(v.Data) {
				t.Fatalf("%s: re-encode changed length", name)
			}
		}
	})
}

func TestWriteSafetensorsAtomicOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.safetensors")
	good := map[string]*tensor.Tensor{"a": mustT(t, []float32{1, 2})}
	require.NoError(t, WriteSafetensors(p, good, nil))
	before, err := os.ReadFile(p)
	require.NoError(t, err)
	bad := map[string]*tensor.Tensor{"a": {Shape: []int{3}, Data: []float32{1}}}
	err = WriteSafetensors(p, bad, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p)
	after, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, before, after, "failed write leaves the old file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}
