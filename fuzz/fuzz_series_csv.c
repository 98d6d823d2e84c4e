/* libFuzzer target: the forecasting CSV reader (rnnc_series_parse) and what runs on what it reads:
 * normalisation, windows, the seasonal-naive forecast and the metrics.
 *
 * Input: one options byte, then the CSV text. The target column is "y"; options: bit 0 predict
 * mode, bits 1-2 how many covariates of "a", "b", "c" (in that order) are read, bits 3-5 which of
 * them are known in advance, bit 6 small limits (at most 8 rows and 6 header columns), bit 7 read
 * through a file (rnnc_series_read), which must give the same as the text.
 * On failure: a message, one line of valid UTF-8, naming the file for a format error, and nothing
 * kept.
 * On success: the shape and the limits hold; every value is finite but in the future rows (the
 * target NaN, an unknown covariate NaN or finite, a known one finite), which only predict mode
 * has; the data written back as CSV (quoted, CRLF) reads the same bit for bit; normalisation has
 * finite means and positive stds; windows fill with finite values whose targets denormalise back
 * to the data; the seasonal-naive forecast repeats values of the season before its origin; the
 * metrics are ordered (0 <= MAE <= RMSE, sMAPE in [0, 200]). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"
#include "rnnc/series.h"

static const char *const cov_names[3] = {"a", "b", "c"};

static void check_error(rnnc_status s, const rnnc_series_data *d) {
    fuzz_check_failed(s);
    const char *m = rnnc_last_error();
    FUZZ_CHECK(strchr(m, '\n') == NULL && strchr(m, '\r') == NULL);
    FUZZ_CHECK(rnnc_utf8_valid_prefix((const unsigned char *)m, strlen(m)) == strlen(m));
    if (s == RNNC_ERR_FORMAT) FUZZ_CHECK(strncmp(m, "fuzz.csv:", 9) == 0);
    FUZZ_CHECK(d->v == NULL && d->rows == 0 && d->name == NULL);
}

static bool same_bits(const rnnc_series_data *a, const rnnc_series_data *b) {
    return a->rows == b->rows && a->cols == b->cols && a->future == b->future &&
           !memcmp(a->v, b->v, sizeof(float) * (size_t)a->rows * (size_t)a->cols);
}

/* The data as CSV again: an ignored quoted column first, the columns in reverse, NaN as empty. */
static void check_round_trip(const rnnc_series_data *d, const rnnc_series_spec *sp) {
    size_t cap = 64 + (size_t)d->rows * (size_t)(20 + 17 * d->cols), o = 0;
    char *t = malloc(cap);
    FUZZ_CHECK(t != NULL);
    o += (size_t)snprintf(t + o, cap - o, "\"no,te\"");
    for (int c = d->cols - 1; c >= 0; c--) o += (size_t)snprintf(t + o, cap - o, ",%s", c ? cov_names[c - 1] : "y");
    o += (size_t)snprintf(t + o, cap - o, "\r\n");
    for (int r = 0; r < d->rows; r++) {
        o += (size_t)snprintf(t + o, cap - o, "\"x\"\"%d\"", r);
        for (int c = d->cols - 1; c >= 0; c--) {
            float v = d->v[(size_t)r * (size_t)d->cols + (size_t)c];
            if (isnan(v)) o += (size_t)snprintf(t + o, cap - o, ",");
            else o += (size_t)snprintf(t + o, cap - o, c % 2 ? ", \"%.9g\" " : ",%.9g", (double)v);
        }
        o += (size_t)snprintf(t + o, cap - o, "\r\n");
        FUZZ_CHECK(o < cap);
    }
    rnnc_series_spec sp2 = *sp;
    sp2.max_cols = 0; /* one more column than the input may have had */
    rnnc_series_data e;
    FUZZ_CHECK(rnnc_series_parse(t, o, "fuzz.csv", &sp2, &e) == RNNC_OK);
    FUZZ_CHECK(same_bits(d, &e));
    rnnc_series_data_free(&e);
    free(t);
}

static void check_model_side(const rnnc_series_data *d, const rnnc_series_spec *sp, size_t size) {
    int observed = d->rows - d->future;
    if (observed < 1) return;
    int T = 1 + (int)(size % 3), N = 1 + (int)(size / 3 % 2), season = (int)(size % 4);
    rnnc_seq_series s;
    FUZZ_CHECK(rnnc_series_make(&s, sp, d, observed, T, season) == RNNC_OK);
    FUZZ_CHECK(s.n_cols == d->cols && s.context == T && s.season == season && !s.known[0]);
    for (int c = 0; c < s.n_cols; c++) {
        FUZZ_CHECK(isfinite(s.mean[c]) && isfinite(s.std[c]) && s.std[c] > 0);
        FUZZ_CHECK(strcmp(s.name[c], c ? cov_names[c - 1] : "y") == 0);
        FUZZ_CHECK(s.known[c] == (c > 0 && sp->known[c - 1]));
    }
    int K = 0;
    for (int c = 0; c < s.n_cols; c++) K += s.known[c];

    int n;
    fuzz_clear_error();
    rnnc_status st = rnnc_series_windows(d, 0, observed, T, N, &n);
    if (st) {
        fuzz_check_failed(st);
        FUZZ_CHECK(n == 0 && observed < T + N);
    } else {
        FUZZ_CHECK(n == observed - T - N + 1);
        int B = n < 16 ? n : 16;
        int *starts = malloc(sizeof(int) * (size_t)B);
        float *x = malloc(sizeof(float) * (size_t)B * (size_t)(T * s.n_cols));
        float *kn = malloc(sizeof(float) * (size_t)B * (size_t)(N * (K ? K : 1)));
        float *tg = malloc(sizeof(float) * (size_t)B * (size_t)N);
        FUZZ_CHECK(starts && x && kn && tg);
        for (int b = 0; b < B; b++) starts[b] = (int)(((size_t)b * 7919u + size) % (size_t)n);
        fuzz_clear_error();
        st = rnnc_series_fill(&s, d, starts, B, N, x, kn, tg);
        if (st) {
            /* only a value that normalises past a float may stop it */
            FUZZ_CHECK(st == RNNC_ERR_NUMERIC);
            fuzz_check_failed(st);
        } else {
            for (size_t i = 0; i < (size_t)B * (size_t)(T * s.n_cols); i++) FUZZ_CHECK(isfinite(x[i]));
            for (size_t i = 0; i < (size_t)B * (size_t)(N * K); i++) FUZZ_CHECK(isfinite(kn[i]));
            rnnc_series_denorm(&s, tg, tg, (size_t)B * (size_t)N);
            rnnc_series_acc acc;
            rnnc_series_acc_init(&acc, 1);
            bool inf = false;
            for (int b = 0; b < B; b++)
                for (int h = 0; h < N; h++) {
                    double y = d->v[(size_t)(starts[b] + T + h) * (size_t)d->cols];
                    double back = tg[b * N + h];
                    if (isinf(back)) {
                        /* a value at the edge of a float may come back just past it */
                        FUZZ_CHECK(fabs(y) > 0.999 * FLT_MAX);
                        inf = true;
                    } else {
                        FUZZ_CHECK(fabs(back - y) <= 1e-5 * (fabs(y) + fabs(s.mean[0]) + s.std[0]));
                    }
                    float yf = (float)y;
                    rnnc_series_acc_add(&acc, &yf, &tg[b * N + h], 1);
                }
            rnnc_series_metrics m;
            if (B > 0 && inf) {
                FUZZ_CHECK(rnnc_series_acc_finish(&acc, &m) == RNNC_ERR_NUMERIC);
            } else if (B > 0) {
                FUZZ_CHECK(rnnc_series_acc_finish(&acc, &m) == RNNC_OK);
                FUZZ_CHECK(m.n == (size_t)B * (size_t)N && m.mae >= 0 && m.rmse >= m.mae * (1 - 1e-12));
                FUZZ_CHECK(m.smape >= 0 && m.smape <= 200 * (1 + 1e-12));
            }
        }
        free(starts);
        free(x);
        free(kn);
        free(tg);
    }

    /* the seasonal naive forecast from the end of the observed rows */
    int m = season ? season : 1;
    float f[8];
    fuzz_clear_error();
    st = rnnc_series_snaive(d, observed, 8, season, f);
    if (observed < m) {
        FUZZ_CHECK(st == RNNC_ERR_RANGE);
        fuzz_check_failed(st);
    } else {
        FUZZ_CHECK(st == RNNC_OK);
        for (int h = 1; h <= 8; h++) {
            /* the same position in the season: row observed - m + ((h - 1) % m) */
            FUZZ_CHECK(f[h - 1] == d->v[(size_t)(observed - m + (h - 1) % m) * (size_t)d->cols]);
        }
    }
    double scale;
    st = rnnc_series_mase_scale(d, observed, season, &scale);
    if (observed > m) FUZZ_CHECK(st == RNNC_OK && scale >= 0 && isfinite(scale));
    else FUZZ_CHECK(st == RNNC_ERR_ARG);
    rnnc_seq_series_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned opt = data[0];
    bool known[3];
    rnnc_series_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.target = "y";
    sp.n_cov = (int)((opt >> 1) & 3);
    if (sp.n_cov > 3) sp.n_cov = 3;
    sp.covariates = cov_names;
    for (int j = 0; j < 3; j++) known[j] = (opt >> (3 + j)) & 1;
    sp.known = known;
    sp.predict = opt & 1;
    if (opt & 0x40) { sp.max_rows = 8; sp.max_cols = 6; }
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    rnnc_series_data d;
    fuzz_clear_error();
    rnnc_status s = rnnc_series_parse(text, len, "fuzz.csv", &sp, &d);
    if (opt & 0x80) {
        /* the file reader is the same parser over the file's bytes */
        rnnc_series_data e;
        const char *p = fuzz_write("fuzz.csv", text, len);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", rnnc_last_error());
        rnnc_status s2 = rnnc_series_read(p, &sp, &e);
        FUZZ_CHECK(s2 == s);
        if (!s) {
            FUZZ_CHECK(same_bits(&d, &e));
            FUZZ_CHECK(strcmp(e.name, p) == 0);
        } else if (s == RNNC_ERR_FORMAT) {
            /* the same message but for the name */
            size_t pl = strlen(p);
            FUZZ_CHECK(strncmp(rnnc_last_error(), p, pl) == 0 && strcmp(rnnc_last_error() + pl, msg + 8) == 0);
        }
        rnnc_series_data_free(&e);
        rnnc_error(s, "%s", msg);
    }
    if (s) {
        check_error(s, &d);
        return 0;
    }
    FUZZ_CHECK(d.rows >= 1 && d.cols == 1 + sp.n_cov && d.future >= 0 && d.future <= d.rows);
    FUZZ_CHECK(strcmp(d.name, "fuzz.csv") == 0);
    if (!sp.predict) FUZZ_CHECK(d.future == 0);
    if (sp.max_rows) FUZZ_CHECK(d.rows <= sp.max_rows && d.cols <= sp.max_cols);
    for (int r = 0; r < d.rows; r++) {
        bool future = r >= d.rows - d.future;
        for (int c = 0; c < d.cols; c++) {
            float v = d.v[(size_t)r * (size_t)d.cols + (size_t)c];
            if (!future || (c > 0 && known[c - 1])) FUZZ_CHECK(isfinite(v));
            else if (c == 0) FUZZ_CHECK(isnan(v));
            else FUZZ_CHECK(isnan(v) || isfinite(v));
        }
    }
    check_round_trip(&d, &sp);
    check_model_side(&d, &sp, size);
    rnnc_series_data_free(&d);
    return 0;
}
