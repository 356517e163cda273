package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

func init() { rootCmd.AddCommand(newTrainCmd()) }

// trainFlags are the options of `openmed train` that need parsing beyond
// training.Config.
type trainFlags struct {
	method  methodFlags
	targets string
	quiet   bool
	dropout float64
	config  string
}

func newTrainCmd() *cobra.Command {
	cfg := training.DefaultConfig()
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train --base DIR --train F --dev F [--test F] --out DIR",
		Short: "Fine-tune an encoder for BIO NER the paper's way (LoRA or full, early stopping, resumable)",
		Long: `Train fine-tunes a Hugging Face encoder folder (config.json, weights, tokenizer
files) for token classification with the OpenMed NER recipe: labels on the
first sub-token of each word, 256-token windows with 50 overlap, LoRA r=16
α=32 dropout 0.05 on query/value (or --full), AdamW with 10% warm-up and
cosine decay, label smoothing 0.1, weight decay 0.01, clipping 1.0, early
stopping on dev micro-F1 (patience 3) keeping the best weights.

--out receives a PEFT adapter folder (or, with --full, an HF checkpoint),
config.json with the label map, labels.json, tokenizer files,
training_args.json, metrics.json and metrics.jsonl. Ctrl-C stops after
writing a checkpoint; --resume continues it to the same result.

--config FILE starts from a JSON configuration instead of the defaults (a
run's training_args.json repeats that run: give another --out); flags given
on the command line override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.config != "" {
				file, err := training.ReadConfig(f.config)
				if err != nil {
					return err
				}
				if err := overlayConfig(cmd.Flags(), func() { cfg = file }); err != nil {
					return err
				}
			}
			if err := f.method.apply("train", &cfg.Method); err != nil {
				return err
			}
			if cmd.Flags().Changed("dropout") {
				cfg.Dropout = &f.dropout
			}
			if cmd.Flags().Changed("targets") {
				cfg.LoRA.Targets = splitList(f.targets)
			}
			if err := cfg.CheckRequired(); err != nil {
				return runError("train", err)
			}
			ctx, stop := interruptContext(cmd)
			defer stop()
			return runTrain(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, f.quiet)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Base, "base", "", "Hugging Face encoder folder (config.json + weights + tokenizer)")
	fl.StringVar(&cfg.Tokenizer, "tokenizer", "", "tokenizer folder or file (default: --base)")
	fl.StringVar(&cfg.Train, "train", "", "training CoNLL file (token<TAB>tag)")
	fl.StringVar(&cfg.Dev, "dev", "", "development CoNLL file (evaluated each epoch, early stopping)")
	fl.StringVar(&cfg.Test, "test", "", "test CoNLL file (evaluated with the best weights)")
	fl.StringVar(&cfg.Out, "out", "", "output folder")
	f.method.add(cmd, "train LoRA adapters + classifier (default)", "full fine-tuning of every parameter")
	addLoRAFlags(cmd, &cfg.LoRA, &f.targets)
	fl.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "training epochs (0: 10, more for a small corpus to reach --min-steps)")
	fl.Float64Var(&cfg.LR, "lr", cfg.LR, "peak learning rate")
	fl.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "training batch size (windows)")
	fl.IntVar(&cfg.EvalBatchSize, "eval-batch-size", cfg.EvalBatchSize, "evaluation batch size")
	fl.IntVar(&cfg.MaxLen, "max-len", cfg.MaxLen, "window length in tokens (specials included)")
	fl.IntVar(&cfg.Stride, "stride", cfg.Stride, "window overlap in tokens")
	fl.Var(textFlag{&cfg.Packing}, "packing", "which sentences share windows: documents (-DOCSTART- groups, else consecutive sentences; what the tagger sees), sentences, or mixed (both: the model also tags sentences alone well; twice the tokens)")
	fl.Float64Var(&cfg.WarmupRatio, "warmup-ratio", cfg.WarmupRatio, "fraction of steps of linear warm-up")
	fl.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "AdamW weight decay (none on biases/LayerNorm)")
	fl.Float64Var(&cfg.LabelSmoothing, "label-smoothing", cfg.LabelSmoothing, "label smoothing factor")
	fl.Float64Var(&f.dropout, "dropout", 0, "override the base's hidden and attention dropout (unset: the base config's)")
	fl.Float64Var(&cfg.MaxGradNorm, "max-grad-norm", cfg.MaxGradNorm, "gradient clipping norm (0: none)")
	fl.IntVar(&cfg.Patience, "patience", cfg.Patience, "early-stopping patience in epochs (0: none)")
	fl.IntVar(&cfg.MinSteps, "min-steps", cfg.MinSteps, "with automatic epochs, the fewest optimiser steps: a small corpus trains for more epochs, no early stop before (0: none)")
	fl.IntVar(&cfg.GradAccum, "grad-accum", cfg.GradAccum, "gradient accumulation steps")
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (data order, dropout, init)")
	fl.IntVar(&cfg.Threads, "threads", 0, "worker threads (0: OPENMED_THREADS or all cores)")
	fl.Var(textFlag{&cfg.Precision}, "precision", precisionUsage)
	fl.IntVar(&cfg.CheckpointEvery, "save-steps", 0, "also checkpoint every N optimiser steps")
	fl.IntVar(&cfg.LogEvery, "logging-steps", cfg.LogEvery, "log to metrics.jsonl every N steps")
	fl.BoolVar(&cfg.Resume, "resume", false, "continue the interrupted run in --out from its last checkpoint")
	fl.BoolVar(&cfg.Overwrite, "overwrite", false, "replace a finished or interrupted run in --out (refused otherwise)")
	fl.BoolVar(&cfg.LabelAllSubtokens, "label-all-subtokens", false, "label every sub-token (B-X continuations become I-X)")
	fl.BoolVar(&cfg.AllowUnknownTags, "allow-unknown-tags", false, "ignore dev/test tags absent from the training file instead of failing")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.StringVar(&f.config, configFlag, "", "JSON configuration: an earlier run's training_args.json or training.Config's JSON names; flags given override it")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runTrain(ctx context.Context, stdout, stderr io.Writer, cfg training.Config, quiet bool) error {
	bar := newProgressBar(stderr, quiet, "train")
	cfg.Progress = bar.update
	cfg.Warn = func(s string) { bar.println("warning: " + s) }
	res, err := training.Train(ctx, cfg)
	bar.finish()
	if err != nil {
		return runError("train", err)
	}
	fmt.Fprintf(stdout, "epochs %d, steps %d, best epoch %d, %.0f train tokens/s, trainable %d/%d (%.2f%%)\n",
		res.Loop.Epochs, res.Loop.Steps, res.Loop.BestEpoch+1, res.Loop.TokensPerSec, res.TrainableParams, res.TotalParams, res.TrainablePercent)
	if res.Dev != nil {
		fmt.Fprintf(stdout, "dev  P %.4f R %.4f F1 %.4f (strict F1 %.4f)\n", res.Dev.Default.Micro.Precision, res.Dev.Default.Micro.Recall, res.Dev.Default.Micro.F1, res.Dev.Strict.Micro.F1)
	}
	if res.Test != nil {
		fmt.Fprintf(stdout, "test P %.4f R %.4f F1 %.4f (strict F1 %.4f)\n", res.Test.Default.Micro.Precision, res.Test.Default.Micro.Recall, res.Test.Default.Micro.F1, res.Test.Strict.Micro.F1)
	}
	fmt.Fprintf(stdout, "wrote %s\n", res.Out)
	return nil
}

// progressBar shows a schollz/progressbar on a terminal (step, loss, it/s,
// ETA, last score) and stays silent otherwise: metrics.jsonl has the numbers.
type progressBar struct {
	bar  *progressbar.ProgressBar
	out  io.Writer
	name string
}

func newProgressBar(w io.Writer, quiet bool, name string) *progressBar {
	p := &progressBar{out: w, name: name}
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	p.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("step"), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200_000_000), progressbar.OptionSetDescription(name))
	return p
}

func (p *progressBar) update(pr loop.Progress) {
	if p.bar == nil {
		return
	}
	if p.bar.GetMax() != pr.TotalSteps {
		p.bar.ChangeMax(pr.TotalSteps)
	}
	desc := fmt.Sprintf("%s epoch %d/%d loss %.4f", p.name, pr.Epoch+1, pr.Epochs, pr.Loss)
	if pr.HasScore {
		desc += fmt.Sprintf(" score %.4f", pr.Score)
	}
	if pr.Phase == loop.PhaseEval {
		desc = fmt.Sprintf("%s epoch %d/%d score %.4f best %.4f", p.name, pr.Epoch, pr.Epochs, pr.Score, pr.Best)
	}
	if pr.Phase == loop.PhaseTrain || pr.Phase == loop.PhaseEval {
		p.bar.Describe(desc)
	}
	_ = p.bar.Set(pr.Step)
}

func (p *progressBar) println(s string) {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.out, s)
}

func (p *progressBar) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.out)
	}
}
