package training

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/openmed/openmed/core/model"
)

func TestResolveLoRATargetsPerArchitecture(t *testing.T) {
	def := DefaultConfig().LoRA.Targets
	assert.Equal(t, []string{"query", "value"}, ResolveLoRATargets(model.BERT, def))
	assert.Equal(t, []string{"query", "value"}, ResolveLoRATargets(model.ELECTRA, nil))
	assert.Equal(t, []string{"query_proj", "value_proj"}, ResolveLoRATargets(model.DeBERTaV2, def))
	assert.Equal(t, []string{"query_proj", "value_proj"}, ResolveLoRATargets(model.DeBERTaV2, nil))
	// An explicit, non-default list is kept as given.
	assert.Equal(t, []string{"key_proj"}, ResolveLoRATargets(model.DeBERTaV2, []string{"key_proj"}))
	assert.Equal(t, []string{"dense"}, ResolveLoRATargets(model.BERT, []string{"dense"}))
}
