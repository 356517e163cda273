package hpo

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func curveTrial(number int, state TrialState, vals ...float64) FrozenTrial {
	t := FrozenTrial{Number: number, State: state}
	for i, v := range vals {
		t.setIntermediate(i, v)
	}
	if state == StateComplete && len(vals) > 0 {
		v := vals[len(vals)-1]
		t.Value = &v
	}
	return t
}

func TestMedianPrunerStartupAndMedian(t *testing.T) {
	p := DefaultMedianPruner()
	require.NoError(t, p.Validate())
	var hist []FrozenTrial
	// Completed curves at step 0: 0.5, 0.6, 0.7, 0.8 → fewer than 5 completed: never prune.
	for i, v := range []float64{0.5, 0.6, 0.7, 0.8} {
		hist = append(hist, curveTrial(i, StateComplete, v, v+0.05))
	}
	bad := curveTrial(10, StateRunning, 0.1)
	assert.False(t, p.Prune(Maximize, hist, bad), "n_startup_trials=5 not reached")
	hist = append(hist, curveTrial(4, StateComplete, 0.9, 0.95))
	// Median at step 0 of {0.5,…,0.9} is 0.7.
	assert.True(t, p.Prune(Maximize, hist, bad))
	assert.True(t, p.Prune(Maximize, hist, curveTrial(10, StateRunning, 0.69)))
	assert.False(t, p.Prune(Maximize, hist, curveTrial(10, StateRunning, 0.7)), "equal to the median is not worse")
	assert.False(t, p.Prune(Maximize, hist, curveTrial(10, StateRunning, 0.8)))
	// Best-so-far counts: a trial that was good at step 0 but drops at step 1 is compared
	// by its best value (0.9) with the step-1 median (0.75).
	assert.False(t, p.Prune(Maximize, hist, curveTrial(10, StateRunning, 0.9, 0.2)))
	assert.True(t, p.Prune(Maximize, hist, curveTrial(10, StateRunning, 0.6, 0.7)))
	// Minimise flips the comparison.
	assert.False(t, p.Prune(Minimize, hist, bad))
	assert.True(t, p.Prune(Minimize, hist, curveTrial(10, StateRunning, 0.71)))
	// No completed trial reported step 5: median undefined → keep.
	assert.False(t, p.Prune(Maximize, hist, curveTrial(10, StateRunning, 0, 0, 0, 0, 0, 0)))
	// Pruned and running trials do not count towards the median or the start-up.
	hist2 := append([]FrozenTrial(nil), hist[:4]...)
	for i := 0; i < 3; i++ {
		hist2 = append(hist2, curveTrial(20+i, StatePruned, 0.0))
	}
	assert.False(t, p.Prune(Maximize, hist2, bad))
	// No report yet: nothing to judge.
	assert.False(t, p.Prune(Maximize, hist, FrozenTrial{Number: 11}))
}

func TestMedianPrunerWarmupAndInterval(t *testing.T) {
	var hist []FrozenTrial
	for i := 0; i < 5; i++ {
		hist = append(hist, curveTrial(i, StateComplete, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5))
	}
	p := MedianPruner{NStartupTrials: 5, NWarmupSteps: 2, IntervalSteps: 1, NMinTrials: 1}
	assert.False(t, p.Prune(Maximize, hist, curveTrial(9, StateRunning, 0.1)), "step 0 < warm-up 2")
	assert.False(t, p.Prune(Maximize, hist, curveTrial(9, StateRunning, 0.1, 0.1)), "step 1 < warm-up 2")
	assert.True(t, p.Prune(Maximize, hist, curveTrial(9, StateRunning, 0.1, 0.1, 0.1)))

	q := MedianPruner{NStartupTrials: 5, NWarmupSteps: 0, IntervalSteps: 2, NMinTrials: 1}
	assert.True(t, q.Prune(Maximize, hist, curveTrial(9, StateRunning, 0.1)), "step 0 opens an interval")
	assert.False(t, q.Prune(Maximize, hist, curveTrial(9, StateRunning, 0.1, 0.1)), "step 1 is inside [0, 2)")
	assert.True(t, q.Prune(Maximize, hist, curveTrial(9, StateRunning, 0.1, 0.1, 0.1)), "step 2 opens the next interval")

	r := MedianPruner{NStartupTrials: 0, NWarmupSteps: 0, IntervalSteps: 1, NMinTrials: 3}
	assert.False(t, r.Prune(Maximize, hist[:2], curveTrial(9, StateRunning, 0.1)), "fewer than n_min_trials at the step")
	assert.True(t, r.Prune(Maximize, hist[:3], curveTrial(9, StateRunning, 0.1)))
	assert.Error(t, MedianPruner{IntervalSteps: 0, NMinTrials: 1}.Validate())
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestNopPruner(t *testing.T) {
	hist := []FrozenTrial{curveTrial(0, StateComplete, 1)}
	assert.False(t, NopPruner{}.Prune(Maximize, hist, curveTrial(1, StateRunning, -100)))
	p, err := PrunerConfig{Kind: PrunerNone}.New()
	require.NoError(t, err)
	assert.IsType(t, NopPruner{}, p)
}
