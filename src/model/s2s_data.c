/* Sequence-to-sequence data: vocabularies, TSV pairs grouped by source, bucketed batches.
 * See include/rnnc/seq2seq.h. */
#include "rnnc/seq2seq.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/io.h"
#include "rnnc/tokenizer.h"
#include "rnnc/utf8.h"

static const char *const special_names[RNNC_S2S_NSPECIAL] = {"<pad>", "<bos>", "<eos>", "<unk>"};
static const char *const tok_names[] = {"space", "char", "word", "bpe", "file"};

rnnc_status rnnc_s2s_tok_parse(const char *spec, rnnc_s2s_tok *out) {
    if (!strcmp(spec, "space")) { *out = RNNC_S2S_TOK_SPACE; return RNNC_OK; }
    if (!strcmp(spec, "char")) { *out = RNNC_S2S_TOK_CHAR; return RNNC_OK; }
    /* any size given to char, an empty one too, gets the one answer (the tokenizer's parser would
     * ask "char:" for a positive size, which char:5 is then refused for) */
    if (!strncmp(spec, "char:", 5))
        return rnnc_error(RNNC_ERR_ARG, "%s: a char vocabulary takes no size (every character of the training data is a symbol)", spec);
    rnnc_tokenizer_spec ts;
    rnnc_status s = rnnc_tokenizer_spec_parse(spec, &ts);
    if (s) return s;
    if (ts.load) *out = RNNC_S2S_TOK_FILE;
    else if (ts.type == RNNC_TOKENIZER_WORD) *out = RNNC_S2S_TOK_WORD;
    else if (ts.type == RNNC_TOKENIZER_BPE) *out = RNNC_S2S_TOK_BPE;
    else return rnnc_error(RNNC_ERR_ARG, "%s: a char vocabulary takes no size (every character of the training data is a symbol)", spec);
    return RNNC_OK;
}

const char *rnnc_s2s_tok_name(rnnc_s2s_tok tok) {
    return (unsigned)tok < sizeof tok_names / sizeof tok_names[0] ? tok_names[tok] : "?";
}

bool rnnc_s2s_tok_is_tokenizer(rnnc_s2s_tok tok) {
    return tok == RNNC_S2S_TOK_WORD || tok == RNNC_S2S_TOK_BPE || tok == RNNC_S2S_TOK_FILE;
}

/* FNV-1a: short symbols, and the table only needs a decent spread. */
static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
    return h;
}

static rnnc_status vocab_rehash(rnnc_s2s_vocab *v, size_t cap) {
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a vocabulary table of %zu slots", cap);
    for (size_t id = 0; id < v->n; id++) {
        size_t j = hash_bytes(v->sym[id], strlen(v->sym[id])) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)id + 1;
    }
    free(v->table);
    v->table = t;
    v->table_cap = cap;
    return RNNC_OK;
}

/* Slot of sym in the table: holds its id + 1, or 0 where it would go. */
static size_t vocab_slot(const rnnc_s2s_vocab *v, const char *sym, size_t len) {
    size_t j = hash_bytes(sym, len) & (v->table_cap - 1);
    while (v->table[j]) {
        const char *s = v->sym[v->table[j] - 1];
        if (strlen(s) == len && !memcmp(s, sym, len)) break;
        j = (j + 1) & (v->table_cap - 1);
    }
    return j;
}

static rnnc_status vocab_push(rnnc_s2s_vocab *v, const char *sym, size_t len, uint32_t *id) {
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        char **ns = realloc(v->sym, nc * sizeof *ns);
        if (!ns) return rnnc_error(RNNC_ERR_NOMEM, "out of memory growing a vocabulary to %zu symbols", nc);
        v->sym = ns;
        v->cap = nc;
    }
    if ((v->n + 1) * 2 > v->table_cap) {
        rnnc_status s = vocab_rehash(v, v->table_cap ? v->table_cap * 2 : 128);
        if (s) return s;
    }
    char *c = malloc(len + 1);
    if (!c) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a vocabulary symbol");
    memcpy(c, sym, len);
    c[len] = 0;
    size_t j = vocab_slot(v, sym, len);
    v->sym[v->n] = c;
    v->table[j] = (uint32_t)v->n + 1;
    *id = (uint32_t)v->n++;
    return RNNC_OK;
}

rnnc_status rnnc_s2s_vocab_init(rnnc_s2s_vocab *v, rnnc_s2s_tok tok) {
    memset(v, 0, sizeof *v);
    if (tok != RNNC_S2S_TOK_SPACE && tok != RNNC_S2S_TOK_CHAR)
        return rnnc_error(RNNC_ERR_ARG, "a seq2seq %s vocabulary needs its tokenizer (rnnc_s2s_vocab_from_tokenizer)",
                          rnnc_s2s_tok_name(tok));
    v->tok = tok;
    for (int i = 0; i < RNNC_S2S_NSPECIAL; i++) {
        uint32_t id;
        rnnc_status s = vocab_push(v, special_names[i], strlen(special_names[i]), &id);
        if (s) { rnnc_s2s_vocab_free(v); return s; }
    }
    return RNNC_OK;
}

rnnc_status rnnc_s2s_vocab_from_tokenizer(rnnc_s2s_vocab *v, rnnc_s2s_tok tok, rnnc_tokenizer *t) {
    memset(v, 0, sizeof *v);
    rnnc_status s = RNNC_OK;
    if (!rnnc_s2s_tok_is_tokenizer(tok)) {
        s = rnnc_error(RNNC_ERR_ARG, "a seq2seq %s vocabulary is a symbol list, not a tokenizer", rnnc_s2s_tok_name(tok));
    } else if ((tok == RNNC_S2S_TOK_WORD && rnnc_tokenizer_type_of(t) != RNNC_TOKENIZER_WORD) ||
               (tok == RNNC_S2S_TOK_BPE && rnnc_tokenizer_type_of(t) != RNNC_TOKENIZER_BPE)) {
        s = rnnc_error(RNNC_ERR_FORMAT, "a seq2seq %s vocabulary holds a %s tokenizer", rnnc_s2s_tok_name(tok),
                       rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(t)));
    } else if (rnnc_tokenizer_n_vocab(t) > (size_t)INT32_MAX - RNNC_S2S_NSPECIAL) {
        s = rnnc_error(RNNC_ERR_ARG, "a tokenizer of %zu ids is too large for a seq2seq vocabulary", rnnc_tokenizer_n_vocab(t));
    }
    if (s) { rnnc_tokenizer_free(t); return s; }
    v->tok = tok;
    v->tk = t;
    v->n = rnnc_tokenizer_n_vocab(t) + RNNC_S2S_NSPECIAL;
    return RNNC_OK;
}

/* Why a TSV line (its line ending dropped) cannot hold a pair, or NULL; *tab gets its tab. The one
 * test for rnnc_s2s_data_parse and for the tokenizer training text (tsv_column). */
static const char *line_fault(const char *l, size_t ll, const char **tab) {
    *tab = NULL;
    /* the source text is kept NUL-terminated (and hashed by strlen): a NUL would cut it short */
    if (memchr(l, 0, ll)) return "a NUL byte (not a text file?)";
    const char *t = memchr(l, '\t', ll);
    if (!t) return "no tab between source and target";
    *tab = t;
    if (memchr(t + 1, '\t', (size_t)(l + ll - t - 1))) return "a second tab (only source TAB target is allowed)";
    if (t == l) return "empty source";
    if (t + 1 == l + ll) return "empty target";
    return NULL;
}

/* The lines of a TSV text that hold a pair, as rnnc_s2s_data_parse reads them: one side of each. */
static rnnc_status tsv_column(const char *text, size_t len, int side, const unsigned char ***texts, size_t **lens,
                              size_t *n) {
    size_t cap = 0;
    *texts = NULL;
    *lens = NULL;
    *n = 0;
    for (size_t pos = 0; pos < len;) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - l) : len - pos;
        pos += ll + (nl ? 1 : 0);
        if (ll && l[ll - 1] == '\r') ll--;
        const char *tab;
        if (line_fault(l, ll, &tab)) continue;
        const char *p = side == 0 ? l : tab + 1;
        size_t pl = side == 0 ? (size_t)(tab - l) : (size_t)(l + ll - tab - 1);
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            const unsigned char **nt = realloc(*texts, nc * sizeof *nt);
            if (nt) *texts = nt;
            size_t *nlens = nt ? realloc(*lens, nc * sizeof *nlens) : NULL;
            if (!nlens) {
                free(*texts); free(*lens);
                *texts = NULL; *lens = NULL;
                return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the lines of a TSV text");
            }
            *lens = nlens;
            cap = nc;
        }
        (*texts)[*n] = (const unsigned char *)p;
        (*lens)[(*n)++] = pl;
    }
    return RNNC_OK;
}

rnnc_status rnnc_s2s_vocab_make(rnnc_s2s_vocab *v, const char *spec, const char *tsv, size_t len, int side) {
    memset(v, 0, sizeof *v);
    rnnc_s2s_tok tok;
    rnnc_status s = rnnc_s2s_tok_parse(spec, &tok);
    if (s) return s;
    if (!rnnc_s2s_tok_is_tokenizer(tok)) return rnnc_s2s_vocab_init(v, tok);
    rnnc_tokenizer_spec ts;
    if ((s = rnnc_tokenizer_spec_parse(spec, &ts))) return s;
    const unsigned char **texts = NULL;
    size_t *lens = NULL, n = 0;
    if (!ts.load) {
        if ((s = tsv_column(tsv, len, side, &texts, &lens, &n))) return s;
        if (n == 0) {
            free(texts);
            free(lens);
            return rnnc_error(RNNC_ERR_ARG, "no %s text to train the %s tokenizer on", side == 0 ? "source" : "target", spec);
        }
    }
    rnnc_tokenizer *t = NULL;
    s = rnnc_tokenizer_from_spec(&t, &ts, texts, lens, n);
    free(texts);
    free(lens);
    if (s) return s;
    return rnnc_s2s_vocab_from_tokenizer(v, tok, t);
}

void rnnc_s2s_vocab_free(rnnc_s2s_vocab *v) {
    if (!v) return;
    if (v->sym)
        for (size_t i = 0; i < v->n; i++) free(v->sym[i]);
    free(v->sym);
    free(v->table);
    rnnc_tokenizer_free(v->tk);
    memset(v, 0, sizeof *v);
}

uint32_t rnnc_s2s_vocab_find(const rnnc_s2s_vocab *v, const char *sym, size_t len) {
    if (!v->table_cap) return RNNC_S2S_UNK;
    uint32_t e = v->table[vocab_slot(v, sym, len)];
    if (!e || e - 1 < RNNC_S2S_NSPECIAL) return RNNC_S2S_UNK;
    return e - 1;
}

rnnc_status rnnc_s2s_vocab_add(rnnc_s2s_vocab *v, const char *sym, size_t len, uint32_t *id) {
    if (v->tk || !v->table_cap)
        return rnnc_error(RNNC_ERR_ARG, "symbols can only be added to a seq2seq space or char vocabulary");
    uint32_t e = v->table[vocab_slot(v, sym, len)];
    if (e) { *id = e - 1 < RNNC_S2S_NSPECIAL ? RNNC_S2S_UNK : e - 1; return RNNC_OK; }
    if (memchr(sym, 0, len) || memchr(sym, '\n', len))
        return rnnc_error(RNNC_ERR_FORMAT, "a symbol may not contain NUL or a newline");
    return vocab_push(v, sym, len, id);
}

static rnnc_status encode_sym(rnnc_s2s_vocab *v, const char *s, size_t n, bool grow, rnnc_ids *out, size_t *n_unk) {
    uint32_t id = RNNC_S2S_UNK;
    if (grow) {
        rnnc_status st = rnnc_s2s_vocab_add(v, s, n, &id);
        if (st) return st;
    } else {
        id = rnnc_s2s_vocab_find(v, s, n);
    }
    if (id == RNNC_S2S_UNK && n_unk) ++*n_unk;
    return rnnc_ids_push(out, id);
}

rnnc_status rnnc_s2s_encode_ex(rnnc_s2s_vocab *v, const char *text, size_t len, bool grow, rnnc_ids *out,
                               size_t *n_unk) {
    size_t i = 0;
    if (v->tk) {
        size_t first = out->len;
        rnnc_status s = rnnc_tokenizer_encode(v->tk, (const unsigned char *)text, len, false, out, n_unk);
        if (s) return s;
        for (size_t k = first; k < out->len; k++) out->data[k] += RNNC_S2S_NSPECIAL;
        return RNNC_OK;
    }
    if (v->tok == RNNC_S2S_TOK_CHAR) {
        while (i < len) {
            uint32_t cp;
            int k = rnnc_utf8_decode((const unsigned char *)text + i, len - i, &cp);
            if (k == 0) return rnnc_error(RNNC_ERR_FORMAT, "invalid UTF-8 at byte %zu", i);
            rnnc_status s = encode_sym(v, text + i, (size_t)k, grow, out, n_unk);
            if (s) return s;
            i += (size_t)k;
        }
        return RNNC_OK;
    }
    while (i < len) {
        while (i < len && (text[i] == ' ' || text[i] == '\t')) i++;
        size_t j = i;
        while (j < len && text[j] != ' ' && text[j] != '\t') j++;
        if (j > i) {
            /* a new symbol is stored in the model file's metadata, which is UTF-8 */
            size_t ok = grow ? rnnc_utf8_valid_prefix((const unsigned char *)text + i, j - i) : j - i;
            if (ok < j - i) return rnnc_error(RNNC_ERR_FORMAT, "invalid UTF-8 at byte %zu", i + ok);
            rnnc_status s = encode_sym(v, text + i, j - i, grow, out, n_unk);
            if (s) return s;
        }
        i = j;
    }
    return RNNC_OK;
}

rnnc_status rnnc_s2s_encode(rnnc_s2s_vocab *v, const char *text, size_t len, bool grow, rnnc_ids *out) {
    return rnnc_s2s_encode_ex(v, text, len, grow, out, NULL);
}

/* WORD/BPE/FILE: runs of tokenizer ids decoded together (the word tokenizer's spacing depends on
 * neighbours); <unk> and ids the tokenizer does not use become "<unk>" (the word tokenizer's own
 * <unk>, so it is spaced like a word). */
static rnnc_status decode_tokenizer(const rnnc_s2s_vocab *v, const uint32_t *ids, size_t n, rnnc_bytes *out) {
    rnnc_ids run = {0};
    rnnc_status s = RNNC_OK;
    bool word = rnnc_tokenizer_type_of(v->tk) == RNNC_TOKENIZER_WORD;
    for (size_t i = 0; i <= n && !s; i++) {
        uint32_t t = UINT32_MAX;
        bool unk = false;
        if (i < n) {
            if (ids[i] >= v->n) {
                s = rnnc_error(RNNC_ERR_RANGE, "token id %u outside the vocabulary of %zu", ids[i], v->n);
                break;
            }
            if (ids[i] < RNNC_S2S_UNK) continue;
            if (ids[i] == RNNC_S2S_UNK || !rnnc_tokenizer_token(v->tk, ids[i] - RNNC_S2S_NSPECIAL).data) unk = true;
            else t = ids[i] - RNNC_S2S_NSPECIAL;
            if (unk && word) { t = RNNC_TOK_UNK; unk = false; }
            if (!unk) { s = rnnc_ids_push(&run, t); continue; }
        }
        /* the end, or an <unk> outside the word tokenizer: flush the run */
        if (run.len) s = rnnc_tokenizer_decode(v->tk, run.data, run.len, out);
        run.len = 0;
        if (!s && unk) s = rnnc_bytes_append(out, "<unk>", 5);
    }
    rnnc_ids_free(&run);
    return s;
}

rnnc_status rnnc_s2s_decode(const rnnc_s2s_vocab *v, const uint32_t *ids, size_t n, rnnc_bytes *out) {
    if (v->tk) {
        rnnc_status s = decode_tokenizer(v, ids, n, out);
        if (s) return s;
        return rnnc_bytes_append(out, "", 0); /* NUL-terminated, also when empty */
    }
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= v->n) return rnnc_error(RNNC_ERR_RANGE, "token id %u outside the vocabulary of %zu", ids[i], v->n);
        if (ids[i] < RNNC_S2S_UNK) continue;
        rnnc_status s;
        if (v->tok == RNNC_S2S_TOK_SPACE && !first && (s = rnnc_bytes_append(out, " ", 1))) return s;
        if ((s = rnnc_bytes_append(out, v->sym[ids[i]], strlen(v->sym[ids[i]])))) return s;
        first = false;
    }
    if (!out->data) return rnnc_bytes_append(out, "", 0); /* a valid empty string */
    return RNNC_OK;
}

rnnc_status rnnc_s2s_vocab_to_string(const rnnc_s2s_vocab *v, rnnc_bytes *out) {
    if (v->tk) {
        char *json;
        rnnc_status s = rnnc_tokenizer_to_json(v->tk, &json);
        if (s) return s;
        s = rnnc_bytes_append(out, json, strlen(json));
        free(json);
        return s;
    }
    for (size_t i = RNNC_S2S_NSPECIAL; i < v->n; i++) {
        rnnc_status s = rnnc_bytes_append(out, v->sym[i], strlen(v->sym[i]));
        if (!s) s = rnnc_bytes_append(out, "\n", 1);
        if (s) return s;
    }
    if (!out->data) return rnnc_bytes_append(out, "", 0);
    return RNNC_OK;
}

rnnc_status rnnc_s2s_vocab_from_string(rnnc_s2s_vocab *v, rnnc_s2s_tok tok, const char *s, const char *what) {
    if (rnnc_s2s_tok_is_tokenizer(tok)) {
        memset(v, 0, sizeof *v);
        rnnc_tokenizer *t;
        rnnc_status st = rnnc_tokenizer_from_json(&t, s, strlen(s));
        if (!st) st = rnnc_s2s_vocab_from_tokenizer(v, tok, t);
        if (st) return rnnc_error(st, "%s: %s", what, rnnc_last_error());
        return RNNC_OK;
    }
    rnnc_status st = rnnc_s2s_vocab_init(v, tok);
    if (st) return st;
    size_t line = 0;
    while (*s) {
        const char *e = strchr(s, '\n');
        if (!e) { rnnc_s2s_vocab_free(v); return rnnc_error(RNNC_ERR_FORMAT, "%s: symbol list does not end with a newline", what); }
        line++;
        size_t n = (size_t)(e - s), before = v->n;
        uint32_t cp, id;
        /* only symbols the encoder can produce: a space symbol without blanks, a char symbol of
         * exactly one UTF-8 character; each once, none spelling a special token */
        const char *why = NULL;
        if (n == 0) why = "is empty";
        else if (tok == RNNC_S2S_TOK_SPACE && (memchr(s, ' ', n) || memchr(s, '\t', n))) why = "holds a space or tab";
        else if (tok == RNNC_S2S_TOK_CHAR && rnnc_utf8_decode((const unsigned char *)s, n, &cp) != (int)n)
            why = "is not one UTF-8 character";
        else if ((st = rnnc_s2s_vocab_add(v, s, n, &id))) why = "cannot be added";
        else if (v->n == before) why = id == RNNC_S2S_UNK ? "is a special token" : "appears twice";
        if (why) {
            rnnc_s2s_vocab_free(v);
            return rnnc_error(st ? st : RNNC_ERR_FORMAT, "%s: symbol %zu ('%.*s') %s", what, line, (int)(n < 40 ? n : 40), s,
                              why);
        }
        if (v->n > RNNC_S2S_MAX_VOCAB) {
            rnnc_s2s_vocab_free(v);
            return rnnc_error(RNNC_ERR_FORMAT, "%s: more than %d symbols", what, RNNC_S2S_MAX_VOCAB);
        }
        s = e + 1;
    }
    return RNNC_OK;
}

/* ---- TSV data ---- */

void rnnc_s2s_data_init(rnnc_s2s_data *d) { memset(d, 0, sizeof *d); }

void rnnc_s2s_data_free(rnnc_s2s_data *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        rnnc_s2s_item *it = &d->items[i];
        for (int r = 0; r < it->n_refs; r++) free(it->ref[r]);
        free(it->ref);
        free(it->ref_len);
        free(it->src);
        free(it->src_text);
    }
    free(d->items);
    free(d->index);
    memset(d, 0, sizeof *d);
}

static rnnc_status index_rehash(rnnc_s2s_data *d, size_t cap) {
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a data index of %zu slots", cap);
    for (size_t i = 0; i < d->n; i++) {
        size_t j = hash_bytes(d->items[i].src_text, strlen(d->items[i].src_text)) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)i + 1;
    }
    free(d->index);
    d->index = t;
    d->index_cap = cap;
    return RNNC_OK;
}

static size_t index_slot(const rnnc_s2s_data *d, const char *src, size_t len) {
    size_t j = hash_bytes(src, len) & (d->index_cap - 1);
    while (d->index[j]) {
        const char *s = d->items[d->index[j] - 1].src_text;
        if (strlen(s) == len && !memcmp(s, src, len)) break;
        j = (j + 1) & (d->index_cap - 1);
    }
    return j;
}

static uint32_t *dup_ids(const rnnc_ids *v) {
    uint32_t *p = malloc((v->len ? v->len : 1) * sizeof *p);
    if (p && v->len) memcpy(p, v->data, v->len * sizeof *p);
    return p;
}

/* Adds one (source, target) pair: a new item, or one more reference of an existing item. */
static rnnc_status data_add(rnnc_s2s_data *d, const char *src, size_t slen, const rnnc_ids *sids,
                            const rnnc_ids *tids) {
    if ((d->n + 1) * 2 > d->index_cap) {
        rnnc_status s = index_rehash(d, d->index_cap ? d->index_cap * 2 : 1024);
        if (s) return s;
    }
    size_t j = index_slot(d, src, slen);
    rnnc_s2s_item *it;
    if (d->index[j]) {
        it = &d->items[d->index[j] - 1];
        for (int r = 0; r < it->n_refs; r++)
            if ((size_t)it->ref_len[r] == tids->len && !memcmp(it->ref[r], tids->data, tids->len * sizeof *tids->data)) {
                d->skipped_dup++;
                return RNNC_OK;
            }
    } else {
        if (d->n == d->cap) {
            size_t nc = d->cap ? d->cap * 2 : 256;
            rnnc_s2s_item *ni = realloc(d->items, nc * sizeof *ni);
            if (!ni) return rnnc_error(RNNC_ERR_NOMEM, "out of memory growing the data to %zu items", nc);
            d->items = ni;
            d->cap = nc;
        }
        it = &d->items[d->n];
        memset(it, 0, sizeof *it);
        it->src_text = malloc(slen + 1);
        it->src = dup_ids(sids);
        if (!it->src_text || !it->src) {
            free(it->src_text); free(it->src);
            return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a data item");
        }
        memcpy(it->src_text, src, slen);
        it->src_text[slen] = 0;
        it->src_len = (int)sids->len;
        d->index[j] = (uint32_t)d->n + 1;
        d->n++;
    }
    uint32_t **nr = realloc(it->ref, (size_t)(it->n_refs + 1) * sizeof *nr);
    if (!nr) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a reference");
    it->ref = nr;
    int *nl = realloc(it->ref_len, (size_t)(it->n_refs + 1) * sizeof *nl);
    if (!nl) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a reference");
    it->ref_len = nl;
    if (!(it->ref[it->n_refs] = dup_ids(tids))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a reference");
    it->ref_len[it->n_refs++] = (int)tids->len;
    d->n_pairs++;
    return RNNC_OK;
}

/* The limit an option asks for: 0 the default, negative none (SIZE_MAX). */
static size_t max_len(int opt) { return opt == 0 ? RNNC_S2S_DEFAULT_MAX_LEN : opt < 0 ? SIZE_MAX : (size_t)opt; }

rnnc_status rnnc_s2s_data_parse(rnnc_s2s_data *d, const char *text, size_t len, const char *name,
                                const rnnc_s2s_read_opts *o, rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv) {
    if (len == 0) return rnnc_error(RNNC_ERR_FORMAT, "%s: the file is empty (expected lines of source TAB target)", name);
    rnnc_ids sids = {0}, tids = {0};
    rnnc_status st = RNNC_OK;
    size_t line = 0, pos = 0, su = 0, tu = 0, nonblank = 0;
    /* ids are ints in items and batches whatever the options say */
    size_t max_s = max_len(o->max_source), max_t = max_len(o->max_target);
    if (max_s > INT_MAX - 1) max_s = INT_MAX - 1;
    if (max_t > INT_MAX - 1) max_t = INT_MAX - 1;
    while (pos < len && !st) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - l) : len - pos;
        pos += ll + (nl ? 1 : 0);
        line++;
        if (ll && l[ll - 1] == '\r') ll--;
        if (ll == 0) continue;
        nonblank++;
        const char *tab;
        const char *why = line_fault(l, ll, &tab);
        sids.len = tids.len = 0;
        if (!why) {
            size_t slen = (size_t)(tab - l);
            su = tu = 0;
            if ((st = rnnc_s2s_encode_ex(sv, l, slen, o->grow, &sids, &su)) ||
                (st = rnnc_s2s_encode_ex(tv, tab + 1, (size_t)(l + ll - tab - 1), o->grow, &tids, &tu))) {
                st = rnnc_error(st, "%s:%zu: %s", name, line, rnnc_last_error());
                break;
            }
            if (sids.len == 0) why = "empty source";
            else if (tids.len == 0) why = "empty target";
        }
        if (why) {
            if (o->skip_bad) { d->skipped_bad++; continue; }
            st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: %s", name, line, why);
            break;
        }
        if (sids.len > max_s || tids.len > max_t) {
            if (o->skip_long) { d->skipped_long++; continue; }
            bool src_long = sids.len > max_s;
            int opt = src_long ? o->max_source : o->max_target;
            st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: %s of %zu symbols is longer than the maximum %zu (%s%s raises it, "
                            "--skip-long leaves such pairs out)", name, line, src_long ? "source" : "target",
                            src_long ? sids.len : tids.len, src_long ? max_s : max_t, opt == 0 ? "the default; " : "",
                            src_long ? "--max-source" : "--max-target");
            break;
        }
        size_t items = d->n, pairs = d->n_pairs;
        st = data_add(d, l, (size_t)(tab - l), &sids, &tids);
        if (d->n > items) { d->src_symbols += sids.len; d->src_unk += su; }
        if (d->n_pairs > pairs) { d->tgt_symbols += tids.len; d->tgt_unk += tu; }
    }
    if (!st && nonblank == 0) st = rnnc_error(RNNC_ERR_FORMAT, "%s: no pairs, only blank lines", name);
    rnnc_ids_free(&sids);
    rnnc_ids_free(&tids);
    return st;
}

rnnc_status rnnc_s2s_data_read(rnnc_s2s_data *d, const char *path, const rnnc_s2s_read_opts *o,
                               rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv) {
    unsigned char *buf;
    size_t len;
    rnnc_status st = rnnc_read_file(path, &buf, &len);
    if (st) return st;
    st = rnnc_s2s_data_parse(d, (const char *)buf, len, path, o, sv, tv);
    free(buf);
    return st;
}

/* ---- batches ---- */

rnnc_status rnnc_s2s_batcher_new(rnnc_s2s_batcher *b, const rnnc_s2s_data *d, int batch_size, bool all_refs) {
    memset(b, 0, sizeof *b);
    if (batch_size < 1) return rnnc_error(RNNC_ERR_ARG, "batch size %d must be at least 1", batch_size);
    b->data = d;
    b->batch = batch_size;
    size_t n = 0;
    int max_s = 1, max_t = 1;
    for (size_t i = 0; i < d->n; i++) {
        n += all_refs ? (size_t)d->items[i].n_refs : 1;
        if (d->items[i].src_len > max_s) max_s = d->items[i].src_len;
        for (int r = 0; r < d->items[i].n_refs; r++)
            if (d->items[i].ref_len[r] + 1 > max_t) max_t = d->items[i].ref_len[r] + 1;
    }
    b->n_ex = n;
    b->n_batches = (n + (size_t)batch_size - 1) / (size_t)batch_size;
    b->ex_item = malloc((n ? n : 1) * sizeof *b->ex_item);
    b->ex_ref = malloc((n ? n : 1) * sizeof *b->ex_ref);
    b->order = malloc((n ? n : 1) * sizeof *b->order);
    b->batch_order = malloc((b->n_batches ? b->n_batches : 1) * sizeof *b->batch_order);
    size_t B = (size_t)batch_size;
    rnnc_s2s_batch *x = &b->buf;
    x->src = malloc(B * (size_t)max_s * sizeof *x->src);
    x->tgt_in = malloc(B * (size_t)max_t * sizeof *x->tgt_in);
    x->tgt_out = malloc(B * (size_t)max_t * sizeof *x->tgt_out);
    x->src_len = malloc(B * sizeof *x->src_len);
    x->tgt_len = malloc(B * sizeof *x->tgt_len);
    x->item = malloc(B * sizeof *x->item);
    x->ref = malloc(B * sizeof *x->ref);
    if (!b->ex_item || !b->ex_ref || !b->order || !b->batch_order || !x->src || !x->tgt_in || !x->tgt_out ||
        !x->src_len || !x->tgt_len || !x->item || !x->ref) {
        rnnc_s2s_batcher_free(b);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a batcher of %zu examples", n);
    }
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++)
        for (int r = 0; r < (all_refs ? d->items[i].n_refs : 1); r++) { b->ex_item[k] = i; b->ex_ref[k] = r; k++; }
    rnnc_s2s_batcher_plan(b, NULL);
    return RNNC_OK;
}

void rnnc_s2s_batcher_free(rnnc_s2s_batcher *b) {
    if (!b) return;
    free(b->ex_item); free(b->ex_ref); free(b->order); free(b->batch_order);
    rnnc_s2s_batch *x = &b->buf;
    free(x->src); free(x->tgt_in); free(x->tgt_out); free(x->src_len); free(x->tgt_len); free(x->item); free(x->ref);
    memset(b, 0, sizeof *b);
}

static const rnnc_s2s_batcher *sort_ctx; /* qsort has no context argument in C11 */
static int cmp_src_len(const void *pa, const void *pb) {
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int la = sort_ctx->data->items[sort_ctx->ex_item[a]].src_len, lb = sort_ctx->data->items[sort_ctx->ex_item[b]].src_len;
    if (la != lb) return la < lb ? -1 : 1;
    return a < b ? -1 : a > b; /* stable, so a seed gives one order on every libc */
}

static void shuffle(size_t *v, size_t n, rnnc_rng *rng) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rnnc_rng_below(rng, i);
        size_t t = v[i - 1]; v[i - 1] = v[j]; v[j] = t;
    }
}

void rnnc_s2s_batcher_plan(rnnc_s2s_batcher *b, rnnc_rng *rng) {
    for (size_t i = 0; i < b->n_ex; i++) b->order[i] = i;
    for (size_t i = 0; i < b->n_batches; i++) b->batch_order[i] = i;
    if (!rng) return;
    shuffle(b->order, b->n_ex, rng);
    /* Sorting within windows rather than globally keeps batches short (little padding) while
     * still mixing lengths across the epoch. */
    size_t win = (size_t)b->batch * 50;
    sort_ctx = b;
    for (size_t s = 0; s < b->n_ex; s += win) {
        size_t n = b->n_ex - s < win ? b->n_ex - s : win;
        qsort(b->order + s, n, sizeof *b->order, cmp_src_len);
    }
    shuffle(b->batch_order, b->n_batches, rng);
}

const rnnc_s2s_batch *rnnc_s2s_batcher_get(rnnc_s2s_batcher *b, size_t k) {
    size_t first = b->batch_order[k] * (size_t)b->batch;
    size_t n = b->n_ex - first < (size_t)b->batch ? b->n_ex - first : (size_t)b->batch;
    rnnc_s2s_batch *x = &b->buf;
    x->B = (int)n;
    x->Ts = x->Tt = 1;
    for (size_t i = 0; i < n; i++) {
        size_t e = b->order[first + i];
        const rnnc_s2s_item *it = &b->data->items[b->ex_item[e]];
        if (it->src_len > x->Ts) x->Ts = it->src_len;
        if (it->ref_len[b->ex_ref[e]] + 1 > x->Tt) x->Tt = it->ref_len[b->ex_ref[e]] + 1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t e = b->order[first + i];
        const rnnc_s2s_item *it = &b->data->items[b->ex_item[e]];
        int r = b->ex_ref[e], tl = it->ref_len[r];
        x->item[i] = b->ex_item[e];
        x->ref[i] = r;
        x->src_len[i] = it->src_len;
        x->tgt_len[i] = tl + 1;
        uint32_t *s = x->src + i * (size_t)x->Ts, *ti = x->tgt_in + i * (size_t)x->Tt, *to = x->tgt_out + i * (size_t)x->Tt;
        for (int t = 0; t < x->Ts; t++) s[t] = t < it->src_len ? it->src[t] : RNNC_S2S_PAD;
        ti[0] = RNNC_S2S_BOS;
        for (int t = 0; t < tl; t++) { ti[t + 1] = it->ref[r][t]; to[t] = it->ref[r][t]; }
        to[tl] = RNNC_S2S_EOS;
        for (int t = tl + 1; t < x->Tt; t++) ti[t] = to[t] = RNNC_S2S_PAD;
    }
    return x;
}

/* ---- metrics ---- */

size_t rnnc_edit_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *row) {
    /* One row of the classic table: row[j] = distance(a[0..i), b[0..j)). */
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

rnnc_status rnnc_s2s_score_add(rnnc_s2s_score *s, const uint32_t *hyp, size_t n_hyp,
                               const uint32_t *const *refs, const int *ref_lens, int n_refs) {
    if (n_refs < 1) return rnnc_error(RNNC_ERR_ARG, "scoring needs at least one reference");
    size_t best_e = (size_t)-1, best_len = 0;
    for (int r = 0; r < n_refs; r++) {
        size_t *row = malloc(((size_t)ref_lens[r] + 1) * sizeof *row);
        if (!row) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for an edit distance");
        size_t e = rnnc_edit_distance(hyp, n_hyp, refs[r], (size_t)ref_lens[r], row);
        free(row);
        if (e < best_e || (e == best_e && (size_t)ref_lens[r] > best_len)) { best_e = e; best_len = (size_t)ref_lens[r]; }
    }
    s->edits += best_e;
    s->ref_tokens += best_len;
    s->seqs++;
    if (best_e != 0) s->seq_errors++;
    return RNNC_OK;
}

double rnnc_s2s_ter(const rnnc_s2s_score *s) { return s->ref_tokens ? (double)s->edits / (double)s->ref_tokens : 0.0; }
double rnnc_s2s_ser(const rnnc_s2s_score *s) { return s->seqs ? (double)s->seq_errors / (double)s->seqs : 0.0; }
