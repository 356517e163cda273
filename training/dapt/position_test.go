package dapt

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
)

// The sinusoidal table follows Vaswani et al. §3.5 and has the requested
// standard deviation.
func TestSinusoidalInit(t *testing.T) {
	const maxPos, dim = 64, 32
	tab := make([]float32, maxPos*dim)
	sinusoidalInit(tab, maxPos, dim, 0.02)
	scale := 0.02 * math.Sqrt2
	assert.InDelta(t, 0, tab[0], 1e-9)                     // sin(0)
	assert.InDelta(t, scale, tab[1], 1e-7)                 // cos(0)
	assert.InDelta(t, scale*math.Sin(5), tab[5*dim], 1e-7) // p=5, i=0
	angle := 7 / math.Pow(10000, 4.0/dim)
	assert.InDelta(t, scale*math.Cos(angle), tab[7*dim+5], 1e-7)
	var ss float64
	for _, v := range tab {
		ss += float64(v) * float64(v)
	}
	assert.InDelta(t, 0.02, math.Sqrt(ss/float64(len(tab))), 0.002)
}

// --dropout and --position-init reach config.json and the initial weights;
// bad values are refused with the field named.
func TestScratchDropoutAndPositionInit(t *testing.T) {
	_, tokDir := pubmed(t)
	text := ncbiText(t, 40)
	zero := 0.0
	cfg := DefaultConfig()
	cfg.Text, cfg.Out, cfg.FromScratch, cfg.Tokenizer = []string{text}, t.TempDir(), true, tokDir
	cfg.Scratch = &Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 64, Dropout: &zero, PositionInit: PositionSinusoidal}
	cfg.Epochs, cfg.BatchSize, cfg.BlockLen, cfg.LR = 1, 4, 32, 1e-12
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	c, err := checkpoint.LoadConfig(cfg.Out)
	require.NoError(t, err)
	assert.Zero(t, c.HiddenDropoutProb)
	assert.Zero(t, c.AttentionProbsDropoutProb)
	// A 1e-12 LR leaves the table at its init: row 0 is sin(0)=0, cos(0)=scale.
	pos := res.Model.Encoder.Embeddings.Position.Value.Data
	assert.InDelta(t, 0, pos[0], 1e-9)
	assert.InDelta(t, 0.02*math.Sqrt2, pos[1], 1e-7)

	bad := cfg
	s := *cfg.Scratch
	s.PositionInit = "rotary"
	bad.Scratch = &s
	_, err = Run(context.Background(), bad)
	require.ErrorContains(t, err, "scratch.position_init")
	one := 1.0
	s2 := *cfg.Scratch
	s2.Dropout = &one
	bad.Scratch = &s2
	_, err = Run(context.Background(), bad)
	require.ErrorContains(t, err, "dropout")
}
