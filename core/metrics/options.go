package metrics

import (
	"fmt"

	"github.com/openmed/openmed/core/scheme"
)

// Defaults of the options (see the With* functions).
const (
	DefaultShuffles   = 10000 // approximate-randomization shuffles (Noreen 1989)
	DefaultResamples  = 10000 // bootstrap resamples
	DefaultConfidence = 0.95  // bootstrap interval level
	DefaultSeed       = 1     // seed of the shuffles and resamples
)

// Option configures Evaluate, ApproximateRandomization, Bootstrap and
// Compare; each ignores the options that do not concern it.
type Option func(*config)

type config struct {
	mode       scheme.Mode
	scheme     scheme.Scheme
	shuffles   int
	resamples  int
	confidence float64
	seed       uint64
}

func newConfig(opts []Option) (config, error) {
	c := config{
		mode:       scheme.Default,
		scheme:     scheme.IOB2,
		shuffles:   DefaultShuffles,
		resamples:  DefaultResamples,
		confidence: DefaultConfidence,
		seed:       DefaultSeed,
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.mode != scheme.Default && c.mode != scheme.Strict:
		return c, fmt.Errorf("metrics: invalid mode %v", c.mode)
	case !c.scheme.Valid():
		return c, fmt.Errorf("metrics: invalid scheme %v", c.scheme)
	case c.shuffles < 1:
		return c, fmt.Errorf("metrics: shuffles must be >= 1, got %d", c.shuffles)
	case c.resamples < 1:
		return c, fmt.Errorf("metrics: resamples must be >= 1, got %d", c.resamples)
	case !(c.confidence > 0 && c.confidence < 1):
		return c, fmt.Errorf("metrics: confidence must be in (0,1), got %g", c.confidence)
	}
	return c, nil
}

// WithMode selects seqeval's default (lenient) or strict entity decoding.
// Default: scheme.Default.
func WithMode(m scheme.Mode) Option { return func(c *config) { c.mode = m } }

// WithScheme sets the tag scheme used in strict mode (seqeval's scheme
// argument). Default: scheme.IOB2.
func WithScheme(s scheme.Scheme) Option { return func(c *config) { c.scheme = s } }

// WithShuffles sets the number of approximate-randomization shuffles.
// Default: 10000.
func WithShuffles(n int) Option { return func(c *config) { c.shuffles = n } }

// WithResamples sets the number of bootstrap resamples. Default: 10000.
func WithResamples(n int) Option { return func(c *config) { c.resamples = n } }

// WithConfidence sets the bootstrap interval level. Default: 0.95.
func WithConfidence(level float64) Option { return func(c *config) { c.confidence = level } }

// WithSeed seeds the random shuffles and resamples. Default: 1.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }
