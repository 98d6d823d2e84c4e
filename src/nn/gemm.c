/* Products over all the tokens of a batch (nn/gemm.h).
 *
 * Weight gradients, C += A^T B over K rows.
 * OpenBLAS splits a product among its threads by tiles of the output. A weight gradient of a
 * small layer has a thin output and a long sum ([512, 64] over 4,096 tokens for LSTM 128's
 * W_ih), so each thread gets a sliver of C and repacks most of the inputs: on two threads such
 * products ran at 68 GFLOP/s ([512,64]), 102 ([512,128]) and 89 ([96,128], the LM head). Here,
 * for outputs of at most 2^17 elements, the K rows are split instead: every thread runs the whole
 * output over its share of the rows on one thread, the first adding straight into C and the
 * others into scratch, and the partial sums are then added in thread order: 130, 155 and 163
 * GFLOP/s in the same run. For wider outputs BLAS's own split is as fast (measured at [512,512]
 * and up), so they go to BLAS unchanged. The sum is the same for a given thread count. */
#include "nn/gemm.h"
#include "nn/pgemm.h"

#include <cblas.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* cblas.h pulls in complex.h, whose macro I would shadow. */
#undef I

#define MAX_SPLIT 16

void rnnc_wgrad(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    if (M < 1 || N < 1 || K < 1) return;
    const size_t mn = (size_t)M * N;
    int n = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (n > MAX_SPLIT) n = MAX_SPLIT;
    if (n > K / 256) n = K / 256; /* at least 256 rows each */
    float *part[MAX_SPLIT] = {0};
    bool ok = n > 1 && mn <= ((size_t)1 << 17);
    for (int t = 1; ok && t < n; t++) ok = (part[t] = malloc(mn * sizeof(float))) != NULL;
    if (!ok) {
        for (int t = 1; t < n; t++) free(part[t]);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C, ldc);
        return;
    }
#pragma omp parallel num_threads(n)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int k0 = (int)((long)K * t / nt), k1 = (int)((long)K * (t + 1) / nt);
        /* inside a parallel region OpenBLAS's OpenMP build runs the call on this thread */
        if (t == 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, k1 - k0, 1.0f, A + (size_t)k0 * lda, lda,
                        B + (size_t)k0 * ldb, ldb, 1.0f, C, ldc);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, k1 - k0, 1.0f, A + (size_t)k0 * lda, lda,
                        B + (size_t)k0 * ldb, ldb, 0.0f, part[t], N);
#pragma omp barrier
#pragma omp for schedule(static)
        for (int i = 0; i < M; i++)
            for (int s = 1; s < nt; s++) {
                const float *p = part[s] + (size_t)i * N;
                float *c = C + (size_t)i * ldc;
#pragma omp simd
                for (int j = 0; j < N; j++) c[j] += p[j];
            }
    }
    for (int t = 1; t < n; t++) free(part[t]);
}

/* Products with at most 128 columns or a K of at most 128 (the LM head over a small vocabulary,
 * the input projection from a 64-wide embedding and its gradient): OpenBLAS ran them at 70-106
 * GFLOP/s on two threads of this machine ([4096,128]x[128,96], [4096,96]x[96,128],
 * [4096,512]x[512,64]) against 190-200 on big square ones. Here W is packed once into the 32-column
 * panels of pgemm.h and blocks of 64 rows of A go through its 8x32 register kernel, handed to the
 * threads as they come free. Each row of C is computed the same way whatever the thread count. */
#define AW_ROWS 64

void rnnc_gemm_aw(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw, float *C,
                  int ldc, int accumulate) {
    if (M < 1 || N < 1) return;
    if (K < 1) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    /* Only while the packed W stays in cache (at most 1 MiB): every 64-row block streams all of it,
     * so a head over a 100k vocabulary would read 50 MB per block; BLAS blocks that properly. */
    float *P = NULL;
    if ((N <= 128 || K <= 128) && rnnc_pgemm_size(K, N) <= ((size_t)1 << 18))
        P = aligned_alloc(64, (rnnc_pgemm_size(K, N) * sizeof(float) + 63) / 64 * 64);
    if (!P) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transw ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, W, ldw,
                    accumulate ? 1.0f : 0.0f, C, ldc);
        return;
    }
    rnnc_pgemm_pack(P, W, ldw, transw, K, N, 0, N);
    const int blocks = (M + AW_ROWS - 1) / AW_ROWS;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1 && !omp_in_parallel())
    for (int b = 0; b < blocks; b++) {
        const int r0 = b * AW_ROWS, m = M - r0 < AW_ROWS ? M - r0 : AW_ROWS;
        rnnc_pgemm(m, K, 0, N, A + (size_t)r0 * lda, lda, P, C + (size_t)r0 * ldc, ldc, accumulate);
    }
    free(P);
}
