package checkpoint

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFloat32ToHalf(t *testing.T) {
	exact := map[float32]uint16{0: 0, 1: 0x3c00, -2: 0xc000, 0.5: 0x3800, 65504: 0x7bff, 6.103515625e-05: 0x0400,
		5.960464477539063e-08: 0x0001, 1.0009765625: 0x3c01}
	for f, h := range exact {
		assert.Equal(t, h, Float32ToHalf(f), "%g", f)
		assert.Equal(t, f, HalfToFloat32(h), "%g", f)
	}
	assert.Equal(t, uint16(0x7c00), Float32ToHalf(70000))                 // overflow
	assert.Equal(t, uint16(0xfc00), Float32ToHalf(float32(math.Inf(-1)))) // -Inf
	assert.True(t, math.IsNaN(float64(HalfToFloat32(Float32ToHalf(float32(math.NaN()))))))
	assert.Equal(t, uint16(0), Float32ToHalf(1e-9))
	// Ties go to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
	assert.Equal(t, uint16(0x3c00), Float32ToHalf(1+1.0/2048))
	assert.Equal(t, uint16(0x3c02), Float32ToHalf(1+3.0/2048))
	// Every value round-trips within half an F16 ulp (relative 2^-11 for normals).
	for _, f := range []float32{0.1, -0.02, 3.14159, 1234.5, 1e-3, -7e-5, 0.0191} {
		g := HalfToFloat32(Float32ToHalf(f))
		tol := math.Max(math.Abs(float64(f))/2048, math.Pow(2, -25))
		assert.InDelta(t, f, g, tol, "%g", f)
	}
}

func TestWriteSafetensorsF16RoundTrip(t *testing.T) {
	a, err := tensor.FromData([]float32{0.1, -0.25, 3, 1e-4, 0.02, -7}, 2, 3)
	require.NoError(t, err)
	b, err := tensor.FromData([]float32{42}, 1)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, WriteSafetensorsF16(p, map[string]*tensor.Tensor{"w.a": a, "w.b": b}, map[string]string{"format": "pt"}))
	got, meta, err := ReadSafetensorsWithMetadata(p)
	require.NoError(t, err)
	assert.Equal(t, "pt", meta["format"])
	require.Contains(t, got, "w.a")
	assert.Equal(t, []int{2, 3}, got["w.a"].Shape)
	for i, v := range a.Data {
		assert.InDelta(t, v, got["w.a"].Data[i], math.Abs(float64(v))/1024)
	}
	assert.Equal(t, []float32{42}, got["w.b"].Data)
}
