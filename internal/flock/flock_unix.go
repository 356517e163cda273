//go:build unix

package flock

import (
	"errors"
	"os"
	"syscall"
)

// Supported reports whether this platform has flock(2) locks.
const Supported = true

// File is an open lock file. The zero of *File (nil) is valid for Close.
type File struct {
	f *os.File
}

// Open opens path for locking, creating it (mode 0644) when missing. It
// takes no lock: call Lock or TryLock.
func Open(path string) (*File, error) {
	return open(path, os.O_RDWR|os.O_CREATE)
}

// OpenExisting is Open without creating the file: a missing file is an error
// for which errors.Is(err, os.ErrNotExist) holds.
func OpenExisting(path string) (*File, error) {
	return open(path, os.O_RDWR)
}

func open(path string, flag int) (*File, error) {
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return &File{f: f}, nil
}

// Lock blocks until it holds the exclusive lock.
func (l *File) Lock() error {
	return l.flock(syscall.LOCK_EX)
}

// TryLock takes the exclusive lock without blocking. ok is false, with a nil
// error, when another open file description holds it.
func (l *File) TryLock() (ok bool, err error) {
	err = l.flock(syscall.LOCK_EX | syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// flock calls flock(2), again when a signal interrupts it.
func (l *File) flock(how int) error {
	for {
		err := syscall.Flock(int(l.f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Close releases the lock (if held) and closes the file; the file itself
// stays on disk. Closing a nil or already closed File is a no-op.
func (l *File) Close() error {
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
