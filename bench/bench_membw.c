/* How fast this machine streams a buffer of a given size from its caches or memory: the bound of
 * batch-1 sampling, whose every token reads all the model's weights once (issue 17, "sampling").
 *
 *   build/bench_membw [MB] [repeats]        (default 13.3 MB, the float weights of an LSTM 2x512
 *                                            LM with V 96, E 64; OMP_NUM_THREADS threads)
 *
 * Each thread sums its contiguous part of the buffer (16 floats a step, the sums kept so the loads
 * cannot be dropped), REPEATS times after a warm-up pass, with a barrier between passes as the
 * generator has between layers. Prints the median pass's GB/s and the tokens/s that bandwidth
 * allows a generator reading BYTES per token. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

int main(int argc, char **argv) {
    double mb = argc > 1 ? atof(argv[1]) : 13.3;
    int reps = argc > 2 ? atoi(argv[2]) : 200;
    if (!(mb > 0 && mb < 65536) || reps < 1 || reps > 100000) {
        fprintf(stderr, "usage: bench_membw [MB] [repeats]\n");
        return 2;
    }
    size_t n = (size_t)(mb * 1e6 / sizeof(float)) / 16 * 16;
    float *buf = aligned_alloc(64, n * sizeof(float));
    double *t = malloc((size_t)reps * sizeof *t);
    if (!buf || !t) return 1;
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i % 7) * 0.5f;
    int nth = omp_get_max_threads();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
        int id = omp_get_thread_num(), k = omp_get_num_threads();
        size_t a = n / 16 * (size_t)id / (size_t)k * 16, b = n / 16 * (size_t)(id + 1) / (size_t)k * 16;
        for (int r = -1; r < reps; r++) {
#pragma omp barrier
            double t0 = bench_now();
            float s[16] = {0};
            for (size_t i = a; i < b; i += 16)
#pragma omp simd
                for (int j = 0; j < 16; j++) s[j] += buf[i + j];
            for (int j = 0; j < 16; j++) total += s[j];
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
