/* Language-model training runs: the loss falls on a small corpus; an interrupted and resumed run
 * gives the same losses, step for step, as one that was not interrupted; run directories are
 * guarded; bad data gives clear errors. */
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/train.h"
#include "rnnc/tokenizer.h"
#include "test.h"

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

static rnnc_train_opts small_opts(const char *const *data, const char *dir) {
    rnnc_train_opts o = rnnc_train_defaults();
    o.data = data;
    o.n_data = 1;
    o.tokenizer = "char";
    o.cell = RNNC_CELL_LSTM;
    o.layers = 1;
    o.hidden = 32;
    o.embed = 16;
    o.batch = 8;
    o.seq = 32;
    o.steps = 40;
    o.warmup = 5;
    o.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    o.report_every = 1;
    o.eval_every = 10;
    o.checkpoint_every = 7;
    o.eval_max_tokens = 2000;
    o.run_dir = dir;
    return o;
}

typedef struct {
    double loss[256];
    long n;
    double first_val, last_val;
    long stop_at;
    volatile sig_atomic_t *stop;
} trace;

static void record(const rnnc_train_event *e, void *ctx) {
    trace *t = ctx;
    if (e->kind == RNNC_TRAIN_PROGRESS && e->step - 1 < 256) {
        t->loss[e->step - 1] = e->loss;
        if (e->step > t->n) t->n = e->step;
        if (t->stop && e->step == t->stop_at) *t->stop = 1;
    }
    if (e->kind == RNNC_TRAIN_VALID) {
        if (isnan(t->first_val)) t->first_val = e->val_loss;
        t->last_val = e->val_loss;
    }
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
    rnnc_train_opts o = small_opts(data, dir);
    o.steps = 120;
    o.eval_every = 40;
    trace t = {.first_val = NAN};
    CHECK_EQ_LL(rnnc_train_run(&o, record, &t, NULL), RNNC_OK);
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
    CHECK_EQ_LL(rnnc_train_run(&o, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "holds another run") != NULL);
}

static void test_exact_resume(void) {
    char corpus[128], a[128], b[128];
    snprintf(corpus, sizeof corpus, "%s/corpus2.txt", tmpdir);
    snprintf(a, sizeof a, "%s/straight", tmpdir);
    snprintf(b, sizeof b, "%s/interrupted", tmpdir);
    write_corpus(corpus, 12000, 2);
    const char *data[] = {corpus};
    /* Dropout in a 2-layer GRU so the RNG state matters too; enough steps to wrap an epoch. */
    rnnc_train_opts o = small_opts(data, a);
    o.cell = RNNC_CELL_GRU;
    o.layers = 2;
    o.dropout = 0.3f;
    o.hidden = 16;
    o.steps = 130;
    trace full = {.first_val = NAN};
    CHECK_EQ_LL(rnnc_train_run(&o, record, &full, NULL), RNNC_OK);
    CHECK_EQ_LL(full.n, 130);

    volatile sig_atomic_t stop = 0;
    trace part = {.first_val = NAN, .stop = &stop, .stop_at = 23};
    o.run_dir = b;
    CHECK_EQ_LL(rnnc_train_run(&o, record, &part, &stop), RNNC_ERR_INTERRUPTED);
    CHECK(strstr(rnnc_last_error(), "--resume") != NULL);
    CHECK_EQ_LL(part.n, 23);
    stop = 0;
    part.stop_at = 77; /* interrupt the resumed run too */
    CHECK_EQ_LL(rnnc_train_resume(b, NULL, record, &part, &stop), RNNC_ERR_INTERRUPTED);
    stop = 0;
    part.stop = NULL;
    CHECK_EQ_LL(rnnc_train_resume(b, NULL, record, &part, &stop), RNNC_OK);
    CHECK_EQ_LL(part.n, 130);
    int differ = 0;
    for (int i = 0; i < 130; i++) differ += full.loss[i] != part.loss[i];
    CHECK_EQ_LL(differ, 0);
    CHECK(full.last_val == part.last_val);
    /* Both final models are bit-identical. */
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    unsigned char *da, *db;
    size_t la, lb;
    CHECK_EQ_LL(rnnc_read_file(pa, &da, &la), RNNC_OK);
    CHECK_EQ_LL(rnnc_read_file(pb, &db, &lb), RNNC_OK);
    CHECK(la == lb && memcmp(da, db, la) == 0);
    free(da);
    free(db);
    /* The metrics log of the interrupted run reads back as the straight run's. */
    rnnc_metrics_series sa = {0}, sb = {0};
    CHECK_EQ_LL(rnnc_metrics_read(a, &sa), RNNC_OK);
    CHECK_EQ_LL(rnnc_metrics_read(b, &sb), RNNC_OK);
    CHECK_EQ_LL(sa.n, sb.n);
    int rows_differ = 0;
    for (size_t i = 0; i < sa.n && i < sb.n; i++)
        rows_differ += sa.rows[i].step != sb.rows[i].step ||
                       (sa.rows[i].train_loss != sb.rows[i].train_loss && !isnan(sa.rows[i].train_loss)) ||
                       (sa.rows[i].val_loss != sb.rows[i].val_loss && !isnan(sa.rows[i].val_loss));
    CHECK_EQ_LL(rows_differ, 0);
    rnnc_metrics_series_free(&sa);
    rnnc_metrics_series_free(&sb);
    /* Resuming with a larger budget trains further. */
    rnnc_train_opts more = rnnc_train_defaults();
    more.steps = 135;
    trace ext = {.first_val = NAN};
    CHECK_EQ_LL(rnnc_train_resume(b, &more, record, &ext, NULL), RNNC_OK);
    CHECK_EQ_LL(ext.n, 135);
}

static void test_bad_data(void) {
    char empty[128], tiny[128], dir[128];
    snprintf(empty, sizeof empty, "%s/empty.txt", tmpdir);
    snprintf(tiny, sizeof tiny, "%s/tiny.txt", tmpdir);
    snprintf(dir, sizeof dir, "%s/bad", tmpdir);
    fclose(fopen(empty, "w"));
    write_corpus(tiny, 200, 3);
    const char *d1[] = {empty};
    rnnc_train_opts o = small_opts(d1, dir);
    CHECK_EQ_LL(rnnc_train_run(&o, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "empty") != NULL);
    const char *d2[] = {"/nonexistent/corpus.txt"};
    o.data = d2;
    CHECK_EQ_LL(rnnc_train_run(&o, NULL, NULL, NULL), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/corpus.txt") != NULL);
    const char *d3[] = {tiny};
    o.data = d3;
    CHECK(rnnc_train_run(&o, NULL, NULL, NULL) != RNNC_OK);
    CHECK_MSG(strstr(rnnc_last_error(), "batch") != NULL || strstr(rnnc_last_error(), "seq") != NULL, "%s", rnnc_last_error());
    o.steps = 0;
    CHECK_EQ_LL(rnnc_train_run(&o, NULL, NULL, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "budget") != NULL);
    /* The failed starts wrote nothing, so the directory they created is gone again. */
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK(rnnc_train_resume(dir, NULL, NULL, NULL, NULL) != RNNC_OK);
    CHECK(strstr(rnnc_last_error(), "no such run directory") != NULL);
    /* Resuming a directory without a checkpoint names the file. */
    CHECK_EQ_LL(mkdir(dir, 0777), 0);
    CHECK(rnnc_train_resume(dir, NULL, NULL, NULL, NULL) != RNNC_OK);
    CHECK(strstr(rnnc_last_error(), "no checkpoint.safetensors to resume") != NULL);
    rmdir(dir);
}

static void test_lr_schedule(void) {
    rnnc_train_opts o = rnnc_train_defaults();
    o.optim.lr = 1.0;
    o.warmup = 10;
    o.min_lr_ratio = 0.1;
    CHECK_NEAR(rnnc_train_lr(&o, 0, 110), 0.1, 1e-12, 0);
    CHECK_NEAR(rnnc_train_lr(&o, 9, 110), 1.0, 1e-12, 0);
    CHECK_NEAR(rnnc_train_lr(&o, 10, 110), 1.0, 1e-12, 0);
    CHECK_NEAR(rnnc_train_lr(&o, 60, 110), 0.55, 1e-12, 0);
    CHECK_NEAR(rnnc_train_lr(&o, 110, 110), 0.1, 1e-12, 0);
    CHECK_NEAR(rnnc_train_lr(&o, 500, 0), 1.0, 1e-12, 0); /* unknown length: constant after warm-up */
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
    rnnc_train_opts o = small_opts(data, d1);
    o.steps = 1;
    trace t1 = {.first_val = NAN}, t2 = {.first_val = NAN};
    CHECK_EQ_LL(rnnc_train_run(&o, record, &t1, NULL), RNNC_OK);
    o.run_dir = d2;
    o.unigram_bias = false;
    CHECK_EQ_LL(rnnc_train_run(&o, record, &t2, NULL), RNNC_OK);
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
    RUN(test_bad_data);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_report();
}
