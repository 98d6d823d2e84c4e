/* safetensors: a file written by PyTorch (tools/make_golden_safetensors.py) loads with every
 * dtype converted; save/load round trip; every malformation gives an error naming the problem,
 * including the crafted files that an earlier, laxer reader accepted (each has a regression test
 * below: tiling, junk after the JSON, repeated keys, out-of-range numbers, non-finite weights). */
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "rnnc/safetensors.h"
#include "rnnc/rnnc.h"
#include "test.h"

static const float want[6] = {1.5f, -2.25f, 3.0f, 0.1f, 65504.0f, -1e-3f};

static void test_golden_from_pytorch(void) {
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, test_path("golden/safetensors/sample.safetensors")), RNNC_OK);
    if (!st.buf) return;
    CHECK_STR(rnnc_st_meta(&st, "rnnc.config"), "{\"cell\": \"lstm\"}");
    CHECK(rnnc_st_meta(&st, "missing") == NULL);
    int64_t shape[2] = {2, 3};
    float v[6];
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "a.f32", 2, shape, v), RNNC_OK);
    for (int i = 0; i < 6; i++) CHECK(v[i] == want[i]);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "a.f64", 2, shape, v), RNNC_OK);
    for (int i = 0; i < 6; i++) CHECK(v[i] == want[i]);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "a.f16", 2, shape, v), RNNC_OK);
    for (int i = 0; i < 6; i++) CHECK_NEAR(v[i], want[i], 1e-3, 1e-6);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "a.bf16", 2, shape, v), RNNC_OK);
    for (int i = 0; i < 6; i++) CHECK_NEAR(v[i], want[i], 1e-2, 1e-6);
    int64_t n3 = 3, n2 = 2, ids[3];
    CHECK_EQ_LL(rnnc_st_read_i64(&st, "ids.i64", 1, &n3, ids), RNNC_OK);
    CHECK(ids[0] == 0 && ids[1] == -1 && ids[2] == (int64_t)1 << 40);
    CHECK_EQ_LL(rnnc_st_read_i64(&st, "ids.i32", 1, &n2, ids), RNNC_OK);
    CHECK(ids[0] == 7 && ids[1] == -7);
    CHECK_EQ_LL(rnnc_st_read_i64(&st, "flags", 1, &n3, ids), RNNC_OK);
    CHECK(ids[0] == 1 && ids[1] == 0 && ids[2] == 1);
    const rnnc_st_tensor *e = rnnc_st_find(&st, "empty");
    CHECK(e && e->numel == 0 && e->ndim == 2);
    /* Wrong shape, wrong dtype, missing tensor: errors name the tensor. */
    int64_t bad[2] = {3, 2};
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "a.f32", 2, bad, v), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "'a.f32' has shape (2, 3), expected (3, 2)") != NULL);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "ids.i64", 1, &n3, v), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "dtype I64") != NULL);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "nope", 1, &n3, v), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "'nope' is missing") != NULL);
    rnnc_st_free(&st);
}

static void test_roundtrip(void) {
    char path[] = "/tmp/rnnc_st_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    float w[12];
    for (int i = 0; i < 12; i++) w[i] = (float)i * 0.5f - 3;
    int64_t ids[3] = {5, 6, 7};
    rnnc_st_entry ents[] = {
        {"z.weight", RNNC_DT_F32, 2, {3, 4}, w},
        {"a.ids", RNNC_DT_I64, 1, {3}, ids},
        {"scalar", RNNC_DT_F32, 0, {0}, w},
    };
    const char *k[] = {"rnnc.config"}, *val[] = {"{\"x\":1}"};
    CHECK_EQ_LL(rnnc_st_save(path, ents, 3, k, val, 1), RNNC_OK);
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, path), RNNC_OK);
    CHECK_EQ_LL(st.n_tensors, 3);
    CHECK_STR(rnnc_st_meta(&st, "rnnc.config"), "{\"x\":1}");
    float back[12];
    int64_t shp[2] = {3, 4};
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "z.weight", 2, shp, back), RNNC_OK);
    CHECK(memcmp(back, w, sizeof w) == 0);
    int64_t ib[3];
    int64_t three = 3;
    CHECK_EQ_LL(rnnc_st_read_i64(&st, "a.ids", 1, &three, ib), RNNC_OK);
    CHECK(ib[0] == 5 && ib[2] == 7);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "scalar", 0, NULL, back), RNNC_OK);
    CHECK(back[0] == w[0]);
    CHECK_EQ_LL((st.tensors[0].data - st.buf) % 8, 0); /* data section aligned to 8 */
    rnnc_st_free(&st);
    unlink(path);
}

static rnnc_status parse_bytes(const void *bytes, size_t n) {
    unsigned char *buf = malloc(n ? n : 1);
    memcpy(buf, bytes, n);
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_parse(&st, buf, n, "bad.safetensors");
    if (s == RNNC_OK) rnnc_st_free(&st);
    return s;
}

static rnnc_status parse_header(const char *json, size_t data_bytes) {
    size_t h = strlen(json), n = 8 + h + data_bytes;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, json, h);
    rnnc_status s = parse_bytes(b, n);
    free(b);
    return s;
}

static void test_malformed(void) {
    CHECK_EQ_LL(parse_bytes("abc", 3), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "bad.safetensors") != NULL);
    CHECK_EQ_LL(parse_bytes("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "header length") != NULL);
    CHECK_EQ_LL(parse_header("{not json", 0), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("[]", 0), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "'w'") && strstr(rnnc_last_error(), "truncated"));
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "unsupported dtype 'Q7'") != NULL);
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "overlap") != NULL);
    CHECK_EQ_LL(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "twice") != NULL);
    CHECK_EQ_LL(parse_header("{\"__metadata__\":{\"k\":3}}", 0), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8), RNNC_ERR_FORMAT);
    CHECK_EQ_LL(parse_header("{\"__metadata__\":{\"k\":\"v\"}}", 0), RNNC_OK);
}

/* A file from a header (padded with `pad` spaces, its length field off by `hdelta`) and data. */
static unsigned char *make_file(const char *json, size_t pad, long hdelta, const void *data, size_t data_len, size_t *len) {
    size_t h = strlen(json);
    *len = 8 + h + pad + data_len;
    unsigned char *b = malloc(*len);
    uint64_t field = (uint64_t)((long long)(h + pad) + hdelta);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(field >> (8 * i));
    memcpy(b + 8, json, h);
    memset(b + 8 + h, ' ', pad);
    if (data_len) memcpy(b + 8 + h + pad, data, data_len);
    return b;
}

/* Parses json + data_bytes zero bytes; on success the caller owns *st. */
static rnnc_status parse_into(rnnc_safetensors *st, const char *json, size_t data_bytes) {
    size_t h = strlen(json), n = 8 + h + data_bytes;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, json, h);
    return rnnc_st_parse(st, b, n, "bad.safetensors");
}

/* The last error contains every one of the words (up to 3; NULL ends the list early). */
static bool said(const char *a, const char *b, const char *c) {
    const char *e = rnnc_last_error();
    return strstr(e, "bad.safetensors") && strstr(e, a) && (!b || strstr(e, b)) && (!c || strstr(e, c));
}

#define REFUSED(call, a, b, c) do { rnnc_status s_ = (call); CHECK_MSG(s_ != RNNC_OK && said(a, b, c), \
    "status %d, message: %s", (int)s_, s_ ? rnnc_last_error() : "(accepted)"); } while (0)
#define ACCEPTED(call) do { rnnc_status s_ = (call); CHECK_MSG(s_ == RNNC_OK, "%s", rnnc_last_error()); } while (0)

#define T8(name, b, e) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" #b "," #e "]}"

/* The tensors must tile the data exactly (the reference's `validate`): a gap, an overlap or bytes
 * after the last tensor are refused; a header length 4 short once shifted every tensor silently. */
static void test_tiling(void) {
    const char *two = "{" T8("a", 0, 8) "," T8("b", 8, 16) "}";
    float data[5] = {1, 2, 3, 4, 5};
    size_t len;
    unsigned char *f = make_file(two, 8, -4, data, 16, &len); /* header length 4 bytes short */
    REFUSED(parse_bytes(f, len), "4 bytes after the last tensor's data", "trailing bytes", NULL);
    free(f);
    f = make_file(two, 8, 0, data, 16, &len); /* the same file with the right length loads */
    ACCEPTED(parse_bytes(f, len));
    free(f);
    f = make_file(two, 8, 0, data, 19, &len);
    REFUSED(parse_bytes(f, len), "3 bytes after the last tensor's data", "trailing bytes", NULL);
    free(f);
    REFUSED(parse_header("{}", 4), "4 bytes after the header but no tensors", "trailing bytes", NULL);
    REFUSED(parse_header("{" T8("a", 0, 8) "," T8("b", 12, 20) "}", 20),
            "tensor 'b' begins at byte 12 but the previous tensor 'a' ends at byte 8 (gap)", NULL, NULL);
    REFUSED(parse_header("{" T8("a", 4, 12) "}", 12), "the first tensor 'a' begins at byte 4, not 0", "gap", NULL);
    REFUSED(parse_header("{" T8("b", 4, 12) "," T8("a", 0, 8) "}", 12), "'b'", "'a'", "overlap");
    /* Zero-size tensors are legal anywhere in the sequence, even at the offset of another. */
    rnnc_safetensors st;
    ACCEPTED(parse_into(&st, "{\"z0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                             "\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                             "\"z1\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[0,0]},"
                             "\"z2\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[16,16]}}", 16));
    if (st.buf) {
        CHECK_EQ_LL(st.n_tensors, 4);
        CHECK_STR(st.tensors[0].name, "z0"); /* data order: (begin, end), then name */
        CHECK_STR(st.tensors[1].name, "z1");
        CHECK_STR(st.tensors[2].name, "w");
        CHECK_STR(st.tensors[3].name, "z2");
        CHECK(rnnc_st_find(&st, "z1") && rnnc_st_find(&st, "z1")->numel == 0);
        CHECK(rnnc_st_find(&st, "w") == &st.tensors[2]);
        CHECK(rnnc_st_find(&st, "v") == NULL && rnnc_st_find(&st, "zz") == NULL);
        rnnc_st_free(&st);
    }
    /* ...but not inside another tensor's bytes. */
    REFUSED(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 16), "'z'", "overlap", NULL);
}

/* The header: starts with '{', one JSON object then only spaces, valid UTF-8, no control bytes. */
static void test_header_text(void) {
    REFUSED(parse_header("{" T8("a", 0, 8) "}x", 8), "junk after the header's JSON", NULL, NULL);
    REFUSED(parse_header("{" T8("a", 0, 8) "}{}", 8), "junk after", NULL, NULL);
    REFUSED(parse_header("{" T8("a", 0, 8) "}  \n", 8), "junk after", NULL, NULL);
    ACCEPTED(parse_header("{" T8("a", 0, 8) "}     ", 8));
    ACCEPTED(parse_header("{ \"a\" :\n{\"dtype\":\"F32\",\t\"shape\":[ 2 ],\r\n\"data_offsets\":[0,8]}}", 8));
    REFUSED(parse_header(" {" T8("a", 0, 8) "}", 8), "does not start with '{'", NULL, NULL);
    REFUSED(parse_header("\xef\xbb\xbf{}", 0), "does not start with '{'", NULL, NULL); /* a BOM, which cJSON skips */
    REFUSED(parse_header("", 0), "does not start with '{'", NULL, NULL);
    REFUSED(parse_header("{" T8("\xff", 0, 8) "}", 8), "not valid UTF-8", "0xff", NULL);
    REFUSED(parse_header("{" T8("\xc0\xaf", 0, 8) "}", 8), "not valid UTF-8", NULL, NULL); /* overlong '/' */
    REFUSED(parse_header("{" T8("\xed\xa0\x80", 0, 8) "}", 8), "not valid UTF-8", NULL, NULL); /* a surrogate */
    ACCEPTED(parse_header("{" T8("poids.\xc3\xa9t\xc3\xa9", 0, 8) "}", 8));
    REFUSED(parse_header("{" T8("a\x01", 0, 8) "}", 8), "control character 0x01", NULL, NULL);
    REFUSED(parse_header("{\x0b" T8("a", 0, 8) "}", 8), "control character 0x0b", NULL, NULL); /* cJSON skips it */
    REFUSED(parse_header("{" T8("a\\u0000b", 0, 8) "}", 8), "escaped NUL", NULL, NULL);
    /* an escaped backslash before "u0000" is just text */
    rnnc_safetensors st;
    ACCEPTED(parse_into(&st, "{" T8("a\\\\u0000", 0, 8) "}", 8));
    if (st.buf) { CHECK(rnnc_st_find(&st, "a\\u0000") != NULL); rnnc_st_free(&st); }
    REFUSED(parse_header("{not json", 0), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{" T8("a", 0, 8), 8), "not a valid JSON object", NULL, NULL);
}

/* A key twice anywhere is refused (cJSON keeps both copies and lookups saw only the first); a
 * tensor entry has exactly dtype, shape and data_offsets. */
static void test_repeated_and_unknown_keys(void) {
    REFUSED(parse_header("{\"__metadata__\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}", 0), "__metadata__ key 'k' appears twice", NULL, NULL);
    REFUSED(parse_header("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "__metadata__ appears twice", NULL, NULL);
    REFUSED(parse_header("{" T8("a", 0, 8) "," T8("b", 8, 16) "," T8("a", 16, 24) "}", 24), "tensor 'a' appears twice", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
            "tensor 'a'", "field 'dtype' appears twice", NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"shape\":[8]}}", 8),
            "tensor 'a'", "field 'shape' appears twice", NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"data_offsets\":[0,8]}}", 8),
            "field 'data_offsets' appears twice", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"Shape\":[2]}}", 8),
            "tensor 'a'", "unknown field 'Shape'", NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "tensor 'a'", "missing field 'data_offsets'", NULL);
    REFUSED(parse_header("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "missing field 'dtype'", NULL, NULL);
    REFUSED(parse_header("{\"a\":{}}", 0), "missing field", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":2,\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "dtype is not a string", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8), "shape is not an array", NULL, NULL);
    REFUSED(parse_header("{\"a\":[1]}", 0), "tensor 'a'", "not an object", NULL);
    REFUSED(parse_header("{\"__metadata__\":[\"k\"]}", 0), "__metadata__ is not an object", NULL, NULL);
}

/* Shape entries and offsets: integers in [0, 2^53), range-checked on the double before any cast
 * (these once reached a float-to-integer cast that UBSan aborts on). */
static void test_numbers(void) {
#define SHAPE(x) "{\"w\":{\"dtype\":\"F32\",\"shape\":[" x "],\"data_offsets\":[0,8]}}"
    REFUSED(parse_header(SHAPE("1e30"), 8), "'w'", "shape entry 0", "2^53 or more");
    REFUSED(parse_header(SHAPE("18446744073709551616"), 8), "shape entry 0", "2^53 or more", NULL);
    REFUSED(parse_header(SHAPE("9007199254740992"), 8), "shape entry 0", "2^53 or more", NULL);
    REFUSED(parse_header(SHAPE("1e400"), 8), "shape entry 0", "2^53 or more", NULL); /* strtod gives +inf */
    REFUSED(parse_header(SHAPE("-1e400"), 8), "shape entry 0", "negative", NULL);
    REFUSED(parse_header(SHAPE("2,-0"), 8), "shape entry 1", "(-0) is negative", NULL);
    REFUSED(parse_header(SHAPE("-2"), 8), "shape entry 0", "negative", NULL);
    REFUSED(parse_header(SHAPE("1.5"), 8), "shape entry 0", "(1.5) is not an integer", NULL);
    REFUSED(parse_header(SHAPE("\"2\""), 8), "shape entry 0", "not a number", NULL);
    REFUSED(parse_header(SHAPE("null"), 8), "shape entry 0", "not a number", NULL);
    REFUSED(parse_header(SHAPE("1,1,1,1,1,1,1,1,2"), 8), "9 dimensions", NULL, NULL);
    REFUSED(parse_header(SHAPE("4294967296,4294967296"), 8), "'w'", "overflows", NULL);
    REFUSED(parse_header(SHAPE("3"), 8), "'w'", "8 data bytes for 3 elements of F32", NULL);
#define OFFS(x) "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" x "]}}"
    REFUSED(parse_header(OFFS("0,1e30"), 8), "data_offsets end", "2^53 or more", NULL);
    REFUSED(parse_header(OFFS("18446744073709551616,18446744073709551624"), 8), "data_offsets begin", "2^53 or more", NULL);
    REFUSED(parse_header(OFFS("-0,8"), 8), "data_offsets begin", "negative", NULL);
    REFUSED(parse_header(OFFS("0.5,8"), 8), "data_offsets begin", "not an integer", NULL);
    REFUSED(parse_header(OFFS("0,\"8\""), 8), "data_offsets end", "not a number", NULL);
    REFUSED(parse_header(OFFS("8,0"), 8), "'w'", "end before they begin", NULL);
    REFUSED(parse_header(OFFS("0"), 8), "data_offsets must be [begin, end]", NULL, NULL);
    REFUSED(parse_header(OFFS("0,8,8"), 8), "data_offsets must be [begin, end]", NULL, NULL);
    REFUSED(parse_header(OFFS("9007199254740983,9007199254740991"), 8), "'w'", "data ends at byte 9007199254740991", "truncated");
    /* Values right but not spelled as plain integers (the reference's JSON reader refuses them). */
    REFUSED(parse_header(SHAPE("2.0"), 8), "'2.0'", "not a plain integer", NULL);
    REFUSED(parse_header(SHAPE("2e0"), 8), "'2e0'", "not a plain integer", NULL);
    REFUSED(parse_header(SHAPE("02"), 8), "'02'", "not a plain integer", NULL);
    REFUSED(parse_header(OFFS("0,8E0"), 8), "'8E0'", "not a plain integer", NULL);
    ACCEPTED(parse_header(OFFS("0,8"), 8));
    ACCEPTED(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,0,0],\"data_offsets\":[0,0]}}", 0));
#undef SHAPE
#undef OFFS
}

/* Header length: over the limit and past the end of the file are different messages. */
static void test_header_length(void) {
    unsigned char b[16] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}'}; /* 100,000,001 */
    REFUSED(parse_bytes(b, 10), "header length 100000001 exceeds the 100 MB limit", NULL, NULL);
    memset(b, 0, 8);
    b[0] = 0xff; b[1] = 0xff; b[2] = 0xff; b[3] = 0xff; b[4] = 0xff; b[5] = 0xff; b[6] = 0xff; b[7] = 0xff;
    REFUSED(parse_bytes(b, 10), "header length 18446744073709551615 exceeds the 100 MB limit", NULL, NULL);
    memset(b, 0, 8);
    b[0] = 3;
    REFUSED(parse_bytes(b, 10), "header length 3 does not fit the file of 10 bytes", NULL, NULL);
    memset(b, 0, 8);
    REFUSED(parse_bytes(b, 8), "does not start with '{'", NULL, NULL);
}

/* rnnc_st_read_f32 refuses NaN and Inf (after conversion), naming the tensor and the element. */
static void test_nonfinite_values(void) {
    unsigned char data[80 + 8 + 4 + 4 + 8] = {0};
    float f[20];
    for (int i = 0; i < 20; i++) f[i] = (float)i;
    f[12] = NAN;
    memcpy(data, f, 80);
    double big = 1e300;
    memcpy(data + 80, &big, 8);
    data[88 + 2] = 0x00; data[88 + 3] = 0x7c; /* F16 [0, +inf] */
    data[92 + 0] = 0x80; data[92 + 1] = 0xff; /* BF16 [-inf, 0] */
    double ok[1] = {-2.5};
    memcpy(data + 96, ok, 8);
    const char *json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[20],\"data_offsets\":[0,80]},"
                       "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[80,88]},"
                       "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[88,92]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[92,96]},"
                       "\"fine\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[96,104]}}";
    size_t len;
    unsigned char *file = make_file(json, 0, 0, data, sizeof data, &len);
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_parse(&st, file, len, "bad.safetensors"), RNNC_OK);
    if (!st.buf) return;
    float out[20];
    int64_t n20 = 20, n1 = 1, n2 = 2;
    REFUSED(rnnc_st_read_f32(&st, "x", 1, &n20, out), "tensor 'x' holds a non-finite value (nan) at element 12", NULL, NULL);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "x", 1, &n20, out), RNNC_ERR_NUMERIC);
    REFUSED(rnnc_st_read_f32(&st, "d", 1, &n1, out), "tensor 'd'", "at element 0 that overflows float32", NULL);
    REFUSED(rnnc_st_read_f32(&st, "h", 1, &n2, out), "tensor 'h' holds a non-finite value (inf) at element 1", NULL, NULL);
    REFUSED(rnnc_st_read_f32(&st, "b", 1, &n2, out), "tensor 'b' holds a non-finite value (-inf) at element 0", NULL, NULL);
    CHECK_EQ_LL(rnnc_st_read_f32(&st, "fine", 1, &n1, out), RNNC_OK);
    CHECK(out[0] == -2.5f);
    rnnc_st_free(&st);
}

/* Saving refuses what loading would refuse, so rnnc never writes a file it cannot read. */
static void test_save_refuses(void) {
    char path[] = "/tmp/rnnc_st_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    float w[2] = {1, 2};
    rnnc_st_entry e[2] = {{"w", RNNC_DT_F32, 1, {2}, w}, {"v", RNNC_DT_F32, 1, {2}, w}};
    const char *k[2] = {"a", "a"}, *v[2] = {"1", "2"};
    CHECK_EQ_LL(rnnc_st_save(path, e, 2, k, v, 2), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "metadata key 'a' given twice") != NULL);
    const char *bad[1] = {"\xff"};
    CHECK_EQ_LL(rnnc_st_save(path, e, 2, bad, v, 1), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "UTF-8") != NULL);
    rnnc_st_entry m = {"__metadata__", RNNC_DT_F32, 1, {2}, w};
    CHECK_EQ_LL(rnnc_st_save(path, &m, 1, NULL, NULL, 0), RNNC_ERR_ARG);
    rnnc_st_entry neg = {"w", RNNC_DT_F32, 1, {-2}, w};
    CHECK_EQ_LL(rnnc_st_save(path, &neg, 1, NULL, NULL, 0), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "'w'") != NULL);
    rnnc_st_entry twice[2] = {{"w", RNNC_DT_F32, 1, {2}, w}, {"w", RNNC_DT_F32, 1, {2}, w}};
    CHECK_EQ_LL(rnnc_st_save(path, twice, 2, NULL, NULL, 0), RNNC_ERR_ARG);
    CHECK(access(path, F_OK) != 0); /* nothing written */
    /* zero-size tensors round trip */
    rnnc_st_entry z[3] = {{"a", RNNC_DT_F32, 1, {0}, NULL}, {"b", RNNC_DT_F32, 1, {2}, w}, {"c", RNNC_DT_I64, 2, {0, 5}, NULL}};
    CHECK_EQ_LL(rnnc_st_save(path, z, 3, NULL, NULL, 0), RNNC_OK);
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, path), RNNC_OK);
    if (st.buf) { CHECK_EQ_LL(st.n_tensors, 3); rnnc_st_free(&st); }
    unlink(path);
}

/* 200,000 tensors (alternately empty and one float) parse, in O(n log n): the old pairwise
 * duplicate search took 46 s here. No time is asserted; the report gives the measurement. */
static void test_many_tensors(void) {
    enum { N = 200000 };
    size_t cap = (size_t)N * 80 + 16, h = 0;
    char *json = malloc(cap);
    json[h++] = '{';
    size_t off = 0;
    for (size_t i = 0; i < N; i++) {
        size_t nb = i % 2 ? 4 : 0;
        /* names in an order unlike the offsets', so both sorts do work */
        h += (size_t)snprintf(json + h, cap - h, "%s\"t%zu\":{\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}",
                              i ? "," : "", (i * 7919) % N, nb / 4, off, off + nb);
        off += nb;
    }
    json[h++] = '}';
    json[h] = 0;
    rnnc_safetensors st;
    rnnc_status s = parse_into(&st, json, off);
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (s == RNNC_OK) {
        CHECK_EQ_LL(st.n_tensors, N);
        const rnnc_st_tensor *t = rnnc_st_find(&st, "t7919");
        CHECK(t && t->numel == 1 && t->data == st.buf + 8 + h + 0);
        CHECK(rnnc_st_find(&st, "t199999") && !rnnc_st_find(&st, "t200000"));
        rnnc_st_free(&st);
    }
    /* the same header with one name repeated is refused */
    memcpy(strstr(json, "\"t7919\""), "\"t0\"   ", 7); /* `"t0"   :` is still valid JSON */
    REFUSED(parse_into(&st, json, off), "tensor 't0' appears twice", NULL, NULL);
    free(json);
}

/* The header parser reads JSON strings with every escape (decoded to UTF-8), fields in any order
 * and white space between tokens; it keeps every name, key and value in one block. */
static void test_strings_and_escapes(void) {
    rnnc_safetensors st;
    ACCEPTED(parse_into(&st, "{\"__metadata__\":{\"k\\u00e9y\":\"line\\none\\ttab \\\"q\\\" \\\\ \\/\",\"\":\"\"},"
                             "\"p\\u00e9\\ud83d\\ude00\":{\"data_offsets\":[0,8],\"dtype\":\"F\\u00332\",\"shape\":[2]},"
                             "\"\":{\"shape\":[],\"dtype\":\"U8\",\"data_offsets\":[8,9]}}", 9));
    if (st.buf) {
        CHECK_EQ_LL(st.n_tensors, 2);
        const rnnc_st_tensor *t = rnnc_st_find(&st, "p\xc3\xa9\xf0\x9f\x98\x80");
        CHECK(t && t->dtype == RNNC_DT_F32 && t->ndim == 1 && t->shape[0] == 2 && t->data == st.buf + st.len - 9);
        t = rnnc_st_find(&st, "");
        CHECK(t && t->dtype == RNNC_DT_U8 && t->ndim == 0 && t->numel == 1 && t->nbytes == 1);
        CHECK_STR(rnnc_st_meta(&st, "k\xc3\xa9y"), "line\none\ttab \"q\" \\ /");
        CHECK_STR(rnnc_st_meta(&st, ""), "");
        CHECK(st.strings != NULL);
        for (size_t i = 0; i < st.n_tensors; i++) /* names live in the one block */
            CHECK((uintptr_t)st.tensors[i].name >= (uintptr_t)st.strings &&
                  (uintptr_t)st.tensors[i].name < (uintptr_t)st.strings + st.len);
        rnnc_st_free(&st);
        CHECK(st.strings == NULL && st.tensors == NULL && st.buf == NULL);
    }
    /* "__metadata__" spelled with an escape is still the metadata */
    ACCEPTED(parse_into(&st, "{\"__metadata\\u005f_\":{\"a\":\"b\"}}", 0));
    if (st.buf) { CHECK_EQ_LL(st.n_tensors, 0); CHECK_STR(rnnc_st_meta(&st, "a"), "b"); rnnc_st_free(&st); }
    REFUSED(parse_header("{\"__metadata__\":{},\"__metadata\\u005f_\":{}}", 0), "__metadata__ appears twice", NULL, NULL);
    /* field names with escapes are the same fields */
    ACCEPTED(parse_header("{\"a\":{\"\\u0064type\":\"F32\",\"sh\\u0061pe\":[2],\"data_offsets\":[0,8]}}", 8));
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"\\u0064type\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
            "field 'dtype' appears twice", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F\\u00331\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "unsupported dtype 'F31'", NULL, NULL);
    REFUSED(parse_header("{\"a\\u00e9\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"\\u0061\xc3\xa9\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16),
            "tensor 'a\xc3\xa9' appears twice", NULL, NULL);
    /* escapes that are not JSON, or not a scalar value, are invalid JSON (an escape with bad hex
     * digits once read as U+0000 and cut the name there) */
    REFUSED(parse_header("{" T8("a\\u00zz", 0, 8) "}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{" T8("a\\udc00", 0, 8) "}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{" T8("a\\ud800", 0, 8) "}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{" T8("a\\ud800\\u0041", 0, 8) "}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{" T8("a\\x41", 0, 8) "}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{" T8("a\\u004", 0, 8) "}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\\", 0), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\" {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5.3],\"data_offsets\":[0,8]}}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2] \"data_offsets\":[0,8]}}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[nul],\"data_offsets\":[0,8]}}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[+2],\"data_offsets\":[0,8]}}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8), "not a valid JSON object", NULL, NULL);
    REFUSED(parse_header("{,}", 0), "not a valid JSON object", NULL, NULL);
    /* a plain integer of any length is read whole */
    REFUSED(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[12345678901234567890123456789012345678901234567890"
                         "12345678901234567890],\"data_offsets\":[0,8]}}", 8), "shape entry 0 (1.234567890123457e+69) is 2^53 or more", NULL, NULL);
    REFUSED(parse_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[00000000000000000000000000000000000000000000000000"
                         "0000000000000000002],\"data_offsets\":[0,8]}}", 8), "'00000000000000000000000000000000' at header byte 29",
            "not a plain integer", NULL);
}

/* Nesting: arrays and objects nest at most 1000 deep (counting the header's own object). */
static void test_nesting(void) {
    char *json = malloc(2 * 1000 + 16);
    for (int deep = 998; deep <= 1000; deep++) { /* 999 levels inside the header's object are fine JSON */
        size_t k = 0;
        k += (size_t)sprintf(json, "{\"a\":");
        for (int i = 0; i < deep; i++) json[k++] = '[';
        for (int i = 0; i < deep; i++) json[k++] = ']';
        json[k++] = '}';
        json[k] = 0;
        if (deep < 1000) REFUSED(parse_header(json, 0), "tensor 'a': header entry is not an object", NULL, NULL);
        else REFUSED(parse_header(json, 0), "not a valid JSON object", NULL, NULL);
    }
    free(json);
}

/* When a header has several faults, the one named is the first in the order the reader has always
 * used: invalid UTF-8 anywhere, then a control character or escaped NUL, then invalid JSON, then
 * junk after the object, then the first fault of the content (file order; within an entry the
 * fields' names, then dtype, shape and data_offsets), then repeated names, the tiling, and last a
 * number not spelled as plain digits. */
static void test_fault_ranking(void) {
    const char *bad_dtype = "\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}";
    char json[512];
    snprintf(json, sizeof json, "{%s,\"b\":{}} x", bad_dtype);
    REFUSED(parse_header(json, 8), "junk after", NULL, NULL);
    snprintf(json, sizeof json, "{%s,\"b\":{]}", bad_dtype);
    REFUSED(parse_header(json, 8), "not a valid JSON object", NULL, NULL);
    snprintf(json, sizeof json, "{%s,\"b\":{]}\x01", bad_dtype);
    REFUSED(parse_header(json, 8), "control character 0x01", NULL, NULL);
    snprintf(json, sizeof json, "{%s,\"b\\u0000\":{]}\xff", bad_dtype);
    REFUSED(parse_header(json, 8), "not valid UTF-8", NULL, NULL);
    snprintf(json, sizeof json, "{%s,\"b\\u0000\":{]}", bad_dtype);
    REFUSED(parse_header(json, 8), "escaped NUL", NULL, NULL);
    snprintf(json, sizeof json, "{%s,\"b\":{}}", bad_dtype);
    REFUSED(parse_header(json, 8), "unsupported dtype 'Q7'", NULL, NULL);
    /* within an entry: names of fields first, then dtype, shape, offsets, whatever their order */
    REFUSED(parse_header("{\"a\":{\"shape\":[-2],\"data_offsets\":[8,0],\"dtype\":\"Q7\"}}", 8), "unsupported dtype 'Q7'", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"data_offsets\":[8,0],\"shape\":[-2],\"dtype\":\"F32\"}}", 8), "shape entry 0 (-2) is negative", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"shape\":[-2],\"dtype\":\"Q7\",\"size\":1,\"data_offsets\":[0,8]}}", 8), "unknown field 'size'", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"shape\":[-2],\"dtype\":\"Q7\"}}", 8), "missing field 'data_offsets'", NULL, NULL);
    /* the content in file order: the first entry's fault */
    REFUSED(parse_header("{" T8("b", 8, 16) ",\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]},"
                         "\"c\":{\"dtype\":\"X\",\"shape\":[2],\"data_offsets\":[16,24]}}", 24), "tensor 'a'", "8 data bytes for 3 elements", NULL);
    REFUSED(parse_header("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\"a\":[]}", 0), "__metadata__ key 'k' appears twice", NULL, NULL);
    REFUSED(parse_header("{\"a\":[],\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "tensor 'a'", "not an object", NULL);
    /* a spelling fault comes after repeated names and the tiling */
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}," T8("a", 8, 16) "}", 16),
            "tensor 'a' appears twice", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}," T8("b", 12, 20) "}", 20), "(gap)", NULL, NULL);
    REFUSED(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}," T8("b", 8, 16) "}", 16),
            "'2e0' at header byte 29 is not a plain integer", NULL, NULL);
}

/* A struct filled by hand (no string block) still has its strings freed one by one. */
static void test_free_hand_made(void) {
    rnnc_safetensors st;
    memset(&st, 0, sizeof st);
    st.tensors = calloc(1, sizeof *st.tensors);
    st.tensors[0].name = strdup("w");
    st.n_tensors = 1;
    st.meta_keys = malloc(sizeof *st.meta_keys);
    st.meta_values = malloc(sizeof *st.meta_values);
    st.meta_keys[0] = strdup("k");
    st.meta_values[0] = strdup("v");
    st.n_meta = 1;
    CHECK(rnnc_st_find(&st, "w") == &st.tensors[0]);
    CHECK_STR(rnnc_st_meta(&st, "k"), "v");
    rnnc_st_free(&st); /* the sanitizer build reports a leak or a bad free here */
    CHECK(st.tensors == NULL && st.n_tensors == 0);
}

static void test_truncated_golden(void) {
    unsigned char *buf;
    size_t len;
    CHECK_EQ_LL(rnnc_read_file(test_path("golden/safetensors/sample.safetensors"), &buf, &len), RNNC_OK);
    int failures = 0;
    for (size_t cut = 0; cut < len; cut += 7) /* every truncation is an error, never a crash */
        failures += parse_bytes(buf, cut) != RNNC_ERR_FORMAT;
    CHECK_EQ_LL(failures, 0);
    free(buf);
}

int main(void) {
    RUN(test_golden_from_pytorch);
    RUN(test_roundtrip);
    RUN(test_malformed);
    RUN(test_truncated_golden);
    RUN(test_tiling);
    RUN(test_header_text);
    RUN(test_repeated_and_unknown_keys);
    RUN(test_numbers);
    RUN(test_header_length);
    RUN(test_nonfinite_values);
    RUN(test_save_refuses);
    RUN(test_many_tensors);
    RUN(test_strings_and_escapes);
    RUN(test_nesting);
    RUN(test_fault_ranking);
    RUN(test_free_hand_made);
    return test_report();
}
