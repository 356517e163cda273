package training

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/internal/testutil"
)

// A dropout override reaches the model's config (HF from_pretrained kwargs);
// nil keeps the base's values.
func TestLoadBaseWithDropout(t *testing.T) {
	dir := filepath.Join(testutil.SharedDir(t), "fixtures", "bert")
	labels, err := NewLabelSet([]string{"O", "B-X", "I-X"})
	require.NoError(t, err)
	m, _, err := LoadBase(dir, labels, 1)
	require.NoError(t, err)
	orig := m.Config.HiddenDropoutProb
	p := 0.25
	m2, _, err := LoadBaseWithDropout(dir, labels, 1, &p)
	require.NoError(t, err)
	assert.NotEqual(t, orig, p)
	assert.Equal(t, 0.25, m2.Config.HiddenDropoutProb)
	assert.Equal(t, 0.25, m2.Config.AttentionProbsDropoutProb)
	bad := -0.5
	c := DefaultConfig()
	c.Base, c.Train, c.Out, c.Dropout = dir, "x", t.TempDir(), &bad
	require.ErrorContains(t, c.validate(), "dropout")
}
