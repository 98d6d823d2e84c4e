/* rnnc init — a new language model with PyTorch's default initialisation, saved as safetensors. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc init --cell CELL --vocab V --embed E --hidden H --layers N\n"
            "                 [--dropout P] [--seed S] -o MODEL\n"
            "\n"
            "Makes a language model (embedding -> recurrent stack -> linear head) initialised\n"
            "as PyTorch does and writes it as a safetensors file with PyTorch's tensor names.\n"
            "\n"
            "  --cell CELL     rnn_tanh, rnn_relu, lstm or gru\n"
            "  --vocab V       vocabulary size\n"
            "  --embed E       embedding width\n"
            "  --hidden H      hidden state width\n"
            "  --layers N      stacked recurrent layers (default 1)\n"
            "  --dropout P     dropout between recurrent layers in training (default 0)\n"
            "  --seed S        random seed (default 1)\n"
            "  -o, --output MODEL  output file (required)\n");
}

int cmd_init(int argc, char **argv) {
    const char *cell = NULL, *out = NULL, *v;
    long vocab = 0, embed = 0, hidden = 0, layers = 1, seed = 1;
    double dropout = 0;
    int err = 0;
    if (cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        if (cli_opt("init", argc, argv, &i, "--cell", &v, &err)) { if (err) return err; cell = v; }
        else if (cli_opt("init", argc, argv, &i, "--vocab", &v, &err)) { if (err || !cli_parse_long("init", "--vocab", v, 1, 1L << 24, &vocab)) return 2; }
        else if (cli_opt("init", argc, argv, &i, "--embed", &v, &err)) { if (err || !cli_parse_long("init", "--embed", v, 1, 1L << 20, &embed)) return 2; }
        else if (cli_opt("init", argc, argv, &i, "--hidden", &v, &err)) { if (err || !cli_parse_long("init", "--hidden", v, 1, 1L << 20, &hidden)) return 2; }
        else if (cli_opt("init", argc, argv, &i, "--layers", &v, &err)) { if (err || !cli_parse_long("init", "--layers", v, 1, 64, &layers)) return 2; }
        else if (cli_opt("init", argc, argv, &i, "--dropout", &v, &err)) { if (err || !cli_parse_double("init", "--dropout", v, 0, 0.999999, &dropout)) return 2; }
        else if (cli_opt("init", argc, argv, &i, "--seed", &v, &err)) { if (err || !cli_parse_long("init", "--seed", v, 0, 0x7fffffffffffffffL, &seed)) return 2; }
        else if (cli_opt("init", argc, argv, &i, "-o", &v, &err) || cli_opt("init", argc, argv, &i, "--output", &v, &err)) { if (err) return err; out = v; }
        else return cli_usage_error("init", "unknown option '%s'", argv[i]);
    }
    if (!cell) return cli_usage_error("init", "--cell is required (rnn_tanh, rnn_relu, lstm or gru)");
    if (!vocab) return cli_usage_error("init", "--vocab is required");
    if (!embed) return cli_usage_error("init", "--embed is required");
    if (!hidden) return cli_usage_error("init", "--hidden is required");
    if (!out) return cli_usage_error("init", "-o MODEL is required");
    rnnc_lm_config c = {0};
    if (rnnc_cell_parse(cell, &c.cell))
        return cli_usage_error("init", "--cell must be rnn_tanh, rnn_relu, lstm or gru, got '%s'", cell);
    c.vocab = (int)vocab;
    c.embed = (int)embed;
    c.hidden = (int)hidden;
    c.layers = (int)layers;
    c.dropout = (float)dropout;
    rnnc_lm *m;
    if (rnnc_lm_new(&m, &c)) return cli_fail_status();
    rnnc_rng rng;
    rnnc_rng_seed(&rng, (uint64_t)seed);
    rnnc_lm_init(m, &rng);
    rnnc_status s = rnnc_lm_save(m, out);
    size_t n = m->n_params;
    rnnc_lm_free(m);
    if (s) return cli_fail_status();
    printf("wrote %s: %s, vocab %ld, embed %ld, hidden %ld, layers %ld, %zu parameters\n", out, cell, vocab, embed,
           hidden, layers, n);
    return 0;
}
