package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openmed/openmed/training"
)

// Status is a job's durable state.
type Status string

const (
	// StatusPending: never started.
	StatusPending Status = "pending"
	// StatusRunning: started and not finished; after a crash or kill this
	// stays on disk and the next invocation resumes from the checkpoint.
	StatusRunning Status = "running"
	// StatusInterrupted: stopped cleanly (budget, signal) with a checkpoint.
	StatusInterrupted Status = "interrupted"
	// StatusDone: outputs written; later invocations skip the job.
	StatusDone Status = "done"
	// StatusFailed: the job returned an error (kept in Error); retried.
	StatusFailed Status = "failed"
)

// stateFile is the job's state inside its folder.
const stateFile = "job.json"

// JobState is job.json: the status, what was run and the caps applied.
type JobState struct {
	Name     string    `json:"name"`
	Status   Status    `json:"status"`
	Attempts int       `json:"attempts"`
	Resumes  int       `json:"resumes"`
	Started  time.Time `json:"started,omitempty"`
	Finished time.Time `json:"finished,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Epochs is the epoch count the job runs with; MaxEpochs the recipe's;
	// CapReason says why they differ ("" when not capped).
	Epochs    int    `json:"epochs"`
	MaxEpochs int    `json:"max_epochs"`
	CapReason string `json:"cap_reason,omitempty"`
	// TrainTokens is the sub-word token count of one epoch.
	TrainTokens int `json:"train_tokens_per_epoch"`
	// Command is the equivalent `openmed` CLI command.
	Command string `json:"command"`
}

// loadState reads dir/job.json; a missing file is a pending job.
func loadState(dir, name string) (*JobState, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return &JobState{Name: name, Status: StatusPending}, nil
	}
	if err != nil {
		return nil, err
	}
	var s JobState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// save writes job.json atomically.
func (s *JobState) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return training.WriteJSON(filepath.Join(dir, stateFile), s)
}
