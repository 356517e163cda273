package corpus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WriteFile writes atomically and readable by others (0644), as every other
// output; the file reads back to the same sentences.
func TestWriteFileModeAndRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pred.tsv")
	ss := []Sentence{{Tokens: []Token{{Text: "renal", Tag: "B-Disease"}, {Text: "failure", Tag: "I-Disease"}}}}
	require.NoError(t, WriteFile(p, ss))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	c, err := ReadFile(p)
	require.NoError(t, err)
	require.Len(t, c.Sentences, 1)
	assert.Equal(t, []string{"B-Disease", "I-Disease"}, c.Sentences[0].Tags())
	ents, err := os.ReadDir(filepath.Dir(p))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary file left")
}
