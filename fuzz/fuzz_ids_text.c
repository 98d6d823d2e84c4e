/* libFuzzer target: the id files of `rnnc train --ids` and `rnnc eval --ids`, read by
 * rnnc_ids_read_text, which reads a path: the whole input is written to a temp file. Two forms:
 * - text (whitespace-separated non-negative decimal ids below 2^31): the result is compared with
 *   a plain reference reading: the reader must succeed exactly when every token is all digits
 *   with a value below 2^31, and then give those values in order;
 * - .npy (the input starts with "\x93NUMPY"): when the reader succeeds, the data after the
 *   declared header must be exactly 4 bytes an id, each the little-endian value read, below 2^31;
 *   when it fails, it must say why. And the input's bytes as ids (each masked below 2^31) behind
 *   rnnc_ids_npy_header must read back as those ids.
 * The ids then go through rnnc_ids_check_vocab and the stream batching (rnnc_stream_init and
 * every window), B and T taken from the input's length. Seeds: text, and .npy files NumPy wrote. */
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

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* The input's bytes as ids behind the writer's header read back exactly. */
static void npy_round_trip(const uint8_t *data, size_t size) {
    size_t n = size / 4 > 4096 ? 4096 : size / 4;
    unsigned char *b = malloc(RNNC_NPY_HEADER_MAX + 4 * n + 1);
    FUZZ_CHECK(b != NULL);
    size_t hl = rnnc_ids_npy_header(n, b);
    FUZZ_CHECK(hl % 64 == 0 && hl <= RNNC_NPY_HEADER_MAX);
    for (size_t i = 0; i < n; i++) {
        uint32_t v = le32(data + 4 * i) & 0x7FFFFFFFu;
        b[hl + 4 * i] = (unsigned char)v;
        b[hl + 4 * i + 1] = (unsigned char)(v >> 8);
        b[hl + 4 * i + 2] = (unsigned char)(v >> 16);
        b[hl + 4 * i + 3] = (unsigned char)(v >> 24);
    }
    int32_t *ids = NULL;
    size_t len = 0;
    FUZZ_CHECK(rnnc_ids_parse(b, hl + 4 * n, "rt.npy", &ids, &len) == RNNC_OK && len == n);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK((uint32_t)ids[i] == (le32(data + 4 * i) & 0x7FFFFFFFu));
    free(ids);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("ids.txt", data, size);
    int32_t *ids = NULL;
    size_t len = 0;
    fuzz_clear_error();
    rnnc_status s = rnnc_ids_read_text(path, &ids, &len);
    int32_t max = -1;
    if (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0) {
        npy_round_trip(data, size);
        if (s) {
            fuzz_check_failed(s);
            return 0;
        }
        /* accepted: versions 1.0 (u16 header length) and 2.0 (u32) only, ids to the end */
        FUZZ_CHECK(size >= 10 && data[7] == 0 && (data[6] == 1 || data[6] == 2));
        size_t off = data[6] == 1 ? 10 + (size_t)(data[8] | data[9] << 8) : 12 + (size_t)le32(data + 8);
        FUZZ_CHECK(off <= size && size - off == 4 * len && data[off - 1] == '\n');
        for (size_t i = 0; i < len; i++) {
            FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] == le32(data + off + 4 * i));
            if (ids[i] > max) max = ids[i];
        }
    } else {
        int64_t *want = NULL;
        size_t want_len = 0;
        int ok = reference(data, size, &want, &want_len);
        if (s) {
            fuzz_check_failed(s);
            FUZZ_CHECK(!ok);
            return 0;
        }
        FUZZ_CHECK(ok && len == want_len);
        for (size_t i = 0; i < len; i++) {
            FUZZ_CHECK(ids[i] >= 0 && ids[i] == want[i]);
            if (ids[i] > max) max = ids[i];
        }
        free(want);
    }

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
