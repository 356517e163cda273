package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadConfigFixtures(t *testing.T) {
	want := map[string]struct {
		mt  ModelType
		arc string
		eps float64
		emb int
	}{
		"bert":       {ModelBERT, "BertForTokenClassification", 1e-12, 32},
		"electra":    {ModelElectra, "ElectraForTokenClassification", 1e-12, 16},
		"deberta_v3": {ModelDebertaV2, "DebertaV2ForTokenClassification", 1e-7, 32},
	}
	for arch, w := range want {
		t.Run(arch, func(t *testing.T) {
			c, err := LoadConfig(fixture(t, arch)) // folder form
			require.NoError(t, err)
			assert.Equal(t, w.mt, c.ModelType)
			assert.Equal(t, []string{w.arc}, c.Architectures)
			assert.Equal(t, 128, c.VocabSize)
			assert.Equal(t, 32, c.HiddenSize)
			assert.Equal(t, 2, c.NumHiddenLayers)
			assert.Equal(t, 4, c.NumAttentionHeads)
			assert.Equal(t, 64, c.IntermediateSize)
			assert.Equal(t, ActGELU, c.HiddenAct)
			assert.Equal(t, 64, c.MaxPositionEmbeddings)
			assert.Equal(t, w.eps, c.LayerNormEps)
			assert.Equal(t, 0.2, c.InitializerRange)
			assert.Equal(t, w.emb, c.EmbeddingDim())
			assert.Equal(t, 5, c.NumLabels())
			assert.Equal(t, []string{"O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"}, c.Labels())
			assert.Equal(t, 3, c.Label2ID["B-Chemical"])
			assert.Equal(t, map[string]string{"bert": "bert", "electra": "electra", "deberta_v3": "deberta"}[arch], c.BasePrefix())
		})
	}
	c, err := LoadConfig(fixture(t, "deberta_v3", "config.json"))
	require.NoError(t, err)
	assert.True(t, c.RelativeAttention)
	assert.Equal(t, 8, c.PositionBuckets)
	assert.Equal(t, -1, c.MaxRelativePositions)
	assert.Equal(t, "layer_norm", c.NormRelEbd)
	assert.True(t, c.ShareAttKey)
	assert.Equal(t, []string{"p2c", "c2p"}, c.PosAttType)
	assert.False(t, c.UsesPositionBiasedInput())
	assert.Equal(t, 0, c.TypeVocabSize)

	m, err := LoadConfig(fixture(t, "bert", "mlm"))
	require.NoError(t, err)
	assert.Equal(t, []string{"BertForMaskedLM"}, m.Architectures)
}

func TestConfigPosAttTypeStringForm(t *testing.T) {
	c, err := ParseConfig([]byte(`{"model_type":"deberta-v2","pos_att_type":"p2c|c2p","hidden_size":768}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"p2c", "c2p"}, c.PosAttType)
	assert.True(t, c.UsesPositionBiasedInput(), "absent position_biased_input defaults to true")
	c, err = ParseConfig([]byte(`{"pos_att_type":"C2P"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"c2p"}, c.PosAttType)
	_, err = ParseConfig([]byte(`{"pos_att_type":3}`))
	assert.ErrorContains(t, err, "pos_att_type")
}

func TestConfigErrorsNameFieldAndLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(p, []byte("{\n  \"hidden_size\": \"big\"\n}\n"), 0o644))
	_, err := LoadConfig(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p)
	assert.Contains(t, err.Error(), "hidden_size")
	assert.Contains(t, err.Error(), "line 2")
	require.NoError(t, os.WriteFile(p, []byte(`{"id2label":{"zero":"O"}}`), 0o644))
	_, err = LoadConfig(p)
	assert.ErrorContains(t, err, "id2label")
}

func TestConfigSaveRoundTripKeepsUnknownFields(t *testing.T) {
	for _, arch := range archs {
		c, err := LoadConfig(fixture(t, arch))
		require.NoError(t, err)
		c.ID2Label[5] = "B-Gene"
		out := t.TempDir()
		require.NoError(t, c.Save(out))
		back, err := LoadConfig(out)
		require.NoError(t, err)
		assert.Equal(t, 6, back.NumLabels())
		assert.Equal(t, c.PosAttType, back.PosAttType)
		assert.Equal(t, c.HiddenSize, back.HiddenSize)
		var orig, saved map[string]any
		b, _ := os.ReadFile(fixture(t, arch, "config.json"))
		require.NoError(t, json.Unmarshal(b, &orig))
		b, _ = os.ReadFile(filepath.Join(out, "config.json"))
		require.NoError(t, json.Unmarshal(b, &saved))
		delete(orig, "id2label")
		delete(saved, "id2label")
		assert.Equal(t, orig, saved, arch)
	}
}
