/* rnnc — the training tasks on the run module (run.h): a language model on text files (or on an
 * id file, to check and fine-tune a model made elsewhere) and a sequence-to-sequence model on TSV
 * pairs. A task is made from its options, then handed to rnnc_run_start:
 *
 *     rnnc_lm_task_opts o = rnnc_lm_task_defaults();     // data, tokenizer, model, batching
 *     o.data = files; o.n_data = 1;
 *     rnnc_run_opts r = rnnc_run_defaults();             // budget, optimizer, cadence, run dir
 *     r.steps = 1000; r.run_dir = "runs/x";
 *     rnnc_task *t;
 *     if (rnnc_lm_task_new(&t, &o, r.seed) == RNNC_OK)
 *         rnnc_run_start(&r, t, on_event, ctx, &stop);   // owns t from here
 *     ...
 *     rnnc_run_resume("runs/x", NULL, on_event, ctx, &stop); // after a stop, exactly
 */
#ifndef RNNC_TRAIN_H
#define RNNC_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnnc/lm.h"
#include "rnnc/run.h"
#include "rnnc/seq2seq.h"
#include "rnnc/seqmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- language model ---- */

typedef struct {
    const char *const *data; /* training text files */
    size_t n_data;
    const char *valid;       /* held-out file; NULL: the last valid_fraction of the data */
    double valid_fraction;   /* default 0.05 */
    /* "char", "word" (10,000 words), "word:N", "bpe:N" (trained on the training text), or a
     * tokenizer file or OpenAI name (see rnnc_tokenizer_load). */
    const char *tokenizer;
    rnnc_cell cell;          /* the vocabulary size comes from the tokenizer */
    int layers, hidden, embed;
    float dropout;
    /* true (default): head.bias starts at the log of the smoothed unigram frequencies of the
     * training tokens, so the model starts at the unigram loss; false: PyTorch's uniform init. */
    bool unigram_bias;
    int batch, seq;          /* B streams, windows of T tokens */
    long eval_max_tokens;    /* cap on validation targets per evaluation; 0: all */
} rnnc_lm_task_opts;

/* held out 5%, char tokenizer, LSTM 2x256, embed 64, unigram bias, B 32, T 128. */
rnnc_lm_task_opts rnnc_lm_task_defaults(void);
/* Reads and tokenizes the data and makes the model, initialised from `seed`. The model files the
 * run writes carry the tokenizer ("rnnc.tokenizer") and the ids never seen in training
 * ("rnnc.unseen_ids", [[first, last], ...]). Validation reports val_loss, val_ppl and, unless the
 * held-out text has <unk> tokens (then val_unk, their share), val_bpb. */
rnnc_status rnnc_lm_task_new(rnnc_task **out, const rnnc_lm_task_opts *o, uint64_t seed);
/* The model in model_path trained on the id file (whitespace-separated ids, cut into B streams
 * read in windows of T, as `rnnc eval --ids`); no validation. For a run without a directory. */
rnnc_status rnnc_lm_task_ids(rnnc_task **out, const char *model_path, const char *ids_path, int B, int T);
rnnc_status rnnc_lm_task_resume(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json);

/* ---- sequence to sequence ---- */

typedef struct {
    const char *data, *valid;     /* TSV pairs: source TAB target */
    const char *source_tokenizer; /* space | char | word[:N] | bpe:N | FILE (rnnc_s2s_tok_parse) */
    const char *target_tokenizer;
    rnnc_s2s_config model;        /* vocabulary sizes come from the data */
    int batch;
    double teacher_forcing;       /* probability of feeding the gold previous token (1: always) */
    double label_smoothing;
    int max_source, max_target;   /* symbols per side; 0: the library's default (RNNC_S2S_DEFAULT_MAX_LEN) */
    bool skip_bad, skip_long;     /* count bad or over-long lines instead of failing */
    long valid_max;               /* dev items scored by greedy decoding at each validation; 0: all */
} rnnc_s2s_task_opts;

/* space tokenizers, LSTM 1x256, embed 64, batch 64, teacher forcing 1, no smoothing. */
rnnc_s2s_task_opts rnnc_s2s_task_defaults(void);
/* Reads the data (training the word/bpe tokenizers on its columns), makes the model from `seed`
 * with the output bias at the targets' unigram frequencies. Each epoch visits the batches in an
 * order drawn from the run's seed and the epoch number. Validation reports val_loss, val_ppl,
 * val_ter and val_ser (greedy decoding of the first valid_max dev items); the best model is the
 * one of the lowest SER, then TER. `summary` (may be NULL) gets a few lines on the data. */
rnnc_status rnnc_s2s_task_new(rnnc_task **out, const rnnc_s2s_task_opts *o, uint64_t seed, char *summary, size_t n);
rnnc_status rnnc_s2s_task_resume(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json);

/* ---- classify, tag, forecast ---- */

typedef struct {
    rnnc_seq_kind kind;
    /* classify, tag: TSV files (seqdata.h); forecast: a CSV (series.h), validated on its last rows */
    const char *data, *valid;
    const char *tokenizer;    /* classify, tag: space | char | word[:N] | bpe:N | FILE (tag: space or char) */
    /* cell, embed, hidden, layers, bidirectional, dropout, output_dropout, pool, loss; the
     * vocabulary, outputs, features and known count come from the data */
    rnnc_seq_config model;
    int batch;                /* 1 to RNNC_SEQ_MAX_BATCH */
    int max_len;              /* tokens per item; 0: RNNC_SEQ_DEFAULT_MAX_LEN */
    bool skip_bad, skip_long;
    const char *class_weight; /* classify: NULL or "none", "balanced", "NAME=W,NAME=W" */
    /* forecast: the target column, the covariates known only up to now and those known ahead
     * (comma lists), windows of `context` steps predicting the next `horizon`, the season of the
     * seasonal-naive comparison, the rows validated on (0: a tenth) and those held out after
     * them (neither trained nor validated on: an eval's test rows) */
    const char *target, *covariates, *known;
    int context, horizon, season;
    long valid_last, holdout;
    bool relative; /* forecast each window relative to its own level (rnnc_seq_series.relative) */
} rnnc_seq_task_opts;

/* The largest batch: the bound every rnnc command puts on --batch. */
#define RNNC_SEQ_MAX_BATCH 65536

/* LSTM 1x128, embed 64, batch 32; classify: word:20000 tokenizer, max pooling; tag: space;
 * forecast: final-state pooling, MSE, context 28, horizon 1. */
rnnc_seq_task_opts rnnc_seq_task_defaults(rnnc_seq_kind kind);
/* Reads the data (labels: the sorted names of the training file; the tokenizer trained on its text
 * column; forecast: normalisation over the training rows), makes the model from `seed`.
 * Validation reports val_loss and: classify val_acc, val_macro_f1 (best: the highest macro-F1);
 * tag val_acc, val_seq_acc, val_macro_f1 and, for BIO tags, val_span_f1 (best: span F1, else
 * accuracy); forecast val_mae, val_rmse, val_smape in the data's units (best: MAE). `summary` (may
 * be NULL) gets a few lines on the data. */
rnnc_status rnnc_seq_task_new(rnnc_task **out, const rnnc_seq_task_opts *o, uint64_t seed, char *summary, size_t n);
/* The checks of a class_weight spec that need no data: none, balanced, or NAME=W items each of
 * that form, W a number in [0, 1e6], no name twice (RNNC_ERR_ARG naming --class-weight). The
 * task also refuses a name the training data lacks and weights that are all 0. */
rnnc_status rnnc_seq_class_weight_check(const char *spec);
rnnc_status rnnc_seq_task_resume(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json);

#ifdef __cplusplus
}
#endif

#endif
