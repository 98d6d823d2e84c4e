/* The language-model task on the run module (include/rnnc/train.h): text files read, split into
 * training and held-out parts, the tokenizer trained (or taken from its spec, or from the
 * checkpoint on a resume) and stored in the model, B parallel streams cut into windows of T, the
 * output bias started at the unigram frequencies, truncated BPTT with the recurrent state carried
 * from window to window, and validation in a workspace of its own. Or, from an id file and a model
 * file (rnnc_lm_task_ids): the same steps on ids, without validation, as `rnnc train --ids`.
 *
 * Data parallel (run.h): rank r of N takes the streams [r B/N, (r+1) B/N) of the B training
 * streams (each stream is the same stretch of ids as in one process, so the windows are the same)
 * and carries their state; dropout draws per stream (rnnc_lm_ws_set_row0). Validation takes an
 * even share of the held-out streams, and the loss sums are reduced. The carried state is
 * gathered into the checkpoint as (L, B, H), as one process writes it, and each rank of a resume
 * takes its streams' rows back. */
#include "rnnc/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "rnnc/batch.h"
#include "rnnc/io.h"
#include "rnnc/utf8.h"
#include "rnnc/metrics.h"
#include "rnnc/nn.h"

rnnc_lm_task_opts rnnc_lm_task_defaults(void) {
    rnnc_lm_task_opts o;
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
    return o;
}

typedef struct {
    rnnc_task base;
    rnnc_lm_task_opts o;
    char **strings; /* owned copies of the option strings */
    size_t n_strings;
    rnnc_tokenizer *tok; /* NULL for id files */
    int32_t *train_ids, *val_ids;
    size_t n_train, n_val, val_bytes;
    size_t n_unk_val; /* held-out <unk> tokens (word tokenizers) */
    size_t bad_utf8, train_bytes; /* bytes of the training text not UTF-8 (a binary file?), of all: said in describe */
    rnnc_lm *m;
    rnnc_lm_ws *ws, *val_ws;
    rnnc_stream train, val; /* this rank's streams (all of them in one process) */
    int val_batch;          /* held-out streams in all */
    int *x, *y;
    /* data parallel: this rank's training streams [row0, row0 + B) of o.batch, its held-out
     * streams [val_lo, val_hi) of val_batch, and the carried state gathered for a checkpoint */
    int B, row0;
    size_t val_lo, val_hi;
    float *gathered;
} lm_task;

static void lm_free(rnnc_task *base) {
    lm_task *t = (lm_task *)base;
    rnnc_tokenizer_free(t->tok);
    free(t->train_ids);
    free(t->val_ids);
    rnnc_lm_ws_free(t->ws);
    rnnc_lm_ws_free(t->val_ws);
    rnnc_lm_free(t->m);
    free(t->x);
    free(t->y);
    free(t->gathered);
    for (size_t i = 0; i < t->n_strings; i++) free(t->strings[i]);
    free(t->strings);
    free((void *)t->o.data);
    free(t);
}

static const char *own(lm_task *t, const char *s) {
    if (!s) return NULL;
    char **ns = realloc(t->strings, (t->n_strings + 1) * sizeof *ns);
    if (!ns) return NULL;
    t->strings = ns;
    return t->strings[t->n_strings++] = strdup(s);
}

/* ---------------------------------------------------------------- data */

static rnnc_status read_all(const char *const *files, size_t n, rnnc_bytes *out) {
    for (size_t i = 0; i < n; i++) {
        unsigned char *buf;
        size_t len;
        rnnc_status s = rnnc_read_file(files[i], &buf, &len);
        if (s) return s;
        if (len == 0) { free(buf); return rnnc_error(RNNC_ERR_ARG, "%s: the file is empty", files[i]); }
        s = rnnc_bytes_append(out, buf, len);
        free(buf);
        if (s) return s;
    }
    return RNNC_OK;
}

/* Where to cut off the held-out tail: after the first line break within 4 KiB of the nominal
 * point when that leaves text after it, else at the first UTF-8 character boundary from the
 * nominal point (a text of one line, whose only line break is its last byte, is cut inside the
 * line rather than left with nothing to hold out). Depends on the bytes alone, so a resume cuts
 * where the run did. */
static size_t split_point(const unsigned char *text, size_t len, double fraction) {
    size_t p = (size_t)((double)len * (1 - fraction));
    for (size_t q = p; q + 1 < len && q < p + 4096; q++)
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

/* Reads the data, makes the tokenizer (or restores it from tok_json) and encodes both parts. */
static rnnc_status prepare_data(lm_task *t, const char *tok_json) {
    const rnnc_lm_task_opts *o = &t->o;
    rnnc_bytes all = {0}, val = {0};
    rnnc_status s = read_all(o->data, o->n_data, &all);
    if (s) goto out;
    size_t train_len = all.len;
    const unsigned char *val_text;
    if (o->valid) {
        if ((s = read_all(&o->valid, 1, &val))) goto out;
        val_text = val.data;
        t->val_bytes = val.len;
    } else {
        train_len = split_point(all.data, all.len, o->valid_fraction);
        val_text = all.data + train_len;
        t->val_bytes = all.len - train_len;
        if (t->val_bytes == 0 || train_len == 0) {
            s = rnnc_error(RNNC_ERR_ARG, "--data: %zu bytes are too few to hold out %.0f%% for validation", all.len,
                           100 * o->valid_fraction);
            goto out;
        }
    }
    if (tok_json) s = rnnc_tokenizer_from_json(&t->tok, tok_json, strlen(tok_json));
    else {
        rnnc_tokenizer_spec ts;
        if (rnnc_tokenizer_spec_parse(o->tokenizer, &ts)) { s = rnnc_error(RNNC_ERR_ARG, "--tokenizer %s", rnnc_last_error()); goto out; }
        const unsigned char *texts[1] = {all.data};
        s = rnnc_tokenizer_from_spec(&t->tok, &ts, texts, &train_len, 1);
    }
    if (s) goto out;
    if ((s = encode_ids(t->tok, all.data, train_len, &t->train_ids, &t->n_train))) goto out;
    t->train_bytes = train_len;
    for (size_t i = 0; i < train_len;) { /* each byte outside valid UTF-8 counted once */
        i += rnnc_utf8_valid_prefix(all.data + i, train_len - i);
        if (i < train_len) { t->bad_utf8++; i++; }
    }
    if ((s = encode_ids(t->tok, val_text, t->val_bytes, &t->val_ids, &t->n_val))) goto out;
    /* <unk> in the held-out text: its bytes are not modelled, so bits per byte would flatter */
    if (rnnc_tokenizer_type_of(t->tok) == RNNC_TOKENIZER_WORD)
        for (size_t i = 0; i < t->n_val; i++) t->n_unk_val += t->val_ids[i] == RNNC_TOK_UNK;
out:
    rnnc_bytes_free(&all);
    rnnc_bytes_free(&val);
    return s;
}

/* head.bias from the counts of the training ids (rnnc_unigram_bias), and the ids that never
 * occur as "rnnc.unseen_ids" ranges ([[first, last], ...]) for rnnc similar. */
static rnnc_status count_ids(lm_task *t, bool set_bias) {
    size_t V = (size_t)t->m->c.vocab;
    double *count = calloc(V, sizeof *count);
    if (!count) return rnnc_error(RNNC_ERR_NOMEM, "out of memory counting %zu ids", V);
    for (size_t i = 0; i < t->n_train; i++)
        if (t->train_ids[i] >= 0 && (size_t)t->train_ids[i] < V) count[t->train_ids[i]] += 1;
    if (set_bias) rnnc_unigram_bias(t->m->params + t->m->off_head_b, count, (int)V);
    rnnc_bytes b = {0};
    rnnc_status s = rnnc_bytes_append(&b, "[", 1);
    for (size_t i = 0; i < V && !s;) {
        if (count[i] > 0) { i++; continue; }
        size_t j = i;
        while (j + 1 < V && count[j + 1] == 0) j++;
        char r[48];
        int n = snprintf(r, sizeof r, "%s[%zu,%zu]", b.len > 1 ? "," : "", i, j);
        s = rnnc_bytes_append(&b, r, (size_t)n);
        i = j + 1;
    }
    if (!s) s = rnnc_bytes_append(&b, "]", 2); /* with its NUL */
    free(count);
    if (s) { rnnc_bytes_free(&b); return s; }
    s = rnnc_lm_set_meta(t->m, "rnnc.unseen_ids", (const char *)b.data);
    rnnc_bytes_free(&b);
    return s;
}

/* Streams, workspaces and window buffers for the model and data in t. */
static rnnc_status setup(lm_task *t) {
    rnnc_status s = rnnc_stream_init(&t->train, t->train_ids, t->n_train, t->o.batch, t->o.seq);
    if (s) return rnnc_error(s, "training data: %s", rnnc_last_error());
    if ((s = rnnc_lm_ws_new(&t->ws, t->m, t->o.batch, t->o.seq))) return s;
    if (t->val_ids) {
        t->val_batch = t->o.batch;
        while (t->val_batch > 1 && t->n_val / (size_t)t->val_batch < (size_t)t->o.seq + 1) t->val_batch--;
        s = rnnc_stream_init(&t->val, t->val_ids, t->n_val, t->val_batch, t->o.seq);
        if (s) return rnnc_error(s, "validation data: %zu tokens are too few for one window of --seq %d", t->n_val, t->o.seq);
        if ((s = rnnc_lm_ws_new(&t->val_ws, t->m, t->val_batch, t->o.seq))) return s;
    }
    t->B = t->o.batch;
    t->val_hi = (size_t)t->val_batch;
    size_t n = (size_t)t->o.batch * (size_t)t->o.seq;
    t->x = malloc(n * sizeof *t->x);
    t->y = malloc(n * sizeof *t->y);
    if (!t->x || !t->y) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for batches");
    t->base.params = t->m->params;
    t->base.grads = t->m->grads;
    t->base.n_params = t->m->n_params;
    snprintf(t->base.describe, sizeof t->base.describe,
             "%s tokenizer, |V| = %d; %zu training tokens (%zu windows of %dx%d), %zu held out; %s %dx%d, %zu parameters",
             t->tok ? rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(t->tok)) : "no", t->m->c.vocab, t->n_train,
             t->train.windows, t->o.batch, t->o.seq, t->n_val, rnnc_cell_name(t->m->c.cell), t->m->c.layers,
             t->m->c.hidden, t->m->n_params);
    if (t->bad_utf8) { /* a binary file given as text trains, on byte tokens: say so */
        size_t at = strlen(t->base.describe);
        snprintf(t->base.describe + at, sizeof t->base.describe - at, "; note: %zu byte%s (%.1f%%) of the training text %s not UTF-8",
                 t->bad_utf8, t->bad_utf8 == 1 ? "" : "s", 100.0 * (double)t->bad_utf8 / (double)(t->train_bytes ? t->train_bytes : 1),
                 t->bad_utf8 == 1 ? "is" : "are");
    }
    return RNNC_OK;
}

/* ---------------------------------------------------------------- the task's parts */

static size_t lm_steps_per_epoch(rnnc_task *base) { return ((lm_task *)base)->train.windows; }

static rnnc_status lm_train_batch(rnnc_task *base, long step, uint64_t seed, rnnc_rng *rng, double *loss, double *count) {
    (void)seed; /* the windows go in order */
    lm_task *t = (lm_task *)base;
    size_t w = (size_t)step % t->train.windows;
    if (w == 0) rnnc_lm_ws_reset_state(t->ws); /* a new pass: the streams start over from zero state */
    rnnc_stream_window(&t->train, w, t->x, t->y);
    rnnc_status s = rnnc_lm_forward(t->m, t->ws, t->x, t->B, t->o.seq, true, rng, NULL);
    if (!s) s = rnnc_lm_loss(t->m, t->ws, t->y, true, loss);
    base->weight = *count = (double)t->B * t->o.seq;
    return s;
}

static rnnc_status lm_validate(rnnc_task *base, rnnc_valid_result *r) {
    lm_task *t = (lm_task *)base;
    size_t per = (size_t)t->val_batch * (size_t)t->o.seq, windows = t->val.windows;
    if (t->o.eval_max_tokens > 0 && windows * per > (size_t)t->o.eval_max_tokens)
        windows = (size_t)t->o.eval_max_tokens / per > 0 ? (size_t)t->o.eval_max_tokens / per : 1;
    double loss = 0;
    rnnc_status s = RNNC_OK;
    if (rnnc_comm_size(base->comm) <= 1) {
        s = rnnc_lm_stream_loss(t->m, t->val_ws, &t->val, windows, t->x, t->y, &loss);
    } else { /* this rank's streams; the sum of the window means weighted by their streams, reduced */
        double sum[2] = {0, (double)(t->val_hi - t->val_lo) * (double)windows};
        if (t->val_hi > t->val_lo) s = rnnc_lm_stream_loss(t->m, t->val_ws, &t->val, windows, t->x, t->y, &loss);
        sum[0] = loss * sum[1];
        if (!s) s = rnnc_comm_allreduce(base->comm, sum, 2, RNNC_COMM_F64, RNNC_COMM_SUM, "the validation all-reduce");
        loss = sum[0] / sum[1];
    }
    if (s) return s;
    double targets = (double)(windows * per), ppl = rnnc_perplexity(loss);
    r->n = 0;
    r->m[r->n].name = "val_loss"; r->m[r->n++].value = loss;
    r->m[r->n].name = "val_ppl"; r->m[r->n++].value = ppl;
    int n = snprintf(r->line, sizeof r->line, "valid loss %.4f  ppl %.2f", loss, ppl);
    if (t->n_unk_val) {
        /* bits per byte through <unk> would be a lie: the model never pays for the unknown bytes */
        double rate = (double)t->n_unk_val / (double)t->n_val;
        r->m[r->n].name = "val_unk"; r->m[r->n++].value = rate;
        snprintf(r->line + n, sizeof r->line - (size_t)n, "  <unk> %.2f%% (no bpb)", 100 * rate);
    } else {
        /* the bytes those targets cover, in proportion to the held-out text's tokens */
        double bpb = rnnc_bits_per_byte(loss, targets, (double)t->val_bytes * targets / (double)t->n_val);
        r->m[r->n].name = "val_bpb"; r->m[r->n++].value = bpb;
        snprintf(r->line + n, sizeof r->line - (size_t)n, "  bpb %.4f", bpb);
    }
    r->score[0] = loss;
    r->score[1] = 0;
    return RNNC_OK;
}

static rnnc_status lm_save(rnnc_task *base, const char *path, const char *const *keys, const char *const *values,
                           size_t n_meta, const rnnc_st_entry *extra, size_t n_extra) {
    lm_task *t = (lm_task *)base;
    rnnc_status s = RNNC_OK;
    size_t nt = rnnc_lm_num_tensors(t->m);
    rnnc_st_entry *e = calloc(nt + n_extra, sizeof *e);
    char (*names)[64] = calloc(nt ? nt : 1, sizeof *names);
    const char **mk = calloc(t->m->n_meta + n_meta + 2, sizeof *mk), **mv = calloc(t->m->n_meta + n_meta + 2, sizeof *mv);
    char *config = rnnc_lm_config_to_json(&t->m->c);
    if (!e || !names || !mk || !mv || !config) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); goto out; }
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info pi = rnnc_lm_tensor(t->m, k);
        snprintf(names[k], sizeof names[k], "%s", pi.name);
        e[k] = (rnnc_st_entry){names[k], RNNC_DT_F32, pi.ndim, {0}, t->m->params + pi.offset};
        for (int d = 0; d < pi.ndim; d++) e[k].shape[d] = pi.shape[d];
    }
    for (size_t k = 0; k < n_extra; k++) e[nt + k] = extra[k];
    size_t nm = 0;
    mk[nm] = "rnnc.config";
    mv[nm++] = config;
    /* the model's own metadata (tokenizer, unseen ids), then this file's (one save only) */
    for (size_t i = 0; i < t->m->n_meta; i++) {
        bool replaced = false;
        for (size_t k = 0; k < n_meta; k++) replaced |= strcmp(keys[k], t->m->meta_keys[i]) == 0;
        if (replaced) continue;
        mk[nm] = t->m->meta_keys[i];
        mv[nm++] = t->m->meta_values[i];
    }
    for (size_t k = 0; k < n_meta; k++) {
        mk[nm] = keys[k];
        mv[nm++] = values[k];
    }
    s = rnnc_st_save(path, e, nt + n_extra, mk, mv, nm);
out:
    free(config);
    free(mk);
    free(mv);
    free(names);
    free(e);
    return s;
}

static char *lm_options_json(rnnc_task *base) {
    lm_task *t = (lm_task *)base;
    const rnnc_lm_task_opts *o = &t->o;
    cJSON *j = cJSON_CreateObject(), *d = j ? cJSON_AddArrayToObject(j, "data") : NULL;
    bool ok = d != NULL;
    for (size_t i = 0; ok && i < o->n_data; i++) ok = cJSON_AddItemToArray(d, cJSON_CreateString(o->data[i]));
    ok = ok && (!o->valid || cJSON_AddStringToObject(j, "valid", o->valid)) &&
         cJSON_AddNumberToObject(j, "valid_fraction", o->valid_fraction) &&
         cJSON_AddStringToObject(j, "tokenizer", o->tokenizer) && cJSON_AddNumberToObject(j, "batch", o->batch) &&
         cJSON_AddNumberToObject(j, "seq", o->seq) && cJSON_AddNumberToObject(j, "eval_max_tokens", (double)o->eval_max_tokens) &&
         cJSON_AddBoolToObject(j, "unigram_bias", o->unigram_bias);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

/* The recurrent state carried from window to window: it is what the next step starts from. One
 * tensor per state of the cell (rnnc_cell_info.states), named as checkpoints have always named
 * them. */
static const char *const lm_state_names[RNNC_CELL_MAX_STATES] = {"train.h", "train.c"};
static float *lm_state_of(lm_task *t, int k) { return k == 0 ? rnnc_lm_ws_h(t->ws) : rnnc_lm_ws_c(t->ws); }

/* Copies state k between this rank's rows (L, B_rank, H) and the global layout (L, B, H). */
static void state_rows(lm_task *t, int k, float *global, bool to_global) {
    size_t L = (size_t)t->m->c.layers, Bg = (size_t)t->o.batch, B = (size_t)t->B, H = (size_t)t->m->c.hidden;
    float *mine = lm_state_of(t, k);
    for (size_t l = 0; l < L; l++) {
        float *g = global + (l * Bg + (size_t)t->row0) * H, *m = mine + l * B * H;
        if (to_global) memcpy(g, m, B * H * sizeof *g);
        else memcpy(m, g, B * H * sizeof *g);
    }
}

/* Several ranks: every rank's streams' state into the global layout (L, B, H), on every rank:
 * each adds its rows to zeros. */
static rnnc_status lm_gather(rnnc_task *base) {
    lm_task *t = (lm_task *)base;
    size_t per = (size_t)t->m->c.layers * (size_t)t->o.batch * (size_t)t->m->c.hidden;
    const int states = rnnc_cell_info_of(t->m->c.cell)->states;
    rnnc_status s = RNNC_OK;
    for (int k = 0; k < states && !s; k++) {
        float *v = t->gathered + (size_t)k * per;
        memset(v, 0, per * sizeof *v);
        state_rows(t, k, v, true);
        s = rnnc_comm_allreduce(base->comm, v, per, RNNC_COMM_F32, RNNC_COMM_SUM, "gathering the carried state");
    }
    return s;
}

static size_t lm_state(rnnc_task *base, rnnc_st_entry *e, size_t max) {
    lm_task *t = (lm_task *)base;
    int64_t L = t->m->c.layers, B = t->o.batch, H = t->m->c.hidden;
    size_t n = 0, per = (size_t)(L * B * H);
    const int states = rnnc_cell_info_of(t->m->c.cell)->states; /* h, and c for LSTM */
    bool split = rnnc_comm_size(base->comm) > 1; /* then lm_gather has collected it */
    for (int k = 0; k < states && n < max; k++)
        e[n++] = (rnnc_st_entry){lm_state_names[k], RNNC_DT_F32, 3, {L, B, H}, split ? t->gathered + (size_t)k * per : lm_state_of(t, k)};
    return n;
}

static rnnc_status lm_restore(rnnc_task *base, const rnnc_safetensors *ck) {
    lm_task *t = (lm_task *)base;
    int64_t hs[3] = {t->m->c.layers, t->o.batch, t->m->c.hidden};
    const int states = rnnc_cell_info_of(t->m->c.cell)->states;
    bool split = rnnc_comm_size(base->comm) > 1;
    rnnc_status s = RNNC_OK;
    for (int k = 0; k < states && !s; k++) {
        if (!split) { s = rnnc_st_read_f32(ck, lm_state_names[k], 3, hs, lm_state_of(t, k)); continue; }
        float *g = t->gathered + (size_t)k * (size_t)(hs[0] * hs[1] * hs[2]);
        if (!(s = rnnc_st_read_f32(ck, lm_state_names[k], 3, hs, g))) state_rows(t, k, g, false);
    }
    return s;
}

/* This rank's streams: the training streams [row0, row0 + B/N) as a stream set of their own (the
 * same ids per stream, so the same windows), its workspace, and its share of the held-out streams. */
static rnnc_status lm_shard(rnnc_task *base) {
    lm_task *t = (lm_task *)base;
    rnnc_status s = rnnc_comm_check_batch(base->comm, t->o.batch, "--batch");
    if (s) return s;
    int N = rnnc_comm_size(base->comm), T = t->o.seq;
    t->B = t->o.batch / N;
    t->row0 = rnnc_comm_rank(base->comm) * t->B;
    size_t n = t->train.n;
    if ((s = rnnc_stream_init(&t->train, t->train_ids + (size_t)t->row0 * n, (size_t)t->B * n, t->B, T))) return s;
    rnnc_lm_ws_free(t->ws);
    t->ws = NULL;
    if ((s = rnnc_lm_ws_new(&t->ws, t->m, t->B, T))) return s;
    rnnc_lm_ws_set_row0(t->ws, t->row0);
    if (t->val_ids) {
        size_t vn = t->val.n;
        rnnc_comm_share(base->comm, (size_t)t->val_batch, &t->val_lo, &t->val_hi);
        rnnc_lm_ws_free(t->val_ws);
        t->val_ws = NULL;
        int vb = (int)(t->val_hi - t->val_lo);
        if (vb > 0 && ((s = rnnc_stream_init(&t->val, t->val_ids + t->val_lo * vn, (size_t)vb * vn, vb, T)) ||
                       (s = rnnc_lm_ws_new(&t->val_ws, t->m, vb, T))))
            return s;
    }
    size_t states = (size_t)rnnc_cell_info_of(t->m->c.cell)->states;
    t->gathered = malloc(states * (size_t)t->m->c.layers * (size_t)t->o.batch * (size_t)t->m->c.hidden * sizeof *t->gathered);
    return t->gathered ? RNNC_OK : rnnc_error(RNNC_ERR_NOMEM, "out of memory for the carried state");
}

/* The text files (training, then validation when given apart) */
static size_t lm_inputs(rnnc_task *base, const char **paths, size_t max) {
    const rnnc_lm_task_opts *o = &((lm_task *)base)->o;
    size_t n = 0;
    for (size_t i = 0; i < o->n_data; i++, n++)
        if (n < max) paths[n] = o->data[i];
    if (o->valid && n < max) paths[n] = o->valid;
    return n + (o->valid != NULL);
}

static const rnnc_task_ops lm_ops = {
    .name = "lm", .steps_per_epoch = lm_steps_per_epoch, .train_batch = lm_train_batch, .validate = lm_validate,
    .save = lm_save, .options_json = lm_options_json, .state = lm_state, .restore = lm_restore, .free = lm_free,
    .shard = lm_shard, .gather = lm_gather, .inputs = lm_inputs,
};

static rnnc_status check_opts(const rnnc_lm_task_opts *o) {
    if (o->n_data == 0) return rnnc_error(RNNC_ERR_ARG, "--data: no training file given");
    if (!o->valid && !(o->valid_fraction > 0 && o->valid_fraction < 1))
        return rnnc_error(RNNC_ERR_ARG, "--valid-fraction must be in (0, 1)");
    if (o->batch < 1 || o->seq < 1) return rnnc_error(RNNC_ERR_ARG, "--batch and --seq must be positive");
    if (o->eval_max_tokens < 0) return rnnc_error(RNNC_ERR_ARG, "--eval-tokens must not be negative");
    return RNNC_OK;
}

/* A task with owned copies of the options' strings. */
static rnnc_status task_alloc(lm_task **out, const rnnc_lm_task_opts *o) {
    lm_task *t = *out = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    t->base.ops = &lm_ops;
    t->o = *o;
    const char **files = calloc(o->n_data ? o->n_data : 1, sizeof *files);
    t->o.data = files;
    bool ok = files != NULL;
    for (size_t i = 0; ok && i < o->n_data; i++) ok = (files[i] = own(t, o->data[i])) != NULL;
    ok = ok && (!o->valid || (t->o.valid = own(t, o->valid))) && (t->o.tokenizer = own(t, o->tokenizer ? o->tokenizer : "char"));
    return ok ? RNNC_OK : rnnc_error(RNNC_ERR_NOMEM, "out of memory");
}

rnnc_status rnnc_lm_task_new(rnnc_task **out, const rnnc_lm_task_opts *o, uint64_t seed) {
    *out = NULL;
    rnnc_status s = check_opts(o);
    if (s) return s;
    lm_task *t;
    if ((s = task_alloc(&t, o)) && !t) return s;
    if (s || (s = prepare_data(t, NULL))) goto fail;
    rnnc_lm_config c = {.cell = o->cell, .vocab = (int)rnnc_tokenizer_n_vocab(t->tok), .embed = o->embed,
                        .hidden = o->hidden, .layers = o->layers, .dropout = o->dropout};
    if ((s = rnnc_lm_new(&t->m, &c))) goto fail;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    rnnc_lm_init(t->m, &rng);
    if ((s = count_ids(t, o->unigram_bias))) goto fail;
    char *tok_json = NULL;
    if ((s = rnnc_tokenizer_to_json(t->tok, &tok_json))) goto fail;
    s = rnnc_lm_set_meta(t->m, "rnnc.tokenizer", tok_json);
    free(tok_json);
    if (s || (s = setup(t))) goto fail;
    *out = &t->base;
    return RNNC_OK;
fail:
    lm_free(&t->base);
    return s;
}

/* Drops the metadata a run writes into its files (rnnc.run*, rnnc.task.*, rnnc.training) from a
 * model loaded from a checkpoint: the run writes them afresh, and they must not leak into the
 * model files. */
static void drop_run_meta(rnnc_lm *m) {
    size_t k = 0;
    for (size_t i = 0; i < m->n_meta; i++) {
        const char *key = m->meta_keys[i];
        if (!strncmp(key, "rnnc.run", 8) || !strncmp(key, "rnnc.task.", 10) || !strcmp(key, "rnnc.training")) {
            free(m->meta_keys[i]);
            free(m->meta_values[i]);
            continue;
        }
        m->meta_keys[k] = m->meta_keys[i];
        m->meta_values[k++] = m->meta_values[i];
    }
    m->n_meta = k;
}

/* Resume: options from the checkpoint's JSON, the model and its tokenizer from its tensors. */
rnnc_status rnnc_lm_task_resume(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json) {
    *out = NULL;
    char what[600];
    snprintf(what, sizeof what, "%s: metadata rnnc.task.options", ck->path);
    cJSON *j;
    rnnc_status s = rnnc_json_object(options_json, what, &j);
    if (s) return s;
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    int n = cJSON_IsArray(d) ? cJSON_GetArraySize(d) : 0;
    const char **files = calloc(n > 0 ? (size_t)n : 1, sizeof *files);
    if (!files) { cJSON_Delete(j); return rnnc_error(RNNC_ERR_NOMEM, "out of memory"); }
    const cJSON *f;
    size_t k = 0;
    cJSON_ArrayForEach(f, d) {
        if (!cJSON_IsString(f)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"data\" holds a non-string", what); break; }
        files[k++] = f->valuestring;
    }
    o.data = files;
    o.n_data = k;
    const char *tok = rnnc_st_meta(ck, "rnnc.tokenizer");
    if (!s && (!d || !n)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: \"data\" is not a list of files", what);
    if (!s && !tok) s = rnnc_error(RNNC_ERR_FORMAT, "%s: metadata rnnc.tokenizer is missing", ck->path);
    long eval_max = 0;
    const double big = 9e15;
    if (!s && !(s = rnnc_json_str(j, "valid", true, &o.valid, what)) &&
        !(s = rnnc_json_num(j, "valid_fraction", 0, 1, false, false, &o.valid_fraction, what)) &&
        !(s = rnnc_json_str(j, "tokenizer", false, &o.tokenizer, what)) &&
        !(s = rnnc_json_int(j, "batch", 1, 1 << 20, false, &o.batch, what)) &&
        !(s = rnnc_json_int(j, "seq", 1, 1 << 24, false, &o.seq, what)) &&
        !(s = rnnc_json_long(j, "eval_max_tokens", 0, (long)big, false, &eval_max, what)))
        s = rnnc_json_bool(j, "unigram_bias", false, &o.unigram_bias, what);
    o.eval_max_tokens = eval_max;
    lm_task *t = NULL;
    if (!s && !(s = check_opts(&o)) && !(s = task_alloc(&t, &o))) {
        if (!(s = rnnc_lm_from_safetensors(&t->m, ck, "train.")) && (drop_run_meta(t->m), !(s = prepare_data(t, tok)))) {
            if ((size_t)t->m->c.vocab != rnnc_tokenizer_n_vocab(t->tok))
                s = rnnc_error(RNNC_ERR_FORMAT, "%s: the model's vocabulary (%d) differs from its tokenizer's (%zu)", ck->path,
                               t->m->c.vocab, rnnc_tokenizer_n_vocab(t->tok));
            else if (!(s = count_ids(t, false)))
                s = setup(t);
        }
    }
    free(files);
    cJSON_Delete(j);
    if (s) {
        if (t) lm_free(&t->base);
        return s;
    }
    t->o.cell = t->m->c.cell;
    t->o.layers = t->m->c.layers;
    t->o.hidden = t->m->c.hidden;
    t->o.embed = t->m->c.embed;
    t->o.dropout = t->m->c.dropout;
    *out = &t->base;
    return RNNC_OK;
}

/* ---------------------------------------------------------------- id files */

static const rnnc_task_ops lm_ids_ops = {
    .name = "lm-ids", .steps_per_epoch = lm_steps_per_epoch, .train_batch = lm_train_batch, .validate = NULL,
    .save = lm_save, .options_json = lm_options_json, .state = lm_state, .restore = lm_restore, .free = lm_free,
    .shard = lm_shard, .gather = lm_gather,
};

rnnc_status rnnc_lm_task_ids(rnnc_task **out, const char *model_path, const char *ids_path, int B, int T) {
    *out = NULL;
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    o.batch = B;
    o.seq = T;
    o.data = &ids_path;
    o.n_data = 1;
    lm_task *t;
    rnnc_status s = task_alloc(&t, &o);
    if (s && !t) return s;
    if (s) goto fail;
    t->base.ops = &lm_ids_ops;
    /* the tokenizer is not used on id files, but a model whose tokenizer disagrees with it is
     * damaged: refused here as by every other command */
    if ((s = rnnc_lm_load_tokenizer(&t->m, NULL, model_path))) goto fail;
    if ((s = rnnc_ids_read_text(ids_path, &t->train_ids, &t->n_train))) goto fail;
    if ((s = rnnc_ids_check_vocab(t->train_ids, t->n_train, t->m->c.vocab, ids_path))) {
        s = rnnc_error(s, "%s (model %s)", rnnc_last_error(), model_path);
        goto fail;
    }
    if (rnnc_stream_init(&t->train, t->train_ids, t->n_train, B, T)) {
        s = rnnc_error(RNNC_ERR_ARG, "--batch %d x --seq %d needs at least %zu ids (batch x (seq+1)), but %s has %zu; lower "
                       "--batch or --seq", B, T, (size_t)B * (size_t)(T + 1), ids_path, t->n_train);
        goto fail;
    }
    if ((s = setup(t))) goto fail;
    *out = &t->base;
    return RNNC_OK;
fail:
    lm_free(&t->base);
    return s;
}
