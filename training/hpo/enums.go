package hpo

import (
	"fmt"
	"math"
)

// Direction says whether the study maximises or minimises the objective, as Optuna's
// StudyDirection. The paper maximises dev-set entity micro-F1 (§3.4).
type Direction int

const (
	// Maximize keeps the trial with the largest value (dev F1); the default.
	Maximize Direction = iota
	// Minimize keeps the trial with the smallest value (e.g. a loss).
	Minimize
)

var directionNames = []string{"maximize", "minimize"}

// String returns "maximize" or "minimize" (Optuna's spelling).
func (d Direction) String() string { return enumName(directionNames, int(d), "Direction") }

// MarshalText encodes the direction as its name.
func (d Direction) MarshalText() ([]byte, error) {
	return enumMarshal(directionNames, int(d), "direction")
}

// UnmarshalText decodes "maximize" or "minimize".
func (d *Direction) UnmarshalText(b []byte) error {
	v, err := enumUnmarshal(directionNames, b, "direction")
	*d = Direction(v)
	return err
}

// Better reports whether a is strictly better than b in this direction.
func (d Direction) Better(a, b float64) bool {
	if d == Minimize {
		return a < b
	}
	return a > b
}

// sign maps a value to a loss (smaller is better): -1 for Maximize, +1 for Minimize,
// as Optuna's TPE does before splitting trials.
func (d Direction) sign() float64 {
	if d == Minimize {
		return 1
	}
	return -1
}

// TrialState is the life-cycle state of a trial, as Optuna's TrialState.
type TrialState int

const (
	// StateRunning: started, not finished (or its process died; see [Study]).
	StateRunning TrialState = iota
	// StateComplete: the objective returned a value.
	StateComplete
	// StatePruned: stopped early by the pruner; its value is its last intermediate value.
	StatePruned
	// StateFailed: the objective returned an error (or a non-finite value).
	StateFailed
	// StateWaiting: enqueued ([Study.Enqueue]), not started yet (Optuna's WAITING).
	StateWaiting
)

var stateNames = []string{"running", "complete", "pruned", "failed", "waiting"}

// String returns the state's name ("running", "complete", "pruned", "failed", "waiting").
func (s TrialState) String() string { return enumName(stateNames, int(s), "TrialState") }

// MarshalText encodes the state as its name.
func (s TrialState) MarshalText() ([]byte, error) { return enumMarshal(stateNames, int(s), "state") }

// UnmarshalText decodes a state name.
func (s *TrialState) UnmarshalText(b []byte) error {
	v, err := enumUnmarshal(stateNames, b, "state")
	*s = TrialState(v)
	return err
}

// Finished reports whether the state is final (complete, pruned or failed).
func (s TrialState) Finished() bool {
	return s == StateComplete || s == StatePruned || s == StateFailed
}

// ParamKind is the kind of a search-space dimension, as Optuna's FloatDistribution,
// IntDistribution and CategoricalDistribution.
type ParamKind int

const (
	// KindFloat is a real-valued parameter in [Low, High], optionally log-scaled or stepped.
	KindFloat ParamKind = iota
	// KindInt is an integer parameter in [Low, High] with Step (default 1), optionally log-scaled.
	KindInt
	// KindCategorical is one of a list of choices (numbers, strings or booleans).
	KindCategorical
)

var kindNames = []string{"float", "int", "categorical"}

// String returns "float", "int" or "categorical".
func (k ParamKind) String() string { return enumName(kindNames, int(k), "ParamKind") }

// MarshalText encodes the kind as its name.
func (k ParamKind) MarshalText() ([]byte, error) { return enumMarshal(kindNames, int(k), "kind") }

// UnmarshalText decodes a kind name.
func (k *ParamKind) UnmarshalText(b []byte) error {
	v, err := enumUnmarshal(kindNames, b, "kind")
	*k = ParamKind(v)
	return err
}

func enumName(names []string, v int, typ string) string {
	if v < 0 || v >= len(names) {
		return fmt.Sprintf("%s(%d)", typ, v)
	}
	return names[v]
}

func enumMarshal(names []string, v int, field string) ([]byte, error) {
	if v < 0 || v >= len(names) {
		return nil, fmt.Errorf("hpo: invalid %s %d", field, v)
	}
	return []byte(names[v]), nil
}

func enumUnmarshal(names []string, b []byte, field string) (int, error) {
	for i, n := range names {
		if n == string(b) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("hpo: unknown %s %q (want one of %v)", field, b, names)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
