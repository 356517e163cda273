package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSmallDeBERTa(t *testing.T) {
	// The committed reproduction results hold the small DeBERTa's rows.
	rows, err := readSmallDeBERTa(filepath.Join("..", "reproduce", "RESULTS.md"))
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	var ncbi []breedRow
	for _, r := range rows {
		assert.Equal(t, smallDeBERTaEncoder, r.encoder)
		assert.True(t, r.dev > 0 && r.dev < 1 && r.test > 0 && r.test < 1, "%+v", r)
		if r.corpus == "NCBI-Disease" {
			ncbi = append(ncbi, r)
		}
	}
	require.Len(t, ncbi, 2, "lora and full, pre-trained only")

	p := filepath.Join(t.TempDir(), "R.md")
	require.NoError(t, os.WriteFile(p, []byte("### DeBERTa-v3-shaped encoder vs BERT\n\n| corpus | method | init |\n|---|---|---|\n| NCBI-Disease | lora | pretrained | 1 | 2 | 3 | x | 4 | 5 | 6 | 7 | 8 |\n"), 0o644))
	_, err = readSmallDeBERTa(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "R.md:5")
	none, err := readSmallDeBERTa(filepath.Join(t.TempDir(), "absent.md"))
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestBestOfBreedPicksDevNotTest(t *testing.T) {
	nan := math.NaN()
	rows := []breedRow{
		{corpus: "NCBI-Disease", encoder: "a", variant: "lora", dev: 0.80, test: 0.90, sent: nan, para: nan},
		{corpus: "NCBI-Disease", encoder: "b", variant: "lora-all", dev: 0.85, test: 0.70, sent: 0.71, para: 0.70},
	}
	var b strings.Builder
	writeBestOfBreed(&b, rows, "R.md")
	out := b.String()
	assert.Contains(t, out, "| NCBI-Disease | b | lora-all | 2 | 85.00 | 70.00 | 71.00 | 70.00 | 91.10 | 85.67 |")
	assert.Contains(t, out, "| BC2GM | no finished run yet |")
}
