/* Softmax cross-entropy over the vocabulary, fused with its gradient so the probabilities are never
 * stored: per row one pass finds the max, one computes the exponentials into dlogits and their sum,
 * one normalises them and subtracts the one-hot target. */
#include <math.h>

#include "rnnc/nn.h"
#include "nn/vmath.h"

/* e^x for x <= 0, exactly 0 where float underflows (rnnc_expf clamps its argument at -87). */
static inline float xent_exp(float x) { return x < -87.0f ? 0.0f : rnnc_expf(x); }

rnnc_status rnnc_xent_forward_backward(const float *logits, const int *targets, int N, int V, int ignore_index,
                                       float grad_scale, float *dlogits, double *loss, long *count) {
    long cnt = 0;
    for (int n = 0; n < N; n++) {
        int t = targets[n];
        if (t == ignore_index) continue;
        if (t < 0 || t >= V)
            return rnnc_error(RNNC_ERR_RANGE, "cross-entropy: target %d at position %d is outside the vocabulary of %d", t, n, V);
        cnt++;
    }
    /* torch divides by the number of counted targets; with none, define loss and gradient as 0. */
    float scale = cnt ? grad_scale / (float)cnt : 0.0f;
    double sum = 0.0;
    #pragma omp parallel for reduction(+:sum) schedule(static) if (N * (long)V > 65536)
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *d = dlogits ? dlogits + (size_t)n * V : NULL;
        int t = targets[n];
        if (t == ignore_index) {
            if (d) for (int v = 0; v < V; v++) d[v] = 0.0f;
            continue;
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
        sum += log((double)z) + (double)mx - (double)lt;
    }
    *loss = cnt ? sum / (double)cnt : 0.0;
    if (count) *count = cnt;
    return RNNC_OK;
}
