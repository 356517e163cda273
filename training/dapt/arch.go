package dapt

import "github.com/openmed/openmed/core/model"

// maskedLMClass is the transformers class a masked-LM checkpoint of the
// family is saved as (config.json "architectures"): BertForMaskedLM,
// ElectraForMaskedLM (the generator head) or DebertaV2ForMaskedLM.
func maskedLMClass(a model.Arch) string {
	switch a {
	case model.ELECTRA:
		return "ElectraForMaskedLM"
	case model.DeBERTaV2:
		return "DebertaV2ForMaskedLM"
	}
	return "BertForMaskedLM"
}
