/* Training a tiny sequence-to-sequence model from C: make the task, start the run, stop it half
 * way (as Ctrl-C does), resume it, and check that it ends with the same weights as a run that was
 * never stopped. Build: cc seq2seq_resume.c $(pkg-config --cflags --libs rnnc) (or as the tests do).
 *
 * The task here reverses short sequences of letters ("a b c" -> "c b a"). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, also under -std=c11 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnnc/rnnc.h"

/* Asks the run to stop once it has taken `at` steps (a signal handler would set the flag). */
typedef struct {
    long at;
    volatile sig_atomic_t *stop;
} stopper;

static void on_event(const rnnc_run_event *e, void *ctx) {
    stopper *s = ctx;
    if (e->kind == RNNC_RUN_PROGRESS && s->stop && e->step == s->at) *s->stop = 1;
    if (e->kind == RNNC_RUN_VALID) printf("  step %3ld  %s\n", e->step, e->valid->line);
}

static int fail(const char *what) {
    fprintf(stderr, "seq2seq_resume: %s: %s\n", what, rnnc_last_error());
    return 1;
}

static unsigned char *read_all(const char *path, size_t *n) {
    unsigned char *d = NULL;
    return rnnc_read_file(path, &d, n) == RNNC_OK ? d : NULL;
}

int main(void) {
    char dir[] = "/tmp/rnnc_example_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char train[64], dev[64], a[64], b[64];
    snprintf(train, sizeof train, "%s/train.tsv", dir);
    snprintf(dev, sizeof dev, "%s/dev.tsv", dir);
    snprintf(a, sizeof a, "%s/straight", dir);
    snprintf(b, sizeof b, "%s/stopped", dir);
    FILE *ft = fopen(train, "w"), *fd = fopen(dev, "w");
    if (!ft || !fd) return 1;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    for (int i = 0; i < 240; i++) { /* "a b c\tc b a" */
        char sym[5];
        int n = 2 + (int)rnnc_rng_below(&rng, 3);
        for (int k = 0; k < n; k++) sym[k] = (char)('a' + rnnc_rng_below(&rng, 5));
        FILE *f = i < 40 ? fd : ft;
        for (int k = 0; k < n; k++) fprintf(f, "%s%c", k ? " " : "", sym[k]);
        fputc('\t', f);
        for (int k = 0; k < n; k++) fprintf(f, "%s%c", k ? " " : "", sym[n - 1 - k]);
        fputc('\n', f);
    }
    fclose(ft);
    fclose(fd);

    /* The task: data and model. */
    rnnc_s2s_task_opts task = rnnc_s2s_task_defaults();
    task.data = train;
    task.valid = dev;
    task.model.hidden = 32;
    task.model.embed = 16;
    task.batch = 16;
    /* The run: budget, optimizer, cadence, where. */
    rnnc_run_opts run = rnnc_run_defaults();
    run.steps = 80;
    run.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    run.warmup = 10;
    run.eval_every = 40;

    printf("a run of %ld steps:\n", run.steps);
    rnnc_task *t;
    run.run_dir = a;
    if (rnnc_s2s_task_new(&t, &task, run.seed, NULL, 0)) return fail("task");
    if (rnnc_run_start(&run, t, on_event, &(stopper){0, NULL}, NULL)) return fail("run");

    printf("the same run, stopped at step 30 and resumed:\n");
    volatile sig_atomic_t stop = 0;
    stopper s = {30, &stop};
    run.run_dir = b;
    if (rnnc_s2s_task_new(&t, &task, run.seed, NULL, 0)) return fail("task");
    if (rnnc_run_start(&run, t, on_event, &s, &stop) != RNNC_ERR_INTERRUPTED) return fail("the stop");
    printf("  %s\n", rnnc_last_error());
    stop = 0;
    if (rnnc_run_resume(b, NULL, on_event, &s, &stop)) return fail("resume");

    char pa[96], pb[96];
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    size_t na = 0, nb = 0;
    unsigned char *da = read_all(pa, &na), *db = read_all(pb, &nb);
    int same = da && db && na == nb && memcmp(da, db, na) == 0;
    printf("final weights %s\n", same ? "identical" : "DIFFER");
    free(da);
    free(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return same ? 0 : 1;
}
