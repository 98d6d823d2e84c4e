/* The sequence-to-sequence task on the run module (include/rnnc/train.h): TSV pairs read once,
 * vocabularies grown or tokenizers trained on their columns, batches of items grouped by length,
 * teacher forcing (or scheduled sampling), and validation by dev loss plus greedy decoding scored
 * by TER and SER.
 *
 * Data parallel (run.h): every rank plans the same epoch order and takes rows [r n/N, (r+1) n/N)
 * of each global batch of n rows, padded as the whole batch is; dropout, output dropout and
 * scheduled sampling draw per global row (rnnc_s2s_ws_set_row0). Validation: rank r computes the
 * dev loss of the dev batches k with k mod N = r and decodes its share of the dev items; the sums
 * and the error counts are reduced. */
#include "rnnc/train.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "rnnc/io.h"
#include "rnnc/metrics.h"
#include "rnnc/nn.h"

rnnc_s2s_task_opts rnnc_s2s_task_defaults(void) {
    rnnc_s2s_task_opts o;
    memset(&o, 0, sizeof o);
    o.source_tokenizer = o.target_tokenizer = "space";
    o.model = (rnnc_s2s_config){.cell = RNNC_CELL_LSTM, .embed = 64, .hidden = 256, .layers = 1};
    o.batch = 64;
    o.teacher_forcing = 1.0;
    return o;
}

typedef struct {
    rnnc_task base;
    rnnc_s2s_task_opts o;
    char *strings[4]; /* owned: data, valid, source and target tokenizer */
    rnnc_s2s_model *m;
    rnnc_s2s_data train, dev;
    rnnc_s2s_batcher bt;
    bool bt_made;
    long planned_epoch; /* the epoch whose batch order bt holds; -1: none */
    rnnc_s2s_ws *ws, *val_ws;
    float *grads;
} s2s_task;

static void s2s_free(rnnc_task *base) {
    s2s_task *t = (s2s_task *)base;
    rnnc_s2s_ws_free(t->ws);
    rnnc_s2s_ws_free(t->val_ws);
    if (t->bt_made) rnnc_s2s_batcher_free(&t->bt);
    rnnc_s2s_data_free(&t->train);
    rnnc_s2s_data_free(&t->dev);
    rnnc_s2s_model_free(t->m);
    free(t->grads);
    for (int i = 0; i < 4; i++) free(t->strings[i]);
    free(t);
}

/* The longest source and target (+ <eos>) of d's items: what a workspace for d needs. */
static void longest(const rnnc_s2s_data *d, int *Ts, int *Tt) {
    *Ts = *Tt = 1;
    for (size_t i = 0; i < d->n; i++) {
        if (d->items[i].src_len > *Ts) *Ts = d->items[i].src_len;
        for (int r = 0; r < d->items[i].n_refs; r++)
            if (d->items[i].ref_len[r] + 1 > *Tt) *Tt = d->items[i].ref_len[r] + 1;
    }
}

static size_t s2s_steps_per_epoch(rnnc_task *base) { return ((s2s_task *)base)->bt.n_batches; }

static rnnc_status s2s_train_batch(rnnc_task *base, long step, uint64_t seed, rnnc_rng *rng, double *loss, double *count) {
    s2s_task *t = (s2s_task *)base;
    long epoch = step / (long)t->bt.n_batches;
    size_t k = (size_t)(step % (long)t->bt.n_batches);
    if (epoch != t->planned_epoch) {
        /* each epoch's order from the seed and the epoch alone, so a resume finds it again */
        rnnc_rng plan;
        rnnc_rng_seed(&plan, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(epoch + 1)));
        rnnc_s2s_batcher_plan(&t->bt, &plan);
        t->planned_epoch = epoch;
    }
    rnnc_s2s_train_opts to = {.teacher_forcing = (float)t->o.teacher_forcing, .label_smoothing = (float)t->o.label_smoothing,
                              .training = true};
    long c = 0;
    const rnnc_s2s_batch *b = rnnc_s2s_batcher_get(&t->bt, k);
    rnnc_s2s_batch mine = *b;
    size_t lo = 0, hi = (size_t)b->B;
    rnnc_comm_share(base->comm, (size_t)b->B, &lo, &hi);
    if (hi == lo) { /* a short last batch may leave a rank nothing */
        *loss = *count = base->weight = 0;
        return RNNC_OK;
    }
    if (hi - lo < (size_t)b->B) { /* this rank's rows of the global batch, padded as it is */
        mine.B = (int)(hi - lo);
        mine.src += lo * (size_t)b->Ts;
        mine.src_len += lo;
        mine.tgt_in += lo * (size_t)b->Tt;
        mine.tgt_out += lo * (size_t)b->Tt;
        mine.tgt_len += lo;
        if (mine.item) mine.item += lo;
        if (mine.ref) mine.ref += lo;
    }
    rnnc_s2s_ws_set_row0(t->ws, (long)lo);
    rnnc_status s = rnnc_s2s_forward_backward(t->ws, t->m, &mine, &to, t->grads, 1.0f, rng, loss, &c);
    base->weight = *count = (double)c;
    return s;
}

/* Mean loss over every (item, reference) pair of the dev set, in batches (several ranks: batch k
 * on rank k mod N, the sums reduced). */
static rnnc_status dev_loss(s2s_task *t, double *out) {
    rnnc_s2s_batcher bt;
    rnnc_status s = rnnc_s2s_batcher_new(&bt, &t->dev, t->o.batch, true);
    if (s) return s;
    double sum[2] = {0, 0};
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
    size_t N = (size_t)rnnc_comm_size(t->base.comm);
    for (size_t k = (size_t)rnnc_comm_rank(t->base.comm); k < bt.n_batches && !s; k += N) {
        double l;
        long c;
        s = rnnc_s2s_forward_backward(t->val_ws, t->m, rnnc_s2s_batcher_get(&bt, k), &o, NULL, 1.0f, NULL, &l, &c);
        sum[0] += l * (double)c;
        sum[1] += (double)c;
    }
    rnnc_s2s_batcher_free(&bt);
    if (!s) s = rnnc_comm_allreduce(t->base.comm, sum, 2, RNNC_COMM_F64, RNNC_COMM_SUM, "the validation all-reduce");
    *out = sum[1] > 0 ? sum[0] / sum[1] : 0;
    return s;
}

static rnnc_status s2s_validate(rnnc_task *base, rnnc_valid_result *r) {
    s2s_task *t = (s2s_task *)base;
    double loss;
    rnnc_status s = dev_loss(t, &loss);
    if (s) return s;
    rnnc_s2s_data sub = t->dev; /* the first valid_max items */
    if (t->o.valid_max > 0 && (size_t)t->o.valid_max < sub.n) sub.n = (size_t)t->o.valid_max;
    size_t n = sub.n, lo, hi; /* this rank's share of the items decoded; the error counts reduced */
    rnnc_comm_share(base->comm, n, &lo, &hi);
    sub.items += lo;
    sub.n = hi - lo;
    rnnc_s2s_score sc;
    memset(&sc, 0, sizeof sc);
    if ((s = rnnc_s2s_evaluate(t->m, &sub, 1, 0, t->o.batch, 0, &sc, NULL))) return s;
    uint64_t cnt[4] = {sc.edits, sc.ref_tokens, sc.seqs, sc.seq_errors};
    if ((s = rnnc_comm_allreduce(base->comm, cnt, 4, RNNC_COMM_U64, RNNC_COMM_SUM, "the validation all-reduce"))) return s;
    sc = (rnnc_s2s_score){.edits = cnt[0], .ref_tokens = cnt[1], .seqs = cnt[2], .seq_errors = cnt[3]};
    sub.n = n;
    double ter = rnnc_s2s_ter(&sc), ser = rnnc_s2s_ser(&sc);
    r->n = 0;
    r->m[r->n].name = "val_loss"; r->m[r->n++].value = loss;
    r->m[r->n].name = "val_ppl"; r->m[r->n++].value = rnnc_perplexity(loss);
    r->m[r->n].name = "val_ter"; r->m[r->n++].value = ter;
    r->m[r->n].name = "val_ser"; r->m[r->n++].value = ser;
    r->score[0] = ser;
    r->score[1] = ter;
    snprintf(r->line, sizeof r->line, "dev loss %.4f  TER %.2f%%  SER %.2f%% (%zu items)", loss, 100 * ter, 100 * ser, sub.n);
    return RNNC_OK;
}

static rnnc_status s2s_save(rnnc_task *base, const char *path, const char *const *keys, const char *const *values,
                            size_t n_meta, const rnnc_st_entry *extra, size_t n_extra) {
    s2s_task *t = (s2s_task *)base;
    return rnnc_s2s_save_ex(t->m, path, keys, values, n_meta, extra, n_extra);
}

static char *s2s_options_json(rnnc_task *base) {
    s2s_task *t = (s2s_task *)base;
    const rnnc_s2s_task_opts *o = &t->o;
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "data", o->data) && cJSON_AddStringToObject(j, "valid", o->valid) &&
              cJSON_AddStringToObject(j, "source_tokenizer", o->source_tokenizer) &&
              cJSON_AddStringToObject(j, "target_tokenizer", o->target_tokenizer) &&
              cJSON_AddNumberToObject(j, "batch", o->batch) && cJSON_AddNumberToObject(j, "teacher_forcing", o->teacher_forcing) &&
              cJSON_AddNumberToObject(j, "label_smoothing", o->label_smoothing) &&
              cJSON_AddNumberToObject(j, "max_source", o->max_source) && cJSON_AddNumberToObject(j, "max_target", o->max_target) &&
              cJSON_AddBoolToObject(j, "skip_bad", o->skip_bad) && cJSON_AddBoolToObject(j, "skip_long", o->skip_long) &&
              cJSON_AddNumberToObject(j, "valid_max", (double)o->valid_max);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

/* Every rank reads the same batches and takes its rows of each (s2s_train_batch). */
static rnnc_status s2s_shard(rnnc_task *base) {
    return rnnc_comm_check_batch(base->comm, ((s2s_task *)base)->o.batch, "--batch");
}

static size_t s2s_inputs(rnnc_task *base, const char **paths, size_t max) {
    const rnnc_s2s_task_opts *o = &((s2s_task *)base)->o;
    return rnnc_task_list_inputs((const char *const[]){o->data, o->valid}, 2, paths, max);
}

static const rnnc_task_ops s2s_ops = {
    .name = "seq2seq", .steps_per_epoch = s2s_steps_per_epoch, .train_batch = s2s_train_batch, .validate = s2s_validate,
    .save = s2s_save, .options_json = s2s_options_json, .state = NULL, .restore = NULL, .free = s2s_free,
    .shard = s2s_shard, .inputs = s2s_inputs,
};

/* The decoder's output bias starts at the log of the smoothed frequencies of the training
 * targets (every reference and its <eos>), so the first predictions are the unigram
 * distribution and the never-predicted ids (<pad>, <bos>) start improbable. */
static rnnc_status unigram_bias(rnnc_s2s_model *m, const rnnc_s2s_data *d) {
    size_t V = (size_t)m->c.tgt_vocab;
    double *count = calloc(V, sizeof *count);
    if (!count) return rnnc_error(RNNC_ERR_NOMEM, "out of memory counting %zu target ids", V);
    for (size_t i = 0; i < d->n; i++)
        for (int r = 0; r < d->items[i].n_refs; r++) {
            for (int k = 0; k < d->items[i].ref_len[r]; k++)
                if (d->items[i].ref[r][k] < V) count[d->items[i].ref[r][k]] += 1;
            count[RNNC_S2S_EOS] += 1;
        }
    rnnc_unigram_bias(m->params + m->off_head_b, count, (int)V);
    free(count);
    return RNNC_OK;
}

static rnnc_status check_opts(const rnnc_s2s_task_opts *o) {
    if (!o->data) return rnnc_error(RNNC_ERR_ARG, "--data: no training file given");
    if (!o->valid) return rnnc_error(RNNC_ERR_ARG, "--valid: no dev file given");
    if (o->batch < 1) return rnnc_error(RNNC_ERR_ARG, "--batch must be positive");
    if (!(o->teacher_forcing >= 0 && o->teacher_forcing <= 1)) return rnnc_error(RNNC_ERR_ARG, "--teacher-forcing must be in [0, 1]");
    if (!(o->label_smoothing >= 0 && o->label_smoothing < 1)) return rnnc_error(RNNC_ERR_ARG, "--label-smoothing must be in [0, 1)");
    if (o->valid_max < 0) return rnnc_error(RNNC_ERR_ARG, "--valid-max must not be negative");
    return RNNC_OK;
}

static rnnc_status task_alloc(s2s_task **out, const rnnc_s2s_task_opts *o) {
    s2s_task *t = *out = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    t->base.ops = &s2s_ops;
    t->o = *o;
    t->planned_epoch = -1;
    rnnc_s2s_data_init(&t->train);
    rnnc_s2s_data_init(&t->dev);
    const char *in[4] = {o->data, o->valid, o->source_tokenizer ? o->source_tokenizer : "space",
                         o->target_tokenizer ? o->target_tokenizer : "space"};
    for (int i = 0; i < 4; i++)
        if (!(t->strings[i] = strdup(in[i]))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    t->o.data = t->strings[0];
    t->o.valid = t->strings[1];
    t->o.source_tokenizer = t->strings[2];
    t->o.target_tokenizer = t->strings[3];
    return RNNC_OK;
}

static rnnc_s2s_read_opts read_opts(const rnnc_s2s_task_opts *o, bool grow) {
    return (rnnc_s2s_read_opts){.max_source = o->max_source, .max_target = o->max_target, .skip_bad = o->skip_bad,
                                .skip_long = o->skip_long, .grow = grow};
}

/* Workspaces, batcher and gradients once the model and data are in place. */
static rnnc_status setup(s2s_task *t) {
    if (t->train.n == 0) return rnnc_error(RNNC_ERR_ARG, "%s: no pairs to train on", t->o.data);
    if (t->dev.n == 0) return rnnc_error(RNNC_ERR_ARG, "%s: no pairs to validate on", t->o.valid);
    rnnc_status s = rnnc_s2s_batcher_new(&t->bt, &t->train, t->o.batch, true);
    if (s) return s;
    t->bt_made = true;
    int Ts, Tt, Vs, Vt;
    longest(&t->train, &Ts, &Tt);
    longest(&t->dev, &Vs, &Vt);
    if ((s = rnnc_s2s_ws_new(&t->ws, t->m, t->o.batch, Ts, Tt))) return s;
    if ((s = rnnc_s2s_ws_new(&t->val_ws, t->m, t->o.batch, Vs, Vt))) return s;
    if (!(t->grads = calloc(t->m->n_params, sizeof *t->grads)))
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for %zu gradients", t->m->n_params);
    t->base.params = t->m->params;
    t->base.grads = t->grads;
    t->base.n_params = t->m->n_params;
    snprintf(t->base.describe, sizeof t->base.describe, "%zu training items (%zu pairs, %zu batches of %d), %zu dev items; "
             "%s x%d, hidden %d, embed %d%s, vocabularies %d and %d: %zu parameters", t->train.n, t->train.n_pairs,
             t->bt.n_batches, t->o.batch, t->dev.n, rnnc_cell_name(t->m->c.cell), t->m->c.layers, t->m->c.hidden,
             t->m->c.embed, t->m->c.bidirectional ? ", bidirectional encoder" : "", t->m->c.src_vocab, t->m->c.tgt_vocab,
             t->m->n_params);
    return RNNC_OK;
}

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

/* "bpe, 304 ids" / "file (word tokenizer), 10004 ids" / "space, 30 symbols" */
static void describe_vocab(char *buf, size_t n, const rnnc_s2s_vocab *v) {
    if (v->tok == RNNC_S2S_TOK_FILE)
        snprintf(buf, n, "file (%s tokenizer), %zu ids", rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(v->tk)), v->n);
    else
        snprintf(buf, n, "%s, %zu %s", rnnc_s2s_tok_name(v->tok), v->n, v->tk ? "ids" : "symbols");
}

static void summarize(const s2s_task *t, char *buf, size_t n) {
    if (!buf || !n) return;
    char ds[128], dt[128];
    describe_vocab(ds, sizeof ds, &t->m->src_vocab);
    describe_vocab(dt, sizeof dt, &t->m->tgt_vocab);
    snprintf(buf, n,
             "%s: %zu sources, %zu pairs (skipped: %zu bad, %zu long, %zu duplicate); %s: %zu sources\n"
             "seq2seq: vocabularies: source %s; target %s (the 4 specials included)\n"
             "seq2seq: unknown tokens: %s source %zu of %zu (%.2f%%), target %zu of %zu (%.2f%%); %s source %zu of %zu (%.2f%%), "
             "target %zu of %zu (%.2f%%)",
             t->o.data, t->train.n, t->train.n_pairs, t->train.skipped_bad, t->train.skipped_long, t->train.skipped_dup,
             t->o.valid, t->dev.n, ds, dt, t->o.data, t->train.src_unk, t->train.src_symbols, pct(t->train.src_unk, t->train.src_symbols),
             t->train.tgt_unk, t->train.tgt_symbols, pct(t->train.tgt_unk, t->train.tgt_symbols), t->o.valid, t->dev.src_unk,
             t->dev.src_symbols, pct(t->dev.src_unk, t->dev.src_symbols), t->dev.tgt_unk, t->dev.tgt_symbols,
             pct(t->dev.tgt_unk, t->dev.tgt_symbols));
}

rnnc_status rnnc_s2s_task_new(rnnc_task **out, const rnnc_s2s_task_opts *o, uint64_t seed, char *summary, size_t n) {
    *out = NULL;
    rnnc_status s = check_opts(o);
    if (s) return s;
    s2s_task *t;
    if ((s = task_alloc(&t, o)) && !t) return s;
    rnnc_s2s_vocab sv = {0}, tv = {0};
    unsigned char *text = NULL;
    size_t len = 0;
    if (s) goto out;
    /* The training file is read once: the word/bpe tokenizers are trained on its columns, then
     * the same text is encoded (space/char vocabularies grow as it is). */
    if ((s = rnnc_read_file(t->o.data, &text, &len))) goto out;
    const char *flags[2] = {"--source-tokenizer", "--target-tokenizer"}, *specs[2] = {t->o.source_tokenizer, t->o.target_tokenizer};
    rnnc_s2s_vocab *vs[2] = {&sv, &tv};
    for (int side = 0; side < 2; side++)
        if ((s = rnnc_s2s_vocab_make(vs[side], specs[side], (const char *)text, len, side))) {
            s = rnnc_error(s, "%s: %s", flags[side], rnnc_last_error());
            goto out;
        }
    rnnc_s2s_read_opts ro = read_opts(&t->o, true);
    if ((s = rnnc_s2s_data_parse(&t->train, (const char *)text, len, t->o.data, &ro, &sv, &tv))) goto out;
    ro.grow = false;
    if ((s = rnnc_s2s_data_read(&t->dev, t->o.valid, &ro, &sv, &tv))) goto out;
    if (t->train.n == 0) { s = rnnc_error(RNNC_ERR_ARG, "%s: no pairs to train on", t->o.data); goto out; }
    if ((s = rnnc_s2s_model_new(&t->m, &t->o.model, &sv, &tv))) goto out; /* takes the vocabularies */
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    rnnc_s2s_model_init(t->m, &rng);
    if ((s = unigram_bias(t->m, &t->train)) || (s = setup(t))) goto out;
    summarize(t, summary, n);
out:
    free(text);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    if (s) s2s_free(&t->base);
    else *out = &t->base;
    return s;
}

rnnc_status rnnc_s2s_task_resume(rnnc_task **out, const rnnc_safetensors *ck, const char *options_json) {
    *out = NULL;
    char what[600];
    snprintf(what, sizeof what, "%s: metadata rnnc.task.options", ck->path);
    cJSON *j;
    rnnc_status s = rnnc_json_object(options_json, what, &j);
    if (s) return s;
    rnnc_s2s_task_opts o = rnnc_s2s_task_defaults();
    long valid_max = 0;
    if (!(s = rnnc_json_str(j, "data", false, &o.data, what)) && !(s = rnnc_json_str(j, "valid", false, &o.valid, what)) &&
        !(s = rnnc_json_str(j, "source_tokenizer", false, &o.source_tokenizer, what)) &&
        !(s = rnnc_json_str(j, "target_tokenizer", false, &o.target_tokenizer, what)) &&
        !(s = rnnc_json_int(j, "batch", 1, 1 << 20, false, &o.batch, what)) &&
        !(s = rnnc_json_num(j, "teacher_forcing", 0, 1, false, false, &o.teacher_forcing, what)) &&
        !(s = rnnc_json_num(j, "label_smoothing", 0, 0.999, false, false, &o.label_smoothing, what)) &&
        !(s = rnnc_json_int(j, "max_source", -1, 1 << 30, false, &o.max_source, what)) &&
        !(s = rnnc_json_int(j, "max_target", -1, 1 << 30, false, &o.max_target, what)) &&
        !(s = rnnc_json_bool(j, "skip_bad", false, &o.skip_bad, what)) &&
        !(s = rnnc_json_bool(j, "skip_long", false, &o.skip_long, what)) &&
        !(s = rnnc_json_long(j, "valid_max", 0, 1L << 50, false, &valid_max, what)))
        o.valid_max = valid_max;
    s2s_task *t = NULL;
    if (!s && !(s = check_opts(&o)) && !(s = task_alloc(&t, &o)) && !(s = rnnc_s2s_load_st(&t->m, ck))) {
        /* the data map onto the checkpoint's vocabularies */
        rnnc_s2s_read_opts ro = read_opts(&t->o, false);
        if (!(s = rnnc_s2s_data_read(&t->train, t->o.data, &ro, &t->m->src_vocab, &t->m->tgt_vocab)) &&
            !(s = rnnc_s2s_data_read(&t->dev, t->o.valid, &ro, &t->m->src_vocab, &t->m->tgt_vocab)))
            s = setup(t);
        t->o.model = t->m->c;
    }
    cJSON_Delete(j);
    if (s) {
        if (t) s2s_free(&t->base);
        return s;
    }
    *out = &t->base;
    return RNNC_OK;
}
