package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// Python is the Debian interpreter that has python3-torch (never a pyenv one
// on PATH); `make setup` installs it.
const Python = "/usr/bin/python3"

// RunTorch runs Python with args (a torch reference script, what names it in
// failures) and returns its standard output. When the script fails because
// torch cannot be imported, the test is skipped, or failed under CI=true (see
// Missing); any other failure fails the test with the script's stderr.
func RunTorch(t testing.TB, what string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Python, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && strings.Contains(stderr.String(), "No module named 'torch'") {
		Missing(t, "python3-torch unavailable on "+Python+" (make setup installs it)")
	}
	if err != nil {
		t.Fatalf("%s: %v: %s", what, err, stderr.String())
	}
	return out
}
