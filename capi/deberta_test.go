package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debertaBase writes a 1-layer, 32-wide DeBERTa-v3 masked-LM base with the
// real deberta-v3 tokenizer (128,001 pieces) into dir.
func debertaBase(t *testing.T, shared, dir string) string {
	t.Helper()
	_, err := tinymodel.DeBERTaV3Base(dir, filepath.Join(shared, "tokenizers", "deberta-v3"))
	require.NoError(t, err)
	return dir
}

// TestDeBERTaThroughTheABI: openmed_train's JSON config with the default
// LoRA targets trains a DeBERTa-v3 adapter on query_proj/value_proj, the
// ABI's tagger opens that adapter folder on the Go engine, and openmed_dapt
// runs LoRA DAPT on the base.
func TestDeBERTaThroughTheABI(t *testing.T) {
	shared := sharedDir(t)
	tmp := t.TempDir()
	base := debertaBase(t, shared, filepath.Join(tmp, "base"))
	c, err := corpus.ReadFile(filepath.Join(shared, "data", "NCBI-Disease", "train.tsv"))
	require.NoError(t, err)
	trainPath := filepath.Join(tmp, "train.tsv")
	require.NoError(t, corpus.WriteFile(trainPath, c.Sentences[:60]))

	out := filepath.Join(tmp, "adapter")
	cfgJSON, err := json.Marshal(map[string]any{"base": base, "train": trainPath, "output_dir": out,
		"num_train_epochs": 1, "threads": 1, "max_length": 64, "stride": 16, "learning_rate": 5e-3})
	require.NoError(t, err)
	res, err := runTrain(newJob(), string(cfgJSON), progressSink{})
	require.NoError(t, err)
	tr := res.(*trainResult)
	assert.Equal(t, "lora", tr.Method)
	assert.Greater(t, tr.Steps, 0)
	assert.Contains(t, tr.Labels, "B-Disease")
	b, err := os.ReadFile(filepath.Join(out, "adapter_config.json"))
	require.NoError(t, err)
	var ac struct {
		TaskType      string   `json:"task_type"`
		TargetModules []string `json:"target_modules"`
	}
	require.NoError(t, json.Unmarshal(b, &ac))
	assert.Equal(t, "TOKEN_CLS", ac.TaskType)
	assert.ElementsMatch(t, []string{"query_proj", "value_proj"}, ac.TargetModules)

	cfg := taggerConfig{Model: out, Options: tagger.DefaultOptions()}
	cfg.BaseDir, cfg.Backend, cfg.Threads = base, tagger.BackendEngine, 1
	o, err := newOpenTagger(cfg)
	require.NoError(t, err)
	defer o.Close()
	assert.Equal(t, tr.Labels, o.t.Labels())
	words, err := o.t.TagTokens(context.Background(), "Familial adenomatous polyposis is an inherited cancer syndrome .")
	require.NoError(t, err)
	require.Len(t, words, 9)
	for _, w := range words {
		assert.Contains(t, tr.Labels, w.Tag)
	}

	var lines []string
	for _, s := range c.Sentences[:150] {
		lines = append(lines, strings.Join(s.Words(), " "))
	}
	text := filepath.Join(tmp, "text.txt")
	require.NoError(t, os.WriteFile(text, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	dj, err := json.Marshal(map[string]any{"text": []string{text}, "base": base, "output_dir": filepath.Join(tmp, "dapt"),
		"method": "lora", "per_device_train_batch_size": 4, "max_seq_length": 64, "held_out": 0.1, "threads": 1})
	require.NoError(t, err)
	dres, err := runDAPT(newJob(), string(dj), progressSink{})
	require.NoError(t, err)
	dr := dres.(daptResult)
	assert.Greater(t, dr.Steps, 0)
	assert.Greater(t, dr.Before.Masked, 0)
	assert.LessOrEqual(t, dr.After.Loss, dr.Before.Loss)
}
