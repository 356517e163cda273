package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCurveRowsInProgress: while pre-training runs (no mlm_curve.jsonl yet)
// the curve is step 0 from heldout_before.json plus metrics.jsonl's
// evaluation lines, step lines skipped.
func TestCurveRowsInProgress(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "heldout_before.json"), []byte(`{"loss": 10.3, "accuracy": 0}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(
		`{"type":"step","step":10,"loss":9.9}
{"type":"eval","step":20,"heldout_loss":9.5,"heldout_accuracy":0.03,"train_loss_since_eval":9.8}
{"type":"step","step":30,"loss":9.1}
{"type":"eval","step":40,"heldout_loss":8.7,"heldout_accuracy":0.05}
`), 0o644))
	rows, err := curveRows(dir)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.EqualValues(t, 0, rows[0]["step"])
	assert.InDelta(t, 10.3, toF(rows[0]["heldout_loss"]), 1e-12)
	assert.EqualValues(t, 20, rows[1]["step"])
	assert.InDelta(t, 9.8, toF(rows[1]["train_loss"]), 1e-12)
	assert.EqualValues(t, 40, rows[2]["step"])

	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte("{bad\n"), 0o644))
	_, err = curveRows(dir)
	assert.ErrorContains(t, err, "metrics.jsonl:1")
}
