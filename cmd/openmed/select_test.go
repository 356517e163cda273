package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
)

// selectFakeRun writes a run dir whose dev/test predictions are the real NCBI-Disease
// gold with every k-th sentence's tags set to O, and metrics.json with their scores.
func selectFakeRun(t *testing.T, dir string, k int) (devF1, testF1 float64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	data := sharedPath(t, "data", "NCBI-Disease")
	m := map[string]any{}
	for _, sp := range []struct{ gold, pred, key string }{{"devel.tsv", "dev_predictions.tsv", "dev"}, {"test.tsv", "test_predictions.tsv", "test"}} {
		g, err := corpus.ReadFile(filepath.Join(data, sp.gold))
		require.NoError(t, err)
		pred := make([]corpus.Sentence, len(g.Sentences))
		for i, s := range g.Sentences {
			toks := append([]corpus.Token(nil), s.Tokens...)
			if i%k == 0 {
				for j := range toks {
					toks[j].Tag = "O"
				}
			}
			pred[i] = corpus.Sentence{Tokens: toks}
		}
		require.NoError(t, corpus.WriteFile(filepath.Join(dir, sp.pred), pred))
		r, err := metrics.Evaluate(g.Tags(), (&corpus.Corpus{Sentences: pred}).Tags())
		require.NoError(t, err)
		m[sp.key] = map[string]any{"micro": r.Micro}
		if sp.key == "dev" {
			devF1 = r.Micro.F1
		} else {
			testF1 = r.Micro.F1
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.json"), b, 0o644))
	return devF1, testF1
}

func TestSelectCommand(t *testing.T) {
	dir := t.TempDir()
	few, many := filepath.Join(dir, "pubmedbert"), filepath.Join(dir, "electra")
	_, fewTest := selectFakeRun(t, few, 20)
	_, manyTest := selectFakeRun(t, many, 2)
	gold := sharedPath(t, "data", "NCBI-Disease", "test.tsv")

	out, err := runStdout(newSelectCmd(), "--runs", many+","+few, "--corpus", "NCBI-Disease", "--gold", gold, "--format", "json", "--seed", "1")
	require.NoError(t, err)
	var sel struct {
		Corpus string `json:"corpus"`
		Winner struct {
			Dir string `json:"dir"`
		} `json:"winner"`
		RunnerUp struct {
			Dir string `json:"dir"`
		} `json:"runner_up"`
		Test struct {
			F1A      float64 `json:"f1_a"`
			F1B      float64 `json:"f1_b"`
			PValue   float64 `json:"p_value"`
			Shuffles int     `json:"shuffles"`
		} `json:"test"`
		CIDiff struct{ Lower, Upper float64 } `json:"ci_diff"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sel), out)
	assert.Equal(t, "NCBI-Disease", sel.Corpus)
	assert.Equal(t, few, sel.Winner.Dir)
	assert.Equal(t, many, sel.RunnerUp.Dir)
	assert.InDelta(t, fewTest, sel.Test.F1A, 1e-12)
	assert.InDelta(t, manyTest, sel.Test.F1B, 1e-12)
	assert.Equal(t, 10000, sel.Test.Shuffles)
	assert.Less(t, sel.Test.PValue, 0.01)
	assert.Greater(t, sel.CIDiff.Lower, 0.0)

	text, err := runStdout(newSelectCmd(), "--runs", few+","+many, "--gold", gold, "--shuffles", "2000")
	require.NoError(t, err)
	assert.Contains(t, text, "winner: "+few)
	assert.Contains(t, text, "approximate randomization p = ")
	assert.Contains(t, text, "2000 shuffles")
	assert.Equal(t, 1, strings.Count(text, "winner:"))

	_, err = runStdout(newSelectCmd(), "--runs", few+","+many)
	assert.ErrorContains(t, err, "training_args.json", "without --gold the runs must name their test file")
	_, err = runStdout(newSelectCmd(), "--runs", few, "--format", "xml")
	assert.ErrorContains(t, err, "xml")
}
