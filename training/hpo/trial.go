package hpo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Objective evaluates one trial: it reads the trial's parameters, trains, reports the dev
// score after each epoch ([Trial.Report]), stops early when [Trial.ShouldPrune] says so
// (returning [ErrPruned]) and returns the final score (dev F1 in the paper, §3.4). It must
// honour ctx: when ctx is cancelled the trial is left running and re-queued on resume.
type Objective func(ctx context.Context, trial *Trial) (float64, error)

// ErrPruned is returned (possibly wrapped) by an objective that stopped because the
// pruner said so, as Optuna's TrialPruned exception.
var ErrPruned = errors.New("hpo: trial pruned")

// Trial is the handle an [Objective] gets for one running trial: its number, parameters
// and reporting of the per-epoch curve. Methods are safe for concurrent use.
type Trial struct {
	study *Study
	run   *run

	mu     sync.Mutex
	frozen FrozenTrial
}

// Number is the trial's number in the study.
func (t *Trial) Number() int { return t.frozen.Number }

// Attempt is 1, or higher when the trial was re-queued after its worker died.
func (t *Trial) Attempt() int { return t.frozen.Attempt }

// Params returns a copy of the trial's parameters (see [FrozenTrial.Params]).
func (t *Trial) Params() map[string]any {
	out := make(map[string]any, len(t.frozen.Params))
	for k, v := range t.frozen.Params {
		out[k] = v
	}
	return out
}

// Float returns a numeric parameter (float, int, or numeric categorical) as float64.
func (t *Trial) Float(name string) (float64, error) {
	v, ok := t.frozen.Params[name]
	if !ok {
		return 0, fmt.Errorf("hpo: trial %d: no parameter %q", t.frozen.Number, name)
	}
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("hpo: trial %d: parameter %q is %T, not a number", t.frozen.Number, name, v)
	}
	return f, nil
}

// Int returns an integral numeric parameter (an int, or a categorical such as batch_size).
func (t *Trial) Int(name string) (int, error) {
	f, err := t.Float(name)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("hpo: trial %d: parameter %q = %v is not an integer", t.frozen.Number, name, f)
	}
	return int(f), nil
}

// String returns a string-valued categorical parameter.
func (t *Trial) String(name string) (string, error) {
	v, ok := t.frozen.Params[name]
	if !ok {
		return "", fmt.Errorf("hpo: trial %d: no parameter %q", t.frozen.Number, name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("hpo: trial %d: parameter %q is %T, not a string", t.frozen.Number, name, v)
	}
	return s, nil
}

// Bool returns a boolean categorical parameter.
func (t *Trial) Bool(name string) (bool, error) {
	v, ok := t.frozen.Params[name]
	if !ok {
		return false, fmt.Errorf("hpo: trial %d: no parameter %q", t.frozen.Number, name)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("hpo: trial %d: parameter %q is %T, not a bool", t.frozen.Number, name, v)
	}
	return b, nil
}

// Report durably records the objective's value after step (an epoch), as Optuna's
// trial.report. Values must be finite; reporting a step again overwrites it.
func (t *Trial) Report(step int, value float64) error {
	if !isFinite(value) {
		return fmt.Errorf("hpo: trial %d: reported value %v at step %d is not finite", t.frozen.Number, value, step)
	}
	if step < 0 {
		return fmt.Errorf("hpo: trial %d: negative step %d", t.frozen.Number, step)
	}
	t.mu.Lock()
	st, v := step, value
	ev := Event{Kind: EventReport, Trial: t.frozen.Number, Attempt: t.frozen.Attempt, Time: time.Now().UTC(), Step: &st, Value: &v}
	if err := t.study.appendLocked(ev); err != nil {
		t.mu.Unlock()
		return err
	}
	t.frozen.setIntermediate(step, value)
	t.mu.Unlock()
	t.run.notify(ProgressReported, t.snapshot(), nil)
	return nil
}

// ShouldPrune re-reads the study (so other workers' results count) and asks the pruner
// whether this trial is hopeless given its reported curve (Optuna's trial.should_prune).
func (t *Trial) ShouldPrune() (bool, error) {
	trials, err := t.study.Trials()
	if err != nil {
		return false, err
	}
	t.mu.Lock()
	self := t.frozen
	self.Intermediate = append([]StepValue(nil), t.frozen.Intermediate...)
	t.mu.Unlock()
	history := trials[:0:0]
	for _, o := range trials {
		if o.Number != self.Number {
			history = append(history, o)
		}
	}
	return t.run.pruner.Prune(t.study.cfg.Direction, history, self), nil
}

// snapshot returns a copy of the trial's current record.
func (t *Trial) snapshot() FrozenTrial {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.frozen
	f.Intermediate = append([]StepValue(nil), t.frozen.Intermediate...)
	return f
}
