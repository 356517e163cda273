package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

// Files a job writes into its run folder besides `openmed train`'s own.
const (
	planFile    = "plan.json"     // epochs, cap reason, command
	rawTextFile = "raw_text.json" // `openmed eval-text --format json`
	logFile     = "train.log"
	lockFile    = ".lock"
)

// JobPlan is what a job will run (plan.json).
type JobPlan struct {
	Job         string   `json:"job"`
	Base        string   `json:"base"`
	TrainTokens int      `json:"train_tokens"`
	Epochs      int      `json:"epochs"`
	CapReason   string   `json:"cap_reason,omitempty"`
	Train       []string `json:"train_command"`
	Eval        []string `json:"eval_command"`
	// Switched records each change of the train command's precision on
	// resume (see continueOnHost): a bf16 run resumed on a host without
	// bf16 kernels continues in fp32 from the same fp32 master weights.
	Switched []string `json:"precision_switches,omitempty"`
}

// Precision is the --precision of the train command (fp32 when absent).
func (p JobPlan) Precision() tensor.Precision {
	for i, a := range p.Train {
		if a == "--precision" && i+1 < len(p.Train) {
			if v, err := tensor.ParsePrecision(p.Train[i+1]); err == nil {
				return v
			}
		}
	}
	return tensor.FP32
}

// status says where a job stands.
func status(o Options, j Job) string {
	d := j.Dir(o.Work)
	switch {
	case exists(filepath.Join(resultDir(o, j), rawTextFile)):
		return "done"
	case !ready(o, j):
		return "waiting for " + j.Base(o.Work)
	case exists(filepath.Join(d, training.MetricsFile)):
		return "trained, not scored"
	case exists(filepath.Join(d, "checkpoints")), exists(filepath.Join(archiveDir(o, j), interruptedDir, "checkpoints")):
		return "interrupted (resumes)"
	}
	return "to do"
}

// ready reports whether the job's base encoder exists (a DAPT'd one in the
// work folder or the archive, rebuilt from the archive when the job runs).
func ready(o Options, j Job) bool {
	if j.Variant.DAPT {
		return daptMetricsPath(o, j.Encoder.Name) != ""
	}
	_, err := encoder.Resolve(j.Encoder.Name)
	return err == nil
}

// selected lists the jobs matching -only: a comma-separated list of globs
// over <encoder>/<corpus>/<variant>, taken in the list's order (a queue:
// the first glob's jobs first), each job once; empty selects the grid in
// grid order.
func selected(o Options) []Job {
	if o.Only == "" {
		return AllJobs()
	}
	var out []Job
	seen := map[string]bool{}
	for _, glob := range strings.Split(o.Only, ",") {
		glob = strings.TrimSpace(glob)
		for _, j := range AllJobs() {
			if ok, _ := path.Match(glob, j.Name()); ok && !seen[j.Name()] {
				seen[j.Name()] = true
				out = append(out, j)
			}
		}
	}
	return out
}

// Plan prints every job's state.
func Plan(o Options, w io.Writer) error {
	for _, j := range selected(o) {
		fmt.Fprintf(w, "%-50s %s\n", j.Name(), status(o, j))
	}
	return nil
}

// Run runs the jobs that are ready and not done, o.Workers at a time. A
// free worker takes the first such job in grid order, so a job whose base
// appears meanwhile (a DAPT run finishing) goes before later ones. With
// o.Wait, workers poll every minute while jobs wait for their base.
func Run(ctx context.Context, o Options) error {
	start := time.Now()
	if err := archiveFinished(o); err != nil {
		return err
	}
	var mu sync.Mutex
	taken := map[string]bool{}
	var errs []error
	next := func() (Job, bool, bool) { // job, found, others waiting
		mu.Lock()
		defer mu.Unlock()
		waiting := false
		for _, j := range selected(o) {
			if taken[j.Name()] {
				continue
			}
			st := status(o, j)
			switch {
			case st == "done":
				continue
			case strings.HasPrefix(st, "waiting"):
				waiting = true
				continue
			}
			taken[j.Name()] = true
			return j, true, waiting
		}
		return Job{}, false, waiting
	}
	var wg sync.WaitGroup
	for w := 0; w < max(o.Workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if o.Budget > 0 && time.Since(start) > o.Budget {
					fmt.Fprintf(os.Stderr, "recipe: budget %s spent; not starting more jobs\n", o.Budget)
					return
				}
				j, ok, waiting := next()
				if !ok {
					if !waiting || !o.Wait {
						return
					}
					select {
					case <-ctx.Done():
					case <-time.After(time.Minute):
					}
					continue
				}
				if err := runJob(ctx, o, j); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", j.Name(), err))
					mu.Unlock()
					fmt.Fprintf(os.Stderr, "recipe: %s failed: %v\n", j.Name(), err)
				}
			}
		}()
	}
	wg.Wait()
	// Jobs stopped by Ctrl-C or the budget checkpointed on their way out:
	// keep those checkpoints in the archive.
	errs = append(errs, snapshotInterrupted(o))
	return errors.Join(errs...)
}

// runJob trains (resuming an interrupted run) and scores one job. A lock
// file keeps two runners off the same job.
func runJob(ctx context.Context, o Options, j Job) error {
	dir := j.Dir(o.Work)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if j.Variant.DAPT {
		if err := restoreDAPT(o, j.Encoder.Name); err != nil {
			return err
		}
	}
	if _, err := restoreInterrupted(o, j); err != nil {
		return err
	}
	p, err := planJob(o, j)
	if err != nil {
		return err
	}
	// An interrupted run resumes with the command it started with (its
	// epochs and precision), whatever the grid's flags are now.
	if exists(filepath.Join(dir, "checkpoints")) {
		var old JobPlan
		if data, err := os.ReadFile(filepath.Join(dir, planFile)); err == nil && json.Unmarshal(data, &old) == nil && len(old.Train) > 0 {
			p = &old
		}
		if err := continueOnHost(p, j, dir, tensor.BF16Available()); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, planFile), p); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(os.Stderr, "recipe: %s: %d epochs%s\n", j.Name(), p.Epochs, map[bool]string{true: " (" + p.CapReason + ")", false: ""}[p.CapReason != ""])
	if !exists(filepath.Join(dir, training.MetricsFile)) {
		args := p.Train
		if exists(filepath.Join(dir, "checkpoints")) {
			args = append(append([]string(nil), args...), "--resume")
		}
		if err := run(ctx, o, log, args); err != nil {
			return fmt.Errorf("train (log %s): %w", filepath.Join(dir, logFile), err)
		}
	}
	var out strings.Builder
	if err := runTo(ctx, o, &out, log, p.Eval); err != nil {
		return fmt.Errorf("eval-text (log %s): %w", filepath.Join(dir, logFile), err)
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(dir, rawTextFile), []byte(out.String())); err != nil {
		return err
	}
	return archiveJob(o, j)
}

// continueOnHost adapts an interrupted plan to this host: when the run
// started in bf16 and bf16Err says this CPU has no bf16 kernels, the grid's
// job continues in fp32 (the checkpoint's master weights and optimizer
// state are fp32 either way) and the plan records the switch, which the
// table shows. A variant whose point is bf16 (lora-bf16) cannot continue
// here and says so.
func continueOnHost(p *JobPlan, j Job, dir string, bf16Err error) error {
	if bf16Err == nil || p.Precision() != tensor.BF16 {
		return nil
	}
	if j.Variant.Precision != nil {
		return fmt.Errorf("%s: %w", j.Name(), bf16Err)
	}
	for i := range p.Train {
		if p.Train[i] == "--precision" && i+1 < len(p.Train) {
			p.Train[i+1] = tensor.FP32.String()
		}
	}
	step := "its last checkpoint"
	if n, err := loop.LatestStep(dir); err == nil {
		step = fmt.Sprintf("step %d", n)
	}
	p.Switched = append(p.Switched, fmt.Sprintf("bf16 → fp32 from %s on %s (%v)", step, time.Now().UTC().Format("2006-01-02"), bf16Err))
	return nil
}

// planJob fixes the job's epochs (capped by time) and its two commands.
func planJob(o Options, j Job) (*JobPlan, error) {
	base := j.Base(o.Work)
	trainF := filepath.Join(o.Data, j.Corpus, "train.tsv")
	tokens, err := trainTokens(base, trainF, j.Variant.packing())
	if err != nil {
		return nil, err
	}
	epochs, reason := epochCap(o.MaxEpochs, o.MaxMinutes, planRate(o, j), tokens)
	dir := j.Dir(o.Work)
	train := []string{"train", "--base", base, "--train", trainF,
		"--dev", filepath.Join(o.Data, j.Corpus, "devel.tsv"), "--test", filepath.Join(o.Data, j.Corpus, "test.tsv"),
		"--out", dir, "--threads", strconv.Itoa(o.Threads), "--save-steps", "25", "--quiet"}
	if reason != "" || o.MaxEpochs != training.DefaultEpochs {
		train = append(train, "--epochs", strconv.Itoa(epochs))
	} // else the trainer's automatic epochs: 10, more for a small corpus (min_train_steps)
	train = append(train, j.Variant.trainArgs(o.Precision)...)
	eval := []string{"eval-text", "--model", dir, "--gold", filepath.Join(o.Data, j.Corpus, "test.tsv"),
		"--paragraph", "1,10", "--threads", strconv.Itoa(o.Threads), "--format", "json"}
	return &JobPlan{Job: j.Name(), Base: base, TrainTokens: tokens, Epochs: epochs, CapReason: reason, Train: train, Eval: eval}, nil
}

// planRate is the training rate (tokens/s) the time cap assumes for job j:
// o.Rate where set, else the encoder's TokensPerSec (times bf16Speedup in
// bf16), times the threads, halved for full fine-tuning.
func planRate(o Options, j Job) float64 {
	rate := o.Rate
	if rate <= 0 {
		rate = j.Encoder.TokensPerSec
		if j.Variant.precision(o.Precision) == tensor.BF16 {
			rate *= bf16Speedup
		}
	}
	rate *= float64(o.Threads)
	if j.Variant.Method == training.MethodFull {
		rate /= 2
	}
	return rate
}

// bf16Speedup scales the fp32 training rate for --precision bf16: BERT-base
// LoRA on NCBI-Disease ran 505–650 tokens/s in bf16 against 220–300 in fp32
// on one thread each, side by side (2026-12-06).
const bf16Speedup = 2.0

// trainTokens counts one epoch's tokens as the trainer builds them with
// the given packing.
func trainTokens(base, trainF string, packing training.Packing) (int, error) {
	dir, err := encoder.Resolve(base)
	if err != nil {
		return 0, err
	}
	tok, err := tokenize.Load(dir)
	if err != nil {
		return 0, err
	}
	c, err := corpus.ReadFile(trainF)
	if err != nil {
		return 0, err
	}
	labels, err := training.LabelsFromCorpus(c)
	if err != nil {
		return 0, err
	}
	do := training.DefaultDataOptions()
	do.Packing = packing
	d, err := training.BuildDataset(c, tok, labels, do)
	if err != nil {
		return 0, err
	}
	return d.Tokens(), nil
}

func run(ctx context.Context, o Options, log io.Writer, args []string) error {
	return runTo(ctx, o, log, log, args)
}

// runTo runs the openmed binary; Ctrl-C reaches it as SIGINT, so a training
// run checkpoints before it exits.
func runTo(ctx context.Context, o Options, stdout, stderr io.Writer, args []string) error {
	fmt.Fprintf(stderr, "\n# %s %s %s\n", time.Now().UTC().Format(time.RFC3339), o.Bin, strings.Join(args, " "))
	cmd := exec.Command(o.Bin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), "OPENMED_THREADS="+strconv.Itoa(o.Threads))
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(os.Interrupt)
		<-done
		return ctx.Err()
	}
}

// lock takes dir's lock file (O_EXCL); a lock left by a dead process is
// taken over.
func lock(dir string) (func(), error) {
	p := filepath.Join(dir, lockFile)
	for i := 0; i < 2; i++ {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(p) }, nil
		}
		b, _ := os.ReadFile(p)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			return nil, fmt.Errorf("%s is being run by process %d", dir, pid)
		}
		os.Remove(p)
	}
	return nil, fmt.Errorf("cannot lock %s", dir)
}

func writeJSON(p string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(p, append(b, '\n'))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
