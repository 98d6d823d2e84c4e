/* The command-line side of a training run, shared by every trainer (rnnc train, rnnc seq2seq
 * train): one table of the flags all trainers have (same names, bounds, defaults and help), a
 * table-driven parser that each trainer also uses for its own flags, the refusal of flags a
 * resume may not change, warnings for ignored or odd settings, Ctrl-C handling, and the view of a
 * run's events (progress bar, reports, validations, the closing line). */
#ifndef RNNC_CLI_RUN_CLI_H
#define RNNC_CLI_RUN_CLI_H

#include <stdio.h>

#include "cli/cli.h"
#include "rnnc/run.h"

typedef enum { CF_LONG, CF_DOUBLE, CF_DURATION, CF_STR, CF_LIST, CF_SWITCH } cli_flag_kind;

typedef struct {
    const char *name;  /* "--lr" */
    const char *alias; /* "-o", or NULL */
    cli_flag_kind kind;
    double lo, hi;     /* bounds of CF_LONG / CF_DOUBLE */
    const char *arg;   /* the value's name in the help ("N"), NULL for switches */
    const char *help;  /* one line, with the default */
    bool on_resume;    /* may be given with --resume */
} cli_flag_def;

typedef struct {
    bool given;
    long l;
    double d;
    const char *s;
    const char **list; /* CF_LIST: every value after the flag (malloc'd array) */
    size_t n;
} cli_flag_val;

typedef struct {
    const char *title; /* the help section's heading */
    const cli_flag_def *defs;
    cli_flag_val *vals; /* as many as defs */
    size_t n;
} cli_flag_table;

/* The flags every trainer shares, in this order (index with RF_*). */
enum {
    RF_OUTPUT, RF_RESUME, RF_FORCE, RF_STEPS, RF_EPOCHS, RF_TIME, RF_OPTIMIZER, RF_LR, RF_MOMENTUM, RF_WEIGHT_DECAY,
    RF_CLIP, RF_EMA, RF_SCHEDULE, RF_WARMUP, RF_MIN_LR_RATIO, RF_SEED, RF_THREADS, RF_LOG_EVERY, RF_EVAL_EVERY,
    RF_CHECKPOINT_EVERY, RF_PATIENCE, RF_MPI_TIMEOUT, RF_COUNT
};
extern const cli_flag_def cli_run_flags[RF_COUNT];
/* The model flags the trainers share (cell, layers, hidden, embed, dropout, batch). */
enum { MF_CELL, MF_LAYERS, MF_HIDDEN, MF_EMBED, MF_DROPOUT, MF_BATCH, MF_COUNT };
extern const cli_flag_def cli_model_flags[MF_COUNT];

/* The one-line warning for --dropout (its value) given above 0 when the model has one recurrent
 * layer (`layers`, the count in effect): it acts between stacked layers, so it would do nothing. */
void cli_warn_dropout(const char *mode, const cli_flag_val *dropout, int layers);

/* Parses argv[first..] against the tables: "--flag VALUE", "--flag=VALUE", switches, lists
 * (values up to the next flag); a flag given twice keeps its last value. An unknown flag, a missing value (the next
 * argument is a flag: "--data --steps 3") or a value out of bounds is a usage error naming the
 * flag and pointing at `mode`'s help; returns 0, that exit code, or -1 when --help was asked. */
int cli_flags_parse(const char *mode, int argc, char **argv, int first, cli_flag_table *tables, size_t n_tables);
void cli_flags_free(cli_flag_table *tables, size_t n_tables);
/* Prints each table as a help section: "  --flag ARG   help". */
void cli_flags_help(FILE *f, const cli_flag_table *tables, size_t n_tables);
/* With --resume: a flag not marked on_resume is a usage error naming it and listing the ones a
 * resume may change; returns 0 or 2. */
int cli_flags_check_resume(const char *mode, const cli_flag_table *tables, size_t n_tables);

/* The run's options from the shared flags (defaults: rnnc_run_defaults), with one-line warnings
 * for settings that are ignored or odd (--momentum with Adam, --lr 0, --threads above the core
 * count); sets the OpenMP thread count. Under mpirun it joins the other processes (cli_dist_start)
 * and sets o->comm; the thread count then defaults to the cores divided among the host's ranks.
 * Returns 0 or an exit code. */
int cli_run_opts(const char *mode, const cli_flag_val *v, rnnc_run_opts *o);
/* The same from a mode's own defaults `base` (train --ids: constant schedule, no warm-up, no
 * clipping), so that its warnings judge the settings in effect (--min-lr-ratio without cosine). */
int cli_run_opts_from(const char *mode, const cli_flag_val *v, const rnnc_run_opts *base, rnnc_run_opts *o);
/* The one-line warning when --warmup (in effect) is as long as the whole run of total_steps (0:
 * no step budget, nothing said); `who` starts the line ("rnnc train"). */
void cli_warn_warmup(const char *who, long warmup, long total_steps);
/* The resume's changes from the shared flags; `task` the task this trainer resumes. */
rnnc_run_change cli_run_change(const cli_flag_val *v, const char *task);

/* Runs (task != NULL: a new run under o) or resumes (v[RF_RESUME]) with a progress view and
 * Ctrl-C/SIGTERM stopping after the current step; prints the closing line. `cmd` is the command
 * line to resume with ("rnnc train"). Returns the exit code (130 after a stop). */
int cli_run(const char *cmd, const char *task_name, const rnnc_run_opts *o, rnnc_task *task, const cli_flag_val *v);
/* Ctrl-C (SIGINT), SIGTERM and a closed terminal (SIGHUP) call `handler` (which asks the run to
 * stop after its step, with a checkpoint). A SIGHUP ignored when rnnc started (nohup) stays
 * ignored; SIGINT is caught even where a shell started rnnc with it ignored (a script's
 * background job), since `kill -INT` of such a job is how scripts stop a run. */
void cli_catch_stop_signals(void (*handler)(int));

#endif
