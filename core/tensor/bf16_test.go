package tensor

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/internal/testutil"
)

// requireBF16 is testutil.RequireBF16 for this package.
func requireBF16(t *testing.T) { testutil.RequireBF16(t, BF16CPU, BF16Available) }

// TestToBF16RoundsToNearestEven: ties go to the even mantissa, other values
// to the nearest bfloat16; NaN stays NaN, infinities and signed zero are kept.
func TestToBF16RoundsToNearestEven(t *testing.T) {
	in := []float32{
		1 + 1.0/256,            // halfway between 1 and 1+2⁻⁷: to even (1)
		1 + 3.0/256,            // halfway between 1+2⁻⁷ and 1+2⁻⁶: to even (1+2⁻⁶)
		1 + 1.0/256 + 1.0/4096, // above halfway: up
		-(1 + 1.0/512),         // below halfway: down
		float32(math.Inf(1)), float32(math.Copysign(0, -1)), float32(math.NaN()),
		math.MaxFloat32, // above the largest bf16 (0x7f7f): rounds to +Inf, as RNE gives
	}
	want := []float32{1, 1 + 1.0/64, 1 + 1.0/128, -1, float32(math.Inf(1)), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1))}
	bf := make([]uint16, len(in))
	ToBF16(bf, in)
	got := make([]float32, len(in))
	FromBF16(got, bf)
	for i := range in {
		if i == 6 {
			assert.True(t, math.IsNaN(float64(got[i])), "NaN")
			continue
		}
		assert.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "value %d (%g)", i, in[i])
	}
}

// roundBF16 is ToBF16 then FromBF16 for one slice.
func roundBF16(x []float32) []float32 {
	b := make([]uint16, len(x))
	ToBF16(b, x)
	out := make([]float32, len(x))
	FromBF16(out, b)
	return out
}

// TestGemmBF16MatchesRoundedOperands: GemmBF16 equals a float64 product of
// the bf16-rounded operands within fp32 accumulation error (k·2⁻²⁴·Σ|a·b|,
// the bound of the arithmetic, not of one kernel), for every transpose
// combination, padded strides, alpha and beta, on one thread and split
// over two (row and column splits).
func TestGemmBF16MatchesRoundedOperands(t *testing.T) {
	requireBF16(t)
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		for _, sh := range [][3]int{{37, 29, 50}, {300, 40, 96}, {40, 300, 96}, {128, 768, 64}} {
			m, n, k := sh[0], sh[1], sh[2]
			for _, ta := range []Transpose{NoTrans, Trans} {
				for _, tb := range []Transpose{NoTrans, Trans} {
					ar, ac := m, k
					if ta == Trans {
						ar, ac = k, m
					}
					br, bc := k, n
					if tb == Trans {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+2
					a, b, c := make([]float32, ar*lda), make([]float32, br*ldb), make([]float32, m*ldc)
					for i := range a {
						a[i] = float32(rng.NormFloat64())
					}
					for i := range b {
						b[i] = float32(rng.NormFloat64())
					}
					for i := range c {
						c[i] = float32(rng.NormFloat64())
					}
					c0 := append([]float32(nil), c...)
					alpha, beta := float32(0.5), float32(1)
					GemmBF16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					ra, rb := roundBF16(a), roundBF16(b)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var s, mag float64
							for p := 0; p < k; p++ {
								var av, bv float32
								if ta == Trans {
									av = ra[p*lda+i]
								} else {
									av = ra[i*lda+p]
								}
								if tb == Trans {
									bv = rb[j*ldb+p]
								} else {
									bv = rb[p*ldb+j]
								}
								s += float64(av) * float64(bv)
								mag += math.Abs(float64(av) * float64(bv))
							}
							want := float64(alpha)*s + float64(beta)*float64(c0[i*ldc+j])
							tol := float64(k+2)*math.Pow(2, -24)*(mag+math.Abs(float64(c0[i*ldc+j]))) + 1e-6
							if d := math.Abs(float64(c[i*ldc+j]) - want); d > tol {
								t.Fatalf("threads %d %v%v %dx%dx%d: C[%d,%d] = %g, want %g (|diff| %g > %g)", threads, ta, tb, m, n, k, i, j, c[i*ldc+j], want, d, tol)
							}
						}
						for j := n; j < ldc; j++ {
							require.Equal(t, c0[i*ldc+j], c[i*ldc+j], "padding of C touched")
						}
					}
				}
			}
		}
	}
}

// TestSetPrecision: the text form round-trips, unknown names are refused,
// and GemmParallel follows the selection (bf16 results differ from fp32 by
// bf16 rounding, not more).
func TestSetPrecision(t *testing.T) {
	for _, s := range []string{"fp32", "bf16"} {
		var p Precision
		require.NoError(t, p.UnmarshalText([]byte(s)))
		b, _ := p.MarshalText()
		assert.Equal(t, s, string(b))
	}
	_, err := ParsePrecision("fp16")
	require.EqualError(t, err, `unknown precision "fp16" (fp32 or bf16)`)
	requireBF16(t)
	defer func() { require.NoError(t, SetPrecision(FP32)) }()
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 64, 96, 128
	a, b := make([]float32, m*k), make([]float32, n*k)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	c32, c16 := make([]float32, m*n), make([]float32, m*n)
	GemmParallel(NoTrans, Trans, m, n, k, 1, a, k, b, k, 0, c32, n)
	require.NoError(t, SetPrecision(BF16))
	assert.Equal(t, BF16, CurrentPrecision())
	GemmParallel(NoTrans, Trans, m, n, k, 1, a, k, b, k, 0, c16, n)
	var maxd float64
	for i := range c32 {
		maxd = math.Max(maxd, math.Abs(float64(c32[i]-c16[i])))
	}
	// Each operand is off by ≤ 2⁻⁹ relative: |Δ| ≲ 2·2⁻⁹·Σ|a·b| ≈ 2⁻⁸·k·E|ab|.
	assert.Greater(t, maxd, 0.0, "bf16 selected but the result is exactly fp32's")
	assert.Less(t, maxd, float64(k)*math.Pow(2, -8))
	if os.Getenv("OPENMED_DEBUG") != "" {
		t.Logf("kernel %s, max |bf16 − fp32| %g", BF16Kernel(), maxd)
	}
}

// TestGemmBF16LargeBlocksInParallel: products big enough that oneDNN uses
// its scratchpad, split over two workers running at once (each block 2048
// rows), match the rounded-operand reference at sampled entries. Guards the
// per-call scratchpad: with oneDNN's shared library scratchpad two workers
// corrupted each other's blocks (errors of ~100 on entries of ~30).
func TestGemmBF16LargeBlocksInParallel(t *testing.T) {
	requireBF16(t)
	defer SetThreads(Threads())
	SetThreads(2)
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := 4096, 768, 768
	a, b, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	GemmBF16(NoTrans, Trans, m, n, k, 1, a, k, b, k, 0, c, n)
	ra, rb := roundBF16(a), roundBF16(b)
	for s := 0; s < 4000; s++ {
		i, j := rng.IntN(m), rng.IntN(n)
		var sum, mag float64
		for p := 0; p < k; p++ {
			v := float64(ra[i*k+p]) * float64(rb[j*k+p])
			sum += v
			mag += math.Abs(v)
		}
		tol := float64(k+2)*math.Pow(2, -24)*mag + 1e-6
		if d := math.Abs(sum - float64(c[i*n+j])); d > tol {
			t.Fatalf("C[%d,%d] = %g, want %g (|diff| %g > %g)", i, j, c[i*n+j], sum, d, tol)
		}
	}
}

// TestGemmBF16BatchedHeads: per-(sequence, head) scores q·kᵀ addressed in
// place inside [tokens, hidden] activations (k through transposed strides)
// equal the rounded-operand reference, on one worker and split over two.
func TestGemmBF16BatchedHeads(t *testing.T) {
	requireBF16(t)
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(7, 8))
	B, nh, L, d := 3, 2, 5, 4
	H := nh * d
	q, k := make([]float32, B*L*H), make([]float32, B*L*H)
	for i := range q {
		q[i], k[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	qb, kb := make([]uint16, len(q)), make([]uint16, len(k))
	ToBF16Parallel(qb, q)
	ToBF16Parallel(kb, k)
	rq, rk := roundBF16(q), roundBF16(k)
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		s := make([]float32, B*nh*L*L)
		for i := range s {
			s[i] = 1 // beta 1 adds it
		}
		GemmBF16Batched(B, nh, L, L, d, 0.5, qb, Strides4{L * H, d, H, 1}, kb, Strides4{L * H, d, 1, H}, 1, s, Strides4{nh * L * L, L * L, L, 1})
		for bi := 0; bi < B; bi++ {
			for h := 0; h < nh; h++ {
				for i := 0; i < L; i++ {
					for j := 0; j < L; j++ {
						var want float64
						for p := 0; p < d; p++ {
							want += float64(rq[bi*L*H+i*H+h*d+p]) * float64(rk[bi*L*H+j*H+h*d+p])
						}
						want = 0.5*want + 1
						got := s[((bi*nh+h)*L+i)*L+j]
						require.InDelta(t, want, got, 1e-5, "threads %d seq %d head %d (%d,%d)", threads, bi, h, i, j)
					}
				}
			}
		}
	}
	assert.Panics(t, func() {
		GemmBF16Batched(B, nh, L, L, d, 1, qb[:10], Strides4{L * H, d, H, 1}, kb, Strides4{L * H, d, 1, H}, 0, make([]float32, B*nh*L*L), Strides4{nh * L * L, L * L, L, 1})
	})
}
