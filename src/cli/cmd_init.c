/* rnnc init — a new language model with PyTorch's default initialisation, saved as safetensors.
 * Its flags are the trainers' (run_cli.c: the model flags and --seed), so each has the same name
 * and bounds here as in rnnc train; only the help gives init's own defaults. */
#include <stdio.h>
#include <string.h>

#include "cli/run_cli.h"

enum { NF_VOCAB, NF_OUTPUT, NF_COUNT };
static const cli_flag_def init_flags[NF_COUNT] = {
    [NF_VOCAB] = {"--vocab", NULL, CF_LONG, 1, RNNC_LM_MAX_VOCAB, "V", "vocabulary size (required)", false},
    [NF_OUTPUT] = {"--output", "-o", CF_STR, 0, 0, "MODEL", "output file (required)", false},
};

int cmd_init(int argc, char **argv) {
    const char *mode = "init";
    /* the model flags but --batch, and --seed, with init's defaults in their help */
    cli_flag_def mdefs[MF_COUNT - 1], sdefs[1] = {cli_run_flags[RF_SEED]};
    for (int k = 0; k < MF_BATCH; k++) mdefs[k] = cli_model_flags[k];
    mdefs[MF_CELL].help = "rnn_tanh | rnn_relu | lstm | gru (required)";
    mdefs[MF_LAYERS].help = "stacked recurrent layers (default 1)";
    mdefs[MF_HIDDEN].help = "hidden units per layer (required)";
    mdefs[MF_EMBED].help = "embedding size (required)";
    mdefs[MF_DROPOUT].help = "dropout between stacked layers, in training (default 0; needs --layers 2 or more)";
    sdefs[0].help = "initialisation (default 1)";
    cli_flag_val nv[NF_COUNT] = {0}, mv[MF_COUNT - 1] = {0}, sv[1] = {0};
    cli_flag_table tables[] = {{"model file", init_flags, nv, NF_COUNT},
                               {"model (the same flags as rnnc train)", mdefs, mv, MF_COUNT - 1},
                               {"random numbers", sdefs, sv, 1}};
    const size_t nt = sizeof tables / sizeof tables[0];
    int rc = cli_flags_parse(mode, argc, argv, 1, tables, nt);
    if (rc < 0) {
        fputs("usage: rnnc init --cell CELL --vocab V --embed E --hidden H [--layers N]\n"
              "                 [--dropout P] [--seed S] -o MODEL\n"
              "\n"
              "Makes a language model (embedding -> recurrent stack -> linear head) initialised\n"
              "as PyTorch does and writes it as a safetensors file with PyTorch's tensor names.\n"
              "The same seed gives the same file.\n"
              "\n",
              stdout);
        cli_flags_help(stdout, tables, nt);
        cli_flags_free(tables, nt);
        return 0;
    }
    if (rc) goto out;
    rnnc_lm_config c = {0};
    if (!mv[MF_CELL].given) { rc = cli_usage_error(mode, "--cell is required (rnn_tanh, rnn_relu, lstm or gru)"); goto out; }
    if (rnnc_cell_parse(mv[MF_CELL].s, &c.cell)) {
        rc = cli_usage_error(mode, "--cell must be rnn_tanh, rnn_relu, lstm or gru, got '%s'", mv[MF_CELL].s);
        goto out;
    }
    const char *need[][2] = {{"--vocab", nv[NF_VOCAB].given ? "" : NULL}, {"--embed", mv[MF_EMBED].given ? "" : NULL},
                             {"--hidden", mv[MF_HIDDEN].given ? "" : NULL}, {"-o MODEL", nv[NF_OUTPUT].s}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!need[i][1]) { rc = cli_usage_error(mode, "%s is required", need[i][0]); goto out; }
    c.vocab = (int)nv[NF_VOCAB].l;
    c.embed = (int)mv[MF_EMBED].l;
    c.hidden = (int)mv[MF_HIDDEN].l;
    c.layers = mv[MF_LAYERS].given ? (int)mv[MF_LAYERS].l : 1;
    c.dropout = mv[MF_DROPOUT].given ? (float)mv[MF_DROPOUT].d : 0;
    cli_warn_dropout(mode, &mv[MF_DROPOUT], c.layers);
    const char *out = nv[NF_OUTPUT].s;
    if ((rc = cli_output_ok(mode, "-o", &out, false, NULL, 0))) goto out;
    rnnc_lm *m;
    if (rnnc_lm_new(&m, &c)) { rc = cli_fail_status(); goto out; }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, sv[0].given ? (uint64_t)sv[0].l : 1);
    rnnc_lm_init(m, &rng);
    rnnc_status s = rnnc_lm_save(m, out);
    size_t n = m->n_params;
    rnnc_lm_free(m);
    if (s) { rc = cli_fail_status(); goto out; }
    printf("wrote %s: %s, vocab %d, embed %d, hidden %d, layers %d, %zu parameters\n", out, rnnc_cell_name(c.cell), c.vocab,
           c.embed, c.hidden, c.layers, n);
out:
    cli_flags_free(tables, nt);
    return rc;
}
