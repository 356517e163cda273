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
)

// `openmed dapt --from-scratch --arch deberta-v3` (PPMI-SVD embeddings,
// dropout 0) writes a DebertaV2ForMaskedLM folder that `openmed train --base`
// fine-tunes and `openmed tag` runs; options that cannot apply are refused.
func TestDaptCommandFromScratchDeBERTa(t *testing.T) {
	c, err := corpus.ReadFile(sharedPath(t, "data", "NCBI-Disease", "train.tsv"))
	require.NoError(t, err)
	var b strings.Builder
	for _, s := range c.Sentences[:120] {
		b.WriteString(strings.Join(s.Words(), " ") + "\n")
	}
	tmp := t.TempDir()
	text := filepath.Join(tmp, "text.txt")
	require.NoError(t, os.WriteFile(text, []byte(b.String()), 0o644))
	vocab := sharedPath(t, "tokenizers", "pubmedbert-abstract")
	enc := filepath.Join(tmp, "encoder")
	stdout, err := runStdout(newDaptCmd(), "--text", text, "--out", enc, "--from-scratch", "--arch", "deberta-v3", "--layers", "1",
		"--hidden", "32", "--heads", "2", "--ffn", "64", "--vocab", vocab, "--max-len", "64", "--threads", "1", "--held-out", "0.2",
		"--embedding-init", "ppmi-svd", "--dropout", "0", "--quiet")
	require.NoError(t, err, stdout)
	require.Contains(t, stdout, "held-out perplexity")
	cfg, err := checkpoint.LoadConfig(enc)
	require.NoError(t, err)
	assert.Equal(t, []string{"DebertaV2ForMaskedLM"}, cfg.Architectures)
	assert.Equal(t, checkpoint.ModelDebertaV2, cfg.ModelType)
	assert.False(t, cfg.UsesPositionBiasedInput())
	assert.Zero(t, cfg.HiddenDropoutProb)

	adapter := filepath.Join(tmp, "adapter")
	out, err := execCmd(newTrainCmd(), "--base", enc, "--train", trainSubset(t, "train", 20), "--out", adapter, "--epochs", "1",
		"--threads", "1", "--quiet")
	require.NoError(t, err, out)
	require.FileExists(t, filepath.Join(adapter, "adapter_model.safetensors"))
	tagged, err := execCmd(newTagCmd(), "--backend", "go", "--quiet", "--format", "conll", "--threads", "1",
		"--cache", filepath.Join(tmp, "cache"), "--model", adapter, "--base", enc, "--text", "Familial adenomatous polyposis is a cancer syndrome .")
	require.NoError(t, err, tagged)
	assert.Contains(t, tagged, "polyposis")

	_, err = runStdout(newDaptCmd(), "--text", text, "--out", t.TempDir(), "--from-scratch", "--arch", "deberta-v3", "--layers", "1",
		"--hidden", "32", "--heads", "2", "--ffn", "64", "--vocab", vocab, "--position-init", "sinusoidal")
	require.ErrorContains(t, err, "no absolute position table")
	_, err = runStdout(newDaptCmd(), "--text", text, "--out", t.TempDir(), "--from-scratch", "--arch", "roberta", "--layers", "1",
		"--hidden", "32", "--heads", "2", "--ffn", "64", "--vocab", vocab)
	require.ErrorContains(t, err, `unknown from-scratch architecture "roberta"`)
	_, err = runStdout(newDaptCmd(), "--text", text, "--out", t.TempDir(), "--base", enc, "--arch", "deberta-v3")
	require.ErrorContains(t, err, "--arch only applies with --from-scratch")
}
