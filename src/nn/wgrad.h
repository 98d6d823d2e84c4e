/* Internal: the weight-gradient product C[M, N] += A^T B, a sum over K rows (tokens), where A is
 * [K, M] (row stride lda) and B is [K, N] (row stride ldb), all row-major. */
#ifndef RNNC_NN_WGRAD_H
#define RNNC_NN_WGRAD_H

void rnnc_wgrad(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc);

#endif
