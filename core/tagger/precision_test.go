package tagger

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
)

// TestPrecisionBF16: bf16 refuses ONNX Runtime (no bf16 kernels) with a
// clear message, moves the auto backend to the Go engine, and tags with
// scores within bf16 rounding of fp32's.
func TestPrecisionBF16(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 1)
	_, err := Open(dir, WithBackend(BackendORT), WithPrecision(tensor.BF16))
	require.EqualError(t, err, "tagger: precision bf16 runs on the Go engine (backend go or auto); ONNX Runtime's CPU provider has no bf16 kernels")
	testutil.RequireBF16(t, tensor.BF16CPU, tensor.BF16Available)
	defer func() { require.NoError(t, tensor.SetPrecision(tensor.FP32)) }()

	text := "Renal failure and breast cancer were seen with cisplatin ."
	ctx := context.Background()
	ref, err := Open(dir, WithBackend(BackendEngine), WithIgnoreLabels(), WithAggregation(AggregationNone))
	require.NoError(t, err)
	want, err := ref.Tag(ctx, text)
	require.NoError(t, err)
	ref.Close()

	tg, err := Open(dir, WithPrecision(tensor.BF16), WithIgnoreLabels(), WithAggregation(AggregationNone))
	require.NoError(t, err)
	defer tg.Close()
	assert.Equal(t, BackendEngine, tg.Backend(), "auto + bf16 is the Go engine")
	assert.Equal(t, tensor.BF16, tensor.CurrentPrecision())
	got, err := tg.Tag(ctx, text)
	require.NoError(t, err)
	require.Equal(t, len(want), len(got))
	differ := false
	for i := range want {
		assert.Equal(t, want[i].Start, got[i].Start)
		// Scores are softmax probabilities: bf16 operands (8-bit
		// mantissa) move them by far less than 0.05 on a 1-layer model.
		assert.InDelta(t, want[i].Score, got[i].Score, 0.05, "token %d", i)
		differ = differ || want[i].Score != got[i].Score
	}
	assert.True(t, differ, "bf16 scores equal fp32's bit for bit: bf16 was not used")
}
