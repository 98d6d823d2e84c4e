/* rnnc — the BPE token table: its layout, hashing and lookups, shared by the encoder (bpe.c) and
 * the binary cache of loaded rank files (bpe_cache.c). Private to src/tokenize. */
#ifndef RNNC_BPE_TABLE_H
#define RNNC_BPE_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rnnc/bpe.h"
#include "rnnc/pretok.h"

#define NO_RANK UINT32_MAX
#define HOT_RANKS 8192
#define TINY_LEN 5                /* tokens this short live in 8-byte slots */
#define TINY_ID_BITS 21
#define PACK_LIMIT ((1u << 23) - 1) /* vocabularies with more ranks merge every piece with the queue */
#define KEY_NONE INT32_MAX          /* merge_short's key of a pair that is no token */

typedef struct {
    uint64_t key8; /* the first min(8, len) bytes, zero-padded */
    uint32_t len;
    uint32_t id;   /* NO_RANK: empty slot */
} slot;

struct rnnc_bpe {
    size_t n_ranks;          /* one past the largest rank */
    size_t n_tokens;         /* ranks that are used */
    uint64_t *tok_off;       /* per rank: offset into arena, or UINT64_MAX for a gap */
    uint32_t *tok_len;
    unsigned char *arena;
    slot *slots;             /* tokens of rank >= HOT_RANKS */
    size_t mask;             /* slots - 1 (power of two) */
    slot *hot;               /* longer tokens of rank < HOT_RANKS: the frequent ones (BPE ranks */
    size_t hot_mask;         /* follow merge order), in a table small enough to stay in L2 */
    uint64_t *tiny;          /* tokens of <= TINY_LEN bytes: bytes (40 bits), length (3), rank */
    size_t tiny_mask;        /* (21) in one word, so the table is a quarter of the 16-byte one */
    int tiny_all;            /* every token of <= TINY_LEN bytes is in `tiny` (ranks fit) */
    uint64_t *filter;        /* one bit per hash (high bits): clear = certainly no token. It is */
    unsigned filter_shift;   /* small enough to stay in L2, and most failed merge lookups stop here */
    uint32_t byte_rank[256];
    uint32_t *pair2;         /* rank of each two-byte string (b0 << 8 | b1), or NO_RANK */
    uint64_t inner[1024];    /* bit b0 << 8 | b1: the two bytes occur side by side inside some token */
    int32_t *pair_key;       /* per byte pair, for cutting long pieces: -1 if inside no token (a cut), */
                             /* else merge_short's key at offset 0: rank << 8 of a two-byte token, */
                             /* or KEY_NONE (also for every pair when the ranks do not pack) */
    size_t n_specials;
    char **special_text;
    size_t *special_len;
    uint32_t *special_id;
    size_t *special_order;   /* indices of the specials in id order, for lookups by id */
    size_t n_vocab;
    char *pattern;
    rnnc_pretok *pretok;
    int fast;                /* pretok_fast kind, or -1 */
    void *cache_buf;         /* loaded from a cache (bpe_cache.c): tok_len, arena, slots, hot, tiny and */
                             /* filter point into this one block, freed with it */
};

/* rnnc_bpe_check_specials with "is rank id a token" asked of has_token (ids below n_tokens only). */
rnnc_status rnnc_bpe_check_specials_by(size_t n_tokens, int (*has_token)(const void *ctx, size_t id), const void *ctx,
                                       const rnnc_special_token *specials, size_t n_specials);
/* The second half of construction, once the tables hold the tokens (byte_rank, tiny_all and
 * n_ranks set; tok_off, tok_len, arena, slots, hot, tiny and filter filled): the pair tables, the
 * specials (already checked) and the pre-tokenizer. On failure b is freed. */
rnnc_status rnnc_bpe_finish(rnnc_bpe *b, rnnc_bpe **out, const char *pattern, const rnnc_special_token *specials,
                            size_t n_specials);

/* ---- hashing byte strings ---- */

static inline uint64_t load64(const unsigned char *p) { uint64_t x; memcpy(&x, p, 8); return x; }
static inline uint32_t load32(const unsigned char *p) { uint32_t x; memcpy(&x, p, 4); return x; }

/* The first min(len, 8) bytes as a little-endian integer, without reading past p + len. */
static inline uint64_t key8_of(const unsigned char *p, size_t len) {
    if (len >= 8) return load64(p);
    if (len >= 4) return (uint64_t)load32(p) | ((uint64_t)load32(p + len - 4) << ((len - 4) * 8));
    if (len == 0) return 0;
    return (uint64_t)p[0] | ((uint64_t)p[len / 2] << (len / 2 * 8)) | ((uint64_t)p[len - 1] << ((len - 1) * 8));
}

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

static inline uint64_t hash_bytes(const unsigned char *p, size_t len, uint64_t key8) {
    uint64_t h = (key8 ^ (uint64_t)len * 0x9E3779B97F4A7C15ULL) * 0xbf58476d1ce4e5b9ULL;
    if (len > 8) {
        size_t i = 8;
        for (; i + 8 <= len; i += 8) h = (h ^ load64(p + i)) * 0x94d049bb133111ebULL;
        if (i < len) h = (h ^ load64(p + len - 8)) * 0x94d049bb133111ebULL; /* overlapping tail */
    }
    return mix(h);
}

static inline uint64_t tiny_key(uint64_t key8, size_t len) { return (key8 & ((1ULL << 40) - 1)) | (uint64_t)len << 40; }

/* Probes the tables for p[0..len) with its key8 and hash (the filter already passed). */
static inline uint32_t probe(const rnnc_bpe *b, const unsigned char *p, size_t len, uint64_t k, uint64_t h) {
    size_t i;
    if (len <= TINY_LEN) {
        uint64_t want = tiny_key(k, len);
        for (i = (size_t)h & b->tiny_mask;; i = (i + 1) & b->tiny_mask) {
            uint64_t e = b->tiny[i];
            if (e == 0) break;
            if ((e & ((1ULL << 43) - 1)) == want) return (uint32_t)(e >> 43);
        }
        if (b->tiny_all) return NO_RANK;
    } else {
        for (i = (size_t)h & b->hot_mask;; i = (i + 1) & b->hot_mask) {
            const slot *s = &b->hot[i];
            if (s->id == NO_RANK) break;
            if (s->key8 == k && s->len == len &&
                (len <= 8 || memcmp(b->arena + b->tok_off[s->id] + 8, p + 8, len - 8) == 0))
                return s->id;
        }
    }
    for (i = (size_t)h & b->mask;; i = (i + 1) & b->mask) {
        const slot *s = &b->slots[i];
        if (s->id == NO_RANK) return NO_RANK;
        if (s->key8 == k && s->len == len &&
            (len <= 8 || memcmp(b->arena + b->tok_off[s->id] + 8, p + 8, len - 8) == 0))
            return s->id;
    }
}

/* Two bits per token in one 64-bit word of the filter (a blocked Bloom filter): the word from the
 * hash's top bits, the two bit positions from the next twelve. About 2% of absent strings pass. */
static inline uint64_t filter_bits(uint64_t h) { return 1ULL << ((h >> 20) & 63) | 1ULL << ((h >> 26) & 63); }

static inline int filter_has(const rnnc_bpe *b, uint64_t h) {
    uint64_t bits = filter_bits(h);
    return (b->filter[h >> b->filter_shift] & bits) == bits;
}

/* The rank of the token with bytes p[0..len), or NO_RANK. */
static inline uint32_t lookup(const rnnc_bpe *b, const unsigned char *p, size_t len) {
    uint64_t k = key8_of(p, len);
    uint64_t h = hash_bytes(p, len, k);
    if (!filter_has(b, h)) return NO_RANK;
    return probe(b, p, len, k, h);
}

/* A lookup in two halves, so that other work can run while its loads are in flight: start hashes
 * the bytes and prefetches the filter word and the first table slot; finish tests and probes. */
typedef struct { uint64_t k, h; } pending;

static inline pending lookup_start(const rnnc_bpe *b, const unsigned char *p, size_t len) {
    pending q;
    q.k = key8_of(p, len);
    q.h = hash_bytes(p, len, q.k);
    __builtin_prefetch(&b->filter[q.h >> b->filter_shift]);
    __builtin_prefetch(len <= TINY_LEN ? (const void *)&b->tiny[q.h & b->tiny_mask] : (const void *)&b->hot[q.h & b->hot_mask]);
    return q;
}

static inline uint32_t lookup_finish(const rnnc_bpe *b, const unsigned char *p, size_t len, pending q) {
    return filter_has(b, q.h) ? probe(b, p, len, q.k, q.h) : NO_RANK;
}

#endif
