/* rnnc lab memory — the seed: an Elman network's x1 "has almost no influence by the time it reaches
 * the output (the long-term memory problem)", and LSTM's gates, whose ratio of old to new can
 * change, repair it.
 *
 * The adding problem (lab_tasks.c) at T = 25, 50, 100, 200 steps, for Elman (tanh), LSTM and GRU of
 * the same width, each trained under the run module for the same budget: 2000 optimizer steps per
 * (cell, T) by default, 800 with --quick (T = 10 and 30 only, narrower models: Elman learns the
 * first and not the second, and a sanitizer build runs it in about half a minute). A budget in steps
 * rather than seconds makes the numbers the same on every run (for a thread count), whatever the
 * load (a shared machine gave the same 60 s runs half their steps); the seconds each run took
 * are reported beside them. AdamW at 1e-2 with a cosine schedule, gradients clipped at norm 1,
 * batches of 64 (32), hidden 64 (32), PyTorch's initialisation for every cell (no forget-gate bias
 * trick). The score is the mean squared error on 1000 held-out sequences of the model the run
 * ends with, against the 0.1667 of always answering 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"

static const rnnc_cell cells[3] = {RNNC_CELL_RNN_TANH, RNNC_CELL_LSTM, RNNC_CELL_GRU};
static const char *const cell_names[3] = {"elman", "lstm", "gru"};
#define BASELINE (2.0 / 12.0) /* the variance of the sum of two U[0,1]: the MSE of answering 1 */

rnnc_status rnnc_lab_memory_run(const rnnc_lab_ctx *ctx) {
    static const int full_T[] = {25, 50, 100, 200}, quick_T[] = {10, 30};
    const int *Ts = ctx->quick ? quick_T : full_T;
    const int nT = ctx->quick ? 2 : 4;
    const int goal_T = ctx->quick ? 30 : 100;
    const int H = ctx->quick ? 32 : 64, B = ctx->quick ? 32 : 64;
    const long steps = ctx->quick ? 800 : 2000;
    rnnc_lab_note(ctx, "The adding problem: 2 inputs a step (a value in [0,1], a marker), the target the sum of the two "
                       "marked values.\nEach cell: hidden %d, batches of %d, %ld optimizer steps a run (%d runs); MSE on 1000 "
                       "held-out sequences (answering 1: %.4f).",
                  H, B, steps, 3 * nT, BASELINE);

    double mse[3][4], best[3][4], secs[3][4], rate[3][4];
    long nsteps[3][4];
    rnnc_lab_curve curves[3]; /* at goal_T, for the second chart */
    memset(curves, 0, sizeof curves);
    rnnc_status s = RNNC_OK;
    for (int ti = 0; !s && ti < nT; ti++) {
        for (int ci = 0; !s && ci < 3; ci++) {
            rnnc_lab_adding_opts ao = {.cell = cells[ci], .hidden = H, .layers = 1, .T = Ts[ti], .batch = B, .n_valid = 1000,
                                       .seed = ctx->seed};
            rnnc_task *t;
            if ((s = rnnc_lab_adding_task(&t, &ao))) break;
            rnnc_run_opts ro = rnnc_run_defaults();
            ro.steps = steps;
            ro.optim.lr = 1e-2;
            ro.clip = 1;
            ro.warmup = 50;
            ro.log_every = 50;
            ro.eval_every = ctx->quick ? 200 : 100;
            ro.seed = ctx->seed;
            char file[96], label[64];
            snprintf(file, sizeof file, "%s-T%d.safetensors", cell_names[ci], Ts[ti]);
            snprintf(label, sizeof label, "%s T=%d", cell_names[ci], Ts[ti]);
            char *model = rnnc_lab_path(ctx, file);
            if (!model) { rnnc_task_free(t); s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); break; }
            ro.model_out = model;
            rnnc_lab_curve cv;
            s = rnnc_lab_train(ctx, t, &ro, label, &cv);
            free(model);
            if (s) { rnnc_lab_curve_free(&cv); break; }
            mse[ci][ti] = cv.last;
            best[ci][ti] = cv.best;
            secs[ci][ti] = cv.elapsed;
            nsteps[ci][ti] = cv.steps;
            rate[ci][ti] = cv.elapsed > 0 ? (double)cv.steps / cv.elapsed : NAN;
            rnnc_lab_note(ctx, "  %-10s %5ld steps in %5.1f s: valid MSE %.5f", label, cv.steps, cv.elapsed, cv.last);
            if (Ts[ti] == goal_T) curves[ci] = cv;
            else rnnc_lab_curve_free(&cv);
        }
    }
    if (s) {
        for (int ci = 0; ci < 3; ci++) rnnc_lab_curve_free(&curves[ci]);
        return s;
    }

    /* the table: one row per T, MSE per cell */
    static const char *const head[] = {"T", "elman MSE", "lstm MSE", "gru MSE", "answering 1", "elman s", "lstm s", "gru s"};
    rnnc_lab_cells tc = {0}, csv = {0};
    for (int ti = 0; ti < nT; ti++) {
        rnnc_lab_cell(&tc, "%d", Ts[ti]);
        for (int ci = 0; ci < 3; ci++) rnnc_lab_cell(&tc, "%.5f", mse[ci][ti]);
        rnnc_lab_cell(&tc, "%.4f", BASELINE);
        for (int ci = 0; ci < 3; ci++) rnnc_lab_cell(&tc, "%.1f", secs[ci][ti]);
        for (int ci = 0; ci < 3; ci++) {
            rnnc_lab_cell(&csv, "%s", cell_names[ci]);
            rnnc_lab_cell(&csv, "%d", Ts[ti]);
            rnnc_lab_cell(&csv, "%.6f", mse[ci][ti]);
            rnnc_lab_cell(&csv, "%.6f", best[ci][ti]);
            rnnc_lab_cell(&csv, "%ld", nsteps[ci][ti]);
            rnnc_lab_cell(&csv, "%.2f", secs[ci][ti]);
            rnnc_lab_cell(&csv, "%.1f", rate[ci][ti]);
        }
    }
    static const char *const chead[] = {"cell", "T", "mse", "best_mse", "steps", "seconds", "steps_per_s"};
    if (tc.failed || csv.failed) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        char title[128];
        snprintf(title, sizeof title, "held-out MSE of the final model after %ld steps, and the seconds each run took", steps);
        rnnc_lab_table(ctx, title, 8, head, nT, (const char *const *)tc.s);
        s = rnnc_lab_write_csv(ctx, "memory.csv", 7, chead, nT * 3, (const char *const *)csv.s);
    }
    rnnc_lab_cells_free(&tc);
    rnnc_lab_cells_free(&csv);

    /* chart 1: MSE against T (log y), the baseline as a dashed line */
    double xs[4], ys[3][4], bx[2] = {Ts[0], Ts[nT - 1]}, by[2] = {BASELINE, BASELINE};
    for (int ti = 0; ti < nT; ti++) {
        xs[ti] = Ts[ti];
        for (int ci = 0; ci < 3; ci++) ys[ci][ti] = mse[ci][ti];
    }
    if (!s) {
        rnnc_plot_series ps[4] = {
            {.label = "Elman (tanh)", .x = xs, .y = ys[0], .n = (size_t)nT, .color = 0, .markers = 1},
            {.label = "LSTM", .x = xs, .y = ys[1], .n = (size_t)nT, .color = 1, .markers = 1},
            {.label = "GRU", .x = xs, .y = ys[2], .n = (size_t)nT, .color = 2, .markers = 1},
            {.label = "always answering 1 (0.167)", .x = bx, .y = by, .n = 2, .color = 7, .dashed = 1},
        };
        char title[160];
        snprintf(title, sizeof title, "The adding problem: held-out MSE after %ld optimizer steps per run", steps);
        rnnc_plot_opts po = {.title = title, .xlabel = "sequence length T (steps between the first marker and the answer: up to T)",
                             .ylabel = "mean squared error (log scale)", .log_x = 1, .log_y = 1};
        s = rnnc_lab_plot(ctx, "memory.svg", &po, ps, 4);
    }
    /* chart 2: the learning curves at goal_T */
    if (!s) {
        rnnc_plot_series ps[4];
        int n = 0;
        for (int ci = 0; ci < 3; ci++)
            ps[n++] = (rnnc_plot_series){.label = ci == 0 ? "Elman (tanh)" : ci == 1 ? "LSTM" : "GRU",
                                         .x = curves[ci].step,
                                         .y = curves[ci].value, .n = (size_t)curves[ci].n, .color = ci, .markers = 1};
        double cx[2] = {0, 0}, cy[2] = {BASELINE, BASELINE};
        for (int ci = 0; ci < 3; ci++)
            if (curves[ci].n) {
                double last = curves[ci].step[curves[ci].n - 1];
                if (last > cx[1]) cx[1] = last;
            }
        ps[n++] = (rnnc_plot_series){.label = "always answering 1", .x = cx, .y = cy, .n = 2, .color = 7, .dashed = 1};
        char title[128];
        snprintf(title, sizeof title, "The adding problem at T = %d: held-out MSE during training", goal_T);
        rnnc_plot_opts po = {.title = title, .xlabel = "optimizer steps (batches of sequences)",
                             .ylabel = "mean squared error (log scale)", .log_y = 1};
        s = rnnc_lab_plot(ctx, "memory-curves.svg", &po, ps, (size_t)n);
    }
    int gi = 0;
    for (int ti = 0; ti < nT; ti++)
        if (Ts[ti] == goal_T) gi = ti;
    double e = mse[0][gi], l = mse[1][gi], g = mse[2][gi];
    /* the goal: LSTM and GRU under 0.01 at T = 100 while Elman stays near the baseline (the
     * quick run's, at T = 30 after 800 steps: under 0.05 against Elman above 0.1); and "within 5
     * minutes a cell", which the seconds column shows for the machine it ran on */
    const double solved = ctx->quick ? 0.05 : 0.01;
    bool held = l < solved && g < solved && e > 0.1;
    double cell_secs[3] = {0, 0, 0};
    for (int ci = 0; ci < 3; ci++)
        for (int ti = 0; ti < nT; ti++) cell_secs[ci] += secs[ci][ti];
    if (!s) {
        cJSON *j = cJSON_CreateObject(), *arr = NULL;
        if (j) {
            cJSON_AddStringToObject(j, "lab", "memory");
            cJSON_AddBoolToObject(j, "quick", ctx->quick);
            cJSON_AddNumberToObject(j, "baseline", BASELINE);
            cJSON_AddNumberToObject(j, "goal_T", goal_T);
            cJSON_AddNumberToObject(j, "hidden", H);
            cJSON_AddNumberToObject(j, "batch", B);
            cJSON_AddNumberToObject(j, "steps", (double)steps);
            cJSON_AddBoolToObject(j, "held", held);
            arr = cJSON_AddArrayToObject(j, "runs");
        }
        for (int ti = 0; arr && ti < nT; ti++)
            for (int ci = 0; ci < 3; ci++) {
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(arr, o)) { cJSON_Delete(o); break; }
                cJSON_AddStringToObject(o, "cell", cell_names[ci]);
                cJSON_AddNumberToObject(o, "T", Ts[ti]);
                cJSON_AddNumberToObject(o, "mse", mse[ci][ti]);
                cJSON_AddNumberToObject(o, "best_mse", best[ci][ti]);
                cJSON_AddNumberToObject(o, "steps", (double)nsteps[ci][ti]);
                cJSON_AddNumberToObject(o, "seconds", secs[ci][ti]);
            }
        s = rnnc_lab_write_cjson(ctx, "memory.json", j);
    }
    for (int ci = 0; ci < 3; ci++) rnnc_lab_curve_free(&curves[ci]);
    if (s) return s;
    rnnc_lab_note(ctx, "\nwritten: %s/memory.svg, memory-curves.svg, memory.csv, memory.json, the models (CELL-TN.safetensors)",
                  ctx->out_dir);
    int last = nT - 1;
    char beyond[160] = "";
    if (Ts[last] != goal_T)
        snprintf(beyond, sizeof beyond, "; at T = %d: Elman %.3f, LSTM %.4f, GRU %.4f", Ts[last], mse[0][last], mse[1][last],
                 mse[2][last]);
    rnnc_lab_verdict(ctx, held,
                     "At T = %d the Elman network stays at %.3f (answering 1: %.3f) while LSTM reaches %.4f and GRU %.4f%s%s "
                     "(%ld steps a run; all T: Elman %.1f s, LSTM %.1f s, GRU %.1f s here).",
                     goal_T, e, BASELINE, l, g, held ? "" : " (the goal: both gated cells under the bar, Elman above 0.1)", beyond,
                     steps, cell_secs[0], cell_secs[1], cell_secs[2]);
    return RNNC_OK;
}
