package search

import (
	"fmt"
	"math"
	"sort"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
)

// Extra parameter names a custom space may tune besides hpo's paper parameters
// (HF TrainingArguments / PEFT LoraConfig names).
const (
	// ParamLoRAAlpha is PEFT's lora_alpha.
	ParamLoRAAlpha = "lora_alpha"
	// ParamLabelSmoothing is TrainingArguments.label_smoothing_factor.
	ParamLabelSmoothing = "label_smoothing_factor"
)

// loraParams are the parameters that only make sense for LoRA runs.
var loraParams = map[string]bool{hpo.ParamLoRARank: true, hpo.ParamLoRADropout: true, ParamLoRAAlpha: true}

// SpaceFor returns the paper's search space (hpo.PaperSpace, §3.4) for a training
// method: full fine-tuning drops the LoRA rank and dropout.
func SpaceFor(m training.Method) hpo.Space {
	var s hpo.Space
	for _, p := range hpo.PaperSpace() {
		if m != training.MethodLoRA && loraParams[p.Name] {
			continue
		}
		s = append(s, p)
	}
	return s
}

// CheckSpace verifies that every parameter of space is one Apply understands
// and, for full fine-tuning, that it tunes no LoRA parameter.
func CheckSpace(space hpo.Space, m training.Method) error {
	if err := space.Validate(); err != nil {
		return err
	}
	for _, p := range space {
		if !known(p.Name) {
			return fmt.Errorf("search: space: parameter %q is not a trainer option (known: %v)", p.Name, knownNames())
		}
		if m != training.MethodLoRA && loraParams[p.Name] {
			return fmt.Errorf("search: space: parameter %q tunes LoRA but the method is %v", p.Name, m)
		}
	}
	return nil
}

func known(name string) bool {
	for _, n := range knownNames() {
		if n == name {
			return true
		}
	}
	return false
}

func knownNames() []string {
	n := []string{hpo.ParamLearningRate, hpo.ParamBatchSize, hpo.ParamWeightDecay, hpo.ParamWarmupRatio,
		hpo.ParamLoRARank, hpo.ParamLoRADropout, ParamLoRAAlpha, ParamLabelSmoothing}
	sort.Strings(n)
	return n
}

// Apply returns cfg with a trial's parameters set (names as hpo's Param* constants:
// learning_rate, batch_size, weight_decay, warmup_ratio, lora_r, lora_dropout, plus
// lora_alpha and label_smoothing_factor). LoRA alpha stays at cfg's value (the
// paper's 32) unless the space tunes it, as PEFT keeps lora_alpha when r changes.
// An unknown name or a non-numeric value is an error naming the parameter.
func Apply(cfg training.Config, params map[string]any) (training.Config, error) {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := asFloat(params[name])
		if !ok {
			return cfg, fmt.Errorf("search: parameter %q: value %v (%T) is not a number", name, params[name], params[name])
		}
		isInt := func() (int, error) {
			if v != math.Trunc(v) || v < 1 {
				return 0, fmt.Errorf("search: parameter %q: %v is not a positive integer", name, v)
			}
			return int(v), nil
		}
		var err error
		switch name {
		case hpo.ParamLearningRate:
			cfg.LR = v
		case hpo.ParamBatchSize:
			cfg.BatchSize, err = isInt()
		case hpo.ParamWeightDecay:
			cfg.WeightDecay = v
		case hpo.ParamWarmupRatio:
			cfg.WarmupRatio = v
		case hpo.ParamLoRARank:
			cfg.LoRA.R, err = isInt()
		case hpo.ParamLoRADropout:
			cfg.LoRA.Dropout = float32(v)
		case ParamLoRAAlpha:
			cfg.LoRA.Alpha = v
		case ParamLabelSmoothing:
			cfg.LabelSmoothing = v
		default:
			return cfg, fmt.Errorf("search: unknown parameter %q (known: %v)", name, knownNames())
		}
		if err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}
