package metrics

import (
	"math"
	"math/rand/v2"
	"sort"
)

// SignificanceResult is the outcome of ApproximateRandomization.
type SignificanceResult struct {
	F1A  float64 `json:"f1_a"` // micro F1 of system A
	F1B  float64 `json:"f1_b"` // micro F1 of system B
	Diff float64 `json:"diff"` // F1A - F1B
	// PValue is (r+1)/(n+1), where r of the n shuffles gave an absolute F1
	// difference at least as large as the observed one (two-sided).
	PValue   float64 `json:"p_value"`
	Exceed   int     `json:"exceed"`
	Shuffles int     `json:"shuffles"`
	Seed     uint64  `json:"seed"`
}

// Interval is a bootstrap percentile confidence interval.
type Interval struct {
	Estimate  float64 `json:"estimate"` // the statistic on the original data
	Lower     float64 `json:"lower"`
	Upper     float64 `json:"upper"`
	Level     float64 `json:"level"`
	Resamples int     `json:"resamples"`
	Seed      uint64  `json:"seed"`
}

// pairedCounts decodes gold and two systems once and returns their
// per-sentence micro counts.
func pairedCounts(gold, a, b [][]string, cfg config) (ca, cb []counts, err error) {
	if err := checkShapes(gold, a, "system A"); err != nil {
		return nil, nil, err
	}
	if b != nil {
		if err := checkShapes(gold, b, "system B"); err != nil {
			return nil, nil, err
		}
	}
	gs, err := decodeAll(gold, "gold", cfg)
	if err != nil {
		return nil, nil, err
	}
	as, err := decodeAll(a, "system A", cfg)
	if err != nil {
		return nil, nil, err
	}
	ca = sentenceCounts(gs, as)
	if b == nil {
		return ca, nil, nil
	}
	bs, err := decodeAll(b, "system B", cfg)
	if err != nil {
		return nil, nil, err
	}
	return ca, sentenceCounts(gs, bs), nil
}

func total(cs []counts) counts {
	var t counts
	for _, c := range cs {
		t.add(c)
	}
	return t
}

// newRand returns the deterministic generator for a seed.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// ApproximateRandomization runs the paired approximate-randomization test of
// Noreen (1989) on the micro-F1 difference between systems a and b against
// the same gold: each shuffle swaps the two systems' predictions for each
// sentence with probability 1/2 and the test counts the shuffles whose
// absolute F1 difference reaches the observed one (two-sided). A system
// compared with itself gets p = 1. Options: WithShuffles (10000), WithSeed,
// WithMode, WithScheme.
func ApproximateRandomization(gold, a, b [][]string, opts ...Option) (SignificanceResult, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return SignificanceResult{}, err
	}
	ca, cb, err := pairedCounts(gold, a, b, cfg)
	if err != nil {
		return SignificanceResult{}, err
	}
	ta, tb := total(ca), total(cb)
	res := SignificanceResult{F1A: ta.f1(), F1B: tb.f1(), Shuffles: cfg.shuffles, Seed: cfg.seed}
	res.Diff = res.F1A - res.F1B
	observed := math.Abs(res.Diff)
	// Only sentences where the systems differ change anything when swapped.
	type delta struct{ tp, pred int }
	var ds []delta
	for k := range ca {
		if ca[k] != cb[k] {
			ds = append(ds, delta{tp: cb[k].tp - ca[k].tp, pred: cb[k].pred - ca[k].pred})
		}
	}
	// Tolerance for float rounding of equal differences reached by other
	// count combinations.
	eps := 1e-12 * math.Max(1, observed)
	rng := newRand(cfg.seed)
	g := ta.gold
	for n := 0; n < cfg.shuffles; n++ {
		tpA, prA, tpB, prB := ta.tp, ta.pred, tb.tp, tb.pred
		var bits uint64
		for i, d := range ds {
			if i%64 == 0 {
				bits = rng.Uint64()
			}
			if bits&1 == 1 {
				tpA += d.tp
				prA += d.pred
				tpB -= d.tp
				prB -= d.pred
			}
			bits >>= 1
		}
		fa := counts{tp: tpA, pred: prA, gold: g}.f1()
		fb := counts{tp: tpB, pred: prB, gold: g}.f1()
		if math.Abs(fa-fb) >= observed-eps {
			res.Exceed++
		}
	}
	res.PValue = float64(res.Exceed+1) / float64(cfg.shuffles+1)
	return res, nil
}

// Bootstrap returns a percentile bootstrap confidence interval for the micro
// F1 of pred, resampling sentences with replacement. Options: WithResamples
// (10000), WithConfidence (0.95), WithSeed, WithMode, WithScheme.
func Bootstrap(gold, pred [][]string, opts ...Option) (Interval, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return Interval{}, err
	}
	ca, _, err := pairedCounts(gold, pred, nil, cfg)
	if err != nil {
		return Interval{}, err
	}
	return bootstrap(ca, nil, cfg), nil
}

// BootstrapDiff returns a percentile bootstrap confidence interval for
// F1(a) - F1(b), resampling the same sentences for both systems (paired).
func BootstrapDiff(gold, a, b [][]string, opts ...Option) (Interval, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return Interval{}, err
	}
	ca, cb, err := pairedCounts(gold, a, b, cfg)
	if err != nil {
		return Interval{}, err
	}
	return bootstrap(ca, cb, cfg), nil
}

// bootstrap resamples sentence indices; with cb nil the statistic is F1 of
// ca, otherwise F1(ca) - F1(cb).
func bootstrap(ca, cb []counts, cfg config) Interval {
	stat := func(a, b counts) float64 {
		if cb == nil {
			return a.f1()
		}
		return a.f1() - b.f1()
	}
	var zero counts
	iv := Interval{Level: cfg.confidence, Resamples: cfg.resamples, Seed: cfg.seed}
	if cb == nil {
		iv.Estimate = stat(total(ca), zero)
	} else {
		iv.Estimate = stat(total(ca), total(cb))
	}
	n := len(ca)
	if n == 0 {
		iv.Lower, iv.Upper = iv.Estimate, iv.Estimate
		return iv
	}
	rng := newRand(cfg.seed)
	vals := make([]float64, cfg.resamples)
	for r := range vals {
		var a, b counts
		for range n {
			k := rng.IntN(n)
			a.add(ca[k])
			if cb != nil {
				b.add(cb[k])
			}
		}
		vals[r] = stat(a, b)
	}
	sort.Float64s(vals)
	alpha := 1 - cfg.confidence
	iv.Lower = percentile(vals, alpha/2)
	iv.Upper = percentile(vals, 1-alpha/2)
	return iv
}

// percentile is numpy.percentile's default ("linear") interpolation on
// sorted values, q in [0,1].
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Comparison is the full paired comparison of two systems that `openmed eval
// --against` prints.
type Comparison struct {
	// A and B are the full reports of the two systems.
	A *Report `json:"a"`
	B *Report `json:"b"`
	// Test is the approximate-randomization test of A versus B.
	Test SignificanceResult `json:"test"`
	// CIA and CIB are bootstrap intervals for each system's micro F1, CIDiff
	// for F1(A) - F1(B).
	CIA    Interval `json:"ci_a"`
	CIB    Interval `json:"ci_b"`
	CIDiff Interval `json:"ci_diff"`
}

// Compare evaluates systems a and b against gold and runs the
// approximate-randomization test and the three bootstrap intervals.
func Compare(gold, a, b [][]string, opts ...Option) (*Comparison, error) {
	var c Comparison
	var err error
	if c.A, err = Evaluate(gold, a, opts...); err != nil {
		return nil, err
	}
	if c.B, err = Evaluate(gold, b, opts...); err != nil {
		return nil, err
	}
	if c.Test, err = ApproximateRandomization(gold, a, b, opts...); err != nil {
		return nil, err
	}
	if c.CIA, err = Bootstrap(gold, a, opts...); err != nil {
		return nil, err
	}
	if c.CIB, err = Bootstrap(gold, b, opts...); err != nil {
		return nil, err
	}
	if c.CIDiff, err = BootstrapDiff(gold, a, b, opts...); err != nil {
		return nil, err
	}
	return &c, nil
}
