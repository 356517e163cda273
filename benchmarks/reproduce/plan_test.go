package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlan: the dry run lists the pre-training and every fine-tuning job
// with positive token counts, applies the caps and trains nothing.
func TestPlan(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 40, "BC5CDR-Chem", "NCBI-Disease")
	work := t.TempDir()
	o := tinyOptions(shared, data, work)
	o.FT.MaxMinutesPerJob, o.FT.TokensPerSecLoRA, o.FT.TokensPerSecFull = 0.01, 1000, 100 // 600 and 60 tokens
	ts, rows, err := Plan(o)
	require.NoError(t, err)
	assert.Equal(t, 80, ts.Sentences)
	require.Len(t, rows, 1+8)
	assert.Equal(t, "pretrain", rows[0].Job)
	for _, r := range rows {
		assert.Positive(t, r.Tokens, r.Job)
		if r.Job == "pretrain" {
			continue
		}
		want, _ := epochCap(2, 0.01, r.TokensPerSec, r.Tokens)
		assert.Equal(t, want, r.Epochs, r.Job)
		assert.Equal(t, 1, r.Epochs, "%s: 40 sentences are more than 600 tokens, the cap gives 1 epoch", r.Job)
		assert.NotEmpty(t, r.CapReason)
	}
	st, err := loadState(filepath.Join(work, "pretrain"), "pretrain")
	require.NoError(t, err)
	assert.Equal(t, StatusPending, st.Status, "a plan trains nothing")
	assert.Contains(t, FormatPlan(ts, rows), "| NCBI-Disease/full-random |")
}
