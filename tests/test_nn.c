/* Embedding, linear head and softmax cross-entropy: finite-difference gradient checks of the
 * composite loss(linear(embedding(ids))), known values, ignore_index and bad ids. */
#include "rnnc/nn.h"
#include "rnnc/rng.h"
#include "rnnc/rnnc.h"
#include "test.h"

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

int main(void) {
    RUN(test_finite_difference);
    RUN(test_xent_values);
    RUN(test_bad_ids);
    RUN(test_linear_bias_null);
    return test_report();
}
