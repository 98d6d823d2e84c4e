/* rnnc — one training run for every task.
 *
 * A run knows time, files, the optimizer and failure; a task knows its model and its data:
 *
 *            ┌──────────────────── run (src/train/run.c) ─────────────────────┐
 *   options ─▶ run dir + lock · schedule · clip · NaN guard · validation cadence ├─▶ model.safetensors
 *            │ best model · patience · checkpoint · exact resume · SIGINT      ├─▶ best.safetensors
 *            │ metrics.jsonl · events                                           ├─▶ checkpoint.safetensors
 *            └───────▲───────────────────────┬──────────────────────────────────┘    metrics.jsonl
 *                    │ rnnc_task_ops         │
 *   lm (src/train/task_lm.c) · seq2seq (src/train/task_s2s.c):
 *       train_batch (forward + backward of step s) · validate → named metrics · save · state
 *
 * A task derives its data position from the step number alone (the LM reads window s mod W of
 * its streams; seq2seq reads batch s mod N of epoch s div N, whose order is drawn from the seed
 * and the epoch), so a checkpoint needs only the step, the run's RNG and the task's carried state
 * (the LM's recurrent state) besides parameters and optimizer moments.
 *
 * A run directory holds:
 *   model.safetensors       the model when the run stopped (at its budget, or by a signal)
 *   best.safetensors        the model of the best validation so far
 *   checkpoint.safetensors  the model + "train.*" tensors (optimizer state, RNG, the weight average
 *                           of opts.ema) + the task's state
 *                           tensors ("task.*") + metadata "rnnc.run" (JSON: format, task, step,
 *                           accumulators, thread count), "rnnc.run.options", "rnnc.task.options"
 *                           and "rnnc.run.inputs" (the data files' sizes and digests)
 *   metrics.jsonl           training reports and validations (metrics.h)
 *   run.lock                the lock that keeps one live run per directory (rundir.h)
 * Every file but the log is written atomically. A run saves a checkpoint at step 0 before
 * anything else, so whatever stops it, --resume continues it. With step and epoch budgets a
 * resumed run is the same, bit for bit, as one never stopped (on the same data, checked, and the
 * same thread count, kept unless the caller chooses another); a time budget
 * (seconds) makes the step count, and a cosine schedule over it, depend on the machine.
 *
 * Data parallel (opts.comm, comm.h, of N ranks): each rank takes its share of every global batch
 * (the task's shard); the run sums the ranks' losses weighted by what each averages over, scales
 * each rank's gradients by its share of that weight and sums them over the ranks in place (so the
 * gradient is that of the global batch's mean loss), then every rank clips by the same global norm
 * and applies the same optimizer step. Dropout and sampling draw from one generator seeded per
 * step from the run's (the same on every rank), each row from its own stream (rnnc_rng_substream),
 * so N ranks train as one process does with the same global batch, seed and data order, up to
 * the order of floating-point sums. Validation is split over the ranks and reduced. Only rank 0
 * takes the lock and writes the directory; on a resume it reads the checkpoint and sends it to the
 * others. A checkpoint holds no trace of N (the LM's carried state is gathered into the global
 * batch's layout), so it resumes on any number of ranks that divides the batch. */
#ifndef RNNC_RUN_H
#define RNNC_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnnc/comm.h"
#include "rnnc/optim.h"
#include "rnnc/rng.h"
#include "rnnc/safetensors.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RNNC_SCHEDULE_COSINE, RNNC_SCHEDULE_CONSTANT } rnnc_schedule;

typedef struct {
    /* Budget: the run stops at the first of these that is set (> 0); at least one must be. */
    long steps;
    double epochs;
    double seconds;
    /* Optimizer and schedule: linear warm-up over `warmup` steps, then (cosine) from lr down to
     * lr * min_lr_ratio as the budget is spent, or (constant) lr. */
    rnnc_optim_config optim;
    double clip; /* global gradient norm; 0: off */
    rnnc_schedule schedule;
    long warmup;
    double min_lr_ratio;
    /* Cadence, in steps (each also at the end of the run). */
    long log_every;        /* training-loss reports */
    long eval_every;       /* validations; 0: only at the end */
    long checkpoint_every; /* checkpoints (also on a stop request) */
    long patience;         /* stop after this many validations without a better score; 0: off */
    uint64_t seed;
    /* Where: a run directory, or (run_dir NULL) no directory at all, only the final model written
     * to model_out (no checkpoint, log or best model: the way `rnnc train --ids` fine-tunes). */
    const char *run_dir;
    const char *model_out;
    bool force; /* reuse a directory that holds another run's files */
    /* The ranks of a data-parallel run (comm.h); NULL: one process. Not recorded in checkpoints. */
    rnnc_comm *comm;
    /* An exponential moving average of the weights (Polyak averaging), 0 = off, else its decay in
     * (0, RNNC_RUN_EMA_MAX]: after optimizer step n, avg = d_n avg + (1 - d_n) w with d_n = min(ema, (1 + n) /
     * (10 + n)) (so early steps are not dominated by the initial weights), avg starting at the
     * initial weights. Training always steps the raw weights; validation (and so the best-model
     * choice), best.safetensors and model.safetensors use the average, and "rnnc.training" says
     * so ("ema"). The checkpoint keeps the raw weights as the model and the average as "train.ema". */
    double ema;
#define RNNC_RUN_EMA_MAX 0.999999 /* the largest decay the runs take (the CLI, the library, a checkpoint) */
} rnnc_run_opts;

/* AdamW lr 2e-3 (weight decay 0.01), clip 5, cosine, warm-up 100, min_lr_ratio 0.1, reports every
 * 10 steps, validation and checkpoints every 200, no patience, seed 1337, no weight average; no
 * budget. */
rnnc_run_opts rnnc_run_defaults(void);
/* Names the option at fault in the CLI's words ("--lr must be ..."). */
rnnc_status rnnc_run_opts_check(const rnnc_run_opts *o);
/* The learning rate before step s (0-based) at `elapsed` seconds, for a run of `total` steps
 * (0: unknown): warm-up, then the schedule over the largest spent fraction of the budgets. */
double rnnc_run_lr(const rnnc_run_opts *o, long s, long total, double elapsed);

/* ---- tasks ---- */

#define RNNC_MAX_METRICS 8
typedef struct {
    /* Named numbers, written to metrics.jsonl under their names ("val_loss", "val_ter", ...). */
    struct { const char *name; double value; } m[RNNC_MAX_METRICS];
    size_t n;
    /* What best-model selection minimises, compared in order (a tie on the first goes to the
     * second: seq2seq's SER, then TER). */
    double score[2];
    /* A one-line summary for the console ("valid loss 1.234  ppl 3.43"). */
    char line[160];
} rnnc_valid_result;

typedef struct rnnc_task rnnc_task;

typedef struct {
    const char *name; /* "lm", "seq2seq": recorded in checkpoints, found again on resume */
    /* Optimizer steps in one pass over the training data. */
    size_t (*steps_per_epoch)(rnnc_task *t);
    /* Forward and backward of the batch of step `step` (0-based; the task derives its data
     * position from it, and `seed` draws any data order): gradients of the mean loss are added
     * into t->grads (zeroed by the run), *loss gets that mean and *count the tokens it read (for
     * throughput). Dropout and the like draw from rng (a generator seeded for this step, the same
     * on every rank: draw per global row, rnnc_rng_substream). Under a comm of N ranks the task
     * works on its shard of the global batch only, and sets t->weight. */
    rnnc_status (*train_batch)(rnnc_task *t, long step, uint64_t seed, rnnc_rng *rng, double *loss, double *count);
    /* Validation on the held-out data; must not change any state train_batch depends on. Under a
     * comm, each rank validates its share and the sums are reduced: every rank gets the same r. */
    rnnc_status (*validate)(rnnc_task *t, rnnc_valid_result *r);
    /* Writes the model (atomically) with extra metadata pairs and extra tensors beside its own. */
    rnnc_status (*save)(rnnc_task *t, const char *path, const char *const *keys, const char *const *values, size_t n_meta,
                        const rnnc_st_entry *extra, size_t n_extra);
    /* The task's own options as JSON (malloc'd), stored in checkpoints as "rnnc.task.options". */
    char *(*options_json)(rnnc_task *t);
    /* State tensors beyond the model that the next step depends on (named "task.*"), into e (at
     * most max); and their restore from a checkpoint. NULL when the task has none. Under a comm,
     * state gives the global batch's tensors whatever the ranks (see gather), and restore takes
     * this rank's share of them. */
    size_t (*state)(rnnc_task *t, rnnc_st_entry *e, size_t max);
    rnnc_status (*restore)(rnnc_task *t, const rnnc_safetensors *ck);
    void (*free)(rnnc_task *t);
    /* Takes this rank's share of the work once t->comm is set (before restore and the first
     * step): refuses a batch that does not split (rnnc_comm_check_batch). NULL: the task cannot
     * be split, and a run of several ranks refuses it. */
    rnnc_status (*shard)(rnnc_task *t);
    /* Under a comm, called on every rank before state: collects every rank's share of the state
     * (the LM's carried state of each rank's streams). NULL when there is nothing to collect. */
    rnnc_status (*gather)(rnnc_task *t);
    /* The files the task reads its examples from (training, validation): the first max of them
     * into paths (which may be NULL when max is 0), and their number, all of them. The run
     * records each regular file's size and digest in the checkpoint ("rnnc.run.inputs"; stdin
     * and pipes cannot be read again and are not recorded), and a resume refuses a file that
     * changed since, naming it: the continuation is exact only on the same data. NULL: none. */
    size_t (*inputs)(rnnc_task *t, const char **paths, size_t max);
} rnnc_task_ops;

/* For an ops->inputs: the non-NULL names of files[0, n) (a task's data and validation options),
 * the first max of them into paths, and their number. */
size_t rnnc_task_list_inputs(const char *const *files, size_t n, const char **paths, size_t max);

/* Every task begins with this; the task sets the fields when it is made. */
struct rnnc_task {
    const rnnc_task_ops *ops;
    float *params, *grads; /* one contiguous buffer each */
    size_t n_params;
    char describe[400];    /* one line: data, vocabulary, model ("lstm 2x256, 1.5M parameters") */
    rnnc_comm *comm;       /* set by the run: the ranks of a data-parallel run, NULL for one process */
    /* Set by train_batch under a comm: what this rank's *loss averages over (the mean's
     * denominator: target tokens, labelled items, their class weights; 0 for no rows). The run
     * weights the ranks' losses and gradients by it. */
    double weight;
};

void rnnc_task_free(rnnc_task *t);

/* Resumes a task from a checkpoint: its kind comes from "rnnc.run", its options from
 * "rnnc.task.options", its parameters from the checkpoint's tensors (state is restored later). */
typedef rnnc_status (*rnnc_task_resume_fn)(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json);

/* ---- the run ---- */

typedef enum {
    RNNC_RUN_STARTED,    /* `message` describes the task; `resumed` on a resume, `elapsed` its time so far; lr */
    RNNC_RUN_PROGRESS,   /* after every step: loss of that step, lr */
    RNNC_RUN_REPORT,     /* a training report: loss averaged since the last, tokens_per_s */
    RNNC_RUN_VALID,      /* a validation: `valid`; `improved` when best.safetensors was written */
    RNNC_RUN_CHECKPOINT, /* checkpoint.safetensors written */
    RNNC_RUN_DONE,       /* `message` says why the run stopped */
} rnnc_run_event_kind;

typedef struct {
    rnnc_run_event_kind kind;
    long step, total_steps; /* total_steps 0 when only a time budget is set */
    double epoch, tokens, elapsed, seconds_budget;
    double loss, lr, tokens_per_s;
    const rnnc_valid_result *valid;
    bool improved, resumed;
    const char *message;
    /* RNNC_RUN_REPORT of several ranks: this rank's seconds per step since the last report in the
     * gradient all-reduce (the ranks are in step when it starts, so this is the exchange) and in
     * the loss all-reduce before it (mostly waiting for the slowest rank); 0 for one process. */
    double allreduce_s, wait_s;
    /* RNNC_RUN_STARTED: the thread count the run goes on with, and on a resume the one its
     * checkpoint was written on (0 when the checkpoint does not say); different, the continued
     * run's numbers are not those of a run that never stopped */
    int threads, threads_trained;
    /* RNNC_RUN_STARTED: the step of best.safetensors so far (-1: none yet) and its validation line
     * ("" when a resumed checkpoint does not say), so a resumed run can name its best */
    long best_step;
    const char *best_line;
    /* RNNC_RUN_STARTED of a resume: the learning rate its first step would have had under the
     * checkpoint's budget (lr: the one it has under the new); NaN on a new run. A cosine schedule
     * runs over the budget, so a larger one raises it. */
    double lr_was;
    /* RNNC_RUN_STARTED: the task reads its data or validation set from the standard input, which a
     * resume must be given again (and cannot check is the same) */
    bool from_stdin;
} rnnc_run_event;

typedef void (*rnnc_run_callback)(const rnnc_run_event *e, void *ctx);

/* Trains `task` under `opts`. Takes the run directory's lock first (another live run there is
 * "RUN_DIR is in use by process N"), refuses a directory holding another run unless opts->force,
 * and owns the task from then on (frees it, also on failure). When *stop becomes non-zero (a
 * signal handler sets it) the run finishes the current step, writes the checkpoint and the model
 * (without a run directory: the model to model_out, and no checkpoint), and returns
 * RNNC_ERR_INTERRUPTED; no RNNC_RUN_DONE event is sent then (the return value says it). */
rnnc_status rnnc_run_start(const rnnc_run_opts *opts, rnnc_task *task, rnnc_run_callback cb, void *ctx,
                           volatile sig_atomic_t *stop);

/* The checks rnnc_run_start makes of a run directory, for a caller to make before its task reads
 * the data (minutes, for a big tokenizer): a live run there, or another run's files without
 * `force`. A directory that does not exist yet passes. */
rnnc_status rnnc_run_dir_check(const char *dir, bool force);

/* What a resume may change: the budget and the cadence. A field left at its "unset" value (-1 for
 * the longs and doubles, see rnnc_run_change_none) keeps the checkpoint's. */
typedef struct {
    long steps;
    double epochs, seconds;
    long log_every, eval_every, checkpoint_every, patience;
    const char *task; /* when not NULL, the task the run must be ("lm", "seq2seq"), else an error */
    rnnc_comm *comm;  /* the ranks to continue on (any number that divides the batch); NULL: one process */
    /* > 0: the caller chose the thread count (and set it, omp_set_num_threads); 0: continue on
     * the count the checkpoint was written on, where this machine has that many cores (the
     * numbers of a step depend on the thread count, so that is what makes the continuation
     * exact); the STARTED event says which count it runs on and which it trained on */
    int threads;
} rnnc_run_change;
rnnc_run_change rnnc_run_change_none(void);

/* Continues the run in run_dir from its checkpoint, exactly, with `change` applied. A budget
 * that is already spent is an error that says so. */
rnnc_status rnnc_run_resume(const char *run_dir, const rnnc_run_change *change, rnnc_run_callback cb, void *ctx,
                            volatile sig_atomic_t *stop);

/* The task kinds a checkpoint may name, and how each resumes. */
rnnc_task_resume_fn rnnc_task_resume_fn_for(const char *name);

#ifdef __cplusplus
}
#endif

#endif
