/* rnnc lab stacking — the seed's "Stacked RNN" section: the forward pass of a stack stays O(L) in
 * the sequence length, and "the gain from more layers is not dramatic".
 *
 * Part 1 times one training step (forward and backward of a window) of a character LSTM language
 * model with 1, 2 and 3 layers at several window lengths T: O(L) means the time per token does
 * not grow with T. It also shows what a layer costs here: rnnc runs a layer over the whole window
 * before the next layer starts (the seed's "they can proceed at the same time" is a wavefront
 * schedule that overlaps layers on more cores), so each layer adds its own share.
 *
 * Part 2 trains the three stacks for equal compute on the corpus and compares held-out bits per
 * byte: each for the steps that 60 one-thread CPU-seconds buy at its measured cost per step; with
 * --quick, for steps in inverse proportion to its multiply-adds per token (a fixed count, so that
 * the quick numbers repeat whatever the machine's load). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"
#include "lab/lab_lm.h"
#include "rnnc/lm.h"
#include "rnnc/rng.h"

#define N_LAYERS 3
#define MAX_T 5
#define TRAIN_T 2 /* the index of the training window's T in the timing (64; --quick 32) */

typedef struct {
    int B, H, E, V, reps;
    int T[MAX_T], nT;
    double ms[N_LAYERS][MAX_T]; /* the fastest training step of a (B, T) window, CPU ms on one thread */
    size_t params[N_LAYERS];
} timing;

/* --quick: the steps of the 1-layer stack; a deeper one gets fewer, in proportion to its work */
#define QUICK_STEPS 80

/* Multiply-adds per token of a character LSTM stack's forward pass: the first layer's input and
 * recurrent products, each further layer's (its input is the layer below, H wide), and the head. */
static double macs_per_token(const timing *tm, int layers) {
    double H = tm->H;
    return 4 * H * (tm->E + H) + (layers - 1) * 4 * H * (2 * H) + H * tm->V;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The fastest of `reps` forward + loss + backward passes over random windows (after one warm-up
 * step), in CPU time on one thread: O(L) is a statement about work, and on a shared machine the
 * wall time of a long step grows with everyone else's load (a step that is descheduled half the
 * time takes twice as long), which would bend the line; CPU time on one thread does not. */
static rnnc_status time_steps(timing *tm, uint64_t seed) {
    rnnc_status s = RNNC_OK;
    int threads = omp_get_max_threads();
    int Tmax = tm->T[tm->nT - 1];
    size_t n = (size_t)tm->B * (size_t)Tmax;
    int *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *samples = malloc((size_t)tm->reps * sizeof *samples);
    if (!x || !y || !samples) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    omp_set_num_threads(1);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        x[i] = (int)rnnc_rng_below(&rng, (uint64_t)tm->V);
        y[i] = (int)rnnc_rng_below(&rng, (uint64_t)tm->V);
    }
    for (int l = 0; l < N_LAYERS && !s; l++) {
        rnnc_lm_config cfg = {.cell = RNNC_CELL_LSTM, .vocab = tm->V, .embed = tm->E, .hidden = tm->H, .layers = l + 1};
        rnnc_lm *m;
        if ((s = rnnc_lm_new(&m, &cfg))) break;
        rnnc_lm_init(m, &rng);
        tm->params[l] = m->n_params;
        for (int k = 0; k < tm->nT && !s; k++) {
            int T = tm->T[k];
            rnnc_lm_ws *ws;
            if ((s = rnnc_lm_ws_new(&ws, m, tm->B, T))) break;
            for (int r = -1; r < tm->reps && !s; r++) {
                double loss, t0 = rnnc_lab_cpu_now();
                rnnc_lm_zero_grad(m);
                s = rnnc_lm_forward(m, ws, x, tm->B, T, true, &rng, NULL);
                if (!s) s = rnnc_lm_loss(m, ws, y, true, &loss);
                if (r >= 0) samples[r] = rnnc_lab_cpu_now() - t0;
            }
            rnnc_lm_ws_free(ws);
            qsort(samples, (size_t)tm->reps, sizeof *samples, cmp_double);
            tm->ms[l][k] = 1000 * samples[0];
        }
        rnnc_lm_free(m);
    }
out:
    omp_set_num_threads(threads);
    free(x);
    free(y);
    free(samples);
    return s;
}

/* R^2 of the least-squares line y = a + b x through n points. */
static double line_r2(const int *x, const double *y, int n) {
    double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 1;
}

static rnnc_status train_stack(const rnnc_lab_ctx *c, const char *corpus, int layers, long steps, rnnc_lab_lm_result *res) {
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    o.data = &corpus;
    o.n_data = 1;
    o.tokenizer = "char";
    o.cell = RNNC_CELL_LSTM;
    o.layers = layers;
    o.hidden = c->quick ? 64 : 256;
    o.embed = c->quick ? 32 : 64;
    o.batch = c->quick ? 8 : 32;
    o.seq = c->quick ? 32 : 64;
    o.eval_max_tokens = c->quick ? 0 : 262144;
    rnnc_run_opts r = rnnc_run_defaults();
    r.steps = steps;
    r.eval_every = 0;
    r.log_every = c->quick ? 2 : 10;
    r.warmup = c->quick ? 5 : 100;
    r.seed = c->seed;
    char *model = rnnc_lab_path(c, "stacking-model.safetensors");
    if (!model) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    r.model_out = model;
    char label[64];
    snprintf(label, sizeof label, "LSTM %dx%d", layers, o.hidden);
    rnnc_status s = rnnc_lab_lm_train(c, "stacking", label, &o, &r, false, NULL, NULL, res);
    unlink(model);
    free(model);
    if (!s && isnan(res->val_bpb))
        s = rnnc_error(RNNC_ERR_NUMERIC, "%s: no held-out bits per byte were reported", label);
    return s;
}

static rnnc_status plots(const rnnc_lab_ctx *c, const timing *tm, const rnnc_lab_lm_result *res, double budget) {
    static const char *const names[N_LAYERS] = {"1 layer", "2 layers", "3 layers"};
    double tx[N_LAYERS][MAX_T], ty[N_LAYERS][MAX_T];
    rnnc_plot_series s[N_LAYERS];
    char lab[N_LAYERS][96];
    for (int l = 0; l < N_LAYERS; l++) {
        for (int k = 0; k < tm->nT; k++) {
            tx[l][k] = tm->T[k];
            ty[l][k] = tm->ms[l][k];
        }
        snprintf(lab[l], sizeof lab[l], "%s (%.1f us per token at T = %d)", names[l],
                 1000 * tm->ms[l][tm->nT - 1] / (tm->B * tm->T[tm->nT - 1]), tm->T[tm->nT - 1]);
        s[l] = (rnnc_plot_series){.label = lab[l], .x = tx[l], .y = ty[l], .n = (size_t)tm->nT, .color = l, .markers = 1};
    }
    char title[160];
    snprintf(title, sizeof title, "One training step of a %d x T window, LSTM %d wide: time against T", tm->B, tm->H);
    rnnc_plot_opts o = {.title = title, .xlabel = "window length T (tokens)", .ylabel = "CPU milliseconds per step, one thread (fastest of repeats)"};
    rnnc_status st = rnnc_lab_plot(c, "stacking_time.svg", &o, s, N_LAYERS);
    if (st) return st;
    size_t total = 0;
    for (int l = 0; l < N_LAYERS; l++) total += res[l].n;
    double *buf = malloc((2 * total + 1) * sizeof *buf);
    if (!buf) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    double *x = buf, *y = buf + total;
    for (int l = 0; l < N_LAYERS; l++) {
        for (size_t i = 0; i < res[l].n; i++) {
            x[i] = (double)res[l].pts[i].step * tm->ms[l][TRAIN_T] / 1000; /* the compute spent, in one-thread CPU seconds */
            y[i] = res[l].pts[i].loss / log(2.0); /* char: one token is about one byte */
        }
        snprintf(lab[l], sizeof lab[l], "%s, %ld steps: held-out %.3f bits/byte", names[l], res[l].steps, res[l].val_bpb);
        s[l] = (rnnc_plot_series){.label = lab[l], .x = x, .y = y, .n = res[l].n, .color = l};
        x += res[l].n;
        y += res[l].n;
    }
    if (budget > 0)
        snprintf(title, sizeof title, "Character LSTM, 1 to 3 layers, %g CPU-seconds of compute each: training loss", budget);
    else
        snprintf(title, sizeof title, "Character LSTM, 1 to 3 layers, equal multiply-adds each: training loss");
    o = (rnnc_plot_opts){.title = title, .xlabel = "compute spent (steps x CPU seconds per step on one thread)",
                         .ylabel = "bits per character (training)"};
    st = rnnc_lab_plot(c, "stacking_training.svg", &o, s, N_LAYERS);
    free(buf);
    return st;
}

static rnnc_status write_json(const rnnc_lab_ctx *c, const rnnc_lab_corpus *k, const timing *tm,
                              const rnnc_lab_lm_result *res, double budget) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(j, "lab", "stacking");
    cJSON_AddStringToObject(j, "corpus", k->note);
    cJSON_AddBoolToObject(j, "quick", c->quick);
    cJSON *t = cJSON_AddObjectToObject(j, "timing");
    if (t) {
        cJSON_AddNumberToObject(t, "batch", tm->B);
        cJSON_AddNumberToObject(t, "hidden", tm->H);
        cJSON_AddNumberToObject(t, "embed", tm->E);
        cJSON_AddNumberToObject(t, "vocab", tm->V);
        cJSON_AddNumberToObject(t, "repeats", tm->reps);
        cJSON *rows = cJSON_AddArrayToObject(t, "steps");
        for (int l = 0; rows && l < N_LAYERS; l++)
            for (int q = 0; q < tm->nT; q++) {
                cJSON *r = cJSON_CreateObject();
                if (!r) break;
                cJSON_AddNumberToObject(r, "layers", l + 1);
                cJSON_AddNumberToObject(r, "T", tm->T[q]);
                cJSON_AddNumberToObject(r, "cpu_ms_per_step_one_thread", tm->ms[l][q]);
                cJSON_AddNumberToObject(r, "us_per_token", 1000 * tm->ms[l][q] / (tm->B * tm->T[q]));
                cJSON_AddItemToArray(rows, r);
            }
    }
    cJSON *tr = cJSON_AddObjectToObject(j, "training");
    if (tr) {
        if (budget > 0) cJSON_AddNumberToObject(tr, "cpu_seconds_each", budget);
        else cJSON_AddStringToObject(tr, "budget", "steps in inverse proportion to the multiply-adds per token (--quick)");
        cJSON *runs = cJSON_AddArrayToObject(tr, "runs");
        for (int l = 0; runs && l < N_LAYERS; l++) {
            cJSON *r = cJSON_CreateObject();
            if (!r) break;
            cJSON_AddNumberToObject(r, "layers", l + 1);
            cJSON_AddStringToObject(r, "describe", res[l].describe);
            cJSON_AddNumberToObject(r, "parameters", (double)res[l].n_params);
            cJSON_AddNumberToObject(r, "steps", (double)res[l].steps);
            cJSON_AddNumberToObject(r, "wall_seconds", res[l].seconds);
            cJSON_AddNumberToObject(r, "cpu_seconds", res[l].cpu_seconds);
            cJSON_AddNumberToObject(r, "cpu_ms_per_step_one_thread", tm->ms[l][TRAIN_T]);
            cJSON_AddNumberToObject(r, "held_out_bpb", res[l].val_bpb);
            cJSON *curve = cJSON_AddArrayToObject(r, "curve");
            for (size_t q = 0; curve && q < res[l].n; q++) {
                cJSON *pt = cJSON_CreateArray();
                if (!pt) break;
                cJSON_AddItemToArray(pt, cJSON_CreateNumber(res[l].pts[q].elapsed));
                cJSON_AddItemToArray(pt, cJSON_CreateNumber(res[l].pts[q].tokens));
                cJSON_AddItemToArray(pt, cJSON_CreateNumber(res[l].pts[q].loss));
                cJSON_AddItemToArray(curve, pt);
            }
            cJSON_AddItemToArray(runs, r);
        }
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_status s = rnnc_lab_write_json(c, "stacking.json", text);
    free(text);
    return s;
}

rnnc_status rnnc_lab_stacking_run(const rnnc_lab_ctx *c) {
    rnnc_lab_corpus k;
    rnnc_status s = rnnc_lab_corpus_get(c, 200000, false, &k);
    if (s) return s;
    rnnc_lab_cells cells = {0};
    rnnc_lab_lm_result res[N_LAYERS];
    memset(res, 0, sizeof res);
    /* one-thread CPU seconds of compute for each stack; --quick: 0, and a fixed step count (below) */
    const double budget = c->quick ? 0 : 60;
    timing tm = c->quick ? (timing){.B = 8, .H = 64, .E = 32, .V = 128, .reps = 3, .T = {8, 16, 32}, .nT = 3}
                         : (timing){.B = 32, .H = 256, .E = 64, .V = 128, .reps = 7, .T = {16, 32, 64, 128, 256}, .nT = 5};
    rnnc_lab_note(c, "corpus: %s", k.note);
    rnnc_lab_note(c, "1. one training step (forward + backward) of a %d x T window of a character LSTM, %d wide, embedding "
                  "%d: CPU time on one thread (the work, whatever else runs on the machine), the fastest of %d", tm.B, tm.H,
                  tm.E, tm.reps);
    if ((s = time_steps(&tm, c->seed))) goto out;
    for (int q = 0; q < tm.nT; q++) {
        rnnc_lab_cell(&cells, "%d", tm.T[q]);
        for (int l = 0; l < N_LAYERS; l++) rnnc_lab_cell(&cells, "%.2f", tm.ms[l][q]);
        for (int l = 0; l < N_LAYERS; l++) rnnc_lab_cell(&cells, "%.2f", 1000 * tm.ms[l][q] / (tm.B * tm.T[q]));
    }
    static const char *const thead[] = {"T", "CPU ms 1 layer", "CPU ms 2 layers", "CPU ms 3 layers", "us/token 1",
                                        "us/token 2", "us/token 3"};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    rnnc_lab_table(c, "CPU time per step against the window length T (one thread)", 7, thead, tm.nT, (const char *const *)cells.s);
    if ((s = rnnc_lab_write_csv(c, "stacking_time.csv", 7, thead, tm.nT, (const char *const *)cells.s))) goto out;
    rnnc_lab_cells_free(&cells);

    if (c->quick)
        rnnc_lab_note(c, "\n2. character LSTM language models of 1, 2 and 3 layers (%d wide, embedding %d, batch %d x %d), "
                      "each for %d steps times 1 layer's multiply-adds per token over its own (equal compute, counted "
                      "rather than timed so that --quick repeats whatever the load); held out: the last 5%% of the corpus",
                      tm.H, tm.E, tm.B, tm.T[TRAIN_T], QUICK_STEPS);
    else
        rnnc_lab_note(c, "\n2. character LSTM language models of 1, 2 and 3 layers (%d wide, embedding %d, batch %d x %d), "
                      "each for the steps that %g CPU-seconds buy at its cost per step above (equal compute: on a shared "
                      "machine equal wall time would hand each model whatever the other processes leave); held out: the last "
                      "5%% of the corpus (its first 262,144 characters)", tm.H, tm.E, tm.B, tm.T[TRAIN_T], budget);
    for (int l = 0; l < N_LAYERS; l++) {
        long steps = c->quick ? (long)ceil(QUICK_STEPS * macs_per_token(&tm, 1) / macs_per_token(&tm, l + 1))
                              : (long)ceil(budget / (tm.ms[l][TRAIN_T] / 1000));
        if ((s = train_stack(c, k.path, l + 1, steps > 0 ? steps : 1, &res[l]))) goto out;
    }
    for (int l = 0; l < N_LAYERS; l++) {
        rnnc_lab_cell(&cells, "%d", l + 1);
        rnnc_lab_cell(&cells, "%zu", res[l].n_params);
        rnnc_lab_cell(&cells, "%ld", res[l].steps);
        rnnc_lab_cell(&cells, "%.2f", tm.ms[l][TRAIN_T]);
        rnnc_lab_cell(&cells, "%.1f", res[l].seconds);
        rnnc_lab_cell(&cells, "%.1f", res[l].cpu_seconds);
        rnnc_lab_cell(&cells, "%.2f", res[l].tokens / 1e6);
        rnnc_lab_cell(&cells, "%.4f", res[l].val_bpb);
    }
    static const char *const rhead[] = {"layers", "parameters", "steps", "CPU ms/step (1 thread)", "wall s", "CPU s",
                                        "characters read (M)", "held-out bits/byte"};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    char title[96];
    if (c->quick) snprintf(title, sizeof title, "equal compute (%d steps of 1 layer's multiply-adds each)", QUICK_STEPS);
    else snprintf(title, sizeof title, "equal compute (%g one-thread CPU-seconds each)", budget);
    rnnc_lab_table(c, title, 8, rhead, N_LAYERS, (const char *const *)cells.s);
    if ((s = rnnc_lab_write_csv(c, "stacking_training.csv", 8, rhead, N_LAYERS, (const char *const *)cells.s))) goto out;
    if ((s = plots(c, &tm, res, budget)) || (s = write_json(c, &k, &tm, res, budget))) goto out;
    rnnc_lab_note(c, "\nwritten: %s/stacking_time.svg, stacking_training.svg, stacking_time.csv, stacking_training.csv, "
                  "stacking.json", c->out_dir);

    /* O(L): a straight line t = a + b T through each depth's times; R^2 says how well it fits (a curve
     * that bends upward, as O(L^2) would, fits it badly). */
    double worst = 1;
    for (int l = 0; l < N_LAYERS; l++) {
        double r2 = line_r2(tm.T, tm.ms[l], tm.nT);
        if (r2 < worst) worst = r2;
    }
    int Tm = tm.nT / 2;
    double per_layer2 = tm.ms[1][Tm] / tm.ms[0][Tm], per_layer3 = tm.ms[2][Tm] / tm.ms[0][Tm];
    bool linear = worst >= 0.98;
    int best = 0;
    for (int l = 1; l < N_LAYERS; l++)
        if (res[l].val_bpb < res[best].val_bpb) best = l;
    double gain = (res[0].val_bpb - res[best].val_bpb) / res[0].val_bpb;
    bool modest = gain < 0.05;
    /* the stacks' outcome in words: the best deeper one against 1 layer, or, where 1 layer wins,
     * the deeper ones against it (never 1 layer against itself) */
    char outcome[320];
    if (best > 0)
        snprintf(outcome, sizeof outcome, "the best stack is %d layers at %.3f bits/byte against 1 layer's %.3f: -%.1f%%, %s", best + 1,
                 res[best].val_bpb, res[0].val_bpb, 100 * gain, modest ? "not dramatic, as the seed says" : "more than the seed's \"not dramatic\"");
    else
        snprintf(outcome, sizeof outcome, "1 layer is best at %.3f bits/byte; 2 layers reach %.3f and 3 layers %.3f: the deeper "
                 "stacks gain nothing here, not dramatic, as the seed says", res[0].val_bpb, res[1].val_bpb, res[2].val_bpb);
    rnnc_lab_verdict(c, linear && modest,
                     "The work of a step grows along a straight line in T at every depth (a line through the CPU times from "
                     "T = %d to %d fits with R^2 >= %.3f: O(L) %s), and each layer adds its own: at T = %d a step of 2 layers costs %.2fx and of 3 "
                     "layers %.2fx the CPU time of 1 (the layers run one after another here, not at the same time). At equal "
                     "compute %s.",
                     tm.T[0], tm.T[tm.nT - 1], worst, linear ? "holds" : "does not hold", tm.T[Tm], per_layer2, per_layer3, outcome);
out:
    rnnc_lab_cells_free(&cells);
    for (int l = 0; l < N_LAYERS; l++) rnnc_lab_lm_result_free(&res[l]);
    rnnc_lab_corpus_done(&k);
    return s;
}
