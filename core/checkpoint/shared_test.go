package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns ../shared relative to the repository root (the folder
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(shared); err != nil {
				t.Skipf("../shared not found: %s is missing (fixtures live beside the repo root)", shared)
			}
			return shared
		}
		if filepath.Dir(dir) == dir {
			t.Skipf("../shared not found: no go.mod above %s", wd)
		}
	}
}

// fixture returns a path under ../shared/fixtures.
func fixture(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{sharedDir(t), "fixtures"}, parts...)...)
}

var archs = []string{"bert", "electra", "deberta_v3"}
