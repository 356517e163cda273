package onnx_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
)

// requireORT loads ONNX Runtime; skips when absent, fails under CI=true.
func requireORT(t *testing.T) {
	t.Helper()
	if _, err := tagger.InitORT(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX Runtime unavailable under CI=true (make setup installs it): %v", err)
		}
		t.Skipf("ONNX Runtime unavailable (run `make setup` or set %s): %v", tagger.EnvORTLib, err)
	}
}

// TestActivationOpsMatchFormulas runs the activation helpers through ONNX
// Runtime and compares them with HF's formulas evaluated in float64:
// gelu = 0.5x(1+erf(x/√2)), gelu_new = 0.5x(1+tanh(√(2/π)(x+0.044715x³))),
// relu, silu = x·σ(x).
func TestActivationOpsMatchFormulas(t *testing.T) {
	requireORT(t)
	b := onnx.NewBuilder("acts")
	n := int64(41)
	x := b.Input("x", onnx.Float, onnx.Fixed(n))
	outs := map[string]func(float64) float64{
		"gelu":     func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) },
		"gelu_new": func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))) },
		"relu":     func(v float64) float64 { return math.Max(v, 0) },
		"silu":     func(v float64) float64 { return v / (1 + math.Exp(-v)) },
	}
	names := []string{"gelu", "gelu_new", "relu", "silu"}
	b.Output(b.GeluErf(x), "gelu", onnx.Float, onnx.Fixed(n))
	b.Output(b.GeluTanh(x), "gelu_new", onnx.Float, onnx.Fixed(n))
	b.Output(b.Relu(x), "relu", onnx.Float, onnx.Fixed(n))
	b.Output(b.Silu(x), "silu", onnx.Float, onnx.Fixed(n))
	m, err := b.Model("openmed", "test")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "acts.onnx")
	require.NoError(t, onnx.WriteModel(path, m))

	in := make([]float32, n)
	for i := range in {
		in[i] = float32(i-20) * 0.25 // −5 … 5
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{"x"}, names, nil)
	require.NoError(t, err)
	defer s.Destroy()
	xt, err := ort.NewTensor(ort.NewShape(n), in)
	require.NoError(t, err)
	defer xt.Destroy()
	outputs := make([]ort.Value, len(names))
	require.NoError(t, s.Run([]ort.Value{xt}, outputs))
	for i, name := range names {
		got := outputs[i].(*ort.Tensor[float32]).GetData()
		for j, v := range in {
			// Elementwise, no sums: ORT's float32 erf/tanh/exp are a few ulp of |y| ≤ 5 (u·5 ≈ 3e-7).
			assert.InDelta(t, outs[name](float64(v)), float64(got[j]), 2e-6, "%s(%v)", name, v)
		}
		outputs[i].Destroy()
	}
}
