package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/training/dapt"
)

// `openmed dapt --from-scratch` writes a folder that `openmed train --base` accepts.
func TestDaptCommandFromScratchThenTrain(t *testing.T) {
	shared := sharedPath(t)
	c, err := corpus.ReadFile(filepath.Join(shared, "data", "NCBI-Disease", "train.tsv"))
	require.NoError(t, err)
	var b strings.Builder
	for _, s := range c.Sentences[:120] {
		b.WriteString(strings.Join(s.Words(), " ") + "\n")
	}
	text := filepath.Join(t.TempDir(), "text.txt")
	require.NoError(t, os.WriteFile(text, []byte(b.String()), 0o644))
	out := t.TempDir()
	stdout, err := runStdout(newDaptCmd(), "--text", text, "--out", out, "--from-scratch", "--layers", "1", "--hidden", "32", "--heads", "2",
		"--ffn", "64", "--vocab", filepath.Join(shared, "tokenizers", "pubmedbert-abstract"), "--max-len", "64", "--threads", "1", "--held-out", "0.2")
	require.NoError(t, err)
	require.Contains(t, stdout, "held-out perplexity")
	require.FileExists(t, filepath.Join(out, "mlm_curve.jsonl"))

	trained := t.TempDir()
	_, err = runStdout(newTrainCmd(), "--base", out, "--train", trainSubset(t, "train", 20), "--out", trained, "--epochs", "1", "--threads", "1")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(trained, "adapter_model.safetensors"))

	// --config repeats the run from its training_args.json (the scratch
	// sizes included); --seed given on the command line wins.
	again := t.TempDir()
	_, err = runStdout(newDaptCmd(), "--config", filepath.Join(out, "training_args.json"), "--out", again, "--seed", "7")
	require.NoError(t, err)
	rc, err := dapt.ReadConfig(filepath.Join(again, "training_args.json"))
	require.NoError(t, err)
	require.Equal(t, uint64(7), rc.Seed)
	require.Equal(t, 64, rc.BlockLen)
	require.NotNil(t, rc.Scratch)
	require.Equal(t, 32, rc.Scratch.Hidden)

	_, err = runStdout(newDaptCmd(), "--text", text, "--out", t.TempDir(), "--from-scratch", "--layers", "1")
	require.ErrorContains(t, err, "--hidden")
	_, err = runStdout(newDaptCmd(), "--text", text, "--out", t.TempDir(), "--base", out, "--layers", "2")
	require.ErrorContains(t, err, "only apply with --from-scratch")
}
