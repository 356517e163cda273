package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
)

// Best is best.json: the best trial of the study by dev micro-F1, the trainer config
// it gives, and (once the final run ends) the final run's dev and test micro-F1.
type Best struct {
	// Trial is the best complete trial's number; DevF1 its score.
	Trial  int            `json:"trial"`
	DevF1  float64        `json:"dev_f1"`
	Params map[string]any `json:"params"`
	// Config is the trainer config of the final run (training_args.json field names).
	Config training.Config `json:"config"`
	// Summary counts the study's trials by state.
	Complete int `json:"complete"`
	Pruned   int `json:"pruned"`
	Failed   int `json:"failed"`
	// Final holds the final run's scores (nil until it finished).
	Final *FinalScores `json:"final,omitempty"`
}

// FinalScores are the final run's entity-level micro-F1 (seqeval default mode).
type FinalScores struct {
	Dir    string   `json:"dir"`
	DevF1  float64  `json:"dev_f1"`
	TestF1 *float64 `json:"test_f1,omitempty"`
}

// Result is a finished search.
type Result struct {
	Best    Best
	Summary hpo.Summary
	// Final is the final run (nil with SkipFinal, or when another process ran it).
	Final *training.Result
}

// Run runs (or resumes) the search in o.Dir: the study until it holds o.Trials
// trials, then best.json and the final run with the best configuration in
// Dir/final, scored once on o.Train.Test. Several processes may run it on the same
// directory: trials are shared through the study's lock and only one of them does
// the final run (the others wait for it and return its best.json).
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	st, err := hpo.Create(filepath.Join(o.Dir, StudyDir), o.Study)
	if err != nil {
		return nil, err
	}
	if s, err := st.Summary(); err == nil && s.Trials > 0 {
		o.logf("resuming study %s: %d trials (%d complete, %d pruned, %d failed, %d orphaned)",
			st.Dir(), s.Trials, s.Complete, s.Pruned, s.Failed, s.Orphaned)
	}
	sum, err := optimize(ctx, st, o)
	if err != nil {
		return nil, err
	}
	if sum.Best == nil {
		return nil, fmt.Errorf("search: %s: no trial completed (%d pruned, %d failed)%s", st.Dir(), sum.Pruned, sum.Failed, firstFailure(st))
	}
	cfg, err := Apply(o.Train, sum.Best.Params)
	if err != nil {
		return nil, err
	}
	cfg.Out, cfg.Progress, cfg.Resume = filepath.Join(o.Dir, FinalDir), nil, false
	best := Best{Trial: sum.Best.Number, DevF1: *sum.Best.Value, Params: sum.Best.Params, Config: cfg,
		Complete: sum.Complete, Pruned: sum.Pruned, Failed: sum.Failed}
	res := &Result{Best: best, Summary: sum}
	if o.SkipFinal {
		return res, training.WriteJSON(filepath.Join(o.Dir, BestFile), best)
	}
	unlock, err := lockFile(ctx, filepath.Join(o.Dir, finalLock))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if prev, err := ReadBest(o.Dir); err == nil && prev.Final != nil && prev.Trial == best.Trial {
		o.logf("final run already done in %s", prev.Final.Dir)
		res.Best = *prev
		return res, nil
	}
	// An interrupted final run of the same best trial continues from its checkpoint.
	prev, perr := ReadBest(o.Dir)
	_, cerr := loop.LatestCheckpoint(cfg.Out)
	resume := perr == nil && prev.Trial == best.Trial && cerr == nil
	if err := training.WriteJSON(filepath.Join(o.Dir, BestFile), best); err != nil {
		return nil, err
	}
	if o.TrainProgress != nil {
		cfg.Progress = func(p loop.Progress) { o.TrainProgress(-1, p) }
	}
	if resume {
		o.logf("resuming the final run (trial %d's configuration) in %s", best.Trial, cfg.Out)
		cfg.Resume = true
	} else {
		o.logf("final run with trial %d's configuration (dev F1 %.4f) in %s", best.Trial, best.DevF1, cfg.Out)
		if err := os.RemoveAll(cfg.Out); err != nil {
			return nil, err
		}
	}
	fin, err := training.Train(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("search: final run: %w", err)
	}
	cfg.Resume = false
	best.Config = cfg
	fs := &FinalScores{Dir: cfg.Out}
	if fin.Dev != nil {
		fs.DevF1 = fin.Dev.Default.Micro.F1
	}
	if fin.Test != nil {
		f := fin.Test.Default.Micro.F1
		fs.TestF1 = &f
	}
	best.Final = fs
	res.Best, res.Final = best, fin
	return res, training.WriteJSON(filepath.Join(o.Dir, BestFile), best)
}

// ReadBest reads dir/best.json.
func ReadBest(dir string) (*Best, error) {
	p := filepath.Join(dir, BestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var best Best
	if err := json.Unmarshal(b, &best); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &best, nil
}

var errNoLock = errors.New("search: file locks are not supported on this platform")

// optimize runs the study until it holds o.Trials trials and none is running: trials of
// other live processes are waited for (so every process picks the same best trial),
// trials of dead ones are taken over.
func optimize(ctx context.Context, st *hpo.Study, o Options) (hpo.Summary, error) {
	ro := hpo.RunOptions{NTrials: o.Trials, Workers: o.Workers, Progress: o.Progress, Pruner: o.Pruner}
	waited := false
	for {
		if err := st.Optimize(ctx, Objective(o), ro); err != nil {
			return hpo.Summary{}, err
		}
		sum, err := st.Summary()
		if err != nil {
			return sum, err
		}
		if sum.Running == 0 && sum.Waiting == 0 {
			return sum, nil
		}
		if sum.Orphaned > 0 {
			continue // a dead worker's trial: the next Optimize re-runs it
		}
		if !waited {
			o.logf("waiting for %d trial(s) running in other processes", sum.Running)
			waited = true
		}
		select {
		case <-ctx.Done():
			return sum, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// pollInterval is how often a finished worker re-reads the study while other
// processes' trials run.
const pollInterval = 500 * time.Millisecond

// firstFailure is ": trial N failed: <error>" for the study's first failed trial,
// so an error that fails every trial (a bad file, a vocabulary mismatch) is
// reported where the search stops, or "" when no trial failed.
func firstFailure(st *hpo.Study) string {
	trials, err := st.Trials()
	if err != nil {
		return ""
	}
	for _, t := range trials {
		if t.State == hpo.StateFailed && t.Error != "" {
			return fmt.Sprintf(": trial %d failed: %s", t.Number, t.Error)
		}
	}
	return ""
}
