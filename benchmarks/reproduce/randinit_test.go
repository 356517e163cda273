package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/training/dapt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveRandomInitArch: SaveRandomInit follows the recipe's architecture
// (BERT by default, DeBERTa-v3 through SaveRandomInitDeBERTa), always with
// dropout 0.1, and the same seed gives the same weights.
func TestSaveRandomInitArch(t *testing.T) {
	tok := filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract")
	drop := 0.3
	s := dapt.Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 64, Dropout: &drop}
	dir := t.TempDir()
	save := func(name string, f func(out, tokDir string, s dapt.Scratch, seed uint64) error) *checkpoint.Config {
		out := filepath.Join(dir, name)
		require.NoError(t, f(out, tok, s, 7))
		c, err := checkpoint.LoadConfig(filepath.Join(out, checkpoint.ConfigFile))
		require.NoError(t, err)
		assert.FileExists(t, filepath.Join(out, checkpoint.SafeWeightsFile))
		return c
	}
	bert := save("bert", SaveRandomInit)
	assert.Equal(t, checkpoint.ModelBERT, bert.ModelType)
	assert.Equal(t, 0.1, bert.HiddenDropoutProb)
	deb := save("deberta", SaveRandomInitDeBERTa)
	assert.Equal(t, checkpoint.ModelDebertaV2, deb.ModelType)
	assert.Equal(t, 0.1, deb.HiddenDropoutProb)
	save("bert2", SaveRandomInit)
	a, err := os.ReadFile(filepath.Join(dir, "bert", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "bert2", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, same weights")
}
