package hpo

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Sampler proposes the parameters of a new trial (Optuna's BaseSampler). history holds
// every other trial of the study (any state) in trial-number order; number is the new
// trial's number. Implementations must be deterministic given (space, history, number) so
// a seeded study is reproducible, and safe for concurrent use.
type Sampler interface {
	Sample(space Space, dir Direction, history []FrozenTrial, number int) (map[string]any, error)
}

// trialRNG derives the generator for one trial from the sampler seed and the trial number
// (math/rand/v2 PCG), so suggestions do not depend on which worker samples the trial.
func trialRNG(seed uint64, stream uint64, number int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream^uint64(number)))
}

// Per-sampler PCG streams: TPE's start-up trials and random search draw different points
// for the same seed, so the two are independent baselines.
const (
	streamRandom uint64 = 0x9E3779B97F4A7C15
	streamTPE    uint64 = 0xD1B54A32D192ED03
)

// RandomSampler draws every parameter independently and uniformly (log-uniformly for
// log-scaled parameters) — Optuna's RandomSampler and the paper's baseline.
type RandomSampler struct {
	// Seed makes the suggestions reproducible.
	Seed uint64
}

// Sample implements [Sampler].
func (s RandomSampler) Sample(space Space, _ Direction, _ []FrozenTrial, number int) (map[string]any, error) {
	rng := trialRNG(s.Seed, streamRandom, number)
	return sampleRandomSpace(rng, space), nil
}

func sampleRandomSpace(rng *rand.Rand, space Space) map[string]any {
	out := make(map[string]any, len(space))
	for _, p := range space {
		out[p.Name] = p.external(sampleRandomParam(rng, p))
	}
	return out
}

// sampleRandomParam draws one internal value uniformly over the parameter's domain.
func sampleRandomParam(rng *rand.Rand, p Param) float64 {
	switch {
	case p.Kind == KindCategorical:
		return float64(rng.IntN(len(p.Choices)))
	case p.Low == p.High:
		return p.Low
	case p.Log && p.Step > 0: // log-scaled int: uniform in log space over the widened cells.
		lo, hi := math.Log(p.Low-p.Step/2), math.Log(p.High+p.Step/2)
		return p.snap(math.Exp(lo + rng.Float64()*(hi-lo)))
	case p.Log:
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return math.Max(p.Low, math.Min(p.High, math.Exp(lo+rng.Float64()*(hi-lo))))
	case p.Step > 0:
		k := int(math.Round((p.High - p.Low) / p.Step))
		return p.snap(p.Low + float64(rng.IntN(k+1))*p.Step)
	default:
		return p.Low + rng.Float64()*(p.High-p.Low)
	}
}

// SamplerKind selects the sampler a study uses.
type SamplerKind int

const (
	// SamplerTPE is the Tree-structured Parzen Estimator (the paper's §3.4 search).
	SamplerTPE SamplerKind = iota
	// SamplerRandom is random search.
	SamplerRandom
)

var samplerNames = []string{"tpe", "random"}

// String returns "tpe" or "random".
func (k SamplerKind) String() string { return enumName(samplerNames, int(k), "SamplerKind") }

// MarshalText encodes the kind as its name.
func (k SamplerKind) MarshalText() ([]byte, error) {
	return enumMarshal(samplerNames, int(k), "sampler")
}

// UnmarshalText decodes "tpe" or "random".
func (k *SamplerKind) UnmarshalText(b []byte) error {
	v, err := enumUnmarshal(samplerNames, b, "sampler")
	*k = SamplerKind(v)
	return err
}

// SamplerConfig is the JSON-serialisable description of a study's sampler, stored in
// study.json so every worker process samples the same way.
type SamplerConfig struct {
	Kind SamplerKind `json:"kind"`
	Seed uint64      `json:"seed"`
	// TPE holds the TPE settings (ignored by random search).
	TPE TPEOptions `json:"tpe"`
}

// DefaultSamplerConfig is multivariate TPE (Optuna's TPESampler(multivariate=True),
// Falkner et al. 2018) with Optuna's other defaults and seed 0. Multivariate is the
// default because, at the paper's 40 trials (§3.4), it beats random search in ≥ 80% of
// seeds on every test problem of TestTPEBeatsRandom while univariate TPE does not
// (see TestDefaultSamplerBeatsRandom).
func DefaultSamplerConfig() SamplerConfig {
	opt := DefaultTPEOptions()
	opt.Parzen.Multivariate = true
	return SamplerConfig{Kind: SamplerTPE, TPE: opt}
}

// New builds the configured sampler.
func (c SamplerConfig) New() (Sampler, error) {
	switch c.Kind {
	case SamplerRandom:
		return RandomSampler{Seed: c.Seed}, nil
	case SamplerTPE:
		return NewTPESampler(c.Seed, c.TPE)
	}
	return nil, fmt.Errorf("hpo: unknown sampler kind %d", c.Kind)
}
