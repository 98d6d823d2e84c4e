/* Affine layer (nn.Linear): one matrix product forward, two backward (nn/gemm.h picks BLAS or the
 * packed kernel by shape). */
#include <math.h>
#include <string.h>

#include "rnnc/nn.h"
#include "nn/gemm.h"

void rnnc_linear_forward(float *out, const float *x, const float *W, const float *b, int N, int IN, int OUT) {
    /* Broadcast the bias into out first so the GEMM can add onto it (beta = 1). */
    if (b) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OUT, b, (size_t)OUT * sizeof(float));
    }
    rnnc_gemm_aw(N, OUT, IN, x, IN, W, IN, 1, out, OUT, b != NULL);
}

void rnnc_linear_backward(float *dx, float *dW, float *db, const float *dout, const float *x, const float *W,
                          int N, int IN, int OUT) {
    if (dx) rnnc_gemm_aw(N, IN, OUT, dout, OUT, W, IN, 0, dx, IN, 0);
    rnnc_wgrad(OUT, IN, N, dout, OUT, x, IN, dW, IN);
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *g = dout + (size_t)n * OUT;
            for (int o = 0; o < OUT; o++) db[o] += g[o];
        }
    }
}

void rnnc_unigram_bias(float *bias, const double *count, int V) {
    double total = 0;
    for (int j = 0; j < V; j++) total += count[j];
    for (int j = 0; j < V; j++) bias[j] = (float)log((count[j] + 0.5) / (total + 0.5 * (double)V));
}
