//go:build !unix

package search

import "context"

func lockFile(context.Context, string) (func(), error) { return nil, errNoLock }
