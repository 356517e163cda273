package training

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tokenize"
)

// sharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("../shared not found: no go.mod above the working directory")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "data")); err != nil {
		t.Skipf("../shared not found: %s (data, fixtures and tokenizers live beside the repo root)", shared)
	}
	return shared
}

func pubmedTokenizer(t testing.TB) (*tokenize.Tokenizer, string) {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract")
	tok, err := tokenize.Load(dir)
	require.NoError(t, err)
	return tok, dir
}
