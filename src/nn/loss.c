/* Softmax cross-entropy over the vocabulary, fused with its gradient so the probabilities are never
 * stored: per row one pass finds the max, one computes the exponentials into dlogits and their sum,
 * one normalises them and subtracts the one-hot target. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/nn.h"
#include "nn/fused.h"
#include "nn/gemm.h"
#include "nn/pgemm.h"
#include "nn/vmath.h"

/* e^x for x <= 0, exactly 0 where float underflows (rnnc_expf clamps its argument at -87). */
static inline float xent_exp(float x) { return x < -87.0f ? 0.0f : rnnc_expf(x); }

/* The counted targets of N, each checked against [0, V). */
static rnnc_status count_targets(const int *targets, int N, int V, int ignore_index, long *cnt) {
    *cnt = 0;
    for (int n = 0; n < N; n++) {
        int t = targets[n];
        if (t == ignore_index) continue;
        if (t < 0 || t >= V)
            return rnnc_error(RNNC_ERR_RANGE, "cross-entropy: target %d at position %d is outside the vocabulary of %d", t, n, V);
        (*cnt)++;
    }
    return RNNC_OK;
}

/* One row: returns its loss term, log sum exp(l) - l[t], and writes the gradient into d (which
 * may alias l) unless d is NULL; an ignored row gets 0 and a zero gradient. */
static double xent_row(const float *l, float *d, int t, int V, int ignore_index, float scale) {
    if (t == ignore_index) {
        if (d) for (int v = 0; v < V; v++) d[v] = 0.0f;
        return 0.0;
    }
    float mx = l[0];
#pragma omp simd reduction(max : mx)
    for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    const float lt = l[t]; /* read before d (which may alias l) is written */
    /* One exponential per logit (the vectorisable one of cell.h; libm's expf is a call per
     * element): they go straight into d and are normalised there. The sum runs in 16 float
     * lanes, each adding at most V/16 terms in (0, 1]. */
    float z = 0.0f;
    if (d) {
#pragma omp simd reduction(+ : z)
        for (int v = 0; v < V; v++) { float e = xent_exp(l[v] - mx); d[v] = e; z += e; }
        float k = (float)(1.0 / (double)z) * scale;
#pragma omp simd
        for (int v = 0; v < V; v++) d[v] *= k;
        d[t] -= scale;
    } else {
#pragma omp simd reduction(+ : z)
        for (int v = 0; v < V; v++) z += xent_exp(l[v] - mx);
    }
    return log((double)z) + (double)mx - (double)lt;
}

rnnc_status rnnc_xent_forward_backward(const float *logits, const int *targets, int N, int V, int ignore_index,
                                       float grad_scale, float *dlogits, double *loss, long *count) {
    long cnt;
    rnnc_status st = count_targets(targets, N, V, ignore_index, &cnt);
    if (st) return st;
    /* torch divides by the number of counted targets; with none, define loss and gradient as 0. */
    float scale = cnt ? grad_scale / (float)cnt : 0.0f;
    double sum = 0.0;
    #pragma omp parallel for reduction(+:sum) schedule(static) if (N * (long)V > 65536)
    for (int n = 0; n < N; n++)
        sum += xent_row(logits + (size_t)n * V, dlogits ? dlogits + (size_t)n * V : NULL, targets[n], V, ignore_index,
                        scale);
    *loss = cnt ? sum / (double)cnt : 0.0;
    if (count) *count = cnt;
    return RNNC_OK;
}

/* ---- the head and its loss in one pass (fused.h) ------------------------------------------ */

#define HX_ROWS 64

rnnc_status rnnc_head_xent(const float *x, const float *W, const float *b, const int *targets, int N, int IN, int V,
                           int ignore_index, float *logits, bool backward, float *dx, double *loss, long *count) {
    long cnt;
    rnnc_status st = count_targets(targets, N, V, ignore_index, &cnt);
    if (st) return st;
    const float scale = cnt ? 1.0f / (float)cnt : 0.0f;
    const int blocks = (N + HX_ROWS - 1) / HX_ROWS;
    const bool want_dx = backward && dx;
    float *P = NULL, *Q = NULL;
    double *part = malloc((size_t)(blocks > 0 ? blocks : 1) * sizeof *part);
    if (part && rnnc_gemm_aw_packs(N, V, IN) && (!want_dx || rnnc_gemm_aw_packs(N, IN, V))) {
        P = aligned_alloc(64, (rnnc_pgemm_size(IN, V) * sizeof(float) + 63) / 64 * 64);
        Q = want_dx ? aligned_alloc(64, (rnnc_pgemm_size(V, IN) * sizeof(float) + 63) / 64 * 64) : NULL;
    }
    if (!P || (want_dx && !Q)) { /* W too large to pack (or no memory): the three passes apart */
        free(P); free(Q); free(part);
        if (b) rnnc_gemm_aw_bias(N, V, IN, x, IN, W, IN, 1, b, logits, V);
        else rnnc_gemm_aw(N, V, IN, x, IN, W, IN, 1, logits, V, 0);
        st = rnnc_xent_forward_backward(logits, targets, N, V, ignore_index, 1.0f, backward ? logits : NULL, loss, count);
        if (!st && want_dx) rnnc_gemm_aw(N, IN, V, logits, V, W, IN, 0, dx, IN, 0);
        return st;
    }
    const int pv = (V + RNNC_PGEMM_NR - 1) / RNNC_PGEMM_NR, pi = (IN + RNNC_PGEMM_NR - 1) / RNNC_PGEMM_NR;
    const bool par = (size_t)N * V * IN >= ((size_t)1 << 20) && !omp_in_parallel();
#pragma omp parallel if (par)
    {
        /* W^T for the logits and W for dX, each in 32-column panels (pgemm.h) */
#pragma omp for schedule(static)
        for (int c = 0; c < pv + (want_dx ? pi : 0); c++) {
            if (c < pv) rnnc_pgemm_pack(P, W, IN, 1, IN, V, c * RNNC_PGEMM_NR, (c + 1) * RNNC_PGEMM_NR < V ? (c + 1) * RNNC_PGEMM_NR : V);
            else {
                const int j0 = (c - pv) * RNNC_PGEMM_NR;
                rnnc_pgemm_pack(Q, W, IN, 0, V, IN, j0, j0 + RNNC_PGEMM_NR < IN ? j0 + RNNC_PGEMM_NR : IN);
            }
        }
        /* a block of rows: its logits, then each row's loss and gradient while they are in cache,
         * then the block's dX */
#pragma omp for schedule(dynamic, 1)
        for (int q = 0; q < blocks; q++) {
            const int r0 = q * HX_ROWS, m = N - r0 < HX_ROWS ? N - r0 : HX_ROWS;
            float *l = logits + (size_t)r0 * V;
            for (int i = 0; b && i < m; i++) memcpy(l + (size_t)i * V, b, (size_t)V * sizeof(float));
            rnnc_pgemm(m, IN, 0, V, x + (size_t)r0 * IN, IN, P, l, V, b != NULL);
            double s = 0.0;
            for (int i = 0; i < m; i++)
                s += xent_row(l + (size_t)i * V, backward ? l + (size_t)i * V : NULL, targets[r0 + i], V, ignore_index,
                              scale);
            part[q] = s;
            if (want_dx) rnnc_pgemm(m, V, 0, IN, l, V, Q, dx + (size_t)r0 * IN, IN, 0);
        }
    }
    double sum = 0.0;
    for (int q = 0; q < blocks; q++) sum += part[q];
    *loss = cnt ? sum / (double)cnt : 0.0;
    if (count) *count = cnt;
    free(P); free(Q); free(part);
    return RNNC_OK;
}
