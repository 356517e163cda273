package lora

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
)

// TestMergeDropsBF16Cache: merging or unmerging changes the base weight in
// place, so the bf16 copy of it must go: a bf16 forward after Merge equals
// one that converts the merged weight per call.
func TestMergeDropsBF16Cache(t *testing.T) {
	testutil.RequireBF16(t, tensor.BF16CPU, tensor.BF16Available)
	restore, err := tensor.UsePrecision(tensor.BF16)
	require.NoError(t, err)
	defer restore()
	base := model.NewLinear("q", 8, 8, true)
	base.Weight.Grad, base.Bias.Grad = nil, nil
	for i := range base.Weight.Value.Data {
		base.Weight.Value.Data[i] = float32(i%7) * 0.1
	}
	l := NewLinear("q", base, 2, 2, 0, 1)
	for i := range l.B.Value.Data {
		l.B.Value.Data[i] = 0.3
	}
	l.CacheBF16()
	l.Merge()
	x := make([]float32, 3*8)
	for i := range x {
		x[i] = float32(i%5) - 2
	}
	got := make([]float32, 3*8)
	base.Forward(got, x, 3)
	fresh := model.NewLinear("q", 8, 8, true)
	copy(fresh.Weight.Value.Data, base.Weight.Value.Data)
	copy(fresh.Bias.Value.Data, base.Bias.Value.Data)
	want := make([]float32, 3*8)
	fresh.Forward(want, x, 3)
	require.Equal(t, want, got, "forward after Merge used the stale bf16 weight")
}
