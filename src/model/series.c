/* Forecasting data: CSV series, normalisation, windows, metrics. See include/rnnc/series.h. */
#include "rnnc/series.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/buf.h"
#include "rnnc/io.h"
#include "rnnc/utf8.h"

/* ---- the CSV scanner ---- */

#define SHOWN_CAP 256
/* Text for a message: at most 60 bytes of it, control characters and bytes that are not UTF-8 as
 * \xNN, so that a message stays one line of valid UTF-8 whatever the file holds. */
static const char *show(const char *s, size_t n, char buf[SHOWN_CAP]) {
    size_t o = 0, i = 0;
    while (i < n) {
        if (i >= 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        uint32_t cp = ch;
        int k = ch < 0x80 ? 1 : rnnc_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) { /* C0, DEL, C1, not UTF-8: byte by byte */
            o += (size_t)snprintf(buf + o, 5, "\\x%02X", ch);
            i++;
            continue;
        }
        memcpy(buf + o, s + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    buf[o] = 0;
    return buf;
}

typedef struct {
    const char *s, *name; /* the text and the file's name */
    size_t len, pos;
    size_t line;          /* the physical line at pos, from 1 */
    rnnc_bytes buf;       /* the kept fields' contents, each followed by a NUL */
} csv;

typedef struct {
    size_t off, n; /* content at buf.data + off (NUL-terminated), n bytes */
    size_t line;   /* where the field starts */
} cell;

/* "FILE:LINE:COL (NAME): why" (no "(NAME)" for an unnamed column, no column when col is 0). */
static rnnc_status csv_error(const csv *c, size_t line, int col, const char *cname, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static rnnc_status csv_error(const csv *c, size_t line, int col, const char *cname, const char *fmt, ...) {
    char why[512], where[64] = "", shown[SHOWN_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (col > 0) snprintf(where, sizeof where, ":%d", col);
    if (col > 0 && cname && cname[0])
        return rnnc_error(RNNC_ERR_FORMAT, "%s:%zu%s (%s): %s", c->name, line, where,
                          show(cname, strlen(cname), shown), why);
    return rnnc_error(RNNC_ERR_FORMAT, "%s:%zu%s: %s", c->name, line, where, why);
}

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* Reads the field at c->pos (column col of its record, named cname when known) and what ends it:
 * *last is set when that is the end of the record (a line break or the end of the text). With
 * `keep`, its content (quotes undone, outer blanks dropped) is appended to c->buf. */
static rnnc_status next_field(csv *c, int col, const char *cname, bool keep, cell *f, bool *last) {
    const char *s = c->s;
    size_t n = c->len, i = c->pos;
    while (i < n && is_blank(s[i])) i++;
    f->line = c->line;
    f->off = c->buf.len;
    f->n = 0;
    rnnc_status st;
    if (i < n && s[i] == '"') {
        i++;
        for (;;) {
            /* the run up to the next quote, NUL or line break, in one piece */
            size_t j = i;
            while (j < n && s[j] != '"' && s[j] != '\n' && s[j] != 0) j++;
            if (keep && j > i && (st = rnnc_bytes_append(&c->buf, s + i, j - i))) return st;
            i = j;
            if (i >= n) return csv_error(c, f->line, col, cname, "the quoted field opened here is never closed");
            if (s[i] == 0) return csv_error(c, c->line, col, cname, "a NUL byte (is this a binary file?)");
            if (s[i] == '\n') {
                c->line++;
                if (keep && (st = rnnc_bytes_append(&c->buf, "\n", 1))) return st;
                i++;
                continue;
            }
            if (i + 1 < n && s[i + 1] == '"') { /* "" is one quote */
                if (keep && (st = rnnc_bytes_append(&c->buf, "\"", 1))) return st;
                i += 2;
                continue;
            }
            i++;
            break;
        }
        while (i < n && is_blank(s[i])) i++;
        if (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
            return csv_error(c, c->line, col, cname, "text after the closing quote (a quote inside a quoted field is written \"\")");
    } else {
        size_t start = i;
        while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r' && s[i] != 0) i++;
        if (i < n && s[i] == 0) return csv_error(c, c->line, col, cname, "a NUL byte (is this a binary file?)");
        size_t e = i;
        while (e > start && is_blank(s[e - 1])) e--;
        if (keep && e > start && (st = rnnc_bytes_append(&c->buf, s + start, e - start))) return st;
    }
    if (keep && (st = rnnc_bytes_append(&c->buf, "", 1))) return st;
    f->n = c->buf.len - f->off - (keep ? 1 : 0);
    if (i >= n) {
        *last = true;
    } else if (s[i] == ',') {
        *last = false;
        i++;
    } else if (s[i] == '\n') {
        *last = true;
        i++;
        c->line++;
    } else if (i + 1 < n && s[i + 1] == '\n') { /* CR LF */
        *last = true;
        i += 2;
        c->line++;
    } else {
        return csv_error(c, c->line, 0, NULL, "a carriage return without a line feed (lines must end in LF or CR LF)");
    }
    c->pos = i;
    return RNNC_OK;
}

/* Skips empty lines; false at the end of the text. */
static bool next_record(csv *c) {
    while (c->pos < c->len) {
        if (c->s[c->pos] == '\n') c->pos++;
        else if (c->s[c->pos] == '\r' && c->pos + 1 < c->len && c->s[c->pos + 1] == '\n') c->pos += 2;
        else return true;
        c->line++;
    }
    return false;
}

/* ---- reading ---- */

void rnnc_series_data_free(rnnc_series_data *d) {
    if (!d) return;
    free(d->name);
    free(d->v);
    memset(d, 0, sizeof *d);
}

rnnc_series_spec rnnc_series_spec_of(const rnnc_seq_series *s, bool predict) {
    rnnc_series_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.target = s->n_cols > 0 ? s->name[0] : NULL;
    sp.n_cov = s->n_cols > 0 ? s->n_cols - 1 : 0;
    sp.covariates = sp.n_cov > 0 ? (const char *const *)s->name + 1 : NULL;
    sp.known = sp.n_cov > 0 ? s->known + 1 : NULL;
    sp.predict = predict;
    return sp;
}

/* Column j of the spec: 0 the target, 1 + k covariate k. */
static const char *spec_col(const rnnc_series_spec *sp, int j) { return j == 0 ? sp->target : sp->covariates[j - 1]; }
static bool spec_known(const rnnc_series_spec *sp, int j) { return j > 0 && sp->known && sp->known[j - 1]; }

static rnnc_status spec_check(const rnnc_series_spec *sp) {
    if (!sp->target || !sp->target[0]) return rnnc_error(RNNC_ERR_ARG, "no target column named");
    if (sp->n_cov < 0 || sp->n_cov >= INT_MAX) return rnnc_error(RNNC_ERR_ARG, "%d covariates", sp->n_cov);
    if (sp->n_cov > 0 && !sp->covariates) return rnnc_error(RNNC_ERR_ARG, "%d covariates but no names", sp->n_cov);
    if (sp->max_rows < 0 || sp->max_cols < 0) return rnnc_error(RNNC_ERR_ARG, "negative row or column limit");
    char shown[SHOWN_CAP];
    for (int j = 1; j <= sp->n_cov; j++) {
        const char *a = spec_col(sp, j);
        if (!a || !a[0]) return rnnc_error(RNNC_ERR_ARG, "covariate %d has no name", j);
        /* (a model file's columns are checked as it loads: a spec with a name twice is the flags') */
        for (int k = 0; k < j; k++)
            if (!strcmp(a, spec_col(sp, k))) {
                const char *fa = spec_known(sp, j) ? "--known" : "--covariates", *fk = spec_known(sp, k) ? "--known" : "--covariates";
                if (k == 0) return rnnc_error(RNNC_ERR_ARG, "column '%s' is named twice (as --target and in %s)", show(a, strlen(a), shown), fa);
                if (fa == fk) return rnnc_error(RNNC_ERR_ARG, "column '%s' is named twice in %s", show(a, strlen(a), shown), fa);
                return rnnc_error(RNNC_ERR_ARG, "column '%s' is named twice (in --covariates and in --known)", show(a, strlen(a), shown));
            }
    }
    return RNNC_OK;
}

/* "FILE: no column 'x'; the columns are: a, b, c" (a long header cut short). */
static rnnc_status no_column(const csv *c, const char *want, const char *hdr, const size_t *name_off, int H) {
    char list[640], shown[SHOWN_CAP], shown2[SHOWN_CAP];
    size_t o = 0;
    int h = 0;
    for (; h < H; h++) {
        const char *nm = hdr + name_off[h];
        const char *t = nm[0] ? show(nm, strlen(nm), shown) : "\"\"";
        size_t tl = strlen(t);
        if (o + tl + 2 >= sizeof list - 40) break;
        if (h) { memcpy(list + o, ", ", 2); o += 2; }
        memcpy(list + o, t, tl);
        o += tl;
    }
    if (h < H) o += (size_t)snprintf(list + o, sizeof list - o, ", ... (%d in all)", H);
    list[o] = 0;
    return rnnc_error(RNNC_ERR_FORMAT, "%s: no column '%s'; the columns are: %s", c->name,
                      show(want, strlen(want), shown2), list);
}

/* The value of a read cell, or an error naming it. */
static rnnc_status parse_number(const csv *c, const cell *f, int col, const char *cname, float *out) {
    const char *p = (const char *)c->buf.data + f->off;
    size_t n = f->n;
    while (n && is_blank(*p)) { p++; n--; } /* blanks inside quotes */
    while (n && is_blank(p[n - 1])) n--;
    if (n == 0) return csv_error(c, f->line, col, cname, "empty cell");
    /* strtod would skip a leading newline or other white space: a number starts with a sign, a
     * digit or a point (or is nan/inf, refused below) */
    bool space = p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r');
    char *end = (char *)p;
    errno = 0;
    double v = space ? 0 : strtod(p, &end);
    bool whole = !space && end == p + n;
    if (whole && isfinite(v) && fabs(v) <= FLT_MAX) {
        *out = (float)v;
        return RNNC_OK;
    }
    char shown[SHOWN_CAP];
    const char *txt = show(p, n, shown); /* only for the message */
    if (!whole) return csv_error(c, f->line, col, cname, "'%s' is not a number", txt);
    if (isnan(v)) return csv_error(c, f->line, col, cname, "'%s' is not a number (NaN is refused: leave no gaps in a series)", txt);
    if (isinf(v) && errno != ERANGE) return csv_error(c, f->line, col, cname, "'%s' is infinite (Inf is refused)", txt);
    return csv_error(c, f->line, col, cname, "'%s' is out of range (a value must fit a float, |v| < 3.4e38)", txt);
}

/* Nothing but blanks (inside quotes too). */
static bool cell_empty(const csv *c, const cell *f) {
    const char *p = (const char *)c->buf.data + f->off;
    for (size_t i = 0; i < f->n; i++)
        if (!is_blank(p[i])) return false;
    return true;
}

typedef struct {
    size_t *name_off; /* [H] header names in hdr */
    char *hdr;
    int *use;         /* [H] spec column read from header column h, or -1 */
    int *order;       /* [cols] header columns read, in column order */
    cell *cells;      /* [cols] this record's read cells, by spec column */
} parse_ws;

static rnnc_status read_header(csv *c, const rnnc_series_spec *sp, parse_ws *w, int *H_out, size_t *hdr_line) {
    int max_cols = sp->max_cols ? sp->max_cols : INT_MAX;
    size_t cap = 0;
    int H = 0;
    bool last = false;
    rnnc_status st;
    *hdr_line = c->line;
    while (!last) {
        if (H == max_cols) return csv_error(c, *hdr_line, 0, NULL, "the header has more than %d columns", max_cols);
        if ((size_t)H == cap) {
            cap = cap ? cap * 2 : 16;
            if (cap > (size_t)max_cols) cap = (size_t)max_cols;
            size_t *g = realloc(w->name_off, cap * sizeof *g);
            if (!g) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for a header of %zu columns", c->name, cap);
            w->name_off = g;
        }
        cell f;
        if ((st = next_field(c, H + 1, NULL, true, &f, &last))) return st;
        w->name_off[H++] = f.off;
    }
    *H_out = H;
    /* the names keep their offsets in a block of their own: c->buf is reused for the rows */
    if (!(w->hdr = malloc(c->buf.len))) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for the header", c->name);
    memcpy(w->hdr, c->buf.data, c->buf.len);
    c->buf.len = 0;

    int cols = 1 + sp->n_cov;
    w->use = malloc((size_t)H * sizeof *w->use);
    w->order = malloc((size_t)cols * sizeof *w->order);
    w->cells = calloc((size_t)cols, sizeof *w->cells);
    if (!w->use || !w->order || !w->cells) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for the header", c->name);
    for (int h = 0; h < H; h++) w->use[h] = -1;
    char shown[SHOWN_CAP];
    for (int j = 0; j < cols; j++) {
        const char *want = spec_col(sp, j);
        int found = -1;
        for (int h = 0; h < H; h++) {
            if (strcmp(w->hdr + w->name_off[h], want)) continue;
            if (found >= 0)
                return csv_error(c, *hdr_line, 0, NULL, "column '%s' appears twice in the header (columns %d and %d)",
                                 show(want, strlen(want), shown), found + 1, h + 1);
            found = h;
        }
        if (found < 0) return no_column(c, want, w->hdr, w->name_off, H);
        w->use[found] = j;
    }
    int k = 0;
    for (int h = 0; h < H; h++)
        if (w->use[h] >= 0) w->order[k++] = h;
    return RNNC_OK;
}

static rnnc_status parse_inner(csv *c, const rnnc_series_spec *sp, rnnc_series_data *d, parse_ws *w) {
    if (c->len >= 3 && !memcmp(c->s, "\xEF\xBB\xBF", 3)) c->pos = 3;
    if (!next_record(c))
        return rnnc_error(RNNC_ERR_FORMAT, "%s: the file is empty (expected a header line naming the columns, then "
                          "one row per time step)", c->name);
    int H = 0; /* set by read_header; GCC at -O1 cannot see it */
    size_t hdr_line;
    rnnc_status st = read_header(c, sp, w, &H, &hdr_line);
    if (st) return st;
    const int cols = 1 + sp->n_cov, max_rows = sp->max_rows ? sp->max_rows : INT_MAX;
    int t_h = 0; /* the target's header column */
    while (w->use[t_h] != 0) t_h++;
    size_t cap = 0;
    int rows = 0, first_future = -1;
    size_t first_future_line = 0;
    d->cols = cols;
    while (next_record(c)) {
        size_t line = c->line;
        if (rows == max_rows) return csv_error(c, line, 0, NULL, "more than %d rows", max_rows);
        c->buf.len = 0;
        int k = 0;
        bool last = false;
        while (!last) {
            int j = k < H ? w->use[k] : -1;
            cell f;
            if ((st = next_field(c, k + 1, k < H ? w->hdr + w->name_off[k] : NULL, j >= 0, &f, &last))) return st;
            if (j >= 0) w->cells[j] = f;
            if (k < INT_MAX) k++;
        }
        if (k != H)
            return csv_error(c, line, 0, NULL, "%d field%s, but the header (line %zu) has %d", k, k == 1 ? "" : "s",
                             hdr_line, H);
        if ((size_t)rows == cap) {
            size_t nc = cap ? cap * 2 : 256;
            if (nc > (size_t)max_rows) nc = (size_t)max_rows;
            if (nc > SIZE_MAX / sizeof(float) / (size_t)cols)
                return rnnc_error(RNNC_ERR_NOMEM, "%s: too many values for memory", c->name);
            float *g = realloc(d->v, nc * (size_t)cols * sizeof *g);
            if (!g) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for %zu rows of %d columns", c->name, nc, cols);
            d->v = g;
            cap = nc;
        }
        float *row = d->v + (size_t)rows * (size_t)cols;
        /* predict mode: is this a row to forecast? */
        bool future = sp->predict && cell_empty(c, &w->cells[0]);
        if (!future && first_future >= 0)
            return csv_error(c, first_future_line, t_h + 1, spec_col(sp, 0),
                             "empty cell (in predict mode only the last rows may leave the target empty, and line %zu "
                             "has one)", line);
        if (future && first_future < 0) {
            first_future = rows;
            first_future_line = w->cells[0].line;
        }
        for (int q = 0; q < cols; q++) {
            int h = w->order[q], j = w->use[h];
            const char *cname = w->hdr + w->name_off[h];
            if (future && j == 0) {
                row[0] = NAN;
                continue;
            }
            if (future && cell_empty(c, &w->cells[j])) {
                if (!spec_known(sp, j)) {
                    row[j] = NAN;
                    continue;
                }
                return csv_error(c, w->cells[j].line, h + 1, cname,
                                 "empty cell (a known covariate must be given for the rows to forecast too)");
            }
            if ((st = parse_number(c, &w->cells[j], h + 1, cname, &row[j]))) return st;
        }
        rows++;
    }
    if (rows == 0)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: a header line but no rows of data (line %zu is the header)", c->name,
                          hdr_line);
    d->rows = rows;
    d->future = first_future >= 0 ? rows - first_future : 0;
    return RNNC_OK;
}

rnnc_status rnnc_series_parse(const char *text, size_t len, const char *name, const rnnc_series_spec *spec,
                              rnnc_series_data *out) {
    memset(out, 0, sizeof *out);
    rnnc_status st = spec_check(spec);
    if (st) return st;
    csv c = {.s = text, .name = name, .len = len, .pos = 0, .line = 1};
    parse_ws w = {0};
    /* strtod in the C locale whatever the program's: "1.5" is one and a half everywhere */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (cloc == (locale_t)0) return rnnc_error(RNNC_ERR_NOMEM, "%s: no C locale for reading numbers", name);
    locale_t old = uselocale(cloc);
    st = parse_inner(&c, spec, out, &w);
    uselocale(old);
    freelocale(cloc);
    if (!st && !(out->name = strdup(name))) st = rnnc_error(RNNC_ERR_NOMEM, "out of memory for a file name");
    rnnc_bytes_free(&c.buf);
    free(w.name_off);
    free(w.hdr);
    free(w.use);
    free(w.order);
    free(w.cells);
    if (st) rnnc_series_data_free(out);
    return st;
}

rnnc_status rnnc_series_read(const char *path, const rnnc_series_spec *spec, rnnc_series_data *out) {
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    rnnc_status st = rnnc_read_file(path, &buf, &len);
    if (st) return st;
    st = rnnc_series_parse((const char *)buf, len, path, spec, out);
    free(buf);
    return st;
}

/* ---- normalisation ---- */

rnnc_status rnnc_series_make(rnnc_seq_series *out, const rnnc_series_spec *spec, const rnnc_series_data *d,
                             int train_rows, int context, int season) {
    memset(out, 0, sizeof *out);
    rnnc_status st = spec_check(spec);
    if (st) return st;
    if (d->cols != 1 + spec->n_cov)
        return rnnc_error(RNNC_ERR_ARG, "%s: %d columns read, but the spec names %d", d->name, d->cols, 1 + spec->n_cov);
    if (context < 1) return rnnc_error(RNNC_ERR_ARG, "--context %d must be at least 1", context);
    if (season < 0) return rnnc_error(RNNC_ERR_ARG, "--season %d must be 0 (none) or more", season);
    int observed = d->rows - d->future;
    if (train_rows < 1 || train_rows > observed)
        return rnnc_error(RNNC_ERR_ARG, "%s: %d training rows, but the series has %d rows with a target", d->name,
                          train_rows, observed);
    int C = d->cols;
    out->n_cols = C;
    out->context = context;
    out->season = season;
    out->name = calloc((size_t)C, sizeof *out->name);
    out->known = calloc((size_t)C, sizeof *out->known);
    out->mean = calloc((size_t)C, sizeof *out->mean);
    out->std = calloc((size_t)C, sizeof *out->std);
    if (!out->name || !out->known || !out->mean || !out->std) goto nomem;
    for (int c = 0; c < C; c++) {
        if (!(out->name[c] = strdup(spec_col(spec, c)))) goto nomem;
        out->known[c] = spec_known(spec, c);
        /* two passes in double: the mean, then the squared deviations from it */
        double sum = 0, lo = d->v[c], hi = d->v[c];
        for (int r = 0; r < train_rows; r++) {
            double v = d->v[(size_t)r * (size_t)C + (size_t)c];
            sum += v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (lo == hi) { /* constant: exactly its value, and std 1 (no division by 0) */
            out->mean[c] = lo;
            out->std[c] = 1;
            continue;
        }
        double mean = sum / train_rows, ss = 0;
        for (int r = 0; r < train_rows; r++) {
            double e = d->v[(size_t)r * (size_t)C + (size_t)c] - mean;
            ss += e * e;
        }
        out->mean[c] = mean;
        out->std[c] = sqrt(ss / train_rows);
        if (!(out->std[c] > 0)) out->std[c] = 1; /* not reached for lo < hi, kept as a guard */
        /* the std of floats is at most FLT_MAX (half the rows at -FLT_MAX, half at FLT_MAX), but
         * rounding may take it an ulp past, which the model loader would refuse */
        if (out->std[c] > FLT_MAX) out->std[c] = FLT_MAX;
    }
    return RNNC_OK;
nomem:
    rnnc_seq_series_free(out);
    return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the series' columns");
}

/* ---- windows ---- */

rnnc_status rnnc_series_windows(const rnnc_series_data *d, int lo, int hi, int context, int horizon, int *n) {
    *n = 0;
    if (context < 1) return rnnc_error(RNNC_ERR_ARG, "--context %d must be at least 1", context);
    if (horizon < 1) return rnnc_error(RNNC_ERR_ARG, "--horizon %d must be at least 1", horizon);
    int observed = d->rows - d->future;
    if (lo < 0 || hi < lo || hi > observed)
        return rnnc_error(RNNC_ERR_ARG, "%s: rows [%d, %d) are not within the %d rows with a target", d->name, lo, hi,
                          observed);
    long long need = (long long)context + horizon, have = (long long)hi - lo;
    if (have < need) {
        if (lo == 0 && hi == observed)
            return rnnc_error(RNNC_ERR_ARG, "%s: the series has %lld rows%s, too few for --context %d + --horizon %d "
                              "(one window needs %lld rows)", d->name, have, d->future ? " with a target" : "", context,
                              horizon, need);
        return rnnc_error(RNNC_ERR_ARG, "%s: rows %d to %d of the series are %lld rows, too few for --context %d + "
                          "--horizon %d (one window needs %lld rows)", d->name, lo + 1, hi, have, context, horizon, need);
    }
    *n = (int)(have - need + 1);
    return RNNC_OK;
}

/* (v - mean) / std in double; false when that is beyond a float (a value far outside the
 * training rows' range, a column constant there, ...). */
static inline bool norm(const rnnc_seq_series *s, int c, float v, float *out) {
    double z = ((double)v - s->mean[c]) / s->std[c];
    *out = (float)z;
    return fabs(z) <= FLT_MAX;
}

static rnnc_status norm_error(const rnnc_seq_series *s, const rnnc_series_data *d, long long row, int c) {
    char shown[SHOWN_CAP];
    return rnnc_error(RNNC_ERR_NUMERIC, "%s: row %lld: %g in column '%s' normalises to beyond a float (mean %g, std %g)",
                      d->name, row + 1, d->v[(size_t)row * (size_t)d->cols + (size_t)c],
                      show(s->name[c], strlen(s->name[c]), shown), s->mean[c], s->std[c]);
}

/* The mean of the normalised target over the context rows [i, i + T) (they exist and are observed). */
static rnnc_status window_level(const rnnc_seq_series *s, const rnnc_series_data *d, long long i, float *level) {
    double sum = 0;
    for (int t = 0; t < s->context; t++) {
        float v;
        if (!norm(s, 0, d->v[(size_t)(i + t) * (size_t)d->cols], &v)) return norm_error(s, d, i + t, 0);
        sum += v;
    }
    *level = (float)(sum / s->context);
    return RNNC_OK;
}

rnnc_status rnnc_series_fill(const rnnc_seq_series *s, const rnnc_series_data *d, const int *starts, int B,
                             int horizon, float *x, float *known, float *targets) {
    const int T = s->context, F = s->n_cols, N = horizon;
    if (d->cols != F) return rnnc_error(RNNC_ERR_ARG, "%s: %d columns, but the model reads %d", d->name, d->cols, F);
    if (T < 1 || N < 1 || B < 0) return rnnc_error(RNNC_ERR_ARG, "windows of %d + %d rows, %d of them", T, N, B);
    int K = 0;
    for (int c = 0; c < F; c++) K += s->known[c];
    if (K == 0) known = NULL;
    const long long observed = d->rows - d->future;
    for (int b = 0; b < B; b++) {
        long long i = starts[b];
        /* the rows each output reads: x the context, known and targets the horizon */
        long long end_x = i + T, end_h = i + T + N;
        const char *bad = NULL;
        if (i < 0) bad = "starts before the first row";
        else if (x && end_x > observed) bad = "reads rows past the last one with a target as its context";
        else if (known && end_h > d->rows) bad = "needs known covariates past the last row";
        else if (targets && end_h > observed) bad = "predicts rows past the last one with a target";
        if (bad)
            return rnnc_error(RNNC_ERR_RANGE, "%s: window %d (rows %lld to %lld of %d, context %d, horizon %d) %s",
                              d->name, b, i + 1, end_h, d->rows, T, N, bad);
        if (x) {
            for (int t = 0; t < T; t++) {
                const float *row = d->v + (size_t)(i + t) * (size_t)F;
                float *o = x + ((size_t)b * (size_t)T + (size_t)t) * (size_t)F;
                for (int c = 0; c < F; c++)
                    if (!norm(s, c, row[c], &o[c])) return norm_error(s, d, i + t, c);
            }
        }
        float level = 0;
        if (s->relative && (x || targets)) {
            if (end_x > observed)
                return rnnc_error(RNNC_ERR_RANGE, "%s: window %d (rows %lld to %lld of %d) has no level: its context reads rows "
                                  "past the last one with a target", d->name, b, i + 1, end_x, d->rows);
            rnnc_status st = window_level(s, d, i, &level);
            if (st) return st;
            for (int t = 0; x && t < T; t++) x[((size_t)b * (size_t)T + (size_t)t) * (size_t)F] -= level;
        }
        for (int n = 0; n < N && (known || targets); n++) {
            const float *row = d->v + (size_t)(i + T + n) * (size_t)F;
            if (targets && !norm(s, 0, row[0], &targets[(size_t)b * (size_t)N + (size_t)n]))
                return norm_error(s, d, i + T + n, 0);
            if (targets) targets[(size_t)b * (size_t)N + (size_t)n] -= level;
            if (known) {
                float *o = known + ((size_t)b * (size_t)N + (size_t)n) * (size_t)K;
                int k = 0;
                for (int c = 1; c < F; c++)
                    if (s->known[c] && !norm(s, c, row[c], &o[k++])) return norm_error(s, d, i + T + n, c);
            }
        }
    }
    return RNNC_OK;
}

rnnc_status rnnc_series_denorm_windows(const rnnc_seq_series *s, const rnnc_series_data *d, const int *starts, int B,
                                       int horizon, const float *in, float *out) {
    for (int b = 0; b < B; b++) {
        float level = 0;
        if (s->relative) {
            if (starts[b] < 0 || (long long)starts[b] + s->context > d->rows - d->future)
                return rnnc_error(RNNC_ERR_RANGE, "%s: window %d starting at row %d has no context rows to take its level from",
                                  d->name, b, starts[b] + 1);
            rnnc_status st = window_level(s, d, starts[b], &level);
            if (st) return st;
        }
        for (int n = 0; n < horizon; n++) {
            size_t k = (size_t)b * (size_t)horizon + (size_t)n;
            double v = ((double)in[k] + level) * s->std[0] + s->mean[0];
            /* a forecast is never written or scored as Inf or NaN: a model's weights or
             * normalisation gone wrong (or crafted) say so here */
            if (!(fabs(v) <= FLT_MAX))
                return rnnc_error(RNNC_ERR_NUMERIC, "the forecast %d step%s after row %d of %s is %g, beyond a float (the model's "
                                  "output %g, the target's mean %g and std %g)", n + 1, n ? "s" : "", starts[b] + s->context,
                                  d->name, v, (double)in[k], s->mean[0], s->std[0]);
            out[k] = (float)v;
        }
    }
    return RNNC_OK;
}

void rnnc_series_denorm(const rnnc_seq_series *s, const float *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)((double)in[i] * s->std[0] + s->mean[0]);
}

/* ---- the seasonal-naive forecast and the metrics ---- */

rnnc_status rnnc_series_snaive(const rnnc_series_data *d, int origin, int horizon, int season, float *out) {
    int m = season > 0 ? season : 1, observed = d->rows - d->future;
    if (season < 0) return rnnc_error(RNNC_ERR_ARG, "--season %d must be 0 (none) or more", season);
    if (horizon < 1) return rnnc_error(RNNC_ERR_ARG, "--horizon %d must be at least 1", horizon);
    if (origin > observed || origin < m)
        return rnnc_error(RNNC_ERR_RANGE, "%s: the seasonal-naive forecast from row %d needs the %d rows before it "
                          "(season %d) with a target; the series has %d", d->name, origin + 1, m, season, observed);
    int t = origin - 1;
    for (int h = 1; h <= horizon; h++) {
        long long back = (long long)m * (((long long)h + m - 1) / m); /* m * ceil(h/m) >= h: a row already seen */
        out[h - 1] = d->v[(size_t)(t + h - back) * (size_t)d->cols];
    }
    return RNNC_OK;
}

rnnc_status rnnc_series_mase_scale(const rnnc_series_data *d, int train_rows, int season, double *scale) {
    int m = season > 0 ? season : 1, observed = d->rows - d->future;
    *scale = NAN;
    if (season < 0) return rnnc_error(RNNC_ERR_ARG, "--season %d must be 0 (none) or more", season);
    if (train_rows > observed || train_rows <= m)
        return rnnc_error(RNNC_ERR_ARG, "%s: MASE's scale needs more training rows than the season %d (%d rows; the "
                          "series has %d with a target)", d->name, m, train_rows, observed);
    double sum = 0;
    for (int t = m; t < train_rows; t++)
        sum += fabs((double)d->v[(size_t)t * (size_t)d->cols] - (double)d->v[(size_t)(t - m) * (size_t)d->cols]);
    *scale = sum / (train_rows - m);
    return RNNC_OK;
}

void rnnc_series_acc_init(rnnc_series_acc *a, double scale) {
    memset(a, 0, sizeof *a);
    a->scale = scale;
}

void rnnc_series_acc_add(rnnc_series_acc *a, const float *y, const float *f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double e = (double)y[i] - (double)f[i], den = fabs((double)y[i]) + fabs((double)f[i]);
        a->sum_abs += fabs(e);
        a->sum_sq += e * e;
        if (den > 0) a->sum_smape += 200.0 * fabs(e) / den;
        else if (den != 0) a->sum_smape = NAN; /* a NaN forecast */
    }
    a->n += n;
}

rnnc_status rnnc_series_acc_finish(const rnnc_series_acc *a, rnnc_series_metrics *out) {
    memset(out, 0, sizeof *out);
    if (a->n == 0) return rnnc_error(RNNC_ERR_ARG, "no forecasts to score (zero windows)");
    if (!isfinite(a->sum_abs) || !isfinite(a->sum_sq) || !isfinite(a->sum_smape))
        return rnnc_error(RNNC_ERR_NUMERIC, "a forecast is NaN or Inf (or so far off that its error overflows)");
    out->n = a->n;
    out->mae = a->sum_abs / (double)a->n;
    out->rmse = sqrt(a->sum_sq / (double)a->n);
    out->smape = a->sum_smape / (double)a->n;
    out->mase = a->scale > 0 ? out->mae / a->scale : NAN;
    return RNNC_OK;
}
