package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	omcache "github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
)

// daptDelta writes a DAPT delta for the tiny BERT fixture: the fixture
// adapter's LoRA matrices (non-zero B) as a FEATURE_EXTRACTION adapter.
func daptDelta(t *testing.T, fixture, dir string) {
	t.Helper()
	_, w, err := checkpoint.LoadAdapter(filepath.Join(fixture, "adapter"))
	require.NoError(t, err)
	delta := map[string]*tensor.Tensor{}
	for k, v := range w {
		if strings.Contains(k, ".lora_") {
			delta[k] = v
		}
	}
	require.NotEmpty(t, delta)
	pc := checkpoint.DefaultLoRAConfig(checkpoint.ModelBERT, 4, 8)
	pc.TaskType = checkpoint.TaskFeatureExtraction
	pc.ModulesToSave = nil
	require.NoError(t, checkpoint.SaveAdapter(dir, pc, delta))
}

// A machine that lost its work folder still has every finished run (the
// table, the paired tests and ship read the archive) and gets its DAPT'd
// encoder back, bit-identical to merging the archived delta into the cached
// release.
func TestArchiveRestore(t *testing.T) {
	fixture := filepath.Join(testutil.SharedDir(t), "fixtures", "bert")
	cache := t.TempDir()
	t.Setenv(omcache.Env, cache)
	enc := Encoders[1]
	base := filepath.Join(cache, "encoders", enc.Name)
	require.NoError(t, os.MkdirAll(base, 0o755))
	for _, f := range []string{checkpoint.ConfigFile, "model.safetensors"} {
		require.NoError(t, copyFile(filepath.Join(fixture, f), filepath.Join(base, f)))
	}

	o := Options{Work: t.TempDir(), Archive: filepath.Join(t.TempDir(), "runs")}
	daptRun := filepath.Join(o.Work, daptName(enc.Name))
	daptDelta(t, fixture, filepath.Join(daptRun, dapt.AdapterDir))
	require.NoError(t, os.WriteFile(filepath.Join(daptRun, training.MetricsFile), []byte(`{"steps":94}`), 0o644))
	j := Job{Encoder: enc, Corpus: "NCBI-Disease", Variant: variant(t, "lora-mixed")}
	fakeRun(t, filepath.Join(fixture, "adapter"), j.Dir(o.Work), 0.8, 0.79)
	require.NoError(t, os.WriteFile(filepath.Join(j.Dir(o.Work), testPredictions), []byte("Cancer\tB-Disease\n"), 0o644))
	unfinished := Job{Encoder: enc, Corpus: "BC2GM", Variant: j.Variant}
	require.NoError(t, os.MkdirAll(filepath.Join(unfinished.Dir(o.Work), "checkpoints"), 0o755))

	require.NoError(t, archiveFinished(o))
	for _, f := range append(archivedJobFiles, checkpoint.AdapterSafetensorsFile, checkpoint.AdapterConfigFile) {
		assert.FileExists(t, filepath.Join(archiveDir(o, j), f))
	}
	assert.NoDirExists(t, archiveDir(o, unfinished), "only finished runs are archived")
	assert.NoDirExists(t, filepath.Join(archiveDir(o, j), "checkpoints"))

	// A new machine: the same archive, an empty work folder.
	o2 := Options{Work: t.TempDir(), Archive: o.Archive}
	assert.Equal(t, "done", status(o2, j))
	assert.Equal(t, archiveDir(o2, j), resultDir(o2, j))
	m, err := training.ReadRunMetrics(resultDir(o2, j))
	require.NoError(t, err)
	assert.Equal(t, 0.8, m.Dev.Micro.F1)
	other := Job{Encoder: enc, Corpus: "S800", Variant: j.Variant}
	assert.True(t, ready(o2, other), "a DAPT job is ready when the archive holds the delta")
	assert.Equal(t, "to do", status(o2, other))

	require.NoError(t, restoreDAPT(o2, enc.Name))
	want := filepath.Join(t.TempDir(), "merged")
	require.NoError(t, lora.MergeEncoderAdapter(base, filepath.Join(daptRun, dapt.AdapterDir), want))
	got, err := os.ReadFile(filepath.Join(o2.Work, daptName(enc.Name), "model.safetensors"))
	require.NoError(t, err)
	ref, err := os.ReadFile(filepath.Join(want, "model.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, ref, got, "the rebuilt DAPT'd encoder is the merge of the archived delta")
	orig, err := os.ReadFile(filepath.Join(base, "model.safetensors"))
	require.NoError(t, err)
	assert.NotEqual(t, orig, got, "the delta changes the weights")
	assert.FileExists(t, filepath.Join(o2.Work, daptName(enc.Name), training.MetricsFile))

	// Without an archived delta the error says what to run.
	o3 := Options{Work: t.TempDir(), Archive: t.TempDir()}
	assert.False(t, ready(o3, other))
	assert.ErrorContains(t, restoreDAPT(o3, enc.Name), "dapt.sh")
}
