package main

import (
	"fmt"
	"os"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/search"
)

// parseSearchConfig reads openmed_search's config_json with
// search.ParseOptions; every error is StatusBadInput.
func parseSearchConfig(cfgJSON string) (search.Options, error) {
	o, err := search.ParseOptions([]byte(cfgJSON))
	if err != nil {
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
