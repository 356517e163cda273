package model

import (
	"path/filepath"
	"testing"

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
	l, cnt := loss.CrossEntropy(logits.Data, c.Inputs.Labels.Shape[0]*c.Inputs.Labels.Shape[1], logits.Shape[2], c.Inputs.Labels.i32(), 0, nil)
	require.Positive(t, cnt)
	assert.InDelta(t, c.Outputs.Loss, float64(l), 1e-5, "loss")
}
