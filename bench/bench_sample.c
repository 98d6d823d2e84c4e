/* Sampling throughput of a language model at batch 1: the generator's per-token path (one
 * recurrent step, head, temperature sampling) on a randomly initialised model, timed over
 * several repeats; prints one line of key=value results for bench/sample_vs_torch.py, which times
 * PyTorch on the same model in the same run.
 *
 * usage: bench_sample [--cell lstm] [--vocab 96] [--embed 64] [--hidden 512] [--layers 2]
 *                     [--tokens 2000] [--repeats 5] [--temperature 1] [--top-k 0] [--top-p 1] [--half]
 *                     [--model FILE] [--prompt N]
 * --prompt N: each repeat first feeds N random ids (rnnc_generator_feed, timed apart: prompt_tok_s).
 * --half: the generator's half-precision weights (rnnc_generator_use_half).
 * --model: a model file instead of the random model of the size flags (bench/onnx_vs_rnnc.sh
 * times the model it exported to ONNX). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rnnc/rnnc.h"

int main(int argc, char **argv) {
    const char *cell = "lstm", *model = NULL;
    int V = 96, E = 64, H = 512, L = 2, tokens = 2000, repeats = 5, top_k = 0, prompt = 0;
    double temperature = 1, top_p = 1;
    int half = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: bench_sample [--cell lstm] [--vocab 96] [--embed 64] [--hidden 512] [--layers 2]\n"
                   "                    [--tokens 2000] [--repeats 5] [--temperature 1] [--top-k 0] [--top-p 1] [--half]\n"
                   "                    [--model FILE] [--prompt N]\n");
            return 0;
        }
        if (!strcmp(a, "--half")) { half = 1; i--; continue; }
        if (!strcmp(a, "--cell")) cell = v;
        else if (!strcmp(a, "--vocab")) V = (int)bench_parse_long("bench_sample", a, v, 2, 16777216);
        else if (!strcmp(a, "--embed")) E = (int)bench_parse_long("bench_sample", a, v, 1, 65536);
        else if (!strcmp(a, "--hidden")) H = (int)bench_parse_long("bench_sample", a, v, 1, 65536);
        else if (!strcmp(a, "--layers")) L = (int)bench_parse_long("bench_sample", a, v, 1, 64);
        else if (!strcmp(a, "--tokens")) tokens = (int)bench_parse_long("bench_sample", a, v, 1, 100000000);
        else if (!strcmp(a, "--repeats")) repeats = (int)bench_parse_long("bench_sample", a, v, 1, 100000);
        else if (!strcmp(a, "--temperature")) temperature = bench_parse_double("bench_sample", a, v, 0, 1e6);
        else if (!strcmp(a, "--top-k")) top_k = (int)bench_parse_long("bench_sample", a, v, 0, 16777216);
        else if (!strcmp(a, "--top-p")) top_p = bench_parse_double("bench_sample", a, v, 0, 1);
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--prompt")) prompt = (int)bench_parse_long("bench_sample", a, v, 0, 100000000);
        else { fprintf(stderr, "bench_sample: unknown option %s\n", a); return 2; }
    }
    rnnc_lm_config c = {0};
    if (rnnc_cell_parse(cell, &c.cell)) { fprintf(stderr, "bench_sample: %s\n", rnnc_last_error()); return 2; }
    c.vocab = V; c.embed = E; c.hidden = H; c.layers = L;
    rnnc_lm *m;
    if (model) {
        if (rnnc_lm_load(&m, model)) { fprintf(stderr, "bench_sample: %s\n", rnnc_last_error()); return 1; }
        c = m->c;
        cell = rnnc_cell_name(c.cell);
        V = c.vocab; E = c.embed; H = c.hidden; L = c.layers;
    } else {
        if (rnnc_lm_new(&m, &c)) { fprintf(stderr, "bench_sample: %s\n", rnnc_last_error()); return 1; }
        rnnc_rng r;
        rnnc_rng_seed(&r, 1);
        rnnc_lm_init(m, &r);
    }
    rnnc_sample_params p = {(float)temperature, top_k, (float)top_p};
    rnnc_generator *g;
    if (rnnc_generator_new(&g, m, &p, 7)) { fprintf(stderr, "bench_sample: %s\n", rnnc_last_error()); return 1; }
    rnnc_generator_set_threads(g, 0); /* OMP_NUM_THREADS decides */
    if (half && rnnc_generator_use_half(g)) { fprintf(stderr, "bench_sample: %s\n", rnnc_last_error()); return 1; }
    double *rate = malloc((size_t)(repeats + 1) * sizeof *rate), *prate = malloc((size_t)(repeats + 1) * sizeof *prate);
    uint32_t *pids = malloc((size_t)(prompt > 0 ? prompt : 1) * sizeof *pids);
    rnnc_rng pr;
    rnnc_rng_seed(&pr, 3);
    for (int i = 0; i < prompt; i++) pids[i] = (uint32_t)rnnc_rng_below(&pr, (uint64_t)V);
    uint64_t checksum = 0;
    for (int rep = 0; rep <= repeats; rep++) { /* repeat 0 warms caches and threads */
        rnnc_generator_reset(g);
        const uint32_t start = 1;
        double t0 = bench_now();
        if (rnnc_generator_feed(g, prompt > 0 ? pids : &start, prompt > 0 ? (size_t)prompt : 1)) {
            fprintf(stderr, "bench_sample: %s\n", rnnc_last_error());
            return 1;
        }
        prate[rep] = prompt / (bench_now() - t0);
        if (prompt > 0) checksum += (uint64_t)(int64_t)(rnnc_generator_logits(g)[0] * 1e6f); /* via int64: the logit may be negative */
        t0 = bench_now();
        for (int k = 0; k < tokens; k++) {
            uint32_t id;
            if (rnnc_generator_next(g, &id)) { fprintf(stderr, "bench_sample: %s\n", rnnc_last_error()); return 1; }
            checksum += id;
        }
        rate[rep] = tokens / (bench_now() - t0);
    }
    double med = bench_upper_median(rate + 1, (size_t)repeats); /* sorts: rate[repeats] is the best */
    printf("impl=rnnc%s cell=%s V=%d E=%d H=%d L=%d tokens=%d repeats=%d median_tok_s=%.1f best_tok_s=%.1f checksum=%llu",
           half ? "-half" : "", cell, V, E, H, L, tokens, repeats, med, rate[repeats], (unsigned long long)checksum);
    if (prompt > 0) printf(" prompt=%d prompt_tok_s=%.1f", prompt, bench_upper_median(prate + 1, (size_t)repeats));
    printf("\n");
    free(rate);
    free(prate);
    free(pids);
    rnnc_generator_free(g);
    rnnc_lm_free(m);
    return 0;
}
