/* How fast this machine streams a buffer of a given size from its caches or memory: the bound of
 * batch-1 sampling, whose every token reads all the model's weights once (issue 17, "sampling").
 *
 *   build/bench_membw [MB] [repeats]        (default 13.3 MB, the float weights of an LSTM 2x512
 *                                            LM with V 96, E 64; OMP_NUM_THREADS threads)
 *
 * Each thread sums its contiguous part of the buffer (64 floats a step into 64 independent sums,
 * kept so the loads cannot be dropped), REPEATS times after a warm-up pass, with a barrier between
 * passes as the generator has between layers. The sums must be many: with 16 (two 8-float chains
 * on an AVX2 core) the loop could wait on its additions instead of the loads (2026-12-06, Zen 3,
 * medians of 300 passes over 13.3 MB: 48-63 against 51-71 GB/s on one thread, 110-121 against
 * 112-146 on two). Prints the median pass's GB/s and the tokens/s that bandwidth
 * allows a generator reading BYTES per token. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

/* eight floats (GCC vector extension: one AVX register, two SSE ones elsewhere) */
typedef float v8 __attribute__((vector_size(32)));

int main(int argc, char **argv) {
    if (argc > 3 || (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))) {
        fprintf(argc > 3 ? stderr : stdout, "usage: bench_membw [MB] [repeats]   (default 13.3 MB, 200 repeats)\n");
        return argc > 3 ? 2 : 0;
    }
    double mb = argc > 1 ? bench_parse_double("bench_membw", "MB", argv[1], 0.001, 65535) : 13.3;
    int reps = argc > 2 ? (int)bench_parse_long("bench_membw", "repeats", argv[2], 1, 100000) : 200;
    size_t n = (size_t)(mb * 1e6 / sizeof(float)) / 64 * 64;
    float *buf = aligned_alloc(64, n * sizeof(float));
    double *t = malloc((size_t)reps * sizeof *t);
    if (!buf || !t) return 1;
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i % 7) * 0.5f;
    int nth = omp_get_max_threads();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
        int id = omp_get_thread_num(), k = omp_get_num_threads();
        size_t a = n / 64 * (size_t)id / (size_t)k * 64, b = n / 64 * (size_t)(id + 1) / (size_t)k * 64;
        for (int r = -1; r < reps; r++) {
#pragma omp barrier
            double t0 = bench_now();
            v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0};
            for (size_t i = a; i < b; i += 64) {
                const v8 *p = (const v8 *)(buf + i);
                s0 += p[0]; s1 += p[1]; s2 += p[2]; s3 += p[3];
                s4 += p[4]; s5 += p[5]; s6 += p[6]; s7 += p[7];
            }
            v8 s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
            for (int j = 0; j < 8; j++) total += s[j];
#pragma omp barrier
            if (id == 0 && r >= 0) t[r] = bench_now() - t0;
        }
    }
    double med = bench_upper_median(t, (size_t)reps), best = t[0], bytes = (double)n * sizeof(float);
    printf("membw: %.1f MB on %d thread(s), %d passes: median %.1f GB/s (best %.1f); a generator reading "
           "%.1f MB a token: at most %.0f tokens/s (checksum %g)\n",
           bytes / 1e6, nth, reps, bytes / med / 1e9, bytes / best / 1e9, bytes / 1e6, 1.0 / med, (double)total);
    free(buf);
    free(t);
    return 0;
}
