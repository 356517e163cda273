package model

import (
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/training/loss"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParityWithHFFixtures checks logits, every hidden state, every
// attention map and the HF loss against transformers 4.36.2 outputs for
// the bert and electra fixtures (all positions, padded ones included).
func TestParityWithHFFixtures(t *testing.T) {
	shared := sharedDir(t)
	for _, arch := range []string{"bert", "electra"} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(shared, "fixtures", arch)
			var c caseFile
			readJSON(t, filepath.Join(dir, "case.json"), &c)
			m, err := Load(dir, TokenClassification)
			require.NoError(t, err)
			assertHFParity(t, arch, &c, m)
		})
	}
}

// assertHFParity runs m on the fixture case c and checks it against HF:
// logits and last_hidden_state ≤ 1e-4, every hidden state ≤ 1e-4, every
// attention map ≤ 1e-5 and the loss (all positions, padded ones included)
// ≤ 1e-5.
func assertHFParity(t *testing.T, name string, c *caseFile, m *Model) {
	t.Helper()
	logits, err := m.Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.Equal(t, c.Outputs.Logits.Shape, logits.Shape)
	d := maxAbsDiff(t, c.Outputs.Logits.Data, logits.Data)
	t.Logf("%s logits max|diff| = %.3g", name, d)
	// HF parity bar (DEVELOPERS.md): ~25× the √K·u·|x| ≈ 4e-6 drift of two float32 sum orders (K ≈ 520 on a path, |x| ≤ 3).
	assert.LessOrEqual(t, d, 1e-4, "logits")
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.LastHiddenState.Data, m.LastHidden()), 1e-4, "last_hidden_state")
	hs := m.Encoder.HiddenStates()
	require.Len(t, hs, len(c.Outputs.HiddenStates))
	for i, want := range c.Outputs.HiddenStates {
		assert.LessOrEqual(t, maxAbsDiff(t, want.Data, hs[i]), 1e-4, "hidden_states[%d]", i)
	}
	require.Len(t, c.Outputs.Attentions, len(m.Encoder.Layers))
	for i, want := range c.Outputs.Attentions {
		// Probabilities (softmax's Jacobian ≤ ½) of scores ≤ 1 layer deep: several times their √K·u·|score| drift (K ≤ 320).
		assert.LessOrEqual(t, maxAbsDiff(t, want.Data, m.Encoder.Layers[i].Attention.Probs()), 1e-5, "attentions[%d]", i)
	}
	l, cnt := loss.CrossEntropy(logits.Data, c.Inputs.Labels.Shape[0]*c.Inputs.Labels.Shape[1], logits.Shape[2], c.Inputs.Labels.I32(), 0, nil)
	require.Positive(t, cnt)
	// The mean CE over 24 tokens averages the logits' independent ~4e-6 drifts (|∂CE/∂logits|₁ ≤ 2 per token).
	assert.InDelta(t, c.Outputs.Loss, float64(l), 1e-5, "loss")
}

// TestParityPytorchBin loads the same weights from pytorch_model.bin.
func TestParityPytorchBin(t *testing.T) {
	shared := sharedDir(t)
	dir := filepath.Join(shared, "fixtures", "bert")
	var c caseFile
	readJSON(t, filepath.Join(dir, "case.json"), &c)
	logits, err := loadPytorchBin(t, dir).Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.Logits.Data, logits.Data), 1e-4) // HF parity bar, as in assertHFParity
}

// loadPytorchBin loads the token classifier of fixture dir from its
// config.json and pytorch_model.bin alone (no safetensors beside them).
func loadPytorchBin(t *testing.T, dir string) *Model {
	t.Helper()
	tmp := t.TempDir()
	for _, f := range []string{"config.json", "pytorch_model.bin"} {
		linkOrSkip(t, filepath.Join(dir, f), filepath.Join(tmp, f))
	}
	m, err := Load(tmp, TokenClassification)
	require.NoError(t, err)
	return m
}

// TestParityMLM checks BertForMaskedLM logits (tied decoder) and loss.
func TestParityMLM(t *testing.T) {
	shared := sharedDir(t)
	dir := filepath.Join(shared, "fixtures", "bert")
	var c caseFile
	readJSON(t, filepath.Join(dir, "mlm.json"), &c)
	m, err := Load(filepath.Join(dir, "mlm"), MaskedLM)
	require.NoError(t, err)
	logits, err := m.Forward(c.Inputs.batch())
	require.NoError(t, err)
	assert.Equal(t, []int{2, 12, 128}, logits.Shape)
	// HF parity bar, as in assertHFParity (the tied decoder adds K = 32 to the path).
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.Logits.Data, logits.Data), 1e-4, "logits")
	assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.LastHiddenState.Data, m.LastHidden()), 1e-4, "last_hidden_state")
	L := logits.Shape[1]
	V := logits.Shape[2]
	for k, pos := range c.MaskedPositions {
		row := logits.Data[(pos[0]*L+pos[1])*V : (pos[0]*L+pos[1]+1)*V]
		assert.LessOrEqual(t, maxAbsDiff(t, c.Outputs.MaskedLogits.Data[k*V:(k+1)*V], row), 1e-4, "masked_logits[%d]", k)
	}
	l, _ := loss.CrossEntropy(logits.Data, 2*L, V, c.Inputs.Labels.I32(), 0, nil)
	assert.InDelta(t, c.Outputs.Loss, float64(l), 1e-4, "loss") // |Δloss| ≤ 2·max|Δlogit|: the logits' bar
}
