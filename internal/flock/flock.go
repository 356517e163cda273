// Package flock holds exclusive flock(2) locks on files, the lock that keeps
// concurrent HPO workers, search runs and reproduction invocations apart.
//
// flock locks belong to the open file description, so two Opens of the same
// path conflict even inside one process (goroutine workers stand in for
// processes), and the kernel drops a lock when its holder dies, even by
// SIGKILL: a lock file left behind never blocks anyone. Off Unix there is no
// flock(2): Supported is false and Open returns ErrUnsupported.
//
// Open and OpenExisting return the os.OpenFile error as it is and Lock and
// TryLock the flock(2) error as it is, so each caller words its own messages.
package flock

import "errors"

// ErrUnsupported is returned by Open and OpenExisting where there is no
// flock(2) (Supported is false).
var ErrUnsupported = errors.New("flock: file locking (flock) is only supported on Unix")
