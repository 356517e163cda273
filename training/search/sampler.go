package search

import (
	"fmt"

	"github.com/openmed/openmed/training/hpo"
)

// SamplerChoice names the samplers `openmed search --sampler` offers.
type SamplerChoice int

const (
	// SamplerTPE is multivariate TPE (Optuna multivariate=True), the default: it beats
	// random search at 40 trials where univariate TPE does not (training/hpo tests).
	SamplerTPE SamplerChoice = iota
	// SamplerTPEUnivariate is Optuna's default TPESampler (independent parameters).
	SamplerTPEUnivariate
	// SamplerRandom is random search, the baseline.
	SamplerRandom
)

var samplerNames = [...]string{"tpe", "tpe-univariate", "random"}

// String returns "tpe", "tpe-univariate" or "random".
func (s SamplerChoice) String() string {
	if int(s) < len(samplerNames) && s >= 0 {
		return samplerNames[s]
	}
	return fmt.Sprintf("SamplerChoice(%d)", int(s))
}

// ParseSampler parses a --sampler value.
func ParseSampler(name string) (SamplerChoice, error) {
	for i, n := range samplerNames {
		if n == name {
			return SamplerChoice(i), nil
		}
	}
	return 0, fmt.Errorf("search: unknown sampler %q (tpe, tpe-univariate, random)", name)
}

// Config returns the hpo sampler config of the choice with the given seed.
func (s SamplerChoice) Config(seed uint64) (hpo.SamplerConfig, error) {
	c := hpo.DefaultSamplerConfig()
	c.Seed = seed
	switch s {
	case SamplerTPE:
		c.TPE.Parzen.Multivariate = true
	case SamplerTPEUnivariate:
		c.TPE.Parzen.Multivariate = false
	case SamplerRandom:
		c.Kind = hpo.SamplerRandom
	default:
		return c, fmt.Errorf("search: invalid sampler %d", int(s))
	}
	return c, nil
}
