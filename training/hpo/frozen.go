package hpo

import "time"

// StepValue is one intermediate value reported by a trial (Optuna's
// trial.intermediate_values entry); the step is the epoch in openmed's trainer.
type StepValue struct {
	Step  int     `json:"step"`
	Value float64 `json:"value"`
}

// FrozenTrial is the recorded state of one trial as rebuilt from the study's event log
// (Optuna's FrozenTrial): its number, parameters (external values), per-step curve, state
// and final value.
type FrozenTrial struct {
	// Number is the trial's 0-based number in the study; unique, never reused.
	Number int `json:"number"`
	// State is running, complete, pruned or failed.
	State TrialState `json:"state"`
	// Params maps parameter names to values: float64 for numeric parameters (integral for
	// ints), the chosen value for categoricals.
	Params map[string]any `json:"params"`
	// Value is the objective value (complete) or the last intermediate value (pruned);
	// nil otherwise.
	Value *float64 `json:"value,omitempty"`
	// Intermediate is the per-step curve in ascending step order (last report per step wins).
	Intermediate []StepValue `json:"intermediate,omitempty"`
	// Attempt counts executions: 1, or more when a worker died and the trial was re-queued.
	Attempt int `json:"attempt"`
	// Worker identifies the process (host-pid-random) running the current attempt.
	Worker string `json:"worker,omitempty"`
	// Started and Finished time the current attempt (Finished is zero while running).
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Error is the objective's error message for failed trials.
	Error string `json:"error,omitempty"`
}

// LastStep returns the trial's highest-step intermediate value.
func (t FrozenTrial) LastStep() (StepValue, bool) {
	if len(t.Intermediate) == 0 {
		return StepValue{}, false
	}
	return t.Intermediate[len(t.Intermediate)-1], true
}

// ValueAt returns the intermediate value reported at step.
func (t FrozenTrial) ValueAt(step int) (float64, bool) {
	for _, sv := range t.Intermediate {
		if sv.Step == step {
			return sv.Value, true
		}
	}
	return 0, false
}

// Duration is the current attempt's run time (zero while running).
func (t FrozenTrial) Duration() time.Duration {
	if t.Finished.IsZero() {
		return 0
	}
	return t.Finished.Sub(t.Started)
}

func (t *FrozenTrial) setIntermediate(step int, v float64) {
	for i := range t.Intermediate {
		if t.Intermediate[i].Step == step {
			t.Intermediate[i].Value = v
			return
		}
		if t.Intermediate[i].Step > step {
			t.Intermediate = append(t.Intermediate, StepValue{})
			copy(t.Intermediate[i+1:], t.Intermediate[i:])
			t.Intermediate[i] = StepValue{Step: step, Value: v}
			return
		}
	}
	t.Intermediate = append(t.Intermediate, StepValue{Step: step, Value: v})
}
