/* What tests/test_train.c and tests/test_dist.c share: the functions that make each task from its
 * options (every run of those tests takes one), and the tiny seq2seq task both train, reversing
 * sequences of 2 to 5 symbols of 6. */
#ifndef RNNC_TEST_TRAIN_TASKS_H
#define RNNC_TEST_TRAIN_TASKS_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "rnnc/train.h"
#include "test.h"

/* Makes a task from its options (the LM's, seq2seq's or a sequence task's) and the run's seed. */
typedef rnnc_status (*make_task_fn)(rnnc_task **t, const void *opts, uint64_t seed);

static inline rnnc_status make_lm(rnnc_task **t, const void *opts, uint64_t seed) { return rnnc_lm_task_new(t, opts, seed); }
static inline rnnc_status make_s2s(rnnc_task **t, const void *opts, uint64_t seed) {
    return rnnc_s2s_task_new(t, opts, seed, NULL, 0);
}
static inline rnnc_status make_seq(rnnc_task **t, const void *opts, uint64_t seed) {
    return rnnc_seq_task_new(t, opts, seed, NULL, 0);
}

/* n reversal pairs ("a c b" -> "b c a") drawn from rng: the first n_dev to dev, the rest to
 * train, one "SOURCE\tTARGET" line each. The caller may go on drawing from rng. */
static inline void write_reverse_pairs(const char *train, const char *dev, int n, int n_dev, rnnc_rng *rng) {
    FILE *f = fopen(train, "w"), *g = fopen(dev, "w");
    CHECK_MSG(f && g, "cannot write %s or %s", train, dev);
    if (!f || !g) {
        if (f) fclose(f);
        if (g) fclose(g);
        return;
    }
    for (int i = 0; i < n; i++) {
        char src[32] = "", tgt[32] = "", sym[6];
        int len = 2 + (int)rnnc_rng_below(rng, 4);
        for (int k = 0; k < len; k++) sym[k] = (char)('a' + rnnc_rng_below(rng, 6));
        for (int k = 0; k < len; k++) {
            size_t ls = strlen(src), lt = strlen(tgt);
            snprintf(src + ls, sizeof src - ls, "%s%c", k ? " " : "", sym[k]);
            snprintf(tgt + lt, sizeof tgt - lt, "%s%c", k ? " " : "", sym[len - 1 - k]);
        }
        fprintf(i < n_dev ? g : f, "%s\t%s\n", src, tgt);
    }
    fclose(f);
    fclose(g);
}

#endif
