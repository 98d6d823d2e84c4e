/* rnnc lab — what the language-model labs (tokens, stacking, embeddings) share: the corpus they
 * read (data/sotu.txt, a slice of it for --quick, or a generated text when it is missing under
 * --quick) and one training run on the run module, for a time or a number of steps, that records
 * its curve. Internal. */
#ifndef RNNC_LAB_LM_H
#define RNNC_LAB_LM_H

#include <stdbool.h>
#include <stddef.h>

#include "lab/lab.h"
#include "rnnc/train.h"

typedef struct {
    char path[4096]; /* the file the runs read */
    bool real;       /* State of the Union text (all of it, or its first bytes under --quick) */
    bool sliced;     /* path is a slice written into the lab's directory */
    char note[4400]; /* one line on what the corpus is */
} rnnc_lab_corpus;

/* The corpus of an LM lab: data/sotu.txt (RNNC_DATA's), whole; under --quick its first
 * `quick_bytes` (cut after a line end) written to OUT_DIR/corpus-quick.txt, or, when it is
 * missing or `quick_generated` is set, a generated text of that size (said in `note`, so a quick
 * run in a tree without data still checks the machinery). The generated text is sentences from
 * templates whose slots take words of one class each (months, countries, number words, US states,
 * first names, nouns, verbs). A full run without data/sotu.txt is an error that says how to fetch
 * it. */
rnnc_status rnnc_lab_corpus_get(const rnnc_lab_ctx *c, size_t quick_bytes, bool quick_generated, rnnc_lab_corpus *out);
/* Removes the slice a quick run wrote. */
void rnnc_lab_corpus_done(rnnc_lab_corpus *k);

/* One training report of a run (the run's RNNC_RUN_REPORT events). */
typedef struct {
    long step;
    double elapsed, tokens, loss, tokens_per_s;
} rnnc_lab_lm_point;

typedef struct {
    rnnc_lab_lm_point *pts; /* the training reports, in order */
    size_t n, cap;
    long steps;        /* optimizer steps taken */
    double seconds;    /* training time (the run's elapsed time at its end, validation excluded) */
    double cpu_seconds; /* CPU time of the process (all threads) over the same span: on a shared
                         * machine, the work done, which other processes' load does not stretch */
    double tokens;     /* training tokens seen */
    double val_loss, val_ppl, val_bpb, val_unk; /* the final validation; NaN when not reported */
    double start_loss, start_bpb; /* the validation before the first step (validate_first), else NaN */
    size_t n_params;
    char describe[400]; /* the task's own line (tokenizer, |V|, tokens, model) */
} rnnc_lab_lm_result;

/* Called on every run event with the task, which the run owns until RNNC_RUN_DONE (so a hook may
 * read its parameters; at RNNC_RUN_STARTED, before the first step, it may also change them). */
typedef void (*rnnc_lab_lm_hook)(const rnnc_run_event *e, rnnc_task *t, void *ctx);

/* Makes the LM task of `o`, trains it under `r` (r->run_dir and r->model_out as the caller set
 * them; a caller that wants no files gives model_out in the lab directory and removes it) and
 * fills `res`; with validate_first, the held-out loss of the untrained model too (its output bias
 * at the unigram frequencies: what the run starts from). Progress goes to stderr as plain lines: one when the run starts, one about every
 * 20 s, one at the end, each prefixed "lab NAME: LABEL". */
rnnc_status rnnc_lab_lm_train(const rnnc_lab_ctx *c, const char *lab_name, const char *label, const rnnc_lm_task_opts *o,
                              const rnnc_run_opts *r, bool validate_first, rnnc_lab_lm_hook hook, void *hook_ctx,
                              rnnc_lab_lm_result *res);
void rnnc_lab_lm_result_free(rnnc_lab_lm_result *res);

/* CPU seconds of this process, all threads. */
double rnnc_lab_cpu_now(void);

#endif
