/* rnnc seq2seq train — the sequence-to-sequence task (include/rnnc/train.h) under the run
 * (include/rnnc/run.h): the flags every trainer shares come from run_cli.c, the ones here are the
 * task's own. translate and eval are in cmd_seq2seq_use.c. */
#include <stdio.h>
#include <string.h>

#include "cli/run_cli.h"
#include "rnnc/train.h"

static const char *CMD = "seq2seq";

void cmd_seq2seq_usage(FILE *f) {
    fputs("usage: rnnc seq2seq train --data TRAIN.tsv --valid DEV.tsv -o RUN_DIR [options]\n"
          "       rnnc seq2seq train --resume RUN_DIR [--steps N | --epochs X | --time T]\n"
          "       rnnc seq2seq translate --model M [--beam K] [--nbest N] [--alpha A]\n"
          "                              [--max-len N]\n"
          "       rnnc seq2seq eval --model M --data TEST.tsv [--beam K] [--alpha A]\n"
          "                         [--skip-bad]\n"
          "\n"
          "TSV files hold one pair a line: source TAB target; equal sources are one item\n"
          "with several references. 'rnnc seq2seq train --help' lists the training options;\n"
          "translate: one output line per input line, flushed as it goes (an empty line\n"
          "gives an empty line); with --nbest N, N lines per input: INPUT_LINE_NO TAB SCORE\n"
          "TAB OUTPUT. eval prints the token error rate (TER, PER for G2P) and sequence\n"
          "error rate (SER, WER).\n",
          f);
}

enum {
    SF_DATA, SF_VALID, SF_SOURCE_TOK, SF_TARGET_TOK, SF_BIDIRECTIONAL, SF_REVERSE_SOURCE, SF_OUTPUT_DROPOUT,
    SF_TEACHER_FORCING, SF_LABEL_SMOOTHING, SF_MAX_SOURCE, SF_MAX_TARGET, SF_SKIP_BAD, SF_SKIP_LONG, SF_VALID_MAX, SF_COUNT
};
static const cli_flag_def s2s_flags[SF_COUNT] = {
    [SF_DATA] = {"--data", NULL, CF_STR, 0, 0, "TRAIN.tsv", "training pairs", false},
    [SF_VALID] = {"--valid", NULL, CF_STR, 0, 0, "DEV.tsv", "dev pairs: loss, and TER/SER of greedy decoding, at each validation", false},
    [SF_SOURCE_TOK] = {"--source-tokenizer", NULL, CF_STR, 0, 0, "T",
                       "how sources split into symbols: space (\"w o r d\", default) | char | word | word:N | bpe:N | FILE "
                       "(a tokenizer file, or cl100k_base ...); word and bpe:N are trained on the source column and stored "
                       "in the model", false},
    [SF_TARGET_TOK] = {"--target-tokenizer", NULL, CF_STR, 0, 0, "T", "the same for targets (trained on the target column)", false},
    [SF_BIDIRECTIONAL] = {"--bidirectional", NULL, CF_SWITCH, 0, 0, NULL, "a bidirectional encoder", false},
    [SF_REVERSE_SOURCE] = {"--reverse-source", NULL, CF_SWITCH, 0, 0, NULL, "the encoder reads each source last symbol first", false},
    [SF_OUTPUT_DROPOUT] = {"--output-dropout", NULL, CF_DOUBLE, 0, 0.99, "P", "dropout on the decoder's outputs before the head "
                                                                             "(training only; default 0)", false},
    [SF_TEACHER_FORCING] = {"--teacher-forcing", NULL, CF_DOUBLE, 0, 1, "R", "probability of feeding the gold previous token "
                                                                            "(default 1; below 1: scheduled sampling)", false},
    [SF_LABEL_SMOOTHING] = {"--label-smoothing", NULL, CF_DOUBLE, 0, 0.99, "EPS", "default 0", false},
    [SF_MAX_SOURCE] = {"--max-source", NULL, CF_LONG, 1, 1 << 30, "N", "longest source in symbols (default 1024)", false},
    [SF_MAX_TARGET] = {"--max-target", NULL, CF_LONG, 1, 1 << 30, "N", "longest target in symbols (default 1024)", false},
    [SF_SKIP_BAD] = {"--skip-bad", NULL, CF_SWITCH, 0, 0, NULL, "count and skip lines without one tab or with an empty side "
                                                               "(else an error naming file:line)", false},
    [SF_SKIP_LONG] = {"--skip-long", NULL, CF_SWITCH, 0, 0, NULL, "count and skip over-long pairs (else an error)", false},
    [SF_VALID_MAX] = {"--valid-max", NULL, CF_LONG, 0, 1e12, "N", "score at most N dev items by greedy decoding (default 0 = all)", false},
};

static int train(int argc, char **argv) {
    const char *mode = "seq2seq train";
    cli_flag_val sv[SF_COUNT] = {0}, mv[MF_COUNT] = {0}, rv[RF_COUNT] = {0};
    cli_flag_table tables[] = {{"data and task", s2s_flags, sv, SF_COUNT},
                               {"model (defaults: lstm, 1 layer, hidden 256, embed 64; --batch 64)", cli_model_flags, mv, MF_COUNT},
                               {"training run (the same in every trainer)", cli_run_flags, rv, RF_COUNT}};
    const size_t nt = sizeof tables / sizeof tables[0];
    int rc = cli_flags_parse(mode, argc, argv, 1, tables, nt);
    if (rc < 0) {
        fputs("usage: rnnc seq2seq train --data TRAIN.tsv --valid DEV.tsv -o RUN_DIR [options]\n"
              "       rnnc seq2seq train --resume RUN_DIR [--steps N | --epochs X | --time T]\n\n"
              "Trains an encoder-decoder on TSV pairs (teacher forcing) and writes\n"
              "RUN_DIR/model.safetensors, best.safetensors (lowest dev SER, then TER),\n"
              "checkpoint.safetensors and metrics.jsonl (plot: rnnc plot RUN_DIR). Ctrl-C,\n"
              "SIGTERM or kill -9 leave a run that --resume continues exactly (step and epoch\n"
              "budgets; a --time budget is not repeatable).\n\n",
              stdout);
        cli_flags_help(stdout, tables, nt);
        cli_flags_free(tables, nt);
        return 0;
    }
    if (rc) goto out;
    rnnc_run_opts ro;
    if (rv[RF_RESUME].given) {
        if (!(rc = cli_flags_check_resume(mode, tables, nt)) && !(rc = cli_run_opts(mode, rv, &ro)))
            rc = cli_run("rnnc seq2seq train", "seq2seq", NULL, NULL, rv);
        goto out;
    }
    if (!sv[SF_DATA].given) { rc = cli_usage_error(mode, "--data TRAIN.tsv is required (or --resume RUN_DIR)"); goto out; }
    if (!sv[SF_VALID].given) { rc = cli_usage_error(mode, "--valid DEV.tsv is required"); goto out; }
    if (!rv[RF_OUTPUT].given) { rc = cli_usage_error(mode, "-o RUN_DIR is required"); goto out; }
    rnnc_s2s_task_opts o = rnnc_s2s_task_defaults();
    o.data = sv[SF_DATA].s;
    o.valid = sv[SF_VALID].s;
    const int tok_flag[2] = {SF_SOURCE_TOK, SF_TARGET_TOK};
    const char **tok[2] = {&o.source_tokenizer, &o.target_tokenizer};
    for (int k = 0; k < 2; k++) {
        if (!sv[tok_flag[k]].given) continue;
        rnnc_s2s_tok kind;
        if (rnnc_s2s_tok_parse(sv[tok_flag[k]].s, &kind)) {
            rc = cli_usage_error(mode, "%s: %s", s2s_flags[tok_flag[k]].name, rnnc_last_error());
            goto out;
        }
        *tok[k] = sv[tok_flag[k]].s;
    }
    if (mv[MF_CELL].given && rnnc_cell_parse(mv[MF_CELL].s, &o.model.cell)) { rc = cli_usage_error(mode, "--cell: %s", rnnc_last_error()); goto out; }
    if (mv[MF_LAYERS].given) o.model.layers = (int)mv[MF_LAYERS].l;
    if (mv[MF_HIDDEN].given) o.model.hidden = (int)mv[MF_HIDDEN].l;
    if (mv[MF_EMBED].given) o.model.embed = (int)mv[MF_EMBED].l;
    if (mv[MF_DROPOUT].given) o.model.dropout = (float)mv[MF_DROPOUT].d;
    if (mv[MF_BATCH].given) o.batch = (int)mv[MF_BATCH].l;
    cli_warn_dropout(mode, &mv[MF_DROPOUT], o.model.layers);
    o.model.bidirectional = sv[SF_BIDIRECTIONAL].given;
    o.model.reverse_source = sv[SF_REVERSE_SOURCE].given;
    if (sv[SF_OUTPUT_DROPOUT].given) o.model.output_dropout = (float)sv[SF_OUTPUT_DROPOUT].d;
    if (sv[SF_TEACHER_FORCING].given) o.teacher_forcing = sv[SF_TEACHER_FORCING].d;
    if (sv[SF_LABEL_SMOOTHING].given) o.label_smoothing = sv[SF_LABEL_SMOOTHING].d;
    if (sv[SF_MAX_SOURCE].given) o.max_source = (int)sv[SF_MAX_SOURCE].l;
    if (sv[SF_MAX_TARGET].given) o.max_target = (int)sv[SF_MAX_TARGET].l;
    o.skip_bad = sv[SF_SKIP_BAD].given;
    o.skip_long = sv[SF_SKIP_LONG].given;
    if (sv[SF_VALID_MAX].given) o.valid_max = sv[SF_VALID_MAX].l;
    if ((rc = cli_run_opts(mode, rv, &ro))) goto out;
    /* the directory first: a used one is refused before the data is read */
    if (cli_dist_rank() == 0 && rnnc_run_dir_check(ro.run_dir, ro.force)) { rc = cli_fail_status(); goto out; } /* rank 0 alone touches it */
    for (int k = 0; k < 2; k++)
        if (!strncmp(*tok[k], "word", 4) || !strncmp(*tok[k], "bpe", 3))
            fprintf(stderr, "seq2seq: training the %s tokenizer (%s) on %s's %s column\n", k ? "target" : "source", *tok[k],
                    o.data, k ? "target" : "source");
    rnnc_task *t;
    char summary[1024];
    if (rnnc_s2s_task_new(&t, &o, ro.seed, summary, sizeof summary)) { rc = cli_fail_status(); goto out; }
    fprintf(stderr, "seq2seq: %s\n", summary);
    rc = cli_run("rnnc seq2seq train", "seq2seq", &ro, t, rv);
out:
    cli_flags_free(tables, nt);
    return rc;
}

int cmd_seq2seq(int argc, char **argv) {
    if (argc < 2) { cmd_seq2seq_usage(stderr); return 2; }
    if (cli_is_help(argv[1])) { cmd_seq2seq_usage(stdout); return 0; }
    if (!strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "translate")) return cmd_seq2seq_translate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_seq2seq_eval(argc - 1, argv + 1);
    return cli_usage_error(CMD, "unknown subcommand '%s' (train, translate, eval)", argv[1]);
}
