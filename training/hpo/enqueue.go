package hpo

import (
	"fmt"
	"math"
	"time"
)

// Enqueue adds a waiting trial whose parameters are fixed to params (Optuna's
// enqueue_trial), e.g. the paper's reported settings as a starting point. params may name
// a subset of the space: the others are sampled when the trial starts. Enqueued trials run
// before new ones are sampled and count towards [RunOptions.NTrials]. It returns the
// trial's number.
func (s *Study) Enqueue(params map[string]any) (int, error) {
	fixed := make(map[string]any, len(params))
	for name, v := range params {
		p, ok := s.cfg.Space.Param(name)
		if !ok {
			return 0, fmt.Errorf("hpo: enqueue: parameter %q is not in the search space", name)
		}
		x, err := p.internal(v)
		if err != nil {
			return 0, fmt.Errorf("hpo: enqueue: %w", err)
		}
		fixed[name] = p.external(x)
		if p.Kind != KindCategorical {
			if snapped := p.snap(x); math.Abs(snapped-x) > 1e-9*math.Max(1, math.Abs(x)) {
				return 0, fmt.Errorf("hpo: enqueue: parameter %q: value %v is not on its grid (step %v)", name, v, p.Step)
			}
		}
	}
	lock, err := lockFile(s.lockPath())
	if err != nil {
		return 0, err
	}
	defer lock.Unlock()
	trials, err := s.Trials()
	if err != nil {
		return 0, err
	}
	number := 0
	if len(trials) > 0 {
		number = trials[len(trials)-1].Number + 1
	}
	ev := Event{Kind: EventEnqueue, Trial: number, Time: time.Now().UTC(), Params: fixed}
	if err := appendEvents(s.logPath(), ev); err != nil {
		return 0, err
	}
	return number, nil
}
