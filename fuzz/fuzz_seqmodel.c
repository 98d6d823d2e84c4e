/* libFuzzer target: classify / tag / forecast model files (seqmodel.h) and the TSV item reader
 * (seqdata.h).
 *
 * Input starting with 'C' or 'T': the rest is classify ("label TAB text") or tag ("tokens TAB
 * tags") TSV, read with rnnc_seq_labels_collect and rnnc_seq_data_parse into a growing space
 * vocabulary (skip_bad on when the second byte is odd). Items that come back must have ids inside
 * the vocabulary, lengths within max_len, labels inside the set and tags in [-1, C).
 * Any other input: a whole model file, written to a temp file and loaded with rnnc_seq_load. A
 * model that loads must pass its own config check, have labels/vocabulary/series that agree with
 * it and finite weights, round-trip through save and load to the same numbers, and run a forward
 * and backward pass on a small batch. Failures must leave a message and no object.
 * Seeds: tiny models of each kind written by tools/make_fuzz_seeds.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"
#include "rnnc/seqdata.h"
#include "rnnc/seqmodel.h"

static void data_mode(rnnc_seq_kind kind, bool skip_bad, const uint8_t *data, size_t size) {
    char **names = NULL;
    int n = 0;
    fuzz_clear_error();
    rnnc_status s = rnnc_seq_labels_collect((const char *)data, size, "fuzz", kind, &names, &n);
    if (s) { fuzz_check_failed(s); FUZZ_CHECK(names == NULL && n == 0); return; }
    FUZZ_CHECK(n >= 2);
    for (int i = 1; i < n; i++) FUZZ_CHECK(strcmp(names[i - 1], names[i]) < 0);
    rnnc_s2s_vocab v;
    FUZZ_CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE) == RNNC_OK);
    rnnc_seq_data d = {0};
    rnnc_seq_read_opts o = {.kind = kind, .max_len = 16, .skip_bad = skip_bad, .skip_long = skip_bad, .grow = true};
    fuzz_clear_error();
    s = rnnc_seq_data_parse(&d, (const char *)data, size, "fuzz", &o, &v, (const char *const *)names, n);
    if (s) {
        fuzz_check_failed(s);
    } else {
        FUZZ_CHECK(d.n > 0);
        for (size_t i = 0; i < d.n; i++) {
            FUZZ_CHECK(d.len[i] >= 1 && d.len[i] <= 16);
            for (int k = 0; k < d.len[i]; k++) {
                FUZZ_CHECK(d.ids[i][k] < v.n);
                if (kind == RNNC_SEQ_TAG) FUZZ_CHECK(d.tags[i][k] >= -1 && d.tags[i][k] < n);
            }
            if (kind == RNNC_SEQ_CLASSIFY) FUZZ_CHECK(d.label[i] >= 0 && d.label[i] < n);
        }
    }
    rnnc_seq_data_free(&d);
    rnnc_s2s_vocab_free(&v);
    rnnc_seq_labels_free(names, n);
}

/* A forward and backward pass on a batch of two rows of lengths 3 and 1. */
static void run_batch(const rnnc_seq_model *m) {
    enum { B = 2, T = 3 };
    const rnnc_seq_config *c = &m->c;
    uint32_t ids[B * T];
    int lengths[B] = {T, 1}, labels[B * T];
    float *x = calloc((size_t)B * T * (size_t)(c->features ? c->features : 1), sizeof *x);
    float *known = calloc((size_t)B * (size_t)c->outputs * (size_t)(c->known ? c->known : 1), sizeof *known);
    float *targets = calloc((size_t)B * (size_t)c->outputs, sizeof *targets);
    float *grads = calloc(m->n_params, sizeof *grads);
    FUZZ_CHECK(x && known && targets && grads);
    for (int i = 0; i < B * T; i++) {
        ids[i] = c->vocab ? (uint32_t)((i * 7 + 4) % c->vocab) : 0;
        labels[i] = i % (c->outputs > 0 ? c->outputs : 1);
        x[i] = 0.5f * (float)i;
    }
    rnnc_seq_batch b = {.B = B, .T = T, .lengths = lengths};
    if (c->kind == RNNC_SEQ_FORECAST) { b.x = x; b.known = known; b.targets = targets; }
    else { b.ids = ids; b.labels = labels; }
    rnnc_seq_ws *ws;
    FUZZ_CHECK(rnnc_seq_ws_new(&ws, m, B, T) == RNNC_OK);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 3);
    rnnc_seq_opts o = {.training = true};
    double loss = -1, count = -1;
    fuzz_clear_error();
    rnnc_status s = rnnc_seq_forward_backward(ws, m, &b, &o, grads, 1.0f, &rng, NULL, &loss, &count);
    if (s) fuzz_check_failed(s); /* finite weights may still overflow */
    else FUZZ_CHECK(!(loss < 0) && count >= 0);
    rnnc_seq_ws_free(ws);
    free(x); free(known); free(targets); free(grads);
}

static void model_mode(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("seq.safetensors", data, size);
    rnnc_seq_model *m;
    fuzz_clear_error();
    rnnc_status s = rnnc_seq_load(&m, path);
    if (s) { fuzz_check_failed(s); FUZZ_CHECK(m == NULL); return; }
    FUZZ_CHECK(rnnc_seq_config_check(&m->c) == RNNC_OK);
    size_t nt = rnnc_seq_num_tensors(m), total = 0;
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_seq_tensor(m, k);
        FUZZ_CHECK(p.offset + p.size <= m->n_params);
        total += p.size;
    }
    FUZZ_CHECK(total == m->n_params);
    for (size_t i = 0; i < m->n_params; i++) FUZZ_CHECK(isfinite(m->params[i]));
    if (m->c.kind == RNNC_SEQ_FORECAST) {
        FUZZ_CHECK(m->series.n_cols == m->c.features && !m->series.known[0]);
        for (int i = 0; i < m->series.n_cols; i++) FUZZ_CHECK(m->series.std[i] > 0 && isfinite(m->series.mean[i]));
    } else {
        FUZZ_CHECK(m->vocab.n == (size_t)m->c.vocab && m->n_labels == m->c.outputs);
        for (int i = 0; i < m->n_labels; i++) FUZZ_CHECK(rnnc_seq_label_id(m, m->labels[i]) == i);
    }
    /* saved and loaded again: the same model */
    const char *again = fuzz_path("again.safetensors");
    FUZZ_CHECK(rnnc_seq_save(m, again, NULL, NULL, 0, NULL, 0) == RNNC_OK);
    rnnc_seq_model *m2;
    FUZZ_CHECK(rnnc_seq_load(&m2, again) == RNNC_OK);
    FUZZ_CHECK(m2->n_params == m->n_params && memcmp(m2->params, m->params, m->n_params * sizeof(float)) == 0);
    FUZZ_CHECK(memcmp(&m2->c, &m->c, sizeof m->c) == 0);
    rnnc_seq_model_free(m2);
    run_batch(m);
    rnnc_seq_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 2 && (data[0] == 'C' || data[0] == 'T'))
        data_mode(data[0] == 'C' ? RNNC_SEQ_CLASSIFY : RNNC_SEQ_TAG, data[1] & 1, data + 2, size - 2);
    else
        model_mode(data, size);
    return 0;
}
