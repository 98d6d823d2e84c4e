/* libFuzzer target for the char/word tokenizers and tokenizer JSON: nothing may crash or leak,
 * char round trips must be exact, and a parsed JSON tokenizer must serialise back to itself.
 * The first byte picks the mode; the rest is the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "rnnc/tokenizer.h"

static void json_mode(const unsigned char *d, size_t n) {
    rnnc_tokenizer *t;
    if (rnnc_tokenizer_from_json(&t, (const char *)d, n)) return;
    char *json;
    if (rnnc_tokenizer_to_json(t, &json) == RNNC_OK) {
        rnnc_tokenizer *u;
        if (rnnc_tokenizer_from_json(&u, json, strlen(json)) != RNNC_OK) abort();
        if (rnnc_tokenizer_n_vocab(u) != rnnc_tokenizer_n_vocab(t)) abort();
        rnnc_tokenizer_free(u);
        free(json);
    }
    rnnc_ids ids = {0};
    rnnc_bytes out = {0};
    static const unsigned char probe[] = "Hello, w\xC3\xB6rld! \xFF<|endoftext|>";
    if (rnnc_tokenizer_encode(t, probe, sizeof probe - 1, true, &ids, NULL) == RNNC_OK)
        (void)rnnc_tokenizer_decode(t, ids.data, ids.len, &out);
    rnnc_ids_free(&ids);
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
