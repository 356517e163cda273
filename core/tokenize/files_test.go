package tokenize

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCopyFiles(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "out")
	none, err := CopyFiles(src, dst)
	require.NoError(t, err)
	assert.Empty(t, none, "nothing to copy from a folder without a tokenizer")
	assert.False(t, HasFiles(src))
	require.NoError(t, os.WriteFile(filepath.Join(src, FileVocab), []byte("[PAD]\n[UNK]\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, FileConfig), []byte(`{"do_lower_case": true}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "model.safetensors"), []byte("x"), 0o600))
	got, err := CopyFiles(src, dst)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{filepath.Join(dst, FileConfig), filepath.Join(dst, FileVocab)}, got, "only tokenizer files")
	for _, p := range got {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	}
	assert.True(t, HasFiles(dst))
	again, err := CopyFiles(dst, dst)
	require.NoError(t, err, "a folder onto itself is a no-op")
	assert.Len(t, again, 2)
	data, err := os.ReadFile(filepath.Join(dst, FileVocab))
	require.NoError(t, err)
	assert.Equal(t, "[PAD]\n[UNK]\n", string(data))
	one, err := CopyFiles(filepath.Join(src, FileVocab), filepath.Join(t.TempDir(), "single"))
	require.NoError(t, err)
	assert.Len(t, one, 1, "a single tokenizer file")
}
