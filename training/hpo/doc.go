// Package hpo is openmed's hyper-parameter search core: the search the OpenMed NER paper
// runs for every backbone × corpus (§3.4, §3.7: a 40-trial Tree-structured Parzen
// Estimator search over learning rate, batch size, weight decay, warm-up ratio, LoRA rank
// and LoRA dropout, with early stopping inside each trial and the test set never touched).
//
// It provides
//   - a search space defined in Go and serialisable to JSON ([Space], [Param], [PaperSpace]);
//   - samplers: our own TPE ([TPESampler], Bergstra et al. 2011 with Optuna's defaults;
//     [DefaultConfig] uses its multivariate form, which beats random search at 40 trials
//     where the univariate one does not) and random search ([RandomSampler]), both seeded
//     and reproducible;
//   - a median pruner ([MedianPruner], Optuna's MedianPruner defaults);
//   - a durable study ([Study]) shared safely by several worker processes and goroutines;
//   - a progress hook ([Progress]) for the CLI's progress bar.
//
// The objective is any Go function ([Objective]); this package does not depend on the
// trainer.
//
// # Study directory
//
//	study.json    the [Config] (direction, space, sampler, pruner), written once, atomically
//	trials.jsonl  the append-only event log, one JSON [Event] per line, fsync'd per event
//	study.lock    flock'ed around "read log, sample, append start" and around every append
//	workers/      <host>-<pid>-<random>.lock, flock'ed by each live Optimize call
//
// Events (see [Event]):
//
//	{"event":"start","trial":3,"attempt":1,"time":…,"worker":"h-12-ab","params":{"learning_rate":3e-5,…}}
//	{"event":"report","trial":3,"attempt":1,"time":…,"step":0,"value":0.71}
//	{"event":"finish","trial":3,"attempt":1,"time":…,"state":"complete","value":0.83}
//	{"event":"enqueue","trial":4,"attempt":0,"time":…,"params":{"batch_size":16}}
//
// Trials are rebuilt by replaying the log ([ReadEvents], [Replay]). A line cut short by a
// crash is ignored, and the next writer starts on a fresh line. A trial still "running"
// whose worker lock is free belonged to a dead process: the next claim re-starts it with
// the same parameters and attempt+1, superseding the dead attempt's reports. Finished
// trials are never run again, so a killed search resumes where it stopped.
package hpo
