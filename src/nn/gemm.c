/* Products over all the tokens of a batch (nn/gemm.h).
 *
 * Weight gradients, C += A^T B over K rows.
 * Two ways, picked per call (rnnc_wgrad_own):
 * - rnnc's own AVX-512 kernel: 8 x 32 tiles of C, each summed in registers over blocks of 256
 *   rows of K (A's 8 values of a row broadcast, B's 32 read as they lie) and added to C block by
 *   block. A work item is 64 rows of C with all its 32-column panels (or one panel, when there are
 *   too few row groups to share); it copies each 256-row block of its 64 columns of A into a
 *   contiguous scratch first, as A's rows lie 4 KiB apart in these models and the prefetchers do
 *   not follow 32-byte reads at that stride. Items go to the threads as they come free. Every
 *   element is the same sum in the same order whatever the thread count. A small output (at most
 *   2^17 elements) over many rows (2,048 or more) is summed in slices of 1,024 rows instead: each
 *   slice's whole [M, N] by one thread into scratch, reading its rows of A and B once, then C +=
 *   slice 0 + slice 1 + ..., in that order; the cut is fixed, so this too is the same sum on any
 *   thread count. The own kernel is taken where OpenBLAS runs without AVX-512 kernels
 *   (OPENBLAS_CORETYPE=Haswell, this machine's setting, or a core it does not know). On this
 *   machine (2026-12-05; one core / two; OpenBLAS's OpenMP build, as rnnc links it) it ran G2P's
 *   shapes ([1024, 256], [1024, 64] and [43, 256] over 480 rows) at 158-206 / 222-307 GFLOP/s
 *   against 79-102 / 68-171 for OpenBLAS's Haswell kernels, and inside the G2P step (caches
 *   holding other data) at 139-144 / 255-260 against 89-92 / 157-163; LSTM 512's [2048, 512] over
 *   4,096 rows at 144-158 / 283-302 against 97-103 / 177-193; LSTM 128's [512, 128] over 4,096 at
 *   171 / 296 against 99 / 176. With OpenBLAS's AVX-512 kernels (SkylakeX, Cooperlake; the
 *   variable unset) BLAS is as fast or faster and keeps every shape: one core 177-187 against
 *   159-183, two threads [2048, 512] over 4,096 at 286-362 against 198-331, [512, 128] over 4,096
 *   (the row split below) at 342-361 against 305-317, and G2P's step made its weight gradients at
 *   242-250 against 214-225.
 *   An AVX2 + FMA build has the same kernel in 4 x 16 tiles (two per 32-column panel), each element
 *   the same sum as the AVX-512 tile's; the tiles read each 256-row block of B's 32 columns as two
 *   contiguous 16-column halves (a pgemm panel), from L1 (read where they lie, N floats apart, a
 *   half's lines crowd a few cache sets: that first port ran 0.93-0.94 of BLAS), all of B packed
 *   so once per call where several groups of rows read it (wg_prepack_fill).
 *   It is taken there in every case: against OpenBLAS's Zen kernels on a Zen 3 host (2026-12-06,
 *   paired rounds) LSTM 512x2 trained 1.13x as fast, LSTM 128x1 1.06x, G2P's step 0.99x on two
 *   threads and 0.98x on one, and the weight gradients stop depending on the thread count.
 * - BLAS. OpenBLAS splits a product among its threads by tiles of the output. A weight gradient of
 *   a small layer has a thin output and a long sum ([512, 64] over 4,096 tokens for LSTM 128's
 *   W_ih), so each thread gets a sliver of C and repacks most of the inputs: on two threads such
 *   products ran at 68 GFLOP/s ([512,64]), 102 ([512,128]) and 89 ([96,128], the LM head). Here,
 *   for outputs of at most 2^17 elements, the K rows are split instead: every thread runs the whole
 *   output over its share of the rows on one thread, the first adding straight into C and the
 *   others into scratch, and the partial sums are then added in thread order: 130, 155 and 163
 *   GFLOP/s in the same run. For wider outputs BLAS's own split is as fast (measured at [512,512]
 *   and up), so they go to BLAS unchanged. The sum is the same for a given thread count. */
#include "nn/gemm.h"
#include "core/bigmem.h"
#include "core/cpu.h"
#include "nn/pgemm.h"

#include <cblas.h>
/* rnnc's own weight-gradient kernel: AVX-512 (8 x 32 tiles) where the build targets it; AVX2 +
 * FMA (4 x 16 tiles over a packed copy of B) where the build targets that, and in other x86 builds
 * (no -march=native: a distribution's package, the sanitizer build) compiled for that target alone
 * and taken when the CPU has AVX2 and FMA, as pgemm.c does */
#if defined(__AVX512F__)
#define WG_OWN 512
#include <immintrin.h>
#elif defined(__AVX2__) && defined(__FMA__)
#define WG_OWN 2
#define WG_TARGET
#include <immintrin.h>
#elif (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define WG_OWN 2
#define WG_TARGET __attribute__((target("avx2,fma")))
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* cblas.h pulls in complex.h, whose macro I would shadow. */
#undef I

#define MAX_SPLIT 16
#define SPLIT_MAX ((size_t)1 << 17) /* outputs up to this many elements: the rows are split (BLAS path) */

static rnnc_wgrad_path wgrad_path = RNNC_WGRAD_AUTO;

void rnnc_wgrad_set_path(rnnc_wgrad_path path) { wgrad_path = path; }

#ifdef WG_OWN
#define WG_KC 256 /* rows of K a tile sums in registers before adding into C */
#define WG_MG 64  /* rows of C a work item covers */
#define WG_KS 1024 /* rows of K in a slice, for small outputs over many rows (wg_sliced) */
/* a thread's scratch: a block of A's columns (WG_KC x WG_MG) and, for the AVX2 tiles, of B's (WG_KC x 32) */
#define WG_SCRATCH ((size_t)WG_KC * (WG_MG + 32))
#define WG_BLOCK ((size_t)WG_KC * 32) /* floats of one packed block of B (AVX2 tiles): WG_KC rows x 32 columns */
_Static_assert(WG_KS % WG_KC == 0, "a slice of K is whole blocks of K (the packed B's blocks are shared)");

/* Small outputs over many rows are summed in slices of K (wgrad_own). */
static bool wg_sliced(int M, int N, int K) { return (size_t)M * N <= SPLIT_MAX && K >= 2 * WG_KS; }

#if WG_OWN == 512
/* C[mr, w] += A[kc, mr]^T B[kc, w] for w <= 32 columns (masks m0, m1). */
static inline __attribute__((always_inline)) void wg_tile(const int mr, int kc, const float *a, int lda,
                                                          const float *b, int ldb, float *c, int ldc, __mmask16 m0,
                                                          __mmask16 m1) {
    __m512 c0[8], c1[8];
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    for (int k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            const __m512 x = _mm512_set1_ps(a[i]);
            c0[i] = _mm512_fmadd_ps(x, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(x, b1, c1[i]);
        }
        a += lda;
        b += ldb;
    }
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, ci)));
        _mm512_mask_storeu_ps(ci + 16, m1, _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, ci + 16)));
    }
}

/* Rows [i0, i1) (at most WG_MG) and the 32-column panels [p0, p1) of C, over all K in blocks of
 * WG_KC rows: each block of A's columns i0..i1 is first copied into ap (contiguous rows of WG_MG,
 * read at a stride the prefetchers follow), then every tile of the item adds that block's sum. */
static void wg_item(int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int i0, int i1,
                    int p0, int p1, float *ap, const float *bpk) {
    (void)bpk; /* the AVX-512 tiles read B in place */
    const int m = i1 - i0;
    for (int k0 = 0; k0 < K; k0 += WG_KC) {
        const int kc = K - k0 < WG_KC ? K - k0 : WG_KC;
        for (int k = 0; k < kc; k++) memcpy(ap + (size_t)k * WG_MG, A + (size_t)(k0 + k) * lda + i0, (size_t)m * sizeof(float));
        for (int p = p0; p < p1; p++) {
            const int j0 = p * 32, w = N - j0 < 32 ? N - j0 : 32;
            const __mmask16 m0 = w >= 16 ? 0xFFFF : (__mmask16)((1u << w) - 1);
            const __mmask16 m1 = w >= 32 ? 0xFFFF : w > 16 ? (__mmask16)((1u << (w - 16)) - 1) : 0;
            for (int i = 0; i < m; i += 8) {
                const float *a = ap + i, *b = B + (size_t)k0 * ldb + j0;
                float *c = C + (size_t)(i0 + i) * ldc + j0;
                switch (m - i < 8 ? m - i : 8) {
                case 8: wg_tile(8, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                case 7: wg_tile(7, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                case 6: wg_tile(6, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                case 5: wg_tile(5, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                case 4: wg_tile(4, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                case 3: wg_tile(3, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                case 2: wg_tile(2, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                default: wg_tile(1, kc, a, WG_MG, b, ldb, c, ldc, m0, m1); break;
                }
            }
        }
    }
}

#else
/* AVX2: C[mr, 16] += A[kc, mr]^T Bp[kc, 16] for mr <= 6 rows, Bp one half of a packed B block (16
 * floats a k, contiguous). Each element is the same sum as the AVX-512 tile's: multiply-adds over
 * the block's k from zero, then added into C; columns past w are computed on zeros and not stored. */
static inline __attribute__((always_inline)) WG_TARGET void wg_tile2(const int mr, int kc, const float *a,
                                                                     const float *bp, float *c, int ldc, int w) {
    __m256 c0[6], c1[6];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) c0[i] = c1[i] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(bp + (size_t)k * 16), b1 = _mm256_load_ps(bp + (size_t)k * 16 + 8);
        __asm__("" : "+x"(b0), "+x"(b1)); /* kept in registers (see pgemm.c) */
#pragma GCC unroll 6
        for (int i = 0; i < mr; i++) {
            const __m256 x = _mm256_broadcast_ss(a + (size_t)k * WG_MG + i);
            c0[i] = _mm256_fmadd_ps(x, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(x, b1, c1[i]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        if (w == 16) {
            _mm256_storeu_ps(ci, _mm256_add_ps(c0[i], _mm256_loadu_ps(ci)));
            _mm256_storeu_ps(ci + 8, _mm256_add_ps(c1[i], _mm256_loadu_ps(ci + 8)));
        } else {
            float t[16];
            _mm256_storeu_ps(t, c0[i]);
            _mm256_storeu_ps(t + 8, c1[i]);
            for (int j = 0; j < w; j++) ci[j] += t[j];
        }
    }
}

/* The AVX2 wg_item: as the AVX-512 one above, and the tiles read each 32-column block of B's kc rows
 * as one pgemm panel (rnnc_pgemm_pack): on a CPU with AVX2 and FMA, the only one this runs on, that
 * is two contiguous kc x 16 halves, zeros past N (pgemm.h), read from L1 by the tiles of every four
 * rows (B's own rows are N floats apart, a stride that maps a half's kc lines onto a few cache
 * sets). The blocks come packed in bpk (wg_prepack: block (kb, p) of WG_KC rows at
 * bpk + (kb * panels + p) * WG_BLOCK), or, where bpk is NULL, are packed here into the scratch. */
static WG_TARGET void wg_item(int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, int i0,
                              int i1, int p0, int p1, float *ap, const float *bpk) {
    const int m = i1 - i0, panels = (N + 31) / 32;
    float *bp = ap + (size_t)WG_KC * WG_MG;
    for (int k0 = 0; k0 < K; k0 += WG_KC) {
        const int kc = K - k0 < WG_KC ? K - k0 : WG_KC;
        for (int k = 0; k < kc; k++) memcpy(ap + (size_t)k * WG_MG, A + (size_t)(k0 + k) * lda + i0, (size_t)m * sizeof(float));
        for (int p = p0; p < p1; p++) {
            const int j0 = p * 32, w = N - j0 < 32 ? N - j0 : 32;
            const float *bb = bp;
            if (bpk) bb = bpk + ((size_t)(k0 / WG_KC) * panels + p) * WG_BLOCK;
            else rnnc_pgemm_pack(bp, B + (size_t)k0 * ldb + j0, ldb, 0, kc, w, 0, w);
            for (int h = 0; h < 2 && 16 * h < w; h++) {
                const int wh = w - 16 * h < 16 ? w - 16 * h : 16;
                const float *bh = bb + (size_t)h * kc * 16;
                for (int i = 0; i < m; i += 6) {
                    const float *a = ap + i;
                    float *c = C + (size_t)(i0 + i) * ldc + j0 + 16 * h;
                    switch (m - i < 6 ? m - i : 6) {
                    case 6: wg_tile2(6, kc, a, bh, c, ldc, wh); break;
                    case 5: wg_tile2(5, kc, a, bh, c, ldc, wh); break;
                    case 4: wg_tile2(4, kc, a, bh, c, ldc, wh); break;
                    case 3: wg_tile2(3, kc, a, bh, c, ldc, wh); break;
                    case 2: wg_tile2(2, kc, a, bh, c, ldc, wh); break;
                    default: wg_tile2(1, kc, a, bh, c, ldc, wh); break;
                    }
                }
            }
        }
    }
}
#endif

/* B packed once for the AVX2 tiles, where more than one group of rows would read it (each group
 * would pack every block again: with M = 4H = 1024 that is 16 copies of B): the buffer, or NULL
 * where the items pack their own (one group; the AVX-512 tiles, which read B in place; no memory). */
static float *wg_prepack_alloc(int M, int N, int K) {
#if WG_OWN == 2
    if (M <= WG_MG) return NULL;
    const size_t blocks = (size_t)((K + WG_KC - 1) / WG_KC) * (size_t)((N + 31) / 32);
    return rnnc_scratch_alloc(blocks * WG_BLOCK * sizeof(float));
#else
    (void)M, (void)N, (void)K;
    return NULL;
#endif
}

/* Fills wg_prepack_alloc's buffer (block (kb, p) at (kb * panels + p) * WG_BLOCK), the blocks shared
 * out over the threads of the caller's parallel region (an orphaned loop, whose end is a barrier). */
static void wg_prepack_fill(float *bpk, int N, int K, const float *B, int ldb) {
#if WG_OWN == 2
    if (!bpk) return;
    const int panels = (N + 31) / 32, blocks = (K + WG_KC - 1) / WG_KC * panels;
#pragma omp for schedule(static)
    for (int q = 0; q < blocks; q++) {
        const int k0 = q / panels * WG_KC, j0 = q % panels * 32;
        const int kc = K - k0 < WG_KC ? K - k0 : WG_KC, w = N - j0 < 32 ? N - j0 : 32;
        rnnc_pgemm_pack(bpk + (size_t)q * WG_BLOCK, B + (size_t)k0 * ldb + j0, ldb, 0, kc, w, 0, w);
    }
#else
    (void)bpk, (void)N, (void)K, (void)B, (void)ldb;
#endif
}

/* A small output over many rows (wg_sliced): slices of WG_KS rows (a fixed cut, whatever the
 * thread count), each slice's whole [M, N] summed into scratch by one thread, reading its rows of
 * A and B once from memory; then C += slice 0 + slice 1 + ..., in that order. */
static bool wgrad_slices(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                         int nth) {
    const int groups = (M + WG_MG - 1) / WG_MG, panels = (N + 31) / 32, S = (K + WG_KS - 1) / WG_KS;
    const size_t mn = (size_t)M * N;
    if (nth > S) nth = S;
    /* the scratch starts on a 64-byte boundary (the AVX2 tiles read their copy of B with aligned
     * loads) */
    const size_t parts = ((size_t)S * mn + 15) / 16 * 16;
    float *part = rnnc_scratch_alloc((parts + (size_t)nth * WG_SCRATCH) * sizeof(float));
    if (!part) return false;
    float *scratch = part + parts, *bpk = wg_prepack_alloc(M, N, K);
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        float *ap = scratch + (size_t)omp_get_thread_num() * WG_SCRATCH;
        wg_prepack_fill(bpk, N, K, B, ldb);
#pragma omp for schedule(dynamic, 1)
        for (int q = 0; q < S; q++) {
            const int k0 = q * WG_KS, kn = K - k0 < WG_KS ? K - k0 : WG_KS;
            float *P = part + (size_t)q * mn;
            memset(P, 0, mn * sizeof(float));
            for (int g = 0; g < groups; g++) {
                const int i0 = g * WG_MG, i1 = i0 + WG_MG < M ? i0 + WG_MG : M;
                wg_item(N, kn, A + (size_t)k0 * lda, lda, B + (size_t)k0 * ldb, ldb, P, N, i0, i1, 0, panels, ap,
                        bpk ? bpk + (size_t)(k0 / WG_KC) * panels * WG_BLOCK : NULL);
            }
        }
#pragma omp for schedule(static)
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            for (int q = 0; q < S; q++) {
                const float *p = part + (size_t)q * mn + (size_t)i * N;
#pragma omp simd
                for (int j = 0; j < N; j++) c[j] += p[j];
            }
        }
    }
    rnnc_scratch_free(bpk);
    rnnc_scratch_free(part);
    return true;
}

/* Returns false when the scratch cannot be allocated (the caller then takes BLAS). */
static bool wgrad_own(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    /* below about a million multiply-adds a second thread costs more than it brings */
    int nth = (double)M * N * K >= 1e6 && !omp_in_parallel() ? omp_get_max_threads() : 1;
    if (wg_sliced(M, N, K)) return wgrad_slices(M, N, K, A, lda, B, ldb, C, ldc, nth);
    /* an item is a group of rows with all panels (A read once) where there are groups enough to
     * share, else one panel of a group; the sums are the same either way */
    const int groups = (M + WG_MG - 1) / WG_MG, panels = (N + 31) / 32;
    const int per = groups >= 4 * nth ? panels : 1, items = groups * ((panels + per - 1) / per);
    if (nth > items) nth = items;
    float *scratch = rnnc_scratch_alloc((size_t)nth * WG_SCRATCH * sizeof(float));
    if (!scratch) return false;
    float *bpk = wg_prepack_alloc(M, N, K);
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        wg_prepack_fill(bpk, N, K, B, ldb);
#pragma omp for schedule(dynamic, 1)
        for (int q = 0; q < items; q++) {
            const int g = q % groups, p0 = q / groups * per, p1 = p0 + per < panels ? p0 + per : panels;
            const int i0 = g * WG_MG, i1 = i0 + WG_MG < M ? i0 + WG_MG : M;
            wg_item(N, K, A, lda, B, ldb, C, ldc, i0, i1, p0, p1, scratch + (size_t)omp_get_thread_num() * WG_SCRATCH,
                    bpk);
        }
    }
    rnnc_scratch_free(bpk);
    rnnc_scratch_free(scratch);
    return true;
}

#if WG_OWN == 512
/* Whether OpenBLAS runs AVX-512 kernels here (its core name, read once; OPENBLAS_CORETYPE sets it). */
static bool blas_has_avx512(void) {
    static int known = -1;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
        const char *core = openblas_get_corename();
        k = core && (strstr(core, "SkylakeX") || strstr(core, "Cooperlake") || strstr(core, "SapphireRapids") ||
                     strstr(core, "Zen4") || strstr(core, "Zen5"));
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k;
}
#endif
#endif

bool rnnc_wgrad_own(void) {
#if defined(WG_OWN) && WG_OWN == 512
    if (wgrad_path != RNNC_WGRAD_AUTO) return wgrad_path == RNNC_WGRAD_OWN;
    return !blas_has_avx512();
#elif defined(WG_OWN)
    if (!rnnc_cpu_avx2_fma()) return false;
    if (wgrad_path != RNNC_WGRAD_AUTO) return wgrad_path == RNNC_WGRAD_OWN;
    return true; /* against OpenBLAS's AVX2 kernels: as fast (docs/PERFORMANCE.md), and the same sums on any thread count */
#else
    return false;
#endif
}

void rnnc_wgrad(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    if (M < 1 || N < 1 || K < 1) return;
#ifdef WG_OWN
    if (rnnc_wgrad_own() && wgrad_own(M, N, K, A, lda, B, ldb, C, ldc)) return;
#endif
    const size_t mn = (size_t)M * N;
    int n = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (n > MAX_SPLIT) n = MAX_SPLIT;
    if (n > K / 256) n = K / 256; /* at least 256 rows each */
    float *part[MAX_SPLIT] = {0};
    bool ok = n > 1 && mn <= SPLIT_MAX;
    for (int t = 1; ok && t < n; t++) ok = (part[t] = rnnc_scratch_alloc(mn * sizeof(float))) != NULL;
    if (!ok) {
        for (int t = 1; t < n; t++) rnnc_scratch_free(part[t]);
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
    for (int t = 1; t < n; t++) rnnc_scratch_free(part[t]);
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

/* C's rows [r0, r1), columns [c0, c1) = bias[c0, c1). */
static void fill_bias(float *C, int ldc, const float *bias, int r0, int r1, int c0, int c1) {
    for (int i = r0; i < r1; i++) memcpy(C + (size_t)i * ldc + c0, bias + c0, (size_t)(c1 - c0) * sizeof(float));
}

/* C = A W (accumulate 0), C += A W (1), or C = bias + A W (bias not NULL, accumulate 1: the product
 * adds onto the broadcast bias): the bias is broadcast
 * by each work item into its own block of C just before the product adds onto it, so the same
 * numbers come out as from a broadcast of all rows first, without that serial pass over C. */
static void gemm_aw_on(int M, int N, int K, const float *A, int lda, const float *P, const float *bias, float *C,
                       int ldc, int accumulate);

static void gemm_aw(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw,
                    const float *bias, float *C, int ldc, int accumulate) {
    if (M < 1 || N < 1) return;
    if (K < 1) {
        if (bias) fill_bias(C, ldc, bias, 0, M, 0, N);
        else if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    const size_t psize = rnnc_pgemm_size(K, N);
    const bool small = psize <= ((size_t)1 << 18);
    float *P = NULL;
    if (rnnc_gemm_aw_packs(M, N, K)) P = rnnc_scratch_alloc(psize * sizeof(float));
    if (!P) {
        if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)M * N >= ((size_t)1 << 16) && !omp_in_parallel())
            for (int i = 0; i < M; i++) fill_bias(C, ldc, bias, i, i + 1, 0, N);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transw ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, W, ldw,
                    accumulate ? 1.0f : 0.0f, C, ldc);
        return;
    }
    const int NR = RNNC_PGEMM_NR, panels = (N + NR - 1) / NR;
    /* the packing is shared by the threads too where the product is big enough to be (a 1 MiB W
     * packed on one thread while the others waited took a quarter of G2P's input projections) */
#pragma omp parallel for schedule(static) if ((!small || M >= 256) && !omp_in_parallel())
    for (int c = 0; c < panels; c++) rnnc_pgemm_pack(P, W, ldw, transw, K, N, c * NR, c * NR + NR < N ? c * NR + NR : N);
    gemm_aw_on(M, N, K, A, lda, P, bias, C, ldc, accumulate);
    rnnc_scratch_free(P);
}

/* The product of gemm_aw on W already packed into P. */
static void gemm_aw_on(int M, int N, int K, const float *A, int lda, const float *P, const float *bias, float *C,
                       int ldc, int accumulate) {
    const int NR = RNNC_PGEMM_NR;
    int gcols = ((1 << 17) / K) / NR * NR; /* columns per group: 2^17 floats of panels */
    if (gcols < NR) gcols = NR;
    const int groups = (N + gcols - 1) / gcols, blocks = (M + AW_ROWS - 1) / AW_ROWS, items = groups * blocks;
#pragma omp parallel for schedule(dynamic, 1) if (items > 1 && !omp_in_parallel())
    for (int q = 0; q < items; q++) {
        const int g = q / blocks, b = q % blocks;
        const int r0 = b * AW_ROWS, m = M - r0 < AW_ROWS ? M - r0 : AW_ROWS;
        const int c0 = g * gcols, c1 = c0 + gcols < N ? c0 + gcols : N;
        if (bias) fill_bias(C, ldc, bias, r0, r0 + m, c0, c1);
        rnnc_pgemm(m, K, c0, c1, A + (size_t)r0 * lda, lda, P, C + (size_t)r0 * ldc, ldc, accumulate);
    }
}

void rnnc_gemm_aw_pack(float *P, const float *W, int ldw, int transw, int K, int N) {
    const int NR = RNNC_PGEMM_NR;
    for (int c = 0; c * NR < N; c++) rnnc_pgemm_pack(P, W, ldw, transw, K, N, c * NR, c * NR + NR < N ? c * NR + NR : N);
}

void rnnc_gemm_aw_packed(int M, int N, int K, const float *A, int lda, const float *P, float *C, int ldc,
                         int accumulate) {
    if (M < 1 || N < 1 || K < 1) return;
    gemm_aw_on(M, N, K, A, lda, P, NULL, C, ldc, accumulate);
}

void rnnc_gemm_aw(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw, float *C,
                  int ldc, int accumulate) {
    gemm_aw(M, N, K, A, lda, W, ldw, transw, NULL, C, ldc, accumulate);
}

void rnnc_gemm_aw_bias(int M, int N, int K, const float *A, int lda, const float *W, int ldw, int transw,
                       const float *bias, float *C, int ldc) {
    gemm_aw(M, N, K, A, lda, W, ldw, transw, bias, C, ldc, 1);
}

/* In column blocks, one per work item: the sum of a column runs over the rows in order in a local
 * accumulator, and is then added to db, so the block size (which only spreads the columns over
 * the threads) changes no number. Blocks are as wide as the threads allow up to 256 columns, 1 KiB
 * of each row: 64 columns read 256 bytes at the row stride, which the hardware prefetchers did not
 * follow (the head's bias gradient over 2,000 columns took 2.5% of an LSTM 2x256 LM's step, 2.1%
 * with 256). */
#define CS_MAX 256
void rnnc_colsum_add(float *db, float *db2, int cols2, const float *dg, size_t ld, size_t rows, int cols) {
    const bool par = rows * (size_t)cols >= ((size_t)1 << 15) && !omp_in_parallel();
    const int nth = par ? omp_get_max_threads() : 1;
    int width = (cols + nth - 1) / nth;
    width = width < 64 ? 64 : width > CS_MAX ? CS_MAX : (width + 15) / 16 * 16;
    const int blocks = (cols + width - 1) / width;
    if (!db2) cols2 = 0;
#pragma omp parallel for schedule(static) if (par && blocks > 1)
    for (int q = 0; q < blocks; q++) {
        const int k0 = q * width, n = cols - k0 < width ? cols - k0 : width;
        float acc[CS_MAX] = {0};
        for (size_t r = 0; r < rows; r++) {
            const float *row = dg + r * ld + k0;
#pragma omp simd
            for (int k = 0; k < n; k++) acc[k] += row[k];
        }
        for (int k = 0; k < n; k++) db[k0 + k] += acc[k];
        for (int k = 0; k < n && k0 + k < cols2; k++) db2[k0 + k] += acc[k];
    }
}
