package hpo

import "time"

// ProgressEvent says what just happened in a [Progress] report.
type ProgressEvent int

const (
	// ProgressStarted: this process started (or re-started) a trial.
	ProgressStarted ProgressEvent = iota
	// ProgressReported: a trial of this process reported an intermediate value.
	ProgressReported
	// ProgressFinished: a trial of this process finished.
	ProgressFinished
)

var progressNames = []string{"started", "reported", "finished"}

// String returns "started", "reported" or "finished".
func (e ProgressEvent) String() string { return enumName(progressNames, int(e), "ProgressEvent") }

// Progress is what the progress hook receives after every event of this process: the
// trial concerned and study-wide counts (all workers, as of the last read of the log),
// from which the CLI draws its progress bar.
type Progress struct {
	Event ProgressEvent
	// Trial is the trial the event concerns.
	Trial FrozenTrial
	// Total is the study's trial budget ([RunOptions.NTrials]).
	Total int
	// Done counts finished trials (Complete + Pruned + Failed); Running and Waiting
	// (enqueued, not started) the others.
	Done, Complete, Pruned, Failed, Running, Waiting int
	// Best is the best complete trial so far; nil before the first.
	Best *FrozenTrial
	// Elapsed is the time since this Optimize call started.
	Elapsed time.Duration
	// ETA extrapolates the remaining time from the trials finished since this call
	// started (any worker's); zero while unknown.
	ETA time.Duration
}

// computeProgress fills the study-wide counts from trials.
func computeProgress(ev ProgressEvent, tr FrozenTrial, trials []FrozenTrial, dir Direction, total, doneAtStart int, started time.Time) Progress {
	p := Progress{Event: ev, Trial: tr, Total: total, Elapsed: time.Since(started)}
	for _, t := range trials {
		switch t.State {
		case StateComplete:
			p.Complete++
		case StatePruned:
			p.Pruned++
		case StateFailed:
			p.Failed++
		case StateWaiting:
			p.Waiting++
		default:
			p.Running++
		}
	}
	p.Done = p.Complete + p.Pruned + p.Failed
	if b, ok := bestTrial(dir, trials); ok {
		p.Best = &b
	}
	if n := p.Done - doneAtStart; n > 0 && total > p.Done {
		p.ETA = time.Duration(float64(p.Elapsed) / float64(n) * float64(total-p.Done))
	}
	return p
}
