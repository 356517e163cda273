package dapt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveRandomInitArch: SaveRandomInit follows s.Arch (BERT, DeBERTa-v3),
// always with dropout 0.1, and the same seed gives the same weights.
func TestSaveRandomInitArch(t *testing.T) {
	tok := filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract")
	drop := 0.3
	s := Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 64, Dropout: &drop}
	dir := t.TempDir()
	save := func(name string, arch ScratchArch) *checkpoint.Config {
		out := filepath.Join(dir, name)
		s := s
		s.Arch = arch
		require.NoError(t, SaveRandomInit(out, tok, s, 7))
		c, err := checkpoint.LoadConfig(filepath.Join(out, checkpoint.ConfigFile))
		require.NoError(t, err)
		assert.FileExists(t, filepath.Join(out, checkpoint.SafeWeightsFile))
		return c
	}
	bert := save("bert", ArchBERT)
	assert.Equal(t, checkpoint.ModelBERT, bert.ModelType)
	assert.Equal(t, 0.1, bert.HiddenDropoutProb)
	deb := save("deberta", ArchDeBERTaV3)
	assert.Equal(t, checkpoint.ModelDebertaV2, deb.ModelType)
	assert.Equal(t, 0.1, deb.HiddenDropoutProb)
	save("bert2", ArchBERT)
	a, err := os.ReadFile(filepath.Join(dir, "bert", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "bert2", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, same weights")
}
