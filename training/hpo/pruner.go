package hpo

import (
	"fmt"
	"math"
	"sort"
)

// Pruner decides after each reported step whether a running trial is hopeless
// (Optuna's BasePruner). history holds the study's other trials; trial is the running
// trial with its curve so far.
type Pruner interface {
	Prune(dir Direction, history []FrozenTrial, trial FrozenTrial) bool
}

// NopPruner never prunes (Optuna's NopPruner).
type NopPruner struct{}

// Prune implements [Pruner].
func (NopPruner) Prune(Direction, []FrozenTrial, FrozenTrial) bool { return false }

// MedianPruner is Optuna's MedianPruner: after n_startup_trials completed trials and past
// n_warmup_steps, a trial is pruned when its best intermediate value so far is worse than
// the median of the completed trials' intermediate values at the same step.
type MedianPruner struct {
	// NStartupTrials: no pruning until this many trials completed (Optuna default 5).
	NStartupTrials int `json:"n_startup_trials"`
	// NWarmupSteps: no pruning before this step (Optuna default 0).
	NWarmupSteps int `json:"n_warmup_steps"`
	// IntervalSteps: prune only at every IntervalSteps-th step after warm-up (default 1).
	IntervalSteps int `json:"interval_steps"`
	// NMinTrials: the median needs at least this many completed trials reporting the
	// step (default 1).
	NMinTrials int `json:"n_min_trials"`
}

// DefaultMedianPruner has Optuna's defaults: n_startup_trials=5, n_warmup_steps=0,
// interval_steps=1, n_min_trials=1.
func DefaultMedianPruner() MedianPruner {
	return MedianPruner{NStartupTrials: 5, NWarmupSteps: 0, IntervalSteps: 1, NMinTrials: 1}
}

// Validate checks the settings.
func (m MedianPruner) Validate() error {
	if m.NStartupTrials < 0 || m.NWarmupSteps < 0 || m.IntervalSteps < 1 || m.NMinTrials < 1 {
		return fmt.Errorf("hpo: median pruner: need n_startup_trials ≥ 0, n_warmup_steps ≥ 0, interval_steps ≥ 1, n_min_trials ≥ 1, got %+v", m)
	}
	return nil
}

// Prune implements [Pruner].
func (m MedianPruner) Prune(dir Direction, history []FrozenTrial, trial FrozenTrial) bool {
	var completed []FrozenTrial
	for _, t := range history {
		if t.State == StateComplete && t.Number != trial.Number {
			completed = append(completed, t)
		}
	}
	if len(completed) == 0 || len(completed) < m.NStartupTrials {
		return false
	}
	last, ok := trial.LastStep()
	if !ok || last.Step < m.NWarmupSteps {
		return false
	}
	if !m.firstInInterval(trial, last.Step) {
		return false
	}
	best := trial.Intermediate[0].Value
	for _, sv := range trial.Intermediate[1:] {
		if dir.Better(sv.Value, best) {
			best = sv.Value
		}
	}
	var vals []float64
	for _, t := range completed {
		if v, ok := t.ValueAt(last.Step); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) < max(1, m.NMinTrials) {
		return false
	}
	med := median(vals)
	if dir == Minimize {
		return best > med
	}
	return best < med
}

// firstInInterval mirrors Optuna's _is_first_in_interval_step: the step is checked only
// if no other reported step is at or past the start of its pruning interval.
func (m MedianPruner) firstInInterval(trial FrozenTrial, step int) bool {
	interval := max(1, m.IntervalSteps)
	nearest := (step-m.NWarmupSteps)/interval*interval + m.NWarmupSteps
	for _, sv := range trial.Intermediate {
		if sv.Step != step && sv.Step >= nearest {
			return false
		}
	}
	return true
}

// median is numpy's percentile(·, 50) with linear interpolation.
func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return 0.5 * (s[n/2-1] + s[n/2])
}

// PrunerKind selects a study's pruner.
type PrunerKind int

const (
	// PrunerMedian is [MedianPruner] (the default).
	PrunerMedian PrunerKind = iota
	// PrunerNone never prunes.
	PrunerNone
)

var prunerNames = []string{"median", "none"}

// String returns "median" or "none".
func (k PrunerKind) String() string { return enumName(prunerNames, int(k), "PrunerKind") }

// MarshalText encodes the kind as its name.
func (k PrunerKind) MarshalText() ([]byte, error) { return enumMarshal(prunerNames, int(k), "pruner") }

// UnmarshalText decodes "median" or "none".
func (k *PrunerKind) UnmarshalText(b []byte) error {
	v, err := enumUnmarshal(prunerNames, b, "pruner")
	*k = PrunerKind(v)
	return err
}

// PrunerConfig is the JSON-serialisable description of a study's pruner.
type PrunerConfig struct {
	Kind   PrunerKind   `json:"kind"`
	Median MedianPruner `json:"median"`
}

// DefaultPrunerConfig is the median pruner with Optuna's defaults.
func DefaultPrunerConfig() PrunerConfig {
	return PrunerConfig{Kind: PrunerMedian, Median: DefaultMedianPruner()}
}

// New builds the configured pruner.
func (c PrunerConfig) New() (Pruner, error) {
	switch c.Kind {
	case PrunerNone:
		return NopPruner{}, nil
	case PrunerMedian:
		if err := c.Median.Validate(); err != nil {
			return nil, err
		}
		return c.Median, nil
	}
	return nil, fmt.Errorf("hpo: unknown pruner kind %d", c.Kind)
}
