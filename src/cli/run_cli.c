/* The trainers' shared flags, their parser and the view of a run; see run_cli.h. */
#include "cli/run_cli.h"

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG 1e12

static rnnc_comm *run_comm; /* the ranks of this process's run (cli_run_opts); NULL: one process */
/* the thread count cli_run_opts chose (--threads, OMP_NUM_THREADS, a host's share under mpirun),
 * or 0: a resume goes on with the run's own (rnnc_run_change.threads) */
static int run_threads;

const cli_flag_def cli_run_flags[RF_COUNT] = {
    [RF_OUTPUT] = {"--output", "-o", CF_STR, 0, 0, "RUN_DIR", "where the run's files go (model, best, checkpoint, metrics.jsonl)", false},
    [RF_RESUME] = {"--resume", NULL, CF_STR, 0, 0, "RUN_DIR", "continue the run in RUN_DIR exactly from its checkpoint", true},
    [RF_FORCE] = {"--force", NULL, CF_SWITCH, 0, 0, NULL, "start over in a RUN_DIR that holds another (stopped) run", false},
    [RF_STEPS] = {"--steps", NULL, CF_LONG, 1, BIG, "N", "budget: optimizer steps", true},
    [RF_EPOCHS] = {"--epochs", NULL, CF_DOUBLE, 1e-9, 1e9, "X", "budget: passes over the training data (fractions allowed)", true},
    [RF_TIME] = {"--time", NULL, CF_DURATION, 0, 0, "T", "budget: wall-clock time (90, 90s, 30m, 1h; 0 = none); the first budget "
                                                        "reached stops the run. Timing is checked after each step; a time "
                                                        "budget makes a run unrepeatable", true},
    [RF_OPTIMIZER] = {"--optimizer", NULL, CF_STR, 0, 0, "O", "sgd | adam | adamw (default adamw)", false},
    [RF_LR] = {"--lr", NULL, CF_DOUBLE, 0, 10, "X", "peak learning rate (default 0.002)", false},
    [RF_MOMENTUM] = {"--momentum", NULL, CF_DOUBLE, 0, 0.9999, "X", "SGD momentum (default 0)", false},
    [RF_WEIGHT_DECAY] = {"--weight-decay", NULL, CF_DOUBLE, 0, 10, "X", "L2 for sgd/adam, decoupled for adamw (default 0; adamw 0.01)", false},
    [RF_CLIP] = {"--clip", NULL, CF_DOUBLE, 0, 1e9, "X", "clip the global gradient norm to X (default 5; 0 = off)", false},
    [RF_EMA] = {"--ema", NULL, CF_DOUBLE, 0, RNNC_RUN_EMA_MAX, "D", "keep a moving average of the weights with decay D (0.999 is usual; "
                                                         "default 0 = off): validation, best.safetensors and "
                                                         "model.safetensors use the average, training the raw weights", false},
    [RF_SCHEDULE] = {"--schedule", NULL, CF_STR, 0, 0, "S", "cosine (from --lr down to --lr x --min-lr-ratio over the budget) "
                                                           "| constant (default cosine)", false},
    [RF_WARMUP] = {"--warmup", NULL, CF_LONG, 0, BIG, "N", "linear warm-up steps (default 100)", false},
    [RF_MIN_LR_RATIO] = {"--min-lr-ratio", NULL, CF_DOUBLE, 0, 1, "X", "final learning rate / peak (default 0.1)", false},
    [RF_SEED] = {"--seed", NULL, CF_LONG, 0, (double)LONG_MAX, "S", "initialisation, data order and dropout (default 1337)", false},
    [RF_THREADS] = {"--threads", NULL, CF_LONG, 1, 1024, "N", "OpenMP threads (default: OMP_NUM_THREADS or all cores, under "
                                                             "mpirun the host's cores shared among its ranks; a resumed run "
                                                             "without it: the run's own count; results depend on it)", true},
    [RF_LOG_EVERY] = {"--log-every", NULL, CF_LONG, 0, BIG, "N", "a training-loss report every N steps (default 10; 0 = only at the end)", true},
    [RF_EVAL_EVERY] = {"--eval-every", NULL, CF_LONG, 0, BIG, "N", "validate and keep the best model every N steps (default 200; "
                                                                  "0 = only at the end)", true},
    [RF_CHECKPOINT_EVERY] = {"--checkpoint-every", NULL, CF_LONG, 1, BIG, "N", "checkpoint every N steps (default 200; also at the "
                                                                              "end and on Ctrl-C)", true},
    [RF_PATIENCE] = {"--patience", NULL, CF_LONG, 0, BIG, "N", "stop after N validations without a better one (default 0 = never)", true},
    [RF_MPI_TIMEOUT] = {"--mpi-timeout", NULL, CF_DURATION, 0, 0, "T", "under mpirun: end the job, naming the missing rank, when a "
                                                                       "collective waits longer than T for a process (default 5m; "
                                                                       "0 = wait forever)", true},
};

const cli_flag_def cli_model_flags[MF_COUNT] = {
    [MF_CELL] = {"--cell", NULL, CF_STR, 0, 0, "C", "rnn_tanh | rnn_relu | lstm | gru (default lstm)", false},
    [MF_LAYERS] = {"--layers", NULL, CF_LONG, 1, 64, "N", "stacked recurrent layers", false},
    [MF_HIDDEN] = {"--hidden", NULL, CF_LONG, 1, 65536, "H", "hidden units per layer (default 256)", false},
    [MF_EMBED] = {"--embed", NULL, CF_LONG, 1, 65536, "E", "embedding size (default 64)", false},
    [MF_DROPOUT] = {"--dropout", NULL, CF_DOUBLE, 0, 0.99, "P", "dropout between stacked layers, training only (default 0)", false},
    [MF_BATCH] = {"--batch", NULL, CF_LONG, 1, CLI_BATCH_MAX, "B", "batch size", false},
};

void cli_warn_dropout(const char *mode, const cli_flag_val *dropout, int layers) {
    if (dropout->given && dropout->d > 0 && layers == 1)
        fprintf(stderr, "rnnc %s: warning: --dropout is ignored with one layer (it acts between stacked layers; give --layers 2 "
                        "or more)\n", mode);
}

static const cli_flag_def *find(cli_flag_table *tables, size_t n_tables, const char *arg, size_t *len, cli_flag_val **val) {
    for (size_t t = 0; t < n_tables; t++)
        for (size_t i = 0; i < tables[t].n; i++) {
            const cli_flag_def *d = &tables[t].defs[i];
            const char *names[2] = {d->name, d->alias};
            for (int k = 0; k < 2; k++) {
                if (!names[k]) continue;
                size_t n = strlen(names[k]);
                if (strncmp(arg, names[k], n) == 0 && (arg[n] == 0 || (arg[n] == '=' && d->kind != CF_SWITCH))) {
                    *len = n;
                    *val = &tables[t].vals[i];
                    return d;
                }
            }
        }
    return NULL;
}

int cli_flags_parse(const char *mode, int argc, char **argv, int first, cli_flag_table *tables, size_t n_tables) {
    for (int i = first; i < argc; i++) /* --help anywhere wins, even after a flag missing its value */
        if (cli_is_help(argv[i])) return -1;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) return -1;
        size_t len;
        cli_flag_val *v;
        const cli_flag_def *d = find(tables, n_tables, a, &len, &v);
        if (!d) return cli_usage_error(mode, "unknown option '%s'", a);
        v->given = true; /* given twice, the last value wins (as scripts that append to a command expect) */
        if (d->kind == CF_SWITCH) continue;
        const char *typed = d->alias && strncmp(a, d->alias, len) == 0 && strlen(d->alias) == len ? d->alias : d->name;
        const char *val;
        if (a[len] == '=') val = a + len + 1;
        else if (i + 1 < argc && !cli_looks_like_flag(argv[i + 1])) val = argv[++i];
        else if (i + 1 < argc) return cli_usage_error(mode, "%s needs a value (got the flag %s)", typed, argv[i + 1]);
        else return cli_usage_error(mode, "%s needs a value", typed);
        switch (d->kind) {
        case CF_LONG: /* (double)LONG_MAX rounds up to 2^63, which (long) cannot hold: the bound is LONG_MAX */
            if (!cli_parse_long(mode, d->name, val, (long)d->lo, d->hi >= (double)LONG_MAX ? LONG_MAX : (long)d->hi, &v->l)) return 2;
            break;
        case CF_DOUBLE:
            if (!cli_parse_double(mode, d->name, val, d->lo, d->hi, &v->d)) return 2;
            break;
        case CF_DURATION:
            if (!cli_parse_duration(mode, d->name, val, &v->d)) return 2;
            break;
        case CF_STR:
            if (!*val) /* -o "" reads as every command's (cli_output_ok) */
                return cli_usage_error(mode, "%s needs a %s", typed, !d->arg || strcmp(d->name, "--output") ? "value"
                                                                    : strcmp(d->arg, "RUN_DIR") ? "file name" : "directory name");
            if (!strcmp(d->name, "--output") && d->arg && !strcmp(d->arg, "RUN_DIR") && !strcmp(val, "-"))
                return cli_usage_error(mode, "%s -: a run writes a directory of files, not to stdout; give the directory", typed);
            v->s = val;
            break;
        case CF_LIST: /* the value, then every argument up to the next flag */
            for (const char *item = val;; item = argv[++i]) {
                if (!*item) /* no file is named "" (it was "rnnc: : cannot open") */
                    return item == val ? cli_usage_error(mode, "%s needs a value", typed)
                                       : cli_usage_error(mode, "%s: value %zu is empty", typed, v->n + 1);
                const char **l = realloc(v->list, (v->n + 1) * sizeof *l);
                if (!l) return cli_fail("out of memory");
                v->list = l;
                l[v->n++] = item;
                if (a[len] == '=' || i + 1 >= argc || cli_looks_like_flag(argv[i + 1])) break;
            }
            break;
        case CF_SWITCH: break;
        }
    }
    return 0;
}

void cli_flags_free(cli_flag_table *tables, size_t n_tables) {
    for (size_t t = 0; t < n_tables; t++)
        for (size_t i = 0; i < tables[t].n; i++) free(tables[t].vals[i].list);
}

void cli_flags_help(FILE *f, const cli_flag_table *tables, size_t n_tables) {
    for (size_t t = 0; t < n_tables; t++) {
        fprintf(f, "%s:\n", tables[t].title);
        for (size_t i = 0; i < tables[t].n; i++) {
            const cli_flag_def *d = &tables[t].defs[i];
            char left[64];
            snprintf(left, sizeof left, "%s%s%s%s%s", d->alias ? d->alias : "", d->alias ? ", " : "", d->name,
                     d->arg ? " " : "", d->arg ? d->arg : "");
            /* the help wrapped to 79 columns, continued under its first word */
            fprintf(f, "  %-24s", left);
            if ((int)strlen(left) > 24) fprintf(f, "\n%26s", "");
            fputc(' ', f);
            cli_print_wrapped_to(f, 27, 27, 79, d->help);
        }
    }
}

int cli_flags_check_resume(const char *mode, const cli_flag_table *tables, size_t n_tables) {
    for (size_t t = 0; t < n_tables; t++)
        for (size_t i = 0; i < tables[t].n; i++)
            if (tables[t].vals[i].given && !tables[t].defs[i].on_resume) {
                const char *name = tables[t].defs[i].name;
                if (!strcmp(name, "--force"))
                    return cli_usage_error(mode, "--force starts a new run over an old one; --resume continues the old one: give "
                                           "one of them");
                if (!strcmp(name, "--output"))
                    return cli_usage_error(mode, "-o: --resume RUN_DIR names the run directory, where the run goes on writing; "
                                           "leave out -o");
                return cli_usage_error(mode, "%s cannot change on --resume: the model, data and optimizer come from the "
                                       "checkpoint (a resume may change --steps, --epochs, --time, --threads, --log-every, "
                                       "--eval-every, --checkpoint-every, --patience, --mpi-timeout)", name);
            }
    return 0;
}

int cli_run_opts(const char *mode, const cli_flag_val *v, rnnc_run_opts *o) { return cli_run_opts_from(mode, v, NULL, o); }

void cli_warn_warmup(const char *who, long warmup, long total_steps) {
    if (warmup > 0 && total_steps > 0 && warmup >= total_steps)
        fprintf(stderr, "%s: warning: --warmup %ld is as long as the whole run (%ld step%s): the learning rate never "
                        "reaches its peak\n", who, warmup, total_steps, total_steps == 1 ? "" : "s");
}

int cli_run_opts_from(const char *mode, const cli_flag_val *v, const rnnc_run_opts *base, rnnc_run_opts *o) {
    *o = base ? *base : rnnc_run_defaults();
    rnnc_optim_kind kind = o->optim.kind;
    if (v[RF_OPTIMIZER].given && rnnc_optim_parse(v[RF_OPTIMIZER].s, &kind))
        return cli_usage_error(mode, "--optimizer must be sgd, adam or adamw, got '%s'", v[RF_OPTIMIZER].s);
    o->optim = rnnc_optim_defaults(kind, v[RF_LR].given ? v[RF_LR].d : o->optim.lr);
    if (v[RF_MOMENTUM].given) {
        o->optim.momentum = v[RF_MOMENTUM].d;
        if (kind != RNNC_OPT_SGD) fprintf(stderr, "rnnc %s: warning: --momentum is ignored by --optimizer %s (sgd only)\n", mode,
                                          rnnc_optim_name(kind));
    }
    if (v[RF_WEIGHT_DECAY].given) o->optim.weight_decay = v[RF_WEIGHT_DECAY].d;
    if (v[RF_LR].given && v[RF_LR].d == 0) fprintf(stderr, "rnnc %s: warning: --lr 0: the weights will not change\n", mode);
    if (v[RF_CLIP].given) o->clip = v[RF_CLIP].d;
    if (v[RF_EMA].given) o->ema = v[RF_EMA].d;
    if (v[RF_SCHEDULE].given) {
        if (strcmp(v[RF_SCHEDULE].s, "cosine") == 0) o->schedule = RNNC_SCHEDULE_COSINE;
        else if (strcmp(v[RF_SCHEDULE].s, "constant") == 0) o->schedule = RNNC_SCHEDULE_CONSTANT;
        else return cli_usage_error(mode, "--schedule must be cosine or constant, got '%s'", v[RF_SCHEDULE].s);
    }
    if (v[RF_WARMUP].given) o->warmup = v[RF_WARMUP].l;
    if (v[RF_MIN_LR_RATIO].given) {
        o->min_lr_ratio = v[RF_MIN_LR_RATIO].d;
        if (o->schedule == RNNC_SCHEDULE_CONSTANT)
            fprintf(stderr, "rnnc %s: warning: --min-lr-ratio is ignored by --schedule constant (cosine only)\n", mode);
    }
    if (v[RF_SEED].given) o->seed = (uint64_t)v[RF_SEED].l;
    if (v[RF_TIME].given && v[RF_TIME].d == 0 && !v[RF_STEPS].given && !v[RF_EPOCHS].given)
        return cli_usage_error(mode, "--time 0 means no time limit, and no --steps or --epochs is given: the run would have no "
                               "budget");
    if (v[RF_STEPS].given) o->steps = v[RF_STEPS].l;
    if (v[RF_EPOCHS].given) o->epochs = v[RF_EPOCHS].d;
    if (v[RF_TIME].given) o->seconds = v[RF_TIME].d;
    if (v[RF_LOG_EVERY].given) o->log_every = v[RF_LOG_EVERY].l;
    if (v[RF_EVAL_EVERY].given) o->eval_every = v[RF_EVAL_EVERY].l;
    if (v[RF_CHECKPOINT_EVERY].given) o->checkpoint_every = v[RF_CHECKPOINT_EVERY].l;
    if (v[RF_PATIENCE].given) o->patience = v[RF_PATIENCE].l;
    if (o->patience > 0 && v[RF_EVAL_EVERY].given && o->eval_every == 0) /* one validation, at the end */
        fprintf(stderr, "rnnc %s: warning: --patience is ignored with --eval-every 0 (validation only at the end)\n", mode);
    o->run_dir = v[RF_OUTPUT].s;
    o->force = v[RF_FORCE].given;
    if (!v[RF_RESUME].given && !o->steps && !o->epochs && !o->seconds)
        return cli_usage_error(mode, "no training budget: give --steps, --epochs or --time");
    if (v[RF_THREADS].given) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (cores > 0 && v[RF_THREADS].l > cores)
            fprintf(stderr, "rnnc %s: warning: --threads %ld is more than the %ld cores of this machine (slower, not faster)\n",
                    mode, v[RF_THREADS].l, cores);
        omp_set_num_threads((int)v[RF_THREADS].l);
        run_threads = (int)v[RF_THREADS].l;
    } else if (getenv("OMP_NUM_THREADS")) {
        run_threads = omp_get_max_threads();
    }
    /* several processes (mpirun): only from here on does rank 0 alone print */
    if (v[RF_MPI_TIMEOUT].given) cli_dist_set_timeout(v[RF_MPI_TIMEOUT].d);
    int rc = cli_dist_start(mode, &o->comm);
    if (rc) return rc;
    run_comm = o->comm;
    if (v[RF_MPI_TIMEOUT].given && !o->comm) /* one process: there is no other to wait for */
        fprintf(stderr, "rnnc %s: warning: --mpi-timeout is ignored in a single process (it bounds the waits between the "
                        "processes of mpirun -np 2 or more)\n", mode);
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (o->comm && !v[RF_THREADS].given && !getenv("OMP_NUM_THREADS") && local && atoi(local) > 1) {
        /* the host's cores shared among its ranks, not each rank taking them all */
        long cores = sysconf(_SC_NPROCESSORS_ONLN), per = cores / atoi(local);
        omp_set_num_threads(per > 1 ? (int)per : 1);
        run_threads = per > 1 ? (int)per : 1;
    }
    return 0;
}

rnnc_run_change cli_run_change(const cli_flag_val *v, const char *task) {
    rnnc_run_change c = rnnc_run_change_none();
    c.task = task;
    c.comm = run_comm;
    c.threads = run_threads;
    if (v[RF_STEPS].given || v[RF_EPOCHS].given || v[RF_TIME].given) {
        c.steps = v[RF_STEPS].given ? v[RF_STEPS].l : 0;
        c.epochs = v[RF_EPOCHS].given ? v[RF_EPOCHS].d : 0;
        c.seconds = v[RF_TIME].given ? v[RF_TIME].d : 0;
    }
    if (v[RF_LOG_EVERY].given) c.log_every = v[RF_LOG_EVERY].l;
    if (v[RF_EVAL_EVERY].given) c.eval_every = v[RF_EVAL_EVERY].l;
    if (v[RF_CHECKPOINT_EVERY].given) c.checkpoint_every = v[RF_CHECKPOINT_EVERY].l;
    if (v[RF_PATIENCE].given) c.patience = v[RF_PATIENCE].l;
    return c;
}

/* ---------------------------------------------------------------- the view */

void cli_catch_stop_signals(void (*handler)(int)) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, NULL);
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    const char *cmd;
    cli_progress bar;
    bool bar_started;
    double last_loss, tok_s;
    const char *rate; /* what tok_s counts: tok/s, or a forecaster's rows/s */
    long warmup;
    char best[200];
    bool from_stdin; /* the run reads stdin: its resume needs the data piped in again */
} view;

/* s as one shell word into out: as it is when it holds only characters a shell leaves alone, else
 * in single quotes (a quote inside as '\'') */
static void shell_quote(const char *s, char *out, size_t n) {
    bool plain = *s != 0;
    for (const char *p = s; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("/._-+,:@%=", *p);
    if (plain) { snprintf(out, n, "%s", s); return; }
    size_t k = 0;
    if (k + 1 < n) out[k++] = '\'';
    for (const char *p = s; *p && k + 5 < n; p++) {
        if (*p == '\'') { memcpy(out + k, "'\\''", 4); k += 4; }
        else out[k++] = *p;
    }
    if (k + 1 < n) out[k++] = '\'';
    out[k < n ? k : n - 1] = 0;
}

static void on_event(const rnnc_run_event *e, void *ctx) {
    view *u = ctx;
    char buf[256], shown[4096];
    switch (e->kind) {
    case RNNC_RUN_STARTED:
        /* the task's description names its files: a resumed checkpoint's may be crafted */
        cli_escape_controls(e->message, 1000, shown, sizeof shown);
        fprintf(stderr, "%s: %s\n", u->cmd, shown);
        if (e->resumed) {
            cli_format_duration(buf, sizeof buf, e->elapsed);
            fprintf(stderr, "%s: resumed from step %ld (epoch %.2f, %s elapsed)\n", u->cmd, e->step, e->epoch, buf);
            if (e->threads_trained > 0 && e->threads != e->threads_trained)
                fprintf(stderr, "%s: warning: the run trained on %d thread%s and goes on with %d: its numbers will differ from "
                                "those of a run that never stopped (--threads %d for the same)\n", u->cmd, e->threads_trained,
                        e->threads_trained == 1 ? "" : "s", e->threads, e->threads_trained);
        }
        if (e->resumed && isfinite(e->lr_was) && fabs(e->lr - e->lr_was) > 1e-6 * fabs(e->lr_was) + 1e-12)
            fprintf(stderr, "%s: note: the new budget moves the cosine schedule (it runs over the budget): the learning rate "
                            "goes from %.3g to %.3g at step %ld\n", u->cmd, e->lr_was, e->lr, e->step);
        u->from_stdin = e->from_stdin;
        if (e->resumed && e->best_step >= 0 && e->best_line && *e->best_line)
            snprintf(u->best, sizeof u->best, "step %ld, %s", e->best_step, e->best_line);
        cli_warn_warmup(u->cmd, u->warmup, e->total_steps);
        cli_progress_start(&u->bar, "train", e->total_steps > 0 ? (double)e->total_steps : e->seconds_budget);
        u->bar_started = true;
        u->last_loss = u->tok_s = NAN;
        break;
    case RNNC_RUN_PROGRESS: {
        cli_train_status st = {e->step, e->total_steps, e->epoch, isnan(u->last_loss) ? e->loss : u->last_loss, u->tok_s, u->rate};
        cli_train_fields f;
        cli_train_fields_make(&f, &st); /* on a narrow terminal the epoch goes first, the loss and step last */
        cli_progress_update_fields(&u->bar, e->total_steps > 0 ? (double)e->step : e->elapsed, f.field, f.n);
        break;
    }
    case RNNC_RUN_REPORT:
        u->last_loss = e->loss;
        u->tok_s = e->tokens_per_s;
        /* without a terminal (no bar with its clock): the elapsed time ends each line */
        cli_format_duration(buf, sizeof buf, e->elapsed);
        if (!u->bar.tty && e->allreduce_s > 0) /* several processes: the time in the exchange, per step */
            fprintf(stderr, "step %ld  epoch %.2f  loss %.4f  lr %.3g  %.0f %s  all-reduce %.2f ms/step (waiting %.2f)  %s elapsed\n",
                    e->step, e->epoch, e->loss, e->lr, e->tokens_per_s, u->rate, 1e3 * e->allreduce_s, 1e3 * e->wait_s, buf);
        else if (!u->bar.tty)
            fprintf(stderr, "step %ld  epoch %.2f  loss %.4f  lr %.3g  %.0f %s  %s elapsed\n", e->step, e->epoch, e->loss, e->lr,
                    e->tokens_per_s, u->rate, buf);
        break;
    case RNNC_RUN_VALID: {
        char when[48] = "", t[24];
        if (!u->bar.tty) {
            cli_format_duration(t, sizeof t, e->elapsed);
            snprintf(when, sizeof when, "  %s elapsed", t);
        }
        cli_progress_log(&u->bar, "step %ld  %s%s%s", e->step, e->valid->line, when,
                         e->improved ? "  (best so far: best.safetensors)" : "");
        if (e->improved) snprintf(u->best, sizeof u->best, "step %ld, %s", e->step, e->valid->line);
        break;
    }
    case RNNC_RUN_CHECKPOINT:
        break;
    case RNNC_RUN_DONE:
        if (u->bar_started) cli_progress_finish(&u->bar);
        u->bar_started = false;
        fprintf(stderr, "%s: stopped: %s\n", u->cmd, e->message);
        break;
    }
}

int cli_run(const char *cmd, const char *task_name, const rnnc_run_opts *o, rnnc_task *task, const cli_flag_val *v) {
    cli_catch_stop_signals(on_signal);
    view u;
    memset(&u, 0, sizeof u);
    u.cmd = cmd;
    u.warmup = o ? o->warmup : 0;
    u.rate = cli_task_rate_unit(task_name);
    const char *dir = task ? o->run_dir : v[RF_RESUME].s;
    rnnc_status s;
    if (task) s = rnnc_run_start(o, task, on_event, &u, &stop_requested);
    else {
        rnnc_run_change c = cli_run_change(v, task_name);
        s = rnnc_run_resume(dir, &c, on_event, &u, &stop_requested);
    }
    if (u.bar_started) cli_progress_finish(&u.bar);
    /* the directory as a shell takes it back, in the commands the lines suggest ("run é 2" quoted) */
    char qdir[4200];
    shell_quote(dir ? dir : "", qdir, sizeof qdir);
    if (s == RNNC_ERR_INTERRUPTED) {
        fprintf(stderr, "rnnc: %s; continue with: %s --resume %s%s\n", rnnc_last_error(), cmd, qdir,
                u.from_stdin ? " < DATA (the same data on the standard input again: the run read it from there)" : "");
        return 130;
    }
    if (s) return cli_fail_status();
    if (dir) {
        /* best.safetensors by name only where it is (a user may have moved it away meanwhile) */
        char best[sizeof u.best + 4200 + 64] = "";
        size_t n = strlen(dir) + sizeof "/best.safetensors";
        char *bp = malloc(n);
        if (bp) snprintf(bp, n, "%s/best.safetensors", dir);
        if (bp && access(bp, F_OK) == 0)
            snprintf(best, sizeof best, ", %s (best validation%s%s)", bp, u.best[0] ? ": " : "", u.best);
        else if (u.best[0])
            snprintf(best, sizeof best, "; best validation: %s (its best.safetensors is no longer there)", u.best);
        free(bp);
        fprintf(stderr, "%s: done. %s/model.safetensors (last)%s; plot: rnnc plot %s -o loss.svg\n", cmd, dir, best, qdir);
    }
    return 0;
}
