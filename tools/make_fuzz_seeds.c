/* Writes the generated seed inputs of the fuzz targets (fuzz/fuzz_*.c) under DIR/<target>/:
 * real, tiny model files made with the library (language models with and without a tokenizer,
 * seq2seq models with symbol-list and tokenizer vocabularies), tokenizer JSON of every kind with
 * specials and a complete 256-byte BPE base, .tiktoken rank files with their sidecars, and the
 * prefixed text inputs. Everything is deterministic, so rerunning it gives the same files.
 *
 *   usage: make_fuzz_seeds DIR        (tools/make_fuzz_seeds.sh builds and runs it on fuzz/seeds)
 *
 * The input formats (mode bytes, separators) are the ones the targets document at their top. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/seqmodel.h"

static const char *outdir;
static char tmpdir[] = "/tmp/rnnc-seeds-XXXXXX";

static void die(const char *what) {
    fprintf(stderr, "make_fuzz_seeds: %s: %s\n", what, rnnc_last_error());
    exit(1);
}

static void check(rnnc_status s, const char *what) {
    if (s) die(what);
}

static void mkdir_p(const char *p) {
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_fuzz_seeds: mkdir %s: %s\n", p, strerror(errno));
        exit(1);
    }
}

/* Writes DIR/target/name from up to three parts (prefix, body, suffix; any may be NULL). */
static void put3(const char *target, const char *name, const void *a, size_t na, const void *b, size_t nb,
                 const void *c, size_t nc) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    mkdir_p(path);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (na && fwrite(a, 1, na, f) != na) || (nb && fwrite(b, 1, nb, f) != nb) ||
        (nc && fwrite(c, 1, nc, f) != nc) || fclose(f) != 0) {
        fprintf(stderr, "make_fuzz_seeds: cannot write %s\n", path);
        exit(1);
    }
    if (na + nb + nc > 64 * 1024) fprintf(stderr, "make_fuzz_seeds: warning: %s is %zu bytes\n", path, na + nb + nc);
}

static void put(const char *target, const char *name, const void *data, size_t n) {
    put3(target, name, data, n, NULL, 0, NULL, 0);
}

static void puts_(const char *target, const char *name, const char *text) { put(target, name, text, strlen(text)); }

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *d;
    check(rnnc_read_file(path, &d, n), path);
    return d;
}

/* A file of the temp dir. */
static const char *tmp(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ---- tokenizers ---- */

static rnnc_bpe *make_bpe(const char *pattern, int with_specials) {
    static const char *const merges[] = {"th", "the", " t", " the", "in", "ing", "er", "an", "and", "aa"};
    size_t nm = sizeof merges / sizeof merges[0];
    static unsigned char bytes[256];
    rnnc_token_bytes t[256 + sizeof merges / sizeof merges[0]];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; t[i].data = bytes + i; t[i].len = 1; }
    for (size_t i = 0; i < nm; i++) { t[256 + i].data = (const unsigned char *)merges[i]; t[256 + i].len = strlen(merges[i]); }
    rnnc_special_token sp[3] = {{"<|endoftext|>", (uint32_t)(256 + nm)}, {"<pad>", (uint32_t)(256 + nm + 1)},
                                {"<|fim|>", (uint32_t)(256 + nm + 5)}};
    rnnc_bpe *b;
    check(rnnc_bpe_create(&b, t, 256 + nm, pattern, sp, with_specials ? 3 : 0), "bpe");
    return b;
}

static rnnc_tokenizer *make_word(void) {
    static const char *const words[] = {"the", "cat", "sat", ".", "don't", "w\xC3\xB6rld"};
    rnnc_word_tok *w;
    check(rnnc_word_create(&w, words, sizeof words / sizeof words[0]), "word");
    rnnc_tokenizer *t;
    check(rnnc_tokenizer_wrap_word(&t, w), "wrap word");
    return t;
}

static rnnc_tokenizer *make_char(void) {
    static const uint32_t cps[] = {'a', 'b', 'c', ' ', 0xE9, 0x4E2D, 0x1F600};
    rnnc_char_tok *c;
    check(rnnc_char_create(&c, cps, sizeof cps / sizeof cps[0]), "char");
    rnnc_tokenizer *t;
    check(rnnc_tokenizer_wrap_char(&t, c), "wrap char");
    return t;
}

static rnnc_tokenizer *make_bpe_tok(const char *pattern) {
    rnnc_tokenizer *t;
    check(rnnc_tokenizer_wrap_bpe(&t, make_bpe(pattern, 1)), "wrap bpe");
    return t;
}

static char *json_of(const rnnc_tokenizer *t) {
    char *j;
    check(rnnc_tokenizer_to_json(t, &j), "tokenizer json");
    return j;
}

/* ---- targets ---- */

static void seeds_tokenizers(void) {
    /* fuzz_tokenizers: first byte % 3 == 0 is JSON mode ('0'). */
    struct { const char *name; rnnc_tokenizer *t; } k[] = {
        {"bpe256_specials.json", make_bpe_tok("cl100k")}, {"bpe256_o200k.json", make_bpe_tok("o200k")},
        {"bpe256_regex.json", make_bpe_tok("\\s+|\\w+|[^\\s\\w]+")}, {"word_lib.json", make_word()},
        {"char_lib.json", make_char()},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char *j = json_of(k[i].t);
        put3("fuzz_tokenizers", k[i].name, "0", 1, j, strlen(j), NULL, 0);
        free(j);
        rnnc_tokenizer_free(k[i].t);
    }
}

#define SIDECAR_SEP "\n--sidecar--\n"

static void seeds_tiktoken(void) {
    /* fuzz_tiktoken_load: RANKS [SIDECAR_SEP SIDECAR]; rnnc_bpe_save writes both. */
    struct { const char *name, *pattern; int specials; } k[] = {
        {"saved_cl100k_specials", "cl100k", 1}, {"saved_r50k_nospecials", "r50k", 0},
        {"saved_regex_specials", "\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+", 1},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        rnnc_bpe *b = make_bpe(k[i].pattern, k[i].specials);
        check(rnnc_bpe_save(b, tmp("t.tiktoken")), "bpe save");
        rnnc_bpe_free(b);
        size_t nr, ns;
        unsigned char *r = slurp(tmp("t.tiktoken"), &nr), *s = slurp(tmp("t.tiktoken.json"), &ns);
        put3("fuzz_tiktoken_load", k[i].name, r, nr, SIDECAR_SEP, strlen(SIDECAR_SEP), s, ns);
        if (i == 0) put("fuzz_tiktoken_load", "saved_ranks_only", r, nr);
        free(r);
        free(s);
    }
    remove(tmp("t.tiktoken"));
    remove(tmp("t.tiktoken.json"));
}

static rnnc_lm *make_lm(rnnc_cell cell, int vocab, int embed, int hidden, int layers, float dropout, uint64_t seed) {
    rnnc_lm_config c = {cell, vocab, embed, hidden, layers, dropout};
    rnnc_lm *m;
    check(rnnc_lm_new(&m, &c), "lm new");
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    rnnc_lm_init(m, &r);
    return m;
}

static void put_file(const char *target, const char *name, const char *path) {
    size_t n;
    unsigned char *d = slurp(path, &n);
    put(target, name, d, n);
    free(d);
}

static void seeds_lm(void) {
    /* fuzz_lm_model: a model file, a config JSON text (first byte '{'), or an unseen-ids value
     * (first byte '['). */
    rnnc_tokenizer *w = make_word(), *b = make_bpe_tok("cl100k");
    char *wj = json_of(w), *bj = json_of(b);
    int wv = (int)rnnc_tokenizer_n_vocab(w), bv = (int)rnnc_tokenizer_n_vocab(b);

    rnnc_lm *m = make_lm(RNNC_CELL_GRU, wv, 4, 4, 1, 0, 1);
    check(rnnc_lm_set_meta(m, "rnnc.tokenizer", wj), "meta");
    check(rnnc_lm_save(m, tmp("m.safetensors")), "lm save");
    put_file("fuzz_lm_model", "gru_word.safetensors", tmp("m.safetensors"));
    put_file("fuzz_safetensors", "lm_gru_word.safetensors", tmp("m.safetensors"));
    rnnc_lm_free(m);

    m = make_lm(RNNC_CELL_LSTM, wv, 3, 2, 2, 0.25f, 2);
    check(rnnc_lm_set_meta(m, "rnnc.tokenizer", wj), "meta");
    check(rnnc_lm_set_meta(m, "rnnc.note", "two layers"), "meta");
    check(rnnc_lm_set_meta(m, RNNC_UNSEEN_IDS_KEY, "[[1,2],[5,5]]"), "meta");
    check(rnnc_lm_save(m, tmp("m.safetensors")), "lm save");
    put_file("fuzz_lm_model", "lstm2_word.safetensors", tmp("m.safetensors"));
    rnnc_lm_free(m);

    m = make_lm(RNNC_CELL_RNN_TANH, bv, 2, 2, 1, 0, 3);
    check(rnnc_lm_set_meta(m, "rnnc.tokenizer", bj), "meta");
    check(rnnc_lm_save(m, tmp("m.safetensors")), "lm save");
    put_file("fuzz_lm_model", "tanh_bpe.safetensors", tmp("m.safetensors"));
    rnnc_lm_free(m);

    m = make_lm(RNNC_CELL_RNN_RELU, 5, 2, 3, 1, 0, 4);
    check(rnnc_lm_save(m, tmp("m.safetensors")), "lm save");
    put_file("fuzz_lm_model", "relu_notokenizer.safetensors", tmp("m.safetensors"));
    rnnc_lm_free(m);
    remove(tmp("m.safetensors"));

    rnnc_lm_config c = {RNNC_CELL_LSTM, 8, 4, 4, 2, 0.5f};
    char *cj = rnnc_lm_config_to_json(&c);
    if (!cj) die("config json");
    puts_("fuzz_lm_model", "config_lstm.json", cj);
    free(cj);
    puts_("fuzz_lm_model", "unseen_ids.json", "[[0,3], [17,17],[20,63]]");
    puts_("fuzz_lm_model", "config_min.json", "{\"cell\":\"gru\",\"vocab\":1,\"embed\":1,\"hidden\":1,\"layers\":1}");
    free(wj);
    free(bj);
    rnnc_tokenizer_free(w);
    rnnc_tokenizer_free(b);
}

static rnnc_s2s_vocab symbols(rnnc_s2s_tok tok, const char *const *syms, size_t n) {
    rnnc_s2s_vocab v;
    check(rnnc_s2s_vocab_init(&v, tok), "vocab init");
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        check(rnnc_s2s_vocab_add(&v, syms[i], strlen(syms[i]), &id), "vocab add");
    }
    return v;
}

static rnnc_s2s_vocab tok_vocab(rnnc_s2s_tok tok, rnnc_tokenizer *t) {
    rnnc_s2s_vocab v;
    check(rnnc_s2s_vocab_from_tokenizer(&v, tok, t), "vocab tokenizer");
    return v;
}

static void save_s2s(const char *name, rnnc_s2s_config c, rnnc_s2s_vocab sv, rnnc_s2s_vocab tv, uint64_t seed) {
    rnnc_s2s_model *m;
    check(rnnc_s2s_model_new(&m, &c, &sv, &tv), "s2s new");
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    rnnc_s2s_model_init(m, &r);
    const char *k[] = {"rnnc.note"}, *v[] = {"seed"};
    check(rnnc_s2s_save(m, tmp("s.safetensors"), k, v, 1), "s2s save");
    put_file("fuzz_s2s_model", name, tmp("s.safetensors"));
    rnnc_s2s_model_free(m);
    remove(tmp("s.safetensors"));
}

static void seeds_s2s(void) {
    /* fuzz_s2s_model: a model file, or a vocabulary string after a kind byte (s c w b f). */
    static const char *const letters[] = {"a", "b", "c", "d", "e"}, *const phones[] = {"AH", "B", "K", "D", "EH"};
    static const char *const chars[] = {"0", "1", "2", "-", "\xC3\xA9"};
    rnnc_s2s_config c = {RNNC_CELL_LSTM, 0, 0, 3, 3, 1, false, false, 0, 0};
    save_s2s("lstm_space_char.safetensors", c, symbols(RNNC_S2S_TOK_SPACE, letters, 5),
             symbols(RNNC_S2S_TOK_CHAR, chars, 5), 1);
    c = (rnnc_s2s_config){RNNC_CELL_GRU, 0, 0, 2, 2, 2, true, true, 0.1f, 0.2f};
    save_s2s("gru_bi_space_space.safetensors", c, symbols(RNNC_S2S_TOK_SPACE, letters, 5),
             symbols(RNNC_S2S_TOK_SPACE, phones, 5), 2);
    c = (rnnc_s2s_config){RNNC_CELL_LSTM, 0, 0, 2, 2, 1, true, false, 0, 0};
    save_s2s("lstm_bi_word_file.safetensors", c, tok_vocab(RNNC_S2S_TOK_WORD, make_word()),
             tok_vocab(RNNC_S2S_TOK_FILE, make_word()), 3);
    c = (rnnc_s2s_config){RNNC_CELL_RNN_TANH, 0, 0, 1, 2, 1, false, false, 0, 0};
    save_s2s("tanh_char_bpe.safetensors", c, symbols(RNNC_S2S_TOK_CHAR, chars, 5),
             tok_vocab(RNNC_S2S_TOK_BPE, make_bpe_tok("cl100k")), 4);

    puts_("fuzz_s2s_model", "vocab_space", "sa\nb\nc\nAH\nEH0\n");
    puts_("fuzz_s2s_model", "vocab_char", "c0\n1\n-\n\xC3\xA9\n\xE4\xB8\xAD\n \n");
    rnnc_tokenizer *t[3] = {make_word(), make_bpe_tok("cl100k"), make_char()};
    const char *names[3] = {"vocab_word", "vocab_bpe", "vocab_file_char"}, *kinds = "wbf";
    for (int i = 0; i < 3; i++) {
        char *j = json_of(t[i]);
        put3("fuzz_s2s_model", names[i], kinds + i, 1, j, strlen(j), NULL, 0);
        free(j);
        rnnc_tokenizer_free(t[i]);
    }
}

static void save_seq(const char *name, rnnc_seq_config c, rnnc_s2s_vocab v, const char *const *labels, rnnc_seq_series *sr,
                     uint64_t seed) {
    rnnc_seq_model *m;
    check(rnnc_seq_model_new(&m, &c, &v, labels, sr), "seq new");
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    rnnc_seq_model_init(m, &r);
    check(rnnc_seq_save(m, tmp("q.safetensors"), NULL, NULL, 0, NULL, 0), "seq save");
    put_file("fuzz_seqmodel", name, tmp("q.safetensors"));
    rnnc_seq_model_free(m);
    rnnc_s2s_vocab_free(&v);
    remove(tmp("q.safetensors"));
}

static void seeds_seq(void) {
    /* fuzz_seqmodel: a model file of each task, or 'C'/'T' + an options byte + TSV. */
    static const char *const words[] = {"x", "y", "the", "cat", "\xC3\xA9"}, *const labels[] = {"ham", "spam", "B-PER"};
    rnnc_seq_config c = {.kind = RNNC_SEQ_CLASSIFY, .cell = RNNC_CELL_LSTM, .embed = 2, .hidden = 2, .layers = 1,
                         .bidirectional = true, .pool = RNNC_POOL_FINAL, .outputs = 2, .loss = RNNC_SEQ_LOSS_CE};
    save_seq("classify_lstm_bi.safetensors", c, symbols(RNNC_S2S_TOK_SPACE, words, 5), labels, NULL, 1);
    c = (rnnc_seq_config){.kind = RNNC_SEQ_TAG, .cell = RNNC_CELL_GRU, .embed = 2, .hidden = 2, .layers = 2, .dropout = 0.1f,
                          .output_dropout = 0.2f, .outputs = 3, .loss = RNNC_SEQ_LOSS_CE};
    save_seq("tag_gru_char.safetensors", c, symbols(RNNC_S2S_TOK_CHAR, (const char *const[]){"a", "b", " "}, 3), labels, NULL, 2);
    c = (rnnc_seq_config){.kind = RNNC_SEQ_CLASSIFY, .cell = RNNC_CELL_RNN_TANH, .embed = 2, .hidden = 2, .layers = 1,
                          .pool = RNNC_POOL_MAX, .outputs = 2, .loss = RNNC_SEQ_LOSS_CE};
    save_seq("classify_word.safetensors", c, tok_vocab(RNNC_S2S_TOK_WORD, make_word()), labels, NULL, 3);
    static char n0[] = "y", n1[] = "dow", n2[] = "noise";
    static char *names[] = {n0, n1, n2};
    static bool known[] = {false, true, false};
    static double mean[] = {100, 3, 0.5}, sd[] = {20, 2, 0.3};
    rnnc_seq_series sr = {.n_cols = 3, .context = 4, .season = 7};
    sr.name = malloc(3 * sizeof *sr.name);
    sr.known = malloc(sizeof known);
    sr.mean = malloc(sizeof mean);
    sr.std = malloc(sizeof sd);
    for (int i = 0; i < 3; i++) sr.name[i] = strdup(names[i]);
    memcpy(sr.known, known, sizeof known);
    memcpy(sr.mean, mean, sizeof mean);
    memcpy(sr.std, sd, sizeof sd);
    c = (rnnc_seq_config){.kind = RNNC_SEQ_FORECAST, .cell = RNNC_CELL_LSTM, .features = 3, .hidden = 2, .layers = 1,
                          .pool = RNNC_POOL_LAST, .outputs = 2, .known = 1, .loss = RNNC_SEQ_LOSS_MAE};
    save_seq("forecast_lstm.safetensors", c, (rnnc_s2s_vocab){0}, NULL, &sr, 4);
    rnnc_seq_series_free(&sr);
    puts_("fuzz_seqmodel", "classify_tsv", "C\1spam\tbuy now\nham\thello there\n\nham\tno\ttwo tabs\nspam\t\n");
    puts_("fuzz_seqmodel", "tag_tsv", "T\2the cat\tO B-PER\na b c\tO O\r\nx\tI-PER\n");
}

static void seeds_safetensors(void) {
    /* fuzz_safetensors: a safetensors file; every dtype, odd shapes, metadata. */
    static float f32[6] = {1, -2, 3.5f, 0, 1e-8f, 65504};
    static double f64[3] = {1, -1e300, 0.5};
    static uint16_t f16[4] = {0x3C00, 0x0001, 0x7C00, 0xFE00}, bf16[2] = {0x3F80, 0xFF80};
    static int64_t i64[2] = {-1, INT64_MAX};
    static int32_t i32[3] = {-5, 0, 7};
    static uint32_t u32[1] = {0xFFFFFFFFu};
    static uint64_t u64[2] = {0, UINT64_MAX};
    static uint8_t u8[5] = {0, 1, 2, 3, 255}, b1[2] = {0, 1};
    static int8_t i8[3] = {-128, 0, 127};
    rnnc_st_entry e[] = {
        {"f32", RNNC_DT_F32, 2, {2, 3}, f32}, {"f64", RNNC_DT_F64, 1, {3}, f64},
        {"f16", RNNC_DT_F16, 3, {1, 2, 2}, f16}, {"bf16", RNNC_DT_BF16, 1, {2}, bf16},
        {"i64", RNNC_DT_I64, 1, {2}, i64}, {"i32", RNNC_DT_I32, 2, {3, 1}, i32},
        {"u32", RNNC_DT_U32, 0, {0}, u32}, {"u64", RNNC_DT_U64, 1, {2}, u64},
        {"u8", RNNC_DT_U8, 1, {5}, u8}, {"i8", RNNC_DT_I8, 1, {3}, i8},
        {"bool", RNNC_DT_BOOL, 2, {1, 2}, b1}, {"empty", RNNC_DT_F32, 2, {0, 4}, f32},
    };
    const char *mk[] = {"format", "rnnc.note"}, *mv[] = {"pt", "all dtypes"};
    check(rnnc_st_save(tmp("a.safetensors"), e, sizeof e / sizeof e[0], mk, mv, 2), "st save");
    put_file("fuzz_safetensors", "all_dtypes.safetensors", tmp("a.safetensors"));
    check(rnnc_st_save(tmp("a.safetensors"), NULL, 0, NULL, NULL, 0), "st save");
    put_file("fuzz_safetensors", "empty.safetensors", tmp("a.safetensors"));
    check(rnnc_st_save(tmp("a.safetensors"), e, 1, mk, mv, 1), "st save");
    put_file("fuzz_safetensors", "one_f32.safetensors", tmp("a.safetensors"));
    remove(tmp("a.safetensors"));
}

static void seeds_tsv(void) {
    /* fuzz_s2s_tsv: one options byte, then the TSV text. The byte's bits (see the target):
     * 0-2 source kind, 3-5 target kind (0 space, 1 char, 2 word, 3 bpe, 4 file; others space),
     * 6 skip_bad + skip_long with max 3 symbols, 7 grow. */
    struct { const char *name; unsigned char opt; const char *text; } k[] = {
        {"g2p_space", 0x80 | 0 | 0 << 3, "w o r d\tW ER D\nr e a d\tR IY D\nr e a d\tR EH D\n\nc a t\tK AE T\r\n"},
        {"dates_char", 0x80 | 1 | 1 << 3, "march 3 2001\t2001-03-03\nmay 10 1999\t1999-05-10\n\xC3\xA9t\xC3\xA9\tsummer\n"},
        {"text_word_bpe", 2 | 3 << 3, "the cat sat.\tthe cat sat on the mat\ndon't\tdo not\nw\xC3\xB6rld\t<|endoftext|> x\n"},
        {"file_char", 4 | 4 << 3, "abc\taaa\nabc\tbbb\n\xF0\x9F\x98\x80\t\xE4\xB8\xAD\n"},
        {"skip_bad_long", 0xC0 | 0 | 1 << 3, "a\tb\nno tab here\n\tempty source\nx y z w\tlong\nq\t\na b\t<unk> c\n"},
        {"specials_space", 0x80, "<pad> <bos>\t<eos> <unk>\na\tb\n"},
        {"bad_utf8_char", 0x80 | 1 | 1 << 3, "ab\t\xFF\xFE\n"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        put3("fuzz_s2s_tsv", k[i].name, &k[i].opt, 1, k[i].text, strlen(k[i].text), NULL, 0);
}

static void seeds_ids(void) {
    /* fuzz_ids_text: the whole input is the id file. */
    puts_("fuzz_ids_text", "small", "1 2 3\n4 5\t6\r\n7 8 9 10 11 12 13 14 15 16\n");
    puts_("fuzz_ids_text", "limits", "0 2147483647 0000000000000012 2147483646\n");
    puts_("fuzz_ids_text", "too_big", "1 2147483648\n");
    puts_("fuzz_ids_text", "bad_token", "12 -3 x4\n");
    puts_("fuzz_ids_text", "empty", "");
    char buf[2048];
    size_t n = 0;
    for (int i = 0; i < 300 && n < sizeof buf - 16; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "%d%c", i * 7919 % 1000, i % 10 ? ' ' : '\n');
    put("fuzz_ids_text", "many", buf, n);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_fuzz_seeds DIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir_p(outdir);
    if (!mkdtemp(tmpdir)) {
        perror("make_fuzz_seeds: mkdtemp");
        return 1;
    }
    seeds_tokenizers();
    seeds_tiktoken();
    seeds_lm();
    seeds_s2s();
    seeds_seq();
    seeds_safetensors();
    seeds_tsv();
    seeds_ids();
    rmdir(tmpdir);
    printf("make_fuzz_seeds: seeds written under %s\n", outdir);
    return 0;
}
