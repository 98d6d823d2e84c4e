/* Token sampling: greedy, temperature, top-k, top-p; see include/rnnc/sample.h.
 *
 * The kept set is found without sorting the whole vocabulary: top-k is a quickselect, and top-p
 * sorts only a growing prefix (64, 256, ... best tokens) until its mass reaches p, so a large
 * vocabulary costs O(V) per token in the common case where the nucleus is small. */
#include "rnnc/sample.h"
#include "rnnc/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

rnnc_sample_params rnnc_sample_defaults(void) {
    rnnc_sample_params p = {1.0f, 0, 1.0f};
    return p;
}

rnnc_status rnnc_sample_check(const rnnc_sample_params *p) {
    if (!(p->temperature >= 0) || isinf(p->temperature))
        return rnnc_error(RNNC_ERR_ARG, "temperature must be a finite number >= 0 (0 = greedy), got %g",
                          (double)p->temperature);
    if (p->top_k < 0)
        return rnnc_error(RNNC_ERR_ARG, "top-k must be >= 0 (0 = off), got %d", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return rnnc_error(RNNC_ERR_ARG, "top-p must be in (0, 1] (1 = off), got %g", (double)p->top_p);
    return RNNC_OK;
}

static rnnc_status check_init(rnnc_sampler *s, size_t V, const rnnc_sample_params *p) {
    memset(s, 0, sizeof *s);
    if (V == 0 || V > UINT32_MAX / 4) return rnnc_error(RNNC_ERR_ARG, "sampler: vocabulary size %zu out of range", V);
    return rnnc_sample_check(p);
}

size_t rnnc_sampler_scratch_bytes(size_t V) { return V * (sizeof(float) * 2 + sizeof(uint32_t)); }

rnnc_status rnnc_sampler_init_scratch(rnnc_sampler *s, size_t V, const rnnc_sample_params *p, void *scratch) {
    rnnc_status st = check_init(s, V, p);
    if (st) return st;
    if (!scratch || ((uintptr_t)scratch & 3))
        return rnnc_error(RNNC_ERR_ARG, "sampler: scratch must be non-NULL and 4-byte aligned");
    s->z = scratch;
    s->w = s->z + V;
    s->idx = (uint32_t *)(s->w + V);
    s->V = V;
    s->params = *p;
    return RNNC_OK;
}

rnnc_status rnnc_sampler_init(rnnc_sampler *s, size_t V, const rnnc_sample_params *p) {
    rnnc_status st = check_init(s, V, p);
    if (st) return st;
    void *scratch = malloc(rnnc_sampler_scratch_bytes(V));
    if (!scratch) return rnnc_error(RNNC_ERR_NOMEM, "sampler: out of memory for %zu tokens", V);
    st = rnnc_sampler_init_scratch(s, V, p, scratch);
    if (st) { free(scratch); return st; }
    s->owns = 1;
    return RNNC_OK;
}

void rnnc_sampler_free(rnnc_sampler *s) {
    if (!s) return;
    if (s->owns) free(s->z); /* z is the start of the one block */
    memset(s, 0, sizeof *s);
}

uint32_t rnnc_argmax(const float *x, size_t V) {
    size_t best = 0;
    while (best < V && isnan(x[best])) best++;
    if (best == V) return 0;
    for (size_t i = best + 1; i < V; i++)
        if (x[i] > x[best]) best = i;
    return (uint32_t)best;
}

/* The total order used everywhere: larger z first, then lower id. Keys are therefore distinct,
 * which keeps selection and sorting deterministic. */
static inline int better(const float *z, uint32_t a, uint32_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
}

static inline void swap_u32(uint32_t *a, uint32_t *b) { uint32_t t = *a; *a = *b; *b = t; }

/* Lomuto partition of a[lo, hi) around a median-of-three pivot; returns the pivot's final place. */
static size_t partition(const float *z, uint32_t *a, size_t lo, size_t hi) {
    size_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (better(z, a[mid], a[lo])) swap_u32(&a[mid], &a[lo]);
    if (better(z, a[last], a[lo])) swap_u32(&a[last], &a[lo]);
    if (better(z, a[mid], a[last])) swap_u32(&a[mid], &a[last]);
    /* now a[last] is the median of the three */
    uint32_t pivot = a[last];
    size_t store = lo;
    for (size_t i = lo; i < last; i++)
        if (better(z, a[i], pivot)) swap_u32(&a[i], &a[store++]);
    swap_u32(&a[store], &a[last]);
    return store;
}

static void insertion_sort(const float *z, uint32_t *a, size_t lo, size_t hi) {
    for (size_t i = lo + 1; i < hi; i++) {
        uint32_t v = a[i];
        size_t j = i;
        while (j > lo && better(z, v, a[j - 1])) { a[j] = a[j - 1]; j--; }
        a[j] = v;
    }
}

/* Rearranges a[0, n) so that a[0, m) hold the m best (in no particular order); 0 < m <= n. */
static void select_best(const float *z, uint32_t *a, size_t n, size_t m) {
    size_t lo = 0, hi = n;
    while (hi - lo > 16) {
        size_t p = partition(z, a, lo, hi);
        if (p == m || p + 1 == m) return;
        if (m < p) hi = p;
        else lo = p + 1;
    }
    insertion_sort(z, a, lo, hi);
}

static void sort_best_first(const float *z, uint32_t *a, size_t lo, size_t hi) {
    while (hi - lo > 16) {
        size_t p = partition(z, a, lo, hi);
        /* recurse into the smaller side so the stack stays O(log n) */
        if (p - lo < hi - p) { sort_best_first(z, a, lo, p); lo = p + 1; }
        else { sort_best_first(z, a, p + 1, hi); hi = p; }
    }
    insertion_sort(z, a, lo, hi);
}

/* Fills s->idx[0, *n_kept) and s->w with the kept set and returns its total weight in *total.
 * Greedy (T = 0) keeps only the argmax. */
static rnnc_status prepare(rnnc_sampler *s, const float *logits, size_t *n_kept, double *total) {
    const size_t V = s->V;
    float lmax = -INFINITY;
    for (size_t i = 0; i < V; i++) {
        float l = logits[i];
        if (isnan(l) || l == INFINITY)
            return rnnc_error(RNNC_ERR_NUMERIC, "sampler: logit %zu is %s", i, isnan(l) ? "NaN" : "+Inf");
        if (l > lmax) lmax = l;
    }
    if (lmax == -INFINITY) return rnnc_error(RNNC_ERR_NUMERIC, "sampler: every logit is -Inf");

    const rnnc_sample_params *p = &s->params;
    if (p->temperature == 0) {
        s->idx[0] = rnnc_argmax(logits, V);
        s->w[0] = 1;
        *n_kept = 1;
        *total = 1;
        return RNNC_OK;
    }
    /* Subtracting the max before dividing keeps z <= 0, so a tiny temperature underflows to
     * -Inf (probability 0) instead of overflowing to +Inf. */
    const float invT = 1.0f / p->temperature;
    float *z = s->z;
    uint32_t *idx = s->idx;
    for (size_t i = 0; i < V; i++) {
        z[i] = (logits[i] - lmax) * invT;
        idx[i] = (uint32_t)i;
    }
    if (isinf(invT)) /* a subnormal temperature: 0 * Inf at the max would be NaN */
        for (size_t i = 0; i < V; i++) z[i] = logits[i] == lmax ? 0.0f : -INFINITY;

    size_t n = V;
    if (p->top_k > 0 && (size_t)p->top_k < V) {
        n = (size_t)p->top_k;
        select_best(z, idx, V, n);
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        float w = expf(z[idx[i]]);
        s->w[i] = w;
        sum += w;
    }
    if (p->top_p < 1) {
        /* Sort a growing prefix until its mass reaches p: the nucleus is usually small. */
        const double target = (double)p->top_p * sum;
        size_t done = 0, m = n < 64 ? n : 64, kept = n;
        double cum = 0;
        for (;;) {
            select_best(z, idx + done, n - done, m - done);
            sort_best_first(z, idx, done, m);
            size_t i;
            for (i = done; i < m; i++) {
                float w = expf(z[idx[i]]);
                s->w[i] = w;
                cum += w;
                if (cum >= target) break;
            }
            if (i < m) { kept = i + 1; break; }
            if (m == n) break; /* rounding: keep everything */
            done = m;
            m = m * 4 < n ? m * 4 : n;
        }
        n = kept;
        sum = 0;
        for (size_t i = 0; i < n; i++) sum += s->w[i];
    }
    *n_kept = n;
    *total = sum;
    return RNNC_OK;
}

rnnc_status rnnc_sampler_next(rnnc_sampler *s, const float *logits, rnnc_rng *rng, uint32_t *out) {
    size_t n;
    double total;
    rnnc_status st = prepare(s, logits, &n, &total);
    if (st) return st;
    if (n == 1) { *out = s->idx[0]; return RNNC_OK; }
    /* 53 random bits: float's 24 would bias the draw for vocabularies with many tiny weights. */
    double u = (double)(rnnc_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0) * total;
    double cum = 0;
    size_t last_positive = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->w[i] <= 0) continue;
        cum += s->w[i];
        last_positive = i;
        if (u < cum) { *out = s->idx[i]; return RNNC_OK; }
    }
    *out = s->idx[last_positive]; /* u landed in the rounding gap at the very top */
    return RNNC_OK;
}

rnnc_status rnnc_sampler_probs(rnnc_sampler *s, const float *logits, float *probs) {
    size_t n;
    double total;
    rnnc_status st = prepare(s, logits, &n, &total);
    if (st) return st;
    memset(probs, 0, s->V * sizeof *probs);
    for (size_t i = 0; i < n; i++) probs[s->idx[i]] = (float)(s->w[i] / total);
    return RNNC_OK;
}

/* Length of the UTF-8 sequence a lead byte starts, or 0 if it cannot start one. */
static int utf8_seq_len(unsigned char b) {
    return b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
}

size_t rnnc_utf8_stream_push(rnnc_utf8_stream *s, const unsigned char *in, size_t n, unsigned char *out) {
    /* work on held ++ in without copying `in`: byte i of the combined input */
    size_t total = (size_t)s->n_held + n, i = 0, w = 0;
#define AT(k) ((k) < (size_t)s->n_held ? s->held[k] : in[(k) - (size_t)s->n_held])
    while (i < total) {
        unsigned char b = AT(i);
        int need = utf8_seq_len(b);
        if (need <= 1) { out[w++] = b; i++; continue; } /* ASCII, or a byte that starts nothing */
        size_t have = total - i < (size_t)need ? total - i : (size_t)need;
        size_t k = 1;
        while (k < have && (AT(i + k) & 0xC0) == 0x80) k++;
        if (k < have) { out[w++] = b; i++; continue; } /* broken sequence: pass the lead byte */
        if (have < (size_t)need) break;                 /* incomplete: hold it */
        unsigned char seq[4];
        uint32_t cp;
        for (int t = 0; t < need; t++) seq[t] = AT(i + (size_t)t);
        if (rnnc_utf8_decode(seq, (size_t)need, &cp) != need) { out[w++] = b; i++; continue; }
        memcpy(out + w, seq, (size_t)need);
        w += (size_t)need;
        i += (size_t)need;
    }
    unsigned char rest[4];
    int n_rest = 0;
    for (; i < total; i++) rest[n_rest++] = AT(i);
#undef AT
    memcpy(s->held, rest, (size_t)n_rest);
    s->n_held = n_rest;
    return w;
}

size_t rnnc_utf8_stream_flush(rnnc_utf8_stream *s, unsigned char *out) {
    size_t n = (size_t)s->n_held;
    memcpy(out, s->held, n);
    s->n_held = 0;
    return n;
}
