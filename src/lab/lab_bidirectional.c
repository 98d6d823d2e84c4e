/* rnnc lab bidirectional — the seed: a bidirectional RNN runs x1 -> xt and xt -> x1, so each output
 * carries information from both ends of the sequence.
 *
 * Two taggers of the same size, trained for the same time (--quick: the same steps) under the run
 * module: an LSTM reading left to right, and a bidirectional LSTM with fewer units per direction,
 * so that both have the same parameters (to within a few). Each is scored on held-out data: tag
 * accuracy, whole-sequence accuracy, and accuracy by relative position in the sequence (tenths),
 * which shows where the one-directional model lacks what lies ahead.
 *
 * Tasks:
 *  - a synthetic one made for the claim, always: symbols from {a..f}, 6 to 16 of them; the tag of
 *    each position in the first half is the sequence's LAST symbol, in the second half its FIRST.
 *    A left-to-right model cannot know the last symbol (1 in 6 by guessing) but can carry the first;
 *    a bidirectional one can do both. Written to DIR/synthetic-{train,dev}.tsv.
 *  - the stress task of `rnnc tag` (data/stress: CMUdict phonemes, a stress tag per vowel), when
 *    scripts/fetch-data.sh --tasks has made it; not with --quick. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"
#include "rnnc/io.h"
#include "rnnc/seqdata.h"
#include "rnnc/train.h"

enum { NBUCKET = 10 };

typedef struct {
    int H;                       /* units per direction */
    size_t params;
    rnnc_lab_curve cv;
    double acc, seq_acc;         /* held-out */
    double bucket[NBUCKET];      /* accuracy by relative position */
    long bucket_n[NBUCKET];
} result;

/* ---- the synthetic task ---- */

static rnnc_status write_synthetic(const rnnc_lab_ctx *c, const char *file, int n, uint64_t seed) {
    rnnc_bytes b = {0};
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    rnnc_status s = RNNC_OK;
    for (int i = 0; i < n && !s; i++) {
        int len = 6 + (int)rnnc_rng_below(&r, 11);
        char sym[16];
        for (int j = 0; j < len; j++) sym[j] = (char)('a' + rnnc_rng_below(&r, 6));
        char line[80];
        int k = 0;
        for (int j = 0; j < len; j++) { line[k++] = sym[j]; line[k++] = j + 1 < len ? ' ' : '\t'; }
        for (int j = 0; j < len; j++) { line[k++] = j < len / 2 ? sym[len - 1] : sym[0]; line[k++] = j + 1 < len ? ' ' : '\n'; }
        s = rnnc_bytes_append(&b, line, (size_t)k);
    }
    char *path = s ? NULL : rnnc_lab_path(c, file);
    if (!s && !path) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) s = rnnc_write_file_atomic(path, b.data, b.len);
    free(path);
    rnnc_bytes_free(&b);
    return s;
}

/* ---- sizes ---- */

/* The parameters of a one-layer LSTM tagger: embedding V x E, D directions of H units, head C. */
static size_t tagger_params(size_t V, size_t E, size_t H, size_t D, size_t C) {
    return V * E + D * 4 * H * (E + H + 2) + C * (D * H + 1);
}

/* The tags of a training file, and the symbols its tokens use (both counted as the task does:
 * the vocabulary has 4 specials besides). */
static rnnc_status count_vocab(const char *path, size_t *V, size_t *C) {
    unsigned char *text;
    size_t len;
    rnnc_status s = rnnc_read_file(path, &text, &len);
    if (s) return s;
    char **names = NULL;
    int n = 0;
    s = rnnc_seq_labels_collect((const char *)text, len, path, RNNC_SEQ_TAG, &names, &n);
    if (!s) {
        *C = (size_t)n;
        rnnc_s2s_vocab v;
        rnnc_seq_data d = {0};
        rnnc_seq_read_opts ro = {.kind = RNNC_SEQ_TAG, .grow = true};
        if (!(s = rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE))) {
            s = rnnc_seq_data_parse(&d, (const char *)text, len, path, &ro, &v, (const char *const *)names, n);
            *V = v.n;
            rnnc_seq_data_free(&d);
            rnnc_s2s_vocab_free(&v);
        }
        rnnc_seq_labels_free(names, n);
    }
    free(text);
    return s;
}

/* ---- scoring a trained model on the dev file, by relative position ---- */

static rnnc_status score(const char *model_path, const char *dev, result *r) {
    rnnc_seq_model *m = NULL;
    rnnc_status s = rnnc_seq_load(&m, model_path);
    if (s) return s;
    rnnc_seq_data d = {0};
    rnnc_seq_read_opts ro = {.kind = RNNC_SEQ_TAG, .max_len = m->c.max_len};
    s = rnnc_seq_data_read(&d, dev, &ro, &m->vocab, (const char *const *)m->labels, m->n_labels);
    int Tmax = 0;
    for (size_t i = 0; !s && i < d.n; i++)
        if (d.len[i] > Tmax) Tmax = d.len[i];
    enum { BMAX = 64 };
    const int C = m->c.outputs;
    rnnc_seq_ws *ws = NULL;
    uint32_t *ids = NULL;
    int *lens = NULL, *labels = NULL;
    float *out = NULL;
    if (!s) s = rnnc_seq_ws_new(&ws, m, BMAX, Tmax);
    if (!s) {
        ids = malloc((size_t)BMAX * Tmax * sizeof *ids);
        lens = malloc(BMAX * sizeof *lens);
        labels = malloc((size_t)BMAX * Tmax * sizeof *labels);
        out = malloc((size_t)BMAX * Tmax * C * sizeof *out);
        if (!ids || !lens || !labels || !out) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    }
    long right = 0, total = 0, seq_right = 0, right_b[NBUCKET] = {0}, n_b[NBUCKET] = {0};
    size_t ex[BMAX];
    for (size_t first = 0; !s && first < d.n; first += BMAX) {
        int B = (int)(d.n - first < BMAX ? d.n - first : BMAX);
        for (int k = 0; k < B; k++) ex[k] = first + (size_t)k;
        rnnc_seq_batch b;
        rnnc_seq_data_batch(&d, RNNC_SEQ_TAG, ex, B, ids, lens, labels, &b);
        double l, cnt;
        if ((s = rnnc_seq_forward_backward(ws, m, &b, NULL, NULL, 1, NULL, out, &l, &cnt))) break;
        for (int k = 0; k < B; k++) {
            int len = b.lengths[k];
            bool all = true;
            for (int j = 0; j < len; j++) {
                int gold = b.labels[k * b.T + j];
                if (gold < 0) continue;
                const float *o = out + ((size_t)k * b.T + j) * C;
                int best = 0;
                for (int q = 1; q < C; q++)
                    if (o[q] > o[best]) best = q;
                int bk = (int)((j + 0.5) / len * NBUCKET);
                if (bk >= NBUCKET) bk = NBUCKET - 1;
                n_b[bk]++;
                total++;
                if (best == gold) { right++; right_b[bk]++; }
                else all = false;
            }
            seq_right += all;
        }
    }
    if (!s && total == 0) s = rnnc_error(RNNC_ERR_FORMAT, "%s: no tagged token to score", dev);
    if (!s) {
        r->acc = (double)right / (double)total;
        r->seq_acc = (double)seq_right / (double)d.n;
        for (int q = 0; q < NBUCKET; q++) {
            r->bucket[q] = n_b[q] ? (double)right_b[q] / (double)n_b[q] : NAN;
            r->bucket_n[q] = n_b[q];
        }
    }
    free(ids); free(lens); free(labels); free(out);
    rnnc_seq_ws_free(ws);
    rnnc_seq_data_free(&d);
    rnnc_seq_model_free(m);
    return s;
}

/* ---- one comparison: uni against bi on one task ---- */

typedef struct {
    const char *name;      /* "synthetic", "stress" */
    const char *train, *dev;
    int E, H_uni;
    double seconds;        /* 0: steps */
    long steps;
    int batch;
} setup;

static rnnc_status compare(const rnnc_lab_ctx *c, const setup *su, result res[2]) {
    size_t V = 0, C = 0;
    rnnc_status s = count_vocab(su->train, &V, &C);
    if (s) return s;
    /* the bidirectional width whose count is nearest the one-directional model's */
    size_t P = tagger_params(V, (size_t)su->E, (size_t)su->H_uni, 1, C);
    int Hb = 1;
    for (int h = 1; h <= su->H_uni; h++) {
        size_t p = tagger_params(V, (size_t)su->E, (size_t)h, 2, C), q = tagger_params(V, (size_t)su->E, (size_t)Hb, 2, C);
        if ((p > P ? p - P : P - p) < (q > P ? q - P : P - q)) Hb = h;
    }
    for (int d = 0; d < 2 && !s; d++) {
        result *r = &res[d];
        r->H = d ? Hb : su->H_uni;
        rnnc_seq_task_opts o = rnnc_seq_task_defaults(RNNC_SEQ_TAG);
        o.data = su->train;
        o.valid = su->dev;
        o.tokenizer = "space";
        o.model.cell = RNNC_CELL_LSTM;
        o.model.embed = su->E;
        o.model.hidden = r->H;
        o.model.layers = 1;
        o.model.bidirectional = d == 1;
        o.batch = su->batch;
        rnnc_task *t;
        if ((s = rnnc_seq_task_new(&t, &o, c->seed, NULL, 0))) break;
        r->params = t->n_params;
        rnnc_run_opts ro = rnnc_run_defaults();
        if (su->seconds > 0) ro.seconds = su->seconds;
        else ro.steps = su->steps;
        ro.optim.lr = 1e-2;
        ro.warmup = 50;
        ro.log_every = 50;
        ro.eval_every = c->quick ? 100 : 200;
        ro.seed = c->seed;
        char file[64], label[64];
        snprintf(file, sizeof file, "%s-%s.safetensors", su->name, d ? "bi" : "uni");
        snprintf(label, sizeof label, "%s %s", su->name, d ? "bidirectional" : "left to right");
        char *path = rnnc_lab_path(c, file);
        if (!path) { rnnc_task_free(t); s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); break; }
        ro.model_out = path;
        s = rnnc_lab_train(c, t, &ro, label, &r->cv);
        if (!s) s = score(path, su->dev, r);
        free(path);
        if (!s)
            rnnc_lab_note(c, "  %-26s H %3d, %6zu parameters, %5ld steps in %5.1f s: tag accuracy %.2f%%, whole sequences %.2f%%",
                          label, r->H, r->params, r->cv.steps, r->cv.elapsed, 100 * r->acc, 100 * r->seq_acc);
    }
    return s;
}

/* The accuracy over the positions of one half of the sequences (0: the first), weighted by the
 * tags each bucket holds: what the table shows and the verdict quotes. NAN when the half is empty. */
static double half_acc(const result *r, int half) {
    double sum = 0;
    long n = 0;
    for (int q = half ? NBUCKET / 2 : 0; q < (half ? NBUCKET : NBUCKET / 2); q++) {
        sum += r->bucket[q] * (double)r->bucket_n[q];
        n += r->bucket_n[q];
    }
    return n ? sum / (double)n : NAN;
}

static void add_rows(rnnc_lab_cells *t, const char *task, const result res[2]) {
    for (int d = 0; d < 2; d++) {
        rnnc_lab_cell(t, "%s", task);
        rnnc_lab_cell(t, "%s", d ? "bidirectional" : "left to right");
        rnnc_lab_cell(t, "%d", res[d].H);
        rnnc_lab_cell(t, "%zu", res[d].params);
        rnnc_lab_cell(t, "%ld", res[d].cv.steps);
        rnnc_lab_cell(t, "%.1f", res[d].cv.elapsed);
        rnnc_lab_cell(t, "%.2f%%", 100 * res[d].acc);
        rnnc_lab_cell(t, "%.2f%%", 100 * res[d].seq_acc);
        rnnc_lab_cell(t, "%.2f%%", 100 * half_acc(&res[d], 0));
        rnnc_lab_cell(t, "%.2f%%", 100 * half_acc(&res[d], 1));
    }
}

static void json_task(cJSON *arr, const char *task, const result res[2]) {
    for (int d = 0; arr && d < 2; d++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) { cJSON_Delete(o); return; }
        cJSON_AddStringToObject(o, "task", task);
        cJSON_AddStringToObject(o, "model", d ? "bidirectional" : "left to right");
        cJSON_AddNumberToObject(o, "hidden", res[d].H);
        cJSON_AddNumberToObject(o, "params", (double)res[d].params);
        cJSON_AddNumberToObject(o, "steps", (double)res[d].cv.steps);
        cJSON_AddNumberToObject(o, "seconds", res[d].cv.elapsed);
        cJSON_AddNumberToObject(o, "accuracy", res[d].acc);
        cJSON_AddNumberToObject(o, "sequence_accuracy", res[d].seq_acc);
        cJSON *b = cJSON_AddArrayToObject(o, "accuracy_by_tenth");
        for (int q = 0; b && q < NBUCKET; q++) cJSON_AddItemToArray(b, cJSON_CreateNumber(res[d].bucket[q]));
    }
}

rnnc_status rnnc_lab_bidirectional_run(const rnnc_lab_ctx *c) {
    rnnc_status s;
    result syn[2], str[2];
    memset(syn, 0, sizeof syn);
    memset(str, 0, sizeof str);
    /* the synthetic task's files */
    int n_train = c->quick ? 3000 : 20000, n_dev = c->quick ? 500 : 2000;
    if ((s = write_synthetic(c, "synthetic-train.tsv", n_train, c->seed ^ 0x5157u)) ||
        (s = write_synthetic(c, "synthetic-dev.tsv", n_dev, c->seed ^ 0xde7u)))
        return s;
    char *syn_train = rnnc_lab_path(c, "synthetic-train.tsv"), *syn_dev = rnnc_lab_path(c, "synthetic-dev.tsv");
    char stress_train[4096], stress_dev[4096];
    const char *st_train = rnnc_lab_data("stress/train.tsv", stress_train, sizeof stress_train);
    const char *st_dev = rnnc_lab_data("stress/dev.tsv", stress_dev, sizeof stress_dev);
    bool stress = !c->quick && st_train && st_dev;
    rnnc_lab_note(c, "LSTM taggers, one layer: left to right against bidirectional with as many parameters, the same %s each.\n"
                     "synthetic: %d sequences of 6-16 symbols from {a..f}; tag = the LAST symbol in the first half, the FIRST in "
                     "the second (%d held out).",
                  c->quick ? "steps" : "training time", n_train, n_dev);
    if (c->quick) rnnc_lab_note(c, "stress (CMUdict): left out with --quick.");
    else if (!stress)
        rnnc_lab_note(c, "stress (CMUdict): data/stress/{train,dev}.tsv not found (run scripts/fetch-data.sh --tasks); only the "
                         "synthetic task.");
    else rnnc_lab_note(c, "stress: %s (phonemes -> a stress tag per phoneme), validated on %s.", st_train, st_dev);
    if (!syn_train || !syn_dev) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    setup su_syn = {"synthetic", syn_train, syn_dev, 16, c->quick ? 32 : 64, c->quick ? 0 : 60, 600, 32};
    if (!s) s = compare(c, &su_syn, syn);
    setup su_str = {"stress", st_train, st_dev, 64, 128, 120, 0, 32};
    if (!s && stress) s = compare(c, &su_str, str);
    free(syn_train);
    free(syn_dev);

    static const char *const head[] = {"task", "model", "H", "parameters", "steps", "seconds", "tag acc", "sequence acc",
                                       "acc 1st half", "acc 2nd half"};
    rnnc_lab_cells t = {0};
    if (!s) {
        add_rows(&t, "synthetic", syn);
        if (stress) add_rows(&t, "stress", str);
        if (t.failed) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    }
    if (!s) {
        rnnc_lab_table(c, "held-out accuracy of the final models (same parameters, same budget)", 10, head, t.n / 10,
                       (const char *const *)t.s);
        s = rnnc_lab_write_csv(c, "bidirectional.csv", 10, head, t.n / 10, (const char *const *)t.s);
    }
    rnnc_lab_cells_free(&t);
    /* the picture: accuracy by relative position, for each model and task */
    if (!s) {
        double xs[NBUCKET], ys[4][NBUCKET];
        for (int q = 0; q < NBUCKET; q++) {
            xs[q] = 10.0 * q + 5;
            ys[0][q] = 100 * syn[0].bucket[q];
            ys[1][q] = 100 * syn[1].bucket[q];
            ys[2][q] = 100 * str[0].bucket[q];
            ys[3][q] = 100 * str[1].bucket[q];
        }
        rnnc_plot_series ps[4] = {
            {.label = "synthetic, left to right", .x = xs, .y = ys[0], .n = NBUCKET, .color = 0, .dashed = 1, .markers = 1},
            {.label = "synthetic, bidirectional", .x = xs, .y = ys[1], .n = NBUCKET, .color = 0, .markers = 1},
            {.label = "stress, left to right", .x = xs, .y = ys[2], .n = NBUCKET, .color = 1, .dashed = 1, .markers = 1},
            {.label = "stress, bidirectional", .x = xs, .y = ys[3], .n = NBUCKET, .color = 1, .markers = 1},
        };
        rnnc_plot_opts po = {.title = "Tag accuracy by position: uni- and bidirectional LSTM taggers of equal size",
                             .xlabel = "position in the sequence (% of its length)", .ylabel = "held-out tag accuracy (%)"};
        s = rnnc_lab_plot(c, "bidirectional.svg", &po, ps, stress ? 4 : 2);
    }
    if (!s) {
        cJSON *j = cJSON_CreateObject(), *arr = NULL;
        if (j) {
            cJSON_AddStringToObject(j, "lab", "bidirectional");
            cJSON_AddBoolToObject(j, "quick", c->quick);
            cJSON_AddBoolToObject(j, "stress", stress);
            arr = cJSON_AddArrayToObject(j, "runs");
        }
        json_task(arr, "synthetic", syn);
        if (stress) json_task(arr, "stress", str);
        s = rnnc_lab_write_cjson(c, "bidirectional.json", j);
    }
    for (int d = 0; d < 2; d++) {
        rnnc_lab_curve_free(&syn[d].cv);
        rnnc_lab_curve_free(&str[d].cv);
    }
    if (s) return s;
    rnnc_lab_note(c, "\nwritten: %s/bidirectional.svg, bidirectional.csv, bidirectional.json, the models and the synthetic data",
                  c->out_dir);
    bool held = syn[1].acc > syn[0].acc + 0.2 && (!stress || str[1].acc > str[0].acc);
    char more[200] = "";
    if (stress)
        snprintf(more, sizeof more, "; on stress, bidirectional %.2f%% against %.2f%% (whole words %.2f%% against %.2f%%)",
                 100 * str[1].acc, 100 * str[0].acc, 100 * str[1].seq_acc, 100 * str[0].seq_acc);
    rnnc_lab_verdict(c, held,
                     "With the same parameters and budget, the bidirectional tagger is right on %.2f%% of the synthetic tags, the "
                     "left-to-right one on %.2f%% (first half, which needs the end: %.2f%% against %.2f%%)%s.",
                     100 * syn[1].acc, 100 * syn[0].acc, 100 * half_acc(&syn[1], 0), 100 * half_acc(&syn[0], 0), more);
    return RNNC_OK;
}
