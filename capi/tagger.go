package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"

	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/models"
)

// The default tagger (models/default.json and its folders) ships inside
// libopenmed: openmed_tagger_open with "model": "" uses it.
func init() { tagger.RegisterDefaultFS(models.FS) }

// taggerConfig is the JSON config of openmed_tagger_open: the model, the
// adapters to attach, and tagger.Options (its JSON names), decoded on top of
// tagger.DefaultOptions so an absent key keeps the library's default.
type taggerConfig struct {
	// Model is an HF token-classification folder, an ONNX export, a PEFT
	// adapter folder, a folder with a default.json manifest or a preset name
	// ("default", "fast": tagger.Open); "" means the
	// default tagger (tagger.Open(""): $OPENMED_MODEL, then the models
	// embedded in libopenmed, then models/default.json on disk).
	Model string `json:"model"`
	// Adapters are PEFT adapter folders attached to the model, named by their
	// folder's base name.
	Adapters []string `json:"adapters"`
	tagger.Options
}

// tagOptions are the per-call options of openmed_tag and openmed_tag_batch:
// Adapter names one attached adapter; AllAdapters tags with every one. With
// neither, a tagger with exactly one adapter uses it, with several all of
// them, and with none the model's own head. A default tagger (a manifest)
// tags as its tag_with says (all its adapters) unless options say otherwise.
type tagOptions struct {
	Adapter     string `json:"adapter"`
	AllAdapters bool   `json:"all_adapters"`
}

// tagBatchRequest is openmed_tag_batch's request.
type tagBatchRequest struct {
	Texts []string `json:"texts"`
	tagOptions
}

// openTagger is a tagger in the handle registry.
type openTagger struct {
	t        *tagger.Tagger
	adapters []string
}

// Close releases the tagger's sessions.
func (o *openTagger) Close() error { return o.t.Close() }

func (o *openTagger) tagOpts(opts tagOptions) ([]tagger.TagOption, error) {
	switch {
	case opts.Adapter != "" && opts.AllAdapters:
		return nil, badInput("options: give \"adapter\" or \"all_adapters\", not both")
	case opts.Adapter != "":
		for _, a := range o.adapters {
			if a == opts.Adapter {
				return []tagger.TagOption{tagger.WithAdapter(a)}, nil
			}
		}
		return nil, badInput("options: adapter %q is not attached (attached: %v)", opts.Adapter, o.adapters)
	case opts.AllAdapters:
		if len(o.adapters) == 0 {
			return nil, badInput("options: all_adapters, but no adapter is attached")
		}
		return []tagger.TagOption{tagger.WithAllAdapters()}, nil
	}
	// The library's default: a manifest's tag_with, else the attached
	// adapter(s), else the model's head.
	return nil, nil
}

// parseTaggerConfig decodes config_json over tagger.DefaultOptions and
// checks what the library would only find later; a batch_size of 0 keeps the
// default.
func parseTaggerConfig(config *C.char) (taggerConfig, error) {
	cfg := taggerConfig{Options: tagger.DefaultOptions()}
	if err := decodeRequest(config, "config_json", &cfg); err != nil {
		return cfg, err
	}
	return cfg, checkTaggerConfig(&cfg)
}

// checkTaggerConfig refuses negative counts and thresholds outside [0, 1].
func checkTaggerConfig(cfg *taggerConfig) error {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = tagger.DefaultOptions().BatchSize
	}
	if cfg.Threads < 0 || cfg.BatchSize < 0 || cfg.WindowLen < 0 || cfg.Stride < 0 {
		return badInput("config_json: threads, batch_size, window_length and stride must be >= 0")
	}
	if cfg.Threshold < 0 || cfg.Threshold > 1 {
		return badInput("config_json: threshold %g is outside [0, 1]", cfg.Threshold)
	}
	return nil
}

// newOpenTagger opens the tagger and attaches the adapters.
func newOpenTagger(cfg taggerConfig) (*openTagger, error) {
	t, err := tagger.Open(cfg.Model, tagger.WithOptions(cfg.Options))
	if err != nil {
		if errors.Is(err, tagger.ErrNoDefaultModel) {
			return nil, &apiError{StatusNotAvailable, err}
		}
		return nil, err
	}
	o := &openTagger{t: t}
	if t.Source().Manifest != nil {
		o.adapters = t.Adapters()
	}
	for i, dir := range cfg.Adapters {
		name := tagger.AdapterName(dir, o.adapters)
		if err := t.AddAdapter(name, dir); err != nil {
			t.Close()
			return nil, fmt.Errorf("config_json: adapters[%d]: %w", i, err)
		}
		o.adapters = append(o.adapters, name)
	}
	return o, nil
}

// tagError maps tagger errors to ABI statuses.
func tagError(err error) error {
	switch {
	case errors.Is(err, tagger.ErrInvalidUTF8):
		return &apiError{StatusBadInput, err}
	case errors.Is(err, tagger.ErrClosed):
		return &apiError{StatusNotFound, err}
	}
	return err
}

//export openmed_tagger_open
func openmed_tagger_open(config *C.char, handle *C.uint64_t, errp **C.char) C.int {
	return call("openmed_tagger_open", errp, func() error {
		if handle == nil {
			return badInput("handle out-parameter is NULL")
		}
		*handle = 0
		cfg, err := parseTaggerConfig(config)
		if err != nil {
			return err
		}
		o, err := newOpenTagger(cfg)
		if err != nil {
			return err
		}
		*handle = C.uint64_t(newHandle(kindTagger, o))
		return nil
	})
}

//export openmed_tagger_close
func openmed_tagger_close(handle C.uint64_t, errp **C.char) C.int {
	return call("openmed_tagger_close", errp, func() error {
		return closeHandle(uint64(handle), kindTagger)
	})
}

//export openmed_tag
func openmed_tag(handle C.uint64_t, text *C.char, options *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_tag", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		obj, err := lookup(uint64(handle), kindTagger)
		if err != nil {
			return err
		}
		o := obj.(*openTagger)
		s, err := goString(text, "text")
		if err != nil {
			return err
		}
		var opts tagOptions
		if options != nil {
			if err := decodeRequest(options, "options_json", &opts); err != nil {
				return err
			}
		}
		topts, err := o.tagOpts(opts)
		if err != nil {
			return err
		}
		ents, err := o.t.Tag(context.Background(), s, topts...)
		if err != nil {
			return tagError(err)
		}
		if ents == nil {
			ents = []tagger.Entity{}
		}
		return setOut(out, ents)
	})
}

//export openmed_tag_batch
func openmed_tag_batch(handle C.uint64_t, request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_tag_batch", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		obj, err := lookup(uint64(handle), kindTagger)
		if err != nil {
			return err
		}
		o := obj.(*openTagger)
		var req tagBatchRequest
		if err := decodeRequest(request, "request_json", &req); err != nil {
			return err
		}
		if req.Texts == nil {
			return badInput("request_json: \"texts\" is required")
		}
		topts, err := o.tagOpts(req.tagOptions)
		if err != nil {
			return err
		}
		res, err := o.t.TagBatch(context.Background(), req.Texts, topts...)
		if err != nil {
			return tagError(err)
		}
		for i := range res {
			if res[i] == nil {
				res[i] = []tagger.Entity{}
			}
		}
		if res == nil {
			res = [][]tagger.Entity{}
		}
		return setOut(out, res)
	})
}
