package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
)

// TrialDir is the folder trial n trains into.
func TrialDir(dir string, n int) string {
	return filepath.Join(dir, TrialsDir, strconv.Itoa(n))
}

// Objective returns the hpo objective of a search: it trains trial n with the
// template config plus the trial's parameters into Dir/trials/<n> (from scratch; a
// previous attempt's folder is removed), without the test set, reports the dev
// micro-F1 after every epoch (step = epochs completed, 1-based), stops the trainer
// (context cancel) when the pruner says so and returns the best dev micro-F1 — the
// paper's trial score (§3.4, early stopping inside each trial).
func Objective(o Options) hpo.Objective {
	return func(ctx context.Context, trial *hpo.Trial) (float64, error) {
		n := trial.Number()
		out := TrialDir(o.Dir, n)
		cfg, err := Apply(o.Train, trial.Params())
		if err != nil {
			return 0, fmt.Errorf("trial %d: %w", n, err)
		}
		cfg.Out, cfg.Test, cfg.Resume = out, "", false
		if err := os.RemoveAll(out); err != nil {
			return 0, fmt.Errorf("trial %d: %w", n, err)
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return 0, fmt.Errorf("trial %d: %w", n, err)
		}
		if err := training.WriteJSON(filepath.Join(out, ParamsFile), map[string]any{"trial": n, "attempt": trial.Attempt(), "params": trial.Params()}); err != nil {
			return 0, fmt.Errorf("trial %d: %w", n, err)
		}
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var mu sync.Mutex
		var pruned bool
		var hookErr error
		lastStep := 0
		cfg.Progress = func(p loop.Progress) {
			if o.TrainProgress != nil {
				o.TrainProgress(n, p)
			}
			if p.Phase != loop.PhaseEval || !p.HasScore || p.Epoch < 1 || p.Epoch == lastStep {
				return
			}
			lastStep = p.Epoch
			mu.Lock()
			defer mu.Unlock()
			if err := trial.Report(p.Epoch, p.Score); err != nil {
				hookErr = err
				cancel()
				return
			}
			if p.Epoch >= p.Epochs {
				return // the last epoch: nothing left to save by pruning
			}
			prune, err := trial.ShouldPrune()
			if err != nil {
				hookErr = err
				cancel()
				return
			}
			if prune {
				pruned = true
				cancel()
			}
		}
		res, err := training.Train(tctx, cfg)
		mu.Lock()
		isPruned, herr := pruned, hookErr
		mu.Unlock()
		if cerr := o.cleanTrial(out); cerr != nil && err == nil {
			err = cerr
		}
		switch {
		case herr != nil:
			return 0, fmt.Errorf("trial %d: %w", n, herr)
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case isPruned && (err == nil || errors.Is(err, loop.ErrInterrupted)):
			return 0, fmt.Errorf("trial %d at epoch %d: %w", n, lastStep, hpo.ErrPruned)
		case err != nil:
			return 0, fmt.Errorf("trial %d: %w", n, err)
		case res.Dev == nil:
			return 0, fmt.Errorf("trial %d: no dev evaluation", n)
		}
		return res.Dev.Default.Micro.F1, nil
	}
}

// cleanTrial deletes a finished trial's checkpoints and weights (unless KeepWeights),
// keeping its params, metrics and predictions.
func (o Options) cleanTrial(out string) error {
	if o.KeepWeights {
		return nil
	}
	for _, f := range []string{"checkpoints", checkpoint.SafeWeightsFile, "adapter_model.safetensors"} {
		if err := os.RemoveAll(filepath.Join(out, f)); err != nil {
			return err
		}
	}
	return nil
}
