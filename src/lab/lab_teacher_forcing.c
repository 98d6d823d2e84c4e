/* rnnc lab teacher-forcing — the seed's Seq2Seq section: in training the decoder reads the gold
 * previous token (teacher forcing); in inference it reads its own previous output.
 *
 * The same encoder-decoder LSTM is trained on a subset of the grapheme-to-phoneme data (CMUdict
 * words spelled letter by letter -> their phonemes) for the same number of steps in three ways:
 *   teacher forcing     every decoder input is the gold previous phoneme (rnnc seq2seq train's
 *                       default);
 *   scheduled sampling  each input after <bos> is, with probability 1 - R, the model's own
 *                       prediction at that step from a gold-prefix pass (rnnc's parallel form,
 *                       --teacher-forcing R), R going down linearly from 1 to 0.5 over the run;
 *   free running        every input is the model's own previous output: each batch is first
 *                       decoded greedily, and the decoder is trained on those inputs against the
 *                       gold outputs (after its <eos> the decoder is fed <eos>).
 * Each is scored on dev words by greedy decoding (PER: phoneme edit distance over reference
 * length; WER: share of words matching no reference), and by two losses: teacher-forced (gold
 * inputs) and free-running (the model's own greedy inputs, which is how it runs at inference).
 * Their difference is the exposure-bias gap: the price of never having seen one's own mistakes
 * in training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"
#include "rnnc/io.h"
#include "rnnc/nn.h"
#include "rnnc/rng.h"
#include "rnnc/utf8.h"
#include "rnnc/train.h"

enum { MODE_TF, MODE_SS, MODE_FR, N_MODES };
static const char *const MODE_NAME[N_MODES] = {"teacher forcing", "scheduled sampling", "free running"};
#define SS_FLOOR 0.5 /* scheduled sampling's final R */
#define MAX_VALID 64

/* ---------------------------------------------------------------- data */

static uint32_t fnv1a(const char *s, size_t n) {
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x01000193u;
    }
    return h;
}

/* The lines of a TSV file whose source hashes (FNV-1a, as scripts/make-cmudict.sh splits) below
 * `percent` of 100, at most max_items distinct sources (0: no limit); every reference of a chosen
 * source comes along (a file's lines with one source are adjacent, as make-cmudict sorts them). */
static rnnc_status subset(const char *path, int percent, size_t max_items, rnnc_bytes *out) {
    unsigned char *text;
    size_t len;
    rnnc_status s = rnnc_read_file(path, &text, &len);
    if (s) return s;
    size_t items = 0, line = 0, lines = 0; /* line: the number of the current line; lines: those not blank */
    const char *last = NULL;
    size_t last_n = 0;
    for (char *p = (char *)text, *end; p < (char *)text + len && !s; p = end + 1) {
        end = memchr(p, '\n', (size_t)((char *)text + len - p));
        if (!end) end = (char *)text + len;
        line++;
        if (end == p || (end == p + 1 && *p == '\r')) continue; /* a blank line */
        lines++;
        /* the file's own lines are checked here, where their numbers are known (the subset
         * that is parsed later has others) */
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        size_t ok = rnnc_utf8_valid_prefix((const unsigned char *)p, (size_t)(end - p));
        if (!tab || memchr(tab + 1, '\t', (size_t)(end - tab - 1)) || memchr(p, 0, (size_t)(end - p)) || ok < (size_t)(end - p)) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: %s (expected SOURCE TAB TARGET, as scripts/fetch-data.sh writes it)", path, line,
                           !tab ? "the line has no tab" : memchr(p, 0, (size_t)(end - p)) ? "the line holds a NUL byte"
                           : ok < (size_t)(end - p) ? "the line is not valid UTF-8" : "the line has a second tab");
            break;
        }
        size_t n = (size_t)(tab - p);
        /* the word without its spaces: "c a t" -> hash of "cat", as the split was made */
        char word[256];
        size_t w = 0;
        for (size_t i = 0; i < n && w + 1 < sizeof word; i++)
            if (p[i] != ' ') word[w++] = p[i];
        if (fnv1a(word, w) % 100 >= (uint32_t)percent) continue;
        bool same = last && last_n == n && !memcmp(last, p, n);
        if (!same) {
            if (max_items && items == max_items) break;
            items++;
        }
        last = p;
        last_n = n;
        s = rnnc_bytes_append(out, p, (size_t)(end - p));
        if (!s) s = rnnc_bytes_append(out, "\n", 1);
    }
    free(text);
    if (!s && out->len == 0) s = rnnc_error(RNNC_ERR_FORMAT, "%s: no word of its %zu line%s falls in the lab's subset", path, lines,
                                            lines == 1 ? "" : "s");
    return s;
}

/* A stand-in task when the CMUdict split is missing under --quick: random words of a small
 * alphabet, "spelled" into symbols by a few context rules (a digraph becomes one symbol, a vowel
 * depends on the letter after it), so the decoder has a real mapping to learn. */
static rnnc_status generated(uint64_t seed, size_t n, rnnc_bytes *out) {
    static const char letters[] = "abcdehiklmnoprstu";
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed ^ 0x6e2);
    rnnc_status s = RNNC_OK;
    for (size_t i = 0; i < n && !s; i++) {
        char w[16], src[40], tgt[80];
        int L = 3 + (int)rnnc_rng_below(&rng, 6), ns = 0, nt = 0;
        for (int k = 0; k < L; k++) w[k] = letters[rnnc_rng_below(&rng, sizeof letters - 1)];
        for (int k = 0; k < L; k++) ns += snprintf(src + ns, sizeof src - (size_t)ns, "%s%c", k ? " " : "", w[k]);
        for (int k = 0; k < L; k++) {
            const char *sym;
            char one[4];
            if (k + 1 < L && w[k + 1] == 'h' && strchr("cst", w[k])) { sym = w[k] == 'c' ? "CH" : w[k] == 's' ? "SH" : "TH"; k++; }
            else if (strchr("aeiou", w[k])) sym = k + 1 < L && !strchr("aeiou", w[k + 1]) ? (w[k] == 'a' ? "AE" : w[k] == 'e' ? "EH" : w[k] == 'i' ? "IH" : w[k] == 'o' ? "AA" : "AH")
                                                                                        : (w[k] == 'a' ? "EY" : w[k] == 'e' ? "IY" : w[k] == 'i' ? "AY" : w[k] == 'o' ? "OW" : "UW");
            else { one[0] = (char)(w[k] - 'a' + 'A'); one[1] = 0; sym = one; }
            nt += snprintf(tgt + nt, sizeof tgt - (size_t)nt, "%s%s", nt ? " " : "", sym);
        }
        s = rnnc_bytes_append(out, src, (size_t)ns);
        if (!s) s = rnnc_bytes_append(out, "\t", 1);
        if (!s) s = rnnc_bytes_append(out, tgt, (size_t)nt);
        if (!s) s = rnnc_bytes_append(out, "\n", 1);
    }
    return s;
}

/* ---------------------------------------------------------------- the task */

typedef struct {
    double step, epoch, tf_loss, fr_loss, per, wer;
} valid_point;

typedef struct {
    rnnc_task base;
    int mode;
    long total_steps;
    int batch, valid_items;
    rnnc_s2s_model *m;
    rnnc_s2s_data train, dev;
    rnnc_s2s_batcher bt, dev_bt;
    bool bt_made, dev_bt_made;
    long planned_epoch;
    rnnc_s2s_ws *ws, *val_ws;
    float *grads;
    /* free running: the greedy outputs of a batch and the inputs made of them */
    uint32_t *gout, *gin;
    int *glen, gmax;
} tf_task;

static void tf_free(rnnc_task *base) {
    tf_task *t = (tf_task *)base;
    rnnc_s2s_ws_free(t->ws);
    rnnc_s2s_ws_free(t->val_ws);
    if (t->bt_made) rnnc_s2s_batcher_free(&t->bt);
    if (t->dev_bt_made) rnnc_s2s_batcher_free(&t->dev_bt);
    rnnc_s2s_data_free(&t->train);
    rnnc_s2s_data_free(&t->dev);
    rnnc_s2s_model_free(t->m);
    free(t->grads);
    free(t->gout);
    free(t->gin);
    free(t->glen);
    free(t);
}

static size_t tf_steps_per_epoch(rnnc_task *base) { return ((tf_task *)base)->bt.n_batches; }

/* b with every decoder input after <bos> replaced by the model's own greedy output at the step
 * before (the free-running decoder's inputs), into *fr (which points into t's buffers). */
static rnnc_status own_inputs(tf_task *t, const rnnc_s2s_batch *b, rnnc_s2s_batch *fr) {
    rnnc_status s = rnnc_s2s_greedy(t->m, b->src, b->src_len, b->B, b->Ts, b->Tt, t->gout, t->glen);
    if (s) return s;
    *fr = *b;
    fr->tgt_in = t->gin;
    for (int r = 0; r < b->B; r++)
        for (int q = 0; q < b->Tt; q++) {
            uint32_t v = RNNC_S2S_PAD;
            if (q == 0) v = RNNC_S2S_BOS;
            else if (q < b->tgt_len[r]) v = q - 1 < t->glen[r] ? t->gout[(size_t)r * b->Tt + q - 1] : RNNC_S2S_EOS;
            t->gin[(size_t)r * b->Tt + q] = v;
        }
    return RNNC_OK;
}

static rnnc_status tf_train_batch(rnnc_task *base, long step, uint64_t seed, rnnc_rng *rng, double *loss, double *count) {
    tf_task *t = (tf_task *)base;
    long epoch = step / (long)t->bt.n_batches;
    size_t k = (size_t)(step % (long)t->bt.n_batches);
    if (epoch != t->planned_epoch) {
        rnnc_rng plan;
        rnnc_rng_seed(&plan, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(epoch + 1)));
        rnnc_s2s_batcher_plan(&t->bt, &plan);
        t->planned_epoch = epoch;
    }
    const rnnc_s2s_batch *b = rnnc_s2s_batcher_get(&t->bt, k);
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f, .training = true};
    rnnc_s2s_batch fr;
    if (t->mode == MODE_SS) {
        double progress = t->total_steps > 1 ? (double)step / (double)(t->total_steps - 1) : 1;
        o.teacher_forcing = (float)(1 - (1 - SS_FLOOR) * progress);
    } else if (t->mode == MODE_FR) {
        rnnc_status s = own_inputs(t, b, &fr);
        if (s) return s;
        b = &fr;
    }
    long c = 0;
    rnnc_status s = rnnc_s2s_forward_backward(t->ws, t->m, b, &o, t->grads, 1.0f, rng, loss, &c);
    *count = (double)c;
    return s;
}

/* Teacher-forced and free-running dev loss (per target step, over every dev reference), greedy
 * PER and WER over the dev items. */
static rnnc_status tf_validate(rnnc_task *base, rnnc_valid_result *r) {
    tf_task *t = (tf_task *)base;
    double sum_tf = 0, sum_fr = 0;
    long n_tf = 0, n_fr = 0;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
    rnnc_status s = RNNC_OK;
    for (size_t k = 0; k < t->dev_bt.n_batches && !s; k++) {
        const rnnc_s2s_batch *b = rnnc_s2s_batcher_get(&t->dev_bt, k);
        double l;
        long c;
        if ((s = rnnc_s2s_forward_backward(t->val_ws, t->m, b, &o, NULL, 1.0f, NULL, &l, &c))) break;
        sum_tf += l * (double)c;
        n_tf += c;
        rnnc_s2s_batch fr;
        if ((s = own_inputs(t, b, &fr))) break;
        if ((s = rnnc_s2s_forward_backward(t->val_ws, t->m, &fr, &o, NULL, 1.0f, NULL, &l, &c))) break;
        sum_fr += l * (double)c;
        n_fr += c;
    }
    if (s) return s;
    rnnc_s2s_score sc;
    if ((s = rnnc_s2s_evaluate(t->m, &t->dev, 1, 0, t->batch, 0, &sc, NULL))) return s;
    double tf = n_tf ? sum_tf / (double)n_tf : 0, fr = n_fr ? sum_fr / (double)n_fr : 0;
    double per = rnnc_s2s_ter(&sc), wer = rnnc_s2s_ser(&sc);
    r->n = 0;
    r->m[r->n].name = "val_loss"; r->m[r->n++].value = tf;
    r->m[r->n].name = "val_free_running_loss"; r->m[r->n++].value = fr;
    r->m[r->n].name = "val_per"; r->m[r->n++].value = per;
    r->m[r->n].name = "val_wer"; r->m[r->n++].value = wer;
    r->score[0] = wer;
    r->score[1] = per;
    snprintf(r->line, sizeof r->line, "dev loss %.4f teacher-forced, %.4f free-running; PER %.2f%%  WER %.2f%%", tf, fr,
             100 * per, 100 * wer);
    return RNNC_OK;
}

static rnnc_status tf_save(rnnc_task *base, const char *path, const char *const *keys, const char *const *values,
                           size_t n_meta, const rnnc_st_entry *extra, size_t n_extra) {
    tf_task *t = (tf_task *)base;
    return rnnc_s2s_save_ex(t->m, path, keys, values, n_meta, extra, n_extra);
}

static char *tf_options_json(rnnc_task *base) {
    tf_task *t = (tf_task *)base;
    char buf[96];
    snprintf(buf, sizeof buf, "{\"mode\":\"%s\",\"batch\":%d}", MODE_NAME[t->mode], t->batch);
    return strdup(buf);
}

/* The lab's own task (not resumable: the lab writes no checkpoints). */
static const rnnc_task_ops tf_ops = {
    .name = "lab-teacher-forcing", .steps_per_epoch = tf_steps_per_epoch, .train_batch = tf_train_batch,
    .validate = tf_validate, .save = tf_save, .options_json = tf_options_json, .free = tf_free,
};

static void longest(const rnnc_s2s_data *d, int *Ts, int *Tt) {
    *Ts = *Tt = 1;
    for (size_t i = 0; i < d->n; i++) {
        if (d->items[i].src_len > *Ts) *Ts = d->items[i].src_len;
        for (int r = 0; r < d->items[i].n_refs; r++)
            if (d->items[i].ref_len[r] + 1 > *Tt) *Tt = d->items[i].ref_len[r] + 1;
    }
}

static rnnc_status task_new(tf_task **out, int mode, const rnnc_bytes *train, const rnnc_bytes *dev,
                            const rnnc_s2s_config *cfg, int batch, long total_steps, uint64_t seed) {
    tf_task *t = *out = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    t->base.ops = &tf_ops;
    t->mode = mode;
    t->batch = batch;
    t->total_steps = total_steps;
    t->planned_epoch = -1;
    rnnc_s2s_data_init(&t->train);
    rnnc_s2s_data_init(&t->dev);
    rnnc_s2s_vocab sv = {0}, tv = {0};
    rnnc_status s;
    if ((s = rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_SPACE)) || (s = rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_SPACE))) goto out;
    rnnc_s2s_read_opts ro = {.grow = true};
    if ((s = rnnc_s2s_data_parse(&t->train, (const char *)train->data, train->len, "training subset", &ro, &sv, &tv))) goto out;
    ro.grow = false;
    if ((s = rnnc_s2s_data_parse(&t->dev, (const char *)dev->data, dev->len, "dev subset", &ro, &sv, &tv))) goto out;
    if ((s = rnnc_s2s_model_new(&t->m, cfg, &sv, &tv))) goto out;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    rnnc_s2s_model_init(t->m, &rng);
    /* the output bias at the phoneme frequencies, as rnnc seq2seq train starts */
    size_t V = (size_t)t->m->c.tgt_vocab;
    double *count = calloc(V, sizeof *count);
    if (!count) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < t->train.n; i++)
        for (int r = 0; r < t->train.items[i].n_refs; r++) {
            for (int q = 0; q < t->train.items[i].ref_len[r]; q++) count[t->train.items[i].ref[r][q]] += 1;
            count[RNNC_S2S_EOS] += 1;
        }
    rnnc_unigram_bias(t->m->params + t->m->off_head_b, count, (int)V);
    free(count);
    if ((s = rnnc_s2s_batcher_new(&t->bt, &t->train, batch, true))) goto out;
    t->bt_made = true;
    if ((s = rnnc_s2s_batcher_new(&t->dev_bt, &t->dev, batch, true))) goto out;
    t->dev_bt_made = true;
    rnnc_s2s_batcher_plan(&t->dev_bt, NULL);
    int Ts, Tt, Vs, Vt;
    longest(&t->train, &Ts, &Tt);
    longest(&t->dev, &Vs, &Vt);
    int mt = Tt > Vt ? Tt : Vt;
    if ((s = rnnc_s2s_ws_new(&t->ws, t->m, batch, Ts, Tt)) || (s = rnnc_s2s_ws_new(&t->val_ws, t->m, batch, Vs, Vt))) goto out;
    t->grads = calloc(t->m->n_params, sizeof *t->grads);
    t->gout = malloc((size_t)batch * (size_t)mt * sizeof *t->gout);
    t->gin = malloc((size_t)batch * (size_t)mt * sizeof *t->gin);
    t->glen = malloc((size_t)batch * sizeof *t->glen);
    if (!t->grads || !t->gout || !t->gin || !t->glen) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    t->gmax = mt;
    t->base.params = t->m->params;
    t->base.grads = t->grads;
    t->base.n_params = t->m->n_params;
    snprintf(t->base.describe, sizeof t->base.describe, "%s: %zu training words (%zu pronunciations), %zu dev words; LSTM "
             "encoder-decoder 1x%d, embedding %d, %zu parameters", MODE_NAME[mode], t->train.n, t->train.n_pairs, t->dev.n,
             cfg->hidden, cfg->embed, t->m->n_params);
out:
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    if (s) { tf_free(&t->base); *out = NULL; }
    return s;
}

/* ---------------------------------------------------------------- the runs */

typedef struct {
    valid_point v[MAX_VALID];
    int n;
    double seconds;
    long steps, steps_per_epoch;
    size_t n_params, train_words, dev_words;
} mode_result;

typedef struct {
    const char *name;
    mode_result *res;
} run_watch;

static void on_event(const rnnc_run_event *e, void *ctx) {
    run_watch *w = ctx;
    if (e->kind == RNNC_RUN_STARTED) {
        fprintf(stderr, "lab teacher-forcing: %s\n", e->message);
    } else if (e->kind == RNNC_RUN_VALID && e->valid) {
        fprintf(stderr, "lab teacher-forcing: %s: step %ld (%.0f s): %s\n", w->name, e->step, e->elapsed, e->valid->line);
        if (w->res->n == MAX_VALID) return;
        valid_point p = {.step = (double)e->step, .epoch = e->epoch};
        for (size_t i = 0; i < e->valid->n; i++) {
            const char *n = e->valid->m[i].name;
            double v = e->valid->m[i].value;
            if (!strcmp(n, "val_loss")) p.tf_loss = v;
            else if (!strcmp(n, "val_free_running_loss")) p.fr_loss = v;
            else if (!strcmp(n, "val_per")) p.per = v;
            else if (!strcmp(n, "val_wer")) p.wer = v;
        }
        w->res->v[w->res->n++] = p;
    } else if (e->kind == RNNC_RUN_DONE) {
        w->res->seconds = e->elapsed;
        w->res->steps = e->step;
    }
}

static rnnc_status run_mode(const rnnc_lab_ctx *c, int mode, const rnnc_bytes *train, const rnnc_bytes *dev,
                            const rnnc_s2s_config *cfg, int batch, double epochs, mode_result *res) {
    tf_task *t;
    rnnc_status s = task_new(&t, mode, train, dev, cfg, batch, 0, c->seed);
    if (s) return s;
    long spe = (long)t->bt.n_batches, total = (long)ceil(epochs * (double)spe);
    t->total_steps = total; /* scheduled sampling's schedule runs over the whole budget */
    res->steps_per_epoch = spe;
    res->n_params = t->m->n_params;
    res->train_words = t->train.n;
    res->dev_words = t->dev.n;
    rnnc_run_opts r = rnnc_run_defaults();
    r.steps = total;
    r.eval_every = c->quick ? spe : (spe / 2 > 0 ? spe / 2 : 1); /* --quick: once an epoch */
    r.log_every = 0;
    r.warmup = c->quick ? 10 : 100;
    r.optim.lr = 3e-3;
    r.seed = c->seed;
    char *model = rnnc_lab_path(c, "teacher-forcing-model.safetensors");
    if (!model) { tf_free(&t->base); return rnnc_error(RNNC_ERR_NOMEM, "out of memory"); }
    r.model_out = model;
    run_watch w = {.name = MODE_NAME[mode], .res = res};
    s = rnnc_run_start(&r, &t->base, on_event, &w, NULL); /* owns t from here */
    unlink(model);
    free(model);
    if (!s && res->n == 0) s = rnnc_error(RNNC_ERR_ARG, "%s: no validation was made", MODE_NAME[mode]);
    return s;
}

/* ---------------------------------------------------------------- output */

static rnnc_status plots(const rnnc_lab_ctx *c, const mode_result *res) {
    double x[N_MODES][MAX_VALID], wer[N_MODES][MAX_VALID], tf[N_MODES][MAX_VALID], fr[N_MODES][MAX_VALID];
    rnnc_plot_series s[2 * N_MODES];
    char lab[2 * N_MODES][96];
    for (int m = 0; m < N_MODES; m++) {
        for (int i = 0; i < res[m].n; i++) {
            x[m][i] = res[m].v[i].epoch;
            wer[m][i] = 100 * res[m].v[i].wer;
            tf[m][i] = res[m].v[i].tf_loss;
            fr[m][i] = res[m].v[i].fr_loss;
        }
        s[m] = (rnnc_plot_series){.label = MODE_NAME[m], .x = x[m], .y = wer[m], .n = (size_t)res[m].n, .color = m, .markers = 1};
    }
    rnnc_plot_opts o = {.title = "G2P: dev word error rate (greedy decoding) by how the decoder was trained",
                        .xlabel = "epochs of the training subset", .ylabel = "dev WER (%)"};
    rnnc_status st = rnnc_lab_plot(c, "teacher_forcing_wer.svg", &o, s, N_MODES);
    if (st) return st;
    for (int m = 0; m < N_MODES; m++) {
        snprintf(lab[2 * m], sizeof lab[0], "%s: teacher-forced loss", MODE_NAME[m]);
        snprintf(lab[2 * m + 1], sizeof lab[0], "%s: free-running loss", MODE_NAME[m]);
        s[2 * m] = (rnnc_plot_series){.label = lab[2 * m], .x = x[m], .y = tf[m], .n = (size_t)res[m].n, .color = m};
        s[2 * m + 1] = (rnnc_plot_series){.label = lab[2 * m + 1], .x = x[m], .y = fr[m], .n = (size_t)res[m].n, .color = m,
                                          .dashed = 1, .markers = 1};
    }
    o = (rnnc_plot_opts){.title = "Exposure bias: dev loss with gold inputs (solid) and with the model's own (dashed)",
                         .xlabel = "epochs of the training subset", .ylabel = "dev cross-entropy (nats per phoneme)"};
    return rnnc_lab_plot(c, "teacher_forcing_loss.svg", &o, s, 2 * N_MODES);
}

static rnnc_status write_json(const rnnc_lab_ctx *c, const char *data_note, const mode_result *res, double epochs) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(j, "lab", "teacher-forcing");
    cJSON_AddStringToObject(j, "data", data_note);
    cJSON_AddBoolToObject(j, "quick", c->quick);
    cJSON_AddNumberToObject(j, "epochs", epochs);
    cJSON_AddNumberToObject(j, "scheduled_sampling_final_r", SS_FLOOR);
    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    for (int m = 0; runs && m < N_MODES; m++) {
        cJSON *r = cJSON_CreateObject();
        if (!r) break;
        cJSON_AddStringToObject(r, "training", MODE_NAME[m]);
        cJSON_AddNumberToObject(r, "parameters", (double)res[m].n_params);
        cJSON_AddNumberToObject(r, "train_words", (double)res[m].train_words);
        cJSON_AddNumberToObject(r, "dev_words", (double)res[m].dev_words);
        cJSON_AddNumberToObject(r, "steps", (double)res[m].steps);
        cJSON_AddNumberToObject(r, "seconds", res[m].seconds);
        cJSON *v = cJSON_AddArrayToObject(r, "validations");
        for (int i = 0; v && i < res[m].n; i++) {
            cJSON *p = cJSON_CreateObject();
            if (!p) break;
            cJSON_AddNumberToObject(p, "step", res[m].v[i].step);
            cJSON_AddNumberToObject(p, "epoch", res[m].v[i].epoch);
            cJSON_AddNumberToObject(p, "teacher_forced_loss", res[m].v[i].tf_loss);
            cJSON_AddNumberToObject(p, "free_running_loss", res[m].v[i].fr_loss);
            cJSON_AddNumberToObject(p, "per", res[m].v[i].per);
            cJSON_AddNumberToObject(p, "wer", res[m].v[i].wer);
            cJSON_AddItemToArray(v, p);
        }
        cJSON_AddItemToArray(runs, r);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_status s = rnnc_lab_write_json(c, "teacher_forcing.json", text);
    free(text);
    return s;
}

rnnc_status rnnc_lab_teacher_forcing_run(const rnnc_lab_ctx *c) {
    char train_path[4096], dev_path[4096], note[600];
    bool have_train = rnnc_lab_data("cmudict/train.tsv", train_path, sizeof train_path) != NULL,
         have_dev = rnnc_lab_data("cmudict/dev.tsv", dev_path, sizeof dev_path) != NULL, have = have_train && have_dev;
    char why[4200]; /* the first of the two that is not there, and why */
    snprintf(why, sizeof why, "%s %s", have_train ? dev_path : train_path, rnnc_lab_data_why(have_train ? dev_path : train_path));
    rnnc_bytes train = {0}, dev = {0};
    rnnc_lab_cells cells = {0};
    rnnc_status s = RNNC_OK;
    const int percent = c->quick ? 1 : 20, dev_items = c->quick ? 100 : 1000, batch = c->quick ? 32 : 64;
    const double epochs = c->quick ? 4 : 5;
    if (have) {
        if ((s = subset(train_path, percent, 0, &train)) || (s = subset(dev_path, 100, (size_t)dev_items, &dev))) goto out;
        snprintf(note, sizeof note, "CMUdict grapheme-to-phoneme: the training words whose FNV-1a hash is below %d of 100 (of "
                 "%.400s), the first %d dev words", percent, train_path, dev_items);
    } else if (c->quick) {
        if ((s = generated(c->seed, 1500, &train)) || (s = generated(c->seed + 1, 150, &dev))) goto out;
        snprintf(note, sizeof note, "generated words spelled by a few rules (%.400s: run scripts/fetch-data.sh for the real "
                 "task)", why);
    } else {
        s = rnnc_error(RNNC_ERR_IO, "%s (RNNC_DATA or ./data): the lab trains on the grapheme-to-phoneme split of "
                       "cmudict/train.tsv and dev.tsv; run scripts/fetch-data.sh (or make data) in the source tree, or give "
                       "--quick for a short run on generated words", why);
        goto out;
    }
    rnnc_s2s_config cfg = {.cell = RNNC_CELL_LSTM, .embed = c->quick ? 32 : 64, .hidden = c->quick ? 64 : 128, .layers = 1,
                           .reverse_source = true};
    rnnc_lab_note(c, "data: %s", note);
    rnnc_lab_note(c, "model: LSTM encoder-decoder 1 x %d, embedding %d, the source read right to left; batch %d, AdamW 3e-3, "
                  "%.0f epochs each; scheduled sampling: R from 1 down to %.1f", cfg.hidden, cfg.embed, batch, epochs, SS_FLOOR);
    mode_result res[N_MODES];
    memset(res, 0, sizeof res);
    for (int m = 0; m < N_MODES; m++)
        if ((s = run_mode(c, m, &train, &dev, &cfg, batch, epochs, &res[m]))) goto out;
    for (int m = 0; m < N_MODES; m++) {
        const valid_point *v = &res[m].v[res[m].n - 1];
        rnnc_lab_cell(&cells, "%s", MODE_NAME[m]);
        rnnc_lab_cell(&cells, "%ld", res[m].steps);
        rnnc_lab_cell(&cells, "%.1f", res[m].seconds);
        rnnc_lab_cell(&cells, "%.4f", v->tf_loss);
        rnnc_lab_cell(&cells, "%.4f", v->fr_loss);
        rnnc_lab_cell(&cells, "%.4f", v->fr_loss - v->tf_loss);
        rnnc_lab_cell(&cells, "%.2f%%", 100 * v->per);
        rnnc_lab_cell(&cells, "%.2f%%", 100 * v->wer);
    }
    static const char *const head[] = {"training", "steps", "seconds", "dev loss, gold inputs", "dev loss, own inputs",
                                       "exposure-bias gap", "dev PER", "dev WER"};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    char title[160];
    snprintf(title, sizeof title, "after %.0f epochs of %zu words (%ld steps), scored on %zu dev words", epochs,
             res[0].train_words, res[0].steps, res[0].dev_words);
    rnnc_lab_table(c, title, 8, head, N_MODES, (const char *const *)cells.s);
    if ((s = rnnc_lab_write_csv(c, "teacher_forcing.csv", 8, head, N_MODES, (const char *const *)cells.s))) goto out;
    if ((s = plots(c, res)) || (s = write_json(c, note, res, epochs))) goto out;
    rnnc_lab_note(c, "\nwritten: %s/teacher_forcing_wer.svg, teacher_forcing_loss.svg, teacher_forcing.csv, "
                  "teacher_forcing.json", c->out_dir);
    const valid_point *tf = &res[MODE_TF].v[res[MODE_TF].n - 1], *ss = &res[MODE_SS].v[res[MODE_SS].n - 1],
                      *fr = &res[MODE_FR].v[res[MODE_FR].n - 1];
    /* a run too short for any model to spell a dev word (every WER 100%) cannot tell the regimes
     * apart by words, and a PER difference of a point or less on a hundred words is noise */
    if (tf->wer >= 1 && ss->wer >= 1 && fr->wer >= 1 && fabs(tf->per - fr->per) < 0.01) {
        rnnc_lab_verdict_inconclusive(c, "After %ld steps no model spells a single dev word right (WER 100%% for all three) and "
                                      "their PER are within a point (teacher forcing %.1f%%, scheduled sampling %.1f%%, free "
                                      "running %.1f%%): too short to tell%s.", res[MODE_TF].steps, 100 * tf->per,
                                      100 * ss->per, 100 * fr->per, c->quick ? "; run it without --quick" : "");
        goto out;
    }
    bool held = tf->wer < fr->wer || (tf->wer == fr->wer && tf->per < fr->per);
    rnnc_lab_verdict(c, held,
                     "With the same steps, teacher forcing reached dev WER %.1f%% (PER %.1f%%), scheduled sampling %.1f%% "
                     "(%.1f%%), free running %.1f%% (%.1f%%). The teacher-forced model's loss is %.3f with gold inputs and "
                     "%.3f with its own (exposure-bias gap %.3f); the free-running model's gap is %.3f.",
                     100 * tf->wer, 100 * tf->per, 100 * ss->wer, 100 * ss->per, 100 * fr->wer, 100 * fr->per, tf->tf_loss,
                     tf->fr_loss, tf->fr_loss - tf->tf_loss, fr->fr_loss - fr->tf_loss);
out:
    rnnc_lab_cells_free(&cells);
    rnnc_bytes_free(&train);
    rnnc_bytes_free(&dev);
    return s;
}
