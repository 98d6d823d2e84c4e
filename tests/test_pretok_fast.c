/* The hand-written pre-tokenizers for r50k, cl100k and o200k against PCRE2 running tiktoken's
 * regexes: the class table for every code point, then the exact pieces of many random and
 * adversarial strings (all character classes, space and newline runs, contractions in both cases,
 * digits, invalid UTF-8). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rnnc/rnnc.h"
#include "tokenize/pretok_fast.h"
#include "tokenize/unicode_classes.h"
#include "test.h"

static const char *const KINDS[3] = {"r50k", "cl100k", "o200k"};

/* Code points whose table class agrees with PCRE2 (PCRE2's Unicode may be older than tiktoken's:
 * code points it does not know are left out of the random strings). */
static unsigned char agrees[0x110000];

static pcre2_code *compile_anchored(const char *re) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &err, &off, NULL);
    if (c) pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

static void test_class_table_matches_pcre2(void) {
    const char *res[6] = {"\\p{L}", "\\p{N}", "\\p{White_Space}", "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]",
                          "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]", "\\p{Cn}"};
    const unsigned bits[5] = {RNNC_UC_L, RNNC_UC_N, RNNC_UC_S, RNNC_UC_A, RNNC_UC_B};
    pcre2_code *c[6];
    for (int k = 0; k < 6; k++) { c[k] = compile_anchored(res[k]); CHECK(c[k] != NULL); }
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    size_t known = 0, mismatched = 0, newer = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        unsigned char u[4];
        int n = rnnc_utf8_encode(cp, u);
        if (!n) continue;
        unsigned want = 0;
        for (int k = 0; k < 5; k++)
            if (pcre2_match(c[k], u, (size_t)n, 0, 0, md, NULL) > 0) want |= bits[k];
        int unassigned = pcre2_match(c[5], u, (size_t)n, 0, 0, md, NULL) > 0;
        unsigned got = rnnc_pretok_uclass(cp);
        if (got == want) { agrees[cp] = 1; known++; }
        else if (unassigned) newer++; /* assigned after PCRE2's Unicode version */
        else {
            if (mismatched < 10) fprintf(stderr, "U+%04X: table %u, PCRE2 %u\n", (unsigned)cp, got, want);
            mismatched++;
        }
    }
    printf("  class table: %zu code points agree with PCRE2, %zu newer than PCRE2's Unicode, %zu differ\n",
           known, newer, mismatched);
    /* A handful may differ where a later Unicode version recategorised a character. */
    CHECK_MSG(mismatched <= 16, "%zu code points differ", mismatched);
    CHECK(known > 1000000);
    pcre2_match_data_free(md);
    for (int k = 0; k < 6; k++) pcre2_code_free(c[k]);
}

typedef struct { size_t ends[8192]; size_t n; } bounds;

static int bound_fn(const unsigned char *piece, size_t len, void *ctx) {
    (void)piece;
    bounds *b = ctx;
    size_t prev = b->n ? b->ends[b->n - 1] : 0;
    if (b->n < 8192) b->ends[b->n++] = prev + len;
    return 0;
}

/* Pieces of the adversarial alphabet (UTF-8 and invalid sequences). */
static const char *const ATOMS[] = {
    "a", "b", "Z", "Q", "s", "S", "t", "T", "l", "L", "e", "E", "r", "v", "m", "d", "D", "0", "7", "42",
    " ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", "\v", "\f", "'", "'", "'s", "'S", "'ll", "'LL", "'Re", "'ve",
    "'m", "'D", "'t", "'\xC5\xBF", "\xC5\xBF", "/", "//", "!", ".", ",", "-", "?", "\"", "(", "$", "_", "@",
    "\xC3\xA9", "\xC3\x89", "\xC7\x85", "\xCA\xB0", "\xE4\xB8\xAD", "\xED\x95\x9C", "\xEA\xB5\xAD", "\xCC\x81",
    "\xE0\xA4\x83", "\xE2\x85\xAB", "\xC2\xB2", "\xD9\xA3", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\xA8",
    "\xC2\x85", "\xE1\xA0\x8E", "\xE2\x80\x8B", "\xF0\x9F\x98\x80", "\xE2\x80\x8D", "\xF0\x9F\x91\xA8",
    "\xEF\xB8\x8F", "\xE2\x80\x9C", "\xD0\x96", "\xD0\xB6", "\xCE\xA3", "\xE1\xBE\x88",
    "\xFF", "\x80", "\xE2\x82", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\xF0\x9F\x98",
};

static size_t random_string(rnnc_rng *r, unsigned char *buf, size_t cap, int mode) {
    size_t n = 0, want = 1 + rnnc_rng_below(r, cap / 8);
    while (n + 8 < cap && n < want) {
        uint64_t pick = rnnc_rng_below(r, 10);
        if (mode == 0 || pick < 6) {
            const char *a = ATOMS[rnnc_rng_below(r, sizeof ATOMS / sizeof ATOMS[0])];
            size_t k = strlen(a);
            memcpy(buf + n, a, k);
            n += k;
        } else if (mode == 1 || pick < 9) { /* a random code point PCRE2 and the table agree on */
            uint32_t cp;
            do {
                uint64_t range = rnnc_rng_below(r, 4);
                cp = (uint32_t)(range == 0 ? rnnc_rng_below(r, 0x80) : range == 1 ? rnnc_rng_below(r, 0x800)
                                : range == 2 ? rnnc_rng_below(r, 0x10000) : rnnc_rng_below(r, 0x110000));
            } while (!agrees[cp] || (cp >= 0xD800 && cp <= 0xDFFF));
            n += (size_t)rnnc_utf8_encode(cp, buf + n);
        } else {
            buf[n++] = (unsigned char)rnnc_rng_below(r, 256);
        }
    }
    return n;
}

static void test_fast_equals_pcre2_random(void) {
    rnnc_pretok *p[3];
    for (int k = 0; k < 3; k++) CHECK_EQ_LL(rnnc_pretok_new(&p[k], KINDS[k]), RNNC_OK);
    rnnc_rng r;
    rnnc_rng_seed(&r, 2024);
    static unsigned char buf[2048];
    static bounds fast, ref;
    int reported = 0;
    size_t strings = 0;
    for (int iter = 0; iter < 6000; iter++) {
        size_t n = random_string(&r, buf, sizeof buf, iter % 3);
        for (int k = 0; k < 3; k++) {
            fast.n = ref.n = 0;
            CHECK_EQ_LL(rnnc_pretok_split(p[k], buf, n, bound_fn, &fast), RNNC_OK);
            CHECK_EQ_LL(rnnc_pretok_split_pcre2(p[k], buf, n, bound_fn, &ref), RNNC_OK);
            int same = fast.n == ref.n && memcmp(fast.ends, ref.ends, fast.n * sizeof fast.ends[0]) == 0;
            CHECK(same);
            if (!same && reported++ < 3) {
                fprintf(stderr, "%s differs on:", KINDS[k]);
                for (size_t i = 0; i < n && i < 80; i++) fprintf(stderr, " %02x", buf[i]);
                size_t i = 0;
                while (i < fast.n && i < ref.n && fast.ends[i] == ref.ends[i]) i++;
                fprintf(stderr, "\n  first difference at piece %zu: fast ends %zu, pcre2 ends %zu\n", i,
                        i < fast.n ? fast.ends[i] : 0, i < ref.n ? ref.ends[i] : 0);
            }
            strings++;
        }
    }
    printf("  %zu random strings split identically\n", strings);
    for (int k = 0; k < 3; k++) rnnc_pretok_free(p[k]);
}

/* Long runs where backtracking matters: many spaces before a word, uppercase before lowercase,
 * marks before letters, newlines inside space runs. */
static void test_fast_equals_pcre2_runs(void) {
    const char *unit[] = {" ", "\n", " \n ", "A", "\xC7\x85", "\xCC\x81", "a", "1", "!", "\xE3\x80\x80", "'", "/"};
    size_t nu = sizeof unit / sizeof unit[0];
    rnnc_pretok *p[3];
    for (int k = 0; k < 3; k++) CHECK_EQ_LL(rnnc_pretok_new(&p[k], KINDS[k]), RNNC_OK);
    static unsigned char buf[4096];
    static bounds fast, ref;
    for (size_t a = 0; a < nu; a++)
        for (size_t b = 0; b < nu; b++)
            for (size_t c = 0; c < nu; c++) {
                size_t n = 0;
                for (int rep = 0; rep < 50; rep++) { memcpy(buf + n, unit[a], strlen(unit[a])); n += strlen(unit[a]); }
                memcpy(buf + n, unit[b], strlen(unit[b])); n += strlen(unit[b]);
                for (int rep = 0; rep < 3; rep++) { memcpy(buf + n, unit[c], strlen(unit[c])); n += strlen(unit[c]); }
                for (int k = 0; k < 3; k++) {
                    fast.n = ref.n = 0;
                    rnnc_pretok_split(p[k], buf, n, bound_fn, &fast);
                    rnnc_pretok_split_pcre2(p[k], buf, n, bound_fn, &ref);
                    CHECK_MSG(fast.n == ref.n && memcmp(fast.ends, ref.ends, fast.n * sizeof fast.ends[0]) == 0,
                              "%s: units %zu %zu %zu", KINDS[k], a, b, c);
                }
            }
    for (int k = 0; k < 3; k++) rnnc_pretok_free(p[k]);
}

int main(void) {
    RUN(test_class_table_matches_pcre2);
    RUN(test_fast_equals_pcre2_random);
    RUN(test_fast_equals_pcre2_runs);
    return test_report();
}
