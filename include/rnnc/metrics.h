/* rnnc — the training metrics log (RUN_DIR/metrics.jsonl: one JSON object per report) and the
 * numbers it holds: perplexity and bits per byte.
 *
 * A row has a fixed set of fields; NaN means "not reported in this row" (a training report has no
 * validation loss, a validation report may have no learning rate), and such fields are left out
 * of the JSON line. */
#ifndef RNNC_METRICS_H
#define RNNC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double step;         /* optimizer steps taken */
    double tokens;       /* training tokens seen */
    double epoch;        /* passes over the training data, fractional */
    double train_loss;   /* nats per token, averaged since the previous report */
    double val_loss;     /* nats per token on the held-out data */
    double val_ppl;      /* exp(val_loss) */
    double val_bpb;      /* bits per byte on the held-out data */
    double lr;           /* learning rate at this step */
    double tokens_per_s; /* training throughput since the previous report */
    double elapsed;      /* seconds of training so far (across resumes) */
    double val_unk;      /* share of held-out tokens that are <unk> (word tokenizers) */
    double val_ter;      /* seq2seq: token error rate of greedy decoding on the dev items */
    double val_ser;      /* seq2seq: sequence error rate of the same */
    double val_acc;      /* classify: accuracy; tag: token accuracy */
    double val_macro_f1; /* classify, tag: macro-F1 over the labels */
    double val_seq_acc;  /* tag: sequences with every tag right */
    double val_span_f1;  /* tag with BIO tags: span F1 (conlleval) */
    double val_mae;      /* forecast: mean absolute error in the data's units */
    double val_rmse;     /* forecast: root mean squared error */
    double val_smape;    /* forecast: symmetric MAPE, percent */
    double grad_norm;    /* the global gradient norm before clipping, mean over the steps since the previous report */
    double clip_share;   /* the share of those steps that --clip scaled down (absent without clipping) */
} rnnc_metrics_row;

/* The JSON key of each field, in the order above, and its count (for tools that iterate). */
extern const char *const rnnc_metrics_fields[];
enum { RNNC_METRICS_NFIELDS = 22 };
/* Field i of a row (i < RNNC_METRICS_NFIELDS), as a pointer into it. */
double *rnnc_metrics_field(rnnc_metrics_row *r, size_t i);

/* A row with every field NaN. */
rnnc_metrics_row rnnc_metrics_row_empty(void);

/* An open log. Appending (not an atomic rewrite) is what a log needs; each line is flushed and
 * fsynced, so a crash loses at most the line being written, and the reader skips that torn tail. */
typedef struct {
    FILE *fp;
    char *path;
} rnnc_metrics_log;

/* Opens RUN_DIR/metrics.jsonl for appending (created if missing). If a crash left a torn last
 * line, a newline is added first so the next row starts on its own line. */
rnnc_status rnnc_metrics_open(rnnc_metrics_log *log, const char *run_dir);
rnnc_status rnnc_metrics_append(rnnc_metrics_log *log, const rnnc_metrics_row *r);
void rnnc_metrics_close(rnnc_metrics_log *log);

typedef struct {
    rnnc_metrics_row *rows;
    size_t n, cap;
    size_t skipped; /* lines that were not JSON objects (a torn line after a crash) */
    size_t first_skipped; /* the 1-based line number of the first of them (0: none) */
    bool last_skipped;    /* whether the last non-blank line is one of them (a run killed while logging) */
} rnnc_metrics_series;

/* Loads a log back. path is the metrics.jsonl file or the run directory holding it. Missing
 * fields read as NaN, unknown keys are ignored, and lines that do not parse are skipped and
 * counted. A resumed run appends rows whose step goes back to the checkpoint's; the rows the
 * resume replaced (same or later step) are dropped, so the series is the one the final run saw.
 * Two rows at one step that report different things (training, then validation) read as one row
 * (the second fills the fields the first lacks); a row repeating a measurement of the row before
 * at the same step is a replay and replaces it.
 * An empty log is a series of zero rows, not an error. */
rnnc_status rnnc_metrics_read(const char *path, rnnc_metrics_series *s);
/* The same over a log already in memory (data[0, len)); `name` is used in error messages. */
rnnc_status rnnc_metrics_parse(const char *data, size_t len, const char *name, rnnc_metrics_series *s);
void rnnc_metrics_series_free(rnnc_metrics_series *s);

/* exp(nats per token). */
double rnnc_perplexity(double nats_per_token);
/* Bits per byte of text: (nats per token * tokens) / (ln 2 * bytes). Comparable across
 * tokenizers, since it charges the model for the whole text whatever the token count. NaN when
 * bytes is not positive. */
double rnnc_bits_per_byte(double nats_per_token, double tokens, double bytes);

#ifdef __cplusplus
}
#endif

#endif
