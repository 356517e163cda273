package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withThreads runs fn with the worker pool set to n threads, restoring the
// previous count afterwards.
func withThreads(tb testing.TB, n int, fn func()) {
	tb.Helper()
	prev := tensor.Threads()
	tensor.SetThreads(n)
	defer tensor.SetThreads(prev)
	fn()
}

// randomParams builds trainable parameters of the given sizes (some
// excluded from decay) with values and per-step gradients from a fixed seed.
func randomParams(sizes []int, seed uint64) []*tensor.Param {
	r := rand.New(rand.NewPCG(seed, 3))
	var ps []*tensor.Param
	for i, n := range sizes {
		v, g := tensor.New(n), tensor.New(n)
		for j := range v.Data {
			v.Data[j] = float32(r.NormFloat64())
		}
		ps = append(ps, &tensor.Param{Name: fmt.Sprintf("p%d", i), Value: v, Grad: g, NoDecay: i%3 == 1})
	}
	return ps
}

func fillGrads(ps []*tensor.Param, r *rand.Rand, scale float64) {
	for _, p := range ps {
		for j := range p.Grad.Data {
			p.Grad.Data[j] = float32(r.NormFloat64() * scale)
		}
	}
}

// serialAdamW is the single-threaded update this package used before Step
// was split over the worker pool (torch 1.13 _single_tensor_adamw: a decay
// pass, then the moment and parameter update), kept as the reference.
func serialAdamW(ps []*tensor.Param, m, v [][]float32, cfg AdamWConfig, lr float64, step int64) {
	t := float64(step)
	bc1 := 1 - math.Pow(cfg.Beta1, t)
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(cfg.Beta2, t)))
	stepSize := float32(-(lr / bc1))
	b1f, b2f := float32(cfg.Beta1), float32(cfg.Beta2)
	a1, a2 := float32(1-cfg.Beta1), float32(1-cfg.Beta2)
	eps := float32(cfg.Eps)
	for i, p := range ps {
		w, g, m, v := p.Value.Data, p.Grad.Data, m[i], v[i]
		if cfg.WeightDecay != 0 && !p.NoDecay {
			decay := float32(1 - lr*cfg.WeightDecay)
			for j := range w {
				w[j] *= decay
			}
		}
		for j := range w {
			gj := g[j]
			m[j] = m[j]*b1f + a1*gj
			v[j] = v[j]*b2f + a2*gj*gj
			denom := float32(math.Sqrt(float64(v[j])))/bc2Sqrt + eps
			w[j] += stepSize * m[j] / denom
		}
	}
}

func TestAdamWStepIsBitIdenticalAcrossThreadCounts(t *testing.T) {
	// Odd sizes so chunk boundaries fall inside parameters and across them.
	sizes := []int{50_021, 1, 33_331, 7, 20_011, 3, 17_389}
	total := 0
	for _, n := range sizes {
		total += n
	}
	require.GreaterOrEqual(t, total/adamwMinChunk, 5, "5 threads must really split the update")
	const steps = 6
	type result struct{ w, m, v [][]float32 }
	run := func(threads int) result {
		ps := randomParams(sizes, 42)
		var o *AdamW
		withThreads(t, threads, func() {
			var err error
			o, err = NewAdamW(ps, WithLR(3e-3), WithWeightDecay(0.1))
			require.NoError(t, err)
			r := rand.New(rand.NewPCG(9, 9))
			for s := range steps {
				fillGrads(ps, r, []float64{1, 0.01, 5}[s%3])
				o.SetLR(3e-3 * float64(steps-s) / steps)
				o.Step()
			}
		})
		var res result
		for i, p := range ps {
			res.w = append(res.w, p.Value.Data)
			res.m = append(res.m, o.m[i])
			res.v = append(res.v, o.v[i])
		}
		return res
	}

	// Reference: the previous single-threaded loop.
	ps := randomParams(sizes, 42)
	cfg := DefaultAdamWConfig()
	cfg.LR, cfg.WeightDecay = 3e-3, 0.1
	ref := result{}
	for _, p := range ps {
		ref.m = append(ref.m, make([]float32, len(p.Value.Data)))
		ref.v = append(ref.v, make([]float32, len(p.Value.Data)))
	}
	r := rand.New(rand.NewPCG(9, 9))
	for s := range steps {
		fillGrads(ps, r, []float64{1, 0.01, 5}[s%3])
		serialAdamW(ps, ref.m, ref.v, cfg, 3e-3*float64(steps-s)/steps, int64(s+1))
	}
	init := randomParams(sizes, 42)
	for i, p := range ps {
		ref.w = append(ref.w, p.Value.Data)
		require.NotEqual(t, init[i].Value.Data, p.Value.Data, "parameter %d moved", i)
	}

	for _, n := range []int{1, 2, 5} {
		got := run(n)
		for i := range sizes {
			// Compare bit patterns: assert.Equal on floats would accept -0 == +0.
			assert.Equal(t, bits(ref.w[i]), bits(got.w[i]), "threads=%d param %d values", n, i)
			assert.Equal(t, bits(ref.m[i]), bits(got.m[i]), "threads=%d param %d exp_avg", n, i)
			assert.Equal(t, bits(ref.v[i]), bits(got.v[i]), "threads=%d param %d exp_avg_sq", n, i)
		}
	}
}

func bits(x []float32) []uint32 {
	out := make([]uint32, len(x))
	for i, f := range x {
		out[i] = math.Float32bits(f)
	}
	return out
}

// BenchmarkAdamWStep times one Step over a 10.8M-value parameter set shaped
// like a small encoder fine-tuned in full: 28,895×256 word embeddings plus
// four 256-wide layers (attention 4×256², FFN 2×256×1024, biases, LayerNorms).
// "previous-serial" is the single-threaded loop Step replaced (separate decay
// pass). Run: go test -p 1 -run '^$' -bench AdamWStep -benchtime 20x ./training/optim
func BenchmarkAdamWStep(b *testing.B) {
	sizes := []int{28_895 * 256, 512 * 256, 256, 256}
	for range 4 {
		sizes = append(sizes, 256*256, 256, 256*256, 256, 256*256, 256, 256*256, 256, 256, 256,
			256*1024, 1024, 1024*256, 256, 256, 256)
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	// Values from a fixed seed, so the maths is ordinary (no denormals).
	ps := randomParams(sizes, 1)
	fillGrads(ps, rand.New(rand.NewPCG(2, 2)), 0.1)
	b.Run(fmt.Sprintf("params=%.1fM/previous-serial", float64(total)/1e6), func(b *testing.B) {
		cfg := DefaultAdamWConfig()
		cfg.LR = 1e-5
		var m, v [][]float32
		for _, n := range sizes {
			m, v = append(m, make([]float32, n)), append(v, make([]float32, n))
		}
		b.SetBytes(int64(total) * 4 * 7)
		step := int64(0)
		for b.Loop() {
			step++
			serialAdamW(ps, m, v, cfg, cfg.LR, step)
		}
	})
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("params=%.1fM/threads=%d", float64(total)/1e6, threads), func(b *testing.B) {
			withThreads(b, threads, func() {
				o, err := NewAdamW(ps, WithLR(1e-5), WithWeightDecay(0.01))
				require.NoError(b, err)
				b.SetBytes(int64(total) * 4 * 7) // reads p, g, m, v; writes p, m, v
				for b.Loop() {
					o.Step()
				}
			})
		})
	}
}
