/* rnnc info — what a file is, and what is in it: a language model's, a seq2seq model's or a
 * classifier's, tagger's or forecaster's configuration, vocabularies, labels or series and
 * parameter counts; a training checkpoint's progress and run options (and its model); an old
 * checkpoint's status; another safetensors file's tensors; a tokenizer's type and size. Any other
 * file: one line saying what it is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "rnnc/filekind.h"
#include "rnnc/scores.h"
#include "rnnc/seq2seq.h"
#include "rnnc/seqmodel.h"
#include "rnnc/tokenizer.h"

/* ---- small readers of the metadata's JSON (informative only: the loaders are the strict ones) ---- */

/* A string from the file (a path, a name, a metadata key) as it is, but for control bytes, shown
 * as \xNN: a crafted file's escape sequences must not drive the terminal. Cut after `max` bytes
 * ("..."), in one of four rotating buffers (several in one printf). */
static const char *safe_n(const char *s, size_t max) {
    static char buf[4][4100];
    static int k;
    char *b = buf[k++ & 3];
    cli_escape_controls(s, max, b, sizeof buf[0]);
    return b;
}

static const char *safe(const char *s) { return safe_n(s, 1000); }

static const cJSON *item(const cJSON *j, const char *key) { return cJSON_GetObjectItemCaseSensitive(j, key); }
static bool num(const cJSON *j, const char *key, double *v) {
    const cJSON *x = item(j, key);
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) return false;
    *v = x->valuedouble;
    return true;
}
static const char *str(const cJSON *j, const char *key) {
    const cJSON *x = item(j, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* ---- language models ---- */

/* The tokenizer stored in the model (NULL: none), in one line. */
static void print_tokenizer(const rnnc_tokenizer *t) {
    if (!t) { printf("tokenizer   none (a model for id files; rnnc sample needs one)\n"); return; }
    printf("tokenizer   %s, |V| = %zu\n", rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(t)), rnnc_tokenizer_n_vocab(t));
}

/* Where training stood when the file was written ("rnnc.training", written by the trainers);
 * `unit` is what the run counts (cli_task_count_unit). */
static void print_training(const char *tj, const char *unit) {
    cJSON *j = tj ? cJSON_Parse(tj) : NULL;
    if (!cJSON_IsObject(j)) { cJSON_Delete(j); return; }
    /* the counters as a trainer writes them, whole and not negative; anything else (a file edited
     * or crafted by hand) shows as "?" rather than as a count it is not */
    double step, tok, ep, v;
    char s_step[32] = "?", s_tok[32] = "?", s_ep[32] = "?";
    if (num(j, "step", &step) && step >= 0 && step == floor(step) && step < 1e18) snprintf(s_step, sizeof s_step, "%.0f", step);
    if (num(j, "tokens", &tok) && tok >= 0 && tok == floor(tok) && tok < 1e18) snprintf(s_tok, sizeof s_tok, "%.0f", tok);
    if (num(j, "epoch", &ep) && ep >= 0 && ep < 1e12) snprintf(s_ep, sizeof s_ep, "%.2f", ep);
    printf("training    step %s, %s %s, epoch %s", s_step, s_tok, unit, s_ep);
    if (num(j, "train_loss", &v)) printf(", train loss %.4f", v);
    if (num(j, "ema", &v)) printf(", weights averaged (ema %g)", v);
    if (num(j, "val_loss", &v)) printf(", valid loss %.4f", v);
    if (num(j, "val_ter", &v)) printf(", dev TER %.2f%%", 100 * v);
    if (num(j, "val_ser", &v)) printf(", SER %.2f%%", 100 * v);
    /* the sequence tasks' validation metrics */
    if (num(j, "val_acc", &v)) printf(", acc %.2f%%", 100 * v);
    if (num(j, "val_seq_acc", &v)) printf(", seq acc %.2f%%", 100 * v);
    if (num(j, "val_macro_f1", &v)) printf(", macro-F1 %.4f", v);
    if (num(j, "val_span_f1", &v)) printf(", span F1 %.4f", v);
    if (num(j, "val_mae", &v)) printf(", MAE %.4g", v);
    if (num(j, "val_rmse", &v)) printf(", RMSE %.4g", v);
    if (num(j, "val_smape", &v)) printf(", sMAPE %.2f%%", v);
    printf("\n");
    cJSON_Delete(j);
}

/* A tensor's shape as "(a, b)" or "(a)". */
static void shape_of(const rnnc_param_info *p, char *buf, size_t n) {
    if (p->ndim == 2) snprintf(buf, n, "(%d, %d)", p->shape[0], p->shape[1]);
    else snprintf(buf, n, "(%d)", p->shape[0]);
}

/* The parameters of recurrent layer l of the stack whose tensors are PREFIX*_lL (and its reverse
 * direction's, PREFIX*_lL_reverse), among the model's tensors ps[0, nt). */
static size_t layer_params(const rnnc_param_info *ps, size_t nt, const char *prefix, int l) {
    char suffix[16];
    snprintf(suffix, sizeof suffix, "_l%d", l);
    size_t n = 0, np = strlen(prefix), ns = strlen(suffix);
    for (size_t k = 0; k < nt; k++) {
        const char *at = strncmp(ps[k].name, prefix, np) ? NULL : strstr(ps[k].name + np, suffix);
        if (at && (!at[ns] || !strcmp(at + ns, "_reverse"))) n += ps[k].size;
    }
    return n;
}

/* One recurrent layer's line: its parameters beside an Elman layer's of the same sizes, D
 * directions of H units over I inputs (D·H·(I+H+2): weight_ih, weight_hh and two biases), the
 * seed's comparison (LSTM 4x, GRU 3x). */
static void layer_line(const char *stack, int l, size_t n, size_t D, size_t I, size_t H) {
    size_t elman = D * H * (I + H + 2);
    printf("  %s%slayer %d  %12zu   elman %12zu   ratio %.2fx\n", stack, *stack ? " " : "", l, n, elman, (double)n / (double)elman);
}

static int info_lm(const char *path, const char *kind) {
    rnnc_lm *m;
    rnnc_tokenizer *tok;
    /* an unreadable tokenizer, or one of another size than the vocabulary, is refused as by every
     * command that loads the model */
    if (rnnc_lm_load_tokenizer(&m, &tok, path)) return cli_fail_status();
    const rnnc_lm_config *c = &m->c;
    printf("model       %s\n", path);
    printf("kind        %s\n", kind);
    printf("cell        %s\n", rnnc_cell_name(c->cell));
    printf("vocab       %d\nembed       %d\nhidden      %d\nlayers      %d\ndropout     %g\n", c->vocab, c->embed,
           c->hidden, c->layers, (double)c->dropout);
    print_tokenizer(tok);
    rnnc_tokenizer_free(tok);
    print_training(rnnc_lm_get_meta(m, "rnnc.training"), "tokens");
    for (size_t i = 0; i < m->n_meta; i++) printf("metadata    %s (%zu bytes)\n", safe(m->meta_keys[i]), strlen(m->meta_values[i]));
    printf("\ntensors:\n");
    size_t nt = rnnc_lm_num_tensors(m);
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_lm_tensor(m, k);
        char shape[48];
        shape_of(&p, shape, sizeof shape);
        printf("  %-28s %-14s %12zu\n", p.name, shape, p.size);
    }
    printf("\nrecurrent layers (parameters; an Elman layer of the same sizes for comparison):\n");
    size_t rnn_total = 0;
    for (int l = 0; l < c->layers; l++) {
        size_t n = rnnc_lm_layer_params(m, l);
        layer_line("", l, n, 1, (size_t)(l == 0 ? c->embed : c->hidden), (size_t)c->hidden);
        rnn_total += n;
    }
    size_t emb = (size_t)c->vocab * (size_t)c->embed, head = (size_t)c->vocab * ((size_t)c->hidden + 1);
    printf("\nembedding   %12zu\nrecurrent   %12zu\nhead        %12zu\ntotal       %12zu\n", emb, rnn_total, head,
           m->n_params);
    rnnc_lm_free(m);
    return 0;
}

/* ---- seq2seq models ---- */

static void print_vocab(const char *side, const rnnc_s2s_vocab *v) {
    if (v->tk)
        printf("%-11s %s vocabulary: a %s tokenizer of %zu tokens, %zu ids with the 4 specials\n", side,
               rnnc_s2s_tok_name(v->tok), rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(v->tk)),
               rnnc_tokenizer_n_vocab(v->tk), v->n);
    else
        printf("%-11s %s vocabulary: %zu symbols, %zu ids with the 4 specials\n", side, rnnc_s2s_tok_name(v->tok),
               v->n - RNNC_S2S_NSPECIAL, v->n);
}

static int info_s2s(const char *path, const rnnc_safetensors *st, const char *kind) {
    rnnc_s2s_model *m;
    if (rnnc_s2s_load(&m, path)) return cli_fail_status();
    const rnnc_s2s_config *c = &m->c;
    printf("model       %s\n", path);
    printf("kind        %s\n", kind);
    printf("cell        %s\nlayers      %d\nhidden      %d\nembed       %d\n", rnnc_cell_name(c->cell), c->layers, c->hidden,
           c->embed);
    printf("encoder     %s%s\n", c->bidirectional ? "bidirectional" : "unidirectional",
           c->reverse_source ? ", reads each source last symbol first" : "");
    printf("dropout     %g between layers, %g on the outputs (training only)\n", (double)c->dropout,
           (double)c->output_dropout);
    print_vocab("source", &m->src_vocab);
    print_vocab("target", &m->tgt_vocab);
    const char *tj = rnnc_st_meta(st, "rnnc.training");
    const char *step = rnnc_st_meta(st, "rnnc.step"), *epoch = rnnc_st_meta(st, "rnnc.epoch");
    if (tj) print_training(tj, "tokens");
    else if (step || epoch) /* written before rnnc.training */
        printf("training    step %s, epoch %s\n", step ? step : "?", epoch ? epoch : "?");
    printf("\ntensors:\n");
    size_t nt = rnnc_s2s_num_tensors(m);
    /* parameters per part: the name before the first dot (src_embedding, encoder, bridge_h, ...) */
    char part[16][48];
    size_t part_n[16], np = 0;
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_s2s_tensor(m, k);
        char shape[48];
        shape_of(&p, shape, sizeof shape);
        printf("  %-32s %-14s %12zu\n", p.name, shape, p.size);
        size_t dot = strcspn(p.name, ".");
        size_t i = 0;
        while (i < np && (strlen(part[i]) != dot || strncmp(part[i], p.name, dot))) i++;
        if (i == np && np < 16) { snprintf(part[np], sizeof part[np], "%.*s", (int)dot, p.name); part_n[np++] = 0; }
        if (i < np) part_n[i] += p.size;
    }
    /* each stack's layers beside Elman layers of the same sizes: the encoder reads the source
     * embedding (then the D*H outputs below), the decoder the target embedding (then H) */
    rnnc_param_info *ps = malloc(nt * sizeof *ps);
    if (!ps) { rnnc_s2s_model_free(m); return cli_fail("out of memory"); }
    for (size_t k = 0; k < nt; k++) ps[k] = rnnc_s2s_tensor(m, k);
    printf("\nrecurrent layers (parameters; an Elman layer of the same sizes for comparison):\n");
    const size_t D = c->bidirectional ? 2 : 1, H = (size_t)c->hidden, E = (size_t)c->embed;
    for (int l = 0; l < c->layers; l++) layer_line("encoder", l, layer_params(ps, nt, "encoder.", l), D, l ? D * H : E, H);
    for (int l = 0; l < c->layers; l++) layer_line("decoder", l, layer_params(ps, nt, "decoder.", l), 1, l ? H : E, H);
    free(ps);
    printf("\n");
    for (size_t i = 0; i < np; i++) printf("%-15s %12zu\n", part[i], part_n[i]);
    printf("%-15s %12zu\n", "total", m->n_params);
    rnnc_s2s_model_free(m);
    return 0;
}

/* ---- classifiers, taggers, forecasters ---- */

/* A name from the data (a label, a CSV column) as it is, but for control bytes (\xNN) and a cut at
 * 40 bytes, so that a line stays a line. */
static void print_name(const char *s) { fputs(safe_n(s, 40), stdout); }

/* The label names, the first 10 of them. */
static void print_labels(const char *what, const rnnc_seq_model *m) {
    printf("%-11s %d: ", what, m->n_labels);
    for (int i = 0; i < m->n_labels && i < 10; i++) {
        printf("%s", i ? ", " : "");
        print_name(m->labels[i]);
    }
    if (m->n_labels > 10) printf(", ... (the first 10)");
    if (m->c.kind == RNNC_SEQ_TAG && rnnc_tags_are_bio((const char *const *)m->labels, m->n_labels))
        printf(" (BIO: scored by span F1 too)");
    printf("\n");
}

static void print_series(const rnnc_seq_model *m) {
    const rnnc_seq_series *sr = &m->series;
    printf("inputs      %d per step: the target and %d covariate%s, %d of them known ahead (also fed for the %d "
           "forecast steps)\n", m->c.features, sr->n_cols - 1, sr->n_cols == 2 ? "" : "s", m->c.known, m->c.outputs);
    printf("series      %d column%s, each normalised as (v - mean) / std over the training rows:\n", sr->n_cols,
           sr->n_cols == 1 ? "" : "s");
    for (int c = 0; c < sr->n_cols; c++) {
        printf("  ");
        print_name(sr->name[c]);
        int w = (int)strlen(sr->name[c]);
        printf("%*s  %-28s mean %-12.6g std %.6g\n", w < 20 ? 20 - w : 0, "",
               c == 0 ? "target" : sr->known[c] ? "covariate, known ahead" : "covariate, known up to now", sr->mean[c], sr->std[c]);
    }
    printf("context     %d steps read per forecast\n", sr->context);
    printf("horizon     %d step%s forecast at once\n", m->c.outputs, m->c.outputs == 1 ? "" : "s");
    if (sr->season > 0) printf("season      %d (the seasonal-naive forecast it is compared with)\n", sr->season);
    else printf("season      none (compared with the naive forecast: the last value)\n");
    printf("loss        %s\n", rnnc_seq_loss_name(m->c.loss));
    int pooled = (m->c.bidirectional ? 2 : 1) * m->c.hidden;
    if (m->c.known)
        printf("head        %d inputs: the pooled %d and the %d known-ahead values of the forecast steps\n",
               rnnc_seq_head_in(&m->c), pooled, m->c.outputs * m->c.known);
}

static void print_pool(const rnnc_seq_config *c) {
    static const char *const how[] = {
        [RNNC_POOL_LAST] = "the output at the last step",
        [RNNC_POOL_MEAN] = "the mean of the outputs over the steps",
        [RNNC_POOL_MAX] = "the elementwise max of the outputs over the steps",
        [RNNC_POOL_FINAL] = "the top layer's final states",
    };
    int D = c->bidirectional ? 2 : 1;
    printf("pooling     %s: %s%s, %d wide\n", rnnc_pool_name(c->pool), how[c->pool],
           c->pool == RNNC_POOL_FINAL && D == 2 ? " of both directions, concatenated" : "", D * c->hidden);
}

static int info_seq(const char *path, const rnnc_safetensors *st, const char *kind) {
    rnnc_seq_model *m;
    if (rnnc_seq_load_st(&m, st)) return cli_fail_status();
    const rnnc_seq_config *c = &m->c;
    static const char *const what[] = {"sequence -> label", "a label per token", "values -> the next values"};
    bool tokens = c->kind != RNNC_SEQ_FORECAST;
    int D = c->bidirectional ? 2 : 1;
    printf("model       %s\n", path);
    printf("kind        %s\n", kind);
    printf("task        %s (%s)\n", rnnc_seq_kind_name(c->kind), what[c->kind]);
    printf("cell        %s\nlayers      %d\nhidden      %d%s\n", rnnc_cell_name(c->cell), c->layers, c->hidden,
           D == 2 ? " per direction" : "");
    printf("encoder     %s\n", D == 2 ? "bidirectional" : "unidirectional");
    if (tokens) printf("embed       %d\n", c->embed);
    printf("dropout     %g between layers, %g on the head's input (training only)\n", (double)c->dropout, (double)c->output_dropout);
    if (c->kind != RNNC_SEQ_TAG) print_pool(c);
    if (tokens) {
        print_labels(c->kind == RNNC_SEQ_TAG ? "tags" : "labels", m);
        print_vocab("vocabulary", &m->vocab);
    } else {
        print_series(m);
    }
    print_training(rnnc_st_meta(st, "rnnc.training"), cli_task_count_unit(rnnc_seq_kind_name(c->kind)));
    printf("\ntensors:\n");
    size_t nt = rnnc_seq_num_tensors(m), emb = 0, head = 0;
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_seq_tensor(m, k);
        char shape[48];
        shape_of(&p, shape, sizeof shape);
        printf("  %-28s %-14s %12zu\n", p.name, shape, p.size);
        if (!strncmp(p.name, "embedding.", 10)) emb += p.size;
        if (!strncmp(p.name, "head.", 5)) head += p.size;
    }
    printf("\nrecurrent layers (parameters; an Elman layer of the same sizes for comparison):\n");
    size_t rnn_total = 0;
    rnnc_param_info *ps = malloc(nt * sizeof *ps);
    if (!ps) { rnnc_seq_model_free(m); return cli_fail("out of memory"); }
    for (size_t k = 0; k < nt; k++) ps[k] = rnnc_seq_tensor(m, k);
    for (int l = 0; l < c->layers; l++) {
        size_t n = layer_params(ps, nt, "rnn.", l);
        layer_line("", l, n, (size_t)D, (size_t)(l > 0 ? D * c->hidden : tokens ? c->embed : c->features), (size_t)c->hidden);
        rnn_total += n;
    }
    free(ps);
    printf("\n");
    if (tokens) printf("embedding   %12zu\n", emb);
    printf("recurrent   %12zu\nhead        %12zu\ntotal       %12zu\n", rnn_total, head, m->n_params);
    rnnc_seq_model_free(m);
    return 0;
}

/* ---- checkpoints ---- */

static void print_budget(const cJSON *o) {
    double steps = 0, epochs = 0, seconds = 0;
    num(o, "steps", &steps);
    num(o, "epochs", &epochs);
    num(o, "seconds", &seconds);
    printf("budget      ");
    int n = 0;
    if (steps > 0) printf("%s%.0f steps", n++ ? " or " : "", steps);
    if (epochs > 0) printf("%s%g epochs", n++ ? " or " : "", epochs);
    if (seconds > 0) {
        char d[32];
        cli_format_duration(d, sizeof d, seconds);
        printf("%s%s of training", n++ ? " or " : "", d);
    }
    printf("%s\n", n > 1 ? " (the first reached)" : n ? "" : "none");
}

static void print_optimizer(const cJSON *o) {
    const char *opt = str(o, "optimizer"), *sched = str(o, "schedule");
    double lr, v;
    printf("optimizer   %s", opt ? safe(opt) : "?");
    if (num(o, "lr", &lr)) printf(", lr %g", lr);
    if (sched) printf(", %s schedule", safe(sched));
    if (num(o, "warmup", &v) && v > 0) printf(", warm-up %.0f steps", v);
    if (sched && strcmp(sched, "constant") && num(o, "min_lr_ratio", &v)) printf(", down to %gx", v);
    if (num(o, "weight_decay", &v) && v > 0) printf(", weight decay %g", v);
    if (opt && !strcmp(opt, "sgd") && num(o, "momentum", &v) && v > 0) printf(", momentum %g", v);
    if (num(o, "clip", &v)) printf(v > 0 ? ", clip %g" : ", no clipping", v);
    if (num(o, "ema", &v) && v > 0) printf(", weight average (ema %g)", v);
    printf("\n");
    const char *seed = str(o, "seed");
    if (num(o, "patience", &v) && v > 0) printf("patience    %.0f validations\n", v);
    if (seed) printf("seed        %s\n", safe(seed));
}

/* The task's data files: "data" (a name or a list) and "valid". */
static void print_data(const cJSON *t) {
    const cJSON *d = item(t, "data");
    if (!d) return;
    printf("data        ");
    if (cJSON_IsString(d)) printf("%s", safe(d->valuestring));
    const cJSON *f;
    int n = 0;
    if (cJSON_IsArray(d)) cJSON_ArrayForEach(f, d) if (cJSON_IsString(f)) printf("%s%s", n++ ? " " : "", safe(f->valuestring));
    const char *v = str(t, "valid");
    if (v) printf("; held out: %s", safe(v));
    printf("\n");
}

/* The run's part of a checkpoint (rnnc.run, rnnc.run.options, rnnc.task.options), then the
 * resume command; the model follows. */
/* Whether the label list of a checkpoint ("rnnc.labels", one a line) is a BIO tag set. */
static bool labels_bio(const char *labels) {
    if (!labels) return false;
    char *copy = strdup(labels);
    size_t n = 1;
    for (const char *p = labels; *p; p++) n += *p == '\n';
    const char **names = malloc(n * sizeof *names);
    bool bio = false;
    if (copy && names) {
        size_t k = 0;
        for (char *p = copy; k < n; k++) {
            names[k] = p;
            char *e = strchr(p, '\n');
            if (!e) { k++; break; }
            *e = 0;
            p = e + 1;
        }
        bio = k <= 1u << 20 && rnnc_tags_are_bio(names, (int)k);
    }
    free(copy);
    free(names);
    return bio;
}

static void info_run(const char *path, const rnnc_safetensors *st, rnnc_file_kind k) {
    bool s2s = k == RNNC_FILE_S2S_CHECKPOINT;
    cJSON *r = cJSON_Parse(rnnc_st_meta(st, "rnnc.run"));
    const char *ro = rnnc_st_meta(st, "rnnc.run.options"), *to = rnnc_st_meta(st, "rnnc.task.options");
    cJSON *o = ro ? cJSON_Parse(ro) : NULL, *t = to ? cJSON_Parse(to) : NULL;
    double v, fmt = 0, step = 0, tokens = 0, elapsed = 0;
    const char *task = str(r, "task");
    num(r, "format", &fmt);
    printf("checkpoint  %s\n", path);
    printf("kind        %s (format %.0f, task %s)\n", rnnc_file_kind_name(k), fmt, task ? safe(task) : "?");
    num(r, "step", &step);
    num(r, "tokens", &tokens);
    num(r, "elapsed", &elapsed);
    char d[32];
    cli_format_duration(d, sizeof d, elapsed);
    printf("progress    step %.0f, %.0f %s, %s of training\n", step, tokens, cli_task_count_unit(task), d);
    const cJSON *best = item(r, "best");
    double b0 = INFINITY, b1 = INFINITY;
    if (cJSON_GetArraySize(best) == 2 && cJSON_IsNumber(best->child) && cJSON_IsNumber(best->child->next)) {
        b0 = best->child->valuedouble;
        b1 = best->child->next->valuedouble;
    }
    if (!(b0 < 1e308)) printf("best        none yet (no validation so far)\n");
    else if (s2s) printf("best        dev SER %.2f%%, TER %.2f%% (best.safetensors)\n", 100 * b0, 100 * b1);
    else if (k == RNNC_FILE_CLS_CHECKPOINT) printf("best        dev macro-F1 %.4f, valid loss %.4f (best.safetensors)\n", 1 - b0, b1);
    else if (k == RNNC_FILE_TAG_CHECKPOINT)
        printf("best        dev %s %.4f, valid loss %.4f (best.safetensors)\n",
               labels_bio(rnnc_st_meta(st, "rnnc.labels")) ? "span F1" : "tag accuracy", 1 - b0, b1);
    else if (k == RNNC_FILE_FC_CHECKPOINT) printf("best        dev MAE %.6g, valid loss %.4f (best.safetensors)\n", b0, b1);
    else printf("best        valid loss %.4f (best.safetensors)\n", b0);
    if (num(r, "last_train_loss", &v) && v < 1e308) printf("train loss  %.4f (the last step)\n", v);
    if (cJSON_IsObject(o)) {
        print_budget(o);
        print_optimizer(o);
    }
    if (cJSON_IsObject(t)) print_data(t);
    const char *cw = str(t, "class_weight");
    if (cw) printf("classes     weighted: %s\n", safe(cw));
    char dir[1024];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (!strcmp(base, "checkpoint.safetensors")) {
        if (!slash) snprintf(dir, sizeof dir, ".");
        else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    } else {
        snprintf(dir, sizeof dir, "RUN_DIR (a directory holding it as checkpoint.safetensors)");
    }
    /* every trainer but the LM's is rnnc TASK train */
    bool lm = !task || !strcmp(task, "lm");
    /* a run that has ended resumes only with more budget or patience: say which (an epoch budget's
     * steps depend on the data, which info does not read) */
    double steps = 0, seconds = 0, patience = 0, bad = 0;
    num(o, "steps", &steps);
    num(o, "seconds", &seconds);
    num(o, "patience", &patience);
    num(r, "bad_evals", &bad);
    const char *more = NULL;
    char than[48];
    if (steps > 0 && step >= steps) {
        more = "--steps N";
        snprintf(than, sizeof than, "N above %.0f", steps);
        printf("state       ended: its --steps %.0f are done\n", steps);
    } else if (seconds > 0 && elapsed >= seconds) {
        more = "--time T";
        cli_format_duration(d, sizeof d, seconds);
        snprintf(than, sizeof than, "T above %s", d);
        printf("state       ended: its --time (%s) is spent\n", d);
    } else if (patience > 0 && bad >= patience) {
        more = "--patience N";
        snprintf(than, sizeof than, "N above %.0f", patience);
        printf("state       ended: --patience %.0f (no better validation in the last %.0f)\n", patience, bad);
    }
    if (more)
        printf("resume with rnnc %s%strain --resume %s %s (%s)\n\n", lm ? "" : safe(task), lm ? "" : " ", dir, more, than);
    else
        printf("resume with rnnc %s%strain --resume %s\n\n", lm ? "" : safe(task), lm ? "" : " ", dir);
    cJSON_Delete(r);
    cJSON_Delete(o);
    cJSON_Delete(t);
}

static void info_old_run(const char *path, const rnnc_safetensors *st, rnnc_file_kind k) {
    bool s2s = k == RNNC_FILE_OLD_S2S_CHECKPOINT;
    cJSON *p = cJSON_Parse(rnnc_st_meta(st, s2s ? "rnnc.train.pos" : "rnnc.progress"));
    double step;
    printf("checkpoint  %s\n", path);
    printf("kind        %s\n", rnnc_file_kind_name(k));
    if (num(p, "step", &step)) printf("progress    step %.0f\n", step);
    printf("status      written by an older rnnc; cannot be resumed by this version; its model loads\n\n");
    cJSON_Delete(p);
}

/* ---- other files ---- */

/* A safetensors file without rnnc's metadata: its tensors, then the one error line. */
static int info_other(const char *path, const rnnc_safetensors *st) {
    printf("file        %s\n", path);
    printf("kind        %s\n", rnnc_file_kind_name(RNNC_FILE_SAFETENSORS));
    for (size_t i = 0; i < st->n_meta; i++) printf("metadata    %s (%zu bytes)\n", safe(st->meta_keys[i]), strlen(st->meta_values[i]));
    printf("\ntensors:\n");
    size_t total = 0;
    for (size_t i = 0; i < st->n_tensors; i++) {
        const rnnc_st_tensor *t = &st->tensors[i];
        char shape[200];
        size_t k = (size_t)snprintf(shape, sizeof shape, "(");
        for (int d = 0; d < t->ndim && k < sizeof shape; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, d ? ", %lld" : "%lld", (long long)t->shape[d]);
        if (k < sizeof shape) snprintf(shape + k, sizeof shape - k, ")");
        printf("  %-32s %-5s %-18s %12zu\n", safe(t->name), rnnc_dtype_name(t->dtype), shape, t->numel);
        total += t->numel;
    }
    printf("\ntotal       %12zu elements in %zu tensors\n", total, st->n_tensors);
    /* a PyTorch state_dict of rnnc's LM without the config: say what it lacks */
    if (rnnc_st_find(st, "embedding.weight") && rnnc_st_find(st, "rnn.weight_ih_l0") && rnnc_st_find(st, "head.weight"))
        printf("note        the tensor names are those of an rnnc language model; it loads with __metadata__ "
               "\"rnnc.config\" (docs/FORMATS.md)\n");
    fflush(stdout);
    char what[1600];
    return cli_fail("%s: %s", path, rnnc_file_kind_describe(what, sizeof what, RNNC_FILE_SAFETENSORS, RNNC_FILE_UNKNOWN, path));
}

static int info_tokenizer(const char *path, rnnc_file_kind k) {
    rnnc_tokenizer *t;
    if (rnnc_tokenizer_load(&t, path, NULL)) return cli_fail_status();
    printf("tokenizer   %s\n", path);
    printf("kind        %s\n", rnnc_file_kind_name(k));
    printf("type        %s\n", rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(t)));
    printf("vocabulary  %zu ids\n", rnnc_tokenizer_n_vocab(t));
    printf("use         rnnc train --tokenizer FILE, rnnc seq2seq train --source-tokenizer FILE, rnnc tokenizer encode -t FILE\n");
    rnnc_tokenizer_free(t);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc info FILE\n"
            "\n"
            "Says what FILE is and what is in it. A language model: its configuration,\n"
            "tokenizer, training state, every tensor with its shape, and the parameters of\n"
            "each recurrent layer next to those of an Elman (rnn_tanh) layer of the same\n"
            "sizes (an LSTM layer has exactly 4x and a GRU layer 3x as many). A seq2seq\n"
            "model: its configuration, both vocabularies, training state and parameters. A\n"
            "classifier or tagger: its configuration, pooling, labels (the first 10),\n"
            "vocabulary, training state and parameters; a forecaster: the same with its\n"
            "series (columns, known flags, normalisation), context, horizon and season\n"
            "instead of labels and vocabulary. A training checkpoint: the step, time, best\n"
            "score, budget and optimizer of its run, the command that resumes it, then its\n"
            "model. A checkpoint of an older rnnc, another safetensors file (its tensors) or\n"
            "a tokenizer file (its type and size): what it is. Anything else: one line saying\n"
            "what it is not. A run directory: its checkpoint.safetensors (or, without one,\n"
            "its model.safetensors).\n");
}

static int info_file(const char *path);

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    if (cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("info", "unknown option '%s'", argv[i]);
        if (path) return cli_usage_error("info", "one file expected, got '%s' too", argv[i]);
        path = argv[i];
    }
    if (!path) return cli_usage_error("info", "FILE is required");
    if (!*path) return cli_usage_error("info", "FILE is empty: give a file name");
    /* a run directory: its checkpoint (or, from a run that never saved one, its model) */
    struct stat sb;
    char *in_dir = NULL;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        static const char *const names[] = {"checkpoint.safetensors", "model.safetensors"};
        size_t n = strlen(path) + 32;
        if (!(in_dir = malloc(n))) return cli_fail("out of memory");
        for (size_t i = 0; i < 2; i++) {
            snprintf(in_dir, n, "%s/%s", path, names[i]);
            if (access(in_dir, F_OK) == 0) break;
            in_dir[0] = 0;
        }
        if (!in_dir[0]) {
            free(in_dir);
            return cli_fail("%s: is a directory, and no run directory (no checkpoint.safetensors or model.safetensors): give a "
                            "model, checkpoint or tokenizer file", path);
        }
        path = in_dir;
    }
    int rc = info_file(path);
    free(in_dir);
    return rc;
}

static int info_file(const char *path) {
    char what[1600];
    rnnc_file_kind k = rnnc_file_kind_sniff_path(path);
    if (k == RNNC_FILE_TOKENIZER_JSON || k == RNNC_FILE_TIKTOKEN) return info_tokenizer(path, k);
    if (k != RNNC_FILE_UNKNOWN) return cli_fail("%s: %s", path, rnnc_file_kind_describe(what, sizeof what, k, RNNC_FILE_UNKNOWN, path));
    rnnc_safetensors st;
    if (rnnc_st_load(&st, path)) {
        /* not safetensors after all: a file rnnc writes that is known by its name (a BPE cache)
         * says what it is; anything else gets the reader's reason */
        return rnnc_file_kind_by_name(what, sizeof what, path, RNNC_FILE_UNKNOWN) ? cli_fail("%s: %s", path, what) : cli_fail_status();
    }
    k = rnnc_file_kind_of(&st);
    int rc;
    switch (k) {
    case RNNC_FILE_LM: rc = info_lm(path, "language model"); break;
    case RNNC_FILE_SEQ2SEQ: rc = info_s2s(path, &st, "seq2seq model"); break;
    case RNNC_FILE_LM_CHECKPOINT:
    case RNNC_FILE_S2S_CHECKPOINT:
        info_run(path, &st, k);
        rc = k == RNNC_FILE_LM_CHECKPOINT ? info_lm(path, "the run's language model") : info_s2s(path, &st, "the run's seq2seq model");
        break;
    case RNNC_FILE_OLD_LM_CHECKPOINT:
    case RNNC_FILE_OLD_S2S_CHECKPOINT:
        info_old_run(path, &st, k);
        rc = k == RNNC_FILE_OLD_LM_CHECKPOINT ? info_lm(path, "the run's language model")
                                                : info_s2s(path, &st, "the run's seq2seq model");
        break;
    case RNNC_FILE_CLASSIFIER: rc = info_seq(path, &st, "classifier"); break;
    case RNNC_FILE_TAGGER: rc = info_seq(path, &st, "tagger"); break;
    case RNNC_FILE_FORECASTER: rc = info_seq(path, &st, "forecaster"); break;
    case RNNC_FILE_CLS_CHECKPOINT:
    case RNNC_FILE_TAG_CHECKPOINT:
    case RNNC_FILE_FC_CHECKPOINT:
        info_run(path, &st, k);
        rc = info_seq(path, &st, k == RNNC_FILE_CLS_CHECKPOINT ? "the run's classifier"
                                 : k == RNNC_FILE_TAG_CHECKPOINT ? "the run's tagger" : "the run's forecaster");
        break;
    default: rc = info_other(path, &st); break;
    }
    rnnc_st_free(&st);
    return rc;
}
