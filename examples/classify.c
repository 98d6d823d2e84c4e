/* Training a tiny text classifier from C, then using it: make the task, run it, load the best
 * model and classify two new texts. Build: cc classify.c $(pkg-config --cflags --libs rnnc) -lm
 * (it calls exp itself), or as the tests do.
 *
 * The data: made-up film reviews, "pos" when they hold a word of praise, "neg" when they hold a
 * word of blame, among filler words that say nothing. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, also under -std=c11 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnnc/rnnc.h"

static const char *const filler[] = {"the", "film", "was", "plot", "and", "a", "music", "actors", "very", "its", "story", "ending"};
static const char *const praise[] = {"great", "lovely", "moving", "fun", "superb"};
static const char *const blame[] = {"dull", "awful", "boring", "weak", "clumsy"};

/* n lines "label TAB text" of 4 to 9 words, one or two of them praise (pos) or blame (neg). */
static void write_reviews(const char *path, int n, rnnc_rng *rng) {
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < n; i++) {
        bool pos = rnnc_rng_below(rng, 2);
        int len = 4 + (int)rnnc_rng_below(rng, 6), a = (int)rnnc_rng_below(rng, len), b = (int)rnnc_rng_below(rng, len);
        fputs(pos ? "pos\t" : "neg\t", f);
        for (int k = 0; k < len; k++) {
            const char *w = k == a || k == b ? (pos ? praise : blame)[rnnc_rng_below(rng, 5)] : filler[rnnc_rng_below(rng, 12)];
            fprintf(f, "%s%s", k ? " " : "", w);
        }
        fputc('\n', f);
    }
    if (f) fclose(f);
}

static void on_event(const rnnc_run_event *e, void *ctx) {
    (void)ctx;
    if (e->kind == RNNC_RUN_VALID) printf("  step %3ld  %s\n", e->step, e->valid->line);
}

static int fail(const char *what) {
    fprintf(stderr, "classify: %s: %s\n", what, rnnc_last_error());
    return 1;
}

int main(void) {
    char dir[] = "/tmp/rnnc_example_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char train[64], dev[64], run_dir[64], best[96];
    snprintf(train, sizeof train, "%s/train.tsv", dir);
    snprintf(dev, sizeof dev, "%s/dev.tsv", dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(best, sizeof best, "%s/best.safetensors", run_dir);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    write_reviews(train, 400, &rng);
    write_reviews(dev, 60, &rng);

    /* The task (data, tokenizer, model) and the run (budget, optimizer, cadence, directory). */
    rnnc_seq_task_opts task = rnnc_seq_task_defaults(RNNC_SEQ_CLASSIFY);
    task.data = train;
    task.valid = dev;
    task.tokenizer = "word:100";
    task.model.hidden = 24;
    task.model.embed = 16;
    task.batch = 16;
    rnnc_run_opts run = rnnc_run_defaults();
    run.steps = 150;
    run.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    run.warmup = 10;
    run.eval_every = 50;
    run.run_dir = run_dir;
    printf("training a classifier for %ld steps:\n", run.steps);
    rnnc_task *t;
    if (rnnc_seq_task_new(&t, &task, run.seed, NULL, 0)) return fail("task");
    if (rnnc_run_start(&run, t, on_event, NULL, NULL)) return fail("run");

    /* The best model holds its vocabulary and labels: it is all prediction needs. */
    rnnc_seq_model *m;
    if (rnnc_seq_load(&m, best)) return fail("load");
    const char *texts[2] = {"the story was moving and the actors superb", "a dull film with a weak ending"};
    const char *want[2] = {"pos", "neg"};
    printf("classifying with %s:\n", best);
    enum { B = 2, T = 16 };
    uint32_t ids[B * T];
    int len[B];
    rnnc_ids tok = {0};
    for (int b = 0; b < B; b++) { /* token ids, padded to T */
        tok.len = 0;
        if (rnnc_s2s_encode_ex(&m->vocab, texts[b], strlen(texts[b]), false, &tok, NULL)) return fail("encode");
        len[b] = tok.len < T ? (int)tok.len : T;
        for (int k = 0; k < T; k++) ids[b * T + k] = k < len[b] ? tok.data[k] : RNNC_S2S_PAD;
    }
    rnnc_ids_free(&tok);
    rnnc_seq_ws *ws;
    int C = m->c.outputs;
    float *logits = malloc((size_t)B * C * sizeof *logits); /* (B, C) */
    rnnc_seq_batch batch = {.B = B, .T = T, .ids = ids, .lengths = len};
    if (!logits || rnnc_seq_ws_new(&ws, m, B, T)) return fail("workspace");
    if (rnnc_seq_forward_backward(ws, m, &batch, NULL, NULL, 1, NULL, logits, NULL, NULL)) return fail("forward");

    int right = 0;
    for (int b = 0; b < B; b++) { /* the most probable label and its softmax probability */
        const float *z = logits + b * C;
        int top = 0;
        for (int c = 1; c < C; c++) top = z[c] > z[top] ? c : top;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - z[top]);
        double p = 1 / sum;
        printf("  %-45s %s %.3f\n", texts[b], m->labels[top], p);
        right += !strcmp(m->labels[top], want[b]) && p > 0.8;
    }
    free(logits);
    rnnc_seq_ws_free(ws);
    rnnc_seq_model_free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (right < B) fprintf(stderr, "classify: the model did not learn (%d of %d texts right with p > 0.8)\n", right, B);
    return right == B ? 0 : 1;
}
