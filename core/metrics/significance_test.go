package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentileMatchesNumpyLinear(t *testing.T) {
	v := []float64{1, 2, 3, 4}
	// numpy.percentile([1,2,3,4], [0, 25, 50, 97.5, 100]) = 1, 1.75, 2.5, 3.925, 4
	assert.InDelta(t, 1.0, percentile(v, 0), eps)
	assert.InDelta(t, 1.75, percentile(v, 0.25), eps)
	assert.InDelta(t, 2.5, percentile(v, 0.5), eps)
	assert.InDelta(t, 3.925, percentile(v, 0.975), eps)
	assert.InDelta(t, 4.0, percentile(v, 1), eps)
}

func TestARSelfComparisonIsOne(t *testing.T) {
	gold := seqs("B-A I-A O", "O B-B", "B-A O O")
	pred := seqs("B-A O O", "O B-B", "O O B-A")
	res, err := ApproximateRandomization(gold, pred, pred, WithShuffles(500))
	require.NoError(t, err)
	assert.Equal(t, 1.0, res.PValue)
	assert.Equal(t, 500, res.Exceed)
	assert.Equal(t, 0.0, res.Diff)
}

// With a single differing sentence every shuffle either keeps or mirrors the
// observed difference, so every shuffle reaches it: p = 1.
func TestARSingleDifferingSentence(t *testing.T) {
	gold := seqs("B-A O", "B-A O", "O B-A")
	a := seqs("B-A O", "B-A O", "O B-A")
	b := seqs("B-A O", "B-A O", "O O")
	res, err := ApproximateRandomization(gold, a, b, WithShuffles(200))
	require.NoError(t, err)
	assert.InDelta(t, 1.0, res.F1A, eps)
	assert.InDelta(t, 0.8, res.F1B, eps) // tp 2, pred 2, gold 3: 4/5
	assert.Equal(t, 1.0, res.PValue)
}

func TestARPValueRuleAndDeterminism(t *testing.T) {
	gold, a, b := syntheticSystems(400)
	r1, err := ApproximateRandomization(gold, a, b, WithShuffles(999), WithSeed(7))
	require.NoError(t, err)
	r2, err := ApproximateRandomization(gold, a, b, WithShuffles(999), WithSeed(7))
	require.NoError(t, err)
	assert.Equal(t, r1, r2)
	assert.InDelta(t, float64(r1.Exceed+1)/1000, r1.PValue, eps)
	assert.Greater(t, r1.PValue, 0.0)
	assert.LessOrEqual(t, r1.PValue, 1.0)
	// A and B swapped: same p-value, negated difference.
	r3, err := ApproximateRandomization(gold, b, a, WithShuffles(999), WithSeed(7))
	require.NoError(t, err)
	assert.InDelta(t, -r1.Diff, r3.Diff, eps)
}

// syntheticSystems builds n one-entity sentences; A finds 90% of them, B 80%
// (different sentences), deterministic.
func syntheticSystems(n int) (gold, a, b [][]string) {
	for i := 0; i < n; i++ {
		gold = append(gold, []string{"B-X", "I-X", "O"})
		miss := []string{"O", "O", "O"}
		if i%10 == 3 {
			a = append(a, miss)
		} else {
			a = append(a, []string{"B-X", "I-X", "O"})
		}
		if i%5 == 1 {
			b = append(b, miss)
		} else {
			b = append(b, []string{"B-X", "I-X", "O"})
		}
	}
	return gold, a, b
}

func TestBootstrap(t *testing.T) {
	gold, a, b := syntheticSystems(400)
	iv, err := Bootstrap(gold, gold, WithResamples(300))
	require.NoError(t, err)
	assert.Equal(t, Interval{Estimate: 1, Lower: 1, Upper: 1, Level: 0.95, Resamples: 300, Seed: 1}, iv)

	iv, err = Bootstrap(gold, a, WithResamples(2000))
	require.NoError(t, err)
	// A: tp 360, pred 360, gold 400 -> F1 = 720/760.
	assert.InDelta(t, 720.0/760, iv.Estimate, eps)
	assert.Less(t, iv.Lower, iv.Estimate)
	assert.Greater(t, iv.Upper, iv.Estimate)
	// Recall 0.9 over 400 sentences has a standard error of 0.015; the F1
	// interval must be of that order, not degenerate and not huge.
	assert.Greater(t, iv.Upper-iv.Lower, 0.01)
	assert.Less(t, iv.Upper-iv.Lower, 0.08)

	d, err := BootstrapDiff(gold, a, b, WithResamples(2000))
	require.NoError(t, err)
	fb := 640.0 / 720 // B: tp 320, pred 320, gold 400
	assert.InDelta(t, 720.0/760-fb, d.Estimate, eps)
	assert.Greater(t, d.Lower, 0.0, "A is clearly better: the interval excludes 0")

	self, err := BootstrapDiff(gold, a, a, WithResamples(100))
	require.NoError(t, err)
	assert.Equal(t, 0.0, self.Lower)
	assert.Equal(t, 0.0, self.Upper)

	_, err = Bootstrap(gold, a, WithConfidence(1.5))
	assert.Error(t, err)
	assert.False(t, math.IsNaN(iv.Lower))
}
