package hpo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"
)

// RunOptions configure one [Study.Optimize] call; [DefaultRunOptions] are the paper's.
type RunOptions struct {
	// NTrials is the study's total trial budget, shared by every worker and resumption:
	// a call returns once the study holds NTrials trials and this process runs none
	// (the paper runs 40 per backbone × corpus, §3.4). Failed and pruned trials count.
	NTrials int
	// Workers is the number of goroutines running trials in this process (default 1).
	Workers int
	// Progress, if set, is called (serially) after every start, report and finish of
	// this process's trials.
	Progress func(Progress)
	// Sampler and Pruner override the study config's (e.g. custom implementations).
	Sampler Sampler
	Pruner  Pruner
}

// DefaultRunOptions: 40 trials, one worker.
func DefaultRunOptions() RunOptions { return RunOptions{NTrials: 40, Workers: 1} }

// run is the state of one Optimize call.
type run struct {
	worker      string
	sampler     Sampler
	pruner      Pruner
	opt         RunOptions
	started     time.Time
	doneAtStart int

	progMu  sync.Mutex
	claimMu sync.Mutex // with the flock, serialises this process's claims (guards dead)
	dead    map[string]bool
	study   *Study
}

// Optimize runs trials of obj until the study holds opt.NTrials trials, in opt.Workers
// goroutines. Each trial is claimed under the study's flock: read the log (seeing every
// worker's results), pick a trial whose worker process died (re-queued with the same
// parameters and the next attempt), else an enqueued trial, else sample a new one, and
// append its start event.
// Every event is fsync'd, so a crashed study resumes where it stopped: finished trials
// are never repeated or lost.
//
// Objective errors mark the trial failed (a panic too); [ErrPruned] marks it pruned.
// When ctx is cancelled, running trials are left running (re-queued on resume) and
// Optimize returns ctx.Err(). Other errors are I/O or log errors.
func (s *Study) Optimize(ctx context.Context, obj Objective, opt RunOptions) error {
	if obj == nil {
		return fmt.Errorf("hpo: optimize: nil objective")
	}
	if opt.NTrials <= 0 {
		return fmt.Errorf("hpo: optimize: NTrials must be > 0, got %d", opt.NTrials)
	}
	if opt.Workers <= 0 {
		opt.Workers = 1
	}
	r := &run{study: s, opt: opt, sampler: opt.Sampler, pruner: opt.Pruner, started: time.Now(), dead: map[string]bool{}}
	if r.sampler == nil {
		r.sampler = s.sampler
	}
	if r.pruner == nil {
		r.pruner = s.pruner
	}
	wl, err := s.registerWorker(r)
	if err != nil {
		return err
	}
	defer func() {
		os.Remove(filepath.Join(s.dir, WorkersDir, r.worker+".lock"))
		wl.Unlock()
	}()
	if trials, err := s.Trials(); err == nil {
		for _, t := range trials {
			if t.State.Finished() {
				r.doneAtStart++
			}
		}
	} else {
		return err
	}

	// An I/O error in one goroutine stops the others (their trials stay running and are
	// re-queued on resume).
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, opt.Workers)
	for w := 0; w < opt.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if err := r.workerLoop(inner, obj); err != nil && !errors.Is(err, context.Canceled) {
				errs[w] = err
				cancel()
			}
		}(w)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// registerWorker creates and flocks workers/<id>.lock for this call; the lock is held
// until Optimize returns (or the process dies, when the kernel drops it).
func (s *Study) registerWorker(r *run) (*fileLock, error) {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("hpo: worker id: %w", err)
	}
	r.worker = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	return lockFile(filepath.Join(s.dir, WorkersDir, r.worker+".lock"))
}

func (r *run) workerLoop(ctx context.Context, obj Objective) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := r.claim()
		if err != nil {
			return err
		}
		if t == nil {
			return nil
		}
		if err := r.execute(ctx, obj, t); err != nil {
			return err
		}
	}
}

// claim takes the study lock, reads the log and starts the next trial: the lowest
// numbered trial whose worker died, else the lowest enqueued one, else a newly sampled
// one if the budget allows. It returns nil when there is nothing left for this process
// to do.
func (r *run) claim() (*Trial, error) {
	t, trials, err := r.claimLocked()
	if err != nil || t == nil {
		return nil, err
	}
	r.notifyWith(ProgressStarted, t.frozen, replace(trials, t.frozen))
	return t, nil
}

func (r *run) claimLocked() (*Trial, []FrozenTrial, error) {
	r.claimMu.Lock()
	defer r.claimMu.Unlock()
	s := r.study
	lock, err := lockFile(s.lockPath())
	if err != nil {
		return nil, nil, err
	}
	defer lock.Unlock()
	trials, err := s.Trials()
	if err != nil {
		return nil, nil, err
	}
	var ev Event
	found := false
	for _, t := range trials {
		if t.State != StateRunning || t.Worker == r.worker {
			continue
		}
		alive, err := r.workerAlive(t.Worker)
		if err != nil {
			return nil, nil, err
		}
		if !alive {
			ev = Event{Kind: EventStart, Trial: t.Number, Attempt: t.Attempt + 1, Params: t.Params}
			found = true
			break
		}
	}
	if !found {
		// An enqueued trial: its fixed parameters, the rest sampled.
		number, fixed := -1, map[string]any(nil)
		for _, t := range trials {
			if t.State == StateWaiting {
				number, fixed = t.Number, t.Params
				break
			}
		}
		if number < 0 {
			if len(trials) >= r.opt.NTrials {
				return nil, nil, nil
			}
			number = 0
			if len(trials) > 0 {
				number = trials[len(trials)-1].Number + 1
			}
		}
		params, err := r.sampler.Sample(s.cfg.Space, s.cfg.Direction, trials, number)
		if err != nil {
			return nil, nil, fmt.Errorf("hpo: sample trial %d: %w", number, err)
		}
		for k, v := range fixed {
			params[k] = v
		}
		if _, err := s.cfg.Space.internalParams(params); err != nil {
			return nil, nil, fmt.Errorf("hpo: invalid parameters for trial %d: %w", number, err)
		}
		ev = Event{Kind: EventStart, Trial: number, Attempt: 1, Params: params}
	}
	ev.Time, ev.Worker = time.Now().UTC(), r.worker
	if err := appendEvents(s.logPath(), ev); err != nil {
		return nil, nil, err
	}
	t := &Trial{study: s, run: r, frozen: FrozenTrial{
		Number: ev.Trial, State: StateRunning, Params: ev.Params, Attempt: ev.Attempt,
		Worker: r.worker, Started: ev.Time,
	}}
	return t, trials, nil
}

// replace returns trials with tr substituted or appended (by number).
func replace(trials []FrozenTrial, tr FrozenTrial) []FrozenTrial {
	out := append([]FrozenTrial(nil), trials...)
	for i := range out {
		if out[i].Number == tr.Number {
			out[i] = tr
			return out
		}
	}
	return append(out, tr)
}

// workerAlive reports whether the worker process that wrote a start event still holds its
// lock file. Dead workers are remembered and their stale lock files removed.
func (r *run) workerAlive(worker string) (bool, error) {
	if worker == "" || r.dead[worker] {
		return false, nil
	}
	path := filepath.Join(r.study.dir, WorkersDir, worker+".lock")
	l, free, err := tryLockFile(path)
	if err != nil {
		return false, err
	}
	if !free {
		return true, nil
	}
	if l != nil {
		os.Remove(path)
		l.Unlock()
	}
	r.dead[worker] = true
	return false, nil
}

// execute runs the objective for t and records the outcome.
func (r *run) execute(ctx context.Context, obj Objective, t *Trial) error {
	value, err := callObjective(ctx, obj, t)
	if err != nil && ctx.Err() != nil {
		// Interrupted: leave the trial running; it is re-queued with the same parameters
		// when the study resumes (this worker's lock is released on return).
		return nil
	}
	ev := Event{Kind: EventFinish, Trial: t.frozen.Number, Attempt: t.frozen.Attempt, Time: time.Now().UTC()}
	snap := t.snapshot()
	switch {
	case err == nil && isFinite(value):
		v := value
		ev.State, ev.Value = StateComplete, &v
	case err == nil:
		ev.State, ev.Error = StateFailed, fmt.Sprintf("objective returned %v", value)
	case errors.Is(err, ErrPruned):
		ev.State = StatePruned
		if last, ok := snap.LastStep(); ok {
			v := last.Value
			ev.Value = &v
		}
	default:
		ev.State, ev.Error = StateFailed, err.Error()
	}
	if err := r.study.appendLocked(ev); err != nil {
		return err
	}
	snap.State, snap.Value, snap.Error, snap.Finished = ev.State, ev.Value, ev.Error, ev.Time
	r.notify(ProgressFinished, snap, nil)
	return nil
}

// callObjective runs obj, turning a panic into an error so one bad trial does not kill
// the study.
func callObjective(ctx context.Context, obj Objective, t *Trial) (v float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = math.NaN(), fmt.Errorf("objective panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return obj(ctx, t)
}

// appendLocked appends one event under the study lock.
func (s *Study) appendLocked(ev Event) error {
	lock, err := lockFile(s.lockPath())
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return appendEvents(s.logPath(), ev)
}

// notify reports progress, reading the log for study-wide counts when trials is nil.
func (r *run) notify(ev ProgressEvent, tr FrozenTrial, trials []FrozenTrial) {
	if r.opt.Progress == nil {
		return
	}
	if trials == nil {
		all, err := r.study.Trials()
		if err != nil {
			all = []FrozenTrial{}
		}
		trials = replace(all, tr)
	}
	r.notifyWith(ev, tr, trials)
}

func (r *run) notifyWith(ev ProgressEvent, tr FrozenTrial, trials []FrozenTrial) {
	if r.opt.Progress == nil {
		return
	}
	p := computeProgress(ev, tr, trials, r.study.cfg.Direction, r.opt.NTrials, r.doneAtStart, r.started)
	r.progMu.Lock()
	defer r.progMu.Unlock()
	r.opt.Progress(p)
}
