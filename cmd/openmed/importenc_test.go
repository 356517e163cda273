package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	omcache "github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/encoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportThenTrainByName imports the ONNX fixture into the encoder cache
// with `openmed import`, lists it, then trains and adapts on it by name.
func TestImportThenTrainByName(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(omcache.Env, cache)
	out, err := execCmd(newEncodersCmd())
	require.NoError(t, err)
	assert.Contains(t, out, "no encoders")

	dst := filepath.Join(cache, "encoders", "tiny")
	out, err = runStdout(newImportCmd(), "--format", "onnx", filepath.Join("..", "..", "core", "encoder", "testdata", "onnx"),
		"--out", dst, "--license", "test-only")
	require.NoError(t, err)
	assert.Contains(t, out, "imported tiny: bert 2×32, 4 heads")

	out, err = runStdout(newEncodersCmd(), "list", "--json")
	require.NoError(t, err)
	var infos []encoder.Info
	require.NoError(t, json.Unmarshal([]byte(out), &infos))
	require.Len(t, infos, 1)
	assert.Equal(t, "test-only", infos[0].License)
	assert.True(t, infos[0].Lowercase)
	out, err = runStdout(newEncodersCmd(), "list")
	require.NoError(t, err)
	assert.Contains(t, out, "2×32")

	_, err = runStdout(newImportCmd(), "--format", "onnx", filepath.Join("..", "..", "core", "encoder", "testdata", "onnx"), "--out", dst)
	assert.ErrorContains(t, err, "exists")
	_, err = runStdout(newImportCmd(), "--format", "keras", "x", "--out", dst)
	assert.ErrorContains(t, err, "unknown format")

	dir := t.TempDir()
	conll := "the\tO\npatient\tO\nhad\tO\nnephrotoxicity\tB-Disease\n\nbreast\tB-Disease\ncancer\tI-Disease\n\n"
	train := filepath.Join(dir, "train.tsv")
	require.NoError(t, os.WriteFile(train, []byte(conll), 0o644))
	_, err = runStdout(newTrainCmd(), "--base", "tiny", "--train", train, "--dev", train, "--out", filepath.Join(dir, "ner"),
		"--epochs", "1", "--batch-size", "2", "--max-len", "32", "--stride", "8", "--quiet")
	require.NoError(t, err, "train --base takes a cached encoder's name")
	_, err = os.Stat(filepath.Join(dir, "ner", "adapter_model.safetensors"))
	assert.NoError(t, err)
	_, err = runStdout(newMergeCmd(), "--base", "tiny", "--adapter", filepath.Join(dir, "ner"), "--out", filepath.Join(dir, "merged"))
	require.NoError(t, err, "merge --base takes a cached encoder's name")
	out, err = runStdout(newTagCmd(), "--model", filepath.Join(dir, "merged"), "--backend", "go", "--format", "jsonl", "breast cancer")
	require.NoError(t, err)
	assert.Contains(t, out, `"entities"`)

	text := filepath.Join(dir, "text.txt")
	require.NoError(t, os.WriteFile(text, []byte("the patient had nephrotoxicity after cisplatin\nbrca1 mutations in breast cancer\n"), 0o644))
	_, err = runStdout(newDaptCmd(), "--base", "tiny", "--lora", "--text", text, "--out", filepath.Join(dir, "dapt"),
		"--max-len", "8", "--batch-size", "2", "--held-out", "0.3", "--quiet")
	require.NoError(t, err, "dapt --base takes a cached encoder's name; the missing MLM head is trained")
	var m struct {
		NewHead []string `json:"new_mlm_head"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "dapt", "metrics.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &m))
	assert.Contains(t, m.NewHead, "cls.predictions.transform.dense.weight")

	_, err = runStdout(newTrainCmd(), "--base", "bert-base-cased", "--train", train, "--out", filepath.Join(dir, "x"), "--quiet")
	assert.ErrorContains(t, err, "make encoders")
}
