/* Internal: the small matrix product of one recurrent time step, C[B, n] (+)= A[B, K] x W[K, n],
 * with W packed once per forward/backward call instead of once per step (what a general GEMM
 * does: at B = 32 that repacking of the weights cost about a fifth of the step).
 *
 * Packed layout: panels of 32 columns; panel p holds rows k = 0..K-1 of columns 32p..32p+31 in
 * K x 32 contiguous floats, zero beyond column N. Inside a panel the order is the kernel's: row
 * after row of 32 (AVX-512, and CPUs without AVX2 and FMA), or, where the AVX2 kernel runs, the
 * K x 16 rows of columns 0-15 and then those of columns 16-31, so that each half-panel pass of that
 * kernel reads whole cache lines in order (a row of 32 is two lines, and a pass that reads one of
 * them a k streamed the weights from L3 at 77-87% of the kernel's L1 rate; the split layout 96-98
 * GFLOP/s on Zen 3). The layout is fixed per process by the CPU; rnnc_pgemm_index gives it. A
 * panel must be read with the K it was packed with (rnnc_pgemm2: K + K2). */
#ifndef RNNC_NN_PGEMM_H
#define RNNC_NN_PGEMM_H

#include <stddef.h>

#define RNNC_PGEMM_NR 32

static inline size_t rnnc_pgemm_size(int K, int N) {
    return (size_t)K * (size_t)((N + RNNC_PGEMM_NR - 1) / RNNC_PGEMM_NR * RNNC_PGEMM_NR);
}

/* Packs the panels covering columns [n0, n1) (n0 a multiple of 32) of the K x N matrix whose
 * element (k, n) is src[k*ld + n] (trans = 0) or src[n*ld + k] (trans = 1). */
void rnnc_pgemm_pack(float *dst, const float *src, int ld, int trans, int K, int N, int n0, int n1);

/* Where element (k, j < 32) of a panel packed with K rows lies, from the panel's start. */
size_t rnnc_pgemm_index(int K, int k, int j);

/* The register kernel the products take in this process ("AVX-512 8x32", "AVX2+FMA 4x16" or
 * "plain C"), for `rnnc version --verbose`. */
const char *rnnc_pgemm_kernel(void);

/* C[0:M, n0:n1] = A[0:M, 0:K] x P[:, n0:n1]  (accumulate: +=). n0 a multiple of 32. */
void rnnc_pgemm(int M, int K, int n0, int n1, const float *A, int lda, const float *P, float *C, int ldc,
                int accumulate);

/* The same with the K + K2 rows of P taken from two sources: row k < K of A's rows from A[i*lda + k],
 * the rest from A2[i*lda2 + k - K], summed in the order of one K + K2 product (the same numbers as
 * rnnc_pgemm on the two laid side by side). The GRU's backward step reads its r and z gate
 * gradients from the input side's array and its n block from a narrower one. */
void rnnc_pgemm2(int M, int K, const float *A, int lda, int K2, const float *A2, int lda2, int n0, int n1,
                 const float *P, float *C, int ldc, int accumulate);


/* Tests only: nonzero makes the packing and the products take the plain loops instead of the
 * AVX-512 or AVX2 kernels (process-wide; not thread-safe against running products). */
void rnnc_pgemm_set_plain(int on);

#endif
