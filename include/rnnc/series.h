/* rnnc — forecasting data: numeric series from CSV, their normalisation, the model's windows, and
 * the forecast metrics (MAE, RMSE, sMAPE, MASE) with the seasonal-naive forecast to compare with.
 *
 * The CSV (RFC 4180, leniently): a header line naming the columns, then one row per time step in
 * time order. Fields are separated by commas; a field may be double-quoted (commas, quotes as "",
 * and line breaks inside); lines end in LF or CRLF, the last one may have no newline; empty lines
 * are skipped; a UTF-8 byte order mark at the start is ignored. Spaces and tabs around a field are
 * dropped (outside the quotes). Only the columns the spec names are read: the target and the
 * covariates, each a number that strtod reads whole in the C locale (whatever setlocale says).
 * Other columns (a date, a comment) may hold anything, and may even have an empty or repeated
 * name. Every refusal is one line "FILE:LINE:COLUMN (NAME): ..." (or "FILE:LINE: ...", "FILE: ...")
 * through rnnc_error.
 *
 * Normalisation: each column c as (v - mean[c]) / std[c], the mean and the population standard
 * deviation (divided by n, as numpy's std) over the training rows; a column that is constant over
 * them gets std 1 (so it normalises to 0 instead of dividing by 0).
 *
 * Windows: for context T and horizon N, the window starting at row i reads rows [i, i+T) (every
 * column) and predicts the target of rows [i+T, i+T+N), given the known covariates of those rows. */
#ifndef RNNC_SERIES_H
#define RNNC_SERIES_H

#include <stdbool.h>
#include <stddef.h>

#include "rnnc/seqmodel.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which columns to read. The names are matched exactly (case and all) against the header. */
typedef struct {
    const char *target;            /* the column to forecast */
    const char *const *covariates; /* [n_cov]: the other inputs, in the order the model reads them */
    const bool *known;             /* [n_cov]: known in advance (also fed for the horizon's steps); NULL: none */
    int n_cov;
    /* Predict mode: the trailing rows whose target cell is empty are the steps to forecast
     * ("future" rows). Their known covariates must be given; their unknown ones may be empty. An
     * empty target followed by a row that has one is still an error. */
    bool predict;
    /* Limits (0: INT_MAX): more data rows, or more header columns (all of them, read or not), is an
     * error. A caller may lower them (the fuzzer and the tests do). */
    int max_rows, max_cols;
} rnnc_series_spec;

/* The spec of a model's series (its target and covariates, pointing into s): what predict and eval
 * read a CSV with. */
rnnc_series_spec rnnc_series_spec_of(const rnnc_seq_series *s, bool predict);

/* A series as read: rows x cols floats, row-major in file order, column 0 the target and column
 * 1 + j the spec's covariate j. The last `future` rows (predict mode only) hold NaN in the target
 * and in every unknown covariate left empty; every other value is finite. */
typedef struct {
    char *name;  /* the file name, for messages (owned) */
    int rows;    /* data rows, the future ones included (>= 1) */
    int cols;    /* 1 + n_cov */
    int future;  /* trailing rows without a target (0 unless predict mode) */
    float *v;    /* [rows * cols] */
} rnnc_series_data;

/* Reads the CSV at `path` ("-": stdin) into *out (overwritten, not freed first). On failure *out is
 * left empty (safe to free). */
rnnc_status rnnc_series_read(const char *path, const rnnc_series_spec *spec, rnnc_series_data *out);
/* The same over text[0, len) (it need not end in NUL), `name` standing for the file in messages. */
rnnc_status rnnc_series_parse(const char *text, size_t len, const char *name, const rnnc_series_spec *spec,
                              rnnc_series_data *out);
void rnnc_series_data_free(rnnc_series_data *d);

/* Fills *out (overwritten, not freed first; rnnc_seq_series_free frees it) for the spec's columns: names
 * copied, known flags (known[0] false), mean and std of each column over the first `train_rows`
 * rows (at least 1, none of them future), `context` (T >= 1) and `season` (>= 0, 0: none). On
 * failure *out is left empty. */
rnnc_status rnnc_series_make(rnnc_seq_series *out, const rnnc_series_spec *spec, const rnnc_series_data *d,
                             int train_rows, int context, int season);

/* The number of windows of T = context rows plus N = horizon rows that fit in rows [lo, hi) (their
 * starts are lo, lo+1, ..., lo + *n - 1). Fewer than T + N rows is an error naming --context,
 * --horizon and the row count. The range may not reach into the future rows. */
rnnc_status rnnc_series_windows(const rnnc_series_data *d, int lo, int hi, int context, int horizon, int *n);

/* For the B windows starting at starts[b], normalised by s (T = s->context, F = s->n_cols, the K
 * columns with s->known[c] in column order, N = horizon):
 *   x        (B,T,F): x[(b*T + t)*F + c] = norm_c(v[starts[b] + t][c]);
 *   known    (B,N*K): known[b*N*K + n*K + k] = norm(v[starts[b] + T + n][k-th known column]);
 *   targets  (B,N):   targets[b*N + n] = norm_0(v[starts[b] + T + n][0]).
 * With s->relative, the window's level L_b = mean over t < T of norm_0(v[starts[b] + t][0]) is
 * subtracted from x's target column and from the targets.
 * Any of the three may be NULL (not filled). The rows each one reads must exist, and the rows x
 * and targets read must not be future rows (known may read them: a forecast past the end of the
 * data reads x and known only). d must have s->n_cols columns. */
rnnc_status rnnc_series_fill(const rnnc_seq_series *s, const rnnc_series_data *d, const int *starts, int B,
                             int horizon, float *x, float *known, float *targets);

/* Predictions of the normalised target back in the data's units: out[i] = in[i] * std[0] + mean[0]
 * (in == out is fine). */
void rnnc_series_denorm(const rnnc_seq_series *s, const float *in, float *out, size_t n);
/* The same for the predictions in (B,N) of the windows starting at starts[b]: with s->relative,
 * each window's level (the mean of its context rows' normalised target, which rnnc_series_fill
 * took off) is added back first. The context rows must exist. A forecast beyond a float (or NaN)
 * is an error (RNNC_ERR_NUMERIC) naming the window's row, the model's output and the
 * normalisation. */
rnnc_status rnnc_series_denorm_windows(const rnnc_seq_series *s, const rnnc_series_data *d, const int *starts, int B,
                                       int horizon, const float *in, float *out);

/* The seasonal-naive forecast, in the data's units, of the N = horizon rows from row `origin` on,
 * from the rows before it: out[h-1] = y[t + h - m*ceil(h/m)] for h = 1..N, t = origin - 1 the last
 * row seen, m = season (0: 1, the naive forecast). Needs rows [origin - m, origin) observed. */
rnnc_status rnnc_series_snaive(const rnnc_series_data *d, int origin, int horizon, int season, float *out);

/* MASE's scale: the in-sample mean absolute error of the seasonal-naive one-step forecast over the
 * first train_rows rows, mean over t in [m, train_rows) of |y[t] - y[t-m]| (m = season, 0: 1).
 * Needs train_rows > m. It is 0 for a series that repeats exactly with period m. */
rnnc_status rnnc_series_mase_scale(const rnnc_series_data *d, int train_rows, int season, double *scale);

/* Forecast metrics over any number of windows, in the data's units. */
typedef struct {
    double scale;                  /* MASE's scale (rnnc_series_mase_scale) */
    double sum_abs, sum_sq, sum_smape;
    size_t n;                      /* forecasts added */
} rnnc_series_acc;

typedef struct {
    double mae, rmse;
    double smape; /* percent, in [0, 200]: mean of 200 |y - f| / (|y| + |f|), a term with y = f = 0 counting 0 */
    double mase;  /* mae / scale; NaN when the scale is 0 (no honest MASE: say so, don't print it) */
    size_t n;
} rnnc_series_metrics;

void rnnc_series_acc_init(rnnc_series_acc *a, double scale);
/* Adds n forecasts f[i] of the true values y[i]. */
void rnnc_series_acc_add(rnnc_series_acc *a, const float *y, const float *f, size_t n);
/* No forecasts added is an error (never a perfect score), and so is a NaN or Inf among them. */
rnnc_status rnnc_series_acc_finish(const rnnc_series_acc *a, rnnc_series_metrics *out);

#ifdef __cplusplus
}
#endif

#endif
