/* Stream batching for truncated BPTT and the id files: whitespace-separated decimal ids, or NumPy .npy. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Whitespace-separated decimal ids. */
static rnnc_status parse_text(const unsigned char *data, size_t n, const char *path, int32_t **ids, size_t *len) {
    size_t cap = 1024, cnt = 0;
    int32_t *out = malloc(cap * sizeof *out);
    if (!out) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
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
            free(out);
            return e;
        }
        if (cnt == cap) {
            int32_t *g = realloc(out, 2 * cap * sizeof *out);
            if (!g) { free(out); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); }
            out = g;
            cap *= 2;
        }
        out[cnt++] = (int32_t)v;
    }
    *ids = out;
    *len = cnt;
    return RNNC_OK;
}

/* ---- .npy (NumPy's format: magic, version, header length, a Python dict literal, the data) ---- */

static const unsigned char *npy_ws(const unsigned char *p, const unsigned char *e) {
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    return p;
}

/* A quoted Python string without escapes into buf (at most cap - 1 bytes); NULL if not one. */
static const unsigned char *npy_str(const unsigned char *p, const unsigned char *e, char *buf, size_t cap) {
    if (p >= e || (*p != '\'' && *p != '"')) return NULL;
    unsigned char q = *p++;
    size_t k = 0;
    while (p < e && *p != q) {
        if (*p == '\\' || *p < 0x20 || *p > 0x7E || k + 1 >= cap) return NULL;
        buf[k++] = (char)*p++;
    }
    if (p >= e) return NULL;
    buf[k] = 0;
    return p + 1;
}

/* Reads the header of a .npy image: the data's offset, element count and signedness. The rules
 * are those of what NumPy writes for a 1-D array: {'descr': '<u4' or '<i4', 'fortran_order':
 * False or True, 'shape': (N,)}, keys in any order, each once, a trailing comma allowed, then
 * spaces and a newline up to the declared length. */
static rnnc_status npy_header(const unsigned char *d, size_t n, const char *path, size_t *data_off, size_t *count,
                              int *is_signed) {
    if (n < 10) return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy file too short for its header", path);
    unsigned major = d[6], minor = d[7];
    size_t hl, at;
    if (major == 1 && minor == 0) { hl = (size_t)d[8] | (size_t)d[9] << 8; at = 10; }
    else if (major == 2 && minor == 0) {
        if (n < 12) return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy file too short for its header", path);
        hl = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24;
        at = 12;
    } else
        return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy format version %u.%u; only 1.0 and 2.0 are read", path, major, minor);
    if (hl > n - at) return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header of %zu bytes runs past the end of the file", path, hl);
    const unsigned char *p = d + at, *e = d + at + hl;
    if (hl == 0 || e[-1] != '\n') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header does not end with a newline", path);
    e--;
    int have_descr = 0, have_order = 0, have_shape = 0;
    unsigned long long cnt = 0;
    p = npy_ws(p, e);
    if (p >= e || *p++ != '{') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header is not a dict", path);
    for (;;) {
        p = npy_ws(p, e);
        if (p < e && *p == '}') { p++; break; }
        char key[32], val[32];
        if (!(p = npy_str(p, e, key, sizeof key))) return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: expected a quoted key", path);
        p = npy_ws(p, e);
        if (p >= e || *p++ != ':') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: expected ':' after '%s'", path, key);
        p = npy_ws(p, e);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            have_descr = 1;
            if (!(p = npy_str(p, e, val, sizeof val)) || (strcmp(val, "<u4") && strcmp(val, "<i4")))
                return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy dtype must be '<u4' or '<i4' (32-bit little-endian integers)", path);
            *is_signed = val[1] == 'i';
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            have_order = 1;
            if ((size_t)(e - p) >= 4 && memcmp(p, "True", 4) == 0) p += 4;
            else if ((size_t)(e - p) >= 5 && memcmp(p, "False", 5) == 0) p += 5;
            else return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: fortran_order must be True or False", path);
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            have_shape = 1;
            if (p >= e || *p++ != '(') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: shape must be a tuple", path);
            p = npy_ws(p, e);
            const unsigned char *digits = p;
            while (p < e && *p >= '0' && *p <= '9' && p - digits < 19) cnt = cnt * 10 + (unsigned)(*p++ - '0');
            p = npy_ws(p, e);
            if (p == digits || p >= e || *p++ != ',') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy shape must be one dimension, (N,)", path);
            p = npy_ws(p, e);
            if (p >= e || *p++ != ')') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy shape must be one dimension, (N,)", path);
        } else
            return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: unexpected or repeated key '%s'", path, key);
        p = npy_ws(p, e);
        if (p < e && *p == ',') p++;
        else if (p >= e || *p != '}') return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: expected ',' or '}'", path);
    }
    while (p < e && *p == ' ') p++;
    if (p != e) return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header: unexpected bytes after the dict", path);
    if (!have_descr || !have_order || !have_shape)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header lacks '%s'", path, !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    size_t off = at + hl, data = n - off;
    if (data % 4 || cnt != data / 4)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: .npy header says %llu ids (%llu bytes) but %zu bytes follow it", path, cnt,
                          cnt * 4ULL, data);
    *data_off = off;
    *count = (size_t)cnt;
    return RNNC_OK;
}

static rnnc_status parse_npy(const unsigned char *d, size_t n, const char *path, int32_t **ids, size_t *len) {
    size_t off = 0, cnt = 0;
    int sgn = 0;
    rnnc_status s = npy_header(d, n, path, &off, &cnt, &sgn);
    if (s) return s;
    int32_t *out = malloc((cnt ? cnt : 1) * sizeof *out);
    if (!out) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for %zu ids", path, cnt);
    const unsigned char *p = d + off;
    for (size_t i = 0; i < cnt; i++, p += 4) {
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (v > INT32_MAX) {
            free(out);
            if (sgn) return rnnc_error(RNNC_ERR_FORMAT, "%s: id %lld at position %zu is negative", path, (long long)v - 4294967296LL, i);
            return rnnc_error(RNNC_ERR_FORMAT, "%s: id %u at position %zu is not below 2^31", path, v, i);
        }
        out[i] = (int32_t)v;
    }
    *ids = out;
    *len = cnt;
    return RNNC_OK;
}

rnnc_status rnnc_ids_parse(const unsigned char *data, size_t n, const char *name, int32_t **ids, size_t *len) {
    *ids = NULL;
    *len = 0;
    if (n >= 6 && memcmp(data, RNNC_NPY_MAGIC, 6) == 0) return parse_npy(data, n, name, ids, len);
    return parse_text(data, n, name, ids, len);
}

rnnc_status rnnc_ids_read(const char *path, int32_t **ids, size_t *len) {
    unsigned char *data;
    size_t n;
    *ids = NULL;
    *len = 0;
    rnnc_status s = rnnc_read_file(path, &data, &n);
    if (s) return s;
    s = rnnc_ids_parse(data, n, rnnc_path_label(path), ids, len);
    free(data);
    return s;
}

rnnc_status rnnc_ids_read_text(const char *path, int32_t **ids, size_t *len) { return rnnc_ids_read(path, ids, len); }

size_t rnnc_ids_npy_header(uint64_t n, unsigned char out[RNNC_NPY_HEADER_MAX]) {
    char dict[96];
    int k = snprintf(dict, sizeof dict, "{'descr': '<u4', 'fortran_order': False, 'shape': (%llu,), }", (unsigned long long)n);
    size_t total = 10 + (size_t)k + 1;
    total = (total + 63) / 64 * 64; /* NumPy aligns the data to 64 bytes */
    size_t hl = total - 10;
    memcpy(out, RNNC_NPY_MAGIC, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (unsigned char)(hl & 0xFF);
    out[9] = (unsigned char)(hl >> 8);
    memcpy(out + 10, dict, (size_t)k);
    memset(out + 10 + k, ' ', hl - (size_t)k - 1);
    out[total - 1] = '\n';
    return total;
}

rnnc_status rnnc_ids_check_vocab(const int32_t *ids, size_t len, int V, const char *what) {
    for (size_t i = 0; i < len; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return rnnc_error(RNNC_ERR_RANGE, "%s: id %d at position %zu is outside the vocabulary of %d (ids 0..%d)",
                              what, (int)ids[i], i, V, V - 1);
    return RNNC_OK;
}
