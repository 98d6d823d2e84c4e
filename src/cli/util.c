/* Shared CLI helpers: error lines, strict flag parsing, progress bar. */
#include "cli/cli.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int err_rank = 0, err_fd = -1; /* a rank > 0 of several: its rank and real stderr */
/* A rank > 0's error lines wait here for cli_errors_release: every rank reads the same files, so
 * most failures are every rank's, and rank 0's line, which ends the job, should be the only one. */
static char held[16384];
static size_t held_n;

void cli_errors_from_rank(int rank, int fd) {
    err_rank = rank;
    err_fd = fd;
}

void cli_dist_error(const char *fmt, ...) {
    char line[10400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (err_rank == 0 || err_fd < 0) {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
        return;
    }
    const char *rest = strncmp(line, "rnnc: ", 6) == 0 ? line + 6 : line;
    int n = snprintf(held + held_n, sizeof held - held_n, "rnnc: rank %d: %s\n", err_rank, rest); /* "rnnc: msg" -> "rnnc: rank N: msg" */
    if (n > 0) held_n = held_n + (size_t)n < sizeof held ? held_n + (size_t)n : sizeof held - 1;
}

void cli_errors_drop(void) { held_n = 0; }

void cli_errors_release(double wait_s) {
    if (!held_n || err_fd < 0) return;
    if (wait_s > 0) { /* rank 0, failing the same way, ends the job in the meantime: its line alone is seen */
        struct timespec ts = {(time_t)wait_s, (long)((wait_s - (double)(time_t)wait_s) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
    if (write(err_fd, held, held_n) < 0) {} /* nowhere else to say it */
    held_n = 0;
}

size_t cli_escape_controls(const char *in, size_t max_in, char *out, size_t cap) {
    size_t n = 0;
    if (!cap) return 0;
    for (size_t i = 0; in && in[i] && n + 5 < cap; i++) {
        if (i >= max_in) {
            if (n + 4 < cap) { memcpy(out + n, "...", 3); n += 3; }
            break;
        }
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f) n += (size_t)snprintf(out + n, cap - n, "\\x%02X", c);
        else out[n++] = (char)c;
    }
    out[n] = 0;
    return n;
}

int cli_fail(const char *fmt, ...) {
    char line[10400], shown[4 * sizeof line];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one line, whatever a crafted file's names hold: control bytes shown as \xNN, never sent to
     * the terminal (an escape sequence) or breaking the line */
    cli_escape_controls(line, sizeof line, shown, sizeof shown);
    cli_dist_error("rnnc: %s", shown); /* stderr; from a rank other than 0 of several, "rnnc: rank N: ..." */
    return 1;
}

int cli_fail_status(void) { return cli_fail("%s", rnnc_last_error()); }

int cli_fail_stdout(void) {
    return cli_fail("writing the standard output failed: %s", strerror(errno ? errno : EIO));
}

int cli_usage_error(const char *mode, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rnnc %s: ", mode);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see rnnc %s --help)\n", mode);
    va_end(ap);
    return 2;
}

int cli_output_ok(const char *mode, const char *flag, const char **path, bool dash_is_stdout, const char *const *inputs, int n) {
    const char *out = *path;
    if (!out) return 0;
    if (!strcmp(out, "-")) {
        if (dash_is_stdout) { *path = NULL; return 0; }
        return cli_usage_error(mode, "%s -: this command writes a file, not to stdout; give the file's name", flag);
    }
    if (!*out) return cli_usage_error(mode, "%s needs a file name", flag);
    struct stat so, si;
    const bool exists = stat(out, &so) == 0;
    if (exists && S_ISDIR(so.st_mode))
        return cli_usage_error(mode, "%s %s is a directory; give the name of the file to write", flag, out);
    /* an input named as the output would be replaced by what was made from it (the write ends in
     * a rename); by device and inode, so ./in.txt or a link to it counts */
    for (int k = 0; exists && S_ISREG(so.st_mode) && k < n; k++) { /* (/dev/null in and out is no loss) */
        if (!inputs[k]) continue;
        const bool in_stdin = !strcmp(inputs[k], "-"); /* "-": the standard input, which may be a file (< in.txt) */
        if ((in_stdin ? fstat(STDIN_FILENO, &si) : stat(inputs[k], &si)) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return cli_usage_error(mode, "%s %s names %s, which this command reads: writing there would replace it; give another name",
                                   flag, out, in_stdin ? "the file on its standard input" : inputs[k]);
    }
    /* the directory the file goes in (the temp file beside it, then the rename) must exist */
    const char *slash = strrchr(out, '/');
    if (slash && slash != out) {
        size_t len = (size_t)(slash - out);
        char *dir = malloc(len + 1);
        if (!dir) return cli_fail("out of memory");
        memcpy(dir, out, len);
        dir[len] = 0;
        bool ok = stat(dir, &si) == 0 && S_ISDIR(si.st_mode);
        int rc = ok ? 0 : cli_fail("%s: cannot write it: %s is not a directory that exists", out, dir);
        free(dir);
        return rc;
    }
    return 0;
}

/* The length of the decimal number at the start of s, 0 if none: an optional sign, then digits
 * with at most one '.', and for a real (real) an optional exponent, e or E, an optional sign and
 * digits. What strtol and strtod take beyond that is refused: white space before or after,
 * hexadecimal ("0x10", "0x1p4"), "inf", "nan". */
static size_t decimal_len(const char *s, bool real) {
    size_t k = 0, digits = 0;
    if (s[k] == '+' || s[k] == '-') k++;
    while (s[k] >= '0' && s[k] <= '9') { k++; digits++; }
    if (real && s[k] == '.') {
        k++;
        while (s[k] >= '0' && s[k] <= '9') { k++; digits++; }
    }
    if (!digits) return 0;
    if (real && (s[k] == 'e' || s[k] == 'E')) {
        size_t e = k + 1, ed = 0;
        if (s[e] == '+' || s[e] == '-') e++;
        while (s[e] >= '0' && s[e] <= '9') { e++; ed++; }
        if (ed) k = e; /* "2e" is no exponent: the 'e' is left over, and refused */
    }
    return k;
}

bool cli_parse_long(const char *cmd, const char *flag, const char *val, long min, long max, long *out) {
    char *end;
    errno = 0;
    size_t n = decimal_len(val, false);
    long v = n ? strtol(val, &end, 10) : 0;
    if (!n || val[n] || (errno && errno != ERANGE) || end != val + n) {
        cli_usage_error(cmd, "%s expects an integer, got '%s'", flag, val);
        return false;
    }
    if (errno == ERANGE || v < min || v > max) { /* an integer beyond long is out of range too, not "not an integer" */
        cli_usage_error(cmd, "%s must be between %ld and %ld, got %s", flag, min, max, val);
        return false;
    }
    *out = v;
    return true;
}

/* A duration's longest: a year. A longer budget or timeout is a typing slip, not a plan. */
#define DURATION_MAX (365.0 * 24 * 3600)

bool cli_parse_duration(const char *cmd, const char *flag, const char *val, double *out) {
    char *end;
    size_t n = decimal_len(val, true);
    double unit = 0, x = 0;
    if (n) {
        errno = 0;
        x = strtod(val, &end);
        const char *u = val + n;
        if (end != val + n) unit = 0;
        else if (*u == 0 || strcmp(u, "s") == 0) unit = 1;
        else if (strcmp(u, "m") == 0) unit = 60;
        else if (strcmp(u, "h") == 0) unit = 3600;
    }
    if (unit == 0) {
        cli_usage_error(cmd, "%s expects a duration such as 120, 90s, 2m or 1h, got '%s'", flag, val);
        return false;
    }
    if (!isfinite(x) || x < 0 || x * unit > DURATION_MAX) {
        cli_usage_error(cmd, "%s must be between 0 and 8760h (a year), got %s", flag, val);
        return false;
    }
    *out = x * unit;
    return true;
}

bool cli_parse_double(const char *cmd, const char *flag, const char *val, double min, double max, double *out) {
    char *end;
    errno = 0;
    size_t n = decimal_len(val, true);
    double v = n ? strtod(val, &end) : 0;
    if (!n || val[n] || end != val + n) {
        cli_usage_error(cmd, "%s expects a number, got '%s'", flag, val);
        return false;
    }
    /* (beyond a double, 1e400, is out of range; below its smallest, 1e-400, is the 0 or tiny
     * value strtod gives, checked as any other) */
    if (!isfinite(v) && !(isfinite(min) && isfinite(max))) { /* no range to name (the caller checks its own) */
        cli_usage_error(cmd, "%s expects a finite number, got '%s'", flag, val);
        return false;
    }
    if (!isfinite(v) || v < min || v > max) {
        cli_usage_error(cmd, "%s must be between %g and %g, got %s", flag, min, max, val);
        return false;
    }
    *out = v;
    return true;
}

bool cli_looks_like_flag(const char *a) {
    if (a[0] != '-' || a[1] == 0) return false;             /* a value, or "-" for stdin */
    if (a[1] == '-') return true;                           /* "--steps", "--" */
    if ((a[1] >= '0' && a[1] <= '9') || a[1] == '.') return false; /* "-1", "-0.5", "-.5" */
    return ((a[1] >= 'a' && a[1] <= 'z') || (a[1] >= 'A' && a[1] <= 'Z')) && a[2] == 0; /* "-o" */
}

static bool opt_impl(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err,
                     bool empty_ok) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return false;
    const char *v;
    if (a[n] == '=') v = a + n + 1;
    else if (a[n] != 0) return false;
    else if (*i + 1 >= argc) {
        *err = cli_usage_error(cmd, "%s needs a value", name);
        return true;
    } else if (cli_looks_like_flag(argv[*i + 1])) {
        *err = cli_usage_error(cmd, "%s needs a value (got the flag %s)", name, argv[*i + 1]);
        return true;
    } else v = argv[++*i];
    if (!*v && !empty_ok) { /* "--model=" or --model "": no file is named "" (it was "rnnc: : cannot open") */
        const bool file = !strcmp(name, "-o") || !strcmp(name, "--output") || !strcmp(name, "--plot"); /* the files written */
        *err = cli_usage_error(cmd, "%s needs a %s", name, file ? "file name" : !strcmp(name, "--export") ? "directory name" : "value");
        return true;
    }
    *val = v;
    return true;
}

bool cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err) {
    return opt_impl(cmd, argc, argv, i, name, val, err, false);
}

bool cli_opt_text(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err) {
    return opt_impl(cmd, argc, argv, i, name, val, err, true);
}

bool cli_flag(char **argv, int i, const char *name) { return strcmp(argv[i], name) == 0; }

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

bool cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (cli_is_help(argv[i])) return true;
    return false;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, const char *label, double total) {
    p->label = label;
    p->total = total;
    p->start = cli_now();
    p->last_draw = 0;
    p->tty = isatty(STDERR_FILENO) && !getenv("RNNC_NO_PROGRESS");
}

void cli_format_duration(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) { snprintf(buf, n, "--:--"); return; }
    if (s > 1e7) s = 1e7; /* clamp so the text always fits */
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

int cli_term_width(int fd) {
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    if (c && *c) {
        char *end;
        long v = strtol(c, &end, 10);
        if (*end == 0 && v >= 1 && v <= 10000) return (int)v;
    }
    return 80;
}

/* Display columns of the n bytes at s: one per character (lead byte). */
static int text_cols_n(const char *s, size_t n) {
    int c = 0;
    for (size_t k = 0; k < n; k++) c += ((unsigned char)s[k] & 0xC0) != 0x80;
    return c;
}

int cli_text_cols(const char *s) { return s ? text_cols_n(s, strlen(s)) : 0; }

void cli_print_wrapped_to(FILE *f, int col, int indent, int width, const char *text) {
    bool first = true; /* no word written yet */
    for (const char *s = text; *s;) {
        if (*s == ' ') { s++; continue; }
        size_t n = strcspn(s, " ");
        const int cols = text_cols_n(s, n);
        int sep = first ? 0 : 1;
        if (col + sep + cols > width && col > indent) { /* to the next line, unless it is bare */
            fprintf(f, "\n%*s", indent, "");
            col = indent;
            sep = 0;
        }
        if (sep) { fputc(' ', f); col++; }
        fwrite(s, 1, n, f);
        col += cols;
        first = false;
        s += n;
    }
    fputc('\n', f);
}

void cli_print_wrapped(FILE *f, int col, int indent, const char *text) { cli_print_wrapped_to(f, col, indent, 80, text); }

static bool field_present(const cli_field *f) { return f->text && f->text[0]; }

int cli_fields_fit(const cli_field *f, size_t n, int max_cols, bool *keep) {
    int used = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        keep[i] = field_present(&f[i]);
        if (keep[i]) { used += (kept ? 2 : 0) + cli_text_cols(f[i].text); kept++; }
    }
    while (used > max_cols && kept > 1) {
        size_t drop = n; /* the kept field with the highest prio; the later one among equals */
        for (size_t i = 0; i < n; i++)
            if (keep[i] && (drop == n || f[i].prio >= f[drop].prio)) drop = i;
        keep[drop] = false;
        kept--;
        used -= 2 + cli_text_cols(f[drop].text);
    }
    return used;
}

int cli_fields_join(char *buf, size_t cap, int max_cols, const cli_field *f, size_t n) {
    bool keep_small[16], *keep = n <= 16 ? keep_small : malloc(n * sizeof *keep);
    if (cap) buf[0] = 0;
    if (!keep || cap == 0) return 0;
    cli_fields_fit(f, n, max_cols, keep);
    size_t len = 0;
    int cols = 0, first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        for (const char *t = first ? "" : "  "; *t; t++)
            if (cols < max_cols && len + 1 < cap) { buf[len++] = *t; cols++; }
        first = 0;
        for (const unsigned char *t = (const unsigned char *)f[i].text; *t;) {
            size_t k = 1; /* one character: its lead byte and continuation bytes */
            while (t[k] && (t[k] & 0xC0) == 0x80) k++;
            if (cols >= max_cols || len + k >= cap) break;
            memcpy(buf + len, t, k);
            len += k;
            t += k;
            cols++;
        }
    }
    buf[len] = 0;
    if (keep != keep_small) free(keep);
    return cols;
}

/* The bar's own fields and the caller's, in display order: label, bar, percentage (or count),
 * elapsed, ETA, then the caller's. */
enum { BAR_LABEL, BAR_GRAPHIC, BAR_PERCENT, BAR_ELAPSED, BAR_ETA, BAR_OWN };
#define BAR_MIN_CELLS 10
#define BAR_MAX_CELLS 30

int cli_progress_format(const cli_progress *p, char *buf, size_t cap, int cols, double done, double now,
                        const cli_field *fields, size_t n) {
    cli_field all_small[BAR_OWN + 16], *all = n <= 16 ? all_small : malloc((BAR_OWN + n) * sizeof *all);
    bool keep_small[BAR_OWN + 16], *keep = n <= 16 ? keep_small : malloc((BAR_OWN + n) * sizeof *keep);
    if (!all || !keep) {
        if (all != all_small) free(all);
        if (keep != keep_small) free(keep);
        if (cap) buf[0] = 0;
        return 0;
    }
    double el = now - p->start;
    char pct[32], elapsed[32], eta[48], graphic[BAR_MAX_CELLS + 3];
    cli_format_duration(elapsed, sizeof elapsed, el);
    double f = p->total > 0 ? done / p->total : 0;
    if (f > 1) f = 1;
    if (f < 0 || !isfinite(f)) f = 0;
    if (p->total > 0) {
        char r[32];
        snprintf(pct, sizeof pct, "%.1f%%", 100 * f);
        cli_format_duration(r, sizeof r, f > 0 ? el * (1 - f) / f : NAN);
        snprintf(eta, sizeof eta, "eta %s", r);
    } else {
        cli_format_si(pct, sizeof pct, done);
        eta[0] = 0;
    }
    /* the graphic at its smallest while fitting; it then grows into the room left */
    snprintf(graphic, sizeof graphic, "[%*s]", BAR_MIN_CELLS, "");
    all[BAR_LABEL] = (cli_field){p->label, CLI_PRIO_LABEL};
    all[BAR_GRAPHIC] = (cli_field){p->total > 0 ? graphic : NULL, CLI_PRIO_BAR};
    all[BAR_PERCENT] = (cli_field){pct, CLI_PRIO_PERCENT};
    all[BAR_ELAPSED] = (cli_field){elapsed, CLI_PRIO_ELAPSED};
    all[BAR_ETA] = (cli_field){eta, CLI_PRIO_ETA};
    for (size_t i = 0; i < n; i++) all[BAR_OWN + i] = fields[i];
    int max_cols = cols > 1 ? cols - 1 : 1; /* never the last column: some terminals wrap there */
    int used = cli_fields_fit(all, BAR_OWN + n, max_cols, keep);
    int cells = BAR_MIN_CELLS;
    if (keep[BAR_GRAPHIC]) {
        cells += max_cols - used;
        if (cells > BAR_MAX_CELLS) cells = BAR_MAX_CELLS;
    }
    int fill = (int)(f * cells);
    graphic[0] = '[';
    for (int k = 0; k < cells; k++) graphic[1 + k] = k < fill ? '#' : '.';
    graphic[cells + 1] = ']';
    graphic[cells + 2] = 0;
    int w = cli_fields_join(buf, cap, max_cols, all, BAR_OWN + n);
    if (all != all_small) free(all);
    if (keep != keep_small) free(keep);
    return w;
}

static void progress_draw(cli_progress *p, double done, const cli_field *fields, size_t n) {
    if (!p->tty) return;
    double now = cli_now();
    if (now - p->last_draw < 0.1 && !(p->total > 0 && done >= p->total)) return;
    p->last_draw = now;
    char line[1024];
    cli_progress_format(p, line, sizeof line, cli_term_width(STDERR_FILENO), done, now, fields, n);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

void cli_progress_update_fields(cli_progress *p, double done, const cli_field *fields, size_t n) {
    progress_draw(p, done, fields, n);
}

void cli_progress_update(cli_progress *p, double done, const char *extra) {
    if (!p->tty) return;
    /* the text split at runs of two or more spaces */
    char copy[512];
    cli_field f[16];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", extra ? extra : "");
    for (char *s = copy; *s && n < 16;) {
        while (*s == ' ') s++;
        if (!*s) break;
        char *e = s;
        while (*e && !(e[0] == ' ' && e[1] == ' ')) e++;
        char *next = *e ? e + 1 : e;
        while (e > s && e[-1] == ' ') e--; /* a single trailing space */
        *e = 0;
        f[n] = (cli_field){s, n == 0 ? CLI_PRIO_MAIN : CLI_PRIO_DETAIL + (int)n};
        n++;
        s = next;
    }
    progress_draw(p, done, f, n);
}

void cli_progress_finish(cli_progress *p) {
    if (p->tty) { fputs("\r\033[K", stderr); fflush(stderr); }
}

void cli_progress_log(cli_progress *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (p->tty) fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    va_end(ap);
    p->last_draw = 0; /* redraw the bar at the next update, under the line */
}

bool cli_token_threads_split(int hidden, double weight_bytes, bool passive) {
    return hidden >= 256 && (!passive || weight_bytes >= CLI_PASSIVE_BYTES);
}

long cli_token_threads(long idle, long max_threads, int hidden, double weight_bytes, bool passive) {
    if (!cli_token_threads_split(hidden, weight_bytes, passive)) return 1;
    long t = idle < 1 ? 1 : idle;
    if (t > 4) t = 4;
    if (t > max_threads) t = max_threads;
    return t < 1 ? 1 : t;
}

bool cli_omp_passive(void) {
    const char *v = getenv("OMP_WAIT_POLICY");
    if (!v) return false;
    while (*v == ' ' || *v == '\t') v++;
    return strncasecmp(v, "passive", 7) == 0 && (v[7] == 0 || v[7] == ' ' || v[7] == '\t');
}

void cli_format_si(char *buf, size_t n, double v) {
    static const char *const suffix[] = {"", "k", "M", "G", "T"};
    if (!isfinite(v)) { snprintf(buf, n, "--"); return; }
    double a = fabs(v);
    int k = 0;
    while (a >= 999.5 && k < 4) { a /= 1000; v /= 1000; k++; }
    if (k == 0) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.*f%s", a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2, v, suffix[k]);
}

static bool is_forecast(const char *task) { return task && !strcmp(task, "forecast"); }
const char *cli_task_count_unit(const char *task) { return is_forecast(task) ? "rows read" : "tokens"; }
const char *cli_task_rate_unit(const char *task) { return is_forecast(task) ? "rows/s" : "tok/s"; }

void cli_format_train(char *buf, size_t n, const cli_train_status *s) {
    size_t len = 0;
    buf[0] = 0;
#define ADD(...) do { if (len < n) { int w_ = snprintf(buf + len, n - len, __VA_ARGS__); if (w_ > 0) len += (size_t)w_; } } while (0)
    if (s->total_steps > 0) ADD("step %ld/%ld", s->step, s->total_steps);
    else ADD("step %ld", s->step);
    if (s->epoch >= 0) ADD("  epoch %.2f", s->epoch);
    if (!isnan(s->loss)) ADD("  loss %.4f", s->loss);
    if (s->tokens_per_s > 0) {
        char si[32];
        cli_format_si(si, sizeof si, s->tokens_per_s);
        ADD("  %s %s", si, s->rate_unit ? s->rate_unit : "tok/s");
    }
#undef ADD
}

void cli_train_fields_make(cli_train_fields *f, const cli_train_status *s) {
    f->n = 0;
#define FIELD(prio, ...) do { snprintf(f->text[f->n], sizeof f->text[f->n], __VA_ARGS__); \
        f->field[f->n] = (cli_field){f->text[f->n], prio}; f->n++; } while (0)
    if (s->total_steps > 0) FIELD(CLI_PRIO_MAIN, "step %ld/%ld", s->step, s->total_steps);
    else FIELD(CLI_PRIO_MAIN, "step %ld", s->step);
    if (s->epoch >= 0) FIELD(CLI_PRIO_EXTRA, "epoch %.2f", s->epoch);
    if (!isnan(s->loss)) FIELD(CLI_PRIO_MAIN + 1, "loss %.4f", s->loss);
    if (s->tokens_per_s > 0) {
        char si[32];
        cli_format_si(si, sizeof si, s->tokens_per_s);
        FIELD(CLI_PRIO_DETAIL, "%s %s", si, s->rate_unit ? s->rate_unit : "tok/s");
    }
#undef FIELD
}

int cli_print_json(cJSON *j) {
    char *s = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!s) return cli_fail("out of memory for the JSON report");
    printf("%s\n", s);
    free(s);
    return 0;
}
