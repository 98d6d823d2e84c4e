/* The binary cache of a rank file's tables (src/tokenize/bpe_cache.h): written beside a rank file
 * by rnnc_bpe_load and used on the next load, with the same tokenizer either way; never used when
 * stale (the rank file's time, size or bytes changed), torn, corrupted or crafted; and a failure to
 * write it (a read-only or blocked directory) or odd files where it belongs (a FIFO, a directory, a
 * symlink to a device, a huge file) never break a load. */
#define _DEFAULT_SOURCE /* mkdtemp, symlink, truncate, utimensat, mkfifo */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "test.h"
#include "tokenize/bpe_cache.h"
#include "tokenize/bpe_table.h"

static char dir[64], rank_path[128], cache_path[160];

/* A rank file of 256 bytes and 9,000 more tokens (4-14 bytes, some ranks empty), written with
 * rnnc_bpe_save: over 8192 ranks, so that every table of the encoder is used. */
static rnnc_bpe *make_ranks(void) {
    enum { N = 9256 };
    static unsigned char bytes[N * 16];
    static rnnc_token_bytes toks[N];
    uint64_t x = 88172645463325252ULL;
    size_t off = 0;
    for (int c = 0; c < 256; c++) {
        bytes[off] = (unsigned char)c;
        toks[c] = (rnnc_token_bytes){bytes + off, 1};
        off++;
    }
    /* Token r: 0 to 10 letters, then r in four base-14 digits: distinct by construction. */
    for (size_t r = 256; r < N; r++) {
        if (r % 101 == 0) { toks[r] = (rnnc_token_bytes){NULL, 0}; continue; }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t pre = x % 11;
        for (size_t k = 0; k < pre; k++) bytes[off + k] = (unsigned char)("abcdefgh ijk.,"[(x >> (4 * k + 8)) % 14]);
        for (size_t k = 0, d = r; k < 4; k++, d /= 14) bytes[off + pre + 3 - k] = (unsigned char)("abcdefgh ijk.,"[d % 14]);
        toks[r] = (rnnc_token_bytes){bytes + off, pre + 4};
        off += pre + 4;
    }
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_create(&b, toks, N, "cl100k", NULL, 0);
    CHECK_EQ_LL(st, RNNC_OK);
    return b;
}

static const unsigned char TEXT[] = "abc defgh ijk.,abcabc hhhh gggg, a.b.c.d 12345 \xE4\xB8\xAD\xFF the end";

/* The ids of TEXT (and of a long repeat of it) under b equal those under ref. */
static int same_ids(const rnnc_bpe *b, const rnnc_bpe *ref) {
    rnnc_ids x = {0}, y = {0};
    int ok = rnnc_bpe_encode(b, TEXT, sizeof TEXT - 1, false, &x) == RNNC_OK &&
             rnnc_bpe_encode(ref, TEXT, sizeof TEXT - 1, false, &y) == RNNC_OK && x.len == y.len &&
             memcmp(x.data, y.data, x.len * sizeof *x.data) == 0;
    for (uint32_t r = 0; ok && r < rnnc_bpe_n_vocab(ref); r++) {
        rnnc_token_bytes a = rnnc_bpe_token(b, r), c = rnnc_bpe_token(ref, r);
        ok = (a.data == NULL) == (c.data == NULL) && a.len == c.len && (!a.data || memcmp(a.data, c.data, a.len) == 0);
    }
    rnnc_ids_free(&x);
    rnnc_ids_free(&y);
    return ok;
}

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static rnnc_bpe_source source_of(const char *path) {
    rnnc_bpe_source s = {0};
    struct stat st;
    unsigned char *d;
    size_t n;
    CHECK(stat(path, &st) == 0);
    CHECK_EQ_LL(rnnc_read_file(path, &d, &n), RNNC_OK);
    s.size = (uint64_t)st.st_size;
    s.mtime_s = st.st_mtim.tv_sec;
    s.mtime_ns = st.st_mtim.tv_nsec;
    s.hash = rnnc_bpe_hash64(d, n, RNNC_BPE_SOURCE_SEED);
    free(d);
    return s;
}

/* Whether the cache beside rank_path is usable now (read and checked, as a load would). */
static int cache_usable(void) {
    rnnc_bpe_source src = source_of(rank_path);
    rnnc_bpe *t = NULL;
    CHECK_EQ_LL(rnnc_bpe_cache_read(&t, rank_path, &src), RNNC_OK);
    int ok = t != NULL;
    rnnc_bpe_free(t);
    return ok;
}

static rnnc_bpe *load(void) {
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_load(&b, rank_path, NULL);
    CHECK_MSG(st == RNNC_OK, "load: %s", rnnc_last_error());
    return b;
}

static void test_write_then_use(void) {
    rnnc_bpe *ref = make_ranks();
    CHECK_EQ_LL(rnnc_bpe_save(ref, rank_path), RNNC_OK);
    unsetenv("RNNC_BPE_CACHE");
    /* the rank file is under 256 KiB: not cached by default */
    rnnc_bpe *b = load();
    CHECK(!exists(cache_path));
    rnnc_bpe_free(b);
    setenv("RNNC_BPE_CACHE", "1", 1);
    b = load(); /* parsed; the cache written */
    CHECK(exists(cache_path));
    CHECK(cache_usable());
    CHECK(b && same_ids(b, ref));
    rnnc_bpe_free(b);
    b = load(); /* from the cache */
    CHECK(b && same_ids(b, ref));
    CHECK_EQ_LL(rnnc_bpe_n_vocab(b), rnnc_bpe_n_vocab(ref));
    rnnc_bpe_free(b);
    /* RNNC_BPE_CACHE=0: neither read nor written */
    unlink(cache_path);
    setenv("RNNC_BPE_CACHE", "0", 1);
    b = load();
    CHECK(!exists(cache_path));
    rnnc_bpe_free(b);
    setenv("RNNC_BPE_CACHE", "1", 1);
    rnnc_bpe_free(ref);
}

/* Rewrites the rank file's bytes [at, at+n) with `with` and sets its times to `ts`. */
static void poke_rank_file(size_t at, const char *with, const struct timespec ts[2]) {
    int fd = open(rank_path, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, with, strlen(with), (off_t)at) == (ssize_t)strlen(with));
    close(fd);
    if (ts) CHECK(utimensat(AT_FDCWD, rank_path, ts, 0) == 0);
}

static void test_stale(void) {
    rnnc_bpe *ref = make_ranks(), *b;
    CHECK_EQ_LL(rnnc_bpe_save(ref, rank_path), RNNC_OK);
    rnnc_bpe_free(load());
    CHECK(cache_usable());
    struct stat st;
    CHECK(stat(rank_path, &st) == 0);
    struct timespec keep[2] = {st.st_atim, st.st_mtim};
    /* a new time, same bytes: stale, rebuilt, usable again */
    struct timespec later[2] = {{st.st_mtim.tv_sec + 5, 0}, {st.st_mtim.tv_sec + 5, 0}};
    CHECK(utimensat(AT_FDCWD, rank_path, later, 0) == 0);
    CHECK(!cache_usable());
    b = load();
    CHECK(b && same_ids(b, ref));
    rnnc_bpe_free(b);
    CHECK(cache_usable());
    /* other bytes, same size and time (the time put back): the hash tells. The line of rank 300
     * gets the base64 of other bytes of its length, so the file stays valid. */
    CHECK(stat(rank_path, &st) == 0);
    keep[0] = st.st_atim;
    keep[1] = st.st_mtim;
    unsigned char *d;
    size_t n;
    CHECK_EQ_LL(rnnc_read_file(rank_path, &d, &n), RNNC_OK);
    /* the first line is byte 0 ("AA== 0"): make it byte 0 swapped with byte 1's line is not
     * possible in place, so change a letter of a long token instead: find a line of 8+ base64
     * characters whose decoded bytes are not used elsewhere (a fresh rank file is loaded to check). */
    size_t line = 0, at = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n' && ++line == 5000) { at = i + 1; break; }
    free(d);
    CHECK(at > 0);
    poke_rank_file(at, "AAAA", keep); /* 3 NUL bytes: no token has them */
    CHECK(stat(rank_path, &st) == 0);
    CHECK(st.st_mtim.tv_sec == keep[1].tv_sec && st.st_mtim.tv_nsec == keep[1].tv_nsec);
    CHECK(!cache_usable());
    rnnc_bpe *c = NULL;
    setenv("RNNC_BPE_CACHE", "0", 1);
    CHECK_EQ_LL(rnnc_bpe_load(&c, rank_path, NULL), RNNC_OK); /* what the changed file says */
    setenv("RNNC_BPE_CACHE", "1", 1);
    b = load();
    CHECK(b && c && same_ids(b, c) && !same_ids(b, ref));
    rnnc_bpe_free(b);
    rnnc_bpe_free(c);
    rnnc_bpe_free(ref);
}

/* The source stamp the test images carry. */
static const rnnc_bpe_source IMG_SRC = {1, 2, 3, 4};

/* The cache image of make_ranks()'s tokenizer (*ref), stamped IMG_SRC. */
static unsigned char *make_image(rnnc_bpe **ref, size_t *len) {
    unsigned char *img = NULL;
    *ref = make_ranks();
    CHECK_EQ_LL(rnnc_bpe_cache_image(*ref, &IMG_SRC, &img, len), RNNC_OK);
    return img;
}

/* A 64-byte aligned copy of the image, as rnnc_bpe_cache_tables takes it (and keeps it). */
static unsigned char *image_copy(const unsigned char *img, size_t len) {
    unsigned char *w = NULL;
    CHECK(posix_memalign((void **)&w, 64, len) == 0);
    if (w) memcpy(w, img, len);
    return w;
}

/* Every byte of the image changed alone is refused unless re-sealed; re-sealed changes of the
 * tables are refused by the table checks, or else leave consistent tables. */
static void test_corrupt(void) {
    rnnc_bpe *ref;
    rnnc_bpe_source src = IMG_SRC;
    size_t len;
    unsigned char *img = make_image(&ref, &len), *work;
    rnnc_bpe *t;
    /* unchanged: accepted, and a tokenizer made from it encodes as the original */
    work = image_copy(img, len);
    CHECK_EQ_LL(rnnc_bpe_cache_tables(&t, work, len, &src), RNNC_OK);
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_finish(t, &b, "cl100k", NULL, 0), RNNC_OK);
    CHECK(b && same_ids(b, ref));
    rnnc_bpe_free(b);
    /* another source stamp: stale */
    rnnc_bpe_source other = src;
    other.hash ^= 1;
    work = image_copy(img, len);
    CHECK_EQ_LL(rnnc_bpe_cache_tables(&t, work, len, &other), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "stale") != NULL);
    /* one flipped byte at many offsets, not re-sealed: refused (checksum, or a header check) */
    int refused = 0, tried = 0;
    for (size_t at = 0; at < len; at += at < 256 ? 1 : 997) {
        work = image_copy(img, len);
        work[at] ^= 0x5A;
        tried++;
        refused += rnnc_bpe_cache_tables(&t, work, len, &src) == RNNC_ERR_FORMAT;
    }
    CHECK_EQ_LL(refused, tried);
    /* every truncation is refused */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 2) {
        work = image_copy(img, len);
        CHECK_EQ_LL(rnnc_bpe_cache_tables(&t, work, cut, &src), RNNC_ERR_FORMAT);
    }
    /* re-sealed changes (a crafted image): refused, or consistent tables. Every byte of the
     * header and of the first table entries, and random bytes elsewhere. */
    uint64_t x = 0x2545F4914F6CDD1DULL;
    int accepted = 0;
    for (int it = 0; it < 3000; it++) {
        work = image_copy(img, len);
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t at = it < 1024 ? (size_t)it * 7 % len : (size_t)(x % len);
        work[at] ^= (unsigned char)(1 + (x >> 32) % 255);
        rnnc_bpe_cache_seal(work, len, &src);
        rnnc_status st = rnnc_bpe_cache_tables(&t, work, len, &src);
        if (st) { CHECK(rnnc_last_error()[0] != 0); continue; }
        accepted++;
        CHECK_EQ_LL(rnnc_bpe_finish(t, &b, "cl100k", NULL, 0), RNNC_OK);
        for (uint32_t r = 0; r < rnnc_bpe_n_vocab(b); r++) {
            rnnc_token_bytes tb = rnnc_bpe_token(b, r);
            if (tb.data && rnnc_bpe_rank_of(b, tb.data, tb.len) != r) { CHECK_MSG(0, "byte %zu: rank %u not found", at, r); break; }
        }
        rnnc_ids ids = {0};
        rnnc_bytes back = {0};
        CHECK(rnnc_bpe_encode(b, TEXT, sizeof TEXT - 1, false, &ids) == RNNC_OK);
        CHECK(rnnc_bpe_decode(b, ids.data, ids.len, &back) == RNNC_OK && back.len == sizeof TEXT - 1 &&
              memcmp(back.data, TEXT, back.len) == 0);
        rnnc_ids_free(&ids);
        rnnc_bytes_free(&back);
        rnnc_bpe_free(b);
    }
    /* what can be accepted: a changed filter bit that only adds, an empty slot's unused fields */
    printf("  re-sealed single-byte changes accepted as consistent: %d of 3000\n", accepted);
    free(img);
    rnnc_bpe_free(ref);
}

/* Specific crafted images, re-sealed: each breaks one invariant the encoder relies on. */
static void test_crafted(void) {
    rnnc_bpe *ref;
    rnnc_bpe_source src = IMG_SRC;
    size_t len;
    unsigned char *img = make_image(&ref, &len);
    rnnc_bpe *t;
    unsigned char *w = image_copy(img, len);
    CHECK_EQ_LL(rnnc_bpe_cache_tables(&t, w, len, &src), RNNC_OK);
    size_t off_slots = (size_t)((unsigned char *)t->slots - (unsigned char *)t->cache_buf);
    size_t off_hot = (size_t)((unsigned char *)t->hot - (unsigned char *)t->cache_buf);
    size_t off_tiny = (size_t)((unsigned char *)t->tiny - (unsigned char *)t->cache_buf);
    size_t off_len = (size_t)((unsigned char *)t->tok_len - (unsigned char *)t->cache_buf);
    size_t cap = t->mask + 1, cap_hot = t->hot_mask + 1, cap_tiny = t->tiny_mask + 1;
    rnnc_bpe_free(t);
    struct { const char *what, *msg; } cases[] = {
        {"a slot naming a rank past the end", "names no such token"},
        {"a slot with the wrong length", "names no such token"},
        {"a slot moved to another place", "not found at its rank"},
        {"an extra slot (a duplicate entry)", "do not hold the tokens"},
        {"a hot entry removed", "do not hold the tokens"},
        {"a short-token entry naming a gap", "names no such token"},
        {"every slot filled (no empty one)", "do not hold the tokens"},
        {"a token length changed", NULL},
        {"the filter cleared", "not found at its rank"},
    };
    for (int k = 0; k < (int)(sizeof cases / sizeof cases[0]); k++) {
        w = image_copy(img, len);
        slot *slots = (slot *)(void *)(w + off_slots), *hot = (slot *)(void *)(w + off_hot);
        uint64_t *tiny = (uint64_t *)(void *)(w + off_tiny);
        uint32_t *tl = (uint32_t *)(void *)(w + off_len);
        size_t first = 0, empty = 0;
        while (slots[first].id == NO_RANK) first++;
        while (slots[empty].id != NO_RANK) empty++;
        switch (k) {
        case 0: slots[first].id = (uint32_t)ref->n_ranks + 5; break;
        case 1: slots[first].len += 1; break;
        case 2: slots[empty] = slots[first]; slots[first].id = NO_RANK; break;
        case 3: slots[empty] = slots[first]; break;
        case 4: for (size_t i = 0; i < cap_hot; i++) if (hot[i].id != NO_RANK) { hot[i].id = NO_RANK; break; } break;
        case 5: for (size_t i = 0; i < cap_tiny; i++) if (tiny[i]) { tiny[i] = (tiny[i] & ((1ULL << 43) - 1)) | (uint64_t)303 << 43; break; } break;
        case 6: for (size_t i = 0; i < cap; i++) if (slots[i].id == NO_RANK) slots[i] = slots[first]; break;
        case 7: tl[300] += 1; break;
        case 8: memset(w + off_tiny + 8 * cap_tiny, 0, 64); break; /* the filter's first words */
        }
        rnnc_bpe_cache_seal(w, len, &src);
        rnnc_status st = rnnc_bpe_cache_tables(&t, w, len, &src);
        CHECK_MSG(st == RNNC_ERR_FORMAT, "%s: accepted", cases[k].what);
        if (st && cases[k].msg) CHECK_MSG(strstr(rnnc_last_error(), cases[k].msg) != NULL, "%s: '%s'", cases[k].what, rnnc_last_error());
        if (!st) rnnc_bpe_free(t);
    }
    free(img);
    rnnc_bpe_free(ref);
}

/* The odd things put where the cache belongs (test_hostile_places). */
enum { ODD_FIFO, ODD_DIR, ODD_DEVICE_LINK, ODD_HUGE, N_ODD };
static const char *const odd_what[N_ODD] = {"a FIFO (must not block)", "a directory", "a symlink to a device",
                                            "a huge (sparse) file (not read)"};

/* Puts odd thing k at cache_path; whether that worked. */
static int make_odd(int k) {
    switch (k) {
    case ODD_FIFO: return mkfifo(cache_path, 0600) == 0;
    case ODD_DIR: return mkdir(cache_path, 0700) == 0;
    case ODD_DEVICE_LINK: return symlink("/dev/zero", cache_path) == 0;
    default: {
        int fd = open(cache_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int ok = fd >= 0 && ftruncate(fd, (off_t)1 << 34) == 0;
        if (fd >= 0) close(fd);
        return ok;
    }
    }
}

/* Odd things where the cache belongs, and a directory that cannot take it: the load works. */
static void test_hostile_places(void) {
    rnnc_bpe *ref = make_ranks(), *b;
    CHECK_EQ_LL(rnnc_bpe_save(ref, rank_path), RNNC_OK);
    unlink(cache_path);
    for (int k = 0; k < N_ODD; k++) {
        CHECK_MSG(make_odd(k), "%s at the cache's place: not made (%s)", odd_what[k], strerror(errno));
        b = load();
        CHECK_MSG(b && same_ids(b, ref), "%s at the cache's place: the load failed or differs", odd_what[k]);
        rnnc_bpe_free(b);
        if (k == ODD_DIR) rmdir(cache_path);
        else unlink(cache_path);
    }
    /* the temp file's name taken by a directory: the cache is written through a numbered temp
     * name (NAME.tmp.PID.K), the directory left as it was; the load works */
    char blocked[200];
    snprintf(blocked, sizeof blocked, "%s.tmp.%ld", cache_path, (long)getpid());
    CHECK(mkdir(blocked, 0700) == 0);
    b = load();
    CHECK(b && same_ids(b, ref));
    CHECK(exists(cache_path));
    struct stat bs;
    CHECK(stat(blocked, &bs) == 0 && S_ISDIR(bs.st_mode));
    rnnc_bpe_free(b);
    rmdir(blocked);
    unlink(cache_path);
    /* a read-only directory (meaningful when not root: root writes anyway) */
    if (geteuid() != 0) {
        CHECK(chmod(dir, 0555) == 0);
        b = load();
        CHECK(b && same_ids(b, ref));
        CHECK(!exists(cache_path));
        rnnc_bpe_free(b);
        CHECK(chmod(dir, 0755) == 0);
    }
    /* a torn cache file (the first half of a real one): rebuilt */
    rnnc_bpe_free(load());
    struct stat st;
    CHECK(stat(cache_path, &st) == 0 && truncate(cache_path, st.st_size / 2) == 0);
    CHECK(!cache_usable());
    b = load();
    CHECK(b && same_ids(b, ref));
    rnnc_bpe_free(b);
    CHECK(cache_usable());
    rnnc_bpe_free(ref);
}

/* The OpenAI files through the cache, when fetched: the same ids with and without it. */
static void test_openai(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/tiktoken/cl100k_base.tiktoken", rnnc_data_dir());
    if (!exists(path)) { printf("  skipped: %s not fetched\n", path); return; }
    setenv("RNNC_BPE_CACHE", "0", 1);
    rnnc_bpe *plain = NULL, *cached = NULL;
    CHECK_EQ_LL(rnnc_bpe_load(&plain, "cl100k_base", NULL), RNNC_OK);
    unsetenv("RNNC_BPE_CACHE");
    CHECK_EQ_LL(rnnc_bpe_load(&cached, "cl100k_base", NULL), RNNC_OK); /* writes the cache if it can */
    rnnc_bpe_free(cached);
    CHECK_EQ_LL(rnnc_bpe_load(&cached, "cl100k_base", NULL), RNNC_OK);
    CHECK(plain && cached && same_ids(cached, plain) && rnnc_bpe_n_specials(cached) == 5);
    rnnc_bpe_free(plain);
    rnnc_bpe_free(cached);
    setenv("RNNC_BPE_CACHE", "1", 1);
}

int main(void) {
    strcpy(dir, "/tmp/rnnc-bpe-cache-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(rank_path, sizeof rank_path, "%s/t.tiktoken", dir);
    snprintf(cache_path, sizeof cache_path, "%s.rnnc-cache", rank_path);
    RUN(test_write_then_use);
    RUN(test_stale);
    RUN(test_corrupt);
    RUN(test_crafted);
    RUN(test_hostile_places);
    RUN(test_openai);
    unlink(cache_path);
    unlink(rank_path);
    char side[200];
    snprintf(side, sizeof side, "%s.json", rank_path);
    unlink(side);
    rmdir(dir);
    return test_report();
}
