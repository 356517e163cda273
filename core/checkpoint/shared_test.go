package checkpoint

import (
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
)

// sharedDir returns ../shared relative to the repository root (the folder
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

// fixture returns a path under ../shared/fixtures.
func fixture(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{sharedDir(t), "fixtures"}, parts...)...)
}

var archs = []string{"bert", "electra", "deberta_v3"}
