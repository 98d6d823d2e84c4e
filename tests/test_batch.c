/* Stream batching (windows, tail dropping, too-small data) and the id files: text, and .npy
 * against fixtures NumPy wrote (tools/make_npy_ids.py) and every header NumPy would not write. */
#include <unistd.h>

#include "rnnc/batch.h"
#include "rnnc/rnnc.h"
#include "test.h"

static void test_windows(void) {
    int32_t ids[23];
    for (int i = 0; i < 23; i++) ids[i] = i;
    rnnc_stream s;
    /* B=2: n = 11 per stream (id 22 dropped); T=3: windows k with 3k+3 < 11 -> k = 0,1,2. */
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 23, 2, 3), RNNC_OK);
    CHECK_EQ_LL(s.n, 11);
    CHECK_EQ_LL(s.windows, 3);
    int x[6], y[6];
    rnnc_stream_window(&s, 0, x, y);
    CHECK(x[0] == 0 && x[2] == 2 && y[0] == 1 && y[2] == 3);
    CHECK(x[3] == 11 && x[5] == 13 && y[3] == 12 && y[5] == 14);
    rnnc_stream_window(&s, 2, x, y);
    CHECK(x[0] == 6 && y[2] == 9 && x[3] == 17 && y[5] == 20);
    /* Exactly T+1 ids per stream: one window. */
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 8, 2, 3), RNNC_OK);
    CHECK_EQ_LL(s.windows, 1);
    /* Every target of every window is the next id of its stream (a property over sizes). */
    for (int B = 1; B <= 4; B++)
        for (int T = 1; T <= 5; T++) {
            if (rnnc_stream_init(&s, ids, 23, B, T)) continue;
            for (size_t k = 0; k < s.windows; k++) {
                int xx[32], yy[32];
                rnnc_stream_window(&s, k, xx, yy);
                for (int i = 0; i < B * T; i++) CHECK(yy[i] == xx[i] + 1 && xx[i] / (int)s.n == i / T);
            }
            CHECK((s.windows + 1) * (size_t)T >= s.n); /* no further window fits */
        }
}

static void test_too_small(void) {
    int32_t ids[10] = {0};
    rnnc_stream s;
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 10, 4, 2), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "batch 4 x seq 2 needs at least 12 ids") != NULL);
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 10, 0, 2), RNNC_ERR_ARG);
}

static const char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "test_batch_%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_read_text(void) {
    int32_t *ids;
    size_t n;
    const char *p = write_tmp(" 3 14\n15\t9  2 6\n\n");
    CHECK_EQ_LL(rnnc_ids_read_text(p, &ids, &n), RNNC_OK);
    CHECK_EQ_LL(n, 6);
    CHECK(ids[0] == 3 && ids[1] == 14 && ids[5] == 6);
    CHECK_EQ_LL(rnnc_ids_check_vocab(ids, n, 15, p), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "id 15 at position 2 is outside the vocabulary of 15") != NULL);
    CHECK_EQ_LL(rnnc_ids_check_vocab(ids, n, 16, p), RNNC_OK);
    free(ids);
    /* refused text: what the error must say (NULL: only that it is refused) */
    static const struct { const char *text, *msg; } bad[] = {
        {"1 2 x3 4", "token 2 ('x3')"},
        {"1 -2", NULL},
        {"99999999999", "2^31"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        p = write_tmp(bad[k].text);
        rnnc_status s = rnnc_ids_read_text(p, &ids, &n);
        CHECK_MSG(s == RNNC_ERR_FORMAT, "bad text row %zu ('%s'): status %d, want %d", k, bad[k].text, (int)s,
                  (int)RNNC_ERR_FORMAT);
        if (!s) free(ids);
        if (bad[k].msg)
            CHECK_MSG(strstr(rnnc_last_error(), bad[k].msg) != NULL, "bad text row %zu ('%s'): '%s' lacks '%s'", k,
                      bad[k].text, rnnc_last_error(), bad[k].msg);
    }
    unlink(p);
    CHECK_EQ_LL(rnnc_ids_read_text("/nonexistent/ids.txt", &ids, &n), RNNC_ERR_IO);
}

/* Reads a whole file (fixtures). */
static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *d = NULL;
    CHECK_EQ_LL(rnnc_read_file(path, &d, n), RNNC_OK);
    return d;
}

/* The .npy files NumPy wrote read as their text twins; both dtypes; no ids; 5000 ids. */
static void test_read_npy_numpy(void) {
    int32_t *want, *got;
    size_t nw, ng;
    CHECK_EQ_LL(rnnc_ids_read(RNNC_TEST_DIR "/golden/lm/cli_ids.txt", &want, &nw), RNNC_OK);
    const char *files[] = {RNNC_TEST_DIR "/golden/ids/cli_ids_u4.npy", RNNC_TEST_DIR "/golden/ids/cli_ids_i4.npy"};
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_LL(rnnc_ids_read(files[k], &got, &ng), RNNC_OK);
        CHECK_EQ_LL(ng, nw);
        CHECK(ng == nw && memcmp(got, want, nw * sizeof *got) == 0);
        free(got);
        /* the old name reads them too (rnnc train --ids, rnnc eval --ids) */
        CHECK_EQ_LL(rnnc_ids_read_text(files[k], &got, &ng), RNNC_OK);
        CHECK(ng == nw && memcmp(got, want, nw * sizeof *got) == 0);
        free(got);
    }
    free(want);
    CHECK_EQ_LL(rnnc_ids_read(RNNC_TEST_DIR "/golden/ids/empty_u4.npy", &got, &ng), RNNC_OK);
    CHECK_EQ_LL(ng, 0);
    free(got);
    CHECK_EQ_LL(rnnc_ids_read(RNNC_TEST_DIR "/golden/ids/big_u4.npy", &got, &ng), RNNC_OK);
    CHECK_EQ_LL(ng, 5000);
    long long sum = 0;
    int perm = 1;
    unsigned char *seen = calloc(5000, 1);
    for (size_t i = 0; i < ng; i++) {
        sum += got[i];
        if (got[i] < 0 || got[i] >= 5000 || seen[got[i]]++) perm = 0;
    }
    CHECK(perm && sum == 4999LL * 5000 / 2);
    free(seen);
    free(got);
}

/* rnnc's own header is the one NumPy writes (byte for byte, for this count), and reads back. */
static void test_npy_header(void) {
    size_t n;
    unsigned char *np = slurp(RNNC_TEST_DIR "/golden/ids/cli_ids_u4.npy", &n);
    unsigned char h[RNNC_NPY_HEADER_MAX];
    size_t hl = rnnc_ids_npy_header(203, h);
    CHECK_EQ_LL(hl, 128);
    CHECK(np && n == hl + 203 * 4 && memcmp(np, h, hl) == 0);
    free(np);
    uint64_t counts[] = {0, 1, 99999999999ULL, UINT64_MAX};
    for (int k = 0; k < 4; k++) {
        hl = rnnc_ids_npy_header(counts[k], h);
        CHECK(hl % 64 == 0 && hl <= RNNC_NPY_HEADER_MAX && h[hl - 1] == '\n');
    }
    /* 3 ids through the writer's header and back */
    hl = rnnc_ids_npy_header(3, h);
    unsigned char buf[RNNC_NPY_HEADER_MAX + 12];
    memcpy(buf, h, hl);
    const unsigned char le[12] = {7, 0, 0, 0, 0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F};
    memcpy(buf + hl, le, 12);
    int32_t *ids;
    CHECK_EQ_LL(rnnc_ids_parse(buf, hl + 12, "x.npy", &ids, &n), RNNC_OK);
    CHECK(n == 3 && ids[0] == 7 && ids[1] == 256 && ids[2] == INT32_MAX);
    free(ids);
}

/* A header from its dict text (format 1.0, padded as NumPy pads) and `n` ids of value `v`. */
static unsigned char *npy_of(const char *dict, size_t n_ids, uint32_t v, size_t *len) {
    size_t dl = strlen(dict), total = (10 + dl + 1 + 63) / 64 * 64, hl = total - 10;
    unsigned char *b = calloc(1, total + 4 * n_ids + 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)hl;
    b[9] = (unsigned char)(hl >> 8);
    memcpy(b + 10, dict, dl);
    memset(b + 10 + dl, ' ', hl - dl - 1);
    b[total - 1] = '\n';
    for (size_t i = 0; i < n_ids; i++) memcpy(b + total + 4 * i, &v, 4);
    *len = total + 4 * n_ids;
    return b;
}

/* A header dict with n_ids ids of value v, the status rnnc_ids_parse must give, and what its
 * error must say (NULL: anything). */
typedef struct {
    const char *dict;
    size_t n_ids;
    uint32_t v;
    rnnc_status want;
    const char *msg;
} npy_case;

static const npy_case npy_cases[] = {
    /* accepted: key order, spacing, no trailing comma, fortran_order True (one dimension) */
    {"{'shape': (2,), 'fortran_order': False, 'descr': '<u4'}", 2, 5, RNNC_OK, NULL},
    {"{ 'descr' : \"<i4\" , 'fortran_order': True, 'shape': ( 2 , ) , }", 2, 5, RNNC_OK, NULL},
    /* dtypes */
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 2, 5, RNNC_ERR_FORMAT, "'<u4' or '<i4'"},
    {"{'descr': '>u4', 'fortran_order': False, 'shape': (2,), }", 2, 5, RNNC_ERR_FORMAT, "'<u4' or '<i4'"},
    {"{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", 2, 5, RNNC_ERR_FORMAT, "'<u4' or '<i4'"},
    /* shapes */
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (1, 2), }", 2, 5, RNNC_ERR_FORMAT, "one dimension"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (), }", 0, 5, RNNC_ERR_FORMAT, "one dimension"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': 2, }", 2, 5, RNNC_ERR_FORMAT, "tuple"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (-2,), }", 2, 5, RNNC_ERR_FORMAT, "one dimension"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 2, 5, RNNC_ERR_FORMAT, NULL},
    /* the count against the data */
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }", 2, 5, RNNC_ERR_FORMAT, "says 3 ids"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", 2, 5, RNNC_ERR_FORMAT, "says 1 ids"},
    /* keys */
    {"{'descr': '<u4', 'fortran_order': False}", 0, 5, RNNC_ERR_FORMAT, "lacks 'shape'"},
    {"{'descr': '<u4', 'descr': '<u4', 'fortran_order': False, 'shape': (2,)}", 2, 5, RNNC_ERR_FORMAT, "repeated key"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 2, 5, RNNC_ERR_FORMAT, "key 'x'"},
    {"{'descr': '<u4', 'fortran_order': 0, 'shape': (2,)}", 2, 5, RNNC_ERR_FORMAT, "True or False"},
    {"['descr']", 0, 5, RNNC_ERR_FORMAT, "not a dict"},
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (2,)} x", 2, 5, RNNC_ERR_FORMAT, "after the dict"},
    /* values: 2^31 and up as u4, negative as i4 */
    {"{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", 2, 0x80000000u, RNNC_ERR_FORMAT,
     "id 2147483648 at position 0 is not below 2^31"},
    {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 2, 0xFFFFFFFFu, RNNC_ERR_FORMAT,
     "id -1 at position 0 is negative"},
};

/* Row k of npy_cases: the status, the message, and an error that starts with the file's name. */
static void expect_npy(size_t k) {
    const npy_case *c = &npy_cases[k];
    size_t len, n;
    unsigned char *b = npy_of(c->dict, c->n_ids, c->v, &len);
    int32_t *ids = NULL;
    rnnc_status s = rnnc_ids_parse(b, len, "t.npy", &ids, &n);
    CHECK_MSG(s == c->want, "npy row %zu %s: status %d, want %d (%s)", k, c->dict, (int)s, (int)c->want, rnnc_last_error());
    if (s && c->msg)
        CHECK_MSG(strstr(rnnc_last_error(), c->msg) != NULL, "npy row %zu %s: '%s' lacks '%s'", k, c->dict, rnnc_last_error(),
                  c->msg);
    if (s) CHECK_MSG(strncmp(rnnc_last_error(), "t.npy: ", 7) == 0, "npy row %zu %s: '%s'", k, c->dict, rnnc_last_error());
    if (!s) free(ids);
    free(b);
}

static void test_npy_refused(void) {
    for (size_t k = 0; k < sizeof npy_cases / sizeof npy_cases[0]; k++) expect_npy(k);
    /* the frame: version, header length past the end, no newline, truncated */
    size_t len, n;
    unsigned char *b = npy_of("{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", 2, 5, &len);
    int32_t *ids;
    b[6] = 3;
    CHECK_EQ_LL(rnnc_ids_parse(b, len, "t.npy", &ids, &n), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "version 3.0") != NULL);
    b[6] = 1;
    b[9] = 0x40; /* header length 16 K */
    CHECK_EQ_LL(rnnc_ids_parse(b, len, "t.npy", &ids, &n), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "past the end") != NULL);
    b[9] = 0;
    b[8 + 2 + b[8] - 1] = ' ';
    CHECK_EQ_LL(rnnc_ids_parse(b, len, "t.npy", &ids, &n), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "newline") != NULL);
    for (size_t cut = 0; cut < len; cut++) { /* every truncation of a valid file */
        b[8 + 2 + b[8] - 1] = '\n';
        rnnc_status s = rnnc_ids_parse(b, cut, "t.npy", &ids, &n);
        if (cut < 6) { CHECK(s == RNNC_ERR_FORMAT || s == RNNC_OK); if (!s) free(ids); } /* then text: not all digits */
        else CHECK_EQ_LL(s, RNNC_ERR_FORMAT);
    }
    free(b);
}

int main(void) {
    RUN(test_windows);
    RUN(test_too_small);
    RUN(test_read_text);
    RUN(test_read_npy_numpy);
    RUN(test_npy_header);
    RUN(test_npy_refused);
    return test_report();
}
