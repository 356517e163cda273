package scheme_test

import (
	"testing"

	"github.com/openmed/openmed/internal/testutil"
)

// sharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}
