package model

import (
	"strings"

	"github.com/openmed/openmed/core/checkpoint"

	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/tensor"

	"github.com/openmed/openmed/training/loss"

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
	logits, err := m.Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.Equal(t, c.Outputs.Logits.Shape, logits.Shape)
	d := maxAbsDiff(t, c.Outputs.Logits.Data, logits.Data)
	t.Logf("deberta_v3 logits max|diff| = %.3g", d)
	assert.LessOrEqual(t, d, 1e-4, "logits")
	assert.LessOrEqual(t, maxAbsDiff(t, extra.Outputs.RelLN.Data, m.Encoder.Rel.R()), 1e-5, "rel_embeddings_after_layernorm")
	hs := m.Encoder.HiddenStates()
	require.Len(t, hs, len(c.Outputs.HiddenStates))
	for i, want := range c.Outputs.HiddenStates {
		assert.LessOrEqual(t, maxAbsDiff(t, want.Data, hs[i]), 1e-4, "hidden_states[%d]", i)
	}
	require.Len(t, c.Outputs.Attentions, len(m.Encoder.Layers))
	for i, want := range c.Outputs.Attentions {
		assert.LessOrEqual(t, maxAbsDiff(t, want.Data, m.Encoder.Layers[i].Attention.Probs()), 1e-5, "attentions[%d]", i)
	}
	l, cnt := loss.CrossEntropy(logits.Data, c.Inputs.Labels.Shape[0]*c.Inputs.Labels.Shape[1], logits.Shape[2], c.Inputs.Labels.I32(), 0, nil)
	require.Positive(t, cnt)
	assert.InDelta(t, c.Outputs.Loss, float64(l), 1e-5, "loss")
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
	assert.Equal(t, wantData, got.Data)

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
	tmp := t.TempDir()
	for _, f := range []string{"config.json", "pytorch_model.bin"} {
		linkOrSkip(t, filepath.Join(dir, f), filepath.Join(tmp, f))
	}
	m, err := Load(tmp, TokenClassification)
	require.NoError(t, err)
	logits, err := m.Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.Logits.Data, logits.Data), 1e-4, "logits from pytorch_model.bin")

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
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.LastHiddenState.Data, bm.LastHidden()), 1e-4, "last_hidden_state from base keys")

	delete(base, "encoder.rel_embeddings.weight")
	_, _, err = bm.LoadStateDict(base)
	require.ErrorContains(t, err, "deberta.encoder.rel_embeddings.weight")
}

func TestTokenClassificationClassNames(t *testing.T) {
	assert.Equal(t, "BertForTokenClassification", BERT.TokenClassificationClass())
	assert.Equal(t, "ElectraForTokenClassification", ELECTRA.TokenClassificationClass())
	assert.Equal(t, "DebertaV2ForTokenClassification", DeBERTaV2.TokenClassificationClass())
}
