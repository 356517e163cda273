// Package cache owns openmed's cache folder: where the default tagger is
// extracted, ONNX exports and merged bases are kept, and the encoder cache
// lives (encoders/).
package cache

import (
	"os"
	"path/filepath"
)

// Env is the environment variable naming the cache folder.
const Env = "OPENMED_CACHE"

// Root is $OPENMED_CACHE, else the user cache folder's openmed/
// (~/.cache/openmed on Linux), else openmed-cache in the temporary folder
// when the system has no user cache folder.
func Root() string {
	if p := os.Getenv(Env); p != "" {
		return p
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "openmed")
	}
	return filepath.Join(os.TempDir(), "openmed-cache")
}
