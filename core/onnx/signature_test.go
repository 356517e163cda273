package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSignatureOfExport(t *testing.T) {
	out := t.TempDir()
	res, err := Export(filepath.Join(sharedDir(t), "fixtures", "electra"), out, ExportOptions{})
	require.NoError(t, err)
	sig, err := ReadSignature(res.ModelFile)
	require.NoError(t, err)
	dyn := []Dim{Symbolic(AxisBatch), Symbolic(AxisSequence)}
	assert.Equal(t, []ValueInfo{
		{Name: InputIDs, ElemType: Int64, Dims: dyn},
		{Name: AttentionMask, ElemType: Int64, Dims: dyn},
		{Name: TokenTypeIDs, ElemType: Int64, Dims: dyn},
	}, sig.Inputs)
	logits, ok := sig.Output(OutputLogits)
	require.True(t, ok)
	assert.Equal(t, []Dim{Symbolic(AxisBatch), Symbolic(AxisSequence), Fixed(5)}, logits.Dims)
	_, ok = sig.Input("pixel_values")
	assert.False(t, ok)
}

func TestReadSignatureDropsInitializerInputs(t *testing.T) {
	// IR<4 exporters list initializers among the graph inputs.
	b := NewBuilder("g")
	x := b.Input("x", Float, Fixed(2), Symbolic("n"))
	w := b.Initializer(FloatTensor("w", make([]float32, 40000), 40000))
	b.Output(b.Add(x, w), "y", Float)
	m, err := b.Model("openmed", "t")
	require.NoError(t, err)
	m.Graph.Inputs = append(m.Graph.Inputs, ValueInfo{Name: "w", ElemType: Float, Dims: []Dim{Fixed(40000)}})
	path := filepath.Join(t.TempDir(), "m.onnx")
	require.NoError(t, WriteModel(path, m))
	sig, err := ReadSignature(path)
	require.NoError(t, err)
	require.Len(t, sig.Inputs, 1)
	assert.Equal(t, ValueInfo{Name: "x", ElemType: Float, Dims: []Dim{Fixed(2), Symbolic("n")}}, sig.Inputs[0])
	require.Len(t, sig.Outputs, 1)
	assert.Equal(t, ValueInfo{Name: "y", ElemType: Float, Dims: []Dim{}}, sig.Outputs[0])
}

func TestReadSignatureErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadSignature(filepath.Join(dir, "absent.onnx"))
	assert.ErrorContains(t, err, "absent.onnx")

	for name, data := range map[string][]byte{
		"empty.onnx":     {},
		"text.onnx":      []byte("hello, this is not protobuf at all"),
		"truncated.onnx": {0x3a, 0xff, 0xff, 0x03}, // graph field claiming 64 KiB
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		_, err := ReadSignature(p)
		assert.Error(t, err, name)
		if err != nil {
			assert.Contains(t, err.Error(), name)
		}
	}
}

func FuzzReadSignature(f *testing.F) {
	b := NewBuilder("g")
	b.Output(b.Relu(b.Input("x", Float, Fixed(2))), "y", Float, Fixed(2))
	m, _ := b.Model("openmed", "t")
	f.Add(m.Marshal())
	f.Add([]byte{0x3a, 0x02, 0x5a, 0x00})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.onnx")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		_, _ = ReadSignature(p) // must not panic
	})
}
