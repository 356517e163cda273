package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"errors"
	"io/fs"

	"github.com/openmed/openmed/training/search"
)

// selectRequest is openmed_select's config_json, the flags of
// `openmed select` (cmd/openmed/select.go) over search.DefaultSelectOptions.
type selectRequest struct {
	// Runs are trainer output folders (metrics.json + test_predictions.tsv).
	Runs []string `json:"runs"`
	// Gold is the gold test CoNLL file ("": the winner's training_args.json test).
	Gold string `json:"gold"`
	// Corpus names the corpus in the report.
	Corpus     string  `json:"corpus"`
	Shuffles   int     `json:"shuffles"`
	Resamples  int     `json:"resamples"`
	Confidence float64 `json:"confidence"`
	Seed       uint64  `json:"seed"`
}

//export openmed_select
func openmed_select(config *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_select", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		d := search.DefaultSelectOptions()
		req := selectRequest{Shuffles: d.Shuffles, Resamples: d.Resamples, Confidence: d.Confidence, Seed: d.Seed}
		if err := decodeRequest(config, "config_json", &req); err != nil {
			return err
		}
		sel, err := runSelect(req)
		if err != nil {
			return err
		}
		return setOut(out, sel)
	})
}

// runSelect checks req, naming the field, and runs search.Select: the best
// dev micro-F1 wins (§3.5) and is tested against the runner-up on test
// (§4.1). A missing file is StatusNotFound; every other failure of Select
// comes from its inputs (metrics.json without dev scores, predictions that
// do not match the gold file) and is StatusBadInput.
func runSelect(req selectRequest) (*search.Selection, error) {
	switch {
	case len(req.Runs) == 0:
		return nil, badInput("config_json: \"runs\" is required (trainer output folders)")
	case !(req.Confidence > 0 && req.Confidence < 1):
		return nil, badInput("config_json: confidence: need 0 < confidence < 1, got %g", req.Confidence)
	case req.Shuffles < 1:
		return nil, badInput("config_json: shuffles: need ≥ 1, got %d", req.Shuffles)
	case req.Resamples < 1:
		return nil, badInput("config_json: resamples: need ≥ 1, got %d", req.Resamples)
	}
	for i, r := range req.Runs {
		if r == "" {
			return nil, badInput("config_json: runs[%d] is empty", i)
		}
	}
	sel, err := search.Select(req.Runs, search.SelectOptions{Gold: req.Gold, Shuffles: req.Shuffles,
		Resamples: req.Resamples, Confidence: req.Confidence, Seed: req.Seed})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &apiError{StatusBadInput, err}
	}
	sel.Corpus = req.Corpus
	return sel, nil
}
