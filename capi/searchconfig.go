package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/search"
)

// searchFields are the fields of openmed_search's config_json beyond
// openmed_train's, one per flag of `openmed search` that is not a trainer
// option (cmd/openmed/search.go), plus the study's pruner. Absent fields keep
// the CLI's defaults (search.DefaultOptions; seed 0).
type searchFields struct {
	// Trials is the study's trial budget (paper: 40).
	Trials *int `json:"trials"`
	// Workers is the number of trials run in parallel by this call.
	Workers *int `json:"workers"`
	// Sampler is search.ParseSampler's spelling: "tpe", "tpe-univariate", "random".
	Sampler *string `json:"sampler"`
	// Seed seeds the sampler and every training run, as `openmed search --seed`.
	Seed *uint64 `json:"seed"`
	// Space is a JSON array of hpo.Param (default: search.SpaceFor the method).
	Space json.RawMessage `json:"space"`
	// Pruner is an hpo.PrunerConfig over the median pruner's defaults.
	Pruner json.RawMessage `json:"pruner"`
	// KeepWeights and NoFinal are --keep-weights and --no-final.
	KeepWeights bool `json:"keep_weights"`
	NoFinal     bool `json:"no_final"`
}

// searchKeys are the JSON names of searchFields: parseSearchConfig takes them
// out of config_json and hands the rest to parseTrainConfig.
var searchKeys = []string{"trials", "workers", "sampler", "seed", "space", "pruner", "keep_weights", "no_final"}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// parseSearchConfig reads openmed_search's config_json into search.Options
// over search.DefaultOptions: the trainer fields exactly as openmed_train
// reads them (parseTrainConfig; "output_dir" is the search folder) plus
// searchFields. Every error is StatusBadInput and names its field.
func parseSearchConfig(cfgJSON string) (search.Options, error) {
	o := search.DefaultOptions()
	var raw map[string]json.RawMessage
	if err := decodeJSON(cfgJSON, &raw); err != nil {
		return o, badInput("config_json: %v", err)
	}
	if raw == nil {
		return o, badInput("config_json: want a JSON object")
	}
	own := map[string]json.RawMessage{}
	for _, k := range searchKeys {
		if v, ok := raw[k]; ok {
			own[k] = v
			delete(raw, k)
		}
	}
	var f searchFields
	ownJSON, err := json.Marshal(own)
	if err != nil {
		return o, err
	}
	if err := decodeJSON(string(ownJSON), &f); err != nil {
		return o, badInput("config_json: %v", err)
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return o, err
	}
	if o.Train, err = parseTrainConfig(string(rest)); err != nil {
		return o, err
	}
	o.Dir = o.Train.Out
	if o.Train.Dev == "" {
		return o, badInput("config_json: \"dev\" is required: trials are scored on dev micro-F1 (§3.4)")
	}
	if f.Trials != nil {
		if *f.Trials < 1 {
			return o, badInput("config_json: trials: need ≥ 1, got %d", *f.Trials)
		}
		o.Trials = *f.Trials
	}
	if f.Workers != nil {
		if *f.Workers < 1 {
			return o, badInput("config_json: workers: need ≥ 1, got %d", *f.Workers)
		}
		o.Workers = *f.Workers
	}
	sampler := search.SamplerTPE
	if f.Sampler != nil {
		if sampler, err = search.ParseSampler(*f.Sampler); err != nil {
			return o, badInput("config_json: sampler: %v", err)
		}
	}
	var seed uint64
	if f.Seed != nil {
		seed = *f.Seed
	}
	if err := o.Prepare(sampler, seed); err != nil {
		return o, badInput("config_json: sampler: %v", err)
	}
	o.Study.Space = search.SpaceFor(o.Train.Method)
	if !isNull(f.Space) {
		var sp hpo.Space
		if err := decodeJSON(string(f.Space), &sp); err != nil {
			return o, badInput("config_json: space: want a JSON array of parameters {\"name\", \"kind\", \"low\", \"high\", \"step\", \"log\", \"choices\"}: %v", err)
		}
		if err := search.CheckSpace(sp, o.Train.Method); err != nil {
			return o, badInput("config_json: space: %v", err)
		}
		o.Study.Space = sp
	}
	if !isNull(f.Pruner) {
		if err := decodeJSON(string(f.Pruner), &o.Study.Pruner); err != nil {
			return o, badInput("config_json: pruner: want {\"kind\": \"median\"|\"none\", \"median\": {\"n_startup_trials\", \"n_warmup_steps\", \"interval_steps\", \"n_min_trials\"}}: %v", err)
		}
		if _, err := o.Study.Pruner.New(); err != nil {
			return o, badInput("config_json: pruner: %v", err)
		}
	}
	o.KeepWeights, o.SkipFinal = f.KeepWeights, f.NoFinal
	if err := o.Validate(); err != nil {
		return o, badInput("config_json: %v", err)
	}
	return o, nil
}

// checkSearchInputs returns a StatusNotFound error naming the first input of
// cfg that does not exist, so that a typo fails at once instead of failing
// every trial.
func checkSearchInputs(cfg training.Config) error {
	for _, in := range []struct{ field, path string }{
		{"base", cfg.Base}, {"tokenizer", cfg.Tokenizer}, {"train", cfg.Train}, {"dev", cfg.Dev}, {"test", cfg.Test},
	} {
		if in.path == "" {
			continue
		}
		if _, err := os.Stat(in.path); err != nil {
			return fmt.Errorf("config_json: %s: %w", in.field, err)
		}
	}
	return nil
}
