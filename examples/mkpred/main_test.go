package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/core/scheme"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ncbiTest(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("../shared not found: no go.mod above the working directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", "NCBI-Disease", "test.tsv")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("../shared not found: %v", err)
	}
	return p
}

// TestCommittedExamplesAreReproducible regenerates the example files and
// requires them byte-identical to the committed ones.
func TestCommittedExamplesAreReproducible(t *testing.T) {
	gold, pred, err := Make(ncbiTest(t), 100)
	require.NoError(t, err)
	for name, sents := range map[string][]corpus.Sentence{
		"ncbi_disease_sample.gold.tsv": gold,
		"ncbi_disease_sample.pred.tsv": pred,
	} {
		var buf bytes.Buffer
		require.NoError(t, corpus.Write(&buf, sents))
		committed, err := os.ReadFile(filepath.Join("..", name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(buf.Bytes(), committed), "%s differs from `go run ./examples/mkpred` output", name)
	}
}

// TestPredictionHasEveryMistakeKind checks the simulated tagger makes each
// kind of mistake the README promises.
func TestPredictionHasEveryMistakeKind(t *testing.T) {
	gold, pred, err := Make(ncbiTest(t), 100)
	require.NoError(t, err)
	require.Len(t, pred, 100)
	var missed, boundary, spurious, iStart int
	for k := range gold {
		gs := scheme.Decode(gold[k].Tags(), scheme.Default, scheme.IOB2)
		ptags := pred[k].Tags()
		ps := scheme.Decode(ptags, scheme.Default, scheme.IOB2)
		overlaps := func(a scheme.Span, in []scheme.Span) (exact, partial bool) {
			for _, b := range in {
				if a == b {
					return true, true
				}
				if a.Start < b.End && b.Start < a.End {
					partial = true
				}
			}
			return false, partial
		}
		for _, g := range gs {
			exact, partial := overlaps(g, ps)
			if !partial {
				missed++
			} else if !exact {
				boundary++
			}
		}
		for _, p := range ps {
			if _, partial := overlaps(p, gs); !partial {
				spurious++
			}
		}
		for i, tag := range ptags {
			if tag == "I-Disease" && (i == 0 || ptags[i-1] == "O") {
				iStart++
			}
		}
	}
	t.Logf("missed %d, boundary %d, spurious %d, I- starts %d", missed, boundary, spurious, iStart)
	assert.Positive(t, missed)
	assert.Positive(t, boundary)
	assert.Positive(t, spurious)
	assert.Positive(t, iStart)

	def, err := metrics.Evaluate(corpusTags(gold), corpusTags(pred))
	require.NoError(t, err)
	strict, err := metrics.Evaluate(corpusTags(gold), corpusTags(pred), metrics.WithMode(scheme.Strict))
	require.NoError(t, err)
	assert.Greater(t, def.Micro.F1, 0.6)
	assert.Less(t, def.Micro.F1, 0.95)
	assert.Less(t, strict.Micro.F1, def.Micro.F1)
}

func corpusTags(s []corpus.Sentence) [][]string {
	out := make([][]string, len(s))
	for i := range s {
		out[i] = s[i].Tags()
	}
	return out
}
