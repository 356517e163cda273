package checkpoint

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path"
	"strings"

	"github.com/openmed/openmed/core/tensor"
)

// maxPickleBytes bounds the data.pkl entry of a torch zip checkpoint.
const maxPickleBytes = 1 << 30

// ReadPytorchBin reads a torch.save zip checkpoint (pytorch_model.bin, torch
// ≥ 1.6 format: <name>/data.pkl plus one <name>/data/<key> entry per storage)
// with the data-only unpickler: only tensor-rebuild globals are accepted and
// nothing is executed. Storage offsets and strides are honoured (views are
// copied out), storages shared between tensors are decoded once, and
// half/bfloat16/double storages are converted to float32.
func ReadPytorchBin(path string) (map[string]*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	m, err := DecodePytorchBin(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// DecodePytorchBin is ReadPytorchBin over an io.ReaderAt of the given size.
func DecodePytorchBin(r io.ReaderAt, size int64) (map[string]*tensor.Tensor, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a torch zip checkpoint (legacy pre-1.6 torch.save files are not supported): %w", err)
	}
	files := map[string]*zip.File{}
	var pkl *zip.File
	for _, zf := range zr.File {
		files[zf.Name] = zf
		if path.Base(zf.Name) == "data.pkl" && strings.Count(zf.Name, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("archive has two data.pkl entries (%s, %s)", pkl.Name, zf.Name)
			}
			pkl = zf
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("archive has no <name>/data.pkl entry")
	}
	prefix := path.Dir(pkl.Name)
	if bo, ok := files[prefix+"/byteorder"]; ok {
		b, err := readEntry(bo, 16, size)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("%s: byte order %q is not supported", bo.Name, b)
		}
	}
	data, err := readEntry(pkl, maxPickleBytes, size)
	if err != nil {
		return nil, err
	}
	refs, err := unpickleStateDict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	cache := map[string][]float32{}
	load := func(s *storageRef) ([]float32, error) {
		if v, ok := cache[s.key]; ok {
			return v, nil
		}
		name := prefix + "/data/" + s.key
		zf, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("storage entry %s is missing", name)
		}
		hi, nbytes := bits.Mul64(uint64(s.numel), uint64(s.dtype.Size()))
		if hi != 0 || nbytes > zf.UncompressedSize64 || nbytes > math.MaxInt32*8 {
			return nil, fmt.Errorf("storage %s claims %d %s elements but the entry has %d bytes", name, s.numel, s.dtype, zf.UncompressedSize64)
		}
		raw, err := readEntry(zf, int64(nbytes), size)
		if err != nil {
			return nil, err
		}
		if uint64(len(raw)) < nbytes {
			return nil, fmt.Errorf("storage %s: %d bytes, need %d", name, len(raw), nbytes)
		}
		out := make([]float32, s.numel)
		if err := s.dtype.decode(raw[:nbytes], out); err != nil {
			return nil, fmt.Errorf("storage %s: %w", name, err)
		}
		cache[s.key] = out
		return out, nil
	}
	out := make(map[string]*tensor.Tensor, len(refs))
	for name, ref := range refs {
		src, err := load(ref.storage)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		t, err := ref.materialize(src)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// readEntry reads at most limit bytes of a zip entry. Memory is sized up
// front only for stored (uncompressed, as torch writes them) entries whose
// claimed size fits in the archive; otherwise it grows with the bytes actually
// present, never with the size the archive claims.
func readEntry(zf *zip.File, limit, archiveSize int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", zf.Name, err)
	}
	defer rc.Close()
	if zf.Method == zip.Store && zf.UncompressedSize64 <= uint64(archiveSize) {
		n := min(int64(zf.UncompressedSize64), limit)
		out := make([]byte, n)
		if _, err := io.ReadFull(rc, out); err != nil {
			return nil, fmt.Errorf("%s: %w", zf.Name, err)
		}
		return out, nil
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, limit)); err != nil {
		return nil, fmt.Errorf("%s: %w", zf.Name, err)
	}
	return buf.Bytes(), nil
}

// unpickleStateDict runs data.pkl and returns the name → tensor map of the
// top-level dict (a plain dict or OrderedDict, as torch.save(state_dict)).
func unpickleStateDict(data []byte) (map[string]*tensorRef, error) {
	storages := map[string]*storageRef{}
	v, err := unpickle(data, torchPersistentLoad(storages))
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("top-level object is %T, not a state_dict", v)
	}
	out := make(map[string]*tensorRef, len(d.keys))
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state_dict key %v is not a string", k)
		}
		t, ok := d.vals[i].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("state_dict entry %q is %T, not a tensor", name, d.vals[i])
		}
		out[name] = t
	}
	return out, nil
}

// materialize copies the (possibly strided, offset) view out of its storage.
func (r *tensorRef) materialize(src []float32) (*tensor.Tensor, error) {
	numel := uint64(1)
	last := uint64(r.offset)
	for i, s := range r.size {
		hi, lo := bits.Mul64(numel, uint64(s))
		if hi != 0 || lo > uint64(len(src)) && s != 0 {
			return nil, fmt.Errorf("size %v exceeds storage of %d elements", r.size, len(src))
		}
		numel = lo
		if s > 0 {
			hi, span := bits.Mul64(uint64(s-1), uint64(r.stride[i]))
			if hi != 0 || span > uint64(len(src)) {
				return nil, fmt.Errorf("stride %v exceeds storage of %d elements", r.stride, len(src))
			}
			last += span
		}
	}
	if numel > 0 && last >= uint64(len(src)) {
		return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches element %d of a %d-element storage", r.offset, r.size, r.stride, last, len(src))
	}
	shape := make([]int, len(r.size))
	for i, s := range r.size {
		shape[i] = int(s)
	}
	t := tensor.New(shape...)
	if numel == 0 {
		return t, nil
	}
	if isContiguous(r.size, r.stride) {
		copy(t.Data, src[r.offset:r.offset+int64(numel)])
		return t, nil
	}
	idx := make([]int64, len(r.size))
	for j := range t.Data {
		p := r.offset
		for d, ix := range idx {
			p += ix * r.stride[d]
		}
		t.Data[j] = src[p]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < r.size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return t, nil
}

func isContiguous(size, stride []int64) bool {
	want := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}
