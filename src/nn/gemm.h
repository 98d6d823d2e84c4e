/* Internal: the two kinds of matrix product the layers make over all the tokens of a batch, each
 * sent to whichever of OpenBLAS and rnnc's own packed kernel (pgemm.h) is faster for its shape.
 * All matrices are row-major. */
#ifndef RNNC_NN_GEMM_H
#define RNNC_NN_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* The weight gradient C[M, N] += A^T B, a sum over K rows (tokens); A is [K, M] (row stride lda),
 * B is [K, N] (row stride ldb). On rnnc's own kernel (rnnc_wgrad_own) each element is the same sum
 * on any thread count; through BLAS the sum depends on the thread count. */
void rnnc_wgrad(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc);

/* Whether rnnc_wgrad takes rnnc's own kernel: in an AVX-512 build when OpenBLAS's kernels are not
 * AVX-512 ones, in other x86 builds whenever the CPU has AVX2 and FMA; elsewhere never (gemm.c says
 * why). */
bool rnnc_wgrad_own(void);

/* For tests and benchmarks: force one path of rnnc_wgrad (AUTO: the rule above). Not thread-safe;
 * set it before the products run. */
typedef enum { RNNC_WGRAD_AUTO, RNNC_WGRAD_BLAS, RNNC_WGRAD_OWN } rnnc_wgrad_path;
void rnnc_wgrad_set_path(rnnc_wgrad_path path);

/* C[M, N] = A[M, K] W, or C += A W with accumulate; W's element (k, n) is W[k*ldw + n]
 * (transw 0) or W[n*ldw + k] (transw 1, as for x W^T with W an nn.Linear weight). With at most
 * 128 columns or a K of at most 128, and W at most 1 MiB packed, the packed kernel of pgemm.h
 * computes it, each row the same way on any thread count; otherwise BLAS. */
void rnnc_gemm_aw(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw, float *C,
                  int ldc, int accumulate);

/* C[M, N] = bias[N] (broadcast to every row) + A W, with the numbers of a broadcast followed by
 * rnnc_gemm_aw(..., accumulate 1); each work item broadcasts into its own block. */
void rnnc_gemm_aw_bias(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw,
                       const float *bias, float *C, int ldc);

/* Whether rnnc_gemm_aw takes the packed kernel for this shape (it falls back to BLAS only when
 * that says no or the panels cannot be allocated). Then every row of C equals rnnc_pgemm of that
 * row over W packed by rnnc_pgemm_pack(P, W, ldw, transw, K, N, ...), whichever rows are computed
 * together: the recurrent runner's wavefront makes the input projection step by step this way. */
int rnnc_gemm_aw_packs(int M, int N, int K);

/* W packed once, as rnnc_gemm_aw packs it (rnnc_pgemm_size(K, N) floats at P, 64-byte aligned),
 * and rnnc_gemm_aw's product on it (without accumulate's K < 1 case: K >= 1): where
 * rnnc_gemm_aw_packs(M, N, K), C is then exactly what rnnc_gemm_aw(M, N, K, A, lda, W, ...) makes.
 * For weights that do not change between calls (the recurrent stack's rnnc_rnn_packed). */
void rnnc_gemm_aw_pack(float *P, const float *W, int ldw, int transw, int K, int N);
void rnnc_gemm_aw_packed(int M, int N, int K, const float *A, int lda, const float *P, float *C, int ldc,
                         int accumulate);

/* db[k] += the sum over the rows of dg[r*ld + k], k < cols (a bias gradient), and db2[k] too for
 * k < cols2 when db2 is not NULL (where a cell's input- and hidden-side gate gradients agree, both
 * bias gradients come from one pass: all columns for the LSTM, the r and z blocks for the GRU).
 * Each column's sum runs over the rows in order, into a local sum added to db at the end, on any
 * thread count. */
void rnnc_colsum_add(float *db, float *db2, int cols2, const float *dg, size_t ld, size_t rows, int cols);

#endif
