package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/search"
)

// `openmed study` prints the trials of a search folder's study, best first,
// and names the folder it cannot open.
func TestStudyCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := hpo.DefaultConfig()
	cfg.Space = hpo.Space{hpo.FloatLog(hpo.ParamLearningRate, 1e-5, 1e-3), hpo.Categorical(hpo.ParamBatchSize, 8, 16)}
	st, err := hpo.Create(filepath.Join(dir, search.StudyDir), cfg)
	require.NoError(t, err)
	obj := func(ctx context.Context, tr *hpo.Trial) (float64, error) {
		return float64(tr.Number()) / 10, nil // the last trial is the best (maximised)
	}
	require.NoError(t, st.Optimize(context.Background(), obj, hpo.RunOptions{NTrials: 3}))

	out, err := runStdout(newStudyCmd(), dir)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "3 trials: 3 complete, 0 pruned, 0 failed, 0 running", lines[0])
	require.Equal(t, "| trial | state | value | steps | wall | learning_rate | batch_size |", lines[2])
	require.True(t, strings.HasPrefix(lines[4], "| 2 | complete | 0.2000 |"), lines[4])
	require.True(t, strings.HasPrefix(lines[6], "| 0 | complete | 0.0000 |"), lines[6])

	// The study folder itself works too.
	out2, err := runStdout(newStudyCmd(), filepath.Join(dir, search.StudyDir))
	require.NoError(t, err)
	require.Equal(t, out, out2)

	_, err = runStdout(newStudyCmd(), filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, filepath.Join(dir, "missing"))
}
