/* The per-step product with pre-packed weights; see pgemm.h. With AVX-512 an 8 x 32 register
 * block (16 accumulators) walks down K, reading one 32-float row of the packed panel and
 * broadcasting 8 values of A per k; one or two rows walk two panels at once (few_block512), for
 * more independent chains. With AVX2 and FMA (16 registers of 8 floats) a 4 x 16 block
 * (8 accumulators, two vectors of a 16-float row, one broadcast) does the same over each half of
 * the panel, up to four rows at a time; that kernel's panels are packed half after half (pgemm.h).
 * Otherwise a plain loop, over either layout. In either kernel every element is
 * the same sum in the same order whichever block or thread computes it: fused multiply-adds over
 * k from zero, the second source after the first, then the old C added when accumulating. */
#include "nn/pgemm.h"
#include "core/cpu.h"

#include <string.h>

static int plain_only; /* rnnc_pgemm_set_plain: the tests' switch to the plain loops */

void rnnc_pgemm_set_plain(int on) { plain_only = on; }

/* Which kernel: AVX-512 when the build targets it; AVX2 when the build targets AVX2 and FMA; on
 * other x86 builds (no -march=native: RNNC_NATIVE=OFF, the sanitizer build, a distribution's
 * package) the AVX2 kernel compiled for that target alone and taken when the CPU has AVX2 and FMA,
 * else the plain loop. */
#if defined(__AVX512F__)
#include <immintrin.h>
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PGEMM_AVX2 1
#define AVX2_TARGET
#elif (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define PGEMM_AVX2 1
#define AVX2_TARGET __attribute__((target("avx2,fma")))
#endif

#ifdef PGEMM_AVX2
static inline int avx2_ok(void) { return rnnc_cpu_avx2_fma() && !plain_only; }
/* The AVX2 kernel's layout (pgemm.h): each panel as two K x 16 halves, one after the other. It
 * depends on the CPU alone, not on the tests' switch to the plain loops, which read and write the
 * same layout. */
static inline int split_layout(void) { return rnnc_cpu_avx2_fma(); }
#else
static inline int split_layout(void) { return 0; }
#endif

/* Element (k, j) of a panel of K rows, from the panel's start. */
static inline size_t pidx(int split, int K, int k, int j) {
    return split ? (size_t)(j >> 4) * (size_t)K * 16 + (size_t)k * 16 + (size_t)(j & 15) : (size_t)k * RNNC_PGEMM_NR + (size_t)j;
}

size_t rnnc_pgemm_index(int K, int k, int j) { return pidx(split_layout(), K, k, j); }

/* Rows k0..K-1 of the transposed full panel at column c0, element by element (the tails the
 * register transposes leave), in the given layout. */
static inline void panel_rows_t(float *panel, const float *src, int ld, int c0, int k0, int K, int split) {
    for (int k = k0; k < K; k++)
        for (int j = 0; j < RNNC_PGEMM_NR; j++) panel[pidx(split, K, k, j)] = src[(size_t)(c0 + j) * ld + k];
}

#if defined(__AVX512F__) || defined(PGEMM_AVX2)
/* The transposed packs' stream: asks n more cache lines of the row group at rows (rows ld floats
 * apart, lpr lines each) into L1, from line *line on in address order, and advances *line. */
static inline __attribute__((always_inline)) void prefetch_lines(const float *rows, int ld, int lpr, int *line, int n) {
    for (int l = 0; l < n; l++, ++*line)
        _mm_prefetch((const char *)(rows + (size_t)(*line / lpr) * ld + (size_t)(*line % lpr) * 16), _MM_HINT_T0);
}
#endif

#ifdef __AVX512F__
/* r[i] = column i of the 16 x 16 block r (rows in, columns out), in registers. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* now r[4q + c] holds, in each 128-bit lane L, element c of rows 4L'..: combine lanes */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}
#endif

#ifdef PGEMM_AVX2
/* r[i] = column i of the 8 x 8 block r (rows in, columns out), in registers. */
static inline __attribute__((always_inline)) AVX2_TARGET void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* u[4q + c] holds rows 4q..4q+3 of column c in its low lane and of column c + 4 in its high one */
#pragma GCC unroll 8
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* Full panel p (its 32 columns all inside W) with AVX2, transposed (a column of W is a row of src),
 * in the split layout (columns 16h..16h+15 as K x 16 from panel + 16 K h): 8 x 8 register
 * transposes, eight source rows at a time through all of K. The rows of a group lie one after the
 * other in memory when ld is K (W_hh, W_ih); while a group is transposed the next one (for the
 * last, the next panel's first, from next, NULL for none) is asked into L1 four lines a transpose,
 * in address order, so the weights stream in from L3 as one sequential read instead of as 32
 * (or 8) strided ones. Against all 32 rows at once, 8 columns at a time: [1024 x 256] from L3
 * 150-203 -> 134-159 us (rnnc_pgemm_pack alone, interleaved, best of 60). The loops are unrolled
 * by hand (-O2 does not), or the eight vectors went through the stack (in L1: 16 -> 10-14 us). */
static AVX2_TARGET void panel_avx2_t(float *panel, const float *src, int ld, int K, int c0, const float *next) {
    const int K8 = K & ~7, lpr = (K + 15) / 16; /* lpr: the cache lines of a source row */
    for (int q = 0; q < 4; q++) { /* columns 8q..8q+7: half q / 2, offset 8 (q % 2) in it */
        float *half = panel + (size_t)(q >> 1) * K * 16 + 8 * (q & 1);
        const float *rows = src + (size_t)(c0 + 8 * q) * ld, *nq = q < 3 ? rows + (size_t)8 * ld : next;
        int line = 0;
        for (int k = 0; k < K8; k += 8) {
            __m256 r[8];
            if (nq) prefetch_lines(nq, ld, lpr, &line, 4);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(rows + (size_t)j * ld + k);
            transpose8(r);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) _mm256_store_ps(half + (size_t)(k + i) * 16, r[i]);
        }
    }
    panel_rows_t(panel, src, ld, c0, K8, K, 1);
}

/* The np full panels from src's first column on, not transposed (row k of a panel is 32 floats of
 * row k of src), in the split layout: blocks of 16 rows of src, each copied into every panel
 * before the next, so src is read in address order a block at a time. Panel by panel, the K
 * rows of 128 bytes ld apart read W from L3 at 5 GB/s ([1024 x 256]: 403 -> 152 us; [256 x 1024]
 * 409 -> 122 us, as above). */
static AVX2_TARGET void panels_avx2_n(float *dst, const float *src, int ld, int K, int np) {
    const int KB = 16;
    for (int k0 = 0; k0 < K; k0 += KB) {
        const int k1 = K - k0 < KB ? K : k0 + KB;
        for (int p = 0; p < np; p++) {
            float *lo = dst + (size_t)p * K * RNNC_PGEMM_NR, *hi = lo + (size_t)K * 16;
            const float *s = src + (size_t)p * RNNC_PGEMM_NR;
            for (int k = k0; k < k1; k++) {
                const float *r = s + (size_t)k * ld;
                _mm256_store_ps(lo + (size_t)k * 16, _mm256_loadu_ps(r));
                _mm256_store_ps(lo + (size_t)k * 16 + 8, _mm256_loadu_ps(r + 8));
                _mm256_store_ps(hi + (size_t)k * 16, _mm256_loadu_ps(r + 16));
                _mm256_store_ps(hi + (size_t)k * 16 + 8, _mm256_loadu_ps(r + 24));
            }
        }
    }
}
#endif

#ifdef __AVX512F__
/* Full panel p (its 32 columns all inside W) with AVX-512, transposed (a column of W is a row of
 * src): 16 x 16 register transposes, sixteen source rows (one half of the panel) at a time through
 * all of K, with the next sixteen (for the second half, the next panel's first, from next, NULL
 * for none) asked into L1 a line per row a transpose, in address order: the AVX2 pack's stream
 * (panel_avx2_t) with twice its rows. */
static void panel_avx512_t(float *panel, const float *src, int ld, int K, int c0, const float *next) {
    const int NR = RNNC_PGEMM_NR, K16 = K & ~15, lpr = (K + 15) / 16; /* lpr: cache lines a source row */
    for (int h = 0; h < 2; h++) {
        const float *rows = src + (size_t)(c0 + 16 * h) * ld, *nh = h == 0 ? rows + (size_t)16 * ld : next;
        int line = 0;
        for (int k = 0; k < K16; k += 16) {
            __m512 r[16];
            if (nh) prefetch_lines(nh, ld, lpr, &line, 16);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(rows + (size_t)j * ld + k);
            transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) _mm512_storeu_ps(panel + (size_t)(k + i) * NR + 16 * h, r[i]);
        }
    }
    panel_rows_t(panel, src, ld, c0, K16, K, 0);
}

/* The np full panels from src's first column on, not transposed (row k of a panel is 32 floats of
 * row k of src): blocks of 16 rows of src, each copied into every panel before the next, so src is
 * read in address order a block at a time rather than K rows ld apart a panel (panels_avx2_n's
 * order, in this kernel's layout). */
static void panels_avx512_n(float *dst, const float *src, int ld, int K, int np) {
    const int NR = RNNC_PGEMM_NR, KB = 16;
    for (int k0 = 0; k0 < K; k0 += KB) {
        const int k1 = K - k0 < KB ? K : k0 + KB;
        for (int p = 0; p < np; p++) {
            float *panel = dst + (size_t)p * K * NR;
            const float *s = src + (size_t)p * NR;
            for (int k = k0; k < k1; k++) {
                _mm512_store_ps(panel + (size_t)k * NR, _mm512_loadu_ps(s + (size_t)k * ld));
                _mm512_store_ps(panel + (size_t)k * NR + 16, _mm512_loadu_ps(s + (size_t)k * ld + 16));
            }
        }
    }
}
#endif

/* The vector packs of this build (the AVX-512 ones, or the AVX2 ones where the CPU has AVX2 and
 * FMA), off under the tests' switch to the plain loops. */
#if defined(__AVX512F__)
static inline int vec_pack_ok(void) { return !plain_only; }
#define panels_vec_n panels_avx512_n
#define panel_vec_t panel_avx512_t
#elif defined(PGEMM_AVX2)
static inline int vec_pack_ok(void) { return avx2_ok(); }
#define panels_vec_n panels_avx2_n
#define panel_vec_t panel_avx2_t
#endif

void rnnc_pgemm_pack(float *dst, const float *src, int ld, int trans, int K, int N, int n0, int n1) {
    const int NR = RNNC_PGEMM_NR;
    /* the full panels with this build's and CPU's vector code, if any, the rest with the plain loop */
    const int lim = n1 < N ? n1 : N, full = lim > n0 ? (lim - n0) / NR : 0;
#if defined(__AVX512F__) || defined(PGEMM_AVX2)
    if (vec_pack_ok()) {
        if (!trans) panels_vec_n(dst + (size_t)(n0 / NR) * K * NR, src + n0, ld, K, full);
        else
            for (int p = 0; p < full; p++)
                panel_vec_t(dst + (size_t)((n0 + p * NR) / NR) * K * NR, src, ld, K, n0 + p * NR,
                            p + 1 < full ? src + (size_t)(n0 + (p + 1) * NR) * ld : NULL);
        n0 += full * NR;
    }
#endif
    const int split = split_layout();
    for (int p = n0 / NR; p * NR < n1; p++) {
        float *panel = dst + (size_t)p * K * NR;
        int c0 = p * NR, w = N - c0 < NR ? N - c0 : NR;
        if (!split && !trans) { /* row by row: memcpy */
            for (int k = 0; k < K; k++) {
                memcpy(panel + (size_t)k * NR, src + (size_t)k * ld + c0, (size_t)w * sizeof(float));
                for (int j = w; j < NR; j++) panel[(size_t)k * NR + j] = 0.0f;
            }
            continue;
        }
        for (int j = 0; j < NR; j++) {
            if (j >= w) {
                for (int k = 0; k < K; k++) panel[pidx(split, K, k, j)] = 0.0f;
            } else if (trans) {
                const float *col = src + (size_t)(c0 + j) * ld;
                for (int k = 0; k < K; k++) panel[pidx(split, K, k, j)] = col[k];
            } else {
                for (int k = 0; k < K; k++) panel[pidx(split, K, k, j)] = src[(size_t)k * ld + c0 + j];
            }
        }
    }
}

#ifdef __AVX512F__
/* c0, c1 (rows i < mr, 32 columns) += A[i, 0:K] x the K panel rows at P, k in order; with use_pf
 * each k also asks for the line at pf + k * pfs to come into L2 (pgemm_body's share of the next
 * panel). */
static inline __attribute__((always_inline)) void kernel_rows(const int mr, int K, const float *A, int lda, const float *P,
                                                              __m512 c0[8], __m512 c1[8], const int use_pf,
                                                              const float *pf, int pfs) {
    for (int k = 0; k < K; k++) {
        if (use_pf) _mm_prefetch((const char *)(pf + (size_t)k * pfs), _MM_HINT_T1);
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
                                                         int w, int acc, const int use_pf, const float *pf, int pfs) {
    __m512 c0[8], c1[8];
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    kernel_rows(mr, K, A, lda, P, c0, c1, use_pf, pf, pfs);
    /* rows K.. of the panel from the second source, into the same sums in the same order */
    kernel_rows(mr, K2, A2, lda2, P + (size_t)K * 32, c0, c1, use_pf, use_pf ? pf + (size_t)K * pfs : pf, pfs);
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

/* One function per row count, each with its own register allocation. Inlined into pgemm_body
 * beside every other kernel, GCC kept the eight row offsets on the stack and reloaded each per k:
 * nine extra loads beside the ten vector ones, 160-165 GFLOP/s against a multiply-add peak of 223
 * on a Golden Cove core (panel in L1). Out of line they stay in registers: 172-190. Each row count
 * also has a form that brings its share of the next panel into L2 (kernel_pf_m, pgemm_body). */
typedef void (*kernel_fn)(int K, const float *A, int lda, int K2, const float *A2, int lda2, const float *P, float *C,
                          int ldc, int w, int acc, const float *pf, int pfs);
#define KERNEL_MR(m) \
    static __attribute__((noinline)) void kernel_##m(int K, const float *A, int lda, int K2, const float *A2, int lda2, \
                                                     const float *P, float *C, int ldc, int w, int acc, \
                                                     const float *pf, int pfs) { \
        kernel(m, K, A, lda, K2, A2, lda2, P, C, ldc, w, acc, 0, pf, pfs); \
    } \
    static __attribute__((noinline)) void kernel_pf_##m(int K, const float *A, int lda, int K2, const float *A2, \
                                                        int lda2, const float *P, float *C, int ldc, int w, int acc, \
                                                        const float *pf, int pfs) { \
        kernel(m, K, A, lda, K2, A2, lda2, P, C, ldc, w, acc, 1, pf, pfs); \
    }
KERNEL_MR(1) KERNEL_MR(2) KERNEL_MR(3) KERNEL_MR(4) KERNEL_MR(5) KERNEL_MR(6) KERNEL_MR(7) KERNEL_MR(8)
static const kernel_fn kernels[2][9] = {
    {NULL, kernel_1, kernel_2, kernel_3, kernel_4, kernel_5, kernel_6, kernel_7, kernel_8},
    {NULL, kernel_pf_1, kernel_pf_2, kernel_pf_3, kernel_pf_4, kernel_pf_5, kernel_pf_6, kernel_pf_7, kernel_pf_8}};

/* One or two rows over np <= 2 panels at once, ps floats apart: kernel(1) holds two accumulators,
 * one multiply-add chain each, and waits on their latency (one row of [256] x [256, 1024] streamed
 * its L2-resident panels at 115 GB/s where the core reads about 160); two panels give it four
 * chains (157 GB/s in a scratch loop), and two rows eight. Each element is still its own sum over
 * k in order, the second source after the first, as in kernel. */
static inline __attribute__((always_inline)) void few_rows512(const int mr, const int np, int K, const float *A,
                                                              int lda, const float *P, size_t ps, __m512 c[2][2][2]) {
    for (int k = 0; k < K; k++) {
        __m512 a[2];
#pragma GCC unroll 2
        for (int i = 0; i < mr; i++) a[i] = _mm512_set1_ps(A[(size_t)i * lda + k]);
#pragma GCC unroll 2
        for (int q = 0; q < np; q++) {
            const float *b = P + (size_t)q * ps + (size_t)k * 32;
            __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 2
            for (int i = 0; i < mr; i++) {
                c[i][q][0] = _mm512_fmadd_ps(a[i], b0, c[i][q][0]);
                c[i][q][1] = _mm512_fmadd_ps(a[i], b1, c[i][q][1]);
            }
        }
    }
}

static inline __attribute__((always_inline)) void few_pair512(const int mr, const int np, int K, const float *A, int lda,
                                                              int K2, const float *A2, int lda2, const float *P,
                                                              size_t ps, float *C, int ldc, int w, int acc) {
    __m512 c[2][2][2];
#pragma GCC unroll 2
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
        for (int q = 0; q < np; q++) c[i][q][0] = c[i][q][1] = _mm512_setzero_ps();
    few_rows512(mr, np, K, A, lda, P, ps, c);
    few_rows512(mr, np, K2, A2, lda2, P + (size_t)K * 32, ps, c);
#pragma GCC unroll 2
    for (int q = 0; q < np; q++) {
        const int wq = q < np - 1 ? 32 : w; /* the last panel's columns */
        __mmask16 m0 = wq >= 16 ? 0xFFFF : (__mmask16)((1u << wq) - 1);
        __mmask16 m1 = wq >= 32 ? 0xFFFF : wq > 16 ? (__mmask16)((1u << (wq - 16)) - 1) : 0;
#pragma GCC unroll 2
        for (int i = 0; i < mr; i++) {
            float *ci = C + (size_t)i * ldc + 32 * q;
            if (acc) {
                c[i][q][0] = _mm512_add_ps(c[i][q][0], _mm512_maskz_loadu_ps(m0, ci));
                c[i][q][1] = _mm512_add_ps(c[i][q][1], _mm512_maskz_loadu_ps(m1, ci + 16));
            }
            _mm512_mask_storeu_ps(ci, m0, c[i][q][0]);
            _mm512_mask_storeu_ps(ci + 16, m1, c[i][q][1]);
        }
    }
}

/* A product of M <= 2 rows over columns [n0, n1) (n0 a multiple of 32), two panels at a time. */
static __attribute__((noinline)) void few_block512(int M, int K, const float *A, int lda, int K2, const float *A2,
                                                   int lda2, int n0, int n1, const float *P, float *C, int ldc,
                                                   int acc) {
    const size_t ps = (size_t)(K + K2) * 32;
    for (int c0 = n0; c0 < n1; c0 += 64) {
        const float *Pc = P + (size_t)(c0 / 32) * ps;
        float *Cc = C + c0;
        const int two = n1 - c0 > 32, w = two ? (n1 - c0 - 32 < 32 ? n1 - c0 - 32 : 32) : n1 - c0;
        if (M == 1) {
            if (two) few_pair512(1, 2, K, A, lda, K2, A2, lda2, Pc, ps, Cc, ldc, w, acc);
            else few_pair512(1, 1, K, A, lda, K2, A2, lda2, Pc, ps, Cc, ldc, w, acc);
        } else {
            if (two) few_pair512(2, 2, K, A, lda, K2, A2, lda2, Pc, ps, Cc, ldc, w, acc);
            else few_pair512(2, 1, K, A, lda, K2, A2, lda2, Pc, ps, Cc, ldc, w, acc);
        }
    }
}
#endif

#ifdef PGEMM_AVX2
/* c[i][0..1] (rows i < mr <= 4, 16 columns) += A[i, 0:K] x the K rows of 16 of the half panel at
 * P, k in order. */
static inline __attribute__((always_inline)) AVX2_TARGET void kernel2_rows(const int mr, int K, const float *A, int lda,
                                                               const float *P, __m256 c[4][2]) {
    for (int k = 0; k < K; k++) {
        __m256 b0 = _mm256_load_ps(P + (size_t)k * 16), b1 = _mm256_load_ps(P + (size_t)k * 16 + 8);
        /* kept in registers: GCC otherwise folds the two loads into each row's multiply-adds, and
         * the eight loads a k then bound the loop (46-56 against 78-91 GFLOP/s on one core) */
        __asm__("" : "+x"(b0), "+x"(b1));
#pragma GCC unroll 4
        for (int i = 0; i < mr; i++) {
            __m256 a = _mm256_broadcast_ss(A + (size_t)i * lda + k);
            c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
        }
    }
}

/* 16 columns of one row of C from its two accumulators: w <= 16 of them written, or with acc
 * added to what C holds (the same adds in the same order in every kernel below). */
static inline __attribute__((always_inline)) AVX2_TARGET void store16(float *ci, __m256 lo, __m256 hi, int w,
                                                                      int acc) {
    if (w == 16) {
        if (acc) {
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(ci));
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(ci + 8));
        }
        _mm256_storeu_ps(ci, lo);
        _mm256_storeu_ps(ci + 8, hi);
    } else {
        float t[16];
        _mm256_storeu_ps(t, lo);
        _mm256_storeu_ps(t + 8, hi);
        for (int j = 0; j < w; j++) ci[j] = acc ? ci[j] + t[j] : t[j];
    }
}

/* Rows i < mr <= 4 of C's w <= 16 columns at C from the half panel at P. */
static inline __attribute__((always_inline)) AVX2_TARGET void kernel2(const int mr, int K, const float *A, int lda, int K2,
                                                          const float *A2, int lda2, const float *P, float *C,
                                                          int ldc, int w, int acc) {
    __m256 c[4][2];
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
    kernel2_rows(mr, K, A, lda, P, c);
    kernel2_rows(mr, K2, A2, lda2, P + (size_t)K * 16, c);
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++) store16(C + (size_t)i * ldc, c[i][0], c[i][1], w, acc);
}

/* One or two rows: kernel2's four-row block would hold two or four accumulators, one fused
 * multiply-add chain each, and the loop waits on their latency (a call of one row streamed the
 * panel at 42-49 GB/s, two rows no faster, where the core reads 58-70 from the caches). So these
 * take nh half panels at once (up to 64 columns for one row, 48 for two): 2 x mr x nh chains over
 * the same k. Each element is still its own sum over k in order, as in kernel2. */
static inline __attribute__((always_inline)) AVX2_TARGET void few_rows(const int mr, const int nh, int K,
                                                                       const float *A, int lda, const float *P,
                                                                       size_t hstride, __m256 c[2][4][2]) {
    for (int k = 0; k < K; k++) {
        __m256 a[2];
#pragma GCC unroll 2
        for (int i = 0; i < mr; i++) a[i] = _mm256_broadcast_ss(A + (size_t)i * lda + k);
#pragma GCC unroll 4
        for (int h = 0; h < nh; h++) {
            const float *b = P + (size_t)h * hstride + (size_t)k * 16;
            __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 2
            for (int i = 0; i < mr; i++) {
                c[i][h][0] = _mm256_fmadd_ps(a[i], b0, c[i][h][0]);
                c[i][h][1] = _mm256_fmadd_ps(a[i], b1, c[i][h][1]);
            }
        }
    }
}

/* Rows i < mr <= 2 of C's columns from nh <= 4 (mr 1) or 3 (mr 2) consecutive half panels, the
 * first at P, hstride floats apart; the last one's w <= 16 columns, the others 16 wide. */
static inline __attribute__((always_inline)) AVX2_TARGET void kernel2_few(const int mr, const int nh, int K,
                                                                          const float *A, int lda, int K2,
                                                                          const float *A2, int lda2, const float *P,
                                                                          size_t hstride, float *C, int ldc, int w,
                                                                          int acc) {
    __m256 c[2][4][2];
#pragma GCC unroll 2
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int h = 0; h < nh; h++) c[i][h][0] = c[i][h][1] = _mm256_setzero_ps();
    few_rows(mr, nh, K, A, lda, P, hstride, c);
    few_rows(mr, nh, K2, A2, lda2, P + (size_t)K * 16, hstride, c);
#pragma GCC unroll 2
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int h = 0; h < nh; h++)
            store16(C + (size_t)i * ldc + 16 * h, c[i][h][0], c[i][h][1], h < nh - 1 ? 16 : w, acc);
}

/* A product of M <= 2 rows over columns [n0, n1) (n0 a multiple of 32): kernel2_few across panels. */
static AVX2_TARGET void few_block(int M, int K, const float *A, int lda, int K2, const float *A2, int lda2, int n0,
                                  int n1, const float *P, float *C, int ldc, int acc) {
    const size_t hs = (size_t)(K + K2) * 16;
    const int per = M == 1 ? 4 : 3, halves = (n1 - n0 + 15) / 16;
    const float *P0 = P + (size_t)(n0 / 32) * 2 * hs;
    for (int q = 0; q < halves; q += per) {
        const int nh = halves - q < per ? halves - q : per, col = n0 + 16 * q;
        const int w = n1 - (col + 16 * (nh - 1)) < 16 ? n1 - (col + 16 * (nh - 1)) : 16;
        const float *Pq = P0 + (size_t)q * hs;
        float *Cq = C + col;
        if (M == 1) {
            switch (nh) {
            case 4: kernel2_few(1, 4, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            case 3: kernel2_few(1, 3, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            case 2: kernel2_few(1, 2, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            default: kernel2_few(1, 1, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            }
        } else {
            switch (nh) {
            case 3: kernel2_few(2, 3, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            case 2: kernel2_few(2, 2, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            default: kernel2_few(2, 1, K, A, lda, K2, A2, lda2, Pq, hs, Cq, ldc, w, acc); break;
            }
        }
    }
}

/* Rows i < mr <= 8 of C's w <= 32 columns: each 16-column half, four (or three) rows at a time
 * (the half panel, (K + K2) x 64 contiguous bytes, read again from L1 or L2 for the next rows);
 * a last one or two rows over both halves at once (kernel2_few). */
static AVX2_TARGET void kernel2_block(int mr, int K, const float *a, int lda, int K2, const float *a2, int lda2,
                                      const float *panel, float *C, int ldc, int w, int acc) {
    const int r4 = mr == 3 || mr == 7 ? mr : mr & ~3; /* rows for kernel2 */
    for (int h = 0; h < 2 && 16 * h < w && r4 > 0; h++) {
        const int wh = w - 16 * h < 16 ? w - 16 * h : 16;
        const float *P = panel + (size_t)h * (size_t)(K + K2) * 16;
        for (int r = 0; r < r4; r += 4) {
            const float *ar = a + (size_t)r * lda, *ar2 = a2 ? a2 + (size_t)r * lda2 : NULL;
            float *cr = C + (size_t)r * ldc + 16 * h;
            if (r4 - r == 3) kernel2(3, K, ar, lda, K2, ar2, lda2, P, cr, ldc, wh, acc);
            else kernel2(4, K, ar, lda, K2, ar2, lda2, P, cr, ldc, wh, acc);
        }
    }
    if (r4 == mr) return;
    const size_t hs = (size_t)(K + K2) * 16;
    const float *ar = a + (size_t)r4 * lda, *ar2 = a2 ? a2 + (size_t)r4 * lda2 : NULL;
    float *cr = C + (size_t)r4 * ldc;
    const int wl = w > 16 ? w - 16 : w;
    if (mr - r4 == 1) {
        if (w > 16) kernel2_few(1, 2, K, ar, lda, K2, ar2, lda2, panel, hs, cr, ldc, wl, acc);
        else kernel2_few(1, 1, K, ar, lda, K2, ar2, lda2, panel, hs, cr, ldc, wl, acc);
    } else {
        if (w > 16) kernel2_few(2, 2, K, ar, lda, K2, ar2, lda2, panel, hs, cr, ldc, wl, acc);
        else kernel2_few(2, 1, K, ar, lda, K2, ar2, lda2, panel, hs, cr, ldc, wl, acc);
    }
}
#endif

/* Both entry points, inlined into each: rnnc_pgemm's constant K2 = 0 drops the second loop. */
static inline __attribute__((always_inline)) void pgemm_body(int M, int K, const float *A, int lda, int K2,
                                                             const float *A2, int lda2, int n0, int n1,
                                                             const float *P, float *C, int ldc, int accumulate) {
    const int NR = RNNC_PGEMM_NR, KP = K + K2;
    /* the kernel, chosen once per call (not per block: the dispatching build's check is an atomic load) */
#ifdef __AVX512F__
    const int use512 = !plain_only;
#endif
#ifdef PGEMM_AVX2
    const int use2 = avx2_ok();
#endif
    const int split = split_layout();
    if (M < 1) return; /* the few-row paths below would write one or two rows */
#ifdef __AVX512F__
    if (use512 && M <= 2) {
        few_block512(M, K, A, lda, K2, A2, lda2, n0, n1, P, C, ldc, accumulate);
        return;
    }
#endif
#ifdef PGEMM_AVX2
    if (use2 && M <= 2) {
        few_block(M, K, A, lda, K2, A2, lda2, n0, n1, P, C, ldc, accumulate);
        return;
    }
#endif
    /* Where a panel serves two to four blocks of rows (the per-step products of a recurrent layer,
     * 16 to 32 rows), the blocks together bring the next panel of the call into L2, each its
     * share (pfs floats a k): the first block of a panel then finds it there instead of waiting on
     * L3, where a large layer's W_hh lives (an LSTM 512's is 4 MiB, a Golden Cove core's L2 2 MiB).
     * One block has no time to hide the fetch in; from five blocks on (the big products' 64-row
     * items, whose panels the threads share) the hints cost more than they saved. Hints only: no
     * number changes. The last block takes what the others leave of the panel's 32 floats a k
     * (10 of them with three blocks), so no hint points past the next panel, which may be P's last. */
    const int nblk = (M + 7) / 8, pfs = nblk > 1 && nblk <= 4 ? (NR + nblk - 1) / nblk : 0;
    for (int c0 = n0; c0 < n1; c0 += NR) {
        const float *panel = P + (size_t)(c0 / NR) * KP * NR;
        const int more = pfs && c0 + NR < n1;
        int w = n1 - c0 < NR ? n1 - c0 : NR;
        for (int i0 = 0; i0 < M; i0 += 8) {
            int mr = M - i0 < 8 ? M - i0 : 8;
            const float *a = A + (size_t)i0 * lda, *a2 = A2 ? A2 + (size_t)i0 * lda2 : NULL;
            float *c = C + (size_t)i0 * ldc + c0;
#ifdef __AVX512F__
            if (use512) {
                const int b = i0 / 8, bs = b == nblk - 1 ? NR - b * pfs : pfs; /* this block's share */
                const float *next = more ? panel + (size_t)KP * NR + (size_t)b * KP * pfs : NULL;
                kernels[more][mr](K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate, next, bs);
                continue;
            }
#else
            (void)more;
#endif
#ifdef PGEMM_AVX2
            if (use2) {
                kernel2_block(mr, K, a, lda, K2, a2, lda2, panel, c, ldc, w, accumulate);
                continue;
            }
#endif
            for (int i = 0; i < mr; i++) {
                float acc[32] = {0};
                for (int k = 0; k < KP; k++) {
                    float av = k < K ? a[(size_t)i * lda + k] : a2[(size_t)i * lda2 + (k - K)];
                    for (int j = 0; j < 32; j++) acc[j] += av * panel[pidx(split, KP, k, j)];
                }
                float *ci = c + (size_t)i * ldc;
                for (int j = 0; j < w; j++) ci[j] = accumulate ? ci[j] + acc[j] : acc[j];
            }
        }
    }
}

const char *rnnc_pgemm_kernel(void) {
#ifdef __AVX512F__
    if (!plain_only) return "AVX-512 8x32";
#endif
#ifdef PGEMM_AVX2
    if (avx2_ok()) return "AVX2+FMA 4x16";
#endif
    return "plain C";
}

void rnnc_pgemm2(int M, int K, const float *A, int lda, int K2, const float *A2, int lda2, int n0, int n1,
                 const float *P, float *C, int ldc, int accumulate) {
    pgemm_body(M, K, A, lda, K2, A2, lda2, n0, n1, P, C, ldc, accumulate);
}

void rnnc_pgemm(int M, int K, int n0, int n1, const float *A, int lda, const float *P, float *C, int ldc,
                int accumulate) {
    pgemm_body(M, K, A, lda, 0, NULL, 0, n0, n1, P, C, ldc, accumulate);
}
