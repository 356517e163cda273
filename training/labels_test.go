package training

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
)

// RetypeLabels types S800's bare B/I tags in config.json and labels.json
// (same class ids), keeps the config's other fields, and refuses a folder
// with nothing to retype or a type that is not one.
func TestRetypeLabels(t *testing.T) {
	dir := t.TempDir()
	cfg, err := checkpoint.ParseConfig([]byte(`{"model_type":"bert","hidden_size":8,"id2label":{"0":"O","1":"B","2":"I"},"label2id":{"O":0,"B":1,"I":2}}`))
	require.NoError(t, err)
	require.NoError(t, cfg.Save(filepath.Join(dir, checkpoint.ConfigFile)))
	require.NoError(t, WriteJSON(filepath.Join(dir, LabelsFile), map[string]any{"labels": []string{"O", "B", "I"}}))

	assert.ErrorContains(t, RetypeLabels(dir, "two words"), "not an entity type")
	require.NoError(t, RetypeLabels(dir, "Species"))
	got, err := checkpoint.LoadConfig(filepath.Join(dir, checkpoint.ConfigFile))
	require.NoError(t, err)
	assert.Equal(t, []string{"O", "B-Species", "I-Species"}, got.Labels())
	assert.Equal(t, map[string]int{"O": 0, "B-Species": 1, "I-Species": 2}, got.Label2ID)
	assert.Equal(t, 8, got.HiddenSize)
	var lj struct {
		Labels []string `json:"labels"`
	}
	b, err := os.ReadFile(filepath.Join(dir, LabelsFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &lj))
	assert.Equal(t, []string{"O", "B-Species", "I-Species"}, lj.Labels)

	_, err = RetypedLabels([]string{"O", "B", "I", "B-Species"}, "Species")
	assert.ErrorContains(t, err, "twice", "a retyped tag colliding with a typed one")

	err = RetypeLabels(dir, "Species")
	assert.ErrorContains(t, err, "no untyped labels")
	assert.ErrorContains(t, err, checkpoint.ConfigFile)
}
