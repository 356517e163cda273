package dapt

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/loss"
)

// The float32 MLM loss matches training/loss's float64 cross-entropy and its
// gradient.
func TestMLMLossMatchesCrossEntropy(t *testing.T) {
	const k, V = 7, 301
	logits := make([]float32, k*V)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)*0.37)) * 6
	}
	labels := []int32{0, 5, 300, 17, 17, 250, 99}
	want := make([]float32, k*V)
	wl, n := loss.CrossEntropy(logits, k, V, labels, 0, want)
	require.Equal(t, k, n)
	got := make([]float32, k*V)
	gl, correct, err := mlmLoss(logits, k, V, labels, got)
	require.NoError(t, err)
	require.InDelta(t, float64(wl), gl, 1e-5)
	for i := range want {
		require.InDelta(t, want[i], got[i], 1e-6, "dlogit %d", i)
	}
	nl, _, err := mlmLoss(logits, k, V, labels, nil)
	require.NoError(t, err)
	require.Equal(t, gl, nl)
	require.GreaterOrEqual(t, correct, 0)
	_, _, err = mlmLoss(logits, k, V, []int32{0, 1, 2, 3, 4, 5, 301}, nil)
	require.ErrorContains(t, err, "outside")
}
