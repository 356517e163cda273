package search

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
)

func TestApplySetsTrainerFields(t *testing.T) {
	base := training.DefaultConfig()
	got, err := Apply(base, map[string]any{hpo.ParamLearningRate: 3e-4, hpo.ParamBatchSize: 8.0, hpo.ParamWeightDecay: 0.05,
		hpo.ParamWarmupRatio: 0.15, hpo.ParamLoRARank: 32.0, hpo.ParamLoRADropout: 0.2})
	require.NoError(t, err)
	assert.Equal(t, 3e-4, got.LR)
	assert.Equal(t, 8, got.BatchSize)
	assert.Equal(t, 0.05, got.WeightDecay)
	assert.Equal(t, 0.15, got.WarmupRatio)
	assert.Equal(t, 32, got.LoRA.R)
	assert.InDelta(t, 0.2, got.LoRA.Dropout, 1e-7)
	assert.Equal(t, base.LoRA.Alpha, got.LoRA.Alpha, "alpha is kept unless tuned")
	assert.Equal(t, base.Epochs, got.Epochs)

	_, err = Apply(base, map[string]any{"momentum": 0.9})
	assert.ErrorContains(t, err, `"momentum"`)
	_, err = Apply(base, map[string]any{hpo.ParamBatchSize: 8.5})
	assert.ErrorContains(t, err, "batch_size")
	_, err = Apply(base, map[string]any{hpo.ParamLearningRate: "fast"})
	assert.ErrorContains(t, err, "not a number")
}

func TestSpaceForMethod(t *testing.T) {
	lora := SpaceFor(training.MethodLoRA)
	full := SpaceFor(training.MethodFull)
	assert.Len(t, lora, len(hpo.PaperSpace()))
	_, ok := full.Param(hpo.ParamLoRARank)
	assert.False(t, ok, "full fine-tuning does not tune the LoRA rank")
	require.NoError(t, CheckSpace(lora, training.MethodLoRA))
	assert.ErrorContains(t, CheckSpace(lora, training.MethodFull), "lora_r")
	assert.ErrorContains(t, CheckSpace(hpo.Space{hpo.Float("momentum", 0, 1)}, training.MethodLoRA), "momentum")
}
