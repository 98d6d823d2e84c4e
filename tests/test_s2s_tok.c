/* Seq2seq vocabularies backed by rnnc tokenizers (word, bpe:N, a tokenizer file): the shared spec
 * parser, training on one column of a TSV text, encode/decode round trips with the +4 id offset,
 * unknown-token counts, model files that carry the tokenizers (and still load the old symbol-list
 * form), and the errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "test.h"

/* Sources are English, targets "French": the words of one column never occur in the other. */
static const char TSV[] =
    "the cat sat\tle chat assis\n"
    "the dog sat\tle chien assis\n"
    "a cat ran\tun chat couru\r\n"
    "the cat ran\tle chat couru\n"
    "no tab on this line\n"
    "\tempty source\n"
    "a dog sat\tun chien assis\n"
    "the dog ran\tle chien couru\n";

static char *str_of(const rnnc_s2s_vocab *v, const rnnc_ids *ids) {
    rnnc_bytes b = {0};
    if (rnnc_s2s_decode(v, ids->data, ids->len, &b)) { rnnc_bytes_free(&b); return NULL; }
    return (char *)b.data;
}

static void test_spec_parse(void) {
    rnnc_tokenizer_spec ts;
    CHECK(rnnc_tokenizer_spec_parse("word", &ts) == RNNC_OK);
    CHECK(!ts.load && ts.type == RNNC_TOKENIZER_WORD && ts.vocab_size == RNNC_WORD_DEFAULT_VOCAB && !ts.sized);
    CHECK(rnnc_tokenizer_spec_parse("word:123", &ts) == RNNC_OK);
    CHECK(!ts.load && ts.type == RNNC_TOKENIZER_WORD && ts.vocab_size == 123 && ts.sized);
    CHECK(rnnc_tokenizer_spec_parse("bpe:300", &ts) == RNNC_OK);
    CHECK(!ts.load && ts.type == RNNC_TOKENIZER_BPE && ts.vocab_size == 300);
    CHECK(rnnc_tokenizer_spec_parse("char", &ts) == RNNC_OK);
    CHECK(!ts.load && ts.type == RNNC_TOKENIZER_CHAR && ts.vocab_size == 0);
    CHECK(rnnc_tokenizer_spec_parse("cl100k_base", &ts) == RNNC_OK);
    CHECK(ts.load && !strcmp(ts.name, "cl100k_base"));
    CHECK(rnnc_tokenizer_spec_parse("dir/tok.json", &ts) == RNNC_OK && ts.load);
    const char *bad[] = {"bpe:abc", "bpe:", "word:0", "word:-5", "bpe:+300", "bpe: 300", "word:12x", "bpe:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(rnnc_tokenizer_spec_parse(bad[i], &ts) == RNNC_ERR_ARG, "%s", bad[i]);
        CHECK_MSG(!strncmp(rnnc_last_error(), bad[i], strlen(bad[i])), "%s: %s", bad[i], rnnc_last_error());
    }
    CHECK(rnnc_tokenizer_spec_parse("bpe", &ts) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "needs a vocabulary size") != NULL);

    rnnc_s2s_tok t;
    CHECK(rnnc_s2s_tok_parse("space", &t) == RNNC_OK && t == RNNC_S2S_TOK_SPACE);
    CHECK(rnnc_s2s_tok_parse("char", &t) == RNNC_OK && t == RNNC_S2S_TOK_CHAR);
    CHECK(rnnc_s2s_tok_parse("word", &t) == RNNC_OK && t == RNNC_S2S_TOK_WORD);
    CHECK(rnnc_s2s_tok_parse("word:50", &t) == RNNC_OK && t == RNNC_S2S_TOK_WORD);
    CHECK(rnnc_s2s_tok_parse("bpe:300", &t) == RNNC_OK && t == RNNC_S2S_TOK_BPE);
    CHECK(rnnc_s2s_tok_parse("o200k_base", &t) == RNNC_OK && t == RNNC_S2S_TOK_FILE);
    CHECK(rnnc_s2s_tok_parse("my.tiktoken", &t) == RNNC_OK && t == RNNC_S2S_TOK_FILE);
    CHECK(rnnc_s2s_tok_parse("bpe:abc", &t) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "bpe:abc: expected bpe:N") != NULL);
    CHECK(rnnc_s2s_tok_parse("char:40", &t) == RNNC_ERR_ARG);
    CHECK(rnnc_s2s_tok_parse("bpe", &t) == RNNC_ERR_ARG);
    CHECK_STR(rnnc_s2s_tok_name(RNNC_S2S_TOK_WORD), "word");
    CHECK_STR(rnnc_s2s_tok_name(RNNC_S2S_TOK_BPE), "bpe");
    CHECK_STR(rnnc_s2s_tok_name(RNNC_S2S_TOK_FILE), "file");
    CHECK(!rnnc_s2s_tok_is_tokenizer(RNNC_S2S_TOK_CHAR) && rnnc_s2s_tok_is_tokenizer(RNNC_S2S_TOK_FILE));
}

/* word on the source column: ids are the tokenizer's + 4, target-only words are unknown. */
static void test_word_vocab(void) {
    rnnc_s2s_vocab v;
    CHECK(rnnc_s2s_vocab_make(&v, "word", TSV, sizeof TSV - 1, 0) == RNNC_OK);
    CHECK(v.tok == RNNC_S2S_TOK_WORD && v.tk != NULL);
    if (!v.tk) return;
    CHECK(rnnc_tokenizer_type_of(v.tk) == RNNC_TOKENIZER_WORD);
    /* the, cat, sat, dog, a, ran: 6 words after the tokenizer's 4 reserved ids */
    CHECK_EQ_LL(rnnc_tokenizer_n_vocab(v.tk), 10);
    CHECK_EQ_LL(v.n, 14);
    /* the most frequent source word is "the" (4 lines): tokenizer id 4, seq2seq id 8; the line
     * without a tab and the one with an empty source were left out ("tab", "empty" are unknown) */
    rnnc_ids ids = {0};
    size_t unk = 0;
    CHECK(rnnc_s2s_encode_ex(&v, "the cat", 7, true, &ids, &unk) == RNNC_OK);
    CHECK_EQ_LL(ids.len, 2);
    CHECK_EQ_LL(ids.data[0], 8);
    CHECK_EQ_LL(unk, 0);
    CHECK_EQ_LL(v.n, 14); /* grow never grows a tokenizer */
    for (size_t i = 0; i < ids.len; i++) CHECK(ids.data[i] >= RNNC_S2S_NSPECIAL && ids.data[i] < v.n);
    char *s = str_of(&v, &ids);
    CHECK_STR(s, "the cat");
    free(s);
    ids.len = 0;
    CHECK(rnnc_s2s_encode_ex(&v, "the chat ran empty", 18, false, &ids, &unk) == RNNC_OK);
    CHECK_EQ_LL(ids.len, 4);
    CHECK_EQ_LL(unk, 2);
    CHECK_EQ_LL(ids.data[1], RNNC_S2S_NSPECIAL + RNNC_TOK_UNK); /* the word tokenizer's own <unk>, offset */
    s = str_of(&v, &ids);
    CHECK_STR(s, "the <unk> ran <unk>");
    free(s);
    /* specials: <pad>/<bos>/<eos> decode to nothing, seq2seq <unk> to "<unk>" spaced as a word */
    uint32_t dec[] = {RNNC_S2S_BOS, 8, RNNC_S2S_UNK, 8, RNNC_S2S_EOS, RNNC_S2S_PAD};
    rnnc_bytes b = {0};
    CHECK(rnnc_s2s_decode(&v, dec, 6, &b) == RNNC_OK);
    CHECK_STR((char *)b.data, "the <unk> the");
    b.len = 0;
    CHECK(rnnc_s2s_decode(&v, dec, 0, &b) == RNNC_OK);
    CHECK(b.data && b.len == 0 && b.data[0] == 0);
    uint32_t bad = 14;
    CHECK(rnnc_s2s_decode(&v, &bad, 1, &b) == RNNC_ERR_RANGE);
    /* "<eos>" in the data is text, never the control token */
    ids.len = 0;
    CHECK(rnnc_s2s_encode(&v, "<eos>", 5, false, &ids) == RNNC_OK);
    for (size_t i = 0; i < ids.len; i++) CHECK(ids.data[i] >= RNNC_S2S_NSPECIAL);
    /* symbol-list calls refuse a tokenizer vocabulary */
    uint32_t id;
    CHECK(rnnc_s2s_vocab_add(&v, "x", 1, &id) == RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_s2s_vocab_find(&v, "the", 3), RNNC_S2S_UNK);
    /* the stored form is the tokenizer's JSON and comes back the same */
    rnnc_bytes ser = {0};
    CHECK(rnnc_s2s_vocab_to_string(&v, &ser) == RNNC_OK);
    CHECK(ser.data && ser.data[0] == '{' && strstr((char *)ser.data, "\"word\"") != NULL);
    rnnc_s2s_vocab w;
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_WORD, (char *)ser.data, "test") == RNNC_OK);
    CHECK_EQ_LL(w.n, v.n);
    rnnc_ids ids2 = {0};
    ids.len = 0;
    CHECK(rnnc_s2s_encode(&v, "a dog ran fast", 14, false, &ids) == RNNC_OK);
    CHECK(rnnc_s2s_encode(&w, "a dog ran fast", 14, false, &ids2) == RNNC_OK);
    CHECK(ids.len == ids2.len && !memcmp(ids.data, ids2.data, ids.len * sizeof *ids.data));
    rnnc_s2s_vocab_free(&w);
    /* the kind's type must match; a bad JSON names `what` */
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_BPE, (char *)ser.data, "kind") == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "kind: ") == rnnc_last_error());
    CHECK(rnnc_s2s_vocab_from_string(&w, RNNC_S2S_TOK_FILE, "{\"type\":", "broken") != RNNC_OK);
    CHECK(strstr(rnnc_last_error(), "broken") != NULL);
    rnnc_bytes_free(&ser);
    rnnc_bytes_free(&b);
    rnnc_ids_free(&ids);
    rnnc_ids_free(&ids2);
    rnnc_s2s_vocab_free(&v);

    /* word:N keeps N ids (reserved included) */
    CHECK(rnnc_s2s_vocab_make(&v, "word:6", TSV, sizeof TSV - 1, 1) == RNNC_OK);
    if (v.tk) CHECK_EQ_LL(rnnc_tokenizer_n_vocab(v.tk), 6);
    CHECK_EQ_LL(v.n, 10);
    rnnc_s2s_vocab_free(&v);
}

/* bpe:N on the target column: lossless on any text, ids offset by 4. */
static void test_bpe_vocab(void) {
    rnnc_s2s_vocab v;
    CHECK(rnnc_s2s_vocab_make(&v, "bpe:280", TSV, sizeof TSV - 1, 1) == RNNC_OK);
    CHECK(v.tok == RNNC_S2S_TOK_BPE && v.tk != NULL);
    if (!v.tk) return;
    size_t nv = rnnc_tokenizer_n_vocab(v.tk);
    CHECK(nv > 256 && nv <= 280);
    CHECK_EQ_LL(v.n, nv + RNNC_S2S_NSPECIAL);
    const char *texts[] = {"le chat assis", "un chien couru", "the cat sat", "r\xc3\xa9sum\xc3\xa9 <eos> \xff\x01"};
    size_t lens_short[4];
    for (int k = 0; k < 4; k++) {
        rnnc_ids ids = {0};
        size_t unk = 0;
        size_t len = strlen(texts[k]);
        CHECK(rnnc_s2s_encode_ex(&v, texts[k], len, false, &ids, &unk) == RNNC_OK);
        CHECK_EQ_LL(unk, 0);
        bool in_range = ids.len > 0;
        for (size_t i = 0; i < ids.len; i++) in_range &= ids.data[i] >= RNNC_S2S_NSPECIAL && ids.data[i] < v.n;
        CHECK_MSG(in_range, "%s", texts[k]);
        lens_short[k] = ids.len;
        char *s = str_of(&v, &ids);
        CHECK_STR(s, texts[k]);
        free(s);
        rnnc_ids_free(&ids);
    }
    /* trained on the targets: merges shorten a target line */
    CHECK(lens_short[0] < strlen(texts[0]));
    /* <unk> and an id the tokenizer never uses decode to "<unk>" between the exact bytes */
    rnnc_ids ids = {0};
    CHECK(rnnc_s2s_encode(&v, "le chat", 7, false, &ids) == RNNC_OK);
    uint32_t seq[16];
    size_t n = 0;
    for (size_t i = 0; i < ids.len && n < 8; i++) seq[n++] = ids.data[i];
    seq[n++] = RNNC_S2S_UNK;
    for (size_t i = 0; i < ids.len && n < 16; i++) seq[n++] = ids.data[i];
    rnnc_bytes b = {0};
    CHECK(rnnc_s2s_decode(&v, seq, n, &b) == RNNC_OK);
    CHECK_STR((char *)b.data, "le chat<unk>le chat");
    rnnc_bytes_free(&b);
    rnnc_ids_free(&ids);
    rnnc_s2s_vocab_free(&v);
    /* too small for the byte tokens: the tokenizer's own message */
    CHECK(rnnc_s2s_vocab_make(&v, "bpe:100", TSV, sizeof TSV - 1, 1) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "256") != NULL);
}

/* A tokenizer file (rnnc tokenizer train's output) or a missing one. */
static void test_file_vocab(void) {
    const char *texts[] = {"le chat assis sur le tapis"};
    size_t lens[] = {strlen(texts[0])};
    rnnc_tokenizer_train_opts o = {.type = RNNC_TOKENIZER_WORD, .vocab_size = 100};
    rnnc_tokenizer *t = NULL;
    CHECK(rnnc_tokenizer_train(&t, (const unsigned char *const *)texts, lens, 1, &o) == RNNC_OK);
    const char *path = "test_s2s_tok_word.json";
    CHECK(t && rnnc_tokenizer_save(t, path) == RNNC_OK);
    rnnc_s2s_vocab v;
    CHECK(rnnc_s2s_vocab_make(&v, path, TSV, sizeof TSV - 1, 1) == RNNC_OK);
    CHECK(v.tok == RNNC_S2S_TOK_FILE);
    if (v.tk && t) {
        CHECK_EQ_LL(v.n, rnnc_tokenizer_n_vocab(t) + 4);
        rnnc_ids ids = {0};
        CHECK(rnnc_s2s_encode(&v, "le tapis", 8, false, &ids) == RNNC_OK);
        char *s = str_of(&v, &ids);
        CHECK_STR(s, "le tapis");
        free(s);
        rnnc_ids_free(&ids);
    }
    rnnc_s2s_vocab_free(&v);
    rnnc_tokenizer_free(t);
    remove(path);
    CHECK(rnnc_s2s_vocab_make(&v, "test_s2s_tok_missing.json", TSV, sizeof TSV - 1, 0) == RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "test_s2s_tok_missing.json") != NULL);
    CHECK(rnnc_s2s_vocab_make(&v, "word:abc", TSV, sizeof TSV - 1, 0) == RNNC_ERR_ARG);
    /* no pair at all to train on */
    CHECK(rnnc_s2s_vocab_make(&v, "word", "no tab\n", 7, 0) == RNNC_ERR_ARG);
    /* a symbol-list kind has no tokenizer to wrap; a tokenizer kind needs one */
    CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_BPE) == RNNC_ERR_ARG);
}

/* The TSV read through tokenizer vocabularies: nothing grows, unknowns are counted. */
static void test_data(void) {
    rnnc_s2s_vocab sv, tv;
    CHECK(rnnc_s2s_vocab_make(&sv, "word", TSV, sizeof TSV - 1, 0) == RNNC_OK);
    CHECK(rnnc_s2s_vocab_make(&tv, "bpe:300", TSV, sizeof TSV - 1, 1) == RNNC_OK);
    size_t svn = sv.n, tvn = tv.n;
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts ro = {.grow = true, .skip_bad = true};
    CHECK(rnnc_s2s_data_parse(&d, TSV, sizeof TSV - 1, "train", &ro, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.n, 6);
    CHECK_EQ_LL(d.skipped_bad, 2);
    CHECK_EQ_LL(sv.n, svn);
    CHECK_EQ_LL(tv.n, tvn);
    CHECK_EQ_LL(d.src_symbols, 18);
    CHECK_EQ_LL(d.src_unk, 0);
    CHECK(d.tgt_symbols > 0);
    CHECK_EQ_LL(d.tgt_unk, 0);
    rnnc_s2s_data_free(&d);
    /* dev data with unseen source words */
    rnnc_s2s_data_init(&d);
    ro.grow = false;
    const char dev[] = "the bird sat\tle oiseau assis\nthe cat flew away\tle chat vola\n";
    CHECK(rnnc_s2s_data_parse(&d, dev, sizeof dev - 1, "dev", &ro, &sv, &tv) == RNNC_OK);
    CHECK_EQ_LL(d.src_symbols, 7);
    CHECK_EQ_LL(d.src_unk, 3);
    CHECK_EQ_LL(d.tgt_unk, 0);
    rnnc_s2s_data_free(&d);
    /* space vocabularies count <unk>s too (without grow) */
    rnnc_s2s_vocab a;
    CHECK(rnnc_s2s_vocab_make(&a, "space", TSV, sizeof TSV - 1, 0) == RNNC_OK);
    CHECK(a.tok == RNNC_S2S_TOK_SPACE && a.n == 4 && !a.tk);
    rnnc_ids ids = {0};
    size_t unk = 0;
    CHECK(rnnc_s2s_encode_ex(&a, "x <eos> y", 9, false, &ids, &unk) == RNNC_OK);
    CHECK_EQ_LL(unk, 3);
    rnnc_ids_free(&ids);
    rnnc_s2s_vocab_free(&a);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
}

static rnnc_s2s_model *tiny_model(rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv) {
    rnnc_s2s_config c = {.cell = RNNC_CELL_GRU, .embed = 3, .hidden = 5, .layers = 1, .bidirectional = true};
    rnnc_s2s_model *m = NULL;
    if (rnnc_s2s_model_new(&m, &c, sv, tv)) return NULL;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 11);
    rnnc_s2s_model_init(m, &rng);
    return m;
}

/* Greedy output text of a source. */
static char *translate(const rnnc_s2s_model *m, const char *src) {
    rnnc_ids ids = {0};
    if (rnnc_s2s_encode((rnnc_s2s_vocab *)&m->src_vocab, src, strlen(src), false, &ids) || !ids.len) return NULL;
    uint32_t out[32];
    int len = (int)ids.len, olen = 0;
    rnnc_status s = rnnc_s2s_greedy(m, ids.data, &len, 1, len, 32, out, &olen);
    rnnc_ids_free(&ids);
    if (s) return NULL;
    rnnc_bytes b = {0};
    if (rnnc_s2s_decode(&m->tgt_vocab, out, (size_t)olen, &b)) { rnnc_bytes_free(&b); return NULL; }
    return (char *)b.data;
}

/* A model file carries both tokenizers: a loaded model encodes, decodes and translates the same. */
static void test_model_file(void) {
    rnnc_s2s_vocab sv, tv;
    CHECK(rnnc_s2s_vocab_make(&sv, "bpe:300", TSV, sizeof TSV - 1, 0) == RNNC_OK);
    CHECK(rnnc_s2s_vocab_make(&tv, "word", TSV, sizeof TSV - 1, 1) == RNNC_OK);
    size_t svn = sv.n, tvn = tv.n;
    rnnc_s2s_model *m = tiny_model(&sv, &tv);
    CHECK(m != NULL);
    if (!m) { rnnc_s2s_vocab_free(&sv); rnnc_s2s_vocab_free(&tv); return; }
    CHECK_EQ_LL(m->c.src_vocab, svn);
    CHECK_EQ_LL(m->c.tgt_vocab, tvn);
    CHECK(sv.tk == NULL && tv.tk == NULL); /* moved into the model */
    const char *path = "test_s2s_tok_model.safetensors";
    CHECK(rnnc_s2s_save(m, path, NULL, NULL, 0) == RNNC_OK);
    /* the metadata: tags, and JSON under rnnc.*_tokenizer instead of symbol lists */
    rnnc_safetensors st;
    CHECK(rnnc_st_load(&st, path) == RNNC_OK);
    CHECK_STR(rnnc_st_meta(&st, "rnnc.tokenizers"), "bpe word");
    const char *sj = rnnc_st_meta(&st, "rnnc.src_tokenizer"), *tj = rnnc_st_meta(&st, "rnnc.tgt_tokenizer");
    CHECK(sj && strstr(sj, "\"type\":\"bpe\""));
    CHECK(tj && strstr(tj, "\"type\":\"word\""));
    CHECK(rnnc_st_meta(&st, "rnnc.src_vocab") == NULL && rnnc_st_meta(&st, "rnnc.tgt_vocab") == NULL);
    rnnc_st_free(&st);

    rnnc_s2s_model *m2 = NULL;
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_OK);
    if (m2) {
        CHECK(m2->src_vocab.tok == RNNC_S2S_TOK_BPE && m2->tgt_vocab.tok == RNNC_S2S_TOK_WORD);
        CHECK_EQ_LL(m2->src_vocab.n, svn);
        CHECK_EQ_LL(m2->tgt_vocab.n, tvn);
        CHECK(m2->n_params == m->n_params && !memcmp(m2->params, m->params, m->n_params * sizeof(float)));
        const char *srcs[] = {"the cat sat", "a dog ran", "the zebra"};
        for (int k = 0; k < 3; k++) {
            rnnc_ids a = {0}, b = {0};
            CHECK(rnnc_s2s_encode(&m->src_vocab, srcs[k], strlen(srcs[k]), false, &a) == RNNC_OK);
            CHECK(rnnc_s2s_encode(&m2->src_vocab, srcs[k], strlen(srcs[k]), false, &b) == RNNC_OK);
            CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len * sizeof *a.data));
            rnnc_ids_free(&a);
            rnnc_ids_free(&b);
            char *t1 = translate(m, srcs[k]), *t2 = translate(m2, srcs[k]);
            CHECK(t1 != NULL);
            CHECK_STR(t1, t2);
            free(t1);
            free(t2);
        }
        /* every target id decodes in both, to the same text */
        uint32_t all[64];
        size_t n = 0;
        for (uint32_t id = 0; id < tvn && n < 64; id++) all[n++] = id;
        rnnc_bytes x = {0}, y = {0};
        CHECK(rnnc_s2s_decode(&m->tgt_vocab, all, n, &x) == RNNC_OK);
        CHECK(rnnc_s2s_decode(&m2->tgt_vocab, all, n, &y) == RNNC_OK);
        CHECK_STR((char *)x.data, (char *)y.data);
        CHECK(strstr((char *)x.data, "chat") != NULL);
        rnnc_bytes_free(&x);
        rnnc_bytes_free(&y);
        rnnc_s2s_model_free(m2);
    }
    remove(path);
    rnnc_s2s_model_free(m);
}

/* A model file whose tags and stored vocabularies disagree is refused, naming the key. */
static void test_bad_metadata(void) {
    rnnc_s2s_vocab sv, tv;
    CHECK(rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_SPACE) == RNNC_OK);
    CHECK(rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_CHAR) == RNNC_OK);
    uint32_t id;
    rnnc_s2s_vocab_add(&sv, "a", 1, &id);
    rnnc_s2s_vocab_add(&sv, "b", 1, &id);
    rnnc_s2s_vocab_add(&tv, "x", 1, &id);
    rnnc_s2s_vocab_add(&tv, "\xc3\xa9", 2, &id);
    rnnc_s2s_model *m = tiny_model(&sv, &tv);
    CHECK(m != NULL);
    if (!m) return;
    /* The pre-tokenizer file layout, written here key by key as older rnnc wrote it: symbol lists
     * and "space char". It must keep loading. */
    size_t nt = rnnc_s2s_num_tensors(m);
    rnnc_st_entry *e = calloc(nt, sizeof *e);
    rnnc_param_info *info = calloc(nt, sizeof *info);
    for (size_t k = 0; k < nt; k++) {
        info[k] = rnnc_s2s_tensor(m, k);
        e[k] = (rnnc_st_entry){.name = info[k].name, .dtype = RNNC_DT_F32, .ndim = info[k].ndim,
                               .shape = {info[k].shape[0], info[k].shape[1]}, .data = m->params + info[k].offset};
    }
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"cell\":\"gru\",\"src_vocab\":%d,\"tgt_vocab\":%d,\"embed\":3,\"hidden\":5,\"layers\":1,"
             "\"bidirectional\":true,\"dropout\":0}", m->c.src_vocab, m->c.tgt_vocab);
    const char *keys[] = {"rnnc.seq2seq", "rnnc.src_vocab", "rnnc.tgt_vocab", "rnnc.tokenizers"};
    const char *vals[] = {cfg, "a\nb\n", "x\n\xc3\xa9\n", "space char"};
    const char *path = "test_s2s_tok_old.safetensors";
    CHECK(rnnc_st_save(path, e, nt, keys, vals, 4) == RNNC_OK);
    rnnc_s2s_model *m2 = NULL;
    CHECK_MSG(rnnc_s2s_load(&m2, path) == RNNC_OK, "%s", rnnc_last_error());
    if (m2) {
        CHECK(m2->src_vocab.tok == RNNC_S2S_TOK_SPACE && m2->tgt_vocab.tok == RNNC_S2S_TOK_CHAR);
        CHECK_STR(m2->src_vocab.sym[5], "b");
        CHECK_STR(m2->tgt_vocab.sym[5], "\xc3\xa9");
        rnnc_s2s_model_free(m2);
    }
    /* and the saver still writes exactly that layout for space/char */
    CHECK(rnnc_s2s_save(m, path, NULL, NULL, 0) == RNNC_OK);
    rnnc_safetensors st;
    CHECK(rnnc_st_load(&st, path) == RNNC_OK);
    CHECK_STR(rnnc_st_meta(&st, "rnnc.tokenizers"), "space char");
    CHECK_STR(rnnc_st_meta(&st, "rnnc.src_vocab"), "a\nb\n");
    CHECK(rnnc_st_meta(&st, "rnnc.src_tokenizer") == NULL);
    rnnc_st_free(&st);
    /* tags that promise a tokenizer the file lacks, or an unknown tag */
    vals[3] = "word char";
    CHECK(rnnc_st_save(path, e, nt, keys, vals, 4) == RNNC_OK);
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "rnnc.src_tokenizer") != NULL, "%s", rnnc_last_error());
    vals[3] = "space sentencepiece";
    CHECK(rnnc_st_save(path, e, nt, keys, vals, 4) == RNNC_OK);
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "rnnc.tokenizers") != NULL);
    /* a word tag over a BPE tokenizer */
    rnnc_s2s_vocab bv;
    CHECK(rnnc_s2s_vocab_make(&bv, "bpe:260", TSV, sizeof TSV - 1, 0) == RNNC_OK);
    rnnc_bytes js = {0};
    CHECK(rnnc_s2s_vocab_to_string(&bv, &js) == RNNC_OK);
    const char *keys2[] = {"rnnc.seq2seq", "rnnc.src_tokenizer", "rnnc.tgt_vocab", "rnnc.tokenizers"};
    const char *vals2[] = {cfg, (char *)js.data, "x\n\xc3\xa9\n", "word char"};
    CHECK(rnnc_st_save(path, e, nt, keys2, vals2, 4) == RNNC_OK);
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "holds a bpe tokenizer") != NULL, "%s", rnnc_last_error());
    /* the right tag, but the config's vocabulary size differs from the tokenizer's */
    vals2[3] = "bpe char";
    CHECK(rnnc_st_save(path, e, nt, keys2, vals2, 4) == RNNC_OK);
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "config says") != NULL, "%s", rnnc_last_error());
    rnnc_bytes_free(&js);
    rnnc_s2s_vocab_free(&bv);
    remove(path);
    free(e);
    free(info);
    rnnc_s2s_model_free(m);
}

int main(void) {
    RUN(test_spec_parse);
    RUN(test_word_vocab);
    RUN(test_bpe_vocab);
    RUN(test_file_vocab);
    RUN(test_data);
    RUN(test_model_file);
    RUN(test_bad_metadata);
    return test_report();
}
