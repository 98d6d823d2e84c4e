/* rnnc lab — what several labs share beyond output: the adding problem as a task of the run module,
 * and training a task under the run with its validation curve recorded.
 *
 * The adding problem (Hochreiter & Schmidhuber 1997; the two-marker form of Le, Jaitly & Hinton
 * 2015): a sequence of T steps, each with two inputs, a value u_t ~ U[0, 1] and a marker m_t that is
 * 1 at exactly two steps, one drawn from the first half and one from the second, and 0 elsewhere.
 * The target is the sum of the two marked values. Answering 1 every time has mean squared error
 * Var(u + u') = 2/12 = 0.1667; doing better needs the first marked value carried across up to T
 * steps. The model is a forecaster of rnnc's seqmodel (2 features -> recurrent stack -> the last
 * step's output -> one number, MSE loss). Batch k of the run is drawn from (seed, k) alone, so a
 * run with a step budget is the same on every machine; the validation set is drawn once from the
 * seed, apart from every training batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"

/* ---- the data ---- */

void rnnc_lab_adding_fill(rnnc_rng *r, int B, int T, float *x, float *y) {
    int half = T / 2 > 0 ? T / 2 : 1;
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * T * 2;
        for (int t = 0; t < T; t++) {
            xb[2 * t] = rnnc_rng_uniform(r);
            xb[2 * t + 1] = 0;
        }
        int i = (int)rnnc_rng_below(r, (uint64_t)half);
        int j = half + (int)rnnc_rng_below(r, (uint64_t)(T - half > 0 ? T - half : 1));
        if (j >= T) j = T - 1;
        if (j == i) j = i + 1 < T ? i + 1 : i; /* T = 1: one marker */
        xb[2 * i + 1] = 1;
        xb[2 * j + 1] = 1;
        y[b] = xb[2 * i] + (j != i ? xb[2 * j] : 0);
    }
}

/* A forecaster of F = 2 inputs (value, marker), one output, the last step's state, MSE. */
rnnc_status rnnc_lab_adding_model(rnnc_seq_model **out, rnnc_cell cell, int hidden, int layers, bool bidirectional, int T) {
    rnnc_seq_config c = {.kind = RNNC_SEQ_FORECAST, .cell = cell, .features = 2, .hidden = hidden, .layers = layers,
                         .bidirectional = bidirectional, .pool = RNNC_POOL_LAST, .outputs = 1, .loss = RNNC_SEQ_LOSS_MSE};
    rnnc_seq_series sr = {.n_cols = 2, .context = T};
    sr.name = calloc(2, sizeof *sr.name);
    sr.known = calloc(2, sizeof *sr.known);
    sr.mean = calloc(2, sizeof *sr.mean);
    sr.std = calloc(2, sizeof *sr.std);
    rnnc_status s = RNNC_OK;
    if (!sr.name || !sr.known || !sr.mean || !sr.std || !(sr.name[0] = strdup("value")) || !(sr.name[1] = strdup("marker")))
        s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        sr.std[0] = sr.std[1] = 1; /* the inputs as they are */
        s = rnnc_seq_model_new(out, &c, NULL, NULL, &sr);
    }
    rnnc_seq_series_free(&sr);
    return s;
}

/* ---- the task ---- */

typedef struct {
    rnnc_task base;
    rnnc_lab_adding_opts o;
    rnnc_seq_model *m;
    rnnc_seq_ws *ws;
    float *grads, *x, *y, *pred;
    float *vx, *vy; /* the validation set */
} adding_task;

static size_t adding_steps_per_epoch(rnnc_task *base) {
    (void)base;
    return 1000; /* the data are endless; an "epoch" is 1000 batches */
}

static rnnc_status adding_train_batch(rnnc_task *base, long step, uint64_t seed, rnnc_rng *rng, double *loss, double *count) {
    adding_task *t = (adding_task *)base;
    rnnc_rng r;
    rnnc_rng_seed(&r, (seed ^ 0xadd1e5u) * 0x9E3779B97F4A7C15ull + (uint64_t)step); /* seeded through splitmix64 */
    rnnc_lab_adding_fill(&r, t->o.batch, t->o.T, t->x, t->y);
    rnnc_seq_batch b = {.B = t->o.batch, .T = t->o.T, .x = t->x, .targets = t->y};
    rnnc_seq_opts so = {.training = true};
    return rnnc_seq_forward_backward(t->ws, t->m, &b, &so, t->grads, 1.0f, rng, NULL, loss, count);
}

rnnc_status rnnc_lab_adding_mse(rnnc_seq_model *m, rnnc_seq_ws *ws, int B, int T, const float *x, const float *y, int n,
                                float *pred, double *mse) {
    double sum = 0;
    rnnc_seq_opts so = {.training = false};
    for (int i = 0; i < n; i += B) {
        int nb = n - i < B ? n - i : B;
        rnnc_seq_batch b = {.B = nb, .T = T, .x = x + (size_t)i * T * 2, .targets = y + i};
        double l, c;
        rnnc_status s = rnnc_seq_forward_backward(ws, m, &b, &so, NULL, 1.0f, NULL, pred, &l, &c);
        if (s) return s;
        sum += l * nb;
    }
    *mse = sum / n;
    return RNNC_OK;
}

static rnnc_status adding_validate(rnnc_task *base, rnnc_valid_result *r) {
    adding_task *t = (adding_task *)base;
    double mse;
    rnnc_status s = rnnc_lab_adding_mse(t->m, t->ws, t->o.batch, t->o.T, t->vx, t->vy, t->o.n_valid, t->pred, &mse);
    if (s) return s;
    r->n = 1;
    r->m[0].name = "val_mse";
    r->m[0].value = mse;
    r->score[0] = mse;
    r->score[1] = 0;
    snprintf(r->line, sizeof r->line, "valid mse %.5f (answering 1: 0.1667)", mse);
    return RNNC_OK;
}

static rnnc_status adding_save(rnnc_task *base, const char *path, const char *const *keys, const char *const *values,
                               size_t n_meta, const rnnc_st_entry *extra, size_t n_extra) {
    return rnnc_seq_save(((adding_task *)base)->m, path, keys, values, n_meta, extra, n_extra);
}

static char *adding_options_json(rnnc_task *base) {
    adding_task *t = (adding_task *)base;
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "task", "lab adding problem") && cJSON_AddNumberToObject(j, "T", t->o.T) &&
              cJSON_AddNumberToObject(j, "batch", t->o.batch) && cJSON_AddNumberToObject(j, "n_valid", t->o.n_valid);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static void adding_free(rnnc_task *base) {
    adding_task *t = (adding_task *)base;
    rnnc_seq_ws_free(t->ws);
    rnnc_seq_model_free(t->m);
    free(t->grads); free(t->x); free(t->y); free(t->pred); free(t->vx); free(t->vy);
    free(t);
}

static const rnnc_task_ops adding_ops = {.name = "lab-adding", .steps_per_epoch = adding_steps_per_epoch,
                                         .train_batch = adding_train_batch, .validate = adding_validate, .save = adding_save,
                                         .options_json = adding_options_json, .free = adding_free};

rnnc_status rnnc_lab_adding_task(rnnc_task **out, const rnnc_lab_adding_opts *o) {
    *out = NULL;
    if (o->T < 2 || o->batch < 1 || o->n_valid < 1 || o->hidden < 1 || o->layers < 1)
        return rnnc_error(RNNC_ERR_ARG, "adding problem: T >= 2, batch, n_valid, hidden and layers >= 1");
    adding_task *t = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    t->o = *o;
    t->base.ops = &adding_ops;
    rnnc_status s = rnnc_lab_adding_model(&t->m, o->cell, o->hidden, o->layers, false, o->T);
    if (!s) {
        rnnc_rng r;
        rnnc_rng_seed(&r, o->seed);
        rnnc_seq_model_init(t->m, &r);
        s = rnnc_seq_ws_new(&t->ws, t->m, o->batch, o->T);
    }
    size_t nx = (size_t)o->batch * o->T * 2, nv = (size_t)o->n_valid * o->T * 2;
    if (!s) {
        t->grads = calloc(t->m->n_params, sizeof *t->grads);
        t->x = malloc(nx * sizeof *t->x);
        t->y = malloc((size_t)o->batch * sizeof *t->y);
        t->pred = malloc((size_t)o->batch * sizeof *t->pred);
        t->vx = malloc(nv * sizeof *t->vx);
        t->vy = malloc((size_t)o->n_valid * sizeof *t->vy);
        if (!t->grads || !t->x || !t->y || !t->pred || !t->vx || !t->vy) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    }
    if (s) { adding_free(&t->base); return s; }
    rnnc_rng vr;
    rnnc_rng_seed(&vr, o->seed ^ 0x7a11d0000000000ull); /* apart from every training batch's stream */
    rnnc_lab_adding_fill(&vr, o->n_valid, o->T, t->vx, t->vy);
    t->base.params = t->m->params;
    t->base.grads = t->grads;
    t->base.n_params = t->m->n_params;
    snprintf(t->base.describe, sizeof t->base.describe, "adding problem, T = %d, batches of %d; %s %dx%d, %zu parameters", o->T,
             o->batch, rnnc_cell_name(o->cell), o->layers, o->hidden, t->m->n_params);
    *out = &t->base;
    return RNNC_OK;
}

/* ---- JSON from a cJSON tree ---- */

rnnc_status rnnc_lab_write_cjson(const rnnc_lab_ctx *c, const char *file, cJSON *j) {
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text) return rnnc_error(RNNC_ERR_NOMEM, "%s/%s: out of memory", c->out_dir, file);
    rnnc_status s = rnnc_lab_write_json(c, file, text);
    cJSON_free(text);
    return s;
}

/* ---- training under the run, with the validation curve ---- */

typedef struct {
    const rnnc_lab_ctx *c;
    rnnc_lab_curve *curve;
    const char *label;
    double last_note;
} train_cb;

static void on_event(const rnnc_run_event *e, void *p) {
    train_cb *cb = p;
    rnnc_lab_curve *cv = cb->curve;
    if (e->kind == RNNC_RUN_REPORT) cv->tokens_per_s = e->tokens_per_s;
    if (e->kind == RNNC_RUN_VALID && e->valid) {
        bool room = cv->n < cv->cap;
        if (!room) {
            int cap = cv->cap ? 2 * cv->cap : 64;
            double *a = realloc(cv->step, (size_t)cap * sizeof *a), *b = a ? realloc(cv->seconds, (size_t)cap * sizeof *b) : NULL,
                   *v = b ? realloc(cv->value, (size_t)cap * sizeof *v) : NULL;
            if (a) cv->step = a;
            if (b) cv->seconds = b;
            if (v) cv->value = v;
            if ((room = a && b && v)) cv->cap = cap; /* else the curve misses a point; the figures below are kept */
        }
        if (room) {
            cv->step[cv->n] = (double)e->step;
            cv->seconds[cv->n] = e->elapsed;
            cv->value[cv->n] = e->valid->score[0];
            cv->n++;
        }
        if (!(e->valid->score[0] >= cv->best)) cv->best = e->valid->score[0]; /* NaN at the start */
        cv->last = e->valid->score[0];
        cv->final = *e->valid;
        double now = rnnc_lab_now();
        if (!cb->c->quick && now - cb->last_note >= 30) {
            rnnc_lab_note(cb->c, "  %s: step %ld, %.0f s, %s", cb->label, e->step, e->elapsed, e->valid->line);
            cb->last_note = now;
        }
    }
    if (e->kind == RNNC_RUN_DONE) {
        cv->steps = e->step;
        cv->elapsed = e->elapsed;
    }
}

rnnc_status rnnc_lab_train(const rnnc_lab_ctx *c, rnnc_task *t, const rnnc_run_opts *o, const char *label, rnnc_lab_curve *curve) {
    train_cb cb = {c, curve, label, rnnc_lab_now()};
    memset(curve, 0, sizeof *curve);
    curve->best = curve->last = NAN;
    return rnnc_run_start(o, t, on_event, &cb, NULL);
}

double rnnc_lab_curve_metric(const rnnc_lab_curve *cv, const char *name) {
    for (size_t i = 0; i < cv->final.n; i++)
        if (cv->final.m[i].name && strcmp(cv->final.m[i].name, name) == 0) return cv->final.m[i].value;
    return NAN;
}

void rnnc_lab_curve_free(rnnc_lab_curve *cv) {
    free(cv->step); free(cv->seconds); free(cv->value);
    memset(cv, 0, sizeof *cv);
}
