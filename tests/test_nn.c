/* Embedding, linear head and softmax cross-entropy: finite-difference gradient checks of the
 * composite loss(linear(embedding(ids))), known values, ignore_index and bad ids. */
#include "rnnc/nn.h"
#include "rnnc/rng.h"
#include "rnnc/rnnc.h"
#include "test.h"

#include <omp.h>
#include <stdint.h>

#include "core/bigmem.h"
#include "core/cpu.h"
#include "nn/gemm.h"
#include "nn/pgemm.h"

enum { V = 7, E = 5, O = 6, N = 9 };

/* loss = xent(linear(embedding(ids))) in double-checkable float. */
static double composite(const float *emb, const float *W, const float *b, const int *ids, const int *tg) {
    float x[N * E], logits[N * O];
    double loss;
    rnnc_embedding_forward(x, ids, emb, N, V, E);
    rnnc_linear_forward(logits, x, W, b, N, E, O);
    rnnc_xent_forward_backward(logits, tg, N, O, RNNC_IGNORE_INDEX, 1.0f, NULL, &loss, NULL);
    return loss;
}

static void test_finite_difference(void) {
    rnnc_rng r;
    rnnc_rng_seed(&r, 3);
    float emb[V * E], W[O * E], b[O];
    for (int i = 0; i < V * E; i++) emb[i] = rnnc_rng_normal(&r);
    for (int i = 0; i < O * E; i++) W[i] = rnnc_rng_normal(&r) * 0.5f;
    for (int i = 0; i < O; i++) b[i] = rnnc_rng_normal(&r) * 0.1f;
    int ids[N] = {0, 3, 3, 6, 1, 2, 3, 5, 0};                   /* repeated ids: scatter must add */
    int tg[N] = {1, 0, RNNC_IGNORE_INDEX, 5, 4, 4, 2, RNNC_IGNORE_INDEX, 3};
    /* Analytic gradients. */
    float x[N * E], logits[N * O], dx[N * E];
    float demb[V * E] = {0}, dW[O * E] = {0}, db[O] = {0};
    double loss;
    long cnt;
    CHECK_EQ_LL(rnnc_embedding_forward(x, ids, emb, N, V, E), RNNC_OK);
    rnnc_linear_forward(logits, x, W, b, N, E, O);
    CHECK_EQ_LL(rnnc_xent_forward_backward(logits, tg, N, O, RNNC_IGNORE_INDEX, 1.0f, logits, &loss, &cnt), RNNC_OK);
    CHECK_EQ_LL(cnt, 7);
    rnnc_linear_backward(dx, dW, db, logits, x, W, N, E, O);
    rnnc_embedding_backward(demb, dx, ids, N, E);
    /* Central differences in float with a step large enough to beat rounding. */
    const float h = 1e-2f;
    struct { float *p, *g; int n; const char *name; } sets[] = {{emb, demb, V * E, "emb"}, {W, dW, O * E, "W"}, {b, db, O, "b"}};
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < sets[s].n; i++) {
            float keep = sets[s].p[i];
            sets[s].p[i] = keep + h;
            double lp = composite(emb, W, b, ids, tg);
            sets[s].p[i] = keep - h;
            double lm = composite(emb, W, b, ids, tg);
            sets[s].p[i] = keep;
            double fd = (lp - lm) / (2 * h);
            CHECK_MSG(fabs(fd - sets[s].g[i]) <= 2e-3 + 2e-2 * fabs(fd), "%s[%d]: fd %g vs analytic %g", sets[s].name, i,
                      fd, (double)sets[s].g[i]);
        }
    }
    /* Embedding rows never looked up (4) get no gradient. */
    for (int e = 0; e < E; e++) CHECK(demb[4 * E + e] == 0.0f);
}

static void test_xent_values(void) {
    /* Uniform logits: loss = log V, gradient (1/V - onehot)/N. */
    float l[2 * 4] = {3, 3, 3, 3, -1, -1, -1, -1}, d[8];
    int tg[2] = {2, 0};
    double loss;
    CHECK_EQ_LL(rnnc_xent_forward_backward(l, tg, 2, 4, RNNC_IGNORE_INDEX, 1.0f, d, &loss, NULL), RNNC_OK);
    CHECK_NEAR(loss, log(4.0), 1e-12, 1e-12);
    CHECK_NEAR(d[2], (0.25 - 1) / 2, 1e-6, 1e-7);
    CHECK_NEAR(d[5], 0.25 / 2, 1e-6, 1e-7);
    /* Huge logits stay finite (the max is subtracted). */
    float big[3] = {1e30f, 0.0f, -1e30f};
    int t1 = 1;
    CHECK_EQ_LL(rnnc_xent_forward_backward(big, &t1, 1, 3, RNNC_IGNORE_INDEX, 1.0f, big, &loss, NULL), RNNC_OK);
    CHECK(isfinite(loss) && loss > 1e29);
    CHECK(big[0] == 1.0f && big[1] == -1.0f && big[2] == 0.0f);
    /* A NaN logit anywhere in a counted row makes the loss NaN (training stops on it). */
    float nanl[4] = {0.5f, NAN, -1.0f, 2.0f};
    int t0 = 0;
    CHECK_EQ_LL(rnnc_xent_forward_backward(nanl, &t0, 1, 4, RNNC_IGNORE_INDEX, 1.0f, NULL, &loss, NULL), RNNC_OK);
    CHECK(isnan(loss));
    /* All ignored: loss 0, gradient 0. */
    int ig[2] = {RNNC_IGNORE_INDEX, RNNC_IGNORE_INDEX};
    long cnt = -1;
    float l2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_EQ_LL(rnnc_xent_forward_backward(l2, ig, 2, 4, RNNC_IGNORE_INDEX, 1.0f, l2, &loss, &cnt), RNNC_OK);
    CHECK(loss == 0.0 && cnt == 0);
    for (int i = 0; i < 8; i++) CHECK(l2[i] == 0.0f);
    /* Sum of each row of the gradient is 0. */
    float l3[6] = {0.3f, -2, 1, 5, 0, 0};
    int t3[2] = {0, 1};
    CHECK_EQ_LL(rnnc_xent_forward_backward(l3, t3, 2, 3, RNNC_IGNORE_INDEX, 2.0f, l3, &loss, NULL), RNNC_OK);
    CHECK_NEAR(l3[0] + l3[1] + l3[2], 0, 0, 1e-6);
    CHECK_NEAR(l3[3] + l3[4] + l3[5], 0, 0, 1e-6);
}

static void test_bad_ids(void) {
    float W[V * E] = {0}, out[2 * E], l[2 * V] = {0};
    int ids[2] = {1, V};
    CHECK_EQ_LL(rnnc_embedding_forward(out, ids, W, 2, V, E), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "id 7 at position 1") != NULL);
    int neg[2] = {-3, 0};
    CHECK_EQ_LL(rnnc_embedding_forward(out, neg, W, 2, V, E), RNNC_ERR_RANGE);
    double loss;
    CHECK_EQ_LL(rnnc_xent_forward_backward(l, ids, 2, V, RNNC_IGNORE_INDEX, 1.0f, NULL, &loss, NULL), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "target 7 at position 1") != NULL);
}

static void test_linear_bias_null(void) {
    float x[2 * 3] = {1, 2, 3, 4, 5, 6}, W[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f}, out[4];
    rnnc_linear_forward(out, x, W, NULL, 2, 3, 2);
    CHECK(out[0] == -2.0f && out[1] == 3.0f && out[2] == -2.0f && out[3] == 7.5f);
    float b[2] = {10, 20};
    rnnc_linear_forward(out, x, W, b, 2, 3, 2);
    CHECK(out[0] == 8.0f && out[1] == 23.0f && out[2] == 8.0f && out[3] == 27.5f);
}

/* C += A^T B on both paths (BLAS, and rnnc's own kernel where the build has AVX-512 or AVX2), strided
 * operands, shapes with row and column tails and K over several of the own kernel's 256-row
 * blocks, against a double-precision sum; on the own path the result is bit-identical for 1, 2 and
 * 3 threads. */
static void test_wgrad(void) {
    const int shapes[][3] = {{7, 5, 9}, {64, 16, 600}, {33, 10, 1027}, {96, 128, 300}, {600, 300, 520},
                             {1, 1, 1}, {130, 47, 257}, {1024, 64, 40}, {96, 40, 2100}, {70, 33, 3073},
                             {5, 3, 2050}}; /* the last: slices of 15 floats, the scratch after them realigned */
    const rnnc_wgrad_path paths[] = {RNNC_WGRAD_BLAS, RNNC_WGRAD_OWN};
    const int nth = omp_get_max_threads();
    rnnc_rng r;
    rnnc_rng_seed(&r, 77);
    for (size_t pi = 0; pi < 2; pi++) {
        rnnc_wgrad_set_path(paths[pi]);
        const bool own = rnnc_wgrad_own(); /* no own kernel without AVX-512 or AVX2: BLAS twice */
        for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
            const int M = shapes[k][0], Nn = shapes[k][1], K = shapes[k][2], lda = M + 3, ldb = Nn + 1, ldc = Nn + 2;
            float *A = malloc((size_t)K * lda * sizeof(float)), *B = malloc((size_t)K * ldb * sizeof(float));
            float *C0 = malloc((size_t)M * ldc * sizeof(float)), *C[3];
            for (size_t i = 0; i < (size_t)K * lda; i++) A[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
            for (size_t i = 0; i < (size_t)K * ldb; i++) B[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
            for (size_t i = 0; i < (size_t)M * ldc; i++) C0[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
            for (int t = 0; t < 3; t++) {
                C[t] = malloc((size_t)M * ldc * sizeof(float));
                memcpy(C[t], C0, (size_t)M * ldc * sizeof(float));
                omp_set_num_threads(t + 1);
                rnnc_wgrad(M, Nn, K, A, lda, B, ldb, C[t], ldc);
            }
            omp_set_num_threads(nth);
            for (int t = 0; t < 3; t++) {
                int bad = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < ldc; j++) {
                        double want = C0[(size_t)i * ldc + j];
                        if (j < Nn)
                            for (int q = 0; q < K; q++) want += (double)A[(size_t)q * lda + i] * B[(size_t)q * ldb + j];
                        /* a sum of K products of size <= 1: float error grows like sqrt(K) ulps */
                        bad += !(fabs(C[t][(size_t)i * ldc + j] - want) <= 1e-5 * (1 + sqrt((double)K)));
                    }
                CHECK_MSG(bad == 0, "wgrad (%s) %dx%d over %d rows, %d threads: %d values off",
                          own ? "own" : "BLAS", M, Nn, K, t + 1, bad);
            }
            if (own)
                CHECK_MSG(!memcmp(C[0], C[1], (size_t)M * ldc * sizeof(float)) &&
                              !memcmp(C[0], C[2], (size_t)M * ldc * sizeof(float)),
                          "wgrad %dx%dx%d: the own kernel differs across thread counts", M, Nn, K);
            for (int t = 0; t < 3; t++) free(C[t]);
            free(A); free(B); free(C0);
        }
    }
    rnnc_wgrad_set_path(RNNC_WGRAD_AUTO);
}

/* The packed layout of pgemm.h, element by element, for W plain and transposed (whose AVX-512
 * path moves 16 x 16 blocks through registers, the AVX2 one 8 x 8): K not a multiple of 16, N not
 * a multiple of 32, packing started and stopped at inner panels, strided sources. The places
 * rnnc_pgemm_index gives are one of the two layouts the header describes, for every K alike. */
static void test_pgemm_pack(void) {
    for (int K = 1; K <= 40; K += 13) {
        int rowwise = 0, split = 0;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < 32; j++) {
                const size_t at = rnnc_pgemm_index(K, k, j);
                rowwise += at == (size_t)k * 32 + (size_t)j;
                split += at == (size_t)(j / 16) * (size_t)K * 16 + (size_t)k * 16 + (size_t)(j % 16);
            }
        CHECK_MSG(rowwise == 32 * K || split == 32 * K, "pgemm_index K %d: %d places row-wise, %d split, of %d", K,
                  rowwise, split, 32 * K);
    }
    const int shapes[][3] = {{1, 1, 0}, {16, 32, 0}, {17, 33, 1}, {256, 1024, 0}, {64, 100, 3}, {31, 200, 5}, {1024, 256, 0}, {40, 96, 7}};
    rnnc_rng r;
    rnnc_rng_seed(&r, 5);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
        for (int tr = 0; tr < 2; tr++) {
            const int K = shapes[k][0], Nn = shapes[k][1], ld = (tr ? K : Nn) + shapes[k][2], rows = tr ? Nn : K;
            float *W = malloc((size_t)rows * ld * sizeof(float));
            const size_t size = rnnc_pgemm_size(K, Nn);
            float *P = aligned_alloc(64, (size * sizeof(float) + 63) / 64 * 64);
            for (size_t i = 0; i < (size_t)rows * ld; i++) W[i] = rnnc_rng_uniform(&r);
            for (size_t i = 0; i < size; i++) P[i] = -1.0f;
            const int panels = (Nn + 31) / 32, cut = panels / 2 * 32; /* two calls: [0, cut), [cut, N) */
            rnnc_pgemm_pack(P, W, ld, tr, K, Nn, 0, cut);
            rnnc_pgemm_pack(P, W, ld, tr, K, Nn, cut, Nn);
            int bad = 0;
            for (int p = 0; p < panels; p++)
                for (int q = 0; q < K; q++)
                    for (int j = 0; j < 32; j++) {
                        const int n = p * 32 + j;
                        const float want = n >= Nn ? 0.0f : tr ? W[(size_t)n * ld + q] : W[(size_t)q * ld + n];
                        bad += P[(size_t)p * K * 32 + rnnc_pgemm_index(K, q, j)] != want;
                    }
            CHECK_MSG(bad == 0, "pgemm_pack K %d N %d ld %d trans %d: %d elements wrong", K, Nn, ld, tr, bad);
            free(W); free(P);
        }
}

/* rnnc_pgemm2: K rows of A from one array and K2 from another give the same bits as rnnc_pgemm
 * on the two laid side by side in one array (the GRU backward's r, z blocks from dgx and n block
 * from dgh), written and accumulated, for row counts around the 8-row kernel and column ranges
 * that end inside a panel. */
static void test_pgemm2(void) {
    const int shapes[][4] = {{1, 2, 1, 32}, {8, 64, 32, 96}, {13, 40, 20, 70}, {32, 1024, 512, 512}, {3, 5, 0, 33}};
    rnnc_rng r;
    rnnc_rng_seed(&r, 17);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int M = shapes[k][0], K = shapes[k][1], K2 = shapes[k][2], N = shapes[k][3], KP = K + K2;
        float *W = malloc((size_t)KP * N * sizeof(float)), *A = malloc((size_t)M * KP * sizeof(float));
        float *A1 = malloc((size_t)M * (K + 3) * sizeof(float)), *A2 = malloc((size_t)M * (K2 + 1) * sizeof(float));
        float *C1 = malloc((size_t)M * N * sizeof(float)), *C2 = malloc((size_t)M * N * sizeof(float));
        const size_t size = rnnc_pgemm_size(KP, N);
        float *P = aligned_alloc(64, (size * sizeof(float) + 63) / 64 * 64);
        for (size_t i = 0; i < (size_t)KP * N; i++) W[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
        for (int i = 0; i < M; i++)
            for (int q = 0; q < KP; q++) {
                const float v = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
                A[(size_t)i * KP + q] = v;
                if (q < K) A1[(size_t)i * (K + 3) + q] = v; else A2[(size_t)i * (K2 + 1) + q - K] = v;
            }
        rnnc_pgemm_pack(P, W, N, 0, KP, N, 0, N);
        for (int acc = 0; acc < 2; acc++) {
            const int n0 = N > 32 ? 32 : 0, n1 = N - 1 > n0 ? N - 1 : N; /* a later panel start, a ragged end */
            for (size_t i = 0; i < (size_t)M * N; i++) C1[i] = C2[i] = 0.5f;
            rnnc_pgemm(M, KP, n0, n1, A, KP, P, C1, N, acc);
            rnnc_pgemm2(M, K, A1, K + 3, K2, A2, K2 + 1, n0, n1, P, C2, N, acc);
            CHECK_MSG(memcmp(C1, C2, (size_t)M * N * sizeof(float)) == 0, "pgemm2 M %d K %d+%d N %d acc %d", M, K, K2, N, acc);
        }
        free(W); free(A); free(A1); free(A2); free(C1); free(C2); free(P);
    }
    /* no rows: nothing written, also where one and two rows take their own path */
    float *P0 = aligned_alloc(64, 2 * 64 * sizeof(float)), A0[4] = {1, 2, 3, 4}, C0[2 * 64];
    for (int i = 0; i < 2 * 64; i++) P0[i] = 1.0f;
    for (int acc = 0; acc < 2; acc++) {
        for (int i = 0; i < 2 * 64; i++) C0[i] = 7.0f;
        rnnc_pgemm(0, 2, 0, 64, A0, 2, P0, C0, 64, acc);
        rnnc_pgemm2(0, 1, A0, 2, 1, A0 + 1, 2, 0, 64, P0, C0, 64, acc);
        int changed = 0;
        for (int i = 0; i < 2 * 64; i++) changed += C0[i] != 7.0f;
        CHECK_MSG(changed == 0, "pgemm with no rows wrote %d values (acc %d)", changed, acc);
    }
    free(P0);
}

/* C = A W (or C += A W) on both of its paths (the packed kernel when N or K is at most 128, BLAS
 * otherwise), W plain and transposed, strided operands, M not a multiple of the 64-row blocks,
 * against a double-precision sum; on the packed path the result is bit-identical for 1, 2 and 3
 * threads. */
static void test_gemm_aw(void) {
    /* {256, 200, 1400}: W over 1 MiB packed, so four column groups of the packed path (the last of
     * 8 columns); the last: too few rows to pack such a W (BLAS) */
    const int shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {200, 96, 128}, {130, 64, 300}, {77, 300, 40}, {150, 200, 160},
                             {256, 200, 1400}, {9, 100, 3000}};
    const int nth = omp_get_max_threads();
    rnnc_rng r;
    rnnc_rng_seed(&r, 91);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
        for (int tw = 0; tw < 2; tw++)
            for (int acc = 0; acc < 2; acc++) {
                const int M = shapes[k][0], Nn = shapes[k][1], K = shapes[k][2], lda = K + 1, ldc = Nn + 3;
                const int ldw = (tw ? K : Nn) + 2, wrows = tw ? Nn : K;
                float *A = malloc((size_t)M * lda * sizeof(float)), *W = malloc((size_t)wrows * ldw * sizeof(float));
                float *C0 = malloc((size_t)M * ldc * sizeof(float)), *C[3];
                for (size_t i = 0; i < (size_t)M * lda; i++) A[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
                for (size_t i = 0; i < (size_t)wrows * ldw; i++) W[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
                for (size_t i = 0; i < (size_t)M * ldc; i++) C0[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
                for (int t = 0; t < 3; t++) {
                    C[t] = malloc((size_t)M * ldc * sizeof(float));
                    memcpy(C[t], C0, (size_t)M * ldc * sizeof(float));
                    omp_set_num_threads(t + 1);
                    rnnc_gemm_aw(M, Nn, K, A, lda, W, ldw, tw, C[t], ldc, acc);
                }
                omp_set_num_threads(nth);
                int bad = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < ldc; j++) {
                        double want = j >= Nn || acc ? C0[(size_t)i * ldc + j] : 0.0;
                        if (j < Nn)
                            for (int q = 0; q < K; q++)
                                want += (double)A[(size_t)i * lda + q] * (tw ? W[(size_t)j * ldw + q] : W[(size_t)q * ldw + j]);
                        bad += !(fabs(C[0][(size_t)i * ldc + j] - want) <= 1e-5 * (1 + sqrt((double)K)));
                    }
                CHECK_MSG(bad == 0, "gemm_aw %dx%dx%d trans %d acc %d: %d values off", M, Nn, K, tw, acc, bad);
                const size_t packed = (size_t)K * (size_t)((Nn + 31) / 32 * 32);
                if (packed <= ((size_t)1 << 18) || (packed <= ((size_t)1 << 22) && M >= 256))
                    CHECK_MSG(!memcmp(C[0], C[1], (size_t)M * ldc * sizeof(float)) &&
                                  !memcmp(C[0], C[2], (size_t)M * ldc * sizeof(float)),
                              "gemm_aw %dx%dx%d: the packed path differs across thread counts", M, Nn, K);
                for (int t = 0; t < 3; t++) free(C[t]);
                free(A); free(W); free(C0);
            }
}

/* rnnc_colsum_add: each column's sum runs over the rows in order into a local sum that is then
 * added to db (and db2 on its first cols2 columns): the same bits as that plain loop on 1, 2 and 3
 * threads, whatever width the columns are cut into, small and large, with and without db2, on
 * dense rows and on the leading columns of wider ones. */
static void test_colsum_add(void) {
    const int shapes[][2] = {{3, 5}, {300, 64}, {300, 200}, {129, 1000}, {64, 2000}, {1000, 37}};
    for (int si = 0; si < 6; si++) {
        const int rows = shapes[si][0], cols = shapes[si][1];
        rnnc_rng r;
        rnnc_rng_seed(&r, 70 + si);
        float *dg = malloc((size_t)rows * cols * sizeof(float)), *want = malloc((size_t)cols * sizeof(float));
        float *db = malloc((size_t)cols * sizeof(float)), *db2 = malloc((size_t)cols * sizeof(float));
        for (int i = 0; i < rows * cols; i++) dg[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
        for (int k = 0; k < cols; k++) {
            float acc = 0.0f;
            for (int i = 0; i < rows; i++) acc += dg[(size_t)i * cols + k];
            want[k] = 0.25f + acc; /* db starts at 0.25 */
        }
        for (int nt = 1; nt <= 3; nt++) {
            omp_set_num_threads(nt);
            for (int k = 0; k < cols; k++) db[k] = db2[k] = 0.25f;
            rnnc_colsum_add(db, nt == 2 ? db2 : NULL, cols, dg, (size_t)cols, (size_t)rows, cols);
            CHECK_MSG(memcmp(db, want, (size_t)cols * sizeof(float)) == 0, "colsum %dx%d on %d threads", rows, cols, nt);
            if (nt == 2) CHECK(memcmp(db2, want, (size_t)cols * sizeof(float)) == 0);
        }
        /* the first cols - 3 columns of the same rows (ld = cols), db2 on the first half of them */
        const int sub = cols > 3 ? cols - 3 : 1, half = sub / 2;
        for (int nt = 1; nt <= 3; nt++) {
            omp_set_num_threads(nt);
            for (int k = 0; k < cols; k++) db[k] = db2[k] = 0.25f;
            rnnc_colsum_add(db, db2, half, dg, (size_t)cols, (size_t)rows, sub);
            CHECK_MSG(memcmp(db, want, (size_t)sub * sizeof(float)) == 0, "colsum %dx%d of ld %d on %d threads", rows, sub, cols, nt);
            CHECK(memcmp(db2, want, (size_t)half * sizeof(float)) == 0);
            for (int k = sub; k < cols; k++) CHECK(db[k] == 0.25f);
            for (int k = half; k < cols; k++) CHECK(db2[k] == 0.25f);
        }
        free(dg); free(want); free(db); free(db2);
    }
    omp_set_num_threads(2);
}

/* The SIMD kernels of pgemm.c (AVX-512, or AVX2 where the build or the CPU has it) against its
 * plain loops (rnnc_pgemm_set_plain) and a double-precision sum: packing is the same copy either
 * way, bit for bit, plain and transposed; products agree within rounding, written and accumulated,
 * with a second source (K2), row counts around the 4- and 8-row register blocks and the one- and
 * two-row kernels (1, 2, 5, 6, 7, 9 rows), K with odd tails,
 * column ranges starting at an inner panel and ending inside one; and each row's result is the
 * same bits whether it is computed in a block or alone. */
static void test_pgemm_kernels(void) {
    const int shapes[][4] = {{1, 1, 0, 32}, {3, 7, 5, 33}, {4, 64, 0, 70}, {5, 130, 3, 96}, {8, 128, 0, 512},
                             {9, 17, 9, 64}, {16, 40, 20, 100}, {17, 256, 0, 1024},
                             /* one and two rows across several panels (four and three half panels at
                              * once, ragged ends), and blocks ending in one, two or three rows */
                             {1, 50, 10, 230}, {2, 33, 7, 200}, {2, 3, 0, 40}, {6, 20, 4, 150}, {7, 9, 0, 81}};
    rnnc_rng r;
    rnnc_rng_seed(&r, 29);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int M = shapes[k][0], K = shapes[k][1], K2 = shapes[k][2], N = shapes[k][3], KP = K + K2;
        const size_t size = rnnc_pgemm_size(KP, N);
        float *W = malloc((size_t)KP * N * sizeof(float)), *WT = malloc((size_t)N * KP * sizeof(float));
        float *A1 = malloc((size_t)M * (K + 1) * sizeof(float)), *A2 = malloc((size_t)M * (K2 + 2) * sizeof(float));
        float *P[2], *PT[2], *C[3];
        for (int q = 0; q < 2; q++) {
            P[q] = aligned_alloc(64, (size * sizeof(float) + 63) / 64 * 64);
            PT[q] = aligned_alloc(64, (size * sizeof(float) + 63) / 64 * 64);
        }
        for (int q = 0; q < 3; q++) C[q] = malloc((size_t)M * N * sizeof(float));
        for (int i = 0; i < KP; i++)
            for (int j = 0; j < N; j++) W[(size_t)i * N + j] = WT[(size_t)j * KP + i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
        for (size_t i = 0; i < (size_t)M * (K + 1); i++) A1[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
        for (size_t i = 0; i < (size_t)M * (K2 + 2); i++) A2[i] = 2.0f * rnnc_rng_uniform(&r) - 1.0f;
        for (int plain = 0; plain < 2; plain++) {
            rnnc_pgemm_set_plain(plain);
            memset(P[plain], 0, size * sizeof(float));
            memset(PT[plain], 0, size * sizeof(float));
            rnnc_pgemm_pack(P[plain], W, N, 0, KP, N, 0, N);
            rnnc_pgemm_pack(PT[plain], WT, KP, 1, KP, N, 0, N);
        }
        rnnc_pgemm_set_plain(0);
        CHECK_MSG(!memcmp(P[0], P[1], size * sizeof(float)) && !memcmp(PT[0], PT[1], size * sizeof(float)) &&
                      !memcmp(P[0], PT[0], size * sizeof(float)),
                  "pgemm_pack K %d N %d: the SIMD and plain packings differ", KP, N);
        const int n0 = N > 32 ? 32 : 0, n1 = N - 1 > n0 ? N - 1 : N;
        for (int acc = 0; acc < 2; acc++) {
            for (int q = 0; q < 3; q++)
                for (size_t i = 0; i < (size_t)M * N; i++) C[q][i] = 0.25f;
            rnnc_pgemm_set_plain(1);
            rnnc_pgemm2(M, K, A1, K + 1, K2, A2, K2 + 2, n0, n1, P[0], C[1], N, acc);
            rnnc_pgemm_set_plain(0);
            rnnc_pgemm2(M, K, A1, K + 1, K2, A2, K2 + 2, n0, n1, P[0], C[0], N, acc);
            for (int i = 0; i < M; i++) /* one row at a time */
                rnnc_pgemm2(1, K, A1 + (size_t)i * (K + 1), K + 1, K2, A2 + (size_t)i * (K2 + 2), K2 + 2, n0, n1, P[0],
                            C[2] + (size_t)i * N, N, acc);
            CHECK_MSG(!memcmp(C[0], C[2], (size_t)M * N * sizeof(float)),
                      "pgemm M %d K %d+%d N %d acc %d: a row differs computed alone", M, K, K2, N, acc);
            int bad = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double want = acc || j < n0 || j >= n1 ? 0.25 : 0.0;
                    for (int q = 0; j >= n0 && j < n1 && q < KP; q++)
                        want += (double)(q < K ? A1[(size_t)i * (K + 1) + q] : A2[(size_t)i * (K2 + 2) + q - K]) *
                                W[(size_t)q * N + j];
                    const double tol = 1e-5 * (1 + sqrt((double)KP));
                    for (int q = 0; q < 2; q++) bad += !(fabs(C[q][(size_t)i * N + j] - want) <= tol);
                }
            CHECK_MSG(bad == 0, "pgemm M %d K %d+%d N %d acc %d: %d values off the double sum", M, K, K2, N, acc, bad);
        }
        free(W); free(WT); free(A1); free(A2);
        for (int q = 0; q < 2; q++) { free(P[q]); free(PT[q]); }
        for (int q = 0; q < 3; q++) free(C[q]);
    }
}

/* The scratch cache (bigmem.h): aligned blocks, a freed big one taken again by a request of at
 * most its size, a bounded number kept, and alloc/free from many threads at once. */
static void test_scratch(void) {
    rnnc_scratch_trim();
    CHECK_EQ_LL(rnnc_scratch_cached(), 0);
    size_t sizes[] = {1, 100, 4096, 300000, (size_t)3 << 20, (size_t)5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = rnnc_scratch_alloc(sizes[i]);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 63) == 0);
        memset(p, 0xab, sizes[i]); /* the whole block is usable (ASan would see an overrun) */
        rnnc_scratch_free(p);
    }
    rnnc_scratch_free(NULL);
    const bool on = rnnc_scratch_cached() > 0; /* off under ASan */
    if (on) {
        /* the 5 MiB block serves a 4 MiB request; a request bigger than every cached block maps anew */
        rnnc_scratch_trim();
        void *a = rnnc_scratch_alloc((size_t)5 << 20);
        rnnc_scratch_free(a);
        CHECK_EQ_LL(rnnc_scratch_cached(), 1);
        void *b = rnnc_scratch_alloc((size_t)4 << 20);
        CHECK(b == a);
        CHECK_EQ_LL(rnnc_scratch_cached(), 0);
        void *c = rnnc_scratch_alloc((size_t)9 << 20);
        CHECK(c != NULL && c != b);
        rnnc_scratch_free(b);
        rnnc_scratch_free(c);
        CHECK_EQ_LL(rnnc_scratch_cached(), 2);
        /* small blocks are not kept */
        rnnc_scratch_free(rnnc_scratch_alloc(1000));
        CHECK_EQ_LL(rnnc_scratch_cached(), 2);
    }
    /* more blocks than slots: at most RNNC_SCRATCH_SLOTS stay, the biggest */
    enum { n = RNNC_SCRATCH_SLOTS + 4 };
    void *q[n];
    for (int i = 0; i < n; i++) q[i] = rnnc_scratch_alloc(((size_t)1 << 20) * (size_t)(i + 1));
    for (int i = 0; i < n; i++) {
        CHECK(q[i] != NULL);
        rnnc_scratch_free(q[i]);
    }
    CHECK(rnnc_scratch_cached() <= RNNC_SCRATCH_SLOTS);
    if (on) {
        CHECK_EQ_LL(rnnc_scratch_cached(), RNNC_SCRATCH_SLOTS);
        void *big = rnnc_scratch_alloc((size_t)n << 20); /* the biggest was kept */
        CHECK(big == q[n - 1]);
        rnnc_scratch_free(big);
    }
    /* threads taking and giving back blocks at once, each checking its block stays its own */
    int bad = 0;
#pragma omp parallel num_threads(4) reduction(+ : bad)
    {
        const int me = omp_get_thread_num();
        for (int it = 0; it < 200; it++) {
            size_t bytes = ((size_t)1 << 18) * (size_t)(1 + (it + me) % 7);
            unsigned char *p = rnnc_scratch_alloc(bytes);
            if (!p) { bad++; continue; }
            memset(p, me + 1, bytes);
            for (size_t k = 0; k < bytes; k += 4093) bad += p[k] != (unsigned char)(me + 1);
            rnnc_scratch_free(p);
        }
    }
    CHECK_EQ_LL(bad, 0);
    rnnc_scratch_trim();
    CHECK_EQ_LL(rnnc_scratch_cached(), 0);
}

/* The run-time CPU checks (core/cpu.h) against the kernel's own list in /proc/cpuinfo (x86 Linux;
 * elsewhere both checks say no). */
static bool has_flag(const char *flags, const char *name) {
    size_t n = strlen(name);
    for (const char *p = flags; (p = strstr(p, name)); p += n)
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0)) return true;
    return false;
}

static void test_cpu_flags(void) {
#if defined(__x86_64__) || defined(__i386__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = !strncmp(line, "flags", 5);
    fclose(f);
    if (!found) return;
    const bool avx2_fma = has_flag(line, "avx2") && has_flag(line, "fma");
    CHECK_EQ_LL(rnnc_cpu_avx2_fma(), avx2_fma);
    CHECK_EQ_LL(rnnc_cpu_avx2_fma_f16c(), avx2_fma && has_flag(line, "f16c"));
    CHECK(!has_flag("fpu avx2x fma", "avx2") && has_flag("fpu avx2 fma", "avx2") && has_flag("flags\t: avx2", "avx2"));
#else
    CHECK_EQ_LL(rnnc_cpu_avx2_fma(), 0);
    CHECK_EQ_LL(rnnc_cpu_avx2_fma_f16c(), 0);
#endif
}

int main(void) {
    RUN(test_finite_difference);
    RUN(test_xent_values);
    RUN(test_bad_ids);
    RUN(test_linear_bias_null);
    RUN(test_wgrad);
    RUN(test_gemm_aw);
    RUN(test_pgemm_pack);
    RUN(test_pgemm2);
    RUN(test_pgemm_kernels);
    RUN(test_colsum_add);
    RUN(test_scratch);
    RUN(test_cpu_flags);
    return test_report();
}
