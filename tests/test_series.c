/* Forecasting data (include/rnnc/series.h): CSV reading (quotes, CRLF, BOM, ignored columns) and
 * every bad input with its exact message, predict mode's future rows, normalisation, windows,
 * the seasonal-naive forecast and the metrics, all on hand-computed numbers. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/series.h"
#include "test.h"

static rnnc_series_spec spec_of(const char *target, const char *const *cov, const bool *known, int n_cov) {
    rnnc_series_spec s;
    memset(&s, 0, sizeof s);
    s.target = target;
    s.covariates = cov;
    s.known = known;
    s.n_cov = n_cov;
    return s;
}

static float at(const rnnc_series_data *d, int r, int c) { return d->v[(size_t)r * (size_t)d->cols + (size_t)c]; }

/* The text must be refused with status `want` and exactly the message `msg`. */
static void expect_error(const char *text, size_t len, const rnnc_series_spec *sp, rnnc_status want, const char *msg,
                         int line) {
    rnnc_series_data d;
    rnnc_status s = rnnc_series_parse(text, len, "t.csv", sp, &d);
    CHECK_MSG(s == want, "line %d: status %d, want %d (%s)", line, (int)s, (int)want, rnnc_last_error());
    CHECK_MSG(!strcmp(rnnc_last_error(), msg), "line %d:\n   got  %s\n   want %s", line, rnnc_last_error(), msg);
    CHECK(d.v == NULL && d.rows == 0 && d.name == NULL);
    rnnc_series_data_free(&d);
}
#define BAD(text, sp, msg) expect_error(text, strlen(text), sp, RNNC_ERR_FORMAT, msg, __LINE__)

static void test_parse(void) {
    /* BOM, CRLF, a quoted header name, blanks around cells, "" inside quotes, a quoted line break
     * and a comma in an ignored column, an empty line, a final line without a newline */
    const char *text = "\xEF\xBB\xBF" "date,\"temp\",y,note,hol\r\n"
                       "2024-01-01, 1.5 ,10,\"a, \"\"quoted\"\" note\",0\r\n"
                       "2024-01-02,\t2,\"12\",\"multi\r\nline\",1\r\n"
                       "\r\n"
                       "2024-01-03,-0.5e1,\" 14 \",,0";
    const char *cov[] = {"temp", "hol"};
    const bool known[] = {false, true};
    rnnc_series_spec sp = spec_of("y", cov, known, 2);
    rnnc_series_data d;
    CHECK(rnnc_series_parse(text, strlen(text), "t.csv", &sp, &d) == RNNC_OK);
    CHECK_EQ_LL(d.rows, 3);
    CHECK_EQ_LL(d.cols, 3);
    CHECK_EQ_LL(d.future, 0);
    CHECK_STR(d.name, "t.csv");
    const float want[3][3] = {{10, 1.5f, 0}, {12, 2, 1}, {14, -5, 0}};
    for (int r = 0; r < 3 && d.rows == 3; r++)
        for (int c = 0; c < 3; c++) CHECK_MSG(at(&d, r, c) == want[r][c], "row %d col %d: %g", r, c, at(&d, r, c));
    rnnc_series_data_free(&d);
    CHECK(d.v == NULL && d.name == NULL);

    /* LF, leading blank lines, one column, no covariates, an unnamed and a repeated unused column */
    const char *t2 = "\n\n,x,x,y\n0,a,b,1\n1,,,2\n";
    sp = spec_of("y", NULL, NULL, 0);
    CHECK(rnnc_series_parse(t2, strlen(t2), "t.csv", &sp, &d) == RNNC_OK);
    CHECK_EQ_LL(d.rows, 2);
    CHECK_EQ_LL(d.cols, 1);
    CHECK(d.rows == 2 && at(&d, 0, 0) == 1 && at(&d, 1, 0) == 2);
    rnnc_series_data_free(&d);

    /* the text need not end in NUL: only len bytes are read */
    const char t3[] = {'y', '\n', '4', '2', '9'};
    CHECK(rnnc_series_parse(t3, 4, "t.csv", &sp, &d) == RNNC_OK);
    CHECK(d.rows == 1 && at(&d, 0, 0) == 42);
    rnnc_series_data_free(&d);

    /* the number forms strtod reads whole */
    const char *t4 = "y\n+3\n.5\n5.\n-1E-2\n0x10\n1e-50\n";
    CHECK(rnnc_series_parse(t4, strlen(t4), "t.csv", &sp, &d) == RNNC_OK);
    const float w4[] = {3, 0.5f, 5, -0.01f, 16, 0};
    CHECK_EQ_LL(d.rows, 6);
    for (int r = 0; r < 6 && d.rows == 6; r++) CHECK_MSG(at(&d, r, 0) == w4[r], "row %d: %g", r, at(&d, r, 0));
    rnnc_series_data_free(&d);

    /* covariates come in the spec's order, not the file's */
    const char *t5 = "b,y,a\n1,2,3\n";
    const char *cov5[] = {"a", "b"};
    sp = spec_of("y", cov5, NULL, 2);
    CHECK(rnnc_series_parse(t5, strlen(t5), "t.csv", &sp, &d) == RNNC_OK);
    CHECK(d.rows == 1 && at(&d, 0, 0) == 2 && at(&d, 0, 1) == 3 && at(&d, 0, 2) == 1);
    rnnc_series_data_free(&d);
}

/* A program that set a locale whose decimal point is a comma still reads "1.5" as 1.5. */
static void test_locale(void) {
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++) got = setlocale(LC_NUMERIC, names[i]);
    if (!got) {
        printf("     (no locale with a decimal comma installed: test_locale checks nothing)\n");
        return;
    }
    rnnc_series_spec sp = spec_of("y", NULL, NULL, 0);
    rnnc_series_data d;
    CHECK(rnnc_series_parse("y\n1.5\n", 6, "t.csv", &sp, &d) == RNNC_OK);
    CHECK(d.rows == 1 && at(&d, 0, 0) == 1.5f);
    rnnc_series_data_free(&d);
    BAD("y\n1,5\n", &sp, "t.csv:2: 2 fields, but the header (line 1) has 1");
    setlocale(LC_NUMERIC, "C");
}

static void test_bad_input(void) {
    const char *cov[] = {"a", "b"};
    rnnc_series_spec sp = spec_of("y", cov, NULL, 2);
    rnnc_series_spec sy = spec_of("y", NULL, NULL, 0);
    /* missing columns */
    BAD("date,a,b\n1,2,3\n", &sp, "t.csv: no column 'y'; the columns are: date, a, b");
    BAD("y,a,,c\n1,2,3,4\n", &sp, "t.csv: no column 'b'; the columns are: y, a, \"\", c");
    BAD("Y\n1\n", &sy, "t.csv: no column 'y'; the columns are: Y");
    /* a long header is cut short in the message */
    {
        char big[8192];
        size_t o = (size_t)snprintf(big, sizeof big, "c0");
        for (int i = 1; i < 500; i++) o += (size_t)snprintf(big + o, sizeof big - o, ",column_%d", i);
        snprintf(big + o, sizeof big - o, "\n");
        rnnc_series_data d;
        CHECK(rnnc_series_parse(big, strlen(big), "t.csv", &sy, &d) == RNNC_ERR_FORMAT);
        CHECK(strstr(rnnc_last_error(), "t.csv: no column 'y'; the columns are: c0, column_1, ") == rnnc_last_error());
        CHECK(strstr(rnnc_last_error(), ", ... (500 in all)") != NULL);
        CHECK(strlen(rnnc_last_error()) < 800);
    }
    /* a used name twice; an unused one twice is fine */
    BAD("y,a,b,a\n1,2,3,4\n", &sp, "t.csv:1: column 'a' appears twice in the header (columns 2 and 4)");
    BAD("\ny,y\n1,2\n", &sy, "t.csv:2: column 'y' appears twice in the header (columns 1 and 2)");
    /* cells */
    BAD("d,y\nx,1\nx,abc\n", &sy, "t.csv:3:2 (y): 'abc' is not a number");
    BAD("d,y\nx,1\nx,\n", &sy, "t.csv:3:2 (y): empty cell");
    BAD("d,y\nx,\"  \"\n", &sy, "t.csv:2:2 (y): empty cell");
    BAD("y\n1.5x\n", &sy, "t.csv:2:1 (y): '1.5x' is not a number");
    BAD("y\n1 2\n", &sy, "t.csv:2:1 (y): '1 2' is not a number");
    BAD("y\n\"\n1\"\n", &sy, "t.csv:2:1 (y): '\\x0A1' is not a number");
    BAD("y\n1,5\n", &sy, "t.csv:2: 2 fields, but the header (line 1) has 1");
    BAD("y,a,b\n1,2,3\n4,5,6,\n", &sp, "t.csv:3: 4 fields, but the header (line 1) has 3");
    BAD("y,a,b\n1,2,3\n4\n", &sp, "t.csv:3: 1 field, but the header (line 1) has 3");
    BAD("y\nnan\n", &sy, "t.csv:2:1 (y): 'nan' is not a number (NaN is refused: leave no gaps in a series)");
    BAD("y\n-NaN\n", &sy, "t.csv:2:1 (y): '-NaN' is not a number (NaN is refused: leave no gaps in a series)");
    BAD("y\ninf\n", &sy, "t.csv:2:1 (y): 'inf' is infinite (Inf is refused)");
    BAD("y\n-Infinity\n", &sy, "t.csv:2:1 (y): '-Infinity' is infinite (Inf is refused)");
    BAD("y\n1e400\n", &sy, "t.csv:2:1 (y): '1e400' is out of range (a value must fit a float, |v| < 3.4e38)");
    BAD("y\n-1e39\n", &sy, "t.csv:2:1 (y): '-1e39' is out of range (a value must fit a float, |v| < 3.4e38)");
    BAD("a,b,y\n1,2,3\n1,2,x\n", &sp, "t.csv:3:3 (y): 'x' is not a number");
    BAD("a,b,y\n1,z,3\n", &sp, "t.csv:2:2 (b): 'z' is not a number");
    /* the first bad cell from the left, whatever the spec's order */
    BAD("b,a,y\nx,x,x\n", &sp, "t.csv:2:1 (b): 'x' is not a number");
    /* a bad field count comes before the cells of that row */
    BAD("y,a,b\n1,x\n", &sp, "t.csv:2: 2 fields, but the header (line 1) has 3");
    /* the CSV itself */
    BAD("d,y\n\"2024,1\n", &sy, "t.csv:2:1 (d): the quoted field opened here is never closed");
    BAD("y\n\"1\"2\n", &sy, "t.csv:2:1 (y): text after the closing quote (a quote inside a quoted field is written \"\")");
    BAD("y\r1\r2\r", &sy, "t.csv:1: a carriage return without a line feed (lines must end in LF or CR LF)");
    expect_error("y\n1\0002\n", 6, &sy, RNNC_ERR_FORMAT, "t.csv:2:1 (y): a NUL byte (is this a binary file?)", __LINE__);
    expect_error("d,y\n\"\0\",1\n", 9, &sy, RNNC_ERR_FORMAT, "t.csv:2:1 (d): a NUL byte (is this a binary file?)", __LINE__);
    /* a quoted line break moves the line the next error names */
    BAD("d,y\n\"a\nb\",1\nx,?\n", &sy, "t.csv:4:2 (y): '?' is not a number");
    /* hostile names are shown with their control bytes escaped */
    BAD("\"y\x01\"\n1\n", &sy, "t.csv: no column 'y'; the columns are: y\\x01");
    /* bytes that are not UTF-8 too, and C1 controls; UTF-8 text as it is */
    BAD("y\n\xFF\xFE\n", &sy, "t.csv:2:1 (y): '\\xFF\\xFE' is not a number");
    BAD("y\n\xC2\x9B\n", &sy, "t.csv:2:1 (y): '\\xC2\\x9B' is not a number");
    BAD("temp\xC3\xA9" "rature,y\nx,\xE2\x82\xAC" "5\n", &sy, "t.csv:2:2 (y): '\xE2\x82\xAC" "5' is not a number");
    const char *cov_u[] = {"temp\xC3\xA9" "rature"};
    rnnc_series_spec su = spec_of("y", cov_u, NULL, 1);
    BAD("temp\xC3\xA9" "rature,y\n1\xE2\x82\xAC,5\n", &su, "t.csv:2:1 (temp\xC3\xA9" "rature): '1\xE2\x82\xAC' is not a number");
    /* a long cell is cut at 60 bytes */
    BAD("y\n0123456789012345678901234567890123456789012345678901234567890123456789x\n", &sy,
        "t.csv:2:1 (y): '012345678901234567890123456789012345678901234567890123456789...' is not a number");
    /* empty files, header only */
    BAD("", &sy, "t.csv: the file is empty (expected a header line naming the columns, then one row per time step)");
    BAD("\xEF\xBB\xBF\r\n\n", &sy,
        "t.csv: the file is empty (expected a header line naming the columns, then one row per time step)");
    BAD("y,a,b\n", &sp, "t.csv: a header line but no rows of data (line 1 is the header)");
    BAD("\ny,a,b\r\n\r\n", &sp, "t.csv: a header line but no rows of data (line 2 is the header)");
    /* limits (INT_MAX by default; lowered here to reach them) */
    rnnc_series_spec lim = sy;
    lim.max_rows = 2;
    rnnc_series_data d;
    CHECK(rnnc_series_parse("y\n1\n2\n", 6, "t.csv", &lim, &d) == RNNC_OK && d.rows == 2);
    rnnc_series_data_free(&d);
    BAD("y\n1\n2\n\n3\n", &lim, "t.csv:5: more than 2 rows");
    lim.max_rows = 0;
    lim.max_cols = 2;
    CHECK(rnnc_series_parse("y,x\n1,2\n", 8, "t.csv", &lim, &d) == RNNC_OK && d.rows == 1);
    rnnc_series_data_free(&d);
    BAD("y,x,z\n1,2,3\n", &lim, "t.csv:1: the header has more than 2 columns");
    /* the spec itself */
    const char *dup[] = {"a", "a"};
    rnnc_series_spec bad = spec_of("y", dup, NULL, 2);
    CHECK(rnnc_series_parse("y,a\n1,2\n", 8, "t.csv", &bad, &d) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "column 'a' is named twice in --covariates"); /* the flags that named them */
    const bool kk[] = {false, true}, kn[] = {true, true};
    bad = spec_of("y", dup, kk, 2);
    CHECK(rnnc_series_parse("y,a\n1,2\n", 8, "t.csv", &bad, &d) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "column 'a' is named twice (in --covariates and in --known)");
    bad = spec_of("y", dup, kn, 2);
    CHECK(rnnc_series_parse("y,a\n1,2\n", 8, "t.csv", &bad, &d) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "column 'a' is named twice in --known");
    const char *ty[] = {"y"};
    bad = spec_of("y", ty, NULL, 1);
    CHECK(rnnc_series_parse("y,a\n1,2\n", 8, "t.csv", &bad, &d) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "column 'y' is named twice (as --target and in --covariates)");
    bad = spec_of("", NULL, NULL, 0);
    CHECK(rnnc_series_parse("y\n1\n", 4, "t.csv", &bad, &d) == RNNC_ERR_ARG);
    /* files */
    CHECK(rnnc_series_read("/nonexistent/x.csv", &sy, &d) == RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/x.csv") != NULL);
    CHECK(d.v == NULL);
}

static void test_read_file(void) {
    char path[] = "/tmp/rnnc-test-series-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *text = "date,y,k\r\n2024-01-01,1,5\r\n2024-01-02,2,6\r\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    const char *cov[] = {"k"};
    const bool known[] = {true};
    rnnc_series_spec sp = spec_of("y", cov, known, 1);
    rnnc_series_data d;
    CHECK(rnnc_series_read(path, &sp, &d) == RNNC_OK);
    CHECK_STR(d.name, path);
    CHECK(d.rows == 2 && at(&d, 1, 0) == 2 && at(&d, 1, 1) == 6);
    rnnc_series_data_free(&d);
    const char *cov2[] = {"k", "holiday"};
    sp = spec_of("y", cov2, NULL, 2);
    CHECK(rnnc_series_read(path, &sp, &d) == RNNC_ERR_FORMAT);
    char want[256];
    snprintf(want, sizeof want, "%s: no column 'holiday'; the columns are: date, y, k", path);
    CHECK_STR(rnnc_last_error(), want);
    unlink(path);
}

static void test_predict_mode(void) {
    const char *cov[] = {"k", "u"};
    const bool known[] = {true, false};
    rnnc_series_spec sp = spec_of("y", cov, known, 2);
    sp.predict = true;
    const char *text = "y,k,u\n1,10,100\n2,20,200\n,30,\n  ,40,41\n";
    rnnc_series_data d;
    CHECK(rnnc_series_parse(text, strlen(text), "t.csv", &sp, &d) == RNNC_OK);
    CHECK_EQ_LL(d.rows, 4);
    CHECK_EQ_LL(d.future, 2);
    if (d.rows == 4) {
        CHECK(at(&d, 1, 0) == 2 && at(&d, 1, 2) == 200);
        CHECK(isnan(at(&d, 2, 0)) && at(&d, 2, 1) == 30 && isnan(at(&d, 2, 2)));
        CHECK(isnan(at(&d, 3, 0)) && at(&d, 3, 1) == 40 && at(&d, 3, 2) == 41);
    }
    rnnc_series_data_free(&d);
    /* no future rows is fine */
    CHECK(rnnc_series_parse("y,k,u\n1,2,3\n", 12, "t.csv", &sp, &d) == RNNC_OK && d.future == 0);
    rnnc_series_data_free(&d);
    BAD("y,k,u\n1,1,1\n,2,2\n3,3,3\n", &sp,
        "t.csv:3:1 (y): empty cell (in predict mode only the last rows may leave the target empty, and line 4 has one)");
    BAD("d,y,k,u\nx,1,1,1\nx,,,2\n", &sp,
        "t.csv:3:3 (k): empty cell (a known covariate must be given for the rows to forecast too)");
    BAD("y,k,u\n1,1,\n", &sp, "t.csv:2:3 (u): empty cell");
    BAD("y,k,u\n1,1,1\n,2,x\n", &sp, "t.csv:3:3 (u): 'x' is not a number");
    /* outside predict mode an empty target is an empty cell */
    sp.predict = false;
    BAD("y,k,u\n1,1,1\n,2,2\n", &sp, "t.csv:3:1 (y): empty cell");
}

/* y = 1..8, a constant 2, b (known) = 0,1,0,1,...; ignored date column. */
static const char *series8 = "date,y,a,b\n"
                             "d1,1,2,0\nd2,2,2,1\nd3,3,2,0\nd4,4,2,1\nd5,5,2,0\nd6,6,2,1\nd7,7,2,0\nd8,8,2,1\n";

static void test_normalise(void) {
    const char *cov[] = {"a", "b"};
    const bool known[] = {false, true};
    rnnc_series_spec sp = spec_of("y", cov, known, 2);
    rnnc_series_data d;
    CHECK(rnnc_series_parse(series8, strlen(series8), "t.csv", &sp, &d) == RNNC_OK);
    rnnc_seq_series s;
    CHECK(rnnc_series_make(&s, &sp, &d, 4, 3, 7) == RNNC_OK);
    CHECK_EQ_LL(s.n_cols, 3);
    CHECK_EQ_LL(s.context, 3);
    CHECK_EQ_LL(s.season, 7);
    CHECK_STR(s.name[0], "y");
    CHECK_STR(s.name[1], "a");
    CHECK_STR(s.name[2], "b");
    CHECK(!s.known[0] && !s.known[1] && s.known[2]);
    /* over the first 4 rows: y 1..4 has mean 2.5, population variance 1.25; a constant 2 gets std
     * 1; b 0,1,0,1 mean 0.5 std 0.5 */
    CHECK_NEAR(s.mean[0], 2.5, 0, 1e-12);
    CHECK_NEAR(s.std[0], sqrt(1.25), 1e-12, 0);
    CHECK(s.mean[1] == 2 && s.std[1] == 1);
    CHECK_NEAR(s.mean[2], 0.5, 0, 1e-12);
    CHECK_NEAR(s.std[2], 0.5, 1e-12, 0);
    rnnc_seq_series_free(&s);
    CHECK(s.name == NULL && s.n_cols == 0);

    /* all 8 rows: y mean 4.5, variance (3.5^2 + 2.5^2 + 1.5^2 + 0.5^2) * 2 / 8 = 5.25 */
    CHECK(rnnc_series_make(&s, &sp, &d, 8, 3, 0) == RNNC_OK);
    CHECK_NEAR(s.mean[0], 4.5, 0, 1e-12);
    CHECK_NEAR(s.std[0], sqrt(5.25), 1e-12, 0);
    /* the spec of a model's series reads the same columns */
    rnnc_series_spec back = rnnc_series_spec_of(&s, true);
    CHECK_STR(back.target, "y");
    CHECK_EQ_LL(back.n_cov, 2);
    CHECK(back.predict && back.known && !back.known[0] && back.known[1]);
    rnnc_series_data d2;
    CHECK(rnnc_series_parse(series8, strlen(series8), "t.csv", &back, &d2) == RNNC_OK);
    CHECK(d2.rows == 8 && d2.cols == 3 && !memcmp(d2.v, d.v, sizeof(float) * 24));
    rnnc_series_data_free(&d2);
    rnnc_seq_series_free(&s);

    /* one training row: every column is constant */
    CHECK(rnnc_series_make(&s, &sp, &d, 1, 3, 0) == RNNC_OK);
    CHECK(s.mean[0] == 1 && s.std[0] == 1 && s.mean[2] == 0 && s.std[2] == 1);
    rnnc_seq_series_free(&s);

    CHECK(rnnc_series_make(&s, &sp, &d, 9, 3, 0) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "t.csv: 9 training rows, but the series has 8 rows with a target");
    CHECK(s.name == NULL);
    CHECK(rnnc_series_make(&s, &sp, &d, 0, 3, 0) == RNNC_ERR_ARG);
    CHECK(rnnc_series_make(&s, &sp, &d, 4, 0, 0) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "--context 0 must be at least 1");
    CHECK(rnnc_series_make(&s, &sp, &d, 4, 3, -1) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "--season -1 must be 0 (none) or more");
    rnnc_series_data_free(&d);
}

static void test_windows(void) {
    const char *cov[] = {"a", "b"};
    const bool known[] = {false, true};
    rnnc_series_spec sp = spec_of("y", cov, known, 2);
    rnnc_series_data d;
    CHECK(rnnc_series_parse(series8, strlen(series8), "t.csv", &sp, &d) == RNNC_OK);
    rnnc_seq_series s;
    CHECK(rnnc_series_make(&s, &sp, &d, 4, 3, 0) == RNNC_OK);
    const int T = 3, N = 2, F = 3;
    int n;
    CHECK(rnnc_series_windows(&d, 0, 8, T, N, &n) == RNNC_OK);
    CHECK_EQ_LL(n, 4); /* starts 0..3: the last reads rows 3..5 and predicts 6, 7 */
    CHECK(rnnc_series_windows(&d, 2, 8, T, N, &n) == RNNC_OK);
    CHECK_EQ_LL(n, 2);
    CHECK(rnnc_series_windows(&d, 0, 8, 6, 3, &n) == RNNC_ERR_ARG);
    CHECK_EQ_LL(n, 0);
    CHECK_STR(rnnc_last_error(),
              "t.csv: the series has 8 rows, too few for --context 6 + --horizon 3 (one window needs 9 rows)");
    CHECK(rnnc_series_windows(&d, 4, 8, 3, 2, &n) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "t.csv: rows 5 to 8 of the series are 4 rows, too few for --context 3 + --horizon 2 "
                                 "(one window needs 5 rows)");
    CHECK(rnnc_series_windows(&d, 0, 9, 3, 2, &n) == RNNC_ERR_ARG);
    CHECK(rnnc_series_windows(&d, 0, 8, 0, 2, &n) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "--context 0 must be at least 1");
    CHECK(rnnc_series_windows(&d, 0, 8, 3, 0, &n) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "--horizon 0 must be at least 1");

    /* windows 0 and 2 by hand: y normalised (y - 2.5) / sqrt(1.25), a (2 - 2) / 1 = 0, b (b - .5) / .5 */
    const int starts[] = {0, 2};
    float x[2 * 3 * 3], kn[2 * 2 * 1], tg[2 * 2];
    CHECK(rnnc_series_fill(&s, &d, starts, 2, N, x, kn, tg) == RNNC_OK);
    const double sdy = sqrt(1.25);
    for (int b = 0; b < 2; b++) {
        for (int t = 0; t < T; t++) {
            int r = starts[b] + t; /* y = r + 1, b = r % 2 */
            const float *o = x + ((size_t)b * T + (size_t)t) * F;
            CHECK_NEAR(o[0], ((r + 1) - 2.5) / sdy, 1e-6, 1e-7);
            CHECK(o[1] == 0);
            CHECK_NEAR(o[2], (r % 2) ? 1 : -1, 0, 1e-7);
        }
        for (int h = 0; h < N; h++) {
            int r = starts[b] + T + h;
            CHECK_NEAR(tg[b * N + h], ((r + 1) - 2.5) / sdy, 1e-6, 1e-7);
            CHECK_NEAR(kn[b * N + h], (r % 2) ? 1 : -1, 0, 1e-7);
        }
    }
    /* window 0 written out: rows 0..2 in, rows 3, 4 predicted */
    CHECK_NEAR(x[0], -1.5 / sdy, 1e-6, 0);
    CHECK_NEAR(x[3], -0.5 / sdy, 1e-6, 0);
    CHECK_NEAR(x[6], 0.5 / sdy, 1e-6, 0);
    CHECK_NEAR(tg[0], 1.5 / sdy, 1e-6, 0);
    CHECK_NEAR(tg[1], 2.5 / sdy, 1e-6, 0);
    CHECK(kn[0] == 1 && kn[1] == -1);
    /* and back */
    float back[4];
    rnnc_series_denorm(&s, tg, back, 4);
    CHECK_NEAR(back[0], 4, 1e-6, 0);
    CHECK_NEAR(back[1], 5, 1e-6, 0);
    CHECK_NEAR(back[2], 6, 1e-6, 0);
    CHECK_NEAR(back[3], 7, 1e-6, 0);
    rnnc_series_denorm(&s, tg, tg, 4); /* in place */
    CHECK(!memcmp(tg, back, sizeof back));
    /* relative: each window's level (the mean of its context's normalised y) comes off the y input
     * and the targets, and denorm_windows puts it back; window 0's level is (1 + 2 + 3)/3 = 2 raw */
    s.relative = true;
    float xr[2 * 3 * 3], tr[2 * 2], br[4];
    CHECK(rnnc_series_fill(&s, &d, starts, 2, N, xr, NULL, tr) == RNNC_OK);
    for (int b = 0; b < 2; b++) {
        double level = ((starts[b] + 2) - 2.5) / sdy, mean = 0;
        for (int t = 0; t < T; t++) {
            mean += xr[((size_t)b * T + (size_t)t) * F];
            CHECK(xr[((size_t)b * T + (size_t)t) * F + 2] == x[((size_t)b * T + (size_t)t) * F + 2]); /* covariates as they were */
        }
        CHECK_NEAR(mean / T, 0, 0, 1e-6);
        for (int h = 0; h < N; h++) CHECK_NEAR(tr[b * N + h], ((starts[b] + T + h + 1) - 2.5) / sdy - level, 1e-6, 1e-6);
    }
    CHECK_NEAR(tr[0], 2 / sdy, 1e-6, 0); /* row 3's y = 4, two above window 0's level */
    CHECK(rnnc_series_denorm_windows(&s, &d, starts, 2, N, tr, br) == RNNC_OK);
    for (int i = 0; i < 4; i++) CHECK_NEAR(br[i], back[i], 1e-6, 1e-6);
    int late = 7;
    CHECK(rnnc_series_denorm_windows(&s, &d, &late, 1, N, tr, br) == RNNC_ERR_RANGE);
    s.relative = false;
    CHECK(rnnc_series_denorm_windows(&s, &d, starts, 2, N, tr, br) == RNNC_OK); /* absolute: no level */
    /* a forecast beyond a float (or NaN) is refused, never written as Inf */
    float big[4] = {1e38f, 2, 3, 4}, nan4[4] = {NAN, 0, 0, 0};
    double std0 = s.std[0];
    s.std[0] = 1e10;
    CHECK(rnnc_series_denorm_windows(&s, &d, starts, 2, N, big, br) == RNNC_ERR_NUMERIC);
    CHECK_MSG(strstr(rnnc_last_error(), "the forecast 1 step after row 3 of t.csv is 1e+48, beyond a float") != NULL, "%s", rnnc_last_error());
    s.std[0] = std0;
    CHECK(rnnc_series_denorm_windows(&s, &d, starts, 2, N, nan4, br) == RNNC_ERR_NUMERIC);

    /* the last window fits, the next one does not */
    int last = 3, past = 4, neg = -1;
    CHECK(rnnc_series_fill(&s, &d, &last, 1, N, x, kn, tg) == RNNC_OK);
    CHECK(rnnc_series_fill(&s, &d, &past, 1, N, x, kn, tg) == RNNC_ERR_RANGE);
    CHECK_STR(rnnc_last_error(), "t.csv: window 0 (rows 5 to 9 of 8, context 3, horizon 2) needs known covariates "
                                 "past the last row");
    CHECK(rnnc_series_fill(&s, &d, &neg, 1, N, x, NULL, NULL) == RNNC_ERR_RANGE);
    /* only x: the horizon may run past the end (nothing reads it) */
    int six = 5;
    CHECK(rnnc_series_fill(&s, &d, &six, 1, N, x, NULL, NULL) == RNNC_OK);
    CHECK(rnnc_series_fill(&s, &d, &six, 1, N, x, NULL, tg) == RNNC_ERR_RANGE);
    CHECK_STR(rnnc_last_error(), "t.csv: window 0 (rows 6 to 10 of 8, context 3, horizon 2) predicts rows past the "
                                 "last one with a target");
    rnnc_seq_series_free(&s);

    /* no known covariate: known is left alone */
    rnnc_series_spec s1 = spec_of("y", cov, NULL, 2);
    CHECK(rnnc_series_make(&s, &s1, &d, 8, 2, 0) == RNNC_OK);
    float sentinel = 123;
    CHECK(rnnc_series_fill(&s, &d, starts, 1, 1, x, &sentinel, tg) == RNNC_OK);
    CHECK(sentinel == 123);
    rnnc_seq_series_free(&s);
    rnnc_series_data_free(&d);

    /* a column constant over the training rows and far off later: beyond a float once normalised */
    const char *far = "y\n-3e38\n-3e38\n3e38\n";
    rnnc_series_spec sy = spec_of("y", NULL, NULL, 0);
    CHECK(rnnc_series_parse(far, strlen(far), "t.csv", &sy, &d) == RNNC_OK);
    CHECK(rnnc_series_make(&s, &sy, &d, 2, 2, 0) == RNNC_OK);
    int zero = 0;
    CHECK(rnnc_series_fill(&s, &d, &zero, 1, 1, x, NULL, tg) == RNNC_ERR_NUMERIC);
    CHECK_STR(rnnc_last_error(), "t.csv: row 3: 3e+38 in column 'y' normalises to beyond a float (mean -3e+38, std 1)");
    rnnc_seq_series_free(&s);
    rnnc_series_data_free(&d);
}

/* Predict mode: the last T observed rows in, the known covariates of the future rows beside them. */
static void test_predict_window(void) {
    const char *cov[] = {"k"};
    const bool known[] = {true};
    rnnc_series_spec sp = spec_of("y", cov, known, 1);
    sp.predict = true;
    const char *text = "y,k\n1,0\n2,1\n3,0\n4,1\n,0\n,1\n";
    rnnc_series_data d;
    CHECK(rnnc_series_parse(text, strlen(text), "t.csv", &sp, &d) == RNNC_OK);
    CHECK(d.rows == 6 && d.future == 2);
    rnnc_seq_series s;
    CHECK(rnnc_series_make(&s, &sp, &d, 5, 2, 0) == RNNC_ERR_ARG); /* a future row is no training row */
    CHECK(rnnc_series_make(&s, &sp, &d, 4, 2, 0) == RNNC_OK);
    int n;
    CHECK(rnnc_series_windows(&d, 0, 4, 2, 2, &n) == RNNC_OK && n == 1);
    CHECK(rnnc_series_windows(&d, 0, 5, 1, 1, &n) == RNNC_ERR_ARG);
    CHECK(rnnc_series_windows(&d, 0, 4, 3, 2, &n) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "t.csv: the series has 4 rows with a target, too few for --context 3 + --horizon 2 "
                                 "(one window needs 5 rows)");
    int start = 2; /* rows 2, 3 in; the future rows 4, 5 forecast */
    float x[2 * 2], kn[2], tg[2];
    CHECK(rnnc_series_fill(&s, &d, &start, 1, 2, x, kn, NULL) == RNNC_OK);
    /* y over 1..4: mean 2.5, std sqrt(1.25); k 0,1,0,1: mean .5, std .5 */
    CHECK_NEAR(x[0], 0.5 / sqrt(1.25), 1e-6, 0);
    CHECK_NEAR(x[1], -1, 0, 1e-7);
    CHECK_NEAR(x[2], 1.5 / sqrt(1.25), 1e-6, 0);
    CHECK_NEAR(x[3], 1, 0, 1e-7);
    CHECK(kn[0] == -1 && kn[1] == 1);
    CHECK(rnnc_series_fill(&s, &d, &start, 1, 2, x, kn, tg) == RNNC_ERR_RANGE);
    start = 3;
    CHECK(rnnc_series_fill(&s, &d, &start, 1, 2, x, kn, NULL) == RNNC_ERR_RANGE);
    CHECK_STR(rnnc_last_error(), "t.csv: window 0 (rows 4 to 7 of 6, context 2, horizon 2) reads rows past the last "
                                 "one with a target as its context");
    rnnc_seq_series_free(&s);
    rnnc_series_data_free(&d);
}

static void test_metrics(void) {
    rnnc_series_spec sp = spec_of("y", NULL, NULL, 0);
    const char *text = "y\n1\n3\n2\n4\n3\n5\n";
    rnnc_series_data d;
    CHECK(rnnc_series_parse(text, strlen(text), "t.csv", &sp, &d) == RNNC_OK);
    /* seasonal naive from row 6 (after y = 1 3 2 4 3 5): t = 5;
     * m = 2: h=1 y[4]=3, h=2 y[5]=5, h=3 y[4]=3;  m = 1 (season 0): y[5] = 5 throughout;
     * m = 3: h=1 y[3]=4, h=2 y[4]=3, h=3 y[5]=5, h=4 y[3]=4 */
    float f[4];
    CHECK(rnnc_series_snaive(&d, 6, 3, 2, f) == RNNC_OK);
    CHECK(f[0] == 3 && f[1] == 5 && f[2] == 3);
    CHECK(rnnc_series_snaive(&d, 6, 3, 0, f) == RNNC_OK);
    CHECK(f[0] == 5 && f[1] == 5 && f[2] == 5);
    CHECK(rnnc_series_snaive(&d, 6, 4, 3, f) == RNNC_OK);
    CHECK(f[0] == 4 && f[1] == 3 && f[2] == 5 && f[3] == 4);
    /* from row 2 (after 1 3), m = 2: 1 3 1 */
    CHECK(rnnc_series_snaive(&d, 2, 3, 2, f) == RNNC_OK);
    CHECK(f[0] == 1 && f[1] == 3 && f[2] == 1);
    CHECK(rnnc_series_snaive(&d, 1, 1, 2, f) == RNNC_ERR_RANGE);
    CHECK_STR(rnnc_last_error(), "t.csv: the seasonal-naive forecast from row 2 needs the 2 rows before it (season 2) "
                                 "with a target; the series has 6");
    CHECK(rnnc_series_snaive(&d, 7, 1, 1, f) == RNNC_ERR_RANGE);

    /* MASE's scale: m = 2 over all 6 rows: |2-1| |4-3| |3-2| |5-4| -> 1; m = 1: 2 1 2 1 2 -> 1.6;
     * m = 1 over the first 3 rows: 2 1 -> 1.5 */
    double scale;
    CHECK(rnnc_series_mase_scale(&d, 6, 2, &scale) == RNNC_OK);
    CHECK_NEAR(scale, 1, 0, 1e-12);
    CHECK(rnnc_series_mase_scale(&d, 6, 0, &scale) == RNNC_OK);
    CHECK_NEAR(scale, 1.6, 0, 1e-12);
    CHECK(rnnc_series_mase_scale(&d, 3, 1, &scale) == RNNC_OK);
    CHECK_NEAR(scale, 1.5, 0, 1e-12);
    CHECK(rnnc_series_mase_scale(&d, 2, 2, &scale) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "t.csv: MASE's scale needs more training rows than the season 2 (2 rows; the series "
                                 "has 6 with a target)");
    CHECK(isnan(scale));

    /* truth 4 6 0 | 10, forecast 3 5 0 | 7: errors 1 1 0 3;
     * MAE 5/4, RMSE sqrt(11/4), sMAPE (200/7 + 200/11 + 0 + 600/17) / 4, MASE MAE / 1.6 */
    rnnc_series_acc a;
    rnnc_series_acc_init(&a, 1.6);
    const float y1[] = {4, 6, 0}, f1[] = {3, 5, 0}, y2[] = {10}, f2[] = {7};
    rnnc_series_acc_add(&a, y1, f1, 3);
    rnnc_series_acc_add(&a, y2, f2, 1);
    rnnc_series_metrics m;
    CHECK(rnnc_series_acc_finish(&a, &m) == RNNC_OK);
    CHECK_EQ_LL(m.n, 4);
    CHECK_NEAR(m.mae, 1.25, 0, 1e-12);
    CHECK_NEAR(m.rmse, sqrt(2.75), 1e-12, 0);
    CHECK_NEAR(m.smape, (200.0 / 7 + 200.0 / 11 + 600.0 / 17) / 4, 1e-12, 0);
    CHECK_NEAR(m.mase, 1.25 / 1.6, 1e-12, 0);

    /* the seasonal naive forecast of the same rows, through the same accumulator: m = 2 from row 6
     * gives 3 5 3 for truth 4 6 0 (say): errors 1 1 3, sMAPE terms 200/7 200/11 200 */
    CHECK(rnnc_series_snaive(&d, 6, 3, 2, f) == RNNC_OK);
    rnnc_series_acc_init(&a, 1);
    rnnc_series_acc_add(&a, y1, f, 3);
    CHECK(rnnc_series_acc_finish(&a, &m) == RNNC_OK);
    CHECK_NEAR(m.mae, 5.0 / 3, 1e-12, 0);
    CHECK_NEAR(m.rmse, sqrt(11.0 / 3), 1e-12, 0);
    CHECK_NEAR(m.smape, (200.0 / 7 + 200.0 / 11 + 200) / 3, 1e-12, 0);
    CHECK_NEAR(m.mase, 5.0 / 3, 1e-12, 0);

    /* a perfect forecast of a series with a zero scale: MASE is no number, the others 0 */
    rnnc_series_acc_init(&a, 0);
    rnnc_series_acc_add(&a, y1, y1, 3);
    CHECK(rnnc_series_acc_finish(&a, &m) == RNNC_OK);
    CHECK(m.mae == 0 && m.rmse == 0 && m.smape == 0 && isnan(m.mase));
    /* nothing to score, or a NaN among the forecasts */
    rnnc_series_acc_init(&a, 1);
    CHECK(rnnc_series_acc_finish(&a, &m) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "no forecasts to score (zero windows)");
    const float fn[] = {NAN};
    rnnc_series_acc_add(&a, y1, fn, 1);
    CHECK(rnnc_series_acc_finish(&a, &m) == RNNC_ERR_NUMERIC);
    rnnc_series_data_free(&d);
}

int main(void) {
    RUN(test_parse);
    RUN(test_locale);
    RUN(test_bad_input);
    RUN(test_read_file);
    RUN(test_predict_mode);
    RUN(test_normalise);
    RUN(test_windows);
    RUN(test_predict_window);
    RUN(test_metrics);
    return test_report();
}
