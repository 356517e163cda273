package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/core/scheme"
)

// evaluateRequest is the JSON request of openmed_evaluate: gold and
// predicted tags either inline (one list of tags per sentence) or as CoNLL
// files with the same tokens. Mode is seqeval's ("default" or "strict");
// Scheme ("IOB2" by default, or "auto") matters in strict mode.
type evaluateRequest struct {
	Gold      [][]string `json:"gold"`
	Pred      [][]string `json:"pred"`
	GoldFile  string     `json:"gold_file"`
	PredFile  string     `json:"pred_file"`
	TagColumn *int       `json:"tag_column"`
	Mode      string     `json:"mode"`
	Scheme    string     `json:"scheme"`
}

//export openmed_evaluate
func openmed_evaluate(request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_evaluate", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		var req evaluateRequest
		if err := decodeRequest(request, "request_json", &req); err != nil {
			return err
		}
		rep, err := runEvaluate(req)
		if err != nil {
			return err
		}
		return setOut(out, rep)
	})
}

// runEvaluate scores req with core/metrics (seqeval semantics).
func runEvaluate(req evaluateRequest) (*metrics.Report, error) {
	mode := scheme.Default
	if req.Mode != "" {
		m, err := scheme.ParseMode(req.Mode)
		if err != nil {
			return nil, badInput("request_json: mode: %v", err)
		}
		mode = m
	}
	gold, pred, err := evaluateTags(req)
	if err != nil {
		return nil, err
	}
	sch := scheme.IOB2
	switch {
	case strings.EqualFold(req.Scheme, "auto"):
		if sch, err = scheme.Detect(gold); err != nil {
			return nil, badInput("request_json: scheme auto: %v", err)
		}
	case req.Scheme != "":
		if sch, err = scheme.ParseScheme(req.Scheme); err != nil {
			return nil, badInput("request_json: scheme: %v", err)
		}
	}
	rep, err := metrics.Evaluate(gold, pred, metrics.WithMode(mode), metrics.WithScheme(sch))
	if err != nil {
		return nil, badInput("%v", err)
	}
	return rep, nil
}

// evaluateTags returns the gold and predicted tag sequences of req.
func evaluateTags(req evaluateRequest) (gold, pred [][]string, err error) {
	inline := req.Gold != nil || req.Pred != nil
	files := req.GoldFile != "" || req.PredFile != ""
	switch {
	case inline && files:
		return nil, nil, badInput("request_json: give gold/pred or gold_file/pred_file, not both")
	case inline:
		if req.Gold == nil || req.Pred == nil {
			return nil, nil, badInput("request_json: both \"gold\" and \"pred\" are required")
		}
		if len(req.Gold) != len(req.Pred) {
			return nil, nil, badInput("request_json: gold has %d sentences, pred has %d", len(req.Gold), len(req.Pred))
		}
		for i := range req.Gold {
			if len(req.Gold[i]) != len(req.Pred[i]) {
				return nil, nil, badInput("request_json: sentence %d: gold has %d tags, pred has %d", i, len(req.Gold[i]), len(req.Pred[i]))
			}
		}
		return req.Gold, req.Pred, nil
	case files:
		if req.GoldFile == "" || req.PredFile == "" {
			return nil, nil, badInput("request_json: both \"gold_file\" and \"pred_file\" are required")
		}
		var opts []corpus.Option
		if req.TagColumn != nil {
			opts = append(opts, corpus.WithTagColumn(*req.TagColumn))
		}
		g, err := corpus.ReadFile(req.GoldFile, opts...)
		if err != nil {
			return nil, nil, fileError(err)
		}
		p, err := corpus.ReadFile(req.PredFile, opts...)
		if err != nil {
			return nil, nil, fileError(err)
		}
		if err := corpus.CheckAligned(g, p); err != nil {
			return nil, nil, badInput("%v", err)
		}
		return g.Tags(), p.Tags(), nil
	}
	return nil, nil, badInput("request_json: no input: give gold and pred (tag lists) or gold_file and pred_file")
}

// fileError keeps a missing file a StatusNotFound error and makes any other
// read or parse failure of a user-supplied file a StatusBadInput error.
func fileError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return &apiError{StatusBadInput, err}
}
