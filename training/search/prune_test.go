package search

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
)

// oddPruner prunes every odd-numbered trial as soon as it has reported a step.
type oddPruner struct{}

func (oddPruner) Prune(_ hpo.Direction, _ []hpo.FrozenTrial, tr hpo.FrozenTrial) bool {
	return tr.Number%2 == 1 && len(tr.Intermediate) > 0
}

// TestPrunedTrialStopsTraining checks the pruning path: a trial the pruner rejects
// after its first epoch stops training there (one dev-F1 report out of 3 epochs), is
// recorded as pruned with that value, and leaves no checkpoints behind.
func TestPrunedTrialStopsTraining(t *testing.T) {
	o := tinySetup(t, t.TempDir(), 4)
	o.Train.Epochs = 3
	o.Train.Patience = 0
	o.Pruner = oddPruner{}
	o.SkipFinal = true
	_, err := Run(context.Background(), o)
	require.NoError(t, err)
	st, err := hpo.Open(filepath.Join(o.Dir, StudyDir))
	require.NoError(t, err)
	trials, err := st.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 4)
	for _, tr := range trials {
		dir := TrialDir(o.Dir, tr.Number)
		assert.NoDirExists(t, filepath.Join(dir, "checkpoints"))
		if tr.Number%2 == 1 {
			assert.Equal(t, hpo.StatePruned, tr.State, "trial %d: %s", tr.Number, tr.Error)
			require.Len(t, tr.Intermediate, 1, "trial %d stopped after epoch 1", tr.Number)
			assert.Equal(t, 1, tr.Intermediate[0].Step)
			require.NotNil(t, tr.Value)
			assert.Equal(t, tr.Intermediate[0].Value, *tr.Value)
			assert.NoFileExists(t, filepath.Join(dir, "metrics.json"), "a pruned run has no final metrics")
		} else {
			assert.Equal(t, hpo.StateComplete, tr.State, "trial %d: %s", tr.Number, tr.Error)
			assert.Len(t, tr.Intermediate, 3)
		}
	}
	best, err := ReadBest(o.Dir)
	require.NoError(t, err)
	assert.Equal(t, 2, best.Pruned)
	assert.Equal(t, 2, best.Complete)
	assert.Nil(t, best.Final, "SkipFinal")
	assert.Equal(t, 0, best.Trial%2, "the best trial is a complete one")
}
