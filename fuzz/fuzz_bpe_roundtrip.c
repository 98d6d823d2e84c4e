/* libFuzzer target: encode/decode round trips with a small tokenizer for each built-in pattern.
 * The first input byte picks the pattern and allow_special; the rest is the text. Checks that
 * decode(encode(x)) == x, that every id is in the vocabulary, and that the hand-written
 * pre-tokenizer splits exactly as PCRE2 does with the same pattern (for text whose code points
 * PCRE2's Unicode version classes like tiktoken's). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "tokenize/pretok_fast.h"
#include "tokenize/unicode_classes.h"

/* Code points whose class PCRE2 sees as the table does: PCRE2's Unicode may be older than
 * tiktoken's (the table's), and text with newer letters may split differently there. */
static unsigned char *agrees;

static void setup_agrees(void) {
    const char *res[5] = {"\\p{L}", "\\p{N}", "\\p{White_Space}", "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]",
                          "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"};
    const unsigned bits[5] = {RNNC_UC_L, RNNC_UC_N, RNNC_UC_S, RNNC_UC_A, RNNC_UC_B};
    pcre2_code *c[5];
    for (int k = 0; k < 5; k++) {
        int err;
        PCRE2_SIZE off;
        c[k] = pcre2_compile((PCRE2_SPTR)res[k], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &err, &off, NULL);
        if (!c[k]) __builtin_trap();
        pcre2_jit_compile(c[k], PCRE2_JIT_COMPLETE);
    }
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    agrees = calloc(0x110000, 1);
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        unsigned char u[4];
        int n = rnnc_utf8_encode(cp, u);
        if (!n) continue;
        unsigned want = 0;
        for (int k = 0; k < 5; k++)
            if (pcre2_match(c[k], u, (size_t)n, 0, 0, md, NULL) > 0) want |= bits[k];
        agrees[cp] = want == rnnc_pretok_uclass(cp);
    }
    pcre2_match_data_free(md);
    for (int k = 0; k < 5; k++) pcre2_code_free(c[k]);
}

static int comparable(const unsigned char *t, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = rnnc_utf8_decode(t + i, n - i, &cp);
        if (k == 0) { i++; continue; }
        if (!agrees[cp]) return 0;
        i += (size_t)k;
    }
    return 1;
}

static rnnc_bpe *tok[3];
static rnnc_pretok *pre[3];
static const char *const PATTERNS[3] = {"r50k", "cl100k", "o200k"};

/* A vocabulary: the 256 bytes, then merges that real text hits (including long ones and ones
 * that make tokens across the pieces' usual shapes). */
static const char *const MERGES[] = {
    "th", "the", " t", " th", " the", "in", "ing", "er", "an", "and", " and", "on", "re", "es", "is", "it",
    "aa", "aaa", "aaaa", "ab", "abab", "  ", "    ", "\n\n", "'s", "'t", "12", "123", "..", "\xE4\xB8", "\xE4\xB8\xAD",
    "\xC3\xA9", "\xF0\x9F", "\xF0\x9F\x98", "ion", "tion", " of", "ed", " a", "ou", "ha", "hat", " that",
};

static void setup(void) {
    static unsigned char bytes[256];
    size_t nm = sizeof MERGES / sizeof MERGES[0];
    rnnc_token_bytes *t = calloc(256 + nm, sizeof *t);
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; t[i].data = bytes + i; t[i].len = 1; }
    for (size_t i = 0; i < nm; i++) { t[256 + i].data = (const unsigned char *)MERGES[i]; t[256 + i].len = strlen(MERGES[i]); }
    rnnc_special_token sp[2] = {{"<|endoftext|>", (uint32_t)(256 + nm)}, {"<|x|>", (uint32_t)(300 + nm)}};
    for (int k = 0; k < 3; k++) {
        if (rnnc_bpe_create(&tok[k], t, 256 + nm, PATTERNS[k], sp, 2) != RNNC_OK) __builtin_trap();
        if (rnnc_pretok_new(&pre[k], PATTERNS[k]) != RNNC_OK) __builtin_trap();
    }
    free(t);
    setup_agrees();
}

typedef struct { size_t *ends; size_t n, cap; } bounds;

static int bound_fn(const unsigned char *piece, size_t len, void *ctx) {
    (void)piece;
    bounds *b = ctx;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->ends = realloc(b->ends, b->cap * sizeof *b->ends);
    }
    b->ends[b->n] = (b->n ? b->ends[b->n - 1] : 0) + len;
    b->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!tok[0]) setup();
    if (size == 0) return 0;
    int k = data[0] % 3, special = (data[0] >> 2) & 1;
    const unsigned char *text = data + 1;
    size_t n = size - 1;
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    if (rnnc_bpe_encode(tok[k], text, n, special, &ids) != RNNC_OK) __builtin_trap();
    for (size_t i = 0; i < ids.len; i++)
        if (ids.data[i] >= rnnc_bpe_n_vocab(tok[k]) || !rnnc_bpe_token(tok[k], ids.data[i]).data) __builtin_trap();
    if (rnnc_bpe_decode(tok[k], ids.data, ids.len, &back) != RNNC_OK) __builtin_trap();
    if (back.len != n || (n && memcmp(back.data, text, n) != 0)) __builtin_trap();
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);

    if (!comparable(text, n)) return 0;
    bounds fast = {0}, ref = {0};
    rnnc_pretok_split(pre[k], text, n, bound_fn, &fast);
    rnnc_pretok_split_pcre2(pre[k], text, n, bound_fn, &ref);
    if (fast.n != ref.n || (fast.n && memcmp(fast.ends, ref.ends, fast.n * sizeof *fast.ends) != 0)) __builtin_trap();
    free(fast.ends);
    free(ref.ends);
    return 0;
}
