// Command reproduce is the `make reproduce` pipeline (issue #5, item 6):
// pre-train a small biomedical BERT from scratch on the train splits of the
// ten corpora, save the same architecture's random initialisation, fine-tune
// every corpus with LoRA and with full fine-tuning from both, and write the
// results table. Every job's state lives in a durable work dir, so an
// invocation skips finished jobs, resumes interrupted or killed ones from
// their checkpoints and stops cleanly when its --budget runs out. Two
// invocations may share one work dir: each job runs under a flock on
// <job>/.lock, and a job another invocation holds (or depends on one) is
// skipped, or waited for with --wait.
//
//	go run ./benchmarks/reproduce --budget 6h            # run / continue
//	go run ./benchmarks/reproduce --table-only           # table from partial results
//	go run ./benchmarks/reproduce --only NCBI-Disease --jobs '*/lora-*'
//	go run ./benchmarks/reproduce --deberta --jobs 'pretrain-deberta'  # issue #8
//
// --deberta adds a DeBERTa-v3-shaped encoder pre-trained with the same
// recipe (pretrain-deberta, randinit-deberta) and its fine-tuning runs on
// NCBI-Disease and BC2GM (<corpus>/<method>-<init>-deberta), after the BERT
// grid; the table compares them with the BERT rows.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "reproduce:", err)
		os.Exit(1)
	}
}

// repoRoot walks up from the working dir to the folder holding go.mod.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("go.mod not found above the working dir")
		}
		d = p
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func run(args []string) error {
	o := DefaultOptions()
	root, rerr := repoRoot()
	shared := ""
	if rerr == nil {
		shared = filepath.Join(root, "..", "shared")
		o.Data = filepath.Join(shared, "data")
		o.Tokenizer = filepath.Join(shared, "tokenizers", "pubmedbert-abstract")
		o.Out = filepath.Join(root, "benchmarks", "reproduce", "RESULTS.md")
	}
	paperPath := ""
	if rerr == nil {
		paperPath = filepath.Join(root, "benchmarks", "reproduce", "paper.json")
	}
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.StringVar(&o.Data, "data", o.Data, "corpora folder (<corpus>/{train,devel,test}.tsv)")
	fs.StringVar(&o.Tokenizer, "tokenizer", o.Tokenizer, "PubMedBERT tokenizer folder (vocab 28,895)")
	fs.StringVar(&o.Work, "work", o.Work, "durable work dir (default $OPENMED_REPRO_DIR or ~/.cache/openmed/reproduce)")
	fs.StringVar(&o.Out, "out", o.Out, "results table to write")
	fs.StringVar(&paperPath, "paper", paperPath, "paper.json (the paper's F1 per corpus)")
	only := fs.String("only", "", "comma-separated corpora (default: all 10)")
	jobs := fs.String("jobs", "", "comma-separated job-name globs to run ('*' also matches '/'), e.g. 'NCBI-Disease/*,*/lora-pretrained,*deberta*' (the table always covers the whole grid)")
	methods := fs.String("methods", "lora,full", "fine-tuning methods")
	inits := fs.String("inits", "pretrained,random", "initialisations")
	fs.DurationVar(&o.Budget, "budget", 0, "stop cleanly after this long, e.g. 90m (0: no limit)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of pre-training, random init and fine-tuning")
	fs.IntVar(&o.Threads, "threads", 0, "engine threads (0: OPENMED_THREADS or all cores)")
	wait := fs.Bool("wait", false, "wait for jobs another invocation on the same work dir is running (and their dependents) instead of skipping them")
	tableOnly := fs.Bool("table-only", false, "only write the table from the work dir")
	plan := fs.Bool("plan", false, "dry run: print tokens per epoch, capped epochs and estimated minutes per job, train nothing")
	ship := fs.Bool("ship", false, "copy the encoder (F16) and the NCBI-Disease, BC5CDR-Disease and BC5CDR-Chem LoRA adapters into --models")
	shipWhenReady := fs.Bool("ship-when-ready", false, "during the run, (re)write --models as soon as the encoder and a LoRA run per shipped corpus are done, and again when a better one finishes")
	models := ""
	if rerr == nil {
		models = filepath.Join(root, "models")
	}
	fs.StringVar(&models, "models", models, "models folder for --ship")
	p := &o.Pretrain
	fs.IntVar(&p.Scratch.Layers, "layers", p.Scratch.Layers, "encoder layers")
	fs.IntVar(&p.Scratch.Hidden, "hidden", p.Scratch.Hidden, "hidden size")
	fs.IntVar(&p.Scratch.Heads, "heads", p.Scratch.Heads, "attention heads")
	fs.IntVar(&p.Scratch.FFN, "ffn", p.Scratch.FFN, "intermediate size")
	fs.IntVar(&p.Scratch.MaxPositions, "max-positions", p.Scratch.MaxPositions, "max_position_embeddings")
	fs.IntVar(&p.BlockLen, "pt-max-len", p.BlockLen, "pre-training block length")
	fs.IntVar(&p.BatchSize, "pt-batch-size", p.BatchSize, "pre-training batch (blocks)")
	fs.Float64Var(&p.LR, "pt-lr", p.LR, "pre-training peak learning rate")
	fs.Float64Var(&p.WarmupRatio, "pt-warmup-ratio", p.WarmupRatio, "pre-training warm-up share")
	fs.Float64Var(&p.MLMProb, "mlm-probability", p.MLMProb, "masking rate")
	fs.Float64Var(&p.HeldOut, "held-out", p.HeldOut, "held-out share of blocks (MLM curve)")
	fs.IntVar(&p.MaxEpochs, "pt-max-epochs", p.MaxEpochs, "pre-training epoch ceiling")
	fs.Float64Var(&p.Minutes, "pt-minutes", p.Minutes, "pre-training time budget used to choose the epochs")
	fs.Float64Var(&p.TokensPerSec, "pt-tokens-per-s", p.TokensPerSec, "pre-training throughput estimate for --pt-minutes")
	fs.IntVar(&p.EvalEvery, "pt-eval-steps", p.EvalEvery, "held-out evaluation every N steps")
	fs.IntVar(&p.SaveEvery, "pt-save-steps", p.SaveEvery, "pre-training checkpoint every N steps")
	fs.BoolVar(&o.DeBERTa.Enabled, "deberta", false, "also pre-train a DeBERTa-v3-shaped encoder with the same recipe and fine-tune it on "+strings.Join(DeBERTaCorpora, " and "))
	fs.Float64Var(&o.DeBERTa.TokensPerSec, "deberta-tokens-per-s", o.DeBERTa.TokensPerSec, "DeBERTa pre-training throughput estimate for --pt-minutes")
	fs.Float64Var(&o.DeBERTa.TokensPerSecLoRA, "deberta-lora-tokens-per-s", o.DeBERTa.TokensPerSecLoRA, "DeBERTa LoRA throughput estimate for the cap")
	fs.Float64Var(&o.DeBERTa.TokensPerSecFull, "deberta-full-tokens-per-s", o.DeBERTa.TokensPerSecFull, "DeBERTa full fine-tuning throughput estimate for the cap")
	f := &o.FT
	fs.BoolVar(&f.Ship.Enabled, "ship-jobs", f.Ship.Enabled, "run the shipped taggers' own LoRA jobs (<corpus>/lora-ship, all linear layers, r 32) first; Ship takes the better of those and lora-pretrained by dev F1")
	fs.IntVar(&f.MaxEpochs, "epochs", f.MaxEpochs, "fine-tuning epochs before the cap")
	fs.Float64Var(&f.LRLoRA, "lr-lora", f.LRLoRA, "LoRA learning rate")
	fs.Float64Var(&f.LRFull, "lr-full", f.LRFull, "full fine-tuning learning rate")
	fs.IntVar(&f.BatchSize, "batch-size", f.BatchSize, "fine-tuning batch")
	fs.IntVar(&f.MaxLen, "ft-max-len", f.MaxLen, "fine-tuning window length")
	fs.IntVar(&f.Stride, "stride", f.Stride, "fine-tuning window overlap")
	fs.IntVar(&f.Patience, "patience", f.Patience, "early-stopping patience")
	fs.Float64Var(&f.MaxMinutesPerJob, "max-minutes-per-job", f.MaxMinutesPerJob, "per-job time cap (sets the epochs; 0: none)")
	fs.Float64Var(&f.TokensPerSecLoRA, "lora-tokens-per-s", f.TokensPerSecLoRA, "LoRA throughput estimate for the cap")
	fs.Float64Var(&f.TokensPerSecFull, "full-tokens-per-s", f.TokensPerSecFull, "full fine-tuning throughput estimate for the cap")
	fs.IntVar(&f.SaveEvery, "save-steps", f.SaveEvery, "fine-tuning checkpoint every N steps")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Corpora, o.Jobs, o.Methods = splitList(*only), splitList(*jobs), splitList(*methods)
	o.Inits = nil
	for _, s := range splitList(*inits) {
		switch s {
		case "pretrained":
			o.Inits = append(o.Inits, InitPretrained)
		case "random":
			o.Inits = append(o.Inits, InitRandom)
		default:
			return fmt.Errorf("--inits: unknown init %q (pretrained, random)", s)
		}
	}
	o.Command = "go run ./benchmarks/reproduce " + strings.Join(args, " ")
	if o.Data == "" || shared == "" {
		if _, err := os.Stat(o.Data); err != nil {
			return fmt.Errorf("--data %q: %v (../shared not found beside the repo?)", o.Data, err)
		}
	}
	if *plan {
		ts, rows, err := Plan(o)
		if err != nil {
			return err
		}
		fmt.Print(FormatPlan(ts, rows))
		return nil
	}
	var paper map[string]PaperScore
	if paperPath != "" {
		var err error
		if paper, err = LoadPaper(paperPath); err != nil {
			return err
		}
	}
	var failed error
	if !*tableOnly {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		t0 := time.Now()
		var ropts []RunOption
		if *wait {
			ropts = append(ropts, WithWait(DefaultWaitPoll))
		}
		logf := func(m string) {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().UTC().Format("15:04:05"), m)
		}
		h := Hooks{Log: logf}
		if *shipWhenReady {
			h.JobDone = func(job string) {
				if !ShipInput(job) {
					return
				}
				if err := ShipReady(o); err != nil {
					logf("ship: not yet: " + err.Error())
					return
				}
				if err := Ship(o, models); err != nil {
					logf("ship: " + err.Error())
					return
				}
				logf(fmt.Sprintf("shipped %s/%s and %d adapters (after %s)", models, EncoderName, len(ShippedTaggers), job))
			}
		}
		rep, err := Run(ctx, o, h, ropts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "ran %d, skipped %d, resumed %d in %s\n", len(rep.Ran), len(rep.Skipped), len(rep.Resumed), time.Since(t0).Round(time.Second))
		var left []string
		for _, l := range [][]string{rep.Interrupted, rep.Failed, rep.Blocked, rep.Left} {
			left = append(left, l...)
		}
		if len(left) > 0 {
			fmt.Fprintf(os.Stderr, "left (%d): %s\nrun again to continue.\n", len(left), strings.Join(left, " "))
		}
		if len(rep.Busy) > 0 {
			fmt.Fprintf(os.Stderr, "running in another process (%d): %s\n", len(rep.Busy), strings.Join(rep.Busy, " "))
		}
		if len(rep.Waiting) > 0 {
			fmt.Fprintf(os.Stderr, "waiting for those (%d): %s\n", len(rep.Waiting), strings.Join(rep.Waiting, " "))
		}
		if n := len(rep.Elsewhere()); n > 0 {
			fmt.Fprintf(os.Stderr, "not finished: %d job(s) skipped for another invocation on %s; run again after it ends, or with --wait.\n", n, o.Work)
		}
		if len(rep.Failed) > 0 {
			failed = fmt.Errorf("failed: %s (see job.json in their folders under %s)", strings.Join(rep.Failed, " "), o.Work)
		}
	}
	md, err := Table(o.wholeGrid(), paper)
	if err != nil {
		return err
	}
	if o.Out == "" {
		fmt.Print(md)
		return failed
	}
	if err := WriteTable(o.Out, md); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", o.Out)
	if *ship {
		if err := Ship(o, models); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "shipped %s/%s and %d adapters\n", models, EncoderName, len(ShippedTaggers))
	}
	return failed
}
