/* libFuzzer target for the char/word tokenizers and tokenizer JSON (rnnc_tokenizer_from_json, every
 * type: char, word, bpe with its pattern and special tokens): nothing may crash or leak, char round
 * trips must be exact, and a parsed JSON tokenizer must serialise back to the same JSON and
 * round-trip text (char and BPE exactly); bad JSON must leave a message and no tokenizer.
 * The first byte picks the mode (byte % 3: 0 JSON, 1 char, 2 word); the rest is the input.
 * Seeds: tools/make_fuzz_seeds.c writes the library's own JSON of each type (BPE: all 256 bytes,
 * merges, specials). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

static void json_mode(const unsigned char *d, size_t n) {
    rnnc_tokenizer *t;
    fuzz_clear_error();
    rnnc_status s = rnnc_tokenizer_from_json(&t, (const char *)d, n);
    if (s) {
        fuzz_check_failed(s);
        FUZZ_CHECK(t == NULL);
        return;
    }
    /* The JSON it writes reads back to the same tokenizer: the same JSON again. */
    char *json, *again;
    FUZZ_CHECK(rnnc_tokenizer_to_json(t, &json) == RNNC_OK);
    rnnc_tokenizer *u;
    FUZZ_CHECK(rnnc_tokenizer_from_json(&u, json, strlen(json)) == RNNC_OK);
    FUZZ_CHECK(rnnc_tokenizer_type_of(u) == rnnc_tokenizer_type_of(t));
    FUZZ_CHECK(rnnc_tokenizer_n_vocab(u) == rnnc_tokenizer_n_vocab(t));
    FUZZ_CHECK(rnnc_tokenizer_to_json(u, &again) == RNNC_OK);
    FUZZ_CHECK(strcmp(json, again) == 0);
    rnnc_tokenizer_free(u);
    free(json);
    free(again);
    /* Text round-trips (char and BPE exactly, special-token text included), ids in range. */
    static const unsigned char probe[] = "Hello, w\xC3\xB6rld! \xFF<|endoftext|> the cat don't <pad>\xE4\xB8\xAD 12";
    for (int special = 0; special < 2; special++) {
        rnnc_ids ids = {0};
        rnnc_bytes out = {0};
        FUZZ_CHECK(rnnc_tokenizer_encode(t, probe, sizeof probe - 1, special, &ids, NULL) == RNNC_OK);
        for (size_t i = 0; i < ids.len; i++)
            FUZZ_CHECK(ids.data[i] < rnnc_tokenizer_n_vocab(t) && rnnc_tokenizer_token(t, ids.data[i]).data != NULL);
        FUZZ_CHECK(rnnc_tokenizer_decode(t, ids.data, ids.len, &out) == RNNC_OK);
        if (rnnc_tokenizer_type_of(t) != RNNC_TOKENIZER_WORD)
            FUZZ_CHECK(out.len == sizeof probe - 1 && memcmp(out.data, probe, out.len) == 0);
        rnnc_ids_free(&ids);
        rnnc_bytes_free(&out);
    }
    uint32_t bad = (uint32_t)rnnc_tokenizer_n_vocab(t);
    rnnc_bytes out = {0};
    fuzz_clear_error();
    fuzz_check_failed(rnnc_tokenizer_decode(t, &bad, 1, &out));
    rnnc_bytes_free(&out);
    rnnc_tokenizer_free(t);
}

static void char_mode(const unsigned char *d, size_t n) {
    /* Vocabulary from the first half, round trip of the whole input. */
    const unsigned char *texts[] = {d};
    size_t lens[] = {n / 2};
    rnnc_char_tok *t;
    if (rnnc_char_build(&t, texts, lens, 1, NULL)) return;
    rnnc_ids ids = {0};
    rnnc_bytes out = {0};
    if (rnnc_char_encode(t, d, n, &ids, NULL) || rnnc_char_decode(t, ids.data, ids.len, &out)) abort();
    if (out.len != n || (n && memcmp(out.data, d, n))) abort();
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&out);
    rnnc_char_free(t);
}

static void word_mode(const unsigned char *d, size_t n) {
    const unsigned char *texts[] = {d};
    size_t lens[] = {n / 2};
    rnnc_word_opts o = {.vocab_size = 50};
    rnnc_word_tok *t;
    if (rnnc_word_build(&t, texts, lens, 1, &o)) return;
    rnnc_ids ids = {0};
    rnnc_bytes out = {0};
    size_t unk = 0;
    if (rnnc_word_encode(t, d, n, &ids, &unk) || rnnc_word_decode(t, ids.data, ids.len, &out)) abort();
    if (unk > ids.len) abort();
    for (size_t i = 0; i < ids.len; i++)
        if (ids.data[i] >= rnnc_word_n_vocab(t) || ids.data[i] == RNNC_TOK_PAD) abort();
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&out);
    rnnc_word_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    switch (data[0] % 3) {
    case 0: json_mode(data + 1, size - 1); break;
    case 1: char_mode(data + 1, size - 1); break;
    default: word_mode(data + 1, size - 1); break;
    }
    return 0;
}
