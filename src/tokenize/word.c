/* Word tokenizer: words and punctuation by a regex rule, the N most frequent, <unk> for the rest;
 * see include/rnnc/tokenizer.h for the rule and the (lossy) detokenization. */
#include "rnnc/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "rnnc/pretok.h"
#include "rnnc/utf8.h"

static const char *const RESERVED[RNNC_TOK_N_RESERVED] = {"<pad>", "<bos>", "<eos>", "<unk>"};

/* ---- a hash table from byte strings to (id or count): open addressing, FNV-1a ---- */
typedef struct {
    rnnc_bytes text;    /* all keys, each followed by a NUL */
    size_t *off;        /* entry -> offset of its key in text */
    uint32_t *len;      /* entry -> key length */
    uint64_t *val;      /* entry -> count or id */
    size_t n, cap_entries;
    uint32_t *slots;    /* entry + 1, 0 = empty */
    size_t mask;
} strmap;

static uint64_t fnv1a(const unsigned char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static void strmap_free(strmap *m) {
    rnnc_bytes_free(&m->text);
    free(m->off); free(m->len); free(m->val); free(m->slots);
    memset(m, 0, sizeof *m);
}

static rnnc_status strmap_rehash(strmap *m, size_t cap) {
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return rnnc_error(RNNC_ERR_NOMEM, "word tokenizer: out of memory");
    for (size_t e = 0; e < m->n; e++) {
        size_t h = fnv1a(m->text.data + m->off[e], m->len[e]) & (cap - 1);
        while (slots[h]) h = (h + 1) & (cap - 1);
        slots[h] = (uint32_t)(e + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
    return RNNC_OK;
}

/* Index of the entry for key, or SIZE_MAX. */
static size_t strmap_find(const strmap *m, const unsigned char *s, size_t n) {
    if (!m->slots) return SIZE_MAX;
    for (size_t h = fnv1a(s, n) & m->mask;; h = (h + 1) & m->mask) {
        uint32_t e = m->slots[h];
        if (!e) return SIZE_MAX;
        e--;
        if (m->len[e] == n && memcmp(m->text.data + m->off[e], s, n) == 0) return e;
    }
}

/* Finds or adds key (with value 0); returns the entry index or SIZE_MAX on allocation failure. */
static size_t strmap_add(strmap *m, const unsigned char *s, size_t n) {
    size_t e = strmap_find(m, s, n);
    if (e != SIZE_MAX) return e;
    if (n > UINT32_MAX || m->n >= UINT32_MAX - 1) return SIZE_MAX;
    if (!m->slots || 2 * (m->n + 1) > m->mask + 1)
        if (strmap_rehash(m, m->slots ? 2 * (m->mask + 1) : 1024)) return SIZE_MAX;
    if (m->n == m->cap_entries) {
        size_t c = m->cap_entries ? 2 * m->cap_entries : 1024;
        size_t *off = realloc(m->off, c * sizeof *off);
        if (off) m->off = off;
        uint32_t *len = realloc(m->len, c * sizeof *len);
        if (len) m->len = len;
        uint64_t *val = realloc(m->val, c * sizeof *val);
        if (val) m->val = val;
        if (!off || !len || !val) return SIZE_MAX;
        m->cap_entries = c;
    }
    e = m->n;
    m->off[e] = m->text.len;
    m->len[e] = (uint32_t)n;
    m->val[e] = 0;
    if (rnnc_bytes_append(&m->text, s, n) || rnnc_bytes_append(&m->text, "", 1)) return SIZE_MAX;
    size_t h = fnv1a(s, n) & m->mask;
    while (m->slots[h]) h = (h + 1) & m->mask;
    m->slots[h] = (uint32_t)(e + 1);
    m->n++;
    return e;
}

/* ---- the word rule ---- */

/* PCRE2's \s under UCP: \p{Z}, \h and \v. Only consulted for text the regex left unmatched. */
static int is_space_cp(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || c == 0x180E ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

typedef struct {
    int (*fn)(const unsigned char *tok, size_t len, void *ctx);
    void *ctx;
} split_ctx;

/* The regex matches every token; what it leaves between matches (its own pieces, see pretok.h)
 * is white space, to drop, and bytes that are not UTF-8, each of which becomes a token. */
static int on_piece(const unsigned char *s, size_t n, void *vctx) {
    split_ctx *c = vctx;
    uint32_t cp;
    int k = rnnc_utf8_decode(s, n, &cp);
    if (k > 0 && !is_space_cp(cp)) return c->fn(s, n, c->ctx);
    size_t p = 0;
    while (p < n) {
        k = rnnc_utf8_decode(s + p, n - p, &cp);
        if (k > 0 && is_space_cp(cp)) { p += (size_t)k; continue; }
        if (k > 0) { /* cannot happen with RNNC_WORD_PATTERN, but stay total: the rest is one token */
            return c->fn(s + p, n - p, c->ctx);
        }
        if (c->fn(s + p, 1, c->ctx)) return 1;
        p++;
    }
    return 0;
}

static rnnc_status split_with(const rnnc_pretok *re, const unsigned char *text, size_t len,
                              int (*fn)(const unsigned char *, size_t, void *), void *ctx) {
    split_ctx c = {fn, ctx};
    return rnnc_pretok_split(re, text, len, on_piece, &c);
}

rnnc_status rnnc_word_split(const unsigned char *text, size_t len,
                            int (*fn)(const unsigned char *tok, size_t len, void *ctx), void *ctx) {
    rnnc_pretok *re;
    rnnc_status s = rnnc_pretok_new(&re, RNNC_WORD_PATTERN);
    if (s) return s;
    s = split_with(re, text, len, fn, ctx);
    rnnc_pretok_free(re);
    return s;
}

/* ---- the tokenizer ---- */
struct rnnc_word_tok {
    strmap map;        /* word -> id; entries in id order from 4 */
    rnnc_pretok *re;
};

rnnc_status rnnc_word_create(rnnc_word_tok **out, const char *const *words, size_t n_words) {
    *out = NULL;
    /* Vocabulary sizes are ints in the models: 4 + n_words must fit. */
    if (n_words > (size_t)INT32_MAX - RNNC_TOK_N_RESERVED)
        return rnnc_error(RNNC_ERR_ARG, "word tokenizer: %zu words are more than the %d a vocabulary may hold", n_words,
                          INT32_MAX - RNNC_TOK_N_RESERVED);
    rnnc_word_tok *t = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "word tokenizer: out of memory");
    rnnc_status s = rnnc_pretok_new(&t->re, RNNC_WORD_PATTERN);
    if (s) { free(t); return s; }
    for (size_t k = 0; k < n_words; k++) {
        size_t n = strlen(words[k]);
        if (n == 0) { rnnc_word_free(t); return rnnc_error(RNNC_ERR_ARG, "word tokenizer: word %zu is empty", k); }
        /* The rule never yields white space inside a token; refusing it also keeps the words in
         * messages on one line. */
        size_t sp = strcspn(words[k], " \t\n\v\f\r");
        if (sp < n) {
            rnnc_word_free(t);
            return rnnc_error(RNNC_ERR_ARG, "word tokenizer: word %zu holds white space (byte 0x%02X at %zu), which no token has",
                              k, (unsigned char)words[k][sp], sp);
        }
        if (strmap_find(&t->map, (const unsigned char *)words[k], n) != SIZE_MAX) {
            rnnc_word_free(t);
            return rnnc_error(RNNC_ERR_ARG, "word tokenizer: the word '%s' is listed twice", words[k]);
        }
        size_t e = strmap_add(&t->map, (const unsigned char *)words[k], n);
        if (e == SIZE_MAX) { rnnc_word_free(t); return rnnc_error(RNNC_ERR_NOMEM, "word tokenizer: out of memory"); }
        t->map.val[e] = RNNC_TOK_N_RESERVED + k;
    }
    *out = t;
    return RNNC_OK;
}

static int count_token(const unsigned char *s, size_t n, void *ctx) {
    strmap *m = ctx;
    size_t e = strmap_add(m, s, n);
    if (e == SIZE_MAX) return 1;
    m->val[e]++;
    return 0;
}

typedef struct { const unsigned char *w; size_t len; uint64_t count; } word_count;

/* Descending count, ties by the bytes (memcmp, then shorter first). */
static int by_count(const void *a, const void *b) {
    const word_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    int c = memcmp(x->w, y->w, x->len < y->len ? x->len : y->len);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

rnnc_status rnnc_word_build(rnnc_word_tok **out, const unsigned char *const *texts, const size_t *lens,
                            size_t n, const rnnc_word_opts *opts) {
    *out = NULL;
    rnnc_word_opts o = opts ? *opts : (rnnc_word_opts){0};
    if (o.vocab_size < RNNC_TOK_N_RESERVED + 1)
        return rnnc_error(RNNC_ERR_ARG, "word tokenizer: vocabulary size %zu is too small: it needs the %d reserved ids and at least one word",
                          o.vocab_size, RNNC_TOK_N_RESERVED);
    rnnc_pretok *re;
    rnnc_status s = rnnc_pretok_new(&re, RNNC_WORD_PATTERN);
    if (s) return s;
    strmap counts = {0};
    for (size_t i = 0; i < n && !s; i++) {
        s = split_with(re, texts[i], lens[i], count_token, &counts);
        if (s == RNNC_ERR_INTERRUPTED) s = rnnc_error(RNNC_ERR_NOMEM, "word tokenizer: out of memory counting words");
    }
    rnnc_pretok_free(re);
    if (s) { strmap_free(&counts); return s; }
    if (counts.n == 0) {
        strmap_free(&counts);
        return rnnc_error(RNNC_ERR_ARG, "word tokenizer: the corpus is empty (no words)");
    }
    uint64_t min = o.min_count > 1 ? o.min_count : 1;
    word_count *order = malloc(counts.n * sizeof *order);
    size_t m = 0;
    if (!order) { strmap_free(&counts); return rnnc_error(RNNC_ERR_NOMEM, "word tokenizer: out of memory"); }
    uint64_t top = 0; /* the count of the most frequent word that could be kept */
    for (size_t e = 0; e < counts.n; e++) {
        const unsigned char *w = counts.text.data + counts.off[e];
        size_t len = counts.len[e];
        /* JSON strings (our file format) hold only valid UTF-8 without NUL. */
        if (rnnc_utf8_valid_prefix(w, len) != len || memchr(w, 0, len)) continue;
        if (counts.val[e] > top) top = counts.val[e];
        if (counts.val[e] >= min) order[m++] = (word_count){w, len, counts.val[e]};
    }
    if (m == 0) { /* every id would be <unk>: a model on it learns nothing and scores perfectly */
        free(order);
        strmap_free(&counts);
        if (top == 0) return rnnc_error(RNNC_ERR_ARG, "word tokenizer: the corpus has no word in valid UTF-8 without NUL");
        return rnnc_error(RNNC_ERR_ARG, "word tokenizer: --min-count %llu leaves no word (the most frequent is seen %llu "
                          "time%s): lower it", (unsigned long long)min, (unsigned long long)top, top == 1 ? "" : "s");
    }
    qsort(order, m, sizeof *order, by_count);
    if (m > o.vocab_size - RNNC_TOK_N_RESERVED) m = o.vocab_size - RNNC_TOK_N_RESERVED;
    const char **words = malloc((m + 1) * sizeof *words);
    if (!words) { free(order); strmap_free(&counts); return rnnc_error(RNNC_ERR_NOMEM, "word tokenizer: out of memory"); }
    for (size_t k = 0; k < m; k++) words[k] = (const char *)order[k].w;
    s = rnnc_word_create(out, words, m);
    free(words);
    free(order);
    strmap_free(&counts);
    return s;
}

void rnnc_word_free(rnnc_word_tok *t) {
    if (!t) return;
    strmap_free(&t->map);
    rnnc_pretok_free(t->re);
    free(t);
}

size_t rnnc_word_n_vocab(const rnnc_word_tok *t) { return RNNC_TOK_N_RESERVED + t->map.n; }

const char *rnnc_word_text(const rnnc_word_tok *t, uint32_t id) {
    if (id < RNNC_TOK_N_RESERVED) return RESERVED[id];
    if (id - RNNC_TOK_N_RESERVED >= t->map.n) return NULL;
    return (const char *)t->map.text.data + t->map.off[id - RNNC_TOK_N_RESERVED];
}

typedef struct { const rnnc_word_tok *t; rnnc_ids *out; size_t unk; rnnc_status st; } enc_ctx;

static int encode_token(const unsigned char *s, size_t n, void *vctx) {
    enc_ctx *c = vctx;
    size_t e = strmap_find(&c->t->map, s, n);
    uint32_t id = e == SIZE_MAX ? RNNC_TOK_UNK : (uint32_t)c->t->map.val[e];
    c->unk += e == SIZE_MAX;
    return (c->st = rnnc_ids_push(c->out, id)) != RNNC_OK;
}

rnnc_status rnnc_word_encode(const rnnc_word_tok *t, const unsigned char *text, size_t len,
                             rnnc_ids *out, size_t *n_unk) {
    enc_ctx c = {t, out, 0, RNNC_OK};
    rnnc_status s = split_with(t->re, text, len, encode_token, &c);
    if (s == RNNC_ERR_INTERRUPTED) s = c.st;
    if (!s && n_unk) *n_unk += c.unk;
    return s;
}

static int is_one_of(const char *w, const char *const *set) {
    for (; *set; set++) if (strcmp(w, *set) == 0) return 1;
    return 0;
}

rnnc_status rnnc_word_decode(const rnnc_word_tok *t, const uint32_t *ids, size_t n, rnnc_bytes *out) {
    static const char *const no_space_before[] = {".", ",", ";", ":", "!", "?", ")", "]", "}", "%", NULL};
    static const char *const no_space_after[] = {"(", "[", "{", "$", NULL};
    int first = 1, glue_next = 0, quote_open = 0;
    rnnc_status s = rnnc_bytes_reserve(out, out->len + 1);
    if (s) return s;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        const char *w = rnnc_word_text(t, id);
        if (!w)
            return rnnc_error(RNNC_ERR_RANGE, "id %u at position %zu is out of range (the vocabulary has %zu ids)",
                              (unsigned)id, i, rnnc_word_n_vocab(t));
        if (id < RNNC_TOK_N_RESERVED && id != RNNC_TOK_UNK) continue;
        int quote = strcmp(w, "\"") == 0;
        int space = !first && !glue_next;
        if (is_one_of(w, no_space_before) || w[0] == '\'' || (quote && quote_open)) space = 0;
        if (space && (s = rnnc_bytes_append(out, " ", 1))) return s;
        if ((s = rnnc_bytes_append(out, w, strlen(w)))) return s;
        glue_next = is_one_of(w, no_space_after) || (quote && !quote_open);
        if (quote) quote_open = !quote_open;
        first = 0;
    }
    return RNNC_OK;
}
