// Package hpo is openmed's hyper-parameter search core: the search the OpenMed NER paper
// runs for every backbone × corpus (§3.4, §3.7: a 40-trial Tree-structured Parzen
// Estimator search over learning rate, batch size, weight decay, warm-up ratio, LoRA rank
// and LoRA dropout, with early stopping inside each trial and the test set never touched).
//
// It provides
//   - a search space defined in Go and serialisable to JSON ([Space], [Param], [PaperSpace]);
//   - samplers: our own TPE ([TPESampler], Bergstra et al. 2011 with Optuna's defaults) and
//     random search ([RandomSampler]), both seeded and reproducible;
//   - a median pruner ([MedianPruner], Optuna's MedianPruner defaults);
//   - a durable study ([Study]): an append-only, fsync'd JSONL event log in a study
//     directory that survives crashes, resumes where it stopped (a trial whose process died
//     is re-queued with the same parameters), and is shared safely by several worker
//     processes (flock) and goroutine workers;
//   - a progress hook ([Progress]) for the CLI's progress bar.
//
// The objective is any Go function ([Objective]); this package does not depend on the
// trainer.
package hpo
