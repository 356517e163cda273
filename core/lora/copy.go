package lora

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tokenize"
)

// AdapterRunFiles are the files of a training run that travel with its
// adapter besides adapter_config.json, the weights and the tokenizer: the
// head's config and labels and the run's own record (training.Output). The
// ones a folder lacks are skipped.
var AdapterRunFiles = []string{checkpoint.ConfigFile, "labels.json", "metrics.json", "training_args.json"}

// CopyAdapter copies the PEFT adapter folder src to dst for shipping: the
// adapter weights, AdapterRunFiles and the tokenizer files as they are, and
// adapter_config.json with base_model_name_or_path set to base (PEFT's
// pointer to the base model: a path relative to dst, or an encoder cache
// name). The folder is written beside dst and renamed into place, so dst
// is either the old folder or the whole new one.
func CopyAdapter(src, dst, base string) error {
	cfg, err := checkpoint.LoadAdapterConfig(src)
	if err != nil {
		return fmt.Errorf("copy adapter: %w", err)
	}
	weights := filepath.Join(src, checkpoint.AdapterSafetensorsFile)
	if _, err := os.Stat(weights); err != nil {
		return fmt.Errorf("copy adapter: %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	cfg.BaseModelNameOrPath = base
	if err := cfg.Save(tmp); err != nil {
		return err
	}
	for _, f := range append([]string{checkpoint.AdapterSafetensorsFile}, AdapterRunFiles...) {
		b, err := os.ReadFile(filepath.Join(src, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy adapter: %w", err)
		}
		if err := checkpoint.WriteFileAtomic(filepath.Join(tmp, f), b); err != nil {
			return err
		}
	}
	if _, err := tokenize.CopyFiles(src, tmp); err != nil {
		return fmt.Errorf("copy adapter: %w", err)
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
