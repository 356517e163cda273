// Package testutil holds the helpers every test package needs to find the
// repository root and the read-only ../shared folder (corpora, tokenizers and
// Hugging Face fixtures) that sits beside it.
//
// Tests that need ../shared skip with a clear message when it is absent (a
// user's clone), but fail under CI=true, where it is always present, so that a
// missing folder can never turn a parity test into a silent skip.
package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, searching upwards from the
// working directory (the package directory under `go test`).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Root is RepoRoot for tests: it fails the test when the root cannot be found.
func Root(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// SharedDir returns the absolute path of ../shared beside the repository
// root. When ../shared (or ../shared/<sub...>, if given) is missing it skips
// the test with a message naming the path, or fails it under CI=true.
func SharedDir(t testing.TB, sub ...string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		Missing(t, "../shared not found: "+err.Error())
	}
	shared := filepath.Join(filepath.Dir(root), "shared")
	want := filepath.Join(append([]string{shared}, sub...)...)
	if _, err := os.Stat(want); err != nil {
		Missing(t, "../shared not found: "+want+" is missing (the corpora, tokenizers and HF fixtures live there; CI always has it)")
	}
	return shared
}

// Missing skips the test with msg, or fails it when CI=true (CI installs or
// provides everything a test needs, so a missing prerequisite is a failure).
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
