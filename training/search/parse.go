package search

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/openmed/openmed/core/jsonconf"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
)

// searchFields are the fields of openmed_search's config_json beyond
// the trainer's, one per flag of `openmed search` that is not a trainer
// option (cmd/openmed/go), plus the study's pruner. Absent fields keep
// the CLI's defaults (DefaultOptions; seed 0).
type searchFields struct {
	// Trials is the study's trial budget (paper: 40).
	Trials *int `json:"trials"`
	// Workers is the number of trials run in parallel by this call.
	Workers *int `json:"workers"`
	// Sampler is ParseSampler's spelling: "tpe", "tpe-univariate", "random".
	Sampler *string `json:"sampler"`
	// Seed seeds the sampler and every training run, as `openmed search --seed`.
	Seed *uint64 `json:"seed"`
	// Space is a JSON array of hpo.Param (default: SpaceFor the method).
	Space json.RawMessage `json:"space"`
	// Pruner is an hpo.PrunerConfig over the median pruner's defaults.
	Pruner json.RawMessage `json:"pruner"`
	// KeepWeights and NoFinal are --keep-weights and --no-final.
	KeepWeights bool `json:"keep_weights"`
	NoFinal     bool `json:"no_final"`
}

// searchKeys are the JSON names of searchFields: ParseOptions takes them
// out and hands the rest to training.ParseConfig.
var searchKeys = []string{"trials", "workers", "sampler", "seed", "space", "pruner", "keep_weights", "no_final"}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// ParseOptions reads a search configuration — the C ABI's openmed_search
// config_json, Python's openmed.search — into Options over DefaultOptions:
// one flat JSON object with the trainer fields of training.ParseConfig
// ("output_dir" is the search folder; "dev" is required) plus searchFields.
// Every error names its field.
func ParseOptions(data []byte) (Options, error) {
	o := DefaultOptions()
	var raw map[string]json.RawMessage
	if err := jsonconf.Decode(data, &raw); err != nil {
		return o, fmt.Errorf("%v", err)
	}
	if raw == nil {
		return o, fmt.Errorf("want a JSON object")
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
	if err := jsonconf.Decode(ownJSON, &f); err != nil {
		return o, fmt.Errorf("%v", err)
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return o, err
	}
	if o.Train, err = training.ParseConfig(rest); err != nil {
		return o, err
	}
	o.Dir = o.Train.Out
	if err := o.CheckRequired(); err != nil {
		return o, err
	}
	if f.Trials != nil {
		if *f.Trials < 1 {
			return o, fmt.Errorf("trials: need ≥ 1, got %d", *f.Trials)
		}
		o.Trials = *f.Trials
	}
	if f.Workers != nil {
		if *f.Workers < 1 {
			return o, fmt.Errorf("workers: need ≥ 1, got %d", *f.Workers)
		}
		o.Workers = *f.Workers
	}
	sampler := SamplerTPE
	if f.Sampler != nil {
		if sampler, err = ParseSampler(*f.Sampler); err != nil {
			return o, fmt.Errorf("sampler: %v", err)
		}
	}
	var seed uint64
	if f.Seed != nil {
		seed = *f.Seed
	}
	if err := o.Prepare(sampler, seed); err != nil {
		return o, fmt.Errorf("sampler: %v", err)
	}
	o.Study.Space = SpaceFor(o.Train.Method)
	if !isNull(f.Space) {
		var sp hpo.Space
		if err := jsonconf.Decode(f.Space, &sp); err != nil {
			return o, fmt.Errorf("space: want a JSON array of parameters {\"name\", \"kind\", \"low\", \"high\", \"step\", \"log\", \"choices\"}: %v", err)
		}
		if err := CheckSpace(sp, o.Train.Method); err != nil {
			return o, fmt.Errorf("space: %v", err)
		}
		o.Study.Space = sp
	}
	if !isNull(f.Pruner) {
		if err := jsonconf.Decode(f.Pruner, &o.Study.Pruner); err != nil {
			return o, fmt.Errorf("pruner: want {\"kind\": \"median\"|\"none\", \"median\": {\"n_startup_trials\", \"n_warmup_steps\", \"interval_steps\", \"n_min_trials\"}}: %v", err)
		}
		if _, err := o.Study.Pruner.New(); err != nil {
			return o, fmt.Errorf("pruner: %v", err)
		}
	}
	o.KeepWeights, o.SkipFinal = f.KeepWeights, f.NoFinal
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("%v", err)
	}
	return o, nil
}
