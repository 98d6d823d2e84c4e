/* Byte-level BPE training; see include/rnnc/bpe.h.
 *
 * Phase 1, counting. The texts are cut into chunks of about 1 MiB, each ending at a line start
 * (see chunk_end), and the chunks are pre-tokenized in parallel (OpenMP), each thread counting
 * pieces in its own hash map of piece bytes -> count; the maps are then merged. Counts are exact
 * integers and chunk boundaries do not depend on the thread count, so the table of distinct
 * pieces is the same for any number of threads. Special-token text in the corpus is cut out
 * before pre-tokenization, as tiktoken's encoder does with allowed specials, so no ordinary token
 * grows across it.
 *
 * Phase 2, merging: the classic BPE over the distinct pieces, each weighted by its count. Every
 * distinct piece of two or more bytes is a doubly linked list of symbols laid out in one array of
 * positions. A pair (a, b) keeps its weighted count and the list of positions where it may start
 * (entries go stale when neighbours merge and are checked when used); a max-heap holds
 * (count, pair) entries with lazy invalidation. A merge visits only the positions of its own pair
 * and updates the counts of the pairs around each occurrence, so training costs about the number
 * of symbol occurrences touched, and a 1 MB piece without whitespace costs no more than 1 MB of
 * separate words.
 *
 * Ties: among pairs of equal count the smaller left id wins, then the smaller right id (older
 * tokens first); ids are assigned in merge order, so the choice is deterministic. Within a piece
 * the occurrences of a pair are merged left to right ("aaa" -> "aa" "a"), which is what tiktoken's
 * lowest-rank-first encoder does, so re-encoding training text reproduces training's segmentation.
 */
#include "tokenize/bpe_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/buf.h"
#include "rnnc/pretok.h"

#define NONE UINT32_MAX
#define DEFAULT_CHUNK ((size_t)1 << 20)

/* ------------------------------------------------------------------------------------------ */
/* Hashing and a map from byte strings to 64-bit values. */

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL * (n + 1);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    return mix64(h ^ w);
}

/* Open addressing, linear probing; a slot with len == 0 is empty (keys are never empty). The key
 * bytes live in the map's own arena, so callers may pass transient pointers. */
typedef struct { uint64_t hash, value; size_t off, len; } bmap_slot;
typedef struct { bmap_slot *slots; size_t mask, n; rnnc_bytes arena; } bmap;

static rnnc_status bmap_init(bmap *m, size_t cap) {
    memset(m, 0, sizeof *m);
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for a hash map");
    m->mask = cap - 1;
    return RNNC_OK;
}

static void bmap_free(bmap *m) {
    free(m->slots);
    rnnc_bytes_free(&m->arena);
    memset(m, 0, sizeof *m);
}

static rnnc_status bmap_grow(bmap *m) {
    size_t cap = (m->mask + 1) * 2;
    bmap_slot *ns = calloc(cap, sizeof *ns);
    if (!ns) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory growing a hash map to %zu slots", cap);
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->slots[i].len) continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (ns[j].len) j = (j + 1) & (cap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->mask = cap - 1;
    return RNNC_OK;
}

static bmap_slot *bmap_find(const bmap *m, const unsigned char *s, size_t len, uint64_t h) {
    for (size_t j = h & m->mask;; j = (j + 1) & m->mask) {
        bmap_slot *e = &m->slots[j];
        if (!e->len) return NULL;
        if (e->hash == h && e->len == len && memcmp(m->arena.data + e->off, s, len) == 0) return e;
    }
}

/* Finds the key, or inserts it with value 0; *out points at its slot until the next insert. */
static rnnc_status bmap_upsert(bmap *m, const unsigned char *s, size_t len, uint64_t h, bmap_slot **out) {
    size_t j = h & m->mask;
    for (;; j = (j + 1) & m->mask) {
        bmap_slot *e = &m->slots[j];
        if (!e->len) break;
        if (e->hash == h && e->len == len && memcmp(m->arena.data + e->off, s, len) == 0) {
            *out = e;
            return RNNC_OK;
        }
    }
    if ((m->n + 1) * 10 > (m->mask + 1) * 7) { /* keep the load under 70% */
        rnnc_status st = bmap_grow(m);
        if (st) return st;
        for (j = h & m->mask; m->slots[j].len; j = (j + 1) & m->mask) {}
    }
    bmap_slot *e = &m->slots[j];
    size_t off = m->arena.len;
    rnnc_status st = rnnc_bytes_append(&m->arena, s, len);
    if (st) return st;
    e->hash = h;
    e->value = 0;
    e->off = off;
    e->len = len;
    m->n++;
    *out = e;
    return RNNC_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Phase 1: counting pieces. */

typedef struct { const unsigned char *p; size_t len; } span;

typedef struct {
    bmap map;
    uint64_t n_pieces;
    rnnc_status st;  /* first failure on this thread */
    char *msg;       /* its message (messages are per thread, so carried back by hand) */
} counter;

static int count_piece(const unsigned char *piece, size_t len, void *ctx) {
    counter *c = ctx;
    bmap_slot *e;
    if (bmap_upsert(&c->map, piece, len, hash_bytes(piece, len), &e)) return 1;
    e->value++;
    c->n_pieces++;
    return 0;
}

/* Where a chunk that should end near `from` ends: the first line start p >= from whose previous
 * line ends in one printable ASCII character and a single '\n', and which starts with a printable
 * ASCII character. None of the built-in patterns matches across such a point, and none looks
 * further ahead than the next character, so pre-tokenizing the chunks separately gives exactly
 * the pieces of the whole text. (A user regex that matches across "x\nY" is cut there, as any
 * line-oriented trainer would.) Returns len if there is no such point. */
static size_t chunk_end(const unsigned char *t, size_t len, size_t from) {
    if (from < 2) from = 2;
    while (from < len) {
        const unsigned char *nl = memchr(t + from - 1, '\n', len - (from - 1));
        if (!nl) return len;
        size_t p = (size_t)(nl - t) + 1;
        if (p < len && t[p] > 0x20 && t[p] < 0x7f && t[p - 2] > 0x20 && t[p - 2] < 0x7f) return p;
        from = p + 1;
    }
    return len;
}

/* The first occurrence of needle in [p, end), or NULL. */
static const unsigned char *find_bytes(const unsigned char *p, const unsigned char *end,
                                       const unsigned char *needle, size_t n) {
    while ((size_t)(end - p) >= n) {
        const unsigned char *q = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (!q) return NULL;
        if (memcmp(q, needle, n) == 0) return q;
        p = q + 1;
    }
    return NULL;
}

static rnnc_status count_chunk(const rnnc_pretok *pt, span ch, const rnnc_bpe_train_opts *o,
                               const unsigned char **next_hit, counter *c) {
    const unsigned char *p = ch.p, *end = ch.p + ch.len;
    /* next_hit[i]: where special i occurs next at or after p (NULL: nowhere in the chunk). */
    for (size_t i = 0; i < o->n_specials; i++)
        next_hit[i] = find_bytes(p, end, (const unsigned char *)o->specials[i], strlen(o->specials[i]));
    while (p < end) {
        /* The earliest special occurrence at or after p (the longest one at equal starts). */
        const unsigned char *hit = end;
        size_t hit_len = 0;
        for (size_t i = 0; i < o->n_specials; i++) {
            size_t n = strlen(o->specials[i]);
            if (next_hit[i] && next_hit[i] < p) next_hit[i] = find_bytes(p, end, (const unsigned char *)o->specials[i], n);
            const unsigned char *q = next_hit[i];
            if (q && (q < hit || (q == hit && n > hit_len))) { hit = q; hit_len = n; }
        }
        if (hit > p) {
            rnnc_status st = rnnc_pretok_split(pt, p, (size_t)(hit - p), count_piece, c);
            if (st == RNNC_ERR_INTERRUPTED) return RNNC_ERR_NOMEM; /* count_piece failed; message set */
            if (st) return st;
        }
        p = hit + hit_len;
    }
    return RNNC_OK;
}

/* Pre-tokenizes every text and leaves the merged counts in *out (value = count). */
static rnnc_status count_pieces(const unsigned char *const *texts, const size_t *lens, size_t n_texts,
                                const rnnc_bpe_train_opts *o, const rnnc_pretok *pt, size_t chunk,
                                bmap *out, uint64_t *n_pieces) {
    span *chunks = NULL;
    size_t n_chunks = 0, cap_chunks = 0;
    for (size_t i = 0; i < n_texts; i++) {
        for (size_t s = 0; s < lens[i];) {
            size_t e = lens[i] - s > chunk ? chunk_end(texts[i], lens[i], s + chunk) : lens[i];
            if (n_chunks == cap_chunks) {
                size_t nc = cap_chunks ? 2 * cap_chunks : 64;
                span *nv = realloc(chunks, nc * sizeof *nv);
                if (!nv) { free(chunks); return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory"); }
                chunks = nv;
                cap_chunks = nc;
            }
            chunks[n_chunks++] = (span){texts[i] + s, e - s};
            s = e;
        }
    }
    int nt = o->threads > 0 ? o->threads : omp_get_max_threads();
    if ((size_t)nt > n_chunks) nt = n_chunks ? (int)n_chunks : 1;
    counter *cs = calloc((size_t)nt, sizeof *cs);
    const unsigned char **hits = calloc((size_t)nt * (o->n_specials + 1), sizeof *hits);
    rnnc_status st = cs && hits ? RNNC_OK : rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory");
    for (int t = 0; t < nt && !st; t++) st = bmap_init(&cs[t].map, 1 << 14);
    size_t total_bytes = 0, bytes_done = 0;
    for (size_t i = 0; i < n_chunks; i++) total_bytes += chunks[i].len;
    if (!st) {
        if (o->count_progress) o->count_progress(0, total_bytes, o->progress_ctx);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
        for (size_t i = 0; i < n_chunks; i++) {
            int t = omp_get_thread_num();
            counter *c = &cs[t];
            if (c->st) continue;
            rnnc_status s = count_chunk(pt, chunks[i], o, hits + (size_t)t * (o->n_specials + 1), c);
            if (s) {
                c->st = s;
                c->msg = strdup(rnnc_last_error());
            }
            size_t done;
#pragma omp atomic capture
            done = bytes_done += chunks[i].len;
            /* Only the calling thread (0 in the team) reports, so callers need no locking. */
            if (t == 0 && o->count_progress && done < total_bytes) o->count_progress(done, total_bytes, o->progress_ctx);
        }
        if (o->count_progress) o->count_progress(total_bytes, total_bytes, o->progress_ctx);
        for (int t = 0; t < nt && !st; t++)
            if (cs[t].st) st = rnnc_error(cs[t].st, "%s", cs[t].msg ? cs[t].msg : "bpe train: counting failed");
    }
    /* Merge every map into the largest one. */
    int base = 0;
    for (int t = 1; t < nt && !st; t++)
        if (cs[t].map.n > cs[base].map.n) base = t;
    *n_pieces = 0;
    for (int t = 0; t < nt && !st; t++) {
        *n_pieces += cs[t].n_pieces;
        if (t == base) continue;
        bmap *m = &cs[t].map;
        for (size_t j = 0; j <= m->mask && !st; j++) {
            bmap_slot *e = &m->slots[j], *d;
            if (!e->len) continue;
            st = bmap_upsert(&cs[base].map, m->arena.data + e->off, e->len, e->hash, &d);
            if (!st) d->value += e->value;
        }
    }
    if (!st) {
        *out = cs[base].map;
        memset(&cs[base].map, 0, sizeof cs[base].map);
    }
    for (int t = 0; cs && t < nt; t++) {
        bmap_free(&cs[t].map);
        free(cs[t].msg);
    }
    free(cs);
    free(hits);
    free(chunks);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Phase 2: merging. */

typedef struct {
    uint32_t a, b;
    uint64_t count;  /* weighted occurrences in the current segmentation */
    uint32_t stamp;  /* the merge that last touched this pair */
    uint32_t n, cap; /* positions where the pair may start (a superset of its occurrences) */
    uint32_t *pos;
} pair_t;

typedef struct { uint64_t count, key; } hentry; /* key = a << 32 | b */
typedef struct { uint32_t idx; uint64_t before; } touch_t;

typedef struct {
    /* symbols: one slot per byte of every distinct piece of >= 2 bytes; dead slots have sym NONE */
    uint32_t *sym, *prv, *nxt, *piece;
    uint64_t *freq; /* per piece */
    /* pairs: a dense array plus an open-addressing index keyed by a << 32 | b */
    pair_t *pairs;
    size_t n_pairs, cap_pairs;
    uint64_t *keys;
    uint32_t *slot_idx;
    size_t mask;
    /* the heap */
    hentry *heap;
    size_t n_heap, cap_heap;
    /* pairs touched by the current merge */
    touch_t *touched;
    size_t n_touched, cap_touched;
    uint32_t stamp;
} trainer;

static inline uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t)a << 32 | b; }

static uint32_t pair_find(const trainer *T, uint64_t key) {
    for (size_t j = mix64(key) & T->mask;; j = (j + 1) & T->mask) {
        if (T->slot_idx[j] == NONE) return NONE;
        if (T->keys[j] == key) return T->slot_idx[j];
    }
}

static rnnc_status pair_index_grow(trainer *T) {
    size_t cap = (T->mask + 1) * 2;
    uint64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (!keys || !idx) {
        free(keys);
        free(idx);
        return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory growing the pair index to %zu slots", cap);
    }
    memset(idx, 0xff, cap * sizeof *idx);
    for (size_t i = 0; i < T->n_pairs; i++) {
        uint64_t k = pair_key(T->pairs[i].a, T->pairs[i].b);
        size_t j = mix64(k) & (cap - 1);
        while (idx[j] != NONE) j = (j + 1) & (cap - 1);
        keys[j] = k;
        idx[j] = (uint32_t)i;
    }
    free(T->keys);
    free(T->slot_idx);
    T->keys = keys;
    T->slot_idx = idx;
    T->mask = cap - 1;
    return RNNC_OK;
}

/* The index of pair (a, b), created with count 0 if new. */
static rnnc_status pair_get(trainer *T, uint32_t a, uint32_t b, uint32_t *out) {
    uint64_t key = pair_key(a, b);
    size_t j = mix64(key) & T->mask;
    for (; T->slot_idx[j] != NONE; j = (j + 1) & T->mask)
        if (T->keys[j] == key) { *out = T->slot_idx[j]; return RNNC_OK; }
    if (T->n_pairs >= NONE - 1) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: more than 2^32 distinct pairs");
    if ((T->n_pairs + 1) * 2 > T->mask + 1) { /* keep the load under 50% */
        rnnc_status st = pair_index_grow(T);
        if (st) return st;
        for (j = mix64(key) & T->mask; T->slot_idx[j] != NONE; j = (j + 1) & T->mask) {}
    }
    if (T->n_pairs == T->cap_pairs) {
        size_t nc = T->cap_pairs ? 2 * T->cap_pairs : 1024;
        pair_t *np = realloc(T->pairs, nc * sizeof *np);
        if (!np) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for %zu pairs", nc);
        T->pairs = np;
        T->cap_pairs = nc;
    }
    uint32_t i = (uint32_t)T->n_pairs++;
    T->pairs[i] = (pair_t){.a = a, .b = b};
    T->keys[j] = key;
    T->slot_idx[j] = i;
    *out = i;
    return RNNC_OK;
}

static rnnc_status pos_push(pair_t *p, uint32_t pos) {
    if (p->n == p->cap) {
        if (p->cap == NONE) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: a pair occurs at more than 2^32 positions");
        uint32_t nc = p->cap ? (p->cap > NONE / 2 ? NONE : 2 * p->cap) : 4;
        uint32_t *nv = realloc(p->pos, (size_t)nc * sizeof *nv);
        if (!nv) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for pair positions");
        p->pos = nv;
        p->cap = nc;
    }
    p->pos[p->n++] = pos;
    return RNNC_OK;
}

static inline int hbetter(hentry x, hentry y) { return x.count > y.count || (x.count == y.count && x.key < y.key); }

static void heap_down(hentry *h, size_t n, size_t i) {
    hentry x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && hbetter(h[c + 1], h[c])) c++;
        if (!hbetter(h[c], x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static rnnc_status heap_push(trainer *T, hentry x) {
    if (T->n_heap == T->cap_heap) {
        size_t nc = T->cap_heap ? 2 * T->cap_heap : 1024;
        hentry *nh = realloc(T->heap, nc * sizeof *nh);
        if (!nh) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for the pair heap");
        T->heap = nh;
        T->cap_heap = nc;
    }
    size_t i = T->n_heap++;
    while (i > 0 && hbetter(x, T->heap[(i - 1) / 2])) {
        T->heap[i] = T->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    T->heap[i] = x;
    return RNNC_OK;
}

static hentry heap_pop(trainer *T) {
    hentry top = T->heap[0];
    T->heap[0] = T->heap[--T->n_heap];
    if (T->n_heap) heap_down(T->heap, T->n_heap, 0);
    return top;
}

/* Adds `delta` occurrences (signed, weighted) to pair (a, b), remembering its count before the
 * current merge; if `pos` is not NONE the pair now starts there. */
static rnnc_status pair_add(trainer *T, uint32_t a, uint32_t b, int64_t delta, uint32_t pos) {
    uint32_t i = NONE;
    rnnc_status st = pair_get(T, a, b, &i);
    if (st) return st;
    pair_t *p = &T->pairs[i];
    if (p->stamp != T->stamp) {
        if (T->n_touched == T->cap_touched) {
            size_t nc = T->cap_touched ? 2 * T->cap_touched : 256;
            touch_t *nv = realloc(T->touched, nc * sizeof *nv);
            if (!nv) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory");
            T->touched = nv;
            T->cap_touched = nc;
        }
        T->touched[T->n_touched++] = (touch_t){i, p->count};
        p->stamp = T->stamp;
    }
    p->count += (uint64_t)delta; /* wraps correctly for negative deltas; counts never go below 0 */
    return pos == NONE ? RNNC_OK : pos_push(p, pos);
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static void trainer_free(trainer *T) {
    free(T->sym);
    free(T->prv);
    free(T->nxt);
    free(T->piece);
    free(T->freq);
    for (size_t i = 0; i < T->n_pairs; i++) free(T->pairs[i].pos);
    free(T->pairs);
    free(T->keys);
    free(T->slot_idx);
    free(T->heap);
    free(T->touched);
}

/* Lays out the distinct pieces as symbol lists and counts the initial byte pairs. */
static rnnc_status trainer_init(trainer *T, const bmap *pieces, uint64_t *n_tokens_total) {
    size_t n_pos = 0, n_multi = 0;
    uint64_t total = 0;
    for (size_t j = 0; j <= pieces->mask; j++) {
        const bmap_slot *e = &pieces->slots[j];
        if (!e->len) continue;
        total += e->value * e->len;
        if (e->len >= 2) {
            n_pos += e->len;
            n_multi++;
        }
    }
    *n_tokens_total = total;
    if (n_pos >= NONE)
        return rnnc_error(RNNC_ERR_ARG, "bpe train: the distinct pieces hold %zu bytes, more than 2^32 - 1", n_pos);
    size_t np = n_pos ? n_pos : 1;
    T->sym = malloc(np * sizeof *T->sym);
    T->prv = malloc(np * sizeof *T->prv);
    T->nxt = malloc(np * sizeof *T->nxt);
    T->piece = malloc(np * sizeof *T->piece);
    T->freq = malloc((n_multi ? n_multi : 1) * sizeof *T->freq);
    T->mask = 4095;
    T->keys = malloc((T->mask + 1) * sizeof *T->keys);
    T->slot_idx = malloc((T->mask + 1) * sizeof *T->slot_idx);
    if (!T->sym || !T->prv || !T->nxt || !T->piece || !T->freq || !T->keys || !T->slot_idx)
        return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for %zu symbols", n_pos);
    memset(T->slot_idx, 0xff, (T->mask + 1) * sizeof *T->slot_idx);
    uint32_t pos = 0, k = 0;
    for (size_t j = 0; j <= pieces->mask; j++) {
        const bmap_slot *e = &pieces->slots[j];
        if (e->len < 2) continue;
        const unsigned char *s = pieces->arena.data + e->off;
        T->freq[k] = e->value;
        for (size_t i = 0; i < e->len; i++) {
            uint32_t p = pos + (uint32_t)i;
            T->sym[p] = s[i];
            T->prv[p] = i ? p - 1 : NONE;
            T->nxt[p] = i + 1 < e->len ? p + 1 : NONE;
            T->piece[p] = k;
            if (i) {
                rnnc_status st = pair_add(T, s[i - 1], s[i], (int64_t)e->value, p - 1);
                if (st) return st;
            }
        }
        pos += (uint32_t)e->len;
        k++;
    }
    T->n_touched = 0;
    T->cap_heap = T->n_pairs ? T->n_pairs : 1;
    T->heap = malloc(T->cap_heap * sizeof *T->heap);
    if (!T->heap) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for the pair heap");
    for (size_t i = 0; i < T->n_pairs; i++)
        T->heap[T->n_heap++] = (hentry){T->pairs[i].count, pair_key(T->pairs[i].a, T->pairs[i].b)};
    for (size_t i = T->n_heap / 2; i-- > 0;) heap_down(T->heap, T->n_heap, i);
    return RNNC_OK;
}

/* Merges every occurrence of pair index `best` into token `id`; returns the tokens saved. */
static rnnc_status merge_pair(trainer *T, uint32_t best, uint32_t id, uint64_t *saved) {
    pair_t *bp = &T->pairs[best];
    uint32_t a = bp->a, b = bp->b, *list = bp->pos, n = bp->n;
    bp->pos = NULL; /* detached: no new occurrence of (a, b) can appear, since id differs from both */
    bp->n = bp->cap = 0;
    /* Overlapping occurrences exist only when a == b; merge those left to right. */
    if (a == b) qsort(list, n, sizeof *list, cmp_u32);
    T->stamp++;
    T->n_touched = 0;
    rnnc_status st = RNNC_OK;
    uint64_t done = 0;
    for (uint32_t k = 0; k < n && !st; k++) {
        uint32_t p = list[k];
        if (T->sym[p] != a) continue;
        uint32_t q = T->nxt[p];
        if (q == NONE || T->sym[q] != b) continue;
        int64_t f = (int64_t)T->freq[T->piece[p]];
        uint32_t x = T->prv[p], y = T->nxt[q];
        if (x != NONE) {
            st = pair_add(T, T->sym[x], a, -f, NONE);
            if (!st) st = pair_add(T, T->sym[x], id, f, x);
        }
        if (y != NONE && !st) {
            st = pair_add(T, b, T->sym[y], -f, NONE);
            if (!st) st = pair_add(T, id, T->sym[y], f, p);
        }
        if (!st) st = pair_add(T, a, b, -f, NONE);
        T->sym[p] = id;
        T->nxt[p] = y;
        if (y != NONE) T->prv[y] = p;
        T->sym[q] = NONE;
        done += (uint64_t)f;
    }
    free(list);
    /* Pairs whose count rose need a fresh heap entry; the others keep a stale, larger one (which is
     * corrected when popped). Pairs that died give back their position lists. */
    for (size_t i = 0; i < T->n_touched && !st; i++) {
        pair_t *p = &T->pairs[T->touched[i].idx];
        if (p->count > T->touched[i].before) st = heap_push(T, (hentry){p->count, pair_key(p->a, p->b)});
        else if (p->count == 0) {
            free(p->pos);
            p->pos = NULL;
            p->n = p->cap = 0;
        }
    }
    *saved = done;
    return st;
}

/* Pops the pair with the largest count (ties: smallest key); NONE when no pair is left. */
static rnnc_status pop_best(trainer *T, uint32_t *best) {
    *best = NONE;
    while (T->n_heap) {
        hentry top = heap_pop(T);
        uint32_t i = pair_find(T, top.key);
        uint64_t c = T->pairs[i].count;
        if (c == top.count && c > 0) { *best = i; return RNNC_OK; }
        /* Stale. If the count rose, a newer entry holds it already; if it fell, re-queue it. */
        if (c > 0 && c < top.count) {
            rnnc_status st = heap_push(T, (hentry){c, top.key});
            if (st) return st;
        }
    }
    return RNNC_OK;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    rnnc_bytes bytes;
    size_t *off;
    size_t n, cap;
    bmap index; /* bytes -> id */
} token_table;

static rnnc_status tokens_add(token_table *t, const unsigned char *s, size_t len, uint32_t *id) {
    bmap_slot *e;
    uint64_t h = hash_bytes(s, len);
    if ((e = bmap_find(&t->index, s, len, h))) { *id = (uint32_t)e->value; return RNNC_OK; }
    if (t->n + 1 >= t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 1024;
        size_t *no = realloc(t->off, nc * sizeof *no);
        if (!no) return rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory for tokens");
        t->off = no;
        t->cap = nc;
    }
    rnnc_status st = rnnc_bytes_append(&t->bytes, s, len);
    if (!st) st = bmap_upsert(&t->index, s, len, h, &e);
    if (st) return st;
    e->value = t->n;
    *id = (uint32_t)t->n;
    t->off[t->n] = t->bytes.len - len;
    t->off[++t->n] = t->bytes.len;
    return RNNC_OK;
}

static rnnc_status check_opts(const unsigned char *const *texts, const size_t *lens, size_t n_texts,
                              const rnnc_bpe_train_opts *o) {
    if (!o) return rnnc_error(RNNC_ERR_ARG, "bpe train: no options given");
    if (n_texts && (!texts || !lens)) return rnnc_error(RNNC_ERR_ARG, "bpe train: texts or lengths are NULL");
    if (o->n_specials && !o->specials) return rnnc_error(RNNC_ERR_ARG, "bpe train: special tokens are NULL");
    if (o->vocab_size < 256 + o->n_specials)
        return rnnc_error(RNNC_ERR_ARG, "vocabulary size %zu is smaller than the 256 byte tokens + %zu special tokens",
                          o->vocab_size, o->n_specials);
    if (o->vocab_size > (size_t)NONE)
        return rnnc_error(RNNC_ERR_ARG, "vocabulary size %zu is too large (ids are 32-bit: at most %u)", o->vocab_size,
                          NONE);
    for (size_t i = 0; i < o->n_specials; i++) {
        if (!o->specials[i] || !*o->specials[i])
            return rnnc_error(RNNC_ERR_ARG, "bpe train: special token %zu is empty", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->specials[i], o->specials[j]) == 0)
                return rnnc_error(RNNC_ERR_ARG, "bpe train: special token \"%s\" is given twice", o->specials[i]);
    }
    for (size_t i = 0; i < n_texts; i++)
        if (lens[i] && !texts[i]) return rnnc_error(RNNC_ERR_ARG, "bpe train: text %zu is NULL", i + 1);
    return RNNC_OK;
}

rnnc_status rnnc_bpe_train_ranks(const unsigned char *const *texts, const size_t *lens, size_t n_texts,
                                 const rnnc_bpe_train_opts *o, size_t chunk_bytes, rnnc_bpe_ranks *out) {
    memset(out, 0, sizeof *out);
    rnnc_status st = check_opts(texts, lens, n_texts, o);
    if (st) return st;
    rnnc_pretok *pt;
    st = rnnc_pretok_new(&pt, o->pattern ? o->pattern : "cl100k");
    if (st) return st;

    bmap pieces = {0};
    uint64_t n_pieces = 0;
    st = count_pieces(texts, lens, n_texts, o, pt, chunk_bytes ? chunk_bytes : DEFAULT_CHUNK, &pieces, &n_pieces);
    rnnc_pretok_free(pt);
    if (st) return st;
    if (n_pieces == 0) {
        bmap_free(&pieces);
        return rnnc_error(RNNC_ERR_ARG, "bpe train: the training corpus is empty (%zu text%s, no bytes to learn from)",
                          n_texts, n_texts == 1 ? "" : "s");
    }

    trainer T = {0};
    token_table tok = {0};
    rnnc_bpe_merge *merges = NULL;
    size_t n_merges = 0, cap_merges = 0;
    uint64_t total_tokens = 0;
    st = trainer_init(&T, &pieces, &total_tokens);
    out->n_pieces = n_pieces;
    out->n_unique = pieces.n;
    bmap_free(&pieces);
    if (!st) st = bmap_init(&tok.index, 1 << 12);
    for (unsigned c = 0; c < 256 && !st; c++) {
        unsigned char byte = (unsigned char)c;
        uint32_t id;
        st = tokens_add(&tok, &byte, 1, &id);
    }

    const size_t target = o->vocab_size - o->n_specials, wanted = target - 256;
    const uint64_t min_freq = o->min_frequency > 1 ? o->min_frequency : 1;
    const size_t step = wanted / 200 + 1;
    size_t last_report = 0;
    if (o->progress && !st) o->progress(0, wanted, o->progress_ctx);
    unsigned char *cat = NULL;
    size_t cat_cap = 0;
    while (!st && tok.n < target) {
        uint32_t best;
        st = pop_best(&T, &best);
        if (st || best == NONE || T.pairs[best].count < min_freq) break;
        uint32_t a = T.pairs[best].a, b = T.pairs[best].b;
        size_t la = tok.off[a + 1] - tok.off[a], lb = tok.off[b + 1] - tok.off[b];
        if (la + lb > cat_cap) {
            size_t nc = 2 * (la + lb);
            unsigned char *nv = realloc(cat, nc);
            if (!nv) { st = rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory"); break; }
            cat = nv;
            cat_cap = nc;
        }
        memcpy(cat, tok.bytes.data + tok.off[a], la);
        memcpy(cat + la, tok.bytes.data + tok.off[b], lb);
        uint32_t id;
        if ((st = tokens_add(&tok, cat, la + lb, &id))) break;
        if (n_merges == cap_merges) {
            size_t nc = cap_merges ? 2 * cap_merges : 1024;
            rnnc_bpe_merge *nm = realloc(merges, nc * sizeof *nm);
            if (!nm) { st = rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory"); break; }
            merges = nm;
            cap_merges = nc;
        }
        merges[n_merges++] = (rnnc_bpe_merge){a, b, id, T.pairs[best].count};
        uint64_t saved;
        if ((st = merge_pair(&T, best, id, &saved))) break;
        total_tokens -= saved;
        if (o->progress && tok.n - 256 >= last_report + step) {
            last_report = tok.n - 256;
            o->progress(last_report, wanted, o->progress_ctx);
        }
    }
    free(cat);
    trainer_free(&T);
    bmap_free(&tok.index);
    if (st) {
        rnnc_bytes_free(&tok.bytes);
        free(tok.off);
        free(merges);
        return st;
    }
    if (o->progress) o->progress(tok.n - 256, wanted, o->progress_ctx);
    out->bytes = tok.bytes.data;
    out->off = tok.off;
    out->n_tokens = tok.n;
    out->merges = merges;
    out->n_merges = n_merges;
    out->n_final_tokens = total_tokens;
    return RNNC_OK;
}

void rnnc_bpe_ranks_free(rnnc_bpe_ranks *r) {
    if (!r) return;
    free(r->bytes);
    free(r->off);
    free(r->merges);
    memset(r, 0, sizeof *r);
}

rnnc_status rnnc_bpe_train(rnnc_bpe **out, const unsigned char *const *texts, const size_t *lens,
                           size_t n_texts, const rnnc_bpe_train_opts *opts) {
    *out = NULL;
    rnnc_bpe_ranks r;
    rnnc_status st = rnnc_bpe_train_ranks(texts, lens, n_texts, opts, 0, &r);
    if (st) return st;
    rnnc_token_bytes *tokens = malloc(r.n_tokens * sizeof *tokens);
    rnnc_special_token *specials = malloc((opts->n_specials ? opts->n_specials : 1) * sizeof *specials);
    if (!tokens || !specials) {
        st = rnnc_error(RNNC_ERR_NOMEM, "bpe train: out of memory");
    } else {
        for (size_t i = 0; i < r.n_tokens; i++) tokens[i] = (rnnc_token_bytes){r.bytes + r.off[i], r.off[i + 1] - r.off[i]};
        /* Specials take the ids right above the last rank (the top of the vocabulary). */
        for (size_t i = 0; i < opts->n_specials; i++)
            specials[i] = (rnnc_special_token){opts->specials[i], (uint32_t)(r.n_tokens + i)};
        st = rnnc_bpe_create(out, tokens, r.n_tokens, opts->pattern ? opts->pattern : "cl100k", specials,
                             opts->n_specials);
    }
    free(tokens);
    free(specials);
    rnnc_bpe_ranks_free(&r);
    return st;
}
