// Package search joins the token-classification trainer (package training) and the
// hyper-parameter study (package training/hpo) the way the OpenMed NER paper tunes
// every backbone × corpus (§3.4, §3.7): a 40-trial TPE search over learning rate,
// batch size, weight decay, warm-up ratio, LoRA rank and LoRA dropout, each trial
// trained with early stopping on dev micro-F1 and reporting its per-epoch dev F1 to
// the median pruner, the test set never touched; then one final run with the best
// configuration, scored once on test. Select picks the best backbone per corpus by
// dev F1 ("best-of-breed", §3.5) and tests the winner against the runner-up on test
// with approximate randomization (§4.1).
//
// A search directory holds
//
//	study/          the hpo study (study.json, trials.jsonl, locks)
//	trials/<n>/     trial n's trainer output: params.json, metrics.json, metrics.jsonl,
//	                dev_predictions.tsv (weights and checkpoints deleted when it ends)
//	best.json       the best trial, its parameters and trainer config, the final scores
//	final/          a normal trainer output dir trained with the best configuration
//
// Re-running the same search on the same directory resumes it: finished trials are
// never repeated, a trial killed mid-run restarts from scratch in its folder.
package search
