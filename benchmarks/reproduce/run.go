package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
	"github.com/openmed/openmed/training/loop"
)

// Hooks observe a pipeline invocation (all optional).
type Hooks struct {
	// Progress receives each job's training progress.
	Progress func(job string, p loop.Progress)
	// Log receives one line per job event.
	Log func(msg string)
	// JobDone is called after a job finished and its state was saved (e.g.
	// to ship models/ as soon as its inputs are done: --ship-when-ready).
	JobDone func(job string)
}

// Report is what one invocation did, by job name.
type Report struct {
	// Ran finished now; Skipped were already done (or were finished by
	// another process while this one waited); Resumed continued from a
	// checkpoint (and are also in Ran or Interrupted).
	Ran, Skipped, Resumed []string
	// Interrupted stopped cleanly (budget or signal) with a checkpoint;
	// Failed returned an error; Blocked wait for a failed or unfinished
	// dependency; Left were not started because the budget ran out.
	Interrupted, Failed, Blocked, Left []string
	// Busy are being run by another process (their lock is held) and
	// Waiting depend on such a job: both were skipped, not failed.
	Busy, Waiting []string
}

// Remaining is every selected job not done after this invocation.
func (r *Report) Remaining() []string {
	var out []string
	for _, l := range [][]string{r.Interrupted, r.Failed, r.Blocked, r.Left, r.Busy, r.Waiting} {
		out = append(out, l...)
	}
	return out
}

// Elsewhere is every selected job skipped because another process runs it
// or one of its dependencies (Busy, then Waiting).
func (r *Report) Elsewhere() []string {
	return append(append([]string(nil), r.Busy...), r.Waiting...)
}

// RunOption changes how Run treats jobs that another invocation on the same
// work dir is running.
type RunOption func(*runConfig)

type runConfig struct {
	wait time.Duration // poll interval; 0: do not wait
}

// DefaultWaitPoll is how often a waiting invocation re-checks the jobs
// another process holds.
const DefaultWaitPoll = 10 * time.Second

// WithWait makes Run wait, instead of skipping them, for the jobs another
// process is running and for those that depend on them: it re-checks them
// every poll (DefaultWaitPoll if poll ≤ 0) and runs each one as soon as its
// lock and its dependencies allow, until every selected job is done here or
// elsewhere, or ctx (budget, signal) ends.
func WithWait(poll time.Duration) RunOption {
	return func(c *runConfig) {
		if poll <= 0 {
			poll = DefaultWaitPoll
		}
		c.wait = poll
	}
}

// visitResult is what one look at a job left to do next.
type visitResult int

const (
	// visitFinal: the job's outcome is recorded in the report.
	visitFinal visitResult = iota
	// visitBusy: another process holds the job's lock.
	visitBusy
	// visitWaiting: a dependency is busy or waiting elsewhere.
	visitWaiting
)

// runner is one Run invocation's state.
type runner struct {
	o    Options
	h    Hooks
	rep  *Report
	logf func(format string, a ...any)
	// elsewhere holds the jobs found busy or waiting in the current pass.
	elsewhere map[string]bool
	// said is the last busy/waiting line logged per job (logged once while
	// it holds, not on every poll).
	said map[string]string
}

// Run executes the selected jobs in graph order, skipping finished ones,
// resuming interrupted or killed ones from their checkpoints, and stopping
// cleanly (checkpoint, state "interrupted") when ctx is cancelled or the
// budget runs out. It returns what it did; job errors are recorded in the
// jobs' job.json and the report, not returned.
//
// Each job runs under an exclusive flock on <job>/.lock, so two invocations
// on one work dir never run the same job: a job whose lock another process
// holds is skipped (Report.Busy), and so are the jobs depending on it
// (Report.Waiting), unless WithWait is given.
func Run(ctx context.Context, o Options, h Hooks, opts ...RunOption) (*Report, error) {
	var rc runConfig
	for _, opt := range opts {
		opt(&rc)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	jobs, err := Graph(o)
	if err != nil {
		return nil, err
	}
	if o.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Budget)
		defer cancel()
	}
	if o.Threads > 0 {
		tensor.SetThreads(o.Threads)
	}
	logf := func(format string, a ...any) {
		if h.Log != nil {
			h.Log(fmt.Sprintf(format, a...))
		}
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, err
	}
	if o.Command != "" {
		if err := appendInvocation(o.Work, o.Command); err != nil {
			return nil, err
		}
	}
	r := &runner{o: o, h: h, rep: &Report{}, logf: logf, said: map[string]string{}}
	pending := jobs
	for pass := 0; ; pass++ {
		r.elsewhere = map[string]bool{}
		var busy, waiting, next []Job
		for _, j := range pending {
			res, err := r.visit(ctx, j, pass)
			if err != nil {
				return nil, err
			}
			switch res {
			case visitBusy:
				busy = append(busy, j)
			case visitWaiting:
				waiting = append(waiting, j)
			}
			if res != visitFinal {
				r.elsewhere[j.Name] = true
				next = append(next, j)
			}
		}
		if len(next) == 0 || rc.wait == 0 || ctx.Err() != nil {
			for _, j := range busy {
				r.rep.Busy = append(r.rep.Busy, j.Name)
			}
			for _, j := range waiting {
				r.rep.Waiting = append(r.rep.Waiting, j.Name)
			}
			return r.rep, nil
		}
		r.note("", fmt.Sprintf("waiting for %d job(s) held by another process (re-checking every %s)", len(next), rc.wait))
		select {
		case <-ctx.Done(): // the next pass records what is left
		case <-time.After(rc.wait):
		}
		pending = next
	}
}

// note logs msg about job unless it was the last line logged about it.
func (r *runner) note(job, msg string) {
	if r.said[job] != msg {
		r.said[job] = msg
		r.logf("%s", msg)
	}
}

// visit looks at one job: records it as done, left or blocked, skips it
// when another process holds it or a dependency, or runs it under its lock.
func (r *runner) visit(ctx context.Context, j Job, pass int) (res visitResult, err error) {
	o, rep := r.o, r.rep
	dir := j.Dir(o.Work)
	st, err := loadState(dir, j.Name)
	if err != nil {
		return visitFinal, err
	}
	if st.Status == StatusDone {
		rep.Skipped = append(rep.Skipped, j.Name)
		if pass == 0 {
			r.logf("%s: done, skipped", j.Name)
		} else {
			r.logf("%s: done in another process", j.Name)
		}
		return visitFinal, nil
	}
	if ctx.Err() != nil {
		rep.Left = append(rep.Left, j.Name)
		return visitFinal, nil
	}
	if blocked := depsNotDone(o.Work, j); blocked != "" {
		if r.elsewhere[blocked] {
			r.note(j.Name, fmt.Sprintf("%s: waiting for %s (running in another process), skipped", j.Name, blocked))
			return visitWaiting, nil
		}
		rep.Blocked = append(rep.Blocked, j.Name)
		r.logf("%s: blocked (%s not done)", j.Name, blocked)
		return visitFinal, nil
	}
	lk, ok, err := tryLockJob(dir)
	if err != nil {
		return visitFinal, err
	}
	if !ok {
		r.note(j.Name, fmt.Sprintf("%s: running in another process, skipped", j.Name))
		return visitBusy, nil
	}
	defer func() {
		if uerr := lk.unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	// Read the state again under the lock: another process may have
	// finished the job between the first read and the lock.
	if st, err = loadState(dir, j.Name); err != nil {
		return visitFinal, err
	}
	if st.Status == StatusDone {
		rep.Skipped = append(rep.Skipped, j.Name)
		r.logf("%s: done in another process", j.Name)
		return visitFinal, nil
	}
	resume := hasCheckpoint(dir)
	st.Attempts++
	if resume {
		st.Resumes++
		rep.Resumed = append(rep.Resumed, j.Name)
	}
	st.Status, st.Started, st.Error = StatusRunning, time.Now().UTC(), ""
	if err := st.save(dir); err != nil {
		return visitFinal, err
	}
	r.logf("%s: %s (attempt %d)", j.Name, map[bool]string{true: "resuming", false: "starting"}[resume], st.Attempts)
	err = runJob(ctx, o, r.h, j, dir, st, resume)
	switch {
	case err == nil:
		st.Status, st.Finished = StatusDone, time.Now().UTC()
		rep.Ran = append(rep.Ran, j.Name)
	case errors.Is(err, loop.ErrInterrupted):
		st.Status, st.Error = StatusInterrupted, err.Error()
		rep.Interrupted = append(rep.Interrupted, j.Name)
	default:
		st.Status, st.Error = StatusFailed, err.Error()
		rep.Failed = append(rep.Failed, j.Name)
	}
	r.logf("%s: %s %s", j.Name, st.Status, st.Error)
	// Saved before the deferred unlock: whoever takes the lock next reads
	// the final state.
	if err := st.save(dir); err != nil {
		return visitFinal, err
	}
	if st.Status == StatusDone && r.h.JobDone != nil {
		r.h.JobDone(j.Name)
	}
	return visitFinal, nil
}

// depsNotDone names the first dependency of j that is not done ("" if all are).
func depsNotDone(work string, j Job) string {
	for _, d := range j.Deps {
		st, err := loadState(filepath.Join(work, d), d)
		if err != nil || st.Status != StatusDone {
			return d
		}
	}
	return ""
}

// hasCheckpoint reports whether dir holds a resumable training checkpoint.
func hasCheckpoint(dir string) bool {
	p, err := loop.LatestCheckpoint(dir)
	return err == nil && p != ""
}

// runJob runs one job; st gets the epochs, cap and command (saved by Run).
func runJob(ctx context.Context, o Options, h Hooks, j Job, dir string, st *JobState, resume bool) error {
	progress := func(p loop.Progress) {
		if h.Progress != nil {
			h.Progress(j.Name, p)
		}
	}
	switch j.Kind {
	case KindRandomInit:
		st.Command = randomInitCommand(o, j, dir)
		if j.Arch == dapt.ArchDeBERTaV3 {
			return SaveRandomInitDeBERTa(dir, o.Tokenizer, o.recipe(j.Arch).Scratch, o.Seed)
		}
		return dapt.SaveRandomInit(dir, o.Tokenizer, o.Pretrain.Scratch, o.Seed)
	case KindPretrain:
		return runPretrain(ctx, o, o.recipe(j.Arch), dir, st, resume, progress)
	}
	return runFineTune(ctx, o, j, dir, st, resume, progress)
}

// randomInitCommand describes a random-init job: the Go call that writes
// the untrained encoder, with the from-scratch flags it shares with dapt.
func randomInitCommand(o Options, j Job, dir string) string {
	if j.Arch == dapt.ArchDeBERTaV3 {
		return fmt.Sprintf("(Go) SaveRandomInitDeBERTa(%q, %q, seed %d) # %v", dir, o.Tokenizer, o.Seed, o.recipe(j.Arch).Scratch)
	}
	return fmt.Sprintf("(Go) dapt.SaveRandomInit(%q, %q, seed %d) # %v", dir, o.Tokenizer, o.Seed, o.Pretrain.Scratch)
}

// epochCap turns a time budget into an epoch count: ⌊minutes·60·rate /
// tokens⌋ clamped to [1, maxEpochs], with the reason when it caps.
func epochCap(maxEpochs int, minutes, rate float64, tokens int) (int, string) {
	if minutes <= 0 || rate <= 0 || tokens <= 0 {
		return maxEpochs, ""
	}
	n := int(math.Floor(minutes * 60 * rate / float64(tokens)))
	if n >= maxEpochs {
		return maxEpochs, ""
	}
	return max(1, n), fmt.Sprintf("%d of %d epochs: %.0f-minute cap at an estimated %.0f tokens/s, %d tokens/epoch",
		max(1, n), maxEpochs, minutes, rate, tokens)
}

// jobConfigFile is the job's configuration, written before it runs: what
// `openmed train|dapt --config` reads (the same JSON as the run's
// training_args.json).
const jobConfigFile = "job_config.json"

// configCommand writes cfg (its resume/overwrite flags cleared by the
// caller: the file repeats the job) to dir/job_config.json and returns the
// command that runs it: `bin/openmed <command> --config <file>`.
func configCommand(command, dir string, cfg any) (string, error) {
	p := filepath.Join(dir, jobConfigFile)
	if err := training.WriteJSON(p, cfg); err != nil {
		return "", err
	}
	return "bin/openmed " + command + " --config " + p, nil
}

// runPretrain runs recipe r (o.Pretrain, or its DeBERTa variant).
func runPretrain(ctx context.Context, o Options, r Recipe, dir string, st *JobState, resume bool, progress func(loop.Progress)) error {
	text := filepath.Join(o.Work, textFile)
	if !resume || st.Epochs == 0 {
		ts, err := BuildText(o.Data, text)
		if err != nil {
			return err
		}
		if err := training.WriteJSON(filepath.Join(o.Work, "pretrain_text.json"), ts); err != nil {
			return err
		}
		tok, err := tokenize.Load(o.Tokenizer)
		if err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
		lines, err := dapt.ReadLines([]string{text})
		if err != nil {
			return err
		}
		blocks, err := dapt.Pack(tok, lines, r.BlockLen, tensor.Threads())
		if err != nil {
			return err
		}
		n := 0
		for _, b := range blocks {
			n += len(b)
		}
		st.TrainTokens = int(float64(n) * (1 - r.HeldOut))
		st.MaxEpochs = r.MaxEpochs
		st.Epochs, st.CapReason = epochCap(r.MaxEpochs, r.Minutes, r.TokensPerSec, st.TrainTokens)
	}
	cfg := dapt.DefaultConfig()
	cfg.Text, cfg.Out, cfg.FromScratch, cfg.Tokenizer = []string{text}, dir, true, o.Tokenizer
	sc := r.Scratch
	cfg.Scratch = &sc
	cfg.Epochs, cfg.LR, cfg.BatchSize, cfg.BlockLen = st.Epochs, r.LR, r.BatchSize, r.BlockLen
	cfg.Mask.Prob, cfg.HeldOut, cfg.WarmupRatio = r.MLMProb, r.HeldOut, r.WarmupRatio
	cfg.Seed, cfg.Threads, cfg.EvalEvery, cfg.CheckpointEvery = o.Seed, o.Threads, r.EvalEvery, r.SaveEvery
	cfg.Resume, cfg.Progress = resume, progress
	rerun := cfg
	rerun.Resume = false
	command, err := configCommand("dapt", dir, rerun)
	if err != nil {
		return err
	}
	st.Command = command
	if err := st.save(dir); err != nil { // the epochs survive a kill
		return err
	}
	_, err = dapt.Run(ctx, cfg)
	return err
}

func runFineTune(ctx context.Context, o Options, j Job, dir string, st *JobState, resume bool, progress func(loop.Progress)) error {
	base := filepath.Join(o.Work, j.Deps[0])
	cdir := filepath.Join(o.Data, j.Corpus)
	ft := o.FT
	cfg := training.DefaultConfig()
	cfg.Base, cfg.Out = base, dir
	cfg.Train, cfg.Dev, cfg.Test = filepath.Join(cdir, "train.tsv"), filepath.Join(cdir, "devel.tsv"), filepath.Join(cdir, "test.tsv")
	method, err := training.ParseMethod(j.Method)
	if err != nil {
		return err
	}
	cfg.Method = method
	cfg.LR = ft.LRLoRA
	if method == training.MethodFull {
		cfg.LR = ft.LRFull
	}
	rate := o.ftRate(j, method)
	maxEpochs, minutes := ft.MaxEpochs, ft.MaxMinutesPerJob
	if j.Kind == KindShipFineTune {
		sh := ft.Ship
		cfg.LoRA.R, cfg.LoRA.Alpha, cfg.LoRA.Targets, cfg.LR = sh.R, sh.Alpha, sh.Targets, sh.LR
		maxEpochs, minutes = sh.MaxEpochs, sh.MaxMinutes
		rate = ft.TokensPerSecFull // every linear layer adapted: about a full step's cost
	}
	if !resume || st.Epochs == 0 {
		n, err := trainTokens(cfg.Train, base, ft.MaxLen, ft.Stride)
		if err != nil {
			return err
		}
		st.TrainTokens, st.MaxEpochs = n, maxEpochs
		st.Epochs, st.CapReason = epochCap(maxEpochs, minutes, rate, n)
	}
	cfg.Epochs, cfg.BatchSize, cfg.MaxLen, cfg.Stride, cfg.Patience = st.Epochs, ft.BatchSize, ft.MaxLen, ft.Stride, ft.Patience
	cfg.Seed, cfg.Threads, cfg.CheckpointEvery, cfg.Resume, cfg.Progress = o.Seed, o.Threads, ft.SaveEvery, resume, progress
	cfg.AllowUnknownTags = true
	cfg.Overwrite = !resume // the pipeline owns its job folders
	cfg.Dropout = ft.Dropout
	rerun := cfg
	rerun.Resume, rerun.Overwrite = false, false
	if st.Command, err = configCommand("train", dir, rerun); err != nil {
		return err
	}
	if err := st.save(dir); err != nil { // the epochs survive a kill
		return err
	}
	_, err = training.Train(ctx, cfg)
	return err
}

// trainTokens counts the sub-word tokens of one epoch of a training file
// (windows included, as the trainer builds them).
func trainTokens(train, tokDir string, maxLen, stride int) (int, error) {
	tok, err := tokenize.Load(tokDir)
	if err != nil {
		return 0, fmt.Errorf("tokenizer: %w", err)
	}
	c, err := corpus.ReadFile(train)
	if err != nil {
		return 0, err
	}
	labels, err := training.LabelsFromCorpus(c)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", train, err)
	}
	d, err := training.BuildDataset(c, tok, labels, training.DataOptions{MaxLen: maxLen, Stride: stride})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range d.Examples {
		n += len(e.IDs)
	}
	return n, nil
}

// invocationsFile lists every pipeline invocation on the work dir, one
// "<UTC time> <command>" per line (the table's exact commands).
const invocationsFile = "invocations.log"

func appendInvocation(work, cmd string) error {
	f, err := os.OpenFile(filepath.Join(work, invocationsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), cmd); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
