package tensor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGemmChecksShared: Sgemm and Dgemm refuse the same short operands with
// the same message, naming their own function, the operand and its shape.
func TestGemmChecksShared(t *testing.T) {
	a32, b32, c32 := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	a64, b64, c64 := make([]float64, 6), make([]float64, 6), make([]float64, 4)
	assert.PanicsWithValue(t, "tensor.Sgemm: operand B of 3x2 (ld 2) needs 6 values, has 5", func() {
		Sgemm(NoTrans, NoTrans, 2, 2, 3, 1, a32, 3, b32[:5], 2, 0, c32, 2)
	})
	assert.PanicsWithValue(t, "tensor.Dgemm: operand B of 3x2 (ld 2) needs 6 values, has 5", func() {
		Dgemm(NoTrans, NoTrans, 2, 2, 3, 1, a64, 3, b64[:5], 2, 0, c64, 2)
	})
	assert.PanicsWithValue(t, "tensor.Sgemm: operand A of 3x2 (ld 1) needs 4 values, has 6", func() {
		Sgemm(Trans, NoTrans, 2, 2, 3, 1, a32, 1, b32, 2, 0, c32, 2)
	})
	assert.PanicsWithValue(t, "tensor.Dgemm: operand C of 2x2 (ld 2) needs 4 values, has 3", func() {
		Dgemm(NoTrans, NoTrans, 2, 2, 3, 1, a64, 3, b64, 2, 0, c64[:3], 2)
	})
}

// TestGemmDegenerateShapes: m or n zero leaves C alone, k zero scales C by
// beta, for both precisions.
func TestGemmDegenerateShapes(t *testing.T) {
	c32 := []float32{1, 2, 9, 3, 4, 9}
	Sgemm(NoTrans, NoTrans, 0, 2, 3, 1, nil, 3, nil, 2, 5, c32, 3)
	Sgemm(NoTrans, NoTrans, 2, 2, 0, 1, nil, 0, nil, 2, 2, c32, 3)
	assert.Equal(t, []float32{2, 4, 9, 6, 8, 9}, c32)
	c64 := []float64{1, 2, 9, 3, 4, 9}
	Dgemm(NoTrans, NoTrans, 2, 0, 3, 1, nil, 3, nil, 0, 5, c64, 3)
	Dgemm(NoTrans, NoTrans, 2, 2, 0, 1, nil, 0, nil, 2, 2, c64, 3)
	assert.Equal(t, []float64{2, 4, 9, 6, 8, 9}, c64)
}

// TestSgemmNoAlloc: the checks on Sgemm's hot path allocate nothing.
func TestSgemmNoAlloc(t *testing.T) {
	a, b, c := make([]float32, 16), make([]float32, 16), make([]float32, 16)
	allocs := testing.AllocsPerRun(100, func() {
		Sgemm(NoTrans, Trans, 4, 4, 4, 1, a, 4, b, 4, 0, c, 4)
	})
	require.Zero(t, allocs)
}

// BenchmarkSgemmTiny times a 4×4×4 Sgemm, where the argument checks and the
// cgo call, not the arithmetic, dominate.
func BenchmarkSgemmTiny(b *testing.B) {
	x, y, c := make([]float32, 16), make([]float32, 16), make([]float32, 16)
	b.ReportAllocs()
	for b.Loop() {
		Sgemm(NoTrans, Trans, 4, 4, 4, 1, x, 4, y, 4, 0, c, 4)
	}
}

// BenchmarkDgemmTiny is BenchmarkSgemmTiny in float64.
func BenchmarkDgemmTiny(b *testing.B) {
	x, y, c := make([]float64, 16), make([]float64, 16), make([]float64, 16)
	b.ReportAllocs()
	for b.Loop() {
		Dgemm(NoTrans, Trans, 4, 4, 4, 1, x, 4, y, 4, 0, c, 4)
	}
}
