package hpo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Environment of the re-executed test binary acting as a worker process.
const (
	envWorker    = "OPENMED_HPO_TEST_WORKER" // study directory; set → run as a worker
	envNTrials   = "OPENMED_HPO_TEST_NTRIALS"
	envSleepMS   = "OPENMED_HPO_TEST_SLEEP_MS"
	envHangTrial = "OPENMED_HPO_TEST_HANG_TRIAL" // trial number whose objective never returns
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envWorker); dir != "" {
		os.Exit(helperWorker(dir))
	}
	os.Exit(m.Run())
}

// helperWorker runs Optimize on an existing study as a separate process.
func helperWorker(dir string) int {
	n, _ := strconv.Atoi(os.Getenv(envNTrials))
	sleep, _ := strconv.Atoi(os.Getenv(envSleepMS))
	hang := -1
	if h := os.Getenv(envHangTrial); h != "" {
		hang, _ = strconv.Atoi(h)
	}
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	obj := func(ctx context.Context, t *Trial) (float64, error) {
		if t.Number() == hang {
			// Report once so the parent sees the trial mid-flight, then hang until killed.
			if err := t.Report(0, 123); err != nil {
				return 0, err
			}
			select {}
		}
		time.Sleep(time.Duration(sleep) * time.Millisecond)
		return testValue(t)
	}
	if err := s.Optimize(context.Background(), obj, RunOptions{NTrials: n}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startWorker(t *testing.T, dir string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envWorker+"="+dir), env...)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	return cmd
}

// eventsByTrial counts start and finish events per trial in the raw log.
func eventsByTrial(t *testing.T, s *Study) (starts map[int][]Event, finishes map[int]int) {
	evs, info, err := ReadEvents(s.logPath())
	require.NoError(t, err)
	require.Empty(t, info.Torn)
	starts, finishes = map[int][]Event{}, map[int]int{}
	for _, ev := range evs {
		switch ev.Kind {
		case EventStart:
			starts[ev.Trial] = append(starts[ev.Trial], ev)
		case EventFinish:
			finishes[ev.Trial]++
		}
	}
	return starts, finishes
}

// TestKillMidTrialAndResume SIGKILLs a worker process while trial 3 runs, then resumes
// the study: finished trials are neither lost nor repeated, trial 3 re-runs with the same
// parameters, and the whole study equals an uninterrupted run with the same seed.
func TestKillMidTrialAndResume(t *testing.T) {
	const n, hang = 7, 3
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	cmd := startWorker(t, dir, envNTrials+"="+strconv.Itoa(n), envSleepMS+"=5", envHangTrial+"="+strconv.Itoa(hang))

	deadline := time.Now().Add(60 * time.Second)
	var before []FrozenTrial
	for {
		require.True(t, time.Now().Before(deadline), "worker never reached trial %d", hang)
		before, err = s.Trials()
		require.NoError(t, err)
		if len(before) == hang+1 && len(before[hang].Intermediate) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sum, err := s.Summary()
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Running)
	assert.Equal(t, 0, sum.Orphaned, "the worker is alive and holds its lock")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	werr := cmd.Wait()
	sum, err = s.Summary()
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Orphaned, "the killed worker's trial is orphaned")
	require.Error(t, werr, "the worker was killed")
	for i := 0; i < hang; i++ {
		require.Equal(t, StateComplete, before[i].State)
	}
	require.Equal(t, StateRunning, before[hang].State)

	// Resume in this process.
	s2, err := Open(dir)
	require.NoError(t, err)
	var calls []int
	err = s2.Optimize(context.Background(), func(ctx context.Context, tr *Trial) (float64, error) {
		calls = append(calls, tr.Number())
		if tr.Number() == hang {
			assert.Equal(t, before[hang].Params, tr.Params(), "re-queued with the same parameters")
			assert.Equal(t, 2, tr.Attempt())
		}
		return testValue(tr)
	}, RunOptions{NTrials: n})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 4, 5, 6}, calls, "no finished trial is re-run")

	after, err := s2.Trials()
	require.NoError(t, err)
	require.Len(t, after, n)
	for i := 0; i < hang; i++ {
		assert.Equal(t, before[i], after[i], "finished trial %d unchanged", i)
	}
	for i, tr := range after {
		assert.Equal(t, i, tr.Number)
		assert.Equal(t, StateComplete, tr.State)
	}
	assert.Empty(t, after[hang].Intermediate, "the dead attempt's report is superseded")
	starts, finishes := eventsByTrial(t, s2)
	for i := 0; i < n; i++ {
		assert.Equal(t, 1, finishes[i], "trial %d finished exactly once", i)
		want := 1
		if i == hang {
			want = 2
		}
		require.Len(t, starts[i], want, "trial %d start events", i)
		assert.Equal(t, starts[i][0].Params, starts[i][len(starts[i])-1].Params)
	}

	// The interrupted study ends exactly where an uninterrupted one does.
	ref, err := Create(t.TempDir(), testConfig())
	require.NoError(t, err)
	require.NoError(t, ref.Optimize(context.Background(), fastObjective, RunOptions{NTrials: n}))
	refTrials, err := ref.Trials()
	require.NoError(t, err)
	for i := range refTrials {
		assert.Equal(t, refTrials[i].Params, after[i].Params, "trial %d", i)
		assert.Equal(t, *refTrials[i].Value, *after[i].Value, "trial %d", i)
	}
}

// TestTwoWorkerProcesses runs two worker processes on one study at the same time.
func TestTwoWorkerProcesses(t *testing.T) {
	const n = 10
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	env := []string{envNTrials + "=" + strconv.Itoa(n), envSleepMS + "=80"}
	a := startWorker(t, dir, env...)
	b := startWorker(t, dir, env...)
	require.NoError(t, a.Wait())
	require.NoError(t, b.Wait())

	trials, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, trials, n, "total trials = requested")
	workers := map[string]int{}
	for i, tr := range trials {
		assert.Equal(t, i, tr.Number)
		assert.Equal(t, StateComplete, tr.State)
		workers[tr.Worker]++
	}
	starts, finishes := eventsByTrial(t, s)
	assert.Len(t, starts, n)
	for i := 0; i < n; i++ {
		assert.Len(t, starts[i], 1, "trial %d started once (no duplicated numbers)", i)
		assert.Equal(t, 1, finishes[i], "trial %d finished once", i)
	}
	assert.Len(t, workers, 2, "both processes ran trials: %v", workers)
	entries, err := os.ReadDir(dir + "/" + WorkersDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "workers remove their lock files on a clean exit")
}

// TestLiveWorkerTakesOverDeadWorkersTrial: worker A hangs in trial 0 and is SIGKILLed
// while worker B runs; B re-queues trial 0 (same parameters, attempt 2) and the study
// still ends with exactly the requested trials, each finished once.
func TestLiveWorkerTakesOverDeadWorkersTrial(t *testing.T) {
	const n = 6
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	a := startWorker(t, dir, envNTrials+"="+strconv.Itoa(n), envSleepMS+"=1", envHangTrial+"=0")
	deadline := time.Now().Add(60 * time.Second)
	var before []FrozenTrial
	for {
		require.True(t, time.Now().Before(deadline), "worker A never started trial 0")
		before, err = s.Trials()
		require.NoError(t, err)
		if len(before) == 1 && len(before[0].Intermediate) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadWorker := before[0].Worker
	b := startWorker(t, dir, envNTrials+"="+strconv.Itoa(n), envSleepMS+"=60")
	require.NoError(t, a.Process.Signal(syscall.SIGKILL))
	require.Error(t, a.Wait())
	require.NoError(t, b.Wait())

	after, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, after, n)
	for i, tr := range after {
		assert.Equal(t, i, tr.Number)
		assert.Equal(t, StateComplete, tr.State, "trial %d", i)
		assert.NotEqual(t, deadWorker, tr.Worker, "trial %d finished by the live worker", i)
	}
	assert.Equal(t, 2, after[0].Attempt)
	assert.Equal(t, before[0].Params, after[0].Params)
	starts, finishes := eventsByTrial(t, s)
	for i := 0; i < n; i++ {
		assert.Equal(t, 1, finishes[i], "trial %d finished once", i)
	}
	assert.Len(t, starts[0], 2)
	_, err = os.Stat(dir + "/" + WorkersDir + "/" + deadWorker + ".lock")
	assert.True(t, os.IsNotExist(err), "the dead worker's stale lock file is cleaned up")
}
