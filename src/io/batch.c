/* Stream batching for truncated BPTT and the whitespace-separated id file format. */
#include <ctype.h>
#include <stdlib.h>

#include "rnnc/batch.h"
#include "rnnc/io.h"

rnnc_status rnnc_stream_init(rnnc_stream *s, const int32_t *ids, size_t len, int B, int T) {
    if (B < 1 || T < 1) return rnnc_error(RNNC_ERR_ARG, "batch %d and seq %d must both be at least 1", B, T);
    size_t n = len / (size_t)B;
    if (n < (size_t)T + 1)
        return rnnc_error(RNNC_ERR_ARG, "batch %d x seq %d needs at least %zu ids (batch x (seq+1)), only %zu given",
                          B, T, (size_t)B * ((size_t)T + 1), len);
    s->ids = ids;
    s->len = len;
    s->B = B;
    s->T = T;
    s->n = n;
    s->windows = (n - 1) / (size_t)T; /* largest k with kT + T < n, plus one */
    return RNNC_OK;
}

void rnnc_stream_window(const rnnc_stream *s, size_t k, int *x, int *y) {
    const size_t T = (size_t)s->T;
    for (int b = 0; b < s->B; b++) {
        const int32_t *src = s->ids + (size_t)b * s->n + k * T;
        for (size_t t = 0; t < T; t++) {
            x[(size_t)b * T + t] = src[t];
            y[(size_t)b * T + t] = src[t + 1];
        }
    }
}

rnnc_status rnnc_ids_read_text(const char *path, int32_t **ids, size_t *len) {
    unsigned char *data;
    size_t n;
    rnnc_status s = rnnc_read_file(path, &data, &n);
    if (s) return s;
    size_t cap = 1024, cnt = 0;
    int32_t *out = malloc(cap * sizeof *out);
    if (!out) { free(data); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); }
    size_t i = 0;
    while (i < n) {
        if (isspace(data[i])) { i++; continue; }
        size_t start = i;
        long long v = 0;
        int bad = 0;
        while (i < n && !isspace(data[i])) {
            if (!isdigit(data[i])) bad = 1;
            else if (!bad) { v = v * 10 + (data[i] - '0'); if (v > INT32_MAX) bad = 2; }
            i++;
        }
        if (bad) {
            int w = (int)(i - start > 20 ? 20 : i - start);
            rnnc_status e = rnnc_error(RNNC_ERR_FORMAT, "%s: token %zu ('%.*s') is not %s", path, cnt, w,
                                       (const char *)data + start, bad == 2 ? "an id below 2^31" : "a non-negative integer id");
            free(out); free(data);
            return e;
        }
        if (cnt == cap) {
            int32_t *g = realloc(out, 2 * cap * sizeof *out);
            if (!g) { free(out); free(data); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); }
            out = g;
            cap *= 2;
        }
        out[cnt++] = (int32_t)v;
    }
    free(data);
    *ids = out;
    *len = cnt;
    return RNNC_OK;
}

rnnc_status rnnc_ids_check_vocab(const int32_t *ids, size_t len, int V, const char *what) {
    for (size_t i = 0; i < len; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return rnnc_error(RNNC_ERR_RANGE, "%s: id %d at position %zu is outside the vocabulary of %d (ids 0..%d)",
                              what, (int)ids[i], i, V, V - 1);
    return RNNC_OK;
}
