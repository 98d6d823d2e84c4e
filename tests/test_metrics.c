/* Metrics log: round trip, missing fields, torn last line, resume rewinds, errors; bpb and ppl. */
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/metrics.h"
#include "test.h"

static char tmpdir[64];

static void make_tmp(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rnnc_test_metricsXXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(1); }
}

static void rm_tmp(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void append_raw(const char *text) {
    char path[128];
    snprintf(path, sizeof path, "%s/metrics.jsonl", tmpdir);
    FILE *fp = fopen(path, "ab");
    fputs(text, fp);
    fclose(fp);
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void test_round_trip(void) {
    make_tmp();
    rnnc_metrics_log log;
    CHECK(rnnc_metrics_open(&log, tmpdir) == RNNC_OK);
    rnnc_metrics_row rows[3];
    for (int i = 0; i < 3; i++) {
        rows[i] = rnnc_metrics_row_empty();
        rows[i].step = 100 * (i + 1);
        rows[i].tokens = 4096.0 * 100 * (i + 1) + 3e9; /* beyond 32 bits */
        rows[i].epoch = 0.1 * (i + 1);
        rows[i].train_loss = 3.0 / (i + 1) + 1e-12;
        rows[i].lr = 2e-3 * (1 - 0.1 * i);
        rows[i].tokens_per_s = 12345.678;
        rows[i].elapsed = 1.5 * (i + 1);
    }
    rows[1].val_loss = 1.4142135623730951;
    rows[1].val_ppl = rnnc_perplexity(rows[1].val_loss);
    rows[1].val_bpb = 2.0 / 3.0;
    for (int i = 0; i < 3; i++) CHECK(rnnc_metrics_append(&log, &rows[i]) == RNNC_OK);
    rnnc_metrics_close(&log);

    rnnc_metrics_series s;
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_OK); /* the run directory */
    CHECK_EQ_LL(s.n, 3);
    CHECK_EQ_LL(s.skipped, 0);
    int bad = 0;
    for (size_t i = 0; i < s.n && i < 3; i++)
        for (size_t f = 0; f < RNNC_METRICS_NFIELDS; f++)
            bad += !same(*rnnc_metrics_field(&s.rows[i], f), *rnnc_metrics_field(&rows[i], f));
    CHECK_EQ_LL(bad, 0); /* exact, NaN fields stay NaN */
    rnnc_metrics_series_free(&s);

    /* the line format: only reported fields, fixed order */
    char path[128];
    snprintf(path, sizeof path, "%s/metrics.jsonl", tmpdir);
    unsigned char *data;
    size_t len;
    CHECK(rnnc_read_file(path, &data, &len) == RNNC_OK);
    CHECK(strncmp((char *)data, "{\"step\":100,\"tokens\":3000409600,\"epoch\":0.1,\"train_loss\":", 57) == 0);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    CHECK_EQ_LL(lines, 3);
    CHECK(data[len - 1] == '\n');
    free(data);
    /* the file path works too */
    CHECK(rnnc_metrics_read(path, &s) == RNNC_OK);
    CHECK_EQ_LL(s.n, 3);
    rnnc_metrics_series_free(&s);
    rm_tmp();
}

static void test_missing_fields_and_torn_line(void) {
    make_tmp();
    append_raw("{\"step\":1,\"train_loss\":4.5}\n"
               "\n"
               "{\"step\":2,\"tokens\":\"many\",\"val_loss\":null,\"extra\":[1,2],\"val_bpb\":1.25}\n"
               "{\"step\":3,\"train_lo");
    rnnc_metrics_series s;
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_OK);
    CHECK_EQ_LL(s.n, 2);
    CHECK_EQ_LL(s.skipped, 1);
    CHECK_EQ_LL(s.first_skipped, 4); /* the blank line counts as a line */
    CHECK(s.last_skipped);
    if (s.n == 2) {
        CHECK(s.rows[0].step == 1 && s.rows[0].train_loss == 4.5 && isnan(s.rows[0].tokens));
        CHECK(isnan(s.rows[1].tokens) && isnan(s.rows[1].val_loss) && s.rows[1].val_bpb == 1.25);
    }
    rnnc_metrics_series_free(&s);
    /* a run that continues after the crash starts a fresh line */
    rnnc_metrics_log log;
    CHECK(rnnc_metrics_open(&log, tmpdir) == RNNC_OK);
    rnnc_metrics_row r = rnnc_metrics_row_empty();
    r.step = 3;
    r.train_loss = 4.0;
    CHECK(rnnc_metrics_append(&log, &r) == RNNC_OK);
    rnnc_metrics_close(&log);
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_OK);
    CHECK_EQ_LL(s.n, 3);
    CHECK_EQ_LL(s.skipped, 1);
    CHECK_EQ_LL(s.first_skipped, 4); /* now before the last line: what rnnc plot warns about */
    CHECK(!s.last_skipped);
    if (s.n == 3) CHECK(s.rows[2].step == 3 && s.rows[2].train_loss == 4.0);
    rnnc_metrics_series_free(&s);
    rm_tmp();
}

static void test_resume_replaces_rows(void) {
    make_tmp();
    append_raw("{\"step\":10,\"train_loss\":5}\n{\"step\":20,\"train_loss\":4}\n{\"step\":30,\"train_loss\":3}\n"
               "{\"step\":40,\"train_loss\":2.9}\n"
               /* resumed from the checkpoint at step 20 */
               "{\"step\":30,\"train_loss\":3.1}\n{\"step\":40,\"train_loss\":2.8}\n{\"step\":50,\"train_loss\":2.5}\n");
    rnnc_metrics_series s;
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_OK);
    CHECK_EQ_LL(s.n, 5);
    const double want_step[5] = {10, 20, 30, 40, 50}, want_loss[5] = {5, 4, 3.1, 2.8, 2.5};
    for (size_t i = 0; i < 5 && i < s.n; i++) {
        CHECK(s.rows[i].step == want_step[i]);
        CHECK(s.rows[i].train_loss == want_loss[i]);
    }
    rnnc_metrics_series_free(&s);
    rm_tmp();
    /* a validation row at the training row's step is a companion and joins it; a repeated
     * training row at the last step (crash after logging it, resume from the checkpoint before) is
     * a replay */
    make_tmp();
    append_raw("{\"step\":10,\"train_loss\":5}\n{\"step\":10,\"val_loss\":5.5,\"tokens\":40}\n"
               "{\"step\":20,\"train_loss\":4}\n{\"step\":20,\"train_loss\":4.1}\n{\"step\":20,\"val_loss\":4.4}\n");
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_OK);
    CHECK_EQ_LL(s.n, 2);
    if (s.n == 2) {
        CHECK(s.rows[0].train_loss == 5 && s.rows[0].val_loss == 5.5 && s.rows[0].tokens == 40);
        CHECK(s.rows[1].train_loss == 4.1 && s.rows[1].val_loss == 4.4);
    }
    rnnc_metrics_series_free(&s);
    rm_tmp();
}

static void test_errors_and_empty(void) {
    rnnc_metrics_series s;
    CHECK(rnnc_metrics_read("/nonexistent/run", &s) == RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/run") != NULL);
    make_tmp();
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_ERR_IO); /* a directory without a log */
    CHECK(strstr(rnnc_last_error(), "no metrics.jsonl") != NULL);
    append_raw("");
    CHECK(rnnc_metrics_read(tmpdir, &s) == RNNC_OK);
    CHECK_EQ_LL(s.n, 0);
    rnnc_metrics_series_free(&s);
    rnnc_metrics_log log;
    char bad[128];
    snprintf(bad, sizeof bad, "%s/missing/dir", tmpdir);
    CHECK(rnnc_metrics_open(&log, bad) == RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "missing/dir/metrics.jsonl") != NULL);
    rm_tmp();
}

static void test_bpb_and_perplexity(void) {
    /* 100 tokens at 1 nat each over 400 bytes: 100 / (400 ln 2) bits per byte */
    CHECK_NEAR(rnnc_bits_per_byte(1.0, 100, 400), 0.36067376022224085, 1e-15, 0);
    /* one byte per token: bits per byte is just nats converted to bits */
    CHECK_NEAR(rnnc_bits_per_byte(1.3862943611198906, 1000, 1000), 2.0, 1e-15, 0);
    CHECK(isnan(rnnc_bits_per_byte(1.0, 10, 0)));
    CHECK_NEAR(rnnc_perplexity(log(50.0)), 50.0, 1e-14, 0);
    CHECK_NEAR(rnnc_perplexity(0), 1.0, 0, 0);
}

int main(void) {
    RUN(test_round_trip);
    RUN(test_missing_fields_and_torn_line);
    RUN(test_resume_replaces_rows);
    RUN(test_errors_and_empty);
    RUN(test_bpb_and_perplexity);
    return test_report();
}
