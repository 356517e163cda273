package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/internal/flock"
)

// lockFile is the per-job lock's file inside the job's folder.
const lockFile = ".lock"

// jobLock is an exclusive flock(2) on <job>/.lock (internal/flock), held
// while a process runs the job. flock locks belong to the open file
// description, so two opens of the same file conflict even inside one
// process (two Run calls), and the kernel drops the lock when its holder
// dies, even by SIGKILL: a stale lock file never blocks anyone. Off Unix
// there is no flock(2): a single invocation works as before but two
// invocations on one work dir are not kept apart.
type jobLock struct {
	f *flock.File
}

// tryLockJob creates dir and dir/.lock if needed and takes the lock without
// blocking. ok is false (and the lock nil) when another open file
// description, normally another process, holds it. Off Unix it creates dir
// and always succeeds.
func tryLockJob(dir string) (l *jobLock, ok bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	if !flock.Supported {
		return &jobLock{}, true, nil
	}
	path := filepath.Join(dir, lockFile)
	f, err := flock.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("reproduce: open lock %s: %w", path, err)
	}
	if ok, err = f.TryLock(); !ok {
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("reproduce: flock %s: %w", path, err)
		}
		return nil, false, nil
	}
	return &jobLock{f: f}, true, nil
}

// unlock releases the lock and closes the file (the file stays).
func (l *jobLock) unlock() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
