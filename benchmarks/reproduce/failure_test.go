package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailedJobRecordedAndDependentsBlocked: a malformed training file fails
// its job (error with file:line in job.json, status failed) without
// stopping the others; a job whose encoder is not done is blocked.
func TestFailedJobRecordedAndDependentsBlocked(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 20, "NCBI-Disease", "BC5CDR-Chem")
	bad := filepath.Join(data, "NCBI-Disease", "train.tsv")
	require.NoError(t, os.WriteFile(bad, []byte("Aspirin\tB-Disease\nbad line with no tag column\n"), 0o644))
	work := t.TempDir()
	o := tinyOptions(shared, data, work)
	o.Jobs = []string{"*/full-random"}
	rep, err := Run(context.Background(), o, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, []string{"NCBI-Disease/full-random"}, rep.Failed)
	assert.Equal(t, []string{"randinit", "BC5CDR-Chem/full-random"}, rep.Ran)
	st := readState(t, work, "NCBI-Disease/full-random")
	assert.Equal(t, StatusFailed, st.Status)
	assert.Contains(t, st.Error, "train.tsv:2")

	// A failing pre-training (its text includes the malformed train file)
	// blocks the jobs that fine-tune from it.
	o.Jobs = []string{"BC5CDR-Chem/lora-pretrained"}
	rep, err = Run(context.Background(), o, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, []string{"pretrain"}, rep.Failed)
	assert.Equal(t, []string{"BC5CDR-Chem/lora-pretrained"}, rep.Blocked)
	assert.Contains(t, readState(t, work, "pretrain").Error, "NCBI-Disease/train.tsv:2")
	assert.Equal(t, StatusPending, readState(t, work, "BC5CDR-Chem/lora-pretrained").Status)
	rep, err = Run(context.Background(), Options{}, Hooks{})
	assert.Error(t, err)
	assert.Nil(t, rep)
}
