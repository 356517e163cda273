//go:build !unix

package hpo

import "fmt"

// fileLock is unavailable off Unix: studies need flock(2).
type fileLock struct{}

func lockFile(path string) (*fileLock, error) {
	return nil, fmt.Errorf("hpo: %s: file locking (flock) is only supported on Unix", path)
}

func tryLockFile(path string) (*fileLock, bool, error) {
	return nil, false, fmt.Errorf("hpo: %s: file locking (flock) is only supported on Unix", path)
}

// Unlock is a no-op.
func (l *fileLock) Unlock() error { return nil }
