package hpo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// integrate returns the trapezoid integral of exp(logpdf) over [a, b] with n intervals;
// for log-scaled parameters it integrates over u = log x with the dx = x du substitution.
func integrate(e *ParzenEstimator, p Param, n int) float64 {
	if p.Log {
		a, b := math.Log(p.Low), math.Log(p.High)
		h := (b - a) / float64(n)
		s := 0.0
		for i := 0; i <= n; i++ {
			u := a + float64(i)*h
			x := math.Min(p.High, math.Max(p.Low, math.Exp(u)))
			f := math.Exp(e.LogPDF([]float64{x})) * x
			if i == 0 || i == n {
				f /= 2
			}
			s += f
		}
		return s * h
	}
	h := (p.High - p.Low) / float64(n)
	s := 0.0
	for i := 0; i <= n; i++ {
		x := p.Low + float64(i)*h
		f := math.Exp(e.LogPDF([]float64{x}))
		if i == 0 || i == n {
			f /= 2
		}
		s += f
	}
	return s * h
}

func randomObs(rng *rand.Rand, p Param, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = sampleRandomParam(rng, p)
	}
	return out
}

func TestParzenWeightsSumToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := Float("x", -2, 3)
	for _, n := range []int{0, 1, 5, 24, 25, 26, 60} {
		e, err := NewParzenEstimator(Space{p}, [][]float64{randomObs(rng, p, n)}, DefaultParzenOptions())
		require.NoError(t, err)
		w := e.Weights()
		require.Len(t, w, max(1, n+1), "n=%d: one kernel per observation plus the prior", n)
		sum := 0.0
		for _, x := range w {
			assert.GreaterOrEqual(t, x, 0.0)
			sum += x
		}
		assert.InDelta(t, 1.0, sum, 1e-12, "n=%d", n)
		if n >= 26 {
			assert.Less(t, w[0], w[n-1], "n=%d: older observations are down-weighted by the ramp", n)
		}
	}
}

func TestParzenFloatDensityIntegratesToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range []Param{Float("x", -2, 3), FloatLog("lr", 1e-5, 5e-4), Float("d", 0, 0.3)} {
		for _, n := range []int{0, 1, 3, 12, 40} {
			for _, opt := range []ParzenOptions{
				DefaultParzenOptions(),
				{PriorWeight: 2, ConsiderMagicClip: false, ConsiderEndpoints: true},
				{PriorWeight: 1, ConsiderMagicClip: true, Multivariate: true},
			} {
				e, err := NewParzenEstimator(Space{p}, [][]float64{randomObs(rng, p, n)}, opt)
				require.NoError(t, err)
				got := integrate(e, p, 5000)
				assert.InDelta(t, 1.0, got, 2e-3, "%s n=%d opt=%+v", p.Name, n, opt)
			}
		}
	}
}

func TestParzenDiscreteMassSumsToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []Param{Int("k", 1, 20, 1), Int("k3", 0, 30, 3), IntLog("r", 1, 64), FloatStep("f", 0, 1, 0.1),
		Categorical("c", 8, 16, 32), Categorical("s", "a", "b", "c", "d")}
	for _, p := range cases {
		require.NoError(t, Space{p}.Validate())
		for _, n := range []int{0, 1, 7, 30} {
			e, err := NewParzenEstimator(Space{p}, [][]float64{randomObs(rng, p, n)}, DefaultParzenOptions())
			require.NoError(t, err)
			sum := 0.0
			if p.Kind == KindCategorical {
				for j := range p.Choices {
					sum += math.Exp(e.LogPDF([]float64{float64(j)}))
				}
			} else {
				for x := p.Low; x <= p.High+1e-9; x += p.Step {
					sum += math.Exp(e.LogPDF([]float64{p.snap(x)}))
				}
			}
			assert.InDelta(t, 1.0, sum, 1e-9, "%s n=%d", p.Name, n)
		}
	}
}

func TestParzenSamplesStayInDomainAndFollowDensity(t *testing.T) {
	p := Float("x", 0, 10)
	obs := make([]float64, 30)
	for i := range obs {
		obs[i] = 1.95 + 0.1*float64(i)/29
	}
	e, err := NewParzenEstimator(Space{p}, [][]float64{obs}, DefaultParzenOptions())
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	near := 0
	for i := 0; i < 4000; i++ {
		x := e.Sample(rng)[0]
		require.GreaterOrEqual(t, x, 0.0)
		require.LessOrEqual(t, x, 10.0)
		if x > 1 && x < 3 {
			near++
		}
	}
	// 30 of 31 kernels sit at ~2 with bandwidths clipped to 10/32 ≈ 0.31, so (1, 3) holds
	// ~3.2σ of each; the prior adds ~0.2·(1/31). Expect > 90% of samples near 2.
	assert.Greater(t, float64(near)/4000, 0.9)
	assert.Greater(t, e.LogPDF([]float64{2}), e.LogPDF([]float64{8})+2)

	ints := IntLog("r", 1, 64)
	ei, err := NewParzenEstimator(Space{ints}, [][]float64{{4, 8, 16}}, DefaultParzenOptions())
	require.NoError(t, err)
	for i := 0; i < 500; i++ {
		x := ei.Sample(rng)[0]
		require.Equal(t, math.Round(x), x)
		require.GreaterOrEqual(t, x, 1.0)
		require.LessOrEqual(t, x, 64.0)
	}
}

func TestParzenBandwidthsMagicClip(t *testing.T) {
	p := Float("x", 0, 1)
	obs := []float64{0.5, 0.5001, 0.5002}
	e, err := NewParzenEstimator(Space{p}, [][]float64{obs}, DefaultParzenOptions())
	require.NoError(t, err)
	bw := e.Bandwidths(0)
	require.Len(t, bw, 4)
	minSigma := 1.0 / math.Min(100, 1+4)
	for i, s := range bw[:3] {
		assert.GreaterOrEqual(t, s, minSigma-1e-15, "kernel %d", i)
		assert.LessOrEqual(t, s, 1.0)
	}
	assert.Equal(t, 1.0, bw[3], "prior bandwidth is the domain width")

	noClip := DefaultParzenOptions()
	noClip.ConsiderMagicClip = false
	e2, err := NewParzenEstimator(Space{p}, [][]float64{obs}, noClip)
	require.NoError(t, err)
	assert.Less(t, e2.Bandwidths(0)[1], minSigma, "without the clip the middle kernel keeps its neighbour gap")
}

func TestNeighbourBandwidths(t *testing.T) {
	// Points 0.2, 0.5(prior), 0.9 in [0, 1]: gaps lo→0.2=0.2, 0.2→0.5=0.3, 0.5→0.9=0.4, 0.9→hi=0.1.
	got := neighbourBandwidths([]float64{0.9, 0.2}, 0, 1, true)
	assert.InDeltaSlice(t, []float64{0.4, 0.3}, got, 1e-12)
	// Without endpoints the outermost kernels use their inner gap.
	got = neighbourBandwidths([]float64{0.9, 0.2}, 0, 1, false)
	assert.InDeltaSlice(t, []float64{0.4, 0.3}, got, 1e-12)
	got = neighbourBandwidths([]float64{0.05, 0.1}, 0, 1, false)
	// sorted: 0.05, 0.1, 0.5 → sigma(0.05) = 0.1-0.05 = 0.05 (inner gap), sigma(0.1)=max(0.05,0.4)=0.4.
	assert.InDeltaSlice(t, []float64{0.05, 0.4}, got, 1e-12)
}

func TestNormalHelpers(t *testing.T) {
	assert.InDelta(t, 0.5, ndtr(0), 1e-15)
	assert.InDelta(t, math.Log(ndtr(-3)), logNdtr(-3), 1e-12)
	// The asymptotic branch agrees with erfc where both are accurate.
	assert.InDelta(t, math.Log(ndtr(-25)), logNdtr(-25), 1e-6)
	assert.InDelta(t, math.Log(ndtr(-30)), logNdtr(-30), 1e-6)
	assert.InDelta(t, math.Log(ndtr(1)-ndtr(-2)), logNdtrDiff(-2, 1), 1e-12)
	assert.InDelta(t, math.Log(ndtr(-3)-ndtr(-4)), logNdtrDiff(3, 4), 1e-10)
	assert.True(t, isFinite(logNdtrDiff(40, 41)), "far-tail differences stay finite")
	assert.True(t, math.IsInf(logNdtrDiff(1, 1), -1))
	rng := rand.New(rand.NewPCG(9, 9))
	mean := 0.0
	for i := 0; i < 20000; i++ {
		x := sampleTruncNorm(rng, 0, 1, 0, math.Inf(1))
		require.GreaterOrEqual(t, x, 0.0)
		mean += x
	}
	// Half-normal mean √(2/π).
	assert.InDelta(t, math.Sqrt(2/math.Pi), mean/20000, 0.02)
}
