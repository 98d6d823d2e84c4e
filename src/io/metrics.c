/* The metrics log: append-only JSON lines, and a tolerant reader; see include/rnnc/metrics.h. */
#include "rnnc/metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/io.h"

const char *const rnnc_metrics_fields[RNNC_METRICS_NFIELDS] = {
    "step", "tokens", "epoch", "train_loss", "val_loss", "val_ppl", "val_bpb", "lr", "tokens_per_s", "elapsed",
    "val_unk", "val_ter", "val_ser", "val_acc", "val_macro_f1", "val_seq_acc", "val_span_f1", "val_mae", "val_rmse",
    "val_smape", "grad_norm", "clip_share",
};

double *rnnc_metrics_field(rnnc_metrics_row *r, size_t i) {
    double *f[RNNC_METRICS_NFIELDS] = {&r->step, &r->tokens, &r->epoch, &r->train_loss, &r->val_loss,
                                       &r->val_ppl, &r->val_bpb, &r->lr, &r->tokens_per_s, &r->elapsed,
                                       &r->val_unk, &r->val_ter, &r->val_ser, &r->val_acc, &r->val_macro_f1,
                                       &r->val_seq_acc, &r->val_span_f1, &r->val_mae, &r->val_rmse, &r->val_smape,
                                       &r->grad_norm, &r->clip_share};
    return i < RNNC_METRICS_NFIELDS ? f[i] : NULL;
}

rnnc_metrics_row rnnc_metrics_row_empty(void) {
    rnnc_metrics_row r;
    for (size_t i = 0; i < RNNC_METRICS_NFIELDS; i++) *rnnc_metrics_field(&r, i) = NAN;
    return r;
}

double rnnc_perplexity(double nats_per_token) { return exp(nats_per_token); }

double rnnc_bits_per_byte(double nats_per_token, double tokens, double bytes) {
    if (!(bytes > 0)) return NAN;
    return nats_per_token * tokens / (0.69314718055994530942 * bytes);
}

static char *join_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

rnnc_status rnnc_metrics_open(rnnc_metrics_log *log, const char *run_dir) {
    memset(log, 0, sizeof *log);
    log->path = join_path(run_dir, "metrics.jsonl");
    if (!log->path) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", run_dir);
    /* "a+" so the last byte can be checked: appends always go to the end regardless of reads. */
    log->fp = fopen(log->path, "a+");
    if (!log->fp) {
        rnnc_status s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open for appending", log->path);
        free(log->path);
        log->path = NULL;
        return s;
    }
    if (fseek(log->fp, 0, SEEK_END) == 0 && ftell(log->fp) > 0 && fseek(log->fp, -1, SEEK_END) == 0) {
        int last = fgetc(log->fp);
        if (last != '\n' && last != EOF) {
            fseek(log->fp, 0, SEEK_END);
            fputc('\n', log->fp);
        }
    }
    return RNNC_OK;
}

/* Shortest of %.15g/%.16g/%.17g that reads back as exactly v: cJSON's own printer accepts a
 * 1-ulp difference, and the log should give back the numbers the run computed. */
static void format_exact(char *buf, size_t n, double v) {
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
}

rnnc_status rnnc_metrics_append(rnnc_metrics_log *log, const rnnc_metrics_row *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", log->path);
    rnnc_metrics_row copy = *r;
    for (size_t i = 0; i < RNNC_METRICS_NFIELDS; i++) {
        double v = *rnnc_metrics_field(&copy, i);
        char num[32];
        if (!isfinite(v)) continue;
        format_exact(num, sizeof num, v);
        if (!cJSON_AddRawToObject(o, rnnc_metrics_fields[i], num)) {
            cJSON_Delete(o);
            return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", log->path);
        }
    }
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", log->path);
    fseek(log->fp, 0, SEEK_END);
    int bad = fputs(line, log->fp) < 0 || fputc('\n', log->fp) == EOF || fflush(log->fp) != 0 ||
              fsync(fileno(log->fp)) != 0;
    free(line);
    if (bad) return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot append", log->path);
    return RNNC_OK;
}

void rnnc_metrics_close(rnnc_metrics_log *log) {
    if (!log) return;
    if (log->fp) fclose(log->fp);
    free(log->path);
    memset(log, 0, sizeof *log);
}

/* Whether both rows carry one of the per-report measurements (not the shared step/tokens/time). */
static int shares_measurement(const rnnc_metrics_row *a, const rnnc_metrics_row *b) {
    const double pa[6] = {a->train_loss, a->val_loss, a->val_ppl, a->val_bpb, a->lr, a->tokens_per_s};
    const double pb[6] = {b->train_loss, b->val_loss, b->val_ppl, b->val_bpb, b->lr, b->tokens_per_s};
    for (int i = 0; i < 6; i++)
        if (!isnan(pa[i]) && !isnan(pb[i])) return 1;
    return 0;
}

static rnnc_status push_row(rnnc_metrics_series *s, const rnnc_metrics_row *r, const char *path) {
    /* A resume rewinds the step: drop what the resumed run replaced. A row at the same step as
     * the last one is a companion (validation after training) unless it reports a measurement the
     * earlier row already has, in which case the run is replaying that step. A companion joins
     * the row before (its fields fill the ones that row lacks): a run writes one row per step, but
     * a stop at a step due both a report and a validation writes the report, and the resume the
     * validation it put off, so the log reads as the run never stopped. */
    if (!isnan(r->step) && s->n > 0 && !isnan(s->rows[s->n - 1].step)) {
        rnnc_metrics_row *last = &s->rows[s->n - 1];
        int replay = r->step < last->step;
        if (!replay && r->step == last->step) {
            if (!shares_measurement(last, r)) {
                rnnc_metrics_row add = *r;
                for (size_t i = 0; i < RNNC_METRICS_NFIELDS; i++) {
                    double *f = rnnc_metrics_field(last, i);
                    if (isnan(*f)) *f = *rnnc_metrics_field(&add, i);
                }
                return RNNC_OK;
            }
            replay = 1;
        }
        if (replay)
            while (s->n > 0 && !isnan(s->rows[s->n - 1].step) && s->rows[s->n - 1].step >= r->step) s->n--;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        rnnc_metrics_row *nr = realloc(s->rows, cap * sizeof *nr);
        if (!nr) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
        s->rows = nr;
        s->cap = cap;
    }
    s->rows[s->n++] = *r;
    return RNNC_OK;
}

rnnc_status rnnc_metrics_read(const char *path, rnnc_metrics_series *s) {
    memset(s, 0, sizeof *s);
    struct stat st;
    char *file = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        file = join_path(path, "metrics.jsonl");
        if (!file) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
        if (access(file, F_OK) != 0) {
            rnnc_status e = rnnc_error(RNNC_ERR_IO, "%s: no metrics.jsonl in this directory (not a run directory?)", path);
            free(file);
            return e;
        }
        path = file;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    rnnc_status rc = rnnc_read_file(path, &data, &len);
    if (!rc) rc = rnnc_metrics_parse((const char *)data, len, path, s);
    free(data);
    free(file);
    return rc;
}

rnnc_status rnnc_metrics_parse(const char *data, size_t len, const char *name, rnnc_metrics_series *s) {
    memset(s, 0, sizeof *s);
    rnnc_status rc = RNNC_OK;
    size_t line_no = 0;
    for (size_t pos = 0; !rc && pos < len;) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        line_no++;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == n) continue; /* blank line */
        cJSON *o = cJSON_ParseWithLength(line, n);
        s->last_skipped = !cJSON_IsObject(o);
        if (s->last_skipped) {
            cJSON_Delete(o);
            if (!s->skipped++) s->first_skipped = line_no;
            continue;
        }
        rnnc_metrics_row r = rnnc_metrics_row_empty();
        for (size_t i = 0; i < RNNC_METRICS_NFIELDS; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, rnnc_metrics_fields[i]);
            if (cJSON_IsNumber(v)) *rnnc_metrics_field(&r, i) = v->valuedouble;
        }
        cJSON_Delete(o);
        rc = push_row(s, &r, name);
    }
    if (rc) rnnc_metrics_series_free(s);
    return rc;
}

void rnnc_metrics_series_free(rnnc_metrics_series *s) {
    if (!s) return;
    free(s->rows);
    memset(s, 0, sizeof *s);
}
