package hpo

import "path/filepath"

// Summary is a study's state at a glance (for `openmed search --status`-style reports).
type Summary struct {
	// Trials counts every trial; the others split it by state.
	Trials, Complete, Pruned, Failed, Running, Waiting int
	// Orphaned counts running trials whose worker process is gone: the next Optimize call
	// re-runs them with the same parameters.
	Orphaned int
	// Best is the best complete trial; nil before the first.
	Best *FrozenTrial
}

// Summary reads the log and counts the trials by state, checking which running trials
// have lost their worker.
func (s *Study) Summary() (Summary, error) {
	trials, err := s.Trials()
	if err != nil {
		return Summary{}, err
	}
	return s.summarize(trials)
}

// summarize is Summary over trials already read from the log.
func (s *Study) summarize(trials []FrozenTrial) (Summary, error) {
	var err error
	sum := Summary{Trials: len(trials)}
	alive := map[string]bool{}
	for _, t := range trials {
		switch t.State {
		case StateComplete:
			sum.Complete++
		case StatePruned:
			sum.Pruned++
		case StateFailed:
			sum.Failed++
		case StateWaiting:
			sum.Waiting++
		default:
			sum.Running++
			a, seen := alive[t.Worker]
			if !seen {
				a, err = s.workerLockHeld(t.Worker)
				if err != nil {
					return Summary{}, err
				}
				alive[t.Worker] = a
			}
			if !a {
				sum.Orphaned++
			}
		}
	}
	if b, ok := bestTrial(s.cfg.Direction, trials); ok {
		sum.Best = &b
	}
	return sum, nil
}

// workerLockHeld reports whether some live process holds worker's lock file.
func (s *Study) workerLockHeld(worker string) (bool, error) {
	if worker == "" {
		return false, nil
	}
	l, free, err := tryLockFile(filepath.Join(s.dir, WorkersDir, worker+".lock"))
	if err != nil {
		return false, err
	}
	if l != nil {
		l.Unlock()
	}
	return !free, nil
}
