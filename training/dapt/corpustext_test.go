package dapt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeSplit(t *testing.T, dir, corpus, split, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, corpus), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, corpus, split+".tsv"), []byte(text), 0o644))
}

// The text is the train splits only, each sentence once, minus any sentence
// that some corpus evaluates on.
func TestCorpusTextNeverEvalText(t *testing.T) {
	dir := t.TempDir()
	writeSplit(t, dir, "A", "train", "fever\tO\nand\tO\ncough\tO\n\nshared\tO\nsentence\tO\n\nleak\tO\nhere\tO\n\n")
	writeSplit(t, dir, "A", "test", "other\tO\n\n")
	writeSplit(t, dir, "B", "train", "shared\tO\nsentence\tO\n\nrenal\tO\nfailure\tO\n\n")
	writeSplit(t, dir, "B", "devel", "leak\tO\nhere\tO\n\n")
	lines, st, err := CorpusText(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"fever and cough", "shared sentence", "renal failure"}, lines)
	assert.Equal(t, []string{"A", "B"}, st.Corpora)
	assert.Equal(t, 5, st.Sentences)
	assert.Equal(t, 3, st.Unique)
	assert.Equal(t, 1, st.DroppedEval, "B's devel sentence is dropped from A's train text")
	assert.Equal(t, 7, st.Words)

	_, _, err = CorpusText(t.TempDir(), nil)
	assert.ErrorContains(t, err, "no train.tsv")
}
