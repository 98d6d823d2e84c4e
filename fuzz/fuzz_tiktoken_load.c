/* libFuzzer target: .tiktoken rank files and their JSON sidecars.
 *
 * Input: RANKS, or RANKS "\n--sidecar--\n" SIDECAR. Without the separator the ranks are parsed in
 * memory (rnnc_bpe_load_mem). With it, RANKS is written to a temp file t.tiktoken and SIDECAR to
 * t.tiktoken.json beside it, and rnnc_bpe_load reads both (the sidecar holds the pattern, a
 * built-in name or a PCRE2 regex, and the special tokens); rnnc_tokenizer_load (a --tokenizer FILE)
 * must then agree with it.
 * A tokenizer that loads must: encode and decode text losslessly, with and without special tokens
 * allowed; give every special its own id; find every rank's bytes at that rank. One that does not
 * must leave an error message and no tokenizer. Seeds: complete 256-byte bases with merges,
 * written by rnnc_bpe_save (tools/make_fuzz_seeds.c), with and without specials. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

#define SEP "\n--sidecar--\n"

static void round_trip(const rnnc_bpe *b, const unsigned char *text, size_t n, bool special) {
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    FUZZ_CHECK(rnnc_bpe_encode(b, text, n, special, &ids) == RNNC_OK);
    for (size_t i = 0; i < ids.len; i++) FUZZ_CHECK(rnnc_bpe_token(b, ids.data[i]).data != NULL);
    FUZZ_CHECK(rnnc_bpe_decode(b, ids.data, ids.len, &back) == RNNC_OK);
    FUZZ_CHECK(back.len == n && (n == 0 || memcmp(back.data, text, n) == 0));
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
}

static void check_loaded(const rnnc_bpe *b) {
    static const unsigned char text[] =
        "Hello, world! It's 2024:\n\n  \xE4\xB8\xAD\xE6\x96\x87 \xFF\xC3 done <|endoftext|><pad>the and";
    round_trip(b, text, sizeof text - 1, false);
    round_trip(b, text, sizeof text - 1, true);
    /* Every special's text, between ordinary text, with specials allowed. */
    size_t ns = rnnc_bpe_n_specials(b);
    rnnc_bytes all = {0};
    for (size_t k = 0; k < ns; k++) {
        rnnc_special_token sp = rnnc_bpe_special(b, k);
        FUZZ_CHECK(sp.text != NULL);
        rnnc_token_bytes tb = rnnc_bpe_token(b, sp.id);
        FUZZ_CHECK(tb.data != NULL && tb.len == strlen(sp.text) && memcmp(tb.data, sp.text, tb.len) == 0);
        for (size_t j = 0; j < k; j++) FUZZ_CHECK(rnnc_bpe_special(b, j).id != sp.id);
        FUZZ_CHECK(rnnc_bytes_append(&all, "a ", 2) == RNNC_OK);
        FUZZ_CHECK(rnnc_bytes_append(&all, sp.text, strlen(sp.text)) == RNNC_OK);
    }
    if (all.len) {
        round_trip(b, all.data, all.len, true);
        round_trip(b, all.data, all.len, false);
    }
    rnnc_bytes_free(&all);
    /* Ranks (ids that are not specials) map back from their bytes; at most the first 4096. */
    size_t nv = rnnc_bpe_n_vocab(b);
    for (uint32_t r = 0; r < nv && r < 4096; r++) {
        rnnc_token_bytes tb = rnnc_bpe_token(b, r);
        if (!tb.data) continue;
        int special = 0;
        for (size_t k = 0; k < ns; k++) special |= rnnc_bpe_special(b, k).id == r;
        if (!special) FUZZ_CHECK(rnnc_bpe_rank_of(b, tb.data, tb.len) == r);
    }
}

/* The first separator in data[0..n), or NULL (memmem is not in C11 or POSIX). */
static const unsigned char *find_sep(const unsigned char *data, size_t n) {
    size_t k = strlen(SEP);
    for (size_t i = 0; i + k <= n; i++)
        if (data[i] == SEP[0] && memcmp(data + i, SEP, k) == 0) return data + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    rnnc_bpe *b = NULL;
    rnnc_status st;
    const unsigned char *sep = find_sep(data, size);
    fuzz_clear_error();
    if (!sep) {
        st = rnnc_bpe_load_mem(&b, data, size, "fuzz.tiktoken", "cl100k");
        /* A rank file the parser takes is one by its first line too (rnnc_file_kind_sniff). */
        if (st == RNNC_OK) FUZZ_CHECK(rnnc_file_kind_sniff(data, size < 4096 ? size : 4096) == RNNC_FILE_TIKTOKEN);
    } else {
        size_t nr = (size_t)(sep - data), off = nr + strlen(SEP);
        const char *path = fuzz_write("t.tiktoken", data, nr);
        fuzz_write("t.tiktoken.json", data + off, size - off);
        /* A rank file of 256 KiB or more gets its table cache beside it (bpe_cache.h): named
         * here so that the clean-up at exit removes it too. */
        (void)fuzz_path("t.tiktoken.rnnc-cache");
        st = rnnc_bpe_load(&b, path, "r50k");
        /* rnnc_tokenizer_load (--tokenizer FILE) reads a rank file the same way. */
        rnnc_status st2;
        rnnc_tokenizer *t = NULL;
        char first = nr ? (char)data[0] : 0;
        if (first != '{' && first != ' ' && first != '\t' && first != '\n' && first != '\r') {
            st2 = rnnc_tokenizer_load(&t, path, "r50k");
            FUZZ_CHECK((st2 == RNNC_OK) == (st == RNNC_OK));
            if (t) {
                FUZZ_CHECK(rnnc_tokenizer_type_of(t) == RNNC_TOKENIZER_BPE);
                FUZZ_CHECK(rnnc_tokenizer_n_vocab(t) == rnnc_bpe_n_vocab(b));
                rnnc_tokenizer_free(t);
            }
        }
    }
    if (st != RNNC_OK) {
        fuzz_check_failed(st);
        FUZZ_CHECK(b == NULL);
        return 0;
    }
    check_loaded(b);
    rnnc_bpe_free(b);
    return 0;
}
