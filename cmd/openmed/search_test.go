package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/search"
)

func runSearchCmd(args ...string) (stdout, stderr string, err error) {
	cmd := newSearchCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func TestSearchCommand(t *testing.T) {
	base := trainTinyBase(t)
	train, dev, test := trainSubset(t, "train", 100), trainSubset(t, "devel", 40), trainSubset(t, "test", 40)
	out := filepath.Join(t.TempDir(), "ncbi")
	args := []string{"--base", base, "--train", train, "--dev", dev, "--test", test, "--out", out,
		"--trials", "6", "--workers", "2", "--epochs", "2", "--threads", "1", "--seed", "3"}
	stdout, stderr, err := runSearchCmd(args...)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "best trial")
	assert.Contains(t, stdout, "test F1")
	assert.Contains(t, stderr, "trial 0 started", "plain log lines when stderr is not a terminal")
	assert.Contains(t, stderr, "6/6 done")

	st, err := hpo.Open(filepath.Join(out, search.StudyDir))
	require.NoError(t, err)
	cfg := st.Config()
	assert.Equal(t, hpo.SamplerTPE, cfg.Sampler.Kind)
	assert.True(t, cfg.Sampler.TPE.Parzen.Multivariate, "--sampler tpe is multivariate")
	assert.Equal(t, uint64(3), cfg.Sampler.Seed)
	trials, err := st.Trials()
	require.NoError(t, err)
	assert.Len(t, trials, 6)
	for _, tr := range trials {
		assert.True(t, tr.State == hpo.StateComplete || tr.State == hpo.StatePruned, "trial %d %s %s", tr.Number, tr.State, tr.Error)
	}
	b, err := os.ReadFile(filepath.Join(out, search.BestFile))
	require.NoError(t, err)
	var best search.Best
	require.NoError(t, json.Unmarshal(b, &best))
	require.NotNil(t, best.Final)
	assert.Equal(t, filepath.Join(out, search.FinalDir), best.Final.Dir)
	assert.FileExists(t, filepath.Join(out, search.FinalDir, "test_predictions.tsv"))

	// The final run is a normal trainer output: select accepts it.
	sout, err := runSelectCmd("--runs", filepath.Join(out, search.FinalDir))
	require.NoError(t, err)
	assert.Contains(t, sout, "winner: "+filepath.Join(out, search.FinalDir))
}

func TestSearchCommandFlagErrors(t *testing.T) {
	base := trainTinyBase(t)
	train := trainSubset(t, "train", 10)
	common := []string{"--base", base, "--train", train, "--dev", train, "--out", t.TempDir(), "--trials", "1"}
	_, _, err := runSearchCmd(append(common, "--sampler", "grid")...)
	assert.ErrorContains(t, err, `"grid"`)
	_, _, err = runSearchCmd(append(common, "--lora", "--full")...)
	assert.ErrorContains(t, err, "exclude")
	space := filepath.Join(t.TempDir(), "space.json")
	require.NoError(t, os.WriteFile(space, []byte(`[{"name":"momentum","kind":"float","low":0,"high":1}]`), 0o644))
	_, _, err = runSearchCmd(append(common, "--space", space)...)
	assert.ErrorContains(t, err, "momentum")
	require.NoError(t, os.WriteFile(space, []byte(`[{"name":"lora_r","kind":"categorical","choices":[4,8]}]`), 0o644))
	_, _, err = runSearchCmd(append(common, "--space", space, "--full")...)
	assert.ErrorContains(t, err, "lora_r")
}
