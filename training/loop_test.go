package training

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/loop"
)

// Patience counts evaluations without improvement: with a learning rate too
// small to change dev F1, patience 1 stops after the second epoch and the
// first epoch's weights are kept.
func TestEarlyStopping(t *testing.T) {
	base := tinyBase(t, 1, 32)
	cfg := smallConfig(base, ncbiSubset(t, "train", 30), ncbiSubset(t, "devel", 20), t.TempDir())
	cfg.Epochs = 5
	cfg.LR = 1e-12
	cfg.Patience = 1
	res, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	require.True(t, res.Loop.EarlyStopped)
	require.Equal(t, 2, res.Loop.Epochs)
	require.Equal(t, 0, res.Loop.BestEpoch)
	require.Len(t, res.Loop.History, 2)
	b, err := os.ReadFile(filepath.Join(cfg.Out, "metrics.json"))
	require.NoError(t, err)
	var fm map[string]any
	require.NoError(t, json.Unmarshal(b, &fm))
	require.Equal(t, true, fm["early_stopped"])
	require.Equal(t, 1.0, fm["best_epoch"])
	// metrics.jsonl: one line per logging step and one per epoch with the dev scores.
	lb, err := os.ReadFile(filepath.Join(cfg.Out, "metrics.jsonl"))
	require.NoError(t, err)
	epochs := 0
	for _, line := range splitLines(string(lb)) {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v))
		if v["type"] == "epoch" {
			epochs++
			for _, k := range []string{"dev_f1", "dev_precision", "dev_recall", "dev_strict_f1", "dev_loss", "train_loss", "best_score"} {
				require.Contains(t, v, k)
			}
		}
	}
	require.Equal(t, 2, epochs)
}

// With automatic epochs, MinSteps raises the epochs of a corpus too small to
// give that many steps and keeps patience from ending the run before them;
// explicit epochs are trained as asked.
func TestMinStepsRaisesEpochs(t *testing.T) {
	base := tinyBase(t, 1, 32)
	cfg := smallConfig(base, ncbiSubset(t, "train", 30), ncbiSubset(t, "devel", 20), t.TempDir())
	cfg.Epochs, cfg.LR, cfg.Patience = 1, 1e-12, 1
	one, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	perEpoch := one.Loop.Steps
	var warned []string
	cfg.Warn = func(s string) {
		if strings.Contains(s, "min_train_steps") {
			warned = append(warned, s)
		}
	}
	cfg.Out, cfg.MinSteps = t.TempDir(), (DefaultEpochs+3)*perEpoch+1
	res, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, 1, res.Loop.Epochs, "explicit epochs are kept")
	require.Empty(t, warned)
	cfg.Out, cfg.Epochs = t.TempDir(), 0
	res, err = Train(context.Background(), cfg)
	require.NoError(t, err)
	n := DefaultEpochs + 4
	require.Equal(t, n, res.Loop.Epochs, "ceil(((10+3)·%d+1)/%d) epochs", perEpoch, perEpoch)
	require.True(t, res.Loop.EarlyStopped, "patience 1 ends the run once min steps are reached")
	require.Equal(t, n*perEpoch, res.Loop.Steps)
	require.NotEmpty(t, warned)
	require.Contains(t, warned[len(warned)-1], fmt.Sprintf("training for %d epochs instead of 10", n))
	require.Equal(t, 5, loop.EpochsForMinSteps(5, 10, 30), "never fewer than asked")
	require.Equal(t, 1, loop.EpochsForMinSteps(1, 0, 30))
}

// Gradient accumulation steps the optimiser once per GradAccum micro-batches
// (and once for a partial window at the end of an epoch); the warm-up starts
// the learning rate at 0 as transformers' schedules do.
func TestGradAccumulationSteps(t *testing.T) {
	base := tinyBase(t, 1, 32)
	cfg := smallConfig(base, ncbiSubset(t, "train", 40), "", t.TempDir())
	cfg.BatchSize = 8           // 5 micro-batches per epoch
	cfg.GradAccum = 2           // 3 optimiser steps per epoch
	cfg.Packing = PackSentences // 40 windows
	cfg.Epochs = 2
	res, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, 6, res.Loop.Steps)
	lrs := []float64{}
	b, err := os.ReadFile(filepath.Join(cfg.Out, "metrics.jsonl"))
	require.NoError(t, err)
	for _, line := range splitLines(string(b)) {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v))
		if v["type"] == "step" {
			lrs = append(lrs, v["lr"].(float64))
		}
	}
	require.Len(t, lrs, 6)
	require.Equal(t, 0.0, lrs[0], "warm-up (ceil(0.1·6) = 1 step) starts at 0")
	require.InDelta(t, cfg.LR, lrs[1], 1e-12, "peak after warm-up")
	for i := 2; i < len(lrs); i++ {
		require.Less(t, lrs[i], lrs[i-1], "cosine decay")
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
