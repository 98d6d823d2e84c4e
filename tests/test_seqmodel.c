/* The classify / tag / forecast model (seqmodel.h): finite-difference gradient checks of every
 * head, pooling and loss (with dropout, through a fixed seed), save/load round trips, and the
 * loader's refusals of inconsistent files. PyTorch agreement: test_seq_golden.c. */
#include "rnnc/seqmodel.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "rnnc/filekind.h"
#include "rnnc/rng.h"
#include "rnnc/safetensors.h"
#include "core/bigmem.h"
#include "model/layout.h"
#include "test.h"

enum { B = 3, T = 5, V = 9, C = 3, F = 3, N = 2, K = 1 };

static rnnc_seq_model *make(rnnc_seq_kind kind, rnnc_cell cell, bool bi, int layers, rnnc_pool pool, rnnc_seq_loss loss,
                            float drop, float odrop) {
    rnnc_seq_config c = {.kind = kind, .cell = cell, .hidden = 4, .layers = layers, .bidirectional = bi, .dropout = drop,
                         .output_dropout = odrop, .pool = pool, .loss = loss};
    rnnc_seq_model *m = NULL;
    rnnc_status s;
    if (kind == RNNC_SEQ_FORECAST) {
        c.features = F;
        c.outputs = N;
        c.known = K;
        rnnc_seq_series sr = {.n_cols = F, .context = T, .season = 2, .relative = true};
        sr.name = calloc(F, sizeof *sr.name);
        sr.known = calloc(F, sizeof *sr.known);
        sr.mean = calloc(F, sizeof *sr.mean);
        sr.std = calloc(F, sizeof *sr.std);
        const char *names[F] = {"y", "k", "u"};
        for (int i = 0; i < F; i++) {
            sr.name[i] = strdup(names[i]);
            sr.mean[i] = i;
            sr.std[i] = 1.5 + i;
        }
        sr.known[1] = true;
        s = rnnc_seq_model_new(&m, &c, NULL, NULL, &sr);
        rnnc_seq_series_free(&sr);
    } else {
        c.embed = 3;
        c.outputs = C;
        c.max_len = 77; /* kept by the file (the round trip compares whole configs) */
        rnnc_s2s_vocab v;
        CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE) == RNNC_OK);
        const char *syms[] = {"a", "b", "c", "d", "e"};
        for (int i = 0; i < 5; i++) {
            uint32_t id;
            CHECK(rnnc_s2s_vocab_add(&v, syms[i], 1, &id) == RNNC_OK);
        }
        const char *labels[C] = {"x", "y", "z"};
        s = rnnc_seq_model_new(&m, &c, &v, labels, NULL);
        rnnc_s2s_vocab_free(&v);
    }
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (!m) return NULL;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 11);
    rnnc_seq_model_init(m, &rng);
    return m;
}

typedef struct {
    uint32_t ids[B * T];
    float x[B * T * F], known[B * N * K], targets[B * N];
    int lengths[B], labels[B * T];
    rnnc_seq_batch b;
} data;

static void fill(data *d, rnnc_seq_kind kind) {
    const int lens[B] = {5, 2, 4};
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 5);
    memset(d, 0, sizeof *d);
    for (int r = 0; r < B; r++) {
        d->lengths[r] = lens[r];
        for (int t = 0; t < T; t++) {
            d->ids[r * T + t] = t < lens[r] ? 4 + (uint32_t)((r * 7 + t * 3) % 5) : RNNC_S2S_PAD;
            d->labels[r * T + t] = t < lens[r] ? (r + t) % C : -1;
            for (int f = 0; f < F; f++) d->x[(r * T + t) * F + f] = rnnc_rng_normal(&rng);
        }
    }
    d->labels[1] = -1; /* a step inside a sequence without a tag */
    for (int i = 0; i < B * N * K; i++) d->known[i] = rnnc_rng_normal(&rng);
    for (int i = 0; i < B * N; i++) d->targets[i] = rnnc_rng_normal(&rng);
    d->b = (rnnc_seq_batch){.B = B, .T = T, .lengths = d->lengths};
    if (kind == RNNC_SEQ_FORECAST) {
        d->b.x = d->x;
        d->b.known = d->known;
        d->b.targets = d->targets;
    } else {
        d->b.ids = d->ids;
        d->b.labels = d->labels; /* classify reads the first B: 0, 1 (r + 0) */
        if (kind == RNNC_SEQ_CLASSIFY) {
            static int cls[B] = {2, 0, 1};
            d->b.labels = cls;
        }
    }
}

static const float weights[C] = {0.5f, 2.0f, 1.0f};

static double loss_at(rnnc_seq_model *m, rnnc_seq_ws *ws, const rnnc_seq_batch *b, float *g, uint64_t seed, bool weighted) {
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    rnnc_seq_opts o = {.training = seed != 0, .class_weight = weighted ? weights : NULL};
    double loss = 0, count = 0;
    if (rnnc_seq_forward_backward(ws, m, b, &o, g, 1.0f, seed ? &rng : NULL, NULL, &loss, &count)) return NAN;
    return loss;
}

static void gradcheck(rnnc_seq_kind kind, rnnc_cell cell, bool bi, int layers, rnnc_pool pool, rnnc_seq_loss loss,
                      float odrop, uint64_t seed, bool weighted) {
    rnnc_seq_model *m = make(kind, cell, bi, layers, pool, loss, layers > 1 ? 0.3f : 0, odrop);
    if (!m) return;
    rnnc_seq_ws *ws;
    CHECK(rnnc_seq_ws_new(&ws, m, B, T) == RNNC_OK);
    data d;
    fill(&d, kind);
    float *g = calloc(m->n_params, sizeof *g);
    CHECK(isfinite(loss_at(m, ws, &d.b, g, seed, weighted)));
    int bad = 0, checked = 0;
    size_t nt = rnnc_seq_num_tensors(m);
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_seq_tensor(m, k);
        double tensor_abs = 0;
        for (size_t i = p.offset; i < p.offset + p.size; i++) {
            float keep = m->params[i];
            double h = 1e-2;
            m->params[i] = keep + (float)h;
            double lp = loss_at(m, ws, &d.b, NULL, seed, weighted);
            m->params[i] = keep - (float)h;
            double lm = loss_at(m, ws, &d.b, NULL, seed, weighted);
            m->params[i] = keep;
            double fd = (lp - lm) / (2 * h);
            tensor_abs += fabs(g[i]);
            checked++;
            /* MAE and MAX are piecewise linear: a kink within h of the point breaks the difference;
             * the tolerance stays tight and the few such elements are reported */
            if (fabs(fd - g[i]) > 2e-3 + 2e-2 * fabs(fd)) {
                if (bad < 5) fprintf(stderr, "  %s[%zu]: fd %.6g analytic %.6g\n", p.name, i - p.offset, fd, g[i]);
                bad++;
            }
        }
        CHECK_MSG(tensor_abs > 0, "%s: all-zero gradient", p.name);
    }
    int allowed = (loss == RNNC_SEQ_LOSS_MAE || pool == RNNC_POOL_MAX) ? checked / 50 : 0;
    CHECK_MSG(bad <= allowed, "%s %s %s bi=%d L=%d pool=%s: %d of %d gradients off", rnnc_seq_kind_name(kind),
              rnnc_cell_name(cell), rnnc_seq_loss_name(loss), bi, layers, rnnc_pool_name(pool), bad, checked);
    free(g);
    rnnc_seq_ws_free(ws);
    rnnc_seq_model_free(m);
}

static void test_grad_classify(void) {
    gradcheck(RNNC_SEQ_CLASSIFY, RNNC_CELL_LSTM, false, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0, false);
    gradcheck(RNNC_SEQ_CLASSIFY, RNNC_CELL_GRU, true, 1, RNNC_POOL_FINAL, RNNC_SEQ_LOSS_CE, 0, 0, true);
    gradcheck(RNNC_SEQ_CLASSIFY, RNNC_CELL_LSTM, true, 2, RNNC_POOL_MEAN, RNNC_SEQ_LOSS_CE, 0.3f, 9, true);
    gradcheck(RNNC_SEQ_CLASSIFY, RNNC_CELL_RNN_TANH, true, 1, RNNC_POOL_MAX, RNNC_SEQ_LOSS_CE, 0, 0, false);
    gradcheck(RNNC_SEQ_CLASSIFY, RNNC_CELL_RNN_TANH, false, 2, RNNC_POOL_FINAL, RNNC_SEQ_LOSS_CE, 0.2f, 3, false);
    gradcheck(RNNC_SEQ_CLASSIFY, RNNC_CELL_RNN_RELU, false, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0, false);
}

static void test_grad_tag(void) {
    gradcheck(RNNC_SEQ_TAG, RNNC_CELL_LSTM, true, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0, false);
    gradcheck(RNNC_SEQ_TAG, RNNC_CELL_GRU, false, 2, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0.3f, 4, true);
}

static void test_grad_forecast(void) {
    gradcheck(RNNC_SEQ_FORECAST, RNNC_CELL_LSTM, false, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_MSE, 0, 0, false);
    gradcheck(RNNC_SEQ_FORECAST, RNNC_CELL_GRU, true, 2, RNNC_POOL_FINAL, RNNC_SEQ_LOSS_MSE, 0.2f, 6, false);
    gradcheck(RNNC_SEQ_FORECAST, RNNC_CELL_LSTM, true, 1, RNNC_POOL_MEAN, RNNC_SEQ_LOSS_MAE, 0, 0, false);
}

/* The loss and count: weighted CE is sum w_y nll / sum w_y, count the labelled rows; tag steps
 * beyond a length or labelled -1 count for nothing. */
static void test_counts(void) {
    rnnc_seq_model *m = make(RNNC_SEQ_TAG, RNNC_CELL_GRU, true, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0);
    if (!m) return;
    rnnc_seq_ws *ws;
    CHECK(rnnc_seq_ws_new(&ws, m, B, T) == RNNC_OK);
    data d;
    fill(&d, RNNC_SEQ_TAG);
    d.labels[T * 1 + 3] = 2; /* beyond row 1's length 2: ignored */
    double loss, count;
    float *out = malloc(sizeof(float) * B * T * C);
    CHECK(rnnc_seq_forward_backward(ws, m, &d.b, NULL, NULL, 1, NULL, out, &loss, &count) == RNNC_OK);
    CHECK_EQ_LL((long long)count, 5 + 2 + 4 - 1);
    CHECK(out[(T * 1 + 3) * C] == 0.0f && out[(T * 1 + 3) * C + 2] == 0.0f); /* padded step: zero logits */
    /* the same batch without labels predicts and needs none */
    d.b.labels = NULL;
    CHECK(rnnc_seq_forward_backward(ws, m, &d.b, NULL, NULL, 1, NULL, out, &loss, &count) == RNNC_OK);
    CHECK(count == 0);
    /* every tag ignored: loss 0, count 0, no gradient, no error */
    for (int i = 0; i < B * T; i++) d.labels[i] = -1;
    d.b.labels = d.labels;
    float *g = calloc(m->n_params, sizeof *g);
    CHECK(rnnc_seq_forward_backward(ws, m, &d.b, NULL, g, 1, NULL, NULL, &loss, &count) == RNNC_OK);
    CHECK(loss == 0 && count == 0);
    double gs = 0;
    for (size_t i = 0; i < m->n_params; i++) gs += fabs(g[i]);
    CHECK(gs == 0);
    /* a label outside the set and an id outside the vocabulary are errors naming them */
    d.labels[0] = C;
    CHECK(rnnc_seq_forward_backward(ws, m, &d.b, NULL, g, 1, NULL, NULL, &loss, &count) == RNNC_ERR_RANGE);
    d.labels[0] = 0;
    d.ids[0] = V + 5;
    CHECK(rnnc_seq_forward_backward(ws, m, &d.b, NULL, g, 1, NULL, NULL, &loss, &count) == RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "vocabulary") != NULL);
    free(g);
    free(out);
    rnnc_seq_ws_free(ws);
    rnnc_seq_model_free(m);
}

static void roundtrip(rnnc_seq_model *m, const char *path) {
    const char *k[] = {"note"}, *v[] = {"hello"};
    CHECK_MSG(rnnc_seq_save(m, path, k, v, 1, NULL, 0) == RNNC_OK, "%s", rnnc_last_error());
    rnnc_seq_model *m2 = NULL;
    CHECK_MSG(rnnc_seq_load(&m2, path) == RNNC_OK, "%s", rnnc_last_error());
    if (!m2) return;
    /* field by field: the struct has padding (after bidirectional), which memcmp would read */
    const rnnc_seq_config *a = &m->c, *b = &m2->c;
    CHECK(a->kind == b->kind && a->cell == b->cell && a->vocab == b->vocab && a->embed == b->embed);
    CHECK(a->features == b->features && a->hidden == b->hidden && a->layers == b->layers);
    CHECK(a->bidirectional == b->bidirectional && a->dropout == b->dropout && a->output_dropout == b->output_dropout);
    CHECK(a->pool == b->pool && a->outputs == b->outputs && a->known == b->known);
    CHECK(a->loss == b->loss && a->max_len == b->max_len);
    CHECK(m2->n_params == m->n_params && memcmp(m->params, m2->params, m->n_params * sizeof(float)) == 0);
    if (m->c.kind != RNNC_SEQ_FORECAST) {
        CHECK(m2->n_labels == m->n_labels);
        CHECK_STR(m2->labels[2], m->labels[2]);
        CHECK(m2->vocab.n == m->vocab.n);
        CHECK(rnnc_seq_label_id(m2, "z") == 2 && rnnc_seq_label_id(m2, "w") == -1);
    } else {
        CHECK(m2->series.n_cols == F && m2->series.known[1] && !m2->series.known[2]);
        CHECK_STR(m2->series.name[2], "u");
        CHECK(m2->series.std[2] == m->series.std[2] && m2->series.context == T && m2->series.season == 2);
        CHECK(m2->series.relative);
    }
    rnnc_safetensors st;
    CHECK(rnnc_st_load(&st, path) == RNNC_OK);
    rnnc_file_kind want = m->c.kind == RNNC_SEQ_CLASSIFY ? RNNC_FILE_CLASSIFIER : m->c.kind == RNNC_SEQ_TAG ? RNNC_FILE_TAGGER : RNNC_FILE_FORECASTER;
    CHECK(rnnc_file_kind_of(&st) == want);
    rnnc_st_free(&st);
    rnnc_seq_model_free(m2);
}

static void test_roundtrip(void) {
    char path[] = "/tmp/rnnc_seqmodel_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    rnnc_seq_model *m = make(RNNC_SEQ_CLASSIFY, RNNC_CELL_LSTM, true, 2, RNNC_POOL_FINAL, RNNC_SEQ_LOSS_CE, 0.1f, 0.2f);
    if (m) roundtrip(m, path);
    /* another task's loader refuses it by name */
    rnnc_s2s_model *s2s = NULL;
    CHECK(rnnc_s2s_load(&s2s, path) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "this is a classifier, not a seq2seq model; use rnnc classify predict") != NULL, "%s",
              rnnc_last_error());
    rnnc_seq_model_free(m);
    m = make(RNNC_SEQ_TAG, RNNC_CELL_GRU, false, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0);
    if (m) roundtrip(m, path);
    rnnc_seq_model_free(m);
    m = make(RNNC_SEQ_FORECAST, RNNC_CELL_RNN_TANH, true, 1, RNNC_POOL_MEAN, RNNC_SEQ_LOSS_MAE, 0, 0);
    if (m) roundtrip(m, path);
    rnnc_seq_model_free(m);
    unlink(path);
}

/* Writes m's tensors with the given metadata (key/value pairs) and expects the loader to refuse
 * the file with a message holding `want`. */
static void write_file(const rnnc_seq_model *m, const char *path, const char *const *kv, size_t n) {
    size_t nt = rnnc_seq_num_tensors(m);
    rnnc_st_entry e[32];
    rnnc_param_info info[32];
    for (size_t k = 0; k < nt && k < 32; k++) {
        info[k] = rnnc_seq_tensor(m, k);
        e[k] = (rnnc_st_entry){.name = info[k].name, .dtype = RNNC_DT_F32, .ndim = info[k].ndim, .data = m->params + info[k].offset};
        e[k].shape[0] = info[k].shape[0];
        e[k].shape[1] = info[k].shape[1];
    }
    const char *keys[8], *vals[8];
    for (size_t i = 0; i < n; i++) { keys[i] = kv[2 * i]; vals[i] = kv[2 * i + 1]; }
    CHECK(rnnc_st_save(path, e, nt, keys, vals, n) == RNNC_OK);
}

static void refuse(const rnnc_seq_model *m, const char *path, const char *const *kv, size_t n, const char *want) {
    write_file(m, path, kv, n);
    rnnc_seq_model *m2 = NULL;
    rnnc_status s = rnnc_seq_load(&m2, path);
    CHECK_MSG(s != RNNC_OK && strstr(rnnc_last_error(), want), "want '%s', got: %s", want, s ? rnnc_last_error() : "loaded");
    rnnc_seq_model_free(m2);
}

static void test_refusals(void) {
    char path[] = "/tmp/rnnc_seqmodel_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    rnnc_seq_model *m = make(RNNC_SEQ_CLASSIFY, RNNC_CELL_LSTM, false, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0);
    if (!m) return;
    const char *cfg = "{\"task\":\"classify\",\"cell\":\"lstm\",\"vocab\":9,\"embed\":3,\"features\":0,\"hidden\":4,\"layers\":1,"
                      "\"bidirectional\":false,\"dropout\":0,\"output_dropout\":0,\"pool\":\"last\",\"outputs\":3,\"known\":0,\"loss\":\"ce\"}";
    const char *vocab = "a\nb\nc\nd\ne\n";
    const char *ok[] = {"rnnc.seqmodel", cfg, "rnnc.vocab_kind", "space", "rnnc.vocab", vocab, "rnnc.labels", "x\ny\nz"};
    rnnc_seq_model *m2 = NULL;
    refuse(m, path, (const char *[]){"rnnc.seqmodel", cfg, "rnnc.vocab_kind", "space", "rnnc.vocab", vocab, "rnnc.labels", "x\ny"}, 4,
           "rnnc.labels holds 2 labels but the model has 3 outputs");
    refuse(m, path, (const char *[]){"rnnc.seqmodel", cfg, "rnnc.vocab_kind", "space", "rnnc.vocab", vocab, "rnnc.labels", "x\nx\nz"}, 4,
           "label 'x' given twice");
    refuse(m, path, (const char *[]){"rnnc.seqmodel", cfg, "rnnc.vocab_kind", "space", "rnnc.vocab", "a\nb\n", "rnnc.labels", "x\ny\nz"}, 4,
           "rnnc.vocab gives 6 ids");
    refuse(m, path, (const char *[]){"rnnc.seqmodel", cfg, "rnnc.vocab_kind", "morse", "rnnc.vocab", vocab, "rnnc.labels", "x\ny\nz"}, 4,
           "rnnc.vocab_kind is missing");
    refuse(m, path, (const char *[]){"rnnc.seqmodel", cfg, "rnnc.vocab_kind", "space", "rnnc.vocab", vocab}, 3, "no rnnc.labels");
    /* a config asking for another size: refused by tensor shape before allocation */
    char big[600];
    snprintf(big, sizeof big, "%s", cfg);
    char *h = strstr(big, "\"hidden\":4");
    memcpy(h, "\"hidden\":9", 10);
    refuse(m, path, (const char *[]){"rnnc.seqmodel", big, "rnnc.vocab_kind", "space", "rnnc.vocab", vocab, "rnnc.labels", "x\ny\nz"}, 4,
           "tensor 'rnn.weight_ih_l0' has shape (16, 3) but rnnc.seqmodel asks for (36, 3)");
    snprintf(big, sizeof big, "%.*s\"loss\":\"mse\"}", (int)(strstr(cfg, "\"loss\"") - cfg), cfg);
    refuse(m, path, (const char *[]){"rnnc.seqmodel", big, "rnnc.vocab_kind", "space", "rnnc.vocab", vocab, "rnnc.labels", "x\ny\nz"}, 4,
           "the loss is cross-entropy (ce), not mse");
    /* a duplicated key in the config */
    refuse(m, path, (const char *[]){"rnnc.seqmodel", "{\"task\":\"classify\",\"task\":\"tag\"}", "rnnc.vocab_kind", "space"}, 2,
           "twice");
    /* the consistent file loads */
    write_file(m, path, ok, 4);
    CHECK_MSG(rnnc_seq_load(&m2, path) == RNNC_OK, "%s", rnnc_last_error());
    rnnc_seq_model_free(m2);
    /* an LM's loader on it, and it on a text file */
    FILE *f = fopen(path, "w");
    fputs("just text\n", f);
    fclose(f);
    CHECK(rnnc_seq_load(&m2, path) == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "text file") != NULL);
    rnnc_seq_model_free(m);
    unlink(path);
}

/* The check every model loader runs (model/layout.h): each tensor of the layout there with its
 * shape, no other but the skipped prefixes, and errors that name the file, the tensor and the key. */
/* rnnc_check_layout refuses the file (RNNC_ERR_FORMAT) with exactly "PATH: " + want. */
static void layout_refused(const rnnc_safetensors *st, const rnnc_param_info *layout, size_t n, const char *const *skip,
                           const char *cfg, const char *want) {
    char msg[512];
    CHECK_EQ_LL(rnnc_check_layout(st, layout, n, skip, "rnnc.key", cfg), RNNC_ERR_FORMAT);
    snprintf(msg, sizeof msg, "%s: %s", st->path, want);
    CHECK_STR(rnnc_last_error(), msg);
}

static void test_check_layout(void) {
    char path[] = "/tmp/rnnc_layout_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    float buf[16] = {0};
    rnnc_st_entry e[] = {{.name = "a.weight", .dtype = RNNC_DT_F32, .ndim = 2, .shape = {2, 3}, .data = buf},
                         {.name = "a.bias", .dtype = RNNC_DT_F32, .ndim = 1, .shape = {2}, .data = buf},
                         {.name = "train.step", .dtype = RNNC_DT_F32, .ndim = 1, .shape = {1}, .data = buf}};
    CHECK(rnnc_st_save(path, e, 3, NULL, NULL, 0) == RNNC_OK);
    rnnc_safetensors st;
    if (rnnc_st_load(&st, path) != RNNC_OK) { CHECK(0); return; }
    rnnc_param_info want[] = {{"a.weight", 2, {2, 3}, 0, 6}, {"a.bias", 1, {2, 0}, 6, 2}};
    const char *skip[] = {"train.", NULL};
    CHECK_EQ_LL(rnnc_check_layout(&st, want, 2, skip, "rnnc.key", "cfg text"), RNNC_OK);
    /* the same file without the skip: train.step is a tensor the layout lacks */
    layout_refused(&st, want, 2, NULL, "cfg text", "unexpected tensor 'train.step' (rnnc.key: cfg text)");
    layout_refused(&st, want, 2, NULL, NULL, "unexpected tensor 'train.step' (rnnc.key does not have it)");
    /* a tensor the file lacks */
    rnnc_param_info more[] = {want[0], want[1], {"b.weight", 1, {4, 0}, 8, 4}};
    layout_refused(&st, more, 3, skip, "cfg text", "tensor 'b.weight' is missing (rnnc.key: cfg text)");
    layout_refused(&st, more, 3, skip, NULL, "tensor 'b.weight' is missing (rnnc.key asks for it)");
    /* another shape, in either rank */
    rnnc_param_info other[] = {{"a.weight", 2, {3, 2}, 0, 6}, want[1]};
    layout_refused(&st, other, 2, skip, "cfg text", "tensor 'a.weight' has shape (2, 3) but rnnc.key asks for (3, 2) (cfg text)");
    rnnc_param_info flat[] = {{"a.weight", 1, {6, 0}, 0, 6}, want[1]};
    layout_refused(&st, flat, 2, skip, NULL, "tensor 'a.weight' has shape (2, 3) but rnnc.key asks for (6)");
    /* a layout of one tensor: a.bias is then unexpected */
    layout_refused(&st, want, 1, skip, NULL, "unexpected tensor 'a.bias' (rnnc.key does not have it)");
    rnnc_st_free(&st);
    unlink(path);
}

/* rnnc_tag_decode: without a constraint each position's highest score (the first on a tie); with
 * --exactly-one's tag, exactly one position carries it and the tagging's summed log-softmax is
 * the highest of all taggings with exactly one such position (brute force over C'^n of them). */
static double log_softmax_at(const float *r, int Cn, int c) {
    double mx = r[0], s = 0;
    for (int k = 1; k < Cn; k++) mx = r[k] > mx ? r[k] : mx;
    for (int k = 0; k < Cn; k++) s += exp((double)r[k] - mx);
    return (double)r[c] - mx - log(s);
}

/* rnnc_seq_ws_pack: a workspace with the weights packed once gives the outputs and losses of one
 * without, to the bit, for every kind, stacked and bidirectional; batches after the first read the
 * same packed weights. */
static void test_packed_forward(void) {
    const rnnc_seq_kind kinds[3] = {RNNC_SEQ_CLASSIFY, RNNC_SEQ_TAG, RNNC_SEQ_FORECAST};
    for (int k = 0; k < 3; k++)
        for (int bi = 0; bi < 2; bi++) {
            rnnc_seq_model *m = make(kinds[k], RNNC_CELL_LSTM, bi, 2, RNNC_POOL_MEAN,
                                     kinds[k] == RNNC_SEQ_FORECAST ? RNNC_SEQ_LOSS_MSE : RNNC_SEQ_LOSS_CE, 0, 0);
            if (!m) return;
            data d;
            fill(&d, kinds[k]);
            rnnc_seq_ws *plain, *packed;
            CHECK(rnnc_seq_ws_new(&plain, m, B, T) == RNNC_OK);
            CHECK(rnnc_seq_ws_new(&packed, m, B, T) == RNNC_OK);
            CHECK(rnnc_seq_ws_pack(packed, m) == RNNC_OK);
            const size_t n = (size_t)B * T * C > (size_t)B * N ? (size_t)B * T * C : (size_t)B * N;
            float a[B * T * C], b[B * T * C];
            for (int rep = 0; rep < 2; rep++) {
                double la = 0, lb = 0, ca = 0, cb = 0;
                memset(a, 0, sizeof a);
                memset(b, 0, sizeof b);
                CHECK(rnnc_seq_forward_backward(plain, m, &d.b, NULL, NULL, 1, NULL, a, &la, &ca) == RNNC_OK);
                CHECK(rnnc_seq_forward_backward(packed, m, &d.b, NULL, NULL, 1, NULL, b, &lb, &cb) == RNNC_OK);
                CHECK_MSG(!memcmp(a, b, n * sizeof *a) && la == lb && ca == cb, "%s bi=%d batch %d: outputs differ",
                          rnnc_seq_kind_name(kinds[k]), bi, rep);
                d.b.B = 2; /* a smaller batch next */
            }
            rnnc_seq_ws_free(plain);
            rnnc_seq_ws_free(packed);
            rnnc_seq_model_free(m);
        }
}

/* A prediction of more steps than the workspace holds: one-direction classifiers (every pooling,
 * every cell, one and two layers) and forecasters run their stack in chunks of the workspace's
 * steps (5: the table of 9 ids then outgrows half of a chunk's tokens, so the chunks look their
 * ids up where the one pass projects the table; 7; 40, one pass), rows ending in different
 * chunks, and give the outputs of one pass to the bit, with and without packed weights. A
 * bidirectional stack, a tagger, training and gradients over more steps than the workspace are
 * refused. */
static void test_chunked_forward(void) {
    enum { LT = 40 };
    const int lens[B] = {LT, 13, 27}, chunk_T[3] = {5, 7, LT};
    uint32_t ids[B * LT];
    float x[B * LT * F], known[B * N * K];
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 9);
    for (int r = 0; r < B; r++)
        for (int t = 0; t < LT; t++) {
            ids[r * LT + t] = t < lens[r] ? 4 + (uint32_t)((r * 5 + t * 3 + t / 7) % 5) : RNNC_S2S_PAD;
            for (int f = 0; f < F; f++) x[(r * LT + t) * F + f] = rnnc_rng_normal(&rng);
        }
    for (int i = 0; i < B * N * K; i++) known[i] = rnnc_rng_normal(&rng);
    const rnnc_pool pools[4] = {RNNC_POOL_LAST, RNNC_POOL_MEAN, RNNC_POOL_MAX, RNNC_POOL_FINAL};
    const rnnc_cell cells[3] = {RNNC_CELL_LSTM, RNNC_CELL_GRU, RNNC_CELL_RNN_TANH};
    int compared = 0;
    for (int fc = 0; fc < 2; fc++)
        for (int ci = 0; ci < 3; ci++)
            for (int pi = 0; pi < (fc ? 1 : 4); pi++)
                for (int layers = 1; layers <= 2; layers++) {
                    const rnnc_seq_kind kind = fc ? RNNC_SEQ_FORECAST : RNNC_SEQ_CLASSIFY;
                    rnnc_seq_model *m = make(kind, cells[ci], false, layers, fc ? RNNC_POOL_FINAL : pools[pi],
                                             fc ? RNNC_SEQ_LOSS_MSE : RNNC_SEQ_LOSS_CE, 0, 0);
                    if (!m) return;
                    rnnc_seq_batch b = {.B = B, .T = LT, .lengths = lens};
                    if (fc) { b.x = x; b.known = known; } else b.ids = ids;
                    const int no = fc ? B * N : B * C;
                    float ref[B * C > B * N ? B * C : B * N], out[B * C > B * N ? B * C : B * N];
                    rnnc_seq_ws *one; /* the reference: one pass, weights not packed */
                    CHECK(rnnc_seq_ws_new(&one, m, B, LT) == RNNC_OK);
                    CHECK_MSG(rnnc_seq_forward_backward(one, m, &b, NULL, NULL, 1, NULL, ref, NULL, NULL) == RNNC_OK, "%s",
                              rnnc_last_error());
                    rnnc_seq_ws_free(one);
                    for (int pk = 0; pk < 2; pk++)
                        for (int q = 0; q < 3; q++) {
                            rnnc_seq_ws *ws;
                            CHECK(rnnc_seq_ws_new(&ws, m, B, chunk_T[q]) == RNNC_OK);
                            if (pk) CHECK(rnnc_seq_ws_pack(ws, m) == RNNC_OK);
                            memset(out, 0, sizeof out);
                            CHECK_MSG(rnnc_seq_forward_backward(ws, m, &b, NULL, NULL, 1, NULL, out, NULL, NULL) == RNNC_OK,
                                      "%s", rnnc_last_error());
                            CHECK_MSG(!memcmp(ref, out, (size_t)no * sizeof *out), "%s %s L%d pool %s, %d-step workspace%s: outputs differ from one pass",
                                      rnnc_seq_kind_name(kind), rnnc_cell_name(cells[ci]), layers,
                                      rnnc_pool_name(fc ? RNNC_POOL_FINAL : pools[pi]), chunk_T[q], pk ? ", packed" : "");
                            compared++;
                            rnnc_seq_ws_free(ws);
                        }
                    CHECK(rnnc_seq_ws_steps(m, 100000) == RNNC_SEQ_STEP_CHUNK && rnnc_seq_ws_steps(m, 12) == 12);
                    /* training and gradients need every step in the workspace */
                    rnnc_seq_ws *small;
                    CHECK(rnnc_seq_ws_new(&small, m, B, 7) == RNNC_OK);
                    int labels[B] = {0, 1, 2};
                    float targets[B * N] = {0};
                    rnnc_seq_batch lb = b;
                    if (fc) lb.targets = targets; else lb.labels = labels;
                    float *g = calloc(m->n_params, sizeof *g);
                    rnnc_seq_opts tr = {.training = true};
                    rnnc_rng dr;
                    rnnc_rng_seed(&dr, 1);
                    CHECK(rnnc_seq_forward_backward(small, m, &lb, NULL, g, 1, NULL, NULL, NULL, NULL) == RNNC_ERR_ARG);
                    CHECK(rnnc_seq_forward_backward(small, m, &lb, &tr, NULL, 1, &dr, NULL, NULL, NULL) == RNNC_ERR_ARG);
                    free(g);
                    rnnc_seq_ws_free(small);
                    rnnc_seq_model_free(m);
                }
    CHECK_EQ_LL(compared, (3 * 4 * 2 + 3 * 1 * 2) * 6);
    /* a bidirectional classifier and a tagger need every step at once */
    for (int k = 0; k < 2; k++) {
        rnnc_seq_model *m = make(k ? RNNC_SEQ_TAG : RNNC_SEQ_CLASSIFY, RNNC_CELL_LSTM, !k, 1, RNNC_POOL_MEAN, RNNC_SEQ_LOSS_CE, 0, 0);
        if (!m) return;
        rnnc_seq_ws *ws;
        CHECK(rnnc_seq_ws_new(&ws, m, B, 7) == RNNC_OK);
        rnnc_seq_batch b = {.B = B, .T = LT, .lengths = lens, .ids = ids};
        float out[B * LT * C];
        CHECK(rnnc_seq_forward_backward(ws, m, &b, NULL, NULL, 1, NULL, out, NULL, NULL) == RNNC_ERR_ARG);
        CHECK(rnnc_seq_ws_steps(m, 100000) == 100000);
        rnnc_seq_ws_free(ws);
        rnnc_seq_model_free(m);
    }
}

static void test_tag_decode(void) {
    rnnc_rng r;
    rnnc_rng_seed(&r, 21);
    int cases = 0;
    for (int iter = 0; iter < 300; iter++) {
        const int n = 1 + (int)rnnc_rng_below(&r, 5), Cn = 2 + (int)rnnc_rng_below(&r, 3), one = (int)rnnc_rng_below(&r, (uint64_t)Cn);
        float z[5 * 4];
        for (int i = 0; i < n * Cn; i++) z[i] = (float)rnnc_rng_below(&r, 9) - 4.0f; /* small integers: ties happen */
        int pred[5], got[5];
        rnnc_tag_decode(z, n, Cn, -1, pred);
        for (int t = 0; t < n; t++) {
            int best = 0;
            for (int c = 1; c < Cn; c++) best = z[t * Cn + c] > z[t * Cn + best] ? c : best;
            CHECK_EQ_LL(pred[t], best);
        }
        rnnc_tag_decode(z, n, Cn, one, got);
        int ones = 0;
        double score = 0;
        for (int t = 0; t < n; t++) {
            ones += got[t] == one;
            score += log_softmax_at(z + t * Cn, Cn, got[t]);
        }
        CHECK_EQ_LL(ones, 1);
        double best = -INFINITY;
        int total = 1;
        for (int t = 0; t < n; t++) total *= Cn;
        for (int code = 0; code < total; code++) {
            int x = code, k = 0;
            double sc = 0;
            for (int t = 0; t < n; t++, x /= Cn) {
                k += x % Cn == one;
                sc += log_softmax_at(z + t * Cn, Cn, x % Cn);
            }
            if (k == 1 && sc > best) best = sc;
        }
        CHECK_MSG(score >= best - 1e-9, "iter %d: %.9f < brute force %.9f", iter, score, best);
        cases++;
    }
    /* C = 1 or a tag out of range: no constraint */
    float z1[3] = {0.5f, -1, 2};
    int p1[3] = {9, 9, 9};
    rnnc_tag_decode(z1, 3, 1, 0, p1);
    CHECK(p1[0] == 0 && p1[1] == 0 && p1[2] == 0);
    rnnc_tag_decode(z1, 1, 3, 5, p1);
    CHECK_EQ_LL(p1[0], 2);
    rnnc_tag_decode(z1, 0, 3, 1, p1); /* nothing to tag: nothing written */
    CHECK_EQ_LL(p1[0], 2);
    printf("  %d taggings checked against brute force\n", cases);
}

/* Done with a model, done with its temporaries: freeing it empties the scratch cache */
static void test_free_trims_scratch(void) {
    rnnc_seq_model *m = make(RNNC_SEQ_CLASSIFY, RNNC_CELL_LSTM, false, 1, RNNC_POOL_LAST, RNNC_SEQ_LOSS_CE, 0, 0);
    CHECK(m != NULL);
    if (m) CHECK_FREE_TRIMS_SCRATCH(rnnc_seq_model_free, m);
}

int main(void) {
    RUN(test_free_trims_scratch);
    RUN(test_grad_classify);
    RUN(test_grad_tag);
    RUN(test_grad_forecast);
    RUN(test_counts);
    RUN(test_roundtrip);
    RUN(test_refusals);
    RUN(test_check_layout);
    RUN(test_tag_decode);
    RUN(test_packed_forward);
    RUN(test_chunked_forward);
    return test_report();
}
