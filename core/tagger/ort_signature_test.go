package tagger

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/onnx"
)

// ortToyModel writes a graph whose "logits" are input_ids·attention_mask as
// float, shaped [batch, seq, 1] with the last axis declared as lastDim.
func ortToyModel(t *testing.T, lastDim onnx.Dim, idsType onnx.DataType, outName string, extra ...string) string {
	t.Helper()
	b := onnx.NewBuilder("toy")
	batch, seq := onnx.Symbolic(onnx.AxisBatch), onnx.Symbolic(onnx.AxisSequence)
	ids := b.Input(onnx.InputIDs, idsType, batch, seq)
	mask := b.Input(onnx.AttentionMask, onnx.Int64, batch, seq)
	for _, name := range extra {
		b.Input(name, onnx.Int64, batch, seq)
	}
	prod := b.Mul(b.Cast(ids, onnx.Float), b.Cast(mask, onnx.Float))
	b.Output(b.Unsqueeze(prod, 2), outName, onnx.Float, batch, seq, lastDim)
	m, err := b.Model("openmed", "test")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "toy.onnx")
	require.NoError(t, onnx.WriteModel(path, m))
	return path
}

func TestORTSymbolicLabelAxis(t *testing.T) {
	ortRequire(t)
	for _, dim := range []onnx.Dim{onnx.Fixed(1), onnx.Symbolic("num_labels")} {
		be, err := NewORT(ortToyModel(t, dim, onnx.Int64, onnx.OutputLogits), ORTOptions{IntraOpThreads: 1})
		require.NoError(t, err)
		assert.False(t, be.UsesTokenTypes())
		got, err := be.Logits([][]int64{{5, 6, 7}, {8, 9, 0}}, [][]int64{{1, 1, 1}, {1, 0, 1}}, nil)
		require.NoError(t, err)
		assert.Equal(t, []int{2, 3, 1}, got.Shape, "%+v", dim)
		assert.Equal(t, []float32{5, 6, 7, 8, 0, 0}, got.Data, "%+v", dim)
		require.NoError(t, be.Close())
	}
}

func TestORTSignatureErrors(t *testing.T) {
	ortRequire(t)
	_, err := NewORT(ortToyModel(t, onnx.Fixed(1), onnx.Float, onnx.OutputLogits), ORTOptions{})
	assert.ErrorContains(t, err, `input "input_ids" is FLOAT, want INT64`)
	_, err = NewORT(ortToyModel(t, onnx.Fixed(1), onnx.Int64, "scores"), ORTOptions{})
	assert.ErrorContains(t, err, `no "logits" output`)
	_, err = NewORT(ortToyModel(t, onnx.Fixed(1), onnx.Int64, onnx.OutputLogits, "pixel_values"), ORTOptions{})
	assert.ErrorContains(t, err, `unexpected model input "pixel_values"`)
}
