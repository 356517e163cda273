package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
	"github.com/openmed/openmed/training/loop"
)

// The archive (-archive, default benchmarks/recipe/runs, inside the
// repository) keeps what a finished run says, because the work folder lives
// in the machine-local encoder cache and a machine can be replaced between
// sessions (2026-12-06: the whole cache, DAPT'd encoders and finished runs
// included, was lost that way). Per job it holds plan.json, metrics.json,
// raw_text.json and test_predictions.tsv, plus the PEFT adapter (LoRA
// matrices and head, a few MB) for LoRA jobs, never full weights; per
// encoder it holds the DAPT run's metrics.json and its LoRA delta
// (dapt_adapter/), from which the DAPT'd encoder is rebuilt on a new
// machine (lora.MergeEncoderAdapter over the cached release, the rule the
// default tagger uses). The table, the paired tests and ship read a finished
// job from the archive first.

// interruptedDir is the folder inside a job's archive folder that keeps an
// unfinished LoRA job's latest checkpoint (snapshot), so the job resumes on
// another machine; archiving the finished job replaces it.
const interruptedDir = "interrupted"

// archivedJobFiles are the run files the archive keeps besides the adapter.
var archivedJobFiles = []string{planFile, training.MetricsFile, rawTextFile, testPredictions}

// archiveDir is the job's folder in the archive.
func archiveDir(o Options, j Job) string {
	return filepath.Join(o.Archive, filepath.FromSlash(j.Name()))
}

// resultDir is where a job's finished outputs are read from: the archive
// when it holds the job, else the work folder.
func resultDir(o Options, j Job) string {
	if a := archiveDir(o, j); o.Archive != "" && exists(filepath.Join(a, rawTextFile)) {
		return a
	}
	return j.Dir(o.Work)
}

// archiveJob copies a finished job's small outputs from the work folder
// into the archive (the adapter first, since lora.CopyAdapter replaces the
// whole folder; raw_text.json, the mark of a finished job, last).
func archiveJob(o Options, j Job) error {
	if o.Archive == "" {
		return nil
	}
	src, dst := j.Dir(o.Work), archiveDir(o, j)
	if j.Variant.Method != training.MethodFull {
		if err := lora.CopyAdapter(src, dst, j.Encoder.Name); err != nil {
			return fmt.Errorf("archive %s: %w", j.Name(), err)
		}
	} else if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range archivedJobFiles {
		if err := copyFile(filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
			return fmt.Errorf("archive %s: %w", j.Name(), err)
		}
	}
	return nil
}

// archiveFinished archives every finished job of the work folder the
// archive lacks, and every finished DAPT run.
func archiveFinished(o Options) error {
	if o.Archive == "" {
		return nil
	}
	var errs []error
	for _, e := range Encoders {
		errs = append(errs, archiveDAPT(o, e.Name))
	}
	for _, j := range AllJobs() {
		if exists(filepath.Join(j.Dir(o.Work), rawTextFile)) && !exists(filepath.Join(archiveDir(o, j), rawTextFile)) {
			errs = append(errs, archiveJob(o, j))
		}
	}
	return errors.Join(errs...)
}

// snapshotInterrupted copies the latest checkpoint of every unfinished LoRA
// job of the work folder into the archive (a few MB each: LoRA matrices,
// head, AdamW moments; full fine-tuning jobs are left out), with the job's
// plan.json, so it resumes where it stopped even on a new machine.
func snapshotInterrupted(o Options) error {
	if o.Archive == "" {
		return nil
	}
	var errs []error
	for _, j := range AllJobs() {
		d := j.Dir(o.Work)
		if j.Variant.Method == training.MethodFull || !exists(filepath.Join(d, "checkpoints")) ||
			exists(filepath.Join(d, rawTextFile)) || exists(filepath.Join(d, training.MetricsFile)) {
			continue
		}
		dst := filepath.Join(archiveDir(o, j), interruptedDir)
		step, err := loop.CopyLatestCheckpoint(d, dst)
		if err == nil {
			err = copyFile(filepath.Join(d, planFile), filepath.Join(dst, planFile))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s: %w", j.Name(), err))
			continue
		}
		fmt.Fprintf(os.Stderr, "recipe: %s: checkpoint of step %d kept in %s\n", j.Name(), step, dst)
	}
	return errors.Join(errs...)
}

// restoreInterrupted puts an archived snapshot of j back into the work
// folder when the work folder has neither a checkpoint nor a result, and
// reports whether it did.
func restoreInterrupted(o Options, j Job) (bool, error) {
	src, d := filepath.Join(archiveDir(o, j), interruptedDir), j.Dir(o.Work)
	if o.Archive == "" || !exists(filepath.Join(src, "checkpoints")) ||
		exists(filepath.Join(d, "checkpoints")) || exists(filepath.Join(d, training.MetricsFile)) {
		return false, nil
	}
	step, err := loop.CopyLatestCheckpoint(src, d)
	if err == nil {
		err = copyFile(filepath.Join(src, planFile), filepath.Join(d, planFile))
	}
	if err != nil {
		return false, fmt.Errorf("restore %s: %w", j.Name(), err)
	}
	fmt.Fprintf(os.Stderr, "recipe: %s: resuming from the archived checkpoint of step %d\n", j.Name(), step)
	return true, nil
}

// daptName is the DAPT run's folder name, in the work folder and the archive.
func daptName(enc string) string { return "dapt-" + enc }

// daptMetricsPath is the DAPT run's metrics.json: the work folder's, else
// the archive's ("" when neither has one).
func daptMetricsPath(o Options, enc string) string {
	for _, root := range []string{o.Work, o.Archive} {
		if p := filepath.Join(root, daptName(enc), training.MetricsFile); root != "" && exists(p) {
			return p
		}
	}
	return ""
}

// daptAdapterPath is the DAPT delta (dapt_adapter/) of enc: the archive's,
// else the work folder's.
func daptAdapterPath(o Options, enc string) string {
	for _, root := range []string{o.Archive, o.Work} {
		if p := filepath.Join(root, daptName(enc), dapt.AdapterDir); root != "" && exists(filepath.Join(p, checkpoint.AdapterSafetensorsFile)) {
			return p
		}
	}
	return ""
}

// archiveDAPT copies a finished DAPT run's delta and metrics into the
// archive, once.
func archiveDAPT(o Options, enc string) error {
	src, dst := filepath.Join(o.Work, daptName(enc)), filepath.Join(o.Archive, daptName(enc))
	if !exists(filepath.Join(src, training.MetricsFile)) || exists(filepath.Join(dst, training.MetricsFile)) {
		return nil
	}
	if err := lora.CopyAdapter(filepath.Join(src, dapt.AdapterDir), filepath.Join(dst, dapt.AdapterDir), enc); err != nil {
		return fmt.Errorf("archive DAPT of %s: %w", enc, err)
	}
	return copyFile(filepath.Join(src, training.MetricsFile), filepath.Join(dst, training.MetricsFile))
}

// restoreMu keeps two workers from rebuilding the same DAPT'd encoder.
var restoreMu sync.Mutex

// restoreDAPT rebuilds the work folder's DAPT'd encoder of enc from the
// archived delta and the cached release when the work folder lacks it: the
// release's weights with W += s·B·A on the adapted modules
// (lora.MergeEncoderAdapter), its metrics.json copied last.
func restoreDAPT(o Options, enc string) error {
	restoreMu.Lock()
	defer restoreMu.Unlock()
	dst := filepath.Join(o.Work, daptName(enc))
	if exists(filepath.Join(dst, training.MetricsFile)) {
		return nil
	}
	arch := filepath.Join(o.Archive, daptName(enc))
	if o.Archive == "" || !exists(filepath.Join(arch, training.MetricsFile)) {
		return fmt.Errorf("no DAPT run of %s in %s or %s: run benchmarks/recipe/dapt.sh", enc, o.Work, o.Archive)
	}
	base, err := encoder.Resolve(enc)
	if err != nil {
		return fmt.Errorf("rebuild DAPT'd %s: %w (make encoders)", enc, err)
	}
	fmt.Fprintf(os.Stderr, "recipe: rebuilding %s from %s and the archived DAPT delta\n", dst, base)
	if err := lora.MergeEncoderAdapter(base, filepath.Join(arch, dapt.AdapterDir), dst); err != nil {
		return fmt.Errorf("rebuild DAPT'd %s: %w", enc, err)
	}
	return copyFile(filepath.Join(arch, training.MetricsFile), filepath.Join(dst, training.MetricsFile))
}

// copyFile copies src to dst atomically; a missing src is skipped.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(dst, b)
}
