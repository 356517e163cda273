package main

import (
	"fmt"
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

// fakeCheckpoint writes a run folder's checkpoint as training/loop lays it
// out (the bytes do not matter to copying).
func fakeCheckpoint(t *testing.T, dir string, step int) {
	t.Helper()
	ck := filepath.Join(dir, "checkpoints", fmt.Sprintf("step-%08d", step))
	require.NoError(t, os.MkdirAll(ck, 0o755))
	for _, f := range []string{"state.json", "trainable.safetensors", "optimizer.safetensors", "best.safetensors"} {
		require.NoError(t, os.WriteFile(filepath.Join(ck, f), []byte(f), 0o644))
	}
	manifest := fmt.Sprintf(`{"checkpoint":"step-%08d","step":%d}`, step, step)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints", "latest.json"), []byte(manifest), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(`{"step":1}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, planFile), []byte(`{"job":"x","epochs":7}`), 0o644))
}

// An unfinished LoRA job's checkpoint goes into the archive (a newer one
// replacing it) and comes back
// into an empty work folder on another machine; a job with its own
// checkpoint keeps it; full fine-tuning is never snapshotted; archiving the
// finished job drops the snapshot.
func TestSnapshotInterrupted(t *testing.T) {
	o := Options{Work: t.TempDir(), Archive: filepath.Join(t.TempDir(), "runs")}
	enc := Encoders[1]
	j := Job{Encoder: enc, Corpus: "NCBI-Disease", Variant: variant(t, "lora-mixed")}
	full := Job{Encoder: enc, Corpus: "NCBI-Disease", Variant: variant(t, "full")}
	fakeCheckpoint(t, j.Dir(o.Work), 150)
	fakeCheckpoint(t, full.Dir(o.Work), 150)
	require.NoError(t, snapshotInterrupted(o))
	snap := filepath.Join(archiveDir(o, j), interruptedDir)
	assert.FileExists(t, filepath.Join(snap, "checkpoints", "step-00000150", "optimizer.safetensors"))
	assert.FileExists(t, filepath.Join(snap, planFile))
	assert.NoDirExists(t, archiveDir(o, full), "full fine-tuning checkpoints are too large to archive")
	fakeCheckpoint(t, j.Dir(o.Work), 175)
	require.NoError(t, snapshotInterrupted(o))
	assert.FileExists(t, filepath.Join(snap, "checkpoints", "step-00000175", "optimizer.safetensors"))
	assert.NoDirExists(t, filepath.Join(snap, "checkpoints", "step-00000150"), "a newer snapshot replaces the older step")

	o2 := Options{Work: t.TempDir(), Archive: o.Archive}
	require.NoError(t, copyFile(filepath.Join(snap, planFile), filepath.Join(o.Archive, daptName(enc.Name), training.MetricsFile)))
	assert.Equal(t, "interrupted (resumes)", status(o2, j))
	ok, err := restoreInterrupted(o2, j)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.FileExists(t, filepath.Join(j.Dir(o2.Work), "checkpoints", "latest.json"))
	assert.FileExists(t, filepath.Join(j.Dir(o2.Work), "checkpoints", "step-00000175", "trainable.safetensors"))
	plan, err := os.ReadFile(filepath.Join(j.Dir(o2.Work), planFile))
	require.NoError(t, err)
	assert.Contains(t, string(plan), `"epochs":7`, "the job resumes with the plan it started with")
	ok, err = restoreInterrupted(o2, j)
	require.NoError(t, err)
	assert.False(t, ok, "a work folder with its own checkpoint keeps it")

	fixture := filepath.Join(testutil.SharedDir(t), "fixtures", "bert")
	fakeRun(t, filepath.Join(fixture, "adapter"), j.Dir(o2.Work), 0.8, 0.8)
	require.NoError(t, archiveJob(o2, j))
	assert.NoDirExists(t, snap, "the finished job replaces its snapshot")
	assert.Equal(t, "done", status(Options{Work: t.TempDir(), Archive: o.Archive}, j))
}
