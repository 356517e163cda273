package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/internal/testutil"
)

// A default tagger whose base encoder is not installed is "not available"
// (nothing is downloaded at run time), and the message says what to run.
func TestDefaultBaseNotInstalled(t *testing.T) {
	src := filepath.Join(testutil.SharedDir(t), "fixtures", "bert", "adapter")
	root := t.TempDir()
	dst := filepath.Join(root, "ncbi")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, f), b, 0o644))
	}
	m := &tagger.Manifest{BaseEncoder: "bert-base-cased", Adapters: map[string]string{"disease": "ncbi"}}
	require.NoError(t, m.Save(root))
	t.Setenv(cache.Env, t.TempDir())
	t.Setenv(tagger.EnvModel, root)
	_, err := newOpenTagger(taggerConfig{})
	require.Error(t, err)
	assert.Equal(t, StatusNotAvailable, statusOf(err))
	assert.Contains(t, err.Error(), `openmed.install_encoders("bert-base-cased")`)
	assert.Contains(t, err.Error(), "openmed encoders install bert-base-cased")
	assert.Contains(t, err.Error(), `model="fast"`, "the no-download alternative")
}
