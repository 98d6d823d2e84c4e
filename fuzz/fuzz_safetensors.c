/* libFuzzer target: the safetensors parser (rnnc_st_parse) on arbitrary bytes, the whole input
 * being the file. A file that parses must describe tensors that lie inside its data section, in
 * offset order without overlap, with numel and nbytes matching shape and dtype and unique names;
 * every tensor must then read back through rnnc_st_read_f32 or rnnc_st_read_i64 (the one for its
 * dtype) with the same values (the float reader may refuse a value that is not a finite float32,
 * and only that), and the other reader, a wrong shape and a missing name must fail with a
 * message. A file that does not parse must leave a message and an empty struct.
 * The header is also read by cJSON (the reference JSON reader): what rnnc takes, cJSON must read
 * as the same tensors and metadata.
 * The file-kind sniffer (rnnc_file_kind_sniff, which the loaders ask first) runs on the same bytes:
 * a file the reader takes must sniff as possibly safetensors (UNKNOWN), and rnnc_file_kind_of must
 * name one of the safetensors kinds, whose description always fits its buffer. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

static int is_float(rnnc_dtype dt) {
    return dt == RNNC_DT_F32 || dt == RNNC_DT_F64 || dt == RNNC_DT_F16 || dt == RNNC_DT_BF16;
}

/* The element i of t as the integer reader must give it. */
static int64_t int_at(const rnnc_st_tensor *t, size_t i) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case RNNC_DT_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    case RNNC_DT_U64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (int64_t)v; }
    case RNNC_DT_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case RNNC_DT_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case RNNC_DT_I8: return (int8_t)p[i];
    default: return p[i]; /* U8, BOOL */
    }
}

/* Element i of a float tensor is a finite float32 (an F64 beyond float32's range is not). */
static int finite_f32(const rnnc_st_tensor *t, size_t i) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case RNNC_DT_F32: { float v; memcpy(&v, p + 4 * i, 4); return isfinite(v); }
    case RNNC_DT_F64: { double v; memcpy(&v, p + 8 * i, 8); return isfinite(v) && fabs(v) <= FLT_MAX; }
    case RNNC_DT_F16: return (p[2 * i + 1] & 0x7C) != 0x7C;
    default: return (((unsigned)p[2 * i + 1] << 8 | p[2 * i]) & 0x7F80) != 0x7F80; /* BF16 */
    }
}

static void check_tensor(const rnnc_safetensors *st, const rnnc_st_tensor *t, const unsigned char *data_begin) {
    const unsigned char *end = st->buf + st->len;
    FUZZ_CHECK(t->name != NULL);
    FUZZ_CHECK(t->ndim >= 0 && t->ndim <= RNNC_ST_MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        FUZZ_CHECK(t->shape[d] >= 0);
        numel *= (size_t)t->shape[d];
    }
    FUZZ_CHECK(numel == t->numel);
    FUZZ_CHECK(t->nbytes == numel * rnnc_dtype_size(t->dtype));
    FUZZ_CHECK(t->data >= data_begin && t->data <= end && t->nbytes <= (size_t)(end - t->data));
    FUZZ_CHECK(rnnc_st_find(st, t->name) == t); /* names are unique */

    /* Element counts are bounded by the file (every dtype has at least one byte). */
    size_t n = numel ? numel : 1;
    int64_t shape[RNNC_ST_MAX_DIMS + 1];
    memcpy(shape, t->shape, sizeof t->shape);
    float *f = malloc(n * sizeof *f);
    int64_t *v = malloc(n * sizeof *v);
    FUZZ_CHECK(f && v);
    fuzz_clear_error();
    if (is_float(t->dtype)) {
        rnnc_status s = rnnc_st_read_f32(st, t->name, t->ndim, shape, f);
        if (s) {
            /* Only a value that is not a finite float32 may be refused. */
            fuzz_check_failed(s);
            FUZZ_CHECK(s == RNNC_ERR_NUMERIC);
            size_t i = 0;
            while (i < numel && finite_f32(t, i)) i++;
            FUZZ_CHECK(i < numel);
        } else {
            if (t->dtype == RNNC_DT_F32) FUZZ_CHECK(numel == 0 || memcmp(f, t->data, t->nbytes) == 0);
            if (t->dtype == RNNC_DT_BF16)
                for (size_t i = 0; i < numel; i++) {
                    uint32_t bits;
                    memcpy(&bits, &f[i], 4);
                    FUZZ_CHECK(bits == (uint32_t)(t->data[2 * i] | t->data[2 * i + 1] << 8) << 16);
                }
        }
        /* rnnc_st_read_i64 checks the dtype per element: a float tensor of no elements reads. */
        if (numel) fuzz_check_failed(rnnc_st_read_i64(st, t->name, t->ndim, shape, v));
    } else {
        FUZZ_CHECK(rnnc_st_read_i64(st, t->name, t->ndim, shape, v) == RNNC_OK);
        for (size_t i = 0; i < numel; i++) FUZZ_CHECK(v[i] == int_at(t, i));
        fuzz_check_failed(rnnc_st_read_f32(st, t->name, t->ndim, shape, f));
    }
    /* One more dimension of 1 (or one fewer) is another shape. */
    fuzz_clear_error();
    if (t->ndim < RNNC_ST_MAX_DIMS) {
        shape[t->ndim] = 1;
        fuzz_check_failed(rnnc_st_read_f32(st, t->name, t->ndim + 1, shape, f));
    } else {
        fuzz_check_failed(rnnc_st_read_i64(st, t->name, t->ndim - 1, shape, v));
    }
    free(f);
    free(v);
}

/* The header as cJSON reads it (rnnc_st_parse has its own parser since cbae39f; cJSON is the
 * reference): a header rnnc takes must be a JSON object to cJSON too, with the same tensors
 * (dtype, shape, offsets) and the same metadata. */
static void check_against_cjson(const rnnc_safetensors *st, const unsigned char *header, size_t hlen,
                                const unsigned char *data_begin) {
    cJSON *root = cJSON_ParseWithLength((const char *)header, hlen);
    FUZZ_CHECK(cJSON_IsObject(root));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    FUZZ_CHECK((size_t)cJSON_GetArraySize(root) == st->n_tensors + (meta != NULL));
    for (size_t i = 0; i < st->n_tensors; i++) {
        const rnnc_st_tensor *t = &st->tensors[i];
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, t->name);
        FUZZ_CHECK(cJSON_IsObject(e) && cJSON_GetArraySize(e) == 3);
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        FUZZ_CHECK(cJSON_IsString(dt) && strcmp(dt->valuestring, rnnc_dtype_name(t->dtype)) == 0);
        FUZZ_CHECK(cJSON_IsArray(shape) && cJSON_GetArraySize(shape) == t->ndim);
        for (int d = 0; d < t->ndim; d++) {
            const cJSON *v = cJSON_GetArrayItem(shape, d);
            FUZZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == (double)t->shape[d]);
        }
        FUZZ_CHECK(cJSON_IsArray(offs) && cJSON_GetArraySize(offs) == 2);
        double b = (double)(size_t)(t->data - data_begin), e2 = b + (double)t->nbytes;
        FUZZ_CHECK(cJSON_IsNumber(cJSON_GetArrayItem(offs, 0)) && cJSON_GetArrayItem(offs, 0)->valuedouble == b);
        FUZZ_CHECK(cJSON_IsNumber(cJSON_GetArrayItem(offs, 1)) && cJSON_GetArrayItem(offs, 1)->valuedouble == e2);
    }
    FUZZ_CHECK((size_t)(meta ? cJSON_GetArraySize(meta) : 0) == st->n_meta);
    for (size_t i = 0; i < st->n_meta; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, st->meta_keys[i]);
        FUZZ_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, st->meta_values[i]) == 0);
    }
    cJSON_Delete(root);
}

/* The words for a kind: a name, and a sentence that always ends inside the buffer. */
static void check_kind_words(rnnc_file_kind k) {
    static const char *const paths[] = {"m.safetensors", "run/checkpoint.safetensors", "checkpoint.safetensors"};
    static const rnnc_file_kind wanted[] = {RNNC_FILE_UNKNOWN, RNNC_FILE_LM, RNNC_FILE_SEQ2SEQ};
    static const size_t sizes[] = {1, 40, 1600};
    char buf[1600];
    FUZZ_CHECK(rnnc_file_kind_name(k) != NULL);
    for (size_t p = 0; p < 3; p++)
        for (size_t w = 0; w < 3; w++)
            for (size_t z = 0; z < 3; z++) {
                memset(buf, 'x', sizeof buf);
                FUZZ_CHECK(rnnc_file_kind_describe(buf, sizes[z], k, wanted[w], paths[p]) == buf);
                FUZZ_CHECK(memchr(buf, 0, sizes[z]) != NULL);
            }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* What the first bytes say: never one of the safetensors kinds (those need the metadata). */
    rnnc_file_kind sniffed = rnnc_file_kind_sniff(data, size < 4096 ? size : 4096);
    FUZZ_CHECK(sniffed == RNNC_FILE_UNKNOWN || sniffed == RNNC_FILE_ONNX ||
               (sniffed >= RNNC_FILE_TOKENIZER_JSON && sniffed <= RNNC_FILE_TEXT));
    unsigned char *buf = malloc(size ? size : 1); /* rnnc_st_parse takes it over */
    FUZZ_CHECK(buf != NULL);
    if (size) memcpy(buf, data, size);
    rnnc_safetensors st;
    fuzz_clear_error();
    rnnc_status s = rnnc_st_parse(&st, buf, size, "fuzz.safetensors");
    if (s) {
        fuzz_check_failed(s);
        FUZZ_CHECK(st.buf == NULL && st.tensors == NULL && st.n_tensors == 0 && st.meta_keys == NULL && st.n_meta == 0);
        return 0;
    }
    FUZZ_CHECK(st.buf == buf && st.len == size && size >= 8);
    /* A file the reader takes may be safetensors by its first bytes, and its metadata says which. */
    FUZZ_CHECK(sniffed == RNNC_FILE_UNKNOWN);
    rnnc_file_kind kind = rnnc_file_kind_of(&st);
    FUZZ_CHECK(kind >= RNNC_FILE_LM && kind <= RNNC_FILE_SAFETENSORS);
    check_kind_words(kind);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    FUZZ_CHECK(hlen <= size - 8);
    const unsigned char *data_begin = buf + 8 + hlen;
    check_against_cjson(&st, buf + 8, (size_t)hlen, data_begin);
    for (size_t i = 0; i < st.n_tensors; i++) {
        check_tensor(&st, &st.tensors[i], data_begin);
        if (i) FUZZ_CHECK(st.tensors[i - 1].data + st.tensors[i - 1].nbytes <= st.tensors[i].data);
    }
    for (size_t i = 0; i < st.n_meta; i++) {
        FUZZ_CHECK(st.meta_keys[i] && st.meta_values[i]);
        FUZZ_CHECK(rnnc_st_meta(&st, st.meta_keys[i]) != NULL);
    }
    static const int64_t one[1] = {1};
    float f;
    fuzz_clear_error();
    if (!rnnc_st_find(&st, "\x01missing")) fuzz_check_failed(rnnc_st_read_f32(&st, "\x01missing", 1, one, &f));
    rnnc_st_free(&st);
    return 0;
}
