/* Embedding similarity: known neighbours on hand-made matrices, zero vectors, analogies, errors,
 * and the Embedding Projector export (round trip, one label per line, escaping). */
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/similar.h"
#include "test.h"

/* Row 0 points along x; 5 is 0 scaled (cosine 1), 1 is close, 2 and 6 are orthogonal (a tie),
 * 3 is zero, 4 is opposite. */
static const float E1[7 * 3] = {
    1, 0, 0,
    0.9f, 0.1f, 0,
    0, 1, 0,
    0, 0, 0,
    -1, 0, 0,
    2, 0, 0,
    0, 0, 1,
};

static void test_known_neighbours(void) {
    rnnc_neighbor nb[10];
    size_t n = 99;
    CHECK(rnnc_similar_row(E1, 7, 3, 0, 10, nb, &n) == RNNC_OK);
    CHECK_EQ_LL(n, 5); /* every row but the query and the zero row */
    const uint32_t want[5] = {5, 1, 2, 6, 4};
    for (size_t i = 0; i < 5 && i < n; i++) CHECK_EQ_LL(nb[i].id, want[i]);
    CHECK_NEAR(nb[0].sim, 1.0, 0, 1e-6);
    CHECK_NEAR(nb[1].sim, 0.9 / sqrt(0.82), 1e-6, 0);
    CHECK_NEAR(nb[2].sim, 0.0, 0, 1e-7);
    CHECK_NEAR(nb[4].sim, -1.0, 0, 1e-6);
    /* k smaller than the candidates keeps the best k */
    CHECK(rnnc_similar_row(E1, 7, 3, 0, 2, nb, &n) == RNNC_OK);
    CHECK_EQ_LL(n, 2);
    CHECK_EQ_LL(nb[0].id, 5);
    CHECK_EQ_LL(nb[1].id, 1);
    /* a free vector with exclusions */
    const float q[3] = {0, 0.5f, 0.5f};
    const uint32_t ex[1] = {2};
    CHECK(rnnc_similar_vec(E1, 7, 3, q, ex, 1, 0, 1, nb, &n) == RNNC_OK);
    CHECK_EQ_LL(n, 1);
    CHECK_EQ_LL(nb[0].id, 6);
    CHECK_NEAR(nb[0].sim, sqrt(0.5), 1e-6, 0);
    CHECK_NEAR(rnnc_cosine(E1 + 3, E1 + 9, 3), 0.0, 0, 0); /* zero vector: 0 by definition */
    CHECK_NEAR(rnnc_cosine(E1, E1 + 15, 3), 1.0, 1e-6, 0);
}

/* A brute-force check against the definition on a random matrix. */
static void test_matches_brute_force(void) {
    enum { V = 200, D = 16, K = 12 };
    static float E[V * D];
    rnnc_rng r;
    rnnc_rng_seed(&r, 11);
    for (size_t i = 0; i < V * D; i++) E[i] = rnnc_rng_normal(&r);
    int bad = 0;
    for (uint32_t qid = 0; qid < V; qid += 17) {
        rnnc_neighbor nb[K];
        size_t n;
        CHECK(rnnc_similar_row(E, V, D, qid, K, nb, &n) == RNNC_OK);
        CHECK_EQ_LL(n, K);
        /* sorted, and nothing outside the list beats the last one */
        for (size_t i = 1; i < n; i++) bad += nb[i].sim > nb[i - 1].sim;
        for (uint32_t j = 0; j < V; j++) {
            if (j == qid) continue;
            int in = 0;
            for (size_t i = 0; i < n; i++) in |= nb[i].id == j;
            float c = rnnc_cosine(E + (size_t)qid * D, E + (size_t)j * D, D);
            if (!in && c > nb[n - 1].sim + 1e-6f) bad++;
            if (in) for (size_t i = 0; i < n; i++) if (nb[i].id == j && fabsf(nb[i].sim - c) > 1e-6f) bad++;
        }
    }
    CHECK_EQ_LL(bad, 0);
}

static void test_analogy(void) {
    /* 0 man, 1 woman, 2 king, 3 queen, 4 a distractor */
    const float E[5 * 3] = {1, 0, 0,  0, 1, 0,  0.6f, 0, 0.8f,  0, 0.6f, 0.8f,  0.7f, 0.7f, 0};
    rnnc_neighbor nb[5];
    size_t n;
    CHECK(rnnc_similar_analogy(E, 5, 3, 0, 2, 1, 5, nb, &n) == RNNC_OK); /* man:king :: woman:? */
    CHECK_EQ_LL(n, 2); /* man, king and woman are excluded */
    CHECK_EQ_LL(nb[0].id, 3);
    CHECK_NEAR(nb[0].sim, 1.24 / sqrt(1.8), 1e-5, 0);
    CHECK_EQ_LL(nb[1].id, 4);
    /* the general form: one positive term is the plain query; a sign other than +-1 is refused */
    const uint32_t one[1] = {2};
    const int plus[1] = {1}, bad_sign[1] = {2};
    rnnc_neighbor nb2[5];
    size_t n2;
    CHECK(rnnc_similar_terms(E, 5, 3, one, plus, 1, 0, 5, nb, &n) == RNNC_OK);
    CHECK(rnnc_similar_row(E, 5, 3, 2, 5, nb2, &n2) == RNNC_OK);
    CHECK_EQ_LL(n, n2);
    for (size_t i = 0; i < n && i < n2; i++) { CHECK_EQ_LL(nb[i].id, nb2[i].id); CHECK_NEAR(nb[i].sim, nb2[i].sim, 1e-6, 0); }
    CHECK(rnnc_similar_terms(E, 5, 3, one, bad_sign, 1, 0, 5, nb, &n) == RNNC_ERR_ARG);
    CHECK(rnnc_similar_terms(E, 5, 3, one, plus, 0, 0, 5, nb, &n) == RNNC_ERR_ARG);
    /* ids below first_id are never answers: man:king :: woman:? without ids 0..3 leaves 4 */
    CHECK(rnnc_similar_analogy(E, 5, 3, 0, 2, 1, 5, nb, &n) == RNNC_OK);
    const uint32_t terms[3] = {2, 0, 1};
    const int sg[3] = {1, -1, 1};
    CHECK(rnnc_similar_terms(E, 5, 3, terms, sg, 3, 4, 5, nb2, &n2) == RNNC_OK);
    CHECK_EQ_LL(n2, 1);
    CHECK_EQ_LL(nb2[0].id, 4);
    CHECK_NEAR(nb2[0].sim, nb[1].sim, 1e-6, 0);
}

static void test_bad_input(void) {
    rnnc_neighbor nb[4];
    size_t n = 7;
    CHECK(rnnc_similar_row(E1, 7, 3, 3, 4, nb, &n) == RNNC_ERR_ARG); /* zero query row */
    CHECK(strstr(rnnc_last_error(), "token 3") != NULL);
    CHECK_EQ_LL(n, 0);
    CHECK(rnnc_similar_row(E1, 7, 3, 7, 4, nb, &n) == RNNC_ERR_RANGE);
    CHECK(rnnc_similar_row(E1, 7, 3, 0, 0, nb, &n) == RNNC_ERR_ARG);
    const float zero[3] = {0, 0, 0};
    CHECK(rnnc_similar_vec(E1, 7, 3, zero, NULL, 0, 0, 4, nb, &n) == RNNC_ERR_ARG);
    CHECK(rnnc_similar_analogy(E1, 7, 3, 0, 3, 1, 4, nb, &n) == RNNC_ERR_ARG);
    float En[2 * 2] = {1, 0, NAN, 1};
    CHECK(rnnc_similar_row(En, 2, 2, 0, 1, nb, &n) == RNNC_ERR_NUMERIC);
    CHECK(strstr(rnnc_last_error(), "row 1") != NULL);
}

static void test_escape(void) {
    char out[64];
    CHECK_EQ_LL(rnnc_projector_escape("a\tb\nc\\d\re", 9, out, sizeof out), 13);
    CHECK_STR(out, "a\\tb\\nc\\\\d\\re");
    CHECK_EQ_LL(rnnc_projector_escape("", 0, out, sizeof out), 8);
    CHECK_STR(out, "\\(empty)");
    CHECK_EQ_LL(rnnc_projector_escape("\x01 \xff\xe2\x82\xac\x7f", 7, out, sizeof out), 16);
    CHECK_STR(out, "\\x01 \\xFF\xe2\x82\xac\\x7F"); /* the euro sign is valid UTF-8 and stays */
    CHECK_EQ_LL(rnnc_projector_escape("ab\0c", 4, out, sizeof out), 7);
    CHECK_STR(out, "ab\\x00c");
    /* truncation reports the full length, like snprintf */
    CHECK_EQ_LL(rnnc_projector_escape("\t\t\t", 3, out, 4), 6);
    CHECK_STR(out, "\\t\\");
    size_t n;
    CHECK(rnnc_projector_unescape("a\\qb", out, &n) == RNNC_ERR_FORMAT);
    CHECK(rnnc_projector_unescape("a\\x4", out, &n) == RNNC_ERR_FORMAT);
    CHECK(rnnc_projector_unescape("trailing\\", out, &n) == RNNC_ERR_FORMAT);
}

static char *slurp(const char *path, size_t *len) {
    unsigned char *d;
    if (rnnc_read_file(path, &d, len)) return NULL;
    return (char *)d;
}

static void test_export_round_trip(void) {
    enum { V = 6, D = 5 };
    float E[V * D];
    rnnc_rng r;
    rnnc_rng_seed(&r, 3);
    for (int i = 0; i < V * D; i++) E[i] = rnnc_rng_normal(&r) * 1e3f;
    E[7] = 1e-30f; E[8] = -0.0f; E[9] = 3.4e38f;
    const char *labels[V] = {"the", " tab\there", "line\nbreak", "", "back\\slash", "nul\0byte"};
    const size_t lens[V] = {3, 9, 10, 0, 10, 8};
    char dir[] = "/tmp/rnnc_test_projXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[64];
    snprintf(sub, sizeof sub, "%s/proj", dir); /* created by the export */
    CHECK(rnnc_projector_export(sub, E, V, D, labels, lens) == RNNC_OK);

    char path[128];
    size_t len;
    snprintf(path, sizeof path, "%s/vectors.tsv", sub);
    char *vec = slurp(path, &len);
    CHECK(vec != NULL);
    if (vec) {
        int rows = 0, bad = 0;
        char *line = vec, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            char *p = line;
            for (int j = 0; j < D; j++) {
                char *end;
                float x = strtof(p, &end);
                if (end == p || x != E[rows * D + j] || signbit(x) != signbit(E[rows * D + j])) bad++;
                if (*end != (j + 1 < D ? '\t' : 0)) bad++;
                p = end + 1;
            }
            rows++;
            line = nl + 1;
        }
        CHECK_EQ_LL(rows, V);
        CHECK_EQ_LL(bad, 0);
        CHECK(*line == 0); /* ends with a newline */
        free(vec);
    }
    snprintf(path, sizeof path, "%s/metadata.tsv", sub);
    char *meta = slurp(path, &len);
    CHECK(meta != NULL);
    if (meta) {
        int rows = 0, bad = 0;
        char *line = meta, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            if (strchr(line, '\t')) bad++; /* one column, no raw tabs */
            char back[64];
            size_t n;
            if (rows < V && (rnnc_projector_unescape(line, back, &n) || n != lens[rows] || memcmp(back, labels[rows], n))) bad++;
            rows++;
            line = nl + 1;
        }
        CHECK_EQ_LL(rows, V); /* no header line */
        CHECK_EQ_LL(bad, 0);
        CHECK(strncmp(meta, "the", 4) == 0); /* first line is the first token, not a header */
        free(meta);
    }
    /* non-finite values are refused and leave no file behind */
    E[0] = NAN;
    snprintf(path, sizeof path, "%s/bad", dir);
    CHECK(rnnc_projector_export(path, E, V, D, labels, lens) == RNNC_ERR_NUMERIC);
    char vpath[160];
    snprintf(vpath, sizeof vpath, "%s/vectors.tsv", path);
    CHECK(access(vpath, F_OK) != 0);
    /* a directory that cannot be created */
    CHECK(rnnc_projector_export("/proc/no/such/dir", E, V, D, labels, lens) == RNNC_ERR_IO);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    RUN(test_known_neighbours);
    RUN(test_matches_brute_force);
    RUN(test_analogy);
    RUN(test_bad_input);
    RUN(test_escape);
    RUN(test_export_round_trip);
    return test_report();
}
