/* Seq2seq data and metrics: vocabularies, TSV reading with every bad line the issue names,
 * grouping of references, bucketed batches, edit distance and error rates on hand-checked cases. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "test.h"

static rnnc_s2s_read_opts opts_grow(void) {
    rnnc_s2s_read_opts o = {0};
    o.grow = true;
    return o;
}

static void test_vocab_space_and_char(void) {
    rnnc_s2s_vocab v;
    CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE) == RNNC_OK);
    CHECK_EQ_LL(v.n, 4);
    rnnc_ids ids = {0};
    CHECK(rnnc_s2s_encode(&v, "  HH  AH\tL OW <eos> HH", 22, true, &ids) == RNNC_OK);
    CHECK_EQ_LL(ids.len, 6);
    uint32_t want[] = {4, 5, 6, 7, RNNC_S2S_UNK, 4};
    for (size_t i = 0; i < 6 && i < ids.len; i++) CHECK_EQ_LL(ids.data[i], want[i]);
    CHECK_EQ_LL(rnnc_s2s_vocab_find(&v, "L", 1), 6);
    CHECK_EQ_LL(rnnc_s2s_vocab_find(&v, "ZH", 2), RNNC_S2S_UNK);
    CHECK_EQ_LL(rnnc_s2s_vocab_find(&v, "<pad>", 5), RNNC_S2S_UNK);
    ids.len = 0;
    CHECK(rnnc_s2s_encode(&v, "HH ZH", 5, false, &ids) == RNNC_OK);
    CHECK_EQ_LL(ids.len, 2);
    CHECK_EQ_LL(ids.data[1], RNNC_S2S_UNK);
    CHECK_EQ_LL(v.n, 8); /* not grown */
    /* a new symbol must be UTF-8 (it is stored in the model file); an unknown one read without
     * growing is <unk> whatever its bytes */
    ids.len = 0;
    CHECK(rnnc_s2s_encode(&v, "HH Z\xffH", 6, true, &ids) == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "invalid UTF-8 at byte 4") != NULL);
    CHECK_EQ_LL(v.n, 8);
    ids.len = 0;
    CHECK(rnnc_s2s_encode(&v, "HH Z\xffH", 6, false, &ids) == RNNC_OK);
    CHECK_EQ_LL(ids.len, 2);
    CHECK_EQ_LL(ids.data[1], RNNC_S2S_UNK);
    rnnc_bytes out = {0};
    uint32_t dec[] = {RNNC_S2S_BOS, 4, 5, RNNC_S2S_UNK, 7, RNNC_S2S_EOS, RNNC_S2S_PAD};
    CHECK(rnnc_s2s_decode(&v, dec, 7, &out) == RNNC_OK);
    CHECK_STR((char *)out.data, "HH AH <unk> OW");
    uint32_t bad = 99;
    CHECK(rnnc_s2s_decode(&v, &bad, 1, &out) == RNNC_ERR_RANGE);
    /* round trip through the stored form */
    rnnc_bytes ser = {0};
    CHECK(rnnc_s2s_vocab_to_string(&v, &ser) == RNNC_OK);
    CHECK_STR((char *)ser.data, "HH\nAH\nL\nOW\n");
    rnnc_s2s_vocab w;
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_SPACE, (char *)ser.data, "test") == RNNC_OK);
    CHECK_EQ_LL(w.n, v.n);
    for (size_t i = 0; i < v.n && i < w.n; i++) CHECK_STR(w.sym[i], v.sym[i]);
    rnnc_s2s_vocab_free(&w);
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_SPACE, "A\nA\n", "dup") == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "dup: symbol 2") != NULL);
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_SPACE, "A\n<eos>\n", "sp") == RNNC_ERR_FORMAT);
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_SPACE, "A", "nonl") == RNNC_ERR_FORMAT);
    rnnc_bytes_free(&ser);
    rnnc_bytes_free(&out);
    rnnc_s2s_vocab_free(&v);

    CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_CHAR) == RNNC_OK);
    ids.len = 0;
    const char *s = "ma\xc3\xa9 3";
    CHECK(rnnc_s2s_encode(&v, s, strlen(s), true, &ids) == RNNC_OK);
    CHECK_EQ_LL(ids.len, 5); /* m a é ' ' 3 */
    CHECK_EQ_LL(v.n, 9);
    out.len = 0;
    CHECK(rnnc_s2s_decode(&v, ids.data, ids.len, &out) == RNNC_OK);
    CHECK_STR((char *)out.data, s);
    CHECK(rnnc_s2s_encode(&v, "a\xff", 2, true, &ids) == RNNC_ERR_FORMAT);
    rnnc_bytes_free(&out);
    rnnc_ids_free(&ids);
    rnnc_s2s_vocab_free(&v);

    rnnc_s2s_tok t;
    CHECK(rnnc_s2s_tok_parse("char", &t) == RNNC_OK && t == RNNC_S2S_TOK_CHAR);
    CHECK(rnnc_s2s_tok_parse("bpe", &t) == RNNC_ERR_ARG);
}

/* Many symbols: the hash table grows and every symbol keeps its id. */
static void test_vocab_many(void) {
    rnnc_s2s_vocab v;
    CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE) == RNNC_OK);
    char buf[32];
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(buf, sizeof buf, "s%d", i);
        uint32_t id;
        if (rnnc_s2s_vocab_add(&v, buf, (size_t)n, &id) || id != (uint32_t)(i + 4)) bad++;
    }
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(buf, sizeof buf, "s%d", i);
        if (rnnc_s2s_vocab_find(&v, buf, (size_t)n) != (uint32_t)(i + 4)) bad++;
    }
    CHECK_EQ_LL(bad, 0);
    rnnc_s2s_vocab_free(&v);
}

static void test_tsv_read_and_group(void) {
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    const char *text = "a b\tX Y\r\n\nc\tZ\na b\tX\na b\tX Y\nc\tZ Z"; /* no final newline */
    rnnc_s2s_read_opts o = opts_grow();
    CHECK(rnnc_s2s_data_parse(&d, text, strlen(text), "t.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 2);
    CHECK_EQ_LL(d.n_pairs, 4);
    CHECK_EQ_LL(d.skipped_dup, 1);
    CHECK_STR(d.items[0].src_text, "a b");
    CHECK_EQ_LL(d.items[0].src_len, 2);
    CHECK_EQ_LL(d.items[0].n_refs, 2);
    CHECK_EQ_LL(d.items[0].ref_len[0], 2);
    CHECK_EQ_LL(d.items[0].ref_len[1], 1);
    CHECK_EQ_LL(d.items[1].n_refs, 2);
    CHECK_EQ_LL(d.items[1].ref_len[1], 2);
    CHECK_EQ_LL(tv.n, 4 + 3);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
}

/* Each bad line the issue names: error naming file:line, or skipped with a count. */
static void test_tsv_bad_lines(void) {
    struct { const char *text; const char *msg; } cases[] = {
        {"a\tA\nno tab here\n", "bad.tsv:2: no tab"},
        {"a\tA\n\tB\n", "bad.tsv:2: empty source"},
        {"a\tA\nb\t\n", "bad.tsv:2: empty target"},
        {"a\tA\n  \tB\n", "bad.tsv:2: empty source"},
        {"a\tA\nb\t  \n", "bad.tsv:2: empty target"},
        {"a\tA\nb\tB\tC\n", "bad.tsv:2: a second tab (only source TAB target is allowed)"},
        {"a\tA\r\nb\tB\t\r\n", "bad.tsv:2: a second tab"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rnnc_s2s_vocab sv, tv;
        rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_SPACE);
        rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_SPACE);
        rnnc_s2s_data d;
        rnnc_s2s_data_init(&d);
        rnnc_s2s_read_opts o = opts_grow();
        CHECK(rnnc_s2s_data_parse(&d, cases[k].text, strlen(cases[k].text), "bad.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
        CHECK_MSG(strstr(rnnc_last_error(), cases[k].msg) != NULL, "case %zu: %s", k, rnnc_last_error());
        rnnc_s2s_data_free(&d);
        rnnc_s2s_data_init(&d);
        o.skip_bad = true;
        CHECK(rnnc_s2s_data_parse(&d, cases[k].text, strlen(cases[k].text), "bad.tsv", &o, &sv, &tv) == RNNC_OK);
        CHECK_EQ_LL(d.n, 1);
        CHECK_EQ_LL(d.skipped_bad, 1);
        rnnc_s2s_data_free(&d);
        rnnc_s2s_vocab_free(&sv);
        rnnc_s2s_vocab_free(&tv);
    }
    /* over-long sources: error by default, counted with skip_long */
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts o = opts_grow();
    o.max_source = 3;
    const char *t = "abc\tx\nabcd\ty\nab\tz\n";
    CHECK(rnnc_s2s_data_parse(&d, t, strlen(t), "long.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "long.tsv:2: source of 4 symbols is longer than the maximum 3 (--max-source raises "
                                        "it, --skip-long leaves such pairs out)") != NULL, "%s", rnnc_last_error());
    rnnc_s2s_data_free(&d);
    rnnc_s2s_data_init(&d);
    o.skip_long = true;
    CHECK(rnnc_s2s_data_parse(&d, t, strlen(t), "long.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 2);
    CHECK_EQ_LL(d.skipped_long, 1);
    rnnc_s2s_data_free(&d);
    /* invalid UTF-8 in char mode names the line */
    rnnc_s2s_data_init(&d);
    CHECK(rnnc_s2s_data_parse(&d, "a\tb\n\xff\tc\n", 8, "u.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "u.tsv:2:") != NULL);
    rnnc_s2s_data_free(&d);
    /* a missing file is an I/O error naming it */
    rnnc_s2s_data_init(&d);
    CHECK(rnnc_s2s_data_read(&d, "/nonexistent/x.tsv", &o, &sv, &tv) == RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/x.tsv") != NULL);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
}

/* Bytes the reader must refuse or handle: NUL (file:line), CRLF, an empty file, blank lines only. */
static void test_tsv_bytes(void) {
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts o = opts_grow();
    static const char nul[] = "ab\tX\nc\0d\tY\n";
    CHECK(rnnc_s2s_data_parse(&d, nul, sizeof nul - 1, "nul.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "nul.tsv:2: a NUL byte") != NULL, "%s", rnnc_last_error());
    rnnc_s2s_data_free(&d);
    rnnc_s2s_data_init(&d);
    o.skip_bad = true;
    CHECK(rnnc_s2s_data_parse(&d, nul, sizeof nul - 1, "nul.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 1);
    CHECK_EQ_LL(d.skipped_bad, 1);
    rnnc_s2s_data_free(&d);
    /* CRLF line endings: the CR is not part of the target */
    rnnc_s2s_data_init(&d);
    o.skip_bad = false;
    const char *crlf = "ab\tX Y\r\ncd\tZ\r\n\r\n";
    CHECK(rnnc_s2s_data_parse(&d, crlf, strlen(crlf), "crlf.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 2);
    CHECK_EQ_LL(d.items[1].ref_len[0], 1);
    CHECK(rnnc_s2s_vocab_find(&tv, "Z", 1) == d.items[1].ref[0][0]);
    CHECK(rnnc_s2s_vocab_find(&tv, "Z\r", 2) == RNNC_S2S_UNK);
    rnnc_s2s_data_free(&d);
    /* nothing to read */
    rnnc_s2s_data_init(&d);
    CHECK(rnnc_s2s_data_parse(&d, "", 0, "empty.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "empty.tsv: the file is empty") != NULL);
    CHECK(rnnc_s2s_data_parse(&d, "\n\r\n\n", 4, "blank.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "blank.tsv: no pairs, only blank lines") != NULL);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
}

/* Without --max-source / --max-target the reader stops at RNNC_S2S_DEFAULT_MAX_LEN symbols a side:
 * training memory grows with batch x longest line, and one megabyte line needed gigabytes. */
static void test_default_length_limit(void) {
    size_t big = 1 << 20, n = 0;
    char *t = malloc(big + 4096);
    for (int i = 0; i < 1024; i++) t[n++] = 'a'; /* exactly the limit: taken */
    n += (size_t)sprintf(t + n, "\tx\n");
    for (size_t i = 0; i < big; i++) t[n++] = 'b'; /* a 1 MB source */
    n += (size_t)sprintf(t + n, "\ty\n");
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts o = opts_grow();
    CHECK(rnnc_s2s_data_parse(&d, t, n, "big.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "big.tsv:2: source of 1048576 symbols is longer than the maximum 1024 (the default; "
                                        "--max-source raises it, --skip-long leaves such pairs out)") != NULL,
              "%s", rnnc_last_error());
    rnnc_s2s_data_free(&d);
    rnnc_s2s_data_init(&d);
    o.skip_long = true;
    CHECK(rnnc_s2s_data_parse(&d, t, n, "big.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 1);
    CHECK_EQ_LL(d.skipped_long, 1);
    rnnc_s2s_data_free(&d);
    /* negative: no limit */
    rnnc_s2s_data_init(&d);
    o.skip_long = false;
    o.max_source = -1;
    CHECK(rnnc_s2s_data_parse(&d, t, n, "big.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 2);
    CHECK_EQ_LL(d.items[1].src_len, (long long)big);
    rnnc_s2s_data_free(&d);
    /* targets have their own limit and flag */
    n = (size_t)sprintf(t, "a\t");
    for (int i = 0; i < 1025; i++) t[n++] = 'c';
    t[n++] = '\n';
    rnnc_s2s_data_init(&d);
    CHECK(rnnc_s2s_data_parse(&d, t, n, "tgt.tsv", &o, &sv, &tv) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "tgt.tsv:1: target of 1025 symbols is longer than the maximum 1024 (the default; "
                                        "--max-target raises it") != NULL, "%s", rnnc_last_error());
    o.max_target = 2000;
    CHECK(rnnc_s2s_data_parse(&d, t, n, "tgt.tsv", &o, &sv, &tv) == RNNC_OK);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    free(t);
}

/* The stored symbol lists: only symbols the encoder could have made, each once. */
static void test_vocab_from_string_bad(void) {
    static const struct { rnnc_s2s_tok tok; const char *text, *needle; } cases[] = {
        {RNNC_S2S_TOK_SPACE, "A\n\nB\n", "v: symbol 2 ('') is empty"},
        {RNNC_S2S_TOK_SPACE, "A\nB C\n", "v: symbol 2 ('B C') holds a space or tab"},
        {RNNC_S2S_TOK_SPACE, "A\nB\tC\n", "holds a space or tab"},
        {RNNC_S2S_TOK_SPACE, "A\nB\nA\n", "v: symbol 3 ('A') appears twice"},
        {RNNC_S2S_TOK_SPACE, "A\n<unk>\n", "v: symbol 2 ('<unk>') is a special token"},
        {RNNC_S2S_TOK_CHAR, "a\nbc\n", "v: symbol 2 ('bc') is not one UTF-8 character"},
        {RNNC_S2S_TOK_CHAR, "a\n\xff\n", "is not one UTF-8 character"},
        {RNNC_S2S_TOK_CHAR, "a\n\xc3\n", "is not one UTF-8 character"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rnnc_s2s_vocab v;
        CHECK(rnnc_s2s_vocab_from_string(&v, cases[k].tok, cases[k].text, "v") == RNNC_ERR_FORMAT);
        CHECK_MSG(strstr(rnnc_last_error(), cases[k].needle) != NULL, "case %zu: %s", k, rnnc_last_error());
        CHECK(v.n == 0 && v.sym == NULL);
    }
    rnnc_s2s_vocab v;
    CHECK(rnnc_s2s_vocab_from_string(&v, RNNC_S2S_TOK_CHAR, "a\n\xc3\xa9\n \n", "v") == RNNC_OK);
    CHECK_EQ_LL(v.n, 7);
    rnnc_s2s_vocab_free(&v);
}

static void test_batches(void) {
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_CHAR);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    /* 40 items of source lengths 1..8, the first with two references */
    char text[4096];
    size_t p = 0;
    for (int i = 0; i < 40; i++) {
        int L = 1 + (i * 7) % 8;
        for (int k = 0; k < L; k++) text[p++] = (char)('a' + (i + k) % 26);
        text[p++] = '\t';
        for (int k = 0; k < 1 + i % 3; k++) text[p++] = (char)('A' + k);
        text[p++] = '\n';
    }
    p += (size_t)sprintf(text + p, "a\tQQQQ\n");
    rnnc_s2s_read_opts o = opts_grow();
    CHECK(rnnc_s2s_data_parse(&d, text, p, "b.tsv", &o, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 40);
    rnnc_s2s_batcher b;
    CHECK(rnnc_s2s_batcher_new(&b, &d, 8, true) == RNNC_OK);
    CHECK_EQ_LL(b.n_ex, 41);
    CHECK_EQ_LL(b.n_batches, 6);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 5);
    rnnc_s2s_batcher_plan(&b, &rng);
    int *seen = calloc(41, sizeof *seen);
    int bad = 0;
    size_t total = 0, padded_src = 0;
    for (size_t k = 0; k < b.n_batches; k++) {
        const rnnc_s2s_batch *x = rnnc_s2s_batcher_get(&b, k);
        total += (size_t)x->B;
        padded_src += (size_t)(x->B * x->Ts);
        for (int i = 0; i < x->B; i++) {
            const rnnc_s2s_item *it = &d.items[x->item[i]];
            int r = x->ref[i];
            if (x->src_len[i] != it->src_len || x->tgt_len[i] != it->ref_len[r] + 1) bad++;
            for (int t = 0; t < x->Ts; t++) {
                uint32_t want = t < it->src_len ? it->src[t] : RNNC_S2S_PAD;
                if (x->src[i * x->Ts + t] != want) bad++;
            }
            if (x->tgt_in[i * x->Tt] != RNNC_S2S_BOS) bad++;
            for (int t = 0; t < x->Tt; t++) {
                uint32_t wi = t == 0 ? RNNC_S2S_BOS : t <= it->ref_len[r] ? it->ref[r][t - 1] : RNNC_S2S_PAD;
                uint32_t wo = t < it->ref_len[r] ? it->ref[r][t] : t == it->ref_len[r] ? RNNC_S2S_EOS : RNNC_S2S_PAD;
                if (x->tgt_in[i * x->Tt + t] != wi || x->tgt_out[i * x->Tt + t] != wo) bad++;
            }
            for (size_t e = 0; e < b.n_ex; e++)
                if (b.ex_item[e] == x->item[i] && b.ex_ref[e] == r) seen[e]++;
        }
    }
    CHECK_EQ_LL(bad, 0);
    CHECK_EQ_LL(total, 41);
    for (int e = 0; e < 41; e++) CHECK_EQ_LL(seen[e], 1);
    /* bucketing: padding is well below the 8*max_len per batch of an unsorted plan */
    CHECK_MSG(padded_src < 41 * 8 * 3 / 4, "padded %zu", padded_src);
    /* the evaluation plan keeps item order */
    rnnc_s2s_batcher_free(&b);
    CHECK(rnnc_s2s_batcher_new(&b, &d, 16, false) == RNNC_OK);
    CHECK_EQ_LL(b.n_ex, 40);
    const rnnc_s2s_batch *x = rnnc_s2s_batcher_get(&b, 2);
    CHECK_EQ_LL(x->B, 8);
    CHECK_EQ_LL(x->item[0], 32);
    CHECK_EQ_LL(x->ref[0], 0);
    rnnc_s2s_batcher b0;
    CHECK(rnnc_s2s_batcher_new(&b0, &d, 0, false) == RNNC_ERR_ARG);
    free(seen);
    rnnc_s2s_batcher_free(&b);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
}

static size_t ed(const char *a, const char *b) {
    uint32_t x[64], y[64];
    size_t na = strlen(a), nb = strlen(b), row[65];
    for (size_t i = 0; i < na; i++) x[i] = (unsigned char)a[i];
    for (size_t i = 0; i < nb; i++) y[i] = (unsigned char)b[i];
    return rnnc_edit_distance(x, na, y, nb, row);
}

static void test_edit_distance(void) {
    CHECK_EQ_LL(ed("", ""), 0);
    CHECK_EQ_LL(ed("abc", ""), 3);
    CHECK_EQ_LL(ed("", "abcd"), 4);
    CHECK_EQ_LL(ed("kitten", "sitting"), 3);   /* k->s, e->i, +g */
    CHECK_EQ_LL(ed("flaw", "lawn"), 2);        /* -f, +n */
    CHECK_EQ_LL(ed("intention", "execution"), 5);
    CHECK_EQ_LL(ed("abc", "abc"), 0);
    CHECK_EQ_LL(ed("ab", "ba"), 2);            /* no transpositions */
    CHECK_EQ_LL(ed("sunday", "saturday"), 3);
    /* symmetry and triangle inequality on random strings */
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    int bad = 0;
    for (int k = 0; k < 200; k++) {
        char a[12], b[12], c[12];
        char *s[3] = {a, b, c};
        for (int j = 0; j < 3; j++) {
            int n = (int)rnnc_rng_below(&rng, 11);
            for (int i = 0; i < n; i++) s[j][i] = (char)('a' + rnnc_rng_below(&rng, 3));
            s[j][n] = 0;
        }
        if (ed(a, b) != ed(b, a)) bad++;
        if (ed(a, c) > ed(a, b) + ed(b, c)) bad++;
        size_t la = strlen(a), lb = strlen(b);
        if (ed(a, b) > (la > lb ? la : lb) || ed(a, b) < (la > lb ? la - lb : lb - la)) bad++;
    }
    CHECK_EQ_LL(bad, 0);
}

static void test_scores(void) {
    rnnc_s2s_score s = {0};
    CHECK(rnnc_s2s_ter(&s) == 0.0 && rnnc_s2s_ser(&s) == 0.0);
    uint32_t r1[] = {1, 2, 3, 4}, r2[] = {1, 2, 5};
    const uint32_t *refs[] = {r1, r2};
    int lens[] = {4, 3};
    uint32_t h1[] = {1, 2, 5};        /* equals r2: 0 edits over 3 */
    uint32_t h2[] = {1, 2, 3};        /* r1: 1 edit (len 4), r2: 1 edit (len 3): tie -> the longer */
    uint32_t h3[] = {9, 9};           /* r1: 4, r2: 3 -> 3 over 3 */
    CHECK(rnnc_s2s_score_add(&s, h1, 3, refs, lens, 2) == RNNC_OK);
    CHECK(rnnc_s2s_score_add(&s, h2, 3, refs, lens, 2) == RNNC_OK);
    CHECK(rnnc_s2s_score_add(&s, h3, 2, refs, lens, 2) == RNNC_OK);
    CHECK(rnnc_s2s_score_add(&s, r1, 4, refs, lens, 1) == RNNC_OK); /* exact, 0 over 4 */
    CHECK_EQ_LL(s.edits, 4);
    CHECK_EQ_LL(s.ref_tokens, 3 + 4 + 3 + 4);
    CHECK_EQ_LL(s.seqs, 4);
    CHECK_EQ_LL(s.seq_errors, 2);
    CHECK_NEAR(rnnc_s2s_ter(&s), 4.0 / 14.0, 1e-12, 0);
    CHECK_NEAR(rnnc_s2s_ser(&s), 0.5, 1e-12, 0);
    CHECK(rnnc_s2s_score_add(&s, h1, 3, refs, lens, 0) == RNNC_ERR_ARG);
}

int main(void) {
    RUN(test_vocab_space_and_char);
    RUN(test_vocab_many);
    RUN(test_tsv_read_and_group);
    RUN(test_tsv_bad_lines);
    RUN(test_tsv_bytes);
    RUN(test_default_length_limit);
    RUN(test_vocab_from_string_bad);
    RUN(test_batches);
    RUN(test_edit_distance);
    RUN(test_scores);
    return test_report();
}
