package metrics

import (
	"bufio"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/scheme"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTagPairs(t *testing.T, path string) (gold, pred [][]string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	var g, p []string
	flush := func() {
		if len(g) > 0 {
			gold, pred = append(gold, g), append(pred, p)
			g, p = nil, nil
		}
	}
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			flush()
			continue
		}
		require.Len(t, fs, 2)
		g, p = append(g, fs[0]), append(p, fs[1])
	}
	flush()
	require.NoError(t, sc.Err())
	return gold, pred
}

// pct rounds a fraction to conlleval's printed precision (percent, 2
// decimals).
func pct(x float64) float64 { return math.Round(x*10000) / 100 }

// TestConllevalParity scores the CoNLL-2000 example output that the conlleval
// documentation publishes results for (see testdata/README.md); seqeval's
// default mode is tested against conlleval on the same file.
func TestConllevalParity(t *testing.T) {
	gold, pred := readTagPairs(t, "testdata/conll2000_chunk_tags.txt")
	r, err := Evaluate(gold, pred)
	require.NoError(t, err)
	assert.Equal(t, 961, r.Tokens)
	assert.Equal(t, 459, r.Micro.Support)
	assert.Equal(t, 539, r.Micro.Predicted)
	assert.Equal(t, 371, r.Micro.Correct)
	assert.Equal(t, 84.08, pct(r.TokenAccuracy))
	assert.Equal(t, 68.83, pct(r.Micro.Precision))
	assert.Equal(t, 80.83, pct(r.Micro.Recall))
	assert.Equal(t, 74.35, pct(r.Micro.F1))
	want := map[string][4]float64{ // precision, recall, F1 (percent), found
		"ADJP": {0, 0, 0, 1},
		"ADVP": {45.45, 62.50, 52.63, 11},
		"NP":   {64.98, 78.63, 71.16, 317},
		"PP":   {83.18, 98.89, 90.36, 107},
		"SBAR": {66.67, 33.33, 44.44, 3},
		"VP":   {69.00, 79.31, 73.80, 100},
	}
	assert.Len(t, r.PerType, len(want))
	for typ, w := range want {
		s := r.PerType[typ]
		assert.Equal(t, w[0], pct(s.Precision), typ)
		assert.Equal(t, w[1], pct(s.Recall), typ)
		assert.Equal(t, w[2], pct(s.F1), typ)
		assert.Equal(t, int(w[3]), s.Predicted, typ)
	}

	// Strict IOB2 drops every prediction opened with I- (IOB1 style), so it
	// must score lower; the gold column is valid IOB2 and keeps 459 phrases.
	st, err := Evaluate(gold, pred, WithMode(scheme.Strict))
	require.NoError(t, err)
	assert.Equal(t, 459, st.Micro.Support)
	assert.Less(t, st.Micro.Predicted, 539)
	assert.Less(t, st.Micro.F1, r.Micro.F1)
	// Repairing the predictions to IOB2 restores the default-mode score in
	// strict mode.
	repaired := make([][]string, len(pred))
	for i, p := range pred {
		repaired[i] = scheme.RepairIOB2(p)
	}
	rs, err := Evaluate(gold, repaired, WithMode(scheme.Strict))
	require.NoError(t, err)
	assert.Equal(t, r.Micro, rs.Micro)
}
