package lora

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// Update is one module's LoRA update as PEFT stores it: ΔW = Scaling·B·A
// (peft/tuners/lora/layer.py get_delta_weight with fan_in_fan_out false).
type Update struct {
	// Module is the HF module path as the adapter names it, without PEFT's
	// "base_model.model." prefix (e.g. "bert.encoder.layer.0.attention.self.query").
	Module string
	// A is lora_A.weight [r, in]; B is lora_B.weight [out, r].
	A, B *tensor.Tensor
	// Scaling is lora_alpha/r (lora_alpha/√r with rsLoRA).
	Scaling float64
}

// Updates is a PEFT LoRA adapter folder read without its base: the LoRA
// updates and the modules_to_save tensors (the classifier) that replace the
// base's. MergeAdapter folds them into a base; core/onnx's shared-base
// export keeps them apart, one branch per adapter.
type Updates struct {
	// Config is the folder's adapter_config.json.
	Config *checkpoint.AdapterConfig
	// LoRA holds one update per targeted module, sorted by module.
	LoRA []Update
	// Saved maps each modules_to_save tensor's name without the PEFT prefix
	// (e.g. "classifier.weight") to its value.
	Saved map[string]*tensor.Tensor
}

// ReadUpdates reads a PEFT LoRA adapter folder (adapter_config.json and
// adapter_model.safetensors / .bin). It refuses what BERT/ELECTRA/DeBERTa
// Linear layers cannot take (fan_in_fan_out, DoRA), LoRA biases and
// magnitude vectors, a lora_A without its lora_B, and a folder without any
// LoRA tensor.
func ReadUpdates(dir string) (*Updates, error) {
	pc, at, err := checkpoint.LoadAdapter(dir)
	if err != nil {
		return nil, err
	}
	if pc.FanInFanOut {
		return nil, fmt.Errorf("%s: fan_in_fan_out=true is not supported for BERT/ELECTRA/DeBERTa Linear layers", dir)
	}
	if pc.UseDora {
		return nil, fmt.Errorf("%s: use_dora is not supported", dir)
	}
	u := &Updates{Config: pc, Saved: map[string]*tensor.Tensor{}}
	for _, k := range slices.Sorted(maps.Keys(at)) {
		name := strings.TrimPrefix(k, checkpoint.AdapterPrefix)
		switch {
		case strings.HasSuffix(name, ".lora_A.weight"):
			module := strings.TrimSuffix(name, ".lora_A.weight")
			b := at[checkpoint.AdapterPrefix+module+".lora_B.weight"]
			if b == nil {
				return nil, fmt.Errorf("%s: adapter has %s but no %s.lora_B.weight", dir, k, module)
			}
			u.LoRA = append(u.LoRA, Update{Module: module, A: at[k], B: b, Scaling: pc.Scaling()})
		case strings.HasSuffix(name, ".lora_B.weight"):
			// consumed with its lora_A
		case strings.Contains(name, ".lora_"):
			return nil, fmt.Errorf("%s: unsupported adapter tensor %s (LoRA biases / magnitude vectors)", dir, k)
		default:
			u.Saved[name] = at[k]
		}
	}
	if len(u.LoRA) == 0 {
		return nil, fmt.Errorf("%s: adapter has no lora_A/lora_B tensors", dir)
	}
	return u, nil
}

// SavedNames lists the modules_to_save tensors' names, sorted.
func (u *Updates) SavedNames() []string { return slices.Sorted(maps.Keys(u.Saved)) }
