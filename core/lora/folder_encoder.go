package lora

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tokenize"
)

// MergeEncoderAdapter folds an encoder adapter — a PEFT folder with
// task_type FEATURE_EXTRACTION holding LoRA matrices only, as openmed's DAPT
// writes (training/dapt.AdapterDir) — into the base folder's weights and
// writes the adapted encoder to outDir: the base's config.json, every base
// tensor (an MLM head included) with W += s·B·A on the adapted modules, and
// the base's tokenizer files. The folder is written beside outDir and
// renamed into place.
func MergeEncoderAdapter(baseDir, adapterDir, outDir string) error {
	pc, at, err := checkpoint.LoadAdapter(adapterDir)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if pc.TaskType != checkpoint.TaskFeatureExtraction {
		return fmt.Errorf("merge: %s: task_type %q is not an encoder adapter (want %q; task adapters go through MergeAdapter)", adapterDir, pc.TaskType, checkpoint.TaskFeatureExtraction)
	}
	if pc.UseDora || pc.FanInFanOut {
		return fmt.Errorf("merge: %s: use_dora / fan_in_fan_out are not supported", adapterDir)
	}
	cfg, err := checkpoint.LoadConfig(baseDir)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	sd, err := checkpoint.LoadWeights(baseDir)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	prefix := cfg.BasePrefix() + "."
	n := 0
	for k, a := range at {
		name := strings.TrimPrefix(k, checkpoint.AdapterPrefix)
		if strings.HasSuffix(name, ".lora_B.weight") {
			continue
		}
		if !strings.HasSuffix(name, ".lora_A.weight") {
			return fmt.Errorf("merge: %s: unexpected tensor %s in an encoder adapter (LoRA matrices only)", adapterDir, k)
		}
		module := strings.TrimSuffix(name, ".lora_A.weight")
		b := at[checkpoint.AdapterPrefix+module+".lora_B.weight"]
		if b == nil {
			return fmt.Errorf("merge: %s: adapter has %s but no %s.lora_B.weight", adapterDir, k, module)
		}
		key := module + ".weight"
		if sd[key] == nil {
			key = strings.TrimPrefix(key, prefix)
		}
		w := sd[key]
		if w == nil {
			return fmt.Errorf("merge: %s: base %s has no %s.weight for adapter module %s", adapterDir, baseDir, module, module)
		}
		if err := AddDelta(w, b, a, pc.Scaling()); err != nil {
			return fmt.Errorf("merge: %s: module %s: %w", adapterDir, module, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("merge: %s: adapter has no lora_A/lora_B tensors", adapterDir)
	}
	parent := filepath.Dir(outDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(outDir)+".merge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := checkpoint.WriteSafetensors(filepath.Join(tmp, checkpoint.SafeWeightsFile), sd, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := cfg.Save(filepath.Join(tmp, checkpoint.ConfigFile)); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if _, err := tokenize.CopyFiles(baseDir, tmp); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, outDir); err != nil && !fileExists(filepath.Join(outDir, checkpoint.ConfigFile)) {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
