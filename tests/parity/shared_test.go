// Package parity holds cross-language tests: openmed's Go training code
// against small PyTorch peers (benchmarks/training/*.py) run on the same
// data from the same initial weights.
package parity

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/openmed/openmed/internal/testutil"
)

// python is the Debian interpreter that has python3-torch (never the pyenv one on PATH).
const python = "/usr/bin/python3"

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot(t testing.TB) string {
	return testutil.Root(t)
}

// sharedDir returns ../shared beside the repository root, skipping the test
// when it is absent (CI always has it).
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

// requireTorch skips when /usr/bin/python3 cannot import torch, except under
// CI=true, where the peer is part of the contract (make setup installs
// python3-torch) and its absence fails the test.
func requireTorch(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import torch, numpy").CombinedOutput()
	if err == nil {
		return
	}
	msg := "PyTorch peer unavailable: `" + python + " -c 'import torch, numpy'` failed (" + err.Error() + "): " + string(out) +
		" — install Debian python3-torch and python3-numpy (make setup)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
