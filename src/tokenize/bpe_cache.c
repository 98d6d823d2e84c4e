/* The binary cache of a loaded rank file; see bpe_cache.h and docs/FORMATS.md ("BPE table cache").
 *
 * Image layout (native byte order; the header says which, and a reader on another layout rejects
 * it): a header of 16 u64 words, then the tables of struct rnnc_bpe as they lie in memory, each
 * section starting on a 64-byte boundary:
 *   tok_len  u32 x n_ranks      (0 = no token at that rank; the offsets are their prefix sums)
 *   arena    arena_len + 8 bytes (the tokens in rank order, then 8 zero bytes)
 *   slots    16 bytes x cap      hot  16 bytes x cap_hot
 *   tiny     8 bytes x cap_tiny  filter  8 bytes x fwords
 * The table sizes are not free: they must be what construction would choose for these tokens. */
#include "tokenize/bpe_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bigmem.h"
#include "rnnc/io.h"
#include "tokenize/bpe_table.h"

enum {
    H_MAGIC, H_VERSION, H_ENDIAN, H_PARAMS,
    H_SRC_SIZE, H_SRC_MTIME_S, H_SRC_MTIME_NS, H_SRC_HASH,
    H_N_RANKS, H_ARENA_LEN, H_CAP, H_CAP_HOT, H_CAP_TINY, H_FWORDS, H_TOTAL,
    H_CHECKSUM, /* last: the checksum covers everything else */
    H_WORDS
};

#define HEADER_BYTES (H_WORDS * 8)
static const char MAGIC[8] = {'R', 'N', 'N', 'C', 'B', 'P', 'E', 'c'};
#define CACHE_VERSION 1
#define ENDIAN_MARK 0x0102030405060708ULL
/* The construction constants the tables depend on: another build with other constants (or another
 * hash, which bumps CACHE_VERSION) rejects the image. */
#define PARAMS ((uint64_t)HOT_RANKS | (uint64_t)TINY_LEN << 24 | (uint64_t)TINY_ID_BITS << 32 | (uint64_t)sizeof(slot) << 40)
#define CHECKSUM_SEED 0x63686b73756d3031ULL

static inline uint64_t rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

uint64_t rnnc_bpe_hash64(const void *data, size_t n, uint64_t seed) {
    const unsigned char *p = data;
    const uint64_t M = 0x9E3779B97F4A7C15ULL;
    /* Four independent lanes of (lane ^ word) * M, rotated: each step is a bijection of the lane for
     * a given word, so one changed word changes the result; the lanes keep the multiplier busy. */
    uint64_t a = seed ^ 0x243F6A8885A308D3ULL, b = seed ^ 0x13198A2E03707344ULL;
    uint64_t c = seed ^ 0xA4093822299F31D0ULL, d = seed ^ 0x082EFA98EC4E6C89ULL;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = rotl64((a ^ load64(p + i)) * M, 29);
        b = rotl64((b ^ load64(p + i + 8)) * M, 29);
        c = rotl64((c ^ load64(p + i + 16)) * M, 29);
        d = rotl64((d ^ load64(p + i + 24)) * M, 29);
    }
    uint64_t h = rotl64(a, 1) ^ rotl64(b, 17) ^ rotl64(c, 33) ^ rotl64(d, 49) ^ (uint64_t)n * M;
    for (; i + 8 <= n; i += 8) h = rotl64((h ^ load64(p + i)) * M, 29);
    if (i < n) {
        uint64_t t = 0;
        memcpy(&t, p + i, n - i);
        h = rotl64((h ^ t) * M, 29);
    }
    return mix(mix(h) + seed);
}

int rnnc_bpe_cache_mode(void) {
    const char *e = getenv("RNNC_BPE_CACHE");
    if (e && strcmp(e, "0") == 0) return 0;
    if (e && strcmp(e, "1") == 0) return 1;
    return 2;
}

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

/* Table sizes as construction chooses them for these counts (rnnc_bpe_create). */
typedef struct { size_t cap, cap_hot, cap_tiny, fwords; unsigned flog; } sizes;

static sizes sizes_for(size_t used, size_t used_hot, size_t used_tiny) {
    sizes z = {1024, 64, 64, 1024, 10};
    size_t used_cold = used - used_hot - used_tiny;
    while (z.cap < used_cold * 2 + used_cold / 2) z.cap *= 2;
    while (z.cap_hot < used_hot * 2 + used_hot / 2) z.cap_hot *= 2;
    while (z.cap_tiny * 3 < used_tiny * 4) z.cap_tiny *= 2;
    while (z.fwords * 64 < used * 16) { z.fwords *= 2; z.flog++; }
    return z;
}

/* Section offsets; false when they would pass `limit` (so nothing below can wrap). */
typedef struct { size_t tok_len, arena, slots, hot, tiny, filter, total; } layout;

static int layout_for(layout *l, size_t n_ranks, size_t arena_len, const sizes *z, size_t limit) {
    if (n_ranks > limit / 4 || arena_len > limit || z->cap > limit / 16 || z->cap_hot > limit / 16 ||
        z->cap_tiny > limit / 8 || z->fwords > limit / 8)
        return 0;
    l->tok_len = HEADER_BYTES;
    l->arena = align64(l->tok_len + 4 * n_ranks);
    l->slots = align64(l->arena + arena_len + 8);
    l->hot = align64(l->slots + 16 * z->cap);
    l->tiny = align64(l->hot + 16 * z->cap_hot);
    l->filter = align64(l->tiny + 8 * z->cap_tiny);
    l->total = l->filter + 8 * z->fwords;
    return l->total <= limit;
}

static uint64_t checksum(const unsigned char *img, size_t len) {
    uint64_t h = rnnc_bpe_hash64(img, 8 * H_CHECKSUM, CHECKSUM_SEED);
    return rnnc_bpe_hash64(img + HEADER_BYTES, len - HEADER_BYTES, h);
}

static uint64_t word(const unsigned char *img, int k) { return load64(img + 8 * k); }
static void set_word(unsigned char *img, int k, uint64_t v) { memcpy(img + 8 * k, &v, 8); }

void rnnc_bpe_cache_seal(unsigned char *img, size_t len, const rnnc_bpe_source *src) {
    if (len < HEADER_BYTES) return;
    set_word(img, H_SRC_SIZE, src->size);
    set_word(img, H_SRC_MTIME_S, (uint64_t)src->mtime_s);
    set_word(img, H_SRC_MTIME_NS, (uint64_t)src->mtime_ns);
    set_word(img, H_SRC_HASH, src->hash);
    set_word(img, H_CHECKSUM, checksum(img, len));
}

rnnc_status rnnc_bpe_cache_image(const rnnc_bpe *b, const rnnc_bpe_source *src, unsigned char **img, size_t *len) {
    *img = NULL;
    *len = 0;
    size_t arena_len = 0;
    for (size_t r = 0; r < b->n_ranks; r++) arena_len += b->tok_len[r];
    sizes z = {b->mask + 1, b->hot_mask + 1, b->tiny_mask + 1, (size_t)1 << (64 - b->filter_shift), 64 - b->filter_shift};
    layout l;
    if (!layout_for(&l, b->n_ranks, arena_len, &z, SIZE_MAX / 2))
        return rnnc_error(RNNC_ERR_ARG, "bpe cache: tables too large");
    unsigned char *p = calloc(1, l.total);
    if (!p) return rnnc_error(RNNC_ERR_NOMEM, "bpe cache: out of memory");
    memcpy(p + 8 * H_MAGIC, MAGIC, 8);
    set_word(p, H_VERSION, CACHE_VERSION);
    set_word(p, H_ENDIAN, ENDIAN_MARK);
    set_word(p, H_PARAMS, PARAMS);
    set_word(p, H_N_RANKS, b->n_ranks);
    set_word(p, H_ARENA_LEN, arena_len);
    set_word(p, H_CAP, z.cap);
    set_word(p, H_CAP_HOT, z.cap_hot);
    set_word(p, H_CAP_TINY, z.cap_tiny);
    set_word(p, H_FWORDS, z.fwords);
    set_word(p, H_TOTAL, l.total);
    memcpy(p + l.tok_len, b->tok_len, 4 * b->n_ranks);
    /* Token by token: the arena is in rank order, but copying each token keeps the image exactly
     * the prefix-sum layout the reader assumes. */
    size_t off = 0;
    for (size_t r = 0; r < b->n_ranks; r++)
        if (b->tok_len[r]) {
            memcpy(p + l.arena + off, b->arena + b->tok_off[r], b->tok_len[r]);
            off += b->tok_len[r];
        }
    /* Entries only: an empty slot's other fields are never read (and never set), so they are
     * written as zeros, which keeps the image a function of the tokens. */
    slot *ps = (slot *)(void *)(p + l.slots), *ph = (slot *)(void *)(p + l.hot);
    for (size_t i = 0; i < z.cap; i++) ps[i] = b->slots[i].id == NO_RANK ? (slot){0, 0, NO_RANK} : b->slots[i];
    for (size_t i = 0; i < z.cap_hot; i++) ph[i] = b->hot[i].id == NO_RANK ? (slot){0, 0, NO_RANK} : b->hot[i];
    memcpy(p + l.tiny, b->tiny, 8 * z.cap_tiny);
    memcpy(p + l.filter, b->filter, 8 * z.fwords);
    rnnc_bpe_cache_seal(p, l.total, src);
    *img = p;
    *len = l.total;
    return RNNC_OK;
}

static rnnc_status bad(rnnc_bpe *b, void *img, const char *what) {
    if (b) rnnc_bpe_free(b); /* owns img */
    else free(img);
    return rnnc_error(RNNC_ERR_FORMAT, "bpe cache: %s", what);
}

rnnc_status rnnc_bpe_cache_tables(rnnc_bpe **out, void *img_v, size_t len, const rnnc_bpe_source *src) {
    unsigned char *img = img_v;
    *out = NULL;
    if (len < HEADER_BYTES || memcmp(img, MAGIC, 8) != 0) return bad(NULL, img, "not a cache image");
    if (word(img, H_VERSION) != CACHE_VERSION || word(img, H_ENDIAN) != ENDIAN_MARK || word(img, H_PARAMS) != PARAMS)
        return bad(NULL, img, "made by another version or machine");
    if (word(img, H_TOTAL) != len) return bad(NULL, img, "truncated or extended");
    if (word(img, H_CHECKSUM) != checksum(img, len)) return bad(NULL, img, "checksum mismatch");
    if (word(img, H_SRC_SIZE) != src->size || word(img, H_SRC_MTIME_S) != (uint64_t)src->mtime_s ||
        word(img, H_SRC_MTIME_NS) != (uint64_t)src->mtime_ns || word(img, H_SRC_HASH) != src->hash)
        return bad(NULL, img, "stale (the rank file changed)");
    uint64_t n_ranks = word(img, H_N_RANKS), arena_len = word(img, H_ARENA_LEN);
    if (n_ranks < 256 || n_ranks > RNNC_BPE_MAX_VOCAB || n_ranks > (len - HEADER_BYTES) / 4)
        return bad(NULL, img, "rank count out of range");
    rnnc_bpe *b = calloc(1, sizeof *b);
    if (!b) { free(img); return rnnc_error(RNNC_ERR_NOMEM, "bpe cache: out of memory"); }
    b->cache_buf = img;
    b->n_ranks = (size_t)n_ranks;
    b->tok_len = (uint32_t *)(void *)(img + HEADER_BYTES);
    b->tok_off = rnnc_big_alloc(b->n_ranks * sizeof *b->tok_off);
    if (!b->tok_off) { rnnc_bpe_free(b); return rnnc_error(RNNC_ERR_NOMEM, "bpe cache: out of memory"); }
    /* The offsets are the prefix sums of the lengths; count what construction would size from. */
    size_t off = 0, used = 0, used_hot = 0, used_tiny = 0;
    b->tiny_all = 1;
    for (size_t r = 0; r < b->n_ranks; r++) {
        size_t n = b->tok_len[r];
        if (!n) { b->tok_off[r] = UINT64_MAX; continue; }
        if (n > len) return bad(b, NULL, "token length out of range");
        b->tok_off[r] = off;
        off += n; /* n <= len and off <= arena_len checks keep this from wrapping */
        if (off > len) return bad(b, NULL, "tokens longer than the image");
        int tiny = n <= TINY_LEN && r < (1u << TINY_ID_BITS);
        used_tiny += tiny;
        used_hot += !tiny && r < HOT_RANKS;
        if (n <= TINY_LEN && !tiny) b->tiny_all = 0;
        used++;
    }
    if (off != arena_len) return bad(b, NULL, "arena length does not match the tokens");
    sizes z = sizes_for(used, used_hot, used_tiny);
    layout l;
    if (word(img, H_CAP) != z.cap || word(img, H_CAP_HOT) != z.cap_hot || word(img, H_CAP_TINY) != z.cap_tiny ||
        word(img, H_FWORDS) != z.fwords)
        return bad(b, NULL, "table sizes do not match the tokens");
    if (!layout_for(&l, b->n_ranks, (size_t)arena_len, &z, len) || l.total != len)
        return bad(b, NULL, "section sizes do not add up to the image");
    b->n_tokens = used;
    b->arena = img + l.arena;
    b->slots = (slot *)(void *)(img + l.slots);
    b->mask = z.cap - 1;
    b->hot = (slot *)(void *)(img + l.hot);
    b->hot_mask = z.cap_hot - 1;
    b->tiny = (uint64_t *)(void *)(img + l.tiny);
    b->tiny_mask = z.cap_tiny - 1;
    b->filter = (uint64_t *)(void *)(img + l.filter);
    b->filter_shift = 64 - z.flog;
    /* Every table entry must point at a token of its length (probe reads the token's bytes from
     * the arena by the entry's id), and the entries must be exactly as many as the tokens. */
    size_t entries = 0, n_tiny = 0;
    for (size_t i = 0; i < z.cap_tiny; i++)
        if (b->tiny[i]) {
            uint64_t r = b->tiny[i] >> 43, n = b->tiny[i] >> 40 & 7;
            if (r >= b->n_ranks || b->tok_len[r] != n) return bad(b, NULL, "a short-token entry names no such token");
            n_tiny++;
        }
    const slot *tables[2] = {b->slots, b->hot};
    size_t caps[2] = {z.cap, z.cap_hot}, counts[2] = {0, 0};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < caps[t]; i++) {
            const slot *s = &tables[t][i];
            if (s->id == NO_RANK) continue;
            if (s->id >= b->n_ranks || s->len == 0 || b->tok_len[s->id] != s->len)
                return bad(b, NULL, "a table entry names no such token");
            counts[t]++;
        }
    entries = n_tiny + counts[0] + counts[1];
    /* At least one empty slot per table, or an absent string would probe forever. */
    if (entries != used || n_tiny >= z.cap_tiny || counts[0] >= z.cap || counts[1] >= z.cap_hot)
        return bad(b, NULL, "the tables do not hold the tokens");
    /* Each token must be found at its own rank. With the count above this makes the tables exactly
     * the tokens' (no duplicate bytes, nothing else, the filter complete). Lookups run a few
     * ranks ahead of their prefetches. */
    for (int c = 0; c < 256; c++) b->byte_rank[c] = NO_RANK;
    enum { AHEAD = 16 };
    pending q[AHEAD];
    size_t rk[AHEAD], nq = 0, r = 0, head = 0;
    for (;;) {
        while (nq < AHEAD && r < b->n_ranks) {
            if (b->tok_len[r]) {
                size_t k = (head + nq) % AHEAD;
                rk[k] = r;
                const unsigned char *p = b->arena + b->tok_off[r];
                size_t n = b->tok_len[r];
                q[k].k = key8_of(p, n);
                q[k].h = hash_bytes(p, n, q[k].k);
                /* The filter word and the slot where this rank's entry should be. */
                __builtin_prefetch(&b->filter[q[k].h >> b->filter_shift]);
                if (n <= TINY_LEN && r < (1u << TINY_ID_BITS)) __builtin_prefetch(&b->tiny[q[k].h & b->tiny_mask]);
                else if (r < HOT_RANKS) __builtin_prefetch(&b->hot[q[k].h & b->hot_mask]);
                else __builtin_prefetch(&b->slots[q[k].h & b->mask]);
                nq++;
            }
            r++;
        }
        if (!nq) break;
        size_t rr = rk[head];
        const unsigned char *p = b->arena + b->tok_off[rr];
        if (lookup_finish(b, p, b->tok_len[rr], q[head]) != rr) return bad(b, NULL, "a token is not found at its rank");
        if (b->tok_len[rr] == 1) b->byte_rank[p[0]] = (uint32_t)rr;
        head = (head + 1) % AHEAD;
        nq--;
    }
    for (int c = 0; c < 256; c++)
        if (b->byte_rank[c] == NO_RANK) return bad(b, NULL, "a single byte has no rank");
    *out = b;
    return RNNC_OK;
}

static char *cache_path(const char *rank_path) {
    size_t n = strlen(rank_path);
    char *p = malloc(n + sizeof ".rnnc-cache");
    if (p) {
        memcpy(p, rank_path, n);
        memcpy(p + n, ".rnnc-cache", sizeof ".rnnc-cache");
    }
    return p;
}

rnnc_status rnnc_bpe_cache_read(rnnc_bpe **out, const char *rank_path, const rnnc_bpe_source *src) {
    *out = NULL;
    char *path = cache_path(rank_path);
    if (!path) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", rank_path);
    /* Non-blocking: a FIFO (or a device) put there must not hang the load; it is not a regular
     * file and is skipped below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    free(path);
    if (fd < 0) return RNNC_OK;
    struct stat st;
    /* A real image is a few times its rank file plus fixed tables; anything much bigger is not
     * one, and is not read into memory. */
    uint64_t most = src->size * 16 + (4u << 20);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < HEADER_BYTES || (uint64_t)st.st_size > most) {
        close(fd);
        return RNNC_OK;
    }
    size_t len = (size_t)st.st_size;
    /* On 2 MiB pages when big (bigmem.h; aligned to at least 64 bytes either way). */
    void *img = NULL;
    if (len >= (512u << 10)) img = rnnc_big_alloc(len);
    else if (posix_memalign(&img, 64, len) != 0) img = NULL;
    if (!img) { close(fd); return RNNC_OK; }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, (unsigned char *)img + got, len - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (got != len) { free(img); return RNNC_OK; }
    if (rnnc_bpe_cache_tables(out, img, len, src)) *out = NULL; /* unusable: rebuilt from the rank file */
    return RNNC_OK;
}

int rnnc_bpe_cache_write(const rnnc_bpe *b, const char *rank_path, const rnnc_bpe_source *src) {
    char *path = cache_path(rank_path);
    unsigned char *img = NULL;
    size_t len = 0;
    /* only into a regular file or none: something else in the cache's place (a FIFO, a device)
     * is left alone, as the atomic writer would write into it directly (and a FIFO without a
     * reader would wait for one forever) */
    struct stat st;
    int ok = path && (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) && rnnc_bpe_cache_image(b, src, &img, &len) == RNNC_OK;
    rnnc_atomic_file af;
    if (ok) ok = rnnc_atomic_open(&af, path) == RNNC_OK;
    if (ok) {
        if (fwrite(img, 1, len, af.fp) != len) { rnnc_atomic_abort(&af); ok = 0; }
        else ok = rnnc_atomic_commit(&af) == RNNC_OK;
    }
    free(img);
    free(path);
    return ok;
}
