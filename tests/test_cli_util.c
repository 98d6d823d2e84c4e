/* CLI helpers (compiled in from src/cli/util.c, which is not part of the library): training
 * progress text, SI numbers, durations, the progress log line, progress lines that fit the
 * terminal by dropping their least important fields, and flag values that are flags. */
#include <fcntl.h>

#include "cli/util.c"
#include "test.h"

static void test_format_si(void) {
    char b[32];
    cli_format_si(b, sizeof b, 950); CHECK_STR(b, "950");
    cli_format_si(b, sizeof b, 12345); CHECK_STR(b, "12.3k");
    cli_format_si(b, sizeof b, 999.6); CHECK_STR(b, "1.00k");
    cli_format_si(b, sizeof b, 1.2e6); CHECK_STR(b, "1.20M");
    cli_format_si(b, sizeof b, 523456789); CHECK_STR(b, "523M");
    cli_format_si(b, sizeof b, 0); CHECK_STR(b, "0");
    cli_format_si(b, sizeof b, NAN); CHECK_STR(b, "--");
}

static void test_format_duration(void) {
    char b[32];
    cli_format_duration(b, sizeof b, 0); CHECK_STR(b, "00:00");
    cli_format_duration(b, sizeof b, 65.4); CHECK_STR(b, "01:05");
    cli_format_duration(b, sizeof b, 3723); CHECK_STR(b, "1:02:03");
    cli_format_duration(b, sizeof b, -1); CHECK_STR(b, "--:--");
    cli_format_duration(b, sizeof b, INFINITY); CHECK_STR(b, "--:--");
}

static void test_format_train(void) {
    char b[128];
    cli_train_status s = {1200, 5000, 0.354, 1.23456, 52100, NULL};
    cli_format_train(b, sizeof b, &s);
    CHECK_STR(b, "step 1200/5000  epoch 0.35  loss 1.2346  52.1k tok/s");
    /* a forecaster counts the rows its windows read, and says so */
    cli_train_status fc = {10, 50, 0.5, 0.25, 4100, cli_task_rate_unit("forecast")};
    cli_format_train(b, sizeof b, &fc);
    CHECK_STR(b, "step 10/50  epoch 0.50  loss 0.2500  4.10k rows/s");
    CHECK_STR(cli_task_count_unit("forecast"), "rows read");
    CHECK_STR(cli_task_count_unit("classify"), "tokens");
    CHECK_STR(cli_task_rate_unit("lm"), "tok/s");
    CHECK_STR(cli_task_count_unit(NULL), "tokens");
    cli_train_status t = {7, 0, -1, NAN, 0, NULL}; /* time budget, nothing measured yet */
    cli_format_train(b, sizeof b, &t);
    CHECK_STR(b, "step 7");
    char small[12];
    cli_format_train(small, sizeof small, &s); /* truncated, still terminated */
    CHECK_STR(small, "step 1200/5");
}

static void test_progress_without_terminal(void) {
    /* stderr to a file: the bar stays silent, logged lines still appear */
    char path[] = "/tmp/rnnc_test_progressXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    cli_progress p;
    cli_progress_start(&p, "train", 100);
    CHECK(!p.tty);
    cli_progress_update(&p, 50, "loss 1.0");
    cli_progress_log(&p, "step %d  val_loss %.3f", 100, 1.5);
    cli_progress_finish(&p);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    FILE *fp = fopen(path, "r");
    char buf[256] = {0};
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp) fclose(fp);
    unlink(path);
    buf[n] = 0;
    CHECK_STR(buf, "step 100  val_loss 1.500\n");
}


static void test_fields_fit(void) {
    const cli_field f[] = {{"label", 0}, {"aaaa", 30}, {"bb", 10}, {NULL, 5}, {"", 5}, {"cccccc", 30}, {"d", 20}};
    size_t n = sizeof f / sizeof f[0];
    bool keep[8];
    char buf[64];
    /* everything fits: "label  aaaa  bb  cccccc  d" is 26 columns (absent fields take none) */
    CHECK_EQ_LL(cli_fields_fit(f, n, 26, keep), 26);
    CHECK(keep[0] && keep[1] && keep[2] && !keep[3] && !keep[4] && keep[5] && keep[6]);
    cli_fields_join(buf, sizeof buf, 80, f, n);
    CHECK_STR(buf, "label  aaaa  bb  cccccc  d");
    /* one column short: the later of the two prio-30 fields goes first */
    cli_fields_join(buf, sizeof buf, 25, f, n);
    CHECK_STR(buf, "label  aaaa  bb  d");
    cli_fields_join(buf, sizeof buf, 17, f, n);
    CHECK_STR(buf, "label  bb  d");
    cli_fields_join(buf, sizeof buf, 11, f, n);
    CHECK_STR(buf, "label  bb");
    cli_fields_join(buf, sizeof buf, 8, f, n);
    CHECK_STR(buf, "label");
    /* the most important field alone and too wide: cut, never longer than the width */
    CHECK_EQ_LL(cli_fields_join(buf, sizeof buf, 3, f, n), 3);
    CHECK_STR(buf, "lab");
    /* columns are characters, not bytes: a cut never splits one */
    const cli_field u[] = {{"d\xc3\xa9j\xc3\xa0 vu", 0}, {"x", 1}};
    CHECK_EQ_LL(cli_text_cols(u[0].text), 7);
    CHECK_EQ_LL(cli_fields_join(buf, sizeof buf, 10, u, 2), 10);
    CHECK_STR(buf, "d\xc3\xa9j\xc3\xa0 vu  x");
    CHECK_EQ_LL(cli_fields_join(buf, sizeof buf, 4, u, 2), 4);
    CHECK_STR(buf, "d\xc3\xa9j\xc3\xa0");
    /* a small buffer: cut at cap - 1 bytes, terminated */
    char small[6];
    cli_fields_join(small, sizeof small, 80, f, n);
    CHECK_STR(small, "label");
}

/* The training bar at several terminal widths: every line fits in width - 1 columns and the
 * fields go in the order of their priorities. */
static void test_progress_widths(void) {
    cli_progress p = {.label = "train", .total = 5000, .start = 100, .last_draw = 0, .tty = true};
    cli_train_status st = {1200, 5000, 0.354, 1.23456, 52100, NULL};
    cli_train_fields tf;
    cli_train_fields_make(&tf, &st);
    CHECK_EQ_LL(tf.n, 4);
    char line[512];
    int w = cli_progress_format(&p, line, sizeof line, 200, 1200, 160, tf.field, tf.n);
    CHECK_STR(line, "train  [#######.......................]  24.0%  01:00  eta 03:10  step 1200/5000  epoch 0.35  "
                    "loss 1.2346  52.1k tok/s");
    CHECK_EQ_LL(w, cli_text_cols(line));
    const int widths[] = {120, 100, 80, 72, 60, 50, 40, 30, 20, 10, 6, 2, 1};
    int last = 1 << 30;
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        w = cli_progress_format(&p, line, sizeof line, widths[k], 1200, 160, tf.field, tf.n);
        int max = widths[k] > 1 ? widths[k] - 1 : 1;
        CHECK_MSG(w == cli_text_cols(line) && w <= max, "width %d: %d columns: '%s'", widths[k], w, line);
        CHECK_MSG(w <= last, "width %d: wider than at a larger width", widths[k]);
        CHECK_MSG(!strchr(line, '\r') && !strchr(line, '\033'), "width %d: control characters", widths[k]);
        last = w;
        if (widths[k] >= 20) CHECK_MSG(strncmp(line, "train  ", 7) == 0 && strstr(line, "24.0%"), "width %d: '%s'", widths[k], line);
    }
    /* 80 columns: the graphic shrinks, the epoch (extra) goes first */
    cli_progress_format(&p, line, sizeof line, 80, 1200, 160, tf.field, tf.n);
    CHECK_STR(line, "train  24.0%  01:00  eta 03:10  step 1200/5000  loss 1.2346  52.1k tok/s");
    cli_progress_format(&p, line, sizeof line, 60, 1200, 160, tf.field, tf.n);
    CHECK_STR(line, "train  24.0%  eta 03:10  step 1200/5000  loss 1.2346");
    cli_progress_format(&p, line, sizeof line, 40, 1200, 160, tf.field, tf.n);
    CHECK_STR(line, "train  24.0%  step 1200/5000");
    cli_progress_format(&p, line, sizeof line, 6, 1200, 160, tf.field, tf.n);
    CHECK_STR(line, "train");
    /* room to spare: the graphic grows into it, to 30 cells at most */
    const cli_field one = {"loss 2.0", CLI_PRIO_MAIN};
    cli_progress_format(&p, line, sizeof line, 60, 2500, 160, &one, 1);
    CHECK_STR(line, "train  [#######........]  50.0%  01:00  eta 01:00  loss 2.0");
    cli_progress_format(&p, line, sizeof line, 100, 2500, 160, &one, 1);
    CHECK_STR(line, "train  [###############...............]  50.0%  01:00  eta 01:00  loss 2.0");
    /* an unknown total: the count done, no graphic and no ETA */
    cli_progress q = {.label = "read", .total = 0, .start = 0, .tty = true};
    cli_progress_format(&q, line, sizeof line, 80, 12345, 5, NULL, 0);
    CHECK_STR(line, "read  12.3k  00:05");
}

/* The old one-string form: split at double spaces, the first piece kept longest. */
static void test_progress_update_string(void) {
    char path[] = "/tmp/rnnc_test_progress_ttyXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    setenv("COLUMNS", "41", 1); /* not a terminal: the width comes from $COLUMNS */
    cli_progress p = {.label = "merging", .total = 100, .start = cli_now(), .last_draw = 0, .tty = true};
    cli_progress_update(&p, 100, "1200/5000 merges  extra one  extra two");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    unsetenv("COLUMNS");
    FILE *fp = fopen(path, "r");
    char buf[256] = {0};
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp) fclose(fp);
    unlink(path);
    buf[n] = 0;
    /* 40 columns: the graphic, the elapsed time, the later pieces and the ETA dropped */
    CHECK_STR(buf, "\r\033[Kmerging  100.0%  1200/5000 merges");
}

static void test_term_width(void) {
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    setenv("COLUMNS", "57", 1);
    CHECK_EQ_LL(cli_term_width(fd), 57);
    setenv("COLUMNS", "wide", 1);
    CHECK_EQ_LL(cli_term_width(fd), 80);
    setenv("COLUMNS", "0", 1);
    CHECK_EQ_LL(cli_term_width(fd), 80);
    unsetenv("COLUMNS");
    CHECK_EQ_LL(cli_term_width(fd), 80);
    close(fd);
}

static void test_flag_values(void) {
    CHECK(cli_looks_like_flag("--steps"));
    CHECK(cli_looks_like_flag("--"));
    CHECK(cli_looks_like_flag("-o"));
    CHECK(!cli_looks_like_flag("-"));
    CHECK(!cli_looks_like_flag("-1"));
    CHECK(!cli_looks_like_flag("-0.5"));
    CHECK(!cli_looks_like_flag("-.5"));
    CHECK(!cli_looks_like_flag("-1e3"));
    CHECK(!cli_looks_like_flag("data.txt"));
    CHECK(!cli_looks_like_flag("-weird-name.txt"));
    char *argv[] = {"rnnc", "--data", "--steps", "3", "--lr", "-0.5", "--in", "-", "--x=--y", "--data"};
    int argc = 10, i = 1, err = 0;
    const char *v = NULL;
    fflush(stderr);
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO); /* the usage errors' text is not checked here */
    CHECK(cli_opt("t", argc, argv, &i, "--data", &v, &err));
    CHECK_EQ_LL(err, 2);
    CHECK_EQ_LL(i, 1); /* the flag is not taken as the value */
    i = 4; err = 0;
    CHECK(cli_opt("t", argc, argv, &i, "--lr", &v, &err) && !err && i == 5 && strcmp(v, "-0.5") == 0);
    i = 6; err = 0;
    CHECK(cli_opt("t", argc, argv, &i, "--in", &v, &err) && !err && i == 7 && strcmp(v, "-") == 0);
    i = 8; err = 0;
    CHECK(cli_opt("t", argc, argv, &i, "--x", &v, &err) && !err && i == 8 && strcmp(v, "--y") == 0);
    i = 9; err = 0;
    CHECK(cli_opt("t", argc, argv, &i, "--data", &v, &err) && err == 2); /* nothing after it */
    i = 2; err = 0;
    CHECK(!cli_opt("t", argc, argv, &i, "--data", &v, &err) && !err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(null);
}

/* rnnc similar's library side: the "rnnc.unseen_ids" value, read strictly and written back, and
 * the neighbours that leave those ids out (as answers and as queries). */
static void test_unseen_ids(void) {
    unsigned char skip[20];
    memset(skip, 0, sizeof skip);
    CHECK_EQ_LL(rnnc_unseen_ids_parse(" [ [0, 3] ,[17,17]] ", 20, skip), RNNC_OK);
    for (int i = 0; i < 20; i++) CHECK_MSG(skip[i] == (i <= 3 || i == 17), "id %d", i);
    memset(skip, 0, sizeof skip);
    CHECK_EQ_LL(rnnc_unseen_ids_parse("[]", 20, skip), RNNC_OK);
    for (int i = 0; i < 20; i++) CHECK(!skip[i]);
    const char *bad[] = {"", "[", "[[0,3]", "[[3,0]]", "[[0,20]]", "[[5,6],[1,2]]", "[[0,3],[3,4]]", "[[-1,2]]",
                         "[[01,2]]", "[[1.0,2]]", "[[1e1,12]]", "[[0,1,2]]", "[[0,1],]", "[0,1]", "{\"a\":1}",
                         "[[0,1]] x", "[[0,99999999999999999999]]", "[[\"0\",1]]", "null"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(skip, 0, sizeof skip);
        CHECK_MSG(rnnc_unseen_ids_parse(bad[k], 20, skip) == RNNC_ERR_FORMAT, "'%s' accepted", bad[k]);
        CHECK_MSG(strstr(rnnc_last_error(), "rnnc.unseen_ids") != NULL, "'%s': %s", bad[k], rnnc_last_error());
        int marked = 0;
        for (int i = 0; i < 20; i++) marked += skip[i];
        CHECK_MSG(marked == 0, "'%s' marked ids although refused", bad[k]);
    }
    /* the writer gives what the reader takes */
    const unsigned char seen[10] = {0, 0, 1, 1, 0, 1, 0, 0, 0, 1};
    char *js;
    CHECK_EQ_LL(rnnc_unseen_ids_format(seen, 10, &js), RNNC_OK);
    CHECK_STR(js, "[[0,1],[4,4],[6,8]]");
    memset(skip, 0, sizeof skip);
    CHECK_EQ_LL(rnnc_unseen_ids_parse(js, 10, skip), RNNC_OK);
    for (int i = 0; i < 10; i++) CHECK(skip[i] == !seen[i]);
    free(js);
    const unsigned char all[3] = {1, 1, 1};
    CHECK_EQ_LL(rnnc_unseen_ids_format(all, 3, &js), RNNC_OK);
    CHECK_STR(js, "[]");
    free(js);
    /* neighbours: row 1 is nearest to row 0 but unseen, so row 2 comes first */
    const float E[4 * 2] = {1, 0, 0.99f, 0.1f, 0.9f, 0.4f, -1, 0};
    const unsigned char sk[4] = {0, 1, 0, 0};
    rnnc_neighbor nb[4];
    size_t n;
    uint32_t q = 0;
    int sign = 1;
    CHECK_EQ_LL(rnnc_similar_terms_skip(E, 4, 2, &q, &sign, 1, sk, 4, nb, &n), RNNC_OK);
    CHECK_EQ_LL(n, 2);
    CHECK_EQ_LL(nb[0].id, 2);
    CHECK_EQ_LL(nb[1].id, 3);
    q = 1; /* an unseen query */
    CHECK_EQ_LL(rnnc_similar_terms_skip(E, 4, 2, &q, &sign, 1, sk, 4, nb, &n), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "never occurred") != NULL);
    q = 0;
    CHECK_EQ_LL(rnnc_similar_terms_skip(E, 4, 2, &q, &sign, 1, NULL, 4, nb, &n), RNNC_OK);
    CHECK(n == 3 && nb[0].id == 1);
}

/* cli_print_wrapped: lines within 80 columns, the first counting what came before it, the
 * others indented; the words and their order unchanged; an over-long word kept whole. */
static void test_print_wrapped(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f) return;
    const char *text = "the gradient norm |dloss/dh| k steps before the loss, per cell, at initialisation "
                       "and trained, then some more words so that the text runs to three lines at least";
    int col = fprintf(f, "  %-16s ", "vanishing");
    cli_print_wrapped(f, col, 19, text);
    cli_print_wrapped(f, 0, 0, "short");
    cli_print_wrapped(f, 70, 4, "a-word-of-more-than-eighty-columns-a-word-of-more-than-eighty-columns-stays-whole x");
    fclose(f);
    CHECK_STR(buf, "  vanishing        the gradient norm |dloss/dh| k steps before the loss, per\n"
                   "                   cell, at initialisation and trained, then some more words so\n"
                   "                   that the text runs to three lines at least\n"
                   "short\n"
                   "\n    a-word-of-more-than-eighty-columns-a-word-of-more-than-eighty-columns-stays-whole\n"
                   "    x\n");
    /* every line within 80 columns but the one holding the over-long word */
    int line_cols = 0, over = 0;
    for (const char *s = buf; *s; s++) {
        if (*s == '\n') { over += line_cols > 80; line_cols = 0; } else line_cols++;
    }
    CHECK_EQ_LL(over, 1);
    free(buf);
}

/* rnnc sample's default thread count: idle cores up to 4 and OpenMP's limit; 1 for small H; 1
 * under a passive wait unless a token reads 24 MiB of weights (the LSTM 512x2 of the benchmarks
 * reads 13 MB at V 96, 17 at V 2000 and 34 at V 10000). */
static void test_token_threads(void) {
    const double MB = 1024.0 * 1024;
    CHECK_EQ_LL(cli_token_threads(2, 2, 512, 13 * MB, false), 2);
    CHECK_EQ_LL(cli_token_threads(8, 16, 512, 13 * MB, false), 4);
    CHECK_EQ_LL(cli_token_threads(8, 3, 512, 13 * MB, false), 3);
    CHECK_EQ_LL(cli_token_threads(0, 2, 512, 13 * MB, false), 1);  /* a busy machine */
    CHECK_EQ_LL(cli_token_threads(-3, 2, 512, 13 * MB, false), 1);
    CHECK_EQ_LL(cli_token_threads(2, 2, 128, 400 * MB, false), 1); /* small H */
    CHECK_EQ_LL(cli_token_threads(2, 2, 512, 13 * MB, true), 1);   /* passive */
    CHECK_EQ_LL(cli_token_threads(2, 2, 512, 17 * MB, true), 1);
    CHECK_EQ_LL(cli_token_threads(2, 2, 512, 34 * MB, true), 2);
    CHECK_EQ_LL(cli_token_threads(2, 2, 512, CLI_PASSIVE_BYTES, true), 2);
    CHECK_EQ_LL(cli_token_threads(2, 2, 512, NAN, true), 1);
    CHECK_EQ_LL(cli_token_threads(0, 2, 512, 400 * MB, true), 1);
    /* the split rule alone, as the sampler asks it before measuring the idle cores */
    CHECK(cli_token_threads_split(512, 13 * MB, false));
    CHECK(!cli_token_threads_split(128, 400 * MB, false));
    CHECK(!cli_token_threads_split(512, 17 * MB, true));
    CHECK(cli_token_threads_split(512, 34 * MB, true));
    CHECK(!cli_token_threads_split(512, NAN, true));
    const char *pass[] = {"passive", "PASSIVE", "Passive", " passive", "passive "};
    const char *not_pass[] = {"active", "", "passives", "pas", "passive-ish"};
    for (size_t i = 0; i < sizeof pass / sizeof *pass; i++) {
        setenv("OMP_WAIT_POLICY", pass[i], 1);
        CHECK(cli_omp_passive());
    }
    for (size_t i = 0; i < sizeof not_pass / sizeof *not_pass; i++) {
        setenv("OMP_WAIT_POLICY", not_pass[i], 1);
        CHECK(!cli_omp_passive());
    }
    unsetenv("OMP_WAIT_POLICY");
    CHECK(!cli_omp_passive());
}

int main(void) {
    RUN(test_format_si);
    RUN(test_format_duration);
    RUN(test_format_train);
    RUN(test_progress_without_terminal);
    RUN(test_fields_fit);
    RUN(test_progress_widths);
    RUN(test_progress_update_string);
    RUN(test_term_width);
    RUN(test_flag_values);
    RUN(test_unseen_ids);
    RUN(test_print_wrapped);
    RUN(test_token_threads);
    return test_report();
}
