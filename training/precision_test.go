package training

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
)

// stepLosses reads the logged training losses of metrics.jsonl.
func stepLosses(t *testing.T, dir string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	require.NoError(t, err)
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v struct {
			Type string  `json:"type"`
			Loss float64 `json:"loss"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &v), line)
		if v.Type == "step" {
			out = append(out, v.Loss)
		}
	}
	return out
}

// TestBF16TrainingTracksFP32: a run with "precision": "bf16" trains (its
// loss curve follows the fp32 run's within bf16 rounding, its weights are
// not fp32's), records its precision in training_args.json, and leaves the
// process at fp32 afterwards.
func TestBF16TrainingTracksFP32(t *testing.T) {
	testutil.RequireBF16(t, tensor.BF16CPU, tensor.BF16Available)
	base := tinyBase(t, 2, 64)
	train := ncbiSubset(t, "train", 200)
	dev := ncbiSubset(t, "devel", 60)

	c32 := smallConfig(base, train, dev, t.TempDir())
	r32, err := Train(context.Background(), c32)
	require.NoError(t, err)
	c16 := smallConfig(base, train, dev, t.TempDir())
	c16.Precision = tensor.BF16
	r16, err := Train(context.Background(), c16)
	require.NoError(t, err)
	assert.Equal(t, tensor.FP32, tensor.CurrentPrecision(), "Train left bf16 selected")

	l32, l16 := stepLosses(t, c32.Out), stepLosses(t, c16.Out)
	require.Equal(t, len(l32), len(l16))
	require.NotEmpty(t, l32)
	// Step 1: same weights and batch; only the products' rounding differs.
	assert.InDelta(t, l32[0], l16[0], 0.01*l32[0], "first-step loss")
	// The end of the run: the curves stay together (10 % covers the drift
	// of hundreds of rounded steps, not a broken backward pass).
	assert.InDelta(t, l32[len(l32)-1], l16[len(l16)-1], 0.1*l32[len(l32)-1], "last logged loss")
	assert.Less(t, l16[len(l16)-1], 0.8*l16[0], "bf16 run did not learn")

	differ := false
	p32, p16 := r32.Model.TrainableParams(), r16.Model.TrainableParams()
	for i := range p32 {
		for j := range p32[i].Value.Data {
			if p32[i].Value.Data[j] != p16[i].Value.Data[j] {
				differ = true
			}
		}
	}
	assert.True(t, differ, "bf16 run produced fp32's weights bit for bit: bf16 was not used")

	b, err := os.ReadFile(filepath.Join(c16.Out, "training_args.json"))
	require.NoError(t, err)
	var args map[string]any
	require.NoError(t, json.Unmarshal(b, &args))
	assert.Equal(t, "bf16", args["precision"])
	assert.False(t, math.IsNaN(l16[len(l16)-1]))
}
