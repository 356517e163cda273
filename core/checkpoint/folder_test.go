package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ClassifyFolder: adapter_config.json wins, then config + weights, then
// config + onnx/model.onnx; anything else (and a file, a missing path) is an
// error naming the path.
func TestClassifyFolder(t *testing.T) {
	mk := func(files ...string) string {
		d := t.TempDir()
		for _, f := range files {
			p := filepath.Join(d, filepath.FromSlash(f))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
		}
		return d
	}
	for _, c := range []struct {
		files []string
		want  FolderKind
	}{
		{[]string{AdapterConfigFile, AdapterSafetensorsFile, ConfigFile}, FolderAdapter},
		{[]string{ConfigFile, SafeWeightsFile}, FolderHF},
		{[]string{ConfigFile, SafeWeightsIndexFile}, FolderHF},
		{[]string{ConfigFile, WeightsFile, ONNXModelPath}, FolderHF},
		{[]string{ConfigFile, ONNXModelPath}, FolderONNX},
	} {
		k, err := ClassifyFolder(mk(c.files...))
		require.NoError(t, err, c.files)
		assert.Equal(t, c.want, k, c.files)
	}
	for _, files := range [][]string{{ConfigFile}, {SafeWeightsFile}, {ONNXModelPath}} {
		d := mk(files...)
		_, err := ClassifyFolder(d)
		require.Error(t, err, files)
		assert.Contains(t, err.Error(), d)
	}
	f := filepath.Join(mk(ConfigFile), ConfigFile)
	_, err := ClassifyFolder(f)
	assert.ErrorContains(t, err, "not a folder")
	_, err = ClassifyFolder(filepath.Join(t.TempDir(), "nope"))
	assert.ErrorContains(t, err, "nope")
	assert.Equal(t, "adapter", FolderAdapter.String())
}
