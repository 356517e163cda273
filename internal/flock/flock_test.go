//go:build unix

package flock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helperEnv makes the test binary a lock holder (TestHelperProcess).
const helperEnv = "OPENMED_FLOCK_HELPER"

// TestHelperProcess is not a test: run as a subprocess with helperEnv=<path>,
// it locks path, prints "locked" and holds the lock until killed or until its
// stdin closes.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestReleasedWhenHolderDies (runs only as its subprocess)")
	}
	l, err := Open(path)
	if err != nil || l.Lock() != nil {
		os.Exit(3)
	}
	os.Stdout.WriteString("locked\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = l.Close()
	os.Exit(0)
}

func openT(t *testing.T, path string) *File {
	t.Helper()
	l, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestSupported(t *testing.T) { assert.True(t, Supported) }

// TestTryLockConflictInProcess: two opens of one path in one process
// conflict (the lock is the open file description's), and Close frees it.
func TestTryLockConflictInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	a, b := openT(t, path), openT(t, path)
	ok, err := a.TryLock()
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.TryLock()
	require.NoError(t, err)
	assert.False(t, ok, "a second open must not get the lock")
	require.NoError(t, a.Close())
	ok, err = b.TryLock()
	require.NoError(t, err)
	assert.True(t, ok, "free again after the holder's Close")
	assert.FileExists(t, path, "Close keeps the file")
}

// TestLockBlocksUntilClose: Lock waits while another open holds the lock and
// returns once it is released.
func TestLockBlocksUntilClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	a, b := openT(t, path), openT(t, path)
	require.NoError(t, a.Lock())
	done := make(chan error, 1)
	go func() { done <- b.Lock() }()
	select {
	case err := <-done:
		t.Fatalf("Lock returned (%v) while the lock was held", err)
	case <-time.After(150 * time.Millisecond):
	}
	require.NoError(t, a.Close())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Lock still blocked after the holder closed")
	}
	ok, err := openT(t, path).TryLock()
	require.NoError(t, err)
	assert.False(t, ok, "b holds it now")
}

// TestCloseTwice: Close on a nil or closed File is a no-op.
func TestCloseTwice(t *testing.T) {
	var nilFile *File
	require.NoError(t, nilFile.Close())
	l := openT(t, filepath.Join(t.TempDir(), "x.lock"))
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
}

// TestOpenExisting: OpenExisting does not create the file; Open does.
func TestOpenExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	_, err := OpenExisting(path)
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
	assert.NoFileExists(t, path)
	require.NoError(t, openT(t, path).Close())
	l, err := OpenExisting(path)
	require.NoError(t, err)
	defer l.Close()
	ok, err := l.TryLock()
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = Open(filepath.Join(path, "sub"))
	assert.Error(t, err, "a file's child cannot be opened")
}

// TestReleasedWhenHolderDies: a lock held by another process blocks this one
// until that process dies (SIGKILL, as a crash would); its file stays and
// blocks no one.
func TestReleasedWhenHolderDies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "helper did not take the lock")
	require.Equal(t, "locked\n", line)

	l := openT(t, path)
	ok, err := l.TryLock()
	require.NoError(t, err)
	assert.False(t, ok, "the subprocess holds the lock")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	ok, err = l.TryLock()
	require.NoError(t, err)
	assert.True(t, ok, "the kernel released the dead holder's lock")
	assert.FileExists(t, path)
}
