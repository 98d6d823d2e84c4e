/* rnnc lab — the corpus and the LM runs that the tokens, stacking and embeddings labs share
 * (lab_lm.h). */
#include "lab/lab_lm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rnnc/io.h"
#include "rnnc/rng.h"

/* ---------------------------------------------------------------- the corpus */

/* A generated stand-in for the corpus when data/sotu.txt is missing under --quick: sentences from
 * a few templates over small word classes (months, countries, numbers, states, names, nouns), so
 * that the tokenizers have something to split and an LM something to learn. Not English text:
 * the lab says so in its note. */
static const char *const GEN_MONTHS[] = {"January", "February", "April", "June", "July", "August", "September",
                                         "October", "November", "December"};
static const char *const GEN_COUNTRIES[] = {"France", "Spain", "Mexico", "Japan", "China", "Russia", "Cuba"};
static const char *const GEN_NUMBERS[] = {"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve"};
static const char *const GEN_STATES[] = {"Ohio", "Texas", "Virginia", "Kansas", "Oregon", "Maine", "Nevada", "Utah",
                                         "Georgia", "Florida"};
static const char *const GEN_NAMES[] = {"John", "Mary", "James", "Susan", "Robert", "Linda", "Thomas", "Helen"};
static const char *const GEN_NOUNS[] = {"schools", "roads", "farms", "ships", "banks", "courts", "taxes", "treaties",
                                        "soldiers", "workers", "prices", "harbors"};
static const char *const GEN_VERBS[] = {"built", "inspected", "reformed", "counted", "defended", "reported", "funded"};
typedef struct {
    const char *const *w;
    size_t n;
} word_class;
#define CLASS(a) {a, sizeof a / sizeof a[0]}

/* A template and its slots' classes, filled in slot order (not as snprintf arguments, whose order
 * of evaluation C leaves to the compiler: gcc and clang drew different texts from one seed). */
typedef struct {
    const char *fmt;
    int n;
    word_class slot[8];
} sentence;

static const sentence SENTENCES[] = {
    {"From %s, %s %s, the people of %s %s %s new %s.\n", 7,
     {CLASS(GEN_COUNTRIES), CLASS(GEN_MONTHS), CLASS(GEN_NUMBERS), CLASS(GEN_STATES), CLASS(GEN_VERBS),
      CLASS(GEN_NUMBERS), CLASS(GEN_NOUNS)}},
    {"In %s %s %s the %s of %s, and %s more were %s for %s.\n", 8,
     {CLASS(GEN_MONTHS), CLASS(GEN_NAMES), CLASS(GEN_VERBS), CLASS(GEN_NOUNS), CLASS(GEN_STATES), CLASS(GEN_NUMBERS),
      CLASS(GEN_VERBS), CLASS(GEN_COUNTRIES)}},
    {"%s and %s reported that %s %s in %s were %s by %s.\n", 7,
     {CLASS(GEN_NAMES), CLASS(GEN_NAMES), CLASS(GEN_NUMBERS), CLASS(GEN_NOUNS), CLASS(GEN_STATES), CLASS(GEN_VERBS),
      CLASS(GEN_COUNTRIES)}},
    {"The %s of %s and %s rose by %s percent from %s to %s.\n", 6,
     {CLASS(GEN_NOUNS), CLASS(GEN_STATES), CLASS(GEN_STATES), CLASS(GEN_NUMBERS), CLASS(GEN_MONTHS), CLASS(GEN_MONTHS)}},
};

static rnnc_status generate(const char *path, size_t bytes, uint64_t seed) {
    rnnc_bytes b = {0};
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed ^ 0x5eed);
    char line[512];
    rnnc_status s = RNNC_OK;
    while (b.len < bytes && !s) {
        const sentence *t = &SENTENCES[rnnc_rng_below(&rng, sizeof SENTENCES / sizeof SENTENCES[0])];
        const char *w[8] = {"", "", "", "", "", "", "", ""};
        for (int i = 0; i < t->n; i++) w[i] = t->slot[i].w[rnnc_rng_below(&rng, t->slot[i].n)];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        int n = snprintf(line, sizeof line, t->fmt, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
#pragma GCC diagnostic pop
        s = rnnc_bytes_append(&b, line, (size_t)n);
    }
    if (!s) s = rnnc_write_file_atomic(path, b.data, b.len);
    rnnc_bytes_free(&b);
    return s;
}

rnnc_status rnnc_lab_corpus_get(const rnnc_lab_ctx *c, size_t quick_bytes, bool quick_generated, rnnc_lab_corpus *out) {
    memset(out, 0, sizeof *out);
    char sotu[4096];
    bool have = rnnc_lab_data("sotu.txt", sotu, sizeof sotu) != NULL;
    if (!c->quick) {
        if (!have)
            return rnnc_error(RNNC_ERR_IO, "%s %s: the lab trains on the State of the Union corpus; run "
                              "scripts/fetch-data.sh (or make data) in the source tree, or give --quick for a short run "
                              "on generated text", sotu, rnnc_lab_data_why(sotu));
        snprintf(out->path, sizeof out->path, "%s", sotu);
        out->real = true;
        snprintf(out->note, sizeof out->note, "%s (the State of the Union speeches, 1790-2018)", sotu);
        return RNNC_OK;
    }
    char *p = rnnc_lab_path(c, "corpus-quick.txt");
    if (!p) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    snprintf(out->path, sizeof out->path, "%s", p);
    free(p);
    out->sliced = true;
    if (!have || quick_generated) {
        if (have)
            snprintf(out->note, sizeof out->note, "generated text, %zu bytes: template sentences whose slots take words of "
                     "one class each (--quick; without it, %s)", quick_bytes, sotu);
        else
            snprintf(out->note, sizeof out->note, "generated text, %zu bytes (%s %s; run scripts/fetch-data.sh for "
                     "the real corpus)", quick_bytes, sotu, rnnc_lab_data_why(sotu));
        return generate(out->path, quick_bytes, c->seed);
    }
    unsigned char *text;
    size_t len;
    rnnc_status s = rnnc_read_file(sotu, &text, &len);
    if (s) return s;
    size_t cut = len < quick_bytes ? len : quick_bytes;
    while (cut < len && cut > 0 && text[cut - 1] != '\n') cut++; /* end on a whole line */
    s = rnnc_write_file_atomic(out->path, text, cut);
    free(text);
    if (s) return s;
    out->real = true;
    snprintf(out->note, sizeof out->note, "the first %zu bytes of %s (--quick)", cut, sotu);
    return RNNC_OK;
}

void rnnc_lab_corpus_done(rnnc_lab_corpus *k) {
    if (k->sliced) unlink(k->path);
    k->sliced = false;
}

/* ---------------------------------------------------------------- one run */

/* The value of a named metric of a validation, or NaN. */
static double metric(const rnnc_valid_result *v, const char *name) {
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->m[i].name, name)) return v->m[i].value;
    return NAN;
}

typedef struct {
    const rnnc_lab_ctx *c;
    const char *lab, *label;
    rnnc_lab_lm_result *res;
    rnnc_lab_lm_hook hook;
    void *hook_ctx;
    rnnc_task *task;
    double budget, last_line, cpu0;
    long total_steps;
    rnnc_status err;
} run_ctx;

static void on_event(const rnnc_run_event *e, void *vp) {
    run_ctx *rc = vp;
    rnnc_lab_lm_result *r = rc->res;
    switch (e->kind) {
    case RNNC_RUN_STARTED:
        snprintf(r->describe, sizeof r->describe, "%s", e->message ? e->message : "");
        fprintf(stderr, "lab %s: %s: %s\n", rc->lab, rc->label, r->describe);
        break;
    case RNNC_RUN_PROGRESS:
        r->steps = e->step;
        if (e->elapsed - rc->last_line >= 20) {
            rc->last_line = e->elapsed;
            if (rc->budget > 0)
                fprintf(stderr, "lab %s: %s: %.0f s of %.0f s, step %ld, loss %.4f\n", rc->lab, rc->label, e->elapsed,
                        rc->budget, e->step, e->loss);
            else
                fprintf(stderr, "lab %s: %s: step %ld of %ld, %.0f s, loss %.4f\n", rc->lab, rc->label, e->step,
                        rc->total_steps, e->elapsed, e->loss);
        }
        break;
    case RNNC_RUN_REPORT:
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 256;
            rnnc_lab_lm_point *p = realloc(r->pts, cap * sizeof *p);
            if (!p) { rc->err = RNNC_ERR_NOMEM; break; }
            r->pts = p;
            r->cap = cap;
        }
        r->pts[r->n++] = (rnnc_lab_lm_point){.step = e->step, .elapsed = e->elapsed, .tokens = e->tokens, .loss = e->loss,
                                        .tokens_per_s = e->tokens_per_s};
        r->seconds = e->elapsed;
        r->cpu_seconds = rnnc_lab_cpu_now() - rc->cpu0; /* the last report comes before the last validation */
        break;
    case RNNC_RUN_VALID:
        if (!e->valid) break;
        r->val_loss = metric(e->valid, "val_loss");
        r->val_ppl = metric(e->valid, "val_ppl");
        r->val_bpb = metric(e->valid, "val_bpb");
        r->val_unk = metric(e->valid, "val_unk");
        break;
    case RNNC_RUN_DONE:
        r->seconds = e->elapsed;
        fprintf(stderr, "lab %s: %s: done, %ld steps in %.1f s%s%.4f\n", rc->lab, rc->label, r->steps, e->elapsed,
                isnan(r->val_bpb) ? ", held-out loss " : ", held-out bits per byte ",
                isnan(r->val_bpb) ? r->val_loss : r->val_bpb);
        break;
    default:
        break;
    }
    if (rc->hook) rc->hook(e, rc->task, rc->hook_ctx);
}

rnnc_status rnnc_lab_lm_train(const rnnc_lab_ctx *c, const char *lab_name, const char *label, const rnnc_lm_task_opts *o,
                              const rnnc_run_opts *r, bool validate_first, rnnc_lab_lm_hook hook, void *hook_ctx,
                              rnnc_lab_lm_result *res) {
    memset(res, 0, sizeof *res);
    res->val_loss = res->val_ppl = res->val_bpb = res->val_unk = res->start_loss = res->start_bpb = NAN;
    rnnc_task *t;
    rnnc_status s = rnnc_lm_task_new(&t, o, r->seed);
    if (s) return rnnc_error(s, "%s: %s", label, rnnc_last_error());
    res->n_params = t->n_params;
    if (validate_first) { /* validation leaves the training state alone (run.h), so the run is the same */
        rnnc_valid_result v;
        memset(&v, 0, sizeof v);
        if ((s = t->ops->validate(t, &v))) {
            rnnc_task_free(t);
            return rnnc_error(s, "%s: %s", label, rnnc_last_error());
        }
        res->start_loss = metric(&v, "val_loss");
        res->start_bpb = metric(&v, "val_bpb");
    }
    run_ctx rc = {.c = c, .lab = lab_name, .label = label, .res = res, .hook = hook, .hook_ctx = hook_ctx, .task = t,
                  .budget = r->seconds, .total_steps = r->steps};
    rc.cpu0 = rnnc_lab_cpu_now();
    s = rnnc_run_start(r, t, on_event, &rc, NULL); /* owns t from here */
    res->tokens = res->n ? res->pts[res->n - 1].tokens : 0;
    if (!s && rc.err) s = rnnc_error(rc.err, "%s: out of memory for the training curve", label);
    if (!s && res->steps == 0) s = rnnc_error(RNNC_ERR_ARG, "%s: no training step was made", label);
    return s;
}

double rnnc_lab_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rnnc_lab_lm_result_free(rnnc_lab_lm_result *res) {
    free(res->pts);
    res->pts = NULL;
    res->n = res->cap = 0;
}
