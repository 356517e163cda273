package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/openmed/openmed/core/tensor"
)

// EncodeSafetensors serialises float32 tensors in the exact layout of
// huggingface/safetensors `serialize` (safetensors/src/tensor.rs `prepare`):
// entries sorted by dtype alignment (all F32 here) then name, data contiguous
// in that order, a compact JSON header with "__metadata__" first, padded with
// spaces to a multiple of 8 bytes.
func EncodeSafetensors(tensors map[string]*tensor.Tensor, metadata map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeSafetensors(&buf, tensors, metadata); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeSafetensors streams an F32 file to w (no second copy of the data).
func encodeSafetensors(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	return encodeSafetensorsAs(w, tensors, metadata, F32)
}

// encodeSafetensorsAs streams the file to w with every tensor stored as
// dtype (F32, or F16 rounded to nearest even as torch's .half()).
func encodeSafetensorsAs(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string, dtype DType) error {
	size := int64(4)
	switch dtype {
	case F32:
	case F16:
		size = 2
	default:
		return fmt.Errorf("safetensors: writing dtype %s is not supported (F32, F16)", dtype)
	}
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if name == metadataKey {
			return fmt.Errorf("tensor name %q is reserved", name)
		}
		if t == nil {
			return fmt.Errorf("tensor %q is nil", name)
		}
		if tensor.Numel(t.Shape) != len(t.Data) {
			return fmt.Errorf("tensor %q: shape %v does not match %d values", name, t.Shape, len(t.Data))
		}
		names = append(names, name)
	}
	sort.Strings(names)

	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		hdr.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeJSONString(&hdr, k)
			hdr.WriteByte(':')
			writeJSONString(&hdr, metadata[k])
		}
		hdr.WriteByte('}')
		first = false
	}
	var off int64
	for _, name := range names {
		t := tensors[name]
		if !first {
			hdr.WriteByte(',')
		}
		first = false
		writeJSONString(&hdr, name)
		hdr.WriteString(`:{"dtype":"` + string(dtype) + `","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		end := off + size*int64(len(t.Data))
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	_ = binary.Write(bw, binary.LittleEndian, uint64(hdr.Len()))
	_, _ = bw.Write(hdr.Bytes())
	var chunk []byte
	for _, name := range names {
		data := tensors[name].Data
		for len(data) > 0 {
			n := min(len(data), 1<<16)
			chunk = chunk[:0]
			for _, v := range data[:n] {
				if dtype == F16 {
					chunk = binary.LittleEndian.AppendUint16(chunk, Float32ToHalf(v))
				} else {
					chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
				}
			}
			if _, err := bw.Write(chunk); err != nil {
				return err
			}
			data = data[n:]
		}
	}
	return bw.Flush()
}

// WriteSafetensors writes float32 tensors to path in Hugging Face's layout
// (see EncodeSafetensors), atomically: a temporary file in the same folder is
// written, fsynced and renamed over path.
func WriteSafetensors(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	return writeAtomic(path, func(w io.Writer) error { return encodeSafetensors(w, tensors, metadata) })
}

// WriteSafetensorsF16 writes tensors to path as F16 safetensors (half the
// size; values rounded to nearest even, as torch's .half()), in the same
// layout and atomically as WriteSafetensors; every reader of this package
// loads it back as float32.
func WriteSafetensorsF16(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	return writeAtomic(path, func(w io.Writer) error { return encodeSafetensorsAs(w, tensors, metadata, F16) })
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory that is fsynced and then renamed, so readers see either the old
// or the new file, never a partial one.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := write(f); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeJSONString writes s as a JSON string escaped the way serde_json does
// (only '"', '\\' and control characters; non-ASCII is written as-is).
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
