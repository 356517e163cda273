package hpo

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runInMemory runs a sequential study without the event log and returns its trials.
func runInMemory(t testing.TB, s Sampler, space Space, dir Direction, f func(map[string]any) float64, n int) []FrozenTrial {
	t.Helper()
	var hist []FrozenTrial
	for i := 0; i < n; i++ {
		params, err := s.Sample(space, dir, hist, i)
		require.NoError(t, err)
		for _, p := range space {
			_, err := p.internal(params[p.Name])
			require.NoError(t, err, "trial %d: sampled value out of the space", i)
		}
		v := f(params)
		hist = append(hist, FrozenTrial{Number: i, State: StateComplete, Params: params, Value: &v, Attempt: 1})
	}
	return hist
}

func bestOf(h []FrozenTrial, dir Direction) float64 {
	best := math.NaN()
	for _, tr := range h {
		if tr.State == StateComplete && (math.IsNaN(best) || dir.Better(*tr.Value, best)) {
			best = *tr.Value
		}
	}
	return best
}

// tpeWins counts the seeds 0..19 where TPE's best value after 40 trials is strictly
// better than random search's (independent random streams for the two), and reports
// whether TPE's median best value beats random's.
func tpeWins(t *testing.T, pr Problem, opt TPEOptions) (wins int, medianBetter bool, log []string) {
	space, f := pr.Space, pr.F
	require.NoError(t, space.Validate())
	var bts, brs []float64
	for seed := uint64(0); seed < 20; seed++ {
		tpe, err := NewTPESampler(seed, opt)
		require.NoError(t, err)
		bt := bestOf(runInMemory(t, tpe, space, pr.Direction, f, 40), pr.Direction)
		br := bestOf(runInMemory(t, RandomSampler{Seed: seed}, space, pr.Direction, f, 40), pr.Direction)
		if pr.Direction.Better(bt, br) {
			wins++
		}
		bts, brs = append(bts, bt), append(brs, br)
		log = append(log, fmt.Sprintf("seed %d: tpe %.4f random %.4f", seed, bt, br))
	}
	return wins, pr.Direction.Better(median(bts), median(brs)), log
}

// TestTPEBeatsRandom is the acceptance test: at 40 trials (10 random start-up
// trials) multivariate TPE reaches a better best value than random search in ≥ 80% of 20
// seeds on the shifted log-axis quadratic with a categorical that moves the optimum (both
// directions), on Hartmann-6 and on a paper-space surrogate of dev F1; on Branin it must
// be on par. Univariate TPE (Optuna's default) must win ≥ 50% of seeds everywhere, and
// both must have a better median best value than random. Measured over 100 seeds,
// univariate TPE wins only 55–75% of the pairings on the 2-D problems (its l(x) holds 4
// "good" observations plus the prior, with bandwidths clipped to ≥ range/6), so ≥ 80% is
// not a property it has there; it reaches 18/20 on the 6-parameter paper space.
func TestTPEBeatsRandom(t *testing.T) {
	mv := DefaultTPEOptions()
	mv.Parzen.Multivariate = true
	for _, pr := range BenchmarkProblems() {
		t.Run(pr.Name, func(t *testing.T) {
			wm, medm, logm := tpeWins(t, pr, mv)
			wu, medu, logu := tpeWins(t, pr, DefaultTPEOptions())
			t.Logf("%s: TPE better than random in %d/20 seeds (multivariate), %d/20 (univariate)", pr.Name, wm, wu)
			if pr.Name == "branin" {
				assert.GreaterOrEqual(t, wm, 10, "multivariate TPE at least on par with random on Branin:\n%v", logm)
			} else {
				assert.GreaterOrEqual(t, wm, 16, "multivariate TPE must beat random in ≥ 80%% of seeds:\n%v", logm)
			}
			assert.GreaterOrEqual(t, wu, 10, "univariate TPE at least on par with random:\n%v", logu)
			assert.True(t, medm, "multivariate TPE's median best beats random's:\n%v", logm)
			assert.True(t, medu, "univariate TPE's median best beats random's:\n%v", logu)
		})
	}
}

func TestSamplersReproducible(t *testing.T) {
	space, f := quadSpace()
	space = append(space, Int("k", 0, 30, 3), IntLog("r", 1, 64))
	g := func(p map[string]any) float64 {
		return f(p) + math.Abs(p["k"].(float64)-12)/10 + math.Abs(math.Log2(p["r"].(float64))-3)
	}
	mk := func(seed uint64, multivariate bool) Sampler {
		o := DefaultTPEOptions()
		o.Parzen.Multivariate = multivariate
		s, err := NewTPESampler(seed, o)
		require.NoError(t, err)
		return s
	}
	for _, mv := range []bool{false, true} {
		a := runInMemory(t, mk(7, mv), space, Minimize, g, 25)
		b := runInMemory(t, mk(7, mv), space, Minimize, g, 25)
		c := runInMemory(t, mk(8, mv), space, Minimize, g, 25)
		for i := range a {
			assert.Equal(t, a[i].Params, b[i].Params, "multivariate=%v trial %d: same seed, same suggestion", mv, i)
		}
		assert.NotEqual(t, a[15].Params, c[15].Params, "different seeds differ")
		for _, tr := range a {
			k := tr.Params["k"].(float64)
			assert.Equal(t, 0.0, math.Mod(k, 3), "stepped int on its grid")
			r := tr.Params["r"].(float64)
			assert.Equal(t, math.Round(r), r)
		}
	}
	ra := runInMemory(t, RandomSampler{Seed: 3}, space, Minimize, g, 10)
	rb := runInMemory(t, RandomSampler{Seed: 3}, space, Minimize, g, 10)
	for i := range ra {
		assert.Equal(t, ra[i].Params, rb[i].Params)
	}
	// The sample of trial n depends only on (seed, history before n), not on call order.
	a := runInMemory(t, mk(7, false), space, Minimize, g, 25)
	p1, err := mk(7, false).Sample(space, Minimize, a[:20], 20)
	require.NoError(t, err)
	assert.Equal(t, a[20].Params, p1)
}

func TestRandomSamplerCoversDomain(t *testing.T) {
	space := Space{FloatLog("lr", 1e-5, 5e-4), Categorical("b", 8, 16, 32), Int("k", 1, 3, 1)}
	s := RandomSampler{Seed: 1}
	counts := map[any]int{}
	ks := map[float64]int{}
	below := 0
	for i := 0; i < 3000; i++ {
		p, err := s.Sample(space, Maximize, nil, i)
		require.NoError(t, err)
		lr := p["lr"].(float64)
		require.True(t, lr >= 1e-5 && lr <= 5e-4)
		// log-uniform: P(lr < 1e-4) = log(10)/log(50) ≈ 0.589.
		if lr < 1e-4 {
			below++
		}
		counts[p["b"]]++
		ks[p["k"].(float64)]++
	}
	assert.InDelta(t, math.Log(10)/math.Log(50), float64(below)/3000, 0.03)
	assert.Len(t, counts, 3)
	assert.Len(t, ks, 3)
	for _, c := range counts {
		assert.InDelta(t, 1000, c, 120)
	}
}

func TestTPESplitRanksPrunedAfterComplete(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	space := Space{Float("x", 0, 1)}
	hist := []FrozenTrial{
		{Number: 0, State: StateComplete, Value: v(0.5), Params: map[string]any{"x": 0.1}},
		{Number: 1, State: StatePruned, Params: map[string]any{"x": 0.2}, Intermediate: []StepValue{{0, 0.9}, {1, 0.95}}},
		{Number: 2, State: StatePruned, Params: map[string]any{"x": 0.3}, Intermediate: []StepValue{{0, 0.99}}},
		{Number: 3, State: StateComplete, Value: v(0.7), Params: map[string]any{"x": 0.4}},
		{Number: 4, State: StateFailed, Params: map[string]any{"x": 0.5}},
		{Number: 5, State: StateRunning, Params: map[string]any{"x": 0.6}},
	}
	var obs []tpeObs
	for _, h := range hist {
		if h.State == StateFailed || h.State == StateRunning {
			continue
		}
		o := tpeObs{number: h.Number, x: map[string]float64{"x": h.Params["x"].(float64)}}
		if h.State == StateComplete {
			o.step, o.loss = math.Inf(-1), Maximize.sign()**h.Value
		} else {
			last, _ := h.LastStep()
			o.step, o.loss = -float64(last.Step), Maximize.sign()*last.Value
		}
		obs = append(obs, o)
	}
	below, above := splitObservations(obs, 2)
	require.Len(t, below, 2)
	// Complete trials rank first (3 best at 0.7, then 0), whatever the pruned values.
	assert.Equal(t, []int{0, 3}, []int{below[0].number, below[1].number})
	// The rest stays in chronological order.
	assert.Equal(t, []int{1, 2}, []int{above[0].number, above[1].number})
	below, _ = splitObservations(obs, 3)
	assert.Equal(t, 1, below[1].number, "deeper pruned trial ranks before shallower one")
	_ = space
}

func TestTPEConstantLiarCountsRunningTrials(t *testing.T) {
	space := Space{Float("x", 0, 1)}
	v := func(x float64) *float64 { return &x }
	var hist []FrozenTrial
	for i := 0; i < 4; i++ {
		hist = append(hist, FrozenTrial{Number: i, State: StateComplete, Value: v(float64(i)), Params: map[string]any{"x": 0.1 * float64(i+1)}})
	}
	opt := DefaultTPEOptions()
	opt.NStartupTrials = 4
	opt.NEICandidates = 64
	plain, err := NewTPESampler(5, opt)
	require.NoError(t, err)
	opt.ConstantLiar = true
	liar, err := NewTPESampler(5, opt)
	require.NoError(t, err)
	// Without running trials the liar changes nothing.
	p, err := plain.Sample(space, Minimize, hist, 9)
	require.NoError(t, err)
	q, err := liar.Sample(space, Minimize, hist, 9)
	require.NoError(t, err)
	assert.Equal(t, p, q)
	// Running trials do not count towards the start-up: 3 finished < 4 → random start-up.
	short := append(append([]FrozenTrial(nil), hist[:3]...), FrozenTrial{Number: 3, State: StateRunning, Params: map[string]any{"x": 0.5}})
	r, err := liar.Sample(space, Minimize, short, 9)
	require.NoError(t, err)
	assert.Equal(t, sampleRandomSpace(trialRNG(5, streamTPE, 9), space), r)
	// A running trial sitting on the best point joins g(x) and pushes the liar's
	// suggestion away from it; without the liar it is ignored.
	withRunning := append(append([]FrozenTrial(nil), hist...), FrozenTrial{Number: 4, State: StateRunning, Params: map[string]any{"x": p["x"].(float64)}})
	p2, err := plain.Sample(space, Minimize, withRunning, 9)
	require.NoError(t, err)
	assert.Equal(t, p, p2)
	q2, err := liar.Sample(space, Minimize, withRunning, 9)
	require.NoError(t, err)
	assert.NotEqual(t, p, q2)
}

// BenchmarkTPESamplePaperSpace times one TPE suggestion over the paper's 6-parameter space
// with 39 finished trials (the last suggestion of a 40-trial search).
func BenchmarkTPESamplePaperSpace(b *testing.B) {
	for _, mv := range []bool{false, true} {
		b.Run(fmt.Sprintf("multivariate=%v", mv), func(b *testing.B) {
			space := PaperSpace()
			opt := DefaultTPEOptions()
			opt.Parzen.Multivariate = mv
			s, err := NewTPESampler(1, opt)
			require.NoError(b, err)
			hist := runInMemory(b, RandomSampler{Seed: 2}, space, Maximize, func(p map[string]any) float64 {
				return -math.Abs(math.Log10(p[ParamLearningRate].(float64)) + 4)
			}, 39)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Sample(space, Maximize, hist, 39); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDefaultSamplerBeatsRandom is the acceptance test for the default sampler:
// DefaultConfig's TPE beats random search in ≥ 16 of 20 seeds at 40 trials on the
// shifted 2-D quadratic with a log-scaled axis and a categorical.
func TestDefaultSamplerBeatsRandom(t *testing.T) {
	sc := DefaultConfig().Sampler
	require.Equal(t, SamplerTPE, sc.Kind)
	require.True(t, sc.TPE.Parzen.Multivariate, "the default sampler is multivariate TPE")
	wins, med, log := tpeWins(t, BenchmarkProblems()[0], sc.TPE)
	t.Logf("default sampler better than random in %d/20 seeds", wins)
	assert.GreaterOrEqual(t, wins, 16, "default TPE must beat random in ≥ 80%% of seeds:\n%v", log)
	assert.True(t, med, "default TPE's median best beats random's:\n%v", log)
}
