package onnx

import (
	"os"
	"os/exec"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
)

// sharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

// pythonONNX returns /usr/bin/python3 when it can import onnx (Debian
// python3-onnx). Under CI=true its absence fails the test, since `make setup`
// installs it; elsewhere the test is skipped with a clear message.
func pythonONNX(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	out, err := exec.Command(py, "-c", "import onnx").CombinedOutput()
	if err != nil {
		msg := "python3-onnx unavailable on " + py + " (make setup installs it): " + string(out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}
