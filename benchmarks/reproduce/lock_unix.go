//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the per-job lock's file inside the job's folder.
const lockFile = ".lock"

// jobLock is an exclusive flock(2) on <job>/.lock, held while a process runs
// the job. flock locks belong to the open file description, so two opens of
// the same file conflict even inside one process (two Run calls), and the
// kernel drops the lock when its holder dies, even by SIGKILL: a stale lock
// file never blocks anyone.
type jobLock struct {
	f *os.File
}

// tryLockJob creates dir and dir/.lock if needed and takes the lock without
// blocking. ok is false (and the lock nil) when another open file
// description, normally another process, holds it.
func tryLockJob(dir string) (l *jobLock, ok bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("reproduce: open lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("reproduce: flock %s: %w", path, err)
	}
	return &jobLock{f: f}, true, nil
}

// unlock releases the lock and closes the file (the file stays).
func (l *jobLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
