/* The training run, the same for every task; see include/rnnc/run.h.
 *
 * Exactness of resume rests on: a task's data position is a function of the step (and the seed);
 * everything else the next step depends on is in the checkpoint (parameters, optimizer moments and
 * step, the run's RNG, the task's carried state, the report accumulators); validation never
 * touches that state; and the resume runs on the same data (its files' digests, checked) with the
 * same thread count (recorded, and kept unless the caller chooses another).
 *
 * Under a communicator of N ranks (comm.h) every rank runs this same loop on its shard of each
 * global batch; the collectives are, per step, one small all-reduce of (loss x weight, weight,
 * tokens, stop request, rank 0's clock) and the all-reduce of the gradient buffer; at a
 * validation, the task's reductions; at a checkpoint, the task's state gather and a check that the
 * ranks' parameters are still the same. Files are rank 0's alone: it tells the others whether its
 * writes succeeded (agree), so a failed write stops every rank at the same point. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "rnnc/run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "rnnc/io.h"
#include "rnnc/metrics.h"
#include "rnnc/rundir.h"

#define CHECKPOINT "checkpoint.safetensors"
#define FORMAT 2 /* of checkpoints; 1 was the separate LM and seq2seq checkpoints before the run module */

rnnc_run_opts rnnc_run_defaults(void) {
    rnnc_run_opts o;
    memset(&o, 0, sizeof o);
    o.optim = rnnc_optim_defaults(RNNC_OPT_ADAMW, 2e-3);
    o.clip = 5;
    o.schedule = RNNC_SCHEDULE_COSINE;
    o.warmup = 100;
    o.min_lr_ratio = 0.1;
    o.log_every = 10;
    o.eval_every = 200;
    o.checkpoint_every = 200;
    o.seed = 1337;
    return o;
}

rnnc_status rnnc_run_opts_check(const rnnc_run_opts *o) {
    /* (an infinite budget would be written to the checkpoint as null, which no resume reads) */
    if (o->steps < 0 || !(o->epochs >= 0 && isfinite(o->epochs)) || !(o->seconds >= 0 && isfinite(o->seconds)))
        return rnnc_error(RNNC_ERR_ARG, "--steps, --epochs and --time must be finite and not negative");
    if (o->steps == 0 && o->epochs == 0 && o->seconds == 0)
        return rnnc_error(RNNC_ERR_ARG, "no training budget: give --steps, --epochs or --time");
    if (!(o->optim.lr >= 0 && o->optim.lr <= 10)) return rnnc_error(RNNC_ERR_ARG, "--lr must be in [0, 10]");
    if (!(o->clip >= 0)) return rnnc_error(RNNC_ERR_ARG, "--clip must not be negative");
    if (o->warmup < 0 || !(o->min_lr_ratio >= 0 && o->min_lr_ratio <= 1))
        return rnnc_error(RNNC_ERR_ARG, "--warmup must be >= 0 and --min-lr-ratio in [0, 1]");
    if (o->log_every < 0 || o->eval_every < 0 || o->checkpoint_every < 1 || o->patience < 0)
        return rnnc_error(RNNC_ERR_ARG, "--log-every, --eval-every and --patience must be >= 0, --checkpoint-every >= 1");
    if (!(o->ema >= 0 && o->ema <= RNNC_RUN_EMA_MAX))
        return rnnc_error(RNNC_ERR_ARG, "--ema must be in [0, %g] (0 = off; 0.999 is usual)", RNNC_RUN_EMA_MAX);
    if (!o->run_dir && !o->model_out) return rnnc_error(RNNC_ERR_ARG, "-o: no run directory given");
    return RNNC_OK;
}

double rnnc_run_lr(const rnnc_run_opts *o, long s, long total, double elapsed) {
    double p = -1; /* no known end: constant after warm-up */
    if (o->schedule == RNNC_SCHEDULE_COSINE) {
        if (total > o->warmup) p = (double)(s - o->warmup) / (double)(total - o->warmup); /* over the steps after it */
        if (o->seconds > 0 && elapsed / o->seconds > p) p = elapsed / o->seconds;
    }
    return rnnc_lr_schedule(o->optim.lr, o->min_lr_ratio, o->warmup, s, p);
}

void rnnc_task_free(rnnc_task *t) {
    if (t && t->ops && t->ops->free) t->ops->free(t);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- options <-> JSON */

static char *opts_to_json(const rnnc_run_opts *o) {
    cJSON *j = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed); /* a string: JSON numbers lose 64-bit precision */
    bool ok = j && cJSON_AddNumberToObject(j, "steps", (double)o->steps) && cJSON_AddNumberToObject(j, "epochs", o->epochs) &&
              cJSON_AddNumberToObject(j, "seconds", o->seconds) &&
              cJSON_AddStringToObject(j, "optimizer", rnnc_optim_name(o->optim.kind)) &&
              cJSON_AddNumberToObject(j, "lr", o->optim.lr) && cJSON_AddNumberToObject(j, "momentum", o->optim.momentum) &&
              cJSON_AddNumberToObject(j, "weight_decay", o->optim.weight_decay) &&
              cJSON_AddNumberToObject(j, "beta1", o->optim.beta1) && cJSON_AddNumberToObject(j, "beta2", o->optim.beta2) &&
              cJSON_AddNumberToObject(j, "eps", o->optim.eps) && cJSON_AddNumberToObject(j, "clip", o->clip) &&
              cJSON_AddStringToObject(j, "schedule", o->schedule == RNNC_SCHEDULE_COSINE ? "cosine" : "constant") &&
              cJSON_AddNumberToObject(j, "warmup", (double)o->warmup) &&
              cJSON_AddNumberToObject(j, "min_lr_ratio", o->min_lr_ratio) &&
              cJSON_AddNumberToObject(j, "log_every", (double)o->log_every) &&
              cJSON_AddNumberToObject(j, "eval_every", (double)o->eval_every) &&
              cJSON_AddNumberToObject(j, "checkpoint_every", (double)o->checkpoint_every) &&
              cJSON_AddNumberToObject(j, "patience", (double)o->patience) && cJSON_AddStringToObject(j, "seed", seed) &&
              cJSON_AddNumberToObject(j, "ema", o->ema);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static rnnc_status opts_from_json(rnnc_run_opts *o, const char *text, const char *what) {
    *o = rnnc_run_defaults();
    cJSON *j;
    rnnc_status s = rnnc_json_object(text, what, &j);
    if (s) return s;
    const char *opt = NULL, *sched = NULL, *seed = NULL;
    const double big = 9e15;
    if ((s = rnnc_json_long(j, "steps", 0, (long)big, false, &o->steps, what)) ||
        (s = rnnc_json_num(j, "epochs", 0, big, false, false, &o->epochs, what)) ||
        (s = rnnc_json_num(j, "seconds", 0, big, false, false, &o->seconds, what)) ||
        (s = rnnc_json_str(j, "optimizer", false, &opt, what)) ||
        (s = rnnc_json_num(j, "lr", 0, 10, false, false, &o->optim.lr, what)) ||
        (s = rnnc_json_num(j, "momentum", 0, 1, false, false, &o->optim.momentum, what)) ||
        (s = rnnc_json_num(j, "weight_decay", 0, 1e6, false, false, &o->optim.weight_decay, what)) ||
        (s = rnnc_json_num(j, "beta1", 0, 1, false, false, &o->optim.beta1, what)) ||
        (s = rnnc_json_num(j, "beta2", 0, 1, false, false, &o->optim.beta2, what)) ||
        (s = rnnc_json_num(j, "eps", 0, 1, false, false, &o->optim.eps, what)) ||
        (s = rnnc_json_num(j, "clip", 0, big, false, false, &o->clip, what)) ||
        (s = rnnc_json_str(j, "schedule", false, &sched, what)) ||
        (s = rnnc_json_long(j, "warmup", 0, (long)big, false, &o->warmup, what)) ||
        (s = rnnc_json_num(j, "min_lr_ratio", 0, 1, false, false, &o->min_lr_ratio, what)) ||
        (s = rnnc_json_long(j, "log_every", 0, (long)big, false, &o->log_every, what)) ||
        (s = rnnc_json_long(j, "eval_every", 0, (long)big, false, &o->eval_every, what)) ||
        (s = rnnc_json_long(j, "checkpoint_every", 1, (long)big, false, &o->checkpoint_every, what)) ||
        (s = rnnc_json_long(j, "patience", 0, (long)big, false, &o->patience, what)) ||
        (s = rnnc_json_str(j, "seed", false, &seed, what)) ||
        /* checkpoints before 2026-12-06 have none: no average */
        (s = rnnc_json_num(j, "ema", 0, RNNC_RUN_EMA_MAX, false, true, &o->ema, what)))
        goto out;
    if (rnnc_optim_parse(opt, &o->optim.kind)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: unknown optimizer '%s'", what, opt); goto out; }
    if (strcmp(sched, "cosine") == 0) o->schedule = RNNC_SCHEDULE_COSINE;
    else if (strcmp(sched, "constant") == 0) o->schedule = RNNC_SCHEDULE_CONSTANT;
    else { s = rnnc_error(RNNC_ERR_FORMAT, "%s: unknown schedule '%s'", what, sched); goto out; }
    char *end;
    errno = 0;
    o->seed = strtoull(seed, &end, 10);
    if (errno || end == seed || *end) s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"seed\" is not a 64-bit number", what);
out:
    cJSON_Delete(j);
    return s;
}

/* ---------------------------------------------------------------- the run */

typedef struct {
    rnnc_run_opts o;
    rnnc_comm *comm; /* NULL: one process */
    int rank, N;
    char *run_dir, *model_out; /* owned copies */
    rnnc_task *t;
    rnnc_optim opt;
    rnnc_rng rng;
    rnnc_metrics_log log;
    bool log_open, resumed;
    int threads_trained; /* a resume: the thread count the checkpoint was written on (0: not recorded) */
    char *inputs;        /* the task's input files, their sizes and digests (JSON, "rnnc.run.inputs"); NULL: none */
    rnnc_run_lock lock;
    size_t spe; /* steps per epoch */
    long total_steps;
    /* Progress: all of it in the checkpoint. */
    long step, bad_evals;
    double tokens, elapsed, loss_sum, best[2], last_train_loss;
    long best_step;      /* the step of best.safetensors, -1 before any validation */
    long ckpt_step;      /* the step of the last checkpoint written (or read) */
    double lr_was;       /* a resume: the learning rate of its first step under the checkpoint's budget */
    char *cwd;           /* the working directory the run started in: its relative data paths are from there */
    bool from_stdin;     /* the task reads its data or validation set from the standard input */
    char best_line[160]; /* its validation line ("" when the checkpoint does not say) */
    long loss_n;
    double norm_sum; /* gradient norms since the last report (norm_n of them, clip_n clipped) */
    long norm_n, clip_n;
    rnnc_valid_result last_valid;
    bool have_valid;
    bool valid_due; /* a stop skipped the validation of this step: the resumed run does it first */
    double report_time, report_tokens; /* tokens/s between reports (not in the checkpoint) */
    double t0;         /* the clock's origin (now_s() - elapsed at the loop's start) */
    double step_clock; /* rank 0's elapsed time after the last step's backward (several ranks) */
    double allreduce_time, wait_time; /* seconds in the two all-reduces of each step since the last report */
    long timed_n;                     /* the steps those seconds are of */
    /* The weight average (o.ema > 0; else NULL). Between a pair of avg_swap calls the two buffers
     * are exchanged: the average in the task's parameters, the raw weights here. */
    float *avg;
} run;

/* Everything the run holds. The products' cached temporaries (core/bigmem.h) go with the task's
 * model: every model's free function trims the cache, so a program that trains and then goes on
 * to other work keeps none of them. */
static void run_free(run *r) {
    free(r->cwd);
    rnnc_task_free(r->t);
    rnnc_optim_free(&r->opt);
    free(r->avg);
    if (r->log_open) rnnc_metrics_close(&r->log);
    rnnc_run_lock_drop(&r->lock);
    free(r->inputs);
    free(r->run_dir);
    free(r->model_out);
}

/* Rank 0 writes the run's files; the others never touch the directory. */
static bool writer(const run *r) { return r->rank == 0; }

/* After a step only some ranks took (rank 0's files): every rank learns whether any failed, and
 * fails too, so all stop at the same point. One process: s as it is. */
static rnnc_status agree(run *r, rnnc_status s) {
    if (r->N <= 1) return s;
    /* how many failed, and whether with one message: a 20-bit hash of each failed rank's, summed
     * and summed squared (equal hashes iff N * sum(h^2) == sum(h)^2; exact in doubles) */
    double h = 0;
    if (s) {
        uint32_t x = 2166136261u;
        for (const char *p = rnnc_last_error(); *p; p++) x = (x ^ (unsigned char)*p) * 16777619u;
        h = (double)(x >> 12);
    }
    double v[3] = {s != RNNC_OK, h, h * h};
    rnnc_status c = rnnc_comm_allreduce(r->comm, v, 3, RNNC_COMM_F64, RNNC_COMM_SUM, "the agreement after a file write");
    if (c) return c;
    if (v[0] > 0 && !s) return rnnc_error(RNNC_ERR_COMM, "%s", RNNC_COMM_PEER_FAILED);
    /* every rank failed alike (a batch that does not split, a full disk everywhere): rank 0 says
     * it, the others stand aside as for another's failure, so the job prints the line once
     * whatever the timing of its abort */
    if (s && r->rank > 0 && v[0] == (double)r->N && (double)r->N * v[2] == v[1] * v[1])
        return rnnc_error(s, "%s", RNNC_COMM_PEER_FAILED); /* (the status stays the same on every rank) */
    return s;
}

/* Every rank must hold the same parameters, step and data: checked at the start and at each
 * checkpoint (a difference means different data files on some host, or a broken all-reduce). */
static rnnc_status check_same(run *r, const char *when) {
    if (r->N <= 1) return RNNC_OK;
    uint64_t w[4] = {rnnc_comm_fingerprint(r->t->params, r->t->n_params), (uint64_t)r->t->n_params, (uint64_t)r->spe,
                     (uint64_t)r->step};
    char what[160];
    snprintf(what, sizeof what, "%s: the model's parameters, the data's steps per epoch or the step", when);
    return rnnc_comm_check_same(r->comm, w, 4, what);
}

/* Hands the task to the ranks: each takes its share. */
static rnnc_status shard(run *r) {
    r->t->comm = r->comm;
    if (r->N <= 1) return RNNC_OK;
    if (!r->t->ops->shard)
        return rnnc_error(RNNC_ERR_ARG, "the %s task cannot be split over processes: run it as one", r->t->ops->name);
    return r->t->ops->shard(r->t);
}

static char *path_in(const run *r, const char *name) {
    size_t n = strlen(r->run_dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", r->run_dir, name);
    return p;
}

static long total_steps_of(const rnnc_run_opts *o, size_t spe) {
    long t = 0;
    if (o->epochs > 0) t = (long)ceil(o->epochs * (double)spe);
    if (o->steps > 0 && (t == 0 || o->steps < t)) t = o->steps;
    return t;
}

static double epoch_of(const run *r) { return r->spe ? (double)r->step / (double)r->spe : 0; }

/* ---------------------------------------------------------------- the weight average (o.ema) */

/* Its buffer, the average starting at the task's weights (a resume then reads the checkpoint's
 * train.ema into it). */
static rnnc_status avg_new(run *r) {
    if (!(r->o.ema > 0)) return RNNC_OK;
    const size_t n = r->t->n_params;
    r->avg = malloc(n * sizeof(float));
    if (!r->avg)
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the weight average (--ema) of %zu parameters", n);
    memcpy(r->avg, r->t->params, n * sizeof(float));
    return RNNC_OK;
}

/* After optimizer step r->step (1-based): avg = d avg + (1 - d) w, d = min(ema, (1 + n) / (10 + n)). */
static void avg_update(run *r) {
    if (!r->avg) return;
    const double n = (double)r->step, d = fmin(r->o.ema, (1.0 + n) / (10.0 + n));
    const float a = (float)d, b = (float)(1.0 - d);
    const float *w = r->t->params;
    float *avg = r->avg;
    const long np = (long)r->t->n_params;
#pragma omp parallel for simd schedule(static) if (np >= 1L << 16)
    for (long i = 0; i < np; i++) avg[i] = a * avg[i] + b * w[i];
}

/* Exchanges the average and the task's parameters (no third copy of the weights): a first call puts
 * the average in for a validation or a save, the second puts the raw weights back. */
static void avg_swap(run *r) {
    if (!r->avg) return;
    float *w = r->t->params, *a = r->avg;
    const long np = (long)r->t->n_params;
#pragma omp parallel for simd schedule(static) if (np >= 1L << 16)
    for (long i = 0; i < np; i++) {
        const float x = w[i];
        w[i] = a[i];
        a[i] = x;
    }
}

static void emit(run *r, rnnc_run_callback cb, void *ctx, rnnc_run_event *e) {
    if (!cb) return;
    e->step = r->step;
    e->total_steps = r->total_steps;
    e->epoch = epoch_of(r);
    e->tokens = r->tokens;
    e->seconds_budget = r->o.seconds;
    e->resumed = r->resumed;
    cb(e, ctx);
}

/* Saves the model to `name` in the run directory (or to path when name is NULL) with where
 * training stood ("rnnc.training", which rnnc info shows). */
static rnnc_status save_model(run *r, const char *name, const char *path) {
    char info[1024];
    int n = snprintf(info, sizeof info, "{\"step\":%ld,\"tokens\":%.0f,\"epoch\":%.6f", r->step, r->tokens, epoch_of(r));
    if (isfinite(r->last_train_loss)) n += snprintf(info + n, sizeof info - (size_t)n, ",\"train_loss\":%.6f", r->last_train_loss);
    if (r->avg) n += snprintf(info + n, sizeof info - (size_t)n, ",\"ema\":%.17g", r->o.ema); /* the weights are the average */
    for (size_t i = 0; r->have_valid && i < r->last_valid.n && n < (int)sizeof info - 80; i++)
        if (isfinite(r->last_valid.m[i].value))
            n += snprintf(info + n, sizeof info - (size_t)n, ",\"%s\":%.6g", r->last_valid.m[i].name, r->last_valid.m[i].value);
    snprintf(info + n, sizeof info - (size_t)n, "}");
    if (!writer(r)) return agree(r, RNNC_OK);
    char *p = name ? path_in(r, name) : NULL;
    if (name && !p) return agree(r, rnnc_error(RNNC_ERR_NOMEM, "out of memory"));
    const char *keys[] = {"rnnc.training"}, *vals[] = {info};
    avg_swap(r); /* the average is the model (o.ema) */
    rnnc_status s = r->t->ops->save(r->t, name ? p : path, keys, vals, 1, NULL, 0);
    avg_swap(r);
    free(p);
    return agree(r, s);
}

#define MAX_STATE 8

static rnnc_status save_checkpoint(run *r) {
    rnnc_st_entry e[3 + MAX_STATE];
    size_t n = 0;
    if (r->avg) e[n++] = (rnnc_st_entry){"train.ema", RNNC_DT_F32, 1, {(int64_t)r->t->n_params}, r->avg};
    if (r->opt.state)
        e[n++] = (rnnc_st_entry){"train.optimizer_state", RNNC_DT_F32, 1,
                                 {(int64_t)((r->opt.c.kind == RNNC_OPT_SGD ? 1 : 2) * r->opt.n)}, r->opt.state};
    e[n++] = (rnnc_st_entry){"train.rng", RNNC_DT_U64, 1, {4}, r->rng.s};
    /* every rank: the state may be gathered from all of them */
    rnnc_status s0 = r->N > 1 && r->t->ops->gather ? r->t->ops->gather(r->t) : RNNC_OK;
    if (s0 || (s0 = check_same(r, "at a checkpoint"))) return s0;
    r->ckpt_step = r->step;
    if (!writer(r)) return agree(r, RNNC_OK);
    if (r->t->ops->state) n += r->t->ops->state(r->t, e + n, MAX_STATE);
    /* the best's validation line, as a JSON string (quoted and escaped) */
    cJSON *bl = cJSON_CreateString(r->best_line), *wd = cJSON_CreateString(r->cwd ? r->cwd : "");
    char *best_line = bl ? cJSON_PrintUnformatted(bl) : NULL, *cwd = wd ? cJSON_PrintUnformatted(wd) : NULL;
    cJSON_Delete(bl);
    cJSON_Delete(wd);
    if (!best_line || !cwd) {
        free(best_line);
        free(cwd);
        return agree(r, rnnc_error(RNNC_ERR_NOMEM, "out of memory saving a checkpoint"));
    }
    char *prog = malloc(2048 + strlen(cwd));
    if (!prog) {
        free(best_line);
        free(cwd);
        return agree(r, rnnc_error(RNNC_ERR_NOMEM, "out of memory saving a checkpoint"));
    }
    snprintf(prog, 2048 + strlen(cwd),
             "{\"format\":%d,\"task\":\"%s\",\"step\":%ld,\"tokens\":%.17g,\"elapsed\":%.17g,\"loss_sum\":%.17g,"
             "\"loss_n\":%ld,\"best\":[%.17g,%.17g],\"bad_evals\":%ld,\"last_train_loss\":%.17g,\"optimizer_step\":%ld,"
             "\"valid_due\":%s,\"norm_sum\":%.17g,\"norm_n\":%ld,\"clip_n\":%ld,\"threads\":%d,\"best_step\":%ld,"
             "\"best_line\":%s,\"cwd\":%s}",
             FORMAT, r->t->ops->name, r->step, r->tokens, r->elapsed, r->loss_sum, r->loss_n,
             isfinite(r->best[0]) ? r->best[0] : 1e308, isfinite(r->best[1]) ? r->best[1] : 1e308, r->bad_evals,
             isfinite(r->last_train_loss) ? r->last_train_loss : 1e308, r->opt.step, r->valid_due ? "true" : "false",
             r->norm_sum, r->norm_n, r->clip_n, omp_get_max_threads(), r->best_step, best_line, cwd);
    free(best_line);
    free(cwd);
    char *opts = opts_to_json(&r->o), *task = r->t->ops->options_json(r->t), *path = path_in(r, CHECKPOINT);
    rnnc_status s;
    if (!opts || !task || !path) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory saving a checkpoint");
    else {
        const char *keys[] = {"rnnc.run", "rnnc.run.options", "rnnc.task.options", "rnnc.run.inputs"},
                   *vals[] = {prog, opts, task, r->inputs};
        s = r->t->ops->save(r->t, path, keys, vals, r->inputs ? 4 : 3, e, n);
    }
    free(opts);
    free(task);
    free(path);
    free(prog);
    return agree(r, s);
}

/* Compares validation scores in order: a < b. */
static bool better(const double a[2], const double b[2]) { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]); }

static rnnc_status validate(run *r, rnnc_run_callback cb, void *ctx, rnnc_metrics_row *row, bool *patience_out) {
    rnnc_valid_result v;
    memset(&v, 0, sizeof v);
    avg_swap(r); /* the average is what is validated (save_model saves it as the best) */
    rnnc_status s = r->t->ops->validate(r->t, &v);
    avg_swap(r);
    if (s) return s;
    r->last_valid = v;
    r->have_valid = true;
    bool improved = better(v.score, r->best);
    if (improved) {
        r->best[0] = v.score[0];
        r->best[1] = v.score[1];
        r->bad_evals = 0;
        r->best_step = r->step;
        snprintf(r->best_line, sizeof r->best_line, "%s", v.line);
        if (r->run_dir && (s = save_model(r, "best.safetensors", NULL))) return s;
    } else r->bad_evals++;
    for (size_t i = 0; i < v.n; i++)
        for (size_t f = 0; f < RNNC_METRICS_NFIELDS; f++)
            if (strcmp(rnnc_metrics_fields[f], v.m[i].name) == 0) *rnnc_metrics_field(row, f) = v.m[i].value;
    rnnc_run_event ev = {.kind = RNNC_RUN_VALID, .valid = &r->last_valid, .improved = improved, .elapsed = r->elapsed};
    emit(r, cb, ctx, &ev);
    *patience_out = r->o.patience > 0 && r->bad_evals >= r->o.patience;
    return RNNC_OK;
}

static bool budget_spent(const run *r) {
    return (r->total_steps > 0 && r->step >= r->total_steps) || (r->o.seconds > 0 && r->elapsed >= r->o.seconds);
}

/* Several ranks, after each one's forward and backward: the global batch's mean loss (the ranks'
 * means weighted by what each averages over), the tokens read, whether any rank was asked to stop,
 * and rank 0's clock, in one small all-reduce; then each rank's gradients scaled by its share of
 * the weight and summed over the ranks, in place, so that every rank holds the gradient of the
 * global mean. */
static rnnc_status reduce_step(run *r, double *loss, double weight, double *count, volatile sig_atomic_t *stop,
                               bool *stopping) {
    double v[5] = {*loss * weight, weight, *count, stop && *stop ? 1 : 0, r->rank == 0 ? now_s() - r->t0 : 0};
    double t0 = now_s();
    rnnc_status s = rnnc_comm_allreduce(r->comm, v, 5, RNNC_COMM_F64, RNNC_COMM_SUM, "the loss all-reduce");
    if (s) return s;
    double t1 = now_s();
    r->wait_time += t1 - t0;
    if (!(v[1] > 0)) return rnnc_error(RNNC_ERR_ARG, "step %ld: the batch holds nothing to learn from", r->step + 1);
    *loss = v[0] / v[1];
    *count = v[2];
    *stopping = v[3] > 0;
    r->step_clock = v[4];
    float share = (float)(weight / v[1]);
    float *g = r->t->grads;
    if (share != 1.0f)
        for (size_t i = 0; i < r->t->n_params; i++) g[i] *= share;
    t1 = now_s();
    s = rnnc_comm_allreduce(r->comm, g, r->t->n_params, RNNC_COMM_F32, RNNC_COMM_SUM, "the gradient all-reduce");
    r->allreduce_time += now_s() - t1;
    r->timed_n++;
    return s;
}

/* A loss or gradient that is no longer finite: what the directory holds, and what may help. */
static rnnc_status diverged(const run *r, rnnc_status s) {
    if (!r->run_dir) return s;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rnnc_last_error());
    char best[64] = "";
    if (r->best_step >= 0) snprintf(best, sizeof best, ", best.safetensors its best (step %ld)", r->best_step);
    return rnnc_error(s, "%s; %s/" CHECKPOINT " holds its last checkpoint (step %ld)%s: a lower --lr, a smaller --clip or "
                      "more --warmup may get past it", msg, r->run_dir, r->ckpt_step, best);
}

static rnnc_status loop(run *r, rnnc_run_callback cb, void *ctx, volatile sig_atomic_t *stop) {
    rnnc_status s;
    double t0 = r->t0 = now_s() - r->elapsed;
    r->report_time = now_s();
    r->report_tokens = r->tokens;
    /* (elapsed: a resume's time so far, from its checkpoint) */
    rnnc_run_event ev = {.kind = RNNC_RUN_STARTED, .message = r->t->describe, .elapsed = r->elapsed,
                         .threads = omp_get_max_threads(), .threads_trained = r->threads_trained,
                         .best_step = r->best_step, .best_line = r->best_line,
                         .lr = rnnc_run_lr(&r->o, r->step, r->total_steps, r->elapsed), .lr_was = r->lr_was,
                         .from_stdin = r->from_stdin};
    emit(r, cb, ctx, &ev);
    const char *why = "the budget is spent";
    if (r->valid_due) { /* the validation a stop put off, as the run never stopped would have made it */
        rnnc_metrics_row row = rnnc_metrics_row_empty();
        row.step = (double)r->step;
        row.tokens = r->tokens;
        row.epoch = epoch_of(r);
        row.elapsed = r->elapsed;
        bool out_of_patience;
        if ((s = validate(r, cb, ctx, &row, &out_of_patience))) return s;
        if ((s = agree(r, r->log_open ? rnnc_metrics_append(&r->log, &row) : RNNC_OK))) return s;
        r->valid_due = false;
        if (out_of_patience) {
            if ((s = save_checkpoint(r)) || (s = save_model(r, "model.safetensors", NULL))) return s;
            ev = (rnnc_run_event){.kind = RNNC_RUN_DONE, .elapsed = r->elapsed,
                                  .message = "no better validation in --patience evaluations"};
            emit(r, cb, ctx, &ev);
            return RNNC_OK;
        }
    }
    for (;;) {
        /* several ranks keep the clock rank 0 sent with the last step (or the checkpoint's), so
         * that a time budget gives every rank the same learning rate and the same last step */
        if (r->N <= 1) r->elapsed = now_s() - t0;
        double lr = rnnc_run_lr(&r->o, r->step, r->total_steps, r->elapsed);
        r->opt.c.lr = lr;
        rnnc_zero_grad(r->t->grads, r->t->n_params);
        double loss = 0, count = 0;
        /* this step's generator: one draw of the run's, the same on every rank whatever its share */
        rnnc_rng step_rng;
        rnnc_rng_seed(&step_rng, rnnc_rng_u64(&r->rng));
        r->t->weight = 0;
        if ((s = r->t->ops->train_batch(r->t, r->step, r->o.seed, &step_rng, &loss, &count))) return s;
        bool stop_here = false; /* the ranks' stop requests, agreed with the losses */
        if (r->N > 1 && (s = reduce_step(r, &loss, r->t->weight, &count, stop, &stop_here))) return s;
        if ((s = rnnc_check_finite(loss, "the training loss", r->step + 1))) return diverged(r, s);
        double norm = r->o.clip > 0 ? rnnc_clip_grad_norm(r->t->grads, r->t->n_params, r->o.clip)
                                    : rnnc_grad_norm(r->t->grads, r->t->n_params);
        if ((s = rnnc_check_finite(norm, "the gradient norm", r->step + 1))) return diverged(r, s);
        r->norm_sum += norm;
        r->norm_n++;
        if (r->o.clip > 0 && rnnc_clip_coef(norm, r->o.clip) < 1.0f) r->clip_n++; /* the step it scaled down */
        rnnc_optim_step(&r->opt, r->t->params, r->t->grads);
        r->step++;
        avg_update(r);
        r->tokens += count;
        r->loss_sum += loss;
        r->loss_n++;
        r->elapsed = now_s() - t0;
        if (r->N > 1) r->elapsed = r->step_clock;
        bool last = budget_spent(r);
        ev = (rnnc_run_event){.kind = RNNC_RUN_PROGRESS, .loss = loss, .lr = lr, .elapsed = r->elapsed};
        emit(r, cb, ctx, &ev);
        /* a stop requested during this step takes effect after it (on every rank at once) */
        bool stopping = r->N > 1 ? stop_here : stop && *stop;
        /* One metrics row per step at most: a report and a validation on the same step share it. */
        const bool on_cadence = r->o.log_every > 0 && r->step % r->o.log_every == 0;
        bool report = on_cadence || last;
        bool valid = r->t->ops->validate && ((r->o.eval_every > 0 && r->step % r->o.eval_every == 0) || last);
        rnnc_metrics_row row = rnnc_metrics_row_empty();
        row.step = (double)r->step;
        row.tokens = r->tokens;
        row.epoch = epoch_of(r);
        row.elapsed = r->elapsed;
        if (report) {
            double now = now_s();
            row.train_loss = r->last_train_loss = r->loss_sum / (double)r->loss_n;
            row.lr = lr;
            row.tokens_per_s = (r->tokens - r->report_tokens) / (now - r->report_time);
            if (r->norm_n > 0) {
                row.grad_norm = r->norm_sum / (double)r->norm_n;
                if (r->o.clip > 0) row.clip_share = (double)r->clip_n / (double)r->norm_n;
            }
            /* the all-reduce times per step of this process's steps since they were last reset
             * (timed_n: not in the checkpoint, as the times are not) */
            const double timed = r->timed_n > 0 ? (double)r->timed_n : 1;
            ev = (rnnc_run_event){.kind = RNNC_RUN_REPORT, .loss = row.train_loss, .lr = lr,
                                  .tokens_per_s = row.tokens_per_s, .elapsed = r->elapsed,
                                  .allreduce_s = r->allreduce_time / timed, .wait_s = r->wait_time / timed};
            emit(r, cb, ctx, &ev);
            r->allreduce_time = r->wait_time = 0;
            r->timed_n = 0;
            /* A report off the cadence, made only because the budget ends here, leaves the sums
             * as they were: the checkpoint keeps them, so a resume's next report averages the
             * same steps as the run that never stopped does (11-20, not 14-20). */
            if (!last || on_cadence) {
                r->loss_sum = 0;
                r->loss_n = 0;
                r->norm_sum = 0;
                r->norm_n = r->clip_n = 0;
            }
            r->report_time = now;
            r->report_tokens = r->tokens;
        }
        if (valid && stopping) r->valid_due = true; /* Ctrl-C stops now: the resume validates */
        valid = valid && !stopping;
        if (valid) {
            bool out_of_patience = false;
            if ((s = validate(r, cb, ctx, &row, &out_of_patience))) return s;
            if (out_of_patience && !last) {
                last = true;
                why = "no better validation in --patience evaluations";
            }
            r->report_time = now_s(); /* validation time is not training throughput */
        }
        if ((report || valid) && (s = agree(r, r->log_open ? rnnc_metrics_append(&r->log, &row) : RNNC_OK))) return s;
        /* also at a step that wrote best.safetensors: the checkpoint then records that best, and a
         * kill -9 cannot leave a best file from steps the resume does not repeat as they were; and
         * model.safetensors with every checkpoint, so that it is never older than the checkpoint */
        if (r->run_dir && (r->step % r->o.checkpoint_every == 0 || last || stopping || r->best_step == r->step)) {
            if ((s = save_checkpoint(r))) return s;
            if (!last && !stopping && (s = save_model(r, "model.safetensors", NULL))) return s;
            ev = (rnnc_run_event){.kind = RNNC_RUN_CHECKPOINT, .elapsed = r->elapsed};
            emit(r, cb, ctx, &ev);
        }
        if (stopping) {
            if (r->run_dir) {
                if ((s = save_model(r, "model.safetensors", NULL))) return s;
                return rnnc_error(RNNC_ERR_INTERRUPTED, "stopped at step %ld; %s/" CHECKPOINT " and model.safetensors saved",
                                  r->step, r->run_dir);
            }
            /* no directory: the model where it stands (there is no checkpoint to resume from) */
            if (r->model_out && (s = save_model(r, NULL, r->model_out))) return s;
            return rnnc_error(RNNC_ERR_INTERRUPTED, "stopped at step %ld; %s%s (a run without a directory keeps no checkpoint "
                              "to resume)", r->step, r->model_out ? r->model_out : "nothing saved",
                              r->model_out ? " holds the model of that step" : "");
        }
        if (last) break;
    }
    if ((s = r->run_dir ? save_model(r, "model.safetensors", NULL) : save_model(r, NULL, r->model_out))) return s;
    ev = (rnnc_run_event){.kind = RNNC_RUN_DONE, .elapsed = r->elapsed, .message = why};
    emit(r, cb, ctx, &ev);
    return RNNC_OK;
}

/* A run's own files, where they exist, must be regular files (links to one are followed): a FIFO
 * planted as checkpoint.safetensors or model.safetensors would block the resume's read or a save's
 * open until some writer or reader came, and a directory or device would fail only at the first
 * save. Under the run's lock, before anything is read or written. */
static rnnc_status check_own_files(const char *dir) {
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    if (!path) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_status s = RNNC_OK;
    for (size_t i = 0; rnnc_run_files[i] && !s; i++) {
        snprintf(path, n, "%s/%s", dir, rnnc_run_files[i]);
        struct stat sb;
        if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) continue;
        const char *what = S_ISDIR(sb.st_mode) ? "a directory" : S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISSOCK(sb.st_mode) ? "a socket"
                                                                                                  : "a device";
        s = rnnc_error(RNNC_ERR_IO, "%s: is %s where the run keeps a regular file: remove or rename it", path, what);
    }
    free(path);
    return s;
}

/* Under the run's lock (so two runs cannot both pass this check). */
static rnnc_status check_run_dir(const char *dir, bool force) {
    const char *const *files = rnnc_run_files;
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    if (!path) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    snprintf(path, n, "%s/" CHECKPOINT, dir);
    bool resumable = access(path, F_OK) == 0;
    rnnc_status s = RNNC_OK;
    for (size_t i = 0; files[i] && !s; i++) {
        snprintf(path, n, "%s/%s", dir, files[i]);
        if (access(path, F_OK) != 0) continue;
        if (!force) {
            if (resumable)
                s = rnnc_error(RNNC_ERR_ARG, "%s holds another run (%s): continue it with --resume, or start over with --force",
                               dir, CHECKPOINT);
            else
                s = rnnc_error(RNNC_ERR_ARG, "%s holds files of another run (%s) but no checkpoint to resume: start over "
                               "with --force, or give a new directory", dir, files[i]);
        } else if (unlink(path) != 0 && errno != ENOENT)
            s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot remove the old run's file", path);
    }
    free(path);
    return s;
}

rnnc_status rnnc_run_dir_check(const char *dir, bool force) {
    struct stat st;
    if (!dir || stat(dir, &st) != 0) return RNNC_OK; /* made when the run starts */
    rnnc_run_lock l;
    rnnc_status s = rnnc_run_lock_take(&l, dir, false);
    if (s) return s;
    if (!force) s = check_run_dir(dir, false);
    rnnc_run_lock_drop(&l);
    return s;
}

static rnnc_status prepare(run *r) {
    r->spe = r->t->ops->steps_per_epoch(r->t);
    if (r->spe == 0) return rnnc_error(RNNC_ERR_ARG, "the training data makes no batch");
    r->total_steps = total_steps_of(&r->o, r->spe);
    rnnc_status s = RNNC_OK;
    if (r->run_dir && writer(r) && !(s = rnnc_metrics_open(&r->log, r->run_dir))) r->log_open = true;
    return agree(r, s);
}

/* ---- the task's input files: what a resume checks has not changed ---- */

size_t rnnc_task_list_inputs(const char *const *files, size_t n, const char **paths, size_t max) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (files[i]) {
            if (k < max) paths[k] = files[i];
            k++;
        }
    return k;
}

/* The most files a checkpoint's record may list: a crafted one listing a big file a hundred
 * thousand times must not make a resume read for hours (a run records its task's few files). */
#define MAX_INPUTS 4096

/* A 64-bit digest of a file's bytes (a change detector, not a cryptographic hash: eight bytes
 * a multiply and a shift, about as fast as the file is read) and its size. */
static rnnc_status digest_file(const char *path, uint64_t *h, uint64_t *size) {
    /* regular files only, asked before opening: a crafted checkpoint naming /dev/zero or a FIFO
     * must not make the resume read forever (or wait for a writer in open) */
    struct stat sb;
    if (stat(path, &sb) != 0) return rnnc_error(RNNC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return rnnc_error(RNNC_ERR_IO, "%s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return rnnc_error(RNNC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    enum { BLOCK = 1 << 20 };
    unsigned char *buf = malloc(BLOCK);
    if (!buf) { fclose(f); return rnnc_error(RNNC_ERR_NOMEM, "out of memory reading %s", path); }
    uint64_t x = 0x9e3779b97f4a7c15ULL, n = 0;
    size_t got;
    while ((got = fread(buf, 1, BLOCK, f)) > 0) {
        size_t i = 0;
        for (; i + 8 <= got; i += 8) {
            uint64_t w;
            memcpy(&w, buf + i, 8);
            x = (x ^ w) * 0xff51afd7ed558ccdULL;
            x ^= x >> 32;
        }
        for (; i < got; i++) x = (x ^ buf[i]) * 0x100000001b3ULL;
        n += got;
    }
    int err = ferror(f);
    fclose(f);
    free(buf);
    if (err) return rnnc_error(RNNC_ERR_IO, "%s: read error", path);
    *h = x ^ n;
    *size = n;
    return RNNC_OK;
}

/* The task's input files as the JSON array [{"path", "bytes", "digest"}, ...] (malloc'd in
 * *out; NULL when the task names none). */
static rnnc_status inputs_json(rnnc_task *t, char **out) {
    *out = NULL;
    size_t n = t->ops->inputs ? t->ops->inputs(t, NULL, 0) : 0;
    if (!n) return RNNC_OK;
    const char **paths = malloc(n * sizeof *paths);
    cJSON *a = paths ? cJSON_CreateArray() : NULL;
    rnnc_status s = a ? RNNC_OK : rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) n = t->ops->inputs(t, paths, n);
    for (size_t i = 0; i < n && !s; i++) {
        /* stdin or a pipe (--data -, <(zcat ...)) cannot be read again: nothing to record */
        struct stat sb;
        if (!strcmp(paths[i], "-") || stat(paths[i], &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        uint64_t h = 0, size = 0;
        char hex[17];
        if ((s = digest_file(paths[i], &h, &size))) break;
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "path", paths[i]) || !cJSON_AddNumberToObject(o, "bytes", (double)size) ||
            !cJSON_AddStringToObject(o, "digest", hex) || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
        }
    }
    if (!s && cJSON_GetArraySize(a) > 0 && !(*out = cJSON_PrintUnformatted(a))) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    cJSON_Delete(a);
    free(paths);
    return s;
}

/* A resume, before the task reads its data: each input file the checkpoint recorded (`stored`,
 * its "rnnc.run.inputs"; NULL in checkpoints before 2026-12-07: nothing to check) must be as it
 * was, byte for byte (its size and digest). */
static rnnc_status inputs_unchanged(const char *stored, const char *ckpt) {
    if (!stored) return RNNC_OK;
    cJSON *a = cJSON_Parse(stored);
    rnnc_status s = cJSON_IsArray(a) ? RNNC_OK : rnnc_error(RNNC_ERR_FORMAT, "%s: metadata rnnc.run.inputs is not a JSON array", ckpt);
    if (!s && cJSON_GetArraySize(a) > MAX_INPUTS)
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata rnnc.run.inputs lists %d files, more than %d", ckpt, cJSON_GetArraySize(a),
                       MAX_INPUTS);
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (s) break;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "path"), *nb = cJSON_GetObjectItemCaseSensitive(x, "bytes"),
                    *d = cJSON_GetObjectItemCaseSensitive(x, "digest");
        if (!cJSON_IsString(p) || !cJSON_IsNumber(nb) || !cJSON_IsString(d)) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata rnnc.run.inputs: an entry lacks its path, bytes or digest", ckpt);
            break;
        }
        uint64_t h = 0, size = 0;
        char hex[17];
        if ((s = digest_file(p->valuestring, &h, &size))) break;
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
        if ((double)size != nb->valuedouble || strcmp(hex, d->valuestring))
            s = rnnc_error(RNNC_ERR_ARG, "%s has changed since the run started (%.0f bytes then, %.0f now%s): a resume continues "
                           "exactly only on the same data; put the file back, or start a new run", p->valuestring,
                           nb->valuedouble, (double)size, (double)size == nb->valuedouble ? ", other bytes" : "");
    }
    cJSON_Delete(a);
    return s;
}

rnnc_status rnnc_run_start(const rnnc_run_opts *opts, rnnc_task *task, rnnc_run_callback cb, void *ctx,
                           volatile sig_atomic_t *stop) {
    run r;
    memset(&r, 0, sizeof r);
    r.t = task;
    rnnc_status s = rnnc_run_opts_check(opts);
    if (s) goto out;
    r.o = *opts;
    r.best[0] = r.best[1] = INFINITY;
    r.best_step = -1;
    r.lr_was = NAN;
    r.last_train_loss = NAN;
    if ((opts->run_dir && !(r.run_dir = strdup(opts->run_dir))) || (opts->model_out && !(r.model_out = strdup(opts->model_out)))) {
        s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
        goto out;
    }
    r.o.run_dir = r.run_dir;
    r.o.model_out = r.model_out;
    r.cwd = getcwd(NULL, 0); /* NULL (unknown, no memory): the checkpoint records "" and a resume reads from its own */
    r.comm = opts->comm;
    r.rank = rnnc_comm_rank(r.comm);
    r.N = rnnc_comm_size(r.comm);
    if (r.run_dir && writer(&r) && !(s = rnnc_run_lock_take(&r.lock, r.run_dir, true)) &&
        !(s = check_run_dir(r.run_dir, opts->force)))
        s = check_own_files(r.run_dir);
    if ((s = agree(&r, s))) goto out;
    if ((s = agree(&r, shard(&r)))) goto out;
    rnnc_rng_seed(&r.rng, r.o.seed);
    if ((s = rnnc_optim_init(&r.opt, &r.o.optim, task->n_params)) || (s = avg_new(&r))) goto out;
    r.spe = task->ops->steps_per_epoch(task);
    if (r.run_dir && writer(&r)) s = inputs_json(task, &r.inputs);
    size_t n_in = task->ops->inputs ? task->ops->inputs(task, NULL, 0) : 0;
    const char **in = n_in ? malloc(n_in * sizeof *in) : NULL;
    if (in) n_in = task->ops->inputs(task, in, n_in);
    for (size_t i = 0; in && i < n_in; i++) r.from_stdin |= !strcmp(in[i], "-");
    free(in);
    if ((s = agree(&r, s))) goto out;
    if ((s = check_same(&r, "at the start"))) goto out;
    /* the step-0 checkpoint: from here on, whatever stops the run, --resume continues it */
    if (r.run_dir && (s = save_checkpoint(&r))) goto out;
    if ((s = prepare(&r))) goto out;
    s = loop(&r, cb, ctx, stop);
out:
    run_free(&r);
    return s;
}

rnnc_run_change rnnc_run_change_none(void) {
    return (rnnc_run_change){.steps = -1, .epochs = -1, .seconds = -1, .log_every = -1, .eval_every = -1,
                             .checkpoint_every = -1, .patience = -1};
}

/* A checkpoint is a file from anyone: the files its task options name (the data, the validation
 * set, a tokenizer file), which the task opens on resume, must be regular files where they exist,
 * or a crafted one naming a FIFO would hang the resume in open and one naming a device read it
 * forever. (One that does not exist is left to the task's own error.) *from_stdin: whether the
 * data or validation set is the standard input ("-"), which a resume reads again and cannot
 * check is the same (its bytes were never recorded). */
static rnnc_status task_files_regular(const char *topts, const char *ckpt, bool *from_stdin) {
    *from_stdin = false;
    static const char *const keys[] = {"data", "valid", "tokenizer", "source_tokenizer", "target_tokenizer"};
    cJSON *j = cJSON_Parse(topts);
    rnnc_status s = RNNC_OK;
    for (size_t k = 0; j && !s && k < sizeof keys / sizeof keys[0]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k]);
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
        for (int i = 0; i < n && !s; i++) {
            const cJSON *x = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : v;
            if (k < 2 && cJSON_IsString(x) && !strcmp(x->valuestring, "-")) *from_stdin = true;
            struct stat sb;
            if (cJSON_IsString(x) && stat(x->valuestring, &sb) == 0 && !S_ISREG(sb.st_mode))
                s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.task.options names %s as its %s, which is not a regular file", ckpt,
                               x->valuestring, keys[k]);
        }
    }
    cJSON_Delete(j); /* malformed options: the task's resume says so */
    return s;
}

/* A relative path of the run's, as seen from `cwd`: "-" (stdin) and absolute paths stay. */
static bool rebase_one(cJSON *x, const char *cwd) {
    if (!cJSON_IsString(x) || !x->valuestring[0] || !strcmp(x->valuestring, "-") || x->valuestring[0] == '/') return true;
    size_t n = strlen(cwd) + strlen(x->valuestring) + 2;
    char *p = malloc(n);
    if (!p) return false;
    snprintf(p, n, "%s/%s", cwd, x->valuestring);
    bool ok = cJSON_SetValuestring(x, p) != NULL;
    free(p);
    return ok;
}

/* A resume in another working directory than the run's start: the relative data paths of the
 * task options ("data", "valid": a string or an array of them) or of the inputs record (each
 * "path") made absolute from the run's `cwd`, as the run read them. The new JSON in *out
 * (malloc'd), or NULL when json is malformed (left to its reader's error). */
static rnnc_status rebase_paths(const char *json, const char *cwd, bool inputs, char **out) {
    *out = NULL;
    cJSON *j = cJSON_Parse(json);
    if (!j) return RNNC_OK;
    bool ok = true;
    if (inputs) {
        cJSON *x;
        cJSON_ArrayForEach(x, j) ok = ok && rebase_one(cJSON_GetObjectItemCaseSensitive(x, "path"), cwd);
    } else {
        static const char *const keys[] = {"data", "valid"};
        for (size_t k = 0; k < 2; k++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k]), *x;
            if (cJSON_IsArray(v)) { cJSON_ArrayForEach(x, v) ok = ok && rebase_one(x, cwd); }
            else ok = ok && rebase_one(v, cwd);
        }
    }
    if (ok) ok = (*out = cJSON_PrintUnformatted(j)) != NULL;
    cJSON_Delete(j);
    return ok ? RNNC_OK : rnnc_error(RNNC_ERR_NOMEM, "out of memory");
}

/* True when a and b name the same directory. */
static bool same_dir(const char *a, const char *b) {
    struct stat sa, sb;
    if (!strcmp(a, b)) return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Reads the checkpoint (st, which it frees): progress, options, the task, its shard, optimizer,
 * RNG and the task's state. Every rank parses the same bytes, so they fail alike up to the task
 * (which reads its data files on each rank): from there on they agree. */
static rnnc_status load_checkpoint(run *r, rnnc_safetensors *stp, const char *want_task) {
    rnnc_safetensors st = *stp;
    const char *path = st.path;
    rnnc_status s = RNNC_OK;
    cJSON *pj = NULL;
    char *topts_rebased = NULL, *stored_rebased = NULL; /* (a resume from elsewhere: see below) */
    const char *prog = rnnc_st_meta(&st, "rnnc.run");
    char what[600];
    snprintf(what, sizeof what, "%s: metadata rnnc.run", path);
    if (!prog) {
        if (rnnc_st_meta(&st, "rnnc.progress") || rnnc_st_meta(&st, "rnnc.train.pos"))
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: a checkpoint of an older rnnc (format 1), which this version cannot resume; "
                           "its model still loads (rnnc info, sample, eval, seq2seq translate), or train again", path);
        else
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: not a training checkpoint (no metadata rnnc.run)", path);
        goto out;
    }
    if ((s = rnnc_json_object(prog, what, &pj))) goto out;
    int format = 0;
    const char *task = NULL;
    double best0 = 0, best1 = 0;
    const double big = 9e15;
    if ((s = rnnc_json_int(pj, "format", 1, 1000, false, &format, what)) || (s = rnnc_json_str(pj, "task", false, &task, what)))
        goto out;
    if (format != FORMAT) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: checkpoint format %d, this rnnc reads format %d", path, format, FORMAT);
        goto out;
    }
    if (want_task && !rnnc_task_resume_fn_for(want_task)) {
        s = rnnc_error(RNNC_ERR_ARG, "'%s' is not a task (lm, seq2seq, classify, tag or forecast)", want_task);
        goto out;
    }
    if (want_task && strcmp(task, want_task) != 0) {
        bool lm = strcmp(task, "lm") == 0;
        /* every trainer but the LM's is rnnc TASK train */
        s = rnnc_error(RNNC_ERR_ARG, "%s: this is a checkpoint of a %s run; resume it with rnnc %s%strain --resume %s", path,
                       lm ? "language-model" : task, lm ? "" : task, lm ? "" : " ", r->run_dir);
        goto out;
    }
    rnnc_task_resume_fn fn = rnnc_task_resume_fn_for(task);
    if (!fn) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: a checkpoint of task '%s', which this rnnc does not know", path, task); goto out; }
    const cJSON *best = cJSON_GetObjectItemCaseSensitive(pj, "best");
    if (!cJSON_IsArray(best) || cJSON_GetArraySize(best) != 2 || !cJSON_IsNumber(best->child) ||
        !cJSON_IsNumber(best->child->next)) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"best\" is not a pair of numbers", what);
        goto out;
    }
    best0 = best->child->valuedouble;
    best1 = best->child->next->valuedouble;
    r->best_step = -1; /* (checkpoints before 2026-12-08 do not say) */
    const char *best_line = "", *run_cwd = NULL;
    if ((s = rnnc_json_long(pj, "step", 0, (long)big, false, &r->step, what)) ||
        (s = rnnc_json_num(pj, "tokens", 0, 1e300, false, false, &r->tokens, what)) ||
        (s = rnnc_json_num(pj, "elapsed", 0, 1e300, false, false, &r->elapsed, what)) ||
        (s = rnnc_json_num(pj, "loss_sum", -1e300, 1e300, false, false, &r->loss_sum, what)) ||
        (s = rnnc_json_long(pj, "loss_n", 0, (long)big, false, &r->loss_n, what)) ||
        (s = rnnc_json_long(pj, "bad_evals", 0, (long)big, false, &r->bad_evals, what)) ||
        (s = rnnc_json_long(pj, "best_step", -1, (long)big, true, &r->best_step, what)) ||
        (s = rnnc_json_num(pj, "last_train_loss", -1e308, 1e308, false, false, &r->last_train_loss, what)) ||
        (s = rnnc_json_long(pj, "optimizer_step", 0, (long)big, false, &r->opt.step, what)) ||
        (s = rnnc_json_bool(pj, "valid_due", false, &r->valid_due, what)) ||
        /* the gradient-norm report's sums (checkpoints before 2026-12-06 have none: 0) */
        (s = rnnc_json_num(pj, "norm_sum", 0, 1e300, false, true, &r->norm_sum, what)) ||
        (s = rnnc_json_long(pj, "norm_n", 0, (long)big, true, &r->norm_n, what)) ||
        (s = rnnc_json_long(pj, "clip_n", 0, (long)big, true, &r->clip_n, what)) ||
        /* the threads it trained on (checkpoints before 2026-12-07 do not say: 0) */
        (s = rnnc_json_int(pj, "threads", 1, 1 << 20, true, &r->threads_trained, what)) ||
        (s = rnnc_json_str(pj, "best_line", true, &best_line, what)) ||
        (s = rnnc_json_str(pj, "cwd", true, &run_cwd, what)))
        goto out;
    if (r->best_step > r->step) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"best_step\" %ld is after \"step\" %ld", what, r->best_step, r->step);
        goto out;
    }
    snprintf(r->best_line, sizeof r->best_line, "%s", best_line);
    for (char *c = r->best_line; *c; c++) /* printed as it is: a crafted one's control bytes would drive the terminal */
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    r->ckpt_step = r->step;
    if (r->clip_n > r->norm_n) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"clip_n\" %ld is more than \"norm_n\" %ld", what, r->clip_n, r->norm_n);
        goto out;
    }
    long opt_step = r->opt.step;
    r->best[0] = best0 >= 1e308 ? INFINITY : best0;
    r->best[1] = best1 >= 1e308 ? INFINITY : best1;
    if (r->last_train_loss >= 1e308) r->last_train_loss = NAN;
    snprintf(what, sizeof what, "%s: metadata rnnc.run.options", path);
    if ((s = opts_from_json(&r->o, rnnc_st_meta(&st, "rnnc.run.options"), what))) goto out;
    const char *topts = rnnc_st_meta(&st, "rnnc.task.options");
    if (!topts) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata rnnc.task.options is missing", path); goto out; }
    /* the data the task is about to read must be what the run trained on */
    const char *stored = rnnc_st_meta(&st, "rnnc.run.inputs");
    /* resumed from elsewhere: its relative paths read from where the run started (the data it
     * trained on, not a file of the same name here); the records that follow keep them absolute.
     * Not under mpirun, where each rank reads them from its own working directory (a host's
     * --wdir, which need not be rank 0's) */
    char *here = getcwd(NULL, 0);
    struct stat cwd_sb; /* (a project folder moved or copied since: its paths read from here, as before) */
    if (r->N <= 1 && run_cwd && *run_cwd && here && !same_dir(run_cwd, here) && stat(run_cwd, &cwd_sb) == 0 &&
        S_ISDIR(cwd_sb.st_mode)) {
        if (!(s = rebase_paths(topts, run_cwd, false, &topts_rebased)) && stored)
            s = rebase_paths(stored, run_cwd, true, &stored_rebased);
        if (topts_rebased) topts = topts_rebased;
        if (stored_rebased) stored = stored_rebased;
    }
    r->cwd = run_cwd && *run_cwd ? strdup(run_cwd) : here ? strdup(here) : NULL;
    free(here);
    if (s) goto out;
    bool from_stdin;
    if (!(s = task_files_regular(topts, path, &from_stdin)) && writer(r)) s = inputs_unchanged(stored, path);
    r->from_stdin = from_stdin;
    if ((s = agree(r, s)) || (s = agree(r, fn(&r->t, &st, topts)))) goto out;
    if (from_stdin) { /* said on the run's first line, as the task's own notes are */
        size_t at = strlen(r->t->describe);
        snprintf(r->t->describe + at, sizeof r->t->describe - at,
                 "; note: the run's data came from the standard input, which a resume reads again and cannot check is the same");
    }
    /* the record goes on into the checkpoints to come: the one just checked, or for a run from
     * before the record, one made now */
    if (writer(r)) {
        if (stored && !(r->inputs = strdup(stored))) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
        else if (!stored) s = inputs_json(r->t, &r->inputs);
    }
    if ((s = agree(r, s))) goto out;
    if ((s = agree(r, shard(r)))) goto out;
    if ((s = rnnc_optim_init(&r->opt, &r->o.optim, r->t->n_params))) goto out;
    r->opt.step = opt_step;
    if (r->opt.state) {
        int64_t ns = (int64_t)((r->o.optim.kind == RNNC_OPT_SGD ? 1 : 2) * r->opt.n);
        if ((s = rnnc_st_read_f32(&st, "train.optimizer_state", 1, &ns, r->opt.state))) goto out;
    }
    if ((s = avg_new(r))) goto out;
    if (r->avg) {
        int64_t np = (int64_t)r->t->n_params;
        if (!rnnc_st_find(&st, "train.ema")) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: the run averages its weights (\"ema\" %g in rnnc.run.options) but the checkpoint "
                           "has no tensor train.ema", path, r->o.ema);
            goto out;
        }
        if ((s = rnnc_st_read_f32(&st, "train.ema", 1, &np, r->avg))) goto out;
    }
    int64_t four = 4, rng[4];
    if ((s = rnnc_st_read_i64(&st, "train.rng", 1, &four, rng))) goto out;
    for (int i = 0; i < 4; i++) r->rng.s[i] = (uint64_t)rng[i];
    if (r->t->ops->restore && (s = agree(r, r->t->ops->restore(r->t, &st)))) goto out;
out:
    free(topts_rebased);
    free(stored_rebased);
    cJSON_Delete(pj);
    rnnc_st_free(&st);
    return s;
}

/* The cores this process may run on (its affinity mask: a container's or taskset's limit, not
 * the machine's count). */
static int usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

rnnc_status rnnc_run_resume(const char *run_dir, const rnnc_run_change *change, rnnc_run_callback cb, void *ctx,
                            volatile sig_atomic_t *stop) {
    const int threads_before = omp_get_max_threads();
    run r;
    memset(&r, 0, sizeof r);
    r.resumed = true;
    r.comm = change ? change->comm : NULL;
    r.rank = rnnc_comm_rank(r.comm);
    r.N = rnnc_comm_size(r.comm);
    rnnc_status s = RNNC_OK;
    char *path = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    if (!(r.run_dir = strdup(run_dir)) || !(path = path_in(&r, CHECKPOINT))) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    /* rank 0 alone reads the directory, and sends the checkpoint to the others */
    /* no checkpoint: nothing of the directory is touched (no lock file made, no temp file removed) */
    struct stat sb;
    if (!s && writer(&r) && stat(run_dir, &sb) == 0 && S_ISDIR(sb.st_mode) && access(path, F_OK) != 0 && errno == ENOENT)
        s = rnnc_error(RNNC_ERR_IO, "%s: no " CHECKPOINT " to resume: the run there never saved one; start it again "
                       "without --resume (with --force if the directory holds other files)", run_dir);
    if (!s && writer(&r) && !(s = rnnc_run_lock_take(&r.lock, run_dir, false)) && !(s = check_own_files(run_dir))) {
        if (access(path, F_OK) != 0) /* removed since the look above */
            s = rnnc_error(RNNC_ERR_IO, "%s: no " CHECKPOINT " to resume: the run there never saved one; start it again "
                           "without --resume (with --force if the directory holds other files)", run_dir);
        else
            s = rnnc_read_file(path, &buf, &len);
    }
    if ((s = agree(&r, s))) goto out;
    if (r.N > 1) {
        uint64_t n = len;
        if ((s = rnnc_comm_bcast(r.comm, &n, sizeof n, 0, "sending the checkpoint"))) goto out;
        if (!writer(&r) && !(buf = malloc(n ? n : 1))) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for a checkpoint of %llu bytes",
                                                                   (unsigned long long)n);
        if ((s = agree(&r, s)) || (s = rnnc_comm_bcast(r.comm, buf, n, 0, "sending the checkpoint"))) goto out;
        len = n;
    }
    rnnc_safetensors st;
    s = rnnc_st_parse(&st, buf, len, path);
    buf = NULL; /* st owns it */
    if (s || (s = load_checkpoint(&r, &st, change ? change->task : NULL))) goto out;
    r.o.run_dir = r.run_dir;
    r.o.force = false;
    /* The numbers of a step depend on the thread count (the order of some sums): a resume whose
     * caller chose no count (change->threads 0, no OMP_NUM_THREADS) continues on the run's own,
     * where this process may use that many cores, so that the run is the one that never stopped,
     * bit for bit. The count in force before is put back at the end. */
    if (change && change->threads > 0) omp_set_num_threads(change->threads);
    else if (r.threads_trained > 0 && !getenv("OMP_NUM_THREADS") && r.threads_trained != omp_get_max_threads() &&
             r.threads_trained <= usable_cores())
        omp_set_num_threads(r.threads_trained);
    if (change && (!isfinite(change->epochs) || !isfinite(change->seconds))) {
        /* (NaN would read as "unset" below, an infinity as a budget no checkpoint can record) */
        s = rnnc_error(RNNC_ERR_ARG, "--epochs and --time must be finite numbers (-1: keep the checkpoint's)");
        goto out;
    }
    rnnc_run_opts before = r.o; /* the budget as the checkpoint has it */
    if (change) {
        if (change->steps >= 0 || change->epochs >= 0 || change->seconds >= 0) { /* a new budget replaces the old */
            r.o.steps = change->steps > 0 ? change->steps : 0;
            r.o.epochs = change->epochs > 0 ? change->epochs : 0;
            r.o.seconds = change->seconds > 0 ? change->seconds : 0;
        }
        if (change->log_every >= 0) r.o.log_every = change->log_every;
        if (change->eval_every >= 0) r.o.eval_every = change->eval_every;
        if (change->checkpoint_every >= 1) r.o.checkpoint_every = change->checkpoint_every;
        if (change->patience >= 0) r.o.patience = change->patience;
        if ((s = rnnc_run_opts_check(&r.o))) goto out;
    }
    if ((s = prepare(&r))) goto out;
    /* a cosine schedule runs over the budget: a new one moves the learning rate of this step */
    r.lr_was = rnnc_run_lr(&before, r.step, total_steps_of(&before, r.spe), r.elapsed);
    if (r.total_steps > 0 && r.step >= r.total_steps) {
        /* in the unit of the budget that ends the run */
        char ends[96];
        if (r.o.steps > 0 && r.o.steps == r.total_steps) snprintf(ends, sizeof ends, "--steps %ld", r.o.steps);
        else snprintf(ends, sizeof ends, "--epochs %g, %ld steps of %zu an epoch", r.o.epochs, r.total_steps, r.spe);
        s = rnnc_error(RNNC_ERR_ARG, "%s: the budget is used up: the checkpoint is at step %ld (epoch %.2f) and the budget "
                       "ends at step %ld (%s); give a larger --steps or --epochs to train on", run_dir, r.step, epoch_of(&r),
                       r.total_steps, ends);
        goto out;
    }
    /* refused only when patience ended it: not a run whose budget ran out at the same validation,
     * nor one with --eval-every 0 (patience is ignored there) */
    const long before_total = total_steps_of(&before, r.spe);
    const bool spent_before = (before_total > 0 && r.step >= before_total) || (before.seconds > 0 && r.elapsed >= before.seconds);
    if (r.o.patience > 0 && r.o.eval_every > 0 && !spent_before && r.bad_evals >= r.o.patience) {
        s = rnnc_error(RNNC_ERR_ARG, "%s: the run stopped early: no better validation in its last %ld evaluations (--patience "
                       "%ld); give a larger --patience to train on", run_dir, r.bad_evals, r.o.patience);
        goto out;
    }
    if (r.o.seconds > 0 && r.elapsed >= r.o.seconds) {
        s = rnnc_error(RNNC_ERR_ARG, "%s: the budget is used up: the run has trained %.0f s of its --time %.0f s; give a larger "
                       "--time (or --steps/--epochs) to train on", run_dir, r.elapsed, r.o.seconds);
        goto out;
    }
    if ((s = check_same(&r, "at the resume"))) goto out;
    s = loop(&r, cb, ctx, stop);
out:
    free(buf);
    free(path);
    run_free(&r);
    if (omp_get_max_threads() != threads_before) omp_set_num_threads(threads_before); /* the caller's, as it was */
    return s;
}
