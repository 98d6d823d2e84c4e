/* Affine layer (nn.Linear) over BLAS: one SGEMM forward, two backward. */
#include <math.h>
#include <cblas.h>
#include <string.h>

#include "rnnc/nn.h"
#include "nn/wgrad.h"

void rnnc_linear_forward(float *out, const float *x, const float *W, const float *b, int N, int IN, int OUT) {
    /* Broadcast the bias into out first so the GEMM can add onto it (beta = 1). */
    if (b) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OUT, b, (size_t)OUT * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, x, IN, W, IN, b ? 1.0f : 0.0f, out, OUT);
}

void rnnc_linear_backward(float *dx, float *dW, float *db, const float *dout, const float *x, const float *W,
                          int N, int IN, int OUT) {
    if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IN, OUT, 1.0f, dout, OUT, W, IN, 0.0f, dx, IN);
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
