/* Sampler: greedy, temperature, top-k, top-p, determinism, bad parameters and logits. */
#include "rnnc/rnnc.h"
#include "rnnc/sample.h"
#include "test.h"

static void softmax_d(const float *l, size_t V, double T, double *p) {
    double m = -INFINITY, s = 0;
    for (size_t i = 0; i < V; i++) if (l[i] > m) m = l[i];
    for (size_t i = 0; i < V; i++) { p[i] = exp((l[i] - m) / T); s += p[i]; }
    for (size_t i = 0; i < V; i++) p[i] /= s;
}

static void random_logits(rnnc_rng *r, float *l, size_t V, float scale) {
    for (size_t i = 0; i < V; i++) l[i] = scale * rnnc_rng_normal(r);
}

static void test_greedy_is_argmax(void) {
    rnnc_rng r;
    rnnc_rng_seed(&r, 1);
    float l[37];
    rnnc_sample_params p = {0, 0, 1};
    rnnc_sampler s;
    CHECK(rnnc_sampler_init(&s, 37, &p) == RNNC_OK);
    int bad = 0;
    for (int t = 0; t < 200; t++) {
        random_logits(&r, l, 37, 3);
        size_t best = 0;
        for (size_t i = 1; i < 37; i++) if (l[i] > l[best]) best = i;
        uint32_t got = 99;
        CHECK(rnnc_sampler_next(&s, l, &r, &got) == RNNC_OK);
        bad += got != best;
    }
    CHECK_EQ_LL(bad, 0);
    /* ties go to the lowest id; top-k/top-p do not change greedy */
    float tie[5] = {1, 3, 0, 3, 3};
    rnnc_sampler_free(&s);
    p.top_k = 2; p.top_p = 0.5f;
    CHECK(rnnc_sampler_init(&s, 5, &p) == RNNC_OK);
    uint32_t got = 99;
    CHECK(rnnc_sampler_next(&s, tie, &r, &got) == RNNC_OK);
    CHECK_EQ_LL(got, 1);
    rnnc_sampler_free(&s);
}

/* Pearson chi-square of `draws` draws against the expected distribution q over V categories. */
static double chi_square(const long *counts, const double *q, size_t V, long draws) {
    double x2 = 0;
    for (size_t i = 0; i < V; i++) {
        double e = q[i] * (double)draws;
        if (e == 0) { if (counts[i]) return INFINITY; continue; }
        x2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    return x2;
}

static void test_temperature_matches_softmax(void) {
    const float l[6] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, -3.0f};
    const double temps[3] = {0.5, 1.0, 2.0};
    for (int t = 0; t < 3; t++) {
        rnnc_sample_params p = {(float)temps[t], 0, 1};
        rnnc_sampler s;
        CHECK(rnnc_sampler_init(&s, 6, &p) == RNNC_OK);
        double q[6];
        softmax_d(l, 6, temps[t], q);
        float probs[6];
        CHECK(rnnc_sampler_probs(&s, l, probs) == RNNC_OK);
        for (int i = 0; i < 6; i++) CHECK_NEAR(probs[i], q[i], 1e-5, 1e-7);
        rnnc_rng r;
        rnnc_rng_seed(&r, 1234 + (uint64_t)t);
        long counts[6] = {0};
        const long N = 200000;
        for (long k = 0; k < N; k++) {
            uint32_t id;
            rnnc_sampler_next(&s, l, &r, &id);
            counts[id]++;
        }
        /* 5 degrees of freedom: P(X2 > 25.7) = 1e-4 under the right distribution, while a
         * distribution off by 1% of its mass in one cell gives X2 in the hundreds at N = 2e5. */
        double x2 = chi_square(counts, q, 6, N);
        CHECK_MSG(x2 < 25.7, "T=%g chi-square %.2f", temps[t], x2);
        rnnc_sampler_free(&s);
    }
}

/* The k best ids by (logit desc, id asc), as a membership mask. */
static void best_k_mask(const float *l, size_t V, size_t k, int *mask) {
    memset(mask, 0, V * sizeof *mask);
    for (size_t n = 0; n < k; n++) {
        size_t b = V;
        for (size_t i = 0; i < V; i++)
            if (!mask[i] && (b == V || l[i] > l[b])) b = i;
        mask[b] = 1;
    }
}

static void test_top_k_stays_in_k_best(void) {
    enum { V = 50 };
    rnnc_rng r;
    rnnc_rng_seed(&r, 7);
    float l[V];
    int mask[V];
    rnnc_sample_params p = {1.5f, 5, 1};
    rnnc_sampler s;
    CHECK(rnnc_sampler_init(&s, V, &p) == RNNC_OK);
    int outside = 0;
    for (int t = 0; t < 50; t++) {
        random_logits(&r, l, V, 2);
        best_k_mask(l, V, 5, mask);
        for (int d = 0; d < 200; d++) {
            uint32_t id;
            rnnc_sampler_next(&s, l, &r, &id);
            outside += !mask[id];
        }
    }
    CHECK_EQ_LL(outside, 0);
    /* within the k best the draw follows the renormalised softmax */
    random_logits(&r, l, V, 1);
    best_k_mask(l, V, 5, mask);
    double q[V], z = 0;
    softmax_d(l, V, 1.5, q);
    for (int i = 0; i < V; i++) { if (!mask[i]) q[i] = 0; z += q[i]; }
    for (int i = 0; i < V; i++) q[i] /= z;
    long counts[V] = {0};
    for (long k = 0; k < 100000; k++) { uint32_t id; rnnc_sampler_next(&s, l, &r, &id); counts[id]++; }
    double x2 = chi_square(counts, q, V, 100000);
    CHECK_MSG(x2 < 23.5, "chi-square %.2f (4 dof)", x2); /* P(X2 > 23.5) ~ 1e-4 */
    rnnc_sampler_free(&s);
    /* k >= V is the same as off */
    rnnc_sample_params off = {1, 0, 1}, big = {1, V + 3, 1};
    rnnc_sampler a, b;
    float pa[V], pb[V];
    rnnc_sampler_init(&a, V, &off);
    rnnc_sampler_init(&b, V, &big);
    rnnc_sampler_probs(&a, l, pa);
    rnnc_sampler_probs(&b, l, pb);
    CHECK(memcmp(pa, pb, sizeof pa) == 0);
    rnnc_sampler_free(&a);
    rnnc_sampler_free(&b);
}

/* The kept set must be the best tokens, reach mass p, and lose that if its weakest member went. */
static void check_nucleus(const float *l, size_t V, double T, int top_k, double top_p, const float *probs, int *bad) {
    double *q = malloc(V * sizeof *q);
    softmax_d(l, V, T, q);
    int *kmask = malloc(V * sizeof *kmask);
    best_k_mask(l, V, top_k > 0 && (size_t)top_k < V ? (size_t)top_k : V, kmask);
    double zk = 0;
    for (size_t i = 0; i < V; i++) if (kmask[i]) zk += q[i];
    double mass = 0, weakest = INFINITY, best_dropped = -INFINITY;
    size_t weakest_id = V;
    for (size_t i = 0; i < V; i++) {
        if (probs[i] > 0) {
            if (!kmask[i]) (*bad)++;
            mass += q[i] / zk;
            if (l[i] < weakest || (l[i] == weakest && i > weakest_id)) { weakest = l[i]; weakest_id = i; }
        } else if (kmask[i] && l[i] > best_dropped) best_dropped = l[i];
    }
    if (best_dropped > weakest) (*bad)++;                          /* not the best tokens */
    if (mass < top_p - 1e-5) (*bad)++;                              /* does not reach p */
    if (weakest_id < V && mass - q[weakest_id] / zk >= top_p + 1e-5) (*bad)++; /* not minimal */
    free(q);
    free(kmask);
}

static void test_top_p_set_is_minimal(void) {
    rnnc_rng r;
    rnnc_rng_seed(&r, 99);
    const size_t sizes[3] = {10, 300, 5000}; /* 5000 with flat logits: the nucleus outgrows 64 and 256 */
    int bad = 0, nonempty = 0;
    for (int si = 0; si < 3; si++) {
        size_t V = sizes[si];
        float *l = malloc(V * sizeof *l), *probs = malloc(V * sizeof *probs);
        for (int t = 0; t < 30; t++) {
            random_logits(&r, l, V, si == 2 ? 0.3f : 2.0f);
            rnnc_sample_params p = {0.7f + 0.1f * (float)(t % 7), t % 3 == 0 ? 7 : 0, 0.05f + 0.9f * rnnc_rng_uniform(&r)};
            rnnc_sampler s;
            CHECK(rnnc_sampler_init(&s, V, &p) == RNNC_OK);
            CHECK(rnnc_sampler_probs(&s, l, probs) == RNNC_OK);
            double total = 0;
            for (size_t i = 0; i < V; i++) { total += probs[i]; nonempty += probs[i] > 0; }
            CHECK_NEAR(total, 1.0, 1e-5, 0);
            check_nucleus(l, V, p.temperature, p.top_k, p.top_p, probs, &bad);
            rnnc_sampler_free(&s);
        }
        free(l);
        free(probs);
    }
    CHECK_EQ_LL(bad, 0);
    CHECK(nonempty > 90);
    /* ties at the boundary resolve to the lower ids: 10 equal tokens, p = 0.25 keeps ids 0, 1, 2 */
    float flat[10] = {0};
    rnnc_sample_params p = {1, 0, 0.25f};
    rnnc_sampler s;
    float probs[10];
    CHECK(rnnc_sampler_init(&s, 10, &p) == RNNC_OK);
    CHECK(rnnc_sampler_probs(&s, flat, probs) == RNNC_OK);
    for (int i = 0; i < 10; i++) CHECK_NEAR(probs[i], i < 3 ? 1.0 / 3 : 0.0, 1e-6, 1e-7);
    rnnc_sampler_free(&s);
    /* one dominant token: a small p keeps exactly it, so sampling is greedy */
    float peak[4] = {0, 9, 1, 2};
    p.top_p = 0.5f;
    CHECK(rnnc_sampler_init(&s, 4, &p) == RNNC_OK);
    rnnc_rng_seed(&r, 3);
    int other = 0;
    for (int k = 0; k < 1000; k++) { uint32_t id; rnnc_sampler_next(&s, peak, &r, &id); other += id != 1; }
    CHECK_EQ_LL(other, 0);
    rnnc_sampler_free(&s);
}

static void test_same_seed_same_sequence(void) {
    enum { V = 1000 };
    float l[V];
    rnnc_rng r;
    rnnc_rng_seed(&r, 5);
    random_logits(&r, l, V, 1);
    rnnc_sample_params p = {0.9f, 40, 0.9f};
    rnnc_sampler s;
    CHECK(rnnc_sampler_init(&s, V, &p) == RNNC_OK);
    uint32_t a[300], b[300], c[300];
    rnnc_rng r1, r2, r3;
    rnnc_rng_seed(&r1, 2024);
    rnnc_rng_seed(&r2, 2024);
    rnnc_rng_seed(&r3, 2025);
    for (int i = 0; i < 300; i++) {
        rnnc_sampler_next(&s, l, &r1, &a[i]);
        rnnc_sampler_next(&s, l, &r2, &b[i]);
        rnnc_sampler_next(&s, l, &r3, &c[i]);
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    rnnc_sampler_free(&s);
}

static void test_bad_params_and_logits(void) {
    rnnc_sampler s;
    rnnc_sample_params bad[] = {{-1, 0, 1}, {NAN, 0, 1}, {INFINITY, 0, 1}, {1, -1, 1},
                                {1, 0, 0}, {1, 0, -0.5f}, {1, 0, 1.5f}, {1, 0, NAN}};
    const char *names[] = {"temperature", "temperature", "temperature", "top-k", "top-p", "top-p", "top-p", "top-p"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(rnnc_sample_check(&bad[i]) == RNNC_ERR_ARG);
        CHECK_MSG(strstr(rnnc_last_error(), names[i]) != NULL, "%s", rnnc_last_error());
        CHECK(rnnc_sampler_init(&s, 4, &bad[i]) == RNNC_ERR_ARG);
    }
    rnnc_sample_params ok = {0, 0, 1}; /* k = 0 is "off", not an error */
    CHECK(rnnc_sample_check(&ok) == RNNC_OK);
    CHECK(rnnc_sampler_init(&s, 0, &ok) == RNNC_ERR_ARG);

    ok.temperature = 1;
    CHECK(rnnc_sampler_init(&s, 4, &ok) == RNNC_OK);
    rnnc_rng r;
    rnnc_rng_seed(&r, 1);
    uint32_t id;
    float nan_l[4] = {0, NAN, 1, 2}, inf_l[4] = {0, INFINITY, 1, 2}, all_masked[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    CHECK(rnnc_sampler_next(&s, nan_l, &r, &id) == RNNC_ERR_NUMERIC);
    CHECK(strstr(rnnc_last_error(), "logit 1") != NULL);
    CHECK(rnnc_sampler_next(&s, inf_l, &r, &id) == RNNC_ERR_NUMERIC);
    CHECK(rnnc_sampler_next(&s, all_masked, &r, &id) == RNNC_ERR_NUMERIC);
    /* -Inf masks a token: never drawn */
    float masked[4] = {0, -INFINITY, 0, -INFINITY};
    int hit = 0;
    for (int k = 0; k < 2000; k++) { rnnc_sampler_next(&s, masked, &r, &id); hit += id == 1 || id == 3; }
    CHECK_EQ_LL(hit, 0);
    rnnc_sampler_free(&s);
    /* a subnormal temperature is effectively greedy, without NaNs */
    rnnc_sample_params tiny = {1e-40f, 0, 1};
    float probs[4], l[4] = {0.5f, 2, 1, -1};
    CHECK(rnnc_sampler_init(&s, 4, &tiny) == RNNC_OK);
    CHECK(rnnc_sampler_probs(&s, l, probs) == RNNC_OK);
    CHECK(probs[1] == 1.0f && probs[0] == 0 && probs[2] == 0 && probs[3] == 0);
    rnnc_sampler_free(&s);
}

/* Feeds text in random chunks; the output must be the input, and no output piece may end inside
 * a valid character. */
static void stream_check(rnnc_rng *r, const unsigned char *text, size_t len, int *bad) {
    rnnc_utf8_stream st = {{0}, 0};
    unsigned char *out = malloc(len + 8), piece[64];
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t n = 1 + rnnc_rng_below(r, 5);
        if (n > len - i) n = len - i;
        size_t got = rnnc_utf8_stream_push(&st, text + i, n, piece);
        /* a piece never ends with a lead byte of a character that is still being completed */
        if (got && i + n < len) {
            size_t k = got;
            while (k > 0 && (piece[k - 1] & 0xC0) == 0x80) k--;
            if (k > 0 && piece[k - 1] >= 0xC2 && piece[k - 1] <= 0xF4) {
                size_t need = piece[k - 1] >= 0xF0 ? 4 : piece[k - 1] >= 0xE0 ? 3 : 2;
                uint32_t cp;
                if (got - (k - 1) < need && rnnc_utf8_decode(text + w + k - 1, len - w - (k - 1), &cp) > 0) (*bad)++;
            }
        }
        memcpy(out + w, piece, got);
        w += got;
        i += n;
    }
    w += rnnc_utf8_stream_flush(&st, out + w);
    if (w != len || memcmp(out, text, len)) (*bad)++;
    free(out);
}

static void test_utf8_stream(void) {
    rnnc_rng r;
    rnnc_rng_seed(&r, 17);
    int bad = 0;
    const char *valid = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87 end";
    for (int t = 0; t < 200; t++) stream_check(&r, (const unsigned char *)valid, strlen(valid), &bad);
    /* random bytes, including broken sequences, still come out unchanged */
    unsigned char junk[300];
    for (int t = 0; t < 200; t++) {
        for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rnnc_rng_below(&r, 256);
        stream_check(&r, junk, sizeof junk, &bad);
    }
    CHECK_EQ_LL(bad, 0);
    /* a character split over three tokens appears only once complete */
    rnnc_utf8_stream st = {{0}, 0};
    unsigned char out[16];
    CHECK_EQ_LL(rnnc_utf8_stream_push(&st, (const unsigned char *)"a\xE2", 2, out), 1);
    CHECK_EQ_LL(rnnc_utf8_stream_push(&st, (const unsigned char *)"\x82", 1, out), 0);
    CHECK_EQ_LL(rnnc_utf8_stream_push(&st, (const unsigned char *)"\xAC!", 2, out), 4);
    CHECK(memcmp(out, "\xE2\x82\xAC!", 4) == 0);
    CHECK_EQ_LL(rnnc_utf8_stream_flush(&st, out), 0);
}

static void test_caller_scratch(void) {
    enum { V = 300 };
    float l[V], pa[V], pb[V];
    rnnc_rng r;
    rnnc_rng_seed(&r, 12);
    random_logits(&r, l, V, 2);
    rnnc_sample_params p = {0.8f, 20, 0.7f};
    rnnc_sampler a, b;
    CHECK_EQ_LL(rnnc_sampler_scratch_bytes(V), V * 12);
    static uint32_t scratch[3 * V];
    CHECK(rnnc_sampler_init(&a, V, &p) == RNNC_OK);
    CHECK(rnnc_sampler_init_scratch(&b, V, &p, scratch) == RNNC_OK);
    CHECK(rnnc_sampler_probs(&a, l, pa) == RNNC_OK);
    CHECK(rnnc_sampler_probs(&b, l, pb) == RNNC_OK);
    CHECK(memcmp(pa, pb, sizeof pa) == 0);
    rnnc_rng r1, r2;
    rnnc_rng_seed(&r1, 5);
    rnnc_rng_seed(&r2, 5);
    int differ = 0;
    for (int k = 0; k < 100; k++) {
        uint32_t x, y;
        rnnc_sampler_next(&a, l, &r1, &x);
        rnnc_sampler_next(&b, l, &r2, &y);
        differ += x != y;
    }
    CHECK_EQ_LL(differ, 0);
    rnnc_sampler_free(&a);
    rnnc_sampler_free(&b); /* does not free the caller's array */
    CHECK(rnnc_sampler_init_scratch(&b, V, &p, NULL) == RNNC_ERR_ARG);
    CHECK(rnnc_sampler_init_scratch(&b, V, &p, (char *)scratch + 1) == RNNC_ERR_ARG);
    rnnc_sample_params bad = {1, 0, 2};
    CHECK(rnnc_sampler_init_scratch(&b, V, &bad, scratch) == RNNC_ERR_ARG);
}

int main(void) {
    RUN(test_greedy_is_argmax);
    RUN(test_temperature_matches_softmax);
    RUN(test_top_k_stays_in_k_best);
    RUN(test_top_p_set_is_minimal);
    RUN(test_same_seed_same_sequence);
    RUN(test_bad_params_and_logits);
    RUN(test_utf8_stream);
    RUN(test_caller_scratch);
    return test_report();
}
