package model

import (
	"strings"

	"github.com/openmed/openmed/core/checkpoint"

	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/tensor"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDebertaParityWithHFFixtures checks DebertaV2ForTokenClassification
// (transformers 4.36.2, XSoftmax) logits, hidden states, attention maps,
// the normalised relative embeddings and the loss at every position,
// padded ones included.
func TestDebertaParityWithHFFixtures(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "fixtures", "deberta_v3")
	var c caseFile
	readJSON(t, filepath.Join(dir, "case.json"), &c)
	var extra struct {
		Outputs struct {
			RelLN jArray `json:"rel_embeddings_after_layernorm"`
		} `json:"outputs"`
	}
	readJSON(t, filepath.Join(dir, "case.json"), &extra)
	m, err := Load(dir, TokenClassification)
	require.NoError(t, err)
	require.Equal(t, DeBERTaV2, m.Arch)
	assertHFParity(t, "deberta_v3", &c, m)
	// One LayerNorm (K = 32) of the weights, ours summed in float64: ~7× torch's √K·u·|x| float32 drift (|x| ≤ 3).
	assert.LessOrEqual(t, maxAbsDiff(t, extra.Outputs.RelLN.Data, m.Encoder.Rel.R()), 1e-5, "rel_embeddings_after_layernorm")
}

// TestDebertaNamesAndMLMAliases checks the PEFT/HF module names of the
// DeBERTa projections and that a masked-LM checkpoint saved with
// transformers' cls.predictions.* names loads into the
// lm_predictions.lm_head.* head and gives the same logits.
func TestDebertaNamesAndMLMAliases(t *testing.T) {
	cfg := tinyDebertaConfig([]string{"p2c", "c2p"}, false)
	m, err := New(cfg, TokenClassification, 1)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, s := range m.Projections() {
		names[s.Name] = true
	}
	for _, n := range []string{"deberta.encoder.layer.0.attention.self.query_proj", "deberta.encoder.layer.1.attention.self.value_proj",
		"deberta.encoder.layer.1.attention.self.key_proj", "deberta.encoder.layer.0.attention.output.dense", "classifier"} {
		assert.True(t, names[n], n)
	}

	src, err := New(cfg, MaskedLM, 2)
	require.NoError(t, err)
	b := tinyBatch()
	b.TokenTypeIDs = nil
	want, err := src.Forward(b)
	require.NoError(t, err)
	wantData := append([]float32(nil), want.Data...)
	sd := map[string]*tensor.Tensor{}
	for k, v := range src.StateDict() {
		switch {
		case k == "lm_predictions.lm_head.bias":
			k = "cls.predictions.bias"
		case strings.HasPrefix(k, "lm_predictions.lm_head."):
			k = "cls.predictions.transform." + strings.TrimPrefix(k, "lm_predictions.lm_head.")
		}
		sd[k] = v
	}
	require.Contains(t, sd, "cls.predictions.transform.dense.weight")
	dst, err := New(cfg, MaskedLM, 3)
	require.NoError(t, err)
	missing, unused, err := dst.LoadStateDict(sd)
	require.NoError(t, err)
	assert.Empty(t, missing)
	assert.Empty(t, unused)
	got, err := dst.Forward(b)
	require.NoError(t, err)
	assert.Equal(t, wantData, got.Data) // same weights, kernels and shapes: bit-identical

	// Non-zero token types are an error without token type embeddings.
	b.TokenTypeIDs = make([]int32, b.Tokens())
	b.TokenTypeIDs[3] = 1
	_, err = dst.Forward(b)
	require.ErrorContains(t, err, "token_type_ids[3]")
}

// TestDebertaPytorchBinAndBaseKeys loads the fixture from pytorch_model.bin,
// and from a base-model state_dict (keys without "deberta.", no classifier),
// and checks last hidden states (and logits for the full checkpoint).
func TestDebertaPytorchBinAndBaseKeys(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "fixtures", "deberta_v3")
	var c caseFile
	readJSON(t, filepath.Join(dir, "case.json"), &c)
	logits, err := loadPytorchBin(t, dir).Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.Logits.Data, logits.Data), 1e-4, "logits from pytorch_model.bin") // HF parity bar (assertHFParity)

	sd, err := checkpoint.LoadWeights(dir)
	require.NoError(t, err)
	base := map[string]*tensor.Tensor{}
	for k, v := range sd {
		if strings.HasPrefix(k, "deberta.") {
			base[strings.TrimPrefix(k, "deberta.")] = v
		}
	}
	cfg, err := checkpoint.LoadConfig(dir)
	require.NoError(t, err)
	bm, err := New(cfg, TokenClassification, 0)
	require.NoError(t, err)
	missing, unused, err := bm.LoadStateDict(base)
	require.NoError(t, err)
	assert.Equal(t, []string{"classifier.weight", "classifier.bias"}, missing)
	assert.Empty(t, unused)
	_, err = bm.Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.LastHiddenState.Data, bm.LastHidden()), 1e-4, "last_hidden_state from base keys") // HF parity bar

	delete(base, "encoder.rel_embeddings.weight")
	_, _, err = bm.LoadStateDict(base)
	require.ErrorContains(t, err, "deberta.encoder.rel_embeddings.weight")
}

func TestTokenClassificationClassNames(t *testing.T) {
	assert.Equal(t, "BertForTokenClassification", BERT.TokenClassificationClass())
	assert.Equal(t, "ElectraForTokenClassification", ELECTRA.TokenClassificationClass())
	assert.Equal(t, "DebertaV2ForTokenClassification", DeBERTaV2.TokenClassificationClass())
}
