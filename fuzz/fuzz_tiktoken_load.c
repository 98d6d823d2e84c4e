/* libFuzzer target: the .tiktoken parser on arbitrary bytes. A file that loads must encode and
 * decode losslessly; one that does not must leave an error message and no tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    rnnc_bpe *b = NULL;
    rnnc_status st = rnnc_bpe_load_mem(&b, data, size, "fuzz.tiktoken", "cl100k");
    if (st != RNNC_OK) {
        if (b != NULL || rnnc_last_error()[0] == 0) __builtin_trap();
        return 0;
    }
    static const unsigned char text[] = "Hello, world! It's 2024:\n\n  \xE4\xB8\xAD\xE6\x96\x87 \xFF\xC3 done";
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    if (rnnc_bpe_encode(b, text, sizeof text - 1, false, &ids) != RNNC_OK) __builtin_trap();
    if (rnnc_bpe_decode(b, ids.data, ids.len, &back) != RNNC_OK) __builtin_trap();
    if (back.len != sizeof text - 1 || memcmp(back.data, text, back.len) != 0) __builtin_trap();
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
    rnnc_bpe_free(b);
    return 0;
}
