/* Tokenizers: char and word vocabularies, OOV counts, the word rule and detokenization, round trips
 * on random bytes, JSON serialisation of every type, atomic save/load, and bad input. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/tokenizer.h"
#include "test.h"

static const unsigned char *U(const char *s) { return (const unsigned char *)s; }

static rnnc_char_tok *char_from(const char *text, uint64_t min_count, size_t vocab_size) {
    const unsigned char *texts[] = {U(text)};
    size_t lens[] = {strlen(text)};
    rnnc_char_opts o = {.min_count = min_count, .vocab_size = vocab_size};
    rnnc_char_tok *t = NULL;
    rnnc_status s = rnnc_char_build(&t, texts, lens, 1, &o);
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    return t;
}

static void test_char_vocabulary_order(void) {
    /* counts: a 4, b 2, c 2, é 2, x 1; ties by code point: b < c < é */
    rnnc_char_tok *t = char_from("abcaéxébca", 0, 0);
    if (!t) return;
    CHECK_EQ_LL(rnnc_char_n_vocab(t), 260 + 5);
    CHECK_EQ_LL(rnnc_char_codepoint(t, 260), 'a');
    CHECK_EQ_LL(rnnc_char_codepoint(t, 261), 'b');
    CHECK_EQ_LL(rnnc_char_codepoint(t, 262), 'c');
    CHECK_EQ_LL(rnnc_char_codepoint(t, 263), 0xE9);
    CHECK_EQ_LL(rnnc_char_codepoint(t, 264), 'x');
    CHECK_EQ_LL(rnnc_char_codepoint(t, 265), UINT32_MAX);
    CHECK_EQ_LL(rnnc_char_codepoint(t, 3), UINT32_MAX);
    rnnc_token_bytes tb = rnnc_char_token(t, 263);
    CHECK(tb.len == 2 && memcmp(tb.data, "\xC3\xA9", 2) == 0);
    tb = rnnc_char_token(t, RNNC_CHAR_BYTE_BASE + 0xFF);
    CHECK(tb.len == 1 && tb.data[0] == 0xFF);
    tb = rnnc_char_token(t, RNNC_TOK_BOS);
    CHECK(tb.len == 5 && memcmp(tb.data, "<bos>", 5) == 0);
    rnnc_char_free(t);

    /* min_count 2 drops x; vocab_size 262 keeps the two most frequent */
    t = char_from("abcaéxébca", 2, 0);
    if (t) CHECK_EQ_LL(rnnc_char_n_vocab(t), 264);
    rnnc_char_free(t);
    t = char_from("abcaéxébca", 0, 262);
    if (t) {
        CHECK_EQ_LL(rnnc_char_n_vocab(t), 262);
        CHECK_EQ_LL(rnnc_char_codepoint(t, 261), 'b');
    }
    rnnc_char_free(t);
}

static void test_char_encode_fallback(void) {
    rnnc_char_tok *t = char_from("hello", 0, 0); /* l o h e -> ids 260.. (l:2, then e h o by code point) */
    if (!t) return;
    CHECK_EQ_LL(rnnc_char_codepoint(t, 260), 'l');
    rnnc_ids ids = {0};
    size_t fb = 0;
    /* 'z' unseen (1 byte), 'é' unseen (2 bytes), 0xFF invalid (1 byte): 3 fallbacks, 4 byte tokens */
    CHECK_EQ_LL(rnnc_char_encode(t, U("lz\xC3\xA9\xFF" "e"), 6, &ids, &fb), RNNC_OK);
    uint32_t want[] = {260, 4 + 'z', 4 + 0xC3, 4 + 0xA9, 4 + 0xFF, 261};
    CHECK_EQ_LL(ids.len, 6);
    for (size_t i = 0; i < 6 && i < ids.len; i++) CHECK_EQ_LL(ids.data[i], want[i]);
    CHECK_EQ_LL(fb, 3);
    rnnc_bytes out = {0};
    CHECK_EQ_LL(rnnc_char_decode(t, ids.data, ids.len, &out), RNNC_OK);
    CHECK(out.len == 6 && memcmp(out.data, "lz\xC3\xA9\xFF" "e", 6) == 0);
    /* reserved ids decode to nothing; ids past the vocabulary are errors naming id and position */
    uint32_t bad[] = {RNNC_TOK_BOS, 260, RNNC_TOK_EOS, 999};
    out.len = 0;
    CHECK_EQ_LL(rnnc_char_decode(t, bad, 3, &out), RNNC_OK);
    CHECK(out.len == 1 && out.data[0] == 'l');
    CHECK_EQ_LL(rnnc_char_decode(t, bad, 4, &out), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "999") && strstr(rnnc_last_error(), "position 3"));
    rnnc_bytes_free(&out);
    rnnc_ids_free(&ids);
    rnnc_char_free(t);
}

static void test_char_bad_input(void) {
    rnnc_char_tok *t;
    const unsigned char *texts[] = {U("")};
    size_t lens[] = {0};
    CHECK_EQ_LL(rnnc_char_build(&t, texts, lens, 1, NULL), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "empty"));
    texts[0] = U("\xFF\xFE");
    lens[0] = 2; /* bytes but no characters */
    CHECK_EQ_LL(rnnc_char_build(&t, texts, lens, 1, NULL), RNNC_ERR_ARG);
    texts[0] = U("abc");
    lens[0] = 3;
    rnnc_char_opts o = {.vocab_size = 259};
    CHECK_EQ_LL(rnnc_char_build(&t, texts, lens, 1, &o), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "259") && strstr(rnnc_last_error(), "260"));
    uint32_t dup[] = {'a', 'b', 'a'}, sur[] = {0xD800};
    CHECK_EQ_LL(rnnc_char_create(&t, dup, 3), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_char_create(&t, sur, 1), RNNC_ERR_ARG);
}

/* Random bytes with some valid multi-byte characters mixed in, so both paths are exercised. */
static size_t random_text(rnnc_rng *r, unsigned char *buf, size_t max) {
    static const char *pieces[] = {"a", "e", " ", "é", "日本", "😀", "\n", "ß"};
    size_t n = (size_t)rnnc_rng_below(r, max / 4), len = 0;
    while (len < n) {
        if (rnnc_rng_below(r, 2)) buf[len++] = (unsigned char)rnnc_rng_below(r, 256);
        else {
            const char *p = pieces[rnnc_rng_below(r, 8)];
            memcpy(buf + len, p, strlen(p));
            len += strlen(p);
        }
    }
    return len;
}

static void test_char_random_round_trip(void) {
    rnnc_char_tok *t = char_from("the quick brown fox é 日本 😀", 0, 0);
    if (!t) return;
    rnnc_rng r;
    rnnc_rng_seed(&r, 42);
    unsigned char buf[4096];
    int failures = 0;
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = random_text(&r, buf, sizeof buf);
        rnnc_ids ids = {0};
        rnnc_bytes out = {0};
        if (rnnc_char_encode(t, buf, n, &ids, NULL) || rnnc_char_decode(t, ids.data, ids.len, &out) ||
            out.len != n || (n && memcmp(out.data, buf, n)))
            failures++;
        for (size_t i = 0; i < ids.len; i++) if (ids.data[i] < RNNC_TOK_N_RESERVED || ids.data[i] >= rnnc_char_n_vocab(t)) failures++;
        rnnc_ids_free(&ids);
        rnnc_bytes_free(&out);
    }
    CHECK_EQ_LL(failures, 0);
    rnnc_char_free(t);
}

typedef struct { char toks[64][32]; int n; } tok_list;

static int collect(const unsigned char *s, size_t n, void *ctx) {
    tok_list *l = ctx;
    if (l->n < 64 && n < 32) { memcpy(l->toks[l->n], s, n); l->toks[l->n][n] = 0; }
    l->n++;
    return 0;
}

static void test_word_rule(void) {
    tok_list l = {0};
    const char *text = "Don't stop, U.S. in 1990s\t—rock’n’roll! \xFF naïve";
    CHECK_EQ_LL(rnnc_word_split(U(text), strlen(text), collect, &l), RNNC_OK);
    const char *want[] = {"Don't", "stop", ",", "U", ".", "S", ".", "in", "1990s", "—", "rock’n’roll", "!", "\xFF", "naïve"};
    int nw = (int)(sizeof want / sizeof want[0]);
    CHECK_EQ_LL(l.n, nw);
    for (int i = 0; i < nw && i < l.n; i++) CHECK_STR(l.toks[i], want[i]);
}

static rnnc_word_tok *word_from(const char *text, size_t vocab_size, uint64_t min_count) {
    const unsigned char *texts[] = {U(text)};
    size_t lens[] = {strlen(text)};
    rnnc_word_opts o = {.vocab_size = vocab_size, .min_count = min_count};
    rnnc_word_tok *t = NULL;
    rnnc_status s = rnnc_word_build(&t, texts, lens, 1, &o);
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    return t;
}

static void test_word_vocabulary_and_oov(void) {
    /* the 3, cat 2, "." 2, sat 1, a 1, mat 1, on 1 */
    rnnc_word_tok *t = word_from("the cat sat. the cat on a mat. the", 7, 0);
    if (!t) return;
    CHECK_EQ_LL(rnnc_word_n_vocab(t), 7);
    CHECK_STR(rnnc_word_text(t, 4), "the");
    CHECK_STR(rnnc_word_text(t, 5), ".");  /* ties by bytes: "." < "cat" */
    CHECK_STR(rnnc_word_text(t, 6), "cat");
    CHECK(rnnc_word_text(t, 7) == NULL);
    CHECK_STR(rnnc_word_text(t, RNNC_TOK_UNK), "<unk>");
    rnnc_ids ids = {0};
    size_t unk = 0;
    CHECK_EQ_LL(rnnc_word_encode(t, U("the dog sat on the cat ."), 24, &ids, &unk), RNNC_OK);
    uint32_t want[] = {4, 3, 3, 3, 4, 6, 5};
    CHECK_EQ_LL(ids.len, 7);
    for (size_t i = 0; i < 7 && i < ids.len; i++) CHECK_EQ_LL(ids.data[i], want[i]);
    CHECK_EQ_LL(unk, 3);
    rnnc_ids_free(&ids);
    rnnc_word_free(t);

    /* min_count 2 keeps the, ".", cat even with room for more */
    t = word_from("the cat sat. the cat on a mat. the", 100, 2);
    if (t) CHECK_EQ_LL(rnnc_word_n_vocab(t), 7);
    rnnc_word_free(t);
    /* invalid UTF-8 tokens never enter the vocabulary */
    t = word_from("\xFF \xFF \xFF ok", 100, 0);
    if (t) { CHECK_EQ_LL(rnnc_word_n_vocab(t), 5); CHECK_STR(rnnc_word_text(t, 4), "ok"); }
    rnnc_word_free(t);
}

static void test_word_detokenize(void) {
    const char *words[] = {"Hello", ",", "world", "!", "(", "it", "'", "s", ")", "\"", "yes", "$", "5", "%", "don't"};
    rnnc_word_tok *t;
    CHECK_EQ_LL(rnnc_word_create(&t, words, sizeof words / sizeof words[0]), RNNC_OK);
    const char *cases[][2] = {
        {"Hello, world!", "Hello, world!"},
        {"Hello  (world) ,  \"yes\"  !", "Hello (world), \"yes\"!"},
        {"$5 % don't", "$5% don't"},
        {"it ' s", "it' s"}, /* a lone apostrophe glues to the left only */
        {"it's", "<unk>"},   /* internal apostrophe: one word, not in this vocabulary */
        {"Hello Zork world", "Hello <unk> world"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rnnc_ids ids = {0};
        rnnc_bytes out = {0};
        CHECK_EQ_LL(rnnc_word_encode(t, U(cases[k][0]), strlen(cases[k][0]), &ids, NULL), RNNC_OK);
        CHECK_EQ_LL(rnnc_word_decode(t, ids.data, ids.len, &out), RNNC_OK);
        rnnc_bytes_append(&out, "", 1);
        CHECK_STR((const char *)out.data, cases[k][1]);
        rnnc_ids_free(&ids);
        rnnc_bytes_free(&out);
    }
    /* reserved ids: pad/bos/eos vanish, unk prints, out of range fails */
    uint32_t ids[] = {RNNC_TOK_BOS, 4, RNNC_TOK_PAD, RNNC_TOK_UNK, RNNC_TOK_EOS, 1000};
    rnnc_bytes out = {0};
    CHECK_EQ_LL(rnnc_word_decode(t, ids, 5, &out), RNNC_OK);
    rnnc_bytes_append(&out, "", 1);
    CHECK_STR((const char *)out.data, "Hello <unk>");
    CHECK_EQ_LL(rnnc_word_decode(t, ids, 6, &out), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "1000") && strstr(rnnc_last_error(), "position 5"));
    rnnc_bytes_free(&out);
    rnnc_word_free(t);
}

static void test_word_bad_input(void) {
    rnnc_word_tok *t;
    const unsigned char *texts[] = {U(" \n\t ")};
    size_t lens[] = {4};
    rnnc_word_opts o = {.vocab_size = 100};
    CHECK_EQ_LL(rnnc_word_build(&t, texts, lens, 1, &o), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "empty"));
    texts[0] = U("some words");
    lens[0] = 10;
    o.vocab_size = 4;
    CHECK_EQ_LL(rnnc_word_build(&t, texts, lens, 1, &o), RNNC_ERR_ARG);
    o.vocab_size = 100; /* a minimum count no word reaches: no words, every id <unk> */
    o.min_count = 3;
    CHECK_EQ_LL(rnnc_word_build(&t, texts, lens, 1, &o), RNNC_ERR_ARG);
    CHECK_MSG(strstr(rnnc_last_error(), "--min-count 3 leaves no word (the most frequent is seen 1 time)"), "%s", rnnc_last_error());
    const char *dup[] = {"a", "b", "a"}, *empty[] = {""};
    CHECK_EQ_LL(rnnc_word_create(&t, dup, 3), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_word_create(&t, empty, 1), RNNC_ERR_ARG);
}

/* Two tokenizers agree on every id's bytes and on the encoding of `probe`. */
static void check_same(const rnnc_tokenizer *a, const rnnc_tokenizer *b, const char *probe) {
    CHECK_EQ_LL(rnnc_tokenizer_type_of(a), rnnc_tokenizer_type_of(b));
    CHECK_EQ_LL(rnnc_tokenizer_n_vocab(a), rnnc_tokenizer_n_vocab(b));
    int diff = 0;
    for (uint32_t id = 0; id < rnnc_tokenizer_n_vocab(a); id++) {
        rnnc_token_bytes x = rnnc_tokenizer_token(a, id), y = rnnc_tokenizer_token(b, id);
        diff += x.len != y.len || (!x.data) != (!y.data) || (x.len && memcmp(x.data, y.data, x.len));
    }
    CHECK_EQ_LL(diff, 0);
    rnnc_ids ia = {0}, ib = {0};
    CHECK_EQ_LL(rnnc_tokenizer_encode(a, U(probe), strlen(probe), true, &ia, NULL), RNNC_OK);
    CHECK_EQ_LL(rnnc_tokenizer_encode(b, U(probe), strlen(probe), true, &ib, NULL), RNNC_OK);
    CHECK(ia.len == ib.len && ia.len > 0 && memcmp(ia.data, ib.data, ia.len * sizeof *ia.data) == 0);
    rnnc_ids_free(&ia);
    rnnc_ids_free(&ib);
}

static const char CORPUS[] =
    "Fellow citizens of the Senate and of the House of Representatives: the state of the Union is "
    "strong. Don't forget: 1,234 dollars — naïve café, 日本語, emoji 😀! The Union's strength is you.\n";

static rnnc_tokenizer *train(rnnc_tokenizer_type type, size_t vocab) {
    const unsigned char *texts[] = {U(CORPUS)};
    size_t lens[] = {strlen(CORPUS)};
    rnnc_tokenizer_train_opts o = {.type = type, .vocab_size = vocab};
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_train(&t, texts, lens, 1, &o);
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    return t;
}

static void test_json_round_trip(rnnc_tokenizer_type type, size_t vocab) {
    rnnc_tokenizer *t = train(type, vocab);
    if (!t) return;
    char *json = NULL;
    CHECK_EQ_LL(rnnc_tokenizer_to_json(t, &json), RNNC_OK);
    if (!json) { rnnc_tokenizer_free(t); return; }
    rnnc_tokenizer *u = NULL;
    rnnc_status s = rnnc_tokenizer_from_json(&u, json, strlen(json));
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (u) {
        check_same(t, u, "the state of the Union is strong, naïve 😀 <unk> \xFF");
        char *again = NULL;
        CHECK_EQ_LL(rnnc_tokenizer_to_json(u, &again), RNNC_OK);
        CHECK(again && strcmp(again, json) == 0); /* serialisation is a fixed point */
        free(again);
    }
    rnnc_tokenizer_free(u);
    free(json);
    rnnc_tokenizer_free(t);
}

static void test_json_char(void) { test_json_round_trip(RNNC_TOKENIZER_CHAR, 0); }
static void test_json_word(void) { test_json_round_trip(RNNC_TOKENIZER_WORD, 30); }

static void test_json_golden_char(void) {
    /* A hand-written file: ids are documented, so a file from elsewhere must decode as specified. */
    const char *json = "{\"type\":\"char\",\"version\":1,\"chars\":[104,105,233]}";
    rnnc_tokenizer *t;
    CHECK_EQ_LL(rnnc_tokenizer_from_json(&t, json, strlen(json)), RNNC_OK);
    if (!t) return;
    rnnc_ids ids = {0};
    CHECK_EQ_LL(rnnc_tokenizer_encode(t, U("hi é!"), 6, false, &ids, NULL), RNNC_OK);
    uint32_t want[] = {260, 261, 4 + ' ', 262, 4 + '!'};
    CHECK_EQ_LL(ids.len, 5);
    for (size_t i = 0; i < 5 && i < ids.len; i++) CHECK_EQ_LL(ids.data[i], want[i]);
    CHECK_EQ_LL(rnnc_tokenizer_special_id(t, "<eos>"), RNNC_TOK_EOS);
    CHECK_EQ_LL(rnnc_tokenizer_special_id(t, "<nope>"), UINT32_MAX);
    rnnc_ids_free(&ids);
    rnnc_tokenizer_free(t);
}

static void test_json_bad(void) {
    const char *bad[] = {
        "{\"type\":\"char\",\"chars\":[104,", "{\"type\":\"chars\"}", "{\"type\":\"char\",\"chars\":[\"a\"]}",
        "{\"type\":\"char\",\"chars\":[-1]}", "{\"type\":\"char\",\"version\":2,\"chars\":[]}",
        "{\"type\":\"word\",\"words\":[1]}", "{\"type\":\"word\",\"words\":[]}", "{\"type\":\"word\",\"words\":[\"a\",\"a\"]}",
        "{\"type\":\"word\",\"rule\":\"\\\\w+\",\"words\":[\"a\"]}", "[]",
        "{\"type\":\"bpe\",\"pattern\":\"cl100k\",\"ranks\":[\"not base64!\"]}",
        "{\"type\":\"bpe\",\"ranks\":[]}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        rnnc_tokenizer *t = NULL;
        rnnc_status s = rnnc_tokenizer_from_json(&t, bad[k], strlen(bad[k]));
        CHECK_MSG(s == RNNC_ERR_FORMAT || s == RNNC_ERR_ARG, "case %zu: status %d", k, (int)s);
        CHECK(t == NULL);
        CHECK(strlen(rnnc_last_error()) > 0);
    }
}

static int count_dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_save_load(void) {
    char dir[] = "/tmp/rnnc_test_tokenizer_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[256], path2[256];
    snprintf(path, sizeof path, "%s/tok.json", dir);
    snprintf(path2, sizeof path2, "%s/missing/tok.json", dir);
    rnnc_tokenizer *c = train(RNNC_TOKENIZER_CHAR, 0), *w = train(RNNC_TOKENIZER_WORD, 20);
    if (c && w) {
        CHECK_EQ_LL(rnnc_tokenizer_save(c, path), RNNC_OK);
        rnnc_tokenizer *u = NULL;
        CHECK_EQ_LL(rnnc_tokenizer_load(&u, path, NULL), RNNC_OK);
        if (u) check_same(c, u, CORPUS);
        rnnc_tokenizer_free(u);
        /* overwrite with the word tokenizer: the load sees the new one, and no temp file is left */
        CHECK_EQ_LL(rnnc_tokenizer_save(w, path), RNNC_OK);
        CHECK_EQ_LL(rnnc_tokenizer_load(&u, path, NULL), RNNC_OK);
        if (u) check_same(w, u, CORPUS);
        rnnc_tokenizer_free(u);
        CHECK_EQ_LL(count_dir_entries(dir), 1);
        /* a failed save (no such directory) creates nothing */
        CHECK_EQ_LL(rnnc_tokenizer_save(c, path2), RNNC_ERR_IO);
        CHECK(strstr(rnnc_last_error(), "missing"));
        CHECK_EQ_LL(count_dir_entries(dir), 1);
        /* load errors name the file */
        CHECK_EQ_LL(rnnc_tokenizer_load(&u, path2, NULL), RNNC_ERR_IO);
        CHECK(strstr(rnnc_last_error(), path2));
        const char *torn = "{\"type\":\"word\",\"words\":[";
        CHECK_EQ_LL(rnnc_write_file_atomic(path, torn, strlen(torn)), RNNC_OK);
        CHECK_EQ_LL(rnnc_tokenizer_load(&u, path, NULL), RNNC_ERR_FORMAT);
        CHECK(strstr(rnnc_last_error(), path) && strstr(rnnc_last_error(), "syntax"));
    }
    rnnc_tokenizer_free(c);
    rnnc_tokenizer_free(w);
    unlink(path);
    rmdir(dir);
}


/* Pseudo-English from a fixed word list: enough distinct pairs for a few hundred merges. */
static char *word_soup(uint64_t seed, size_t n_words) {
    static const char *w[] = {"the", "state", "of", "union", "congress", "nation", "people", "year", "government",
                              "war", "peace", "trade", "tax", "law", "president", "citizens", "freedom", "we",
                              "our", "must", "will", "have", "been", "american", "economy", "world", "new",
                              "work", "families", "children", "schools", "health", "energy", "security"};
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    char *buf = malloc(n_words * 16 + 1), *p = buf;
    if (!buf) return NULL;
    for (size_t i = 0; i < n_words; i++) {
        const char *x = w[rnnc_rng_below(&r, sizeof w / sizeof w[0])];
        size_t n = strlen(x);
        memcpy(p, x, n);
        p += n;
        *p++ = rnnc_rng_below(&r, 12) == 0 ? '\n' : rnnc_rng_below(&r, 9) == 0 ? ',' : ' ';
    }
    *p = 0;
    return buf;
}

static rnnc_tokenizer *train_bpe(const char *text, size_t vocab, const char *special) {
    const unsigned char *texts[] = {U(text)};
    size_t lens[] = {strlen(text)};
    const char *specials[] = {special};
    rnnc_tokenizer_train_opts o = {.type = RNNC_TOKENIZER_BPE, .vocab_size = vocab, .pattern = "cl100k",
                                   .specials = specials, .n_specials = special ? 1 : 0};
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_train(&t, texts, lens, 1, &o);
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    return t;
}

static void test_json_bpe(void) {
    char *text = word_soup(1, 5000);
    rnnc_tokenizer *t = text ? train_bpe(text, 300, "<|endoftext|>") : NULL;
    if (t) {
        CHECK_EQ_LL(rnnc_tokenizer_n_vocab(t), 300);
        CHECK_EQ_LL(rnnc_tokenizer_special_id(t, "<|endoftext|>"), 299);
        CHECK_EQ_LL(rnnc_tokenizer_special_id(t, "the"), UINT32_MAX);
        char *json = NULL;
        CHECK_EQ_LL(rnnc_tokenizer_to_json(t, &json), RNNC_OK);
        CHECK(json && strstr(json, "\"special_tokens\":{\"<|endoftext|>\":299}"));
        rnnc_tokenizer *u = NULL;
        rnnc_status s = json ? rnnc_tokenizer_from_json(&u, json, strlen(json)) : RNNC_ERR_ARG;
        CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
        if (u) {
            check_same(t, u, "the state of the union<|endoftext|>security \xFF\xFE 😀");
            CHECK_EQ_LL(rnnc_tokenizer_special_id(u, "<|endoftext|>"), 299);
            char *again = NULL;
            CHECK_EQ_LL(rnnc_tokenizer_to_json(u, &again), RNNC_OK);
            CHECK(again && json && strcmp(again, json) == 0);
            free(again);
        }
        rnnc_tokenizer_free(u);
        free(json);
    }
    rnnc_tokenizer_free(t);
    free(text);
}

/* `stats` derives small BPE vocabularies by cutting a large run's ranks: that is only right if
 * the first merges of a long run are exactly a short run's merges. */
static void test_bpe_merges_nest(void) {
    char *text = word_soup(2, 20000);
    rnnc_tokenizer *small = text ? train_bpe(text, 300, NULL) : NULL, *big = text ? train_bpe(text, 420, NULL) : NULL;
    if (small && big) {
        CHECK_EQ_LL(rnnc_tokenizer_n_vocab(small), 300);
        CHECK_EQ_LL(rnnc_tokenizer_n_vocab(big), 420);
        int diff = 0;
        for (uint32_t id = 0; id < 300; id++) {
            rnnc_token_bytes a = rnnc_tokenizer_token(small, id), b = rnnc_tokenizer_token(big, id);
            diff += !a.data || !b.data || a.len != b.len || memcmp(a.data, b.data, a.len);
        }
        CHECK_EQ_LL(diff, 0);
    }
    rnnc_tokenizer_free(small);
    rnnc_tokenizer_free(big);
    free(text);
}

static void test_bpe_json_golden(void) {
    /* 256 single bytes in byte order, then "ab" (rank 256) and "abab" (257); one special. */
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char json[8192], *p = json;
    p += sprintf(p, "{\"type\":\"bpe\",\"version\":1,\"pattern\":\"r50k\",\"ranks\":[");
    for (int b = 0; b < 256; b++) p += sprintf(p, "\"%c%c==\",", B64[b >> 2], B64[(b & 3) << 4]);
    sprintf(p, "\"YWI=\",\"YWJhYg==\"],\"special_tokens\":{\"<s>\":300}}");
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_from_json(&t, json, strlen(json));
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (!t) return;
    CHECK_EQ_LL(rnnc_tokenizer_n_vocab(t), 301);
    rnnc_ids ids = {0};
    CHECK_EQ_LL(rnnc_tokenizer_encode(t, U("ababab<s>"), 9, true, &ids, NULL), RNNC_OK);
    uint32_t want[] = {257, 256, 300};
    CHECK_EQ_LL(ids.len, 3);
    for (size_t i = 0; i < 3 && i < ids.len; i++) CHECK_EQ_LL(ids.data[i], want[i]);
    /* ids between the ranks and the special are unused: decoding them is an error */
    uint32_t gap[] = {97, 299};
    rnnc_bytes out = {0};
    CHECK_EQ_LL(rnnc_tokenizer_decode(t, gap, 2, &out), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "299") && strstr(rnnc_last_error(), "position 1"));
    rnnc_bytes_free(&out);
    rnnc_ids_free(&ids);
    rnnc_tokenizer_free(t);
}

/* A BPE tokenizer JSON: all 256 bytes, then `tail` (the rest of "ranks" and the object). */
static char *bpe_json(const char *tail) {
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = 256 * 8 + strlen(tail) + 128;
    char *json = malloc(cap), *p = json;
    if (!json) return NULL;
    p += sprintf(p, "{\"type\":\"bpe\",\"version\":1,\"pattern\":\"r50k\",\"ranks\":[");
    for (int b = 0; b < 256; b++) p += sprintf(p, "\"%c%c==\",", B64[b >> 2], B64[(b & 3) << 4]);
    sprintf(p, "%s", tail);
    return json;
}

/* json (len bytes) must fail to load with a message holding `needle`, on one line. */
static void expect_json_error(const char *json, size_t len, const char *needle) {
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_from_json(&t, json, len);
    const char *m = rnnc_last_error();
    CHECK_MSG(s != RNNC_OK && t == NULL, "loaded: %.80s", json);
    CHECK_MSG(strstr(m, needle) != NULL, "message '%s' lacks '%s'", m, needle);
    CHECK_MSG(strncmp(m, "tokenizer JSON: ", 16) == 0, "message '%s' does not name the tokenizer JSON", m);
    CHECK(strchr(m, '\n') == NULL);
    rnnc_tokenizer_free(t);
}

#define BAD_JSON(text, needle) expect_json_error(text, sizeof text - 1, needle)

static void expect_bpe_error(const char *tail, const char *needle) {
    char *json = bpe_json(tail);
    if (json) expect_json_error(json, strlen(json), needle);
    free(json);
}

static void test_json_hostile(void) {
    /* A NUL would cut a name short, silently: refused, naming the string as written. */
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<|end\\u0000of|>\":300}}", "the string \"<|end\\u0000of|>\" at byte");
    char *nul_after = bpe_json("\"YWI=\"],\"special_tokens\":{\"<|end|>\":300}}");
    if (nul_after) expect_json_error(nul_after, strlen(nul_after) + 1, "unexpected data after the JSON object"); /* its NUL */
    free(nul_after);
    BAD_JSON("{\"type\":\"word\",\"words\":[\"a\\u0000b\"]}", "the string \"a\\u0000b\" at byte 24 contains NUL");
    BAD_JSON("{\"type\":\"word\",\"words\":[\"a\0b\"]}", "\"a\\x00b\" at byte 24 contains NUL");
    BAD_JSON("{\"type\":\"bpe\",\"pattern\":\"r50k\\u0000x\",\"ranks\":[]}", "\"r50k\\u0000x\"");
    /* A repeated key: cJSON keeps both and the first would win. */
    BAD_JSON("{\"type\":\"char\",\"chars\":[104],\"type\":\"word\"}", "tokenizer JSON: key \"type\" appears twice");
    BAD_JSON("{\"type\":\"char\",\"chars\":[104],\"chars\":[105]}", "key \"chars\" appears twice");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":300,\"<t>\":301,\"<s>\":302}}", "\"special_tokens\": key \"<s>\" appears twice");
    /* Numbers: range-checked as doubles before any integer cast. */
    BAD_JSON("{\"type\":\"char\",\"chars\":[104,1e30]}", "\"chars\"[1] is not a code point");
    BAD_JSON("{\"type\":\"char\",\"chars\":[18446744073709551616]}", "\"chars\"[0] is not a code point");
    BAD_JSON("{\"type\":\"char\",\"chars\":[-1]}", "\"chars\"[0] is not a code point");
    BAD_JSON("{\"type\":\"char\",\"chars\":[104.5]}", "\"chars\"[0] is not a code point");
    BAD_JSON("{\"type\":\"char\",\"chars\":[1114112]}", "\"chars\"[0] is not a code point");
    BAD_JSON("{\"type\":\"char\",\"chars\":[55296]}", "tokenizer JSON: \"chars\": char tokenizer: character 0 (U+D800)");
    BAD_JSON("{\"type\":\"char\",\"chars\":[104,104]}", "U+0068 is listed twice");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":1e30}}", "special token \"<s>\" has id 1e+30; ids are integers from 0 to 2147483646");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":4294967296}}", "has id 4294967296;");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":-1}}", "has id -1;");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":300.5}}", "has id 300.5;");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":null}}", "special token \"<s>\" needs a number id");
    /* The vocabulary must fit an int (2^32 - 1 ids used to come back as vocab -1), and special ids
     * may not run far past the ranks (sizes are bounded by the file). */
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":4294967294}}", "special token '<s>' has id 4294967294; ids must be below 2147483647");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":2147483647}}", "has id 2147483647; ids must be below 2147483647");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<s>\":70000}}", "has id 70000; special ids must be below 65794");
    /* Specials that clash: an id twice (used to crash), a rank's id. */
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<a>\":300,\"<b>\":300}}", "special tokens '<a>' and '<b>' share the id 300");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"<a>\":256}}", "'<a>' has id 256, which is already an ordinary token's rank");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{\"\":300}}", "special token 0 (id 300) has empty text");
    /* Ranks: a second spelling of the same bytes, an empty string, a duplicate token. */
    expect_bpe_error("\"YWJ=\"]}", "\"ranks\"[256] is not base64");
    expect_bpe_error("\"\"]}", "\"ranks\"[256] is not base64");
    expect_bpe_error("\"YWI=\",\"YWI=\"]}", "duplicate token: ranks 256 and 257");
    expect_bpe_error("\"YWI=\"],\"pattern\":\"o200k\"}", "key \"pattern\" appears twice");
    expect_bpe_error("\"YWI=\"],\"special_tokens\":{}} x", "unexpected data after the JSON object at byte");
    /* Empty text, versions, and the fixed reserved ids. */
    BAD_JSON("", "tokenizer JSON: empty");
    BAD_JSON(" \n ", "tokenizer JSON: empty");
    BAD_JSON("{\"type\":\"char\",\"version\":\"1\",\"chars\":[]}", "\"version\" must be the number 1");
    BAD_JSON("{\"type\":\"char\",\"version\":1e300,\"chars\":[]}", "version 1e+300 is not supported");
    BAD_JSON("{\"type\":\"char\",\"reserved\":[\"<pad>\",\"<s>\",\"</s>\",\"<unk>\"],\"chars\":[]}", "\"reserved\" must be");
    BAD_JSON("{\"type\":\"word\",\"reserved\":[\"<pad>\",\"<bos>\",\"<eos>\"],\"words\":[\"a\"]}", "\"reserved\" must be");
    BAD_JSON("{\"type\":\"char\",\"byte_fallback\":false,\"chars\":[]}", "\"byte_fallback\" must be true");
    BAD_JSON("{\"type\":\"word\",\"words\":[\"a b\"]}", "tokenizer JSON: \"words\": word tokenizer: word 0 holds white space");
    BAD_JSON("{\"type\":\"word\",\"words\":[\"a\\nb\",\"a\\nb\"]}", "word 0 holds white space (byte 0x0A at 1)");
    BAD_JSON("{\"type\":\"word\",\"words\":[\"a\",\"b\",\"a\"]}", "the word 'a' is listed twice");

    /* Valid files with specials still load: one in a gap of the ranks, one above them. */
    char *json = bpe_json("null,\"YWI=\"],\"special_tokens\":{\"<|b\\u00e9|>\":256,\"<|end|>\":260}}");
    rnnc_tokenizer *t = NULL;
    rnnc_status s = json ? rnnc_tokenizer_from_json(&t, json, strlen(json)) : RNNC_ERR_NOMEM;
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (t) {
        CHECK_EQ_LL(rnnc_tokenizer_n_vocab(t), 261);
        CHECK_EQ_LL(rnnc_tokenizer_special_id(t, "<|b\xC3\xA9|>"), 256);
        rnnc_ids ids = {0};
        CHECK_EQ_LL(rnnc_tokenizer_encode(t, U("ab<|end|><|b\xC3\xA9|>"), 16, true, &ids, NULL), RNNC_OK);
        CHECK(ids.len == 3 && ids.data[0] == 257 && ids.data[1] == 260 && ids.data[2] == 256);
        rnnc_ids_free(&ids);
        /* and write the same again: the special in the gap is listed once, as a special */
        char *again = NULL;
        CHECK_EQ_LL(rnnc_tokenizer_to_json(t, &again), RNNC_OK);
        CHECK(again && strstr(again, "\"special_tokens\":{\"<|b\xC3\xA9|>\":256,\"<|end|>\":260}"));
        CHECK(again && strstr(again, "\"/w==\",null,\"YWI=\"]"));
        rnnc_tokenizer *u = NULL;
        if (again) CHECK_EQ_LL(rnnc_tokenizer_from_json(&u, again, strlen(again)), RNNC_OK);
        if (u) check_same(t, u, "ab<|end|> <|b\xC3\xA9|>");
        rnnc_tokenizer_free(u);
        free(again);
    }
    rnnc_tokenizer_free(t);
    free(json);
    /* An escaped backslash before "u0000" is no NUL; trailing white space is fine. */
    const char *ok = "{\"type\":\"word\",\"version\":1,\"words\":[\"a\\\\u0000\"]}\r\n\t ";
    CHECK_EQ_LL(rnnc_tokenizer_from_json(&t, ok, strlen(ok)), RNNC_OK);
    if (t) CHECK_STR((const char *)rnnc_tokenizer_token(t, 4).data, "a\\u0000");
    rnnc_tokenizer_free(t);
}

/* A load error names the file; a save error (out of memory or I/O) names the path. */
static void test_json_file_errors(void) {
    char dir[] = "/tmp/rnnc_test_tokenizer_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[256];
    snprintf(path, sizeof path, "%s/dup.json", dir);
    char *json = bpe_json("\"YWI=\"],\"special_tokens\":{\"<a>\":300,\"<b>\":300}}");
    if (json) CHECK_EQ_LL(rnnc_write_file_atomic(path, json, strlen(json)), RNNC_OK);
    free(json);
    rnnc_tokenizer *t = NULL;
    CHECK_EQ_LL(rnnc_tokenizer_load(&t, path, NULL), RNNC_ERR_ARG);
    char want[400];
    snprintf(want, sizeof want, "%s: tokenizer JSON: special tokens '<a>' and '<b>' share the id 300", path);
    CHECK_STR(rnnc_last_error(), want);
    CHECK(t == NULL);
    unlink(path);
    rmdir(dir);
}

static void test_bpe_save_load(void) {
    char dir[] = "/tmp/rnnc_test_tokenizer_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[256], side[300];
    snprintf(path, sizeof path, "%s/bpe.tiktoken", dir);
    snprintf(side, sizeof side, "%s.json", path);
    char *text = word_soup(3, 3000);
    rnnc_tokenizer *t = text ? train_bpe(text, 290, "<|endoftext|>") : NULL;
    if (t) {
        CHECK_EQ_LL(rnnc_tokenizer_save(t, path), RNNC_OK);
        CHECK_EQ_LL(count_dir_entries(dir), 2); /* the rank file and its sidecar, no temp files */
        rnnc_tokenizer *u = NULL;
        rnnc_status s = rnnc_tokenizer_load(&u, path, NULL);
        CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
        if (u) {
            check_same(t, u, "the nation<|endoftext|>");
            CHECK_EQ_LL(rnnc_tokenizer_special_id(u, "<|endoftext|>"), 289);
        }
        rnnc_tokenizer_free(u);
    }
    rnnc_tokenizer_free(t);
    free(text);
    unlink(path);
    unlink(side);
    rmdir(dir);
}

static void test_openai_by_name(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tiktoken/cl100k_base.tiktoken", rnnc_data_dir());
    if (access(path, R_OK) != 0) { printf("skip: %s not fetched\n", path); return; }
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_load(&t, "cl100k_base", NULL);
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (!t) return;
    rnnc_ids ids = {0};
    CHECK_EQ_LL(rnnc_tokenizer_encode(t, U("hello world<|endoftext|>"), 24, true, &ids, NULL), RNNC_OK);
    uint32_t want[] = {15339, 1917, 100257};
    CHECK_EQ_LL(ids.len, 3);
    for (size_t i = 0; i < 3 && i < ids.len; i++) CHECK_EQ_LL(ids.data[i], want[i]);
    CHECK_EQ_LL(rnnc_tokenizer_special_id(t, "<|endoftext|>"), 100257);
    rnnc_ids_free(&ids);
    rnnc_tokenizer_free(t);

    /* An OpenAI vocabulary (gaps, specials above the ranks) survives JSON unchanged. */
    if (rnnc_tokenizer_load(&t, "r50k_base", NULL) != RNNC_OK) { CHECK_MSG(0, "%s", rnnc_last_error()); return; }
    char *json = NULL;
    CHECK_EQ_LL(rnnc_tokenizer_to_json(t, &json), RNNC_OK);
    CHECK(json && strstr(json, "\"special_tokens\":{\"<|endoftext|>\":50256}"));
    rnnc_tokenizer *u = NULL;
    if (json) CHECK_EQ_LL(rnnc_tokenizer_from_json(&u, json, strlen(json)), RNNC_OK);
    if (u) check_same(t, u, "Fellow citizens: the state of our Union<|endoftext|> 日本語 😀 \xFF");
    rnnc_tokenizer_free(u);
    free(json);
    rnnc_tokenizer_free(t);
}

int main(void) {
    RUN(test_char_vocabulary_order);
    RUN(test_char_encode_fallback);
    RUN(test_char_bad_input);
    RUN(test_char_random_round_trip);
    RUN(test_word_rule);
    RUN(test_word_vocabulary_and_oov);
    RUN(test_word_detokenize);
    RUN(test_word_bad_input);
    RUN(test_json_char);
    RUN(test_json_word);
    RUN(test_json_golden_char);
    RUN(test_json_bad);
    RUN(test_save_load);
    RUN(test_json_bpe);
    RUN(test_bpe_merges_nest);
    RUN(test_bpe_json_golden);
    RUN(test_bpe_save_load);
    RUN(test_json_hostile);
    RUN(test_json_file_errors);
    RUN(test_openai_by_name);
    return test_report();
}
