/* Training throughput of a language model: full steps (forward, loss, backward, gradient clipping,
 * Adam) on random ids, timed per step; prints one line of key=value results for
 * bench/train_vs_torch.py, which runs PyTorch on the same model in the same run.
 *
 * usage: bench_train [--cell lstm] [--vocab 96] [--embed 64] [--hidden 512] [--layers 2]
 *                    [--batch 32] [--seq 128] [--steps 5] [--warmup 1] [--no-sgemm]
 *                    [--loop auto|serial|units|rows|dirs|wave]   (the time loop's thread use, rnn.h)
 *                    [--bidirectional]   a bidirectional stack under a per-token head instead of the
 *                                        LM (a tagger's step: embedding, the stack, a head over the
 *                                        2H outputs, cross-entropy, backward, clipping, Adam)
 *
 * FLOP per token are counted as 6 x (weights in matrix products: every weight_ih, weight_hh and the
 * head weight), the usual 2 forward + 4 backward; the SGEMM rate is the best of three 2048^3
 * products with the BLAS in use, so "%sgemm" says how close training runs to the machine's GEMM
 * speed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "rnnc/rnnc.h"

/* The bidirectional step (--bidirectional): the library's layers wired as a tagger, one parameter
 * and one gradient buffer: embedding (V,E), the stack, head (V,2H) and bias (V). */
static int bidir_main(rnnc_cell cellv, const char *cell, int V, int E, int H, int L, int B, int T, int steps, int warmup,
                      int do_sgemm) {
    rnnc_rnn_config rc = {.cell = cellv, .input = E, .hidden = H, .layers = L, .bidirectional = true};
    size_t nr = rnnc_rnn_num_params(&rc), DH = 2 * (size_t)H, N = (size_t)B * T;
    size_t off_rnn = (size_t)V * E, off_w = off_rnn + nr, off_b = off_w + (size_t)V * DH, n = off_b + (size_t)V;
    float *P = calloc(n, sizeof *P), *G = calloc(n, sizeof *G), *y = malloc(N * DH * sizeof *y), *dy = malloc(N * DH * sizeof *dy);
    float *logits = malloc(N * (size_t)V * sizeof *logits);
    rnnc_rnn_ws *ws;
    rnnc_optim opt;
    rnnc_optim_config oc = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-3);
    if (!P || !G || !y || !dy || !logits || rnnc_rnn_ws_new(&ws, &rc, B, T) || rnnc_optim_init(&opt, &oc, n)) {
        fprintf(stderr, "bench_train: %s\n", rnnc_last_error());
        return 1;
    }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    for (size_t i = 0; i < off_rnn; i++) P[i] = (float)rnnc_rng_normal(&rng);
    rnnc_rnn_init(&rc, P + off_rnn, &rng);
    float a = 1.0f / sqrtf((float)DH);
    for (size_t i = off_w; i < n; i++) P[i] = a * (2.0f * (float)rnnc_rng_uniform(&rng) - 1.0f);
    int *x = malloc(N * sizeof *x), *t = malloc(N * sizeof *t);
    double *times = malloc((size_t)steps * sizeof *times), loss = 0;
    long cnt;
    for (int s = 0; s < warmup + steps; s++) {
        for (size_t i = 0; i < N; i++) { x[i] = (int)rnnc_rng_below(&rng, (uint64_t)V); t[i] = (int)rnnc_rng_below(&rng, (uint64_t)V); }
        double t0 = bench_now();
        rnnc_zero_grad(G, n);
        if (rnnc_rnn_forward_ids(ws, P + off_rnn, B, T, x, P, V, NULL, NULL, NULL, y, NULL, NULL, true, &rng)) goto fail;
        rnnc_linear_forward(logits, y, P + off_w, P + off_b, (int)N, (int)DH, V);
        if (rnnc_xent_forward_backward(logits, t, (int)N, V, RNNC_IGNORE_INDEX, 1.0f, logits, &loss, &cnt)) goto fail;
        rnnc_linear_backward(dy, G + off_w, G + off_b, logits, y, P + off_w, (int)N, (int)DH, V);
        if (rnnc_rnn_backward_ids(ws, P + off_rnn, G + off_rnn, dy, NULL, NULL, P, G, NULL, NULL)) goto fail;
        rnnc_clip_grad_norm(G, n, 1.0);
        rnnc_optim_step(&opt, P, G);
        double dt = bench_now() - t0;
        if (s >= warmup) times[s - warmup] = dt;
    }
    double med = bench_median(times, (size_t)steps); /* sorts: times[0] is the best */
    double matw = (double)V * DH;
    for (size_t k = 0; k < rnnc_rnn_num_tensors(&rc); k++) {
        rnnc_param_info p = rnnc_rnn_tensor(&rc, k);
        if (p.ndim == 2) matw += (double)p.size;
    }
    double tok_s = (double)N / med, gf = do_sgemm ? bench_sgemm_gflops(2048, 3, 0) : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cell=%s bidirectional=1 hidden=%d layers=%d batch=%d seq=%d params=%zu median_step_s=%.4f best_step_s=%.4f "
           "tokens_per_s=%.1f gflops=%.2f sgemm_gflops=%.2f pct_sgemm=%.1f peak_rss_mb=%.1f loss=%.4f\n",
           cell, H, L, B, T, n, med, times[0], tok_s, tok_s * 6 * matw / 1e9, gf,
           gf > 0 ? 100.0 * tok_s * 6 * matw / 1e9 / gf : 0.0, (double)ru.ru_maxrss / 1024.0, loss);
    free(x); free(t); free(times); free(P); free(G); free(y); free(dy); free(logits);
    rnnc_optim_free(&opt);
    rnnc_rnn_ws_free(ws);
    return 0;
fail:
    fprintf(stderr, "bench_train: %s\n", rnnc_last_error());
    return 1;
}

#define USAGE                                                                                              \
    "usage: bench_train [--cell lstm] [--vocab 96] [--embed 64] [--hidden 512] [--layers 2]\n"              \
    "                   [--batch 32] [--seq 128] [--steps 5] [--warmup 1] [--no-sgemm]\n"                    \
    "                   [--loop auto|serial|units|rows|dirs|wave] [--bidirectional]\n"

int main(int argc, char **argv) {
    const char *cell = "lstm";
    int V = 96, E = 64, H = 512, L = 2, B = 32, T = 128, steps = 5, warmup = 1, do_sgemm = 1, bidir = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(USAGE, stdout); return 0; }
        if (!strcmp(a, "--no-sgemm")) { do_sgemm = 0; continue; }
        if (!strcmp(a, "--bidirectional")) { bidir = 1; continue; }
        if (!v) { fprintf(stderr, "bench_train: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--cell")) cell = v;
        else if (!strcmp(a, "--vocab")) V = (int)bench_parse_long("bench_train", a, v, 2, 16777216);
        else if (!strcmp(a, "--embed")) E = (int)bench_parse_long("bench_train", a, v, 1, 65536);
        else if (!strcmp(a, "--hidden")) H = (int)bench_parse_long("bench_train", a, v, 1, 65536);
        else if (!strcmp(a, "--layers")) L = (int)bench_parse_long("bench_train", a, v, 1, 64);
        else if (!strcmp(a, "--batch")) B = (int)bench_parse_long("bench_train", a, v, 1, 65536);
        else if (!strcmp(a, "--seq")) T = (int)bench_parse_long("bench_train", a, v, 1, 1048576);
        else if (!strcmp(a, "--steps")) steps = (int)bench_parse_long("bench_train", a, v, 1, 1000000);
        else if (!strcmp(a, "--warmup")) warmup = (int)bench_parse_long("bench_train", a, v, 0, 1000000);
        else if (!strcmp(a, "--loop")) { /* the recurrent time loop's thread use (rnn.h) */
            int m = bench_loop_mode_parse(v);
            if (m < 0) { fprintf(stderr, "bench_train: --loop %s: " BENCH_LOOP_EXPECTED "\n", v); return 2; }
            rnnc_rnn_set_loop_mode((rnnc_loop_mode)m);
        }
        else { fprintf(stderr, "bench_train: unknown option %s\n", a); return 2; }
    }
    if (steps < 1) steps = 1;
    rnnc_lm_config c = {0};
    if (rnnc_cell_parse(cell, &c.cell)) { fprintf(stderr, "bench_train: %s\n", rnnc_last_error()); return 2; }
    if (bidir) return bidir_main(c.cell, cell, V, E, H, L, B, T, steps, warmup, do_sgemm);
    c.vocab = V; c.embed = E; c.hidden = H; c.layers = L;
    rnnc_lm *m;
    rnnc_lm_ws *ws;
    rnnc_optim opt;
    rnnc_optim_config oc = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-3);
    if (rnnc_lm_new(&m, &c) || rnnc_lm_ws_new(&ws, m, B, T) || rnnc_optim_init(&opt, &oc, m->n_params)) {
        fprintf(stderr, "bench_train: %s\n", rnnc_last_error());
        return 1;
    }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    rnnc_lm_init(m, &rng);
    int *x = malloc((size_t)B * T * sizeof *x), *y = malloc((size_t)B * T * sizeof *y);
    double *times = malloc((size_t)steps * sizeof *times);
    double loss = 0;
    for (int s = 0; s < warmup + steps; s++) {
        for (int i = 0; i < B * T; i++) { x[i] = (int)rnnc_rng_below(&rng, (uint64_t)V); y[i] = (int)rnnc_rng_below(&rng, (uint64_t)V); }
        double t0 = bench_now();
        rnnc_lm_zero_grad(m);
        if (rnnc_lm_forward(m, ws, x, B, T, true, &rng, NULL) || rnnc_lm_loss(m, ws, y, true, &loss)) {
            fprintf(stderr, "bench_train: %s\n", rnnc_last_error());
            return 1;
        }
        rnnc_clip_grad_norm(m->grads, m->n_params, 1.0);
        rnnc_optim_step(&opt, m->params, m->grads);
        double dt = bench_now() - t0;
        if (s >= warmup) times[s - warmup] = dt;
    }
    double med = bench_median(times, (size_t)steps); /* sorts: times[0] is the best */
    /* Weights that take part in matrix products: every recurrent weight matrix and the head. */
    double matw = (double)V * H;
    for (size_t k = 0; k < rnnc_rnn_num_tensors(&m->rnn); k++) {
        rnnc_param_info p = rnnc_rnn_tensor(&m->rnn, k);
        if (p.ndim == 2) matw += (double)p.size;
    }
    double tok_s = (double)B * T / med;
    double gf = do_sgemm ? bench_sgemm_gflops(2048, 3, 0) : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cell=%s hidden=%d layers=%d batch=%d seq=%d params=%zu median_step_s=%.4f best_step_s=%.4f tokens_per_s=%.1f "
           "gflops=%.2f sgemm_gflops=%.2f pct_sgemm=%.1f peak_rss_mb=%.1f loss=%.4f\n",
           cell, H, L, B, T, m->n_params, med, times[0], tok_s, tok_s * 6 * matw / 1e9, gf,
           gf > 0 ? 100.0 * tok_s * 6 * matw / 1e9 / gf : 0.0, (double)ru.ru_maxrss / 1024.0, loss);
    free(x); free(y); free(times);
    rnnc_optim_free(&opt);
    rnnc_lm_ws_free(ws);
    rnnc_lm_free(m);
    return 0;
}
