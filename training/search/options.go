package search

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/loop"
)

// Files and folders of a search directory.
const (
	StudyDir  = "study"
	TrialsDir = "trials"
	BestFile  = "best.json"
	FinalDir  = "final"
	// ParamsFile is written in each trial folder with the trial's parameters.
	ParamsFile = "params.json"
	finalLock  = "final.lock"
)

// Options configure a search. DefaultOptions are the paper's (§3.4): 40 trials of
// multivariate TPE over the paper space with the median pruner, one worker.
type Options struct {
	// Train is the template trainer config: Base, Train, Dev (required), Test (used
	// only by the final run), Method, Epochs, Seed, Threads… Out is ignored (each trial
	// trains into Dir/trials/<n>, the final run into Dir/final).
	Train training.Config
	// Dir is the search directory (see the package doc).
	Dir string
	// Study is the hpo study config (space, sampler, pruner), stored in study/study.json.
	Study hpo.Config
	// Trials is the study's total trial budget (paper: 40), shared by all workers.
	Trials int
	// Workers is the number of goroutines running trials in this process.
	Workers int
	// KeepWeights keeps each trial's weights and checkpoints (default: deleted once the
	// trial ends, keeping its params, metrics and dev predictions, to bound disk use).
	KeepWeights bool
	// Pruner overrides the study config's pruner (e.g. a custom rule); nil uses it.
	Pruner hpo.Pruner
	// SkipFinal stops after the study (no final run).
	SkipFinal bool
	// Progress receives the study's progress (trials done/running/pruned, best, ETA).
	Progress func(hpo.Progress)
	// TrainProgress receives each trial's trainer progress with the trial number
	// (-1 for the final run).
	TrainProgress func(trial int, p loop.Progress)
	// Log receives one-line messages (final run start, resumed study…).
	Log func(string)
}

// DefaultOptions returns the paper's search settings with training.DefaultConfig()
// as the template and the LoRA paper space.
func DefaultOptions() Options {
	st := hpo.DefaultConfig()
	st.Space = SpaceFor(training.MethodLoRA)
	return Options{Train: training.DefaultConfig(), Study: st, Trials: 40, Workers: 1}
}

// CheckRequired reports the first missing input as a training.FieldError
// with its JSON name ("base", "train", "dev", "output_dir"): the rule
// ParseOptions (C ABI, Python) and `openmed search` (which words it as
// flags) share.
func (o Options) CheckRequired() error {
	c := o.Train
	c.Out = o.Dir
	if err := c.CheckRequired(); err != nil {
		return err
	}
	if c.Dev == "" {
		return training.FieldErrorf("search", "dev", "is required: trials are scored on dev micro-F1 (§3.4)")
	}
	return nil
}

// Validate checks the options, naming the offending field.
func (o Options) Validate() error {
	switch {
	case o.Dir == "":
		return fmt.Errorf("search: Dir is empty")
	case o.Train.Base == "":
		return fmt.Errorf("search: Train.Base is empty")
	case o.Train.Train == "":
		return fmt.Errorf("search: Train.Train is empty")
	case o.Train.Dev == "":
		return fmt.Errorf("search: Train.Dev is empty: trials are scored on dev F1 (§3.4)")
	case o.Trials < 1:
		return fmt.Errorf("search: Trials = %d, need ≥ 1", o.Trials)
	case o.Workers < 1:
		return fmt.Errorf("search: Workers = %d, need ≥ 1", o.Workers)
	case o.Study.Direction != hpo.Maximize:
		return fmt.Errorf("search: Study.Direction must be maximize (dev F1)")
	}
	if err := o.Study.Validate(); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return CheckSpace(o.Study.Space, o.Train.Method)
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(fmt.Sprintf(format, args...))
	}
}

// Prepare sets what `openmed search` and the C ABI's openmed_search derive
// from their inputs: the study's sampler (s, seeded with seed), the same seed
// for every training run, the study name (the output folder's base name) and,
// when Train.Threads is 0 and several workers share the machine, cores/workers
// threads per trial. Dir, Workers and Train must be set first.
func (o *Options) Prepare(s SamplerChoice, seed uint64) error {
	cfg, err := s.Config(seed)
	if err != nil {
		return err
	}
	o.Study.Sampler, o.Train.Seed = cfg, seed
	o.Study.Name = filepath.Base(filepath.Clean(o.Dir))
	if o.Train.Threads == 0 && o.Workers > 1 {
		o.Train.Threads = max(1, runtime.NumCPU()/o.Workers)
	}
	return nil
}
