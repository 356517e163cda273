// Command recipe runs issue 18's grid: the paper's fine-tuning method (LoRA
// r 16 on query/value over the DAPT'd encoder, linear head, label smoothing,
// AdamW, warm-up + cosine, early stopping on dev F1, document-level 256/50
// windows) on the real encoders of the encoder cache, all 10 corpora, plus
// ablations on three corpora; each run then scored as a user meets it
// (`openmed eval-text`: raw text, default settings, sentence and
// 10-sentence-paragraph texts). Runs are `openmed train` invocations, two
// 1-thread jobs side by side by default, resumed from their checkpoints
// after any interruption; finished runs are skipped.
//
//	go run ./benchmarks/recipe run   [-work DIR] [-workers 2] [-only GLOB] [-budget 2h]
//	go run ./benchmarks/recipe plan  [-work DIR]
//	go run ./benchmarks/recipe table [-work DIR] [-out benchmarks/recipe/RESULTS.md]
//	go run ./benchmarks/recipe snapshot [-work DIR] [-archive benchmarks/recipe/runs]
//	go run ./benchmarks/recipe ship  [-work DIR] [-encoder bert-base-cased] [-species S800] [-models models] [-names disease,chemical,...]
//
// ship writes the default tagger (issue 18): per adapter name the best run by
// dev F1 on the encoder's DAPT'd base, the DAPT adapter, cards, default.json.
//
// The DAPT'd encoders come from benchmarks/recipe/dapt.sh (work/dapt-<encoder>).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/tensor"
)

// Options configure the runner.
type Options struct {
	Work, Data, Bin string
	Workers         int
	Threads         int
	Only            string
	MaxEpochs       int
	MaxMinutes      float64
	// Rate, when positive, is the 1-thread LoRA training rate (tokens/s)
	// the time cap assumes for new plans, measured on this host at the
	// grid's precision; 0 takes the encoder's TokensPerSec (and
	// bf16Speedup). Plans already written keep their epochs.
	Rate   float64
	Budget time.Duration
	Wait   bool
	Out    string
	// Archive is the repository folder keeping finished runs (archive.go);
	// "" turns archiving off.
	Archive string
	// SmallResults is benchmarks/reproduce/RESULTS.md, whose pre-trained
	// small DeBERTa rows are best-of-breed candidates (breed.go).
	SmallResults string
	// Precision is added to every train command (the lora-bf16 variant
	// always runs in bf16).
	Precision tensor.Precision
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: recipe run|plan|table|snapshot|ship [flags]")
		os.Exit(2)
	}
	var o Options
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	fs.StringVar(&o.Work, "work", filepath.Join(cache.Root(), "recipe"), "work folder (runs, DAPT outputs)")
	fs.StringVar(&o.Data, "data", "../shared/data", "corpora folder")
	fs.StringVar(&o.Bin, "bin", "bin/openmed", "openmed binary")
	fs.IntVar(&o.Workers, "workers", 2, "jobs side by side")
	fs.IntVar(&o.Threads, "threads", 1, "engine threads per job")
	fs.StringVar(&o.Only, "only", "", "run only jobs whose name (<encoder>/<corpus>/<variant>) matches one of these comma-separated globs, in the list's order")
	fs.IntVar(&o.MaxEpochs, "max-epochs", 10, "num_train_epochs before the per-job time cap")
	fs.Float64Var(&o.MaxMinutes, "max-minutes", 150, "cap a job's estimated training time (epochs = minutes·60·rate / tokens per epoch)")
	fs.Float64Var(&o.Rate, "rate", 0, "1-thread LoRA tokens/s on this host at the grid's precision, for the time cap of new plans (0: the encoder's default)")
	fs.DurationVar(&o.Budget, "budget", 0, "stop starting jobs after this long (0: none)")
	fs.BoolVar(&o.Wait, "wait", false, "keep polling (every minute) while jobs wait for their base encoder")
	fs.TextVar(&o.Precision, "precision", tensor.FP32, "arithmetic of the runs' large products: fp32 or bf16 (--precision of openmed train)")
	fs.StringVar(&o.SmallResults, "small-results", "benchmarks/reproduce/RESULTS.md", "the reproduction's results, whose pre-trained small DeBERTa rows join the best-of-breed table (\"\": none)")
	fs.StringVar(&o.Archive, "archive", "benchmarks/recipe/runs", "repository folder keeping each finished run's metrics, predictions and adapter, and the DAPT deltas (\"\": none)")
	fs.StringVar(&o.Out, "out", "benchmarks/recipe/RESULTS.md", "table output (table)")
	so := ShipOptions{}
	fs.StringVar(&so.Encoder, "encoder", "bert-base-cased", "ship: the shared base encoder")
	fs.StringVar(&so.Species, "species", "S800", "ship: corpus of the species adapter (S800 or Linnaeus)")
	fs.StringVar(&so.Models, "models", "models", "ship: folder the default tagger is written to")
	fs.Func("names", "ship: comma-separated adapter names to ship (default: all of "+strings.Join(sortedKeys(ShipTaggers), ", ")+")", func(v string) error {
		so.Names = strings.Split(v, ",")
		return nil
	})
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "run":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		err = Run(ctx, o)
	case "plan":
		err = Plan(o, os.Stdout)
	case "table":
		if err = archiveFinished(o); err == nil {
			err = WriteTable(o)
		}
	case "snapshot":
		err = snapshotInterrupted(o)
	case "ship":
		err = Ship(o, so)
	default:
		err = fmt.Errorf("unknown command %q (want run, plan, table, snapshot or ship)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "recipe:", err)
		os.Exit(1)
	}
}
