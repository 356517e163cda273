package tensor

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/internal/testutil"
)

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64()) * scale
	}
	return s
}

// weightedSum is Σ y·w in float64, the scalar loss whose gradient with
// respect to y is w, used to check a layer's backward pass.
func weightedSum(y, w []float32) float64 {
	var s float64
	for i, v := range y {
		s += float64(v) * float64(w[i])
	}
	return s
}

// biasActProbe sets up a gradient check of BiasAct and ActBackward: loss is
// Σ w·act(z+bias) evaluated from the current z (GradCheck perturbs z), pre
// holds z+bias as the last evaluation left it, and dz is the gradient
// ActBackward gives at z.
func biasActProbe(z, bias, w []float32, rows, cols int, act Activation) (loss func() float64, pre, dz []float32) {
	y := make([]float32, rows*cols)
	pre = make([]float32, rows*cols)
	loss = func() float64 {
		copy(pre, z)
		BiasAct(y, pre, bias, rows, cols, act)
		return weightedSum(y, w)
	}
	loss()
	dz = make([]float32, rows*cols)
	ActBackward(dz, w, pre, act)
	return loss, pre, dz
}

func naiveGemm(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if ta == NoTrans {
					av = a[i*lda+p]
				} else {
					av = a[p*lda+i]
				}
				if tb == NoTrans {
					bv = b[p*ldb+j]
				} else {
					bv = b[j*ldb+p]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

// gemmScale is, per element of C, the magnitude of the terms of
// alpha·op(A)·op(B) + beta·C: |alpha|·Σ|a·b| + |beta·c|, the scale a
// reordering tolerance is relative to.
func gemmScale(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float32 {
	abs := func(x []float32) []float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = float32(math.Abs(float64(v)))
		}
		return y
	}
	out := abs(c)
	naiveGemm(ta, tb, m, n, k, float32(math.Abs(float64(alpha))), abs(a), lda, abs(b), ldb, float32(math.Abs(float64(beta))), out, ldc)
	return out
}

func TestSgemmMatchesNaiveWithStrides(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ta := range []Transpose{NoTrans, Trans} {
		for _, tb := range []Transpose{NoTrans, Trans} {
			m, n, k := 7, 5, 9
			lda, ldb, ldc := 13, 11, 8 // strided views, as attention uses
			a := randSlice(r, 16*lda, 1)
			b := randSlice(r, 16*ldb, 1)
			c := randSlice(r, m*ldc, 1)
			want := append([]float32(nil), c...)
			scale := gemmScale(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 0.25, c, ldc)
			naiveGemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 0.25, want, ldc)
			Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 0.25, c, ldc)
			// k products summed in float32 plus alpha, beta and the add, vs a
			// float64 sum rounded once: within the bound for k+3 terms.
			tol := testutil.ReorderTol(k + 3)
			for i := range c {
				require.True(t, testutil.Close(float64(want[i]), float64(c[i]), tol, float64(scale[i])), "ta=%v tb=%v i=%d: %v vs %v", ta, tb, i, want[i], c[i])
			}
		}
	}
}

func TestSgemmPanicsOnShortOperand(t *testing.T) {
	assert.Panics(t, func() {
		Sgemm(NoTrans, NoTrans, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
	})
}

func TestExpfAndErfAccuracy(t *testing.T) {
	for x := float32(-80); x < 80; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(Expf(x))
		require.LessOrEqual(t, math.Abs(got-want)/want, 3e-7, "x=%v", x)
	}
	for x := float32(-10); x < 10; x += 0.01 {
		require.InDelta(t, math.Tanh(float64(x)), float64(Tanhf(x)), 3e-7, "x=%v", x)
	}
}

func TestActivationsMatchReferenceFormulas(t *testing.T) {
	var xs []float32
	for x := -8.0; x < 8; x += 0.01 {
		xs = append(xs, float32(x))
	}
	for _, act := range []Activation{GELU, GELUNew, ReLU} {
		z := append([]float32(nil), xs...)
		y := make([]float32, len(z))
		BiasAct(y, z, nil, 1, len(z), act)
		for i, xf := range xs {
			x := float64(xf)
			var want float64
			switch act {
			case GELU:
				want = 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
			case GELUNew:
				want = 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
			default:
				want = math.Max(x, 0)
			}
			require.InDelta(t, want, float64(y[i]), 2e-6, "%v(%v)", act, x)
		}
	}
	a, err := ParseActivation("gelu_new")
	require.NoError(t, err)
	assert.Equal(t, GELUNew, a)
	_, err = ParseActivation("swishy")
	assert.ErrorContains(t, err, "swishy")
}

func TestActivationGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, act := range []Activation{GELU, GELUNew} {
		rows, cols := 3, 7
		z := randSlice(r, rows*cols, 1.5)
		bias := randSlice(r, cols, 0.3)
		w := randSlice(r, rows*cols, 1)
		loss, _, dz := biasActProbe(z, bias, w, rows, cols, act)
		res := GradCheck(loss, z, dz, 1e-2, 0)
		assert.Less(t, res.MaxErr, 1e-2, "%v: %+v", act, res)
	}
}

func TestLayerNormForwardAndGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rows, cols := 5, 16
	x := randSlice(r, rows*cols, 2)
	g := randSlice(r, cols, 1)
	b := randSlice(r, cols, 1)
	w := randSlice(r, rows*cols, 1)
	y := make([]float32, rows*cols)
	mean := make([]float32, rows)
	rstd := make([]float32, rows)
	loss := func() float64 {
		LayerNormForward(y, x, g, b, mean, rstd, rows, cols, 1e-5)
		return weightedSum(y, w)
	}
	loss()
	// Forward against the float64 formula.
	for rr := 0; rr < rows; rr++ {
		var m, v float64
		for j := 0; j < cols; j++ {
			m += float64(x[rr*cols+j])
		}
		m /= float64(cols)
		for j := 0; j < cols; j++ {
			d := float64(x[rr*cols+j]) - m
			v += d * d
		}
		v /= float64(cols)
		for j := 0; j < cols; j++ {
			want := (float64(x[rr*cols+j])-m)/math.Sqrt(v+1e-5)*float64(g[j]) + float64(b[j])
			require.InDelta(t, want, float64(y[rr*cols+j]), 1e-5)
		}
	}
	dx := make([]float32, rows*cols)
	dg := make([]float32, cols)
	db := make([]float32, cols)
	scratch := make([]float32, Threads()*2*cols)
	LayerNormBackward(dx, dg, db, w, x, g, mean, rstd, rows, cols, scratch)
	for name, pair := range map[string][2][]float32{"x": {x, dx}, "gamma": {g, dg}, "beta": {b, db}} {
		res := GradCheck(loss, pair[0], pair[1], 1e-2, 0)
		assert.Less(t, res.MaxErr, 1e-2, "%s: %+v", name, res)
	}
}

func TestSoftmaxMaskedAndGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cols := 9
	x := randSlice(r, cols, 2)
	mask := []float32{1, 1, 0, 1, 1, 1, 0, 1, 1}
	w := randSlice(r, cols, 1)
	p := make([]float32, cols)
	loss := func() float64 {
		copy(p, x)
		SoftmaxRow(p, mask)
		return weightedSum(p, w)
	}
	loss()
	var sum float32
	for j, v := range p {
		if mask[j] == 0 {
			assert.Zero(t, v)
		}
		sum += v
	}
	assert.InDelta(t, 1, sum, 1e-6)
	ds := make([]float32, cols)
	SoftmaxBackwardRow(ds, w, p)
	res := GradCheck(loss, x, ds, 1e-2, 0)
	assert.Less(t, res.MaxErr, 1e-2, "%+v", res)
	// All-masked rows are uniform, like HF's additive finfo.min mask.
	q := []float32{1, 2, 3}
	SoftmaxRow(q, []float32{0, 0, 0})
	assert.InDeltaSlice(t, []float32{1. / 3, 1. / 3, 1. / 3}, q, 1e-7)
}

func TestGradCheckCatchesFlippedSign(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	rows, cols := 4, 8
	x := randSlice(r, rows*cols, 1)
	w := randSlice(r, rows*cols, 1)
	loss, zz, dz := biasActProbe(x, nil, w, rows, cols, GELU)
	require.Less(t, GradCheck(loss, x, dz, 1e-2, 0).MaxErr, 1e-2)
	bad := append([]float32(nil), dz...)
	imax := 0
	for i, v := range bad {
		if math.Abs(float64(v)) > math.Abs(float64(bad[imax])) {
			imax = i
		}
	}
	bad[imax] = -bad[imax]
	assert.Greater(t, GradCheck(loss, x, bad, 1e-2, 0).MaxErr, 0.5)
	// A missing term (here: dropping GELU's x·φ(x) part) is caught too.
	miss := make([]float32, len(dz))
	for i := range miss {
		miss[i] = w[i] * float32(0.5*(1+math.Erf(float64(zz[i])/math.Sqrt2)))
	}
	assert.Greater(t, GradCheck(loss, x, miss, 1e-2, 0).MaxErr, 5e-2)
}

func TestEmbeddingGatherScatter(t *testing.T) {
	table := []float32{0, 0, 1, 2, 3, 4, 5, 6}
	out := make([]float32, 6)
	require.NoError(t, Gather(out, table, []int32{1, 3, 1}, 2))
	assert.Equal(t, []float32{1, 2, 5, 6, 1, 2}, out)
	assert.ErrorContains(t, Gather(out, table, []int32{1, 4, 1}, 2), "index 4 at position 1")
	d := make([]float32, 8)
	ScatterAdd(d, []float32{1, 1, 2, 2, 3, 3}, []int32{1, 0, 1}, 2, 0)
	assert.Equal(t, []float32{0, 0, 4, 4, 0, 0, 0, 0}, d)
}

func TestDropoutDeterministicAndUnbiased(t *testing.T) {
	n := 200000
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	y := make([]float32, n)
	Dropout(y, x, 0.1, 42, 0)
	var kept int
	var sum float64
	for i, v := range y {
		if v != 0 {
			kept++
			assert.True(t, DropoutKeep(42, i, 0.1))
		}
		sum += float64(v)
	}
	assert.InDelta(t, 0.9, float64(kept)/float64(n), 0.005)
	assert.InDelta(t, 1, sum/float64(n), 0.01)
	y2 := make([]float32, n)
	orig := Threads()
	SetThreads(1)
	Dropout(y2, x, 0.1, 42, 0)
	SetThreads(orig)
	assert.Equal(t, y, y2, "mask must not depend on the thread count")
}

func TestResizeReusesStorage(t *testing.T) {
	a := Resize(nil, 4, 8)
	p := &a.Data[0]
	b := Resize(a, 2, 8)
	assert.Equal(t, []int{2, 8}, b.Shape)
	assert.Same(t, p, &b.Data[0])
	allocs := testing.AllocsPerRun(100, func() { Resize(a, 4, 8) })
	assert.Zero(t, allocs)
}

func TestParallelCoversRange(t *testing.T) {
	orig := Threads()
	SetThreads(3)
	defer SetThreads(orig)
	hits := make([]int32, 1000)
	Parallel(len(hits), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			hits[i]++
		}
	})
	for i, h := range hits {
		require.Equal(t, int32(1), h, "index %d", i)
	}
	assert.Equal(t, 3, Threads())
}

func TestBLASCoreIsNotGenericFallback(t *testing.T) {
	core := BLASCore()
	t.Logf("OpenBLAS core: %s", core)
	assert.NotEmpty(t, core)
	if os.Getenv("OPENBLAS_CORETYPE") == "" {
		assert.NotEqual(t, "Prescott", core, "DYNAMIC_ARCH fallback should have been corrected")
	}
}

// TestBLASCoreHonoursCoreType: a kernel set asked for with OPENBLAS_CORETYPE
// (scripts/test_kernels.sh runs the numeric tests under a second one) is the
// one that runs, so a second-kernel run cannot silently repeat the first.
func TestBLASCoreHonoursCoreType(t *testing.T) {
	want := os.Getenv("OPENBLAS_CORETYPE")
	if want == "" {
		t.Skip("OPENBLAS_CORETYPE unset: the host's own kernel set runs (TestBLASCoreIsNotGenericFallback)")
	}
	assert.True(t, strings.EqualFold(want, BLASCore()), "OPENBLAS_CORETYPE=%s but OpenBLAS runs %s", want, BLASCore())
}

func TestSgemmParallelMatchesSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	orig := Threads()
	defer SetThreads(orig)
	SetThreads(3)
	for _, ta := range []Transpose{NoTrans, Trans} {
		for _, tb := range []Transpose{NoTrans, Trans} {
			for _, dims := range [][3]int{{300, 70, 200}, {70, 300, 200}} {
				m, n, k := dims[0], dims[1], dims[2]
				ar, ac := m, k
				if ta == Trans {
					ar, ac = k, m
				}
				br, bc := k, n
				if tb == Trans {
					br, bc = n, k
				}
				a := randSlice(r, ar*ac, 1)
				b := randSlice(r, br*bc, 1)
				c1 := randSlice(r, m*n, 1)
				c2 := append([]float32(nil), c1...)
				scale := gemmScale(ta, tb, m, n, k, 0.7, a, ac, b, bc, 0.3, c1, n)
				Sgemm(ta, tb, m, n, k, 0.7, a, ac, b, bc, 0.3, c1, n)
				SgemmParallel(ta, tb, m, n, k, 0.7, a, ac, b, bc, 0.3, c2, n)
				// 16-wide row or column blocks are other GEMM shapes (edge and
				// small-matrix kernels): the reordering bound of k+3 terms,
				// relative to each element's terms.
				tol := testutil.ReorderTol(k + 3)
				for i := range c1 {
					require.True(t, testutil.Close(float64(c1[i]), float64(c2[i]), tol, float64(scale[i])), "ta=%v tb=%v dims=%v i=%d: %v vs %v", ta, tb, dims, i, c1[i], c2[i])
				}
			}
		}
	}
}

func TestBLASThreadCountFollowsSplitMode(t *testing.T) {
	orig := Threads()
	defer SetThreads(orig)
	defer SetGoGemmSplit(os.Getenv(GemmSplitEnv) != "openblas")
	SetThreads(2)
	SetGoGemmSplit(true)
	assert.Equal(t, 1, blasThreads(), "Go split: OpenBLAS single-threaded")
	SetGoGemmSplit(false)
	assert.Equal(t, 2, blasThreads(), "OpenBLAS threading")
	WithSingleThreadedBLAS(func() { assert.Equal(t, 1, blasThreads()) })
	assert.Equal(t, 2, blasThreads())
}
