package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadPytorchBinMatchesSafetensors(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			st, err := ReadSafetensors(fixture(t, arch, "model.safetensors"))
			require.NoError(t, err)
			bin, err := ReadPytorchBin(fixture(t, arch, "pytorch_model.bin"))
			require.NoError(t, err)
			require.Equal(t, sortedKeys(st), sortedKeys(bin))
			for k, v := range st {
				assert.Equal(t, v.Shape, bin[k].Shape, k)
				assert.Equal(t, bitsOf(v.Data), bitsOf(bin[k].Data), k)
			}
		})
	}
}

func TestReadPytorchBinMLMHasTiedKeys(t *testing.T) {
	bin, err := ReadPytorchBin(fixture(t, "bert", "mlm", "pytorch_model.bin"))
	require.NoError(t, err)
	assert.Len(t, bin, 44)
	st, err := ReadSafetensors(fixture(t, "bert", "mlm", "model.safetensors"))
	require.NoError(t, err)
	for k, v := range st {
		assert.Equal(t, bitsOf(v.Data), bitsOf(bin[k].Data), k)
	}
	// The tied decoder shares the word-embedding storage and the bias.
	assert.Equal(t, bin["bert.embeddings.word_embeddings.weight"].Data, bin["cls.predictions.decoder.weight"].Data)
	assert.Equal(t, bin["cls.predictions.bias"].Data, bin["cls.predictions.decoder.bias"].Data)
}

func TestLoadWeightsPrefersSafetensorsAndFallsBack(t *testing.T) {
	for _, arch := range archs {
		m, err := LoadWeights(fixture(t, arch))
		require.NoError(t, err)
		dir := t.TempDir()
		b, err := os.ReadFile(fixture(t, arch, "pytorch_model.bin"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, WeightsFile), b, 0o644))
		fromBin, err := LoadWeights(dir)
		require.NoError(t, err)
		require.Equal(t, sortedKeys(m), sortedKeys(fromBin))
		for k, v := range m {
			assert.Equal(t, bitsOf(v.Data), bitsOf(fromBin[k].Data), k)
		}
	}
	_, err := LoadWeights(t.TempDir())
	assert.ErrorContains(t, err, "no model.safetensors")
}

// pk assembles pickle bytes for tests.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
	return p
}
func (p *pk) global(m, n string) *pk { p.WriteString("c" + m + "\n" + n + "\n"); return p }
func (p *pk) int(v int) *pk {
	p.WriteByte('J')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
	return p
}
func (p *pk) tuple(vs ...int) *pk {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	return p.op('t')
}

// tensorEntry emits `name: _rebuild_tensor_v2(storage(key), off, size, stride, False, OrderedDict())`
// onto a dict that is on top of the stack.
func (p *pk) tensorEntry(name, storageType, key string, numel, off int, size, stride []int) *pk {
	p.str(name)
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op('(')
	p.op('(').str("storage").global("torch", storageType).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(off).tuple(size...).tuple(stride...)
	p.op(0x89).global("collections", "OrderedDict").op(')', 'R')
	p.op('t', 'R', 's')
	return p
}

// zipBin builds a torch-style zip from a pickle and storages.
func zipBin(t *testing.T, pickle []byte, storages map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	require.NoError(t, err)
	_, _ = w.Write(pickle)
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "archive/byteorder", Method: zip.Store})
	_, _ = w.Write([]byte("little"))
	for k, v := range storages {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data/" + k, Method: zip.Store})
		require.NoError(t, err)
		_, _ = w.Write(v)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func f32Bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func decodeBin(t *testing.T, b []byte) (map[string][]float32, map[string][]int, error) {
	m, err := DecodePytorchBin(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, nil, err
	}
	d, s := map[string][]float32{}, map[string][]int{}
	for k, v := range m {
		d[k], s[k] = v.Data, v.Shape
	}
	return d, s, nil
}

func TestUnpickleViewsSharedAndHalfStorages(t *testing.T) {
	var p pk
	p.op(0x80, 2, '}')
	// storage 0: 2x3 row-major [0..5]
	p.tensorEntry("full", "FloatStorage", "0", 6, 0, []int{2, 3}, []int{3, 1})
	p.tensorEntry("transposed", "FloatStorage", "0", 6, 0, []int{3, 2}, []int{1, 3})
	p.tensorEntry("offset_col", "FloatStorage", "0", 6, 1, []int{2}, []int{3})
	p.tensorEntry("broadcast", "FloatStorage", "0", 6, 5, []int{2, 2}, []int{0, 0})
	p.tensorEntry("scalar", "FloatStorage", "0", 6, 4, []int{}, []int{})
	p.tensorEntry("empty", "FloatStorage", "0", 6, 0, []int{0, 7}, []int{7, 1})
	p.tensorEntry("half", "HalfStorage", "1", 2, 0, []int{2}, []int{1})
	p.tensorEntry("bf16", "BFloat16Storage", "2", 1, 0, []int{1}, []int{1})
	p.tensorEntry("f64", "DoubleStorage", "3", 1, 0, []int{1}, []int{1})
	p.op('.')
	half := binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x3c00), 0xc500) // 1, -5
	bin := zipBin(t, p.Bytes(), map[string][]byte{
		"0": f32Bytes(0, 1, 2, 3, 4, 5),
		"1": half,
		"2": binary.LittleEndian.AppendUint16(nil, 0xc0a0), // bf16 -5
		"3": binary.LittleEndian.AppendUint64(nil, math.Float64bits(-0.125)),
	})
	d, s, err := decodeBin(t, bin)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 1, 2, 3, 4, 5}, d["full"])
	assert.Equal(t, []float32{0, 3, 1, 4, 2, 5}, d["transposed"])
	assert.Equal(t, []int{3, 2}, s["transposed"])
	assert.Equal(t, []float32{1, 4}, d["offset_col"])
	assert.Equal(t, []float32{5, 5, 5, 5}, d["broadcast"])
	assert.Equal(t, []float32{4}, d["scalar"])
	assert.Empty(t, s["scalar"])
	assert.Equal(t, []int{0, 7}, s["empty"])
	assert.Equal(t, []float32{1, -5}, d["half"])
	assert.Equal(t, []float32{-5}, d["bf16"])
	assert.Equal(t, []float32{-0.125}, d["f64"])
}

func TestUnpickleRejectsOutOfBoundsViews(t *testing.T) {
	for name, tc := range map[string]struct {
		off          int
		size, stride []int
		numel        int
	}{
		"past end":        {off: 4, size: []int{3}, stride: []int{1}, numel: 6},
		"stride too big":  {off: 0, size: []int{2, 2}, stride: []int{5, 1}, numel: 6},
		"storage too big": {off: 0, size: []int{1}, stride: []int{1}, numel: 1 << 30},
	} {
		t.Run(name, func(t *testing.T) {
			var p pk
			p.op(0x80, 2, '}').tensorEntry("x", "FloatStorage", "0", tc.numel, tc.off, tc.size, tc.stride).op('.')
			_, _, err := decodeBin(t, zipBin(t, p.Bytes(), map[string][]byte{"0": f32Bytes(0, 1, 2, 3, 4, 5)}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"x"`)
		})
	}
}

func TestUnpickleRefusesMaliciousGlobals(t *testing.T) {
	for _, g := range [][2]string{{"os", "system"}, {"builtins", "eval"}, {"posix", "system"}, {"subprocess", "Popen"}, {"torch", "load"}} {
		t.Run(g[0]+"."+g[1], func(t *testing.T) {
			var p pk
			// GLOBAL os system; ('echo pwned',); REDUCE; STOP
			p.op(0x80, 2).global(g[0], g[1]).str("touch /tmp/openmed-pwned").op(0x85, 'R', '.')
			bin := zipBin(t, p.Bytes(), nil)
			dir := t.TempDir()
			path := filepath.Join(dir, WeightsFile)
			require.NoError(t, os.WriteFile(path, bin, 0o644))
			_, err := ReadPytorchBin(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), g[0]+"."+g[1])
			assert.Contains(t, err.Error(), "not allowed")
			_, err = LoadWeights(dir)
			assert.ErrorContains(t, err, g[0]+"."+g[1])
			// STACK_GLOBAL form (protocol 4).
			var q pk
			q.op(0x80, 4).op(0x8c, byte(len(g[0]))).op([]byte(g[0])...).op(0x8c, byte(len(g[1]))).op([]byte(g[1])...).op(0x93)
			q.str("x").op(0x85, 'R', '.')
			_, err = unpickle(q.Bytes(), nil)
			assert.ErrorContains(t, err, g[0]+"."+g[1])
		})
	}
	// An allowed global called in a way that would need execution is refused too.
	var p pk
	p.op(0x80, 2).global("torch", "FloatStorage").op(')', 'R', '.')
	_, err := unpickle(p.Bytes(), nil)
	assert.ErrorContains(t, err, "not callable")
	// Object construction opcodes are refused.
	for _, op := range []byte{0x81, 'i', 'o', 0x92} {
		_, err := unpickle([]byte{0x80, 2, op, '.'}, nil)
		assert.ErrorContains(t, err, "opcode", "0x%02x", op)
	}
}

func TestUnpickleTruncatedAndGarbage(t *testing.T) {
	var p pk
	p.op(0x80, 2, '}').tensorEntry("x", "FloatStorage", "0", 1, 0, []int{1}, []int{1}).op('.')
	full := p.Bytes()
	_, err := unpickle(full, torchPersistentLoad(map[string]*storageRef{}))
	require.NoError(t, err)
	for i := 0; i < len(full)-1; i++ {
		_, err := unpickle(full[:i], torchPersistentLoad(map[string]*storageRef{}))
		require.Error(t, err, "prefix %d", i)
	}
	_, err = unpickle([]byte{'X', 0xff, 0xff, 0xff, 0x7f}, nil)
	assert.ErrorContains(t, err, "truncated")
	_, _, err = decodeBin(t, []byte("not a zip"))
	assert.ErrorContains(t, err, "zip")
}

// TestReadPytorchBinTorchSaved cross-checks against files torch.save writes
// (fp16/bf16, non-contiguous views, shared storages, legacy gamma/beta and
// position_ids buffers) when /usr/bin/python3 has torch.
func TestReadPytorchBinTorchSaved(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("torch cross-check needs %s with torch (Debian python3-torch): %v", py, err)
	}
	dir := t.TempDir()
	script := `
import sys, torch, struct
torch.manual_seed(0)
base = torch.randn(4, 6)
sd = {
  "bert.embeddings.LayerNorm.gamma": torch.randn(6),
  "bert.embeddings.LayerNorm.beta": torch.randn(6),
  "bert.embeddings.position_ids": torch.arange(8).unsqueeze(0),
  "t": base.t(),
  "slice": base[1:3, 2:5],
  "shared": base,
  "half": torch.randn(3, 5).half(),
  "bf16": torch.randn(7).bfloat16(),
  "param": torch.nn.Parameter(torch.randn(2, 2)),
}
torch.save(sd, sys.argv[1] + "/pytorch_model.bin")
lin = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
torch.save(lin.state_dict(), sys.argv[1] + "/module.bin")  # OrderedDict with _metadata (BUILD)
with open(sys.argv[1] + "/module.f32", "wb") as f:
  for k in sorted(lin.state_dict()):
    v = lin.state_dict()[k].reshape(-1)
    f.write(struct.pack("<%df" % v.numel(), *v.tolist()))
with open(sys.argv[1] + "/expect.f32", "wb") as f:
  for k in sorted(sd):
    v = sd[k].detach().float().contiguous().reshape(-1)
    f.write(struct.pack("<%df" % v.numel(), *v.tolist()))
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	require.NoError(t, err, string(out))
	raw, err := ReadPytorchBin(filepath.Join(dir, WeightsFile))
	require.NoError(t, err)
	expect, err := os.ReadFile(filepath.Join(dir, "expect.f32"))
	require.NoError(t, err)
	pos := 0
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		want := make([]float32, len(v.Data))
		require.NoError(t, F32.decode(expect[pos:pos+4*len(want)], want), k)
		pos += 4 * len(want)
		assert.Equal(t, bitsOf(want), bitsOf(v.Data), k)
	}
	assert.Equal(t, len(expect), pos)
	assert.Equal(t, []int{6, 4}, raw["t"].Shape)
	assert.Equal(t, []int{2, 3}, raw["slice"].Shape)

	mod, err := ReadPytorchBin(filepath.Join(dir, "module.bin"))
	require.NoError(t, err)
	assert.Equal(t, []string{"0.bias", "0.weight", "1.bias", "1.weight"}, sortedKeys(mod))
	modWant, err := os.ReadFile(filepath.Join(dir, "module.f32"))
	require.NoError(t, err)
	var modGot []float32
	for _, k := range sortedKeys(mod) {
		modGot = append(modGot, mod[k].Data...)
	}
	want := make([]float32, len(modWant)/4)
	require.NoError(t, F32.decode(modWant, want))
	assert.Equal(t, want, modGot)

	m, err := LoadWeights(dir)
	require.NoError(t, err)
	assert.Contains(t, m, "bert.embeddings.LayerNorm.weight")
	assert.Contains(t, m, "bert.embeddings.LayerNorm.bias")
	for k := range m {
		assert.False(t, strings.HasSuffix(k, "position_ids") || strings.HasSuffix(k, "gamma"), k)
	}
}

func FuzzUnpickle(f *testing.F) {
	var p pk
	p.op(0x80, 2, '}').tensorEntry("x", "FloatStorage", "0", 6, 1, []int{2, 2}, []int{1, 2}).op('.')
	f.Add(p.Bytes())
	f.Add([]byte{0x80, 2, 0x8a, 3, 1, 2, 0x80, ']', 'K', 1, 'a', 'q', 0, 'h', 0, '.'})
	// Memo reuse (BINPUT/BINGET), a shared storage and an OrderedDict + BUILD.
	var q pk
	q.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', 'q', 0)
	q.tensorEntry("a", "HalfStorage", "0", 4, 0, []int{2}, []int{2})
	q.tensorEntry("b", "HalfStorage", "0", 4, 1, []int{1, 3}, []int{0, 1})
	q.op('}').str("_metadata").op('}', 's', 'b', '.')
	if refs, err := unpickleStateDict(q.Bytes()); err != nil || len(refs) != 2 {
		f.Fatalf("seed: %v %v", refs, err)
	}
	f.Add(q.Bytes())
	src := make([]float32, 64)
	f.Fuzz(func(t *testing.T, data []byte) {
		refs, err := unpickleStateDict(data)
		if err != nil {
			return
		}
		for _, r := range refs {
			// Materialising against a small storage must fail cleanly or stay in bounds.
			tt, err := r.materialize(src[:min(len(src), int(r.storage.numel))])
			if err == nil && len(tt.Data) > 1<<20 {
				t.Fatalf("materialised %d values from a 64-element storage", len(tt.Data))
			}
		}
	})
}

func TestUnpickleLyingStorageAllocatesLittle(t *testing.T) {
	var p pk
	// Storages claiming 2^30 floats (BININT) and 2^40 floats (LONG1), each backed by a 24-byte entry.
	p.op(0x80, 2, '}').tensorEntry("huge", "FloatStorage", "0", 1<<30, 0, []int{1 << 30}, []int{1}).op('.')
	raw := []byte(p.String())
	var q pk
	q.op(0x80, 2, '}').str("huge").global("torch._utils", "_rebuild_tensor_v2").op('(')
	q.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").op(0x8a, 6, 0, 0, 0, 0, 0, 1).op('t', 'Q')
	q.int(0).tuple(1<<30).tuple(1).op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R', 's', '.')
	for _, pkl := range [][]byte{raw, q.Bytes()} {
		bin := zipBin(t, pkl, map[string][]byte{"0": f32Bytes(0, 1, 2, 3, 4, 5)})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := decodeBin(t, bin)
		runtime.ReadMemStats(&after)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "claims")
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
	}
}

func FuzzReadPytorchBin(f *testing.F) {
	var p pk
	p.op(0x80, 2, '}').tensorEntry("x", "FloatStorage", "0", 6, 1, []int{2, 2}, []int{1, 2}).op('.')
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"a/data.pkl": p.Bytes(), "a/data/0": f32Bytes(0, 1, 2, 3, 4, 5), "a/byteorder": []byte("little")} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		_, _ = w.Write(data)
	}
	_ = zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodePytorchBin(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for k, v := range m {
			if len(v.Data) != tensorNumel(v.Shape) {
				t.Fatalf("%s: shape %v vs %d values", k, v.Shape, len(v.Data))
			}
		}
	})
}

func tensorNumel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
