/* The classify, tag and forecast tasks on the run module (include/rnnc/train.h): one task type
 * for the three, since they share the model (seqmodel.h), the batching and the run; they differ in
 * their data (TSV items, seqdata.h; CSV windows, series.h) and their validation metrics.
 *
 * Examples are items (classify, tag) or windows (forecast). Each epoch visits them in an order
 * drawn from the seed and the epoch alone (so a resume finds it again): shuffled, then for items
 * sorted by length inside chunks of 50 batches so that a batch holds similar lengths, then the
 * batch order shuffled.
 *
 * Data parallel (run.h): every rank plans the same order and takes rows [r n/N, (r+1) n/N) of
 * each global batch of n examples; dropout draws per global row (rnnc_seq_ws_set_row0).
 * Validation: each rank scores its share of the items or windows, and the counts and sums
 * (confusion matrix, sequences, spans; the forecast errors) are reduced. */
#include "rnnc/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "rnnc/io.h"
#include "rnnc/scores.h"
#include "rnnc/seqdata.h"
#include "rnnc/series.h"

rnnc_seq_task_opts rnnc_seq_task_defaults(rnnc_seq_kind kind) {
    rnnc_seq_task_opts o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    /* (forecast reads numbers: no tokenizer, and none in its checkpoint's options) */
    o.tokenizer = kind == RNNC_SEQ_TAG ? "space" : kind == RNNC_SEQ_CLASSIFY ? "word:20000" : NULL;
    o.model = (rnnc_seq_config){.kind = kind, .cell = RNNC_CELL_LSTM, .embed = 64, .hidden = 128, .layers = 1,
                                .pool = kind == RNNC_SEQ_CLASSIFY ? RNNC_POOL_MAX : RNNC_POOL_FINAL,
                                .loss = kind == RNNC_SEQ_FORECAST ? RNNC_SEQ_LOSS_MSE : RNNC_SEQ_LOSS_CE};
    if (kind == RNNC_SEQ_FORECAST) o.model.embed = 0;
    o.batch = 32;
    o.context = 28;
    o.horizon = 1;
    return o;
}

enum { S_DATA, S_VALID, S_TOKENIZER, S_WEIGHT, S_TARGET, S_COV, S_KNOWN, N_STRINGS };

typedef struct {
    rnnc_task base;
    rnnc_seq_task_opts o;
    char *strings[N_STRINGS];
    rnnc_seq_model *m;
    float *grads;
    rnnc_seq_ws *ws;
    /* classify, tag */
    rnnc_seq_data train, dev;
    float *weight; /* class weights (classify), or NULL */
    /* forecast */
    rnnc_series_data series;
    int train_end, valid_end; /* rows: training windows end their targets before train_end;
                                 validation targets lie in [train_end, valid_end) */
    int n_train_win, n_valid_win;
    double snaive_mae;        /* the seasonal-naive forecast's MAE on the validation windows */
    /* batching */
    size_t n_ex, *order;
    long planned_epoch;
    int T; /* the longest item (token kinds) or the context */
    uint32_t *b_ids;
    int *b_len, *b_lab, *b_starts;
    float *b_x, *b_known, *b_target, *out;
} seq_task;

static bool tokens(const seq_task *t) { return t->o.kind != RNNC_SEQ_FORECAST; }
static const char *task_name(const seq_task *t) { return rnnc_seq_kind_name(t->o.kind); }

static void seq_free(rnnc_task *base) {
    seq_task *t = (seq_task *)base;
    rnnc_seq_ws_free(t->ws);
    rnnc_seq_model_free(t->m);
    rnnc_seq_data_free(&t->train);
    rnnc_seq_data_free(&t->dev);
    rnnc_series_data_free(&t->series);
    free(t->grads); free(t->weight); free(t->order);
    free(t->b_ids); free(t->b_len); free(t->b_lab); free(t->b_starts); free(t->b_x); free(t->b_known); free(t->b_target); free(t->out);
    for (int i = 0; i < N_STRINGS; i++) free(t->strings[i]);
    free(t);
}

/* ---- batches ---- */

static size_t seq_steps_per_epoch(rnnc_task *base) {
    seq_task *t = (seq_task *)base;
    return (t->n_ex + (size_t)t->o.batch - 1) / (size_t)t->o.batch;
}

static const int *item_len(const seq_task *t) { return t->train.len; }

static int cmp_len_desc(const void *a, const void *b, void *ctx) {
    const int *len = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (len[x] != len[y]) return len[y] - len[x];
    return x < y ? -1 : x > y;
}

/* A small insertion-merge sort with a context (qsort has none; qsort_r is not C11). */
static void sort_by_len(size_t *v, size_t n, const int *len) {
    for (size_t i = 1; i < n; i++) {
        size_t x = v[i], j = i;
        while (j > 0 && cmp_len_desc(&v[j - 1], &x, (void *)len) > 0) { v[j] = v[j - 1]; j--; }
        v[j] = x;
    }
}

static void plan(seq_task *t, uint64_t seed, long epoch) {
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(epoch + 1)));
    size_t n = t->n_ex, B = (size_t)t->o.batch;
    for (size_t i = 0; i < n; i++) t->order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = rnnc_rng_below(&rng, i), x = t->order[i - 1];
        t->order[i - 1] = t->order[j];
        t->order[j] = x;
    }
    if (!tokens(t)) return; /* windows all have the same length */
    size_t chunk = 50 * B;
    for (size_t c = 0; c < n; c += chunk) sort_by_len(t->order + c, n - c < chunk ? n - c : chunk, item_len(t));
    /* shuffle whole batches (the last, short one stays last so every other batch is full) */
    size_t nb = n / B;
    for (size_t i = nb; i > 1; i--) {
        size_t j = rnnc_rng_below(&rng, i);
        for (size_t k = 0; k < B; k++) {
            size_t x = t->order[(i - 1) * B + k];
            t->order[(i - 1) * B + k] = t->order[j * B + k];
            t->order[j * B + k] = x;
        }
    }
    t->planned_epoch = epoch;
}

/* Fills the batch buffers with examples ex[0, B) of data d (items) or windows (forecast). */
static rnnc_status fill(seq_task *t, const rnnc_seq_data *d, const size_t *ex, int B, rnnc_seq_batch *b) {
    if (!tokens(t)) {
        memset(b, 0, sizeof *b);
        b->B = B;
        for (int r = 0; r < B; r++) t->b_starts[r] = (int)ex[r];
        b->T = t->o.context;
        b->x = t->b_x;
        b->known = t->m->c.known ? t->b_known : NULL;
        b->targets = t->b_target;
        return rnnc_series_fill(&t->m->series, &t->series, t->b_starts, B, t->o.horizon, t->b_x, t->m->c.known ? t->b_known : NULL,
                                t->b_target);
    }
    rnnc_seq_data_batch(d, t->o.kind, ex, B, t->b_ids, t->b_len, t->b_lab, b);
    return RNNC_OK;
}

static rnnc_status seq_train_batch(rnnc_task *base, long step, uint64_t seed, rnnc_rng *rng, double *loss, double *count) {
    seq_task *t = (seq_task *)base;
    long spe = (long)seq_steps_per_epoch(base), epoch = step / spe;
    size_t k = (size_t)(step % spe), B = (size_t)t->o.batch;
    if (epoch != t->planned_epoch) plan(t, seed, epoch);
    t->planned_epoch = epoch;
    size_t first = k * B, n = t->n_ex - first < B ? t->n_ex - first : B;
    /* (windows: the order holds window numbers, which are their first rows) */
    size_t lo = 0, hi = n; /* this rank's rows of the global batch */
    rnnc_comm_share(base->comm, n, &lo, &hi);
    double *weight = &base->weight;
    *loss = *weight = *count = 0;
    if (hi == lo) return RNNC_OK; /* a short last batch may leave a rank nothing */
    const size_t *idx = t->order + first + lo;
    rnnc_seq_batch b;
    rnnc_status s = fill(t, &t->train, idx, (int)(hi - lo), &b);
    if (s) return s;
    rnnc_seq_opts o = {.class_weight = t->weight, .training = true};
    rnnc_seq_ws_set_row0(t->ws, (long)lo);
    if ((s = rnnc_seq_forward_backward(t->ws, t->m, &b, &o, t->grads, 1.0f, rng, NULL, loss, weight))) return s;
    if (t->weight && tokens(t)) { /* the weighted mean's denominator: the rows' class weights */
        *weight = 0;
        for (int r = 0; r < b.B; r++)
            if (b.labels[r] >= 0) *weight += t->weight[b.labels[r]];
    }
    /* the run's throughput counts input tokens (time steps), as for the other tasks, not labels */
    for (int r = 0; r < b.B; r++) *count += b.lengths ? b.lengths[r] : b.T;
    return RNNC_OK;
}

/* Every rank plans the same order and takes its rows of each batch (seq_train_batch). */
static rnnc_status seq_shard(rnnc_task *base) {
    return rnnc_comm_check_batch(base->comm, ((seq_task *)base)->o.batch, "--batch");
}

/* ---- validation ---- */

static void add_metric(rnnc_valid_result *r, const char *name, double v) {
    if (r->n >= RNNC_MAX_METRICS) return;
    r->m[r->n].name = name;
    r->m[r->n++].value = v;
}

/* Sums n counters over the ranks, in place. */
static rnnc_status reduce_counts(rnnc_comm *c, size_t *v, size_t n) {
    if (rnnc_comm_size(c) <= 1 || n == 0) return RNNC_OK;
    uint64_t *u = malloc(n * sizeof *u);
    if (!u) return rnnc_error(RNNC_ERR_NOMEM, "out of memory reducing the validation counts");
    for (size_t i = 0; i < n; i++) u[i] = v[i];
    rnnc_status s = rnnc_comm_allreduce(c, u, n, RNNC_COMM_U64, RNNC_COMM_SUM, "the validation all-reduce");
    for (size_t i = 0; i < n && !s; i++) v[i] = (size_t)u[i];
    free(u);
    return s;
}

/* The ranks' confusion matrix (and, for tags, sequence and span counts) summed. */
static rnnc_status reduce_scores(rnnc_comm *c, rnnc_confusion *cm, rnnc_tag_score *ts, bool tag) {
    rnnc_confusion *m = tag ? &ts->tokens : cm;
    size_t C = (size_t)m->n_classes;
    rnnc_status s = reduce_counts(c, m->counts, C * C);
    if (!s) s = reduce_counts(c, &m->total, 1);
    if (!s && tag) {
        size_t seqs[2] = {ts->seqs, ts->seqs_correct};
        if (!(s = reduce_counts(c, seqs, 2))) {
            ts->seqs = seqs[0];
            ts->seqs_correct = seqs[1];
        }
        size_t K = ts->has_spans ? (size_t)ts->spans.n_types : 0;
        if (!s && K && !(s = reduce_counts(c, ts->spans.correct, K)) && !(s = reduce_counts(c, ts->spans.predicted, K)))
            s = reduce_counts(c, ts->spans.truth, K);
    }
    return s;
}

static rnnc_status validate_items(seq_task *t, rnnc_valid_result *r) {
    const rnnc_seq_data *d = &t->dev;
    int C = t->m->c.outputs, Bmax = t->o.batch;
    bool tag = t->o.kind == RNNC_SEQ_TAG;
    rnnc_confusion cm = {0};
    rnnc_tag_score ts = {0};
    rnnc_status s = tag ? rnnc_tag_score_init(&ts, (const char *const *)t->m->labels, C) : rnnc_confusion_init(&cm, C);
    if (s) return s;
    double sum = 0, cnt = 0;
    size_t *ex = malloc((size_t)Bmax * sizeof *ex);
    int *pred = malloc((size_t)t->T * sizeof *pred);
    if (!ex || !pred) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory validating");
    size_t lo, hi; /* this rank's share of the items (all of them in one process) */
    rnnc_comm_share(t->base.comm, d->n, &lo, &hi);
    for (size_t first = lo; !s && first < hi; first += (size_t)Bmax) {
        int B = (int)(hi - first < (size_t)Bmax ? hi - first : (size_t)Bmax);
        for (int k = 0; k < B; k++) ex[k] = first + (size_t)k;
        rnnc_seq_batch b;
        double l, c;
        if ((s = fill(t, d, ex, B, &b)) || (s = rnnc_seq_forward_backward(t->ws, t->m, &b, NULL, NULL, 1, NULL, t->out, &l, &c))) break;
        sum += l * c;
        cnt += c;
        for (int k = 0; k < B && !s; k++) {
            size_t i = ex[k];
            if (tag) {
                rnnc_tag_decode(t->out + (size_t)k * b.T * C, d->len[i], C, -1, pred); /* each token's best tag */
                s = rnnc_tag_score_add(&ts, d->tags[i], pred, (size_t)d->len[i]);
            } else {
                int label;
                rnnc_tag_decode(t->out + (size_t)k * C, 1, C, -1, &label); /* the best class */
                s = rnnc_confusion_add(&cm, d->label[i], label);
            }
        }
    }
    free(ex);
    free(pred);
    if (!s && rnnc_comm_size(t->base.comm) > 1) {
        double v[2] = {sum, cnt};
        if (!(s = rnnc_comm_allreduce(t->base.comm, v, 2, RNNC_COMM_F64, RNNC_COMM_SUM, "the validation all-reduce"))) {
            sum = v[0];
            cnt = v[1];
            s = reduce_scores(t->base.comm, &cm, &ts, tag);
        }
    }
    if (!s) {
        double loss = cnt > 0 ? sum / cnt : 0;
        r->n = 0;
        add_metric(r, "val_loss", loss);
        if (tag) {
            double acc = rnnc_confusion_accuracy(&ts.tokens), seq = rnnc_tag_score_seq_accuracy(&ts);
            add_metric(r, "val_acc", acc);
            add_metric(r, "val_seq_acc", seq);
            add_metric(r, "val_macro_f1", rnnc_confusion_macro_f1(&ts.tokens));
            if (ts.has_spans) {
                double f1 = rnnc_spans_total(&ts.spans).f1;
                add_metric(r, "val_span_f1", f1);
                r->score[0] = 1 - f1;
                snprintf(r->line, sizeof r->line, "valid loss %.4f  tag acc %.2f%%  seq acc %.2f%%  span F1 %.4f (%zu items)", loss,
                         100 * acc, 100 * seq, f1, d->n);
            } else {
                r->score[0] = 1 - acc;
                snprintf(r->line, sizeof r->line, "valid loss %.4f  tag acc %.2f%%  seq acc %.2f%% (%zu items)", loss, 100 * acc, 100 * seq, d->n);
            }
        } else {
            double acc = rnnc_confusion_accuracy(&cm), f1 = rnnc_confusion_macro_f1(&cm);
            add_metric(r, "val_acc", acc);
            add_metric(r, "val_macro_f1", f1);
            r->score[0] = 1 - f1;
            snprintf(r->line, sizeof r->line, "valid loss %.4f  acc %.2f%%  macro-F1 %.4f (%zu items)", loss, 100 * acc, f1, d->n);
        }
        r->score[1] = loss;
    }
    if (tag) rnnc_tag_score_free(&ts);
    else rnnc_confusion_free(&cm);
    return s;
}

static rnnc_status validate_windows(seq_task *t, rnnc_valid_result *r) {
    int N = t->o.horizon, Bmax = t->o.batch, lo = t->train_end - t->o.context;
    double sum = 0, cnt = 0;
    rnnc_series_acc acc;
    rnnc_series_acc_init(&acc, 1.0);
    rnnc_status s = RNNC_OK;
    size_t *ex = malloc((size_t)Bmax * sizeof *ex);
    float *y = malloc((size_t)Bmax * N * sizeof *y);
    if (!ex || !y) {
        free(ex);
        free(y);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory validating");
    }
    size_t w_lo, w_hi; /* this rank's share of the windows (all of them in one process) */
    rnnc_comm_share(t->base.comm, (size_t)t->n_valid_win, &w_lo, &w_hi);
    for (int first = (int)w_lo; !s && first < (int)w_hi; first += Bmax) {
        int B = (int)w_hi - first < Bmax ? (int)w_hi - first : Bmax;
        for (int k = 0; k < B; k++) ex[k] = (size_t)(lo + first + k);
        rnnc_seq_batch b;
        double l, c;
        if ((s = fill(t, NULL, ex, B, &b)) || (s = rnnc_seq_forward_backward(t->ws, t->m, &b, NULL, NULL, 1, NULL, t->out, &l, &c))) break;
        sum += l * c;
        cnt += c;
        if ((s = rnnc_series_denorm_windows(&t->m->series, &t->series, t->b_starts, B, N, t->out, t->out))) break;
        for (int k = 0; k < B; k++)
            for (int h = 0; h < N; h++) y[k * N + h] = t->series.v[(size_t)(ex[k] + (size_t)t->o.context + (size_t)h) * (size_t)t->series.cols];
        rnnc_series_acc_add(&acc, y, t->out, (size_t)B * N);
    }
    free(ex);
    free(y);
    if (!s && rnnc_comm_size(t->base.comm) > 1) {
        double v[5] = {sum, cnt, acc.sum_abs, acc.sum_sq, acc.sum_smape};
        size_t n = acc.n;
        if (!(s = rnnc_comm_allreduce(t->base.comm, v, 5, RNNC_COMM_F64, RNNC_COMM_SUM, "the validation all-reduce")) &&
            !(s = reduce_counts(t->base.comm, &n, 1))) {
            sum = v[0];
            cnt = v[1];
            acc.sum_abs = v[2];
            acc.sum_sq = v[3];
            acc.sum_smape = v[4];
            acc.n = n;
        }
    }
    rnnc_series_metrics mt;
    if (!s) s = rnnc_series_acc_finish(&acc, &mt);
    if (s) return s;
    double loss = cnt > 0 ? sum / cnt : 0;
    r->n = 0;
    add_metric(r, "val_loss", loss);
    add_metric(r, "val_mae", mt.mae);
    add_metric(r, "val_rmse", mt.rmse);
    add_metric(r, "val_smape", mt.smape);
    r->score[0] = mt.mae;
    r->score[1] = loss;
    snprintf(r->line, sizeof r->line, "valid loss %.4f  MAE %.4g (seasonal naive %.4g)  RMSE %.4g  sMAPE %.2f%% (%d windows)", loss,
             mt.mae, t->snaive_mae, mt.rmse, mt.smape, t->n_valid_win);
    return RNNC_OK;
}

static rnnc_status seq_validate(rnnc_task *base, rnnc_valid_result *r) {
    seq_task *t = (seq_task *)base;
    return tokens(t) ? validate_items(t, r) : validate_windows(t, r);
}

/* ---- files ---- */

static rnnc_status seq_save(rnnc_task *base, const char *path, const char *const *keys, const char *const *values, size_t n_meta,
                            const rnnc_st_entry *extra, size_t n_extra) {
    return rnnc_seq_save(((seq_task *)base)->m, path, keys, values, n_meta, extra, n_extra);
}

static bool add_str(cJSON *j, const char *k, const char *v) { return !v || cJSON_AddStringToObject(j, k, v); }

static char *seq_options_json(rnnc_task *base) {
    seq_task *t = (seq_task *)base;
    const rnnc_seq_task_opts *o = &t->o;
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "task", task_name(t)) && add_str(j, "data", o->data) && add_str(j, "valid", o->valid) &&
              add_str(j, "tokenizer", o->tokenizer) && add_str(j, "class_weight", o->class_weight) &&
              add_str(j, "target", o->target) && add_str(j, "covariates", o->covariates) && add_str(j, "known", o->known) &&
              cJSON_AddNumberToObject(j, "batch", o->batch) && cJSON_AddNumberToObject(j, "max_len", o->max_len) &&
              cJSON_AddBoolToObject(j, "skip_bad", o->skip_bad) && cJSON_AddBoolToObject(j, "skip_long", o->skip_long) &&
              cJSON_AddNumberToObject(j, "context", o->context) && cJSON_AddNumberToObject(j, "horizon", o->horizon) &&
              cJSON_AddNumberToObject(j, "season", o->season) && cJSON_AddNumberToObject(j, "valid_last", (double)o->valid_last) &&
              cJSON_AddNumberToObject(j, "holdout", (double)o->holdout) && cJSON_AddBoolToObject(j, "relative", o->relative);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static size_t seq_inputs(rnnc_task *base, const char **paths, size_t max) {
    const rnnc_seq_task_opts *o = &((seq_task *)base)->o;
    return rnnc_task_list_inputs((const char *const[]){o->data, o->valid}, 2, paths, max);
}

static const rnnc_task_ops seq_ops[3] = {
    {.name = "classify", .steps_per_epoch = seq_steps_per_epoch, .train_batch = seq_train_batch, .validate = seq_validate,
     .save = seq_save, .options_json = seq_options_json, .free = seq_free, .shard = seq_shard, .inputs = seq_inputs},
    {.name = "tag", .steps_per_epoch = seq_steps_per_epoch, .train_batch = seq_train_batch, .validate = seq_validate,
     .save = seq_save, .options_json = seq_options_json, .free = seq_free, .shard = seq_shard, .inputs = seq_inputs},
    {.name = "forecast", .steps_per_epoch = seq_steps_per_epoch, .train_batch = seq_train_batch, .validate = seq_validate,
     .save = seq_save, .options_json = seq_options_json, .free = seq_free, .shard = seq_shard, .inputs = seq_inputs},
};

/* ---- making the task ---- */

static rnnc_status check_opts(const rnnc_seq_task_opts *o) {
    const char *task = rnnc_seq_kind_name(o->kind);
    if ((unsigned)o->kind > RNNC_SEQ_FORECAST) return rnnc_error(RNNC_ERR_ARG, "unknown task %d", (int)o->kind);
    if (!o->data) return rnnc_error(RNNC_ERR_ARG, "--data: no training file given");
    if (o->batch < 1 || o->batch > RNNC_SEQ_MAX_BATCH) return rnnc_error(RNNC_ERR_ARG, "--batch must be in [1, %d]", RNNC_SEQ_MAX_BATCH);
    rnnc_status s = rnnc_seq_class_weight_check(o->class_weight);
    if (s) return s;
    if (o->kind == RNNC_SEQ_FORECAST) {
        if (!o->target) return rnnc_error(RNNC_ERR_ARG, "--target: name the column to forecast");
        if (o->context < 1 || o->context > (1 << 20)) return rnnc_error(RNNC_ERR_ARG, "--context must be in [1, 1048576]");
        if (o->horizon < 1 || o->horizon > 65536) return rnnc_error(RNNC_ERR_ARG, "--horizon must be in [1, 65536]");
        if (o->season < 0) return rnnc_error(RNNC_ERR_ARG, "--season must not be negative");
        if (o->valid_last < 0 || o->holdout < 0) return rnnc_error(RNNC_ERR_ARG, "--valid-last and --holdout must not be negative");
    } else {
        if (!o->valid) return rnnc_error(RNNC_ERR_ARG, "--valid: no held-out file given (%s needs one to validate on)", task);
        if (o->max_len < 0) return rnnc_error(RNNC_ERR_ARG, "--max-len must not be negative");
    }
    return RNNC_OK;
}

static rnnc_status task_alloc(seq_task **out, const rnnc_seq_task_opts *o) {
    seq_task *t = *out = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    t->base.ops = &seq_ops[o->kind];
    t->o = *o;
    t->planned_epoch = -1;
    const char *in[N_STRINGS] = {o->data, o->valid, o->tokenizer, o->class_weight, o->target, o->covariates, o->known};
    const char **fields[N_STRINGS] = {&t->o.data, &t->o.valid, &t->o.tokenizer, &t->o.class_weight, &t->o.target, &t->o.covariates, &t->o.known};
    for (int i = 0; i < N_STRINGS; i++) {
        if (!in[i]) continue;
        if (!(t->strings[i] = strdup(in[i]))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
        *fields[i] = t->strings[i];
    }
    return RNNC_OK;
}

/* One pass over --class-weight's NAME=W list: each item checked (the form, a number in [0, 1e6],
 * a name given once); with a model, each weight set on its label (a name the training data lacks
 * is an error listing the labels). Without one, the check that needs no data (the flag's parse).
 * A name given twice is found by label id where the model is known (a resume reads the spec from
 * a checkpoint, which may be crafted: linear), and by comparing with the items before it where
 * only the command line's spec is (a person's typing: at most WEIGHT_ITEMS_MAX items, so the
 * quadratic scan stays short). */
#define WEIGHT_ITEMS_MAX 4096

static rnnc_status weight_list(const char *spec, const rnnc_seq_model *m, float *weight) {
    size_t items = 1;
    for (const char *p = spec; *p; p++) items += *p == ',';
    if (!m && items > WEIGHT_ITEMS_MAX)
        return rnnc_error(RNNC_ERR_ARG, "--class-weight: %zu items, more than %d", items, WEIGHT_ITEMS_MAX);
    bool *seen = m ? calloc((size_t)m->n_labels + 1, sizeof *seen) : NULL;
    if (m && !seen) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_status s = RNNC_OK;
    for (const char *p = spec; *p && !s;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end) {
            s = rnnc_error(RNNC_ERR_ARG, "--class-weight: '%.*s' is not NAME=WEIGHT (or use none or balanced)", (int)(end - p), p);
            break;
        }
        char name[256], num[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - p), p);
        snprintf(num, sizeof num, "%.*s", (int)(end - eq - 1), eq + 1);
        if (!name[0]) {
            s = rnnc_error(RNNC_ERR_ARG, "--class-weight: '%.*s' has no label name before '='", (int)(end - p), p);
            break;
        }
        char *e;
        double w = strspn(num, "0123456789.eE+-") == strlen(num) ? strtod(num, &e) : (e = num, 0); /* decimal: no blank, no hex */
        if (e == num || *e || !(w >= 0 && w <= 1e6)) {
            s = rnnc_error(RNNC_ERR_ARG, "--class-weight: weight '%s' of '%s' is not a number in [0, 1e6]", num, name);
            break;
        }
        /* (a name given twice would leave one of its weights unused, silently) */
        size_t nlen = (size_t)(eq - p);
        for (const char *q = spec; !m && q < p && !s;) {
            const char *qe = strchr(q, '=');
            if ((size_t)(qe - q) == nlen && !strncmp(q, p, nlen)) s = rnnc_error(RNNC_ERR_ARG, "--class-weight: '%s' is given twice", name);
            q = strchr(q, ',') + 1; /* (items before p are well formed: each has its '=' and ',') */
        }
        if (s) break;
        if (m) {
            int c = rnnc_seq_label_id(m, name);
            if (c < 0) {
                char list[512]; /* the labels, as many as fit, then "..." */
                size_t k = 0;
                for (int i = 0; i < m->n_labels; i++) {
                    size_t n = strlen(m->labels[i]), sep = i ? 2 : 0;
                    if (k + sep + n + 6 > sizeof list) { memcpy(list + k, i ? ", ..." : "...", i ? 6 : 4); k = sizeof list; break; }
                    memcpy(list + k, ", ", sep);
                    memcpy(list + k + sep, m->labels[i], n);
                    k += sep + n;
                }
                if (k < sizeof list) list[k] = 0;
                s = rnnc_error(RNNC_ERR_ARG, "--class-weight: no label '%s' in the training data (its labels: %s)", name, list);
                break;
            }
            if (seen[c]) {
                s = rnnc_error(RNNC_ERR_ARG, "--class-weight: '%s' is given twice", name);
                break;
            }
            seen[c] = true;
            weight[c] = (float)w;
        }
        p = *end ? end + 1 : end;
    }
    free(seen);
    return s;
}

rnnc_status rnnc_seq_class_weight_check(const char *spec) {
    if (!spec || !strcmp(spec, "none") || !strcmp(spec, "balanced")) return RNNC_OK;
    if (!*spec) return rnnc_error(RNNC_ERR_ARG, "--class-weight: none, balanced or NAME=WEIGHT,...");
    return weight_list(spec, NULL, NULL);
}

/* --class-weight: none, balanced (n / (C n_c), scikit-learn's), or name=w,name=w (others 1). */
static rnnc_status class_weights(seq_task *t) {
    const char *spec = t->o.class_weight;
    int C = t->m->c.outputs;
    if (!spec || !strcmp(spec, "none")) return RNNC_OK;
    if (t->o.kind != RNNC_SEQ_CLASSIFY) return rnnc_error(RNNC_ERR_ARG, "--class-weight is for classify");
    if (!(t->weight = malloc((size_t)C * sizeof *t->weight))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!strcmp(spec, "balanced")) {
        size_t *n = calloc((size_t)C, sizeof *n);
        if (!n) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < t->train.n; i++) n[t->train.label[i]]++;
        for (int c = 0; c < C; c++) t->weight[c] = n[c] ? (float)((double)t->train.n / ((double)C * (double)n[c])) : 0.0f;
        free(n);
        return RNNC_OK;
    }
    for (int c = 0; c < C; c++) t->weight[c] = 1.0f;
    rnnc_status s = weight_list(spec, t->m, t->weight);
    if (s) return s;
    /* every class at 0: the loss is 0 (PyTorch's weighted mean would be 0/0) and nothing is learnt */
    int zero = 0;
    for (int c = 0; c < C; c++) zero += t->weight[c] == 0;
    if (zero == C)
        return rnnc_error(RNNC_ERR_ARG, "--class-weight: every class has weight 0 (%s), so the loss is 0 and nothing would be "
                          "learnt; give at least one class a positive weight", spec);
    return RNNC_OK;
}

/* Buffers, workspace and gradients once the model and the data are in place. */
static rnnc_status setup(seq_task *t) {
    rnnc_seq_model *m = t->m;
    int B = t->o.batch;
    if (tokens(t)) {
        t->n_ex = t->train.n;
        t->T = 1;
        for (size_t i = 0; i < t->train.n; i++) t->T = t->train.len[i] > t->T ? t->train.len[i] : t->T;
        for (size_t i = 0; i < t->dev.n; i++) t->T = t->dev.len[i] > t->T ? t->dev.len[i] : t->T;
    } else {
        t->n_ex = (size_t)t->n_train_win;
        t->T = t->o.context;
    }
    size_t BT = (size_t)B * (size_t)t->T, C = (size_t)m->c.outputs;
    bool tag = t->o.kind == RNNC_SEQ_TAG;
    t->order = malloc(t->n_ex * sizeof *t->order);
    t->out = malloc((tag ? BT : (size_t)B) * C * sizeof *t->out);
    if (tokens(t)) {
        t->b_ids = malloc(BT * sizeof *t->b_ids);
        t->b_len = malloc((size_t)B * sizeof *t->b_len);
        t->b_lab = malloc((tag ? BT : (size_t)B) * sizeof *t->b_lab);
    } else {
        t->b_starts = malloc((size_t)B * sizeof *t->b_starts);
        t->b_x = malloc(BT * (size_t)m->c.features * sizeof *t->b_x);
        t->b_known = malloc((size_t)B * C * (size_t)(m->c.known ? m->c.known : 1) * sizeof *t->b_known);
        t->b_target = malloc((size_t)B * C * sizeof *t->b_target);
    }
    t->grads = calloc(m->n_params, sizeof *t->grads);
    if (!t->order || !t->out || !t->grads || (tokens(t) ? !t->b_ids || !t->b_len || !t->b_lab : !t->b_starts || !t->b_x || !t->b_known || !t->b_target))
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for batches of %d x %d", B, t->T);
    rnnc_status s = rnnc_seq_ws_new(&t->ws, m, B, t->T);
    if (s) return s;
    if ((s = class_weights(t))) return s;
    t->base.params = m->params;
    t->base.grads = t->grads;
    t->base.n_params = m->n_params;
    char model[200];
    snprintf(model, sizeof model, "%s %dx%d%s%s%s, %zu parameters", rnnc_cell_name(m->c.cell), m->c.layers, m->c.hidden,
             m->c.bidirectional ? " bidirectional" : "", t->o.kind == RNNC_SEQ_TAG ? "" : ", pooling ",
             t->o.kind == RNNC_SEQ_TAG ? "" : rnnc_pool_name(m->c.pool), m->n_params);
    if (t->o.kind == RNNC_SEQ_FORECAST)
        snprintf(t->base.describe, sizeof t->base.describe, "%d training and %d validation windows of %d steps -> %d, %d inputs (%d known ahead); %s",
                 t->n_train_win, t->n_valid_win, t->o.context, t->o.horizon, m->c.features, m->c.known, model);
    else
        snprintf(t->base.describe, sizeof t->base.describe, "%zu training items (%zu batches of %d), %zu validation items; %d %s, "
                 "vocabulary %d; %s", t->train.n, seq_steps_per_epoch(&t->base), B, t->dev.n, m->c.outputs,
                 tag ? "tags" : "classes", m->c.vocab, model);
    return RNNC_OK;
}

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static void summarize_items(const seq_task *t, char *buf, size_t n) {
    if (!buf || !n) return;
    size_t k = (size_t)snprintf(buf, n, "%s: %zu items (skipped: %zu bad, %zu long; %zu cut to --max-len); %s: %zu items, "
                                "%zu tokens out of the vocabulary (%.2f%%)", t->o.data, t->train.n, t->train.skipped_bad,
                                t->train.skipped_long, t->train.truncated, t->o.valid, t->dev.n, t->dev.unk_tokens,
                                pct(t->dev.unk_tokens, t->dev.tokens));
    if (t->dev.unknown_labels && k < n)
        snprintf(buf + k, n - k, "\n%s: %zu %s the training data does not have, left %s (the first at line %zu: '%s')", t->o.valid,
                 t->dev.unknown_labels,
                 t->o.kind == RNNC_SEQ_TAG ? (t->dev.unknown_labels == 1 ? "tag" : "tags")
                                           : (t->dev.unknown_labels == 1 ? "item with a label" : "items with labels"),
                 t->o.kind == RNNC_SEQ_TAG ? "unscored" : "out", t->dev.unknown_label_line, t->dev.unknown_label);
}

/* Splits a comma list into covariate names (pointers into a copy). */
static int split_list(char *s, const char **out, int max) {
    int n = 0;
    for (char *p = s; s && *p && n < max;) {
        char *c = strchr(p, ',');
        if (c) *c = 0;
        if (*p) out[n++] = p;
        if (!c) break;
        p = c + 1;
    }
    return n;
}

#define MAX_COV 256

/* Reads the CSV for a new forecaster (series == NULL: the spec from the options) or a resumed one
 * (the model's own spec), and works out the windows. */
static rnnc_status forecast_data(seq_task *t, rnnc_seq_series *made) {
    char *cov = t->o.covariates ? strdup(t->o.covariates) : NULL, *kn = t->o.known ? strdup(t->o.known) : NULL;
    const char *names[2 * MAX_COV];
    bool known[2 * MAX_COV];
    int nc = split_list(cov, names, MAX_COV), nk = split_list(kn, names + nc, MAX_COV);
    for (int i = 0; i < nc + nk; i++) known[i] = i >= nc;
    rnnc_series_spec spec = {.target = t->o.target, .covariates = names, .known = known, .n_cov = nc + nk};
    if (t->m) spec = rnnc_series_spec_of(&t->m->series, false);
    rnnc_status s = rnnc_series_read(t->o.data, &spec, &t->series);
    int rows = t->series.rows, T = t->o.context, N = t->o.horizon;
    if (!s) {
        long usable = (long)rows - t->o.holdout;
        long valid = t->o.valid_last ? t->o.valid_last : usable / 10;
        if (valid < N) valid = N;
        /* (compared as longs: a huge --holdout or --valid-last must not wrap into a usable int) */
        t->train_end = usable - valid > 0 ? (int)(usable - valid) : 0;
        t->valid_end = usable > 0 ? (int)usable : 0;
        if (usable < 1 || usable - valid < T + N)
            s = rnnc_error(RNNC_ERR_ARG, "%s: %d rows, %ld held out (--holdout) and %ld for validation (--valid-last) leave %ld to train on: "
                           "fewer than --context %d + --horizon %d", t->o.data, rows, t->o.holdout, valid,
                           usable - valid > 0 ? usable - valid : 0, T, N);
        /* the seasonal-naive forecast of the first validation row looks a season back */
        else if (t->o.season > t->train_end)
            s = rnnc_error(RNNC_ERR_ARG, "%s: --season %d looks back further than the %d rows before the validation rows (the "
                           "seasonal-naive forecast of a row is the value a season earlier)", t->o.data, t->o.season, t->train_end);
    }
    if (!s) s = rnnc_series_windows(&t->series, 0, t->train_end, T, N, &t->n_train_win);
    if (!s) s = rnnc_series_windows(&t->series, t->train_end - T, t->valid_end, T, N, &t->n_valid_win);
    if (!s && made && !(s = rnnc_series_make(made, &spec, &t->series, t->train_end, T, t->o.season))) made->relative = t->o.relative;
    free(cov);
    free(kn);
    return s;
}

/* The seasonal-naive MAE on the validation windows (for the validation line). */
static void snaive_mae(seq_task *t) {
    int N = t->o.horizon, T = t->o.context, m = t->o.season > 0 ? t->o.season : 1;
    double sum = 0;
    size_t n = 0;
    float *buf = malloc((size_t)N * sizeof *buf);
    for (int w = 0; buf && w < t->n_valid_win; w++) {
        int origin = t->train_end - T + w + T;
        if (origin < m || rnnc_series_snaive(&t->series, origin, N, t->o.season, buf)) continue;
        /* in double, as eval's errors: two floats near the limit differ by more than a float holds */
        for (int h = 0; h < N; h++, n++) sum += fabs((double)buf[h] - (double)t->series.v[(size_t)(origin + h) * (size_t)t->series.cols]);
    }
    free(buf);
    t->snaive_mae = n ? sum / (double)n : NAN;
}

rnnc_status rnnc_seq_task_new(rnnc_task **out, const rnnc_seq_task_opts *o, uint64_t seed, char *summary, size_t n) {
    *out = NULL;
    if (summary && n) summary[0] = 0;
    rnnc_status s = check_opts(o);
    if (s) return s;
    seq_task *t;
    if ((s = task_alloc(&t, o)) && !t) return s;
    rnnc_s2s_vocab v = {0};
    char **labels = NULL;
    int n_labels = 0;
    unsigned char *text = NULL;
    size_t len = 0;
    rnnc_seq_series sr = {0};
    rnnc_seq_config c = t->o.model;
    c.kind = t->o.kind;
    if (s) goto out;
    if (tokens(t)) {
        if ((s = rnnc_read_file(t->o.data, &text, &len))) goto out;
        bool tag = t->o.kind == RNNC_SEQ_TAG;
        /* the labels first: a file without labelled lines says so, rather than that a tokenizer has
         * nothing to train on */
        if ((s = rnnc_seq_labels_collect((const char *)text, len, t->o.data, t->o.kind, &labels, &n_labels))) goto out;
        if ((s = rnnc_s2s_vocab_make(&v, t->o.tokenizer, (const char *)text, len, tag ? 0 : 1))) {
            s = rnnc_error(s, "--tokenizer: %s", rnnc_last_error());
            goto out;
        }
        rnnc_seq_read_opts ro = {.kind = t->o.kind, .max_len = t->o.max_len, .skip_bad = t->o.skip_bad, .skip_long = t->o.skip_long, .grow = true};
        if ((s = rnnc_seq_data_parse(&t->train, (const char *)text, len, t->o.data, &ro, &v, (const char *const *)labels, n_labels))) goto out;
        ro.grow = false;
        if ((s = rnnc_seq_data_read(&t->dev, t->o.valid, &ro, &v, (const char *const *)labels, n_labels))) goto out;
        c.outputs = n_labels;
        c.features = c.known = 0;
        c.max_len = t->o.max_len; /* predict and eval read as many tokens */
        if ((s = rnnc_seq_model_new(&t->m, &c, &v, (const char *const *)labels, NULL))) goto out;
    } else {
        if ((s = forecast_data(t, &sr))) goto out;
        c.vocab = c.embed = 0;
        c.features = sr.n_cols;
        c.known = 0;
        for (int i = 0; i < sr.n_cols; i++) c.known += sr.known[i];
        c.outputs = t->o.horizon;
        if ((s = rnnc_seq_model_new(&t->m, &c, NULL, NULL, &sr))) goto out;
        snaive_mae(t);
    }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    rnnc_seq_model_init(t->m, &rng);
    if ((s = setup(t))) goto out;
    if (tokens(t)) summarize_items(t, summary, n);
    else if (summary && n)
        snprintf(summary, n, "%s: %d rows; training targets in rows [%d, %d], validation in [%d, %d]%s; seasonal-naive MAE on them %.4g",
                 t->o.data, t->series.rows, t->o.context + 1, t->train_end, t->train_end + 1, t->valid_end,
                 t->o.holdout ? ", the rest held out" : "", t->snaive_mae);
out:
    free(text);
    rnnc_s2s_vocab_free(&v);
    rnnc_seq_labels_free(labels, n_labels);
    rnnc_seq_series_free(&sr);
    if (s) seq_free(&t->base);
    else *out = &t->base;
    return s;
}

rnnc_status rnnc_seq_task_resume(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json) {
    *out = NULL;
    char what[600];
    snprintf(what, sizeof what, "%s: metadata rnnc.task.options", ck->path);
    cJSON *j;
    rnnc_status s = rnnc_json_object(options_json, what, &j);
    if (s) return s;
    const char *task = NULL;
    rnnc_seq_kind kind = RNNC_SEQ_CLASSIFY;
    if ((s = rnnc_json_str(j, "task", false, &task, what)) || (s = rnnc_seq_kind_parse(task, &kind))) {
        cJSON_Delete(j);
        return s ? s : RNNC_ERR_FORMAT;
    }
    rnnc_seq_task_opts o = rnnc_seq_task_defaults(kind);
    o.valid = o.tokenizer = NULL;
    double vl = 0, ho = 0;
    if (!(s = rnnc_json_str(j, "data", false, &o.data, what)) && !(s = rnnc_json_str(j, "valid", true, &o.valid, what)) &&
        !(s = rnnc_json_str(j, "tokenizer", true, &o.tokenizer, what)) && !(s = rnnc_json_str(j, "class_weight", true, &o.class_weight, what)) &&
        !(s = rnnc_json_str(j, "target", true, &o.target, what)) && !(s = rnnc_json_str(j, "covariates", true, &o.covariates, what)) &&
        !(s = rnnc_json_str(j, "known", true, &o.known, what)) && !(s = rnnc_json_int(j, "batch", 1, RNNC_SEQ_MAX_BATCH, false, &o.batch, what)) &&
        !(s = rnnc_json_int(j, "max_len", 0, 1 << 30, false, &o.max_len, what)) && !(s = rnnc_json_bool(j, "skip_bad", false, &o.skip_bad, what)) &&
        !(s = rnnc_json_bool(j, "skip_long", false, &o.skip_long, what)) && !(s = rnnc_json_int(j, "context", 1, 1 << 20, false, &o.context, what)) &&
        !(s = rnnc_json_int(j, "horizon", 1, 65536, false, &o.horizon, what)) && !(s = rnnc_json_int(j, "season", 0, 1 << 24, false, &o.season, what)) &&
        !(s = rnnc_json_num(j, "valid_last", 0, 1e15, true, false, &vl, what)) && !(s = rnnc_json_num(j, "holdout", 0, 1e15, true, false, &ho, what)) &&
        !(s = rnnc_json_bool(j, "relative", true, &o.relative, what))) {
        o.valid_last = (long)vl;
        o.holdout = (long)ho;
    }
    seq_task *t = NULL;
    if (!s && !(s = check_opts(&o)) && !(s = task_alloc(&t, &o)) && !(s = rnnc_seq_load_st(&t->m, ck))) {
        if (t->m->c.kind != kind) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: the options are a %s run's but the model is a %s", ck->path, task, rnnc_seq_kind_name(t->m->c.kind));
        } else if (tokens(t)) {
            rnnc_seq_read_opts ro = {.kind = kind, .max_len = t->o.max_len, .skip_bad = t->o.skip_bad, .skip_long = t->o.skip_long};
            const char *const *names = (const char *const *)t->m->labels;
            if (!(s = rnnc_seq_data_read(&t->train, t->o.data, &ro, &t->m->vocab, names, t->m->n_labels)))
                s = rnnc_seq_data_read(&t->dev, t->o.valid, &ro, &t->m->vocab, names, t->m->n_labels);
        } else {
            s = forecast_data(t, NULL);
            if (!s) snaive_mae(t);
        }
        if (!s) s = setup(t);
        if (!s) t->o.model = t->m->c;
    }
    cJSON_Delete(j);
    if (s) {
        if (t) seq_free(&t->base);
        return s;
    }
    *out = &t->base;
    return RNNC_OK;
}
