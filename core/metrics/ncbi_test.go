package metrics

import (
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/scheme"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// degrade removes every k-th gold entity (counting across the corpus,
// starting at offset) and shortens every m-th remaining multi-token entity
// by its last token, deterministically.
func degrade(t testing.TB, gold [][]string, k, offset, m int) [][]string {
	t.Helper()
	out := make([][]string, len(gold))
	n := 0
	for s, tags := range gold {
		var kept []scheme.Span
		for _, sp := range scheme.Decode(tags, scheme.Default, scheme.IOB2) {
			n++
			if (n+offset)%k == 0 {
				continue
			}
			if n%m == 0 && sp.Len() > 1 {
				sp.End--
			}
			kept = append(kept, sp)
		}
		enc, err := scheme.Encode(kept, len(tags), scheme.IOB2)
		require.NoError(t, err)
		out[s] = enc
	}
	return out
}

func TestSignificanceOnNCBIDisease(t *testing.T) {
	c, err := corpus.ReadFile(filepath.Join(sharedDir(t), "data", "NCBI-Disease", "test.tsv"))
	require.NoError(t, err)
	gold := c.Tags()

	r, err := Evaluate(gold, gold)
	require.NoError(t, err)
	assert.Equal(t, 960, r.Micro.Support)
	assert.Equal(t, 1.0, r.Micro.F1)

	good := degrade(t, gold, 20, 0, 25) // ~5% missed, ~4% boundary errors
	bad := degrade(t, gold, 4, 1, 7)    // ~25% missed, ~14% boundary errors
	rg, err := Evaluate(gold, good)
	require.NoError(t, err)
	rb, err := Evaluate(gold, bad)
	require.NoError(t, err)
	require.Greater(t, rg.Micro.F1, rb.Micro.F1+0.1)

	self, err := ApproximateRandomization(gold, good, good)
	require.NoError(t, err)
	assert.Equal(t, 1.0, self.PValue)
	assert.Equal(t, DefaultShuffles, self.Shuffles)

	diff, err := ApproximateRandomization(gold, good, bad)
	require.NoError(t, err)
	assert.Less(t, diff.PValue, 0.01)
	assert.InDelta(t, rg.Micro.F1-rb.Micro.F1, diff.Diff, 1e-12)
	t.Logf("good F1 %.4f, bad F1 %.4f, p = %.5f (%d/%d)", diff.F1A, diff.F1B, diff.PValue, diff.Exceed, diff.Shuffles)

	cmp, err := Compare(gold, good, bad)
	require.NoError(t, err)
	assert.Greater(t, cmp.CIDiff.Lower, 0.0)
	assert.LessOrEqual(t, cmp.CIA.Lower, rg.Micro.F1)
	assert.GreaterOrEqual(t, cmp.CIA.Upper, rg.Micro.F1)
}
