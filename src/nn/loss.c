/* Softmax cross-entropy over the vocabulary, fused with its gradient so the probabilities are never
 * stored: per row one pass finds the max, one computes the exponentials into dlogits and their sum,
 * one normalises them and subtracts the one-hot target. */
#include <math.h>

#include "rnnc/nn.h"

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
        for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        const float lt = l[t]; /* read before d (which may alias l) is written */
        /* One expf per logit: the exponentials go straight into d and are normalised there. */
        double z = 0.0;
        if (d) {
            for (int v = 0; v < V; v++) { float e = expf(l[v] - mx); d[v] = e; z += e; }
            float k = (float)(1.0 / z) * scale;
            for (int v = 0; v < V; v++) d[v] *= k;
            d[t] -= scale;
        } else {
            for (int v = 0; v < V; v++) z += expf(l[v] - mx);
        }
        sum += log(z) + (double)mx - (double)lt;
    }
    *loss = cnt ? sum / (double)cnt : 0.0;
    if (count) *count = cnt;
    return RNNC_OK;
}
