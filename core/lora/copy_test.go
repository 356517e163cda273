package lora

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
)

// CopyAdapter keeps the weights byte for byte, points
// base_model_name_or_path at the given base, keeps the config's other
// fields, and replaces an existing folder whole.
func TestCopyAdapter(t *testing.T) {
	src := filepath.Join(sharedDir(t), "fixtures", "bert", "adapter")
	dst := filepath.Join(t.TempDir(), "models", "ncbi")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "stale.txt"), []byte("x"), 0o644))
	require.NoError(t, CopyAdapter(src, dst, "bert-base-cased"))
	want, err := os.ReadFile(filepath.Join(src, checkpoint.AdapterSafetensorsFile))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dst, checkpoint.AdapterSafetensorsFile))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "weights copied unchanged")
	a, err := checkpoint.LoadAdapterConfig(src)
	require.NoError(t, err)
	b, err := checkpoint.LoadAdapterConfig(dst)
	require.NoError(t, err)
	assert.Equal(t, "bert-base-cased", b.BaseModelNameOrPath)
	assert.Equal(t, a.R, b.R)
	assert.Equal(t, a.TargetModules, b.TargetModules)
	assert.Equal(t, a.ModulesToSave, b.ModulesToSave)
	assert.NoFileExists(t, filepath.Join(dst, "stale.txt"), "the old folder is replaced whole")
	left, err := filepath.Glob(filepath.Join(filepath.Dir(dst), ".ncbi.tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary folder left")

	err = CopyAdapter(t.TempDir(), filepath.Join(t.TempDir(), "x"), "b")
	require.Error(t, err)
	assert.Contains(t, err.Error(), checkpoint.AdapterConfigFile)
}
