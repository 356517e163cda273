package dapt

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/openmed/openmed/core/model"
)

func TestMaskedLMClassPerArchitecture(t *testing.T) {
	assert.Equal(t, "BertForMaskedLM", maskedLMClass(model.BERT))
	assert.Equal(t, "ElectraForMaskedLM", maskedLMClass(model.ELECTRA))
	assert.Equal(t, "DebertaV2ForMaskedLM", maskedLMClass(model.DeBERTaV2))
}
