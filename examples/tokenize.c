/* Example: the tokenizer library from C. Encodes a sentence with OpenAI's cl100k_base and with a
 * character tokenizer trained on the sentence itself, then decodes both back.
 * Build: cc tokenize.c $(pkg-config --cflags --libs rnnc), or as part of the CMake build
 * (build/example_tokenize); run with the fetched data present. */
#include <stdio.h>
#include <string.h>

#include <rnnc/rnnc.h>
#include <rnnc/tokenizer.h>

static int show(const char *name, const rnnc_tokenizer *t, const char *text) {
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    if (rnnc_tokenizer_encode(t, (const unsigned char *)text, strlen(text), false, &ids, NULL) ||
        rnnc_tokenizer_decode(t, ids.data, ids.len, &back)) {
        fprintf(stderr, "%s: %s\n", name, rnnc_last_error());
        return 1;
    }
    printf("%-12s |V| = %6zu  L = %2zu:", name, rnnc_tokenizer_n_vocab(t), ids.len);
    for (size_t i = 0; i < ids.len; i++) printf(" %u", ids.data[i]);
    int same = back.len == strlen(text) && memcmp(back.data, text, back.len) == 0;
    printf("\n%-12s round trip %s\n", "", same ? "ok" : "FAILED");
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
    return !same;
}

int main(void) {
    const char *text = "i hate programming";
    rnnc_tokenizer *bpe = NULL, *chr = NULL;
    if (rnnc_tokenizer_load(&bpe, "cl100k_base", NULL)) {
        fprintf(stderr, "%s\n", rnnc_last_error());
        return 1;
    }
    const unsigned char *texts[] = {(const unsigned char *)text};
    size_t lens[] = {strlen(text)};
    rnnc_tokenizer_train_opts o = {.type = RNNC_TOKENIZER_CHAR};
    if (rnnc_tokenizer_train(&chr, texts, lens, 1, &o)) {
        fprintf(stderr, "%s\n", rnnc_last_error());
        return 1;
    }
    int rc = show("char", chr, text) | show("cl100k_base", bpe, text);
    rnnc_tokenizer_free(bpe);
    rnnc_tokenizer_free(chr);
    return rc;
}
