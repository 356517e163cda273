package checkpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/tensor"
)

// File names of a PEFT adapter folder (peft.utils.constants CONFIG_NAME,
// SAFETENSORS_WEIGHTS_NAME, WEIGHTS_NAME).
const (
	AdapterConfigFile      = "adapter_config.json"
	AdapterSafetensorsFile = "adapter_model.safetensors"
	AdapterBinFile         = "adapter_model.bin"
)

// PeftType is PEFT's `peft_type` (peft.utils.peft_types.PeftType).
type PeftType string

// PeftLoRA is the only adapter type openmed trains (LoRA, Hu et al. 2021).
const PeftLoRA PeftType = "LORA"

// TaskType is PEFT's `task_type` (peft.utils.peft_types.TaskType).
type TaskType string

// TaskTokenClassification is PEFT's TOKEN_CLS, the NER task of the paper.
const TaskTokenClassification TaskType = "TOKEN_CLS"

// TaskFeatureExtraction is PEFT's FEATURE_EXTRACTION: an adapter of the
// bare encoder (openmed's DAPT adapter, applied under task adapters).
const TaskFeatureExtraction TaskType = "FEATURE_EXTRACTION"

// LoRABias is PEFT's LoraConfig.bias.
type LoRABias string

// LoRA bias modes (PEFT LoraConfig.bias).
const (
	BiasNone     LoRABias = "none"
	BiasAll      LoRABias = "all"
	BiasLoRAOnly LoRABias = "lora_only"
)

// AdapterPrefix is the prefix of every key PEFT stores in an adapter file
// (PeftModel.base_model = LoraModel(model), LoraModel.model = model).
const AdapterPrefix = "base_model.model."

// AdapterConfig is PEFT's adapter_config.json (LoraConfig). Fields not listed
// here are kept and written back unchanged by Save.
type AdapterConfig struct {
	PeftType PeftType `json:"peft_type"`
	TaskType TaskType `json:"task_type"`
	// R is the LoRA rank.
	R int `json:"r"`
	// LoraAlpha gives the scaling alpha/r (alpha/sqrt(r) with UseRslora).
	LoraAlpha   float64  `json:"lora_alpha"`
	LoraDropout float64  `json:"lora_dropout"`
	Bias        LoRABias `json:"bias"`
	FanInFanOut bool     `json:"fan_in_fan_out"`
	// TargetModules are module-name suffixes; when the file holds a regex
	// string instead, it is in TargetModulesRegex.
	TargetModules       []string `json:"-"`
	TargetModulesRegex  string   `json:"-"`
	ModulesToSave       []string `json:"modules_to_save"`
	BaseModelNameOrPath string   `json:"base_model_name_or_path"`
	InferenceMode       bool     `json:"inference_mode"`
	UseRslora           bool     `json:"use_rslora"`
	UseDora             bool     `json:"use_dora"`

	raw map[string]json.RawMessage
}

// DefaultLoRAConfig returns a LoRA config for token classification with rank
// r and the given alpha, PEFT's LoraConfig defaults otherwise, and the model's
// default target modules (peft.utils.constants: query/value, or
// query_proj/value_proj for DeBERTa-v2).
func DefaultLoRAConfig(mt ModelType, r int, alpha float64) *AdapterConfig {
	targets := []string{"query", "value"}
	if mt == ModelDebertaV2 {
		targets = []string{"query_proj", "value_proj"}
	}
	return &AdapterConfig{
		PeftType: PeftLoRA, TaskType: TaskTokenClassification, R: r, LoraAlpha: alpha,
		Bias: BiasNone, TargetModules: targets, ModulesToSave: []string{"classifier", "score"},
	}
}

// Scaling is the LoRA output scale (PEFT lora/layer.py: lora_alpha/r, or
// lora_alpha/sqrt(r) with use_rslora).
func (a *AdapterConfig) Scaling() float64 {
	if a.R <= 0 {
		return 0
	}
	if a.UseRslora {
		return a.LoraAlpha / math.Sqrt(float64(a.R))
	}
	return a.LoraAlpha / float64(a.R)
}

// Targets reports whether the module at path (e.g.
// "bert.encoder.layer.0.attention.self.query") is a LoRA target, with PEFT's
// rule `key == target or key.endswith("." + target)`.
func (a *AdapterConfig) Targets(path string) bool {
	for _, t := range a.TargetModules {
		if path == t || strings.HasSuffix(path, "."+t) {
			return true
		}
	}
	return false
}

// UnmarshalJSON decodes the known fields, accepts target_modules as a list or
// a regex string, and keeps the raw map.
func (a *AdapterConfig) UnmarshalJSON(data []byte) error {
	type plain AdapterConfig
	var p plain
	raw, err := decodeKeepingRaw(data, &p)
	if err != nil {
		return err
	}
	*a = AdapterConfig(p)
	a.raw = raw
	if msg, ok := raw["target_modules"]; ok && string(msg) != "null" {
		if a.TargetModules, a.TargetModulesRegex, err = listOrString("target_modules", msg); err != nil {
			return err
		}
	}
	return nil
}

// MarshalJSON writes the raw map with the known fields overlaid (sorted keys,
// as PEFT's json.dumps(sort_keys=True)).
func (a *AdapterConfig) MarshalJSON() ([]byte, error) {
	type plain AdapterConfig
	out, err := overlayJSON(a.raw, (*plain)(a))
	if err != nil {
		return nil, err
	}
	var tm any = a.TargetModules
	if a.TargetModules == nil && a.TargetModulesRegex != "" {
		tm = a.TargetModulesRegex
	}
	b, _ := json.Marshal(tm)
	out["target_modules"] = b
	return json.Marshal(out)
}

// LoadAdapterConfig reads adapter_config.json; path may be the adapter folder.
func LoadAdapterConfig(path string) (*AdapterConfig, error) {
	path = resolveFile(path, AdapterConfigFile)
	a := &AdapterConfig{}
	if err := readJSON(path, a); err != nil {
		return nil, err
	}
	if a.PeftType != "" && a.PeftType != PeftLoRA {
		return nil, fmt.Errorf("%s: field peft_type: %q is not supported (only LORA)", path, a.PeftType)
	}
	if a.R <= 0 {
		return nil, fmt.Errorf("%s: field r: rank must be positive, got %d", path, a.R)
	}
	return a, nil
}

// Save writes adapter_config.json (indented, sorted keys), atomically; path
// may be the adapter folder.
func (a *AdapterConfig) Save(path string) error {
	return writeJSON(resolveFile(path, AdapterConfigFile), a)
}

// LoadAdapter reads a PEFT adapter folder: its config and its tensors
// (adapter_model.safetensors, else adapter_model.bin), keyed as PEFT stores
// them ("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight",
// "base_model.model.classifier.weight").
func LoadAdapter(dir string) (*AdapterConfig, map[string]*tensor.Tensor, error) {
	cfg, err := LoadAdapterConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	var m map[string]*tensor.Tensor
	switch {
	case exists(filepath.Join(dir, AdapterSafetensorsFile)):
		m, err = ReadSafetensors(filepath.Join(dir, AdapterSafetensorsFile))
	case exists(filepath.Join(dir, AdapterBinFile)):
		m, err = ReadPytorchBin(filepath.Join(dir, AdapterBinFile))
	default:
		return nil, nil, fmt.Errorf("%s: no %s or %s", dir, AdapterSafetensorsFile, AdapterBinFile)
	}
	if err != nil {
		return nil, nil, err
	}
	for k, v := range m {
		if !strings.HasPrefix(k, AdapterPrefix) {
			return nil, nil, fmt.Errorf("%s: adapter tensor %q lacks the %q prefix", dir, k, AdapterPrefix)
		}
		if strings.Contains(k, "lora_A") && len(v.Shape) == 2 && v.Shape[0] != cfg.R {
			return nil, nil, fmt.Errorf("%s: %s has shape %v but r=%d", dir, k, v.Shape, cfg.R)
		}
	}
	return cfg, m, nil
}

// SaveAdapter writes a PEFT adapter folder (adapter_config.json +
// adapter_model.safetensors with metadata {"format":"pt"}) atomically, file by
// file. Keys must already carry AdapterPrefix.
func SaveAdapter(dir string, cfg *AdapterConfig, tensors map[string]*tensor.Tensor) error {
	for k := range tensors {
		if !strings.HasPrefix(k, AdapterPrefix) {
			return fmt.Errorf("%s: adapter tensor %q lacks the %q prefix", dir, k, AdapterPrefix)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := WriteSafetensors(filepath.Join(dir, AdapterSafetensorsFile), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return cfg.Save(dir)
}
