/* safetensors: a file written by PyTorch (tools/make_golden_safetensors.py) loads with every
 * dtype converted; save/load round trip; every malformation gives an error naming the problem. */
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
    return test_report();
}
