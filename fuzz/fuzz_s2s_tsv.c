/* libFuzzer target: the seq2seq TSV reader (rnnc_s2s_data_parse) with every vocabulary kind, and
 * the batcher over what it reads.
 *
 * Input: one options byte, then the TSV text. Options: bits 0-2 the source vocabulary's kind and
 * bits 3-5 the target's (0 space, 1 char, 2 word, 3 bpe, 4 file (a char tokenizer); 5-7 space),
 * bit 6 skip_bad and skip_long with at most 3 source and 5 target symbols, bit 7 grow (new
 * symbols join space/char vocabularies).
 * On success: every item has a source and at least one reference, all non-empty, of ids inside
 * their vocabularies and never <pad>/<bos>/<eos>; the counters add up; the limits hold; each
 * source decodes; and batches built from the items hold them exactly (<bos> + target, target +
 * <eos>, padding after). On failure: a message naming the line. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

/* The tokenizer-backed vocabularies are never grown, so one of each serves every input. */
static rnnc_s2s_vocab tok_vocab[3]; /* word, bpe, file (char) */

static void setup(void) {
    static const char *const words[] = {"the", "cat", "sat", ".", "don't", "a", "b"};
    rnnc_word_tok *w;
    rnnc_tokenizer *t;
    FUZZ_CHECK(rnnc_word_create(&w, words, sizeof words / sizeof words[0]) == RNNC_OK);
    FUZZ_CHECK(rnnc_tokenizer_wrap_word(&t, w) == RNNC_OK);
    FUZZ_CHECK(rnnc_s2s_vocab_from_tokenizer(&tok_vocab[0], RNNC_S2S_TOK_WORD, t) == RNNC_OK);

    static const char *const merges[] = {"th", "the", "at", " c", "er", "00", "20"};
    size_t nm = sizeof merges / sizeof merges[0];
    static unsigned char bytes[256];
    rnnc_token_bytes tb[256 + sizeof merges / sizeof merges[0]];
    for (int i = 0; i < 256; i++) { bytes[i] = (unsigned char)i; tb[i].data = bytes + i; tb[i].len = 1; }
    for (size_t i = 0; i < nm; i++) { tb[256 + i].data = (const unsigned char *)merges[i]; tb[256 + i].len = strlen(merges[i]); }
    rnnc_special_token sp[2] = {{"<|endoftext|>", (uint32_t)(256 + nm)}, {"<pad>", (uint32_t)(256 + nm + 1)}};
    rnnc_bpe *b;
    FUZZ_CHECK(rnnc_bpe_create(&b, tb, 256 + nm, "cl100k", sp, 2) == RNNC_OK);
    FUZZ_CHECK(rnnc_tokenizer_wrap_bpe(&t, b) == RNNC_OK);
    FUZZ_CHECK(rnnc_s2s_vocab_from_tokenizer(&tok_vocab[1], RNNC_S2S_TOK_BPE, t) == RNNC_OK);

    static const uint32_t cps[] = {'a', 'b', '0', '1', ' ', 0xE9};
    rnnc_char_tok *c;
    FUZZ_CHECK(rnnc_char_create(&c, cps, sizeof cps / sizeof cps[0]) == RNNC_OK);
    FUZZ_CHECK(rnnc_tokenizer_wrap_char(&t, c) == RNNC_OK);
    FUZZ_CHECK(rnnc_s2s_vocab_from_tokenizer(&tok_vocab[2], RNNC_S2S_TOK_FILE, t) == RNNC_OK);
}

/* The vocabulary of kind k: a fresh symbol list (owned: *own = 1) or a shared tokenizer one. */
static rnnc_s2s_vocab *vocab_of(unsigned k, rnnc_s2s_vocab *fresh, int *own) {
    *own = k <= 1 || k >= 5;
    if (!*own) return &tok_vocab[k - 2];
    FUZZ_CHECK(rnnc_s2s_vocab_init(fresh, k == 1 ? RNNC_S2S_TOK_CHAR : RNNC_S2S_TOK_SPACE) == RNNC_OK);
    return fresh;
}

static void check_ids(const uint32_t *ids, int n, const rnnc_s2s_vocab *v) {
    FUZZ_CHECK(n >= 1);
    for (int i = 0; i < n; i++) FUZZ_CHECK(ids[i] < v->n && ids[i] >= RNNC_S2S_UNK);
}

static void check_batches(const rnnc_s2s_data *d, int batch, bool all_refs) {
    rnnc_s2s_batcher bt;
    FUZZ_CHECK(rnnc_s2s_batcher_new(&bt, d, batch, all_refs) == RNNC_OK);
    size_t seen = 0;
    for (size_t k = 0; k < bt.n_batches; k++) {
        const rnnc_s2s_batch *x = rnnc_s2s_batcher_get(&bt, k);
        FUZZ_CHECK(x->B >= 1 && x->B <= batch);
        for (int b = 0; b < x->B; b++) {
            FUZZ_CHECK(x->item[b] < d->n);
            const rnnc_s2s_item *it = &d->items[x->item[b]];
            FUZZ_CHECK(x->ref[b] >= 0 && x->ref[b] < it->n_refs);
            FUZZ_CHECK(x->src_len[b] == it->src_len && x->src_len[b] <= x->Ts);
            for (int t = 0; t < x->Ts; t++)
                FUZZ_CHECK(x->src[(size_t)b * x->Ts + t] == (t < it->src_len ? it->src[t] : (uint32_t)RNNC_S2S_PAD));
            int L = it->ref_len[x->ref[b]];
            const uint32_t *r = it->ref[x->ref[b]];
            FUZZ_CHECK(x->tgt_len[b] == L + 1 && L + 1 <= x->Tt);
            const uint32_t *in = x->tgt_in + (size_t)b * x->Tt, *out = x->tgt_out + (size_t)b * x->Tt;
            FUZZ_CHECK(in[0] == RNNC_S2S_BOS && out[L] == RNNC_S2S_EOS);
            for (int t = 0; t < L; t++) FUZZ_CHECK(in[t + 1] == r[t] && out[t] == r[t]);
            for (int t = L + 1; t < x->Tt; t++) FUZZ_CHECK(in[t] == RNNC_S2S_PAD && out[t] == RNNC_S2S_PAD);
            seen++;
        }
    }
    FUZZ_CHECK(seen == bt.n_ex);
    rnnc_s2s_batcher_free(&bt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok_vocab[0].tk) setup();
    if (size == 0) return 0;
    unsigned opt = data[0];
    rnnc_s2s_read_opts o = {0};
    if (opt & 0x40) { o.skip_bad = o.skip_long = true; o.max_source = 3; o.max_target = 5; }
    o.grow = (opt & 0x80) != 0;
    rnnc_s2s_vocab fs, ft;
    int own_s, own_t;
    rnnc_s2s_vocab *sv = vocab_of(opt & 7, &fs, &own_s), *tv = vocab_of((opt >> 3) & 7, &ft, &own_t);
    size_t sn0 = sv->n, tn0 = tv->n;

    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    fuzz_clear_error();
    rnnc_status s = rnnc_s2s_data_parse(&d, (const char *)data + 1, size - 1, "fuzz.tsv", &o, sv, tv);
    if (s) {
        fuzz_check_failed(s);
    } else {
        if (!o.grow) FUZZ_CHECK(sv->n == sn0 && tv->n == tn0);
        size_t refs = 0, src_symbols = 0, tgt_symbols = 0;
        rnnc_bytes text = {0};
        for (size_t i = 0; i < d.n; i++) {
            const rnnc_s2s_item *it = &d.items[i];
            FUZZ_CHECK(it->src_text != NULL && it->n_refs >= 1);
            check_ids(it->src, it->src_len, sv);
            if (o.max_source) FUZZ_CHECK(it->src_len <= o.max_source);
            for (int r = 0; r < it->n_refs; r++) {
                check_ids(it->ref[r], it->ref_len[r], tv);
                if (o.max_target) FUZZ_CHECK(it->ref_len[r] <= o.max_target);
                tgt_symbols += (size_t)it->ref_len[r];
            }
            refs += (size_t)it->n_refs;
            src_symbols += (size_t)it->src_len;
            text.len = 0;
            FUZZ_CHECK(rnnc_s2s_decode(sv, it->src, (size_t)it->src_len, &text) == RNNC_OK);
        }
        rnnc_bytes_free(&text);
        FUZZ_CHECK(refs == d.n_pairs && src_symbols == d.src_symbols && tgt_symbols == d.tgt_symbols);
        FUZZ_CHECK(d.src_unk <= d.src_symbols && d.tgt_unk <= d.tgt_symbols);
        if (d.n) {
            check_batches(&d, 1 + (int)(size % 3), (size & 1) != 0);
        }
    }
    rnnc_s2s_data_free(&d);
    if (own_s) rnnc_s2s_vocab_free(&fs);
    if (own_t) rnnc_s2s_vocab_free(&ft);
    return 0;
}
