/* Shared CLI helpers: error lines, strict flag parsing, progress bar. */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("rnnc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_fail_status(void) { return cli_fail("%s", rnnc_last_error()); }

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rnnc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'rnnc %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

bool cli_parse_long(const char *cmd, const char *flag, const char *val, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end) {
        cli_usage_error(cmd, "%s expects an integer, got '%s'", flag, val);
        return false;
    }
    if (v < min || v > max) {
        cli_usage_error(cmd, "%s must be between %ld and %ld, got %ld", flag, min, max, v);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_duration(const char *cmd, const char *flag, const char *val, double *out) {
    char *end;
    errno = 0;
    double x = strtod(val, &end);
    double unit = 0;
    if (!errno && end != val && isfinite(x) && x >= 0) {
        if (*end == 0 || strcmp(end, "s") == 0) unit = 1;
        else if (strcmp(end, "m") == 0) unit = 60;
        else if (strcmp(end, "h") == 0) unit = 3600;
    }
    if (unit == 0) {
        cli_usage_error(cmd, "%s expects a duration such as 120, 90s, 2m or 1h, got '%s'", flag, val);
        return false;
    }
    *out = x * unit;
    return true;
}

bool cli_parse_double(const char *cmd, const char *flag, const char *val, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v)) {
        cli_usage_error(cmd, "%s expects a number, got '%s'", flag, val);
        return false;
    }
    if (v < min || v > max) {
        cli_usage_error(cmd, "%s must be between %g and %g, got %g", flag, min, max, v);
        return false;
    }
    *out = v;
    return true;
}

bool cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val, int *err) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return false;
    if (a[n] == '=') { *val = a + n + 1; return true; }
    if (a[n] != 0) return false;
    if (*i + 1 >= argc) {
        *err = cli_usage_error(cmd, "%s needs a value", name);
        return true;
    }
    *val = argv[++*i];
    return true;
}

bool cli_flag(char **argv, int i, const char *name) { return strcmp(argv[i], name) == 0; }

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

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

void cli_progress_update(cli_progress *p, double done, const char *extra) {
    if (!p->tty) return;
    double now = cli_now();
    if (now - p->last_draw < 0.1 && !(p->total > 0 && done >= p->total)) return;
    p->last_draw = now;
    double el = now - p->start;
    char e[48], r[48];
    cli_format_duration(e, sizeof e, el);
    if (p->total > 0) {
        double f = done / p->total;
        if (f > 1) f = 1;
        int w = 30, fill = (int)(f * w);
        char bar[64];
        for (int k = 0; k < w; k++) bar[k] = k < fill ? '#' : '.';
        bar[w] = 0;
        cli_format_duration(r, sizeof r, f > 0 ? el * (1 - f) / f : NAN);
        fprintf(stderr, "\r\033[K%s [%s] %5.1f%% %s eta %s %s", p->label, bar, 100 * f, e, r, extra ? extra : "");
    } else {
        fprintf(stderr, "\r\033[K%s %.0f %s %s", p->label, done, e, extra ? extra : "");
    }
    fflush(stderr);
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

void cli_format_si(char *buf, size_t n, double v) {
    static const char *const suffix[] = {"", "k", "M", "G", "T"};
    if (!isfinite(v)) { snprintf(buf, n, "--"); return; }
    double a = fabs(v);
    int k = 0;
    while (a >= 999.5 && k < 4) { a /= 1000; v /= 1000; k++; }
    if (k == 0) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.*f%s", a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2, v, suffix[k]);
}

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
        ADD("  %s tok/s", si);
    }
#undef ADD
}
