/* Language-model training runs with exact resume; see include/rnnc/train.h.
 *
 * Exactness of resume rests on three things: everything that influences the next step lives in
 * the checkpoint (parameters, optimizer moments and step, the recurrent state carried between
 * windows, the RNG, the data position, the report accumulators); the data and tokenizer are
 * rebuilt deterministically from the stored options and the stored tokenizer; and validation uses
 * a workspace of its own, so it never disturbs the training state. */
#include "rnnc/train.h"
#include "rnnc/nn.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rnnc/batch.h"
#include "rnnc/io.h"
#include "rnnc/metrics.h"
#include "rnnc/rundir.h"
#include "rnnc/safetensors.h"
#include "rnnc/tokenizer.h"

#define CHECKPOINT "checkpoint.safetensors"

rnnc_train_opts rnnc_train_defaults(void) {
    rnnc_train_opts o;
    memset(&o, 0, sizeof o);
    o.valid_fraction = 0.05;
    o.tokenizer = "char";
    o.cell = RNNC_CELL_LSTM;
    o.layers = 2;
    o.hidden = 256;
    o.embed = 64;
    o.unigram_bias = true;
    o.batch = 32;
    o.seq = 128;
    o.optim = rnnc_optim_defaults(RNNC_OPT_ADAMW, 2e-3);
    o.clip = 5;
    o.warmup = 100;
    o.min_lr_ratio = 0.1;
    o.report_every = 10;
    o.eval_every = 200;
    o.checkpoint_every = 200;
    o.seed = 1337;
    return o;
}

double rnnc_train_lr(const rnnc_train_opts *o, long s, long total) {
    double progress = total <= 0 || total <= o->warmup ? -1 : (double)(s - o->warmup) / (double)(total - o->warmup);
    return rnnc_lr_schedule(o->optim.lr, o->min_lr_ratio, o->warmup, s, progress);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- options <-> JSON */

static char *opts_to_json(const rnnc_train_opts *o) {
    cJSON *j = cJSON_CreateObject();
    cJSON *d = cJSON_AddArrayToObject(j, "data");
    for (size_t i = 0; i < o->n_data; i++) cJSON_AddItemToArray(d, cJSON_CreateString(o->data[i]));
    if (o->valid) cJSON_AddStringToObject(j, "valid", o->valid);
    cJSON_AddNumberToObject(j, "valid_fraction", o->valid_fraction);
    cJSON_AddStringToObject(j, "tokenizer", o->tokenizer);
    cJSON_AddStringToObject(j, "cell", rnnc_cell_name(o->cell));
    cJSON_AddNumberToObject(j, "layers", o->layers);
    cJSON_AddNumberToObject(j, "hidden", o->hidden);
    cJSON_AddNumberToObject(j, "embed", o->embed);
    cJSON_AddNumberToObject(j, "dropout", o->dropout);
    cJSON_AddBoolToObject(j, "unigram_bias", o->unigram_bias);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "seq", o->seq);
    cJSON_AddNumberToObject(j, "steps", (double)o->steps);
    cJSON_AddNumberToObject(j, "epochs", o->epochs);
    cJSON_AddNumberToObject(j, "seconds", o->seconds);
    cJSON_AddStringToObject(j, "optimizer", rnnc_optim_name(o->optim.kind));
    cJSON_AddNumberToObject(j, "lr", o->optim.lr);
    cJSON_AddNumberToObject(j, "momentum", o->optim.momentum);
    cJSON_AddNumberToObject(j, "weight_decay", o->optim.weight_decay);
    cJSON_AddNumberToObject(j, "beta1", o->optim.beta1);
    cJSON_AddNumberToObject(j, "beta2", o->optim.beta2);
    cJSON_AddNumberToObject(j, "eps", o->optim.eps);
    cJSON_AddNumberToObject(j, "clip", o->clip);
    cJSON_AddNumberToObject(j, "warmup", (double)o->warmup);
    cJSON_AddNumberToObject(j, "min_lr_ratio", o->min_lr_ratio);
    cJSON_AddNumberToObject(j, "report_every", (double)o->report_every);
    cJSON_AddNumberToObject(j, "eval_every", (double)o->eval_every);
    cJSON_AddNumberToObject(j, "eval_max_tokens", (double)o->eval_max_tokens);
    cJSON_AddNumberToObject(j, "checkpoint_every", (double)o->checkpoint_every);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed); /* a string: JSON numbers lose 64-bit precision */
    cJSON_AddStringToObject(j, "seed", seed);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Options parsed back from a checkpoint; the strings are owned by `strings` (freed by the caller). */
typedef struct {
    rnnc_train_opts o;
    char **strings;
    size_t n_strings;
} owned_opts;

static void owned_free(owned_opts *w) {
    for (size_t i = 0; i < w->n_strings; i++) free(w->strings[i]);
    free(w->strings);
    free((void *)w->o.data);
    memset(w, 0, sizeof *w);
}

static const char *own(owned_opts *w, const char *s) {
    char **ns = realloc(w->strings, (w->n_strings + 1) * sizeof *ns);
    if (!ns) return NULL;
    w->strings = ns;
    return w->strings[w->n_strings++] = strdup(s);
}

static rnnc_status opts_from_json(owned_opts *w, const char *json, const char *file) {
    memset(w, 0, sizeof *w);
    w->o = rnnc_train_defaults();
    cJSON *j = cJSON_Parse(json);
    rnnc_status s = RNNC_OK;
    if (!cJSON_IsObject(j)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.train' is not a JSON object", file); goto out; }
#define NUM(key, dst) do { const cJSON *v_ = cJSON_GetObjectItemCaseSensitive(j, key); \
        if (!cJSON_IsNumber(v_)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.train' lacks number '%s'", file, key); goto out; } \
        dst = v_->valuedouble; } while (0)
/* integers are range-checked as doubles before the conversion (a crafted 1e30 is no UB) */
#define INT(key, dst, lo, hi) do { NUM(key, v); \
        if (!(v >= (lo) && v <= (hi) && v == floor(v))) { \
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.train': '%s' is %g, not an integer in [%.0f, %.0f]", file, key, \
                           v, (double)(lo), (double)(hi)); goto out; } \
        dst = v; } while (0)
#define STR(key, dst, optional) do { const cJSON *v_ = cJSON_GetObjectItemCaseSensitive(j, key); \
        if (!v_ && optional) break; \
        if (!cJSON_IsString(v_)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.train' lacks string '%s'", file, key); goto out; } \
        if (!(dst = own(w, v_->valuestring))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; } } while (0)
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!cJSON_IsArray(d)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.train' lacks 'data'", file); goto out; }
    size_t nd = (size_t)cJSON_GetArraySize(d);
    const char **files = calloc(nd ? nd : 1, sizeof *files);
    if (!files) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    w->o.data = files;
    w->o.n_data = nd;
    for (size_t i = 0; i < nd; i++) {
        const cJSON *f = cJSON_GetArrayItem(d, (int)i);
        if (!cJSON_IsString(f) || !(files[i] = own(w, f->valuestring))) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.train': bad data file entry %zu", file, i);
            goto out;
        }
    }
    const char *cell = NULL, *opt = NULL, *seed = NULL;
    double v;
    STR("valid", w->o.valid, 1);
    NUM("valid_fraction", w->o.valid_fraction);
    STR("tokenizer", w->o.tokenizer, 0);
    STR("cell", cell, 0);
    if ((s = rnnc_cell_parse(cell, &w->o.cell))) goto out;
    INT("layers", w->o.layers, 1, 1 << 10);
    INT("hidden", w->o.hidden, 1, 1 << 20);
    INT("embed", w->o.embed, 1, 1 << 20);
    NUM("dropout", v); w->o.dropout = (float)v;
    { /* absent in checkpoints older than the option; it only matters at the start */
        const cJSON *ub = cJSON_GetObjectItemCaseSensitive(j, "unigram_bias");
        w->o.unigram_bias = !ub || cJSON_IsTrue(ub);
    }
    INT("batch", w->o.batch, 1, 1 << 20);
    INT("seq", w->o.seq, 1, 1 << 24);
    INT("steps", w->o.steps, 0, 1e15);
    NUM("epochs", w->o.epochs);
    NUM("seconds", w->o.seconds);
    STR("optimizer", opt, 0);
    if ((s = rnnc_optim_parse(opt, &w->o.optim.kind))) goto out;
    NUM("lr", w->o.optim.lr);
    NUM("momentum", w->o.optim.momentum);
    NUM("weight_decay", w->o.optim.weight_decay);
    NUM("beta1", w->o.optim.beta1);
    NUM("beta2", w->o.optim.beta2);
    NUM("eps", w->o.optim.eps);
    NUM("clip", w->o.clip);
    INT("warmup", w->o.warmup, 0, 1e15);
    NUM("min_lr_ratio", w->o.min_lr_ratio);
    INT("report_every", w->o.report_every, 1, 1e15);
    INT("eval_every", w->o.eval_every, 1, 1e15);
    INT("eval_max_tokens", w->o.eval_max_tokens, 0, 1e15);
    INT("checkpoint_every", w->o.checkpoint_every, 1, 1e15);
    STR("seed", seed, 0);
    w->o.seed = strtoull(seed, NULL, 10);
#undef NUM
#undef INT
#undef STR
out:
    cJSON_Delete(j);
    if (s) owned_free(w);
    return s;
}

/* ---------------------------------------------------------------- data */

typedef struct {
    rnnc_tokenizer *tok;
    int32_t *train_ids, *val_ids;
    size_t n_train, n_val;
    size_t train_bytes, val_bytes;
} dataset;

static void dataset_free(dataset *d) {
    rnnc_tokenizer_free(d->tok);
    free(d->train_ids);
    free(d->val_ids);
    memset(d, 0, sizeof *d);
}

static rnnc_status read_all(const char *const *files, size_t n, rnnc_bytes *out) {
    for (size_t i = 0; i < n; i++) {
        unsigned char *buf;
        size_t len;
        rnnc_status s = rnnc_read_file(files[i], &buf, &len);
        if (s) return s;
        if (len == 0) { free(buf); return rnnc_error(RNNC_ERR_ARG, "%s: the corpus file is empty", files[i]); }
        s = rnnc_bytes_append(out, buf, len);
        free(buf);
        if (s) return s;
    }
    return RNNC_OK;
}

/* Where to cut off the held-out tail: at the first line break after the nominal point when one
 * is near, else at a UTF-8 character boundary. */
static size_t split_point(const unsigned char *text, size_t len, double fraction) {
    size_t p = (size_t)((double)len * (1 - fraction));
    for (size_t q = p; q < len && q < p + 4096; q++)
        if (text[q] == '\n') return q + 1;
    while (p < len && (text[p] & 0xC0) == 0x80) p++;
    return p;
}

static rnnc_status encode_ids(const rnnc_tokenizer *t, const unsigned char *text, size_t len, int32_t **ids, size_t *n) {
    rnnc_ids v = {0};
    rnnc_status s = rnnc_tokenizer_encode(t, text, len, false, &v, NULL);
    if (s) { rnnc_ids_free(&v); return s; }
    *ids = (int32_t *)v.data; /* uint32 ids below 2^31 (vocabulary sizes are ints) */
    *n = v.len;
    return RNNC_OK;
}

static rnnc_status make_tokenizer(const char *spec, const unsigned char *text, size_t len, rnnc_tokenizer **out) {
    rnnc_tokenizer_spec ts;
    if (rnnc_tokenizer_spec_parse(spec, &ts)) return rnnc_error(RNNC_ERR_ARG, "--tokenizer %s", rnnc_last_error());
    const unsigned char *texts[1] = {text};
    return rnnc_tokenizer_from_spec(out, &ts, texts, &len, 1);
}

/* Reads the data, makes or restores the tokenizer (tok_json: from a checkpoint), and encodes the
 * training and held-out parts. */
static rnnc_status prepare_data(const rnnc_train_opts *o, const char *tok_json, dataset *d) {
    memset(d, 0, sizeof *d);
    rnnc_bytes all = {0}, val = {0};
    rnnc_status s = read_all(o->data, o->n_data, &all);
    if (s) goto out;
    size_t train_len = all.len;
    const unsigned char *val_text;
    if (o->valid) {
        if ((s = read_all(&o->valid, 1, &val))) goto out;
        val_text = val.data;
        d->val_bytes = val.len;
    } else {
        train_len = split_point(all.data, all.len, o->valid_fraction);
        val_text = all.data + train_len;
        d->val_bytes = all.len - train_len;
        if (d->val_bytes == 0 || train_len == 0) {
            s = rnnc_error(RNNC_ERR_ARG, "data: %zu bytes are too few to hold out %.0f%% for validation", all.len,
                           100 * o->valid_fraction);
            goto out;
        }
    }
    d->train_bytes = train_len;
    if (tok_json) s = rnnc_tokenizer_from_json(&d->tok, tok_json, strlen(tok_json));
    else s = make_tokenizer(o->tokenizer, all.data, train_len, &d->tok);
    if (s) goto out;
    if ((s = encode_ids(d->tok, all.data, train_len, &d->train_ids, &d->n_train))) goto out;
    if ((s = encode_ids(d->tok, val_text, d->val_bytes, &d->val_ids, &d->n_val))) goto out;
out:
    rnnc_bytes_free(&all);
    rnnc_bytes_free(&val);
    if (s) dataset_free(d);
    return s;
}

/* ---------------------------------------------------------------- the run */

typedef struct {
    rnnc_train_opts o;
    const char *run_dir;
    dataset data;
    rnnc_lm *m;
    rnnc_lm_ws *ws, *val_ws;
    rnnc_optim opt;
    rnnc_rng rng;
    rnnc_stream train, val;
    int val_batch;
    int *x, *y;
    rnnc_metrics_log log;
    bool log_open;
    rnnc_run_lock lock; /* held for the whole run */
    /* Progress: all of it is in the checkpoint. */
    long step;
    size_t window;
    long epochs_done;
    double tokens, elapsed, best_val;
    double loss_sum;
    long loss_n;
    double last_train_loss; /* the latest report's average, written into model files */
    double last_val;        /* the latest validation loss (model.safetensors records it) */
    long total_steps;
    double report_time, report_tokens; /* for tokens/s between reports (not in the checkpoint) */
} run;

static void run_free(run *r) {
    dataset_free(&r->data);
    rnnc_lm_ws_free(r->ws);
    rnnc_lm_ws_free(r->val_ws);
    rnnc_lm_free(r->m);
    rnnc_optim_free(&r->opt);
    free(r->x);
    free(r->y);
    if (r->log_open) rnnc_metrics_close(&r->log);
    rnnc_run_lock_drop(&r->lock);
}

static void path_in(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* head.bias from the counts of the training ids (rnnc_unigram_bias): softmax(bias) is the
 * model's starting prediction. */
static void set_unigram_bias(rnnc_lm *m, const int32_t *ids, size_t n) {
    size_t V = (size_t)m->c.vocab;
    double *count = calloc(V, sizeof *count);
    if (!count) return; /* keep the uniform initialisation */
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && (size_t)ids[i] < V) count[ids[i]] += 1;
    rnnc_unigram_bias(m->params + m->off_head_b, count, (int)V);
    free(count);
}

static long total_steps_of(const rnnc_train_opts *o, size_t windows) {
    long t = 0;
    if (o->epochs > 0) t = (long)ceil(o->epochs * (double)windows);
    if (o->steps > 0 && (t == 0 || o->steps < t)) t = o->steps;
    return t;
}

/* Data streams, workspaces and buffers for the configured model; the model itself must exist. */
static rnnc_status setup_streams(run *r) {
    rnnc_status s = rnnc_stream_init(&r->train, r->data.train_ids, r->data.n_train, r->o.batch, r->o.seq);
    if (s) return rnnc_error(s, "training data: %s", rnnc_last_error());
    r->val_batch = r->o.batch;
    while (r->val_batch > 1 && r->data.n_val / (size_t)r->val_batch < (size_t)r->o.seq + 1) r->val_batch--;
    s = rnnc_stream_init(&r->val, r->data.val_ids, r->data.n_val, r->val_batch, r->o.seq);
    if (s) return rnnc_error(s, "validation data: %zu tokens are too few for one window of --seq %d", r->data.n_val, r->o.seq);
    if ((s = rnnc_lm_ws_new(&r->ws, r->m, r->o.batch, r->o.seq))) return s;
    if ((s = rnnc_lm_ws_new(&r->val_ws, r->m, r->val_batch, r->o.seq))) return s;
    size_t n = (size_t)r->o.batch * (size_t)r->o.seq;
    r->x = malloc(n * sizeof *r->x);
    r->y = malloc(n * sizeof *r->y);
    if (!r->x || !r->y) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for batches");
    r->total_steps = total_steps_of(&r->o, r->train.windows);
    return RNNC_OK;
}

static rnnc_status evaluate(run *r, double *loss, double *bpb) {
    size_t per = (size_t)r->val_batch * (size_t)r->o.seq, windows = r->val.windows;
    if (r->o.eval_max_tokens > 0 && windows * per > (size_t)r->o.eval_max_tokens)
        windows = (size_t)r->o.eval_max_tokens / per > 0 ? (size_t)r->o.eval_max_tokens / per : 1;
    rnnc_status s = rnnc_lm_stream_loss(r->m, r->val_ws, &r->val, windows, r->x, r->y, loss);
    if (s) return s;
    double targets = (double)(windows * per);
    /* The bytes those targets cover, in proportion to the held-out text's tokens. */
    *bpb = rnnc_bits_per_byte(*loss, targets, (double)r->data.val_bytes * targets / (double)r->data.n_val);
    return RNNC_OK;
}

static rnnc_status save_checkpoint(run *r) {
    size_t nt = rnnc_lm_num_tensors(r->m);
    rnnc_st_entry *e = calloc(nt + 4, sizeof *e);
    if (!e) return rnnc_error(RNNC_ERR_NOMEM, "out of memory saving a checkpoint");
    size_t n = 0;
    for (size_t k = 0; k < nt; k++, n++) {
        rnnc_param_info pi = rnnc_lm_tensor(r->m, k);
        e[n].name = NULL; /* set below: the info's name buffer is a local copy */
        e[n].dtype = RNNC_DT_F32;
        e[n].ndim = pi.ndim;
        for (int d = 0; d < pi.ndim; d++) e[n].shape[d] = pi.shape[d];
        e[n].data = r->m->params + pi.offset;
    }
    char (*names)[48] = calloc(nt, sizeof *names);
    if (!names) { free(e); return rnnc_error(RNNC_ERR_NOMEM, "out of memory saving a checkpoint"); }
    for (size_t k = 0; k < nt; k++) {
        snprintf(names[k], sizeof names[k], "%s", rnnc_lm_tensor(r->m, k).name);
        e[k].name = names[k];
    }
    int L = r->o.layers, B = r->o.batch, H = r->o.hidden;
    if (r->opt.state) {
        size_t per = r->o.optim.kind == RNNC_OPT_SGD ? 1 : 2;
        e[n++] = (rnnc_st_entry){"train.optimizer_state", RNNC_DT_F32, 1, {(int64_t)(per * r->opt.n)}, r->opt.state};
    }
    e[n++] = (rnnc_st_entry){"train.h", RNNC_DT_F32, 3, {L, B, H}, rnnc_lm_ws_h(r->ws)};
    if (r->o.cell == RNNC_CELL_LSTM) e[n++] = (rnnc_st_entry){"train.c", RNNC_DT_F32, 3, {L, B, H}, rnnc_lm_ws_c(r->ws)};
    e[n++] = (rnnc_st_entry){"train.rng", RNNC_DT_U64, 1, {4}, r->rng.s};

    char *config = rnnc_lm_config_to_json(&r->m->c), *opts = opts_to_json(&r->o), progress[512];
    snprintf(progress, sizeof progress,
             "{\"step\":%ld,\"window\":%zu,\"epochs_done\":%ld,\"tokens\":%.17g,\"elapsed\":%.17g,"
             "\"best_val\":%.17g,\"loss_sum\":%.17g,\"loss_n\":%ld,\"optimizer_step\":%ld,\"last_train_loss\":%.17g}",
             r->step, r->window, r->epochs_done, r->tokens, r->elapsed, isfinite(r->best_val) ? r->best_val : 1e308,
             r->loss_sum, r->loss_n, r->opt.step, isfinite(r->last_train_loss) ? r->last_train_loss : 1e308);
    const char *keys[16], *vals[16];
    size_t nm = 0;
    keys[nm] = "rnnc.config"; vals[nm++] = config;
    keys[nm] = "rnnc.train"; vals[nm++] = opts;
    keys[nm] = "rnnc.progress"; vals[nm++] = progress;
    for (size_t i = 0; i < r->m->n_meta && nm < 16; i++) { keys[nm] = r->m->meta_keys[i]; vals[nm++] = r->m->meta_values[i]; }
    char path[4096];
    path_in(path, sizeof path, r->run_dir, CHECKPOINT);
    rnnc_status s = (config && opts) ? rnnc_st_save(path, e, n, keys, vals, nm)
                                     : rnnc_error(RNNC_ERR_NOMEM, "out of memory saving a checkpoint");
    free(config);
    free(opts);
    free(names);
    free(e);
    return s;
}

static double meta_num(const cJSON *j, const char *key, bool *ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || isnan(v->valuedouble)) { *ok = false; return 0; }
    return v->valuedouble;
}

/* A count from the checkpoint: an integer in [0, 2^53), checked before any conversion. */
static long meta_count(const cJSON *j, const char *key, bool *ok) {
    double v = meta_num(j, key, ok);
    if (!(v >= 0 && v < 9007199254740992.0 && v == floor(v))) { *ok = false; return 0; }
    return (long)v;
}

static rnnc_status load_checkpoint(run *r, owned_opts *w) {
    char path[4096];
    path_in(path, sizeof path, r->run_dir, CHECKPOINT);
    if (access(path, F_OK) != 0)
        return rnnc_error(RNNC_ERR_IO, "%s: no %s to resume: the run there never saved one; start it again without --resume "
                          "(with --force if the directory holds other files)", r->run_dir, CHECKPOINT);
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, path);
    if (s) return s;
    const char *config = rnnc_st_meta(&st, "rnnc.config"), *opts = rnnc_st_meta(&st, "rnnc.train"),
               *progress = rnnc_st_meta(&st, "rnnc.progress"), *tok = rnnc_st_meta(&st, "rnnc.tokenizer");
    cJSON *pj = NULL;
    if (!config || !opts || !progress || !tok) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: not a training checkpoint (metadata rnnc.config/train/progress/tokenizer missing)", path);
        goto out;
    }
    if ((s = opts_from_json(w, opts, path))) goto out;
    r->o = w->o;
    rnnc_lm_config c;
    if ((s = rnnc_lm_config_from_json(&c, config, path))) goto out;
    if ((s = rnnc_lm_new(&r->m, &c))) goto out;
    for (size_t i = 0; i < st.n_meta; i++)
        if (strncmp(st.meta_keys[i], "rnnc.", 5) != 0 || strcmp(st.meta_keys[i], "rnnc.tokenizer") == 0)
            if ((s = rnnc_lm_set_meta(r->m, st.meta_keys[i], st.meta_values[i]))) goto out;
    for (size_t k = 0; k < rnnc_lm_num_tensors(r->m); k++) {
        rnnc_param_info pi = rnnc_lm_tensor(r->m, k);
        int64_t shape[2] = {pi.shape[0], pi.shape[1]};
        if ((s = rnnc_st_read_f32(&st, pi.name, pi.ndim, shape, r->m->params + pi.offset))) goto out;
    }
    if ((s = prepare_data(&r->o, tok, &r->data))) goto out;
    if ((size_t)c.vocab != rnnc_tokenizer_n_vocab(r->data.tok)) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: the model's vocabulary (%d) differs from its tokenizer's (%zu)", path, c.vocab,
                       rnnc_tokenizer_n_vocab(r->data.tok));
        goto out;
    }
    if ((s = rnnc_optim_init(&r->opt, &r->o.optim, r->m->n_params))) goto out;
    if ((s = setup_streams(r))) goto out;
    int64_t L = r->o.layers, B = r->o.batch, H = r->o.hidden;
    int64_t hs[3] = {L, B, H};
    if (r->opt.state) {
        int64_t ns = (int64_t)((r->o.optim.kind == RNNC_OPT_SGD ? 1 : 2) * r->opt.n);
        if ((s = rnnc_st_read_f32(&st, "train.optimizer_state", 1, &ns, r->opt.state))) goto out;
    }
    if ((s = rnnc_st_read_f32(&st, "train.h", 3, hs, rnnc_lm_ws_h(r->ws)))) goto out;
    if (r->o.cell == RNNC_CELL_LSTM && (s = rnnc_st_read_f32(&st, "train.c", 3, hs, rnnc_lm_ws_c(r->ws)))) goto out;
    int64_t four = 4, rng[4];
    if ((s = rnnc_st_read_i64(&st, "train.rng", 1, &four, rng))) goto out;
    for (int i = 0; i < 4; i++) r->rng.s[i] = (uint64_t)rng[i];
    pj = cJSON_Parse(progress);
    bool ok = cJSON_IsObject(pj);
    r->step = meta_count(pj, "step", &ok);
    r->window = (size_t)meta_count(pj, "window", &ok);
    r->epochs_done = meta_count(pj, "epochs_done", &ok);
    r->tokens = meta_num(pj, "tokens", &ok);
    r->elapsed = meta_num(pj, "elapsed", &ok);
    r->best_val = meta_num(pj, "best_val", &ok);
    r->loss_sum = meta_num(pj, "loss_sum", &ok);
    r->loss_n = meta_count(pj, "loss_n", &ok);
    r->opt.step = meta_count(pj, "optimizer_step", &ok);
    r->last_train_loss = meta_num(pj, "last_train_loss", &ok);
    if (r->best_val >= 1e308) r->best_val = INFINITY;
    if (r->last_train_loss >= 1e308) r->last_train_loss = NAN;
    if (!ok || r->window > r->train.windows) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata 'rnnc.progress' is malformed", path);
        goto out;
    }
out:
    cJSON_Delete(pj);
    rnnc_st_free(&st);
    return s;
}

static void emit(run *r, rnnc_train_callback cb, void *ctx, rnnc_train_event *e) {
    if (!cb) return;
    e->step = r->step;
    e->total_steps = r->total_steps;
    e->epoch = (double)r->epochs_done + (double)r->window / (double)r->train.windows;
    e->tokens = r->tokens;
    e->seconds_budget = r->o.seconds;
    cb(e, ctx);
}

/* Model files carry where training stood ("rnnc.training"), for rnnc info. */
static rnnc_status save_model(run *r, const char *name, double val_loss) {
    char path[4096], info[320];
    path_in(path, sizeof path, r->run_dir, name);
    snprintf(info, sizeof info, "{\"step\":%ld,\"tokens\":%.0f,\"epoch\":%.6f", r->step, r->tokens,
             (double)r->epochs_done + (double)r->window / (double)r->train.windows);
    size_t n = strlen(info);
    if (isfinite(r->last_train_loss)) n += (size_t)snprintf(info + n, sizeof info - n, ",\"train_loss\":%.6f", r->last_train_loss);
    if (isfinite(val_loss)) n += (size_t)snprintf(info + n, sizeof info - n, ",\"val_loss\":%.6f", val_loss);
    snprintf(info + n, sizeof info - n, "}");
    rnnc_status s = rnnc_lm_set_meta(r->m, "rnnc.training", info);
    return s ? s : rnnc_lm_save(r->m, path);
}

static rnnc_status train_loop(run *r, rnnc_train_callback cb, void *ctx, volatile sig_atomic_t *stop) {
    rnnc_status s;
    double t0 = now_s() - r->elapsed;
    r->report_time = now_s();
    r->report_tokens = r->tokens;
    char desc[512];
    snprintf(desc, sizeof desc,
             "%s tokenizer, |V| = %d; %zu training tokens (%zu windows of %dx%d), %zu held out; %s %dx%d, %zu parameters",
             rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(r->data.tok)), r->m->c.vocab, r->data.n_train,
             r->train.windows, r->o.batch, r->o.seq, r->data.n_val, rnnc_cell_name(r->o.cell), r->o.layers,
             r->o.hidden, r->m->n_params);
    rnnc_train_event ev = {.kind = RNNC_TRAIN_STARTED, .message = desc};
    emit(r, cb, ctx, &ev);
    for (;;) {
        r->elapsed = now_s() - t0;
        bool done = (r->total_steps > 0 && r->step >= r->total_steps) || (r->o.seconds > 0 && r->elapsed >= r->o.seconds);
        if (done) break;
        if (r->window >= r->train.windows) { /* a new epoch: the streams start over from zero state */
            r->window = 0;
            r->epochs_done++;
            rnnc_lm_ws_reset_state(r->ws);
        }
        rnnc_stream_window(&r->train, r->window, r->x, r->y);
        double lr = rnnc_train_lr(&r->o, r->step, r->total_steps);
        r->opt.c.lr = lr;
        rnnc_lm_zero_grad(r->m);
        const float *logits;
        double loss;
        if ((s = rnnc_lm_forward(r->m, r->ws, r->x, r->o.batch, r->o.seq, true, &r->rng, &logits))) return s;
        if ((s = rnnc_lm_loss(r->m, r->ws, r->y, true, &loss))) return s;
        if ((s = rnnc_check_finite(loss, "the training loss", r->step + 1))) return s;
        double norm = r->o.clip > 0 ? rnnc_clip_grad_norm(r->m->grads, r->m->n_params, r->o.clip)
                                    : rnnc_grad_norm(r->m->grads, r->m->n_params);
        if ((s = rnnc_check_finite(norm, "the gradient norm", r->step + 1))) return s;
        rnnc_optim_step(&r->opt, r->m->params, r->m->grads);
        r->step++;
        r->window++;
        r->tokens += (double)r->o.batch * r->o.seq;
        r->loss_sum += loss;
        r->loss_n++;
        r->elapsed = now_s() - t0;
        bool last = (r->total_steps > 0 && r->step >= r->total_steps) || (r->o.seconds > 0 && r->elapsed >= r->o.seconds);
        ev = (rnnc_train_event){.kind = RNNC_TRAIN_PROGRESS, .loss = loss, .lr = lr, .elapsed = r->elapsed};
        emit(r, cb, ctx, &ev);
        /* One metrics row per step at most: a training report and a validation falling on the
         * same step share it (the metrics reader treats a repeated step as a resume's rewrite). */
        bool report = r->step % r->o.report_every == 0 || last, validate = r->step % r->o.eval_every == 0 || last;
        if (report || validate) {
            rnnc_metrics_row row = rnnc_metrics_row_empty();
            row.step = (double)r->step;
            row.tokens = r->tokens;
            row.epoch = (double)r->epochs_done + (double)r->window / (double)r->train.windows;
            row.elapsed = r->elapsed;
            if (report) {
                double now = now_s();
                row.train_loss = r->last_train_loss = r->loss_sum / (double)r->loss_n;
                row.lr = lr;
                row.tokens_per_s = (r->tokens - r->report_tokens) / (now - r->report_time);
                ev = (rnnc_train_event){.kind = RNNC_TRAIN_REPORT, .loss = row.train_loss, .lr = lr,
                                        .tokens_per_s = row.tokens_per_s, .elapsed = r->elapsed};
                emit(r, cb, ctx, &ev);
                r->loss_sum = 0;
                r->loss_n = 0;
                r->report_time = now;
                r->report_tokens = r->tokens;
            }
            if (validate) {
                double vl, bpb;
                if ((s = evaluate(r, &vl, &bpb))) return s;
                bool improved = vl < r->best_val;
                if (improved) {
                    r->best_val = vl;
                    if ((s = save_model(r, "best.safetensors", vl))) return s;
                }
                row.val_loss = r->last_val = vl;
                row.val_ppl = rnnc_perplexity(vl);
                row.val_bpb = bpb;
                ev = (rnnc_train_event){.kind = RNNC_TRAIN_VALID, .val_loss = vl, .val_ppl = row.val_ppl,
                                        .val_bpb = bpb, .improved = improved, .elapsed = r->elapsed};
                emit(r, cb, ctx, &ev);
                r->report_time = now_s(); /* validation time is not training throughput */
            }
            if ((s = rnnc_metrics_append(&r->log, &row))) return s;
        }
        bool stopping = stop && *stop;
        if (r->step % r->o.checkpoint_every == 0 || last || stopping) {
            if ((s = save_checkpoint(r))) return s;
            ev = (rnnc_train_event){.kind = RNNC_TRAIN_CHECKPOINT, .elapsed = r->elapsed};
            emit(r, cb, ctx, &ev);
        }
        if (stopping)
            return rnnc_error(RNNC_ERR_INTERRUPTED, "stopped at step %ld; checkpoint saved in %s/" CHECKPOINT
                              "; continue with: rnnc train --resume %s", r->step, r->run_dir, r->run_dir);
    }
    if ((s = save_model(r, "model.safetensors", r->last_val))) return s;
    ev = (rnnc_train_event){.kind = RNNC_TRAIN_DONE, .elapsed = r->elapsed};
    emit(r, cb, ctx, &ev);
    return RNNC_OK;
}

static rnnc_status check_opts(const rnnc_train_opts *o) {
    if (o->n_data == 0) return rnnc_error(RNNC_ERR_ARG, "--data: no training file given");
    if (!o->run_dir || !*o->run_dir) return rnnc_error(RNNC_ERR_ARG, "-o: no run directory given");
    if (!(o->valid_fraction > 0 && o->valid_fraction < 1)) return rnnc_error(RNNC_ERR_ARG, "--valid-fraction must be in (0, 1)");
    if (o->batch < 1 || o->seq < 1) return rnnc_error(RNNC_ERR_ARG, "--batch and --seq must be positive");
    if (o->steps <= 0 && o->epochs <= 0 && o->seconds <= 0)
        return rnnc_error(RNNC_ERR_ARG, "no training budget: give --steps, --epochs or --time");
    if (o->report_every < 1 || o->eval_every < 1 || o->checkpoint_every < 1)
        return rnnc_error(RNNC_ERR_ARG, "--report-every, --eval-every and --checkpoint-every must be positive");
    if (o->clip < 0) return rnnc_error(RNNC_ERR_ARG, "--clip must not be negative");
    if (o->warmup < 0 || !(o->min_lr_ratio >= 0 && o->min_lr_ratio <= 1))
        return rnnc_error(RNNC_ERR_ARG, "--warmup must be >= 0 and --min-lr-ratio in [0, 1]");
    return RNNC_OK;
}

static const char *const run_files[] = {CHECKPOINT, "model.safetensors", "best.safetensors", "metrics.jsonl"};

/* Under the run's lock (so two runs cannot both pass this check). A directory holding a
 * checkpoint is refused with the way to continue it; files of a run without a checkpoint (left
 * by another tool, or an older rnnc) with the way to start over. Runs save a checkpoint before
 * writing anything else, so an interrupted run always leaves one. */
static rnnc_status check_run_dir(const char *dir, bool force) {
    char path[4096];
    path_in(path, sizeof path, dir, CHECKPOINT);
    bool resumable = access(path, F_OK) == 0;
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++) {
        path_in(path, sizeof path, dir, run_files[i]);
        if (access(path, F_OK) != 0) continue;
        if (!force) {
            if (resumable)
                return rnnc_error(RNNC_ERR_ARG, "%s holds another run (%s): continue it with --resume, or start over with --force",
                                  dir, CHECKPOINT);
            return rnnc_error(RNNC_ERR_ARG, "%s holds files of another run (%s) but no checkpoint to resume: "
                              "start over with --force, or give a new directory", dir, run_files[i]);
        }
        if (strcmp(run_files[i], "metrics.jsonl") == 0 && unlink(path) != 0)
            return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot remove the old metrics log", path);
    }
    return RNNC_OK;
}

static rnnc_status open_log(run *r) {
    rnnc_status s = rnnc_metrics_open(&r->log, r->run_dir);
    if (!s) r->log_open = true;
    return s;
}

rnnc_status rnnc_train_run(const rnnc_train_opts *opts, rnnc_train_callback cb, void *ctx, volatile sig_atomic_t *stop) {
    rnnc_status s = check_opts(opts);
    if (s) return s;
    run r;
    memset(&r, 0, sizeof r);
    r.o = *opts;
    r.run_dir = opts->run_dir;
    r.best_val = INFINITY;
    r.last_train_loss = r.last_val = NAN;
    if ((s = rnnc_run_lock_take(&r.lock, r.run_dir, true))) return s;
    if ((s = check_run_dir(r.run_dir, opts->force))) goto out;
    if ((s = prepare_data(&r.o, NULL, &r.data))) goto out;
    rnnc_lm_config c = {.cell = r.o.cell, .vocab = (int)rnnc_tokenizer_n_vocab(r.data.tok), .embed = r.o.embed,
                        .hidden = r.o.hidden, .layers = r.o.layers, .dropout = r.o.dropout};
    if ((s = rnnc_lm_new(&r.m, &c))) goto out;
    rnnc_rng_seed(&r.rng, r.o.seed);
    rnnc_lm_init(r.m, &r.rng);
    if (r.o.unigram_bias) set_unigram_bias(r.m, r.data.train_ids, r.data.n_train);
    char *tok_json = NULL;
    if ((s = rnnc_tokenizer_to_json(r.data.tok, &tok_json))) goto out;
    s = rnnc_lm_set_meta(r.m, "rnnc.tokenizer", tok_json);
    free(tok_json);
    if (s) goto out;
    if ((s = rnnc_optim_init(&r.opt, &r.o.optim, r.m->n_params))) goto out;
    if ((s = setup_streams(&r))) goto out;
    /* the step-0 checkpoint: from here on, whatever stops the run, --resume continues it */
    if ((s = save_checkpoint(&r))) goto out;
    if ((s = open_log(&r))) goto out;
    s = train_loop(&r, cb, ctx, stop);
out:
    run_free(&r);
    return s;
}

rnnc_status rnnc_train_resume(const char *run_dir, const rnnc_train_opts *budget, rnnc_train_callback cb, void *ctx,
                              volatile sig_atomic_t *stop) {
    run r;
    memset(&r, 0, sizeof r);
    r.run_dir = run_dir;
    r.last_val = NAN;
    owned_opts w;
    memset(&w, 0, sizeof w);
    rnnc_status s = rnnc_run_lock_take(&r.lock, run_dir, false);
    if (s) goto out;
    if ((s = load_checkpoint(&r, &w))) goto out;
    if (budget && (budget->steps > 0 || budget->epochs > 0 || budget->seconds > 0)) {
        r.o.steps = budget->steps;
        r.o.epochs = budget->epochs;
        r.o.seconds = budget->seconds;
        r.total_steps = total_steps_of(&r.o, r.train.windows);
    }
    if (r.total_steps > 0 && r.step >= r.total_steps) {
        s = rnnc_error(RNNC_ERR_ARG, "%s: the budget is used up: the checkpoint is at step %ld of %ld; give a larger --steps or "
                       "--epochs to train on", run_dir, r.step, r.total_steps);
        goto out;
    }
    if (r.o.seconds > 0 && r.elapsed >= r.o.seconds) {
        s = rnnc_error(RNNC_ERR_ARG, "%s: the budget is used up: the run has trained %.0f s of its --time %.0f s; give a larger "
                       "--time (or --steps/--epochs) to train on", run_dir, r.elapsed, r.o.seconds);
        goto out;
    }
    if ((s = open_log(&r))) goto out;
    s = train_loop(&r, cb, ctx, stop);
out:
    run_free(&r);
    owned_free(&w);
    return s;
}
