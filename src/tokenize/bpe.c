/* Byte-level BPE: the token table, tiktoken-exact encoding and decoding; see include/rnnc/bpe.h.
 * (.tiktoken files are read and written in tiktoken.c.)
 *
 * Encoding follows tiktoken: the text is split at special tokens (when allowed), each segment is
 * pre-tokenized, and each piece is looked up whole; if it is no token, its bytes are merged pair by
 * pair, always the adjacent pair whose concatenation has the lowest rank (leftmost on ties). Pieces
 * up to 256 bytes use tiktoken's loop (with a vector scan for the lowest rank); longer ones are
 * first cut where two neighbouring bytes occur together in no token (an exact cut), and stretches
 * still long merge through a rank-bucketed queue over a linked list: O(n log n) for a 1 MB piece
 * with no whitespace, where tiktoken is quadratic. Tokens live in open-addressing hash tables keyed
 * by their bytes, behind a Bloom filter. Big inputs with a built-in pattern are split at positions
 * where every built-in pattern must end a piece and encoded in parallel (OpenMP); the ids are the
 * same as serially. See docs/ARCHITECTURE.md, "BPE encoding". */
#include "rnnc/bpe.h"

#include <stdint.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/pretok.h"
#include "rnnc/utf8.h"
#include "tokenize/pretok_fast.h"
#include "tokenize/bpe_table.h"
#include "core/bigmem.h"

#define SHORT_PIECE 256             /* longer stretches merge with the rank queue */
#define PARALLEL_MIN (1u << 18)     /* inputs below 256 KiB are encoded on one thread */
#define CHUNK_TARGET (1u << 16)     /* aim for at least 64 KiB per parallel chunk */


/* ---- construction ---- */

#define SHOWN_CAP 256

/* Token text for an error message: at most 60 bytes, control bytes as \xNN, so the message stays
 * one line however hostile the text. */
static const char *shown(const char *s, char buf[SHOWN_CAP]) {
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (i == 60) { memcpy(buf + o, "...", 3); o += 3; break; }
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) o += (size_t)snprintf(buf + o, 5, "\\x%02X", c);
        else buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

typedef struct { const char *text; uint32_t id; size_t at; } special_ref;

/* Orders by id, then by text; ties by position, so a duplicate is reported as (first, second). */
static int special_by_id(const void *a, const void *b) {
    const special_ref *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int special_by_text(const void *a, const void *b) {
    const special_ref *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    if (c) return c;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* A copy of the specials sorted by cmp, or NULL when memory ran out. */
static special_ref *sorted_specials(const rnnc_special_token *specials, size_t n, int (*cmp)(const void *, const void *)) {
    special_ref *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) return NULL;
    for (size_t i = 0; i < n; i++) r[i] = (special_ref){specials[i].text, specials[i].id, i};
    qsort(r, n, sizeof *r, cmp);
    return r;
}

static int token_present(const void *ctx, size_t id) { return ((const rnnc_token_bytes *)ctx)[id].data != NULL; }

rnnc_status rnnc_bpe_check_specials(const rnnc_token_bytes *tokens, size_t n_tokens,
                                    const rnnc_special_token *specials, size_t n_specials) {
    return rnnc_bpe_check_specials_by(n_tokens, token_present, tokens, specials, n_specials);
}

rnnc_status rnnc_bpe_check_specials_by(size_t n_tokens, int (*has_token)(const void *ctx, size_t id), const void *ctx,
                                       const rnnc_special_token *specials, size_t n_specials) {
    char s1[SHOWN_CAP], s2[SHOWN_CAP];
    /* The gap limit in size_t, capped so that it cannot wrap whatever the caller passes. */
    size_t limit = RNNC_BPE_MAX_VOCAB;
    if (n_tokens < limit && n_specials < limit - n_tokens && RNNC_BPE_MAX_SPECIAL_GAP < limit - n_tokens - n_specials)
        limit = n_tokens + n_specials + RNNC_BPE_MAX_SPECIAL_GAP;
    for (size_t i = 0; i < n_specials; i++) {
        const char *t = specials[i].text;
        uint32_t id = specials[i].id;
        if (!t || !*t) return rnnc_error(RNNC_ERR_ARG, "special token %zu (id %u) has empty text", i, (unsigned)id);
        if (id >= RNNC_BPE_MAX_VOCAB)
            return rnnc_error(RNNC_ERR_ARG, "special token '%s' has id %u; ids must be below %u (vocabulary sizes fit an int)",
                              shown(t, s1), (unsigned)id, RNNC_BPE_MAX_VOCAB);
        if (id >= limit)
            return rnnc_error(RNNC_ERR_ARG, "special token '%s' has id %u; special ids must be below %zu (at most %u past the %zu ranks and %zu special tokens)",
                              shown(t, s1), (unsigned)id, limit, RNNC_BPE_MAX_SPECIAL_GAP, n_tokens, n_specials);
        if (id < n_tokens && has_token(ctx, id))
            return rnnc_error(RNNC_ERR_ARG, "special token '%s' has id %u, which is already an ordinary token's rank",
                              shown(t, s1), (unsigned)id);
    }
    if (n_specials < 2) return RNNC_OK;
    /* Sorted copies find duplicates in O(n log n): a hostile file may hold very many specials. */
    rnnc_status st = RNNC_OK;
    special_ref *r = sorted_specials(specials, n_specials, special_by_id);
    if (!r) return rnnc_error(RNNC_ERR_NOMEM, "special tokens: out of memory checking %zu of them", n_specials);
    for (size_t k = 1; k < n_specials && !st; k++)
        if (r[k - 1].id == r[k].id)
            st = rnnc_error(RNNC_ERR_ARG, "special tokens '%s' and '%s' share the id %u", shown(r[k - 1].text, s1),
                            shown(r[k].text, s2), (unsigned)r[k].id);
    if (!st) qsort(r, n_specials, sizeof *r, special_by_text);
    for (size_t k = 1; k < n_specials && !st; k++)
        if (strcmp(r[k - 1].text, r[k].text) == 0)
            st = rnnc_error(RNNC_ERR_ARG, "special tokens %zu and %zu (ids %u and %u) share the text '%s'", r[k - 1].at,
                            r[k].at, (unsigned)r[k - 1].id, (unsigned)r[k].id, shown(r[k].text, s1));
    free(r);
    return st;
}

static void free_specials(rnnc_bpe *b) {
    for (size_t i = 0; i < b->n_specials; i++) free(b->special_text[i]);
    free(b->special_text);
    free(b->special_len);
    free(b->special_id);
    free(b->special_order);
}

void rnnc_bpe_free(rnnc_bpe *b) {
    if (!b) return;
    free(b->tok_off);
    if (b->cache_buf) free(b->cache_buf);
    else {
        free(b->tok_len);
        free(b->arena);
        free(b->slots);
        free(b->hot);
        free(b->tiny);
        free(b->filter);
    }
    free(b->pair2); /* and pair_key, its second half */
    free_specials(b);
    free(b->pattern);
    rnnc_pretok_free(b->pretok);
    free(b);
}

rnnc_status rnnc_bpe_create(rnnc_bpe **out, const rnnc_token_bytes *tokens, size_t n_tokens, const char *pattern,
                            const rnnc_special_token *specials, size_t n_specials) {
    *out = NULL;
    if (!pattern) pattern = "cl100k";
    if (n_tokens > RNNC_BPE_MAX_VOCAB)
        return rnnc_error(RNNC_ERR_ARG, "bpe: %zu ranks are more than the %u ids a vocabulary may have", n_tokens,
                          RNNC_BPE_MAX_VOCAB);
    /* Everything about the input is checked before anything is allocated; later failures are
     * out of memory, and their messages never read the tokenizer being freed. */
    for (size_t r = 0; r < n_tokens; r++)
        if (tokens[r].data && (tokens[r].len == 0 || tokens[r].len > UINT32_MAX))
            return rnnc_error(RNNC_ERR_FORMAT, "bpe: token %zu has length %zu", r, tokens[r].len);
    rnnc_status st = rnnc_bpe_check_specials(tokens, n_tokens, specials, n_specials);
    if (st) return rnnc_error(st, "bpe: %s", rnnc_last_error());
    rnnc_bpe *b = calloc(1, sizeof *b);
    if (!b) return rnnc_error(RNNC_ERR_NOMEM, "bpe: out of memory");
    /* The pattern first, so that a bad one is reported before the tokens are looked at. */
    st = rnnc_pretok_new(&b->pretok, pattern);
    if (st) { free(b); return st; }
    size_t total = 0, used = 0, used_hot = 0, used_tiny = 0;
    for (size_t r = 0; r < n_tokens; r++)
        if (tokens[r].data) {
            int tiny = tokens[r].len <= TINY_LEN && r < (1u << TINY_ID_BITS);
            used_tiny += tiny;
            used_hot += !tiny && r < HOT_RANKS;
            total += tokens[r].len;
            used++;
        }
    size_t cap = 1024, cap_hot = 64;
    size_t used_cold = used - used_hot - used_tiny, cap_tiny = 64;
    while (cap < used_cold * 2 + used_cold / 2) cap *= 2; /* load factor at most 0.4 */
    while (cap_hot < used_hot * 2 + used_hot / 2) cap_hot *= 2;
    while (cap_tiny * 3 < used_tiny * 4) cap_tiny *= 2;   /* at most 0.75: eight slots a line */
    b->n_ranks = n_tokens;
    b->n_tokens = used;
    b->tok_off = malloc((n_tokens ? n_tokens : 1) * sizeof *b->tok_off);
    b->tok_len = calloc(n_tokens ? n_tokens : 1, sizeof *b->tok_len);
    b->arena = malloc(total + 8);
    b->slots = malloc(cap * sizeof *b->slots);
    b->mask = cap - 1;
    b->hot = malloc(cap_hot * sizeof *b->hot);
    b->hot_mask = cap_hot - 1;
    b->tiny = calloc(cap_tiny, sizeof *b->tiny);
    b->tiny_mask = cap_tiny - 1;
    b->tiny_all = 1;
    size_t fwords = 1024; /* 16 bits per token */
    unsigned flog = 10;
    while (fwords * 64 < used * 16) { fwords *= 2; flog++; }
    b->filter_shift = 64 - flog;
    b->filter = calloc(fwords, sizeof *b->filter);
    if (!b->filter || !b->tok_off || !b->tok_len || !b->arena || !b->slots || !b->hot || !b->tiny) {
        st = rnnc_error(RNNC_ERR_NOMEM, "bpe: out of memory for %zu tokens", n_tokens);
        goto fail;
    }
    for (size_t i = 0; i < cap; i++) b->slots[i].id = NO_RANK;
    for (size_t i = 0; i < cap_hot; i++) b->hot[i].id = NO_RANK;
    for (int i = 0; i < 256; i++) b->byte_rank[i] = NO_RANK;
    size_t off = 0;
    for (size_t r = 0; r < n_tokens; r++) {
        if (!tokens[r].data) { b->tok_off[r] = UINT64_MAX; continue; }
        const unsigned char *p = tokens[r].data;
        size_t len = tokens[r].len;
        uint32_t dup = lookup(b, p, len);
        if (dup != NO_RANK) {
            st = rnnc_error(RNNC_ERR_FORMAT, "bpe: duplicate token: ranks %u and %zu have the same bytes", dup, r);
            goto fail;
        }
        memcpy(b->arena + off, p, len);
        b->tok_off[r] = off;
        b->tok_len[r] = (uint32_t)len;
        off += len;
        uint64_t k = key8_of(p, len);
        uint64_t h = hash_bytes(p, len, k);
        b->filter[h >> b->filter_shift] |= filter_bits(h);
        if (len <= TINY_LEN && r < (1u << TINY_ID_BITS)) {
            size_t i = (size_t)h & b->tiny_mask;
            while (b->tiny[i]) i = (i + 1) & b->tiny_mask;
            b->tiny[i] = tiny_key(k, len) | (uint64_t)r << 43;
        } else {
            if (len <= TINY_LEN) b->tiny_all = 0; /* a short token with a huge rank: check the big table too */
            slot *table = r < HOT_RANKS ? b->hot : b->slots;
            size_t mask = r < HOT_RANKS ? b->hot_mask : b->mask;
            size_t i = (size_t)h & mask;
            while (table[i].id != NO_RANK) i = (i + 1) & mask;
            table[i] = (slot){k, (uint32_t)len, (uint32_t)r};
        }
        if (len == 1) b->byte_rank[p[0]] = (uint32_t)r;
    }
    for (int i = 0; i < 256; i++)
        if (b->byte_rank[i] == NO_RANK) {
            st = rnnc_error(RNNC_ERR_FORMAT, "bpe: the single byte 0x%02X has no rank (all 256 bytes must)", i);
            goto fail;
        }
    return rnnc_bpe_finish(b, out, pattern, specials, n_specials);
fail:
    rnnc_bpe_free(b);
    return st;
}

rnnc_status rnnc_bpe_finish(rnnc_bpe *b, rnnc_bpe **out, const char *pattern, const rnnc_special_token *specials,
                            size_t n_specials) {
    rnnc_status st = RNNC_OK;
    *out = NULL;
    if (!pattern) pattern = "cl100k";
    if (!b->pretok && (st = rnnc_pretok_new(&b->pretok, pattern))) goto fail;
    b->fast = rnnc_pretok_fast_kind_of(b->pretok);
    if (!(b->pattern = strdup(pattern))) { st = rnnc_error(RNNC_ERR_NOMEM, "bpe: out of memory"); goto fail; }
    size_t n_tokens = b->n_ranks;
    /* Byte pairs inside some token, from the arena (tokens lie there in rank order). */
    for (size_t r = 0; r < n_tokens; r++) {
        const unsigned char *p = b->arena + (b->tok_off[r] == UINT64_MAX ? 0 : b->tok_off[r]);
        for (size_t k = 1; k < b->tok_len[r]; k++) {
            unsigned pair = (unsigned)p[k - 1] << 8 | p[k];
            b->inner[pair >> 6] |= 1ULL << (pair & 63);
        }
    }
    /* One block for both (pair_key is its second half; freed with pair2), on a 2 MiB page. */
    b->pair2 = rnnc_big_alloc(65536 * (sizeof *b->pair2 + sizeof *b->pair_key));
    if (!b->pair2) { st = rnnc_error(RNNC_ERR_NOMEM, "bpe: out of memory"); goto fail; }
    b->pair_key = (int32_t *)(b->pair2 + 65536);
    for (unsigned k = 0; k < 65536; k++) {
        unsigned char two[2] = {(unsigned char)(k >> 8), (unsigned char)k};
        b->pair2[k] = lookup(b, two, 2);
    }
    for (unsigned k = 0; k < 65536; k++) {
        uint32_t r = b->pair2[k];
        b->pair_key[k] = !(b->inner[k >> 6] >> (k & 63) & 1) ? -1 : r < PACK_LIMIT ? (int32_t)(r << 8) : KEY_NONE;
    }
    b->n_vocab = n_tokens;
    b->special_text = calloc(n_specials ? n_specials : 1, sizeof *b->special_text);
    b->special_len = calloc(n_specials ? n_specials : 1, sizeof *b->special_len);
    b->special_id = calloc(n_specials ? n_specials : 1, sizeof *b->special_id);
    b->special_order = calloc(n_specials ? n_specials : 1, sizeof *b->special_order);
    special_ref *by_id = sorted_specials(specials, n_specials, special_by_id);
    if (!b->special_text || !b->special_len || !b->special_id || !b->special_order || !by_id) {
        free(by_id);
        st = rnnc_error(RNNC_ERR_NOMEM, "bpe: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n_specials; i++) b->special_order[i] = by_id[i].at;
    free(by_id);
    for (size_t i = 0; i < n_specials; i++) {
        b->special_text[i] = strdup(specials[i].text);
        b->special_len[i] = strlen(specials[i].text);
        b->special_id[i] = specials[i].id;
        b->n_specials = i + 1;
        if (!b->special_text[i]) { st = rnnc_error(RNNC_ERR_NOMEM, "bpe: out of memory"); goto fail; }
        if ((size_t)specials[i].id + 1 > b->n_vocab) b->n_vocab = (size_t)specials[i].id + 1;
    }
    *out = b;
    return RNNC_OK;
fail:
    rnnc_bpe_free(b);
    return st;
}

size_t rnnc_bpe_n_vocab(const rnnc_bpe *b) { return b->n_vocab; }
const char *rnnc_bpe_pattern(const rnnc_bpe *b) { return b->pattern; }
size_t rnnc_bpe_n_specials(const rnnc_bpe *b) { return b->n_specials; }

rnnc_special_token rnnc_bpe_special(const rnnc_bpe *b, size_t i) {
    rnnc_special_token s = {NULL, 0};
    if (i < b->n_specials) { s.text = b->special_text[i]; s.id = b->special_id[i]; }
    return s;
}

rnnc_token_bytes rnnc_bpe_token(const rnnc_bpe *b, uint32_t id) {
    rnnc_token_bytes t = {NULL, 0};
    if (id < b->n_ranks && b->tok_off[id] != UINT64_MAX) {
        t.data = b->arena + b->tok_off[id];
        t.len = b->tok_len[id];
        return t;
    }
    size_t lo = 0, hi = b->n_specials; /* binary search: a file may hold many specials */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->special_id[b->special_order[mid]] < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo < b->n_specials && b->special_id[b->special_order[lo]] == id) {
        t.data = (const unsigned char *)b->special_text[b->special_order[lo]];
        t.len = b->special_len[b->special_order[lo]];
    }
    return t;
}

uint32_t rnnc_bpe_rank_of(const rnnc_bpe *b, const unsigned char *bytes, size_t len) {
    return len ? lookup(b, bytes, len) : NO_RANK;
}

/* ---- encoding ---- */

/* A priority queue of (rank, offset) pairs for long pieces, bucketed by rank: a small binary heap
 * of the ranks that have entries, and per rank a binary heap of offsets. A long piece has millions
 * of pairs but few distinct ranks, and merges run rank by rank, so the heaps touched at any moment
 * stay in cache (one flat heap of millions of entries was dominated by cache misses). */
typedef struct { uint32_t *h; uint32_t n, cap; } bucket;

typedef struct {
    uint32_t *slot_of;   /* per rank: its bucket, or NO_RANK (reset after each piece) */
    bucket *buckets;
    uint32_t nb, cap_b;
    uint32_t *ranks;     /* heap of ranks with non-empty buckets */
    uint32_t nr, cap_r;
    uint32_t *touched;   /* ranks whose slot_of is set */
} pqueue;

/* Per-thread scratch for merging, grown on demand and freed when the call ends. */
typedef struct {
    uint32_t *ids;      /* output ids */
    size_t n, cap;
    /* merge arrays: a = next part (short pieces), c = pair rank, d = part id,
     * e = previous part (short pieces) or next + previous (long pieces) */
    uint32_t *a, *c, *d, *e;
    size_t merge_cap;
    pqueue pq;
    int nomem;
    int borrowed;       /* ids is a region of someone else's buffer: growing it copies to the heap */
} enc;

static __attribute__((noinline)) void emit_grow(enc *s) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    uint32_t *nd = s->borrowed ? malloc(nc * sizeof *nd) : realloc(s->ids, nc * sizeof *nd);
    if (!nd) { s->nomem = 1; return; }
    if (s->borrowed && s->n) memcpy(nd, s->ids, s->n * sizeof *nd);
    s->borrowed = 0;
    s->ids = nd;
    s->cap = nc;
}

static inline void emit(enc *s, uint32_t id) {
    if (s->n == s->cap) {
        emit_grow(s);
        if (s->nomem) return;
    }
    s->ids[s->n++] = id;
}

static int merge_reserve(enc *s, size_t n) {
    if (n <= s->merge_cap) return 1;
    size_t nc = n * 2;
    uint32_t *a = realloc(s->a, nc * 4), *c = a ? realloc(s->c, nc * 4) : NULL;
    if (a) s->a = a;
    if (c) s->c = c;
    uint32_t *d = c ? realloc(s->d, nc * 4) : NULL;
    if (d) s->d = d;
    uint32_t *e = d ? realloc(s->e, nc * 8) : NULL;
    if (e) s->e = e;
    if (!e) { s->nomem = 1; return 0; }
    s->merge_cap = nc;
    return 1;
}

typedef int32_t v8i32 __attribute__((vector_size(32)));

/* m = lane-wise min(m, x). A macro: a function taking vectors by value would change the ABI
 * between builds with and without AVX (-Wpsabi). */
#define VMIN_INTO(m, x) do { v8i32 lt_ = (x) < (m); (m) = ((x) & lt_) | ((m) & ~lt_); } while (0)

/* The lowest value of k[0..n) (n a multiple of 8; keys are non-negative), eight keys a vector in
 * two independent chains (the compiler's vector extension: SSE4.1/AVX2 compare and blend, signed
 * because x86 has no unsigned vector compare before AVX-512), then the lanes folded. */
static inline int32_t min_key(const int32_t *k, size_t n) {
    v8i32 m0, m1, x;
    memcpy(&m0, k, sizeof m0);
    m1 = m0;
    size_t i = 8;
    for (; i + 16 <= n; i += 16) {
        memcpy(&x, k + i, sizeof x);
        VMIN_INTO(m0, x);
        memcpy(&x, k + i + 8, sizeof x);
        VMIN_INTO(m1, x);
    }
    if (i < n) {
        memcpy(&x, k + i, sizeof x);
        VMIN_INTO(m1, x);
    }
    VMIN_INTO(m0, m1);
    x = __builtin_shufflevector(m0, m0, 4, 5, 6, 7, 0, 1, 2, 3);
    VMIN_INTO(m0, x);
    x = __builtin_shufflevector(m0, m0, 2, 3, 0, 1, 6, 7, 4, 5);
    VMIN_INTO(m0, x);
    x = __builtin_shufflevector(m0, m0, 1, 0, 3, 2, 5, 4, 7, 6);
    VMIN_INTO(m0, x);
    return m0[0];
}

/* tiktoken's merge loop for a short piece: each step joins the leftmost adjacent pair of parts
 * whose concatenation has the lowest rank. Parts are identified by their first byte; key[i] packs
 * the rank of part i joined with the next one and the offset i (rank << 8 | i: a piece is at most
 * 256 bytes and ranks stay below 2^23), or KEY_NONE for the last part and for bytes inside a part.
 * The lowest key is then the next merge, leftmost on a tie, found by a vector min scan. */
static inline int32_t pack_key(uint32_t rank, uint32_t i) { return rank == NO_RANK ? KEY_NONE : (int32_t)(rank << 8 | i); }

/* One short stretch being merged: its scratch (key[0..len - 1) set by the caller, room for
 * len + 16 in each array) and m, the lowest key (KEY_NONE once done). */
typedef struct {
    const unsigned char *p;
    uint32_t len, padded;
    int32_t *key, m;
    uint32_t *id, *next, *prev;
} stretch;

static inline void stretch_init(stretch *t, const unsigned char *p, size_t len, int32_t *key, uint32_t *id,
                                uint32_t *next, uint32_t *prev) {
    *t = (stretch){p, (uint32_t)len, (uint32_t)((len + 7) & ~(size_t)7), key, 0, id, next, prev};
    for (size_t i = 0; i < len; i++) {
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)(i - 1); /* UINT32_MAX for the first */
    }
    for (size_t i = len - 1; i < t->padded; i++) key[i] = KEY_NONE;
    t->m = min_key(key, t->padded);
}

/* One merge: the part at the lowest key absorbs the next part. The next minimum is that of the
 * keys left alone, scanned while the two new pairs' table loads are in flight (the scan does not
 * wait for them), and of the two new keys. */
static inline __attribute__((always_inline)) void stretch_step(const rnnc_bpe *b, stretch *t) {
    int32_t *key = t->key;
    uint32_t *next = t->next, *prev = t->prev, len = t->len;
    const unsigned char *p = t->p;
    uint32_t i = (uint32_t)t->m & 255, j = next[i], nj = next[j];
    t->id[i] = (uint32_t)t->m >> 8;
    next[i] = nj;
    uint32_t pi = prev[i], ri = NO_RANK, rp = NO_RANK;
    if (nj < len) prev[nj] = i;
    key[i] = key[j] = KEY_NONE;
    if (pi != UINT32_MAX) key[pi] = KEY_NONE;
    pending qi = {0, 0}, qp = {0, 0};
    if (nj < len) qi = lookup_start(b, p + i, next[nj] - i);
    if (pi != UINT32_MAX) qp = lookup_start(b, p + pi, nj - pi);
    int32_t m = min_key(key, t->padded);
    if (nj < len) ri = lookup_finish(b, p + i, next[nj] - i, qi);
    if (pi != UINT32_MAX) rp = lookup_finish(b, p + pi, nj - pi, qp);
    int32_t ki = pack_key(ri, i);
    key[i] = ki;
    m = ki < m ? ki : m;
    if (pi != UINT32_MAX) {
        int32_t kp = pack_key(rp, pi);
        key[pi] = kp;
        m = kp < m ? kp : m;
    }
    t->m = m;
}

static void stretch_emit(const rnnc_bpe *b, const stretch *t, enc *s) {
    /* id[] is only written by merges: a part of one byte is that byte's token. */
    for (uint32_t i = 0; i < t->len; i = t->next[i]) emit(s, t->next[i] == i + 1 ? b->byte_rank[t->p[i]] : t->id[i]);
}

/* Two independent stretches merged in lockstep: each merge waits on its own table loads and
 * scan, so alternating two lets one's work fill the other's waits. */
static void stretch_run2(const rnnc_bpe *b, stretch *x, stretch *y) {
    while (x->m != KEY_NONE && y->m != KEY_NONE) {
        stretch_step(b, x);
        stretch_step(b, y);
    }
    while (x->m != KEY_NONE) stretch_step(b, x);
    while (y->m != KEY_NONE) stretch_step(b, y);
}

static void merge_short(const rnnc_bpe *b, const unsigned char *p, size_t len, enc *s) {
    if (!merge_reserve(s, len + 16)) return;
    int32_t *key = (int32_t *)s->c;
    for (size_t i = 0; i + 1 < len; i++) key[i] = pack_key(b->pair2[p[i] << 8 | p[i + 1]], (uint32_t)i);
    stretch t;
    stretch_init(&t, p, len, key, s->d, s->a, s->e);
    while (t.m != KEY_NONE) stretch_step(b, &t);
    stretch_emit(b, &t, s);
}


static int u32_push(uint32_t **h, uint32_t *n, uint32_t *cap, uint32_t v) {
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 16;
        uint32_t *nh = realloc(*h, (size_t)nc * sizeof *nh);
        if (!nh) return 0;
        *h = nh;
        *cap = nc;
    }
    uint32_t i = (*n)++, *a = *h;
    while (i > 0) {
        uint32_t up = (i - 1) / 2;
        if (a[up] <= v) break;
        a[i] = a[up];
        i = up;
    }
    a[i] = v;
    return 1;
}

static uint32_t u32_pop(uint32_t *a, uint32_t *n) {
    uint32_t top = a[0], v = a[--*n], i = 0, m = *n;
    for (;;) {
        uint32_t l = 2 * i + 1;
        if (l >= m) break;
        if (l + 1 < m && a[l + 1] < a[l]) l++;
        if (a[l] >= v) break;
        a[i] = a[l];
        i = l;
    }
    if (m) a[i] = v;
    return top;
}

static int pq_push(pqueue *q, uint32_t rank, uint32_t pos) {
    uint32_t bi = q->slot_of[rank];
    if (bi == NO_RANK) {
        if (q->nb == q->cap_b) {
            uint32_t nc = q->cap_b ? q->cap_b * 2 : 256;
            bucket *nbk = realloc(q->buckets, (size_t)nc * sizeof *nbk);
            uint32_t *nt = nbk ? realloc(q->touched, (size_t)nc * sizeof *nt) : NULL;
            if (nbk) q->buckets = nbk;
            if (!nt) return 0;
            q->touched = nt;
            for (uint32_t k = q->cap_b; k < nc; k++) q->buckets[k] = (bucket){NULL, 0, 0};
            q->cap_b = nc;
        }
        bi = q->nb++;
        q->slot_of[rank] = bi;
        q->touched[bi] = rank;
        q->buckets[bi].n = 0;
    }
    bucket *bk = &q->buckets[bi];
    if (bk->n == 0 && !u32_push(&q->ranks, &q->nr, &q->cap_r, rank)) return 0;
    return u32_push(&bk->h, &bk->n, &bk->cap, pos);
}

static void pq_reset(pqueue *q) {
    for (uint32_t k = 0; k < q->nb; k++) q->slot_of[q->touched[k]] = NO_RANK;
    q->nb = 0;
    q->nr = 0;
}

static void pq_free(pqueue *q) {
    for (uint32_t k = 0; k < q->cap_b; k++) free(q->buckets[k].h);
    free(q->buckets);
    free(q->ranks);
    free(q->touched);
    free(q->slot_of);
}

/* The same merges for a long piece in O(n log n): parts form a linked list over byte offsets, and
 * the queue holds (rank, offset) of every adjacent pair; an entry whose pair has since changed is
 * skipped when popped (a pair's rank names its bytes, so equal rank at a live offset means the
 * entry is current). Ties pop the lowest offset first, as tiktoken's leftmost scan. */
static void merge_long(const rnnc_bpe *b, const unsigned char *p, size_t len, enc *s) {
    if (!merge_reserve(s, len + 1)) return;
    pqueue *q = &s->pq;
    if (!q->slot_of) {
        q->slot_of = malloc(b->n_ranks * sizeof *q->slot_of);
        if (!q->slot_of) { s->nomem = 1; return; }
        memset(q->slot_of, 0xFF, b->n_ranks * sizeof *q->slot_of);
    }
    uint32_t *rank = s->c, *id = s->d, *next = s->e, *prev = s->e + s->merge_cap;
    for (size_t i = 0; i < len; i++) {
        id[i] = b->byte_rank[p[i]];
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)(i ? i - 1 : UINT32_MAX);
    }
    int ok = 1;
    for (size_t i = 0; i + 1 < len; i++) {
        rank[i] = b->pair2[p[i] << 8 | p[i + 1]];
        if (rank[i] != NO_RANK) ok &= pq_push(q, rank[i], (uint32_t)i);
    }
    rank[len - 1] = NO_RANK;
    while (q->nr && ok) {
        uint32_t r = q->ranks[0];
        bucket *bk = &q->buckets[q->slot_of[r]];
        uint32_t i = u32_pop(bk->h, &bk->n);
        if (bk->n == 0) u32_pop(q->ranks, &q->nr);
        if (rank[i] != r) continue; /* stale: the pair at i has changed (dead parts have NO_RANK) */
        uint32_t j = next[i];          /* i absorbs j */
        id[i] = r;
        uint32_t nj = next[j];
        next[i] = nj;
        if (nj < len) prev[nj] = i;
        rank[j] = NO_RANK;
        if (nj < len) {
            rank[i] = lookup(b, p + i, next[nj] - i);
            if (rank[i] != NO_RANK) ok &= pq_push(q, rank[i], i);
        } else {
            rank[i] = NO_RANK;
        }
        uint32_t pi = prev[i];
        if (pi != UINT32_MAX) {
            rank[pi] = lookup(b, p + pi, nj - pi);
            if (rank[pi] != NO_RANK) ok &= pq_push(q, rank[pi], pi);
        }
    }
    pq_reset(q);
    if (!ok) { s->nomem = 1; return; }
    for (size_t i = 0; i < len; i = next[i]) emit(s, id[i]);
}

static void encode_long(const rnnc_bpe *b, const unsigned char *p, size_t len, enc *s);

static inline void encode_piece(const rnnc_bpe *b, const unsigned char *p, size_t len, enc *s) {
    if (len == 1) { emit(s, b->byte_rank[p[0]]); return; }
    uint32_t r = lookup(b, p, len);
    if (r != NO_RANK) { emit(s, r); return; }
    if (len > SHORT_PIECE) encode_long(b, p, len, s); /* out of line: keeps this path small */
    else if (b->n_ranks < PACK_LIMIT) merge_short(b, p, len, s);
    else merge_long(b, p, len, s);
}

/* A piece longer than SHORT_PIECE that is no token. */
static __attribute__((noinline)) void encode_long(const rnnc_bpe *b, const unsigned char *p, size_t len, enc *s) {
    int packs = b->n_ranks < PACK_LIMIT; /* merge_short's keys hold the rank in 23 bits */
    /* A long piece (say 1 MB without whitespace) is cut between bytes x, y that occur side by side
     * inside no token: no merge can join the parts on either side (a token spanning them would
     * contain both), so the stretches between cuts merge independently with exactly the same
     * result; short ones with tiktoken's loop, whose keys this pass writes as it finds the cuts,
     * long ones with the queue. */
    enum { REGION = SHORT_PIECE + 16 }; /* short stretches go in pairs: scratch regions 0 and 1 */
    if (!merge_reserve(s, 2 * REGION)) return;
    if (s->cap - s->n < len / 2 + 16) { /* ids of random letters: about one per two bytes */
        size_t nc = s->n + len / 2 + 16;
        uint32_t *nd = realloc(s->ids, nc * sizeof *nd);
        if (nd) { s->ids = nd; s->cap = nc; }
    }
    stretch held;    /* a short stretch waiting for a second one (in region 0) */
    int holding = 0;
    int32_t *key = (int32_t *)s->c;
    size_t from = 0;
    for (size_t q = 1; q <= len; q++) {
        int32_t v = q < len ? b->pair_key[p[q - 1] << 8 | p[q]] : -1;
        size_t k = q - 1 - from;
        if (v >= 0) {
            if (k < SHORT_PIECE) key[k] = v | (int32_t)k;
            continue;
        }
        size_t n = q - from, r = (size_t)holding * REGION;
        if (n <= SHORT_PIECE && packs) {
            stretch t;
            stretch_init(&t, p + from, n, key, s->d + r, s->a + r, s->e + r);
            if (!holding) {
                held = t;
                holding = 1;
            } else {
                stretch_run2(b, &held, &t);
                stretch_emit(b, &held, s);
                stretch_emit(b, &t, s);
                holding = 0;
            }
        } else {
            if (holding) {
                while (held.m != KEY_NONE) stretch_step(b, &held);
                stretch_emit(b, &held, s);
                holding = 0;
            }
            merge_long(b, p + from, n, s);
        }
        if (s->nomem) return;
        key = (int32_t *)s->c + (size_t)holding * REGION; /* merge_long may have moved the scratch */
        from = q;
    }
    if (holding) {
        while (held.m != KEY_NONE) stretch_step(b, &held);
        stretch_emit(b, &held, s);
    }
}

/* The PCRE2 path's callback state. */
typedef struct { enc s; const rnnc_bpe *b; } enc_cb;

static int piece_cb(const unsigned char *piece, size_t len, void *ctx) {
    enc_cb *cb = ctx;
    encode_piece(cb->b, piece, len, &cb->s);
    return cb->s.nomem;
}

static rnnc_status encode_serial(const rnnc_bpe *b, const unsigned char *t, size_t n, enc *s) {
    if (b->fast >= 0) {
        const int kind = b->fast;
        for (size_t i = 0; i < n && !s->nomem;) {
            size_t e = rnnc_pretok_fast_next(kind, t, n, i);
            encode_piece(b, t + i, e - i, s);
            i = e;
        }
    } else {
        enc_cb cb = {*s, b};
        rnnc_status st = rnnc_pretok_split(b->pretok, t, n, piece_cb, &cb);
        *s = cb.s;
        if (st && st != RNNC_ERR_INTERRUPTED) return st;
    }
    return s->nomem ? rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory") : RNNC_OK;
}

static void enc_free(enc *s) {
    free(s->ids);
    free(s->a);
    free(s->c);
    free(s->d);
    free(s->e);
    pq_free(&s->pq);
}

/* A position where every built-in pattern ends a piece, whatever comes before or after: an ASCII
 * letter, then a space, then an ASCII letter. No alternative of r50k, cl100k or o200k can match
 * across " " between letters (a letter run stops at the space, a space-prefixed run starts at it,
 * contractions start with '), and nothing before it looks past it, so both halves split alone
 * into exactly the pieces they get in the whole text. */
static inline int is_alpha(unsigned char c) { return (unsigned char)((c | 0x20) - 'a') < 26; }
static size_t safe_split(const unsigned char *t, size_t n, size_t from) {
    for (size_t i = from ? from : 1; i + 1 < n; i++)
        if (t[i] == ' ' && is_alpha(t[i - 1]) && is_alpha(t[i + 1])) return i;
    return n;
}

/* The same positions in text given as code units (rnnc_bpe_encode_units): ASCII letters and the
 * space are the same code points in every form. */
static inline uint32_t unit_at(const void *u, int unit, size_t i) {
    return unit == 1 ? ((const uint8_t *)u)[i] : unit == 2 ? ((const uint16_t *)u)[i] : ((const uint32_t *)u)[i];
}
static inline int is_alpha_cp(uint32_t c) { return c < 0x80 && is_alpha((unsigned char)c); }
static size_t safe_split_units(const void *u, int unit, size_t n, size_t from) {
    for (size_t i = from ? from : 1; i + 1 < n; i++)
        if (unit_at(u, unit, i) == ' ' && is_alpha_cp(unit_at(u, unit, i - 1)) && is_alpha_cp(unit_at(u, unit, i + 1)))
            return i;
    return n;
}

static rnnc_status bad_unit_error(const void *u, int unit, size_t at) {
    return rnnc_error(RNNC_ERR_ARG, "text: code unit %zu (U+%04X) has no UTF-8 form", at, (unsigned)unit_at(u, unit, at));
}

#define UNITS_CHUNK (1u << 18) /* code units a parallel chunk of unit text at most: its UTF-8 stays in L2 */

/* Ordinary text (no special tokens): in parallel chunks when it is big and the pattern built in.
 * The text is t[0..n) (unit 0), or n code units at u (unit 1, 2, 4): then each chunk is made UTF-8
 * on its thread, into that thread's buffer, just before it is encoded. */
static rnnc_status encode_ordinary_src(const rnnc_bpe *b, const unsigned char *t, const void *u, int unit, size_t n,
                                       rnnc_ids *out) {
    int threads = omp_get_max_threads();
    if (b->fast >= 0 && threads > 1 && n >= PARALLEL_MIN && !omp_in_parallel()) {
        size_t want = (size_t)threads * 4;
        if (n / want < CHUNK_TARGET) want = n / CHUNK_TARGET;
        if (unit && n / want > UNITS_CHUNK) want = n / UNITS_CHUNK + 1;
        if (want < 2) want = 2;
        size_t *cut = malloc((want + 1) * sizeof *cut);
        size_t *got = calloc(want, sizeof *got);
        int *bad = calloc(want, sizeof *bad);
        if (!cut || !got || !bad) { free(cut); free(got); free(bad); return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory"); }
        size_t nc = 0;
        cut[0] = 0;
        for (size_t k = 1; k < want; k++) {
            size_t at = unit ? safe_split_units(u, unit, n, n / want * k) : safe_split(t, n, n / want * k);
            if (at > cut[nc] && at < n) cut[++nc] = at;
        }
        cut[++nc] = n;
        if (nc == 1) { /* no safe split point (e.g. text without spaces): one thread */
            free(cut);
            free(got);
            free(bad);
            goto serial;
        }
        size_t big = 0; /* the longest chunk, for the per-thread UTF-8 buffers */
        for (size_t k = 0; k < nc; k++) big = cut[k + 1] - cut[k] > big ? cut[k + 1] - cut[k] : big;
        unsigned char **tbuf = unit ? calloc((size_t)threads, sizeof *tbuf) : NULL;
        size_t bad_unit = SIZE_MAX;
        if (unit && !tbuf) { free(cut); free(got); free(bad); return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory"); }
        /* Chunk k writes its ids straight into its region of out: chunk_bytes / 3 + 16 ids, more
         * than ordinary text needs (cl100k: 0.2 ids a byte), which a chunk that needs more leaves
         * for a buffer of its own. The regions are then moved together in order. No per-chunk
         * buffers and no copy for ordinary text; the pages touched are about the ids' own, on
         * 2 MiB pages (bigmem.h). */
        size_t base = out->len, need = base;
        for (size_t k = 0; k < nc; k++) { got[k] = need; need += (cut[k + 1] - cut[k]) / 3 + 16; } /* got: region start, for now */
        if (out->cap < need) {
            uint32_t *nd = rnnc_big_alloc(need * sizeof *nd);
            if (!nd) { free(cut); free(got); free(bad); return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory"); }
            if (base) memcpy(nd, out->data, base * sizeof *nd);
            free(out->data);
            out->data = nd;
            out->cap = need;
        }
        uint32_t **own = calloc(nc, sizeof *own); /* a chunk's ids when they outgrew its region */
        size_t *start = malloc(nc * sizeof *start);
        if (!own || !start) {
            free(own); free(start); free(cut); free(got); free(bad);
            return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
        }
        memcpy(start, got, nc * sizeof *start);
        #pragma omp parallel for schedule(dynamic, 1)
        for (size_t k = 0; k < nc; k++) {
            const unsigned char *ct = unit ? NULL : t + cut[k]; /* (t is NULL for unit text) */
            size_t cn = cut[k + 1] - cut[k];
            if (unit) {
                unsigned char **mine = &tbuf[omp_get_thread_num()];
                if (!*mine) *mine = malloc(rnnc_units_utf8_max(big, unit));
                size_t at = 0;
                if (!*mine) { bad[k] = 1; continue; }
                cn = rnnc_units_to_utf8((const char *)u + cut[k] * (size_t)unit, cn, unit, *mine, &at);
                if (cn == SIZE_MAX) {
                    bad[k] = 2;
                    #pragma omp critical(rnnc_bpe_bad_unit)
                    if (cut[k] + at < bad_unit) bad_unit = cut[k] + at;
                    continue;
                }
                ct = *mine;
            }
            enc s = {0};
            s.ids = out->data + start[k];
            s.cap = (cut[k + 1] - cut[k]) / 3 + 16;
            s.borrowed = 1;
            encode_serial(b, ct, cn, &s);
            got[k] = s.n;
            bad[k] = s.nomem;
            if (!s.borrowed) own[k] = s.ids;
            s.ids = NULL;
            enc_free(&s);
        }
        for (int q = 0; unit && q < threads; q++) free(tbuf[q]);
        free(tbuf);
        rnnc_status st = RNNC_OK;
        int spilled = 0;
        if (bad_unit != SIZE_MAX)
            st = bad_unit_error(u, unit, bad_unit);
        for (size_t k = 0; k < nc; k++) {
            if (bad[k] && !st) st = rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
            spilled |= own[k] != NULL;
        }
        size_t total = base;
        for (size_t k = 0; k < nc; k++) total += got[k];
        uint32_t *dst = out->data;
        if (!st && spilled && total > out->cap) { /* rare: text with many ids a byte */
            dst = rnnc_big_alloc(total * sizeof *dst);
            if (!dst) st = rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
            else if (base) memcpy(dst, out->data, base * sizeof *dst);
        }
        if (!st && spilled && dst == out->data) {
            /* In place, a spilled chunk's ids may reach into later regions: move those first. */
            for (size_t k = 0; k < nc && !st; k++)
                if (!own[k] && got[k]) {
                    own[k] = malloc(got[k] * sizeof **own);
                    if (!own[k]) st = rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
                    else memcpy(own[k], out->data + start[k], got[k] * sizeof **own);
                }
        }
        size_t at = base;
        for (size_t k = 0; k < nc && !st; k++) {
            const uint32_t *src = own[k] ? own[k] : out->data + start[k];
            if (got[k] && (dst != out->data || at != start[k])) memmove(dst + at, src, got[k] * sizeof *dst);
            at += got[k];
        }
        if (!st) {
            if (dst != out->data) { free(out->data); out->data = dst; out->cap = total; }
            out->len = at;
        } else if (dst != out->data) free(dst);
        for (size_t k = 0; k < nc; k++) free(own[k]);
        free(own);
        free(start);
        free(cut);
        free(got);
        free(bad);
        return st;
    }
serial:;
    unsigned char *whole = NULL;
    if (unit) { /* one thread: the whole text made UTF-8 first */
        size_t at = 0;
        whole = malloc(rnnc_units_utf8_max(n, unit) + 1);
        if (!whole) return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
        n = rnnc_units_to_utf8(u, n, unit, whole, &at);
        if (n == SIZE_MAX) {
            free(whole);
            return bad_unit_error(u, unit, at);
        }
        t = whole;
    }
    enc s = {0};
    s.ids = out->data;
    s.n = out->len;
    s.cap = out->cap;
    if (s.cap < s.n + n / 4 + 16) {
        size_t nc = s.n + n / 4 + 16;
        uint32_t *nd = realloc(s.ids, nc * sizeof *nd);
        if (nd) { s.ids = nd; s.cap = nc; }
    }
    rnnc_status st = encode_serial(b, t, n, &s);
    out->data = s.ids;
    out->len = s.n;
    out->cap = s.cap;
    s.ids = NULL;
    enc_free(&s);
    free(whole);
    return st;
}

static rnnc_status encode_ordinary(const rnnc_bpe *b, const unsigned char *t, size_t n, rnnc_ids *out) {
    return encode_ordinary_src(b, t, NULL, 0, n, out);
}

/* First occurrence of needle in t[from..n), or n. */
static size_t find(const unsigned char *t, size_t n, size_t from, const char *needle, size_t nl) {
    while (from + nl <= n) {
        const unsigned char *hit = memchr(t + from, (unsigned char)needle[0], n - from - nl + 1);
        if (!hit) break;
        size_t at = (size_t)(hit - t);
        if (memcmp(hit, needle, nl) == 0) return at;
        from = at + 1;
    }
    return n;
}

/* The earliest special token at or after `from` (the longest on a tie), or n. cache[k] holds the
 * next occurrence of special k found so far (SIZE_MAX: not searched). */
static size_t next_special(const rnnc_bpe *b, const unsigned char *t, size_t n, size_t from, size_t *which,
                           size_t *cache) {
    size_t best = n;
    for (size_t k = 0; k < b->n_specials; k++) {
        if (cache[k] == SIZE_MAX || cache[k] < from) cache[k] = find(t, n, from, b->special_text[k], b->special_len[k]);
        if (cache[k] < best || (cache[k] == best && best < n && b->special_len[k] > b->special_len[*which])) {
            best = cache[k];
            *which = k;
        }
    }
    return best;
}

rnnc_status rnnc_bpe_encode(const rnnc_bpe *b, const unsigned char *text, size_t len, bool allow_special, rnnc_ids *out) {
    if (len > UINT32_MAX - 1) return rnnc_error(RNNC_ERR_ARG, "bpe encode: input of %zu bytes is over 4 GiB", len);
    if (!allow_special || b->n_specials == 0) return encode_ordinary(b, text, len, out);
    size_t *cache = malloc(b->n_specials * sizeof *cache);
    if (!cache) return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
    for (size_t k = 0; k < b->n_specials; k++) cache[k] = SIZE_MAX;
    rnnc_status st = RNNC_OK;
    for (size_t pos = 0;;) {
        size_t which = 0;
        size_t at = next_special(b, text, len, pos, &which, cache);
        st = encode_ordinary(b, text + pos, at - pos, out);
        if (st || at >= len) break;
        st = rnnc_ids_push(out, b->special_id[which]);
        if (st) break;
        pos = at + b->special_len[which];
    }
    free(cache);
    return st;
}

rnnc_status rnnc_bpe_encode_units(const rnnc_bpe *b, const void *units, size_t n, int unit, bool allow_special,
                                  rnnc_ids *out) {
    if (unit != 1 && unit != 2 && unit != 4) return rnnc_error(RNNC_ERR_ARG, "bpe encode: code units of %d bytes", unit);
    if (n > (UINT32_MAX - 1) / 4) return rnnc_error(RNNC_ERR_ARG, "bpe encode: input of %zu code units is over 1 Gi", n);
    if (!allow_special || b->n_specials == 0) return encode_ordinary_src(b, NULL, units, unit, n, out);
    /* special tokens: made UTF-8 whole, then as any text */
    unsigned char *t = malloc(rnnc_units_utf8_max(n, unit) + 1);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "bpe encode: out of memory");
    size_t at = 0, len = rnnc_units_to_utf8(units, n, unit, t, &at);
    rnnc_status st = len == SIZE_MAX ? bad_unit_error(units, unit, at) : rnnc_bpe_encode(b, t, len, true, out);
    free(t);
    return st;
}

/* ---- decoding ---- */

rnnc_status rnnc_bpe_decode(const rnnc_bpe *b, const uint32_t *ids, size_t n, rnnc_bytes *out) {
    /* the exact size first (a special token may be of any length), then copies into it */
    size_t need = out->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id < b->n_ranks && b->tok_off[id] != UINT64_MAX) {
            need += b->tok_len[id];
            continue;
        }
        rnnc_token_bytes t = rnnc_bpe_token(b, id);
        if (!t.data) {
            if (out->data && out->cap > out->len) out->data[out->len] = 0;
            return rnnc_error(RNNC_ERR_RANGE, "decode: id %u at position %zu is not in the vocabulary (%zu ids)", id, i,
                              b->n_vocab);
        }
        need += t.len;
    }
    rnnc_status st = rnnc_bytes_reserve(out, need + 1);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        const unsigned char *src;
        size_t len;
        if (id < b->n_ranks && b->tok_off[id] != UINT64_MAX) {
            src = b->arena + b->tok_off[id];
            len = b->tok_len[id];
        } else {
            rnnc_token_bytes t = rnnc_bpe_token(b, id);
            src = t.data;
            len = t.len;
        }
        memcpy(out->data + out->len, src, len);
        out->len += len;
    }
    out->data[out->len] = 0;
    return RNNC_OK;
}
