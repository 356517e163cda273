//go:build unix

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmed/openmed/training/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockHelperEnv makes the test binary a lock holder (TestLockHelperProcess).
const lockHelperEnv = "OPENMED_REPRO_LOCK_HELPER"

// TestLockHelperProcess is not a test: run as a subprocess with
// lockHelperEnv=<dir>, it takes <dir>/.lock, prints "locked" and holds the
// lock until it is killed or its stdin closes.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestJobLock* (runs only as their subprocess)")
	}
	lk, ok, err := tryLockJob(dir)
	if err != nil || !ok {
		os.Exit(3)
	}
	os.Stdout.WriteString("locked\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = lk.unlock()
	os.Exit(0)
}

// holdLock starts a subprocess holding dir's job lock; kill ends it
// (SIGKILL, as a crash would) and waits for it.
func holdLock(t *testing.T, dir string) (kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "helper did not take the lock")
	require.Equal(t, "locked\n", line)
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			stdin.Close()
		})
	}
	t.Cleanup(kill)
	return kill
}

// TestJobLockExclusiveInProcess: flock locks belong to the open file
// description, so a second open in the same process conflicts too (what
// makes two Run calls in goroutines a fair stand-in for two processes).
func TestJobLockExclusiveInProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "NCBI-Disease", "lora-random")
	a, ok, err := tryLockJob(dir)
	require.NoError(t, err)
	require.True(t, ok)
	b, ok, err := tryLockJob(dir)
	require.NoError(t, err)
	assert.False(t, ok, "a second open of the lock file must not get the lock")
	assert.Nil(t, b)
	require.NoError(t, a.unlock())
	require.NoError(t, a.unlock(), "unlock twice is a no-op")
	c, ok, err := tryLockJob(dir)
	require.NoError(t, err)
	assert.True(t, ok, "free again after unlock")
	require.NoError(t, c.unlock())
	assert.FileExists(t, filepath.Join(dir, lockFile))
}

// TestJobLockHeldElsewhere: while another process holds randinit's lock,
// Run skips randinit ("running in another process") and the job that
// fine-tunes from it ("waiting for randinit") instead of running or failing
// them; a killed holder's lock file does not block, and with WithWait an
// invocation waits for the holder, then runs both.
func TestJobLockHeldElsewhere(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 40, "NCBI-Disease")
	work := t.TempDir()
	o := tinyOptions(shared, data, work)
	o.Corpora = []string{"NCBI-Disease"}
	o.Jobs = []string{"NCBI-Disease/lora-random"}
	const dep, job = "randinit", "NCBI-Disease/lora-random"

	kill := holdLock(t, filepath.Join(work, dep))
	_, ok, err := tryLockJob(filepath.Join(work, dep))
	require.NoError(t, err)
	require.False(t, ok, "the helper process holds the lock")

	var logs []string
	rep, err := Run(context.Background(), o, Hooks{Log: func(m string) { logs = append(logs, m) }})
	require.NoError(t, err)
	assert.Equal(t, []string{dep}, rep.Busy)
	assert.Equal(t, []string{job}, rep.Waiting)
	assert.Empty(t, rep.Ran)
	assert.Empty(t, rep.Blocked, "waiting for another process is not blocked")
	assert.Empty(t, rep.Failed)
	assert.Equal(t, []string{dep, job}, rep.Elsewhere())
	assert.ElementsMatch(t, []string{dep, job}, rep.Remaining())
	assert.Contains(t, logs, "randinit: running in another process, skipped")
	assert.Contains(t, logs, "NCBI-Disease/lora-random: waiting for randinit (running in another process), skipped")
	assert.Equal(t, StatusPending, readState(t, work, dep).Status, "a skipped job's state is untouched")
	assert.Equal(t, StatusPending, readState(t, work, job).Status)

	// A waiting invocation: the holder is killed once the waiter has said
	// it waits; the waiter then takes both jobs and finishes them.
	waiting := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var wlogs []string
	done := make(chan struct{})
	var rep2 *Report
	go func() {
		defer close(done)
		rep2, err = Run(context.Background(), o, Hooks{Log: func(m string) {
			mu.Lock()
			wlogs = append(wlogs, m)
			mu.Unlock()
			if strings.HasPrefix(m, "waiting for 2 job(s)") {
				once.Do(func() { close(waiting) })
			}
		}}, WithWait(50*time.Millisecond))
	}()
	select {
	case <-waiting:
	case <-time.After(2 * time.Minute):
		t.Fatal("the waiting invocation never said it waits")
	}
	time.Sleep(200 * time.Millisecond) // a few polls with the lock still held
	kill()                             // dies holding the lock: the kernel drops it
	assert.FileExists(t, filepath.Join(work, dep, lockFile), "the stale lock file stays")
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("the waiting invocation did not finish after the holder died")
	}
	require.NoError(t, err)
	assert.Equal(t, []string{dep, job}, rep2.Ran)
	assert.Empty(t, rep2.Remaining())
	mu.Lock()
	assert.Equal(t, 1, countEqual(wlogs, "randinit: running in another process, skipped"), "logged once, not on every poll: %q", wlogs)
	assert.Equal(t, 1, countEqual(wlogs, "NCBI-Disease/lora-random: waiting for randinit (running in another process), skipped"), "%q", wlogs)
	mu.Unlock()
	for _, name := range []string{dep, job} {
		st := readState(t, work, name)
		assert.Equal(t, StatusDone, st.Status, name)
		assert.Equal(t, 1, st.Attempts, name)
	}
}

func countEqual(l []string, s string) int {
	n := 0
	for _, v := range l {
		if v == s {
			n++
		}
	}
	return n
}

// TestTwoInvocationsShareWorkDir runs two invocations on one work dir at
// once (the lock is per open file description, so goroutines conflict like
// processes): A starts pre-training and pauses inside it until B has found
// pretrain "running in another process" and a pre-trained fine-tuning job
// "waiting for pretrain"; B (WithWait) meanwhile runs what it can. Every job
// ends done exactly once: attempts 1 everywhere, the two Ran lists disjoint
// and together the whole graph.
func TestTwoInvocationsShareWorkDir(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 40, "NCBI-Disease")
	work := t.TempDir()
	o := tinyOptions(shared, data, work)
	o.Corpora = []string{"NCBI-Disease"}
	jobs, err := Graph(o)
	require.NoError(t, err)
	var all []string
	for _, j := range jobs {
		all = append(all, j.Name)
	}
	require.Len(t, all, 6)

	startB := make(chan struct{})
	bSawWaiting := make(chan struct{})
	var startOnce, waitOnce sync.Once
	var mu sync.Mutex
	var bLogs []string
	var repA, repB *Report
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		repA, errA = Run(context.Background(), o, Hooks{Progress: func(job string, _ loop.Progress) {
			if job != "pretrain" {
				return
			}
			startOnce.Do(func() {
				close(startB)
				select { // hold pretrain (and its lock) until B has seen it
				case <-bSawWaiting:
				case <-time.After(3 * time.Minute):
				}
			})
		}})
	}()
	go func() {
		defer wg.Done()
		select {
		case <-startB:
		case <-time.After(3 * time.Minute):
		}
		repB, errB = Run(context.Background(), o, Hooks{Log: func(m string) {
			mu.Lock()
			bLogs = append(bLogs, m)
			mu.Unlock()
			if strings.Contains(m, ": waiting for pretrain (running in another process), skipped") {
				waitOnce.Do(func() { close(bSawWaiting) })
			}
		}}, WithWait(50*time.Millisecond))
	}()
	wg.Wait()
	require.NoError(t, errA)
	require.NoError(t, errB)
	mu.Lock()
	assert.Contains(t, bLogs, "pretrain: running in another process, skipped")
	assert.Contains(t, bLogs, "NCBI-Disease/lora-pretrained: waiting for pretrain (running in another process), skipped")
	mu.Unlock()
	assert.Empty(t, repA.Failed)
	assert.Empty(t, repB.Failed)
	assert.Empty(t, repB.Remaining(), "the waiting invocation ends with every job done")
	assert.Contains(t, repA.Ran, "pretrain")
	assert.Contains(t, repB.Ran, "randinit", "B ran the random init while A pre-trained")
	for _, name := range repA.Ran {
		assert.NotContains(t, repB.Ran, name, "%s trained by both", name)
	}
	ran := append(append([]string(nil), repA.Ran...), repB.Ran...)
	sort.Strings(ran)
	want := append([]string(nil), all...)
	sort.Strings(want)
	assert.Equal(t, want, ran, "every job ran exactly once across the two invocations")
	for _, name := range repA.Busy {
		assert.Contains(t, repB.Ran, name, "A skipped %s because B was running it", name)
	}
	for _, name := range all {
		st := readState(t, work, name)
		assert.Equal(t, StatusDone, st.Status, name)
		assert.Equal(t, 1, st.Attempts, "%s trained twice", name)
		assert.Equal(t, 0, st.Resumes, name)
	}
	t.Logf("A ran %v (busy %v, waiting %v); B ran %v", repA.Ran, repA.Busy, repA.Waiting, repB.Ran)
}
