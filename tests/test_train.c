/* Training runs: the LM's loss falls on a small corpus; an interrupted and resumed run of every
 * task (lm, seq2seq, classify, tag, forecast) gives the same losses, step for step, and the same
 * model files as one that was not interrupted; run directories are guarded; bad data gives clear
 * errors. */
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/train.h"
#include "rnnc/tokenizer.h"
#include "test.h"
#include "train_tasks.h"

#include "core/bigmem.h"

static char tmpdir[64];

/* A small corpus with learnable structure: sentences from a tiny grammar. */
static void write_corpus(const char *path, size_t bytes, uint64_t seed) {
    static const char *subj[] = {"the cat", "a dog", "my friend", "the old man", "she", "he"};
    static const char *verb[] = {"sees", "likes", "walks to", "runs past", "finds"};
    static const char *obj[] = {"the house", "a tree", "the river", "her garden", "the market"};
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    FILE *f = fopen(path, "w");
    size_t n = 0;
    while (n < bytes) {
        n += (size_t)fprintf(f, "%s %s %s. ", subj[rnnc_rng_below(&r, 6)], verb[rnnc_rng_below(&r, 5)],
                             obj[rnnc_rng_below(&r, 5)]);
        if (rnnc_rng_below(&r, 8) == 0) n += (size_t)fprintf(f, "\n");
    }
    fclose(f);
}

/* A run of the LM task: its options and the run's. */
typedef struct {
    rnnc_lm_task_opts t;
    rnnc_run_opts r;
} lm_cfg;

static lm_cfg small_cfg(const char *const *data, const char *dir) {
    lm_cfg c = {rnnc_lm_task_defaults(), rnnc_run_defaults()};
    c.t.data = data;
    c.t.n_data = 1;
    c.t.tokenizer = "char";
    c.t.cell = RNNC_CELL_LSTM;
    c.t.layers = 1;
    c.t.hidden = 32;
    c.t.embed = 16;
    c.t.batch = 8;
    c.t.seq = 32;
    c.t.eval_max_tokens = 2000;
    c.r.steps = 40;
    c.r.warmup = 5;
    c.r.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    c.r.log_every = 1;
    c.r.eval_every = 10;
    c.r.checkpoint_every = 7;
    c.r.run_dir = dir;
    return c;
}

typedef struct {
    double loss[256];
    long n;
    double first_val, last_val;
    long stop_at;
    volatile sig_atomic_t *stop;
    double started_elapsed, last_elapsed; /* the last start event's elapsed, and the last step's */
} trace;

static void record(const rnnc_run_event *e, void *ctx) {
    trace *t = ctx;
    if (e->kind == RNNC_RUN_STARTED) t->started_elapsed = e->elapsed;
    if (e->kind == RNNC_RUN_PROGRESS) t->last_elapsed = e->elapsed;
    if (e->kind == RNNC_RUN_PROGRESS && e->step - 1 < 256) {
        t->loss[e->step - 1] = e->loss;
        if (e->step > t->n) t->n = e->step;
        if (t->stop && e->step == t->stop_at) *t->stop = 1;
    }
    if (e->kind == RNNC_RUN_VALID) {
        if (isnan(t->first_val)) t->first_val = e->valid->score[0];
        t->last_val = e->valid->score[0];
    }
}

/* Makes the task and runs it: the handful of calls a C program needs. */
static rnnc_status run_lm(const lm_cfg *c, rnnc_run_callback cb, void *ctx, volatile sig_atomic_t *stop) {
    rnnc_task *t;
    rnnc_status s = rnnc_lm_task_new(&t, &c->t, c->r.seed);
    return s ? s : rnnc_run_start(&c->r, t, cb, ctx, stop);
}

static bool exists(const char *dir, const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void test_loss_falls_and_files(void) {
    char corpus[128], dir[128];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", tmpdir);
    snprintf(dir, sizeof dir, "%s/run1", tmpdir);
    write_corpus(corpus, 60000, 1);
    const char *data[] = {corpus};
    lm_cfg o = small_cfg(data, dir);
    o.r.steps = 120;
    o.r.eval_every = 40;
    trace t = {.first_val = NAN};
    /* a cached temporary from before the run (none under ASan, whose cache is off) is given back
     * with the run's own when the run ends (its task frees the model, which trims the cache) */
    rnnc_scratch_free(rnnc_scratch_alloc((size_t)1 << 20));
    const int before = rnnc_scratch_cached();
    CHECK_EQ_LL(before, TEST_SCRATCH_CACHE);
    CHECK_EQ_LL(run_lm(&o, record, &t, NULL), RNNC_OK);
    CHECK_MSG(rnnc_scratch_cached() == 0, "the run ended with %d cached temporaries (%d before it)",
              rnnc_scratch_cached(), before);
    CHECK_EQ_LL(t.n, 120);
    CHECK_MSG(t.last_val < t.first_val - 0.3, "validation loss %.3f -> %.3f", t.first_val, t.last_val);
    CHECK_MSG(t.loss[119] < t.loss[0] - 1.0, "training loss %.3f -> %.3f", t.loss[0], t.loss[119]);
    CHECK(exists(dir, "model.safetensors") && exists(dir, "best.safetensors"));
    CHECK(exists(dir, "checkpoint.safetensors") && exists(dir, "metrics.jsonl"));
    /* The model file carries its tokenizer. */
    char p[256];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    rnnc_lm *m = NULL;
    CHECK_EQ_LL(rnnc_lm_load(&m, p), RNNC_OK);
    if (m) {
        const char *tj = rnnc_lm_get_meta(m, "rnnc.tokenizer");
        CHECK(tj != NULL);
        rnnc_tokenizer *tok = NULL;
        if (tj) CHECK_EQ_LL(rnnc_tokenizer_from_json(&tok, tj, strlen(tj)), RNNC_OK);
        if (tok) CHECK_EQ_LL(rnnc_tokenizer_n_vocab(tok), m->c.vocab);
        rnnc_tokenizer_free(tok);
        rnnc_lm_free(m);
    }
    /* The metrics log holds every training report and the validations. */
    rnnc_metrics_series ser = {0};
    CHECK_EQ_LL(rnnc_metrics_read(dir, &ser), RNNC_OK);
    CHECK_EQ_LL(ser.n, 120); /* one row per step; validations share their step's row */
    rnnc_metrics_series_free(&ser);
    /* A second run into the same directory is refused without --force. */
    CHECK_EQ_LL(run_lm(&o, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "holds another run") != NULL);
    /* The model files record the ids never seen in training, for rnnc similar: the reserved ids
     * (<pad> <bos> <eos> <unk>, 0-3) and the char tokenizer's 256 byte fallbacks (4-259) never
     * occur in this ASCII text. */
    rnnc_lm *m2 = NULL;
    CHECK_EQ_LL(rnnc_lm_load(&m2, p), RNNC_OK);
    const char *unseen = m2 ? rnnc_lm_get_meta(m2, "rnnc.unseen_ids") : NULL;
    CHECK_MSG(unseen && strncmp(unseen, "[[0,259]", 8) == 0, "rnnc.unseen_ids: %s", unseen ? unseen : "(none)");
    rnnc_lm_free(m2);
}

static bool same_file(const char *dir_a, const char *dir_b, const char *name) {
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/%s", dir_a, name);
    snprintf(pb, sizeof pb, "%s/%s", dir_b, name);
    unsigned char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    bool same = rnnc_read_file(pa, &da, &la) == RNNC_OK && rnnc_read_file(pb, &db, &lb) == RNNC_OK && la == lb &&
                memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

/* The one test of exact resume, for every task: a run stopped (as by Ctrl-C) at stop1, resumed,
 * stopped again at stop2 and resumed to the end takes the same steps, with the same losses and
 * validations, and ends with the same model file and metrics, as a run never stopped. */
static void exact_resume(const char *name, make_task_fn make, const void *opts, rnnc_run_opts r, long stop1, long stop2) {
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/%s_straight", tmpdir, name);
    snprintf(b, sizeof b, "%s/%s_interrupted", tmpdir, name);
    long steps = r.steps;
    rnnc_task *t;
    trace full = {.first_val = NAN};
    r.run_dir = a;
    CHECK_EQ_LL(make(&t, opts, r.seed), RNNC_OK);
    CHECK_EQ_LL(rnnc_run_start(&r, t, record, &full, NULL), RNNC_OK);
    CHECK_EQ_LL(full.n, steps);

    volatile sig_atomic_t stop = 0;
    trace part = {.first_val = NAN, .stop = &stop, .stop_at = stop1};
    r.run_dir = b;
    CHECK_EQ_LL(make(&t, opts, r.seed), RNNC_OK);
    CHECK_EQ_LL(rnnc_run_start(&r, t, record, &part, &stop), RNNC_ERR_INTERRUPTED);
    char want[64];
    snprintf(want, sizeof want, "stopped at step %ld", stop1);
    CHECK_MSG(strstr(rnnc_last_error(), want) != NULL, "%s", rnnc_last_error());
    CHECK_EQ_LL(part.n, stop1);
    CHECK(exists(b, "model.safetensors")); /* a stopped run leaves a usable model beside its checkpoint */
    CHECK(part.started_elapsed == 0 && part.last_elapsed > 0);
    double stopped_at = part.last_elapsed;
    stop = 0;
    part.stop_at = stop2; /* interrupt the resumed run too */
    CHECK_EQ_LL(rnnc_run_resume(b, NULL, record, &part, &stop), RNNC_ERR_INTERRUPTED);
    /* the resume starts from the time the checkpoint stored (it said 00:00 elapsed) */
    CHECK_MSG(part.started_elapsed >= stopped_at, "%s: the resume started at %g s elapsed, the stopped run had %g s", name,
              part.started_elapsed, stopped_at);
    stop = 0;
    part.stop = NULL;
    CHECK_EQ_LL(rnnc_run_resume(b, NULL, record, &part, &stop), RNNC_OK);
    CHECK_EQ_LL(part.n, steps);
    int differ = 0;
    for (long i = 0; i < steps && i < 256; i++) differ += full.loss[i] != part.loss[i];
    CHECK_EQ_LL(differ, 0);
    CHECK(full.last_val == part.last_val);
    CHECK_MSG(same_file(a, b, "model.safetensors"), "%s: the final models differ", name);
    CHECK_MSG(same_file(a, b, "best.safetensors"), "%s: the best models differ", name);
    /* The metrics log of the interrupted run reads back as the straight run's. */
    rnnc_metrics_series sa = {0}, sb = {0};
    CHECK_EQ_LL(rnnc_metrics_read(a, &sa), RNNC_OK);
    CHECK_EQ_LL(rnnc_metrics_read(b, &sb), RNNC_OK);
    CHECK_EQ_LL(sa.n, sb.n);
    int rows_differ = 0, bad_norm = 0;
#define SAME(f) (sa.rows[i].f == sb.rows[i].f || (isnan(sa.rows[i].f) && isnan(sb.rows[i].f)))
    for (size_t i = 0; i < sa.n && i < sb.n; i++) {
        /* the gradient-norm report's sums cross the stops (a stop between two reports) */
        rows_differ += sa.rows[i].step != sb.rows[i].step || !SAME(train_loss) || !SAME(val_loss) || !SAME(grad_norm) ||
                       !SAME(clip_share);
        /* every training report has the mean norm, and with --clip (here 5) the clipped share */
        if (!isnan(sa.rows[i].train_loss))
            bad_norm += !(sa.rows[i].grad_norm > 0) || !(sa.rows[i].clip_share >= 0 && sa.rows[i].clip_share <= 1);
    }
#undef SAME
    CHECK_EQ_LL(rows_differ, 0);
    CHECK_MSG(bad_norm == 0, "%s: %d training reports without a gradient norm or clipped share", name, bad_norm);
    rnnc_metrics_series_free(&sa);
    rnnc_metrics_series_free(&sb);
    /* Resuming with a larger budget trains further; a budget already spent is an error. */
    rnnc_run_change more = rnnc_run_change_none();
    more.steps = steps + 5;
    trace ext = {.first_val = NAN};
    /* a resume with a thread count of its caller's choosing leaves the process's count as it was */
    const int threads_before = omp_get_max_threads();
    more.threads = threads_before + 1;
    CHECK_EQ_LL(rnnc_run_resume(b, &more, record, &ext, NULL), RNNC_OK);
    CHECK_EQ_LL(omp_get_max_threads(), threads_before);
    more.threads = 0;
    CHECK_EQ_LL(ext.n, steps + 5);
    more.steps = steps - 10;
    CHECK_EQ_LL(rnnc_run_resume(b, &more, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "budget is used up") != NULL);
    /* a budget that is not a number, or infinite, is refused, not read as "unset" (NaN) or
     * recorded as a budget no checkpoint can hold */
    rnnc_run_change bad = rnnc_run_change_none();
    bad.seconds = NAN;
    CHECK_EQ_LL(rnnc_run_resume(b, &bad, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "must be finite") != NULL);
    bad = rnnc_run_change_none();
    bad.epochs = INFINITY;
    CHECK_EQ_LL(rnnc_run_resume(b, &bad, NULL, NULL, NULL), RNNC_ERR_ARG);
}

static void test_exact_resume(void) {
    char corpus[128];
    snprintf(corpus, sizeof corpus, "%s/corpus2.txt", tmpdir);
    write_corpus(corpus, 12000, 2);
    const char *data[] = {corpus};
    /* Dropout in a 2-layer GRU so the RNG state matters too; enough steps to wrap an epoch. */
    lm_cfg o = small_cfg(data, NULL);
    o.t.cell = RNNC_CELL_GRU;
    o.t.layers = 2;
    o.t.dropout = 0.3f;
    o.t.hidden = 16;
    o.r.steps = 130;
    exact_resume("lm", make_lm, &o.t, o.r, 23, 77);

    /* seq2seq: reversal pairs, scheduled sampling and dropout (the RNG), several epochs (each
     * visits the batches in its own order), validations by greedy decoding. */
    char tsv[128], dev[128];
    snprintf(tsv, sizeof tsv, "%s/pairs.tsv", tmpdir);
    snprintf(dev, sizeof dev, "%s/dev.tsv", tmpdir);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 9);
    write_reverse_pairs(tsv, dev, 300, 40, &rng);
    rnnc_s2s_task_opts so = rnnc_s2s_task_defaults();
    so.data = tsv;
    so.valid = dev;
    so.model.hidden = 16;
    so.model.embed = 8;
    so.model.layers = 2;
    so.model.dropout = 0.2f;
    so.batch = 16;
    so.teacher_forcing = 0.7;
    rnnc_run_opts r = rnnc_run_defaults();
    r.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    r.warmup = 5;
    r.log_every = 3;
    r.eval_every = 10;
    r.checkpoint_every = 7;
    r.steps = 60; /* 17 batches an epoch: the stops fall mid-epoch */
    exact_resume("s2s", make_s2s, &so, r, 12, 40);
}

/* Tiny data for the classify, tag and forecast tasks (write_seq_data). */
static const char *const cls_words[] = {"good", "bad", "fine", "awful", "the", "film", "was", "very", "quite", "plot"};

/* classify: "pos" or "neg" by which of good/fine or bad/awful a text holds more of, lengths 2-9
 * (so the batches, sorted by length in chunks, are ragged). */
static void write_classify(const char *path, int n, uint64_t seed) {
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++) {
        int len = 2 + (int)rnnc_rng_below(&r, 8), score = 0;
        char text[128] = "";
        for (int k = 0; k < len; k++) {
            int w = (int)rnnc_rng_below(&r, 10);
            score += w == 0 || w == 2 ? 1 : w == 1 || w == 3 ? -1 : 0;
            size_t l = strlen(text);
            snprintf(text + l, sizeof text - l, "%s%s", k ? " " : "", cls_words[w]);
        }
        fprintf(f, "%s\t%s\n", score > 0 ? "pos" : score < 0 ? "neg" : "neutral", text);
    }
    fclose(f);
}

/* tag: BIO spans of names (capitalised words) among lower-case ones. */
static void write_tag(const char *path, int n, uint64_t seed) {
    static const char *const lower[] = {"we", "met", "in", "at", "and", "saw"}, *const upper[] = {"Ann", "Bo", "Lee", "Paris", "Rome"};
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++) {
        int len = 2 + (int)rnnc_rng_below(&r, 8);
        char text[160] = "", tags[160] = "";
        bool in_name = false;
        for (int k = 0; k < len; k++) {
            bool name = rnnc_rng_below(&r, 3) == 0;
            const char *w = name ? upper[rnnc_rng_below(&r, 5)] : lower[rnnc_rng_below(&r, 6)];
            size_t lt = strlen(text), lg = strlen(tags);
            snprintf(text + lt, sizeof text - lt, "%s%s", k ? " " : "", w);
            snprintf(tags + lg, sizeof tags - lg, "%s%s", k ? " " : "", name ? (in_name ? "I-PER" : "B-PER") : "O");
            in_name = name;
        }
        fprintf(f, "%s\t%s\n", text, tags);
    }
    fclose(f);
}

/* forecast: a weekly pattern plus a slow wave and noise; the weekday is known ahead, the
 * temperature only up to now. */
static void write_series(const char *path, int rows, uint64_t seed) {
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    FILE *f = fopen(path, "w");
    fprintf(f, "date,births,weekday,temp\n");
    for (int i = 0; i < rows; i++) {
        int dow = i % 7;
        double noise = (double)rnnc_rng_below(&r, 1000) / 1000.0 - 0.5;
        double y = 100 + 20 * (dow >= 5 ? -1 : 0.3) + 5 * sin(i / 15.0) + 3 * noise;
        fprintf(f, "day%d,%.3f,%d,%.2f\n", i, y, dow, 10 + 8 * sin(i / 30.0) + noise);
    }
    fclose(f);
}

/* The sequence tasks resume exactly too: classify bidirectional with output dropout and class
 * weights, tag with dropout between two layers, forecast with known and unknown covariates; each
 * over several epochs and stopped mid-epoch (so each epoch's order must come back after a resume),
 * the second time at a validation (put off by the stop and made first by the resume). */
static void test_exact_resume_seq(void) {
    char data[3][128], dev[2][128];
    const char *name[3] = {"classify", "tag", "forecast"};
    for (int k = 0; k < 3; k++) snprintf(data[k], sizeof data[k], "%s/%s_train.%s", tmpdir, name[k], k == 2 ? "csv" : "tsv");
    for (int k = 0; k < 2; k++) snprintf(dev[k], sizeof dev[k], "%s/%s_dev.tsv", tmpdir, name[k]);
    write_classify(data[0], 200, 11);
    write_classify(dev[0], 40, 12);
    write_tag(data[1], 150, 13);
    write_tag(dev[1], 30, 14);
    write_series(data[2], 260, 15);
    rnnc_run_opts r = rnnc_run_defaults();
    r.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    r.warmup = 5;
    r.log_every = 3;
    r.eval_every = 10;
    r.checkpoint_every = 7;
    r.steps = 50;

    rnnc_seq_task_opts c = rnnc_seq_task_defaults(RNNC_SEQ_CLASSIFY);
    c.data = data[0];
    c.valid = dev[0];
    c.tokenizer = "word:50";
    c.model.hidden = 12;
    c.model.embed = 8;
    c.model.bidirectional = true;
    c.model.pool = RNNC_POOL_FINAL;
    c.model.output_dropout = 0.3f;
    c.class_weight = "balanced";
    c.batch = 16; /* 13 batches an epoch, the last one short */
    exact_resume("classify", make_seq, &c, r, 12, 30);

    rnnc_seq_task_opts g = rnnc_seq_task_defaults(RNNC_SEQ_TAG);
    g.data = data[1];
    g.valid = dev[1];
    g.model.hidden = 12;
    g.model.embed = 8;
    g.model.layers = 2;
    g.model.dropout = 0.3f;
    g.model.cell = RNNC_CELL_GRU;
    g.batch = 16; /* 10 batches an epoch */
    rnnc_run_opts ra = r;
    ra.ema = 0.95; /* with the weight average: the checkpoint carries it (train.ema) */
    exact_resume("tag", make_seq, &g, ra, 12, 30);

    rnnc_seq_task_opts f = rnnc_seq_task_defaults(RNNC_SEQ_FORECAST);
    f.data = data[2];
    f.target = "births";
    f.known = "weekday";
    f.covariates = "temp";
    f.context = 14;
    f.horizon = 3;
    f.season = 7;
    f.valid_last = 30;
    f.holdout = 20;
    f.model.hidden = 12;
    f.model.output_dropout = 0.2f;
    f.batch = 32; /* 193 windows: 7 batches an epoch */
    exact_resume("forecast", make_seq, &f, r, 12, 30);
}

/* The weight average (opts.ema): the test keeps its own average of the raw weights the run steps
 * (read in the progress events, which come after each step's update), in the documented order;
 * model.safetensors and the end's best.safetensors hold that average, the checkpoint keeps the raw
 * weights as its model and the average as train.ema, "rnnc.training" says so, and the average does
 * not change the training itself (the same losses as without it). */
typedef struct {
    rnnc_task *t;
    float *avg, *raw;
    size_t np; /* the task's parameters (the run frees the task when it ends) */
    double ema;
    double loss[64];
    long n;
} ema_trace;

static void ema_record(const rnnc_run_event *e, void *ctx) {
    ema_trace *u = ctx;
    const size_t np = u->t->n_params;
    if (e->kind == RNNC_RUN_STARTED && u->ema > 0) memcpy(u->avg, u->t->params, np * sizeof(float));
    if (e->kind != RNNC_RUN_PROGRESS) return;
    if (e->step - 1 < 64) u->loss[e->step - 1] = e->loss;
    u->n = e->step;
    memcpy(u->raw, u->t->params, np * sizeof(float));
    if (!(u->ema > 0)) return;
    const double n = (double)e->step, d = fmin(u->ema, (1.0 + n) / (10.0 + n));
    const float a = (float)d, b = (float)(1.0 - d);
    for (size_t i = 0; i < np; i++) u->avg[i] = a * u->avg[i] + b * u->t->params[i];
}

static void test_ema(void) {
    char corpus[128], dir[2][128], path[512]; /* GCC at -Os sizes dir[k] as the whole array */
    snprintf(corpus, sizeof corpus, "%s/corpus_ema.txt", tmpdir);
    write_corpus(corpus, 20000, 4);
    const char *data[] = {corpus};
    ema_trace tr[2];
    for (int k = 0; k < 2; k++) {
        snprintf(dir[k], sizeof dir[k], "%s/ema%d", tmpdir, k);
        lm_cfg o = small_cfg(data, dir[k]);
        o.r.steps = 30;
        o.r.eval_every = 0; /* one validation, at the end: the best model is the last average */
        o.r.checkpoint_every = 1000;
        o.r.ema = k == 0 ? 0.0 : 0.9;
        rnnc_task *t;
        CHECK_EQ_LL(rnnc_lm_task_new(&t, &o.t, o.r.seed), RNNC_OK);
        memset(&tr[k], 0, sizeof tr[k]);
        tr[k].t = t;
        tr[k].np = t->n_params;
        tr[k].ema = o.r.ema;
        tr[k].avg = malloc(t->n_params * sizeof(float));
        tr[k].raw = malloc(t->n_params * sizeof(float));
        CHECK_EQ_LL(rnnc_run_start(&o.r, t, ema_record, &tr[k], NULL), RNNC_OK);
        tr[k].t = NULL;
        CHECK_EQ_LL(tr[k].n, 30);
    }
    int differ = 0;
    for (int i = 0; i < 30; i++) differ += tr[0].loss[i] != tr[1].loss[i];
    CHECK_MSG(differ == 0, "the weight average changed %d of the training losses", differ);
    const size_t np = tr[1].np;
    rnnc_lm *m = NULL;
    snprintf(path, sizeof path, "%s/model.safetensors", dir[1]);
    CHECK_EQ_LL(rnnc_lm_load(&m, path), RNNC_OK);
    if (m) {
        CHECK_EQ_LL(m->n_params, np);
        double worst = 0, moved = 0;
        for (size_t i = 0; i < np && i < m->n_params; i++) {
            worst = fmax(worst, fabs(m->params[i] - tr[1].avg[i]) / (1e-3 + fabs(tr[1].avg[i])));
            moved = fmax(moved, fabs(tr[1].raw[i] - tr[1].avg[i]));
        }
        CHECK_MSG(worst < 1e-5, "model.safetensors is off the average by %g (relative)", worst);
        CHECK_MSG(moved > 1e-4, "the average equals the raw weights (largest difference %g)", moved);
        const char *info = rnnc_lm_get_meta(m, "rnnc.training");
        CHECK_MSG(info && strstr(info, "\"ema\":0.9"), "rnnc.training: %s", info ? info : "(none)");
        rnnc_lm_free(m);
    }
    {   /* the end's validation saved the same average as the best model */
        char pb[256];
        snprintf(pb, sizeof pb, "%s/best.safetensors", dir[1]);
        rnnc_lm *b = NULL;
        CHECK_EQ_LL(rnnc_lm_load(&b, pb), RNNC_OK);
        if (b) {
            int off = 0;
            CHECK_EQ_LL(b->n_params, np);
            for (size_t i = 0; i < b->n_params && i < np; i++) off += b->params[i] != tr[1].avg[i] &&
                                                            fabs(b->params[i] - tr[1].avg[i]) > 1e-5 * (1e-3 + fabs(tr[1].avg[i]));
            CHECK_MSG(off == 0, "best.safetensors: %d weights off the average", off);
            rnnc_lm_free(b);
        }
    }
    /* the checkpoint: raw weights as the model, the average as train.ema; without --ema, none */
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir[k]);
        rnnc_safetensors st;
        CHECK_EQ_LL(rnnc_st_load(&st, path), RNNC_OK);
        CHECK((rnnc_st_find(&st, "train.ema") != NULL) == (k == 1));
        const char *ro = rnnc_st_meta(&st, "rnnc.run.options");
        CHECK_MSG(ro && strstr(ro, k ? "\"ema\":0.9" : "\"ema\":0"), "%s", ro ? ro : "(none)");
        if (k == 1) {
            float *e = malloc(np * sizeof(float));
            int64_t n = (int64_t)np;
            CHECK_EQ_LL(rnnc_st_read_f32(&st, "train.ema", 1, &n, e), RNNC_OK);
            int off = 0;
            for (size_t i = 0; i < np; i++) off += fabs(e[i] - tr[1].avg[i]) > 1e-5 * (1e-3 + fabs(tr[1].avg[i]));
            CHECK_EQ_LL(off, 0);
            free(e);
        }
        rnnc_st_free(&st);
        rnnc_lm *c = NULL;
        CHECK_EQ_LL(rnnc_lm_load(&c, path), RNNC_OK);
        if (c) { /* the checkpoint's model tensors are the raw weights, bit for bit */
            CHECK_EQ_LL(c->n_params, tr[k].np);
            CHECK(c->n_params == tr[k].np && memcmp(c->params, tr[k].raw, c->n_params * sizeof(float)) == 0);
            rnnc_lm_free(c);
        }
    }
    /* a crafted checkpoint: the options ask for the average, but train.ema is missing or the wrong
     * length; the resume refuses it, naming the tensor */
    for (int mode = 0; mode < 2; mode++) {
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir[1]);
        rnnc_safetensors st;
        CHECK_EQ_LL(rnnc_st_load(&st, path), RNNC_OK);
        rnnc_st_entry *e = calloc(st.n_tensors, sizeof *e);
        const char **keys = calloc(st.n_meta, sizeof *keys), **vals = calloc(st.n_meta, sizeof *vals);
        size_t n = 0;
        for (size_t i = 0; i < st.n_tensors; i++) {
            const rnnc_st_tensor *t = &st.tensors[i];
            bool ema = strcmp(t->name, "train.ema") == 0;
            if (ema && mode == 0) continue;
            e[n] = (rnnc_st_entry){t->name, t->dtype, t->ndim, {0}, t->data};
            memcpy(e[n].shape, t->shape, sizeof t->shape);
            if (ema) e[n].shape[0] -= 1; /* one weight short */
            n++;
        }
        for (size_t i = 0; i < st.n_meta; i++) { keys[i] = st.meta_keys[i]; vals[i] = st.meta_values[i]; }
        char crafted[160], cpath[256];
        snprintf(crafted, sizeof crafted, "%s/ema_crafted%d", tmpdir, mode);
        CHECK_EQ_LL(mkdir(crafted, 0777), 0);
        snprintf(cpath, sizeof cpath, "%s/checkpoint.safetensors", crafted);
        CHECK_EQ_LL(rnnc_st_save(cpath, e, n, keys, vals, st.n_meta), RNNC_OK);
        rnnc_run_change more = rnnc_run_change_none();
        more.steps = 40;
        CHECK(rnnc_run_resume(crafted, &more, NULL, NULL, NULL) != RNNC_OK);
        CHECK_MSG(strstr(rnnc_last_error(), "train.ema") != NULL, "%s", rnnc_last_error());
        free(e);
        free(keys);
        free(vals);
        rnnc_st_free(&st);
    }
    /* bad decays */
    rnnc_run_opts o = rnnc_run_defaults();
    o.steps = 1;
    o.run_dir = dir[0];
    const double bad[] = {1.0, -0.1, NAN, 2.0, 0.9999995};
    for (int i = 0; i < 5; i++) {
        o.ema = bad[i];
        CHECK_EQ_LL(rnnc_run_opts_check(&o), RNNC_ERR_ARG);
        CHECK(strstr(rnnc_last_error(), "--ema") != NULL);
    }
    o.ema = RNNC_RUN_EMA_MAX; /* the CLI's bound, the library's and a checkpoint's are one */
    CHECK_EQ_LL(rnnc_run_opts_check(&o), RNNC_OK);
    for (int k = 0; k < 2; k++) { free(tr[k].avg); free(tr[k].raw); }
}

static void test_bad_data(void) {
    char empty[128], tiny[128], dir[128];
    snprintf(empty, sizeof empty, "%s/empty.txt", tmpdir);
    snprintf(tiny, sizeof tiny, "%s/tiny.txt", tmpdir);
    snprintf(dir, sizeof dir, "%s/bad", tmpdir);
    fclose(fopen(empty, "w"));
    write_corpus(tiny, 200, 3);
    const char *d1[] = {empty};
    lm_cfg o = small_cfg(d1, dir);
    CHECK_EQ_LL(run_lm(&o, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "empty") != NULL);
    const char *d2[] = {"/nonexistent/corpus.txt"};
    o.t.data = d2;
    CHECK_EQ_LL(run_lm(&o, NULL, NULL, NULL), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/corpus.txt") != NULL);
    const char *d3[] = {tiny};
    o.t.data = d3;
    CHECK(run_lm(&o, NULL, NULL, NULL) != RNNC_OK);
    CHECK_MSG(strstr(rnnc_last_error(), "batch") != NULL || strstr(rnnc_last_error(), "seq") != NULL, "%s", rnnc_last_error());
    o.r.steps = 0;
    CHECK_EQ_LL(rnnc_run_opts_check(&o.r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "budget") != NULL);
    /* The failed starts wrote nothing, so the directory they created is gone again. */
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK(rnnc_run_resume(dir, NULL, NULL, NULL, NULL) != RNNC_OK);
    CHECK(strstr(rnnc_last_error(), "no such run directory") != NULL);
    /* Resuming a directory without a checkpoint names the file. */
    CHECK_EQ_LL(mkdir(dir, 0777), 0);
    CHECK(rnnc_run_resume(dir, NULL, NULL, NULL, NULL) != RNNC_OK);
    CHECK(strstr(rnnc_last_error(), "no checkpoint.safetensors to resume") != NULL);
    rmdir(dir);
}

static void test_lr_schedule(void) {
    rnnc_run_opts o = rnnc_run_defaults();
    o.optim.lr = 1.0;
    o.warmup = 10;
    o.min_lr_ratio = 0.1;
    CHECK_NEAR(rnnc_run_lr(&o, 0, 110, 0), 0.1, 1e-12, 0);
    CHECK_NEAR(rnnc_run_lr(&o, 9, 110, 0), 1.0, 1e-12, 0);
    CHECK_NEAR(rnnc_run_lr(&o, 10, 110, 0), 1.0, 1e-12, 0);
    CHECK_NEAR(rnnc_run_lr(&o, 60, 110, 0), 0.55, 1e-12, 0);
    CHECK_NEAR(rnnc_run_lr(&o, 110, 110, 0), 0.1, 1e-12, 0);
    CHECK_NEAR(rnnc_run_lr(&o, 500, 0, 0), 1.0, 1e-12, 0); /* unknown length: constant after warm-up */
    o.seconds = 100; /* a time budget: the cosine follows the clock */
    CHECK_NEAR(rnnc_run_lr(&o, 500, 0, 50), 0.55, 1e-12, 0);
    o.schedule = RNNC_SCHEDULE_CONSTANT;
    CHECK_NEAR(rnnc_run_lr(&o, 60, 110, 50), 1.0, 1e-12, 0);
}

/* The output bias starts at the log unigram frequencies of the training tokens: the first step's
 * loss is the unigram cross-entropy of the corpus (within what the small random weights add),
 * while PyTorch's uniform start (--uniform-bias) begins near log |V|. */
static void test_unigram_bias(void) {
    char corpus[128], d1[128], d2[128];
    snprintf(corpus, sizeof corpus, "%s/corpus_u.txt", tmpdir);
    snprintf(d1, sizeof d1, "%s/uni", tmpdir);
    snprintf(d2, sizeof d2, "%s/unif", tmpdir);
    write_corpus(corpus, 30000, 3);
    /* the corpus is ASCII, so the char tokenizer's ids are its bytes: the unigram entropy */
    FILE *f = fopen(corpus, "rb");
    double count[256] = {0}, n = 0, h = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF) { count[c] += 1; n += 1; }
    if (f) fclose(f);
    for (int i = 0; i < 256; i++) if (count[i] > 0) h -= count[i] / n * log(count[i] / n);
    const char *data[] = {corpus};
    lm_cfg o = small_cfg(data, d1);
    o.r.steps = 1;
    trace t1 = {.first_val = NAN}, t2 = {.first_val = NAN};
    CHECK_EQ_LL(run_lm(&o, record, &t1, NULL), RNNC_OK);
    o.r.run_dir = d2;
    o.t.unigram_bias = false;
    CHECK_EQ_LL(run_lm(&o, record, &t2, NULL), RNNC_OK);
    CHECK_MSG(fabs(t1.loss[0] - h) < 0.15, "first loss %.4f, unigram entropy %.4f", t1.loss[0], h);
    CHECK_MSG(t2.loss[0] > t1.loss[0] + 1.5, "uniform start %.4f vs unigram start %.4f", t2.loss[0], t1.loss[0]);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rnnc_train_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_lr_schedule);
    RUN(test_loss_falls_and_files);
    RUN(test_unigram_bias);
    RUN(test_exact_resume);
    RUN(test_exact_resume_seq);
    RUN(test_bad_data);
    RUN(test_ema);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (!getenv("KEEP") && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_report();
}
