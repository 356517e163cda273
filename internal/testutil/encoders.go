package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/cache"
)

// EncoderCache returns the encoder cache folder ($OPENMED_CACHE/encoders)
// after checking that the pinned encoder name is imported there. When it is
// not, the test skips saying what to run, or fails under CI=true (`make
// setup` installs the default tagger's base encoder, scripts/default_encoders.sh).
func EncoderCache(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(cache.Root(), "encoders")
	if _, err := os.Stat(filepath.Join(dir, name, "config.json")); err != nil {
		Missing(t, "encoder "+name+" is not in the encoder cache "+dir+
			" (run `bin/openmed encoders install "+name+"`; `make setup` does it for the default tagger's base)")
	}
	return dir
}

// TempCache points $OPENMED_CACHE at a fresh temporary folder for the test
// (so extractions, exports and merged bases start empty) whose encoders/ is
// a link to the real encoder cache, so pinned encoders stay installed.
func TempCache(t testing.TB) string {
	t.Helper()
	real := filepath.Join(cache.Root(), "encoders")
	dir := t.TempDir()
	if _, err := os.Stat(real); err == nil {
		if err := os.Symlink(real, filepath.Join(dir, "encoders")); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(cache.Env, dir)
	return dir
}
