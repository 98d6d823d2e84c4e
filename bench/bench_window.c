/* Forward of a language model's recurrent stack over windows of a small batch, as a prompt or a
 * prediction runs it (rnnc_lm_forward_hidden: no head), in a chosen time-loop mode; prints one
 * line of key=value results. For the AUTO rule between serial and units at batches that rows
 * mode cannot take (docs/PERFORMANCE.md, "A prompt's windows").
 *
 * usage: bench_window [--cell lstm] [--hidden 512] [--layers 1] [--batch 1] [--seq 64] [--repeats 5]
 *                     [--loop auto|serial|units|rows|dirs|wave] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rnnc/rnnc.h"

int main(int argc, char **argv) {
    const char *cell = "lstm", *loop = "auto";
    int H = 512, L = 1, B = 1, T = 64, repeats = 5;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: bench_window [--cell lstm] [--hidden 512] [--layers 1] [--batch 1] [--seq 64] [--repeats 5]\n"
                   "                    [--loop auto|serial|units|rows|dirs|wave]\n");
            return 0;
        }
        if (!strcmp(a, "--cell")) cell = v;
        else if (!strcmp(a, "--hidden")) H = (int)bench_parse_long("bench_window", a, v, 1, 65536);
        else if (!strcmp(a, "--layers")) L = (int)bench_parse_long("bench_window", a, v, 1, 64);
        else if (!strcmp(a, "--batch")) B = (int)bench_parse_long("bench_window", a, v, 1, 65536);
        else if (!strcmp(a, "--seq")) T = (int)bench_parse_long("bench_window", a, v, 1, 65536);
        else if (!strcmp(a, "--repeats")) repeats = (int)bench_parse_long("bench_window", a, v, 1, 100000);
        else if (!strcmp(a, "--loop")) loop = v;
        else { fprintf(stderr, "bench_window: unknown option %s\n", a); return 2; }
    }
    int mode = bench_loop_mode_parse(loop);
    if (mode < 0) { fprintf(stderr, "bench_window: --loop %s: " BENCH_LOOP_EXPECTED "\n", loop); return 2; }
    rnnc_rnn_set_loop_mode((rnnc_loop_mode)mode);
    rnnc_lm_config c = {0};
    if (rnnc_cell_parse(cell, &c.cell)) { fprintf(stderr, "bench_window: %s\n", rnnc_last_error()); return 2; }
    c.vocab = 100; c.embed = 64; c.hidden = H; c.layers = L;
    rnnc_lm *m;
    rnnc_lm_ws *ws;
    if (rnnc_lm_new(&m, &c) || rnnc_lm_ws_new(&ws, m, B, T)) { fprintf(stderr, "bench_window: %s\n", rnnc_last_error()); return 1; }
    rnnc_rng r;
    rnnc_rng_seed(&r, 1);
    rnnc_lm_init(m, &r);
    int *ids = malloc((size_t)B * T * sizeof *ids);
    double *rate = malloc((size_t)(repeats + 1) * sizeof *rate);
    for (int i = 0; i < B * T; i++) ids[i] = (int)rnnc_rng_below(&r, 100);
    /* each repeat about 2e8 multiply-adds of W_hh and W_ih */
    const int windows = (int)(2e8 / ((double)B * T * H * H * 8 * L)) + 3;
    for (int rep = 0; rep <= repeats; rep++) { /* repeat 0 warms caches and threads */
        double t0 = bench_now();
        const float *y;
        for (int k = 0; k < windows; k++)
            if (rnnc_lm_forward_hidden(m, ws, ids, B, T, &y)) { fprintf(stderr, "bench_window: %s\n", rnnc_last_error()); return 1; }
        rate[rep] = (double)windows * B * T / (bench_now() - t0);
    }
    const double med = bench_upper_median(rate + 1, (size_t)repeats); /* sorts: rate[repeats] is the best */
    printf("cell=%s hidden=%d layers=%d batch=%d seq=%d loop=%s median_tok_s=%.1f best_tok_s=%.1f\n", cell, H, L, B, T,
           loop, med, rate[repeats]);
    free(ids);
    free(rate);
    rnnc_lm_ws_free(ws);
    rnnc_lm_free(m);
    return 0;
}
