package loop

import "time"

// Phase is what the training loop is doing when it reports Progress.
type Phase int

const (
	// PhaseTrain is reported after optimiser steps (every LogEvery steps).
	PhaseTrain Phase = iota
	// PhaseEval is reported after each end-of-epoch evaluation.
	PhaseEval
	// PhaseCheckpoint is reported after a checkpoint is written.
	PhaseCheckpoint
	// PhaseDone is reported once when the loop ends (finished, early-stopped
	// or interrupted).
	PhaseDone
)

// String names the phase as in metrics.jsonl.
func (p Phase) String() string {
	switch p {
	case PhaseTrain:
		return "train"
	case PhaseEval:
		return "eval"
	case PhaseCheckpoint:
		return "checkpoint"
	case PhaseDone:
		return "done"
	}
	return "unknown"
}

// Progress is a snapshot of a running loop, passed to the progress callback
// (CLI progress bar, C ABI, Python).
type Progress struct {
	Phase Phase
	// Epoch is the 0-based current epoch; Epochs the configured number.
	Epoch, Epochs int
	// Step is the number of optimiser steps taken; TotalSteps the planned total.
	Step, TotalSteps int
	// Loss is the mean training loss since the previous report.
	Loss float64
	// LR is the learning rate of the last step.
	LR float64
	// StepsPerSec and TokensPerSec are measured since the loop (re)started.
	StepsPerSec, TokensPerSec float64
	// ETA estimates the remaining training time (evaluations excluded).
	ETA time.Duration
	// Score is the last evaluation's score (dev micro-F1, or −held-out loss
	// for DAPT); HasScore is false before the first evaluation.
	Score    float64
	HasScore bool
	// Best is the best score so far.
	Best float64
	// Checkpoint is the folder written (PhaseCheckpoint).
	Checkpoint string
}
