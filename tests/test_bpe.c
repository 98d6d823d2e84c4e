/* Byte-level BPE: exact ids against tiktoken (tests/golden/tiktoken_cases.json, made by
 * tools/make_tiktoken_fixtures.js) for r50k/p50k/cl100k/o200k, round trips of random bytes,
 * parallel == serial, decode errors, malformed .tiktoken files, save/load. */
#include <cjson/cJSON.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/utf8.h"
#include "test.h"

static const char *const NAMES[4] = {"r50k_base", "p50k_base", "cl100k_base", "o200k_base"};
static rnnc_bpe *enc[4];
static int have_data;

static void load_all(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tiktoken/cl100k_base.tiktoken", rnnc_data_dir());
    struct stat sb;
    have_data = stat(path, &sb) == 0;
    if (!have_data) { printf("skipped: tiktoken data not found under %s (run scripts/fetch-data.sh)\n", rnnc_data_dir()); return; }
    for (int k = 0; k < 4; k++) {
        rnnc_status st = rnnc_bpe_load(&enc[k], NAMES[k], NULL);
        CHECK_MSG(st == RNNC_OK, "%s: %s", NAMES[k], rnnc_last_error());
    }
}

static int same_ids(const rnnc_ids *got, const cJSON *want, const char *what, const char *name) {
    size_t n = (size_t)cJSON_GetArraySize(want), i = 0;
    const cJSON *it;
    int ok = got->len == n;
    cJSON_ArrayForEach(it, want) {
        if (i >= got->len || got->data[i] != (uint32_t)it->valuedouble) { ok = 0; break; }
        i++;
    }
    if (!ok) {
        fprintf(stderr, "%s %s (%s): %zu ids, tiktoken %zu; first difference at %zu:", name, what, "ids", got->len, n, i);
        size_t lo = i > 3 ? i - 3 : 0;
        for (size_t j = lo; j < i + 4 && j < got->len; j++) fprintf(stderr, " %u", got->data[j]);
        fprintf(stderr, " vs");
        for (size_t j = lo; j < i + 4 && j < n; j++) fprintf(stderr, " %d", cJSON_GetArrayItem(want, (int)j)->valueint);
        fputc('\n', stderr);
    }
    return ok;
}

static cJSON *fixtures(void) {
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(test_path("golden/tiktoken_cases.json"), &text, &len)) return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    return j;
}

/* Decodes the fixture's base64 text (the "text" field stops at U+0000 in C). */
static unsigned char *case_text(const cJSON *c, size_t *len) {
    const char *s = cJSON_GetObjectItem(c, "b64")->valuestring;
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 1);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[i]);
        acc = acc << 6 | (uint32_t)(p - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (unsigned char)(acc >> bits); }
    }
    *len = o;
    return out;
}

static void test_golden_cases(void) {
    if (!have_data) { printf("skipped\n"); return; }
    cJSON *j = fixtures();
    CHECK(j != NULL);
    if (!j) return;
    const cJSON *cases = cJSON_GetObjectItem(j, "cases"), *c;
    size_t compared = 0;
    cJSON_ArrayForEach(c, cases) {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        size_t tlen;
        unsigned char *text = case_text(c, &tlen);
        for (int k = 0; k < 4; k++) {
            if (!enc[k]) continue;
            for (int special = 0; special < 2; special++) {
                const cJSON *set = cJSON_GetObjectItem(c, special ? "special" : "ordinary");
                if (!set) continue;
                rnnc_ids ids = {0};
                CHECK_EQ_LL(rnnc_bpe_encode(enc[k], text, tlen, special, &ids), RNNC_OK);
                CHECK_MSG(same_ids(&ids, cJSON_GetObjectItem(set, NAMES[k]), NAMES[k], name), "%s %s", name, NAMES[k]);
                compared++;
                rnnc_bytes back = {0};
                CHECK_EQ_LL(rnnc_bpe_decode(enc[k], ids.data, ids.len, &back), RNNC_OK);
                CHECK(back.len == tlen && memcmp(back.data, text, back.len) == 0);
                rnnc_bytes_free(&back);
                rnnc_ids_free(&ids);
            }
        }
        free(text);
    }
    printf("  %zu encodings compared with tiktoken\n", compared);
    CHECK(compared > 700);
    cJSON_Delete(j);
}

static uint32_t xorshift32(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Rebuilds a recipe string exactly as tools/make_tiktoken_fixtures.js does. */
static unsigned char *build_recipe(const cJSON *r, size_t *len) {
    uint32_t x = (uint32_t)cJSON_GetObjectItem(r, "seed")->valuedouble;
    size_t bytes = (size_t)cJSON_GetObjectItem(r, "bytes")->valuedouble;
    const cJSON *alpha = cJSON_GetObjectItem(r, "alphabet");
    int na = cJSON_GetArraySize(alpha);
    unsigned char *s = malloc(bytes + 64);
    size_t n = 0;
    while (n < bytes) {
        const char *a = cJSON_GetArrayItem(alpha, (int)(xorshift32(&x) % (uint32_t)na))->valuestring;
        size_t k = strlen(a);
        memcpy(s + n, a, k);
        n += k;
    }
    *len = n;
    return s;
}

static uint64_t fnv_ids(const rnnc_ids *ids) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < ids->len; i++)
        for (int k = 0; k < 4; k++) { h ^= (ids->data[i] >> (8 * k)) & 255; h *= 0x100000001b3ULL; }
    return h;
}

static void test_golden_recipes(void) {
    if (!have_data) { printf("skipped\n"); return; }
    cJSON *j = fixtures();
    if (!j) { CHECK(j != NULL); return; }
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "recipes")) {
        size_t len;
        unsigned char *s = build_recipe(r, &len);
        for (int k = 0; k < 4; k++) {
            if (!enc[k]) continue;
            rnnc_ids ids = {0};
            CHECK_EQ_LL(rnnc_bpe_encode(enc[k], s, len, false, &ids), RNNC_OK);
            char hex[17];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fnv_ids(&ids));
            CHECK_EQ_LL(ids.len, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "n_ids"), NAMES[k])->valuedouble);
            CHECK_STR(hex, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "fnv1a64"), NAMES[k])->valuestring);
            rnnc_ids_free(&ids);
        }
        free(s);
    }
    cJSON_Delete(j);
}

/* A 1 MB piece with no whitespace (one piece for every pattern) must encode and round-trip; the
 * heap merge keeps it fast (no timing asserted here: see bench/bench_encode.c). */
static void test_huge_single_piece(void) {
    if (!have_data) { printf("skipped\n"); return; }
    size_t n = 1000000;
    unsigned char *s = malloc(n);
    uint32_t x = 99;
    for (size_t i = 0; i < n; i++) s[i] = (unsigned char)("abcdefghijklmnopqrstuvwxyz"[xorshift32(&x) % 26]);
    for (int k = 0; k < 4; k++) {
        if (!enc[k]) continue;
        rnnc_ids ids = {0};
        rnnc_bytes back = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(enc[k], s, n, false, &ids), RNNC_OK);
        CHECK(ids.len > n / 8 && ids.len < n);
        CHECK_EQ_LL(rnnc_bpe_decode(enc[k], ids.data, ids.len, &back), RNNC_OK);
        CHECK(back.len == n && memcmp(back.data, s, n) == 0);
        rnnc_ids_free(&ids);
        rnnc_bytes_free(&back);
    }
    free(s);
}

static void test_random_bytes_round_trip(void) {
    if (!have_data) { printf("skipped\n"); return; }
    rnnc_rng r;
    rnnc_rng_seed(&r, 5);
    static unsigned char buf[1500];
    const char *bits[] = {"<|endoftext|>", "<|endofprompt|>", " ", "\n", "'s", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "a", "\xFF", "\xC3"};
    size_t trips = 0;
    for (int iter = 0; iter < 400; iter++) {
        size_t n = 0, want = rnnc_rng_below(&r, sizeof buf - 32);
        while (n < want) {
            if (iter % 2 == 0) buf[n++] = (unsigned char)rnnc_rng_below(&r, 256);
            else {
                const char *b = bits[rnnc_rng_below(&r, 10)];
                memcpy(buf + n, b, strlen(b));
                n += strlen(b);
            }
        }
        for (int k = 0; k < 4; k++) {
            if (!enc[k]) continue;
            for (int special = 0; special < 2; special++) {
                rnnc_ids ids = {0};
                rnnc_bytes back = {0};
                CHECK_EQ_LL(rnnc_bpe_encode(enc[k], buf, n, special, &ids), RNNC_OK);
                CHECK_EQ_LL(rnnc_bpe_decode(enc[k], ids.data, ids.len, &back), RNNC_OK);
                CHECK(back.len == n && (n == 0 || memcmp(back.data, buf, n) == 0));
                size_t bad = 0;
                for (size_t i = 0; i < ids.len; i++) bad += ids.data[i] >= rnnc_bpe_n_vocab(enc[k]);
                CHECK_EQ_LL(bad, 0);
                rnnc_ids_free(&ids);
                rnnc_bytes_free(&back);
                trips++;
            }
        }
    }
    printf("  %zu round trips\n", trips);
}

/* Big inputs are encoded in parallel chunks; the ids must equal the one-thread ids. */
static void test_parallel_equals_serial(void) {
    if (!have_data) { printf("skipped\n"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/sotu.txt", rnnc_data_dir());
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(path, &text, &len)) { printf("  skipped: %s missing\n", path); return; }
    if (len > (3u << 20)) len = 3u << 20;
    int saved = omp_get_max_threads();
    for (int k = 2; k < 4; k++) {
        if (!enc[k]) continue;
        rnnc_ids one = {0}, many = {0};
        omp_set_num_threads(1);
        CHECK_EQ_LL(rnnc_bpe_encode(enc[k], text, len, true, &one), RNNC_OK);
        omp_set_num_threads(4);
        CHECK_EQ_LL(rnnc_bpe_encode(enc[k], text, len, true, &many), RNNC_OK);
        CHECK(one.len == many.len && memcmp(one.data, many.data, one.len * sizeof *one.data) == 0);
        rnnc_ids_free(&one);
        rnnc_ids_free(&many);
    }
    omp_set_num_threads(saved);
    free(text);
}

/* Text as code units (what Python hands over for a str): the ids of its UTF-8, for Latin-1, UCS-2
 * and code points, on one thread and on four (the parallel chunks make their UTF-8 on their
 * threads), special tokens allowed or not; surrogate escapes as Python's "surrogateescape"; a
 * unit with no UTF-8 form is an error naming it, leaving the ids as they were. The reference
 * UTF-8 is made here, code point by code point. */
static size_t ref_utf8(const uint32_t *cp, size_t n, unsigned char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (cp[i] >= 0xDC80 && cp[i] <= 0xDCFF) out[o++] = (unsigned char)(cp[i] & 0xFF);
        else o += (size_t)rnnc_utf8_encode(cp[i], out + o);
    }
    return o;
}

static void test_units_equal_utf8(void) {
    if (!have_data) { printf("skipped\n"); return; }
    enum { N = 600000 };
    static const char *const words[] = {"the", "union", "Congress", "state", "caf", "of", "2024", "it's", "nation"};
    /* per kind, the characters beyond ASCII it may hold */
    static const uint32_t extra1[] = {0xE9, 0xA0, 0xB7, 0xFF};
    static const uint32_t extra2[] = {0xE9, 0x2022, 0x4E2D, 0x2014, 0xDC80, 0xDCFF, 0xFFFD, 0x0416};
    static const uint32_t extra4[] = {0xE9, 0x2022, 0x1F600, 0x10FFFF, 0xDCC3, 0x4E2D, 0x10000};
    const uint32_t *extras[3] = {extra1, extra2, extra4};
    const size_t n_extra[3] = {4, 8, 7};
    const int units[3] = {1, 2, 4};
    uint32_t *cp = malloc(N * sizeof *cp);
    unsigned char *u8 = malloc((size_t)N * 4 + 1), *raw = malloc((size_t)N * 4);
    rnnc_rng r;
    rnnc_rng_seed(&r, 11);
    int saved = omp_get_max_threads();
    size_t compared = 0;
    for (int kind = 0; kind < 3; kind++) {
        size_t n = 0;
        while (n + 40 < N) {
            uint32_t pick = rnnc_rng_below(&r, 20);
            if (pick < 12) {
                const char *w = words[rnnc_rng_below(&r, 9)];
                for (size_t i = 0; w[i]; i++) cp[n++] = (unsigned char)w[i];
            } else if (pick < 16) cp[n++] = extras[kind][rnnc_rng_below(&r, (uint32_t)n_extra[kind])];
            else if (pick == 16) { const char *e = "<|endoftext|>"; for (size_t i = 0; e[i]; i++) cp[n++] = (unsigned char)e[i]; }
            else if (pick == 17) cp[n++] = '\n';
            cp[n++] = ' ';
        }
        const int unit = units[kind];
        for (size_t i = 0; i < n; i++) {
            if (unit == 1) raw[i] = (unsigned char)cp[i];
            else if (unit == 2) ((uint16_t *)(void *)raw)[i] = (uint16_t)cp[i];
            else ((uint32_t *)(void *)raw)[i] = cp[i];
        }
        size_t len = ref_utf8(cp, n, u8);
        for (int special = 0; special < 2; special++) {
            rnnc_ids want = {0};
            omp_set_num_threads(1);
            CHECK_EQ_LL(rnnc_bpe_encode(enc[2], u8, len, special, &want), RNNC_OK);
            for (int th = 1; th <= 4; th *= 4) {
                omp_set_num_threads(th);
                rnnc_ids got = {0};
                rnnc_status st = rnnc_bpe_encode_units(enc[2], raw, n, unit, special, &got);
                CHECK_MSG(st == RNNC_OK, "unit %d: %s", unit, rnnc_last_error());
                CHECK_MSG(got.len == want.len && memcmp(got.data, want.data, want.len * sizeof *want.data) == 0,
                          "unit %d, %d threads, special %d: %zu ids against %zu", unit, th, special, got.len, want.len);
                rnnc_ids_free(&got);
                compared++;
            }
            rnnc_ids_free(&want);
        }
        /* a unit with no UTF-8 form: named, nothing appended */
        if (unit > 1) {
            const size_t at = n / 2 + 7;
            const uint32_t badv = unit == 2 ? 0xD800 : 0x110000;
            if (unit == 2) ((uint16_t *)(void *)raw)[at] = (uint16_t)badv;
            else ((uint32_t *)(void *)raw)[at] = badv;
            char want_msg[64];
            snprintf(want_msg, sizeof want_msg, "code unit %zu", at);
            for (int th = 1; th <= 4; th *= 4)
                for (int special = 0; special < 2; special++) {
                    omp_set_num_threads(th);
                    rnnc_ids got = {0};
                    CHECK_EQ_LL(rnnc_ids_push(&got, 42), RNNC_OK);
                    CHECK_EQ_LL(rnnc_bpe_encode_units(enc[2], raw, n, unit, special, &got), RNNC_ERR_ARG);
                    CHECK_MSG(strstr(rnnc_last_error(), want_msg) != NULL, "%s", rnnc_last_error());
                    CHECK(got.len == 1 && got.data[0] == 42);
                    rnnc_ids_free(&got);
                }
        }
    }
    CHECK_EQ_LL(rnnc_bpe_encode_units(enc[2], raw, 4, 3, false, &(rnnc_ids){0}), RNNC_ERR_ARG);
    /* the transcoder alone, on a few exact cases */
    const uint16_t s2[] = {'a', 0xE9, 0x2022, 0xDC80, 'b', 'c', 'd', 'e', 0xFFFF};
    unsigned char o[32];
    size_t bad = 99, k = rnnc_units_to_utf8(s2, 9, 2, o, &bad);
    CHECK(k == 14 && memcmp(o, "a\xC3\xA9\xE2\x80\xA2\x80" "bcde\xEF\xBF\xBF", 14) == 0);
    const uint16_t lone[] = {'x', 'y', 'z', 'w', 'v', 0xDBFF};
    CHECK(rnnc_units_to_utf8(lone, 6, 2, o, &bad) == SIZE_MAX && bad == 5);
    CHECK_EQ_LL(rnnc_units_utf8_max(10, 2), 30);
    omp_set_num_threads(saved);
    printf("  %zu encodings compared\n", compared);
    free(cp);
    free(u8);
    free(raw);
}

static void test_specials(void) {
    if (!have_data) { printf("skipped\n"); return; }
    rnnc_bpe *b = enc[2];
    if (!b) return;
    const char *t = "<|endoftext|>";
    rnnc_ids ids = {0};
    CHECK_EQ_LL(rnnc_bpe_encode(b, (const unsigned char *)t, strlen(t), true, &ids), RNNC_OK);
    CHECK_EQ_LL(ids.len, 1);
    CHECK_EQ_LL(ids.data[0], 100257);
    ids.len = 0;
    CHECK_EQ_LL(rnnc_bpe_encode(b, (const unsigned char *)t, strlen(t), false, &ids), RNNC_OK);
    CHECK(ids.len > 1);
    rnnc_ids_free(&ids);
    CHECK_EQ_LL(rnnc_bpe_n_vocab(b), 100277);
    CHECK_EQ_LL(rnnc_bpe_n_specials(b), 5);
    rnnc_token_bytes tb = rnnc_bpe_token(b, 100276);
    CHECK(tb.len == 15 && memcmp(tb.data, "<|endofprompt|>", 15) == 0);
    CHECK(rnnc_bpe_token(b, 100261).data == NULL);
    CHECK_EQ_LL(rnnc_bpe_n_vocab(enc[3]), 200019);
    CHECK_EQ_LL(rnnc_bpe_n_vocab(enc[0]), 50257);
}

static void test_decode_errors(void) {
    if (!have_data) { printf("skipped\n"); return; }
    rnnc_bpe *b = enc[2];
    if (!b) return;
    uint32_t ids[] = {9906, 1917, 100261, 5};
    rnnc_bytes out = {0};
    CHECK_EQ_LL(rnnc_bpe_decode(b, ids, 4, &out), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "id 100261") != NULL);
    CHECK(strstr(rnnc_last_error(), "position 2") != NULL);
    uint32_t big[] = {7, 4000000000u};
    CHECK_EQ_LL(rnnc_bpe_decode(b, big, 2, &out), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "id 4000000000 at position 1") != NULL);
    rnnc_bytes_free(&out);
}

/* Decoding a special token longer than the 32 bytes the size pass once assumed for it, followed
 * by ordinary tokens: the output is sized exactly (it overran the heap by the special's excess,
 * found by fuzz_tiktoken_load; fuzz/regress/fuzz_tiktoken_load holds the input). */
static void test_decode_long_special(void) {
    rnnc_token_bytes tok[256];
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; tok[i].data = bytes + i; tok[i].len = 1; }
    char text[4001];
    memset(text, 'x', 4000);
    text[4000] = 0;
    rnnc_special_token sp = {text, 300};
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 256, "cl100k", &sp, 1), RNNC_OK);
    if (!b) return;
    enum { N = 4064 };
    uint32_t *ids = malloc(N * sizeof *ids);
    ids[0] = 300;
    for (int i = 1; i < N; i++) ids[i] = 'a';
    rnnc_bytes out = {0};
    CHECK_EQ_LL(rnnc_bpe_decode(b, ids, N, &out), RNNC_OK);
    CHECK_EQ_LL(out.len, 4000 + N - 1);
    CHECK(out.data && !memcmp(out.data, text, 4000) && out.data[4000] == 'a' && out.data[out.len - 1] == 'a' && !out.data[out.len]);
    /* the same appended to text already in out, and with the special last */
    ids[N - 1] = 300;
    CHECK_EQ_LL(rnnc_bpe_decode(b, ids, N, &out), RNNC_OK);
    CHECK_EQ_LL(out.len, 2 * (4000 + N - 1) + 3999);
    CHECK(!memcmp(out.data + out.len - 4000, text, 4000));
    rnnc_bytes_free(&out);
    free(ids);
    rnnc_bpe_free(b);
}

/* A .tiktoken text with all 256 bytes at ranks 0..255, plus `extra` lines. */
static char *byte_file(const char *extra) {
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = 256 * 12 + strlen(extra) + 1;
    char *s = malloc(cap);
    size_t n = 0;
    for (int b = 0; b < 256; b++)
        n += (size_t)snprintf(s + n, cap - n, "%c%c== %d\n", B64[b >> 2], B64[(b & 3) << 4], b);
    snprintf(s + n, cap - n, "%s", extra);
    return s;
}

static void expect_bad(const char *text, const char *needle) {
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_load_mem(&b, (const unsigned char *)text, strlen(text), "bad.tiktoken", "r50k");
    CHECK_MSG(st == RNNC_ERR_FORMAT, "expected a format error mentioning '%s', got %d", needle, (int)st);
    CHECK_MSG(strstr(rnnc_last_error(), needle) != NULL, "message '%s' lacks '%s'", rnnc_last_error(), needle);
    CHECK(b == NULL);
    rnnc_bpe_free(b);
}

static void test_malformed_files(void) {
    char *s;
    s = byte_file("YWI= 256\nYWJj\n");
    expect_bad(s, "bad.tiktoken:258: expected 'BASE64 RANK'");
    free(s);
    s = byte_file("YW*= 256\n");
    expect_bad(s, "bad.tiktoken:257: invalid base64");
    free(s);
    s = byte_file("YWJ= 256\n"); /* "ab" with a stray low bit: a second spelling of YWI= */
    expect_bad(s, "bad.tiktoken:257: invalid base64");
    free(s);
    s = byte_file("YR== 256\n");
    expect_bad(s, "bad.tiktoken:257: invalid base64");
    free(s);
    s = byte_file("YWI= 25x\n");
    expect_bad(s, "bad.tiktoken:257: rank is not a non-negative integer");
    free(s);
    s = byte_file("YWI= -3\n");
    expect_bad(s, "bad.tiktoken:257: rank is not");
    free(s);
    s = byte_file("YWI= 256\nYWJj 256\n");
    expect_bad(s, "bad.tiktoken:258: duplicate rank 256 (also on line 257)");
    free(s);
    s = byte_file("YWI= 256\nYWI= 257\n");
    expect_bad(s, "bad.tiktoken:258: duplicate token: ranks 256 and 257 have the same bytes (lines 257 and 258)");
    free(s);
    s = byte_file("YWI= 99999999999\n");
    expect_bad(s, "bad.tiktoken:257: rank 99999999999 is too large (at most 65794 in a file of 258 lines)");
    free(s);
    s = byte_file("YWI= 340282366920938463463374607431768211456\n"); /* 2^128: no wrap-around to a small rank */
    expect_bad(s, "bad.tiktoken:257: rank 340282366920938463463374607431768211456 is too large");
    free(s);
    s = byte_file("YWI= 256\n\nYWJj 257\n");
    expect_bad(s, "bad.tiktoken:258: empty line");
    free(s);
    s = byte_file("YWI= \n");
    expect_bad(s, "bad.tiktoken:257: missing rank");
    free(s);
    s = byte_file("");
    s[0] = 'B'; /* byte 0's line now decodes to 0x04, a duplicate of rank 4 */
    expect_bad(s, "bad.tiktoken:5: duplicate token: ranks 0 and 4 have the same bytes (lines 1 and 5)");
    free(s);
    /* A file missing byte 0xFF. */
    s = byte_file("");
    char *last = strstr(s, "/w== 255\n");
    CHECK(last != NULL);
    if (last) *last = 0;
    expect_bad(s, "0xFF has no rank");
    free(s);
    expect_bad("", "no tokens");
    expect_bad("YQ==0\n", "expected 'BASE64 RANK'");
    /* A good file loads, with a CRLF line and gaps between ranks. */
    s = byte_file("YWI= 300\r\nYWJj 301\n");
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_load_mem(&b, (const unsigned char *)s, strlen(s), "ok.tiktoken", "cl100k"), RNNC_OK);
    if (b) {
        CHECK_EQ_LL(rnnc_bpe_n_vocab(b), 302);
        CHECK(rnnc_bpe_token(b, 280).data == NULL);
        rnnc_ids ids = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(b, (const unsigned char *)"abc ab", 6, false, &ids), RNNC_OK);
        CHECK_EQ_LL(ids.len, 3);
        if (ids.len == 3) { CHECK_EQ_LL(ids.data[0], 301); CHECK_EQ_LL(ids.data[1], ' '); CHECK_EQ_LL(ids.data[2], 300); }
        rnnc_ids_free(&ids);
    }
    rnnc_bpe_free(b);
    free(s);
}

static void test_missing_files(void) {
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_load(&b, "/nonexistent/dir/x.tiktoken", NULL), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/dir/x.tiktoken") != NULL);
    const char *old = getenv("RNNC_DATA");
    char *saved = old ? strdup(old) : NULL;
    setenv("RNNC_DATA", "/nonexistent/rnnc-data", 1);
    CHECK_EQ_LL(rnnc_bpe_load(&b, "o200k_base", NULL), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "fetch-data.sh") != NULL);
    CHECK(strstr(rnnc_last_error(), "RNNC_DATA") != NULL);
    if (saved) { setenv("RNNC_DATA", saved, 1); free(saved); }
    else unsetenv("RNNC_DATA");
}

static void test_create_errors(void) {
    rnnc_token_bytes tok[258];
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; tok[i].data = bytes + i; tok[i].len = 1; }
    tok[256].data = (const unsigned char *)"ab";
    tok[256].len = 2;
    tok[257].data = (const unsigned char *)"ab";
    tok[257].len = 2;
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 258, "r50k", NULL, 0), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "ranks 256 and 257") != NULL);
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 257, "(unclosed", NULL, 0), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "offset") != NULL);
    rnnc_special_token sp = {"<s>", 256};
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 257, "r50k", &sp, 1), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "<s>") != NULL);
    tok[65].data = NULL;
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 257, "r50k", NULL, 0), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "0x41") != NULL);
    CHECK(b == NULL);
}

/* Two specials sharing an id or a text used to be reported after the tokenizer was freed (a
 * use-after-free that crashed the CLI); ids past the limits used to give a vocabulary of 2^32 - 1. */
static void expect_bad_specials(const rnnc_token_bytes *tok, size_t n, const rnnc_special_token *sp, size_t ns,
                                const char *needle) {
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_create(&b, tok, n, "r50k", sp, ns);
    CHECK_MSG(st == RNNC_ERR_ARG, "expected an argument error mentioning '%s', got %d", needle, (int)st);
    CHECK_MSG(strstr(rnnc_last_error(), needle) != NULL, "message '%s' lacks '%s'", rnnc_last_error(), needle);
    CHECK(strchr(rnnc_last_error(), '\n') == NULL);
    CHECK(b == NULL);
    rnnc_bpe_free(b);
    /* The same check is available on its own, for loaders that name the specials' file. */
    st = rnnc_bpe_check_specials(tok, n, sp, ns);
    CHECK_MSG(st == RNNC_ERR_ARG && strncmp(rnnc_last_error(), "special token", 13) == 0 && strstr(rnnc_last_error(), needle),
              "check_specials: %d '%s'", (int)st, rnnc_last_error());
}

static void test_special_errors(void) {
    rnnc_token_bytes tok[257];
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; tok[i].data = bytes + i; tok[i].len = 1; }
    tok[256].data = (const unsigned char *)"ab";
    tok[256].len = 2;
    rnnc_special_token same_id[2] = {{"<|a|>", 300}, {"<|b|>", 300}};
    expect_bad_specials(tok, 257, same_id, 2, "special tokens '<|a|>' and '<|b|>' share the id 300");
    rnnc_special_token same_text[3] = {{"<|a|>", 300}, {"<|c|>", 302}, {"<|a|>", 301}};
    expect_bad_specials(tok, 257, same_text, 3, "special tokens 0 and 2 (ids 300 and 301) share the text '<|a|>'");
    rnnc_special_token huge[1] = {{"<|big|>", 4294967294u}};
    expect_bad_specials(tok, 257, huge, 1, "id 4294967294; ids must be below 2147483647");
    rnnc_special_token no_rank[1] = {{"<|x|>", UINT32_MAX}};
    expect_bad_specials(tok, 257, no_rank, 1, "id 4294967295; ids must be below 2147483647");
    rnnc_special_token far[2] = {{"<|a|>", 257}, {"<|far|>", 257 + 2 + 65536}};
    expect_bad_specials(tok, 257, far, 2, "special token '<|far|>' has id 65795; special ids must be below 65795");
    rnnc_special_token on_rank[1] = {{"<|r|>", 256}};
    expect_bad_specials(tok, 257, on_rank, 1, "'<|r|>' has id 256, which is already an ordinary token's rank");
    rnnc_special_token empty[1] = {{"", 300}};
    expect_bad_specials(tok, 257, empty, 1, "special token 0 (id 300) has empty text");
    /* A newline in a name is shown escaped: the message stays one line. */
    rnnc_special_token nl[2] = {{"<|\n|>", 300}, {"<|\n|>", 301}};
    expect_bad_specials(tok, 257, nl, 2, "share the text '<|\\x0A|>'");
    /* The largest allowed id loads; its vocabulary fits an int, and lookups by id find each one. */
    rnnc_special_token ok[3] = {{"<|a|>", 257 + 3 + 65535}, {"<|b|>", 257}, {"<|c|>", 400}};
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 257, "r50k", ok, 3), RNNC_OK);
    if (b) {
        CHECK_EQ_LL(rnnc_bpe_n_vocab(b), 257 + 3 + 65536);
        for (int k = 0; k < 3; k++) {
            rnnc_token_bytes t = rnnc_bpe_token(b, ok[k].id);
            CHECK(t.data && t.len == strlen(ok[k].text) && memcmp(t.data, ok[k].text, t.len) == 0);
        }
        CHECK(rnnc_bpe_token(b, 258).data == NULL);
        CHECK(rnnc_bpe_token(b, 401).data == NULL);
        CHECK_EQ_LL(rnnc_bpe_special(b, 0).id, 257 + 3 + 65535);
    }
    rnnc_bpe_free(b);
    /* More ranks than an int can count are refused before anything is read. */
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, (size_t)RNNC_BPE_MAX_VOCAB + 1, "r50k", NULL, 0), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "2147483648 ranks") && strstr(rnnc_last_error(), "2147483647"));
}

static void write_text(const char *path, const char *text, size_t len) {
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (!fp) return;
    CHECK(fwrite(text, 1, len, fp) == len);
    fclose(fp);
}

/* Loads dir/t.tiktoken (all 256 bytes, "ab" at 256) with `sidecar` as its .json, expecting an error
 * whose message contains each of the needles (NULL: expecting success, returned). */
static rnnc_bpe *load_with_sidecar(const char *dir, const char *sidecar, size_t side_len, const char *n1, const char *n2) {
    char path[512], side[520];
    snprintf(path, sizeof path, "%s/t.tiktoken", dir);
    snprintf(side, sizeof side, "%s.json", path);
    char *ranks = byte_file("YWI= 256\n");
    write_text(path, ranks, strlen(ranks));
    free(ranks);
    write_text(side, sidecar, side_len);
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_load(&b, path, NULL);
    if (!n1) {
        CHECK_MSG(st == RNNC_OK, "%s", rnnc_last_error());
    } else {
        const char *m = rnnc_last_error();
        CHECK_MSG(st != RNNC_OK && b == NULL, "sidecar %s loaded", sidecar);
        CHECK_MSG(strstr(m, side) == m, "message '%s' does not start with the sidecar's name", m);
        CHECK_MSG(strstr(m, n1) && (!n2 || strstr(m, n2)), "message '%s' lacks '%s' / '%s'", m, n1, n2 ? n2 : "");
        CHECK(strchr(m, '\n') == NULL);
    }
    unlink(side);
    unlink(path);
    return b;
}

#define BAD_SIDECAR(dir, text, n1, n2) load_with_sidecar(dir, text, sizeof text - 1, n1, n2)

static void test_sidecar_errors(void) {
    char dir[] = "/tmp/rnnc_test_sidecar_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    /* Two specials with one id (used to crash: the message read the freed tokenizer). */
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 300, \"<|b|>\": 300}}", "special tokens '<|a|>' and '<|b|>' share the id 300", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 256}}", "'<|a|>' has id 256, which is already an ordinary token's rank", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 4294967294}}", "has id 4294967294; ids must be below 2147483647", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 70000}}", "has id 70000; special ids must be below 65794", NULL);
    /* Numbers outside 32 bits, negative or fractional are refused before any integer cast. */
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 1e30}}", "\"<|a|>\" has id 1e+30; ids are integers from 0 to 2147483646", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 18446744073709551616}}", "has id 1.84467440737096e+19", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": -1}}", "has id -1;", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 300.5}}", "has id 300.5;", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": \"300\"}}", "\"<|a|>\" needs a number id", NULL);
    /* A NUL would cut the name short ("<|end"): refused, naming the string as written. */
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|end\\u0000of|>\": 300}}", "the string \"<|end\\u0000of|>\" at byte 20 contains NUL", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|end\0of|>\": 300}}", "\"<|end\\x00of|>\"", "contains NUL");
    /* An escaped backslash before u0000 is no NUL. */
    rnnc_bpe *b = BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|\\\\u0000|>\": 300}}", NULL, NULL);
    if (b) CHECK_STR(rnnc_bpe_special(b, 0).text, "<|\\u0000|>");
    rnnc_bpe_free(b);
    /* Repeated keys: the first would silently win. */
    BAD_SIDECAR(dir, "{\"pattern\": \"r50k\", \"special_tokens\": {}, \"pattern\": \"o200k\"}", "key \"pattern\" appears twice", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"<|a|>\": 300, \"<|a|>\": 301}}", "\"special_tokens\": key \"<|a|>\" appears twice", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {}} {}", "unexpected data after the JSON object at byte 23", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": [1]}", "\"special_tokens\" must be an object", NULL);
    BAD_SIDECAR(dir, "{\"pattern\": 3}", "\"pattern\" must be a string", NULL);
    BAD_SIDECAR(dir, "{\"pattern\": \"(ab\"}", "\"pattern\": invalid regular expression", NULL);
    BAD_SIDECAR(dir, "{\"pattern\": \"\"}", "\"pattern\": the regular expression is empty", NULL);
    BAD_SIDECAR(dir, "", "JSON syntax error", NULL);
    BAD_SIDECAR(dir, "[]", "not a JSON object", NULL);
    BAD_SIDECAR(dir, "{\"special_tokens\": {\"\": 300}}", "special token 0 (id 300) has empty text", NULL);
    /* A good sidecar with specials (CRLF, specials out of id order) still loads. */
    b = BAD_SIDECAR(dir, "{\"pattern\": \"o200k\",\r\n \"special_tokens\": {\"<|z|>\": 400, \"<|end\\u00e9|>\": 257}}\r\n", NULL, NULL);
    if (b) {
        CHECK_STR(rnnc_bpe_pattern(b), "o200k");
        CHECK_EQ_LL(rnnc_bpe_n_vocab(b), 401);
        rnnc_ids ids = {0};
        const char *t = "ab<|end\xC3\xA9|><|z|>";
        CHECK_EQ_LL(rnnc_bpe_encode(b, (const unsigned char *)t, strlen(t), true, &ids), RNNC_OK);
        CHECK(ids.len == 3 && ids.data[0] == 256 && ids.data[1] == 257 && ids.data[2] == 400);
        rnnc_ids_free(&ids);
    }
    rnnc_bpe_free(b);
    rmdir(dir);
}

/* A sidecar path used to be cut at 4096 bytes, so a long name silently lost its specials. Now a
 * sidecar that cannot be looked up is an error naming it. */
static void test_long_path(void) {
    char dir[] = "/tmp/rnnc_test_long_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[4200], comp[201];
    memset(comp, 'd', 200);
    comp[200] = 0;
    size_t n = (size_t)snprintf(path, sizeof path, "%s", dir);
    int depth = 0;
    while (n + 201 + 100 < 4090) { n += (size_t)snprintf(path + n, sizeof path - n, "/%s", comp); CHECK(mkdir(path, 0700) == 0); depth++; }
    /* The rank file's name takes the path to 4092 bytes: it opens, but name + ".json" is too long. */
    path[n++] = '/';
    while (n < 4092 - 9) path[n++] = 'x';
    memcpy(path + n, ".tiktoken", 10);
    CHECK_EQ_LL(strlen(path), 4092);
    char *ranks = byte_file("");
    write_text(path, ranks, strlen(ranks));
    free(ranks);
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_load(&b, path, NULL);
    CHECK_EQ_LL(st, RNNC_ERR_IO);
    CHECK(b == NULL);
    /* (The message names the whole path, so it is cut at the error buffer's 1 KiB: check the start.) */
    CHECK(strncmp(rnnc_last_error(), dir, strlen(dir)) == 0);
    rnnc_bpe_free(b);
    unlink(path);
    for (; depth > 0; depth--) { *strrchr(path, '/') = 0; rmdir(path); }
    rmdir(dir);
}

/* Ranks far apart (a short token with a rank beyond the compact table's 21 bits) still encode and
 * decode: such tokens live in the general table. */
static void test_sparse_high_ranks(void) {
    size_t n = (1u << 21) + 10;
    rnnc_token_bytes *tok = calloc(n, sizeof *tok);
    static unsigned char bytes[256];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; tok[i].data = bytes + i; tok[i].len = 1; }
    tok[300].data = (const unsigned char *)"ab";
    tok[300].len = 2;
    tok[n - 1].data = (const unsigned char *)"abc";
    tok[n - 1].len = 3;
    tok[n - 2].data = (const unsigned char *)"abcdefghij";
    tok[n - 2].len = 10;
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, n, "r50k", NULL, 0), RNNC_OK);
    free(tok);
    if (!b) return;
    const char *t = "abc abcdefghij ab";
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    CHECK_EQ_LL(rnnc_bpe_encode(b, (const unsigned char *)t, strlen(t), false, &ids), RNNC_OK);
    /* "abc" is one token; " abcdefghij" is none, and its merges go a+b, then ab+c, and stop (the
     * 10-byte token is never reached by pairs); " ab" is a space and "ab". */
    uint32_t want[12] = {(uint32_t)(n - 1), ' ', (uint32_t)(n - 1), 'd', 'e', 'f', 'g', 'h', 'i', 'j', ' ', 300};
    CHECK_EQ_LL(ids.len, 12);
    if (ids.len == 12) CHECK(memcmp(ids.data, want, sizeof want) == 0);
    CHECK_EQ_LL(rnnc_bpe_rank_of(b, (const unsigned char *)"abcdefghij", 10), n - 2);
    CHECK_EQ_LL(rnnc_bpe_decode(b, ids.data, ids.len, &back), RNNC_OK);
    CHECK(back.len == strlen(t) && memcmp(back.data, t, back.len) == 0);
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
    rnnc_bpe_free(b);
}

static void test_save_load_round_trip(void) {
    rnnc_token_bytes tok[260];
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; tok[i].data = bytes + i; tok[i].len = 1; }
    const char *merges[] = {"th", "the", " the", "\xE4\xB8"};
    for (int i = 0; i < 4; i++) { tok[256 + i].data = (const unsigned char *)merges[i]; tok[256 + i].len = strlen(merges[i]); }
    tok[258].data = NULL; /* a gap */
    rnnc_special_token sp[2] = {{"<|end|>", 300}, {"<|pad|>", 261}};
    rnnc_bpe *b = NULL, *c = NULL;
    CHECK_EQ_LL(rnnc_bpe_create(&b, tok, 260, "o200k", sp, 2), RNNC_OK);
    if (!b) return;
    char path[] = "test_bpe_save_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_LL(rnnc_bpe_save(b, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_bpe_load(&c, path, NULL), RNNC_OK);
    if (c) {
        CHECK_EQ_LL(rnnc_bpe_n_vocab(c), 301);
        CHECK_STR(rnnc_bpe_pattern(c), "o200k");
        CHECK_EQ_LL(rnnc_bpe_n_specials(c), 2);
        for (uint32_t id = 0; id < 301; id++) {
            rnnc_token_bytes x = rnnc_bpe_token(b, id), y = rnnc_bpe_token(c, id);
            CHECK(x.len == y.len && (x.data == NULL) == (y.data == NULL) && (!x.data || memcmp(x.data, y.data, x.len) == 0));
        }
        const char *t = "the theme<|end|> the<|pad|>\xE4\xB8\xAD";
        rnnc_ids i1 = {0}, i2 = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(b, (const unsigned char *)t, strlen(t), true, &i1), RNNC_OK);
        CHECK_EQ_LL(rnnc_bpe_encode(c, (const unsigned char *)t, strlen(t), true, &i2), RNNC_OK);
        CHECK(i1.len == i2.len && memcmp(i1.data, i2.data, i1.len * 4) == 0);
        CHECK(i1.len > 0 && i1.data[0] == 257);
        rnnc_ids_free(&i1);
        rnnc_ids_free(&i2);
    }
    rnnc_bpe_free(c);
    /* The same file with a user pattern given on load when the sidecar is gone. */
    char side[64];
    snprintf(side, sizeof side, "%s.json", path);
    unlink(side);
    c = NULL;
    CHECK_EQ_LL(rnnc_bpe_load(&c, path, "\\S+|\\s+"), RNNC_OK);
    if (c) {
        CHECK_STR(rnnc_bpe_pattern(c), "\\S+|\\s+");
        CHECK_EQ_LL(rnnc_bpe_n_specials(c), 0);
        rnnc_ids ids = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(c, (const unsigned char *)" the", 4, false, &ids), RNNC_OK);
        CHECK_EQ_LL(ids.len, 2); /* " " and "the": \S+ does not take the space */
        rnnc_ids_free(&ids);
    }
    rnnc_bpe_free(c);
    unlink(path);
    rnnc_bpe_free(b);
}

/* The PCRE2 path (a user regex spelling the same pattern) gives the same ids as the fast path. */
static void test_pcre2_path_matches(void) {
    if (!have_data) { printf("skipped\n"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/tiktoken/cl100k_base.tiktoken", rnnc_data_dir());
    const char *re = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*"
                     "|\\p{White_Space}*[\\r\\n]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";
    rnnc_bpe *b = NULL;
    CHECK_EQ_LL(rnnc_bpe_load(&b, path, re), RNNC_OK);
    if (!b || !enc[2]) { rnnc_bpe_free(b); return; }
    cJSON *j = fixtures();
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        size_t tlen;
        unsigned char *text = case_text(c, &tlen);
        rnnc_ids a = {0}, f = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(b, text, tlen, false, &a), RNNC_OK);
        CHECK_EQ_LL(rnnc_bpe_encode(enc[2], text, tlen, false, &f), RNNC_OK);
        free(text);
        CHECK_MSG(a.len == f.len && memcmp(a.data, f.data, a.len * 4) == 0, "%s", cJSON_GetObjectItem(c, "name")->valuestring);
        rnnc_ids_free(&a);
        rnnc_ids_free(&f);
    }
    cJSON_Delete(j);
    rnnc_bpe_free(b);
}

int main(void) {
    load_all();
    RUN(test_golden_cases);
    RUN(test_golden_recipes);
    RUN(test_huge_single_piece);
    RUN(test_random_bytes_round_trip);
    RUN(test_parallel_equals_serial);
    RUN(test_units_equal_utf8);
    RUN(test_specials);
    RUN(test_decode_errors);
    RUN(test_decode_long_special);
    RUN(test_malformed_files);
    RUN(test_missing_files);
    RUN(test_create_errors);
    RUN(test_special_errors);
    RUN(test_sidecar_errors);
    RUN(test_long_path);
    RUN(test_sparse_high_ranks);
    RUN(test_save_load_round_trip);
    RUN(test_pcre2_path_matches);
    for (int k = 0; k < 4; k++) rnnc_bpe_free(enc[k]);
    return test_report();
}
