package training

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
)

// sharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

func pubmedTokenizer(t testing.TB) (*tokenize.Tokenizer, string) {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract")
	tok, err := tokenize.Load(dir)
	require.NoError(t, err)
	return tok, dir
}
