/* CLI helpers (compiled in from src/cli/util.c, which is not part of the library): training
 * progress text, SI numbers, durations, and the progress log line. */
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
    cli_train_status s = {1200, 5000, 0.354, 1.23456, 52100};
    cli_format_train(b, sizeof b, &s);
    CHECK_STR(b, "step 1200/5000  epoch 0.35  loss 1.2346  52.1k tok/s");
    cli_train_status t = {7, 0, -1, NAN, 0}; /* time budget, nothing measured yet */
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

int main(void) {
    RUN(test_format_si);
    RUN(test_format_duration);
    RUN(test_format_train);
    RUN(test_progress_without_terminal);
    return test_report();
}
