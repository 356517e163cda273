package hpo

import (
	"errors"
	"fmt"
	"os"

	"github.com/openmed/openmed/internal/flock"
)

// fileLock is an exclusive flock(2) on an open file (internal/flock): two
// opens of the same path conflict even inside one process (goroutine
// workers) and the kernel releases the lock when the holder dies, even by
// SIGKILL. Studies need it, so off Unix every lock is an error.
type fileLock struct {
	f *flock.File
}

// errNoFlock is the error for path where there is no flock(2).
func errNoFlock(path string) error {
	return fmt.Errorf("hpo: %s: file locking (flock) is only supported on Unix", path)
}

// lockFile opens (creating) path and blocks until it holds an exclusive lock on it.
func lockFile(path string) (*fileLock, error) {
	if !flock.Supported {
		return nil, errNoFlock(path)
	}
	f, err := flock.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hpo: open lock %s: %w", path, err)
	}
	if err := f.Lock(); err != nil {
		f.Close()
		return nil, fmt.Errorf("hpo: flock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// tryLockFile takes an exclusive lock on an existing path without blocking. ok is false
// when another open file description holds it; a missing file returns (nil, true, nil).
func tryLockFile(path string) (l *fileLock, ok bool, err error) {
	if !flock.Supported {
		return nil, false, errNoFlock(path)
	}
	f, err := flock.OpenExisting(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("hpo: open lock %s: %w", path, err)
	}
	if ok, err = f.TryLock(); !ok {
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("hpo: flock %s: %w", path, err)
		}
		return nil, false, nil
	}
	return &fileLock{f: f}, true, nil
}

// Unlock releases the lock and closes the file.
func (l *fileLock) Unlock() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
