/* Affine layer (nn.Linear): one matrix product forward, two backward (nn/gemm.h picks BLAS or the
 * packed kernel by shape). */
#include <math.h>
#include <string.h>

#include "rnnc/nn.h"
#include "nn/gemm.h"

void rnnc_linear_forward(float *out, const float *x, const float *W, const float *b, int N, int IN, int OUT) {
    /* the bias is broadcast into out by the product's own work items, which then add onto it */
    if (b) rnnc_gemm_aw_bias(N, OUT, IN, x, IN, W, IN, 1, b, out, OUT);
    else rnnc_gemm_aw(N, OUT, IN, x, IN, W, IN, 1, out, OUT, 0);
}

void rnnc_linear_backward(float *dx, float *dW, float *db, const float *dout, const float *x, const float *W,
                          int N, int IN, int OUT) {
    if (dx) rnnc_gemm_aw(N, IN, OUT, dout, OUT, W, IN, 0, dx, IN, 0);
    rnnc_wgrad(OUT, IN, N, dout, OUT, x, IN, dW, IN);
    if (db) rnnc_colsum_add(db, NULL, 0, dout, (size_t)OUT, (size_t)N, OUT);
}

void rnnc_unigram_bias(float *bias, const double *count, int V) {
    double total = 0;
    for (int j = 0; j < V; j++) total += count[j];
    for (int j = 0; j < V; j++) bias[j] = (float)log((count[j] + 0.5) / (total + 0.5 * (double)V));
}
