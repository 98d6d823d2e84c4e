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

/* C = A W through the packed 8x32 kernel of pgemm.h. OpenBLAS ran the thin products of these
 * models at 70-130 GFLOP/s on two threads of this machine ([4096,128]x[128,96], [4096,96]x[96,128],
 * [4096,512]x[512,64]) and [4096,512]x[512,512] at 167-171, against 200-206 for this path in the
 * same process (docs/PERFORMANCE.md). W is packed once into 32-column panels, by all threads. The
 * columns are cut into groups whose panels fill at most 512 KiB (half a core's L2), and the work
 * items, (column group, block of 64 rows of A), go to the threads as they come free, group by
 * group: the threads share a group's panels while it is in use, and a thread on a slower core
 * simply takes fewer blocks. Each element of C is computed the same way whatever the thread count.
 * BLAS keeps the products where packing W per call does not pay: fewer than 256 rows with a W of
 * more than 1 MiB packed, or a W of more than 16 MiB (a head over a very large vocabulary). */
#define AW_ROWS 64

int rnnc_gemm_aw_packs(int M, int N, int K) {
    const size_t psize = rnnc_pgemm_size(K, N);
    return K >= 1 && (psize <= ((size_t)1 << 18) || (psize <= ((size_t)1 << 22) && M >= 256));
}

void rnnc_gemm_aw(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw, float *C,
                  int ldc, int accumulate) {
    if (M < 1 || N < 1) return;
    if (K < 1) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    const size_t psize = rnnc_pgemm_size(K, N);
    const bool small = psize <= ((size_t)1 << 18);
    float *P = NULL;
    if (rnnc_gemm_aw_packs(M, N, K)) P = aligned_alloc(64, (psize * sizeof(float) + 63) / 64 * 64);
    if (!P) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transw ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, W, ldw,
                    accumulate ? 1.0f : 0.0f, C, ldc);
        return;
    }
    const int NR = RNNC_PGEMM_NR, panels = (N + NR - 1) / NR;
#pragma omp parallel for schedule(static) if (!small && !omp_in_parallel())
    for (int c = 0; c < panels; c++) rnnc_pgemm_pack(P, W, ldw, transw, K, N, c * NR, c * NR + NR < N ? c * NR + NR : N);
    int gcols = ((1 << 17) / K) / NR * NR; /* columns per group: 2^17 floats of panels */
    if (gcols < NR) gcols = NR;
    const int groups = (N + gcols - 1) / gcols, blocks = (M + AW_ROWS - 1) / AW_ROWS, items = groups * blocks;
#pragma omp parallel for schedule(dynamic, 1) if (items > 1 && !omp_in_parallel())
    for (int q = 0; q < items; q++) {
        const int g = q / blocks, b = q % blocks;
        const int r0 = b * AW_ROWS, m = M - r0 < AW_ROWS ? M - r0 : AW_ROWS;
        const int c0 = g * gcols, c1 = c0 + gcols < N ? c0 + gcols : N;
        rnnc_pgemm(m, K, c0, c1, A + (size_t)r0 * lda, lda, P, C + (size_t)r0 * ldc, ldc, accumulate);
    }
    free(P);
}
