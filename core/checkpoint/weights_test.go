package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

func TestLoadWeightsSharded(t *testing.T) {
	st, err := ReadSafetensors(fixture(t, "electra", "model.safetensors"))
	require.NoError(t, err)
	dir := t.TempDir()
	shards := []map[string]*tensor.Tensor{{}, {}}
	weightMap := map[string]string{}
	for i, k := range sortedKeys(st) {
		shards[i%2][k] = st[k]
		weightMap[k] = fmt.Sprintf("model-%05d-of-00002.safetensors", i%2+1)
	}
	for i, s := range shards {
		require.NoError(t, WriteSafetensors(filepath.Join(dir, fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)), s, map[string]string{"format": "pt"}))
	}
	idx, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 1}, "weight_map": weightMap})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, SafeWeightsIndexFile), idx, 0o644))
	got, err := LoadWeights(dir)
	require.NoError(t, err)
	require.Equal(t, sortedKeys(st), sortedKeys(got))
	for k, v := range st {
		assert.Equal(t, v.Data, got[k].Data, k)
	}
	// A weight_map entry pointing outside the folder is refused.
	weightMap["classifier.bias"] = "../evil.safetensors"
	idx, _ = json.Marshal(map[string]any{"weight_map": weightMap})
	require.NoError(t, os.WriteFile(filepath.Join(dir, SafeWeightsIndexFile), idx, 0o644))
	_, err = LoadWeights(dir)
	assert.ErrorContains(t, err, "weight_map")
}

func TestTieWeightsRestoresMLMDecoder(t *testing.T) {
	cfg, err := LoadConfig(fixture(t, "bert", "mlm"))
	require.NoError(t, err)
	m, err := LoadWeights(fixture(t, "bert", "mlm"))
	require.NoError(t, err)
	added := TieWeights(m, cfg)
	assert.ElementsMatch(t, []string{"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}, added)
	bin, err := ReadPytorchBin(fixture(t, "bert", "mlm", "pytorch_model.bin"))
	require.NoError(t, err)
	require.Equal(t, sortedKeys(bin), sortedKeys(m))
	for k, v := range bin {
		assert.Equal(t, v.Data, m[k].Data, k)
	}
	assert.Same(t, m["bert.embeddings.word_embeddings.weight"], m["cls.predictions.decoder.weight"])
	// Token-classification checkpoints have no MLM head: nothing is added.
	tc, err := LoadWeights(fixture(t, "bert"))
	require.NoError(t, err)
	assert.Empty(t, TieWeights(tc, cfg))
	// tie_word_embeddings=false disables tying.
	untied, err := ParseConfig([]byte(`{"model_type":"bert","tie_word_embeddings":false}`))
	require.NoError(t, err)
	m2, err := LoadWeights(fixture(t, "bert", "mlm"))
	require.NoError(t, err)
	assert.Empty(t, TieWeights(m2, untied))
}
