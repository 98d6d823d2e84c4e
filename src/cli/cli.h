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
/* Copies `in` to out (cap bytes with its NUL) with each control byte (below 0x20, and 0x7f) as
 * \xNN, cut after max_in bytes of `in` ("..."); returns the length written. For text from files
 * that goes to a terminal: a crafted name's escape sequences must not drive it. */
size_t cli_escape_controls(const char *in, size_t max_in, char *out, size_t cap);
/* Standard output could not be written (a full disk): "rnnc: writing the standard output failed:
 * <strerror(errno)>", as main says it for every command; returns 1. */
int cli_fail_stdout(void);
/* A usage error: prints "rnnc <mode>: <message>" and the hint "(see rnnc <mode> --help)" on the
 * next line to stderr, and returns 2. `mode` is the command and subcommand in use ("eval",
 * "tokenizer train", "seq2seq translate"), so the hint points at the help of that mode. */
int cli_usage_error(const char *mode, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The file a command writes (flag: "-o", "--plot"), checked before any work: 0, or the exit
 * code after one line. *path NULL (none given) passes; "-" is stdout where dash_is_stdout (then
 * *path becomes NULL; elsewhere it is refused, 2, not made a file named "-"); refused: an empty
 * name (2), an existing directory (2), one of the files
 * the command reads, inputs[0, n) (NULL entries skipped; by device and inode, so ./x or a link
 * counts; 2: the write ends in a rename that would replace it), a directory to write in that
 * does not exist (1). */
int cli_output_ok(const char *mode, const char *flag, const char **path, bool dash_is_stdout, const char *const *inputs, int n);

/* Strict number parsing for flag values: the whole string must be a number within [min, max].
 * On failure prints a usage error naming the flag and returns false. */
bool cli_parse_long(const char *cmd, const char *flag, const char *val, long min, long max, long *out);
/* The largest --batch of every command (training, prediction, evaluation, translation). */
#define CLI_BATCH_MAX 65536
bool cli_parse_double(const char *cmd, const char *flag, const char *val, double min, double max, double *out);
/* A duration in seconds: "120", "90s", "2.5m", "1h" (0: no time budget); else a usage error
 * naming flag. */
bool cli_parse_duration(const char *cmd, const char *flag, const char *val, double *out);

/* Simple option scanning: returns true if argv[*i] is `name` (or `name=value`), storing the value
 * (next argument, or the part after '=') in *val and advancing *i. A missing value prints a usage
 * error and sets *err: no next argument, or a next argument that is a flag (cli_looks_like_flag:
 * "--data --steps 3" is "--data needs a value (got the flag --steps)", never a file named
 * "--steps"). `name=value` takes the value literally. An empty value ("--model=", --model "") is
 * missing too: "--model needs a value" ("-o needs a file name" for -o, --output and --plot, "a
 * directory name" for --export), as the
 * trainers' table parser says it; no flag read this way names a file, a choice or a number that
 * can be empty. Flags without values: use cli_flag. */
bool cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err);
/* cli_opt for a flag whose empty value means something (sample --prompt "": no prompt; lab -o,
 * which says it needs a directory): the empty value is stored like any other. */
bool cli_opt_text(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err);
bool cli_flag(char **argv, int i, const char *name);
/* Whether an argument given as a flag's value is a flag instead: "--anything" (and "--"), or a dash
 * and one letter ("-o"). Negative numbers ("-1", "-0.5", "-.5", "-1e3") and a lone "-" (stdin)
 * are values. */
bool cli_looks_like_flag(const char *arg);
bool cli_is_help(const char *arg);
/* Whether --help or -h is anywhere in argv[1..argc): help wins over everything else on the line,
 * even after a flag that is missing its value ("rnnc eval --model --help"). */
bool cli_wants_help(int argc, char **argv);

/* A progress bar on stderr, drawn only when stderr is a terminal (and RNNC_NO_PROGRESS is unset);
 * at most ~10 redraws a second. Each redraw is one line that fits the terminal it is drawn on: the
 * width is read at every redraw (cli_term_width) and the line never takes more than width - 1
 * columns, so it never wraps (a wrapped bar leaves a stale line behind at every redraw). When the
 * fields do not fit, the least important ones are dropped, not cut (cli_fields_fit). Without a
 * terminal, updates print nothing; cli_progress_log lines still appear, as plain lines without
 * control characters. */
typedef struct {
    const char *label;
    double total;     /* units of work; 0 = unknown */
    double start;     /* seconds */
    double last_draw; /* seconds */
    bool tty;
} cli_progress;

/* One piece of a progress line (or any line that must fit a width). Fields are shown in array
 * order, two spaces apart; `prio` says which go first when they do not all fit: the field with
 * the highest prio is dropped first (among equal prios, the later one). */
typedef struct {
    const char *text; /* NULL or "": absent */
    int prio;
} cli_field;

/* The priorities of a progress line. The bar's own fields use these; a caller's fields take the
 * ones that say what they are (or numbers between). */
enum {
    CLI_PRIO_LABEL = 0,    /* the bar's label ("train", "merging"): kept last, cut if alone too long */
    CLI_PRIO_PERCENT = 10, /* "45.2%", or the count done when the total is unknown */
    CLI_PRIO_MAIN = 20,    /* the caller's main figure: "step 1200/5000", "1200/5000 merges" */
    CLI_PRIO_ETA = 30,     /* "eta 02:00" */
    CLI_PRIO_DETAIL = 40,  /* the caller's secondary figures: "loss 1.2346", "52.1k tok/s" */
    CLI_PRIO_ELAPSED = 50, /* the time so far, "01:23" */
    CLI_PRIO_BAR = 60,     /* the [#####.....] graphic: 10 to 30 cells, as the width allows */
    CLI_PRIO_EXTRA = 70,   /* figures worth showing only when there is room: "epoch 0.35" */
};

/* The columns a terminal shows: TIOCGWINSZ on `fd` when it is a terminal, else $COLUMNS (a
 * number from 1 to 10000), else 80. */
int cli_term_width(int fd);
/* Display columns of a UTF-8 string: one per character (lead byte), control bytes included. */
int cli_text_cols(const char *s);
/* Writes TEXT to F with its words wrapped so that no line passes 80 columns (a --help fits an
 * 80-column terminal), the line having COL columns already (what the caller wrote before it);
 * the lines after the first start with INDENT spaces. A word longer than a line stays whole.
 * Ends with a newline. */
void cli_print_wrapped(FILE *f, int col, int indent, const char *text);
/* The same within WIDTH columns. */
void cli_print_wrapped_to(FILE *f, int col, int indent, int width, const char *text);
/* Prints the JSON object J (a cJSON *) on stdout, indented, numbers to 17 significant digits,
 * and frees it: what every --json report ends with. Returns 0, or the exit code of a failure
 * (printed) when J is NULL or cannot be printed for want of memory. */
struct cJSON;
int cli_print_json(struct cJSON *j);
/* Which fields fit in `max_cols` columns when joined two spaces apart: keep[i] is set for each
 * field kept (absent fields are never kept). Fields are dropped in order of decreasing prio
 * (later first among equals) until the rest fits; the last field left is kept even when it alone
 * is wider (cli_fields_join then cuts it). Returns the columns the kept fields take. */
int cli_fields_fit(const cli_field *f, size_t n, int max_cols, bool *keep);
/* cli_fields_fit, then the kept fields joined into buf (cut at max_cols columns, on a character
 * boundary, and at cap - 1 bytes). Returns the columns written. */
int cli_fields_join(char *buf, size_t cap, int max_cols, const cli_field *f, size_t n);

void cli_progress_start(cli_progress *p, const char *label, double total);
/* `extra` is an optional text shown after the bar (e.g. "loss 1.23"). Runs of two or more spaces
 * split it into fields: the first has CLI_PRIO_MAIN, the others CLI_PRIO_DETAIL + their position,
 * so on a narrow terminal they drop from the last one back. */
void cli_progress_update(cli_progress *p, double done, const char *extra);
/* The same with the caller's fields given one by one, each with its priority (see CLI_PRIO_*);
 * they are shown after the bar's own (label, bar, percentage, elapsed time, ETA). */
void cli_progress_update_fields(cli_progress *p, double done, const cli_field *fields, size_t n);
/* The line an update at `done`, `now` seconds after the start, draws on a terminal `cols` wide
 * (no control characters; at most cols - 1 columns). For tests and for callers that draw
 * elsewhere. Returns the columns written. */
int cli_progress_format(const cli_progress *p, char *buf, size_t cap, int cols, double done, double now,
                        const cli_field *fields, size_t n);
void cli_progress_finish(cli_progress *p);
/* A line that stays (a validation report): on a terminal the bar is erased first and redrawn by
 * the next update; without a terminal the line is still printed, as the only progress shown. */
void cli_progress_log(cli_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double cli_now(void);

/* "12:05" or "1:02:03"; "--:--" for an unknown (negative or non-finite) time. */
void cli_format_duration(char *buf, size_t n, double seconds);
/* 3 significant digits with a k/M/G suffix: 950, 12.3k, 1.20M. */
void cli_format_si(char *buf, size_t n, double v);

/* Threads for a chain of per-token steps (rnnc sample): the idle cores, at most 4 and at most
 * max_threads; 1 for models with hidden < 256, whose steps are too small to share; and 1 where
 * waiting threads sleep (passive: OMP_WAIT_POLICY=passive) unless a token reads at least
 * CLI_PASSIVE_BYTES of weights: each of a token's meetings then costs a wake-up, more than a
 * second core gives a smaller model (docs/PERFORMANCE.md, "Sampling under a passive wait"). */
#define CLI_PASSIVE_BYTES (24.0 * 1024 * 1024)
long cli_token_threads(long idle, long max_threads, int hidden, double weight_bytes, bool passive);
/* Whether such a model's tokens can use more than one thread at all (cli_token_threads' rule
 * before it looks at the idle cores). */
bool cli_token_threads_split(int hidden, double weight_bytes, bool passive);
/* Whether OMP_WAIT_POLICY says passive (any case), as OpenMP reads it. */
bool cli_omp_passive(void);

/* What a training progress bar shows after the bar itself (which has elapsed time and ETA). */
typedef struct {
    long step, total_steps; /* total_steps 0: unknown (time budget) */
    double epoch;           /* fractional; < 0: not shown */
    double loss;            /* recent training loss; NaN: not shown */
    double tokens_per_s;    /* NaN or <= 0: not shown */
    const char *rate_unit;  /* what tokens_per_s counts: cli_task_rate_unit; NULL: "tok/s" */
} cli_train_status;
/* What a training run of `task` ("lm", "seq2seq", "classify", "tag", "forecast"; NULL: not known)
 * counts as its "tokens" (rnnc.run, metrics.jsonl's tokens and tokens_per_s): each example's input
 * steps, which are tokens, except for forecast, whose windows read rows. The count's unit
 * ("tokens", "rows read") and the rate's ("tok/s", "rows/s"), the same in info, the progress
 * lines and plot. */
const char *cli_task_count_unit(const char *task);
const char *cli_task_rate_unit(const char *task);
/* "step 1200/5000  epoch 0.35  loss 1.234  52.1k tok/s" into buf (truncated to fit n). */
void cli_format_train(char *buf, size_t n, const cli_train_status *s);
/* The same figures as progress-bar fields, each with its priority: step (CLI_PRIO_MAIN), loss
 * (CLI_PRIO_MAIN + 1), tokens/s (CLI_PRIO_DETAIL), epoch (CLI_PRIO_EXTRA); shown in the order of
 * cli_format_train. Use: cli_train_fields f; cli_train_fields_make(&f, &status);
 * cli_progress_update_fields(&bar, done, f.field, f.n). */
typedef struct {
    cli_field field[4];
    size_t n;
    char text[4][48];
} cli_train_fields;
void cli_train_fields_make(cli_train_fields *f, const cli_train_status *s);

/* Subcommands. */
int cmd_tokenizer(int argc, char **argv);
int cmd_seq2seq(int argc, char **argv);
/* classify, tag, forecast (cmd_seqtask.c, cmd_seqtask_use.c) */
int cmd_classify(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_forecast(int argc, char **argv);
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
int cmd_export(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_lab(int argc, char **argv);

/* Loads a model file and the tokenizer stored in its metadata ("rnnc.tokenizer"), checking that
 * the two agree on the vocabulary size. Returns 0, or 1 after printing the error line. */
typedef struct rnnc_tokenizer rnnc_tokenizer;
int cli_load_lm_tokenizer(const char *path, rnnc_lm **m, rnnc_tokenizer **tok);

/* ---- several processes (comm_mpi.c) ----
 * A trainer started by mpirun joins MPI here (with rnnc built with MPI; without it a launch of
 * several processes is refused): *out gets the communicator of the ranks, or NULL for one process.
 * From then on only rank 0 prints: the other ranks' stdout and stderr go to /dev/null, and their
 * error lines reach the terminal through cli_dist_error. Returns 0 or an exit code (printed). */
int cli_dist_start(const char *mode, rnnc_comm **out);
/* --mpi-timeout: a collective waiting longer than this ends the job, naming the missing rank (0:
 * wait forever). Set before cli_dist_start. */
void cli_dist_set_timeout(double seconds);
int cli_dist_rank(void);
int cli_dist_size(void);
bool cli_dist_built(void);
/* One error line on stderr; from rank N > 0 of several, "rnnc: rank N: ..." on its real stderr,
 * held until cli_errors_release (util.c; cli_errors_from_rank tells it the rank and the
 * descriptor). */
void cli_dist_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_errors_from_rank(int rank, int fd);
/* Writes a rank > 0's held error lines after wait_s seconds: a failure every rank meets (the same
 * data) is ended by rank 0 first, so the terminal shows its line once; one only this rank meets
 * is shown after the wait. */
void cli_errors_release(double wait_s);
/* Forgets a rank > 0's held error lines (one that only echoes another rank's failure). */
void cli_errors_drop(void);
/* At exit (main): leaves MPI; a failure on any rank of several ends the whole job (MPI_Abort),
 * since the others may be waiting on this one. Returns rc. */
int cli_dist_finish(int rc);

#endif
