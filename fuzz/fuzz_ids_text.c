/* libFuzzer target: the id files of `rnnc train --ids` and `rnnc eval --ids` (whitespace-separated
 * non-negative decimal ids below 2^31), read by rnnc_ids_read_text, which reads a path: the whole
 * input is written to a temp file. The result is compared with a plain reference reading: the
 * reader must succeed exactly when every token is all digits with a value below 2^31, and then
 * give those values in order. The ids then go through rnnc_ids_check_vocab and the stream
 * batching (rnnc_stream_init and every window), B and T taken from the input's length. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

/* The reference reading: 1 and the ids in *out (malloc'd), or 0 if some token is not an id. */
static int reference(const uint8_t *d, size_t n, int64_t **out, size_t *len) {
    int64_t *v = malloc((n / 2 + 1) * sizeof *v); /* a token and a separator per id, at least */
    FUZZ_CHECK(v != NULL);
    size_t k = 0, i = 0;
    while (i < n) {
        if (isspace(d[i])) { i++; continue; }
        int64_t x = 0;
        int ok = 1;
        for (; i < n && !isspace(d[i]); i++) {
            if (d[i] < '0' || d[i] > '9') ok = 0;
            else if (ok && (x = x * 10 + (d[i] - '0')) > INT32_MAX) ok = 0;
        }
        if (!ok) { free(v); return 0; }
        v[k++] = x;
    }
    *out = v;
    *len = k;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("ids.txt", data, size);
    int32_t *ids = NULL;
    size_t len = 0;
    fuzz_clear_error();
    rnnc_status s = rnnc_ids_read_text(path, &ids, &len);
    int64_t *want = NULL;
    size_t want_len = 0;
    int ok = reference(data, size, &want, &want_len);
    if (s) {
        fuzz_check_failed(s);
        FUZZ_CHECK(!ok);
        return 0;
    }
    FUZZ_CHECK(ok && len == want_len);
    int32_t max = -1;
    for (size_t i = 0; i < len; i++) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] == want[i]);
        if (ids[i] > max) max = ids[i];
    }
    free(want);

    /* The vocabulary check fails exactly when some id is too large for it. */
    int V = 1000;
    fuzz_clear_error();
    s = rnnc_ids_check_vocab(ids, len, V, "fuzz");
    if (max >= V) fuzz_check_failed(s);
    else FUZZ_CHECK(s == RNNC_OK);

    int B = 1 + (int)(size % 3), T = 1 + (int)(size / 3 % 4);
    rnnc_stream st;
    fuzz_clear_error();
    s = rnnc_stream_init(&st, ids, len, B, T);
    if (len / (size_t)B < (size_t)T + 1) {
        fuzz_check_failed(s);
    } else {
        FUZZ_CHECK(s == RNNC_OK && st.n == len / (size_t)B && st.windows >= 1);
        int x[3 * 4], y[3 * 4];
        for (size_t k = 0; k < st.windows; k++) {
            FUZZ_CHECK(k * (size_t)T + (size_t)T < st.n);
            rnnc_stream_window(&st, k, x, y);
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++) {
                    size_t at = (size_t)b * st.n + k * (size_t)T + (size_t)t;
                    FUZZ_CHECK(x[b * T + t] == ids[at] && y[b * T + t] == ids[at + 1]);
                }
        }
        FUZZ_CHECK((st.windows + 1) * (size_t)T >= st.n); /* the windows are all there are */
    }
    free(ids);
    return 0;
}
