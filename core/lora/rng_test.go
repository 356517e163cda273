package lora

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/model"
)

// A restored RNG state reproduces the same dropout masks, so training resumes
// bit-identically.
func TestRNGStateRestoresDropoutMask(t *testing.T) {
	base := model.NewLinear("q", 8, 4, true)
	for i := range base.Weight.Value.Data {
		base.Weight.Value.Data[i] = float32(i%5) * 0.1
	}
	l := NewLinear("q", base, 2, 1, 0.5, 7)
	for i := range l.B.Value.Data {
		l.B.Value.Data[i] = 0.3
	}
	l.SetTraining(true)
	x := make([]float32, 3*8)
	for i := range x {
		x[i] = float32(i) * 0.05
	}
	s := l.RNGState()
	y1 := make([]float32, 3*4)
	l.Forward(y1, x, 3)
	l.ResetCache()
	y2 := make([]float32, 3*4)
	l.Forward(y2, x, 3)
	l.ResetCache()
	require.NotEqual(t, y1, y2, "successive masks differ")
	l.SetRNGState(s)
	y3 := make([]float32, 3*4)
	l.Forward(y3, x, 3)
	require.Equal(t, y1, y3)
}
