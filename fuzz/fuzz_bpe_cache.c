/* libFuzzer target: the binary cache of a rank file's tables (src/tokenize/bpe_cache.h, read by
 * rnnc_bpe_load beside a .tiktoken file of 256 KiB or more).
 *
 * A fixed tokenizer is built once: the 256 bytes and 9,000 more tokens of 4 to 14 bytes drawn
 * from a fixed generator, with some ranks left empty, so that every table is in use (short tokens,
 * long ones below rank 8192 and above it, gaps). Its cache image is made, and the input patches
 * it: byte 0 is flags (bit 0: re-seal the image after patching, so that the checksum and the
 * source stamp pass and the deeper checks are reached; bit 1: cut the image to the length in
 * bytes 1-4), then 5-byte patches (a little-endian u32 offset, taken modulo the length, and a byte
 * to XOR there). The reader must either refuse the image with a message, or give tables on which:
 * every rank's bytes are found at that rank, the text and the input itself encode and decode
 * losslessly, and a tokenizer completed from them (rnnc_bpe_finish) encodes like the original
 * wherever the tables were not changed. Seeds: no patch, a patch in each section, with and
 * without re-sealing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"
#include "tokenize/bpe_cache.h"
#include "tokenize/bpe_table.h"

static rnnc_bpe *orig;
static unsigned char *image;
static size_t image_len;
static const rnnc_bpe_source SRC = {123456, 1700000000, 42, 0x1234567890abcdefULL};

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void build(void) {
    enum { N = 9256 + 200 };
    static unsigned char bytes[N * 16];
    static rnnc_token_bytes toks[N];
    size_t off = 0;
    for (int c = 0; c < 256; c++) {
        bytes[off] = (unsigned char)c;
        toks[c] = (rnnc_token_bytes){bytes + off, 1};
        off++;
    }
    /* Token r: 0 to 10 random letters, then r in four base-18 digits: distinct by construction,
     * 4 to 14 bytes (the short ones land in the tiny table). */
    for (size_t r = 256; r < N; r++) {
        if (r % 97 == 0) { toks[r] = (rnnc_token_bytes){NULL, 0}; continue; } /* a gap */
        size_t pre = rng() % 11;
        for (size_t k = 0; k < pre; k++) bytes[off + k] = (unsigned char)("etaoin shrdlu,.THE"[rng() % 18]);
        for (size_t k = 0, d = r; k < 4; k++, d /= 18) bytes[off + pre + 3 - k] = (unsigned char)("etaoin shrdlu,.THE"[d % 18]);
        toks[r] = (rnnc_token_bytes){bytes + off, pre + 4};
        off += pre + 4;
    }
    rnnc_status st = rnnc_bpe_create(&orig, toks, N, "cl100k", NULL, 0);
    FUZZ_CHECK(st == RNNC_OK);
    FUZZ_CHECK(rnnc_bpe_cache_image(orig, &SRC, &image, &image_len) == RNNC_OK);
}

static void round_trip(const rnnc_bpe *b, const unsigned char *text, size_t n) {
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    FUZZ_CHECK(rnnc_bpe_encode(b, text, n, false, &ids) == RNNC_OK);
    FUZZ_CHECK(rnnc_bpe_decode(b, ids.data, ids.len, &back) == RNNC_OK);
    FUZZ_CHECK(back.len == n && (n == 0 || memcmp(back.data, text, n) == 0));
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!orig) build();
    unsigned flags = size ? data[0] : 0;
    size_t len = image_len;
    if ((flags & 2) && size >= 5) {
        uint32_t cut = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
        len = cut % (image_len + 64);
    }
    unsigned char *img = NULL;
    FUZZ_CHECK(posix_memalign((void **)&img, 64, len + 64) == 0);
    memset(img, 0, len + 64);
    memcpy(img, image, len < image_len ? len : image_len);
    for (size_t i = (flags & 2) ? 5 : 1; i + 5 <= size && len; i += 5) {
        uint32_t at = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 | (uint32_t)data[i + 3] << 24;
        img[at % len] ^= data[i + 4];
    }
    if (flags & 1) rnnc_bpe_cache_seal(img, len, &SRC);
    int changed = len != image_len || memcmp(img, image, len) != 0;
    rnnc_bpe *t = NULL;
    fuzz_clear_error();
    rnnc_status st = rnnc_bpe_cache_tables(&t, img, len, &SRC); /* owns img from here */
    if (st) {
        fuzz_check_failed(st);
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    /* Without re-sealing, any change fails the checksum (or the length check). */
    if (!(flags & 1)) FUZZ_CHECK(!changed);
    rnnc_bpe *b = NULL;
    FUZZ_CHECK(rnnc_bpe_finish(t, &b, "cl100k", NULL, 0) == RNNC_OK);
    /* Every rank's bytes are found at that rank. */
    for (uint32_t r = 0; r < rnnc_bpe_n_vocab(b); r++) {
        rnnc_token_bytes tb = rnnc_bpe_token(b, r);
        if (tb.data) FUZZ_CHECK(rnnc_bpe_rank_of(b, tb.data, tb.len) == r);
    }
    static const unsigned char text[] = "THE shrdlu etaoin, the rain in Spain... \xE4\xB8\xAD\xFF\xC3 1234567890 etaoinetaoinetaoin";
    round_trip(b, text, sizeof text - 1);
    round_trip(b, data, size);
    /* Unchanged tables encode like the original. */
    if (!changed) {
        rnnc_ids x = {0}, y = {0};
        FUZZ_CHECK(rnnc_bpe_encode(b, text, sizeof text - 1, false, &x) == RNNC_OK);
        FUZZ_CHECK(rnnc_bpe_encode(orig, text, sizeof text - 1, false, &y) == RNNC_OK);
        FUZZ_CHECK(x.len == y.len && memcmp(x.data, y.data, x.len * sizeof *x.data) == 0);
        rnnc_ids_free(&x);
        rnnc_ids_free(&y);
    }
    rnnc_bpe_free(b);
    return 0;
}
