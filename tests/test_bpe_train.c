/* BPE training: merges known by hand, agreement with a naive O(n^2) reference trainer on random
 * corpora (same merges, same order, same counts), determinism across runs, thread counts and chunk
 * sizes, vocabulary sizes, min_frequency, special tokens, long pieces, and the bad inputs. */
#include "rnnc/rnnc.h"
#include "tokenize/bpe_internal.h"
#include "test.h"

#include <unistd.h>

static rnnc_bpe_train_opts opts_of(size_t vocab, const char *pattern) {
    rnnc_bpe_train_opts o;
    memset(&o, 0, sizeof o);
    o.vocab_size = vocab;
    o.pattern = pattern;
    o.threads = 2;
    return o;
}

static rnnc_status train1(const char *text, size_t len, const rnnc_bpe_train_opts *o, size_t chunk, rnnc_bpe_ranks *r) {
    const unsigned char *t = (const unsigned char *)text;
    return rnnc_bpe_train_ranks(&t, &len, 1, o, chunk, r);
}

static int tok_is(const rnnc_bpe_ranks *r, size_t id, const char *s) {
    size_t n = strlen(s);
    return id < r->n_tokens && r->off[id + 1] - r->off[id] == n && memcmp(r->bytes + r->off[id], s, n) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* A naive reference trainer: every piece occurrence kept separately as an array of ids; each step
 * recounts all adjacent pairs from scratch, takes the largest count (ties: smaller left id, then
 * smaller right id), and merges left to right in every piece. */

typedef struct { uint32_t *ids; size_t n; } ref_piece;
typedef struct { ref_piece *v; size_t n, cap; } ref_pieces;

static int ref_collect(const unsigned char *piece, size_t len, void *ctx) {
    ref_pieces *P = ctx;
    if (P->n == P->cap) {
        P->cap = P->cap ? 2 * P->cap : 64;
        P->v = realloc(P->v, P->cap * sizeof *P->v);
    }
    ref_piece *p = &P->v[P->n++];
    p->ids = malloc(len * sizeof *p->ids);
    p->n = len;
    for (size_t i = 0; i < len; i++) p->ids[i] = piece[i];
    return 0;
}

typedef struct { unsigned char *bytes[70000]; size_t len[70000]; size_t n; } ref_vocab;

static void ref_train(const char *text, size_t len, const char *pattern, size_t vocab, uint64_t min_freq,
                      rnnc_bpe_merge *merges, size_t *n_merges, uint64_t *final_tokens) {
    ref_pieces P = {0};
    rnnc_pretok *pt;
    CHECK_EQ_LL(rnnc_pretok_new(&pt, pattern), RNNC_OK);
    CHECK_EQ_LL(rnnc_pretok_split(pt, (const unsigned char *)text, len, ref_collect, &P), RNNC_OK);
    rnnc_pretok_free(pt);
    static ref_vocab V;
    V.n = 256;
    for (size_t i = 0; i < 256; i++) {
        V.bytes[i] = malloc(1);
        V.bytes[i][0] = (unsigned char)i;
        V.len[i] = 1;
    }
    if (min_freq < 1) min_freq = 1;
    *n_merges = 0;
    typedef struct { uint32_t a, b; uint64_t c; } pc;
    pc *counts = NULL;
    size_t n_counts = 0, cap_counts = 0;
    while (V.n < vocab) {
        n_counts = 0;
        for (size_t k = 0; k < P.n; k++)
            for (size_t i = 0; i + 1 < P.v[k].n; i++) {
                uint32_t a = P.v[k].ids[i], b = P.v[k].ids[i + 1];
                size_t j = 0;
                while (j < n_counts && !(counts[j].a == a && counts[j].b == b)) j++;
                if (j == n_counts) {
                    if (n_counts == cap_counts) {
                        cap_counts = cap_counts ? 2 * cap_counts : 256;
                        counts = realloc(counts, cap_counts * sizeof *counts);
                    }
                    counts[n_counts++] = (pc){a, b, 0};
                }
                counts[j].c++;
            }
        size_t best = n_counts;
        for (size_t j = 0; j < n_counts; j++)
            if (best == n_counts || counts[j].c > counts[best].c ||
                (counts[j].c == counts[best].c &&
                 (counts[j].a < counts[best].a || (counts[j].a == counts[best].a && counts[j].b < counts[best].b))))
                best = j;
        if (best == n_counts || counts[best].c < min_freq) break;
        uint32_t a = counts[best].a, b = counts[best].b;
        size_t l = V.len[a] + V.len[b];
        unsigned char *cat = malloc(l);
        memcpy(cat, V.bytes[a], V.len[a]);
        memcpy(cat + V.len[a], V.bytes[b], V.len[b]);
        uint32_t id = (uint32_t)V.n;
        for (size_t t = 0; t < V.n; t++)
            if (V.len[t] == l && memcmp(V.bytes[t], cat, l) == 0) id = (uint32_t)t;
        if (id == V.n) {
            V.bytes[V.n] = cat;
            V.len[V.n++] = l;
        } else {
            free(cat);
        }
        merges[(*n_merges)++] = (rnnc_bpe_merge){a, b, id, counts[best].c};
        for (size_t k = 0; k < P.n; k++) {
            size_t w = 0;
            for (size_t i = 0; i < P.v[k].n; i++) {
                if (i + 1 < P.v[k].n && P.v[k].ids[i] == a && P.v[k].ids[i + 1] == b) {
                    P.v[k].ids[w++] = id;
                    i++;
                } else {
                    P.v[k].ids[w++] = P.v[k].ids[i];
                }
            }
            P.v[k].n = w;
        }
    }
    *final_tokens = 0;
    for (size_t k = 0; k < P.n; k++) {
        *final_tokens += P.v[k].n;
        free(P.v[k].ids);
    }
    free(P.v);
    free(counts);
    for (size_t i = 0; i < V.n; i++) free(V.bytes[i]);
}

/* ------------------------------------------------------------------------------------------ */

/* The classic example: "aaabdaaabac" as one piece. Pairs (overlaps counted): aa 4, ab 2, and
 * the rest 1. Merge 1: aa (count 4) -> "Z a b d Z a b a c" (left to right: aaab = aa a b).
 * Merge 2: Za and ab both count 2; ab wins (left id 'a' = 97 < Z = 256) -> "Z Y d Z Y a c".
 * Merge 3: ZY (2) = "aaab". Then all counts are 1 and the smallest left id goes first:
 * (a, c) = "ac", then (d, X) = "daaab", then (X, V) = "aaabdaaab", then the whole string. */
static void test_hand_example(void) {
    const char *t = "aaabdaaabac";
    rnnc_bpe_train_opts o = opts_of(1000, "[a-z]+");
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, strlen(t), &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_pieces, 1);
    CHECK_EQ_LL(r.n_merges, 7);
    CHECK_EQ_LL(r.n_tokens, 263);
    const char *want[] = {"aa", "ab", "aaab", "ac", "daaab", "aaabdaaab", "aaabdaaabac"};
    const uint64_t counts[] = {4, 2, 2, 1, 1, 1, 1};
    for (int i = 0; i < 7; i++) {
        CHECK_MSG(tok_is(&r, 256 + (size_t)i, want[i]), "token %d is not %s", 256 + i, want[i]);
        CHECK_EQ_LL(r.merges[i].count, counts[i]);
        CHECK_EQ_LL(r.merges[i].id, 256 + i);
    }
    CHECK_EQ_LL(r.merges[0].left, 'a');
    CHECK_EQ_LL(r.merges[0].right, 'a');
    CHECK_EQ_LL(r.merges[2].left, 256);
    CHECK_EQ_LL(r.merges[2].right, 257);
    CHECK_EQ_LL(r.n_final_tokens, 1);
    rnnc_bpe_ranks_free(&r);

    /* vocab_size stops it after three merges, min_frequency = 2 too (the next best count is 1). */
    o.vocab_size = 259;
    CHECK_EQ_LL(train1(t, strlen(t), &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_tokens, 259);
    CHECK_EQ_LL(r.n_final_tokens, 5); /* X d X a c */
    rnnc_bpe_ranks_free(&r);
    o.vocab_size = 1000;
    o.min_frequency = 2;
    CHECK_EQ_LL(train1(t, strlen(t), &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_tokens, 259);
    CHECK(tok_is(&r, 258, "aaab"));
    rnnc_bpe_ranks_free(&r);
}

/* Pieces are weighted by frequency: "ab" x3 and "cd" x2 as separate words. */
static void test_weighted_pieces(void) {
    const char *t = "ab cd ab cd ab";
    rnnc_bpe_train_opts o = opts_of(258, "[a-z]+| ");
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, strlen(t), &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_pieces, 9);
    CHECK_EQ_LL(r.n_unique, 3);
    CHECK(tok_is(&r, 256, "ab"));
    CHECK(tok_is(&r, 257, "cd"));
    CHECK_EQ_LL(r.merges[0].count, 3);
    CHECK_EQ_LL(r.merges[1].count, 2);
    CHECK_EQ_LL(r.n_final_tokens, 9);
    rnnc_bpe_ranks_free(&r);
}

/* Random text over a small lexicon, with newlines, digits, punctuation, non-ASCII letters and a
 * few stray bytes that are not UTF-8. */
static char *random_corpus(rnnc_rng *g, size_t n_words, size_t *len) {
    static const char *const lex[] = {"the", "then", "there", "a", "an", "and", "low", "lower", "lowest",
                                      "new", "newer", "wide", "widest", "aaaa", "ab", "ba", "café",
                                      "naïve", "日本", "12", "2024", "'s", "!", "...", "x"};
    size_t nl = sizeof lex / sizeof lex[0], cap = n_words * 12 + 16, n = 0;
    char *s = malloc(cap);
    for (size_t w = 0; w < n_words; w++) {
        uint64_t k = rnnc_rng_below(g, 20);
        if (k == 0 && n) s[n++] = '\n';
        else if (k < 15 && n) s[n++] = ' ';
        else if (k == 15) s[n++] = (char)(0x80 + rnnc_rng_below(g, 0x40)); /* a stray continuation byte */
        const char *word = lex[rnnc_rng_below(g, nl)];
        size_t l = strlen(word);
        memcpy(s + n, word, l);
        n += l;
    }
    *len = n;
    return s;
}

static void compare_with_reference(const char *t, size_t len, const char *pattern, size_t vocab, uint64_t minf,
                                   size_t chunk, int threads) {
    static rnnc_bpe_merge want[4096];
    size_t n_want;
    uint64_t final_want;
    ref_train(t, len, pattern, vocab, minf, want, &n_want, &final_want);
    rnnc_bpe_train_opts o = opts_of(vocab, pattern);
    o.min_frequency = minf;
    o.threads = threads;
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, len, &o, chunk, &r), RNNC_OK);
    CHECK_MSG(r.n_merges == n_want, "%s: %zu merges, reference %zu", pattern, r.n_merges, n_want);
    size_t bad = 0;
    for (size_t i = 0; i < r.n_merges && i < n_want; i++) {
        if (r.merges[i].left != want[i].left || r.merges[i].right != want[i].right || r.merges[i].id != want[i].id ||
            r.merges[i].count != want[i].count) {
            if (!bad++)
                CHECK_MSG(0, "%s: merge %zu is (%u,%u)->%u x%llu, reference (%u,%u)->%u x%llu", pattern, i,
                          r.merges[i].left, r.merges[i].right, r.merges[i].id, (unsigned long long)r.merges[i].count,
                          want[i].left, want[i].right, want[i].id, (unsigned long long)want[i].count);
        }
    }
    CHECK_EQ_LL(bad, 0);
    CHECK_EQ_LL(r.n_final_tokens, final_want);
    rnnc_bpe_ranks_free(&r);
}

static void test_against_reference(void) {
    static const char *const patterns[] = {"cl100k", "r50k", "o200k", "[a-z]+|[^a-z]"};
    rnnc_rng g;
    rnnc_rng_seed(&g, 12345);
    for (int round = 0; round < 8; round++) {
        size_t len;
        char *t = random_corpus(&g, 150 + 60 * (size_t)round, &len);
        const char *pat = patterns[round % 4];
        size_t vocab = 256 + 20 + 15 * (size_t)round;
        /* Small chunks exercise the parallel counting and its cut points. */
        compare_with_reference(t, len, pat, vocab, 0, round % 2 ? 16 : 0, 1 + round % 3);
        compare_with_reference(t, len, pat, 100000, 3, 32, 2); /* until min_frequency stops it */
        free(t);
    }
    /* Arbitrary bytes (mostly not UTF-8) from a small alphabet, so that pairs repeat. */
    for (int round = 0; round < 3; round++) {
        size_t n = 2500;
        char *b = malloc(n);
        static const unsigned char alphabet[9] = {0x80, 0xc3, 0xa9, ' ', '\n', 0xff, 0x00, 'a', 'b'};
        for (size_t i = 0; i < n; i++) b[i] = (char)alphabet[rnnc_rng_below(&g, 9)];
        compare_with_reference(b, n, patterns[round], 360, 0, round ? 64 : 0, 2);
        free(b);
    }
    /* One long piece without whitespace, with runs that overlap themselves. */
    size_t n = 3000;
    char *t = malloc(n);
    for (size_t i = 0; i < n; i++) t[i] = "aab"[rnnc_rng_below(&g, 3)];
    compare_with_reference(t, n, "[a-z]+", 400, 0, 0, 2);
    free(t);
}

/* A tiktoken-style encoder written for the test: in each piece, repeatedly merge the adjacent
 * pair whose concatenation has the lowest rank (the leftmost among equals). Returns the number
 * of tokens of the whole text. */
static const rnnc_bpe_ranks *cmp_ranks;
static int cmp_tok(const void *x, const void *y) {
    const rnnc_bpe_ranks *r = cmp_ranks;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    size_t la = r->off[a + 1] - r->off[a], lb = r->off[b + 1] - r->off[b];
    if (la != lb) return la < lb ? -1 : 1;
    return memcmp(r->bytes + r->off[a], r->bytes + r->off[b], la);
}
typedef struct { const rnnc_bpe_ranks *r; const uint32_t *sorted; uint64_t tokens; } rank_enc;
static long rank_of(const rank_enc *e, const unsigned char *s, size_t n) {
    size_t lo = 0, hi = e->r->n_tokens;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t t = e->sorted[mid];
        size_t lt = e->r->off[t + 1] - e->r->off[t];
        int c = lt != n ? (lt < n ? -1 : 1) : memcmp(e->r->bytes + e->r->off[t], s, n);
        if (c == 0) return t;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}
static int rank_encode_piece(const unsigned char *piece, size_t len, void *ctx) {
    rank_enc *e = ctx;
    size_t *start = malloc((len + 1) * sizeof *start), n = len; /* part i is piece[start[i] .. start[i+1]) */
    for (size_t i = 0; i <= len; i++) start[i] = i;
    for (;;) {
        long best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            long r = rank_of(e, piece + start[i], start[i + 2] - start[i]);
            if (r >= 0 && (best < 0 || r < best)) { best = r; at = i; }
        }
        if (best < 0) break;
        memmove(start + at + 1, start + at + 2, (n - at - 1) * sizeof *start);
        n--;
    }
    e->tokens += n;
    free(start);
    return 0;
}
static uint64_t rank_encode_count(const rnnc_bpe_ranks *r, const char *pattern, const char *t, size_t len) {
    uint32_t *sorted = malloc(r->n_tokens * sizeof *sorted);
    for (uint32_t i = 0; i < r->n_tokens; i++) sorted[i] = i;
    cmp_ranks = r;
    qsort(sorted, r->n_tokens, sizeof *sorted, cmp_tok);
    rank_enc e = {r, sorted, 0};
    rnnc_pretok *pt;
    CHECK_EQ_LL(rnnc_pretok_new(&pt, pattern), RNNC_OK);
    CHECK_EQ_LL(rnnc_pretok_split(pt, (const unsigned char *)t, len, rank_encode_piece, &e), RNNC_OK);
    rnnc_pretok_free(pt);
    free(sorted);
    return e.tokens;
}

/* Lowest-rank-first encoding of the training text gives training's own segmentation (token
 * count), since merges are ranked in the order training made them. */
static void test_rank_encoding_reproduces_training(void) {
    static const char *const patterns[] = {"cl100k", "r50k", "o200k", "[a-z]+|[^a-z]"};
    rnnc_rng g;
    rnnc_rng_seed(&g, 2024);
    for (int round = 0; round < 8; round++) {
        size_t len;
        char *t = random_corpus(&g, 2000, &len);
        const char *pat = patterns[round % 4];
        rnnc_bpe_train_opts o = opts_of(280 + 60 * (size_t)round, pat);
        rnnc_bpe_ranks r;
        CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
        CHECK_EQ_LL(r.n_merges, r.n_tokens - 256); /* no two merges made the same bytes here */
        CHECK_MSG(rank_encode_count(&r, pat, t, len) == r.n_final_tokens, "%s: rank encoding differs from training", pat);
        rnnc_bpe_ranks_free(&r);
        free(t);
    }
    /* Overlapping runs: "aaa" is "aa" "a" both ways. */
    size_t n = 2000;
    char *t = malloc(n);
    for (size_t i = 0; i < n; i++) t[i] = "aab "[rnnc_rng_below(&g, 4)];
    rnnc_bpe_train_opts o = opts_of(330, "[ab]+| ");
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, n, &o, 0, &r), RNNC_OK);
    if (r.n_merges == r.n_tokens - 256) CHECK_EQ_LL(rank_encode_count(&r, "[ab]+| ", t, n), r.n_final_tokens);
    rnnc_bpe_ranks_free(&r);
    free(t);
}

static int same_ranks(const rnnc_bpe_ranks *x, const rnnc_bpe_ranks *y) {
    if (x->n_tokens != y->n_tokens || x->n_merges != y->n_merges || x->n_final_tokens != y->n_final_tokens ||
        memcmp(x->off, y->off, (x->n_tokens + 1) * sizeof *x->off) || memcmp(x->bytes, y->bytes, x->off[x->n_tokens]))
        return 0;
    for (size_t m = 0; m < x->n_merges; m++) /* field by field: the struct has padding */
        if (x->merges[m].left != y->merges[m].left || x->merges[m].right != y->merges[m].right ||
            x->merges[m].id != y->merges[m].id || x->merges[m].count != y->merges[m].count)
            return 0;
    return 1;
}

/* Same input, same output: again, with 1, 2 and 3 threads, and with any chunk size. */
static void test_determinism(void) {
    rnnc_rng g;
    rnnc_rng_seed(&g, 7);
    size_t len;
    char *t = random_corpus(&g, 20000, &len);
    rnnc_bpe_train_opts o = opts_of(600, "cl100k");
    rnnc_bpe_ranks base, r;
    o.threads = 1;
    CHECK_EQ_LL(train1(t, len, &o, 0, &base), RNNC_OK);
    CHECK_EQ_LL(base.n_tokens, 600);
    const int threads[] = {1, 2, 3, 2};
    const size_t chunks[] = {0, 0, 100, 1000};
    for (int i = 0; i < 4; i++) {
        o.threads = threads[i];
        CHECK_EQ_LL(train1(t, len, &o, chunks[i], &r), RNNC_OK);
        CHECK_MSG(same_ranks(&base, &r), "threads %d chunk %zu differ", threads[i], chunks[i]);
        rnnc_bpe_ranks_free(&r);
    }
    rnnc_bpe_ranks_free(&base);
    free(t);
}

/* Sizes: the vocabulary is filled exactly; every token is new bytes made of two older tokens. */
static void test_vocab_sizes(void) {
    rnnc_rng g;
    rnnc_rng_seed(&g, 99);
    size_t len;
    char *t = random_corpus(&g, 5000, &len);
    const size_t sizes[] = {256, 257, 300, 500};
    for (int s = 0; s < 4; s++) {
        rnnc_bpe_train_opts o = opts_of(sizes[s], "cl100k");
        rnnc_bpe_ranks r;
        CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
        CHECK_EQ_LL(r.n_tokens, sizes[s]);
        for (size_t i = 0; i < 256 && i < r.n_tokens; i++) CHECK(r.off[i + 1] - r.off[i] == 1 && r.bytes[r.off[i]] == i);
        int distinct = 1, composed = 1;
        for (size_t m = 0; m < r.n_merges; m++) {
            const rnnc_bpe_merge *M = &r.merges[m];
            size_t la = r.off[M->left + 1] - r.off[M->left], lb = r.off[M->right + 1] - r.off[M->right];
            if (M->left >= M->id || M->right >= M->id || r.off[M->id + 1] - r.off[M->id] != la + lb ||
                memcmp(r.bytes + r.off[M->id], r.bytes + r.off[M->left], la) ||
                memcmp(r.bytes + r.off[M->id] + la, r.bytes + r.off[M->right], lb))
                composed = 0;
        }
        for (size_t i = 256; i < r.n_tokens; i++)
            for (size_t j = 256; j < i; j++)
                if (r.off[i + 1] - r.off[i] == r.off[j + 1] - r.off[j] &&
                    !memcmp(r.bytes + r.off[i], r.bytes + r.off[j], r.off[i + 1] - r.off[i]))
                    distinct = 0;
        CHECK(distinct);
        CHECK(composed);
        rnnc_bpe_ranks_free(&r);
    }
    free(t);
}

/* min_frequency: every merge has at least that count, and training stops before the next pair
 * below it (the reference comparison checks the exact stopping point). */
static void test_min_frequency(void) {
    rnnc_rng g;
    rnnc_rng_seed(&g, 5);
    size_t len;
    char *t = random_corpus(&g, 3000, &len);
    rnnc_bpe_train_opts o = opts_of(100000, "cl100k");
    o.min_frequency = 50;
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
    CHECK(r.n_merges > 0 && r.n_tokens < 100000);
    for (size_t m = 0; m < r.n_merges; m++) CHECK(r.merges[m].count >= 50);
    rnnc_bpe_ranks_free(&r);
    /* 0 and 1 both mean "no limit": training runs until no pair is left. */
    o.min_frequency = 0;
    rnnc_bpe_ranks r0, r1;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r0), RNNC_OK);
    o.min_frequency = 1;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r1), RNNC_OK);
    CHECK(same_ranks(&r0, &r1));
    CHECK_EQ_LL(r0.n_final_tokens, r0.n_pieces); /* every piece became one token */
    rnnc_bpe_ranks_free(&r0);
    rnnc_bpe_ranks_free(&r1);
    free(t);
}

/* Special-token text in the corpus is a boundary: no token grows across or into it. */
static void test_specials_cut_the_corpus(void) {
    const char *t = "ab<|end|>ab<|end|>ab<|end|><|end|>ab";
    const char *sp[] = {"<|end|>"};
    rnnc_bpe_train_opts o = opts_of(1000, "[^ ]+");
    o.specials = sp;
    o.n_specials = 1;
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, strlen(t), &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_pieces, 4);
    CHECK_EQ_LL(r.n_unique, 1);
    CHECK_EQ_LL(r.n_tokens, 257);
    CHECK(tok_is(&r, 256, "ab"));
    rnnc_bpe_ranks_free(&r);
    /* Without the special, the marker's bytes are merged like any others. */
    o.n_specials = 0;
    CHECK_EQ_LL(train1(t, strlen(t), &o, 0, &r), RNNC_OK);
    CHECK(r.n_tokens > 257);
    rnnc_bpe_ranks_free(&r);
}

/* A 1 MB piece without whitespace trains as fast as ordinary text would (this is no timing
 * assertion: it only has to finish, which the quadratic approach would not do in the suite's
 * time), and its segmentation shrinks as merges grow tokens of repeated runs. */
static void test_long_piece(void) {
    size_t n = 1 << 20;
    char *t = malloc(n);
    rnnc_rng g;
    rnnc_rng_seed(&g, 3);
    for (size_t i = 0; i < n; i++) t[i] = rnnc_rng_below(&g, 4) ? 'a' + (char)rnnc_rng_below(&g, 6) : 'a';
    rnnc_bpe_train_opts o = opts_of(2256, "cl100k");
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, n, &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_pieces, 1);
    CHECK_EQ_LL(r.n_tokens, 2256);
    uint64_t saved = 0;
    for (size_t m = 0; m < r.n_merges; m++) saved += r.merges[m].count;
    /* A merge's count includes overlapping occurrences ("aaa" counts (a, a) twice, merges once). */
    CHECK(r.n_final_tokens >= n - saved);
    CHECK(r.n_final_tokens < n / 3);
    /* The trained tokenizer encodes the piece into exactly training's segmentation. */
    const unsigned char *tt = (const unsigned char *)t;
    rnnc_bpe *bpe = NULL;
    CHECK_EQ_LL(rnnc_bpe_train(&bpe, &tt, &n, 1, &o), RNNC_OK);
    if (bpe) {
        rnnc_ids ids = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(bpe, tt, n, false, &ids), RNNC_OK);
        CHECK_EQ_LL(ids.len, r.n_final_tokens);
        rnnc_ids_free(&ids);
        rnnc_bpe_free(bpe);
    }
    rnnc_bpe_ranks_free(&r);
    free(t);
}

typedef struct { size_t calls, last_done, total; int monotone; } prog;
static void on_progress(size_t done, size_t total, void *ctx) {
    prog *p = ctx;
    if (p->calls && done < p->last_done) p->monotone = 0;
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static void test_progress(void) {
    rnnc_rng g;
    rnnc_rng_seed(&g, 11);
    size_t len;
    char *t = random_corpus(&g, 5000, &len);
    rnnc_bpe_train_opts o = opts_of(700, "cl100k");
    prog p = {0, 0, 0, 1};
    o.progress = on_progress;
    o.progress_ctx = &p;
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
    CHECK(p.calls >= 2);
    CHECK(p.monotone);
    CHECK_EQ_LL(p.total, 700 - 256);
    CHECK_EQ_LL(p.last_done, r.n_tokens - 256);
    rnnc_bpe_ranks_free(&r);
    /* Counting reports bytes: with small chunks several times, ending at the corpus size. */
    prog c = {0, 0, 0, 1};
    o.progress = NULL;
    o.count_progress = on_progress;
    o.progress_ctx = &c;
    CHECK_EQ_LL(train1(t, len, &o, 1000, &r), RNNC_OK);
    CHECK(c.calls >= 2);
    CHECK(c.monotone);
    CHECK_EQ_LL(c.total, len);
    CHECK_EQ_LL(c.last_done, len);
    rnnc_bpe_ranks_free(&r);
    free(t);
}

static void test_bad_input(void) {
    rnnc_bpe_ranks r;
    const char *t = "some text to train on";
    size_t len = strlen(t);
    rnnc_bpe_train_opts o = opts_of(255, "cl100k");
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "vocabulary size 255 is smaller than the 256 byte tokens + 0 special tokens");
    const char *sp[] = {"<|a|>", "<|b|>"};
    o = opts_of(257, "cl100k");
    o.specials = sp;
    o.n_specials = 2;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_ERR_ARG);
    CHECK_STR(rnnc_last_error(), "vocabulary size 257 is smaller than the 256 byte tokens + 2 special tokens");
    o.vocab_size = (size_t)UINT32_MAX + 2;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "too large") != NULL);
    o.vocab_size = 258; /* exactly the alphabet + specials: no merges, but valid */
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
    CHECK_EQ_LL(r.n_tokens, 256);
    rnnc_bpe_ranks_free(&r);
    const char *dup[] = {"<|a|>", "<|a|>"};
    o.specials = dup;
    o.vocab_size = 1000;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "given twice") != NULL);
    const char *empty_sp[] = {""};
    o.specials = empty_sp;
    o.n_specials = 1;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "empty") != NULL);

    /* Empty corpora: no texts, empty texts, or nothing but special tokens. */
    o = opts_of(1000, "cl100k");
    CHECK_EQ_LL(rnnc_bpe_train_ranks(NULL, NULL, 0, &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "corpus is empty") != NULL);
    const unsigned char *texts[2] = {(const unsigned char *)"", (const unsigned char *)""};
    size_t lens[2] = {0, 0};
    CHECK_EQ_LL(rnnc_bpe_train_ranks(texts, lens, 2, &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "corpus is empty") != NULL);
    const char *only = "<|a|><|a|>";
    o.specials = sp;
    o.n_specials = 1;
    CHECK_EQ_LL(train1(only, strlen(only), &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "corpus is empty") != NULL);

    /* A bad regex reports PCRE2's message; missing options are an error, not a crash. */
    o = opts_of(1000, "([a-z]+");
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "offset") != NULL);
    CHECK_EQ_LL(train1(t, len, NULL, 0, &r), RNNC_ERR_ARG);
    rnnc_bpe *bpe = (rnnc_bpe *)&r;
    o = opts_of(100, NULL);
    const unsigned char *tt = (const unsigned char *)t;
    CHECK_EQ_LL(rnnc_bpe_train(&bpe, &tt, &len, 1, &o), RNNC_ERR_ARG);
    CHECK(bpe == NULL);
}

/* ---- end to end, through the tokenizer (rnnc_bpe_create, encode, save) ---- */

static rnnc_bpe *train_bpe(const char *text, size_t len, const rnnc_bpe_train_opts *o) {
    const unsigned char *t = (const unsigned char *)text;
    rnnc_bpe *bpe = NULL;
    rnnc_status st = rnnc_bpe_train(&bpe, &t, &len, 1, o);
    CHECK_MSG(st == RNNC_OK, "%s", rnnc_last_error());
    return bpe;
}

/* The tokenizer holds the trained ranks, then the specials at the top ids. */
static void test_tokenizer_from_training(void) {
    rnnc_rng g;
    rnnc_rng_seed(&g, 21);
    size_t len;
    char *t = random_corpus(&g, 4000, &len);
    const char *sp[] = {"<|endoftext|>", "<|pad|>"};
    rnnc_bpe_train_opts o = opts_of(500, "o200k");
    o.specials = sp;
    o.n_specials = 2;
    rnnc_bpe_ranks r;
    CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
    rnnc_bpe *bpe = train_bpe(t, len, &o);
    if (bpe) {
        CHECK_EQ_LL(rnnc_bpe_n_vocab(bpe), 500);
        CHECK_STR(rnnc_bpe_pattern(bpe), "o200k");
        for (uint32_t id = 0; id < r.n_tokens; id++) {
            rnnc_token_bytes tb = rnnc_bpe_token(bpe, id);
            CHECK(tb.data && tb.len == r.off[id + 1] - r.off[id] && !memcmp(tb.data, r.bytes + r.off[id], tb.len));
        }
        for (uint32_t i = 0; i < 2; i++) {
            rnnc_token_bytes tb = rnnc_bpe_token(bpe, 498 + i);
            CHECK(tb.data && tb.len == strlen(sp[i]) && !memcmp(tb.data, sp[i], tb.len));
        }
        /* Special text becomes its id with allow_special. */
        rnnc_ids ids = {0};
        CHECK_EQ_LL(rnnc_bpe_encode(bpe, (const unsigned char *)"<|pad|>", 7, true, &ids), RNNC_OK);
        CHECK(ids.len == 1 && ids.data[0] == 499);
        rnnc_ids_free(&ids);
        rnnc_bpe_free(bpe);
    }
    rnnc_bpe_ranks_free(&r);
    free(t);
}

/* Lowest-rank-first encoding of the training text reproduces training's segmentation: the same
 * number of tokens (exact when no two merges made the same bytes), and decoding gives the text. */
static void test_encode_matches_training(void) {
    static const char *const patterns[] = {"cl100k", "r50k", "o200k", "[a-z]+|[^a-z]"};
    rnnc_rng g;
    rnnc_rng_seed(&g, 77);
    for (int round = 0; round < 8; round++) {
        size_t len;
        char *t = random_corpus(&g, 3000, &len);
        rnnc_bpe_train_opts o = opts_of(300 + 100 * (size_t)round, patterns[round % 4]);
        rnnc_bpe_ranks r;
        CHECK_EQ_LL(train1(t, len, &o, 0, &r), RNNC_OK);
        rnnc_bpe *bpe = train_bpe(t, len, &o);
        if (bpe) {
            rnnc_ids ids = {0};
            CHECK_EQ_LL(rnnc_bpe_encode(bpe, (const unsigned char *)t, len, false, &ids), RNNC_OK);
            CHECK_MSG(ids.len == r.n_final_tokens, "%s: encode gives %zu tokens, training %llu", patterns[round % 4],
                      ids.len, (unsigned long long)r.n_final_tokens);
            rnnc_bytes back = {0};
            CHECK_EQ_LL(rnnc_bpe_decode(bpe, ids.data, ids.len, &back), RNNC_OK);
            CHECK(back.len == len && !memcmp(back.data, t, len));
            rnnc_bytes_free(&back);
            rnnc_ids_free(&ids);
            rnnc_bpe_free(bpe);
        }
        CHECK_EQ_LL(r.n_merges, r.n_tokens - 256); /* no duplicate bytes, so the count above is exact */
        rnnc_bpe_ranks_free(&r);
        free(t);
    }
}

static int read_all(const char *path, unsigned char **d, size_t *n) { return rnnc_read_file(path, d, n) == RNNC_OK; }

/* Same input, same file: byte-identical rank files and sidecars with 1 and 2 threads. */
static void test_saved_files_identical(void) {
    rnnc_rng g;
    rnnc_rng_seed(&g, 8);
    size_t len;
    char *t = random_corpus(&g, 8000, &len);
    const char *sp[] = {"<|endoftext|>"};
    rnnc_bpe_train_opts o = opts_of(700, "cl100k");
    o.specials = sp;
    o.n_specials = 1;
    char p1[64], p2[64], j1[80], j2[80];
    snprintf(p1, sizeof p1, "bpe_train_a_%d.tiktoken", (int)getpid());
    snprintf(p2, sizeof p2, "bpe_train_b_%d.tiktoken", (int)getpid());
    snprintf(j1, sizeof j1, "%s.json", p1);
    snprintf(j2, sizeof j2, "%s.json", p2);
    o.threads = 1;
    rnnc_bpe *a = train_bpe(t, len, &o);
    o.threads = 2;
    rnnc_bpe *b = train_bpe(t, len, &o);
    if (a && b) {
        CHECK_EQ_LL(rnnc_bpe_save(a, p1), RNNC_OK);
        CHECK_EQ_LL(rnnc_bpe_save(b, p2), RNNC_OK);
        unsigned char *d1 = NULL, *d2 = NULL;
        size_t n1 = 0, n2 = 0;
        CHECK(read_all(p1, &d1, &n1) && read_all(p2, &d2, &n2));
        CHECK(n1 > 0 && n1 == n2 && d1 && d2 && !memcmp(d1, d2, n1));
        free(d1);
        free(d2);
        d1 = d2 = NULL;
        CHECK(read_all(j1, &d1, &n1) && read_all(j2, &d2, &n2));
        CHECK(n1 > 0 && n1 == n2 && d1 && d2 && !memcmp(d1, d2, n1));
        free(d1);
        free(d2);
        /* And the file loads back to the same tokenizer. */
        rnnc_bpe *c = NULL;
        CHECK_EQ_LL(rnnc_bpe_load(&c, p1, NULL), RNNC_OK);
        if (c) {
            CHECK_EQ_LL(rnnc_bpe_n_vocab(c), 700);
            rnnc_ids x = {0}, y = {0};
            CHECK_EQ_LL(rnnc_bpe_encode(a, (const unsigned char *)t, len, true, &x), RNNC_OK);
            CHECK_EQ_LL(rnnc_bpe_encode(c, (const unsigned char *)t, len, true, &y), RNNC_OK);
            CHECK(x.len == y.len && !memcmp(x.data, y.data, x.len * sizeof *x.data));
            rnnc_ids_free(&x);
            rnnc_ids_free(&y);
            rnnc_bpe_free(c);
        }
    }
    remove(p1);
    remove(p2);
    remove(j1);
    remove(j2);
    rnnc_bpe_free(a);
    rnnc_bpe_free(b);
    free(t);
}

int main(void) {
    RUN(test_hand_example);
    RUN(test_weighted_pieces);
    RUN(test_against_reference);
    RUN(test_rank_encoding_reproduces_training);
    RUN(test_determinism);
    RUN(test_vocab_sizes);
    RUN(test_min_frequency);
    RUN(test_specials_cut_the_corpus);
    RUN(test_long_piece);
    RUN(test_progress);
    RUN(test_tokenizer_from_training);
    RUN(test_encode_matches_training);
    RUN(test_saved_files_identical);
    RUN(test_bad_input);
    return test_report();
}
