package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/search"
)

func TestSearchCommand(t *testing.T) {
	base := trainTinyBase(t)
	train, dev, test := trainSubset(t, "train", 100), trainSubset(t, "devel", 40), trainSubset(t, "test", 40)
	out := filepath.Join(t.TempDir(), "ncbi")
	args := []string{"--base", base, "--train", train, "--dev", dev, "--test", test, "--out", out,
		"--trials", "6", "--workers", "2", "--epochs", "2", "--threads", "1", "--seed", "3"}
	stdout, stderr, err := runCmd(newSearchCmd(), "", args...)
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
	sout, err := runStdout(newSelectCmd(), "--runs", filepath.Join(out, search.FinalDir))
	require.NoError(t, err)
	assert.Contains(t, sout, "winner: "+filepath.Join(out, search.FinalDir))
}

func TestSearchCommandFlagErrors(t *testing.T) {
	base := trainTinyBase(t)
	train := trainSubset(t, "train", 10)
	common := []string{"--base", base, "--train", train, "--dev", train, "--out", t.TempDir(), "--trials", "1"}
	_, _, err := runCmd(newSearchCmd(), "", append(common, "--sampler", "grid")...)
	assert.ErrorContains(t, err, `"grid"`)
	_, _, err = runCmd(newSearchCmd(), "", append(common, "--lora", "--full")...)
	assert.ErrorContains(t, err, "exclude")
	space := filepath.Join(t.TempDir(), "space.json")
	require.NoError(t, os.WriteFile(space, []byte(`[{"name":"momentum","kind":"float","low":0,"high":1}]`), 0o644))
	_, _, err = runCmd(newSearchCmd(), "", append(common, "--space", space)...)
	assert.ErrorContains(t, err, "momentum")
	require.NoError(t, os.WriteFile(space, []byte(`[{"name":"lora_r","kind":"categorical","choices":[4,8]}]`), 0o644))
	_, _, err = runCmd(newSearchCmd(), "", append(common, "--space", space, "--full")...)
	assert.ErrorContains(t, err, "lora_r")
}

// TestSearchSetupPruner: --prune-warmup sets the median pruner's warm-up,
// --no-prune switches pruning off, and bad combinations name the flags.
func TestSearchSetupPruner(t *testing.T) {
	setup := func(f searchFlags) (search.Options, error) {
		o := search.DefaultOptions()
		o.Dir = t.TempDir()
		f.sampler = "tpe"
		return o, searchSetup(&o, f, func(string) bool { return true })
	}
	o, err := setup(searchFlags{})
	require.NoError(t, err)
	assert.Equal(t, hpo.DefaultPrunerConfig(), o.Study.Pruner, "Optuna's MedianPruner defaults")
	o, err = setup(searchFlags{pruneWarmup: 3})
	require.NoError(t, err)
	assert.Equal(t, hpo.PrunerMedian, o.Study.Pruner.Kind)
	assert.Equal(t, 3, o.Study.Pruner.Median.NWarmupSteps)
	o, err = setup(searchFlags{noPrune: true})
	require.NoError(t, err)
	assert.Equal(t, hpo.PrunerNone, o.Study.Pruner.Kind)
	_, err = setup(searchFlags{pruneWarmup: -1})
	assert.ErrorContains(t, err, "--prune-warmup")
	_, err = setup(searchFlags{noPrune: true, pruneWarmup: 2})
	assert.ErrorContains(t, err, "--no-prune")
}

func TestSearchCommandSpaceFullRandom(t *testing.T) {
	base := trainTinyBase(t)
	train, dev := trainSubset(t, "train", 40), trainSubset(t, "devel", 20)
	out := filepath.Join(t.TempDir(), "s")
	space := filepath.Join(t.TempDir(), "space.json")
	require.NoError(t, os.WriteFile(space, []byte(`[{"name":"learning_rate","kind":"float","low":1e-5,"high":1e-3,"log":true}]`), 0o644))
	_, stderr, err := runCmd(newSearchCmd(), "", "--base", base, "--train", train, "--dev", dev, "--out", out, "--trials", "2", "--epochs", "1",
		"--threads", "1", "--space", space, "--sampler", "random", "--full", "--no-final", "--quiet", "--prune-warmup", "2")
	require.NoError(t, err)
	assert.Empty(t, stderr, "--quiet prints no progress")
	st, err := hpo.Open(filepath.Join(out, search.StudyDir))
	require.NoError(t, err)
	assert.Equal(t, hpo.SamplerRandom, st.Config().Sampler.Kind)
	assert.Equal(t, hpo.PrunerMedian, st.Config().Pruner.Kind)
	assert.Equal(t, 2, st.Config().Pruner.Median.NWarmupSteps, "--prune-warmup is stored in the study")
	require.Len(t, st.Config().Space, 1)
	trials, err := st.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 2)
	for _, tr := range trials {
		assert.Len(t, tr.Params, 1)
		lr := tr.Params["learning_rate"].(float64)
		assert.True(t, lr >= 1e-5 && lr <= 1e-3, "lr %v in the space", lr)
	}
	best, err := search.ReadBest(out)
	require.NoError(t, err)
	assert.Nil(t, best.Final, "--no-final")
	assert.Equal(t, "full", best.Config.Method.String())
	assert.NoDirExists(t, filepath.Join(out, search.FinalDir))
	_, err = os.Stat(filepath.Join(search.TrialDir(out, 0), "model.safetensors"))
	assert.True(t, os.IsNotExist(err), "trial weights are deleted")
}

func TestSearchDisplayPlainLines(t *testing.T) {
	var buf bytes.Buffer
	d := newSearchDisplay(&buf, false, 40)
	v := 0.5
	best := hpo.FrozenTrial{Number: 2, Value: &v}
	d.update(hpo.Progress{Event: hpo.ProgressFinished, Trial: hpo.FrozenTrial{Number: 3, State: hpo.StatePruned, Value: &v},
		Total: 40, Done: 4, Pruned: 1, Running: 2, Best: &best, ETA: 90 * time.Second})
	assert.Equal(t, "trial 3 pruned dev F1 0.5000 | 4/40 done, 2 running, 1 pruned, 0 failed, best dev F1 0.5000 (trial 2), ETA 1m30s\n", buf.String())
	buf.Reset()
	q := newSearchDisplay(&buf, true, 40)
	q.update(hpo.Progress{Event: hpo.ProgressStarted})
	q.println("x")
	assert.Empty(t, buf.String())
}

// TestSearchConfigFile: --config takes openmed_search's JSON (sampler, seed,
// pruner, trials from the file); flags given override it (--trials), and
// without --config or flags a missing input is named by its flag.
func TestSearchConfigFile(t *testing.T) {
	base := trainTinyBase(t)
	train, dev := trainSubset(t, "train", 40), trainSubset(t, "devel", 20)
	out := filepath.Join(t.TempDir(), "s")
	cfg := filepath.Join(t.TempDir(), "search.json")
	js := fmt.Sprintf(`{"base":%q,"train":%q,"dev":%q,"output_dir":%q,"trials":5,"sampler":"random","seed":7,
		"pruner":{"kind":"none"},"num_train_epochs":1,"threads":1,"no_final":true}`, base, train, dev, out)
	require.NoError(t, os.WriteFile(cfg, []byte(js), 0o644))
	_, _, err := runCmd(newSearchCmd(), "", "--config", cfg, "--trials", "1", "--quiet")
	require.NoError(t, err)
	st, err := hpo.Open(filepath.Join(out, search.StudyDir))
	require.NoError(t, err)
	assert.Equal(t, hpo.SamplerRandom, st.Config().Sampler.Kind, "sampler from the file")
	assert.Equal(t, uint64(7), st.Config().Sampler.Seed, "seed from the file")
	assert.Equal(t, hpo.PrunerNone, st.Config().Pruner.Kind, "pruner from the file")
	trials, err := st.Trials()
	require.NoError(t, err)
	assert.Len(t, trials, 1, "--trials overrides the file's 5")
	best, err := search.ReadBest(out)
	require.NoError(t, err)
	assert.Nil(t, best.Final, "no_final from the file")

	_, _, err = runCmd(newSearchCmd(), "", "--base", base, "--train", train, "--out", t.TempDir())
	assert.ErrorContains(t, err, "--dev is required")
	_, _, err = runCmd(newSearchCmd(), "", "--train", train, "--dev", dev, "--out", t.TempDir())
	assert.ErrorContains(t, err, "--base is required")
}
