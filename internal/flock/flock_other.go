//go:build !unix

package flock

// Supported reports whether this platform has flock(2) locks.
const Supported = false

// File is an open lock file; off Unix none can be opened.
type File struct{}

// Open returns ErrUnsupported: there is no flock(2) here.
func Open(path string) (*File, error) { return nil, ErrUnsupported }

// OpenExisting returns ErrUnsupported: there is no flock(2) here.
func OpenExisting(path string) (*File, error) { return nil, ErrUnsupported }

// Lock returns ErrUnsupported.
func (l *File) Lock() error { return ErrUnsupported }

// TryLock returns ErrUnsupported.
func (l *File) TryLock() (bool, error) { return false, ErrUnsupported }

// Close is a no-op.
func (l *File) Close() error { return nil }
