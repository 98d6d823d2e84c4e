/* Sequence models with a head (classify, tag, forecast): layout, initialisation, the forward and
 * backward pass through pooling, head and loss, and model files. See include/rnnc/seqmodel.h.
 * The recurrent stack is rnn.h's; this file wires the input, the pooling and the head to it. */
#include "nn/dropout.h"
#include "rnnc/seqmodel.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "model/layout.h"
#include "rnnc/filekind.h"
#include "rnnc/nn.h"
#include "core/bigmem.h"

/* ---- names ---- */

static const char *const kind_names[] = {"classify", "tag", "forecast"};
static const char *const pool_names[] = {"last", "mean", "max", "final"};
static const char *const loss_names[] = {"ce", "mse", "mae"};

static rnnc_status parse_name(const char *s, const char *const *names, int n, const char *what, int *out) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return RNNC_OK;
        }
    char list[128] = "";
    size_t k = 0;
    for (int i = 0; i < n && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? (i == n - 1 ? " or " : ", ") : "", names[i]);
    return rnnc_error(RNNC_ERR_ARG, "unknown %s '%s' (choose %s)", what, s ? s : "", list);
}

const char *rnnc_seq_kind_name(rnnc_seq_kind k) { return (unsigned)k < 3 ? kind_names[k] : "unknown"; }
const char *rnnc_pool_name(rnnc_pool p) { return (unsigned)p < 4 ? pool_names[p] : "unknown"; }
const char *rnnc_seq_loss_name(rnnc_seq_loss l) { return (unsigned)l < 3 ? loss_names[l] : "unknown"; }

rnnc_status rnnc_seq_kind_parse(const char *s, rnnc_seq_kind *out) {
    int v;
    rnnc_status st = parse_name(s, kind_names, 3, "task", &v);
    if (!st) *out = (rnnc_seq_kind)v;
    return st;
}
rnnc_status rnnc_pool_parse(const char *s, rnnc_pool *out) {
    int v;
    rnnc_status st = parse_name(s, pool_names, 4, "pooling", &v);
    if (!st) *out = (rnnc_pool)v;
    return st;
}
rnnc_status rnnc_seq_loss_parse(const char *s, rnnc_seq_loss *out) {
    int v;
    rnnc_status st = parse_name(s, loss_names, 3, "loss", &v);
    if (!st) *out = (rnnc_seq_loss)v;
    return st;
}

/* ---- config and layout ---- */

static bool tokens(const rnnc_seq_config *c) { return c->kind != RNNC_SEQ_FORECAST; }
static int dirs(const rnnc_seq_config *c) { return c->bidirectional ? 2 : 1; }

int rnnc_seq_head_in(const rnnc_seq_config *c) {
    return dirs(c) * c->hidden + (c->kind == RNNC_SEQ_FORECAST ? c->outputs * c->known : 0);
}

static rnnc_rnn_config rnn_of(const rnnc_seq_config *c) {
    return (rnnc_rnn_config){c->cell, tokens(c) ? c->embed : c->features, c->hidden, c->layers, c->bidirectional, c->dropout};
}

/* The parameter count, every step checked against size_t overflow (with room for an optimizer's
 * copies); false when it does not fit. */
static bool count_params(const rnnc_seq_config *c, size_t *n) {
    double total = (double)c->vocab * c->embed; /* doubles: every factor is bounded, so this is exact enough to bound */
    double G = rnnc_cell_gates(c->cell), H = c->hidden, D = dirs(c), I = tokens(c) ? c->embed : c->features;
    for (int l = 0; l < c->layers; l++) total += D * G * H * ((l ? D * H : I) + H + 2);
    total += (double)c->outputs * (rnnc_seq_head_in(c) + 1.0);
    if (total > (double)(SIZE_MAX / (4 * sizeof(float)))) return false;
    *n = (size_t)total;
    return true;
}

#define SEQ_MAX_DIM 65536
#define SEQ_MAX_LAYERS 64

rnnc_status rnnc_seq_config_check(const rnnc_seq_config *c) {
    if ((unsigned)c->kind > RNNC_SEQ_FORECAST) return rnnc_error(RNNC_ERR_ARG, "seqmodel: unknown task %d", (int)c->kind);
    const char *task = rnnc_seq_kind_name(c->kind);
    if (rnnc_cell_check(c->cell, task)) return RNNC_ERR_ARG;
    if (c->hidden < 1 || c->hidden > SEQ_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "%s: hidden %d outside [1, %d]", task, c->hidden, SEQ_MAX_DIM);
    if (c->layers < 1 || c->layers > SEQ_MAX_LAYERS) return rnnc_error(RNNC_ERR_ARG, "%s: layers %d outside [1, %d]", task, c->layers, SEQ_MAX_LAYERS);
    if (!(c->dropout >= 0 && c->dropout < 1)) return rnnc_error(RNNC_ERR_ARG, "%s: dropout must be in [0, 1)", task);
    if (!(c->output_dropout >= 0 && c->output_dropout < 1)) return rnnc_error(RNNC_ERR_ARG, "%s: output dropout must be in [0, 1)", task);
    if ((unsigned)c->pool > RNNC_POOL_FINAL) return rnnc_error(RNNC_ERR_ARG, "%s: unknown pooling %d", task, (int)c->pool);
    if (c->max_len < 0 || c->max_len > (1 << 30)) return rnnc_error(RNNC_ERR_ARG, "%s: max_len %d outside [0, 2^30]", task, c->max_len);
    if (tokens(c)) {
        if (c->vocab <= RNNC_S2S_NSPECIAL || c->vocab > RNNC_S2S_MAX_VOCAB)
            return rnnc_error(RNNC_ERR_ARG, "%s: vocabulary of %d ids outside [%d, %d] (the 4 specials included)", task, c->vocab,
                              RNNC_S2S_NSPECIAL + 1, RNNC_S2S_MAX_VOCAB);
        if (c->embed < 1 || c->embed > SEQ_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "%s: embed %d outside [1, %d]", task, c->embed, SEQ_MAX_DIM);
        if (c->features || c->known) return rnnc_error(RNNC_ERR_ARG, "%s: features and known covariates are for forecast only", task);
        if (c->outputs < 2 || c->outputs > RNNC_SEQ_MAX_OUTPUTS)
            return rnnc_error(RNNC_ERR_ARG, "%s: %d %s: needs between 2 and %d", task, c->outputs,
                              c->kind == RNNC_SEQ_TAG ? "tags" : "classes", RNNC_SEQ_MAX_OUTPUTS);
        if (c->loss != RNNC_SEQ_LOSS_CE) return rnnc_error(RNNC_ERR_ARG, "%s: the loss is cross-entropy (ce), not %s", task, rnnc_seq_loss_name(c->loss));
    } else {
        if (c->vocab || c->embed) return rnnc_error(RNNC_ERR_ARG, "forecast: no vocabulary or embedding (numeric inputs)");
        if (c->features < 1 || c->features > SEQ_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "forecast: %d input features outside [1, %d]", c->features, SEQ_MAX_DIM);
        if (c->outputs < 1 || c->outputs > SEQ_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "forecast: horizon %d outside [1, %d]", c->outputs, SEQ_MAX_DIM);
        if (c->known < 0 || c->known >= c->features) return rnnc_error(RNNC_ERR_ARG, "forecast: %d known covariates for %d features", c->known, c->features);
        if ((double)c->outputs * c->known > SEQ_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "forecast: horizon x known covariates is more than %d", SEQ_MAX_DIM);
        if (c->loss != RNNC_SEQ_LOSS_MSE && c->loss != RNNC_SEQ_LOSS_MAE) return rnnc_error(RNNC_ERR_ARG, "forecast: the loss is mse or mae, not %s", rnnc_seq_loss_name(c->loss));
    }
    size_t n;
    if (!count_params(c, &n)) return rnnc_error(RNNC_ERR_ARG, "%s: the model's parameter count does not fit in memory", task);
    if ((double)c->outputs * rnnc_seq_head_in(c) >= 2147483648.0 || (double)c->vocab * c->embed >= 2147483648.0)
        return rnnc_error(RNNC_ERR_ARG, "%s: a tensor of more than 2^31 values", task);
    return RNNC_OK;
}

static void layout(rnnc_seq_model *m, const rnnc_seq_config *c) {
    memset(m, 0, sizeof *m);
    m->c = *c;
    m->rnn = rnn_of(c);
    size_t off = 0;
    m->off_emb = off; off += (size_t)c->vocab * (size_t)c->embed;
    m->off_rnn = off; off += rnnc_rnn_num_params(&m->rnn);
    m->off_head_w = off; off += (size_t)c->outputs * (size_t)rnnc_seq_head_in(c);
    m->off_head_b = off; off += (size_t)c->outputs;
    m->n_params = off;
}

size_t rnnc_seq_num_tensors(const rnnc_seq_model *m) { return (tokens(&m->c) ? 1 : 0) + rnnc_rnn_num_tensors(&m->rnn) + 2; }

static rnnc_param_info info2(const char *name, int r, int c, size_t off) {
    rnnc_param_info p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%.47s", name);
    p.ndim = c ? 2 : 1;
    p.shape[0] = r;
    p.shape[1] = c;
    p.offset = off;
    p.size = (size_t)r * (size_t)(c ? c : 1);
    return p;
}

rnnc_param_info rnnc_seq_tensor(const rnnc_seq_model *m, size_t k) {
    if (tokens(&m->c)) {
        if (k == 0) return info2("embedding.weight", m->c.vocab, m->c.embed, m->off_emb);
        k--;
    }
    size_t nr = rnnc_rnn_num_tensors(&m->rnn);
    if (k < nr) {
        rnnc_param_info p = rnnc_rnn_tensor(&m->rnn, k);
        char name[sizeof p.name];
        memcpy(name, p.name, sizeof name);
        snprintf(p.name, sizeof p.name, "rnn.%.43s", name);
        p.offset += m->off_rnn;
        return p;
    }
    if (k == nr) return info2("head.weight", m->c.outputs, rnnc_seq_head_in(&m->c), m->off_head_w);
    return info2("head.bias", m->c.outputs, 0, m->off_head_b);
}

/* ---- model ---- */

void rnnc_seq_series_free(rnnc_seq_series *s) {
    if (!s) return;
    for (int i = 0; s->name && i < s->n_cols; i++) free(s->name[i]);
    free(s->name);
    free(s->known);
    free(s->mean);
    free(s->std);
    memset(s, 0, sizeof *s);
}

static void free_labels(char **labels, int n) {
    for (int i = 0; labels && i < n; i++) free(labels[i]);
    free(labels);
}

/* A label name is stored one a line: non-empty, no newline, no tab (TSV columns), unique. */
static rnnc_status check_labels(const char *const *labels, int n, const char *task) {
    for (int i = 0; i < n; i++) {
        const char *l = labels[i];
        if (!l || !*l) return rnnc_error(RNNC_ERR_ARG, "%s: label %d is empty", task, i);
        if (strpbrk(l, "\n\r\t")) return rnnc_error(RNNC_ERR_ARG, "%s: label %d holds a tab or a line break", task, i);
        for (int j = 0; j < i; j++)
            if (!strcmp(labels[j], l)) return rnnc_error(RNNC_ERR_ARG, "%s: label '%s' given twice", task, l);
    }
    return RNNC_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The series matches the config: F columns, K of them known (not the target), finite statistics,
 * a positive context. */
static rnnc_status check_series(const rnnc_seq_series *s, const rnnc_seq_config *c) {
    if (s->n_cols != c->features) return rnnc_error(RNNC_ERR_ARG, "forecast: %d series columns for %d input features", s->n_cols, c->features);
    if (!s->name || !s->known || !s->mean || !s->std) return rnnc_error(RNNC_ERR_ARG, "forecast: the series has no columns");
    int k = 0;
    for (int i = 0; i < s->n_cols; i++) {
        if (!s->name[i] || !*s->name[i]) return rnnc_error(RNNC_ERR_ARG, "forecast: series column %d has no name", i);
        /* (training on float data gives statistics within a float; beyond it a crafted file would
         * turn every forecast into Inf) */
        if (!(fabs(s->mean[i]) <= FLT_MAX) || !(s->std[i] > 0 && s->std[i] <= FLT_MAX))
            return rnnc_error(RNNC_ERR_ARG, "forecast: column '%s' has mean %g and std %g (std must be positive, and both within "
                              "a float, %g)", s->name[i], s->mean[i], s->std[i], FLT_MAX);
        k += s->known[i];
    }
    /* a column named twice (sorted: a crafted file may hold 65536 of them) */
    char **sorted = malloc((size_t)s->n_cols * sizeof *sorted);
    if (!sorted) return rnnc_error(RNNC_ERR_NOMEM, "out of memory checking the series' columns");
    memcpy(sorted, s->name, (size_t)s->n_cols * sizeof *sorted);
    qsort(sorted, (size_t)s->n_cols, sizeof *sorted, cmp_str);
    for (int i = 1; i < s->n_cols; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) {
            rnnc_status st = rnnc_error(RNNC_ERR_ARG, "forecast: column '%.200s' is named twice", sorted[i]);
            free(sorted);
            return st;
        }
    free(sorted);
    if (s->known[0]) return rnnc_error(RNNC_ERR_ARG, "forecast: the target '%s' cannot be a known covariate", s->name[0]);
    if (k != c->known) return rnnc_error(RNNC_ERR_ARG, "forecast: %d known columns but the model takes %d", k, c->known);
    if (s->context < 1) return rnnc_error(RNNC_ERR_ARG, "forecast: context %d must be positive", s->context);
    if (s->season < 0) return rnnc_error(RNNC_ERR_ARG, "forecast: season %d must not be negative", s->season);
    return RNNC_OK;
}

rnnc_status rnnc_seq_model_new(rnnc_seq_model **out, const rnnc_seq_config *cin, rnnc_s2s_vocab *vocab,
                               const char *const *labels, rnnc_seq_series *series) {
    *out = NULL;
    rnnc_seq_config c = *cin;
    if (tokens(&c)) {
        if (!vocab || !labels) return rnnc_error(RNNC_ERR_ARG, "%s: a vocabulary and labels are needed", rnnc_seq_kind_name(c.kind));
        if (vocab->n > RNNC_S2S_MAX_VOCAB) return rnnc_error(RNNC_ERR_ARG, "%s: vocabulary of %zu ids is more than %d", rnnc_seq_kind_name(c.kind), vocab->n, RNNC_S2S_MAX_VOCAB);
        c.vocab = (int)vocab->n;
    } else if (!series) {
        return rnnc_error(RNNC_ERR_ARG, "forecast: a series description is needed");
    }
    rnnc_status s = rnnc_seq_config_check(&c);
    if (s) return s;
    if (tokens(&c) && (s = check_labels(labels, c.outputs, rnnc_seq_kind_name(c.kind)))) return s;
    if (!tokens(&c) && (s = check_series(series, &c))) return s;
    rnnc_seq_model *m = calloc(1, sizeof *m);
    if (!m) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a model");
    layout(m, &c);
    if ((s = rnnc_rnn_config_check(&m->rnn))) { free(m); return s; }
    m->params = calloc(m->n_params, sizeof *m->params);
    if (!m->params) {
        size_t np = m->n_params;
        free(m);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for %zu parameters", np);
    }
    if (tokens(&c)) {
        m->labels = calloc((size_t)c.outputs, sizeof *m->labels);
        for (int i = 0; m->labels && i < c.outputs; i++)
            if (!(m->labels[i] = strdup(labels[i]))) break;
        if (!m->labels || !m->labels[c.outputs - 1]) {
            free_labels(m->labels, c.outputs);
            free(m->params);
            free(m);
            return rnnc_error(RNNC_ERR_NOMEM, "out of memory for %d labels", c.outputs);
        }
        m->n_labels = c.outputs;
        m->vocab = *vocab;
        memset(vocab, 0, sizeof *vocab);
    } else {
        m->series = *series;
        memset(series, 0, sizeof *series);
    }
    *out = m;
    return RNNC_OK;
}

void rnnc_seq_model_free(rnnc_seq_model *m) {
    if (!m) return;
    free(m->params);
    rnnc_s2s_vocab_free(&m->vocab);
    free_labels(m->labels, m->n_labels);
    rnnc_seq_series_free(&m->series);
    free(m);
    rnnc_scratch_trim(); /* done with a model: the temporaries cached for computing go too */
}

void rnnc_seq_model_init(rnnc_seq_model *m, rnnc_rng *rng) {
    for (size_t i = 0; i < (size_t)m->c.vocab * (size_t)m->c.embed; i++) m->params[m->off_emb + i] = rnnc_rng_normal(rng);
    rnnc_rnn_init(&m->rnn, m->params + m->off_rnn, rng);
    float a = 1.0f / sqrtf((float)rnnc_seq_head_in(&m->c));
    for (size_t i = m->off_head_w; i < m->n_params; i++) m->params[i] = (2.0f * rnnc_rng_uniform(rng) - 1.0f) * a;
}

int rnnc_seq_label_id(const rnnc_seq_model *m, const char *name) {
    for (int i = 0; name && i < m->n_labels; i++)
        if (!strcmp(m->labels[i], name)) return i;
    return -1;
}

void rnnc_tag_decode(const float *z, int n, int C, int one, int *pred) {
    const bool constrained = one >= 0 && one < C && C >= 2;
    int at = -1;
    float gain = 0;
    for (int t = 0; t < n; t++) {
        const float *r = z + (size_t)t * C;
        int best = -1;
        for (int c = 0; c < C; c++)
            if (!(constrained && c == one) && (best < 0 || r[c] > r[best])) best = c;
        if (!constrained) { pred[t] = best; continue; }
        pred[t] = best;
        float g = r[one] - r[best];
        if (at < 0 || g > gain) { at = t; gain = g; }
    }
    if (constrained && at >= 0) pred[at] = one;
}

/* ---- forward and backward ---- */

struct rnnc_seq_ws {
    int B, T;
    rnnc_rnn_ws *rnn;
    int *ids;      /* (B,T) */
    int *lab;      /* (B,T): tag labels with the steps beyond each length masked */
    int *arg;      /* (B, D*H): max pooling's argmax step */
    float *y, *dy; /* (B,T,D*H) */
    float *feat;   /* the head's input: (B*T, D*H) for tag, (B, head_in) otherwise */
    float *mask;   /* output dropout's scaled keep mask, as feat's D*H part */
    float *dfeat;
    float *logits; /* (B*T, C) or (B, C / N); then its gradient */
    long row0;     /* the global row of row 0 (per-row dropout streams) */
    rnnc_rnn_packed *pk; /* rnnc_seq_ws_pack's packed weights, else NULL */
};

void rnnc_seq_ws_free(rnnc_seq_ws *w) {
    if (!w) return;
    rnnc_rnn_ws_free(w->rnn);
    rnnc_rnn_packed_free(w->pk);
    free(w->ids); free(w->lab); free(w->arg); free(w->y); free(w->dy); free(w->feat); free(w->mask); free(w->dfeat); free(w->logits);
    free(w);
}

rnnc_status rnnc_seq_ws_new(rnnc_seq_ws **out, const rnnc_seq_model *m, int B, int T) {
    *out = NULL;
    if (B < 1 || T < 1) return rnnc_error(RNNC_ERR_ARG, "workspace: B=%d and T=%d must be positive", B, T);
    rnnc_seq_ws *w = calloc(1, sizeof *w);
    if (!w) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a workspace");
    w->B = B;
    w->T = T;
    rnnc_status s = rnnc_rnn_ws_new(&w->rnn, &m->rnn, B, T);
    if (s) { rnnc_seq_ws_free(w); return s; }
    size_t DH = (size_t)dirs(&m->c) * (size_t)m->c.hidden, BT = (size_t)B * (size_t)T;
    bool tag = m->c.kind == RNNC_SEQ_TAG;
    size_t rows = tag ? BT : (size_t)B, width = tag ? DH : (size_t)rnnc_seq_head_in(&m->c);
    w->ids = malloc(BT * sizeof *w->ids);
    w->lab = malloc(BT * sizeof *w->lab);
    w->arg = malloc((size_t)B * DH * sizeof *w->arg);
    w->y = malloc(BT * DH * sizeof *w->y);
    w->dy = malloc(BT * DH * sizeof *w->dy);
    w->feat = malloc(rows * width * sizeof *w->feat);
    w->mask = malloc(rows * DH * sizeof *w->mask);
    w->dfeat = malloc(rows * width * sizeof *w->dfeat);
    w->logits = malloc(rows * (size_t)m->c.outputs * sizeof *w->logits);
    if (!w->ids || !w->lab || !w->arg || !w->y || !w->dy || !w->feat || !w->mask || !w->dfeat || !w->logits) {
        rnnc_seq_ws_free(w);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a workspace (B=%d, T=%d)", B, T);
    }
    *out = w;
    return RNNC_OK;
}

rnnc_status rnnc_seq_ws_pack(rnnc_seq_ws *w, const rnnc_seq_model *m) {
    rnnc_rnn_packed *pk;
    rnnc_status s = rnnc_rnn_packed_new(&pk, &m->rnn, m->params + m->off_rnn);
    if (s) return s;
    if ((s = rnnc_rnn_ws_set_packed(w->rnn, pk))) { rnnc_rnn_packed_free(pk); return s; }
    rnnc_rnn_packed_free(w->pk);
    w->pk = pk;
    return RNNC_OK;
}

static int len_of(const rnnc_seq_batch *b, int r) { return b->lengths ? b->lengths[r] : b->T; }

/* Pools steps [t0, t0 + end) of a row of n steps into its feature row f (the first DH columns);
 * y holds those steps, DH floats apart. One pass (pool_forward) gives all n steps at t0 0; a
 * forward in chunks (chunked_pool) gives them chunk by chunk in order: the mean's running sums
 * then wait in sum (DH doubles; never read or written in one pass), the maximum in f and arg, and
 * the last output comes from the chunk that holds step n - 1. */
static void pool_span(const rnnc_seq_config *c, const float *y, int t0, int end, int n, float *f, int *arg, double *sum) {
    const int H = c->hidden, DH = dirs(c) * H;
    const bool last = t0 + end == n;
    switch (c->pool) {
    case RNNC_POOL_LAST:
        if (last) memcpy(f, y + (size_t)(end - 1) * DH, (size_t)DH * sizeof *f);
        break;
    case RNNC_POOL_FINAL:
        if (last) memcpy(f, y + (size_t)(end - 1) * DH, (size_t)H * sizeof *f);
        if (c->bidirectional && t0 == 0) memcpy(f + H, y + H, (size_t)H * sizeof *f);
        break;
    case RNNC_POOL_MEAN:
        for (int j = 0; j < DH; j++) {
            double a = t0 ? sum[j] : 0;
            for (int t = 0; t < end; t++) a += y[(size_t)t * DH + j];
            if (last) f[j] = (float)(a / n);
            else sum[j] = a;
        }
        break;
    case RNNC_POOL_MAX:
        for (int j = 0; j < DH; j++) {
            int t = 0;
            if (t0 == 0) { arg[j] = 0; f[j] = y[j]; t = 1; }
            for (; t < end; t++)
                if (y[(size_t)t * DH + j] > f[j]) { arg[j] = t0 + t; f[j] = y[(size_t)t * DH + j]; }
        }
        break;
    }
}

/* Pools y (B,T,DH) into feat rows of width `stride` (the first DH columns). */
static void pool_forward(rnnc_seq_ws *w, const rnnc_seq_model *m, const rnnc_seq_batch *b, int stride) {
    const int DH = dirs(&m->c) * m->c.hidden, T = b->T;
    for (int r = 0; r < b->B; r++)
        pool_span(&m->c, w->y + (size_t)r * T * DH, 0, len_of(b, r), len_of(b, r), w->feat + (size_t)r * stride,
                  w->arg + (size_t)r * DH, NULL);
}

static void pool_backward(rnnc_seq_ws *w, const rnnc_seq_model *m, const rnnc_seq_batch *b, int stride) {
    int DH = dirs(&m->c) * m->c.hidden, H = m->c.hidden, T = b->T;
    memset(w->dy, 0, (size_t)b->B * T * DH * sizeof *w->dy);
    for (int r = 0; r < b->B; r++) {
        int n = len_of(b, r);
        float *dy = w->dy + (size_t)r * T * DH;
        const float *g = w->dfeat + (size_t)r * stride;
        const int *arg = w->arg + (size_t)r * DH;
        switch (m->c.pool) {
        case RNNC_POOL_LAST: memcpy(dy + (size_t)(n - 1) * DH, g, (size_t)DH * sizeof *g); break;
        case RNNC_POOL_FINAL:
            memcpy(dy + (size_t)(n - 1) * DH, g, (size_t)H * sizeof *g);
            if (m->c.bidirectional) memcpy(dy + H, g + H, (size_t)H * sizeof *g);
            break;
        case RNNC_POOL_MEAN:
            for (int t = 0; t < n; t++)
                for (int j = 0; j < DH; j++) dy[(size_t)t * DH + j] = g[j] / (float)n;
            break;
        case RNNC_POOL_MAX:
            for (int j = 0; j < DH; j++) dy[(size_t)arg[j] * DH + j] = g[j];
            break;
        }
    }
}

/* Inverted dropout on `rows` rows (B items of rows / B each) of width DH at stride `stride` in
 * feat; mask keeps the factors. Item b draws from its own stream (global row row0 + b) of one key,
 * its rows and units in order. */
static void dropout_forward(rnnc_seq_ws *w, int B, size_t rows, int DH, int stride, float p, rnnc_rng *rng) {
    rnnc_dropout_rows(w->feat, (size_t)stride, w->feat, (size_t)stride, w->mask, B, rows / (size_t)B, DH, p,
                      rnnc_rng_u64(rng), w->row0);
}

void rnnc_seq_ws_set_row0(rnnc_seq_ws *w, long row0) {
    w->row0 = row0;
    rnnc_rnn_ws_set_row0(w->rnn, row0);
}

/* Weighted softmax cross-entropy over rows with label >= 0: loss = sum w_y nll / sum w_y. The
 * gradient (times scale) replaces the logits when grad is set. */
static rnnc_status ce(float *logits, const int *labels, size_t rows, int C, const float *weight, bool grad, float scale,
                      double *loss, double *count, double *wsum_out) {
    double sum = 0, wsum = 0, n = 0;
    for (size_t i = 0; i < rows; i++) {
        int y = labels[i];
        if (y < 0) continue;
        if (y >= C) return rnnc_error(RNNC_ERR_RANGE, "label %d at row %zu is outside [0, %d)", y, i, C);
        const float *z = logits + i * (size_t)C;
        float mx = z[0];
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        double se = 0;
        for (int c = 0; c < C; c++) se += exp((double)z[c] - mx);
        double wy = weight ? weight[y] : 1.0;
        sum += wy * (log(se) + mx - z[y]);
        wsum += wy;
        n += 1;
    }
    *loss = wsum > 0 ? sum / wsum : 0;
    *count = n;
    *wsum_out = wsum;
    if (!grad) return RNNC_OK;
    for (size_t i = 0; i < rows; i++) {
        float *z = logits + i * (size_t)C;
        int y = labels[i];
        if (y < 0 || wsum <= 0) {
            memset(z, 0, (size_t)C * sizeof *z);
            continue;
        }
        float mx = z[0];
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        double se = 0;
        for (int c = 0; c < C; c++) se += exp((double)z[c] - mx);
        double k = (weight ? weight[y] : 1.0) * scale / wsum;
        for (int c = 0; c < C; c++) z[c] = (float)(k * exp((double)z[c] - mx) / se);
        z[y] -= (float)k;
    }
    return RNNC_OK;
}

/* Whether an inference forward of m over T steps runs in chunks of the steps (chunked_pool):
 * one-direction classifiers and forecasters, over more steps than the workspace holds or than
 * RNNC_SEQ_STEP_CHUNK. A tagger needs every step's output, a bidirectional stack every step's
 * input before its reverse direction starts. */
static bool chunkable(const rnnc_seq_config *c) { return c->kind != RNNC_SEQ_TAG && !c->bidirectional; }

int rnnc_seq_ws_steps(const rnnc_seq_model *m, int T) {
    return chunkable(&m->c) && T > RNNC_SEQ_STEP_CHUNK ? RNNC_SEQ_STEP_CHUNK : T;
}

/* The pooled features of a one-direction stack (feat rows of width `stride`) from a forward in
 * chunks of Tc steps: each chunk starts from the states (L, B, H) the one before ended in, and
 * the pooling goes along (pool_span). Memory then follows Tc, not T, and the numbers are those of one pass:
 * a step's products and cell do not depend on the steps run with it, and the mean's sums add in
 * the same order. A row whose length ended before a chunk runs one step of id 0 (or of zeros) there,
 * its output and state unused. */
static rnnc_status chunked_pool(rnnc_seq_ws *w, const rnnc_seq_model *m, const rnnc_seq_batch *b, int stride, int Tc) {
    const rnnc_seq_config *c = &m->c;
    const int B = b->B, T = b->T, H = c->hidden, L = c->layers, F = c->features;
    const bool ids = tokens(c), two = rnnc_cell_info_of(c->cell)->states == 2;
    const size_t BH = (size_t)B * H, LBH = (size_t)L * BH;
    float *st = malloc(4 * LBH * sizeof *st), *x = ids ? NULL : malloc((size_t)B * Tc * F * sizeof *x);
    double *sum = c->pool == RNNC_POOL_MEAN ? calloc(BH, sizeof *sum) : NULL;
    int *len = malloc((size_t)B * sizeof *len);
    rnnc_status s = !st || (!ids && !x) || (c->pool == RNNC_POOL_MEAN && !sum) || !len
                        ? rnnc_error(RNNC_ERR_NOMEM, "out of memory for a forward in chunks (B=%d, %d steps)", B, Tc)
                        : RNNC_OK;
    const float *P = m->params;
    for (int t0 = 0, k = 0; !s && t0 < T; t0 += Tc, k ^= 1) {
        const int tn = T - t0 < Tc ? T - t0 : Tc;
        float *h0 = st + (size_t)k * LBH, *h1 = st + (size_t)(k ^ 1) * LBH;
        float *c0 = st + (size_t)(2 + k) * LBH, *c1 = st + (size_t)(2 + (k ^ 1)) * LBH;
        for (int r = 0; r < B; r++) {
            const int n = len_of(b, r) - t0;
            len[r] = n < 1 ? 1 : n < tn ? n : tn;
            for (int t = 0; t < tn; t++) {
                const bool live = t < n;
                if (ids) w->ids[(size_t)r * tn + t] = live ? (int)b->ids[(size_t)r * T + t0 + t] : 0;
                else if (live) memcpy(x + ((size_t)r * tn + t) * F, b->x + ((size_t)r * T + t0 + t) * F, (size_t)F * sizeof *x);
                else memset(x + ((size_t)r * tn + t) * F, 0, (size_t)F * sizeof *x);
            }
        }
        s = ids ? rnnc_rnn_forward_ids(w->rnn, P + m->off_rnn, B, tn, w->ids, P + m->off_emb, c->vocab, len, t0 ? h0 : NULL,
                                       t0 && two ? c0 : NULL, w->y, h1, two ? c1 : NULL, false, NULL)
                : rnnc_rnn_forward(w->rnn, P + m->off_rnn, B, tn, x, len, t0 ? h0 : NULL, t0 && two ? c0 : NULL, w->y, h1,
                                   two ? c1 : NULL, false, NULL);
        for (int r = 0; r < B && !s; r++) {
            const int n = len_of(b, r), end = n - t0 < tn ? n - t0 : tn; /* this chunk's steps of row r: [0, end) */
            if (end >= 1)
                pool_span(c, w->y + (size_t)r * tn * H, t0, end, n, w->feat + (size_t)r * stride, w->arg + (size_t)r * H,
                          sum ? sum + (size_t)r * H : NULL);
        }
    }
    free(st); free(x); free(sum); free(len);
    return s;
}

rnnc_status rnnc_seq_forward_backward(rnnc_seq_ws *w, const rnnc_seq_model *m, const rnnc_seq_batch *b,
                                      const rnnc_seq_opts *o, float *grads, float grad_scale, rnnc_rng *rng,
                                      float *out, double *loss, double *count) {
    const rnnc_seq_config *c = &m->c;
    int B = b->B, T = b->T, DH = dirs(c) * c->hidden, C = c->outputs;
    bool training = o && o->training;
    /* an inference forward of a one-direction classifier or forecaster runs in chunks of the
     * steps where there are more than RNNC_SEQ_STEP_CHUNK or than the workspace holds */
    const bool chunked = !training && !grads && chunkable(c) && (T > w->T || T > RNNC_SEQ_STEP_CHUNK);
    if (B < 1 || T < 1 || B > w->B || (T > w->T && !chunked))
        return rnnc_error(RNNC_ERR_ARG, "batch (B=%d, T=%d) outside the workspace (%d, %d)", B, T, w->B, w->T);
    for (int r = 0; r < B; r++)
        if (len_of(b, r) < 1 || len_of(b, r) > T) return rnnc_error(RNNC_ERR_ARG, "length %d of row %d outside [1, %d]", len_of(b, r), r, T);
    if (training && !rng) return rnnc_error(RNNC_ERR_ARG, "training needs an rng (dropout)");
    const float *P = m->params;
    rnnc_status s;
    size_t BT = (size_t)B * (size_t)T;
    bool tag = c->kind == RNNC_SEQ_TAG;
    int width = tag ? DH : rnnc_seq_head_in(c);
    if (tokens(c)) {
        if (!b->ids) return rnnc_error(RNNC_ERR_ARG, "%s: the batch has no ids", rnnc_seq_kind_name(c->kind));
        for (size_t i = 0; i < BT; i++) {
            if (b->ids[i] >= (uint32_t)c->vocab) return rnnc_error(RNNC_ERR_RANGE, "id %u at position %zu is outside the vocabulary of %d", b->ids[i], i, c->vocab);
            if (!chunked) w->ids[i] = (int)b->ids[i]; /* (chunked_pool copies each chunk's own) */
        }
    } else if (!b->x || (c->known && !b->known)) {
        return rnnc_error(RNNC_ERR_ARG, "forecast: the batch has no inputs");
    }
    if (chunked) s = chunked_pool(w, m, b, width, w->T < RNNC_SEQ_STEP_CHUNK ? w->T : RNNC_SEQ_STEP_CHUNK);
    else if (tokens(c))
        s = rnnc_rnn_forward_ids(w->rnn, P + m->off_rnn, B, T, w->ids, P + m->off_emb, c->vocab, b->lengths, NULL, NULL, w->y,
                                 NULL, NULL, training, rng);
    else s = rnnc_rnn_forward(w->rnn, P + m->off_rnn, B, T, b->x, b->lengths, NULL, NULL, w->y, NULL, NULL, training, rng);
    if (s) return s;

    /* the head's input */
    size_t rows = tag ? BT : (size_t)B;
    if (tag) {
        memcpy(w->feat, w->y, BT * DH * sizeof *w->feat);
    } else {
        if (!chunked) pool_forward(w, m, b, width);
        int NK = c->outputs * c->known;
        for (int r = 0; r < B && NK; r++) memcpy(w->feat + (size_t)r * width + DH, b->known + (size_t)r * NK, (size_t)NK * sizeof(float));
    }
    bool dropped = training && c->output_dropout > 0;
    if (dropped) dropout_forward(w, B, rows, DH, width, c->output_dropout, rng);
    rnnc_linear_forward(w->logits, w->feat, P + m->off_head_w, P + m->off_head_b, (int)rows, width, C);
    if (tag) /* nothing at padded steps */
        for (int r = 0; r < B; r++)
            for (int t = len_of(b, r); t < T; t++) memset(w->logits + ((size_t)r * T + t) * C, 0, (size_t)C * sizeof(float));
    if (out) memcpy(out, w->logits, rows * (size_t)C * sizeof *out);

    bool labelled = tokens(c) ? b->labels != NULL : b->targets != NULL;
    if (loss) *loss = 0;
    if (count) *count = 0;
    if (!labelled) {
        if (grads) return rnnc_error(RNNC_ERR_ARG, "%s: gradients need labels", rnnc_seq_kind_name(c->kind));
        return RNNC_OK;
    }
    double l = 0, n = 0, wsum = 0;
    if (tokens(c)) {
        const int *labels = b->labels;
        int *masked = NULL;
        if (tag) { /* steps beyond a length carry no loss whatever their label */
            masked = w->lab;
            for (int r = 0; r < B; r++)
                for (int t = 0; t < T; t++) masked[(size_t)r * T + t] = t < len_of(b, r) ? b->labels[(size_t)r * T + t] : -1;
            labels = masked;
        }
        if ((s = ce(w->logits, labels, rows, C, o ? o->class_weight : NULL, grads != NULL, grad_scale, &l, &n, &wsum))) return s;
        if (grads && wsum <= 0) grads = NULL; /* nothing to learn from */
    } else {
        size_t N = (size_t)B * C;
        double sum = 0;
        for (size_t i = 0; i < N; i++) {
            double d = (double)w->logits[i] - b->targets[i];
            sum += c->loss == RNNC_SEQ_LOSS_MSE ? d * d : fabs(d);
            if (grads) {
                float g = c->loss == RNNC_SEQ_LOSS_MSE ? (float)(2.0 * d) : (d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f);
                w->logits[i] = g * grad_scale / (float)N;
            }
        }
        l = sum / (double)N;
        n = (double)N;
    }
    if (loss) *loss = l;
    if (count) *count = n;
    if (!grads) return RNNC_OK;

    rnnc_linear_backward(w->dfeat, grads + m->off_head_w, grads + m->off_head_b, w->logits, w->feat, P + m->off_head_w,
                         (int)rows, width, C);
    if (dropped)
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < DH; j++) w->dfeat[r * width + j] *= w->mask[r * DH + j];
    if (tag) memcpy(w->dy, w->dfeat, BT * DH * sizeof *w->dy);
    else pool_backward(w, m, b, width);
    if (tokens(c))
        return rnnc_rnn_backward_ids(w->rnn, P + m->off_rnn, grads + m->off_rnn, w->dy, NULL, NULL, P + m->off_emb,
                                     grads + m->off_emb, NULL, NULL);
    return rnnc_rnn_backward(w->rnn, P + m->off_rnn, grads + m->off_rnn, w->dy, NULL, NULL, NULL, NULL, NULL);
}

/* ---- model files ---- */

static char *config_json(const rnnc_seq_config *c) {
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "task", rnnc_seq_kind_name(c->kind)) &&
              cJSON_AddStringToObject(j, "cell", rnnc_cell_name(c->cell)) && cJSON_AddNumberToObject(j, "vocab", c->vocab) &&
              cJSON_AddNumberToObject(j, "embed", c->embed) && cJSON_AddNumberToObject(j, "features", c->features) &&
              cJSON_AddNumberToObject(j, "hidden", c->hidden) && cJSON_AddNumberToObject(j, "layers", c->layers) &&
              cJSON_AddBoolToObject(j, "bidirectional", c->bidirectional) && cJSON_AddNumberToObject(j, "dropout", c->dropout) &&
              cJSON_AddNumberToObject(j, "output_dropout", c->output_dropout) &&
              cJSON_AddStringToObject(j, "pool", rnnc_pool_name(c->pool)) && cJSON_AddNumberToObject(j, "outputs", c->outputs) &&
              cJSON_AddNumberToObject(j, "known", c->known) && cJSON_AddStringToObject(j, "loss", rnnc_seq_loss_name(c->loss)) &&
              (!c->max_len || cJSON_AddNumberToObject(j, "max_len", c->max_len));
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static rnnc_status config_parse(rnnc_seq_config *c, const char *text, const char *path) {
    memset(c, 0, sizeof *c);
    char what[600];
    snprintf(what, sizeof what, "%s: rnnc.seqmodel", path);
    cJSON *j;
    rnnc_status s = rnnc_json_object(text, what, &j);
    if (s) return s;
    const char *task = NULL, *cell = NULL, *pool = NULL, *loss = NULL;
    double drop = 0, odrop = 0;
    if (!(s = rnnc_json_str(j, "task", false, &task, what)) && !(s = rnnc_json_str(j, "cell", false, &cell, what)) &&
        !(s = rnnc_json_str(j, "pool", false, &pool, what)) && !(s = rnnc_json_str(j, "loss", false, &loss, what)) &&
        !(s = rnnc_json_int(j, "vocab", 0, RNNC_S2S_MAX_VOCAB, false, &c->vocab, what)) &&
        !(s = rnnc_json_int(j, "embed", 0, SEQ_MAX_DIM, false, &c->embed, what)) &&
        !(s = rnnc_json_int(j, "features", 0, SEQ_MAX_DIM, false, &c->features, what)) &&
        !(s = rnnc_json_int(j, "hidden", 1, SEQ_MAX_DIM, false, &c->hidden, what)) &&
        !(s = rnnc_json_int(j, "layers", 1, SEQ_MAX_LAYERS, false, &c->layers, what)) &&
        !(s = rnnc_json_bool(j, "bidirectional", false, &c->bidirectional, what)) &&
        !(s = rnnc_json_num(j, "dropout", 0, 0.999999, false, false, &drop, what)) &&
        !(s = rnnc_json_num(j, "output_dropout", 0, 0.999999, false, false, &odrop, what)) &&
        !(s = rnnc_json_int(j, "outputs", 1, RNNC_SEQ_MAX_OUTPUTS, false, &c->outputs, what)) &&
        !(s = rnnc_json_int(j, "known", 0, SEQ_MAX_DIM, false, &c->known, what)) &&
        !(s = rnnc_json_int(j, "max_len", 0, 1 << 30, true, &c->max_len, what))) { /* optional: older files have none */
        c->dropout = (float)drop;
        c->output_dropout = (float)odrop;
        if (rnnc_seq_kind_parse(task, &c->kind) || rnnc_cell_parse(cell, &c->cell) || rnnc_pool_parse(pool, &c->pool) ||
            rnnc_seq_loss_parse(loss, &c->loss) || rnnc_seq_config_check(c))
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: %s", what, rnnc_last_error());
    }
    cJSON_Delete(j);
    return s;
}

/* Labels: one a line, as many as the config's outputs. */
static rnnc_status labels_parse(const char *text, int n, char ***out, const char *path) {
    char **l = calloc((size_t)n, sizeof *l);
    if (!l) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for %d labels", path, n);
    const char *p = text;
    int k = 0;
    rnnc_status s = RNNC_OK;
    while (*p && k < n) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!(l[k] = strndup(p, len))) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); break; }
        k++;
        p += len + (e ? 1 : 0);
    }
    if (!s && (k != n || *p)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.labels holds %s%d labels but the model has %d outputs", path, *p ? "more than " : "", k, n);
    if (!s && check_labels((const char *const *)l, n, "rnnc.labels")) s = rnnc_error(RNNC_ERR_FORMAT, "%s: %s", path, rnnc_last_error());
    if (s) free_labels(l, n);
    else *out = l;
    return s;
}

static char *series_json(const rnnc_seq_series *sr) {
    cJSON *j = cJSON_CreateObject(), *cols = cJSON_AddArrayToObject(j, "columns");
    bool ok = j && cols && cJSON_AddNumberToObject(j, "context", sr->context) && cJSON_AddNumberToObject(j, "season", sr->season) &&
              (!sr->relative || cJSON_AddBoolToObject(j, "relative", true));
    for (int i = 0; ok && i < sr->n_cols; i++) {
        cJSON *c = cJSON_CreateObject();
        ok = c && cJSON_AddItemToArray(cols, c) && cJSON_AddStringToObject(c, "name", sr->name[i]) &&
             cJSON_AddBoolToObject(c, "known", sr->known[i]) && cJSON_AddNumberToObject(c, "mean", sr->mean[i]) &&
             cJSON_AddNumberToObject(c, "std", sr->std[i]);
    }
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static rnnc_status series_parse(rnnc_seq_series *sr, const char *text, const rnnc_seq_config *c, const char *path) {
    memset(sr, 0, sizeof *sr);
    char what[600];
    snprintf(what, sizeof what, "%s: rnnc.series", path);
    cJSON *j;
    rnnc_status s = rnnc_json_object(text, what, &j);
    if (s) return s;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "columns");
    if ((s = rnnc_json_int(j, "context", 1, 1 << 24, false, &sr->context, what)) ||
        (s = rnnc_json_int(j, "season", 0, 1 << 24, false, &sr->season, what)) ||
        (s = rnnc_json_bool(j, "relative", true, &sr->relative, what))) /* optional: files before it are absolute */
        goto out;
    if (!cJSON_IsArray(cols) || cJSON_GetArraySize(cols) != c->features) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"columns\" must be an array of %d columns (the model's features)", what, c->features);
        goto out;
    }
    int n = c->features;
    sr->name = calloc((size_t)n, sizeof *sr->name);
    sr->known = calloc((size_t)n, sizeof *sr->known);
    sr->mean = calloc((size_t)n, sizeof *sr->mean);
    sr->std = calloc((size_t)n, sizeof *sr->std);
    if (!sr->name || !sr->known || !sr->mean || !sr->std) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", what); goto out; }
    sr->n_cols = n;
    for (int i = 0; i < n && !s; i++) {
        const cJSON *col = cJSON_GetArrayItem(cols, i);
        char w2[700];
        snprintf(w2, sizeof w2, "%s column %d", what, i);
        const char *name = NULL;
        bool nomem = false;
        if (!cJSON_IsObject(col)) s = rnnc_error(RNNC_ERR_FORMAT, "%s is not an object", w2);
        else if (rnnc_json_dup_key(col, &nomem) || nomem) s = rnnc_error(RNNC_ERR_FORMAT, "%s has a key twice", w2);
        else if (!(s = rnnc_json_str(col, "name", false, &name, w2)) && !(s = rnnc_json_bool(col, "known", false, &sr->known[i], w2)) &&
                 !(s = rnnc_json_num(col, "mean", -FLT_MAX, FLT_MAX, false, false, &sr->mean[i], w2)) &&
                 !(s = rnnc_json_num(col, "std", 1e-300, FLT_MAX, false, false, &sr->std[i], w2)) && !(sr->name[i] = strdup(name)))
            s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", w2);
    }
    if (!s && check_series(sr, c)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: %s", what, rnnc_last_error());
out:
    cJSON_Delete(j);
    if (s) rnnc_seq_series_free(sr);
    return s;
}

/* A run's state saved beside the model tensors (checkpoints): the loader passes these over. */
static const char *const state_prefixes[] = {"train.", "run.", "task.", NULL};
static bool is_state_tensor(const char *name) { return rnnc_layout_has_prefix(name, state_prefixes); }

rnnc_status rnnc_seq_save(const rnnc_seq_model *m, const char *path, const char *const *keys, const char *const *values,
                          size_t n, const rnnc_st_entry *extra, size_t n_extra) {
    for (size_t i = 0; i < n_extra; i++)
        if (!is_state_tensor(extra[i].name))
            return rnnc_error(RNNC_ERR_ARG, "%s: extra tensor '%s' must be named train.*, run.* or task.*", path, extra[i].name);
    size_t nt = rnnc_seq_num_tensors(m);
    rnnc_st_entry *ent = calloc(nt + n_extra, sizeof *ent);
    rnnc_param_info *info = calloc(nt, sizeof *info);
    const char **mk = calloc(n + 4, sizeof *mk), **mv = calloc(n + 4, sizeof *mv);
    char *cfg = config_json(&m->c), *series = NULL;
    rnnc_bytes vocab = {0}, labels = {0};
    rnnc_status s = RNNC_OK;
    if (!ent || !info || !mk || !mv || !cfg) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory saving %s", path); goto out; }
    for (size_t k = 0; k < nt; k++) {
        info[k] = rnnc_seq_tensor(m, k);
        ent[k] = (rnnc_st_entry){.name = info[k].name, .dtype = RNNC_DT_F32, .ndim = info[k].ndim,
                                 .data = m->params + info[k].offset};
        ent[k].shape[0] = info[k].shape[0];
        ent[k].shape[1] = info[k].shape[1];
    }
    size_t nm = 0;
    mk[nm] = "rnnc.seqmodel"; mv[nm++] = cfg;
    if (tokens(&m->c)) {
        if ((s = rnnc_s2s_vocab_to_string(&m->vocab, &vocab))) goto out;
        for (int i = 0; i < m->n_labels; i++)
            if ((s = rnnc_bytes_append(&labels, m->labels[i], strlen(m->labels[i]))) ||
                (i + 1 < m->n_labels && (s = rnnc_bytes_append(&labels, "\n", 1))))
                goto out;
        if ((s = rnnc_bytes_append(&labels, "", 1))) goto out; /* NUL */
        mk[nm] = "rnnc.vocab_kind"; mv[nm++] = rnnc_s2s_tok_name(m->vocab.tok);
        mk[nm] = "rnnc.vocab"; mv[nm++] = (const char *)vocab.data;
        mk[nm] = "rnnc.labels"; mv[nm++] = (const char *)labels.data;
    } else {
        if (!(series = series_json(&m->series))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory saving %s", path); goto out; }
        mk[nm] = "rnnc.series"; mv[nm++] = series;
    }
    for (size_t i = 0; i < n; i++) { mk[nm] = keys[i]; mv[nm++] = values[i]; }
    for (size_t i = 0; i < n_extra; i++) ent[nt + i] = extra[i];
    s = rnnc_st_save(path, ent, nt + n_extra, mk, mv, nm);
out:
    free(ent); free(info); free(mk); free(mv); free(cfg); free(series);
    rnnc_bytes_free(&vocab);
    rnnc_bytes_free(&labels);
    return s;
}

/* Every tensor of the layout is in the file with its shape, and no other model tensor is
 * (model/layout.h). */
static rnnc_status check_tensors(const rnnc_seq_model *lay, const rnnc_safetensors *st) {
    size_t nt = rnnc_seq_num_tensors(lay);
    rnnc_param_info *want = malloc((nt ? nt : 1) * sizeof *want);
    if (!want) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", st->path);
    for (size_t k = 0; k < nt; k++) want[k] = rnnc_seq_tensor(lay, k);
    rnnc_status s = rnnc_check_layout(st, want, nt, state_prefixes, "rnnc.seqmodel", NULL);
    free(want);
    return s;
}

rnnc_status rnnc_seq_load_st(rnnc_seq_model **out, const rnnc_safetensors *st) {
    *out = NULL;
    const char *path = st->path;
    /* any file with a config is read as one (its errors are precise); others say what they are */
    const char *cfg = rnnc_st_meta(st, "rnnc.seqmodel");
    if (!cfg) return rnnc_file_kind_refuse(path, rnnc_file_kind_of(st), RNNC_FILE_UNKNOWN);
    rnnc_seq_config c;
    rnnc_status s = config_parse(&c, cfg, path);
    if (s) return s;
    rnnc_s2s_vocab v = {0};
    char **labels = NULL;
    rnnc_seq_series sr = {0};
    rnnc_seq_model *m = NULL;
    if (tokens(&c)) {
        const char *kname = rnnc_st_meta(st, "rnnc.vocab_kind"), *text = rnnc_st_meta(st, "rnnc.vocab"), *lt = rnnc_st_meta(st, "rnnc.labels");
        rnnc_s2s_tok tok = RNNC_S2S_TOK_SPACE;
        bool found = false;
        for (int k = RNNC_S2S_TOK_SPACE; kname && k <= RNNC_S2S_TOK_FILE; k++)
            if (!strcmp(kname, rnnc_s2s_tok_name((rnnc_s2s_tok)k))) { tok = (rnnc_s2s_tok)k; found = true; }
        char what[600];
        snprintf(what, sizeof what, "%s: rnnc.vocab", path);
        if (!found) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.vocab_kind is missing or not one of space, char, word, bpe, file", path);
        else if (!text) s = rnnc_error(RNNC_ERR_FORMAT, "%s: no rnnc.vocab", path);
        else if (!lt) s = rnnc_error(RNNC_ERR_FORMAT, "%s: no rnnc.labels", path);
        else if (!(s = rnnc_s2s_vocab_from_string(&v, tok, text, what)) && v.n != (size_t)c.vocab)
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.vocab gives %zu ids (the 4 specials included) but rnnc.seqmodel says vocab %d", path, v.n, c.vocab);
        if (!s) s = labels_parse(lt, c.outputs, &labels, path);
    } else {
        const char *text = rnnc_st_meta(st, "rnnc.series");
        s = text ? series_parse(&sr, text, &c, path) : rnnc_error(RNNC_ERR_FORMAT, "%s: a forecaster without rnnc.series", path);
    }
    rnnc_seq_model lay;
    if (!s) {
        layout(&lay, &c);
        s = check_tensors(&lay, st);
    }
    if (!s && (s = rnnc_seq_model_new(&m, &c, &v, (const char *const *)labels, &sr))) s = rnnc_error(s, "%s: %s", path, rnnc_last_error());
    size_t nt = m ? rnnc_seq_num_tensors(m) : 0;
    for (size_t k = 0; !s && k < nt; k++) {
        rnnc_param_info p = rnnc_seq_tensor(m, k);
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        float *x = m->params + p.offset;
        if ((s = rnnc_st_read_f32(st, p.name, p.ndim, shape, x))) break;
        for (size_t i = 0; i < p.size; i++)
            if (!isfinite(x[i])) {
                s = rnnc_error(RNNC_ERR_NUMERIC, "%s: tensor '%s' holds a non-finite value at element %zu", path, p.name, i);
                break;
            }
    }
    rnnc_s2s_vocab_free(&v);
    free_labels(labels, c.outputs);
    rnnc_seq_series_free(&sr);
    if (s) rnnc_seq_model_free(m);
    else *out = m;
    return s;
}

rnnc_status rnnc_seq_load(rnnc_seq_model **out, const char *path) {
    *out = NULL;
    rnnc_file_kind kind = rnnc_file_kind_sniff_path(path);
    if (kind != RNNC_FILE_UNKNOWN) return rnnc_file_kind_refuse(path, kind, RNNC_FILE_UNKNOWN);
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, path);
    if (s) return s;
    s = rnnc_seq_load_st(out, &st);
    rnnc_st_free(&st);
    return s;
}
