/* Benchmark of the recurrent stack: forward + backward (training, no dropout) of one batch,
 * tokens/s and achieved GFLOP/s, next to this machine's SGEMM rate on a 2048^3 product measured
 * in the same run. bench/rnn_vs_torch.py runs it against PyTorch.
 *
 *   bench_rnn CELL H LAYERS [B T I REPS]      e.g.  bench_rnn lstm 512 2 32 128 64 10
 *   bench_rnn gemm [N REPS]                    only the SGEMM rate
 * Environment: BENCH_LOOP=auto|serial|units|rows|dirs|wave forces the time loop's schedule
 * (rnnc_rnn_set_loop_mode), BENCH_BIDIR=1 makes the stack bidirectional.
 * Output: one line of key=value pairs per measurement. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rnnc/rnn.h"
#include "rnnc/status.h"

/* Peak resident memory from /proc (getrusage's ru_maxrss would include the parent's image when
 * a large process such as Python forks and execs us). */
static double peak_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    if (f) fclose(f);
    return kb / 1024.0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "gemm")) {
        int N = argc > 2 ? (int)bench_parse_long("bench_rnn gemm", "N", argv[2], 1, 32768) : 2048;
        int reps = argc > 3 ? (int)bench_parse_long("bench_rnn gemm", "REPS", argv[3], 1, 64) : 7;
        printf("gemm n=%d gflops=%.1f blas_threads=%d\n", N, bench_sgemm_gflops(N, reps, 1), openblas_get_num_threads());
        return 0;
    }
    if (argc < 4 || argc > 8) {
        fprintf(stderr, "usage: bench_rnn CELL H LAYERS [B T I REPS] | bench_rnn gemm [N REPS]\n");
        return 2;
    }
    rnnc_rnn_config c = {.hidden = (int)bench_parse_long("bench_rnn", "H", argv[2], 1, 65536),
                         .layers = (int)bench_parse_long("bench_rnn", "LAYERS", argv[3], 1, 64)};
    const char *loop = getenv("BENCH_LOOP"), *bidir = getenv("BENCH_BIDIR");
    int mode = bench_loop_mode_parse(loop);
    if (mode < 0) { fprintf(stderr, "bench_rnn: BENCH_LOOP=%s: " BENCH_LOOP_EXPECTED "\n", loop); return 2; }
    rnnc_rnn_set_loop_mode((rnnc_loop_mode)mode);
    c.bidirectional = bidir && bench_parse_long("bench_rnn", "BENCH_BIDIR", bidir, 0, 1) != 0;
    if (rnnc_cell_parse(argv[1], &c.cell)) { fprintf(stderr, "bench_rnn: %s\n", rnnc_last_error()); return 2; }
    int B = argc > 4 ? (int)bench_parse_long("bench_rnn", "B", argv[4], 1, 65536) : 32;
    int T = argc > 5 ? (int)bench_parse_long("bench_rnn", "T", argv[5], 1, 1 << 20) : 128;
    c.input = argc > 6 ? (int)bench_parse_long("bench_rnn", "I", argv[6], 1, 65536) : 64;
    int reps = argc > 7 ? (int)bench_parse_long("bench_rnn", "REPS", argv[7], 1, 1000) : 10;
    if (rnnc_rnn_config_check(&c)) { fprintf(stderr, "bench_rnn: %s\n", rnnc_last_error()); return 2; }
    size_t np = rnnc_rnn_num_params(&c), nx = (size_t)B * T * c.input, ny = (size_t)B * T * c.hidden * (c.bidirectional ? 2 : 1);
    float *params = malloc(np * sizeof(float)), *dp = calloc(np, sizeof(float));
    float *x = malloc(nx * sizeof(float)), *dx = malloc(nx * sizeof(float));
    float *y = malloc(ny * sizeof(float)), *dy = malloc(ny * sizeof(float));
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    rnnc_rnn_init(&c, params, &rng);
    for (size_t i = 0; i < nx; i++) x[i] = rnnc_rng_uniform(&rng) - 0.5f;
    for (size_t i = 0; i < ny; i++) dy[i] = (rnnc_rng_uniform(&rng) - 0.5f) * 1e-3f;
    rnnc_rnn_ws *ws;
    if (rnnc_rnn_ws_new(&ws, &c, B, T)) { fprintf(stderr, "bench_rnn: %s\n", rnnc_last_error()); return 1; }
    /* weights in matrix products: W_ih and W_hh of every layer */
    double weights = 0;
    for (size_t k = 0; k < rnnc_rnn_num_tensors(&c); k++) {
        rnnc_param_info p = rnnc_rnn_tensor(&c, k);
        if (p.ndim == 2) weights += (double)p.size;
    }
    double *tf = malloc(reps * sizeof(double)), *tb = malloc(reps * sizeof(double)), *tt = malloc(reps * sizeof(double));
    for (int r = -1; r < reps; r++) {
        double t0 = bench_now();
        rnnc_rnn_forward(ws, params, B, T, x, NULL, NULL, NULL, y, NULL, NULL, true, &rng);
        double t1 = bench_now();
        rnnc_rnn_backward(ws, params, dp, dy, NULL, NULL, dx, NULL, NULL);
        double t2 = bench_now();
        if (r >= 0) { tf[r] = t1 - t0; tb[r] = t2 - t1; tt[r] = t2 - t0; }
    }
    double mf = bench_median(tf, (size_t)reps), mb = bench_median(tb, (size_t)reps), mt = bench_median(tt, (size_t)reps);
    double tokens = (double)B * T;
    printf("rnnc cell=%s H=%d L=%d D=%d loop=%s B=%d T=%d I=%d threads=%d fwd_ms=%.2f bwd_ms=%.2f step_ms=%.2f tok_s=%.0f "
           "gflops=%.1f ws_mb=%.1f maxrss_mb=%.1f\n", argv[1], c.hidden, c.layers, c.bidirectional ? 2 : 1, bench_loop_modes[mode], B, T, c.input,
           omp_get_max_threads(),
           mf * 1e3, mb * 1e3, mt * 1e3, tokens / mt, 6.0 * weights * tokens / mt / 1e9, rnnc_rnn_ws_bytes(ws) / 1048576.0,
           peak_mb());
    rnnc_rnn_ws_free(ws);
    free(params); free(dp); free(x); free(dx); free(y); free(dy); free(tf); free(tb); free(tt);
    return 0;
}
