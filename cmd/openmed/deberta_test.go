package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
)

// debertaTinyBase writes a 1-layer, 32-wide DeBERTa-v3 masked-LM base with the
// real deberta-v3 tokenizer.
func debertaTinyBase(t *testing.T) string {
	t.Helper()
	return writeTinyBase(t, "deberta-v3", tinymodel.DeBERTaV3Config)
}

// TestDeBERTaCLI: train (default --targets) → merge → export → tag the merged
// folder and the adapter folder with the Go engine (same CoNLL output), and
// dapt --lora on the DeBERTa base.
func TestDeBERTaCLI(t *testing.T) {
	base := debertaTinyBase(t)
	tmp := t.TempDir()
	adapter := filepath.Join(tmp, "adapter")
	out, err := execCmd(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 60), "--out", adapter,
		"--epochs", "1", "--threads", "1", "--lr", "5e-3", "--quiet")
	require.NoError(t, err, out)
	ac, err := checkpoint.LoadAdapterConfig(filepath.Join(adapter, "adapter_config.json"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"query_proj", "value_proj"}, ac.TargetModules)

	merged := filepath.Join(tmp, "merged")
	out, err = execCmd(newMergeCmd(), "--base", base, "--adapter", adapter, "--out", merged)
	require.NoError(t, err, out)
	cfg, err := checkpoint.LoadConfig(merged)
	require.NoError(t, err)
	assert.Equal(t, []string{"DebertaV2ForTokenClassification"}, cfg.Architectures)
	exported := filepath.Join(tmp, "onnx")
	out, err = execCmd(newExportCmd(), "--model", merged, "--out", exported)
	require.NoError(t, err, out)
	require.FileExists(t, filepath.Join(exported, "onnx", "model.onnx"))

	c, err := corpus.ReadFile(sharedPath(t, "data", "NCBI-Disease", "test.tsv"))
	require.NoError(t, err)
	var docs []string
	for _, s := range c.Sentences[:5] {
		docs = append(docs, strings.Join(s.Words(), " "))
	}
	tagArgs := func(extra ...string) []string {
		a := []string{"--backend", "go", "--quiet", "--format", "conll", "--threads", "1", "--cache", filepath.Join(tmp, "cache")}
		for _, d := range docs {
			a = append(a, "--text", d)
		}
		return append(a, extra...)
	}
	fromMerged, err := execCmd(newTagCmd(), tagArgs("--model", merged)...)
	require.NoError(t, err, fromMerged)
	fromAdapter, err := execCmd(newTagCmd(), tagArgs("--model", adapter, "--base", base)...)
	require.NoError(t, err, fromAdapter)
	assert.Equal(t, fromMerged, fromAdapter)
	assert.Contains(t, fromMerged, "Disease")

	text := filepath.Join(tmp, "text.txt")
	var lines []string
	for _, s := range c.Sentences[:150] {
		lines = append(lines, strings.Join(s.Words(), " "))
	}
	require.NoError(t, os.WriteFile(text, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	dout := filepath.Join(tmp, "dapt")
	out, err = execCmd(newDaptCmd(), "--text", text, "--base", base, "--out", dout, "--lora", "--epochs", "1",
		"--batch-size", "4", "--max-len", "64", "--threads", "1", "--quiet")
	require.NoError(t, err, out)
	dc, err := checkpoint.LoadConfig(dout)
	require.NoError(t, err)
	assert.Equal(t, []string{"DebertaV2ForMaskedLM"}, dc.Architectures)
}
