/* rnnc lab vanishing — the seed: in an Elman network "the backward pass: vanishing gradient"; x1
 * has almost no influence by the time the signal reaches the output.
 *
 * For each cell (Elman tanh, Elman relu, LSTM, GRU) an adding-problem model (lab_tasks.c) with a
 * loss on its last step only, L_b = (prediction_b - target_b)^2 for sequence b. Measured: the
 * gradient of L_b with respect to the recurrent state k steps before the last one, for k = 1..T,
 * exactly, by running the model's stack (rnn.h) from that state: a forward over the first T - k
 * steps gives the state (h, and c for LSTM), a forward over the last k steps from it and a backward
 * with the loss's gradient on the last output give dL_b/dh (and dL_b/dc) at that point. The figure
 * per k is the root mean square over a batch of sequences of the state gradient's norm (for LSTM
 * the state is (h, c), and the norm is over both; the CSV also has h alone). Measured at PyTorch's
 * initialisation and again after training on the adding problem at the same T (the run module,
 * the same budget per cell: 2000 optimizer steps at T = 100; --quick: 800 at T = 30, which a
 * sanitizer build runs in half a minute and where LSTM has left its plateau). The decay
 * rate per step is exp of the least-squares slope of ln(norm) against k. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"
#include "rnnc/rnn.h"

enum { NCELL = 4 };
static const rnnc_cell cells[NCELL] = {RNNC_CELL_RNN_TANH, RNNC_CELL_RNN_RELU, RNNC_CELL_LSTM, RNNC_CELL_GRU};
static const char *const cell_names[NCELL] = {"elman-tanh", "elman-relu", "lstm", "gru"};
static const char *const cell_labels[NCELL] = {"Elman (tanh)", "Elman (relu)", "LSTM", "GRU"};

typedef struct {
    double *state; /* [T + 1]: k = 0..T, RMS over the batch of |dL/d(state)| */
    double *h;     /* [T + 1]: the h part alone */
    double rate;   /* exp(slope) per step over k = 1..T */
    double fd_err; /* the check at k = FD_K: |finite difference - |g|| / |g| */
} profile;

/* The measured gradient is checked against the loss itself at k = FD_K: moving the state by +-eps
 * along g/|g| must change the summed loss by 2 eps |g| (a central difference, in double). */
enum { FD_K = 5 };

/* sum_b (pred_b - y_b)^2 of the stack run over the k steps in xs from the states h0 (and c0). */
static rnnc_status suffix_loss(rnnc_rnn_ws *ws, const rnnc_seq_model *m, int B, int k, const float *xs, const float *h0,
                               const float *c0, const float *y, float *ys, float *hT, double *loss) {
    const int H = m->rnn.hidden;
    const float *hw = m->params + m->off_head_w, *hb = m->params + m->off_head_b;
    rnnc_status s = rnnc_rnn_forward(ws, m->params + m->off_rnn, B, k, xs, NULL, h0, c0, ys, hT, NULL, false, NULL);
    if (s) return s;
    double sum = 0;
    for (int b = 0; b < B; b++) {
        double pred = hb[0];
        for (int j = 0; j < H; j++) pred += (double)hw[j] * hT[(size_t)b * H + j];
        sum += (pred - y[b]) * (pred - y[b]);
    }
    *loss = sum;
    return RNNC_OK;
}

/* ln(norm) against k by least squares over k = 1..T (points with a zero norm left out). */
static double decay_rate(const double *g, int T) {
    double sk = 0, sy = 0, skk = 0, sky = 0;
    int n = 0;
    for (int k = 1; k <= T; k++) {
        if (!(g[k] > 0) || !isfinite(g[k])) continue;
        double y = log(g[k]);
        sk += k; sy += y; skk += (double)k * k; sky += k * y;
        n++;
    }
    if (n < 2) return NAN;
    double slope = (n * sky - sk * sy) / (n * skk - sk * sk);
    return exp(slope);
}

/* The gradient profile of model m on the batch (x (B,T,2), y (B)). */
static rnnc_status measure(const rnnc_seq_model *m, int B, int T, const float *x, const float *y, profile *p) {
    const rnnc_rnn_config *rc = &m->rnn;
    const int H = rc->hidden, I = rc->input;
    const bool lstm = rc->cell == RNNC_CELL_LSTM;
    if (rc->layers != 1 || rc->bidirectional || m->c.pool != RNNC_POOL_LAST || m->c.outputs != 1)
        return rnnc_error(RNNC_ERR_ARG, "vanishing: one layer, one direction, last-step pooling, one output");
    const float *rp = m->params + m->off_rnn, *hw = m->params + m->off_head_w, *hb = m->params + m->off_head_b;
    rnnc_rnn_ws *ws = NULL;
    rnnc_status s = rnnc_rnn_ws_new(&ws, rc, B, T);
    size_t nBH = (size_t)B * H;
    float *xs = malloc((size_t)B * T * I * sizeof *xs), *ys = malloc((size_t)B * T * H * sizeof *ys);
    float *hT = malloc(nBH * sizeof *hT), *h0 = malloc(nBH * sizeof *h0), *c0 = malloc(nBH * sizeof *c0);
    float *dy = calloc((size_t)B * T * H, sizeof *dy), *dh0 = malloc(nBH * sizeof *dh0), *dc0 = malloc(nBH * sizeof *dc0);
    float *dp = calloc(rnnc_rnn_num_params(rc), sizeof *dp);
    if (!s && (!xs || !ys || !hT || !h0 || !c0 || !dy || !dh0 || !dc0 || !dp)) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    /* the whole sequence once: the last state, the prediction and dL_b/dh_T = 2 (pred_b - y_b) w */
    float *g = malloc(nBH * sizeof *g);
    if (!s && !g) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) s = rnnc_rnn_forward(ws, rp, B, T, x, NULL, NULL, NULL, ys, hT, NULL, false, NULL);
    if (!s) {
        double sum = 0;
        for (int b = 0; b < B; b++) {
            double pred = hb[0];
            for (int j = 0; j < H; j++) pred += (double)hw[j] * hT[(size_t)b * H + j];
            double d = 2 * (pred - y[b]);
            for (int j = 0; j < H; j++) {
                g[(size_t)b * H + j] = (float)(d * hw[j]);
                sum += (double)g[(size_t)b * H + j] * g[(size_t)b * H + j];
            }
        }
        p->state[0] = p->h[0] = sqrt(sum / B);
    }
    /* k steps from the end: the state after T - k steps, then the last k steps and back */
    for (int k = 1; !s && k <= T; k++) {
        int t0 = T - k;
        if (t0 > 0) {
            for (int b = 0; b < B; b++) memcpy(xs + (size_t)b * t0 * I, x + (size_t)b * T * I, (size_t)t0 * I * sizeof *xs);
            s = rnnc_rnn_forward(ws, rp, B, t0, xs, NULL, NULL, NULL, ys, h0, lstm ? c0 : NULL, false, NULL);
        } else {
            memset(h0, 0, nBH * sizeof *h0);
            memset(c0, 0, nBH * sizeof *c0);
        }
        if (s) break;
        for (int b = 0; b < B; b++)
            memcpy(xs + (size_t)b * k * I, x + ((size_t)b * T + t0) * I, (size_t)k * I * sizeof *xs);
        if ((s = rnnc_rnn_forward(ws, rp, B, k, xs, NULL, h0, lstm ? c0 : NULL, ys, NULL, NULL, false, NULL))) break;
        memset(dy, 0, (size_t)B * k * H * sizeof *dy);
        for (int b = 0; b < B; b++) memcpy(dy + ((size_t)b * k + (k - 1)) * H, g + (size_t)b * H, (size_t)H * sizeof *dy);
        if ((s = rnnc_rnn_backward(ws, rp, dp, dy, NULL, NULL, NULL, dh0, lstm ? dc0 : NULL))) break;
        double sh = 0, sc = 0;
        for (size_t i = 0; i < nBH; i++) {
            sh += (double)dh0[i] * dh0[i];
            if (lstm) sc += (double)dc0[i] * dc0[i];
        }
        p->h[k] = sqrt(sh / B);
        p->state[k] = sqrt((sh + sc) / B);
        if (k == (FD_K < T ? FD_K : T)) {
            /* the directional derivative along g/|g| is |g|; eps small against states in [-1, 1] */
            double norm = sqrt(sh + sc), eps = 1e-2, lp = 0, lm = 0;
            float *hp = malloc(nBH * sizeof *hp), *cp = malloc(nBH * sizeof *cp);
            if (!hp || !cp) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
            for (int sign = -1; !s && sign <= 1; sign += 2) {
                for (size_t i = 0; i < nBH; i++) {
                    hp[i] = (float)(h0[i] + sign * eps * dh0[i] / norm);
                    cp[i] = lstm ? (float)(c0[i] + sign * eps * dc0[i] / norm) : 0;
                }
                s = suffix_loss(ws, m, B, k, xs, hp, lstm ? cp : NULL, y, ys, hT, sign > 0 ? &lp : &lm);
            }
            free(hp);
            free(cp);
            if (s) break;
            p->fd_err = norm > 0 ? fabs((lp - lm) / (2 * eps) - norm) / norm : 0;
        }
    }
    if (!s) p->rate = decay_rate(p->state, T);
    rnnc_rnn_ws_free(ws);
    free(xs); free(ys); free(hT); free(h0); free(c0); free(dy); free(dh0); free(dc0); free(dp); free(g);
    return s;
}

rnnc_status rnnc_lab_vanishing_run(const rnnc_lab_ctx *ctx) {
    const int T = ctx->quick ? 30 : 100, H = ctx->quick ? 32 : 64, B = ctx->quick ? 32 : 64, Bm = 32;
    const long steps = ctx->quick ? 800 : 2000;
    rnnc_lab_note(ctx, "Gradient of the last step's loss with respect to the recurrent state k steps earlier (k = 1..%d), "
                       "RMS over %d sequences of the adding problem;\nhidden %d, one layer; at initialisation and after %ld "
                       "optimizer steps of training on the adding problem at T = %d.",
                  T, Bm, H, steps, T);
    profile init[NCELL], trained[NCELL];
    double mse[NCELL];
    memset(init, 0, sizeof init);
    memset(trained, 0, sizeof trained);
    rnnc_status s = RNNC_OK;
    for (int ci = 0; ci < NCELL && !s; ci++) {
        init[ci].state = calloc((size_t)T + 1, sizeof(double));
        init[ci].h = calloc((size_t)T + 1, sizeof(double));
        trained[ci].state = calloc((size_t)T + 1, sizeof(double));
        trained[ci].h = calloc((size_t)T + 1, sizeof(double));
        if (!init[ci].state || !init[ci].h || !trained[ci].state || !trained[ci].h) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    }
    /* the measuring batch: its own stream, apart from training and validation */
    float *x = malloc((size_t)Bm * T * 2 * sizeof *x), *y = malloc((size_t)Bm * sizeof *y);
    if (!s && (!x || !y)) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        rnnc_rng r;
        rnnc_rng_seed(&r, ctx->seed ^ 0x6a4d1e47u);
        rnnc_lab_adding_fill(&r, Bm, T, x, y);
    }
    for (int ci = 0; ci < NCELL && !s; ci++) {
        /* at initialisation: the task's own model, drawn from the same seed */
        rnnc_seq_model *m = NULL;
        if ((s = rnnc_lab_adding_model(&m, cells[ci], H, 1, false, T))) break;
        rnnc_rng r;
        rnnc_rng_seed(&r, ctx->seed);
        rnnc_seq_model_init(m, &r);
        s = measure(m, Bm, T, x, y, &init[ci]);
        rnnc_seq_model_free(m);
        if (s) break;
        /* trained */
        rnnc_lab_adding_opts ao = {.cell = cells[ci], .hidden = H, .layers = 1, .T = T, .batch = B, .n_valid = 500, .seed = ctx->seed};
        rnnc_task *t;
        if ((s = rnnc_lab_adding_task(&t, &ao))) break;
        rnnc_run_opts ro = rnnc_run_defaults();
        ro.steps = steps;
        ro.optim.lr = 1e-2;
        ro.clip = 1;
        ro.warmup = 50;
        ro.log_every = 50;
        ro.eval_every = 200;
        ro.seed = ctx->seed;
        char file[64];
        snprintf(file, sizeof file, "%s-T%d.safetensors", cell_names[ci], T);
        char *path = rnnc_lab_path(ctx, file);
        if (!path) { rnnc_task_free(t); s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); break; }
        ro.model_out = path;
        rnnc_lab_curve cv;
        s = rnnc_lab_train(ctx, t, &ro, cell_names[ci], &cv);
        mse[ci] = cv.last;
        rnnc_lab_curve_free(&cv);
        if (!s) s = rnnc_seq_load(&m, path);
        free(path);
        if (s) break;
        s = measure(m, Bm, T, x, y, &trained[ci]);
        rnnc_seq_model_free(m);
        if (s) break;
        rnnc_lab_note(ctx, "  %-10s at init: x%.3f a step; trained (valid MSE %.4f): x%.3f a step", cell_names[ci], init[ci].rate,
                      mse[ci], trained[ci].rate);
    }
    free(x);
    free(y);

    /* table and CSV */
    static const char *const head[] = {"cell", "init |g| k=1", "init |g| k=T", "init rate/step", "trained |g| k=1",
                                       "trained |g| k=T", "trained rate/step", "trained MSE"};
    rnnc_lab_cells tc = {0}, csv = {0};
    for (int ci = 0; ci < NCELL && !s; ci++) {
        rnnc_lab_cell(&tc, "%s", cell_names[ci]);
        rnnc_lab_cell(&tc, "%.3g", init[ci].state[1]);
        rnnc_lab_cell(&tc, "%.3g", init[ci].state[T]);
        rnnc_lab_cell(&tc, "%.4f", init[ci].rate);
        rnnc_lab_cell(&tc, "%.3g", trained[ci].state[1]);
        rnnc_lab_cell(&tc, "%.3g", trained[ci].state[T]);
        rnnc_lab_cell(&tc, "%.4f", trained[ci].rate);
        rnnc_lab_cell(&tc, "%.4f", mse[ci]);
        for (int when = 0; when < 2; when++) {
            const profile *p = when ? &trained[ci] : &init[ci];
            for (int k = 0; k <= T; k++) {
                rnnc_lab_cell(&csv, "%s", cell_names[ci]);
                rnnc_lab_cell(&csv, "%s", when ? "trained" : "init");
                rnnc_lab_cell(&csv, "%d", k);
                rnnc_lab_cell(&csv, "%.6g", p->state[k]);
                rnnc_lab_cell(&csv, "%.6g", p->h[k]);
            }
        }
    }
    static const char *const chead[] = {"cell", "when", "k", "state_grad_rms", "h_grad_rms"};
    if (!s && (tc.failed || csv.failed)) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        char title[160];
        snprintf(title, sizeof title, "|dL/d state| k steps before the loss (RMS over %d sequences), T = %d; rate = factor per step", Bm, T);
        rnnc_lab_table(ctx, title, 8, head, NCELL, (const char *const *)tc.s);
        s = rnnc_lab_write_csv(ctx, "vanishing.csv", 5, chead, csv.n / 5, (const char *const *)csv.s);
    }
    rnnc_lab_cells_free(&tc);
    rnnc_lab_cells_free(&csv);

    /* the picture: 8 curves on a log y axis */
    double *ks = malloc((size_t)(T + 1) * sizeof *ks);
    if (!s && !ks) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        for (int k = 0; k <= T; k++) ks[k] = k;
        rnnc_plot_series ps[2 * NCELL];
        char labels[2 * NCELL][64];
        for (int ci = 0; ci < NCELL; ci++) {
            snprintf(labels[2 * ci], sizeof labels[0], "%s, trained", cell_labels[ci]);
            snprintf(labels[2 * ci + 1], sizeof labels[0], "%s, at initialisation", cell_labels[ci]);
            ps[2 * ci] = (rnnc_plot_series){.label = labels[2 * ci], .x = ks + 1, .y = trained[ci].state + 1, .n = (size_t)T,
                                            .color = ci};
            ps[2 * ci + 1] = (rnnc_plot_series){.label = labels[2 * ci + 1], .x = ks + 1, .y = init[ci].state + 1, .n = (size_t)T,
                                                .color = ci, .dashed = 1};
        }
        char title[128];
        snprintf(title, sizeof title, "Vanishing gradients: |dloss/dh| k steps back (adding problem, T = %d)", T);
        rnnc_plot_opts po = {.title = title, .xlabel = "k: steps between the state and the loss",
                             .ylabel = "gradient norm (RMS over sequences, log scale)", .log_y = 1, .height = 600};
        s = rnnc_lab_plot(ctx, "vanishing.svg", &po, ps, 2 * NCELL);
    }
    free(ks);
    double e_ratio = NAN, l_ratio = NAN, g_ratio = NAN, r_ratio = NAN;
    if (!s) {
        e_ratio = trained[0].state[T] / trained[0].state[1];
        r_ratio = trained[1].state[T] / trained[1].state[1];
        l_ratio = trained[2].state[T] / trained[2].state[1];
        g_ratio = trained[3].state[T] / trained[3].state[1];
        cJSON *j = cJSON_CreateObject(), *arr = NULL;
        if (j) {
            cJSON_AddStringToObject(j, "lab", "vanishing");
            cJSON_AddBoolToObject(j, "quick", ctx->quick);
            cJSON_AddNumberToObject(j, "T", T);
            cJSON_AddNumberToObject(j, "hidden", H);
            arr = cJSON_AddArrayToObject(j, "cells");
        }
        for (int ci = 0; arr && ci < NCELL; ci++) {
            cJSON *o = cJSON_CreateObject();
            if (!o || !cJSON_AddItemToArray(arr, o)) { cJSON_Delete(o); break; }
            cJSON_AddStringToObject(o, "cell", cell_names[ci]);
            cJSON_AddNumberToObject(o, "init_rate", init[ci].rate); /* cJSON writes a rate that could not be fitted as null */
            cJSON_AddNumberToObject(o, "trained_rate", trained[ci].rate);
            cJSON_AddNumberToObject(o, "init_k1", init[ci].state[1]);
            cJSON_AddNumberToObject(o, "init_kT", init[ci].state[T]);
            cJSON_AddNumberToObject(o, "trained_k1", trained[ci].state[1]);
            cJSON_AddNumberToObject(o, "trained_kT", trained[ci].state[T]);
            cJSON_AddNumberToObject(o, "trained_mse", mse[ci]);
            cJSON_AddNumberToObject(o, "fd_rel_err_init", init[ci].fd_err);
            cJSON_AddNumberToObject(o, "fd_rel_err_trained", trained[ci].fd_err);
        }
        s = rnnc_lab_write_cjson(ctx, "vanishing.json", j);
    }
    double fd = 0;
    for (int ci = 0; ci < NCELL; ci++) fd = fmax(fd, fmax(init[ci].fd_err, trained[ci].fd_err));
    for (int ci = 0; ci < NCELL; ci++) {
        free(init[ci].state); free(init[ci].h); free(trained[ci].state); free(trained[ci].h);
    }
    if (s) return s;
    rnnc_lab_note(ctx, "\ncheck: at k = %d every measured gradient agrees with a central finite difference of the loss along it "
                       "to %.1e (relative; the largest of the 8)", FD_K < T ? FD_K : T, fd);
    rnnc_lab_note(ctx, "written: %s/vanishing.svg, vanishing.csv, vanishing.json, the trained models", ctx->out_dir);
    /* the claim: Elman's gradient from x1 is (nearly) gone after T steps, the gated cells' is not */
    bool held = e_ratio < 1e-3 && l_ratio > 100 * e_ratio && g_ratio > 100 * e_ratio;
    rnnc_lab_verdict(ctx, held,
                     "After training, the gradient that reaches the state %d steps back is %.2g of the last step's for the Elman "
                     "network (tanh, x%.3f a step), %.2g for LSTM (x%.3f) and %.2g for GRU (x%.3f); the relu Elman network "
                     "keeps %.2g (x%.3f, valid MSE %.4f)%s.",
                     T, e_ratio, trained[0].rate, l_ratio, trained[2].rate, g_ratio, trained[3].rate, r_ratio, trained[1].rate,
                     mse[1], mse[1] < 0.05 ? ": it learned the task, which the seed's claim does not foresee" : "");
    return RNNC_OK;
}
