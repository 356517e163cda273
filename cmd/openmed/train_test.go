package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/training"
)

// trainTinyBase writes a 1-layer BERT base folder with the PubMedBERT vocabulary.
func trainTinyBase(t *testing.T) string {
	t.Helper()
	return writeTinyBase(t, "pubmedbert-abstract", `{"architectures":["BertForMaskedLM"],"model_type":"bert",
	"vocab_size":%d,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":64,
	"hidden_act":"gelu","hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,"max_position_embeddings":512,
	"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.02,"pad_token_id":0}`)
}

func trainSubset(t *testing.T, split string, n int) string {
	t.Helper()
	c, err := corpus.ReadFile(sharedPath(t, "data", "NCBI-Disease", split+".tsv"))
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), split+".tsv")
	require.NoError(t, corpus.WriteFile(p, c.Sentences[:n]))
	return p
}

func TestTrainCommand(t *testing.T) {
	base := trainTinyBase(t)
	out := t.TempDir()
	stdout, err := runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 40), "--dev", trainSubset(t, "devel", 20),
		"--test", trainSubset(t, "test", 20), "--out", out, "--epochs", "2", "--threads", "1", "--r", "4", "--alpha", "8")
	require.NoError(t, err)
	require.Contains(t, stdout, "dev  P")
	require.Contains(t, stdout, "test P")
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors", "config.json", "labels.json", "vocab.txt", "metrics.json", "metrics.jsonl", "training_args.json"} {
		require.FileExists(t, filepath.Join(out, f))
	}
	ac, err := checkpoint.LoadAdapterConfig(filepath.Join(out, "adapter_config.json"))
	require.NoError(t, err)
	require.Equal(t, 4, ac.R)

	// Full fine-tuning writes an HF token-classification checkpoint that loads back.
	full := t.TempDir()
	_, err = runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 20), "--out", full, "--epochs", "1", "--full", "--threads", "1")
	require.NoError(t, err)
	cfg, err := checkpoint.LoadConfig(full)
	require.NoError(t, err)
	require.Equal(t, []string{"BertForTokenClassification"}, cfg.Architectures)
	require.Equal(t, []string{"O", "B-Disease", "I-Disease"}, cfg.Labels())
	_, err = model.Load(full, model.TokenClassification)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(full, "adapter_config.json"))
	require.True(t, os.IsNotExist(err))

	_, err = runStdout(newTrainCmd(), "--base", base, "--train", "x", "--out", full, "--lora", "--full")
	require.ErrorContains(t, err, "exclude")
	_, err = runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 5), "--out", t.TempDir(), "--resume")
	require.ErrorContains(t, err, "no checkpoint to resume")
}

// An interrupted run (what Ctrl-C does through the signal context) reports
// how to continue, and --resume finishes it.
func TestTrainInterruptThenResume(t *testing.T) {
	base := trainTinyBase(t)
	train := trainSubset(t, "train", 30)
	out := t.TempDir()
	cfg := training.DefaultConfig()
	cfg.Base, cfg.Train, cfg.Out, cfg.Epochs, cfg.Threads = base, train, out, 2, 1
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := runTrain(ctx, &stdout, &stderr, cfg, true)
	require.ErrorContains(t, err, "rerun with --resume")
	_, err = os.Stat(filepath.Join(out, "checkpoints", "latest.json"))
	require.NoError(t, err)
	got, err := runStdout(newTrainCmd(), "--base", base, "--train", train, "--out", out, "--epochs", "2", "--threads", "1", "--resume")
	require.NoError(t, err)
	require.Contains(t, got, "epochs 2")
}

// --config repeats a run from its training_args.json; flags given override
// the file, the file overrides the defaults, and a bad key is named.
func TestTrainConfigFile(t *testing.T) {
	base := trainTinyBase(t)
	first := t.TempDir()
	_, err := runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 20), "--out", first, "--epochs", "1",
		"--threads", "1", "--r", "4", "--alpha", "8", "--targets", "query", "--lr", "0.002")
	require.NoError(t, err)
	again := t.TempDir()
	_, err = runStdout(newTrainCmd(), "--config", filepath.Join(first, "training_args.json"), "--out", again, "--r", "2")
	require.NoError(t, err)
	cfg, err := training.ReadConfig(filepath.Join(again, "training_args.json"))
	require.NoError(t, err)
	require.Equal(t, again, cfg.Out, "flag over file")
	require.Equal(t, 2, cfg.LoRA.R, "flag over file")
	require.Equal(t, 8.0, cfg.LoRA.Alpha, "file over default")
	require.Equal(t, []string{"query"}, cfg.LoRA.Targets, "file over default")
	require.Equal(t, 0.002, cfg.LR)
	require.Equal(t, 1, cfg.Epochs)

	bad := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"base":"b","patience":2}`), 0o644))
	_, err = runStdout(newTrainCmd(), "--config", bad, "--train", "t", "--out", "o")
	require.Error(t, err)
	require.Contains(t, err.Error(), bad)
	require.Contains(t, err.Error(), "early_stopping_patience")
	_, err = runStdout(newTrainCmd(), "--train", "t")
	require.ErrorContains(t, err, "--base is required")
}

// Library configuration errors name the field by its JSON name; the CLI
// shows its flags instead, and every flag it maps to exists.
func TestFieldErrorsSpeakFlags(t *testing.T) {
	base := trainTinyBase(t)
	_, err := runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 5), "--out", t.TempDir(), "--epochs", "-1")
	require.Error(t, err)
	require.Contains(t, err.Error(), "train: training: --epochs must be positive")
	require.ErrorIs(t, err, training.ErrConfig)
	out := t.TempDir()
	_, err = runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 5), "--out", out, "--epochs", "1", "--threads", "1")
	require.NoError(t, err)
	_, err = runStdout(newTrainCmd(), "--base", base, "--train", trainSubset(t, "train", 5), "--out", out, "--epochs", "1")
	require.Error(t, err)
	require.Contains(t, err.Error(), "--out "+out+" holds a finished run")
	require.Contains(t, err.Error(), "set --overwrite to replace it")
	for command, names := range flagOf {
		cmd := map[string]*cobra.Command{"train": newTrainCmd(), "dapt": newDaptCmd(), "search": newSearchCmd()}[command]
		require.NotNil(t, cmd, "flagOf names a command the test does not know: %s", command)
		for field, flag := range names {
			first, _, _ := strings.Cut(flag, "/")
			require.NotNil(t, cmd.Flags().Lookup(first), "%s: %s → --%s", command, field, first)
		}
	}
}
