/* rnnc forecast eval --plot: the SVG is well-formed XML holding three series (the truth, the
 * model's forecasts, the seasonal-naive ones dashed) in the legend; for a horizon of N the
 * forecasts tile the scored rows from every Nth row, one stretch of line (one "M" move) per origin;
 * --json names the plot; a plot that cannot be written is one error line and no report. The
 * forecaster is trained here from C on a weekly series. */
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/train.h"
#include "test.h"
#include "xml_check.h"

static char dir[64];

static void write_series(const char *path, int rows) {
    FILE *f = fopen(path, "w");
    fprintf(f, "day,sales,weekday\n");
    for (int i = 0; i < rows; i++) fprintf(f, "d%d,%d,%d\n", i, 50 + 10 * (i % 7 >= 5) + (i * 7919 % 5), i % 7);
    fclose(f);
}

/* Trains a forecaster of `horizon` steps for a few steps into RUN_DIR; returns its best model. */
static void train(const char *csv, const char *run_dir, int horizon) {
    rnnc_seq_task_opts o = rnnc_seq_task_defaults(RNNC_SEQ_FORECAST);
    o.data = csv;
    o.target = "sales";
    o.known = "weekday";
    o.context = 14;
    o.horizon = horizon;
    o.season = 7;
    o.model.hidden = 8;
    rnnc_run_opts r = rnnc_run_defaults();
    r.steps = 20;
    r.run_dir = run_dir;
    rnnc_task *t;
    CHECK_EQ_LL(rnnc_seq_task_new(&t, &o, r.seed, NULL, 0), RNNC_OK);
    CHECK_EQ_LL(rnnc_run_start(&r, t, NULL, NULL, NULL), RNNC_OK);
}

/* Runs rnnc with args, stdout to dir/out and stderr to dir/err; returns the exit status. */
static int rnnc(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out' 2>'%s/err'", RNNC_BIN, args, dir, dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *name) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unsigned char *d = NULL;
    size_t n = 0;
    if (rnnc_read_file(p, &d, &n)) return NULL;
    char *s = realloc(d, n + 1);
    if (s) s[n] = 0;
    return s;
}

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The path element of the series drawn in colour `stroke`: its moves and its points. */
static void path_of(const char *svg, const char *stroke, size_t *moves, size_t *points) {
    char key[64];
    snprintf(key, sizeof key, "<path stroke=\"%s\"", stroke);
    const char *p = strstr(svg, key), *d = p ? strstr(p, " d=\"") : NULL, *e = d ? strchr(d + 4, '"') : NULL;
    *moves = *points = 0;
    for (const char *c = d; c && c < e; c++) {
        *moves += *c == 'M';
        *points += *c == 'M' || *c == 'L';
    }
}

static void check_plot(int horizon, size_t want_moves, size_t want_points) {
    char svg_name[32];
    snprintf(svg_name, sizeof svg_name, "h%d.svg", horizon);
    char args[1024];
    snprintf(args, sizeof args, "forecast eval --model '%s/run%d/best.safetensors' --data '%s/s.csv' --last 20 --plot '%s/%s'", dir,
             horizon, dir, dir, svg_name);
    CHECK_EQ_LL(rnnc(args), 0);
    char *out = slurp("out"), *svg = slurp(svg_name);
    CHECK(out && strstr(out, "plot: ") && strstr(out, svg_name));
    CHECK(svg != NULL);
    if (svg) {
        const char *why = xml_check(svg, "svg");
        CHECK_MSG(why == NULL, "h%d.svg: %s", horizon, why);
        /* three series, each a path and a legend entry */
        CHECK_EQ_LL(count(svg, "<path stroke="), 3);
        CHECK(strstr(svg, ">truth</text>") != NULL);
        CHECK(strstr(svg, horizon > 1 ? "steps ahead, from every" : ">model (one step ahead)</text>") != NULL);
        CHECK(strstr(svg, ">seasonal naive (m = 7)</text>") != NULL);
        CHECK_EQ_LL(count(svg, "stroke-dasharray"), 2); /* the naive path and its legend line */
        /* the truth: the 20 scored rows in one line; the forecasts: one stretch per origin */
        size_t moves, points;
        path_of(svg, "#1f77b4", &moves, &points);
        CHECK_EQ_LL(moves, 1);
        CHECK_EQ_LL(points, 20);
        path_of(svg, "#ff7f0e", &moves, &points);
        CHECK_EQ_LL(moves, want_moves);
        CHECK_EQ_LL(points, want_points);
        path_of(svg, "#2ca02c", &moves, &points);
        CHECK_EQ_LL(moves, want_moves);
        CHECK_EQ_LL(points, want_points);
        CHECK(strstr(svg, ">sales</text>") != NULL); /* the y axis is the target column */
    }
    free(out);
    free(svg);
}

static void test_forecast_plot(void) {
    char csv[96], run[96];
    snprintf(csv, sizeof csv, "%s/s.csv", dir);
    write_series(csv, 150);
    snprintf(run, sizeof run, "%s/run3", dir);
    train(csv, run, 3);
    snprintf(run, sizeof run, "%s/run1", dir);
    train(csv, run, 1);
    check_plot(3, 6, 18); /* origins at scored rows 1, 4, ..., 16; rows 19 and 20 are truth only */
    check_plot(1, 1, 20); /* one step ahead: one line through every row */

    char args[1024];
    snprintf(args, sizeof args, "forecast eval --model '%s/run3/best.safetensors' --data '%s' --json --plot '%s/j.svg'", dir, csv, dir);
    CHECK_EQ_LL(rnnc(args), 0);
    char *out = slurp("out");
    CHECK(out && strstr(out, "\"plot\":") != NULL);
    free(out);
    /* a plot that cannot be written: one error line, no report */
    snprintf(args, sizeof args, "forecast eval --model '%s/run3/best.safetensors' --data '%s' --plot '%s/no/such/dir/x.svg'", dir, csv,
             dir);
    CHECK_EQ_LL(rnnc(args), 1);
    char *err = slurp("err");
    out = slurp("out");
    CHECK(err && !strncmp(err, "rnnc: ", 6) && count(err, "\n") == 1 && strstr(err, "x.svg"));
    CHECK(out && !*out);
    free(err);
    free(out);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/rnnc_fplot_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(test_forecast_plot);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!getenv("KEEP") && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report();
}
