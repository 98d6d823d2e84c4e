/* Cosine nearest neighbours over an embedding matrix, and the Embedding Projector export; see
 * include/rnnc/similar.h. Sums are in double: with D in the hundreds float dot products lose
 * enough digits to reorder near-ties between runs with different vector lengths. */
#include "rnnc/similar.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rnnc/io.h"
#include "rnnc/utf8.h"

static double dot_d(const float *x, const float *y, size_t D) {
    double s = 0;
    for (size_t j = 0; j < D; j++) s += (double)x[j] * (double)y[j];
    return s;
}

float rnnc_cosine(const float *x, const float *y, size_t D) {
    double nx = dot_d(x, x, D), ny = dot_d(y, y, D);
    if (nx == 0 || ny == 0) return 0;
    return (float)(dot_d(x, y, D) / (sqrt(nx) * sqrt(ny)));
}

/* Inserts (id, sim) into the sorted list out[0, *n) of capacity k, best first, ties to lower id.
 * Ids arrive in increasing order, so an equal sim never displaces an earlier one. */
static void keep_best(rnnc_neighbor *out, size_t *n, size_t k, uint32_t id, float sim) {
    if (*n == k && !(sim > out[k - 1].sim)) return;
    size_t j = *n < k ? (*n)++ : k - 1;
    while (j > 0 && sim > out[j - 1].sim) { out[j] = out[j - 1]; j--; }
    out[j].id = id;
    out[j].sim = sim;
}

static int excluded(uint32_t id, const uint32_t *ex, size_t n) {
    for (size_t i = 0; i < n; i++) if (ex[i] == id) return 1;
    return 0;
}

/* The neighbours of q among the rows not excluded, not below first_id and not marked in skip. */
static rnnc_status similar_vec(const float *E, size_t V, size_t D, const float *q, const uint32_t *exclude,
                               size_t n_exclude, uint32_t first_id, const unsigned char *skip, size_t k,
                               rnnc_neighbor *out, size_t *n_out) {
    *n_out = 0;
    if (V == 0 || D == 0) return rnnc_error(RNNC_ERR_ARG, "similar: empty embedding matrix (%zu x %zu)", V, D);
    if (k == 0) return rnnc_error(RNNC_ERR_ARG, "similar: k must be at least 1");
    double qn = sqrt(dot_d(q, q, D));
    if (!isfinite(qn)) return rnnc_error(RNNC_ERR_NUMERIC, "similar: query vector is not finite");
    if (qn == 0) return rnnc_error(RNNC_ERR_ARG, "similar: query vector is zero, so it has no direction");
    size_t n = 0;
    for (size_t i = first_id; i < V; i++) {
        if (skip && skip[i]) continue;
        const float *e = E + i * D;
        double en = sqrt(dot_d(e, e, D));
        if (!isfinite(en)) return rnnc_error(RNNC_ERR_NUMERIC, "similar: embedding row %zu is not finite", i);
        if (en == 0 || excluded((uint32_t)i, exclude, n_exclude)) continue;
        double c = dot_d(q, e, D) / (qn * en);
        if (c > 1) c = 1; /* rounding */
        if (c < -1) c = -1;
        keep_best(out, &n, k, (uint32_t)i, (float)c);
    }
    *n_out = n;
    return RNNC_OK;
}

rnnc_status rnnc_similar_vec(const float *E, size_t V, size_t D, const float *q,
                             const uint32_t *exclude, size_t n_exclude, uint32_t first_id, size_t k,
                             rnnc_neighbor *out, size_t *n_out) {
    return similar_vec(E, V, D, q, exclude, n_exclude, first_id, NULL, k, out, n_out);
}

rnnc_status rnnc_similar_row(const float *E, size_t V, size_t D, uint32_t query, size_t k,
                             rnnc_neighbor *out, size_t *n_out) {
    *n_out = 0;
    if (query >= V) return rnnc_error(RNNC_ERR_RANGE, "similar: token id %u outside the vocabulary (%zu)", query, V);
    if (dot_d(E + (size_t)query * D, E + (size_t)query * D, D) == 0)
        return rnnc_error(RNNC_ERR_ARG, "similar: the vector of token %u is zero, so it has no direction", query);
    return rnnc_similar_vec(E, V, D, E + (size_t)query * D, &query, 1, 0, k, out, n_out);
}

static rnnc_status similar_terms(const float *E, size_t V, size_t D, const uint32_t *ids, const int *signs,
                                 size_t n_terms, uint32_t first_id, const unsigned char *skip, size_t k,
                                 rnnc_neighbor *out, size_t *n_out) {
    *n_out = 0;
    if (n_terms == 0) return rnnc_error(RNNC_ERR_ARG, "similar: no query terms");
    float *q = calloc(D ? D : 1, sizeof *q);
    if (!q) return rnnc_error(RNNC_ERR_NOMEM, "similar: out of memory");
    rnnc_status s = RNNC_OK;
    for (size_t t = 0; t < n_terms && !s; t++) {
        if (ids[t] >= V) { s = rnnc_error(RNNC_ERR_RANGE, "similar: token id %u outside the vocabulary (%zu)", ids[t], V); break; }
        if (signs[t] != 1 && signs[t] != -1) { s = rnnc_error(RNNC_ERR_ARG, "similar: sign of term %zu must be +1 or -1", t); break; }
        if (skip && skip[ids[t]]) {
            s = rnnc_error(RNNC_ERR_ARG, "similar: token %u never occurred in training, so its vector is still the "
                           "initial one and its neighbours would be noise", ids[t]);
            break;
        }
        const float *e = E + (size_t)ids[t] * D;
        double nrm = sqrt(dot_d(e, e, D));
        if (!isfinite(nrm)) { s = rnnc_error(RNNC_ERR_NUMERIC, "similar: embedding row %u is not finite", ids[t]); break; }
        if (nrm == 0) { s = rnnc_error(RNNC_ERR_ARG, "similar: the vector of token %u is zero, so it has no direction", ids[t]); break; }
        /* unit vectors, so that no term dominates by its length */
        for (size_t j = 0; j < D; j++) q[j] += (float)(signs[t] * e[j] / nrm);
    }
    if (!s) s = similar_vec(E, V, D, q, ids, n_terms, first_id, skip, k, out, n_out);
    free(q);
    return s;
}

rnnc_status rnnc_similar_terms(const float *E, size_t V, size_t D, const uint32_t *ids, const int *signs,
                               size_t n_terms, uint32_t first_id, size_t k, rnnc_neighbor *out, size_t *n_out) {
    return similar_terms(E, V, D, ids, signs, n_terms, first_id, NULL, k, out, n_out);
}

rnnc_status rnnc_similar_terms_skip(const float *E, size_t V, size_t D, const uint32_t *ids, const int *signs,
                                    size_t n_terms, const unsigned char *skip, size_t k, rnnc_neighbor *out,
                                    size_t *n_out) {
    return similar_terms(E, V, D, ids, signs, n_terms, 0, skip, k, out, n_out);
}

/* ---- "rnnc.unseen_ids" ---- */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* A plain decimal id: digits, no leading zero, at most 19 of them. */
static int parse_id(const char **pp, uint64_t *out) {
    const char *p = *pp;
    if (*p < '0' || *p > '9') return 0;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9') return 0;
    uint64_t v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        if (++n > 19) return 0;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    *pp = p;
    *out = v;
    return 1;
}

/* Checks the value; marks its ids in skip when skip is not NULL. */
static rnnc_status unseen_scan(const char *json, size_t V, unsigned char *skip) {
    const char *key = RNNC_UNSEEN_IDS_KEY;
    if (!json) return rnnc_error(RNNC_ERR_FORMAT, "metadata %s: no value", key);
    const char *p = skip_ws(json);
#define BAD(what) return rnnc_error(RNNC_ERR_FORMAT, "metadata %s: %s at byte %zu (expected a JSON array of " \
                                    "[first, last] id ranges such as [[0,3],[17,17]])", key, what, (size_t)(p - json))
    if (*p != '[') BAD("no '['");
    p = skip_ws(p + 1);
    uint64_t prev_last = 0;
    size_t n = 0;
    if (*p == ']') p++;
    else for (;;) {
        uint64_t r[2];
        if (*p != '[') BAD("no '[' opening a range");
        p = skip_ws(p + 1);
        if (!parse_id(&p, &r[0])) BAD("not a plain non-negative integer");
        p = skip_ws(p);
        if (*p != ',') BAD("no ',' between a range's ids");
        p = skip_ws(p + 1);
        if (!parse_id(&p, &r[1])) BAD("not a plain non-negative integer");
        p = skip_ws(p);
        if (*p != ']') BAD("no ']' closing a range of two ids");
        p = skip_ws(p + 1);
        if (r[0] > r[1])
            return rnnc_error(RNNC_ERR_FORMAT, "metadata %s: range %zu is [%llu, %llu]: its first id is above its last",
                              key, n + 1, (unsigned long long)r[0], (unsigned long long)r[1]);
        if (r[1] >= V)
            return rnnc_error(RNNC_ERR_FORMAT, "metadata %s: range %zu [%llu, %llu] is outside the vocabulary of %zu ids",
                              key, n + 1, (unsigned long long)r[0], (unsigned long long)r[1], V);
        if (n > 0 && r[0] <= prev_last)
            return rnnc_error(RNNC_ERR_FORMAT, "metadata %s: range %zu [%llu, %llu] does not start after the one "
                              "before it (which ends at %llu): ranges go in increasing order without overlap",
                              key, n + 1, (unsigned long long)r[0], (unsigned long long)r[1],
                              (unsigned long long)prev_last);
        prev_last = r[1];
        n++;
        if (skip) memset(skip + r[0], 1, (size_t)(r[1] - r[0] + 1));
        if (*p == ',') { p = skip_ws(p + 1); continue; }
        if (*p == ']') { p++; break; }
        BAD("no ',' or ']' after a range");
    }
    p = skip_ws(p);
    if (*p) BAD("text after the array");
#undef BAD
    return RNNC_OK;
}

rnnc_status rnnc_unseen_ids_parse(const char *json, size_t V, unsigned char *skip) {
    /* checked whole before marking, so a malformed value leaves skip as it was */
    rnnc_status s = unseen_scan(json, V, NULL);
    return s ? s : unseen_scan(json, V, skip);
}

rnnc_status rnnc_unseen_ids_format(const unsigned char *seen, size_t V, char **json) {
    *json = NULL;
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    if (!s) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", RNNC_UNSEEN_IDS_KEY);
    s[len++] = '[';
    for (size_t i = 0; i < V;) {
        if (seen[i]) { i++; continue; }
        size_t j = i;
        while (j + 1 < V && !seen[j + 1]) j++;
        if (cap - len < 48) {
            char *ns = realloc(s, cap * 2);
            if (!ns) { free(s); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", RNNC_UNSEEN_IDS_KEY); }
            s = ns;
            cap *= 2;
        }
        len += (size_t)snprintf(s + len, cap - len, "%s[%zu,%zu]", len > 1 ? "," : "", i, j);
        i = j + 1;
    }
    s[len++] = ']';
    s[len] = 0;
    *json = s;
    return RNNC_OK;
}

rnnc_status rnnc_similar_analogy(const float *E, size_t V, size_t D, uint32_t a, uint32_t b, uint32_t c,
                                 size_t k, rnnc_neighbor *out, size_t *n_out) {
    const uint32_t ids[3] = {b, a, c};
    const int signs[3] = {1, -1, 1};
    return rnnc_similar_terms(E, V, D, ids, signs, 3, 0, k, out, n_out);
}

size_t rnnc_projector_escape(const char *s, size_t n, char *out, size_t cap) {
    size_t len = 0;
#define PUT(ch) do { if (len + 1 < cap) out[len] = (char)(ch); len++; } while (0)
    if (n == 0) {
        for (const char *e = "\\(empty)"; *e; e++) PUT(*e);
    }
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char ch = u[i];
        if (ch >= 0x80) {
            uint32_t cp;
            int m = rnnc_utf8_decode(u + i, n - i, &cp);
            if (m > 0) {
                for (int t = 0; t < m; t++) PUT(u[i + t]);
                i += (size_t)m;
                continue;
            }
        }
        i++;
        if (ch == '\\') { PUT('\\'); PUT('\\'); }
        else if (ch == '\t') { PUT('\\'); PUT('t'); }
        else if (ch == '\n') { PUT('\\'); PUT('n'); }
        else if (ch == '\r') { PUT('\\'); PUT('r'); }
        else if (ch < 0x20 || ch >= 0x7f) {
            static const char hex[] = "0123456789ABCDEF";
            PUT('\\'); PUT('x'); PUT(hex[ch >> 4]); PUT(hex[ch & 15]);
        } else PUT(ch);
    }
#undef PUT
    if (cap) out[len < cap ? len : cap - 1] = 0;
    return len;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

rnnc_status rnnc_projector_unescape(const char *s, char *out, size_t *n) {
    *n = 0;
    if (strcmp(s, "\\(empty)") == 0) return RNNC_OK;
    size_t len = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] != '\\') { out[len++] = s[i++]; continue; }
        char e = s[i + 1];
        if (e == '\\') out[len++] = '\\';
        else if (e == 't') out[len++] = '\t';
        else if (e == 'n') out[len++] = '\n';
        else if (e == 'r') out[len++] = '\r';
        else if (e == 'x' && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
            out[len++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
            i += 2;
        } else return rnnc_error(RNNC_ERR_FORMAT, "label '%s': bad escape at byte %zu", s, i);
        i += 2;
    }
    *n = len;
    return RNNC_OK;
}

static rnnc_status make_dir(const char *dir) {
    if (mkdir(dir, 0777) == 0) return RNNC_OK;
    struct stat st;
    if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return RNNC_OK;
    return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot create directory", dir);
}

/* The two files are written into open atomic files af, committed together by the caller. */
static rnnc_status write_vectors(rnnc_atomic_file *af, const char *path, const float *E, size_t V, size_t D) {
    for (size_t i = 0; i < V; i++) {
        for (size_t j = 0; j < D; j++) {
            float x = E[i * D + j];
            if (!isfinite(x)) return rnnc_error(RNNC_ERR_NUMERIC, "%s: embedding row %zu column %zu is not finite", path, i, j);
            fprintf(af->fp, j ? "\t%.9g" : "%.9g", (double)x); /* 9 digits: exact float round trip */
        }
        fputc('\n', af->fp);
    }
    return RNNC_OK;
}

static rnnc_status write_metadata(rnnc_atomic_file *af, const char *path, size_t V, const char *const *labels, const size_t *lens) {
    size_t cap = 256;
    char *buf = malloc(cap);
    if (!buf) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < V; i++) {
        const char *l = labels[i] ? labels[i] : "";
        size_t n = lens ? lens[i] : strlen(l);
        size_t need = rnnc_projector_escape(l, n, buf, cap);
        if (need >= cap) {
            cap = need + 1;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); }
            buf = nb;
            rnnc_projector_escape(l, n, buf, cap);
        }
        fputs(buf, af->fp);
        fputc('\n', af->fp);
    }
    free(buf);
    return RNNC_OK;
}

rnnc_status rnnc_projector_export(const char *dir, const float *E, size_t V, size_t D,
                                  const char *const *labels, const size_t *label_lens) {
    if (V == 0 || D == 0) return rnnc_error(RNNC_ERR_ARG, "%s: nothing to export (%zu x %zu embedding)", dir, V, D);
    rnnc_status s = make_dir(dir);
    if (s) return s;
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    if (!path) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", dir);
    char *meta = malloc(n);
    if (!meta) { free(path); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", dir); }
    snprintf(path, n, "%s/vectors.tsv", dir);
    snprintf(meta, n, "%s/metadata.tsv", dir);
    /* the vectors and their labels are one export: both written out before either replaces the
     * old pair (a failed label file left new vectors beside old labels, rows misattributed) */
    rnnc_atomic_file vf = {0}, mf = {0};
    s = rnnc_atomic_open(&vf, path);
    if (!s) s = rnnc_atomic_open(&mf, meta);
    if (!s) s = write_vectors(&vf, path, E, V, D);
    if (!s) s = write_metadata(&mf, meta, V, labels, label_lens);
    if (!s) s = rnnc_atomic_commit_pair(&vf, &mf);
    else { rnnc_atomic_abort(&vf); rnnc_atomic_abort(&mf); }
    free(path);
    free(meta);
    return s;
}
