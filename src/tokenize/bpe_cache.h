/* rnnc — the binary cache of a loaded .tiktoken rank file (private to src/tokenize, its tests and
 * its fuzz target). The format and its checks are in docs/FORMATS.md, "BPE table cache".
 *
 * Loading cl100k_base from its rank file means decoding 100k base64 lines, checking them for
 * duplicates and building the hash tables: tens of milliseconds, more than encoding a few MB. The
 * cache is the finished tables as one block beside the rank file (<file>.rnnc-cache), read in
 * one go and checked: against the rank file (its size, modification time and a hash of its
 * bytes), against itself (a checksum) and for the invariants the encoder relies on (every rank's
 * token found at that rank by the lookup, nothing else in the tables), so a stale, torn or crafted
 * cache is never used: it is rebuilt from the rank file instead. */
#ifndef RNNC_BPE_CACHE_H
#define RNNC_BPE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "rnnc/bpe.h"

/* What the cache records of its rank file. */
typedef struct {
    uint64_t size;
    int64_t mtime_s, mtime_ns;
    uint64_t hash; /* rnnc_bpe_hash64 of the file's bytes, seed RNNC_BPE_SOURCE_SEED */
} rnnc_bpe_source;

#define RNNC_BPE_SOURCE_SEED 0x7262706573726331ULL
/* Rank files smaller than this load in a few milliseconds and are not cached (unless
 * RNNC_BPE_CACHE=1). */
#define RNNC_BPE_CACHE_MIN_SOURCE (256u << 10)

/* A fast 64-bit hash of p[0..n) (not cryptographic: it detects change and corruption). */
uint64_t rnnc_bpe_hash64(const void *p, size_t n, uint64_t seed);

/* RNNC_BPE_CACHE in the environment: 0 = never, 1 = every rank file, 2 (unset or anything
 * else) = rank files of at least RNNC_BPE_CACHE_MIN_SOURCE bytes. */
int rnnc_bpe_cache_mode(void);

/* The cache image of b's tables, stamped with src and sealed (*img malloc'd, *len bytes). */
rnnc_status rnnc_bpe_cache_image(const rnnc_bpe *b, const rnnc_bpe_source *src, unsigned char **img, size_t *len);
/* Writes src into an image and recomputes its checksum (for tests and the fuzz target, which
 * alter images and must get past the checksum to reach the deeper checks). No-op if len is too
 * short for a header. */
void rnnc_bpe_cache_seal(unsigned char *img, size_t len, const rnnc_bpe_source *src);
/* The tables of an image, checked (see above) against src. img must be 64-byte aligned and come
 * from malloc/posix_memalign: the result owns it, and it is freed on failure too. On success *out
 * holds the tables only: the caller checks the specials (rnnc_bpe_check_specials_by) and
 * completes it with rnnc_bpe_finish. A failure is RNNC_ERR_FORMAT with a message saying what
 * did not hold (or RNNC_ERR_NOMEM). */
rnnc_status rnnc_bpe_cache_tables(rnnc_bpe **out, void *img, size_t len, const rnnc_bpe_source *src);

/* <rank_path>.rnnc-cache, read and checked: RNNC_OK with *out = the tables, or with *out = NULL
 * when there is no usable cache (missing, stale, invalid: the reason is not an error). */
rnnc_status rnnc_bpe_cache_read(rnnc_bpe **out, const char *rank_path, const rnnc_bpe_source *src);
/* Writes <rank_path>.rnnc-cache atomically; returns whether it did (a read-only directory, a full
 * disk or no memory only mean no cache: the caller goes on). */
int rnnc_bpe_cache_write(const rnnc_bpe *b, const char *rank_path, const rnnc_bpe_source *src);

#endif
