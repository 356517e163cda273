package model

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadBaseModelFormInitialisesHead saves the fixture's encoder in the
// prefix-less base-model form (BertModel.save_pretrained) without a
// classifier, loads it for token classification, and checks that the encoder
// matches the original while the new head gets HF's init.
func TestLoadBaseModelFormInitialisesHead(t *testing.T) {
	shared := sharedDir(t)
	src := filepath.Join(shared, "fixtures", "bert")
	orig, err := Load(src, TokenClassification)
	require.NoError(t, err)
	base := map[string]*tensor.Tensor{}
	for k, v := range orig.StateDict() {
		if strings.HasPrefix(k, "bert.") {
			base[strings.TrimPrefix(k, "bert.")] = v
		}
	}
	dir := t.TempDir()
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, checkpoint.SafeWeightsFile), base, map[string]string{"format": "pt"}))
	require.NoError(t, orig.Config.Save(dir))
	m, err := Load(dir, TokenClassification)
	require.NoError(t, err)
	for k, v := range orig.StateDict() {
		got := m.StateDict()[k]
		if strings.HasPrefix(k, "classifier.") {
			continue
		}
		assert.Equal(t, v.Data, got.Data, k)
	}
	cls := m.Classifier.(*Linear)
	var nz int
	for _, v := range cls.Weight.Value.Data {
		if v != 0 {
			nz++
		}
	}
	assert.Equal(t, len(cls.Weight.Value.Data), nz, "classifier weight ~ N(0, initializer_range)")
	for _, v := range cls.Bias.Value.Data {
		assert.Zero(t, v)
	}
	// A missing encoder tensor is an error naming it.
	delete(base, "encoder.layer.1.output.dense.weight")
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, checkpoint.SafeWeightsFile), base, map[string]string{"format": "pt"}))
	_, err = Load(dir, TokenClassification)
	assert.ErrorContains(t, err, "bert.encoder.layer.1.output.dense.weight")
}
