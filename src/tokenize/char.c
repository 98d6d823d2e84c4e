/* Character tokenizer: one id per Unicode code point, byte fallback; see include/rnnc/tokenizer.h. */
#include "rnnc/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "rnnc/utf8.h"

#define N_CODEPOINTS 0x110000u

struct rnnc_char_tok {
    uint32_t *chars;        /* chars[k] is the code point of id 260 + k */
    unsigned char (*utf8)[4]; /* its UTF-8 bytes, for rnnc_char_token */
    unsigned char *utf8_len;
    size_t n_chars;
    /* code point -> id: open addressing over a power-of-two table; slot value 0 = empty */
    uint32_t *slot_cp, *slot_id;
    size_t mask;
    int32_t ascii[128];     /* fast path for the common case; -1 = not in the vocabulary */
    unsigned char bytes[256]; /* bytes[b] == b: storage that byte-token lookups point into */
};

static size_t hash_cp(uint32_t cp) { return (size_t)(cp * 2654435761u); }

static uint32_t lookup(const rnnc_char_tok *t, uint32_t cp) {
    if (cp < 128) return t->ascii[cp] < 0 ? UINT32_MAX : (uint32_t)t->ascii[cp];
    for (size_t h = hash_cp(cp) & t->mask;; h = (h + 1) & t->mask) {
        if (t->slot_id[h] == 0) return UINT32_MAX;
        if (t->slot_cp[h] == cp) return t->slot_id[h];
    }
}

rnnc_status rnnc_char_create(rnnc_char_tok **out, const uint32_t *chars, size_t n_chars) {
    *out = NULL;
    if (n_chars > N_CODEPOINTS) return rnnc_error(RNNC_ERR_ARG, "char tokenizer: %zu characters is more than Unicode has", n_chars);
    rnnc_char_tok *t = calloc(1, sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "char tokenizer: out of memory");
    size_t cap = 16;
    while (cap < 2 * n_chars + 2) cap *= 2;
    t->n_chars = n_chars;
    t->mask = cap - 1;
    t->chars = malloc((n_chars + 1) * sizeof *t->chars);
    t->utf8 = malloc((n_chars + 1) * sizeof *t->utf8);
    t->utf8_len = malloc(n_chars + 1);
    t->slot_cp = calloc(cap, sizeof *t->slot_cp);
    t->slot_id = calloc(cap, sizeof *t->slot_id);
    if (!t->chars || !t->utf8 || !t->utf8_len || !t->slot_cp || !t->slot_id) {
        rnnc_char_free(t);
        return rnnc_error(RNNC_ERR_NOMEM, "char tokenizer: out of memory");
    }
    for (int c = 0; c < 128; c++) t->ascii[c] = -1;
    for (int b = 0; b < 256; b++) t->bytes[b] = (unsigned char)b;
    for (size_t k = 0; k < n_chars; k++) {
        uint32_t cp = chars[k], id = (uint32_t)(RNNC_CHAR_FIRST + k);
        int len = rnnc_utf8_encode(cp, t->utf8[k]);
        if (len == 0) {
            rnnc_char_free(t);
            return rnnc_error(RNNC_ERR_ARG, "char tokenizer: character %zu (U+%04X) is not a Unicode scalar value", k, (unsigned)cp);
        }
        if (lookup(t, cp) != UINT32_MAX) {
            rnnc_char_free(t);
            return rnnc_error(RNNC_ERR_ARG, "char tokenizer: character U+%04X is listed twice", (unsigned)cp);
        }
        t->chars[k] = cp;
        t->utf8_len[k] = (unsigned char)len;
        if (cp < 128) { t->ascii[cp] = (int32_t)id; continue; }
        size_t h = hash_cp(cp) & t->mask;
        while (t->slot_id[h]) h = (h + 1) & t->mask;
        t->slot_cp[h] = cp;
        t->slot_id[h] = id;
    }
    *out = t;
    return RNNC_OK;
}

typedef struct { uint32_t cp; uint64_t count; } cp_count;

/* Descending count, ties by ascending code point: the documented, deterministic id order. */
static int by_count(const void *a, const void *b) {
    const cp_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

rnnc_status rnnc_char_build(rnnc_char_tok **out, const unsigned char *const *texts, const size_t *lens,
                            size_t n, const rnnc_char_opts *opts) {
    *out = NULL;
    rnnc_char_opts o = opts ? *opts : (rnnc_char_opts){0};
    if (o.vocab_size && o.vocab_size < RNNC_CHAR_FIRST)
        return rnnc_error(RNNC_ERR_ARG, "char tokenizer: vocabulary size %zu is smaller than the %d reserved and byte tokens",
                          o.vocab_size, RNNC_CHAR_FIRST);
    /* A dense count per code point (calloc'd, so untouched pages cost nothing) plus the list of
     * code points seen, so small inputs never scan all of Unicode. */
    uint64_t *counts = calloc(N_CODEPOINTS, sizeof *counts);
    uint32_t *seen = NULL;
    size_t n_seen = 0, cap_seen = 0;
    if (!counts) return rnnc_error(RNNC_ERR_NOMEM, "char tokenizer: out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = texts[i];
        size_t len = lens[i], p = 0;
        while (p < len) {
            uint32_t cp;
            int k = s[p] < 0x80 ? (cp = s[p], 1) : rnnc_utf8_decode(s + p, len - p, &cp);
            if (k == 0) { p++; continue; } /* not a character: such bytes always use byte tokens */
            p += (size_t)k;
            total++;
            if (counts[cp]++) continue;
            if (n_seen == cap_seen) {
                cap_seen = cap_seen ? 2 * cap_seen : 256;
                uint32_t *ns = realloc(seen, cap_seen * sizeof *ns);
                if (!ns) { free(counts); free(seen); return rnnc_error(RNNC_ERR_NOMEM, "char tokenizer: out of memory"); }
                seen = ns;
            }
            seen[n_seen++] = cp;
        }
    }
    if (total == 0) {
        free(counts);
        free(seen);
        return rnnc_error(RNNC_ERR_ARG, "char tokenizer: the corpus is empty (no UTF-8 characters)");
    }
    uint64_t min = o.min_count > 1 ? o.min_count : 1;
    cp_count *cc = malloc((n_seen + 1) * sizeof *cc);
    uint32_t *chars = malloc((n_seen + 1) * sizeof *chars);
    if (!cc || !chars) {
        free(counts); free(seen); free(cc); free(chars);
        return rnnc_error(RNNC_ERR_NOMEM, "char tokenizer: out of memory");
    }
    size_t m = 0;
    for (size_t j = 0; j < n_seen; j++)
        if (counts[seen[j]] >= min) cc[m++] = (cp_count){seen[j], counts[seen[j]]};
    free(counts);
    free(seen);
    qsort(cc, m, sizeof *cc, by_count);
    if (o.vocab_size && m > o.vocab_size - RNNC_CHAR_FIRST) m = o.vocab_size - RNNC_CHAR_FIRST;
    for (size_t k = 0; k < m; k++) chars[k] = cc[k].cp;
    free(cc);
    rnnc_status s = rnnc_char_create(out, chars, m);
    free(chars);
    return s;
}

void rnnc_char_free(rnnc_char_tok *t) {
    if (!t) return;
    free(t->chars);
    free(t->utf8);
    free(t->utf8_len);
    free(t->slot_cp);
    free(t->slot_id);
    free(t);
}

size_t rnnc_char_n_vocab(const rnnc_char_tok *t) { return RNNC_CHAR_FIRST + t->n_chars; }

uint32_t rnnc_char_codepoint(const rnnc_char_tok *t, uint32_t id) {
    if (id < RNNC_CHAR_FIRST || id - RNNC_CHAR_FIRST >= t->n_chars) return UINT32_MAX;
    return t->chars[id - RNNC_CHAR_FIRST];
}

rnnc_token_bytes rnnc_char_token(const rnnc_char_tok *t, uint32_t id) {
    static const char *reserved[] = {"<pad>", "<bos>", "<eos>", "<unk>"};
    if (id < RNNC_TOK_N_RESERVED) return (rnnc_token_bytes){(const unsigned char *)reserved[id], strlen(reserved[id])};
    if (id < RNNC_CHAR_FIRST) return (rnnc_token_bytes){&t->bytes[id - RNNC_CHAR_BYTE_BASE], 1};
    if (id - RNNC_CHAR_FIRST >= t->n_chars) return (rnnc_token_bytes){NULL, 0};
    size_t k = id - RNNC_CHAR_FIRST;
    return (rnnc_token_bytes){t->utf8[k], t->utf8_len[k]};
}

rnnc_status rnnc_char_encode(const rnnc_char_tok *t, const unsigned char *s, size_t len,
                             rnnc_ids *out, size_t *n_fallback) {
    /* At most one id per byte: reserve once so the loop never reallocates. */
    rnnc_status st = rnnc_ids_reserve(out, out->len + len + 1); /* +1: never a NULL buffer */
    if (st) return st;
    uint32_t *o = out->data + out->len;
    size_t p = 0, fb = 0;
    while (p < len) {
        uint32_t cp, id;
        int k;
        if (s[p] < 0x80) { cp = s[p]; k = 1; }
        else if ((k = rnnc_utf8_decode(s + p, len - p, &cp)) == 0) {
            *o++ = RNNC_CHAR_BYTE_BASE + s[p++];
            fb++;
            continue;
        }
        id = lookup(t, cp);
        if (id != UINT32_MAX) *o++ = id;
        else {
            for (int j = 0; j < k; j++) *o++ = RNNC_CHAR_BYTE_BASE + s[p + (size_t)j];
            fb++;
        }
        p += (size_t)k;
    }
    out->len = (size_t)(o - out->data);
    if (n_fallback) *n_fallback += fb;
    return RNNC_OK;
}

rnnc_status rnnc_char_decode(const rnnc_char_tok *t, const uint32_t *ids, size_t n, rnnc_bytes *out) {
    /* At most 4 bytes per id: reserve once and write directly (append per id is 10x slower). */
    if (n > (SIZE_MAX - out->len - 1) / 4) return rnnc_error(RNNC_ERR_NOMEM, "char tokenizer: %zu ids is too many to decode", n);
    rnnc_status st = rnnc_bytes_reserve(out, out->len + 4 * n + 1);
    if (st) return st;
    unsigned char *o = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id < RNNC_TOK_N_RESERVED) continue;
        if (id < RNNC_CHAR_FIRST) { *o++ = (unsigned char)(id - RNNC_CHAR_BYTE_BASE); continue; }
        size_t k = id - RNNC_CHAR_FIRST;
        if (k >= t->n_chars) {
            out->len = (size_t)(o - out->data);
            out->data[out->len] = 0;
            return rnnc_error(RNNC_ERR_RANGE, "id %u at position %zu is out of range (the vocabulary has %zu ids)",
                              (unsigned)id, i, rnnc_char_n_vocab(t));
        }
        for (int j = 0; j < t->utf8_len[k]; j++) *o++ = t->utf8[k][j];
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = 0; /* rnnc_bytes stays NUL-terminated, as rnnc_bytes_append keeps it */
    return RNNC_OK;
}
