//go:build !unix

package main

import "os"

// lockFile is the per-job lock's file inside the job's folder (Unix only).
const lockFile = ".lock"

// jobLock is a no-op off Unix: there is no flock(2), so a single invocation
// works as before but two invocations on one work dir are not kept apart.
type jobLock struct{}

// tryLockJob creates dir and always succeeds (no cross-process lock).
func tryLockJob(dir string) (*jobLock, bool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	return &jobLock{}, true, nil
}

// unlock is a no-op.
func (l *jobLock) unlock() error { return nil }
