package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/internal/testutil"
)

// TestMergeCommand merges the fixture adapter and un-merges it again: the
// query weights change, then come back to the base within two float32
// roundings.
func TestMergeCommand(t *testing.T) {
	fx := sharedPath(t, "fixtures", "bert")
	tmp := t.TempDir()
	merged, back := filepath.Join(tmp, "m"), filepath.Join(tmp, "b")
	out, err := execCmd(newMergeCmd(), "--base", fx, "--adapter", filepath.Join(fx, "adapter"), "--out", merged)
	require.NoError(t, err, out)
	assert.Contains(t, out, "merged 4 LoRA modules")
	out, err = execCmd(newMergeCmd(), "--base", merged, "--adapter", filepath.Join(fx, "adapter"), "--out", back, "--unmerge")
	require.NoError(t, err, out)
	assert.Contains(t, out, "unmerged 4 LoRA modules")
	const key = "bert.encoder.layer.1.attention.self.value.weight"
	base, err := checkpoint.ReadSafetensors(filepath.Join(fx, "model.safetensors"))
	require.NoError(t, err)
	m, err := checkpoint.ReadSafetensors(filepath.Join(merged, "model.safetensors"))
	require.NoError(t, err)
	b, err := checkpoint.ReadSafetensors(filepath.Join(back, "model.safetensors"))
	require.NoError(t, err)
	scale := float32(1)
	for _, v := range m[key].Data {
		scale = max(scale, abs32(v))
	}
	// W + δ − δ with the same float64 δ (same code, same order): two float32
	// roundings of the weights' magnitude.
	tol := 2 * testutil.F32Roundoff * float64(scale)
	moved := 0.0
	for i, w := range base[key].Data {
		moved = max(moved, float64(abs32(m[key].Data[i]-w)))
		assert.InDelta(t, w, b[key].Data[i], tol)
	}
	assert.Greater(t, moved, 1e-3)
}

func TestMergeCommandMissingFlag(t *testing.T) {
	_, err := execCmd(newMergeCmd(), "--base", "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "adapter")
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
