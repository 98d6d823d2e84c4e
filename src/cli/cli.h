/* rnnc CLI — shared helpers for subcommands. Each subcommand lives in its own cmd_*.c file and is
 * registered in the table in main.c. A subcommand returns the process exit code: 0 on success,
 * 1 on a runtime error (already printed as one line "rnnc: ..."), 2 on a usage error. */
#ifndef RNNC_CLI_H
#define RNNC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "rnnc/rnnc.h"

/* Prints "rnnc: <message>" to stderr and returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "rnnc: <rnnc_last_error()>" and returns 1. */
int cli_fail_status(void);
/* Prints "rnnc <cmd>: <message>\nTry 'rnnc <cmd> --help'." to stderr and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing for flag values: the whole string must be a number within [min, max].
 * On failure prints a usage error naming the flag and returns false. */
bool cli_parse_long(const char *cmd, const char *flag, const char *val, long min, long max, long *out);
bool cli_parse_double(const char *cmd, const char *flag, const char *val, double min, double max, double *out);
/* A duration in seconds: "120", "90s", "2.5m", "1h" (0: no time budget); else a usage error
 * naming flag. */
bool cli_parse_duration(const char *cmd, const char *flag, const char *val, double *out);

/* Simple option scanning: returns true if argv[*i] is `name` (or `name=value`), storing the value
 * (next argument, or the part after '=') in *val and advancing *i. A missing value prints a usage
 * error and sets *err. Flags without values: use cli_flag. */
bool cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err);
bool cli_flag(char **argv, int i, const char *name);
bool cli_is_help(const char *arg);

/* A progress bar on stderr, drawn only when stderr is a terminal; at most ~10 redraws a second. */
typedef struct {
    const char *label;
    double total;     /* units of work; 0 = unknown */
    double start;     /* seconds */
    double last_draw; /* seconds */
    bool tty;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, double total);
/* `extra` is an optional text shown after the bar (e.g. "loss 1.23"). */
void cli_progress_update(cli_progress *p, double done, const char *extra);
void cli_progress_finish(cli_progress *p);
/* A line that stays (a validation report): on a terminal the bar is erased first and redrawn by
 * the next update; without a terminal the line is still printed, as the only progress shown. */
void cli_progress_log(cli_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double cli_now(void);

/* "12:05" or "1:02:03"; "--:--" for an unknown (negative or non-finite) time. */
void cli_format_duration(char *buf, size_t n, double seconds);
/* 3 significant digits with a k/M/G suffix: 950, 12.3k, 1.20M. */
void cli_format_si(char *buf, size_t n, double v);

/* What a training progress bar shows after the bar itself (which has elapsed time and ETA). */
typedef struct {
    long step, total_steps; /* total_steps 0: unknown (time budget) */
    double epoch;           /* fractional; < 0: not shown */
    double loss;            /* recent training loss; NaN: not shown */
    double tokens_per_s;    /* NaN or <= 0: not shown */
} cli_train_status;
/* "step 1200/5000  epoch 0.35  loss 1.234  52.1k tok/s" into buf (truncated to fit n). */
void cli_format_train(char *buf, size_t n, const cli_train_status *s);

/* Subcommands. */
int cmd_tokenizer(int argc, char **argv);
int cmd_seq2seq(int argc, char **argv);
/* seq2seq's subcommands and shared usage text (cmd_seq2seq.c, cmd_seq2seq_use.c) */
int cmd_seq2seq_translate(int argc, char **argv);
int cmd_seq2seq_eval(int argc, char **argv);
void cmd_seq2seq_usage(FILE *f);
int cmd_version(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_text(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_similar(int argc, char **argv);

/* Loads a model file and the tokenizer stored in its metadata ("rnnc.tokenizer"), checking that
 * the two agree on the vocabulary size. Returns 0, or 1 after printing the error line. */
typedef struct rnnc_tokenizer rnnc_tokenizer;
int cli_load_lm_tokenizer(const char *path, rnnc_lm **m, rnnc_tokenizer **tok);

#endif
