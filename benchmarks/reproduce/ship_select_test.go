package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shipRun fakes a finished run with the given dev and test F1.
func shipRun(t *testing.T, o Options, name string, dev, test float64) {
	t.Helper()
	dir := filepath.Join(o.Work, filepath.FromSlash(name))
	require.NoError(t, (&JobState{Name: name, Status: StatusDone, Epochs: 2, MaxEpochs: 2}).save(dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.json"), []byte(fmt.Sprintf(
		`{"dev":{"micro":{"precision":0.5,"recall":0.5,"f1":%g}},"test":{"micro":{"precision":0.5,"recall":0.5,"f1":%g}},"epochs":2,"best_epoch":2}`,
		dev, test)), 0o644))
}

// The shipped adapter is the run with the higher dev F1 (never test F1);
// one finished run suffices; none is a clear error naming both jobs.
func TestBestShipRunByDevF1(t *testing.T) {
	o := DefaultOptions()
	o.Work = t.TempDir()
	_, err := bestShipRun(o, "NCBI-Disease")
	require.ErrorContains(t, err, "NCBI-Disease/lora-ship")
	require.ErrorContains(t, err, "NCBI-Disease/lora-pretrained")

	shipRun(t, o, FineTuneName("NCBI-Disease", "lora", InitPretrained), 0.40, 0.90)
	b, err := bestShipRun(o, "NCBI-Disease")
	require.NoError(t, err)
	assert.Equal(t, "NCBI-Disease/lora-pretrained", b.Job)

	shipRun(t, o, ShipJobName("NCBI-Disease"), 0.70, 0.60) // better dev, worse test
	b, err = bestShipRun(o, "NCBI-Disease")
	require.NoError(t, err)
	assert.Equal(t, "NCBI-Disease/lora-ship", b.Job)
	assert.InDelta(t, 0.70, b.DevF1, 1e-12)

	md := shipSection(o)
	assert.Contains(t, md, "| NCBI-Disease | NCBI-Disease/lora-ship | 70.00 |")
	assert.Contains(t, md, "| **yes** |")
	assert.Contains(t, md, "| BC5CDR-Chem | BC5CDR-Chem/lora-ship | (pending) |")
}

// The ship jobs run first, right after the encoders, and only for the
// shipped corpora; --ship-jobs=false drops them.
func TestShipJobsInGraph(t *testing.T) {
	o := DefaultOptions()
	all, err := Graph(o)
	require.NoError(t, err)
	assert.Equal(t, "NCBI-Disease/lora-ship", all[2].Name)
	assert.Equal(t, KindShipFineTune, all[2].Kind)
	assert.Equal(t, []string{"pretrain"}, all[2].Deps)
	assert.Equal(t, "BC5CDR-Chem/lora-ship", all[3].Name)
	o.FT.Ship.Enabled = false
	all, err = Graph(o)
	require.NoError(t, err)
	for _, j := range all {
		assert.NotEqual(t, KindShipFineTune, j.Kind, j.Name)
	}
}

// ShipReady waits for the encoder and one finished LoRA run per shipped
// corpus; ShipInput names the jobs that can change what Ship writes.
func TestShipReady(t *testing.T) {
	o := DefaultOptions()
	o.Work = t.TempDir()
	require.ErrorContains(t, ShipReady(o), "pending")
	require.NoError(t, (&JobState{Name: "pretrain", Status: StatusDone}).save(filepath.Join(o.Work, "pretrain")))
	require.ErrorContains(t, ShipReady(o), "no finished LoRA run")
	shipRun(t, o, ShipJobName("NCBI-Disease"), 0.7, 0.7)
	require.ErrorContains(t, ShipReady(o), "BC5CDR-Chem")
	shipRun(t, o, FineTuneName("BC5CDR-Chem", "lora", InitPretrained), 0.8, 0.8)
	require.ErrorContains(t, ShipReady(o), "BC5CDR-Disease")
	shipRun(t, o, ShipJobName("BC5CDR-Disease"), 0.75, 0.75)
	require.NoError(t, ShipReady(o))

	for _, j := range []string{"pretrain", "NCBI-Disease/lora-ship", "BC5CDR-Chem/lora-pretrained"} {
		assert.True(t, ShipInput(j), j)
	}
	for _, j := range []string{"randinit", "NCBI-Disease/full-pretrained", "CLL/lora-pretrained", "NCBI-Disease/lora-random"} {
		assert.False(t, ShipInput(j), j)
	}
}
