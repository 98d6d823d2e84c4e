/* The per-step product kernel alone (src/nn/pgemm.c), one thread, against OpenBLAS's SGEMM on the
 * same thread: the ceiling of the recurrent time loops, which run one such product per step and
 * block of rows.
 *
 *   build/bench_pgemm [repeats]     (default 30, at most 100000; both sides on one thread,
 *                                    whatever OMP_NUM_THREADS says)
 *   build/bench_pgemm pack [repeats] (the packing of W into panels alone, default 60 repeats)
 *
 * For each shape [M rows, K, N] (the rows of a block, the hidden size, the gate columns of the time
 * loops of LSTM 128, G2P's LSTM 256 and LSTM 512) W is packed once and the product C = A x W
 * timed over enough calls for about 20 MFLOP a repeat; the best repeat is printed as GFLOP/s, with
 * the SGEMM rate of a 1024^3 product measured in the same process and the kernel's share of it.
 * On x86 it first prints the core's multiply-add peak, fma_peak_gflops: twelve independent chains
 * of vector multiply-adds (512-bit in an AVX-512 build, else 256-bit where the CPU has AVX2 and
 * FMA), the rate no kernel on this core can pass; docs/PERFORMANCE.md's bounds start from it.
 *
 * `pack` times rnnc_pgemm_pack alone for the weights of the time loops (W_hh forward, transposed,
 * and backward, not transposed; W_ih of the input projections), over eight copies of W taken in
 * turn so that each pack reads W from L3 or memory rather than from the cache it just filled
 * (where W is small enough to stay in L2 the copies change nothing). The shapes are interleaved
 * repeat by repeat and each one's best time is printed in microseconds, with the rate W was read
 * at. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "nn/pgemm.h"
#include "core/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The vector type and operations of the peak loop: 512-bit in an AVX-512 build, else 256-bit
 * compiled for AVX2 and FMA (taken only where the CPU has them, fma_peak_gflops). */
#ifdef __AVX512F__
#define PEAK_LANES 16
#define PEAK_TARGET
typedef __m512 peak_v;
#define PEAK_SET _mm512_set1_ps
#define PEAK_FMA _mm512_fmadd_ps
#define PEAK_ADD _mm512_add_ps
#define PEAK_STORE _mm512_storeu_ps
#else
#define PEAK_LANES 8
#define PEAK_TARGET __attribute__((target("avx2,fma")))
typedef __m256 peak_v;
#define PEAK_SET _mm256_set1_ps
#define PEAK_FMA _mm256_fmadd_ps
#define PEAK_ADD _mm256_add_ps
#define PEAK_STORE _mm256_storeu_ps
#endif

/* Seconds for `iters` rounds of twelve independent vector multiply-adds; the sums are returned
 * through *sink so the loop cannot be dropped. */
static PEAK_TARGET double fma_chains(long iters, float *sink) {
    peak_v c[12], a = PEAK_SET(0.999f), b = PEAK_SET(1e-3f);
    for (int i = 0; i < 12; i++) c[i] = PEAK_SET((float)i);
    double t0 = bench_now();
    for (long n = 0; n < iters; n++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) c[i] = PEAK_FMA(c[i], a, b);
    double t = bench_now() - t0;
    float v[PEAK_LANES];
    for (int i = 1; i < 12; i++) c[0] = PEAK_ADD(c[0], c[i]);
    PEAK_STORE(v, c[0]);
    for (int i = 0; i < PEAK_LANES; i++) *sink += v[i];
    return t;
}

/* The best of `reps` rounds of about 0.1 GFLOP each, in GFLOP/s; 0 where the CPU lacks the
 * instructions. */
static double fma_peak_gflops(long reps) {
    if (!rnnc_cpu_avx2_fma()) return 0; /* the library's check (an AVX-512 build has both) */
    const long iters = 100000000L / (12 * 2 * PEAK_LANES);
    double best = 1e30;
    float sink = 0;
    for (long r = 0; r < reps; r++) {
        double t = fma_chains(iters, &sink);
        if (t < best) best = t;
    }
    if (sink == 12345.0f) printf("(sink %g)\n", (double)sink); /* keeps the sums alive */
    return (double)iters * 12 * 2 * PEAK_LANES / best / 1e9;
}
#endif

/* Best microseconds of rnnc_pgemm_pack for each shape, interleaved over `reps` repeats. */
static int bench_pack(long reps) {
    enum { COPIES = 8 };
    static const struct { int K, N, trans; const char *what; } sh[] = {
        {256, 1024, 1, "forward W_hh^T, H 256 (src [1024 x 256])"},
        {1024, 256, 0, "backward W_hh, H 256 (src [1024 x 256])"},
        {512, 2048, 1, "forward W_hh^T, H 512 (src [2048 x 512])"},
        {2048, 512, 0, "backward W_hh, H 512 (src [2048 x 512])"},
        {256, 1024, 0, "src [256 x 1024]"},
        {64, 1024, 1, "W_ih^T, E 64 (src [1024 x 64], in L2)"},
        {64, 1024, 0, "src [64 x 1024] (in L2)"},
    };
    enum { NS = sizeof sh / sizeof sh[0] };
    float *src[NS], *dst[NS];
    double best[NS];
    for (int s = 0; s < NS; s++) {
        const size_t n = (size_t)sh[s].K * sh[s].N;
        src[s] = aligned_alloc(64, sizeof(float) * n * COPIES);
        dst[s] = aligned_alloc(64, sizeof(float) * rnnc_pgemm_size(sh[s].K, sh[s].N));
        if (!src[s] || !dst[s]) return 1;
        for (size_t i = 0; i < n * COPIES; i++) src[s][i] = 0.01f * (float)(i % 11);
        best[s] = 1e30;
    }
    for (long r = 0; r < reps; r++)
        for (int s = 0; s < NS; s++) {
            const int K = sh[s].K, N = sh[s].N, t = sh[s].trans;
            const float *w = src[s] + (size_t)(r % COPIES) * K * N;
            double t0 = bench_now();
            /* the source is [N x K] when transposed (a column of W is a row), else [K x N] */
            rnnc_pgemm_pack(dst[s], w, t ? K : N, t, K, N, 0, N);
            double dt = bench_now() - t0;
            if (dt < best[s]) best[s] = dt;
        }
    printf("kernel=%s\n", rnnc_pgemm_kernel());
    for (int s = 0; s < NS; s++) {
        printf("pack K=%d N=%d trans=%d us=%.1f gbytes_per_s=%.1f  %s\n", sh[s].K, sh[s].N, sh[s].trans,
               best[s] * 1e6, (double)sh[s].K * sh[s].N * sizeof(float) / best[s] / 1e9, sh[s].what);
        free(src[s]); free(dst[s]);
    }
    return 0;
}

int main(int argc, char **argv) {
    long reps = 30;
    int pack = 0;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: bench_pgemm [repeats]        (default 30, at most 100000; one thread)\n"
               "       bench_pgemm pack [repeats]   (the packing alone; default 60)\n");
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "pack")) {
        pack = 1, reps = 60;
        argc--, argv++;
    }
    if (argc > 2) {
        fprintf(stderr, "usage: bench_pgemm [pack] [repeats]\n");
        return 2;
    }
    if (argc > 1) {
        char *end;
        reps = strtol(argv[1], &end, 10);
        if (end == argv[1] || *end || reps < 1 || reps > 100000) {
            fprintf(stderr, "bench_pgemm: repeats '%s': expected a whole number in [1, 100000]\n", argv[1]);
            return 2;
        }
    }
    if (pack) return bench_pack(reps);
    static const int shapes[][3] = {{8, 128, 512},   {16, 128, 512},  {32, 128, 512}, {8, 256, 1024},
                                    {16, 256, 1024}, {64, 256, 1024}, {8, 512, 2048}, {16, 512, 2048}, {32, 512, 1024}, {32, 512, 2048}, {64, 512, 512},
                                    {1, 256, 1024},  {2, 256, 1024},  {1, 512, 2048}, {2, 512, 2048}};
    /* one thread on both sides whatever the environment says: the kernel runs on one */
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
#if defined(__x86_64__) || defined(__i386__)
    const double peak = fma_peak_gflops(reps < 10 ? 10 : reps);
    if (peak > 0) printf("fma_peak_gflops=%.1f\n", peak);
#endif
    const double sg = bench_sgemm_gflops(1024, (int)reps / 3 + 2, 0);
    printf("sgemm_1024_gflops=%.1f\n", sg);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        float *A = aligned_alloc(64, sizeof(float) * M * K), *W = aligned_alloc(64, sizeof(float) * K * N);
        float *C = aligned_alloc(64, sizeof(float) * M * N);
        float *P = aligned_alloc(64, sizeof(float) * rnnc_pgemm_size(K, N));
        if (!A || !W || !C || !P) return 1;
        for (int i = 0; i < M * K; i++) A[i] = 0.1f * (float)(i % 7);
        for (int i = 0; i < K * N; i++) W[i] = 0.01f * (float)(i % 5);
        rnnc_pgemm_pack(P, W, N, 0, K, N, 0, N);
        const double flop = 2.0 * M * K * N;
        int calls = (int)(2e7 / flop) + 1;
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = bench_now();
            for (int q = 0; q < calls; q++) rnnc_pgemm(M, K, 0, N, A, K, P, C, N, 0);
            double t = (bench_now() - t0) / calls;
            if (t < best) best = t;
        }
        const double gf = flop / best / 1e9;
        printf("M=%d K=%d N=%d pgemm_gflops=%.1f pct_sgemm=%.1f", M, K, N, gf, 100.0 * gf / sg);
        /* one or two rows read every weight once a call: the rate the panels stream at */
        if (M <= 2) printf(" panel_gbytes_per_s=%.1f", (double)K * N * sizeof(float) / best / 1e9);
        printf("\n");
        free(A); free(W); free(C); free(P);
    }
    return 0;
}
