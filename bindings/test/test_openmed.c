/* C-level tests of libopenmed through bindings/openmed.h.
 *
 * usage: test_openmed SHARED_DIR [full|leak N]
 *   full (default): every check below;
 *   leak N [MODEL_DIR]: only the tokenize path (and, with MODEL_DIR, the
 *           tag path), N times, freeing everything — run under valgrind or
 *           LeakSanitizer to show no leaks;
 *   leak-nofree N [MODEL_DIR]: the same, leaving every result unfreed (a
 *           deliberate leak of library-allocated memory the checkers must
 *           report);
 *   rss N MODEL_DIR MAX, rss-nofree N MODEL_DIR MAX: the leak loop with its
 *           RSS growth bounded by MAX bytes per iteration (the checker that
 *           runs on every CPU; rss-nofree must fail);
 *   make-model DIR: trains the tiny model of the full run into DIR/ner;
 *   selftest-leak: leaks one malloc on purpose, so a valgrind run that
 *           must fail shows the leak check can fail.
 * SHARED_DIR is ../shared (tokenizers, data, fixtures).
 * Exit status 0 when every check passes. */
#include "openmed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

static const char *shared_dir;
static char tok_path[4096];

/* expect_status checks a status and, on failure, that err is set and
 * mentions want_msg; it frees err. */
static void expect_status(const char *what, int got, int want, char *err, const char *want_msg) {
    CHECK(got == want, "%s: status %s, want %s (err: %s)", what, openmed_status_name(got),
          openmed_status_name(want), err ? err : "(null)");
    if (want != OPENMED_OK) {
        CHECK(err != NULL, "%s: no error message", what);
        if (err && want_msg)
            CHECK(strstr(err, want_msg) != NULL, "%s: message %s lacks %s", what, err, want_msg);
    } else {
        CHECK(err == NULL, "%s: err set on success: %s", what, err);
    }
    if (err) CHECK(openmed_free(err) == OPENMED_OK, "%s: freeing err", what);
}

static void test_version(void) {
    const char *v = openmed_version();
    CHECK(v != NULL && strlen(v) > 0, "empty version");
    CHECK(strcmp(openmed_status_name(OPENMED_NOT_AVAILABLE), "OPENMED_NOT_AVAILABLE") == 0, "status name");
    CHECK(openmed_free(NULL) == OPENMED_OK, "free(NULL) is a no-op");
}

static uint64_t open_tokenizer(void) {
    uint64_t h = 0;
    char *err = NULL;
    int st = openmed_tokenizer_open(tok_path, &h, &err);
    expect_status("tokenizer_open", st, OPENMED_OK, err, NULL);
    CHECK(h != 0, "tokenizer handle is 0");
    return h;
}

static void test_tokenize(void) {
    uint64_t h = open_tokenizer();
    char *out = NULL, *err = NULL;
    int st = openmed_tokenize(h, "{\"texts\":[\"Familial adenomatous polyposis.\"]}", &out, &err);
    expect_status("tokenize", st, OPENMED_OK, err, NULL);
    CHECK(out != NULL, "tokenize: no output");
    if (out) {
        CHECK(strstr(out, "\"tokens\":[\"[CLS]\",\"familial\"") != NULL, "tokenize: tokens in %s", out);
        CHECK(strstr(out, "\"word_ids\":[null,0,") != NULL, "tokenize: word_ids in %s", out);
        CHECK(openmed_free(out) == OPENMED_OK, "free out");
        /* double free and foreign pointers are refused, not crashes */
        CHECK(openmed_free(out) == OPENMED_BAD_INPUT, "double free accepted");
    }
    char *foreign = malloc(16);
    CHECK(openmed_free(foreign) == OPENMED_BAD_INPUT, "foreign pointer accepted");
    free(foreign);
    int on_stack = 0;
    CHECK(openmed_free(&on_stack) == OPENMED_BAD_INPUT, "stack pointer accepted");

    /* pre-tokenized words */
    st = openmed_tokenize(h, "{\"words\":[[\"IL-2\",\"gene\"]],\"add_special_tokens\":false}", &out, &err);
    expect_status("tokenize words", st, OPENMED_OK, err, NULL);
    if (out) {
        CHECK(strstr(out, "\"word_ids\":[0,") != NULL, "words: word_ids in %s", out);
        openmed_free(out);
    }

    /* error paths */
    out = NULL;
    st = openmed_tokenize(h, NULL, &out, &err);
    expect_status("tokenize NULL request", st, OPENMED_BAD_INPUT, err, "request_json is NULL");
    CHECK(out == NULL, "out set on failure");
    st = openmed_tokenize(h, "{\"texts\": [", &out, &err);
    expect_status("tokenize bad JSON", st, OPENMED_BAD_INPUT, err, "request_json");
    st = openmed_tokenize(h, "{\"txts\": []}", &out, &err);
    expect_status("tokenize unknown field", st, OPENMED_BAD_INPUT, err, "txts");
    st = openmed_tokenize(h, "{\"texts\": []}", NULL, &err);
    expect_status("tokenize NULL out", st, OPENMED_BAD_INPUT, err, "out_json is NULL");
    st = openmed_tokenize(0, "{\"texts\": []}", &out, &err);
    expect_status("tokenize handle 0", st, OPENMED_BAD_INPUT, err, "handle is 0");
    st = openmed_tokenize(987654321, "{\"texts\": []}", &out, &err);
    expect_status("tokenize bogus handle", st, OPENMED_NOT_FOUND, err, "not open");
    /* a NULL err pointer is allowed: only the status is reported */
    st = openmed_tokenize(987654321, "{\"texts\": []}", &out, NULL);
    CHECK(st == OPENMED_NOT_FOUND, "NULL err: status %d", st);

    st = openmed_tokenizer_close(h, &err);
    expect_status("tokenizer_close", st, OPENMED_OK, err, NULL);
    st = openmed_tokenize(h, "{\"texts\": [\"x\"]}", &out, &err);
    expect_status("tokenize closed handle", st, OPENMED_NOT_FOUND, err, "not open");
    st = openmed_tokenizer_close(h, &err);
    expect_status("double close", st, OPENMED_NOT_FOUND, err, "not open");

    uint64_t h2 = 0;
    st = openmed_tokenizer_open(NULL, &h2, &err);
    expect_status("open NULL path", st, OPENMED_BAD_INPUT, err, "path is NULL");
    st = openmed_tokenizer_open("/nonexistent/tokenizer.json", &h2, &err);
    CHECK(st != OPENMED_OK, "open missing file succeeded");
    if (err) {
        CHECK(strstr(err, "/nonexistent/tokenizer.json") != NULL, "missing file message: %s", err);
        openmed_free(err);
    }
    st = openmed_tokenizer_open(tok_path, NULL, &err);
    expect_status("open NULL handle", st, OPENMED_BAD_INPUT, err, "handle out-parameter is NULL");
}

static void test_evaluate(void) {
    char *out = NULL, *err = NULL;
    int st = openmed_evaluate(
        "{\"gold\":[[\"B-Disease\",\"I-Disease\",\"O\",\"B-Disease\"]],"
        "\"pred\":[[\"B-Disease\",\"I-Disease\",\"O\",\"O\"]]}",
        &out, &err);
    expect_status("evaluate", st, OPENMED_OK, err, NULL);
    if (out) {
        /* 1 of 1 predicted is right, 1 of 2 gold found: P 1, R 0.5 */
        CHECK(strstr(out, "\"micro\":{\"precision\":1,\"recall\":0.5,") != NULL, "evaluate: %s", out);
        openmed_free(out);
    }
    char req[8192];
    snprintf(req, sizeof req, "{\"gold_file\":\"%s/data/NCBI-Disease/devel.tsv\",\"pred_file\":\"%s/data/NCBI-Disease/devel.tsv\"}",
             shared_dir, shared_dir);
    st = openmed_evaluate(req, &out, &err);
    expect_status("evaluate files", st, OPENMED_OK, err, NULL);
    if (out) {
        CHECK(strstr(out, "\"f1\":1,") != NULL, "evaluate gold vs gold: %s", out);
        openmed_free(out);
    }
    st = openmed_evaluate("{\"gold\":[[\"O\"]],\"pred\":[[\"O\",\"O\"]]}", &out, &err);
    expect_status("evaluate misaligned", st, OPENMED_BAD_INPUT, err, "sentence 0");
    st = openmed_evaluate("{\"gold\":[[\"O\"]],\"pred\":[[\"O\"]],\"mode\":\"loose\"}", &out, &err);
    expect_status("evaluate bad mode", st, OPENMED_BAD_INPUT, err, "mode");
    st = openmed_evaluate("{\"gold_file\":\"/nonexistent.tsv\",\"pred_file\":\"/nonexistent.tsv\"}", &out, &err);
    expect_status("evaluate missing file", st, OPENMED_NOT_FOUND, err, "/nonexistent.tsv");
}

/* ---- threads: identical results from 8 threads ---- */
struct thread_arg {
    uint64_t tok;
    const char *want;
    int mismatches;
};

static const char *thread_req = "{\"texts\":[\"BRCA1 mutations cause hereditary breast cancer.\",\"No disease here.\"]}";

static void *tokenize_thread(void *p) {
    struct thread_arg *a = p;
    for (int i = 0; i < 200; i++) {
        char *out = NULL, *err = NULL;
        int st = openmed_tokenize(a->tok, thread_req, &out, &err);
        if (st != OPENMED_OK || out == NULL || strcmp(out, a->want) != 0) a->mismatches++;
        if (out) openmed_free(out);
        if (err) openmed_free(err);
    }
    return NULL;
}

static void test_threads(void) {
    uint64_t h = open_tokenizer();
    char *want = NULL, *err = NULL;
    int st = openmed_tokenize(h, thread_req, &want, &err);
    expect_status("threads: reference", st, OPENMED_OK, err, NULL);
    if (!want) return;
    pthread_t th[8];
    struct thread_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct thread_arg){h, want, 0};
        pthread_create(&th[i], NULL, tokenize_thread, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].mismatches == 0, "thread %d: %d mismatches", i, args[i].mismatches);
    }
    openmed_free(want);
    openmed_tokenizer_close(h, NULL);
}

/* ---- jobs ---- */
static int count_events(const char *event_json, void *user) {
    (void)event_json;
    (*(int *)user)++;
    return 0;
}

static void test_jobs(void) {
    uint64_t job = 0;
    char *out = NULL, *err = NULL;
    int st = openmed_job_new(&job, &err);
    expect_status("job_new", st, OPENMED_OK, err, NULL);
    CHECK(job != 0, "job handle 0");
    st = openmed_job_cancel(job, &err);
    expect_status("job_cancel", st, OPENMED_OK, err, NULL);
    int events = 0;
    /* a cancelled job returns OPENMED_CANCELLED before doing any work */
    st = openmed_train(job, "{}", count_events, &events, &out, &err);
    expect_status("train on cancelled job", st, OPENMED_CANCELLED, err, "cancel");
    CHECK(out == NULL, "train: out set on cancel");
    st = openmed_train(job, NULL, NULL, NULL, &out, &err);
    expect_status("train NULL config", st, OPENMED_BAD_INPUT, err, "config_json is NULL");
    st = openmed_job_close(job, &err);
    expect_status("job_close", st, OPENMED_OK, err, NULL);
    st = openmed_job_cancel(job, &err);
    expect_status("cancel closed job", st, OPENMED_NOT_FOUND, err, "not open");
    st = openmed_train(job, "{}", NULL, NULL, &out, &err);
    expect_status("train closed job", st, OPENMED_NOT_FOUND, err, "not open");
    /* a tokenizer handle is not a job */
    uint64_t tok = open_tokenizer();
    st = openmed_job_cancel(tok, &err);
    expect_status("job_cancel on tokenizer", st, OPENMED_BAD_INPUT, err, "is a tokenizer, not a job");
    openmed_tokenizer_close(tok, NULL);
}

/* ---- tagging with the model trained above (Go engine) ---- */
static void test_tag(const char *model_dir) {
    char cfg[2048], *out = NULL, *err = NULL;
    snprintf(cfg, sizeof cfg, "{\"model\":\"%s\",\"backend\":\"go\"}", model_dir);
    uint64_t t = 0;
    int st = openmed_tagger_open(cfg, &t, &err);
    expect_status("tagger_open", st, OPENMED_OK, err, NULL);
    if (st != OPENMED_OK) return;
    st = openmed_tag(t, "Hereditary breast cancer in BRCA1 carriers.", NULL, &out, &err);
    expect_status("tag", st, OPENMED_OK, err, NULL);
    if (out) {
        CHECK(out[0] == '[', "tag: want a JSON list, got %s", out);
        openmed_free(out);
    }
    st = openmed_tag_batch(t, "{\"texts\":[\"breast cancer\",\"\"]}", &out, &err);
    expect_status("tag_batch", st, OPENMED_OK, err, NULL);
    if (out) {
        CHECK(out[0] == '[' && out[1] == '[' && strstr(out, "],[]]") != NULL, "tag_batch: %s", out);
        openmed_free(out);
    }
    st = openmed_tag(t, "bad \xff utf-8", NULL, &out, &err);
    expect_status("tag invalid UTF-8", st, OPENMED_BAD_INPUT, err, "UTF-8");
    st = openmed_tag(t, NULL, NULL, &out, &err);
    expect_status("tag NULL text", st, OPENMED_BAD_INPUT, err, "text is NULL");
    st = openmed_tag(t, "x", "{\"adapter\":\"nope\"}", &out, &err);
    expect_status("tag unknown adapter", st, OPENMED_BAD_INPUT, err, "not attached");
    st = openmed_tag_batch(t, "{}", &out, &err);
    expect_status("tag_batch no texts", st, OPENMED_BAD_INPUT, err, "texts");
    st = openmed_tagger_close(t, &err);
    expect_status("tagger_close", st, OPENMED_OK, err, NULL);
    st = openmed_tag(t, "x", NULL, &out, &err);
    expect_status("tag closed", st, OPENMED_NOT_FOUND, err, "not open");
    uint64_t t2 = 0;
    st = openmed_tagger_open("{\"model\":\"/nonexistent/model\"}", &t2, &err);
    CHECK(st != OPENMED_OK && t2 == 0, "open missing model: %d", st);
    if (err) openmed_free(err);
    st = openmed_tagger_open("{\"model\":\"x\",\"backend\":\"tpu\"}", &t2, &err);
    expect_status("tagger bad backend", st, OPENMED_BAD_INPUT, err, "backend");
}

/* ---- training through the ABI: DAPT from scratch, then NER ---- */

/* copy_sentences writes the first n sentences of a CoNLL file to dst and, if
 * text is not NULL, their tokens one sentence per line to text. */
static int copy_sentences(const char *src, const char *dst, const char *text, int n) {
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w"), *tx = text ? fopen(text, "w") : NULL;
    if (!in || !out || (text && !tx)) return -1;
    char line[4096];
    int count = 0, first = 1;
    while (count < n && fgets(line, sizeof line, in)) {
        fputs(line, out);
        if (line[0] == '\n') {
            count++;
            if (tx) fputc('\n', tx);
            first = 1;
            continue;
        }
        if (tx) {
            char *tab = strchr(line, '\t');
            if (tab) *tab = 0;
            fprintf(tx, "%s%s", first ? "" : " ", line);
            first = 0;
        }
    }
    fclose(in);
    fclose(out);
    if (tx) fclose(tx);
    return 0;
}

struct progress_state {
    int events, train_events, done_events, stop_at;
};

static int on_progress(const char *event_json, void *user) {
    struct progress_state *ps = user;
    ps->events++;
    if (strstr(event_json, "\"phase\":\"train\"")) ps->train_events++;
    if (strstr(event_json, "\"phase\":\"done\"")) ps->done_events++;
    return ps->stop_at > 0 && ps->train_events >= ps->stop_at; /* nonzero: cancel */
}

static void test_train(const char *dir) {
    char train[1024], text[1024], base[1024], ner[1024], req[16384], src[1024];
    snprintf(src, sizeof src, "%s/data/NCBI-Disease/train.tsv", shared_dir);
    snprintf(train, sizeof train, "%s/train.tsv", dir);
    snprintf(text, sizeof text, "%s/text.txt", dir);
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(ner, sizeof ner, "%s/ner", dir);
    CHECK(copy_sentences(src, train, text, 120) == 0, "writing the tiny corpus");

    char *out = NULL, *err = NULL;
    struct progress_state ps = {0, 0, 0, 0};
    snprintf(req, sizeof req,
             "{\"text\":[\"%s\"],\"output_dir\":\"%s\",\"tokenizer\":\"%s\",\"from_scratch\":true,"
             "\"scratch\":{\"num_hidden_layers\":1,\"hidden_size\":16,\"num_attention_heads\":2,"
             "\"intermediate_size\":32,\"max_position_embeddings\":64},\"max_seq_length\":32}",
             text, base, tok_path);
    int st = openmed_dapt(0, req, on_progress, &ps, &out, &err);
    expect_status("dapt from scratch", st, OPENMED_OK, err, NULL);
    CHECK(ps.done_events == 1, "dapt: %d done events", ps.done_events);
    if (out) openmed_free(out);

    memset(&ps, 0, sizeof ps);
    snprintf(req, sizeof req,
             "{\"base\":\"%s\",\"train\":\"%s\",\"dev\":\"%s\",\"output_dir\":\"%s\",\"method\":\"full\","
             "\"num_train_epochs\":2,\"max_length\":32,\"stride\":8,\"logging_steps\":1}",
             base, train, train, ner);
    uint64_t job = 0;
    openmed_job_new(&job, NULL);
    st = openmed_train(job, req, on_progress, &ps, &out, &err);
    expect_status("train", st, OPENMED_OK, err, NULL);
    CHECK(ps.train_events > 0 && ps.done_events == 1, "train: %d train / %d done events", ps.train_events, ps.done_events);
    if (out) {
        CHECK(strstr(out, "\"best_dev_f1\":") != NULL && strstr(out, "\"labels\":[\"O\",\"B-Disease\",\"I-Disease\"]"),
              "train result: %.300s", out);
        openmed_free(out);
    }
    test_tag(ner);

    /* the callback cancels: nonzero after the 2nd train event */
    memset(&ps, 0, sizeof ps);
    ps.stop_at = 2;
    snprintf(req, sizeof req,
             "{\"base\":\"%s\",\"train\":\"%s\",\"output_dir\":\"%s/stopped\",\"method\":\"full\","
             "\"num_train_epochs\":200,\"max_length\":32,\"stride\":8,\"logging_steps\":1}",
             base, train, dir);
    st = openmed_train(job, req, on_progress, &ps, &out, &err);
    expect_status("train cancelled by callback", st, OPENMED_CANCELLED, err, "interrupted");
    CHECK(ps.train_events < 50, "train went on after cancel: %d events", ps.train_events);
    openmed_job_close(job, NULL);
    st = openmed_train(0, "{\"base\":\"x\"}", NULL, NULL, &out, &err);
    expect_status("train missing fields", st, OPENMED_BAD_INPUT, err, "required");
    st = openmed_train(0, "{\"base\":\"x\",\"train\":\"y\",\"output_dir\":\"z\",\"bogus\":1}", NULL, NULL, &out, &err);
    expect_status("train unknown field", st, OPENMED_BAD_INPUT, err, "bogus");
}

/* ---- hyper-parameter search on the tiny base of test_train ---- */

struct search_state {
    int started, finished, trial_train, final_train, stop_on_finished;
};

static int on_search(const char *event_json, void *user) {
    struct search_state *ss = user;
    if (strstr(event_json, "\"phase\":\"trial\"")) {
        if (strstr(event_json, "\"event\":\"started\"")) ss->started++;
        if (strstr(event_json, "\"event\":\"finished\"")) {
            ss->finished++;
            return ss->stop_on_finished; /* nonzero: cancel after this trial */
        }
    } else if (strstr(event_json, "\"phase\":\"train\"")) {
        if (strstr(event_json, "\"trial\":-1")) ss->final_train++;
        else ss->trial_train++;
    }
    return 0;
}

static int file_exists(const char *dir, const char *name) {
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}

static void test_search(const char *dir) {
    char req[16384], out_dir[1024], *out = NULL, *err = NULL;
    snprintf(out_dir, sizeof out_dir, "%s/search", dir);
    snprintf(req, sizeof req,
             "{\"base\":\"%s/base\",\"train\":\"%s/train.tsv\",\"dev\":\"%s/train.tsv\",\"test\":\"%s/train.tsv\","
             "\"output_dir\":\"%s\",\"method\":\"full\",\"num_train_epochs\":1,\"max_length\":32,\"stride\":8,"
             "\"trials\":2,\"seed\":3,\"sampler\":\"random\","
             "\"space\":[{\"name\":\"learning_rate\",\"kind\":\"float\",\"low\":0.001,\"high\":0.01,\"log\":true}]}",
             dir, dir, dir, dir, out_dir);

    /* the callback cancels after the first trial: the study keeps it */
    struct search_state ss = {0, 0, 0, 0, 1};
    int st = openmed_search(0, req, on_search, &ss, &out, &err);
    expect_status("search cancelled by callback", st, OPENMED_CANCELLED, err, "resume");
    CHECK(out == NULL, "search: out set on cancel");
    CHECK(ss.started == 1 && ss.finished == 1, "cancelled search: %d started, %d finished", ss.started, ss.finished);
    CHECK(ss.trial_train > 0, "no trainer events from the trial");
    CHECK(file_exists(out_dir, "study/trials.jsonl") && file_exists(out_dir, "trials/0/params.json"),
          "no study files in %s", out_dir);
    CHECK(!file_exists(out_dir, "trials/1"), "trial 1 ran after the cancel");

    /* the same call resumes: only trial 1 runs, then the final run */
    memset(&ss, 0, sizeof ss);
    st = openmed_search(0, req, on_search, &ss, &out, &err);
    expect_status("search resumed", st, OPENMED_OK, err, NULL);
    CHECK(ss.started == 1 && ss.finished == 1, "resumed search: %d started, %d finished", ss.started, ss.finished);
    CHECK(ss.final_train > 0, "no trainer events from the final run");
    if (out) {
        CHECK(strstr(out, "\"trials\":2,") != NULL, "search result trials: %.400s", out);
        CHECK(strstr(out, "\"best_params\":{\"learning_rate\":") != NULL, "search result params: %.400s", out);
        CHECK(strstr(out, "\"final\":{\"output_dir\":") != NULL && strstr(out, "\"test_f1\":") != NULL,
              "search result final: %.600s", out);
        openmed_free(out);
        out = NULL;
    }
    CHECK(file_exists(out_dir, "best.json") && file_exists(out_dir, "final/metrics.json") &&
              file_exists(out_dir, "final/test_predictions.tsv"),
          "no best.json / final run in %s", out_dir);

    /* once more: nothing left to run */
    memset(&ss, 0, sizeof ss);
    st = openmed_search(0, req, on_search, &ss, &out, &err);
    expect_status("search finished", st, OPENMED_OK, err, NULL);
    CHECK(ss.started == 0 && ss.final_train == 0, "finished search ran again: %d trials, %d final events",
          ss.started, ss.final_train);
    if (out) {
        CHECK(strstr(out, "\"trials\":2,") != NULL && strstr(out, "\"run\":null") != NULL,
              "finished search result: %.600s", out);
        openmed_free(out);
        out = NULL;
    }

    /* bad input: the error names the field */
    char *seed = strstr(req, "\"seed\":3");
    if (seed) {
        seed[7] = '4';
        st = openmed_search(0, req, NULL, NULL, &out, &err);
        expect_status("search with another seed on the same folder", st, OPENMED_BAD_INPUT, err, "output_dir");
        seed[7] = '3';
    }
    st = openmed_search(0, NULL, NULL, NULL, &out, &err);
    expect_status("search NULL config", st, OPENMED_BAD_INPUT, err, "config_json is NULL");
    st = openmed_search(0, "{\"base\":\"x\",\"train\":\"y\",\"output_dir\":\"z\"}", NULL, NULL, &out, &err);
    expect_status("search without dev", st, OPENMED_BAD_INPUT, err, "search: dev is required");
    st = openmed_search(0, "{\"base\":\"x\",\"train\":\"y\",\"dev\":\"y\",\"output_dir\":\"z\",\"trials\":0}", NULL, NULL,
                        &out, &err);
    expect_status("search zero trials", st, OPENMED_BAD_INPUT, err, "trials");
    st = openmed_search(0,
                        "{\"base\":\"x\",\"train\":\"y\",\"dev\":\"y\",\"output_dir\":\"z\","
                        "\"space\":[{\"name\":\"momentum\",\"kind\":\"float\",\"low\":0,\"high\":1}]}",
                        NULL, NULL, &out, &err);
    expect_status("search bad space", st, OPENMED_BAD_INPUT, err, "momentum");
    st = openmed_search(0, "{\"base\":\"x\",\"train\":\"y\",\"dev\":\"y\",\"output_dir\":\"z\",\"bogus\":1}", NULL, NULL,
                        &out, &err);
    expect_status("search unknown field", st, OPENMED_BAD_INPUT, err, "bogus");
    snprintf(req, sizeof req,
             "{\"base\":\"%s/base\",\"train\":\"%s/missing.tsv\",\"dev\":\"%s/train.tsv\",\"output_dir\":\"%s/s2\"}",
             dir, dir, dir, dir);
    st = openmed_search(0, req, NULL, NULL, &out, &err);
    expect_status("search missing train file", st, OPENMED_NOT_FOUND, err, "missing.tsv");
    st = openmed_search(0, "{}", NULL, NULL, NULL, &err);
    expect_status("search NULL out", st, OPENMED_BAD_INPUT, err, "out_json is NULL");
    CHECK(out == NULL, "search: out set on failure");
}

/* ---- best-of-breed selection on hand-made runs ---- */

/* write_run writes dir/metrics.json (dev micro-F1 dev_f1) and
 * dir/test_predictions.tsv: gold's tokens with gold's tags, or all O. */
static int write_run(const char *dir, const char *gold, double dev_f1, int all_o) {
    char path[4096], line[4096];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    FILE *m = fopen(path, "w");
    if (!m) return -1;
    fprintf(m, "{\"dev\":{\"micro\":{\"precision\":%g,\"recall\":%g,\"f1\":%g}}}\n", dev_f1, dev_f1, dev_f1);
    fclose(m);
    snprintf(path, sizeof path, "%s/test_predictions.tsv", dir);
    FILE *in = fopen(gold, "r"), *out = fopen(path, "w");
    if (!in || !out) return -1;
    while (fgets(line, sizeof line, in)) {
        char *tab = strchr(line, '\t');
        if (all_o && tab) strcpy(tab, "\tO\n");
        fputs(line, out);
    }
    fclose(in);
    fclose(out);
    return 0;
}

static void test_select(const char *dir) {
    char src[1024], gold[1024], a[1024], b[1024], req[8192], *out = NULL, *err = NULL;
    snprintf(src, sizeof src, "%s/data/NCBI-Disease/test.tsv", shared_dir);
    snprintf(gold, sizeof gold, "%s/gold.tsv", dir);
    snprintf(a, sizeof a, "%s/run_a", dir);
    snprintf(b, sizeof b, "%s/run_b", dir);
    CHECK(copy_sentences(src, gold, NULL, 60) == 0, "writing the gold file");
    CHECK(write_run(a, gold, 0.8, 0) == 0 && write_run(b, gold, 0.3, 1) == 0, "writing the runs");
    snprintf(req, sizeof req,
             "{\"runs\":[\"%s\",\"%s\"],\"gold\":\"%s\",\"corpus\":\"ncbi\",\"shuffles\":500,\"resamples\":200,\"seed\":1}",
             b, a, gold);
    int st = openmed_select(req, &out, &err);
    expect_status("select", st, OPENMED_OK, err, NULL);
    if (out) {
        char want[1200];
        snprintf(want, sizeof want, "\"winner\":{\"dir\":\"%s\",\"dev_f1\":0.8", a);
        CHECK(strstr(out, want) != NULL, "select winner: %.600s", out);
        CHECK(strstr(out, "\"corpus\":\"ncbi\"") != NULL, "select corpus: %.300s", out);
        const char *pv = strstr(out, "\"p_value\":");
        CHECK(pv != NULL, "select: no p_value in %.600s", out);
        if (pv) {
            double p = strtod(pv + strlen("\"p_value\":"), NULL);
            CHECK(p > 0 && p < 0.05, "select p_value %g: perfect vs all-O should differ", p);
        }
        openmed_free(out);
        out = NULL;
    }
    st = openmed_select("{}", &out, &err);
    expect_status("select without runs", st, OPENMED_BAD_INPUT, err, "runs");
    st = openmed_select(NULL, &out, &err);
    expect_status("select NULL config", st, OPENMED_BAD_INPUT, err, "config_json is NULL");
    snprintf(req, sizeof req, "{\"runs\":[\"%s\"],\"bogus\":1}", a);
    st = openmed_select(req, &out, &err);
    expect_status("select unknown field", st, OPENMED_BAD_INPUT, err, "bogus");
    snprintf(req, sizeof req, "{\"runs\":[\"%s\",\"%s\"],\"gold\":\"%s\",\"confidence\":2}", a, b, gold);
    st = openmed_select(req, &out, &err);
    expect_status("select bad confidence", st, OPENMED_BAD_INPUT, err, "confidence");
    snprintf(req, sizeof req, "{\"runs\":[\"%s\",\"%s/nope\"],\"gold\":\"%s\"}", a, dir, gold);
    st = openmed_select(req, &out, &err);
    expect_status("select missing run", st, OPENMED_NOT_FOUND, err, "nope");
    CHECK(out == NULL, "select: out set on failure");
}

/* ---- tagging: handle errors (tagging itself once core/tagger lands) ---- */
static void test_tag_errors(void) {
    char *out = NULL, *err = NULL;
    int st = openmed_tag(424242, "text", NULL, &out, &err);
    expect_status("tag bogus handle", st, OPENMED_NOT_FOUND, err, "not open");
    st = openmed_tag(0, "text", NULL, &out, &err);
    expect_status("tag handle 0", st, OPENMED_BAD_INPUT, err, "handle is 0");
    st = openmed_tag_batch(424242, "{\"texts\":[]}", &out, &err);
    expect_status("tag_batch bogus handle", st, OPENMED_NOT_FOUND, err, "not open");
    st = openmed_tagger_close(424242, &err);
    expect_status("tagger_close bogus", st, OPENMED_NOT_FOUND, err, "not open");
}

/* ---- merge + export: the tiny BERT fixture and its adapter to ONNX ---- */
static void test_export(void) {
    char tmpl[] = "/tmp/openmed_capi_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL, "mkdtemp");
    if (!dir) return;
    char req[8192], *out = NULL, *err = NULL;
    /* merge the fixture's LoRA adapter, then export the merged folder */
    snprintf(req, sizeof req, "{\"base\":\"%s/fixtures/bert\",\"adapter\":\"%s/fixtures/bert/adapter\",\"out\":\"%s/merged\"}",
             shared_dir, shared_dir, dir);
    int st = openmed_merge(req, &out, &err);
    expect_status("merge", st, OPENMED_OK, err, NULL);
    if (out) {
        CHECK(strstr(out, "\"labels\":[\"O\",\"B-Disease\"") != NULL, "merge: %s", out);
        openmed_free(out);
    }
    st = openmed_merge("{\"base\":\"x\"}", &out, &err);
    expect_status("merge missing fields", st, OPENMED_BAD_INPUT, err, "required");
    snprintf(req, sizeof req, "{\"model\":\"%s/merged\",\"out\":\"%s/onnx_out\"}", dir, dir);
    st = openmed_export_onnx(req, &out, &err);
    expect_status("export_onnx", st, OPENMED_OK, err, NULL);
    if (out) {
        char path[8192];
        snprintf(path, sizeof path, "%s/onnx_out/onnx/model.onnx", dir);
        struct stat sb;
        CHECK(stat(path, &sb) == 0 && sb.st_size > 0, "no %s", path);
        CHECK(strstr(out, "\"model_file\":") != NULL, "export: %s", out);
        openmed_free(out);
    }
    st = openmed_export_onnx("{\"model\":\"/nonexistent\",\"out\":\"/tmp/x\"}", &out, &err);
    CHECK(st != OPENMED_OK, "export of a missing folder succeeded");
    if (err) openmed_free(err);
    char cmd[8300];
    test_train(dir);
    test_search(dir);
    test_select(dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* leak mode: the steady-state tokenize path and, with a model folder, the
 * tag path. With do_free = 0 the results are deliberately not freed: the
 * leak of library-allocated memory that every checker must catch. */
typedef struct {
    uint64_t tok, tg;
} leak_ctx;

static void leak_open(leak_ctx *c, const char *model_dir) {
    c->tg = 0;
    if (model_dir) {
        char cfg[2048], *err = NULL;
        snprintf(cfg, sizeof cfg, "{\"model\":\"%s\",\"backend\":\"go\"}", model_dir);
        int st = openmed_tagger_open(cfg, &c->tg, &err);
        expect_status("leak: tagger_open", st, OPENMED_OK, err, NULL);
    }
    c->tok = open_tokenizer();
}

static void leak_release(int do_free, char *p) {
    if (do_free && p) openmed_free(p);
}

static void leak_iter(leak_ctx *c, int i, int do_free) {
    char *out = NULL, *err = NULL;
    int st = openmed_tokenize(c->tok, thread_req, &out, &err);
    CHECK(st == OPENMED_OK && out != NULL, "leak loop %d: %d", i, st);
    leak_release(do_free, out);
    if (err) openmed_free(err);
    /* an error path too: its message is freed */
    out = err = NULL;
    st = openmed_tokenize(c->tok, "{bad", &out, &err);
    CHECK(st == OPENMED_BAD_INPUT && err != NULL, "leak loop %d: bad JSON", i);
    leak_release(do_free, err);
    if (c->tg) {
        out = err = NULL;
        st = openmed_tag(c->tg, "Hereditary breast cancer in BRCA1 carriers.", NULL, &out, &err);
        CHECK(st == OPENMED_OK && out != NULL, "leak loop %d: tag %d", i, st);
        leak_release(do_free, out);
        if (err) openmed_free(err);
        out = err = NULL;
        st = openmed_tag_batch(c->tg, "{\"texts\":[\"ovarian cancer\",\"colon cancer\"]}", &out, &err);
        CHECK(st == OPENMED_OK && out != NULL, "leak loop %d: tag_batch %d", i, st);
        leak_release(do_free, out);
        if (err) openmed_free(err);
    }
}

static void leak_close(leak_ctx *c) {
    if (c->tg) openmed_tagger_close(c->tg, NULL);
    openmed_tokenizer_close(c->tok, NULL);
}

static int run_leak(int n, const char *model_dir, int do_free) {
    leak_ctx c;
    leak_open(&c, model_dir);
    for (int i = 0; i < n; i++) leak_iter(&c, i, do_free);
    leak_close(&c);
    return 0;
}

/* resident set size of this process in KiB (VmRSS of /proc/self/status), or
 * -1 where it cannot be read. */
static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* rss mode: the leak loop's RSS growth must stay bounded. After n/4 warm-up
 * iterations (Go heap, caches and arenas reach their steady size) the RSS is
 * sampled, n more iterations run, and the growth per iteration must stay
 * under max_bytes_per_iter: a per-call leak of anything the size of a result
 * (hundreds of bytes) or larger exceeds it, while the Go heap's steady-state
 * fluctuation, spread over n iterations, does not. */
static int run_rss(int n, const char *model_dir, int do_free, long max_bytes_per_iter) {
    leak_ctx c;
    leak_open(&c, model_dir);
    for (int i = 0; i < n / 4; i++) leak_iter(&c, i, 1);
    long before = rss_kib();
    for (int i = 0; i < n; i++) leak_iter(&c, i, do_free);
    long after = rss_kib();
    leak_close(&c);
    CHECK(before > 0 && after > 0, "VmRSS unreadable");
    double per_iter = (double)(after - before) * 1024.0 / n;
    printf("rss: %ld KiB -> %ld KiB over %d iterations (%s): %.1f bytes/iteration (limit %ld)\n",
           before, after, n, do_free ? "results freed" : "results NOT freed, deliberate leak", per_iter, max_bytes_per_iter);
    CHECK(per_iter < (double)max_bytes_per_iter, "RSS grew %.1f bytes per iteration (limit %ld)", per_iter, max_bytes_per_iter);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_DIR [full|leak N [MODEL]|leak-nofree N [MODEL]|rss N MODEL MAX|rss-nofree N MODEL MAX|make-model DIR|selftest-leak]\n", argv[0]);
        return 2;
    }
    shared_dir = argv[1];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizers/pubmedbert-abstract", shared_dir);
    if (argc >= 3 && strcmp(argv[2], "selftest-leak") == 0) {
        char *lost = malloc(64);
        lost[0] = 'x';
        printf("leaked %p on purpose\n", (void *)lost);
        lost = NULL;
        return 0;
    }
    if (argc >= 4 && strcmp(argv[2], "make-model") == 0) {
        /* trains a tiny model into argv[3]/ner (for the valgrind tag run) */
        test_train(argv[3]);
    } else if (argc >= 4 && strcmp(argv[2], "leak") == 0) {
        run_leak(atoi(argv[3]), argc >= 5 ? argv[4] : NULL, 1);
    } else if (argc >= 4 && strcmp(argv[2], "leak-nofree") == 0) {
        run_leak(atoi(argv[3]), argc >= 5 ? argv[4] : NULL, 0);
    } else if (argc >= 6 && (strcmp(argv[2], "rss") == 0 || strcmp(argv[2], "rss-nofree") == 0)) {
        run_rss(atoi(argv[3]), argv[4], strcmp(argv[2], "rss") == 0, atol(argv[5]));
    } else {
        test_version();
        test_tokenize();
        test_evaluate();
        test_threads();
        test_jobs();
        test_tag_errors();
        test_export();
    }
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
