/* Helpers shared by the benchmarks (every bench/ C file): clocks, sorting and medians of
 * timings, and the names of the recurrent time loop's modes. Header-only (static inline), so each
 * bench target stays one source file and CMakeLists.txt builds it as before. */
#ifndef RNNC_BENCH_UTIL_H
#define RNNC_BENCH_UTIL_H

#include <cblas.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wall-clock seconds (monotonic). */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the calling thread (on a crowded machine it leaves out the time the thread
 * waited for a core). */
static inline double bench_thread_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process, all threads. */
static inline double bench_process_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) ascending, in place. */
static inline void bench_sort(double *v, size_t n) {
    qsort(v, n, sizeof *v, bench_cmp_double);
}

/* Sorts v[0..n) in place and returns its median: the middle value, or the mean of the two middle
 * values when n is even; 0 when n is 0. */
static inline double bench_median(double *v, size_t n) {
    if (!n) return 0;
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Sorts v[0..n) in place and returns v[n / 2], the upper of the two middle values when n is even;
 * 0 when n is 0. */
static inline double bench_upper_median(double *v, size_t n) {
    if (!n) return 0;
    bench_sort(v, n);
    return v[n / 2];
}

/* cblas_sgemm's rate on an n x n x n product in GFLOP/s, on the BLAS threads as set: one untimed
 * run (threads woken, caches filled), then reps timed ones, of which the best (median 0) or the
 * median (median 1). 0 when reps < 1 or the buffers cannot be allocated. The reference the
 * benchmarks quote their shares of SGEMM against. */
static inline double bench_sgemm_gflops(int n, int reps, int median) {
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    double *t = reps > 0 ? malloc((size_t)reps * sizeof(double)) : NULL;
    double rate = 0;
    if (a && b && c && t) {
        for (size_t i = 0; i < (size_t)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
        for (int r = -1; r < reps; r++) {
            double t0 = bench_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            if (r >= 0) t[r] = bench_now() - t0;
        }
        const double pick = median ? bench_median(t, (size_t)reps) : (bench_sort(t, (size_t)reps), t[0]);
        rate = 2.0 * n * n * (double)n / pick / 1e9;
    }
    free(a); free(b); free(c); free(t);
    return rate;
}

/* The whole number v (what: the flag or argument it came from) in [lo, hi]; anything else (empty,
 * trailing characters, out of range, NULL: a flag without its value) prints one line naming tool
 * and what and exits with status 2. */
static inline long bench_parse_long(const char *tool, const char *what, const char *v, long lo, long hi) {
    char *end = NULL;
    errno = 0;
    long x = v && *v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "%s: %s '%s': expected a whole number in [%ld, %ld]\n", tool, what, v ? v : "", lo, hi);
        exit(2);
    }
    return x;
}

/* The finite number v in [lo, hi], else one line and exit status 2 (as bench_parse_long). */
static inline double bench_parse_double(const char *tool, const char *what, const char *v, double lo, double hi) {
    char *end = NULL;
    errno = 0;
    double x = v && *v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || errno || !(x >= lo && x <= hi)) {
        fprintf(stderr, "%s: %s '%s': expected a number in [%g, %g]\n", tool, what, v ? v : "", lo, hi);
        exit(2);
    }
    return x;
}

/* The time loop's modes (rnnc_loop_mode, rnn.h) in enum order, as BENCH_LOOP and --loop name them. */
#define BENCH_LOOP_MODES 6
static const char *const bench_loop_modes[BENCH_LOOP_MODES] = {"auto", "serial", "units", "rows", "dirs", "wave"};
#define BENCH_LOOP_EXPECTED "expected auto, serial, units, rows, dirs or wave"

/* The mode named s (NULL: auto), or -1 for an unknown name. */
static inline int bench_loop_mode_parse(const char *s) {
    if (!s) return 0;
    for (int m = 0; m < BENCH_LOOP_MODES; m++)
        if (!strcmp(s, bench_loop_modes[m])) return m;
    return -1;
}

#endif
