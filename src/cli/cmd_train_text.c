/* rnnc train --data ... -o RUN_DIR | --resume RUN_DIR: the language-model task on text files
 * (include/rnnc/train.h) under the run (include/rnnc/run.h): the flags every trainer shares come
 * from run_cli.c, the ones here are the task's own. */
#include <stdio.h>
#include <string.h>

#include "cli/run_cli.h"
#include "rnnc/train.h"

enum { TF_DATA, TF_VALID, TF_VALID_FRACTION, TF_TOKENIZER, TF_UNIFORM_BIAS, TF_SEQ, TF_EVAL_TOKENS, TF_COUNT };
static const cli_flag_def text_flags[TF_COUNT] = {
    [TF_DATA] = {"--data", NULL, CF_LIST, 0, 0, "FILE...", "training text (several files are concatenated)", false},
    [TF_VALID] = {"--valid", NULL, CF_STR, 0, 0, "FILE", "held-out text (default: the last --valid-fraction of the data)", false},
    [TF_VALID_FRACTION] = {"--valid-fraction", NULL, CF_DOUBLE, 1e-6, 0.999, "X", "share held out when there is no --valid "
                                                                                 "(default 0.05)", false},
    [TF_TOKENIZER] = {"--tokenizer", NULL, CF_STR, 0, 0, "SPEC", "char | word | word:N | bpe:N | FILE | r50k_base ... (default char)", false},
    [TF_UNIFORM_BIAS] = {"--uniform-bias", NULL, CF_SWITCH, 0, 0, NULL, "start the output bias as PyTorch does (default: the log "
                                                                       "unigram frequencies of the training tokens)", false},
    [TF_SEQ] = {"--seq", NULL, CF_LONG, 1, 1 << 20, "T", "window length in tokens (default 128); --batch B streams (default 32)", false},
    [TF_EVAL_TOKENS] = {"--eval-tokens", NULL, CF_LONG, 1, 1e12, "N", "cap on validation tokens per check (default: all)", false},
};

static void usage(FILE *f, cli_flag_table *tables, size_t n) {
    fputs("usage: rnnc train --data FILE... [options] -o RUN_DIR\n"
          "       rnnc train --resume RUN_DIR [--steps N | --epochs X | --time T]\n"
          "       rnnc train --model MODEL --ids FILE ...   (see rnnc train --ids --help)\n"
          "\n"
          "Trains a recurrent language model on text. The tokenizer is trained on the\n"
          "training text (or loaded) and stored in the model files, so a model file is\n"
          "all that sampling needs. Writes RUN_DIR/model.safetensors, best.safetensors,\n"
          "checkpoint.safetensors and metrics.jsonl (plot with: rnnc plot RUN_DIR -o\n"
          "loss.svg). A run stopped by Ctrl-C, SIGTERM or kill -9 continues exactly with\n"
          "--resume (step and epoch budgets; a --time budget is not repeatable).\n"
          "\n",
          f);
    cli_flags_help(f, tables, n);
}

int cmd_train_text(int argc, char **argv) {
    const char *mode = "train";
    cli_flag_val tv[TF_COUNT] = {0}, mv[MF_COUNT] = {0}, rv[RF_COUNT] = {0};
    cli_flag_table tables[] = {{"data", text_flags, tv, TF_COUNT},
                               {"model (defaults: lstm, 2 layers, hidden 256, embed 64; --batch 32)", cli_model_flags, mv, MF_COUNT},
                               {"training run (the same in every trainer)", cli_run_flags, rv, RF_COUNT}};
    const size_t nt = sizeof tables / sizeof tables[0];
    int rc = cli_flags_parse(mode, argc, argv, 1, tables, nt);
    if (rc < 0) { usage(stdout, tables, nt); cli_flags_free(tables, nt); return 0; }
    if (rc) { cli_flags_free(tables, nt); return rc; }
    rnnc_run_opts ro;
    if (rv[RF_RESUME].given) {
        if ((rc = cli_flags_check_resume(mode, tables, nt)) || (rc = cli_run_opts(mode, rv, &ro))) goto out;
        rc = cli_run("rnnc train", "lm", NULL, NULL, rv);
        goto out;
    }
    if (!tv[TF_DATA].given) { rc = cli_usage_error(mode, "--data is required (or --resume RUN_DIR)"); goto out; }
    if (!rv[RF_OUTPUT].given) { rc = cli_usage_error(mode, "-o RUN_DIR is required"); goto out; }
    if ((rc = cli_run_opts(mode, rv, &ro))) goto out;
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    o.data = tv[TF_DATA].list;
    o.n_data = tv[TF_DATA].n;
    if (tv[TF_VALID].given) o.valid = tv[TF_VALID].s;
    if (tv[TF_VALID_FRACTION].given) {
        o.valid_fraction = tv[TF_VALID_FRACTION].d;
        if (tv[TF_VALID].given) fprintf(stderr, "rnnc train: warning: --valid-fraction is ignored: --valid gives the held-out text\n");
    }
    if (tv[TF_TOKENIZER].given) {
        rnnc_tokenizer_spec ts; /* a bad spec (bpe:x, bpe:100) is a usage error, before any work */
        if (rnnc_tokenizer_spec_parse(tv[TF_TOKENIZER].s, &ts)) { rc = cli_usage_error(mode, "--tokenizer: %s", rnnc_last_error()); goto out; }
        o.tokenizer = tv[TF_TOKENIZER].s;
    }
    if (tv[TF_UNIFORM_BIAS].given) o.unigram_bias = false;
    if (tv[TF_SEQ].given) o.seq = (int)tv[TF_SEQ].l;
    if (tv[TF_EVAL_TOKENS].given) o.eval_max_tokens = tv[TF_EVAL_TOKENS].l;
    if (mv[MF_CELL].given && rnnc_cell_parse(mv[MF_CELL].s, &o.cell)) {
        rc = cli_usage_error(mode, "--cell: %s", rnnc_last_error());
        goto out;
    }
    if (mv[MF_LAYERS].given) o.layers = (int)mv[MF_LAYERS].l;
    if (mv[MF_HIDDEN].given) o.hidden = (int)mv[MF_HIDDEN].l;
    if (mv[MF_EMBED].given) o.embed = (int)mv[MF_EMBED].l;
    if (mv[MF_DROPOUT].given) o.dropout = (float)mv[MF_DROPOUT].d;
    if (mv[MF_BATCH].given) o.batch = (int)mv[MF_BATCH].l;
    cli_warn_dropout(mode, &mv[MF_DROPOUT], o.layers);
    /* the directory first: a used one is refused before minutes of tokenizer training */
    if (cli_dist_rank() == 0 && rnnc_run_dir_check(ro.run_dir, ro.force)) { rc = cli_fail_status(); goto out; } /* rank 0 alone touches it */
    rnnc_task *t;
    if (rnnc_lm_task_new(&t, &o, ro.seed)) { rc = cli_fail_status(); goto out; }
    rc = cli_run("rnnc train", "lm", &ro, t, rv);
out:
    cli_flags_free(tables, nt);
    return rc;
}
