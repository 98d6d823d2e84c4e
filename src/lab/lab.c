/* rnnc lab — the registry of labs and the helpers they share: tables, files (JSON, CSV, SVG, all
 * written atomically into the lab's directory), data paths and the verdict line. */
#include "lab/lab.h"

#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "rnnc/io.h"
#include "rnnc/plot.h"

/* ---- the registry, in the order of the seed's sections ---- */

/* Each lab's run function lives in its own file, src/lab/lab_<name>.c. */
rnnc_status rnnc_lab_tokens_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_embeddings_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_vanishing_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_memory_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_params_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_bidirectional_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_stacking_run(const rnnc_lab_ctx *c);
rnnc_status rnnc_lab_teacher_forcing_run(const rnnc_lab_ctx *c);

const rnnc_lab rnnc_labs[] = {
    {"tokens", "|V| against sequence length L for char, BPE and word tokenizers; one LSTM trained for equal time on three",
     "as |V| grows, L shrinks, and in an RNN a smaller L trains faster", rnnc_lab_tokens_run},
    {"embeddings", "neighbour purity of a word-level LM's vectors for known word categories, against random vectors",
     "embeddings put similar words near each other by cosine similarity", rnnc_lab_embeddings_run},
    {"vanishing", "the gradient norm |dloss/dh| k steps before the loss, per cell, at initialisation and trained",
     "an Elman network's gradient vanishes on its way back to x1 (vanishing gradients)", rnnc_lab_vanishing_run},
    {"memory", "the adding problem at T = 25..200: which cells carry a number across T steps",
     "an Elman network forgets x1 by the time it reaches the output; LSTM's gates fix that", rnnc_lab_memory_run},
    {"params", "parameter counts of Elman, LSTM and GRU, by formula and from model files",
     "LSTM has 4x the parameters of a simple RNN, GRU 3x", rnnc_lab_params_run},
    {"bidirectional", "left-to-right against bidirectional LSTM taggers of equal size and budget",
     "a bidirectional RNN carries information from both ends of the sequence", rnnc_lab_bidirectional_run},
    {"stacking", "time per step against window length, and held-out bits per byte, for 1, 2 and 3 stacked layers",
     "stacking keeps the forward pass O(L), and the gain from more layers is not dramatic", rnnc_lab_stacking_run},
    {"teacher-forcing", "G2P decoders trained with teacher forcing, scheduled sampling and free running",
     "teacher forcing (feeding the gold previous token) trains the decoder", rnnc_lab_teacher_forcing_run},
};
const int rnnc_lab_count = (int)(sizeof rnnc_labs / sizeof rnnc_labs[0]);

const rnnc_lab *rnnc_lab_find(const char *name) {
    for (int i = 0; i < rnnc_lab_count; i++)
        if (strcmp(rnnc_labs[i].name, name) == 0) return &rnnc_labs[i];
    return NULL;
}

/* ---- output ---- */

/* Display columns of a UTF-8 string: one per character (the table holds no wide characters). */
static int cols(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Whether a cell reads as a number ("12", "-0.5", "3.2e-4", "12.3%", "4.00x", "1.2M"): those are
 * right-aligned. */
static bool numeric(const char *s) {
    if (!*s) return false;
    char *end;
    strtod(s, &end);
    if (end == s) return false;
    return strspn(end, "%xkMGs") == strlen(end);
}

void rnnc_lab_table(const rnnc_lab_ctx *c, const char *title, int ncol, const char *const *head, int nrow,
                    const char *const *cells) {
    FILE *f = c->out;
    if (ncol <= 0) return;
    int *w = calloc((size_t)ncol, sizeof *w);
    if (!w) return;
    for (int j = 0; j < ncol; j++) w[j] = cols(head[j]);
    for (int i = 0; i < nrow; i++)
        for (int j = 0; j < ncol; j++) {
            const char *s = cells[(size_t)i * ncol + j] ? cells[(size_t)i * ncol + j] : "?";
            if (cols(s) > w[j]) w[j] = cols(s);
        }
    if (title && *title) fprintf(f, "\n%s\n", title);
    /* the header aligned as its column's first row is */
    for (int j = 0; j < ncol; j++) {
        bool right = j > 0 && nrow > 0 && cells[j] && numeric(cells[j]);
        int pad = w[j] - cols(head[j]);
        fprintf(f, "%s%*s%s%*s", j ? "  " : "", right ? pad : 0, "", head[j], right || j == ncol - 1 ? 0 : pad, "");
    }
    fputc('\n', f);
    for (int i = 0; i < nrow; i++) {
        for (int j = 0; j < ncol; j++) {
            const char *s = cells[(size_t)i * ncol + j] ? cells[(size_t)i * ncol + j] : "?";
            bool right = j > 0 && numeric(s);
            int pad = w[j] - cols(s);
            fprintf(f, "%s%*s%s%*s", j ? "  " : "", right ? pad : 0, "", s, right || j == ncol - 1 ? 0 : pad, "");
        }
        fputc('\n', f);
    }
    fflush(f);
    free(w);
}

char *rnnc_lab_path(const rnnc_lab_ctx *c, const char *file) {
    size_t n = strlen(c->out_dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", c->out_dir, file);
    return p;
}

static rnnc_status write_file(const rnnc_lab_ctx *c, const char *file, const void *data, size_t n) {
    char *p = rnnc_lab_path(c, file);
    if (!p) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    rnnc_status s = rnnc_write_file_atomic(p, data, n);
    free(p);
    return s;
}

rnnc_status rnnc_lab_write_json(const rnnc_lab_ctx *c, const char *file, const char *json) {
    /* a lab's JSON is checked before it is written: a malformed file is a bug to hear about */
    cJSON *j = cJSON_Parse(json);
    if (!j) return rnnc_error(RNNC_ERR_FORMAT, "%s/%s: the lab made malformed JSON", c->out_dir, file);
    cJSON_Delete(j);
    size_t n = strlen(json);
    rnnc_status s;
    if (n && json[n - 1] == '\n') return write_file(c, file, json, n);
    char *t = malloc(n + 2);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    memcpy(t, json, n);
    t[n] = '\n';
    s = write_file(c, file, t, n + 1);
    free(t);
    return s;
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
static rnnc_status csv_field(rnnc_bytes *b, const char *s) {
    if (!s) s = "";
    if (!strpbrk(s, ",\"\r\n")) return rnnc_bytes_append(b, s, strlen(s));
    rnnc_status st = rnnc_bytes_append(b, "\"", 1);
    for (const char *p = s; !st && *p; p++) st = *p == '"' ? rnnc_bytes_append(b, "\"\"", 2) : rnnc_bytes_append(b, p, 1);
    return st ? st : rnnc_bytes_append(b, "\"", 1);
}

rnnc_status rnnc_lab_write_csv(const rnnc_lab_ctx *c, const char *file, int ncol, const char *const *head, int nrow,
                               const char *const *cells) {
    rnnc_bytes b = {0};
    rnnc_status s = RNNC_OK;
    for (int i = -1; !s && i < nrow; i++) {
        for (int j = 0; !s && j < ncol; j++) {
            if (j) s = rnnc_bytes_append(&b, ",", 1);
            if (!s) s = csv_field(&b, i < 0 ? head[j] : cells[(size_t)i * ncol + j]);
        }
        if (!s) s = rnnc_bytes_append(&b, "\n", 1);
    }
    if (!s) s = write_file(c, file, b.data, b.len);
    rnnc_bytes_free(&b);
    return s;
}

rnnc_status rnnc_lab_write_svg(const rnnc_lab_ctx *c, const char *file, const char *svg, size_t n) {
    if (n < 5 || memcmp(svg, "<", 1) != 0) return rnnc_error(RNNC_ERR_FORMAT, "%s/%s: not an SVG document", c->out_dir, file);
    return write_file(c, file, svg, n);
}

rnnc_status rnnc_lab_plot(const rnnc_lab_ctx *c, const char *file, const rnnc_plot_opts *o, const rnnc_plot_series *s,
                          size_t n) {
    rnnc_bytes b = {0};
    rnnc_status st = rnnc_plot_svg(&b, o, s, n);
    if (!st) st = rnnc_lab_write_svg(c, file, (const char *)b.data, b.len);
    rnnc_bytes_free(&b);
    return st;
}

/* The last line: "verdict: <what>. <why>". */
static void verdict(const rnnc_lab_ctx *c, const char *what, const char *fmt, va_list ap) {
    fprintf(c->out, "\nverdict: %s. ", what);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    fflush(c->out);
}

void rnnc_lab_verdict(const rnnc_lab_ctx *c, bool held, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict(c, held ? "the seed's claim held" : "the seed's claim did NOT hold", fmt, ap);
    va_end(ap);
}

void rnnc_lab_verdict_inconclusive(const rnnc_lab_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict(c, "inconclusive", fmt, ap);
    va_end(ap);
}

void rnnc_lab_note(const rnnc_lab_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
    fflush(c->out);
}

/* ---- data, time, cells ---- */

const char *rnnc_lab_data(const char *rel, char *buf, size_t n) {
    const char *root = getenv("RNNC_DATA");
    if (!root || !*root) root = "data";
    if ((size_t)snprintf(buf, n, "%s/%s", root, rel) >= n) return NULL;
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return NULL;
    return buf;
}

const char *rnnc_lab_data_why(const char *path) {
    static _Thread_local char why[160];
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return "is missing";
        snprintf(why, sizeof why, "cannot be read (%s)", strerror(errno)); /* EACCES, ENOTDIR: not "missing" */
        return why;
    }
    return !S_ISREG(st.st_mode) ? "is not a regular file" : "is empty";
}

double rnnc_lab_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rnnc_lab_cell(rnnc_lab_cells *t, const char *fmt, ...) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        char **s = realloc(t->s, (size_t)cap * sizeof *s);
        if (!s) { t->failed = true; return; }
        t->s = s;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (p) {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)len + 1, fmt, ap);
        va_end(ap);
    } else {
        t->failed = true;
    }
    t->s[t->n++] = p;
}

void rnnc_lab_cells_free(rnnc_lab_cells *t) {
    for (int i = 0; i < t->n; i++) free(t->s[i]);
    free(t->s);
    memset(t, 0, sizeof *t);
}
