/* Synthetic seq2seq tasks that an encoder-decoder must learn in seconds to >= 99% exact match on
 * held-out examples: reversing a sequence, sorting digits, rewriting dates ("march 3 2001" ->
 * "2001-03-03"); each task is its own test file (tests/test_s2s_task_*.c) so each has its own
 * time budget. Data are generated from a fixed seed; training uses the library's own train step,
 * batcher and evaluation (greedy decoding), as `rnnc seq2seq train` does. The held-out examples
 * are drawn after the training ones, from the same generator. */
#ifndef RNNC_TEST_S2S_TASKS_H
#define RNNC_TEST_S2S_TASKS_H
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "test.h"

typedef void (*gen_fn)(rnnc_rng *rng, char *src, char *tgt);

static inline void gen_reverse(rnnc_rng *rng, char *src, char *tgt) {
    int n = 3 + (int)rnnc_rng_below(rng, 4); /* 3..6 symbols of 8 */
    char s[8];
    for (int i = 0; i < n; i++) s[i] = (char)('a' + rnnc_rng_below(rng, 8));
    for (int i = 0; i < n; i++) { src[2 * i] = s[i]; src[2 * i + 1] = ' '; tgt[2 * i] = s[n - 1 - i]; tgt[2 * i + 1] = ' '; }
    src[2 * n - 1] = tgt[2 * n - 1] = 0;
}

static inline int cmp_char(const void *a, const void *b) { return *(const char *)a - *(const char *)b; }

static inline void gen_sort(rnnc_rng *rng, char *src, char *tgt) {
    int n = 3 + (int)rnnc_rng_below(rng, 4); /* 3..6 digits */
    char s[8];
    for (int i = 0; i < n; i++) s[i] = (char)('0' + rnnc_rng_below(rng, 10));
    for (int i = 0; i < n; i++) { src[2 * i] = s[i]; src[2 * i + 1] = ' '; }
    qsort(s, (size_t)n, 1, cmp_char);
    for (int i = 0; i < n; i++) { tgt[2 * i] = s[i]; tgt[2 * i + 1] = ' '; }
    src[2 * n - 1] = tgt[2 * n - 1] = 0;
}

static inline void gen_date(rnnc_rng *rng, char *src, char *tgt) {
    static const char *months[12] = {"january", "february", "march", "april", "may", "june", "july",
                                     "august", "september", "october", "november", "december"};
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int m = (int)rnnc_rng_below(rng, 12), d = 1 + (int)rnnc_rng_below(rng, (uint64_t)days[m]);
    int y = 1950 + (int)rnnc_rng_below(rng, 100);
    sprintf(src, "%s %d %d", months[m], d, y);
    sprintf(tgt, "%04d-%02d-%02d", y, m + 1, d);
}

/* TSV text of n pairs. */
static inline char *make_tsv(gen_fn gen, rnnc_rng *rng, int n, size_t *len) {
    char *t = malloc((size_t)n * 64), src[64], tgt[64];
    size_t p = 0;
    for (int i = 0; i < n; i++) {
        gen(rng, src, tgt);
        p += (size_t)sprintf(t + p, "%s\t%s\n", src, tgt);
    }
    *len = p;
    return t;
}

typedef struct {
    rnnc_s2s_tok src_tok, tgt_tok;
    rnnc_cell cell;
    bool bidir;
    int embed, hidden, batch, steps;
    double lr;
} task_cfg;

/* Trains on generated data and returns held-out exact-match accuracy (1 - SER) and TER. */
static inline double run_task(const char *name, gen_fn gen, const task_cfg *tc, double *ter) {
    int steps = tc->steps;
    /* for tuning by hand */
    if (getenv("RNNC_TASK_STEPS")) steps = atoi(getenv("RNNC_TASK_STEPS"));
    task_cfg t2 = *tc;
    tc = &t2;
    if (getenv("RNNC_TASK_LR")) t2.lr = atof(getenv("RNNC_TASK_LR"));
    if (getenv("RNNC_TASK_H")) t2.hidden = atoi(getenv("RNNC_TASK_H"));
    if (getenv("RNNC_TASK_B")) t2.batch = atoi(getenv("RNNC_TASK_B"));
    if (getenv("RNNC_TASK_E")) t2.embed = atoi(getenv("RNNC_TASK_E"));
    if (getenv("RNNC_TASK_CELL")) rnnc_cell_parse(getenv("RNNC_TASK_CELL"), &t2.cell);
    if (getenv("RNNC_TASK_ONLY") && strcmp(getenv("RNNC_TASK_ONLY"), name)) return 1.0;
    /* One thread: these models are too small to gain from more, and a fixed thread count keeps
     * the run bit-for-bit reproducible whatever OMP_NUM_THREADS says. */
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1234);
    size_t ntr, nte;
    char *tr = make_tsv(gen, &rng, 20000, &ntr), *te = make_tsv(gen, &rng, 1000, &nte);
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, tc->src_tok);
    rnnc_s2s_vocab_init(&tv, tc->tgt_tok);
    rnnc_s2s_data dtr, dte;
    rnnc_s2s_data_init(&dtr);
    rnnc_s2s_data_init(&dte);
    rnnc_s2s_read_opts o = {.grow = true};
    CHECK(rnnc_s2s_data_parse(&dtr, tr, ntr, name, &o, &sv, &tv) == RNNC_OK);
    o.grow = false;
    CHECK(rnnc_s2s_data_parse(&dte, te, nte, name, &o, &sv, &tv) == RNNC_OK);
    rnnc_s2s_config c = {.cell = tc->cell, .embed = tc->embed, .hidden = tc->hidden, .layers = 1, .bidirectional = tc->bidir};
    rnnc_s2s_model *m = NULL;
    CHECK(rnnc_s2s_model_new(&m, &c, &sv, &tv) == RNNC_OK);
    rnnc_s2s_model_init(m, &rng);
    rnnc_s2s_batcher bt;
    CHECK(rnnc_s2s_batcher_new(&bt, &dtr, tc->batch, true) == RNNC_OK);
    int maxs = 1, maxt = 1;
    for (size_t i = 0; i < dtr.n; i++) {
        if (dtr.items[i].src_len > maxs) maxs = dtr.items[i].src_len;
        for (int r = 0; r < dtr.items[i].n_refs; r++) if (dtr.items[i].ref_len[r] + 1 > maxt) maxt = dtr.items[i].ref_len[r] + 1;
    }
    rnnc_s2s_ws *ws;
    CHECK(rnnc_s2s_ws_new(&ws, m, tc->batch, maxs, maxt) == RNNC_OK);
    rnnc_optim_config oc = rnnc_optim_defaults(RNNC_OPT_ADAM, tc->lr);
    rnnc_optim opt;
    CHECK(rnnc_optim_init(&opt, &oc, m->n_params) == RNNC_OK);
    float *g = calloc(m->n_params, sizeof *g);
    rnnc_s2s_train_opts to = {.teacher_forcing = 1.0f, .training = true};
    double loss = 0;
    int step = 0;

    rnnc_status st = RNNC_OK;
    while (step < steps && !st) {
        rnnc_s2s_batcher_plan(&bt, &rng);
        for (size_t k = 0; k < bt.n_batches && step < steps && !st; k++, step++) {
            /* linear decay to a tenth over the run: the last steps settle instead of bouncing */
            opt.c.lr = tc->lr * (1.0 - 0.9 * (double)step / (double)steps);
            st = rnnc_s2s_train_step(m, ws, rnnc_s2s_batcher_get(&bt, k), &opt, g, &to, 5.0, &rng, &loss, NULL);
        }
    }
    CHECK_MSG(st == RNNC_OK, "%s", rnnc_last_error());
    rnnc_s2s_score sc;
    CHECK(rnnc_s2s_evaluate(m, &dte, 1, 0, 64, 0, &sc, NULL) == RNNC_OK);
    double acc = 1.0 - rnnc_s2s_ser(&sc);
    *ter = rnnc_s2s_ter(&sc);
    printf("  %s: %d steps, final loss %.4f, held-out exact match %.2f%%, TER %.2f%%\n", name, step, loss, 100 * acc,
           100 * *ter);
    free(g);
    rnnc_optim_free(&opt);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_batcher_free(&bt);
    rnnc_s2s_model_free(m);
    rnnc_s2s_data_free(&dtr);
    rnnc_s2s_data_free(&dte);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    free(tr);
    free(te);
    return acc;
}

#endif
