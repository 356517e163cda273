package hpo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// TPEOptions configure [TPESampler]; [DefaultTPEOptions] are Optuna's TPESampler defaults.
type TPEOptions struct {
	// NStartupTrials random trials run before TPE takes over (Optuna n_startup_trials=10).
	// Complete and pruned trials count.
	NStartupTrials int `json:"n_startup_trials"`
	// NEICandidates points are drawn from l(x); the one maximising log l(x) − log g(x) is
	// suggested (Optuna n_ei_candidates=24).
	NEICandidates int `json:"n_ei_candidates"`
	// Parzen configures both density estimators.
	Parzen ParzenOptions `json:"parzen"`
	// ConstantLiar counts running trials as the worst observations so parallel workers
	// avoid proposing the same point (Optuna constant_liar, default off).
	ConstantLiar bool `json:"constant_liar,omitempty"`
	// Gamma gives the number of "good" trials among n; nil means [DefaultGamma]. Like
	// Parzen.Weights it is not stored in study.json: a custom one reaches a study through
	// RunOptions.Sampler.
	Gamma func(n int) int `json:"-"`
}

// DefaultTPEOptions are Optuna's defaults: n_startup_trials=10, n_ei_candidates=24,
// γ(n)=min(⌈0.1·n⌉, 25), prior_weight=1, magic clip on, endpoints off, univariate.
func DefaultTPEOptions() TPEOptions {
	return TPEOptions{NStartupTrials: 10, NEICandidates: 24, Parzen: DefaultParzenOptions()}
}

// DefaultGamma is Optuna's default_gamma: min(⌈0.1·n⌉, 25).
func DefaultGamma(n int) int { return min(int(math.Ceil(0.1*float64(n))), 25) }

// TPESampler is the Tree-structured Parzen Estimator of Bergstra et al. 2011 as Optuna's
// TPESampler implements it: finished trials are split into the γ(n) best ("below", l(x))
// and the rest ("above", g(x)); NEICandidates points drawn from l are scored by
// log l(x) − log g(x) and the best is suggested. Parameters are modelled independently
// (Optuna's default) unless Parzen.Multivariate is set. Pruned trials rank after complete
// ones, deeper (more steps) first, then by their last intermediate value.
type TPESampler struct {
	seed uint64
	opt  TPEOptions
}

// NewTPESampler validates opt and returns a sampler seeded with seed.
func NewTPESampler(seed uint64, opt TPEOptions) (*TPESampler, error) {
	if opt.NStartupTrials < 0 {
		return nil, fmt.Errorf("hpo: tpe: n_startup_trials must be ≥ 0, got %d", opt.NStartupTrials)
	}
	if opt.NEICandidates < 1 {
		return nil, fmt.Errorf("hpo: tpe: n_ei_candidates must be ≥ 1, got %d", opt.NEICandidates)
	}
	if opt.Parzen.PriorWeight <= 0 {
		return nil, fmt.Errorf("hpo: tpe: parzen.prior_weight must be > 0, got %v", opt.Parzen.PriorWeight)
	}
	if opt.Gamma == nil {
		opt.Gamma = DefaultGamma
	}
	return &TPESampler{seed: seed, opt: opt}, nil
}

// tpeObs is one trial as TPE sees it: its internal values and its rank key (step, loss),
// compared lexicographically, smaller is better (Optuna's _get_observation_pairs).
type tpeObs struct {
	number int
	x      map[string]float64
	step   float64
	loss   float64
}

// Sample implements [Sampler].
func (s *TPESampler) Sample(space Space, dir Direction, history []FrozenTrial, number int) (map[string]any, error) {
	rng := trialRNG(s.seed, streamTPE, number)
	var obs, running []tpeObs
	for _, t := range history {
		if t.Number == number {
			continue
		}
		o := tpeObs{number: t.Number}
		switch t.State {
		case StateComplete:
			if t.Value == nil {
				continue
			}
			o.step, o.loss = math.Inf(-1), dir.sign()**t.Value
		case StatePruned:
			if last, ok := t.LastStep(); ok {
				o.step, o.loss = -float64(last.Step), dir.sign()*last.Value
			} else {
				o.step, o.loss = math.Inf(1), 0
			}
		case StateRunning:
			if !s.opt.ConstantLiar {
				continue
			}
			o.step, o.loss = math.Inf(1), math.Inf(1)
		default:
			continue
		}
		x, err := space.internalParams(t.Params)
		if err != nil {
			return nil, fmt.Errorf("hpo: tpe: trial %d: %w", t.Number, err)
		}
		o.x = x
		if t.State == StateRunning {
			running = append(running, o)
		} else {
			obs = append(obs, o)
		}
	}
	// Start-up and γ count finished trials only; running ones (constant liar) always
	// join the "above" group, as in Optuna's _split_trials.
	if len(obs) < s.opt.NStartupTrials {
		return sampleRandomSpace(rng, space), nil
	}
	below, above := splitObservations(obs, s.opt.Gamma(len(obs)))
	if len(running) > 0 {
		above = append(above, running...)
		sort.Slice(above, func(i, j int) bool { return above[i].number < above[j].number })
	}

	out := make(map[string]any, len(space))
	if s.opt.Parzen.Multivariate {
		x, err := s.sampleGroup(rng, space, below, above)
		if err != nil {
			return nil, err
		}
		for i, p := range space {
			out[p.Name] = p.external(x[i])
		}
		return out, nil
	}
	for _, p := range space {
		x, err := s.sampleGroup(rng, Space{p}, below, above)
		if err != nil {
			return nil, err
		}
		out[p.Name] = p.external(x[0])
	}
	return out, nil
}

// splitObservations sorts by (step, loss, number), takes the nBelow best as "below" and
// returns both groups in chronological (trial-number) order.
func splitObservations(obs []tpeObs, nBelow int) (below, above []tpeObs) {
	ranked := append([]tpeObs(nil), obs...)
	sort.SliceStable(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if a.step != b.step {
			return a.step < b.step
		}
		if a.loss != b.loss {
			return a.loss < b.loss
		}
		return a.number < b.number
	})
	nBelow = max(0, min(nBelow, len(ranked)))
	below = append([]tpeObs(nil), ranked[:nBelow]...)
	above = append([]tpeObs(nil), ranked[nBelow:]...)
	byNumber := func(g []tpeObs) {
		sort.Slice(g, func(i, j int) bool { return g[i].number < g[j].number })
	}
	byNumber(below)
	byNumber(above)
	return below, above
}

func columns(space Space, g []tpeObs) [][]float64 {
	cols := make([][]float64, len(space))
	for i, p := range space {
		cols[i] = make([]float64, len(g))
		for j, o := range g {
			cols[i][j] = o.x[p.Name]
		}
	}
	return cols
}

// sampleGroup fits l and g over space, draws NEICandidates from l and returns the
// candidate with the largest log l − log g (ties: the first drawn).
func (s *TPESampler) sampleGroup(rng *rand.Rand, space Space, below, above []tpeObs) ([]float64, error) {
	l, err := NewParzenEstimator(space, columns(space, below), s.opt.Parzen)
	if err != nil {
		return nil, fmt.Errorf("hpo: tpe: below estimator: %w", err)
	}
	g, err := NewParzenEstimator(space, columns(space, above), s.opt.Parzen)
	if err != nil {
		return nil, fmt.Errorf("hpo: tpe: above estimator: %w", err)
	}
	var best []float64
	bestScore := math.Inf(-1)
	for i := 0; i < s.opt.NEICandidates; i++ {
		x := l.Sample(rng)
		score := l.LogPDF(x) - g.LogPDF(x)
		if best == nil || score > bestScore {
			best, bestScore = x, score
		}
	}
	return best, nil
}
