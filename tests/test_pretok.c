/* Pre-tokenizer: coverage of every byte, built-in patterns on known splits, bad regexes. */
#include "rnnc/rnnc.h"
#include "rnnc/pretok.h"
#include "test.h"

typedef struct { char pieces[64][64]; int n; size_t total; } collect;

static int collect_fn(const unsigned char *piece, size_t len, void *ctx) {
    collect *c = ctx;
    if (c->n < 64 && len < 64) { memcpy(c->pieces[c->n], piece, len); c->pieces[c->n][len] = 0; }
    c->n++;
    c->total += len;
    return 0;
}

static void test_r50k_split(void) {
    rnnc_pretok *p;
    CHECK_EQ_LL(rnnc_pretok_new(&p, "r50k"), RNNC_OK);
    collect c = {0};
    const char *t = "Hello world's  123 ok!";
    CHECK_EQ_LL(rnnc_pretok_split(p, (const unsigned char *)t, strlen(t), collect_fn, &c), RNNC_OK);
    const char *want[] = {"Hello", " world", "'s", " ", " 123", " ok", "!"};
    CHECK_EQ_LL(c.n, 7);
    for (int i = 0; i < 7 && i < c.n; i++) CHECK_STR(c.pieces[i], want[i]);
    rnnc_pretok_free(p);
}

static void test_cl100k_digits_and_newlines(void) {
    rnnc_pretok *p;
    CHECK_EQ_LL(rnnc_pretok_new(&p, "cl100k_base"), RNNC_OK);
    CHECK_STR(rnnc_pretok_builtin(p), "cl100k");
    collect c = {0};
    const char *t = "12345\n\nI'M";
    CHECK_EQ_LL(rnnc_pretok_split(p, (const unsigned char *)t, strlen(t), collect_fn, &c), RNNC_OK);
    const char *want[] = {"123", "45", "\n\n", "I", "'M"};
    CHECK_EQ_LL(c.n, 5);
    for (int i = 0; i < 5 && i < c.n; i++) CHECK_STR(c.pieces[i], want[i]);
    rnnc_pretok_free(p);
}

static void test_invalid_utf8_is_kept(void) {
    rnnc_pretok *p;
    CHECK_EQ_LL(rnnc_pretok_new(&p, "o200k"), RNNC_OK);
    const unsigned char t[] = {'a', 'b', 0xFF, 0xC3, ' ', 'c', 0xE2, 0x82};
    collect c = {0};
    CHECK_EQ_LL(rnnc_pretok_split(p, t, sizeof t, collect_fn, &c), RNNC_OK);
    CHECK_EQ_LL(c.total, sizeof t);
    rnnc_pretok_free(p);
}

static void test_random_bytes_covered(void) {
    rnnc_pretok *p[3];
    CHECK_EQ_LL(rnnc_pretok_new(&p[0], "r50k"), RNNC_OK);
    CHECK_EQ_LL(rnnc_pretok_new(&p[1], "cl100k"), RNNC_OK);
    CHECK_EQ_LL(rnnc_pretok_new(&p[2], "\\w+|a*"), RNNC_OK); /* user regex with empty matches */
    rnnc_rng r;
    rnnc_rng_seed(&r, 7);
    unsigned char buf[300];
    for (int iter = 0; iter < 300; iter++) {
        size_t n = rnnc_rng_below(&r, sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(iter % 2 ? rnnc_rng_below(&r, 256) : (uint64_t)(unsigned char)" a1\n'\xc3\xa9!"[rnnc_rng_below(&r, 9)]);
        for (int k = 0; k < 3; k++) {
            collect c = {0};
            CHECK_EQ_LL(rnnc_pretok_split(p[k], buf, n, collect_fn, &c), RNNC_OK);
            CHECK_EQ_LL(c.total, n);
        }
    }
    for (int k = 0; k < 3; k++) rnnc_pretok_free(p[k]);
}

static void test_bad_regex(void) {
    rnnc_pretok *p;
    CHECK_EQ_LL(rnnc_pretok_new(&p, "(abc"), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "offset 4") != NULL);
    CHECK(strstr(rnnc_last_error(), "missing closing parenthesis") != NULL);
    CHECK_EQ_LL(rnnc_pretok_new(&p, ""), RNNC_ERR_ARG);
}

int main(void) {
    RUN(test_r50k_split);
    RUN(test_cl100k_digits_and_newlines);
    RUN(test_invalid_utf8_is_kept);
    RUN(test_random_bytes_covered);
    RUN(test_bad_regex);
    return test_report();
}
