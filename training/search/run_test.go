package search

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
)

// TestSearchTiny is the acceptance test: a 6-trial search on the tiny setup
// ends with every trial complete or pruned, best.json naming the best complete trial
// and a final run scored on test.
func TestSearchTiny(t *testing.T) {
	o := tinySetup(t, t.TempDir(), 6)
	o.Workers = 2
	var events []hpo.Progress
	o.Progress = func(p hpo.Progress) { events = append(events, p) }
	res, err := Run(context.Background(), o)
	require.NoError(t, err)

	st, err := hpo.Open(filepath.Join(o.Dir, StudyDir))
	require.NoError(t, err)
	trials, err := st.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 6)
	bestVal := -1.0
	bestN := -1
	for _, tr := range trials {
		require.Contains(t, []hpo.TrialState{hpo.StateComplete, hpo.StatePruned}, tr.State, "trial %d: %s", tr.Number, tr.Error)
		require.NotEmpty(t, tr.Intermediate, "trial %d reported its dev-F1 curve", tr.Number)
		if tr.State == hpo.StateComplete {
			require.Len(t, tr.Intermediate, o.Train.Epochs, "complete trial %d has one dev F1 per epoch", tr.Number)
			// The trial's score is the best epoch's dev F1 (early stopping keeps the best weights).
			mx := 0.0
			for _, sv := range tr.Intermediate {
				mx = max(mx, sv.Value)
			}
			assert.InDelta(t, mx, *tr.Value, 1e-9, "trial %d", tr.Number)
			if *tr.Value > bestVal {
				bestVal, bestN = *tr.Value, tr.Number
			}
		}
		dir := TrialDir(o.Dir, tr.Number)
		assert.FileExists(t, filepath.Join(dir, ParamsFile))
		assert.NoDirExists(t, filepath.Join(dir, "checkpoints"), "trial checkpoints are deleted")
		if tr.State == hpo.StateComplete {
			assert.FileExists(t, filepath.Join(dir, "metrics.json"))
			assert.NoFileExists(t, filepath.Join(dir, "test_predictions.tsv"), "trials never touch test")
		}
	}
	require.GreaterOrEqual(t, bestN, 0)
	assert.NotEmpty(t, events)

	best, err := ReadBest(o.Dir)
	require.NoError(t, err)
	assert.Equal(t, bestN, best.Trial)
	assert.Equal(t, bestVal, best.DevF1)
	assert.Equal(t, res.Best.Trial, best.Trial)
	cfg, err := Apply(o.Train, best.Params)
	require.NoError(t, err)
	assert.Equal(t, cfg.LR, best.Config.LR)
	assert.Equal(t, cfg.BatchSize, best.Config.BatchSize)
	require.NotNil(t, best.Final)
	require.NotNil(t, best.Final.TestF1, "the final run is scored on test")
	for _, f := range []string{"metrics.json", "test_predictions.tsv", "dev_predictions.tsv", "adapter_model.safetensors"} {
		assert.FileExists(t, filepath.Join(o.Dir, FinalDir, f))
	}
	rs, err := ReadRunScore(filepath.Join(o.Dir, FinalDir))
	require.NoError(t, err)
	assert.Equal(t, rs.DevF1, best.Final.DevF1)
	assert.Equal(t, *rs.TestF1, *best.Final.TestF1)
	// The final run repeats the best trial's configuration and seed: same dev F1.
	assert.InDelta(t, best.DevF1, best.Final.DevF1, 1e-9)

	// Running again does nothing new: no new trial, the final run is not repeated.
	fi, err := os.Stat(filepath.Join(o.Dir, FinalDir, "metrics.json"))
	require.NoError(t, err)
	_, err = Run(context.Background(), o)
	require.NoError(t, err)
	again, err := st.Trials()
	require.NoError(t, err)
	assert.Len(t, again, 6)
	fi2, err := os.Stat(filepath.Join(o.Dir, FinalDir, "metrics.json"))
	require.NoError(t, err)
	assert.Equal(t, fi.ModTime(), fi2.ModTime(), "the final run is not repeated")
}

// TestTwoSearchersShareStudy runs two searches on one directory at the same time (as
// two worker processes with the same --out would): the study holds exactly the budget,
// every trial finishes once, both agree on the best trial and one final run is made.
func TestTwoSearchersShareStudy(t *testing.T) {
	o := tinySetup(t, t.TempDir(), 4)
	type out struct {
		res *Result
		err error
	}
	ch := make(chan out, 2)
	for range 2 {
		go func() {
			r, err := Run(context.Background(), o)
			ch <- out{r, err}
		}()
	}
	a, b := <-ch, <-ch
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	assert.Equal(t, a.res.Best.Trial, b.res.Best.Trial)
	assert.Equal(t, a.res.Best.Final, b.res.Best.Final)
	require.NotNil(t, a.res.Best.Final)
	assert.True(t, (a.res.Final == nil) != (b.res.Final == nil), "exactly one searcher ran the final training")
	st, err := hpo.Open(filepath.Join(o.Dir, StudyDir))
	require.NoError(t, err)
	trials, err := st.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 4)
	workers := map[string]bool{}
	for _, tr := range trials {
		assert.True(t, tr.State.Finished(), "trial %d %s", tr.Number, tr.State)
		workers[tr.Worker] = true
	}
	t.Logf("trials run by %d workers", len(workers))
}

// TestFinalRunResumes interrupts the final run after its first epoch checkpoint and
// checks that running the search again continues it (no trial re-run) to the result
// of an uninterrupted final run.
func TestFinalRunResumes(t *testing.T) {
	root := t.TempDir()
	o := tinySetup(t, root, 2)
	o.Train.Epochs = 3
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.TrainProgress = func(trial int, p loop.Progress) {
		if trial == -1 && p.Phase == loop.PhaseCheckpoint {
			cancel()
		}
	}
	_, err := Run(ctx, o)
	require.ErrorIs(t, err, loop.ErrInterrupted)
	b, err := ReadBest(o.Dir)
	require.NoError(t, err)
	require.Nil(t, b.Final)

	o.TrainProgress = nil
	var logs []string
	o.Log = func(s string) { logs = append(logs, s) }
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(logs, "\n"), "resuming the final run")
	require.NotNil(t, res.Best.Final)
	assert.False(t, res.Best.Config.Resume)
	st, err := hpo.Open(filepath.Join(o.Dir, StudyDir))
	require.NoError(t, err)
	trials, err := st.Trials()
	require.NoError(t, err)
	assert.Len(t, trials, 2)

	// An uninterrupted final run with the same configuration gives the same scores.
	ref := o
	ref.Dir = filepath.Join(root, "ref")
	ref.Log = nil
	r2, err := Run(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, res.Best.Trial, r2.Best.Trial)
	assert.Equal(t, r2.Best.Final.DevF1, res.Best.Final.DevF1)
	assert.Equal(t, *r2.Best.Final.TestF1, *res.Best.Final.TestF1)
}

// A problem that fails every trial (here a dev tag the training file never
// uses) is reported where the search stops, not only in trials.jsonl.
func TestSearchReportsFirstFailure(t *testing.T) {
	dir := t.TempDir()
	o := tinySetup(t, dir, 2)
	o.Train.Dev = filepath.Join(dir, "devel-bad.tsv")
	require.NoError(t, os.WriteFile(o.Train.Dev, []byte("fever\tO\n\nmalaria\tB-Parasite\n\n"), 0o644))
	_, err := Run(context.Background(), o)
	require.Error(t, err)
	require.ErrorContains(t, err, "no trial completed (0 pruned, 2 failed)")
	require.ErrorContains(t, err, "trial 0 failed")
	require.ErrorContains(t, err, "B-Parasite")
}
