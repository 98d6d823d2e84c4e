/* rnnc classify | tag | forecast train — the sequence tasks (include/rnnc/train.h) under the run
 * (include/rnnc/run.h). One flag table for the three, each flag marked with the tasks it serves;
 * the run's and the model's flags come from run_cli.c. predict and eval: cmd_seqtask_use.c. */
#include <stdio.h>
#include <string.h>

#include "cli/run_cli.h"
#include "cli/seqtask_cli.h"
#include "rnnc/filekind.h"
#include "rnnc/train.h"

#define CLS (1u << RNNC_SEQ_CLASSIFY)
#define TAG (1u << RNNC_SEQ_TAG)
#define FC (1u << RNNC_SEQ_FORECAST)

/* --batch is parsed against the bound every command shares; the trainer must take all of it */
_Static_assert(CLI_BATCH_MAX == RNNC_SEQ_MAX_BATCH, "the trainers' --batch bound is not the CLI's");

enum {
    TF_DATA, TF_VALID, TF_TOKENIZER, TF_BIDIRECTIONAL, TF_OUTPUT_DROPOUT, TF_POOL, TF_MAX_LEN, TF_SKIP_BAD, TF_SKIP_LONG,
    TF_CLASS_WEIGHT, TF_TARGET, TF_COVARIATES, TF_KNOWN, TF_CONTEXT, TF_HORIZON, TF_SEASON, TF_LOSS, TF_VALID_LAST,
    TF_HOLDOUT, TF_RELATIVE, TF_COUNT
};
static const struct {
    unsigned tasks;
    cli_flag_def def;
} task_flags[TF_COUNT] = {
    [TF_DATA] = {CLS | TAG | FC, {"--data", NULL, CF_STR, 0, 0, "FILE", "training data (classify: TSV label TAB text; tag: TSV "
                                                                  "tokens TAB tags; forecast: CSV with a header)", false}},
    [TF_VALID] = {CLS | TAG, {"--valid", NULL, CF_STR, 0, 0, "DEV.tsv", "held-out data in the same form, validated on", false}},
    [TF_TOKENIZER] = {CLS | TAG, {"--tokenizer", NULL, CF_STR, 0, 0, "T",
                                  "how texts split into tokens: space | char | word[:N] | bpe:N | FILE (a tokenizer file or "
                                  "cl100k_base ...); classify default word:20000; tag: space (default) or char (a tag per "
                                  "character)", false}},
    [TF_BIDIRECTIONAL] = {CLS | TAG | FC, {"--bidirectional", NULL, CF_SWITCH, 0, 0, NULL, "bidirectional recurrent layers", false}},
    [TF_OUTPUT_DROPOUT] = {CLS | TAG | FC, {"--output-dropout", NULL, CF_DOUBLE, 0, 0.99, "P", "dropout on the head's input, training "
                                                                                              "only (default 0)", false}},
    [TF_POOL] = {CLS | FC, {"--pool", NULL, CF_STR, 0, 0, "P", "how the sequence becomes one vector: last | mean | max | final "
                                                             "(the final states of both directions; classify default max, "
                                                             "forecast final)", false}},
    [TF_MAX_LEN] = {CLS | TAG, {"--max-len", NULL, CF_LONG, 1, 1 << 30, "N", "tokens per item (default 512): classify cuts longer "
                                                                          "texts, tag refuses them", false}},
    [TF_SKIP_BAD] = {CLS | TAG, {"--skip-bad", NULL, CF_SWITCH, 0, 0, NULL, "count and skip bad lines (else an error naming "
                                                                       "file:line)", false}},
    [TF_SKIP_LONG] = {TAG, {"--skip-long", NULL, CF_SWITCH, 0, 0, NULL, "count and skip items longer than --max-len", false}},
    [TF_CLASS_WEIGHT] = {CLS, {"--class-weight", NULL, CF_STR, 0, 0, "W", "none (default) | balanced (n / (classes x n_c)) | "
                                                                        "NAME=W,NAME=W (others 1)", false}},
    [TF_TARGET] = {FC, {"--target", NULL, CF_STR, 0, 0, "COL", "the CSV column to forecast", false}},
    [TF_COVARIATES] = {FC, {"--covariates", NULL, CF_STR, 0, 0, "A,B", "input columns known only up to now", false}},
    [TF_KNOWN] = {FC, {"--known", NULL, CF_STR, 0, 0, "A,B", "input columns known in advance (a calendar): also fed for the "
                                                           "forecast steps", false}},
    [TF_CONTEXT] = {FC, {"--context", NULL, CF_LONG, 1, 1 << 20, "T", "steps read per forecast (default 28)", false}},
    [TF_HORIZON] = {FC, {"--horizon", NULL, CF_LONG, 1, 65536, "N", "steps forecast at once (default 1)", false}},
    [TF_SEASON] = {FC, {"--season", NULL, CF_LONG, 0, 1 << 24, "M", "season of the seasonal-naive comparison (default 0: naive)", false}},
    [TF_LOSS] = {FC, {"--loss", NULL, CF_STR, 0, 0, "L", "mse (default) | mae", false}},
    [TF_VALID_LAST] = {FC, {"--valid-last", NULL, CF_LONG, 1, 1e12, "R", "validate on the last R rows before the held-out ones "
                                                                       "(default a tenth)", false}},
    [TF_HOLDOUT] = {FC, {"--holdout", NULL, CF_LONG, 0, 1e12, "R", "leave the last R rows out of training and validation (test them "
                                                                 "with eval --last R)", false}},
    [TF_RELATIVE] = {FC, {"--relative", NULL, CF_SWITCH, 0, 0, NULL, "forecast each window relative to its own level (the mean "
                                                                  "of its context's target): for a series whose level drifts "
                                                                  "beyond the training rows'", false}},
};

static const char *const usage_text[3] = {
    "usage: rnnc classify train --data TRAIN.tsv --valid DEV.tsv -o RUN_DIR [options]\n"
    "       rnnc classify train --resume RUN_DIR [--steps N | --epochs X | --time T]\n"
    "       rnnc classify predict --model M [FILE] [--json] [-o OUT]\n"
    "       rnnc classify eval --model M --data TEST.tsv [--json]\n"
    "\n"
    "Sequence -> label. TSV lines: label TAB text. predict reads one text a line and\n"
    "prints label TAB probability (--json: every probability); eval prints accuracy,\n"
    "macro-F1, per-class precision/recall/F1 and the confusion matrix.\n",
    "usage: rnnc tag train --data TRAIN.tsv --valid DEV.tsv -o RUN_DIR [options]\n"
    "       rnnc tag train --resume RUN_DIR [--steps N | --epochs X | --time T]\n"
    "       rnnc tag predict --model M [FILE] [--json] [-o OUT]\n"
    "       rnnc tag eval --model M --data TEST.tsv [--json]\n"
    "\n"
    "A tag per token. TSV lines: tokens TAB tags, space-separated with equal counts\n"
    "(with --tokenizer char, a tag per character of the text). predict prints one\n"
    "line of tags per input line; eval prints token and sequence accuracy, per-tag F1\n"
    "and, for BIO tags, span F1.\n",
    "usage: rnnc forecast train --data SERIES.csv --target COL -o RUN_DIR [options]\n"
    "       rnnc forecast train --resume RUN_DIR [--steps N | --epochs X | --time T]\n"
    "       rnnc forecast predict --model M --data RECENT.csv [-o OUT.csv]\n"
    "       rnnc forecast eval --model M --data SERIES.csv [--last R] [--json]\n"
    "\n"
    "Numbers -> the next numbers. A CSV with a header; windows of --context rows\n"
    "predict the --horizon rows after them. eval prints MAE, RMSE, sMAPE and MASE\n"
    "beside the seasonal-naive forecast's; predict continues the series past its last\n"
    "row.\n",
};

void cmd_seqtask_usage(rnnc_seq_kind kind, FILE *f) { fputs(usage_text[kind], f); }

static int train(rnnc_seq_kind kind, int argc, char **argv) {
    const char *name = rnnc_seq_kind_name(kind);
    char mode[64], cmdline[64];
    snprintf(mode, sizeof mode, "%s train", name);
    snprintf(cmdline, sizeof cmdline, "rnnc %s train", name);
    /* this task's flags and the model flags that apply to it */
    cli_flag_def defs[TF_COUNT], mdefs[MF_COUNT];
    int map[TF_COUNT], nd = 0, nm = 0, mmap[MF_COUNT];
    for (int i = 0; i < TF_COUNT; i++)
        if (task_flags[i].tasks & (1u << kind)) { map[i] = nd; defs[nd++] = task_flags[i].def; } else map[i] = -1;
    for (int i = 0; i < MF_COUNT; i++)
        if (i != MF_EMBED || kind != RNNC_SEQ_FORECAST) { mmap[i] = nm; mdefs[nm++] = cli_model_flags[i]; } else mmap[i] = -1;
    /* (the shared help gives the LM's default; these tasks default to 128) */
    mdefs[mmap[MF_HIDDEN]].help = "hidden units per layer (default 128)";
    cli_flag_val tv[TF_COUNT] = {0}, mv[MF_COUNT] = {0}, rv[RF_COUNT] = {0};
    cli_flag_table tables[] = {{"data and task", defs, tv, (size_t)nd},
                               {kind == RNNC_SEQ_FORECAST ? "model (defaults: lstm, 1 layer, hidden 128; --batch 32)"
                                                          : "model (defaults: lstm, 1 layer, hidden 128, embed 64; --batch 32)",
                                mdefs, mv, (size_t)nm},
                               {"training run (the same in every trainer)", cli_run_flags, rv, RF_COUNT}};
    const size_t nt = sizeof tables / sizeof tables[0];
    int rc = cli_flags_parse(mode, argc, argv, 1, tables, nt);
    if (rc < 0) {
        fputs(usage_text[kind], stdout);
        fputs("\nWrites RUN_DIR/model.safetensors, best.safetensors (the best validation),\n"
              "checkpoint.safetensors and metrics.jsonl (plot: rnnc plot RUN_DIR). Ctrl-C,\n"
              "SIGTERM or kill -9 leave a run that --resume continues exactly (step and epoch\n"
              "budgets).\n\n", stdout);
        cli_flags_help(stdout, tables, nt);
        cli_flags_free(tables, nt);
        return 0;
    }
#define T_(f) (map[f] >= 0 ? &tv[map[f]] : &(cli_flag_val){0})
#define M_(f) (mmap[f] >= 0 ? &mv[mmap[f]] : &(cli_flag_val){0})
    if (rc) goto out;
    rnnc_run_opts ro;
    if (rv[RF_RESUME].given) {
        if (!(rc = cli_flags_check_resume(mode, tables, nt)) && !(rc = cli_run_opts(mode, rv, &ro)))
            rc = cli_run(cmdline, name, NULL, NULL, rv);
        goto out;
    }
    rnnc_seq_task_opts o = rnnc_seq_task_defaults(kind);
    if (kind == RNNC_SEQ_FORECAST) {
        if (!T_(TF_TARGET)->given) { rc = cli_usage_error(mode, "--target COL is required (or --resume RUN_DIR)"); goto out; }
    } else if (!T_(TF_VALID)->given) {
        rc = cli_usage_error(mode, "--valid DEV.tsv is required");
        goto out;
    }
    if (!T_(TF_DATA)->given && kind != RNNC_SEQ_FORECAST) { rc = cli_usage_error(mode, "--data TRAIN.tsv is required (or --resume RUN_DIR)"); goto out; }
    if (!rv[RF_OUTPUT].given) { rc = cli_usage_error(mode, "-o RUN_DIR is required"); goto out; }
    o.data = T_(TF_DATA)->s;
    o.valid = T_(TF_VALID)->s;
    if (T_(TF_TOKENIZER)->given) {
        rnnc_s2s_tok tok;
        if (rnnc_s2s_tok_parse(T_(TF_TOKENIZER)->s, &tok)) { rc = cli_usage_error(mode, "--tokenizer: %s", rnnc_last_error()); goto out; }
        if (kind == RNNC_SEQ_TAG && tok != RNNC_S2S_TOK_SPACE && tok != RNNC_S2S_TOK_CHAR) {
            rc = cli_usage_error(mode, "--tokenizer: tag needs space or char (each token gets one tag), not %s", T_(TF_TOKENIZER)->s);
            goto out;
        }
        o.tokenizer = T_(TF_TOKENIZER)->s;
    }
    if (M_(MF_CELL)->given && rnnc_cell_parse(M_(MF_CELL)->s, &o.model.cell)) { rc = cli_usage_error(mode, "--cell: %s", rnnc_last_error()); goto out; }
    if (M_(MF_LAYERS)->given) o.model.layers = (int)M_(MF_LAYERS)->l;
    if (M_(MF_HIDDEN)->given) o.model.hidden = (int)M_(MF_HIDDEN)->l;
    if (M_(MF_EMBED)->given) o.model.embed = (int)M_(MF_EMBED)->l;
    if (M_(MF_DROPOUT)->given) o.model.dropout = (float)M_(MF_DROPOUT)->d;
    if (M_(MF_BATCH)->given) o.batch = (int)M_(MF_BATCH)->l;
    cli_warn_dropout(mode, M_(MF_DROPOUT), o.model.layers);
    o.model.bidirectional = T_(TF_BIDIRECTIONAL)->given;
    if (T_(TF_OUTPUT_DROPOUT)->given) o.model.output_dropout = (float)T_(TF_OUTPUT_DROPOUT)->d;
    if (T_(TF_POOL)->given && rnnc_pool_parse(T_(TF_POOL)->s, &o.model.pool)) { rc = cli_usage_error(mode, "--pool: %s", rnnc_last_error()); goto out; }
    if (T_(TF_LOSS)->given && (rnnc_seq_loss_parse(T_(TF_LOSS)->s, &o.model.loss) || o.model.loss == RNNC_SEQ_LOSS_CE)) {
        rc = cli_usage_error(mode, "--loss: mse or mae, not %s", T_(TF_LOSS)->s);
        goto out;
    }
    if (T_(TF_MAX_LEN)->given) o.max_len = (int)T_(TF_MAX_LEN)->l;
    o.skip_bad = T_(TF_SKIP_BAD)->given;
    o.skip_long = T_(TF_SKIP_LONG)->given;
    o.class_weight = T_(TF_CLASS_WEIGHT)->s;
    /* (the label names are checked once the data is read) */
    if (rnnc_seq_class_weight_check(o.class_weight)) { rc = cli_usage_error(mode, "%s", rnnc_last_error()); goto out; }
    o.target = T_(TF_TARGET)->s;
    o.covariates = T_(TF_COVARIATES)->s;
    o.known = T_(TF_KNOWN)->s;
    if (T_(TF_CONTEXT)->given) o.context = (int)T_(TF_CONTEXT)->l;
    if (T_(TF_HORIZON)->given) o.horizon = (int)T_(TF_HORIZON)->l;
    if (T_(TF_SEASON)->given) o.season = (int)T_(TF_SEASON)->l;
    if (T_(TF_VALID_LAST)->given) o.valid_last = T_(TF_VALID_LAST)->l;
    if (T_(TF_HOLDOUT)->given) o.holdout = T_(TF_HOLDOUT)->l;
    o.relative = T_(TF_RELATIVE)->given;
    if (kind == RNNC_SEQ_FORECAST && !o.data) { rc = cli_usage_error(mode, "--data SERIES.csv is required"); goto out; }
    if ((rc = cli_run_opts(mode, rv, &ro))) goto out;
    if (cli_dist_rank() == 0 && rnnc_run_dir_check(ro.run_dir, ro.force)) { rc = cli_fail_status(); goto out; } /* rank 0 alone touches it */
    rnnc_task *t;
    char summary[1024];
    if (rnnc_seq_task_new(&t, &o, ro.seed, summary, sizeof summary)) { rc = cli_fail_status(); goto out; }
    fprintf(stderr, "%s: %s\n", name, summary);
    rc = cli_run(cmdline, name, &ro, t, rv);
out:
    cli_flags_free(tables, nt);
    return rc;
#undef T_
#undef M_
}

/* The model, refused in one line with what the file is and which command takes it when it is
 * anything but this task's model (a checkpoint of its run loads as its model). */
int cli_seq_load(rnnc_seq_kind kind, const char *path, rnnc_seq_model **m) {
    static const rnnc_file_kind want[3] = {RNNC_FILE_CLASSIFIER, RNNC_FILE_TAGGER, RNNC_FILE_FORECASTER};
    char what[1600];
    *m = NULL;
    rnnc_file_kind k = rnnc_file_kind_sniff_path(path);
    if (k != RNNC_FILE_UNKNOWN) return cli_fail("%s: %s", path, rnnc_file_kind_describe(what, sizeof what, k, want[kind], path));
    rnnc_safetensors st;
    if (rnnc_st_load(&st, path)) return cli_fail_status();
    k = rnnc_file_kind_of(&st);
    int rc = 0;
    /* (a file of no known kind goes to the loader, whose error is the precise one) */
    if (k != RNNC_FILE_SAFETENSORS && rnnc_file_kind_task(k) != want[kind])
        rc = cli_fail("%s: %s", path, rnnc_file_kind_describe(what, sizeof what, k, want[kind], path));
    else if (rnnc_seq_load_st(m, &st))
        rc = cli_fail_status();
    rnnc_st_free(&st);
    return rc;
}

int cmd_seqtask(rnnc_seq_kind kind, int argc, char **argv) {
    const char *name = rnnc_seq_kind_name(kind);
    if (argc < 2) { cmd_seqtask_usage(kind, stderr); return 2; }
    if (cli_is_help(argv[1])) { cmd_seqtask_usage(kind, stdout); return 0; }
    if (!strcmp(argv[1], "train")) return train(kind, argc - 1, argv + 1);
    bool fc = kind == RNNC_SEQ_FORECAST;
    if (!strcmp(argv[1], "predict")) return fc ? cmd_forecast_predict(argc - 1, argv + 1) : cmd_seqtask_predict(kind, argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return fc ? cmd_forecast_eval(argc - 1, argv + 1) : cmd_seqtask_eval(kind, argc - 1, argv + 1);
    return cli_usage_error(name, "unknown subcommand '%s' (train, predict, eval)", argv[1]);
}

int cmd_classify(int argc, char **argv) { return cmd_seqtask(RNNC_SEQ_CLASSIFY, argc, argv); }
int cmd_tag(int argc, char **argv) { return cmd_seqtask(RNNC_SEQ_TAG, argc, argv); }
int cmd_forecast(int argc, char **argv) { return cmd_seqtask(RNNC_SEQ_FORECAST, argc, argv); }
