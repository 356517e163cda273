package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/search"
)

const searchBase = `"base":"b","train":"t.tsv","dev":"d.tsv","output_dir":"runs/s1"`

func TestParseSearchConfigDefaults(t *testing.T) {
	o, err := parseSearchConfig(`{` + searchBase + `}`)
	require.NoError(t, err)
	def := search.DefaultOptions()
	assert.Equal(t, "runs/s1", o.Dir)
	assert.Equal(t, "s1", o.Study.Name, "named as `openmed search` names it")
	assert.Equal(t, def.Trials, o.Trials)
	assert.Equal(t, 1, o.Workers)
	assert.Equal(t, search.SpaceFor(training.MethodLoRA), o.Study.Space)
	assert.Equal(t, def.Study.Pruner, o.Study.Pruner)
	tpe, err := search.SamplerTPE.Config(0)
	require.NoError(t, err)
	assert.Equal(t, tpe, o.Study.Sampler)
	assert.Equal(t, uint64(0), o.Train.Seed, "seed 0 as `openmed search`")
	assert.Equal(t, def.Train.Epochs, o.Train.Epochs)
	assert.False(t, o.SkipFinal)
	assert.False(t, o.KeepWeights)
}

func TestParseSearchConfigFields(t *testing.T) {
	o, err := parseSearchConfig(`{` + searchBase + `,"method":"full","num_train_epochs":1,"trials":3,"workers":2,
		"sampler":"random","seed":9,"no_final":true,"keep_weights":true,"test":"x.tsv",
		"space":[{"name":"learning_rate","kind":"float","low":1e-4,"high":1e-2,"log":true},
		         {"name":"batch_size","kind":"categorical","choices":[8,16]}],
		"pruner":{"kind":"median","median":{"n_startup_trials":1}}}`)
	require.NoError(t, err)
	assert.Equal(t, training.MethodFull, o.Train.Method)
	assert.Equal(t, 1, o.Train.Epochs)
	assert.Equal(t, "x.tsv", o.Train.Test)
	assert.Equal(t, 3, o.Trials)
	assert.Equal(t, 2, o.Workers)
	assert.Equal(t, hpo.SamplerRandom, o.Study.Sampler.Kind)
	assert.Equal(t, uint64(9), o.Study.Sampler.Seed)
	assert.Equal(t, uint64(9), o.Train.Seed, "seed seeds the sampler and the training runs")
	assert.True(t, o.SkipFinal)
	assert.True(t, o.KeepWeights)
	require.Len(t, o.Study.Space, 2)
	assert.Equal(t, hpo.KindCategorical, o.Study.Space[1].Kind)
	assert.Equal(t, 1, o.Study.Pruner.Median.NStartupTrials)
	assert.Equal(t, hpo.DefaultMedianPruner().IntervalSteps, o.Study.Pruner.Median.IntervalSteps, "a partial pruner keeps its defaults")
	assert.Equal(t, max(1, runtime.NumCPU()/2), o.Train.Threads, "threads split between workers as the CLI does")

	o, err = parseSearchConfig(`{` + searchBase + `,"method":"full","space":null,"threads":1}`)
	require.NoError(t, err)
	assert.Equal(t, search.SpaceFor(training.MethodFull), o.Study.Space, "full fine-tuning drops the LoRA parameters")
	assert.Equal(t, 1, o.Train.Threads)
}

func TestParseSearchConfigErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"base":"b","train":"t.tsv","output_dir":"o"}`:                                                         `dev is required`,
		`{"base":"b","dev":"d.tsv","output_dir":"o"}`:                                                           "required",
		`{` + searchBase + `,"trials":0}`:                                                                       "trials",
		`{` + searchBase + `,"trials":"many"}`:                                                                  "trials",
		`{` + searchBase + `,"workers":0}`:                                                                      "workers",
		`{` + searchBase + `,"sampler":"grid"}`:                                                                 "sampler",
		`{` + searchBase + `,"space":{"name":"x"}}`:                                                             "space",
		`{` + searchBase + `,"space":[]}`:                                                                       "space",
		`{` + searchBase + `,"space":[{"name":"momentum","kind":"float","low":0,"high":1}]}`:                    "momentum",
		`{` + searchBase + `,"space":[{"name":"learning_rate","kind":"float","low":1,"high":0}]}`:               "learning_rate",
		`{` + searchBase + `,"space":[{"name":"learning_rate","kind":"float","lo":1}]}`:                         `"lo"`,
		`{` + searchBase + `,"method":"full","space":[{"name":"lora_r","kind":"categorical","choices":[4,8]}]}`: "lora_r",
		`{` + searchBase + `,"pruner":{"kind":"percentile"}}`:                                                   "pruner",
		`{` + searchBase + `,"pruner":{"kind":"median","median":{"interval_steps":0}}}`:                         "pruner",
		`{` + searchBase + `,"trial_count":3}`:                                                                  "trial_count",
		`{` + searchBase + `,"method":"half"}`:                                                                  "method",
		`{` + searchBase + `,"no_final":"yes"}`:                                                                 "no_final",
		`[1]`:                                                                                                   "config_json",
		`null`:                                                                                                  "object",
	} {
		_, err := parseSearchConfig(in)
		require.Error(t, err, in)
		assert.Equal(t, StatusBadInput, statusOf(err), "%s: %v", in, err)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestSearchInputsAndStudyChecks(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"t.tsv", "d.tsv"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("a\tO\n\n"), 0o644))
	}
	cfg := fmt.Sprintf(`{"base":%q,"train":%q,"dev":%q,"output_dir":%q,"trials":2}`,
		dir, filepath.Join(dir, "t.tsv"), filepath.Join(dir, "d.tsv"), filepath.Join(dir, "s"))
	o, err := parseSearchConfig(cfg)
	require.NoError(t, err)
	require.NoError(t, checkSearchInputs(o.Train))
	o.Train.Test = filepath.Join(dir, "missing-test.tsv")
	err = checkSearchInputs(o.Train)
	assert.Equal(t, StatusNotFound, statusOf(err))
	assert.ErrorContains(t, err, "test")
	assert.ErrorContains(t, err, "missing-test.tsv")
	o.Train.Test = ""

	_, err = hpo.Create(filepath.Join(o.Dir, search.StudyDir), o.Study)
	require.NoError(t, err, "no study yet")
	_, err = hpo.Create(filepath.Join(o.Dir, search.StudyDir), o.Study)
	require.NoError(t, err, "the same study resumes")
	o2, err := parseSearchConfig(strings.Replace(cfg, `"trials":2`, `"trials":2,"seed":5`, 1))
	require.NoError(t, err)
	_, err = search.Run(context.Background(), o2) // refused before any trial runs
	err = searchError(o2, err)
	assert.Equal(t, StatusBadInput, statusOf(err))
	assert.ErrorContains(t, err, "output_dir")
	assert.Equal(t, StatusCancelled, statusOf(searchError(o, context.Canceled)))
}

func TestTrialEventJSON(t *testing.T) {
	v, best := 0.5, 0.75
	p := hpo.Progress{Event: hpo.ProgressFinished, Total: 4, Done: 2, Complete: 1, Pruned: 1, ETA: 3 * time.Second,
		Trial: hpo.FrozenTrial{Number: 1, State: hpo.StatePruned, Params: map[string]any{"learning_rate": 1e-3}, Value: &v,
			Attempt: 1, Intermediate: []hpo.StepValue{{Step: 1, Value: 0.5}}},
		Best: &hpo.FrozenTrial{Number: 0, State: hpo.StateComplete, Value: &best}}
	b, err := json.Marshal(toTrialEvent(p))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "trial", m["phase"])
	assert.Equal(t, "finished", m["event"])
	assert.Equal(t, "pruned", m["state"])
	assert.Equal(t, 1.0, m["trial"])
	assert.Equal(t, 0.5, m["score"])
	assert.Equal(t, 1.0, m["epoch"])
	assert.Equal(t, 0.0, m["best_trial"])
	assert.Equal(t, 0.75, m["best"])
	assert.Equal(t, 3.0, m["eta_seconds"])
	assert.Equal(t, map[string]any{"learning_rate": 1e-3}, m["params"])

	p = hpo.Progress{Event: hpo.ProgressStarted, Trial: hpo.FrozenTrial{Number: 2, State: hpo.StateRunning}}
	b, err = json.Marshal(toTrialEvent(p))
	require.NoError(t, err)
	m = nil
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "started", m["event"])
	assert.Nil(t, m["score"])
	assert.Nil(t, m["best_trial"], "no best trial before the first completes")

	b, err = json.Marshal(trialTrainEvent{toEvent(loop.Progress{Phase: loop.PhaseTrain, Step: 3}), -1})
	require.NoError(t, err)
	m = nil
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "train", m["phase"], "trainer fields are flattened")
	assert.Equal(t, 3.0, m["step"])
	assert.Equal(t, -1.0, m["trial"])
}

// writeRun writes a trainer-like run folder: metrics.json with the given dev
// F1 and test_predictions.tsv tagging gold's sentences with tags.
func writeRun(t *testing.T, dir string, devF1 float64, words []string, tags [][]string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var sb strings.Builder
	for _, s := range tags {
		for i, tag := range s {
			fmt.Fprintf(&sb, "%s\t%s\n", words[i], tag)
		}
		sb.WriteString("\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, search.TestPredictions), []byte(sb.String()), 0o644))
	m := fmt.Sprintf(`{"dev":{"micro":{"precision":%g,"recall":%g,"f1":%g}}}`, devF1, devF1, devF1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.json"), []byte(m), 0o644))
}

func TestRunSelect(t *testing.T) {
	dir := t.TempDir()
	words := []string{"BRCA1", "causes", "breast", "cancer"}
	var gold, good, bad [][]string
	for i := 0; i < 30; i++ {
		gold = append(gold, []string{"O", "O", "B-Disease", "I-Disease"})
		good = append(good, []string{"O", "O", "B-Disease", "I-Disease"})
		bad = append(bad, []string{"O", "O", "O", "O"})
	}
	goldPath := filepath.Join(dir, "gold")
	writeRun(t, goldPath, 0, words, gold)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeRun(t, a, 0.9, words, good)
	writeRun(t, b, 0.4, words, bad)
	req := selectRequest{Runs: []string{b, a}, Gold: filepath.Join(goldPath, search.TestPredictions), Corpus: "toy",
		Shuffles: 200, Resamples: 200, Confidence: 0.9, Seed: 4}
	sel, err := runSelect(req)
	require.NoError(t, err)
	assert.Equal(t, a, sel.Winner.Dir, "the best dev F1 wins")
	require.NotNil(t, sel.RunnerUp)
	assert.Equal(t, b, sel.RunnerUp.Dir)
	assert.Equal(t, "toy", sel.Corpus)
	require.NotNil(t, sel.Test)
	assert.Equal(t, 1.0, sel.Test.F1A)
	assert.Equal(t, 0.0, sel.Test.F1B)
	assert.Equal(t, 200, sel.Test.Shuffles)
	assert.Less(t, sel.Test.PValue, 0.05, "30 sentences all right vs all wrong")
	assert.Equal(t, 0.9, sel.CIWinner.Level)
	out, err := json.Marshal(sel)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"p_value":`)
	assert.Contains(t, string(out), `"runner_up":`)

	for _, c := range []struct {
		mut    func(*selectRequest)
		status Status
		want   string
	}{
		{func(r *selectRequest) { r.Runs = nil }, StatusBadInput, "runs"},
		{func(r *selectRequest) { r.Runs = []string{a, ""} }, StatusBadInput, "runs[1]"},
		{func(r *selectRequest) { r.Shuffles = 0 }, StatusBadInput, "shuffles"},
		{func(r *selectRequest) { r.Resamples = -1 }, StatusBadInput, "resamples"},
		{func(r *selectRequest) { r.Confidence = 1 }, StatusBadInput, "confidence"},
		{func(r *selectRequest) { r.Runs = []string{a, filepath.Join(dir, "nope")} }, StatusNotFound, "nope"},
		{func(r *selectRequest) { r.Gold = filepath.Join(dir, "nogold.tsv") }, StatusNotFound, "nogold.tsv"},
		{func(r *selectRequest) { r.Gold = "" }, StatusNotFound, "training_args.json"},
	} {
		r := req
		c.mut(&r)
		_, err := runSelect(r)
		require.Error(t, err, c.want)
		assert.Equal(t, c.status, statusOf(err), "%s: %v", c.want, err)
		assert.Contains(t, err.Error(), c.want)
	}
	// predictions of other sentences than the gold file: bad input naming the file
	writeRun(t, b, 0.4, words, bad[:5])
	_, err = runSelect(req)
	assert.Equal(t, StatusBadInput, statusOf(err), "%v", err)
	assert.ErrorContains(t, err, search.TestPredictions)
}
