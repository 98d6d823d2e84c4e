/* Encoding throughput of the BPE encoder (driven by bench/encode_vs_tiktoken.sh).
 *
 *   bench_encode ENCODING FILE RUNS
 *
 * Prints, one line each (key=value, for the driver):
 *   rnnc threads=T ...   FILE encoded with special tokens allowed, on 1 thread and on all OpenMP
 *                        threads: id count, FNV-1a-64 of the ids, median seconds
 *   nows ...             seconds per byte of a 1 MB string with no whitespace (a single letter piece
 *                        for every pattern) against 1 MB of FILE, one thread, and their ratio */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rnnc/rnnc.h"

static uint64_t fnv_ids(const rnnc_ids *ids) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < ids->len; i++)
        for (int k = 0; k < 4; k++) { h ^= (ids->data[i] >> (8 * k)) & 255; h *= 0x100000001b3ULL; }
    return h;
}

/* Median wall seconds of `runs` encodings, and in *cpu the median CPU seconds of the calling
 * thread (meaningful for one-thread runs: on a crowded machine it leaves out the time the thread
 * waited for a core). The last run's ids are left in *ids. */
static double time_encode(const rnnc_bpe *b, const unsigned char *t, size_t n, int runs, rnnc_ids *ids, double *cpu) {
    double *s = malloc((size_t)runs * sizeof *s), *c = malloc((size_t)runs * sizeof *c);
    for (int r = 0; r < runs; r++) {
        ids->len = 0;
        double t0 = bench_now(), c0 = bench_thread_cpu_now();
        if (rnnc_bpe_encode(b, t, n, true, ids)) { fprintf(stderr, "bench_encode: %s\n", rnnc_last_error()); exit(1); }
        s[r] = bench_now() - t0;
        c[r] = bench_thread_cpu_now() - c0;
    }
    double m = bench_upper_median(s, (size_t)runs);
    *cpu = bench_upper_median(c, (size_t)runs);
    free(s);
    free(c);
    return m;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: bench_encode ENCODING FILE RUNS\n"); return 2; }
    int runs = (int)bench_parse_long("bench_encode", "RUNS", argv[3], 1, 100000);
    rnnc_bpe *b;
    double t0 = bench_now();
    if (rnnc_bpe_load(&b, argv[1], NULL)) { fprintf(stderr, "bench_encode: %s\n", rnnc_last_error()); return 1; }
    double load_s = bench_now() - t0;
    unsigned char *text;
    size_t n;
    if (rnnc_read_file(argv[2], &text, &n)) { fprintf(stderr, "bench_encode: %s\n", rnnc_last_error()); return 1; }
    rnnc_ids ids = {0};
    int all = omp_get_max_threads();
    int counts[2] = {1, all};
    for (int k = 0; k < (all > 1 ? 2 : 1); k++) {
        omp_set_num_threads(counts[k]);
        double cpu, m = time_encode(b, text, n, runs, &ids, &cpu);
        printf("rnnc threads=%d bytes=%zu ids=%zu fnv=%016llx median_s=%.4f cpu_s=%.4f load_s=%.3f\n", counts[k], n,
               ids.len, (unsigned long long)fnv_ids(&ids), m, cpu, load_s);
    }

    /* 1 MB without whitespace vs 1 MB of ordinary text, one thread. */
    omp_set_num_threads(1);
    size_t mb = 1000000;
    unsigned char *nows = malloc(mb);
    uint32_t x = 99;
    for (size_t i = 0; i < mb; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        nows[i] = (unsigned char)("abcdefghijklmnopqrstuvwxyz"[x % 26]);
    }
    size_t on = n < mb ? n : mb;
    double cn, co;
    double tn = time_encode(b, nows, mb, runs, &ids, &cn);
    double to = time_encode(b, text, on, runs, &ids, &co);
    printf("nows bytes=%zu median_s=%.4f ordinary_bytes=%zu ordinary_s=%.4f ns_per_byte=%.2f ordinary_ns_per_byte=%.2f "
           "ratio=%.2f cpu_ns_per_byte=%.2f cpu_ordinary_ns_per_byte=%.2f cpu_ratio=%.2f\n",
           mb, tn, on, to, tn / (double)mb * 1e9, to / (double)on * 1e9, (tn / (double)mb) / (to / (double)on),
           cn / (double)mb * 1e9, co / (double)on * 1e9, (cn / (double)mb) / (co / (double)on));
    free(nows);
    rnnc_ids_free(&ids);
    free(text);
    rnnc_bpe_free(b);
    return 0;
}
