/* rnnc — training a language model on text files: tokenizer, held-out validation, truncated BPTT
 * over stream batches, Adam/AdamW/SGD with warm-up and cosine decay, clipping, dropout, the best
 * model kept by validation loss, metrics, and checkpoints that resume exactly.
 *
 * A run lives in one directory:
 *   RUN_DIR/model.safetensors       the model at the end of training (tokenizer inside)
 *   RUN_DIR/best.safetensors        the model with the lowest validation loss so far
 *   RUN_DIR/checkpoint.safetensors  model + optimizer moments + carried recurrent state + RNG +
 *                                   data position + step + the run's options ("rnnc.train")
 *   RUN_DIR/metrics.jsonl           one JSON object per report (see metrics.h)
 * Every file but the metrics log is written atomically, so a crash or kill -9 at any moment leaves
 * the last checkpoint intact. Resuming from a checkpoint gives the same losses, step for step, as
 * a run that was never interrupted (same thread count). */
#ifndef RNNC_TRAIN_H
#define RNNC_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnnc/lm.h"
#include "rnnc/optim.h"
#include "rnnc/status.h"

typedef struct {
    /* Data. */
    const char *const *data; /* training text files */
    size_t n_data;
    const char *valid;       /* held-out file; NULL: the last valid_fraction of the data */
    double valid_fraction;   /* default 0.05 */
    /* "char", "word" (10,000 words), "word:N", "bpe:N" (trained on the training text), or a
     * tokenizer file or OpenAI name (see rnnc_tokenizer_load). */
    const char *tokenizer;
    /* Model (the vocabulary size comes from the tokenizer). */
    rnnc_cell cell;
    int layers, hidden, embed;
    float dropout;
    /* Output bias at the start: true (default) sets head.bias to the log of the smoothed unigram
     * frequencies of the training tokens, so the model starts at the unigram loss and never-seen
     * ids (reserved and byte-fallback ids) start with a tiny probability; false keeps PyTorch's
     * uniform initialisation. */
    bool unigram_bias;
    /* Batching: B streams, windows of T tokens. */
    int batch, seq;
    /* Budget: training stops at the first of these that is set (> 0). epochs and steps are
     * exact; seconds is wall-clock time (so a timed run is not reproducible step for step). */
    long steps;
    double epochs;
    double seconds;
    /* Optimizer and schedule: linear warm-up over `warmup` steps, then cosine decay from lr to
     * lr * min_lr_ratio at the last step (constant after warm-up when only seconds is set). */
    rnnc_optim_config optim;
    double clip;        /* global gradient norm; 0: off */
    long warmup;
    double min_lr_ratio;
    /* Reporting. */
    long report_every;      /* steps between training-loss reports */
    long eval_every;        /* steps between validations (and at the end) */
    long eval_max_tokens;   /* cap on validation targets per evaluation; 0: all */
    long checkpoint_every;  /* steps between checkpoints (and at the end, and on a stop request) */
    uint64_t seed;
    const char *run_dir;
    bool force;             /* reuse a RUN_DIR that holds another run */
} rnnc_train_opts;

/* Defaults: valid 5%, LSTM 2x256, embed 64, B 32, T 128, AdamW lr 2e-3 (wd 0.01), clip 5,
 * warm-up 100, min_lr_ratio 0.1, reports every 10 steps, validation every 200, checkpoints
 * every 200, seed 1337. */
rnnc_train_opts rnnc_train_defaults(void);

typedef enum {
    RNNC_TRAIN_STARTED,   /* data, tokenizer and model are ready; `message` describes them */
    RNNC_TRAIN_PROGRESS,  /* after every step: row.step/tokens/epoch/lr; loss of this step */
    RNNC_TRAIN_REPORT,    /* a training-loss report (row holds the averages since the last) */
    RNNC_TRAIN_VALID,     /* a validation (row.val_*); `improved` when best.safetensors was written */
    RNNC_TRAIN_CHECKPOINT,/* checkpoint.safetensors written */
    RNNC_TRAIN_DONE,
} rnnc_train_event_kind;

typedef struct {
    rnnc_train_event_kind kind;
    long step, total_steps; /* total_steps 0 when only a time budget is set */
    double epoch, tokens, elapsed, seconds_budget;
    double loss;            /* PROGRESS: this step's loss */
    double lr;
    double tokens_per_s;
    double val_loss, val_ppl, val_bpb;
    bool improved;
    const char *message;
} rnnc_train_event;

typedef void (*rnnc_train_callback)(const rnnc_train_event *e, void *ctx);

/* Runs a new training run in opts->run_dir (created if missing). Refuses a directory that holds
 * another run (a checkpoint, model or metrics file) unless opts->force. When *stop becomes
 * non-zero (a signal handler sets it) the run writes a checkpoint after the current step and
 * returns RNNC_ERR_INTERRUPTED. */
rnnc_status rnnc_train_run(const rnnc_train_opts *opts, rnnc_train_callback cb, void *ctx,
                           volatile sig_atomic_t *stop);

/* Continues the run in run_dir from its checkpoint with the options stored there; a budget
 * (steps, epochs, seconds) > 0 in `budget` replaces the stored one (to train longer). */
rnnc_status rnnc_train_resume(const char *run_dir, const rnnc_train_opts *budget, rnnc_train_callback cb,
                              void *ctx, volatile sig_atomic_t *stop);

/* The learning rate at step s (0-based) of a run of `total` steps (0: unknown). */
double rnnc_train_lr(const rnnc_train_opts *o, long s, long total);

#endif
