package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

func TestParseTrainConfigKeepsDefaults(t *testing.T) {
	cfg, err := parseTrainConfig(`{"base":"b","train":"t.tsv","output_dir":"o","lora":{"r":8},"num_train_epochs":3}`)
	require.NoError(t, err)
	def := training.DefaultConfig()
	assert.Equal(t, 8, cfg.LoRA.R)
	assert.Equal(t, def.LoRA.Alpha, cfg.LoRA.Alpha, "a partial lora object keeps the other defaults")
	assert.Equal(t, def.LoRA.Targets, cfg.LoRA.Targets)
	assert.Equal(t, 3, cfg.Epochs)
	assert.Equal(t, def.LR, cfg.LR)
	assert.Equal(t, training.MethodLoRA, cfg.Method)

	cfg, err = parseTrainConfig(`{"base":"b","train":"t.tsv","output_dir":"o","method":"full"}`)
	require.NoError(t, err)
	assert.Equal(t, training.MethodFull, cfg.Method)
}

func TestParseTrainConfigErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"base":"b","train":"t","output_dir":"o","method":"half"}`: "method",
		`{"base":"b","train":"t","output_dir":"o","method":1}`:      "method",
		`{"base":"b","train":"t","output_dir":"o","epochs_typo":1}`: "epochs_typo",
		`{"base":"b","train":"t"}`:                                  "required",
		`[1,2]`:                                                     "config_json",
		`null`:                                                      "object",
		`{"base":"b","train":"t","output_dir":"o","learning_rate":"x"}`: "learning_rate",
	} {
		_, err := parseTrainConfig(in)
		require.Error(t, err, in)
		assert.Equal(t, StatusBadInput, statusOf(err), in)
		assert.Contains(t, err.Error(), want, in)
	}
}

// An unknown option lists the valid JSON names, so patience= leads to
// early_stopping_patience.
func TestUnknownOptionListsValidKeys(t *testing.T) {
	_, err := parseTrainConfig(`{"base":"b","train":"t","output_dir":"o","patience":2}`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown option "patience"`)
	assert.Contains(t, err.Error(), "early_stopping_patience")
	assert.Contains(t, err.Error(), "overwrite_output_dir")
	assert.NotContains(t, err.Error(), "Progress", "non-JSON fields are not offered")
}

func TestParseDAPTConfig(t *testing.T) {
	cfg, err := parseDAPTConfig(`{"text":["a.txt"],"output_dir":"o","from_scratch":true,"scratch":{"hidden_size":32}}`)
	require.NoError(t, err)
	assert.True(t, cfg.FromScratch)
	assert.Equal(t, 32, cfg.Scratch.Hidden)
	assert.Equal(t, training.MethodFull, cfg.Method)
	_, err = parseDAPTConfig(`{"text":["a.txt"],"output_dir":"o"}`)
	assert.Equal(t, StatusBadInput, statusOf(err))
}

func TestProgressEventJSON(t *testing.T) {
	ev := toEvent(loop.Progress{Phase: loop.PhaseEval, Epoch: 1, Epochs: 3, Step: 10, TotalSteps: 30,
		Loss: math.NaN(), ETA: 2 * time.Second, Score: 0.5, Best: 0.75, HasScore: true})
	b, err := json.Marshal(ev)
	require.NoError(t, err, "NaN must not reach the JSON encoder")
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "eval", m["phase"])
	_, has := m["learning_rate"]
	assert.False(t, has, "eval events carry no placeholder learning rate")
	_, has = m["loss"]
	assert.False(t, has, "nor a placeholder loss")
	assert.Equal(t, 0.5, m["score"])
	assert.Equal(t, 0.75, m["best"])
	assert.Equal(t, 2.0, m["eta_seconds"])
	ev = toEvent(loop.Progress{Phase: loop.PhaseTrain})
	b, _ = json.Marshal(ev)
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Nil(t, m["score"], "no score before the first evaluation")
	ev = toEvent(loop.Progress{Phase: loop.PhaseTrain, Loss: 0.7, LR: 1e-4})
	b, _ = json.Marshal(ev)
	m = map[string]any{}
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, 0.7, m["loss"])
	assert.Equal(t, 1e-4, m["learning_rate"])
}
