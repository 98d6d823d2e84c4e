/* The per-step product with pre-packed weights; see pgemm.h. With AVX-512 an 8 x 32 register
 * block (16 accumulators) walks down K, reading one 32-float row of the packed panel and
 * broadcasting 8 values of A per k; otherwise a plain loop the compiler vectorises. */
#include "nn/pgemm.h"

#include <string.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#ifdef __AVX512F__
/* r[i] = column i of the 16 x 16 block r (rows in, columns out), in registers. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* now r[4q + c] holds, in each 128-bit lane L, element c of rows 4L'..: combine lanes */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}
#endif

void rnnc_pgemm_pack(float *dst, const float *src, int ld, int trans, int K, int N, int n0, int n1) {
    const int NR = RNNC_PGEMM_NR;
#ifdef __AVX512F__
    /* transposed, full panels: 16 x 16 blocks through registers (a column of W is a row of src) */
    if (trans) {
        int p = n0 / NR;
        for (; p * NR + NR <= n1 && p * NR + NR <= N; p++) {
            float *panel = dst + (size_t)p * K * NR;
            const int c0 = p * NR;
            int k = 0;
            for (; k + 16 <= K; k += 16)
                for (int h = 0; h < 2; h++) {
                    __m512 r[16];
                    for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(src + (size_t)(c0 + 16 * h + j) * ld + k);
                    transpose16(r);
                    for (int i = 0; i < 16; i++) _mm512_storeu_ps(panel + (size_t)(k + i) * NR + 16 * h, r[i]);
                }
            for (; k < K; k++)
                for (int j = 0; j < NR; j++) panel[(size_t)k * NR + j] = src[(size_t)(c0 + j) * ld + k];
        }
        n0 = p * NR;
        if (n0 >= n1) return;
    }
    /* plain, full panels: a row of 32 is two vector copies (a memcpy call per row was 2% of G2P's
     * step, with the rest of the packing another 4%) */
    if (!trans) {
        int p = n0 / NR;
        for (; p * NR + NR <= n1 && p * NR + NR <= N; p++) {
            float *panel = dst + (size_t)p * K * NR;
            const float *s = src + (size_t)p * NR;
            for (int k = 0; k < K; k++) {
                _mm512_store_ps(panel + (size_t)k * NR, _mm512_loadu_ps(s + (size_t)k * ld));
                _mm512_store_ps(panel + (size_t)k * NR + 16, _mm512_loadu_ps(s + (size_t)k * ld + 16));
            }
        }
        n0 = p * NR;
        if (n0 >= n1) return;
    }
#endif
    for (int p = n0 / NR; p * NR < n1; p++) {
        float *panel = dst + (size_t)p * K * NR;
        int c0 = p * NR, w = N - c0 < NR ? N - c0 : NR;
        if (!trans) {
            for (int k = 0; k < K; k++) {
                memcpy(panel + (size_t)k * NR, src + (size_t)k * ld + c0, (size_t)w * sizeof(float));
                for (int j = w; j < NR; j++) panel[(size_t)k * NR + j] = 0.0f;
            }
        } else {
            for (int j = 0; j < NR; j++) {
                const float *col = src + (size_t)(c0 + j) * ld;
                if (j < w)
                    for (int k = 0; k < K; k++) panel[(size_t)k * NR + j] = col[k];
                else
                    for (int k = 0; k < K; k++) panel[(size_t)k * NR + j] = 0.0f;
            }
        }
    }
}

#ifdef __AVX512F__
/* c0, c1 (rows i < mr, 32 columns) += A[i, 0:K] x the K panel rows at P, k in order. */
static inline __attribute__((always_inline)) void kernel_rows(const int mr, int K, const float *A, int lda, const float *P,
                                                              __m512 c0[8], __m512 c1[8]) {
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_load_ps(P + (size_t)k * 32), b1 = _mm512_load_ps(P + (size_t)k * 32 + 16);
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            __m512 a = _mm512_set1_ps(A[(size_t)i * lda + k]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
    }
}

static inline __attribute__((always_inline)) void kernel(const int mr, int K, const float *A, int lda, int K2,
                                                         const float *A2, int lda2, const float *P, float *C, int ldc,
                                                         int w, int acc) {
    __m512 c0[8], c1[8];
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    kernel_rows(mr, K, A, lda, P, c0, c1);
    /* rows K.. of the panel from the second source, into the same sums in the same order */
    kernel_rows(mr, K2, A2, lda2, P + (size_t)K * 32, c0, c1);
    __mmask16 m0 = w >= 16 ? 0xFFFF : (__mmask16)((1u << w) - 1);
    __mmask16 m1 = w >= 32 ? 0xFFFF : w > 16 ? (__mmask16)((1u << (w - 16)) - 1) : 0;
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) {
        float *c = C + (size_t)i * ldc;
        if (acc) {
            c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, c));
            c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, c + 16));
        }
        _mm512_mask_storeu_ps(c, m0, c0[i]);
        _mm512_mask_storeu_ps(c + 16, m1, c1[i]);
    }
}
#endif

/* Both entry points, inlined into each: rnnc_pgemm's constant K2 = 0 drops the second loop. */
static inline __attribute__((always_inline)) void pgemm_body(int M, int K, const float *A, int lda, int K2,
                                                             const float *A2, int lda2, int n0, int n1,
                                                             const float *P, float *C, int ldc, int accumulate) {
    const int NR = RNNC_PGEMM_NR, KP = K + K2;
    for (int c0 = n0; c0 < n1; c0 += NR) {
        const float *panel = P + (size_t)(c0 / NR) * KP * NR;
        int w = n1 - c0 < NR ? n1 - c0 : NR;
        for (int i0 = 0; i0 < M; i0 += 8) {
            int mr = M - i0 < 8 ? M - i0 : 8;
            const float *a = A + (size_t)i0 * lda, *a2 = A2 ? A2 + (size_t)i0 * lda2 : NULL;
            float *c = C + (size_t)i0 * ldc + c0;
#ifdef __AVX512F__
            switch (mr) {
            case 8: kernel(8, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            case 7: kernel(7, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            case 6: kernel(6, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            case 5: kernel(5, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            case 4: kernel(4, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            case 3: kernel(3, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            case 2: kernel(2, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            default: kernel(1, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate); break;
            }
#else
            for (int i = 0; i < mr; i++) {
                float acc[32] = {0};
                for (int k = 0; k < KP; k++) {
                    float av = k < K ? a[(size_t)i * lda + k] : a2[(size_t)i * lda2 + (k - K)];
                    for (int j = 0; j < 32; j++) acc[j] += av * panel[(size_t)k * 32 + j];
                }
                float *ci = c + (size_t)i * ldc;
                for (int j = 0; j < w; j++) ci[j] = accumulate ? ci[j] + acc[j] : acc[j];
            }
#endif
        }
    }
}

void rnnc_pgemm2(int M, int K, const float *A, int lda, int K2, const float *A2, int lda2, int n0, int n1,
                 const float *P, float *C, int ldc, int accumulate) {
    pgemm_body(M, K, A, lda, K2, A2, lda2, n0, n1, P, C, ldc, accumulate);
}

void rnnc_pgemm(int M, int K, int n0, int n1, const float *A, int lda, const float *P, float *C, int ldc,
                int accumulate) {
    pgemm_body(M, K, A, lda, 0, NULL, 0, n0, n1, P, C, ldc, accumulate);
}
