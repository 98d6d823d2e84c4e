/* rnnc lab — the seed's claims, shown on real runs (internal interface, not installed).
 *
 * A lab is one experiment: it runs on the library (run module, models, tokenizers, plots), prints a
 * table to ctx->out, writes its picture (SVG) and its numbers (JSON and/or CSV) into ctx->out_dir,
 * and ends with one verdict line saying whether the seed's claim held. `rnnc lab NAME` runs one
 * (src/cli/cmd_lab.c); the registry is in lab.c, one file per lab (lab_<name>.c).
 *
 * --quick makes a lab take seconds (make test runs every lab that way and checks its output), with
 * budgets in steps or items, never seconds, so that its numbers repeat whatever the machine's load;
 * without it a lab runs for a few minutes on a 2-core machine (the numbers in docs/LESSONS.md). */
#ifndef RNNC_LAB_H
#define RNNC_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rnnc/plot.h"
#include "rnnc/run.h"
#include "rnnc/seqmodel.h"
#include "rnnc/status.h"

typedef struct {
    bool quick;          /* --quick: seconds, for make test */
    const char *out_dir; /* -o DIR (default: lab-NAME), created; SVG + JSON/CSV written here */
    uint64_t seed;       /* --seed */
    int threads;         /* --threads (0 = default) */
    FILE *out;           /* where tables and the verdict go (stdout) */
} rnnc_lab_ctx;

typedef struct {
    const char *name;    /* "memory" */
    const char *summary; /* one line for `rnnc lab` */
    const char *claim;   /* the seed's claim being tested, one line */
    rnnc_status (*run)(const rnnc_lab_ctx *ctx);
} rnnc_lab;

/* The registry (lab.c): every lab, in the seed's order. */
extern const rnnc_lab rnnc_labs[];
extern const int rnnc_lab_count;
/* The lab called `name`, or NULL. */
const rnnc_lab *rnnc_lab_find(const char *name);

/* helpers in lab.c that every lab uses (L1 may add more, not change these): */
void rnnc_lab_table(const rnnc_lab_ctx *c, const char *title, int ncol, const char *const *head,
                    int nrow, const char *const *cells);   /* aligned text table, row-major cells */
rnnc_status rnnc_lab_write_json(const rnnc_lab_ctx *c, const char *file, const char *json);
rnnc_status rnnc_lab_write_csv(const rnnc_lab_ctx *c, const char *file, int ncol,
                    const char *const *head, int nrow, const char *const *cells);
rnnc_status rnnc_lab_write_svg(const rnnc_lab_ctx *c, const char *file, const char *svg, size_t n);
void rnnc_lab_verdict(const rnnc_lab_ctx *c, bool held, const char *fmt, ...)
    __attribute__((format(printf, 3, 4))); /* last line */
/* The last line where the runs cannot decide the claim either way (a --quick run too short to
 * tell): "verdict: inconclusive. <why>". */
void rnnc_lab_verdict_inconclusive(const rnnc_lab_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- more helpers (lab.c) ---- */

/* Writes a cJSON tree (NULL: out of memory) as OUT_DIR/file and deletes it; NaN and infinite
 * numbers come out as null (lab_tasks.c). */
struct cJSON;
rnnc_status rnnc_lab_write_cjson(const rnnc_lab_ctx *c, const char *file, struct cJSON *j);

/* "OUT_DIR/file", malloc'd (NULL when out of memory). */
char *rnnc_lab_path(const rnnc_lab_ctx *c, const char *file);
/* Renders a line chart (plot.h) and writes it atomically as OUT_DIR/file. */
rnnc_status rnnc_lab_plot(const rnnc_lab_ctx *c, const char *file, const rnnc_plot_opts *o,
                          const rnnc_plot_series *s, size_t n);
/* A data file of `scripts/fetch-data.sh`: $RNNC_DATA/rel when RNNC_DATA is set, else data/rel
 * (relative to the working directory), always written to buf. Returns buf when that file exists
 * and is not empty, else NULL (the lab then says what to run, or falls back, saying why with
 * rnnc_lab_data_why). */
const char *rnnc_lab_data(const char *rel, char *buf, size_t n);
/* Why rnnc_lab_data refused path: "is missing", "is empty" or "is not a regular file". */
const char *rnnc_lab_data_why(const char *path);
/* Seconds on a monotonic clock. */
double rnnc_lab_now(void);
/* A line of progress or of explanation before the table (to ctx->out, flushed). */
void rnnc_lab_note(const rnnc_lab_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Table cells built one printf at a time, for rnnc_lab_table and rnnc_lab_write_csv. An allocation
 * failure sets `failed` (and the cell reads "?"), so a lab checks once before using them. */
typedef struct {
    char **s;
    int n, cap;
    bool failed;
} rnnc_lab_cells;
void rnnc_lab_cell(rnnc_lab_cells *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rnnc_lab_cells_free(rnnc_lab_cells *t);

/* ---- training under the run module (lab_tasks.c) ---- */

/* A run's validation curve: the first validation score (score[0]) at each validation, with the
 * step and the seconds of training so far; the last and best scores; the run's steps, seconds
 * and last reported throughput (the task's units a second). */
typedef struct {
    double *step, *seconds, *value;
    int n, cap;
    double last, best;
    long steps;
    double elapsed, tokens_per_s;
    rnnc_valid_result final; /* the last validation, all its metrics (n = 0: none) */
} rnnc_lab_curve;
/* A metric of the last validation by name ("val_acc"), or NAN. */
double rnnc_lab_curve_metric(const rnnc_lab_curve *cv, const char *name);
/* Trains t (owned from here, freed by the run) under o, recording the curve; without --quick a
 * progress line "  LABEL: step N, S s, <validation>" at most every 30 s. */
rnnc_status rnnc_lab_train(const rnnc_lab_ctx *c, rnnc_task *t, const rnnc_run_opts *o, const char *label,
                           rnnc_lab_curve *curve);
void rnnc_lab_curve_free(rnnc_lab_curve *cv);

/* The adding problem (lab_tasks.c has the rules): batches drawn from (seed, step), a validation
 * set drawn once, a forecaster of 2 inputs and one output trained with MSE (val_mse). */
typedef struct {
    rnnc_cell cell;
    int hidden, layers;
    int T;          /* steps per sequence */
    int batch;
    int n_valid;    /* validation sequences */
    uint64_t seed;  /* the model's initialisation and the validation set */
} rnnc_lab_adding_opts;
rnnc_status rnnc_lab_adding_task(rnnc_task **out, const rnnc_lab_adding_opts *o);
/* B sequences of T steps into x (B,T,2) (value, marker) and their targets y (B). */
void rnnc_lab_adding_fill(rnnc_rng *r, int B, int T, float *x, float *y);
/* An adding-problem model with zero parameters (rnnc_seq_model_init draws them). */
rnnc_status rnnc_lab_adding_model(rnnc_seq_model **out, rnnc_cell cell, int hidden, int layers, bool bidirectional, int T);
/* Mean squared error of m on n sequences (x, y), in batches of at most B (ws sized for B, T);
 * pred holds B floats of scratch. */
rnnc_status rnnc_lab_adding_mse(rnnc_seq_model *m, rnnc_seq_ws *ws, int B, int T, const float *x, const float *y, int n,
                                float *pred, double *mse);

#endif
