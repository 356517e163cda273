package hpo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// ParzenOptions configure a [ParzenEstimator]. The zero value is not the default: use
// [DefaultParzenOptions] (Optuna's TPESampler defaults).
type ParzenOptions struct {
	// PriorWeight is the weight of the prior kernel (Optuna prior_weight=1.0). The prior is
	// a kernel centred on the domain with bandwidth equal to its width (uniform over the
	// choices for categorical parameters).
	PriorWeight float64 `json:"prior_weight"`
	// ConsiderMagicClip bounds bandwidths below by range/min(100, 1+n_kernels) (Optuna
	// consider_magic_clip=True; Bergstra et al. 2011's hyperopt "magic clip").
	ConsiderMagicClip bool `json:"consider_magic_clip"`
	// ConsiderEndpoints lets the domain ends widen the bandwidths of the outermost kernels
	// (Optuna consider_endpoints=False).
	ConsiderEndpoints bool `json:"consider_endpoints"`
	// Multivariate uses one joint kernel per observation with Scott-like fixed bandwidths
	// (Optuna multivariate=True, Falkner et al. 2018) instead of per-parameter neighbour
	// bandwidths. The estimator is a mixture of products either way.
	Multivariate bool `json:"multivariate,omitempty"`
	// NeighbourBandwidths, with Multivariate, gives each kernel the per-parameter
	// neighbour bandwidth (as univariate) instead of the Scott-like fixed one: what
	// Optuna 5.1's multivariate TPE does (its parzen_estimator computes the neighbour
	// rule in both modes). benchmarks/hpo/peer compares the two.
	NeighbourBandwidths bool `json:"neighbour_bandwidths,omitempty"`
	// Weights gives the n observations' (un-normalised) weights, oldest first; nil means
	// [DefaultWeights].
	Weights func(n int) []float64 `json:"-"`
}

// DefaultParzenOptions are Optuna's defaults: prior_weight=1.0, consider_magic_clip=True,
// consider_endpoints=False, univariate, default_weights.
func DefaultParzenOptions() ParzenOptions {
	return ParzenOptions{PriorWeight: 1.0, ConsiderMagicClip: true}
}

// DefaultWeights is Optuna's default_weights (from hyperopt): all ones for n < 25, else
// a ramp linspace(1/n, 1, n−25) over the oldest observations followed by 25 ones.
func DefaultWeights(n int) []float64 {
	w := make([]float64, n)
	if n < 25 {
		for i := range w {
			w[i] = 1
		}
		return w
	}
	m := n - 25
	for i := 0; i < m; i++ {
		if m == 1 {
			w[i] = 1.0 / float64(n)
		} else {
			w[i] = 1.0/float64(n) + (1-1.0/float64(n))*float64(i)/float64(m-1)
		}
	}
	for i := m; i < n; i++ {
		w[i] = 1
	}
	return w
}

// ParzenEstimator is TPE's density model l(x) or g(x) (Bergstra et al. 2011, §4): a
// mixture with one kernel per observation plus a prior kernel. Each kernel is a product
// over parameters of a truncated normal (floats, in linear or log space), a discretised
// truncated normal (stepped floats and ints) or a categorical distribution (categoricals),
// as Optuna's _ParzenEstimator.
type ParzenEstimator struct {
	weights []float64
	dims    []parzenDim
}

type parzenDim struct {
	p        Param
	constant bool      // Low == High: a point mass
	mus      []float64 // numeric kernels, transformed space
	sigmas   []float64
	lo, hi   float64     // truncation bounds, transformed space (step-widened)
	logZ     []float64   // log mass of each kernel inside [lo, hi]
	probs    [][]float64 // categorical kernels
}

// NewParzenEstimator fits the estimator to observations: obs[i] holds the internal values
// (numbers, or choice indices for categoricals) of space[i], oldest first; all slices have
// the same length.
func NewParzenEstimator(space Space, obs [][]float64, opt ParzenOptions) (*ParzenEstimator, error) {
	if len(obs) != len(space) {
		return nil, fmt.Errorf("hpo: parzen: %d observation columns for %d parameters", len(obs), len(space))
	}
	if opt.PriorWeight <= 0 || !isFinite(opt.PriorWeight) {
		return nil, fmt.Errorf("hpo: parzen: prior_weight must be > 0, got %v", opt.PriorWeight)
	}
	n := 0
	if len(obs) > 0 {
		n = len(obs[0])
	}
	for i, col := range obs {
		if len(col) != n {
			return nil, fmt.Errorf("hpo: parzen: parameter %q has %d observations, want %d", space[i].Name, len(col), n)
		}
	}
	weightsFn := opt.Weights
	if weightsFn == nil {
		weightsFn = DefaultWeights
	}
	var w []float64
	if n == 0 {
		w = []float64{1}
	} else {
		raw := weightsFn(n)
		if len(raw) < n {
			return nil, fmt.Errorf("hpo: parzen: weights function returned %d weights for %d observations", len(raw), n)
		}
		w = append(append([]float64(nil), raw[:n]...), opt.PriorWeight)
	}
	sum := 0.0
	for i, x := range w {
		if x < 0 || !isFinite(x) {
			return nil, fmt.Errorf("hpo: parzen: weight[%d]=%v is not a finite non-negative number", i, x)
		}
		sum += x
	}
	if sum <= 0 {
		return nil, fmt.Errorf("hpo: parzen: weights sum to %v", sum)
	}
	for i := range w {
		w[i] /= sum
	}
	e := &ParzenEstimator{weights: w}
	for i, p := range space {
		d, err := newParzenDim(p, obs[i], len(space), opt)
		if err != nil {
			return nil, err
		}
		e.dims = append(e.dims, d)
	}
	return e, nil
}

// Weights returns the mixture weights (observations oldest first, then the prior); they
// sum to 1.
func (e *ParzenEstimator) Weights() []float64 { return append([]float64(nil), e.weights...) }

// Bandwidths returns the kernel standard deviations (transformed space) of numeric
// parameter i, the prior's last; nil for categorical or constant parameters.
func (e *ParzenEstimator) Bandwidths(i int) []float64 {
	return append([]float64(nil), e.dims[i].sigmas...)
}

func transform(p Param, x float64) float64 {
	if p.Log {
		return math.Log(x)
	}
	return x
}

func untransform(p Param, y float64) float64 {
	if p.Log {
		return math.Exp(y)
	}
	return y
}

func newParzenDim(p Param, obs []float64, nParams int, opt ParzenOptions) (parzenDim, error) {
	d := parzenDim{p: p}
	n := len(obs)
	nKernels := n + 1
	if n == 0 {
		nKernels = 1
	}
	if p.Kind == KindCategorical {
		nc := len(p.Choices)
		d.probs = make([][]float64, nKernels)
		for k := range d.probs {
			row := make([]float64, nc)
			for j := range row {
				if n == 0 {
					row[j] = 1 / float64(nc)
				} else {
					row[j] = opt.PriorWeight / float64(nKernels)
				}
			}
			if k < n {
				idx := int(obs[k])
				if idx < 0 || idx >= nc || float64(idx) != obs[k] {
					return d, fmt.Errorf("hpo: parzen: parameter %q: choice index %v out of range", p.Name, obs[k])
				}
				row[idx]++
			}
			s := 0.0
			for _, v := range row {
				s += v
			}
			for j := range row {
				row[j] /= s
			}
			d.probs[k] = row
		}
		return d, nil
	}
	if p.Low == p.High {
		d.constant = true
		return d, nil
	}
	low, high := p.Low-p.Step/2, p.High+p.Step/2
	d.lo, d.hi = transform(p, low), transform(p, high)
	width := d.hi - d.lo
	mus := make([]float64, n)
	for i, x := range obs {
		if x < p.Low || x > p.High || math.IsNaN(x) {
			return d, fmt.Errorf("hpo: parzen: parameter %q: observation %v outside [%v, %v]", p.Name, x, p.Low, p.High)
		}
		mus[i] = transform(p, x)
	}
	var sigmas []float64
	if opt.Multivariate && !opt.NeighbourBandwidths {
		s := 0.2 * math.Pow(float64(max(n, 1)), -1.0/float64(nParams+4)) * width
		sigmas = make([]float64, n)
		for i := range sigmas {
			sigmas[i] = s
		}
	} else {
		sigmas = neighbourBandwidths(mus, d.lo, d.hi, opt.ConsiderEndpoints)
	}
	minSigma := 1e-12
	if opt.ConsiderMagicClip {
		minSigma = width / math.Min(100, 1+float64(n+1))
	}
	for i := range sigmas {
		sigmas[i] = math.Max(minSigma, math.Min(width, sigmas[i]))
	}
	d.mus = append(mus, 0.5*(d.lo+d.hi))
	d.sigmas = append(sigmas, width)
	d.logZ = make([]float64, len(d.mus))
	for k := range d.mus {
		d.logZ[k] = logNdtrDiff((d.lo-d.mus[k])/d.sigmas[k], (d.hi-d.mus[k])/d.sigmas[k])
	}
	return d, nil
}

// neighbourBandwidths is hyperopt's univariate rule: each kernel's bandwidth is the larger
// gap to its sorted neighbours, the prior mean (domain centre) and the domain ends
// counting as points; without consider_endpoints the outermost kernels use their inner gap.
func neighbourBandwidths(mus []float64, lo, hi float64, considerEndpoints bool) []float64 {
	n := len(mus)
	withPrior := append(append([]float64(nil), mus...), 0.5*(lo+hi))
	order := make([]int, len(withPrior))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return withPrior[order[a]] < withPrior[order[b]] })
	pts := make([]float64, 0, len(withPrior)+2)
	pts = append(pts, lo)
	for _, i := range order {
		pts = append(pts, withPrior[i])
	}
	pts = append(pts, hi)
	sorted := make([]float64, len(withPrior))
	for j := range sorted {
		sorted[j] = math.Max(pts[j+1]-pts[j], pts[j+2]-pts[j+1])
	}
	if !considerEndpoints && len(pts) >= 4 {
		sorted[0] = pts[2] - pts[1]
		sorted[len(sorted)-1] = pts[len(pts)-2] - pts[len(pts)-3]
	}
	out := make([]float64, len(withPrior))
	for j, i := range order {
		out[i] = sorted[j]
	}
	return out[:n]
}

// Sample draws one point (internal values, one per parameter) from the mixture.
func (e *ParzenEstimator) Sample(rng *rand.Rand) []float64 {
	u := rng.Float64()
	k := len(e.weights) - 1
	acc := 0.0
	for i, w := range e.weights {
		acc += w
		if u < acc {
			k = i
			break
		}
	}
	x := make([]float64, len(e.dims))
	for i := range e.dims {
		x[i] = e.dims[i].sample(rng, k)
	}
	return x
}

func (d *parzenDim) sample(rng *rand.Rand, k int) float64 {
	if d.probs != nil {
		u := rng.Float64()
		acc := 0.0
		row := d.probs[k]
		for j, q := range row {
			acc += q
			if u < acc {
				return float64(j)
			}
		}
		return float64(len(row) - 1)
	}
	if d.constant {
		return d.p.Low
	}
	y := sampleTruncNorm(rng, d.mus[k], d.sigmas[k], d.lo, d.hi)
	return d.p.snap(untransform(d.p, y))
}

// LogPDF is the log density of the mixture at x (internal values): with respect to
// Lebesgue measure in the parameter's own (untransformed) units for continuous floats —
// a log-scaled float includes the Jacobian −log x — and the log probability mass for
// stepped, integer and categorical parameters.
func (e *ParzenEstimator) LogPDF(x []float64) float64 {
	terms := make([]float64, len(e.weights))
	for k, w := range e.weights {
		t := math.Log(w)
		for i := range e.dims {
			t += e.dims[i].logPDF(k, x[i])
		}
		terms[k] = t
	}
	return logSumExp(terms)
}

func (d *parzenDim) logPDF(k int, x float64) float64 {
	if d.probs != nil {
		j := int(math.Round(x))
		if j < 0 || j >= len(d.probs[k]) {
			return math.Inf(-1)
		}
		return math.Log(d.probs[k][j])
	}
	if d.constant {
		if x == d.p.Low {
			return 0
		}
		return math.Inf(-1)
	}
	if x < d.p.Low || x > d.p.High {
		return math.Inf(-1)
	}
	mu, sigma := d.mus[k], d.sigmas[k]
	if d.p.Step > 0 {
		a := (transform(d.p, x-d.p.Step/2) - mu) / sigma
		b := (transform(d.p, x+d.p.Step/2) - mu) / sigma
		return logNdtrDiff(a, b) - d.logZ[k]
	}
	y := transform(d.p, x)
	lp := normLogPDF((y-mu)/sigma) - math.Log(sigma) - d.logZ[k]
	if d.p.Log {
		lp -= y // Jacobian: dy/dx = 1/x.
	}
	return lp
}
