package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/search"
)

//export openmed_search
func openmed_search(handle C.uint64_t, config *C.char, cb C.openmed_progress_fn, user unsafe.Pointer, out **C.char, errp **C.char) C.int {
	return call("openmed_search", errp, func() error {
		return runJob(handle, config, cb, user, out, runSearch)
	})
}

// trialEvent is the progress event of one trial of a search (phase "trial"):
// Event is hpo's "started", "reported" (a per-epoch dev F1) or "finished"
// (State complete, pruned or failed), followed by the study-wide counts.
type trialEvent struct {
	Phase   string         `json:"phase"`
	Event   string         `json:"event"`
	Trial   int            `json:"trial"`
	Attempt int            `json:"attempt"`
	State   string         `json:"state"`
	Params  map[string]any `json:"params"`
	// Epoch and Score: the epoch and dev micro-F1 of a "reported" event; for
	// "finished" Score is the trial's value (best dev F1; a pruned trial's
	// last one) and Epoch its last reported epoch.
	Epoch          int      `json:"epoch"`
	Score          *float64 `json:"score"`
	Error          string   `json:"error,omitempty"`
	Total          int      `json:"total"`
	Done           int      `json:"done"`
	Complete       int      `json:"complete"`
	Pruned         int      `json:"pruned"`
	Failed         int      `json:"failed"`
	Running        int      `json:"running"`
	BestTrial      *int     `json:"best_trial"`
	Best           *float64 `json:"best"`
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	ETASeconds     float64  `json:"eta_seconds"`
}

func toTrialEvent(p hpo.Progress) trialEvent {
	t := p.Trial
	ev := trialEvent{Phase: "trial", Event: p.Event.String(), Trial: t.Number, Attempt: t.Attempt, State: t.State.String(),
		Params: t.Params, Error: t.Error, Total: p.Total, Done: p.Done, Complete: p.Complete, Pruned: p.Pruned,
		Failed: p.Failed, Running: p.Running, ElapsedSeconds: p.Elapsed.Seconds(), ETASeconds: p.ETA.Seconds()}
	if sv, ok := t.LastStep(); ok {
		ev.Epoch = sv.Step
		ev.Score = finite(sv.Value)
	}
	if p.Event == hpo.ProgressFinished {
		ev.Score = nil
		if t.Value != nil {
			ev.Score = finite(*t.Value)
		}
	}
	if b := p.Best; b != nil && b.Value != nil {
		n := b.Number
		ev.BestTrial, ev.Best = &n, finite(*b.Value)
	}
	return ev
}

// trialTrainEvent is a trainer progress event (as openmed_train's) of one
// trial, or of the final run (Trial -1).
type trialTrainEvent struct {
	progressEvent
	Trial int `json:"trial"`
}

// searchFinal is the final run of a search: its folder, its dev and test
// micro-F1 (best.json), its metrics.json, and openmed_train's result when
// this call trained it (nil when an earlier call did).
type searchFinal struct {
	OutputDir string          `json:"output_dir"`
	DevF1     float64         `json:"dev_f1"`
	TestF1    *float64        `json:"test_f1"`
	Metrics   json.RawMessage `json:"metrics"`
	Run       *trainResult    `json:"run"`
}

// searchResult is openmed_search's result: search.Result with snake_case
// names. Trials… count the study's trials by state; Config is the trainer
// config of the final run (best parameters applied); Final is nil with
// "no_final".
type searchResult struct {
	OutputDir  string          `json:"output_dir"`
	StudyDir   string          `json:"study_dir"`
	BestFile   string          `json:"best_file"`
	Trials     int             `json:"trials"`
	Complete   int             `json:"complete"`
	Pruned     int             `json:"pruned"`
	Failed     int             `json:"failed"`
	BestTrial  int             `json:"best_trial"`
	BestDevF1  float64         `json:"best_dev_f1"`
	BestParams map[string]any  `json:"best_params"`
	Config     training.Config `json:"config"`
	Final      *searchFinal    `json:"final"`
}

// runSearch runs search.Run under the job's context (as runTrain): progress
// events are the trials' (trialEvent), their trainer's (trialTrainEvent),
// warnings and log lines ({"phase": "warning"|"log", "message"}), sent one at
// a time; a nonzero return of the callback cancels the job. A cancelled
// search keeps its finished trials; calling again on the same output_dir
// resumes it.
func runSearch(j *job, config string, sink progressSink) (any, error) {
	o, err := parseSearchConfig(config)
	if err != nil {
		return nil, err
	}
	if err := checkSearchInputs(o.Train); err != nil {
		return nil, err
	}
	var mu sync.Mutex // trials of several workers report concurrently
	emit := func(v any) {
		mu.Lock()
		stop := sink.emit(v)
		mu.Unlock()
		if stop {
			j.cancel()
		}
	}
	o.Progress = func(p hpo.Progress) { emit(toTrialEvent(p)) }
	o.TrainProgress = func(trial int, p loop.Progress) { emit(trialTrainEvent{toEvent(p), trial}) }
	o.Train.Warn = func(msg string) { emit(warningEvent{Phase: "warning", Message: msg}) }
	o.Log = func(msg string) { emit(warningEvent{Phase: "log", Message: msg}) }
	res, err := search.Run(j.ctx, o)
	if err != nil {
		return nil, searchError(o, err)
	}
	return toSearchResult(o, res)
}

// searchError classifies search.Run's error for the ABI: a cancelled search
// says how to resume it (StatusCancelled); a folder holding a study with
// other settings (hpo.ErrConfigMismatch) is the caller's input, so
// StatusBadInput naming output_dir, not an internal failure.
func searchError(o search.Options, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("search interrupted (finished trials are kept; call again with the same output_dir to resume): %w", err)
	case errors.Is(err, hpo.ErrConfigMismatch):
		return badInput("config_json: output_dir %s holds a study with another space, sampler, seed or pruner; "+
			"resume it with the same settings or use another output_dir: %v", o.Dir, err)
	}
	return err
}

func toSearchResult(o search.Options, res *search.Result) (*searchResult, error) {
	b, s := res.Best, res.Summary
	out := &searchResult{OutputDir: o.Dir, StudyDir: filepath.Join(o.Dir, search.StudyDir),
		BestFile: filepath.Join(o.Dir, search.BestFile), Trials: s.Trials, Complete: s.Complete, Pruned: s.Pruned,
		Failed: s.Failed, BestTrial: b.Trial, BestDevF1: b.DevF1, BestParams: b.Params, Config: b.Config}
	if b.Final == nil {
		return out, nil
	}
	f := &searchFinal{OutputDir: b.Final.Dir, DevF1: b.Final.DevF1, TestF1: b.Final.TestF1}
	m, err := os.ReadFile(filepath.Join(b.Final.Dir, "metrics.json"))
	if err != nil {
		return nil, fmt.Errorf("final run: %w", err)
	}
	f.Metrics = m
	if res.Final != nil {
		if f.Run, err = toTrainResult(b.Config, res.Final); err != nil {
			return nil, err
		}
	}
	out.Final = f
	return out, nil
}
