package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/search"
)

func init() { rootCmd.AddCommand(newSearchCmd()) }

// searchFlags are the options of `openmed search` beyond search.Options.
type searchFlags struct {
	method  methodFlags
	sampler string
	seed    uint64
	space   string
	quiet   bool
	config  string
	// pruneWarmup and noPrune set the study's median pruner (hpo.MedianPruner).
	pruneWarmup int
	noPrune     bool
}

func newSearchCmd() *cobra.Command {
	o := search.DefaultOptions()
	var f searchFlags
	cmd := &cobra.Command{
		Use:   "search --base DIR --train F --dev F [--test F] --out DIR",
		Short: "TPE hyper-parameter search over real training runs, then a final run with the best configuration",
		Long: `Search tunes one backbone on one corpus the OpenMed NER paper's way (§3.4, §3.7):
a --trials TPE study (multivariate by default) over learning rate, batch size,
weight decay, warm-up ratio, LoRA rank and LoRA dropout (or --space space.json),
each trial a full training run with early stopping scored by dev micro-F1 and
pruned by the median rule after any epoch; the test set is never used by trials.

--out receives study/ (the hpo study: every trial's parameters, per-epoch dev
F1 and score), trials/<n>/ (each trial's metrics; weights are deleted), best.json
and final/ (a normal 'openmed train' output trained with the best configuration
and scored once on --test). Several processes may run the same command on the
same --out; re-running it after a crash resumes the study.

--config FILE starts from a JSON configuration instead of the defaults: the
object openmed_search's config_json and openmed.search take (training.Config
names plus trials, workers, sampler, seed, space, pruner, keep_weights,
no_final; "output_dir" is the search folder); flags given on the command line
override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			changed := func(string) bool { return true }
			if f.config != "" {
				data, err := os.ReadFile(f.config)
				if err != nil {
					return fmt.Errorf("search: --config: %w", err)
				}
				file, err := search.ParseOptions(data)
				if err != nil {
					return runError("search", fmt.Errorf("--config %s: %w", f.config, err))
				}
				if err := overlayConfig(cmd.Flags(), func() { o = file }); err != nil {
					return err
				}
				changed = cmd.Flags().Changed
				if !changed("sampler") {
					if f.sampler, err = configSampler(data); err != nil {
						return err
					}
				}
				if !changed("seed") {
					f.seed = o.Train.Seed
				}
			}
			if err := o.CheckRequired(); err != nil {
				return runError("search", err)
			}
			if err := searchSetup(&o, f, changed); err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd)
			defer stop()
			return runSearch(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o, f.quiet)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Train.Base, "base", "", "Hugging Face encoder folder (config.json + weights + tokenizer)")
	fl.StringVar(&o.Train.Tokenizer, "tokenizer", "", "tokenizer folder or file (default: --base)")
	fl.StringVar(&o.Train.Train, "train", "", "training CoNLL file")
	fl.StringVar(&o.Train.Dev, "dev", "", "development CoNLL file (trial score: dev micro-F1)")
	fl.StringVar(&o.Train.Test, "test", "", "test CoNLL file (final run only)")
	fl.StringVar(&o.Dir, "out", "", "search folder (study/, trials/, best.json, final/)")
	fl.IntVar(&o.Trials, "trials", o.Trials, "total trials of the study (all workers)")
	fl.IntVar(&o.Workers, "workers", o.Workers, "trials run in parallel by this process")
	fl.StringVar(&f.sampler, "sampler", search.SamplerTPE.String(), "tpe (multivariate), tpe-univariate or random")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the sampler and of every training run")
	fl.IntVar(&o.Train.Epochs, "epochs", o.Train.Epochs, "maximum epochs per trial (early stopping on dev F1)")
	fl.IntVar(&o.Train.Patience, "patience", o.Train.Patience, "early-stopping patience in epochs (0: none)")
	f.method.add(cmd, "LoRA adapters + classifier (default)", "full fine-tuning (the space drops the LoRA parameters)")
	fl.StringVar(&f.space, "space", "", "search space JSON (an array of hpo params; default: the paper's)")
	fl.IntVar(&o.Train.Threads, "threads", 0, "threads per trial (0: cores / workers)")
	fl.BoolVar(&o.KeepWeights, "keep-weights", false, "keep every trial's weights and checkpoints")
	fl.BoolVar(&o.SkipFinal, "no-final", false, "stop after the study and best.json (no final run)")
	fl.IntVar(&f.pruneWarmup, "prune-warmup", 0, "no median pruning before this epoch (Optuna's n_warmup_steps; 0: prune from epoch 1). Trials are compared at the same epoch, so a large batch (fewer steps per epoch) starts slower")
	fl.BoolVar(&f.noPrune, "no-prune", false, "never prune a trial (every trial runs until early stopping)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress display")
	fl.StringVar(&f.config, configFlag, "", "JSON configuration (openmed_search's config_json keys); flags given override it")
	return cmd
}

// configSampler is the "sampler" of a --config file (default tpe).
func configSampler(data []byte) (string, error) {
	var v struct {
		Sampler *string `json:"sampler"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return "", fmt.Errorf("search: --config: %w", err)
	}
	if v.Sampler == nil {
		return search.SamplerTPE.String(), nil
	}
	return *v.Sampler, nil
}

// searchSetup applies the flags that need parsing to o; changed says which
// were given (all of them without --config; with it, only those override
// the file's values).
func searchSetup(o *search.Options, f searchFlags, changed func(string) bool) error {
	if err := f.method.apply("search", &o.Train.Method); err != nil {
		return err
	}
	if changed("lora") || changed("full") {
		o.Study.Space = search.SpaceFor(o.Train.Method)
	}
	if f.space != "" {
		b, err := os.ReadFile(f.space)
		if err != nil {
			return fmt.Errorf("search: --space: %w", err)
		}
		var sp hpo.Space
		if err := json.Unmarshal(b, &sp); err != nil {
			return fmt.Errorf("search: --space %s: %w", f.space, err)
		}
		o.Study.Space = sp
	}
	switch {
	case !changed("prune-warmup") && !changed("no-prune"):
	case f.pruneWarmup < 0:
		return fmt.Errorf("search: --prune-warmup must be ≥ 0, got %d", f.pruneWarmup)
	case f.noPrune && f.pruneWarmup > 0:
		return fmt.Errorf("search: --no-prune and --prune-warmup %d contradict each other", f.pruneWarmup)
	case f.noPrune:
		o.Study.Pruner.Kind = hpo.PrunerNone
	default:
		o.Study.Pruner.Median.NWarmupSteps = f.pruneWarmup
	}
	s, err := search.ParseSampler(f.sampler)
	if err != nil {
		return err
	}
	return o.Prepare(s, f.seed)
}

func runSearch(ctx context.Context, stdout, stderr io.Writer, o search.Options, quiet bool) error {
	d := newSearchDisplay(stderr, quiet, o.Trials)
	o.Progress = d.update
	o.Log = d.println
	res, err := search.Run(ctx, o)
	d.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("search: interrupted; run the same command again to resume: %w", err)
		}
		return err
	}
	b := res.Best
	fmt.Fprintf(stdout, "trials: %d complete, %d pruned, %d failed\n", b.Complete, b.Pruned, b.Failed)
	fmt.Fprintf(stdout, "best trial %d: dev F1 %.4f %s\n", b.Trial, b.DevF1, formatParams(b.Params))
	if b.Final != nil {
		fmt.Fprintf(stdout, "final run %s: dev F1 %.4f", b.Final.Dir, b.Final.DevF1)
		if b.Final.TestF1 != nil {
			fmt.Fprintf(stdout, " test F1 %.4f", *b.Final.TestF1)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(o.Dir, search.BestFile))
	return nil
}

func formatParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%v", k, p[k])
	}
	return s
}

// searchDisplay shows a one-line progress bar of the study on a terminal (trials
// done/running/pruned, best dev F1, ETA) and plain log lines otherwise.
type searchDisplay struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	out   io.Writer
	quiet bool
}

func newSearchDisplay(w io.Writer, quiet bool, trials int) *searchDisplay {
	d := &searchDisplay{out: w, quiet: quiet}
	if fh, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(fh.Fd())) {
		d.bar = progressbar.NewOptions(trials, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetDescription("search"))
	}
	return d
}

// statusLine is the study's state in one line.
func statusLine(p hpo.Progress) string {
	s := fmt.Sprintf("%d/%d done, %d running, %d pruned, %d failed", p.Done, p.Total, p.Running, p.Pruned, p.Failed)
	if p.Best != nil && p.Best.Value != nil {
		s += fmt.Sprintf(", best dev F1 %.4f (trial %d)", *p.Best.Value, p.Best.Number)
	}
	if p.ETA > 0 {
		s += fmt.Sprintf(", ETA %s", p.ETA.Round(time.Second))
	}
	return s
}

func (d *searchDisplay) update(p hpo.Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bar != nil {
		d.bar.Describe("search " + statusLine(p))
		_ = d.bar.Set(p.Done)
		return
	}
	if d.quiet {
		return
	}
	t := p.Trial
	switch p.Event {
	case hpo.ProgressStarted:
		fmt.Fprintf(d.out, "trial %d started (attempt %d)%s\n", t.Number, t.Attempt, formatParams(t.Params))
	case hpo.ProgressReported:
		if sv, ok := t.LastStep(); ok {
			fmt.Fprintf(d.out, "trial %d epoch %d dev F1 %.4f\n", t.Number, sv.Step, sv.Value)
		}
	case hpo.ProgressFinished:
		v := ""
		if t.Value != nil {
			v = fmt.Sprintf(" dev F1 %.4f", *t.Value)
		}
		if t.Error != "" {
			v += " error: " + t.Error
		}
		fmt.Fprintf(d.out, "trial %d %s%s | %s\n", t.Number, t.State, v, statusLine(p))
	}
}

func (d *searchDisplay) println(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quiet && d.bar == nil {
		return
	}
	if d.bar != nil {
		_ = d.bar.Clear()
	}
	fmt.Fprintln(d.out, s)
}

func (d *searchDisplay) finish() {
	if d.bar != nil {
		_ = d.bar.Finish()
		fmt.Fprintln(d.out)
	}
}
