/* rnnc train — the language-model task, on text (cmd_train_text.c) or on an id file (here): a
 * model made elsewhere (PyTorch's state_dict, `rnnc init`) trained on ids for its budget (steps,
 * epochs or time) and written to one file, each step's loss printed, so its numbers can be
 * checked against the reference. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/run_cli.h"
#include "rnnc/train.h"

enum { IF_MODEL, IF_IDS, IF_SEQ, IF_COUNT };
static const cli_flag_def ids_flags[IF_COUNT] = {
    [IF_MODEL] = {"--model", NULL, CF_STR, 0, 0, "MODEL", "the model to train (its file, as rnnc init or PyTorch wrote it)", false},
    [IF_IDS] = {"--ids", NULL, CF_STR, 0, 0, "FILE", "whitespace-separated token ids, cut into --batch streams as rnnc eval does", false},
    [IF_SEQ] = {"--seq", NULL, CF_LONG, 1, 1 << 20, "T", "window length (required)", false},
};

/* The shared run flags an id-file run has no use for: it keeps no run directory (no checkpoint
 * to resume or start over), prints every step's loss and never validates. Refused, naming the
 * flag, rather than taken and ignored; left out of this mode's help. */
static const char *ids_unused(int k) {
    switch (k) {
    case RF_RESUME: return "it keeps no checkpoint to resume; -o names the model file it writes";
    case RF_FORCE: return "it has no run directory to start over in; -o names a model file, which is replaced";
    case RF_LOG_EVERY: return "every step's loss is printed";
    case RF_EVAL_EVERY:
    case RF_PATIENCE: return "it does not validate";
    case RF_CHECKPOINT_EVERY: return "it writes no checkpoints, only the model at the end";
    default: return NULL;
    }
}

/* This mode's defaults differ from the text trainer's (torch.optim's behaviour: nothing scheduled,
 * nothing clipped unless asked), so its help says its own. */
static const char *ids_help(int k) {
    switch (k) {
    case RF_OUTPUT: return "the model file to write, atomically (required)";
    case RF_OPTIMIZER: return "sgd | adam | adamw (required)";
    case RF_LR: return "learning rate (required)";
    case RF_CLIP: return "clip the global gradient norm to X (default 0 = off)";
    case RF_SCHEDULE: return "constant | cosine (from --lr down to --lr x --min-lr-ratio over the budget; default constant)";
    case RF_WARMUP: return "linear warm-up steps (default 0)";
    case RF_SEED: return "draws dropout (default 1)";
    case RF_EMA: return "keep a moving average of the weights with decay D (default 0 = off): the model written is the average";
    case RF_THREADS: return "OpenMP threads (default: OMP_NUM_THREADS or all cores, under mpirun the host's cores shared among "
                            "its ranks; results depend on it)";
    default: return NULL;
    }
}

static void usage(FILE *f, cli_flag_table *tables, size_t n) {
    fputs("usage: rnnc train --model MODEL --ids FILE --batch B --seq T\n"
          "                  (--steps N | --epochs X | --time T)\n"
          "                  --optimizer sgd|adam|adamw --lr X [--momentum M]\n"
          "                  [--weight-decay W] [--clip C] [--seed S] -o OUT\n"
          "\n"
          "Takes optimizer steps on consecutive windows of the id file (batched as in\n"
          "'rnnc eval') until the first budget is reached (an epoch is one pass over the\n"
          "windows), carrying the recurrent state between windows and starting again\n"
          "from the first window with zero state when the windows run out. Each step's\n"
          "loss (mean cross-entropy over its B*T targets) is printed; the trained model\n"
          "is written to OUT. The learning rate is constant (--schedule constant, no\n"
          "warm-up) and the gradient is not clipped unless --clip is given, as\n"
          "torch.optim does; --seed (default 1) draws dropout. For text, see 'rnnc train\n"
          "--help'.\n"
          "\n",
          f);
    /* the help of this mode: its own defaults, and only the flags it uses (model: --batch) */
    cli_flag_def run_defs[RF_COUNT], model_defs[1] = {cli_model_flags[MF_BATCH]};
    size_t nr = 0;
    for (int k = 0; k < RF_COUNT; k++)
        if (!ids_unused(k)) run_defs[nr++] = tables[2].defs[k];
    model_defs[0].help = "streams the ids are cut into (required)";
    cli_flag_table shown[] = {tables[0], {"model (the model file decides everything but the batch)", model_defs, tables[1].vals, 1},
                              {"training run", run_defs, tables[2].vals, nr}};
    (void)n;
    cli_flags_help(f, shown, sizeof shown / sizeof shown[0]);
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    cli_progress bar;
    long warmup; /* in effect, for the warning that it outlasts the run */
} ids_view;

static void on_step(const rnnc_run_event *e, void *ctx) {
    ids_view *u = ctx;
    cli_progress *bar = &u->bar;
    if (e->kind == RNNC_RUN_STARTED) { /* the bar counts steps, or seconds under --time alone */
        cli_warn_warmup("rnnc train --ids", u->warmup, e->total_steps);
        cli_progress_start(bar, "train", e->total_steps > 0 ? (double)e->total_steps : e->seconds_budget);
    }
    if (e->kind != RNNC_RUN_PROGRESS) return;
    cli_progress_finish(bar);
    printf("step %ld loss %.6f\n", e->step, e->loss);
    fflush(stdout);
    cli_train_status st = {e->step, e->total_steps, -1, e->loss, NAN, NULL};
    cli_train_fields f;
    cli_train_fields_make(&f, &st);
    cli_progress_update_fields(bar, e->total_steps > 0 ? (double)e->step : e->elapsed, f.field, f.n);
}

static int train_ids(int argc, char **argv) {
    const char *mode = "train --ids";
    cli_flag_val iv[IF_COUNT] = {0}, mv[MF_COUNT] = {0}, rv[RF_COUNT] = {0};
    cli_flag_def run_defs[RF_COUNT]; /* the trainers' run flags, with this mode's -o and defaults */
    for (int k = 0; k < RF_COUNT; k++) {
        run_defs[k] = cli_run_flags[k];
        if (ids_help(k)) run_defs[k].help = ids_help(k);
    }
    run_defs[RF_OUTPUT].arg = "OUT";
    cli_flag_table tables[] = {{"id file", ids_flags, iv, IF_COUNT},
                               {"model", cli_model_flags, mv, MF_COUNT},
                               {"training run", run_defs, rv, RF_COUNT}};
    const size_t nt = sizeof tables / sizeof tables[0];
    int rc = cli_flags_parse(mode, argc, argv, 1, tables, nt);
    if (rc < 0) { usage(stdout, tables, nt); cli_flags_free(tables, nt); return 0; }
    if (rc) goto out;
    const char *need[][2] = {{"--model", iv[IF_MODEL].s}, {"--ids", iv[IF_IDS].s}, {"--batch", mv[MF_BATCH].given ? "" : NULL},
                             {"--seq", iv[IF_SEQ].given ? "" : NULL},
                             {"--optimizer", rv[RF_OPTIMIZER].s}, {"--lr", rv[RF_LR].given ? "" : NULL},
                             {"-o", rv[RF_OUTPUT].s}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!need[i][1]) { rc = cli_usage_error(mode, "%s is required", need[i][0]); goto out; }
    for (int k = 0; k < MF_COUNT; k++)
        if (k != MF_BATCH && mv[k].given) { rc = cli_usage_error(mode, "%s: the model file decides it", cli_model_flags[k].name); goto out; }
    for (int k = 0; k < RF_COUNT; k++)
        if (rv[k].given && ids_unused(k)) { rc = cli_usage_error(mode, "%s does not apply to an id-file run (%s)", cli_run_flags[k].name, ids_unused(k)); goto out; }
    /* before the training, not at its end; the model may be written over (trained further in
     * place: it is read first), the ids may not */
    if ((rc = cli_output_ok(mode, "-o", &rv[RF_OUTPUT].s, false, (const char *const[]){iv[IF_IDS].s}, 1))) goto out;
    /* this mode's defaults go in first, so the warnings judge what is in effect (--min-lr-ratio
     * under the constant schedule); the budget is --steps, --epochs or --time, as in the others */
    rnnc_run_opts base = rnnc_run_defaults(), ro;
    base.schedule = RNNC_SCHEDULE_CONSTANT;
    base.warmup = 0;
    base.clip = 0;
    base.seed = 1;
    if ((rc = cli_run_opts_from(mode, rv, &base, &ro))) goto out;
    ro.eval_every = ro.log_every = 0;
    ro.run_dir = NULL;
    ro.model_out = rv[RF_OUTPUT].s;
    rnnc_task *t;
    if (rnnc_lm_task_ids(&t, iv[IF_MODEL].s, iv[IF_IDS].s, (int)mv[MF_BATCH].l, (int)iv[IF_SEQ].l)) { rc = cli_fail_status(); goto out; }
    if (rv[RF_SEED].given) { /* it draws dropout only (the windows go in order): a model without any draws nothing */
        rnnc_lm *m;
        if (rnnc_lm_load(&m, iv[IF_MODEL].s) == RNNC_OK) {
            if (!(m->c.dropout > 0 && m->c.layers > 1))
                fprintf(stderr, "rnnc %s: warning: --seed is ignored: it draws dropout only, and the model has none (%s)\n",
                        mode, m->c.layers > 1 ? "dropout 0" : "one layer");
            rnnc_lm_free(m);
        }
    }
    cli_catch_stop_signals(on_signal);
    ids_view u = {.warmup = ro.warmup};
    rnnc_status s = rnnc_run_start(&ro, t, on_step, &u, &stop_requested);
    cli_progress_finish(&u.bar);
    if (s) rc = s == RNNC_ERR_INTERRUPTED ? (cli_fail_status(), 130) : cli_fail_status();
    else fprintf(stderr, "wrote %s\n", ro.model_out);
out:
    cli_flags_free(tables, nt);
    return rc;
}

/* Whether argument a is the flag `name` ("--model", or "--model=..."). A value is never taken for
 * one: a value that starts with "--" is refused as a missing value by the parsers. */
static bool is_flag(const char *a, const char *name) {
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == 0 || a[n] == '=');
}

int cmd_train(int argc, char **argv) {
    /* the mode by its flags: --model/--ids train a model file on an id file, --data a model of
     * the run's own on text. Both on one line are one usage error saying so (the id-file mode,
     * chosen first, said "unknown option '--data'"). */
    const char *ids_flag = NULL, *text_flag = NULL;
    for (int i = 1; i < argc; i++) {
        if (!ids_flag && (is_flag(argv[i], "--model") || is_flag(argv[i], "--ids"))) ids_flag = is_flag(argv[i], "--model") ? "--model" : "--ids";
        if (!text_flag && is_flag(argv[i], "--data")) text_flag = "--data"; /* (--resume: the id-file mode says why not) */
    }
    if (ids_flag && text_flag && !cli_wants_help(argc, argv))
        return cli_usage_error("train", "%s and %s do not go together: --model MODEL --ids FILE trains a model file on token "
                               "ids, --data FILE... (or --resume RUN_DIR) a new model on text", ids_flag, text_flag);
    return ids_flag ? train_ids(argc, argv) : cmd_train_text(argc, argv);
}
