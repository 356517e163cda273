package search

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
)

const helperEnv = "OPENMED_SEARCH_HELPER_DIR"

// resumeTrials is the study size of the resume test.
const resumeTrials = 6

// TestHelperSearchProcess is not a test: it is the search process the resume test
// starts and kills (it runs only with OPENMED_SEARCH_HELPER_DIR set). Training
// progress is slowed down so the parent can kill it in the middle of a trial.
func TestHelperSearchProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestSearchResumesAfterSIGKILL")
	}
	o := tinySetup(t, dir, resumeTrials)
	o.TrainProgress = func(int, loop.Progress) { time.Sleep(8 * time.Millisecond) }
	_, err := Run(context.Background(), o)
	require.NoError(t, err)
}

// TestSearchResumesAfterSIGKILL kills a search process with SIGKILL while a trial is
// running (after at least two finished), re-runs the same search and checks that every
// trial finished before the kill appears exactly once with its value unchanged, the
// killed trial is re-run (attempt 2) and the study ends with exactly resumeTrials
// finished trials.
func TestSearchResumesAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	o := tinySetup(t, dir, resumeTrials)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSearchProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	require.NoError(t, cmd.Start())
	logPath := filepath.Join(o.Dir, StudyDir, hpo.LogFile)
	var before []hpo.FrozenTrial
	deadline := time.Now().Add(45 * time.Second)
	for killed := false; !killed; {
		require.True(t, time.Now().Before(deadline), "the helper never had a running trial after two finished ones")
		time.Sleep(5 * time.Millisecond)
		ev, _, err := hpo.ReadEvents(logPath)
		require.NoError(t, err)
		trials, err := hpo.Replay(ev)
		require.NoError(t, err)
		done, running := 0, 0
		for _, tr := range trials {
			if tr.State.Finished() {
				done++
			} else if tr.State == hpo.StateRunning && len(tr.Intermediate) > 0 {
				running++ // mid-trial: at least one epoch reported
			}
		}
		if done >= 2 && running > 0 {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			killed = true
		}
	}
	ev, _, err := hpo.ReadEvents(logPath)
	require.NoError(t, err)
	before, err = hpo.Replay(ev)
	require.NoError(t, err)
	require.Less(t, countFinished(before), resumeTrials, "killed before the study ended")

	_, err = Run(context.Background(), o)
	require.NoError(t, err)
	ev, _, err = hpo.ReadEvents(logPath)
	require.NoError(t, err)
	finishes := map[int]int{}
	for _, e := range ev {
		if e.Kind == hpo.EventFinish {
			finishes[e.Trial]++
		}
	}
	after, err := hpo.Replay(ev)
	require.NoError(t, err)
	require.Len(t, after, resumeTrials, "no trial lost or added")
	for _, tr := range after {
		assert.True(t, tr.State.Finished(), "trial %d is %s", tr.Number, tr.State)
		assert.Equal(t, 1, finishes[tr.Number], "trial %d finished exactly once", tr.Number)
	}
	rerun := 0
	for _, b := range before {
		a := after[b.Number]
		if b.State.Finished() {
			assert.Equal(t, b.State, a.State, "trial %d", b.Number)
			assert.Equal(t, b.Attempt, a.Attempt, "finished trial %d is not re-run", b.Number)
			if b.Value != nil {
				require.NotNil(t, a.Value)
				assert.Equal(t, *b.Value, *a.Value, "trial %d keeps its value", b.Number)
			}
		} else if b.State == hpo.StateRunning {
			assert.Equal(t, b.Attempt+1, a.Attempt, "killed trial %d restarts with the same parameters", b.Number)
			assert.Equal(t, b.Params, a.Params, "killed trial %d", b.Number)
			rerun++
		}
	}
	assert.GreaterOrEqual(t, rerun, 1, "the trial killed mid-run was re-run")
	best, err := ReadBest(o.Dir)
	require.NoError(t, err)
	require.NotNil(t, best.Final)
	assert.FileExists(t, filepath.Join(o.Dir, FinalDir, "metrics.json"))
}

func countFinished(ts []hpo.FrozenTrial) int {
	n := 0
	for _, tr := range ts {
		if tr.State.Finished() {
			n++
		}
	}
	return n
}
