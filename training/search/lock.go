package search

import (
	"context"
	"fmt"
	"time"

	"github.com/openmed/openmed/internal/flock"
)

// lockFile takes an exclusive flock on path (internal/flock), polling until
// ctx is done; the returned function releases it. Off Unix it returns
// errNoLock.
func lockFile(ctx context.Context, path string) (func(), error) {
	if !flock.Supported {
		return nil, errNoLock
	}
	f, err := flock.Open(path)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	for {
		ok, err := f.TryLock()
		if ok {
			return func() { _ = f.Close() }, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("search: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
