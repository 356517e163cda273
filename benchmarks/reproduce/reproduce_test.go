package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
	"github.com/openmed/openmed/training/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedDir is ../shared beside the repo root (the folder holding go.mod).
func sharedDir(t *testing.T) string {
	return testutil.SharedDir(t)
}

// tinyData copies the first n sentences of each split of the corpora into a
// temporary data folder.
func tinyData(t *testing.T, shared string, n int, corpora ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range corpora {
		for _, split := range []string{"train", "devel", "test"} {
			cc, err := corpus.ReadFile(filepath.Join(shared, "data", c, split+".tsv"))
			require.NoError(t, err)
			s := cc.Sentences
			if len(s) > n {
				s = s[:n]
			}
			require.NoError(t, os.MkdirAll(filepath.Join(dir, c), 0o755))
			require.NoError(t, corpus.WriteFile(filepath.Join(dir, c, split+".tsv"), s))
		}
	}
	return dir
}

func tinyOptions(shared, data, work string) Options {
	o := DefaultOptions()
	o.Data, o.Work, o.Tokenizer = data, work, filepath.Join(shared, "tokenizers", "pubmedbert-abstract")
	o.Corpora = []string{"BC5CDR-Chem", "NCBI-Disease"}
	o.Threads = 1
	o.Command = "go run ./benchmarks/reproduce --test"
	o.Pretrain = Recipe{Scratch: dapt.Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 64}, BlockLen: 32,
		BatchSize: 8, LR: 1e-3, WarmupRatio: 0.1, MLMProb: 0.15, HeldOut: 0.1, MaxEpochs: 2, EvalEvery: 3, SaveEvery: 2}
	o.FT = FineTune{MaxEpochs: 2, LRLoRA: 5e-4, LRFull: 3e-4, BatchSize: 8, MaxLen: 32, Stride: 8, Patience: 3, SaveEvery: 1}
	return o
}

func readState(t *testing.T, work, name string) *JobState {
	t.Helper()
	st, err := loadState(filepath.Join(work, filepath.FromSlash(name)), name)
	require.NoError(t, err)
	return st
}

// TestPipelineEndToEnd runs the whole graph (pre-train, random init, 2
// corpora × {LoRA, full} × {pre-trained, random}) with a tiny model,
// interrupts one job, marks it "running" as a killed process leaves it, and
// checks that the second invocation skips every finished job, resumes the
// interrupted one from its checkpoint and completes the table.
func TestPipelineEndToEnd(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 40, "BC5CDR-Chem", "NCBI-Disease")
	work := t.TempDir()
	o := tinyOptions(shared, data, work)
	const victim = "NCBI-Disease/full-pretrained"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, err := Run(ctx, o, Hooks{Progress: func(job string, p loop.Progress) {
		if job == victim && p.Step >= 2 {
			cancel()
		}
	}})
	require.NoError(t, err)
	assert.Empty(t, rep.Failed)
	assert.Equal(t, []string{victim}, rep.Interrupted)
	// Run order: encoders, NCBI-Disease (the victim is its third job), BC5CDR-Chem.
	assert.Equal(t, []string{"pretrain", "randinit", "NCBI-Disease/lora-pretrained", "NCBI-Disease/lora-random"}, rep.Ran)
	assert.Equal(t, []string{"NCBI-Disease/full-random", "BC5CDR-Chem/lora-pretrained", "BC5CDR-Chem/lora-random",
		"BC5CDR-Chem/full-pretrained", "BC5CDR-Chem/full-random"}, rep.Left)
	st := readState(t, work, victim)
	require.Equal(t, StatusInterrupted, st.Status)
	assert.True(t, hasCheckpoint(filepath.Join(work, victim)), "an interrupted job keeps a checkpoint")

	// Partial table: every row present, the two unfinished ones pending.
	md, err := Table(o, nil)
	require.NoError(t, err)
	assert.Equal(t, 6, countLines(md, "| pending |"), md)
	assert.Equal(t, 2, countLines(md, "| done |"), md)
	assert.Less(t, strings.Index(md, "| BC5CDR-Chem | lora |"), strings.Index(md, "| NCBI-Disease | lora |"), "table rows in corpus order")

	// A SIGKILL leaves the state "running" with the last checkpoint.
	st.Status = StatusRunning
	require.NoError(t, st.save(filepath.Join(work, victim)))

	rep2, err := Run(context.Background(), o, Hooks{})
	require.NoError(t, err)
	assert.Empty(t, rep2.Failed)
	assert.Empty(t, rep2.Remaining())
	assert.Equal(t, rep.Ran, rep2.Skipped)
	assert.Equal(t, append([]string{victim}, rep.Left...), rep2.Ran)
	assert.Equal(t, []string{victim}, rep2.Resumed)
	st = readState(t, work, victim)
	assert.Equal(t, StatusDone, st.Status)
	assert.Equal(t, 2, st.Attempts)
	assert.Equal(t, 1, st.Resumes)
	for _, name := range rep.Ran {
		assert.Equal(t, 1, readState(t, work, name).Attempts, "%s was run again", name)
	}

	// The resumed job trained every planned step: as many as its twin from
	// the random init, which ran uninterrupted on the same data.
	var m, twin map[string]any
	ok, err := readJSON(filepath.Join(work, victim, "metrics.json"), &m)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = readJSON(filepath.Join(work, "NCBI-Disease/full-random", "metrics.json"), &twin)
	require.NoError(t, err)
	require.True(t, ok)
	assert.EqualValues(t, 2, m["epochs"])
	assert.Equal(t, twin["steps"], m["steps"])
	assert.Greater(t, toF(m["steps"]), 2.0)

	// Full table: 8 rows with numbers, the comparison and the MLM curve.
	md, err = Table(o, map[string]PaperScore{"NCBI-Disease": {F1: ptr(91.5)}})
	require.NoError(t, err)
	assert.Equal(t, 0, countLines(md, "| pending |"), md)
	assert.Equal(t, 8, countLines(md, "| done |"), md)
	for _, c := range []string{"BC5CDR-Chem", "NCBI-Disease"} {
		for _, meth := range []string{"lora", "full"} {
			for _, in := range []string{"pretrained", "random"} {
				assert.Contains(t, md, "| "+c+" | "+meth+" | "+in+" | ")
			}
		}
	}
	assert.Contains(t, md, "| 91.50 |")
	assert.Contains(t, md, "NCBI-Disease lora: pre-trained")
	assert.Contains(t, md, "| 0 |", "the MLM curve starts at step 0")
	assert.Equal(t, 2, strings.Count(md, "go run ./benchmarks/reproduce --test"), "both invocations are listed")
	assert.Contains(t, md, "bin/openmed dapt --config "+filepath.Join(work, "pretrain", jobConfigFile))
	// A job's command repeats it: its config is the run's own, minus resume.
	ncbi := filepath.Join(work, "NCBI-Disease", "lora-pretrained")
	assert.Contains(t, md, "bin/openmed train --config "+filepath.Join(ncbi, jobConfigFile))
	jc, err := training.ReadConfig(filepath.Join(ncbi, jobConfigFile))
	require.NoError(t, err)
	ta, err := training.ReadConfig(filepath.Join(ncbi, "training_args.json"))
	require.NoError(t, err)
	assert.False(t, jc.Resume || jc.Overwrite)
	jc.Resume, jc.Overwrite, ta.Resume, ta.Overwrite = false, false, false, false
	assert.Equal(t, ta, jc)
	curve, err := curveRows(filepath.Join(work, "pretrain"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(curve), 2)

	// The random init has the pre-trained encoder's architecture and vocabulary.
	pc, err := checkpoint.LoadConfig(filepath.Join(work, "pretrain"))
	require.NoError(t, err)
	rc, err := checkpoint.LoadConfig(filepath.Join(work, "randinit"))
	require.NoError(t, err)
	assert.Equal(t, pc.VocabSize, rc.VocabSize)
	assert.Equal(t, pc.HiddenSize, rc.HiddenSize)
	assert.Equal(t, pc.NumHiddenLayers, rc.NumHiddenLayers)
	assert.Equal(t, pc.IntermediateSize, rc.IntermediateSize)

	// Shipping: the F16 encoder (close to the F32 weights, usable as a base),
	// its card, and the two adapters pointing at it.
	// This grid has two of the shipped corpora: ship those two here (the
	// real run has all ten; Ship refuses while one is missing).
	require.ErrorContains(t, Ship(o, t.TempDir()), "BC5CDR-Disease")
	saved := ShippedTaggers
	ShippedTaggers = map[string]string{"NCBI-Disease": saved["NCBI-Disease"], "BC5CDR-Chem": saved["BC5CDR-Chem"]}
	t.Cleanup(func() { ShippedTaggers = saved })
	models := t.TempDir()
	require.NoError(t, Ship(o, models))
	mb, err := os.ReadFile(filepath.Join(models, tagger.ManifestFile))
	require.NoError(t, err)
	man, err := tagger.ParseManifest(mb, tagger.ManifestFile)
	require.NoError(t, err, "default.json is written by Ship")
	assert.Equal(t, EncoderName, man.Base)
	assert.Equal(t, map[string]string{"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"}, man.Adapters)
	enc := filepath.Join(models, EncoderName)
	f32, err := checkpoint.ReadSafetensors(filepath.Join(work, "pretrain", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	f16, err := checkpoint.ReadSafetensors(filepath.Join(enc, checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	require.Equal(t, len(f32), len(f16))
	for k, a := range f32 {
		b := f16[k]
		require.NotNil(t, b, k)
		for i, v := range a.Data {
			require.InDelta(t, v, b.Data[i], math.Abs(float64(v))/1024+1e-7, "%s[%d]", k, i)
		}
	}
	fi32, err := os.Stat(filepath.Join(work, "pretrain", checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	fi16, err := os.Stat(filepath.Join(enc, checkpoint.SafeWeightsFile))
	require.NoError(t, err)
	assert.Less(t, fi16.Size(), fi32.Size()*6/10, "F16 halves the file")
	labels, err := training.NewLabelSet([]string{"O", "B-Disease", "I-Disease"})
	require.NoError(t, err)
	_, _, err = training.LoadBase(enc, labels, 1)
	require.NoError(t, err, "the shipped encoder loads as a fine-tuning base")
	card, err := os.ReadFile(filepath.Join(enc, "README.md"))
	require.NoError(t, err)
	assert.NotContains(t, string(card), "<no value>")
	assert.Contains(t, string(card), "1 layers × 32 hidden")
	assert.Contains(t, string(card), "NCBI-Disease, lora fine-tuning: test F1")
	for _, name := range ShippedTaggers {
		var ac map[string]any
		ok, err := readJSON(filepath.Join(models, name, checkpoint.AdapterConfigFile), &ac)
		require.NoError(t, err)
		require.True(t, ok, name)
		assert.Equal(t, "../"+EncoderName, ac["base_model_name_or_path"])
		assert.FileExists(t, filepath.Join(models, name, "adapter_model.safetensors"))
		assert.FileExists(t, filepath.Join(models, name, "README.md"))
	}
}

// countLines counts the lines of md containing sub.
func countLines(md, sub string) int {
	n := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func ptr(v float64) *float64 { return &v }

// TestBuildTextTrainOnlyDeduplicated: the pre-training text is the train
// splits' sentences, each once, and no devel/test-only sentence.
func TestBuildTextTrainOnlyDeduplicated(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 30, "BC5CDR-Chem", "BC5CDR-Disease")
	out := filepath.Join(t.TempDir(), "text.txt")
	st, err := BuildText(data, out)
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	assert.Equal(t, []string{"BC5CDR-Chem", "BC5CDR-Disease"}, st.Corpora)
	assert.Equal(t, 60, st.Sentences)
	assert.Equal(t, len(lines), st.Unique)
	assert.Less(t, st.Unique, st.Sentences, "the two BC5CDR corpora share their text")
	seen := map[string]bool{}
	for _, l := range lines {
		assert.False(t, seen[l], "duplicate line %q", l)
		seen[l] = true
	}
	train, err := corpus.ReadFile(filepath.Join(data, "BC5CDR-Chem", "train.tsv"))
	require.NoError(t, err)
	for _, s := range train.Sentences {
		assert.True(t, seen[strings.Join(s.Words(), " ")])
	}
	test, err := corpus.ReadFile(filepath.Join(data, "BC5CDR-Chem", "test.tsv"))
	require.NoError(t, err)
	for _, s := range test.Sentences {
		assert.False(t, seen[strings.Join(s.Words(), " ")], "test sentence in the pre-training text")
	}
}

func TestGraphFilters(t *testing.T) {
	names := func(js []Job) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.Name)
		}
		return out
	}
	o := DefaultOptions()
	all, err := Graph(o)
	require.NoError(t, err)
	assert.Len(t, all, 2+3+10*2*2) // encoders, lora-ship for the three shipped corpora, grid
	assert.Equal(t, []string{"pretrain", "randinit"}, names(all[:2]))

	o.Corpora = []string{"NCBI-Disease"}
	o.Jobs = []string{"*/lora-pretrained"}
	js, err := Graph(o)
	require.NoError(t, err)
	assert.Equal(t, []string{"pretrain", "NCBI-Disease/lora-pretrained"}, names(js))

	o.Corpora, o.Jobs = nil, []string{"randinit"}
	js, err = Graph(o)
	require.NoError(t, err)
	assert.Equal(t, []string{"randinit"}, names(js))

	o.Jobs = []string{"[bad"}
	_, err = Graph(o)
	assert.ErrorContains(t, err, "--jobs")

	o = DefaultOptions()
	o.Data, o.Tokenizer, o.Corpora = "d", "t", []string{"NCBI"}
	assert.ErrorContains(t, o.validate(), "unknown corpus")
}

func TestEpochCap(t *testing.T) {
	n, why := epochCap(10, 20, 1000, 100_000) // 1.2M tokens reachable: 12 epochs ≥ 10
	assert.Equal(t, 10, n)
	assert.Empty(t, why)
	n, why = epochCap(10, 20, 1000, 400_000) // 3 epochs
	assert.Equal(t, 3, n)
	assert.Contains(t, why, "3 of 10 epochs")
	n, _ = epochCap(10, 1, 100, 1_000_000) // less than one epoch: at least 1
	assert.Equal(t, 1, n)
	n, why = epochCap(10, 0, 1000, 1)
	assert.Equal(t, 10, n)
	assert.Empty(t, why)
}

func TestPaperJSON(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	p, err := LoadPaper(filepath.Join(root, "benchmarks", "reproduce", "paper.json"))
	require.NoError(t, err)
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := append([]string(nil), Corpora...)
	sort.Strings(want)
	assert.Equal(t, want, keys, "paper.json lists exactly the ten corpora")
	for k, v := range p {
		if v.F1 != nil {
			assert.True(t, *v.F1 > 0 && *v.F1 <= 100, "%s: F1 %v is a percentage", k, *v.F1)
		}
		assert.NotEmpty(t, v.Source, "%s: source", k)
	}
}
