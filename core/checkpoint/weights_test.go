package checkpoint

import (
	"testing"

	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeKeysLegacyNames(t *testing.T) {
	one := tensor.New(1)
	m := NormalizeKeys(map[string]*tensor.Tensor{
		"bert.embeddings.LayerNorm.gamma":                   one,
		"bert.embeddings.LayerNorm.beta":                    one,
		"bert.embeddings.position_ids":                      one,
		"bert.embeddings.token_type_ids":                    one,
		"bert.encoder.layer.0.output.dense.weight":          one,
		"bert.encoder.layer.0.attention.output.beta_scaler": one,
	})
	assert.ElementsMatch(t, []string{
		"bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias",
		"bert.encoder.layer.0.output.dense.weight", "bert.encoder.layer.0.attention.output.beta_scaler",
	}, sortedKeys(m))
}

func TestWithBasePrefix(t *testing.T) {
	st, err := ReadSafetensors(fixture(t, "bert", "model.safetensors"))
	require.NoError(t, err)
	bare := map[string]*tensor.Tensor{}
	for k, v := range st {
		if len(k) > 5 && k[:5] == "bert." {
			bare[k[5:]] = v
		} else {
			bare[k] = v
		}
	}
	got, err := WithBasePrefix(bare, "bert")
	require.NoError(t, err)
	assert.Equal(t, sortedKeys(st), sortedKeys(got))
	same, err := WithBasePrefix(st, "bert")
	require.NoError(t, err)
	assert.Equal(t, sortedKeys(st), sortedKeys(same))
	_, err = WithBasePrefix(map[string]*tensor.Tensor{"classifier.weight": tensor.New(1)}, "bert")
	assert.ErrorIs(t, err, ErrNoBaseModel)
}
