/* Softmax cross-entropy over the vocabulary, fused with its gradient so the probabilities are never
 * stored: one pass finds the row max and log-sum-exp, a second writes softmax - onehot. */
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
        double z = 0.0;
        for (int v = 0; v < V; v++) z += exp((double)(l[v] - mx));
        double lse = (double)mx + log(z);
        sum += lse - (double)l[t];
        if (d) {
            /* Read l[v] before writing d[v]: d may alias l. */
            float lt = l[t];
            for (int v = 0; v < V; v++) d[v] = (float)exp((double)l[v] - lse) * scale;
            d[t] = (float)exp((double)lt - lse) * scale - scale;
        }
    }
    *loss = cnt ? sum / (double)cnt : 0.0;
    if (count) *count = cnt;
    return RNNC_OK;
}
