package training

import (
	"slices"

	"github.com/openmed/openmed/core/model"
)

// DefaultLoRATargets are the attention projections LoRA wraps by default for
// an encoder family, following PEFT's
// TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (peft/utils/constants.py):
// "bert" and "electra" → query, value; "deberta-v2" → query_proj, value_proj.
// The paper (§3.3) adapts the query and value projections of every encoder.
func DefaultLoRATargets(a model.Arch) []string {
	if a == model.DeBERTaV2 {
		return []string{"query_proj", "value_proj"}
	}
	return []string{"query", "value"}
}

// ResolveLoRATargets returns the target_modules to apply to a model of family
// a. Empty targets (PEFT's target_modules=None) and the BERT-named default
// (query, value — what DefaultConfig and the CLI flags carry) resolve to
// DefaultLoRATargets(a), so the paper's recipe adapts query_proj/value_proj
// on DeBERTa-v3; any other list is returned unchanged.
func ResolveLoRATargets(a model.Arch, targets []string) []string {
	if len(targets) == 0 || slices.Equal(targets, DefaultLoRATargets(model.BERT)) {
		return DefaultLoRATargets(a)
	}
	return targets
}
