/* rnnc lab tokens — the seed's first section: "as |V| grows, L shrinks" and "in an RNN, a smaller L
 * trains faster".
 *
 * Part 1 trains char, BPE and word tokenizers on the first 90% of the corpus and measures the
 * last 10%: its length L in tokens, bytes per token and the out-of-vocabulary rate, for each |V|
 * (BPE and word trained once at the largest size; a smaller vocabulary is the first |V| ids of
 * that run, which equals training at |V| since BPE merges and word counts are nested).
 *
 * Part 2 trains the same LSTM language model for the same time on three points of that curve
 * (char, a small BPE, a large BPE; word vocabularies are left out because their <unk>s make bits
 * per byte meaningless) and compares what matters to a user: how many bytes of text each reads
 * per second, and the held-out bits per byte each reaches in the same time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"
#include "lab/lab_lm.h"
#include "rnnc/bpe.h"
#include "rnnc/io.h"
#include "rnnc/tokenizer.h"

#define MAX_ROWS 24

typedef struct {
    char name[40];
    const char *type; /* char, bpe, word */
    size_t V, L;
    double bytes_per_token, oov; /* oov: share of characters (char) or word tokens (word); BPE has none */
} vocab_row;

typedef struct {
    rnnc_status err;
    vocab_row row[MAX_ROWS];
    int n;
    size_t train_bytes, held_bytes;
} vocab_table;

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* The first line start at or after `at` that does not begin with white space (so the held-out
 * text splits into the same pieces as it would inside the whole corpus). */
static size_t line_cut(const unsigned char *s, size_t len, size_t at) {
    for (size_t p = at; p < len; p++)
        if (p > 0 && s[p - 1] == '\n' && !is_space(s[p])) return p;
    return at;
}

static void add_row(vocab_table *t, const char *type, const char *name, size_t V, size_t L, size_t held, double oov) {
    if (t->n == MAX_ROWS) return;
    vocab_row *r = &t->row[t->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->type = type;
    r->V = V;
    r->L = L;
    r->bytes_per_token = L ? (double)held / (double)L : 0;
    r->oov = oov;
}

/* Part 1: |V| against L on the held-out tenth. */
static rnnc_status measure_vocab(const rnnc_lab_ctx *c, const char *path, vocab_table *t) {
    static const size_t bpe_full[] = {256, 1000, 2000, 4000, 16000, 32000}, bpe_quick[] = {256, 500, 1000, 2000};
    static const size_t word_full[] = {1000, 4000, 16000, 0}, word_quick[] = {500, 2000, 0}; /* 0: every word */
    const size_t *bpe_sizes = c->quick ? bpe_quick : bpe_full, *word_sizes = c->quick ? word_quick : word_full;
    size_t n_bpe = c->quick ? 4 : 6, n_word = c->quick ? 3 : 4;
    unsigned char *all;
    size_t total;
    rnnc_status s = rnnc_read_file(path, &all, &total);
    if (s) return s;
    size_t cut = line_cut(all, total, (size_t)((double)total * 0.9));
    if (cut == 0 || cut >= total) {
        free(all);
        return rnnc_error(RNNC_ERR_ARG, "%s: %zu bytes are too few to hold out a tenth", path, total);
    }
    const unsigned char *held = all + cut;
    size_t held_len = total - cut, chars = 0;
    for (size_t p = 0; p < held_len; p++) chars += (held[p] & 0xC0) != 0x80;
    t->train_bytes = cut;
    t->held_bytes = held_len;
    const unsigned char *texts[1] = {all};
    size_t lens[1] = {cut};
    rnnc_ids ids = {0};
    char name[40];

    rnnc_char_tok *ct = NULL;
    rnnc_char_opts co = {.min_count = 1};
    size_t fb = 0;
    if ((s = rnnc_char_build(&ct, texts, lens, 1, &co)) || (s = rnnc_char_encode(ct, held, held_len, &ids, &fb))) goto out;
    add_row(t, "char", "char", rnnc_char_n_vocab(ct), ids.len, held_len, chars ? (double)fb / (double)chars : 0);

    rnnc_word_tok *wt = NULL;
    rnnc_word_opts wo = {.vocab_size = (size_t)1 << 40};
    ids.len = 0;
    if ((s = rnnc_word_build(&wt, texts, lens, 1, &wo)) || (s = rnnc_word_encode(wt, held, held_len, &ids, NULL))) {
        rnnc_word_free(wt);
        goto out;
    }
    size_t natural = rnnc_word_n_vocab(wt);
    for (size_t k = 0; k < n_word; k++) {
        size_t V = word_sizes[k] == 0 || word_sizes[k] > natural ? natural : word_sizes[k], unk = 0;
        for (size_t i = 0; i < ids.len; i++) unk += ids.data[i] >= V || ids.data[i] == RNNC_TOK_UNK;
        snprintf(name, sizeof name, "word%s", V == natural ? " (every word)" : "");
        add_row(t, "word", name, V, ids.len, held_len, ids.len ? (double)unk / (double)ids.len : 0);
        if (V == natural) break;
    }
    rnnc_word_free(wt);

    rnnc_bpe *b = NULL;
    rnnc_bpe_train_opts bo = {.vocab_size = bpe_sizes[n_bpe - 1], .pattern = "cl100k", .threads = c->threads};
    if ((s = rnnc_bpe_train(&b, texts, lens, 1, &bo))) goto out;
    size_t nv = rnnc_bpe_n_vocab(b);
    rnnc_token_bytes *toks = malloc(nv * sizeof *toks);
    if (!toks) { rnnc_bpe_free(b); s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    for (uint32_t id = 0; id < nv; id++) toks[id] = rnnc_bpe_token(b, id);
    for (size_t k = 0; k < n_bpe && !s; k++) {
        size_t V = bpe_sizes[k] < nv ? bpe_sizes[k] : nv;
        rnnc_bpe *small;
        if ((s = rnnc_bpe_create(&small, toks, V, rnnc_bpe_pattern(b), NULL, 0))) break;
        ids.len = 0;
        s = rnnc_bpe_encode(small, held, held_len, false, &ids);
        rnnc_bpe_free(small);
        if (!s) add_row(t, "bpe", V < bpe_sizes[k] ? "bpe (every merge)" : "bpe", V, ids.len, held_len, 0);
        if (V == nv) break;
    }
    free(toks);
    rnnc_bpe_free(b);
out:
    rnnc_char_free(ct);
    rnnc_ids_free(&ids);
    free(all);
    return s;
}

/* ---------------------------------------------------------------- part 2 */

typedef struct {
    const char *spec;
    rnnc_lab_lm_result r;
    double tokens_per_byte; /* of the held-out text, from the final validation */
} lm_point;

/* One tokenizer's run: for `seconds` (the full run: equal time), or for `steps` (--quick: equal
 * steps, so that the numbers repeat whatever the machine's load). */
static rnnc_status train_point(const rnnc_lab_ctx *c, const char *corpus, lm_point *p, double seconds, long steps) {
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    o.data = &corpus;
    o.n_data = 1;
    o.tokenizer = p->spec;
    o.cell = RNNC_CELL_LSTM;
    o.layers = 1;
    o.hidden = c->quick ? 64 : 256;
    o.embed = c->quick ? 32 : 64;
    o.batch = c->quick ? 8 : 32;
    o.seq = c->quick ? 32 : 64;
    rnnc_run_opts r = rnnc_run_defaults();
    r.seconds = seconds;
    r.steps = steps;
    r.eval_every = 0; /* one validation, after the budget: the timed part is training only */
    r.log_every = c->quick ? 2 : 10;
    r.warmup = c->quick ? 5 : 100;
    r.seed = c->seed;
    char *model = rnnc_lab_path(c, "tokens-model.safetensors");
    if (!model) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    r.model_out = model;
    char label[64];
    snprintf(label, sizeof label, "LSTM on %s", p->spec);
    rnnc_status s = rnnc_lab_lm_train(c, "tokens", label, &o, &r, true, NULL, NULL, &p->r);
    unlink(model); /* the lab keeps numbers, not models */
    free(model);
    if (s) return s;
    if (isnan(p->r.val_bpb) || isnan(p->r.start_bpb) || !(p->r.val_loss > 0))
        return rnnc_error(RNNC_ERR_NUMERIC, "%s: no held-out bits per byte were reported", p->spec);
    p->tokens_per_byte = p->r.val_bpb * log(2.0) / p->r.val_loss;
    return RNNC_OK;
}

static double bytes_per_s(const lm_point *p) { return p->r.tokens / p->r.seconds / p->tokens_per_byte; }
/* Text per CPU-second of the process: the throughput other processes' load does not change. */
static double bytes_per_cpu_s(const lm_point *p) { return p->r.tokens / p->r.cpu_seconds / p->tokens_per_byte; }

/* ---------------------------------------------------------------- output */

static rnnc_status plot_vocab(const rnnc_lab_ctx *c, const vocab_table *t) {
    static const char *const types[] = {"char", "bpe", "word"};
    static const char *const labels[] = {"char (one point: its natural |V|)", "byte-level BPE", "word (loses text to <unk>)"};
    double x[3][MAX_ROWS], y[3][MAX_ROWS];
    rnnc_plot_series s[3];
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        for (int i = 0; i < t->n; i++)
            if (!strcmp(t->row[i].type, types[k])) {
                x[k][n] = (double)t->row[i].V;
                y[k][n++] = (double)t->row[i].L / 1000.0;
            }
        s[k] = (rnnc_plot_series){.label = labels[k], .x = x[k], .y = y[k], .n = n, .color = k, .markers = 1,
                                  .dashed = k == 2};
    }
    char title[160];
    snprintf(title, sizeof title, "Held-out length L against vocabulary size |V| (%.0f kB of held-out text)",
             (double)t->held_bytes / 1e3);
    rnnc_plot_opts o = {.title = title, .xlabel = "vocabulary size |V| (log scale)",
                        .ylabel = "L (thousands of tokens)", .log_x = 1, .x_si = 1};
    return rnnc_lab_plot(c, "tokens_vocab.svg", &o, s, 3);
}

static rnnc_status plot_training(const rnnc_lab_ctx *c, const lm_point *p, int n) {
    rnnc_plot_series s[3];
    double *buf = NULL;
    size_t total = 0;
    for (int k = 0; k < n; k++) total += p[k].r.n;
    buf = malloc((2 * total + 1) * sizeof *buf);
    if (!buf) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    double *x = buf, *y = buf + total;
    char labels[3][96];
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < p[k].r.n; i++) {
            x[i] = p[k].r.pts[i].elapsed;
            y[i] = p[k].r.pts[i].loss / log(2.0) * p[k].tokens_per_byte;
        }
        snprintf(labels[k], sizeof labels[k], "%s (%.2f bytes/token): held-out %.3f", p[k].spec, 1 / p[k].tokens_per_byte,
                 p[k].r.val_bpb);
        s[k] = (rnnc_plot_series){.label = labels[k], .x = x, .y = y, .n = p[k].r.n, .color = k};
        x += p[k].r.n;
        y += p[k].r.n;
    }
    char title[160];
    if (c->quick)
        snprintf(title, sizeof title, "The same LSTM for %ld steps on three tokenizers: training loss in bits per byte",
                 p[0].r.steps);
    else
        snprintf(title, sizeof title, "The same LSTM for %.0f s on three tokenizers: training loss in bits per byte",
                 p[0].r.seconds);
    rnnc_plot_opts o = {.title = title, .xlabel = "training time (s)", .ylabel = "bits per byte of text"};
    rnnc_status st = rnnc_lab_plot(c, "tokens_training.svg", &o, s, (size_t)n);
    free(buf);
    return st;
}

static rnnc_status write_json(const rnnc_lab_ctx *c, const rnnc_lab_corpus *k, const vocab_table *t, const lm_point *p,
                              int n, double seconds, long steps) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(j, "lab", "tokens");
    cJSON_AddStringToObject(j, "corpus", k->note);
    cJSON_AddBoolToObject(j, "quick", c->quick);
    cJSON_AddNumberToObject(j, "train_bytes", (double)t->train_bytes);
    cJSON_AddNumberToObject(j, "held_out_bytes", (double)t->held_bytes);
    cJSON *v = cJSON_AddArrayToObject(j, "vocabularies");
    for (int i = 0; v && i < t->n; i++) {
        cJSON *r = cJSON_CreateObject();
        if (!r) break;
        cJSON_AddStringToObject(r, "tokenizer", t->row[i].type);
        cJSON_AddNumberToObject(r, "vocab", (double)t->row[i].V);
        cJSON_AddNumberToObject(r, "L", (double)t->row[i].L);
        cJSON_AddNumberToObject(r, "bytes_per_token", t->row[i].bytes_per_token);
        if (strcmp(t->row[i].type, "bpe")) cJSON_AddNumberToObject(r, "oov", t->row[i].oov);
        cJSON_AddItemToArray(v, r);
    }
    cJSON *tr = cJSON_AddObjectToObject(j, "training");
    if (tr) {
        if (seconds > 0) cJSON_AddNumberToObject(tr, "seconds_each", seconds);
        else cJSON_AddNumberToObject(tr, "steps_each", (double)steps);
        cJSON *runs = cJSON_AddArrayToObject(tr, "runs");
        for (int i = 0; runs && i < n; i++) {
            cJSON *r = cJSON_CreateObject();
            if (!r) break;
            cJSON_AddStringToObject(r, "tokenizer", p[i].spec);
            cJSON_AddStringToObject(r, "describe", p[i].r.describe);
            cJSON_AddNumberToObject(r, "parameters", (double)p[i].r.n_params);
            cJSON_AddNumberToObject(r, "steps", (double)p[i].r.steps);
            cJSON_AddNumberToObject(r, "seconds", p[i].r.seconds);
            cJSON_AddNumberToObject(r, "tokens", p[i].r.tokens);
            cJSON_AddNumberToObject(r, "tokens_per_s", p[i].r.tokens / p[i].r.seconds);
            cJSON_AddNumberToObject(r, "bytes_per_token", 1 / p[i].tokens_per_byte);
            cJSON_AddNumberToObject(r, "bytes_per_s", bytes_per_s(&p[i]));
            cJSON_AddNumberToObject(r, "cpu_seconds", p[i].r.cpu_seconds);
            cJSON_AddNumberToObject(r, "bytes_per_cpu_s", bytes_per_cpu_s(&p[i]));
            cJSON_AddNumberToObject(r, "held_out_bpb_at_start", p[i].r.start_bpb);
            cJSON_AddNumberToObject(r, "held_out_loss", p[i].r.val_loss);
            cJSON_AddNumberToObject(r, "held_out_bpb", p[i].r.val_bpb);
            cJSON *curve = cJSON_AddArrayToObject(r, "curve");
            for (size_t q = 0; curve && q < p[i].r.n; q++) {
                cJSON *pt = cJSON_CreateArray();
                if (!pt) break;
                cJSON_AddItemToArray(pt, cJSON_CreateNumber(p[i].r.pts[q].elapsed));
                cJSON_AddItemToArray(pt, cJSON_CreateNumber(p[i].r.pts[q].tokens));
                cJSON_AddItemToArray(pt, cJSON_CreateNumber(p[i].r.pts[q].loss));
                cJSON_AddItemToArray(curve, pt);
            }
            cJSON_AddItemToArray(runs, r);
        }
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_status s = rnnc_lab_write_json(c, "tokens.json", text);
    free(text);
    return s;
}

rnnc_status rnnc_lab_tokens_run(const rnnc_lab_ctx *c) {
    rnnc_lab_corpus k;
    rnnc_status s = rnnc_lab_corpus_get(c, 200000, false, &k);
    if (s) return s;
    vocab_table t;
    memset(&t, 0, sizeof t);
    rnnc_lab_cells cells = {0};
    /* the budget of each LM: equal time (90 s) in a full run; --quick: equal steps, repeatable */
    const double seconds = c->quick ? 0 : 90;
    const long steps = c->quick ? 60 : 0;
    char budget[64];
    if (c->quick) snprintf(budget, sizeof budget, "%ld steps", steps);
    else snprintf(budget, sizeof budget, "%.0f s", seconds);
    lm_point p[3] = {{.spec = "char"}, {.spec = c->quick ? "bpe:500" : "bpe:2000"}, {.spec = c->quick ? "bpe:2000" : "bpe:16000"}};
    int done = 0;
    rnnc_lab_note(c, "corpus: %s", k.note);
    if ((s = measure_vocab(c, k.path, &t))) goto out;
    rnnc_lab_note(c, "tokenizers trained on the first %zu bytes, measured on the last %zu (a tenth); L = held-out length "
                  "in tokens; OOV = held-out characters (char) or word tokens (word) outside the vocabulary",
                  t.train_bytes, t.held_bytes);
    for (int i = 0; i < t.n; i++) {
        const vocab_row *r = &t.row[i];
        rnnc_lab_cell(&cells, "%s", r->name);
        rnnc_lab_cell(&cells, "%zu", r->V);
        rnnc_lab_cell(&cells, "%zu", r->L);
        rnnc_lab_cell(&cells, "%.3f", r->bytes_per_token);
        if (!strcmp(r->type, "bpe")) rnnc_lab_cell(&cells, "none (bytes)");
        else rnnc_lab_cell(&cells, "%.3f%%", 100 * r->oov);
    }
    static const char *const vhead[] = {"tokenizer", "|V|", "L (tokens)", "bytes/token", "OOV"};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    rnnc_lab_table(c, "1. |V| against L on held-out text", 5, vhead, t.n, (const char *const *)cells.s);
    if ((s = rnnc_lab_write_csv(c, "tokens_vocab.csv", 5, vhead, t.n, (const char *const *)cells.s))) goto out;
    rnnc_lab_cells_free(&cells);
    if ((s = plot_vocab(c, &t))) goto out;

    rnnc_lab_note(c, "\n2. the same LSTM language model (1 x %d, embedding %d, batch %d x %d tokens, AdamW 2e-3) for %s on "
                  "each tokenizer; held out: the last 5%% of the corpus", c->quick ? 64 : 256, c->quick ? 32 : 64,
                  c->quick ? 8 : 32, c->quick ? 32 : 64, budget);
    for (; done < 3; done++)
        if ((s = train_point(c, k.path, &p[done], seconds, steps))) goto out;
    for (int i = 0; i < 3; i++) {
        rnnc_lab_cell(&cells, "%s", p[i].spec);
        rnnc_lab_cell(&cells, "%.2f", 1 / p[i].tokens_per_byte);
        rnnc_lab_cell(&cells, "%ld", p[i].r.steps);
        rnnc_lab_cell(&cells, "%.0f", p[i].r.tokens / p[i].r.seconds);
        rnnc_lab_cell(&cells, "%.1f", bytes_per_s(&p[i]) / 1000);
        rnnc_lab_cell(&cells, "%.1f", bytes_per_cpu_s(&p[i]) / 1000);
        rnnc_lab_cell(&cells, "%.2f", p[i].r.tokens / p[i].tokens_per_byte / 1e6);
        rnnc_lab_cell(&cells, "%.4f", p[i].r.start_bpb);
        rnnc_lab_cell(&cells, "%.4f", p[i].r.val_bpb);
    }
    static const char *const thead[] = {"tokenizer", "bytes/token", "steps", "tokens/s", "text kB/s", "text kB/CPU-s",
                                        "text read (MB)", "bits/byte at start", "held-out bits/byte"};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    char title[160];
    snprintf(title, sizeof title, "equal %s (%s each): speed in tokens and in text, and held-out bits per byte",
             c->quick ? "steps" : "time", budget);
    rnnc_lab_table(c, title, 9, thead, 3, (const char *const *)cells.s);
    rnnc_lab_note(c, "bits/byte at start: the held-out text under the untrained model, whose output bias starts at the "
                  "training tokens' unigram frequencies (a bigger vocabulary's unigram model already knows whole words); "
                  "text kB/CPU-s: per second of the process's CPU time, which the machine's other load does not stretch");
    if ((s = rnnc_lab_write_csv(c, "tokens_training.csv", 9, thead, 3, (const char *const *)cells.s))) goto out;
    if ((s = plot_training(c, p, 3)) || (s = write_json(c, &k, &t, p, 3, seconds, steps))) goto out;
    rnnc_lab_note(c, "\nwritten: %s/tokens_vocab.svg, tokens_training.svg, tokens_vocab.csv, tokens_training.csv, tokens.json",
                  c->out_dir);

    /* The claim: a shorter sequence for the same text trains faster. Speed here is text per
     * second, since that is what a shorter L is supposed to buy. */
    double bs[3];
    int best = 0;
    for (int i = 0; i < 3; i++) {
        bs[i] = bytes_per_cpu_s(&p[i]);
        if (p[i].r.val_bpb < p[best].r.val_bpb) best = i;
    }
    bool faster = bs[1] > bs[0] && bs[2] > bs[1];
    rnnc_lab_verdict(c, faster,
                     "Per CPU-second the LSTM read %.1f kB of text as char, %.1f kB as %s (L %.1fx shorter) and %.1f kB as %s "
                     "(L %.1fx shorter)%s. At equal %s the best held-out bits per byte was %s's %.3f (char %.3f from %.3f "
                     "untrained, %s %.3f from %.3f, %s %.3f from %.3f).",
                     bs[0] / 1000, bs[1] / 1000, p[1].spec, p[0].tokens_per_byte / p[1].tokens_per_byte, bs[2] / 1000,
                     p[2].spec, p[0].tokens_per_byte / p[2].tokens_per_byte,
                     faster ? "" : ": past some |V| the softmax over the vocabulary costs more than the shorter sequence saves",
                     c->quick ? "steps" : "time", p[best].spec, p[best].r.val_bpb, p[0].r.val_bpb, p[0].r.start_bpb, p[1].spec, p[1].r.val_bpb,
                     p[1].r.start_bpb, p[2].spec, p[2].r.val_bpb, p[2].r.start_bpb);
out:
    rnnc_lab_cells_free(&cells);
    for (int i = 0; i < 3; i++) rnnc_lab_lm_result_free(&p[i].r);
    rnnc_lab_corpus_done(&k);
    return s;
}
