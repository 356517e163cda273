package search

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
)

// corrupt returns a copy of c where every k-th sentence (0, k, 2k, …) has all its tags
// set to O, dropping its entities.
func corrupt(c *corpus.Corpus, k int) []corpus.Sentence {
	out := make([]corpus.Sentence, len(c.Sentences))
	for i, s := range c.Sentences {
		toks := append([]corpus.Token(nil), s.Tokens...)
		if i%k == 0 {
			for j := range toks {
				toks[j].Tag = "O"
			}
		}
		out[i] = corpus.Sentence{Tokens: toks, Doc: s.Doc, Line: s.Line}
	}
	return out
}

// fakeRun writes a trainer-like run dir: dev/test predictions made from the real
// NCBI-Disease gold files with every devK-th / testK-th sentence emptied, and
// metrics.json with their measured micro scores.
func fakeRun(t *testing.T, dir string, devK, testK int) (devF1, testF1 float64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	data := filepath.Join(sharedDir(t), "data", "NCBI-Disease")
	m := map[string]any{}
	for _, sp := range []struct {
		file, pred, key string
		k               int
		f1              *float64
	}{{"devel.tsv", DevPredictions, "dev", devK, &devF1}, {"test.tsv", TestPredictions, "test", testK, &testF1}} {
		g, err := corpus.ReadFile(filepath.Join(data, sp.file))
		require.NoError(t, err)
		pred := corrupt(g, sp.k)
		require.NoError(t, corpus.WriteFile(filepath.Join(dir, sp.pred), pred))
		r, err := metrics.Evaluate(g.Tags(), (&corpus.Corpus{Sentences: pred}).Tags())
		require.NoError(t, err)
		m[sp.key] = map[string]any{"micro": r.Micro}
		*sp.f1 = r.Micro.F1
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.json"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "training_args.json"),
		[]byte(`{"test":"`+filepath.Join(data, "test.tsv")+`"}`), 0o644))
	return devF1, testF1
}

func TestSelectPicksBestDevAndTestsSignificance(t *testing.T) {
	dir := t.TempDir()
	few, many := filepath.Join(dir, "few"), filepath.Join(dir, "many")
	fewDev, fewTest := fakeRun(t, few, 25, 25)
	manyDev, manyTest := fakeRun(t, many, 3, 3)
	require.Greater(t, fewDev, manyDev)
	require.Greater(t, fewTest, manyTest)
	o := DefaultSelectOptions()
	o.Seed = 3
	for _, order := range [][]string{{many, few}, {few, many}} {
		sel, err := Select(order, o)
		require.NoError(t, err)
		assert.Equal(t, few, sel.Winner.Dir)
		require.NotNil(t, sel.RunnerUp)
		assert.Equal(t, many, sel.RunnerUp.Dir)
		assert.InDelta(t, fewDev, sel.Winner.DevF1, 1e-12)
		require.NotNil(t, sel.Test)
		assert.InDelta(t, fewTest, sel.Test.F1A, 1e-12)
		assert.InDelta(t, manyTest, sel.Test.F1B, 1e-12)
		assert.Equal(t, 10000, sel.Test.Shuffles)
		assert.Less(t, sel.Test.PValue, 0.01, "a third of the sentences emptied is a significant loss")
		assert.LessOrEqual(t, sel.CIWinner.Lower, fewTest)
		assert.GreaterOrEqual(t, sel.CIWinner.Upper, fewTest)
		assert.Greater(t, sel.CIDiff.Lower, 0.0, "the difference's interval excludes 0")
	}

	// Selection is by dev F1 even when test disagrees: the test set never picks.
	devWins := filepath.Join(dir, "dev-wins")
	dwDev, dwTest := fakeRun(t, devWins, 50, 2)
	require.Greater(t, dwDev, fewDev)
	sel, err := Select([]string{few, devWins}, o)
	require.NoError(t, err)
	assert.Equal(t, devWins, sel.Winner.Dir)
	assert.InDelta(t, dwTest-fewTest, sel.Test.Diff, 1e-12)
	assert.Less(t, sel.Test.Diff, 0.0)

	// A near-identical runner-up is not significant.
	twin := filepath.Join(dir, "twin")
	fakeRun(t, twin, 26, 26)
	sel, err = Select([]string{few, twin}, o)
	require.NoError(t, err)
	assert.Greater(t, sel.Test.PValue, 0.05)
}

func TestSelectErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Select(nil, DefaultSelectOptions())
	assert.Error(t, err)
	_, err = Select([]string{filepath.Join(dir, "missing")}, DefaultSelectOptions())
	assert.ErrorContains(t, err, "missing")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	fakeRun(t, a, 10, 10)
	fakeRun(t, b, 5, 5)
	// Predictions of another file than the gold are refused.
	o := DefaultSelectOptions()
	o.Gold = filepath.Join(sharedDir(t), "data", "NCBI-Disease", "devel.tsv")
	_, err = Select([]string{a, b}, o)
	assert.ErrorContains(t, err, TestPredictions)
}
