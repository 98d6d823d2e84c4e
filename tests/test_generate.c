/* Generation over small random models of every cell in the table: windowed prompt feeding equals
 * token-by-token stepping, greedy equals argmax over the step API, seeds reproduce, bad use is
 * refused. */
#include "rnnc/rnnc.h"
#include "core/bigmem.h"
#include "test.h"

enum { V = 30 };

static rnnc_lm *sized_model(rnnc_cell cell, int hidden) {
    rnnc_lm_config c = {cell, V, 8, hidden, 2, 0.0f};
    rnnc_lm *m = NULL;
    if (rnnc_lm_new(&m, &c)) { fprintf(stderr, "%s\n", rnnc_last_error()); exit(1); }
    rnnc_rng r;
    rnnc_rng_seed(&r, 21);
    rnnc_lm_init(m, &r);
    return m;
}

static rnnc_lm *small_model(rnnc_cell cell) { return sized_model(cell, 16); }

static void test_windowed_feed_equals_steps(void) {
    for (int ci = 0; ci < RNNC_CELL_COUNT; ci++) {
        rnnc_lm *m = small_model((rnnc_cell)ci);
        uint32_t prompt[150];
        for (int i = 0; i < 150; i++) prompt[i] = (uint32_t)((i * 7 + 3) % V);
        rnnc_sample_params p = rnnc_sample_defaults();
        rnnc_generator *a, *b;
        CHECK(rnnc_generator_new(&a, m, &p, 1) == RNNC_OK);
        CHECK(rnnc_generator_new(&b, m, &p, 1) == RNNC_OK);
        CHECK(rnnc_generator_feed(a, prompt, 150) == RNNC_OK); /* three windows: 64 + 64 + 22 */
        for (int i = 0; i < 150; i++) CHECK(rnnc_generator_feed(b, prompt + i, 1) == RNNC_OK);
        const float *la = rnnc_generator_logits(a), *lb = rnnc_generator_logits(b);
        CHECK(la && lb);
        double maxdiff = 0;
        for (int v = 0; la && lb && v < V; v++) maxdiff = fmax(maxdiff, fabs(la[v] - lb[v]));
        CHECK_MSG(maxdiff < 1e-4, "%s: max logit difference %g", rnnc_cell_name((rnnc_cell)ci), maxdiff);
        /* and the model's own forward of the whole prompt, every position's logits, its last */
        rnnc_lm_ws *ws;
        CHECK(rnnc_lm_ws_new(&ws, m, 1, 150) == RNNC_OK);
        int ids[150];
        for (int i = 0; i < 150; i++) ids[i] = (int)prompt[i];
        const float *lw = NULL;
        CHECK(rnnc_lm_forward(m, ws, ids, 1, 150, false, NULL, &lw) == RNNC_OK);
        maxdiff = 0;
        for (int v = 0; la && lw && v < V; v++) maxdiff = fmax(maxdiff, fabs(la[v] - lw[149 * V + v]));
        CHECK_MSG(maxdiff < 1e-4, "%s: feed and the model's forward differ by %g", rnnc_cell_name((rnnc_cell)ci), maxdiff);
        rnnc_lm_ws_free(ws);
        /* and the same tokens follow */
        int differ = 0;
        for (int k = 0; k < 40; k++) {
            uint32_t x, y;
            rnnc_generator_next(a, &x);
            rnnc_generator_next(b, &y);
            differ += x != y;
        }
        CHECK_EQ_LL(differ, 0);
        rnnc_generator_free(a);
        rnnc_generator_free(b);
        rnnc_lm_free(m);
    }
}

/* The generator's own batch-1 step against the model's step API: same logits, same greedy path. */
static void test_greedy_matches_step_api(void) {
    /* H 16: W_ih packed by the generator; H 64: its panels those of the stack's packed set */
    for (int ci = 0; ci < 2 * RNNC_CELL_COUNT; ci++) {
        rnnc_lm *m = sized_model((rnnc_cell)(ci % RNNC_CELL_COUNT), ci < RNNC_CELL_COUNT ? 16 : 64);
        rnnc_sample_params p = {0, 0, 1};
        rnnc_generator *g;
        CHECK(rnnc_generator_new(&g, m, &p, 5) == RNNC_OK);
        const uint32_t prompt[3] = {4, 9, 1};
        CHECK(rnnc_generator_feed(g, prompt, 3) == RNNC_OK);
        rnnc_lm_ws *ws;
        CHECK(rnnc_lm_ws_new(&ws, m, 1, 1) == RNNC_OK);
        float logits[V];
        for (int i = 0; i < 3; i++) { int id = (int)prompt[i]; rnnc_lm_step(m, ws, &id, 1, logits); }
        int bad = 0;
        double maxdiff = 0;
        for (int k = 0; k < 60; k++) {
            uint32_t got;
            CHECK(rnnc_generator_next(g, &got) == RNNC_OK);
            int want = (int)rnnc_argmax(logits, V);
            bad += (int)got != want;
            rnnc_lm_step(m, ws, &want, 1, logits);
            const float *gl = rnnc_generator_logits(g); /* runs the drawn token through the fast step */
            for (int v = 0; gl && v < V; v++) maxdiff = fmax(maxdiff, fabs(gl[v] - logits[v]));
        }
        CHECK_EQ_LL(bad, 0);
        CHECK_MSG(maxdiff < 1e-4, "%s, H %d: generator step and model step differ by %g", rnnc_cell_name(m->c.cell),
                  m->c.hidden, maxdiff);
        rnnc_lm_ws_free(ws);
        rnnc_generator_free(g);
        rnnc_lm_free(m);
    }
}

static void gen(rnnc_lm *m, uint64_t seed, uint32_t *out, int n) {
    rnnc_sample_params p = {1.0f, 0, 0.95f};
    rnnc_generator *g;
    CHECK(rnnc_generator_new(&g, m, &p, seed) == RNNC_OK);
    const uint32_t start = 5;
    rnnc_generator_feed(g, &start, 1);
    for (int i = 0; i < n; i++) rnnc_generator_next(g, &out[i]);
    /* reset gives the same state again; the RNG goes on, so compare against a fresh state only */
    rnnc_generator_reset(g);
    uint32_t x;
    CHECK(rnnc_generator_next(g, &x) == RNNC_ERR_ARG);
    rnnc_generator_free(g);
}

static void test_seeds(void) {
    rnnc_lm *m = small_model(RNNC_CELL_GRU);
    uint32_t a[100], b[100], c[100];
    gen(m, 42, a, 100);
    gen(m, 42, b, 100);
    gen(m, 43, c, 100);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    rnnc_lm_free(m);
}

static void test_bad_use(void) {
    rnnc_lm *m = small_model(RNNC_CELL_RNN_RELU);
    rnnc_sample_params p = rnnc_sample_defaults();
    rnnc_generator *g;
    CHECK(rnnc_generator_new(&g, m, &p, 1) == RNNC_OK);
    uint32_t id;
    CHECK(rnnc_generator_next(g, &id) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "prompt") != NULL);
    CHECK(rnnc_generator_logits(g) == NULL);
    const uint32_t bad[3] = {1, 2, V};
    CHECK(rnnc_generator_feed(g, bad, 3) == RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "position 2") != NULL);
    rnnc_generator_free(g);
    rnnc_sample_params badp = {-1, 0, 1};
    CHECK(rnnc_generator_new(&g, m, &badp, 1) == RNNC_ERR_ARG);
    CHECK(g == NULL);
    rnnc_lm_free(m);
}

/* The per-token step split over threads computes every row as one thread would: identical logits,
 * for every cell (each slice runs the cell on its units, with its own part of the cell's scratch),
 * with float and with half-precision weights. 160 units on two threads: slices 0-63, 64-159; 200
 * units on three, three layers: 0-63, 64-127, 128-199 (cut at multiples of 32 units, the packed
 * panels' width); the 50-word head 0-31, 32-49 on two. */
static void test_threads_identical(void) {
    for (int ci = 0; ci < 4 * RNNC_CELL_COUNT; ci++) {
        const int wide = ci / RNNC_CELL_COUNT % 2, half = ci >= 2 * RNNC_CELL_COUNT, threads = wide ? 3 : 2;
        rnnc_lm_config c = {(rnnc_cell)(ci % RNNC_CELL_COUNT), 50, 16, wide ? 200 : 160, wide ? 3 : 2, 0.0f};
        rnnc_lm *m;
        CHECK(rnnc_lm_new(&m, &c) == RNNC_OK);
        rnnc_rng r;
        rnnc_rng_seed(&r, 4);
        rnnc_lm_init(m, &r);
        rnnc_sample_params p = rnnc_sample_defaults();
        rnnc_generator *a, *b;
        CHECK(rnnc_generator_new(&a, m, &p, 3) == RNNC_OK);
        CHECK(rnnc_generator_new(&b, m, &p, 3) == RNNC_OK);
        rnnc_generator_set_threads(b, threads);
        if (half) {
            CHECK(rnnc_generator_use_half(a) == RNNC_OK);
            CHECK(rnnc_generator_use_half(b) == RNNC_OK);
        }
        const uint32_t start = 7;
        rnnc_generator_feed(a, &start, 1);
        rnnc_generator_feed(b, &start, 1);
        int differ = 0;
        for (int k = 0; k < 40; k++) {
            uint32_t x, y;
            rnnc_generator_next(a, &x);
            rnnc_generator_next(b, &y);
            const float *la = rnnc_generator_logits(a), *lb = rnnc_generator_logits(b);
            differ += x != y || memcmp(la, lb, 50 * sizeof(float)) != 0;
        }
        CHECK_MSG(differ == 0, "%s, %d units%s: %d tokens differ between one and %d threads", rnnc_cell_name(c.cell),
                  c.hidden, half ? ", half" : "", differ, threads);
        rnnc_generator_free(a);
        rnnc_generator_free(b);
        rnnc_lm_free(m);
    }
}

static void test_half_rounding(void) {
    CHECK(rnnc_half_round(1.0f) == 1.0f);
    CHECK(rnnc_half_round(-2.5f) == -2.5f);
    CHECK(rnnc_half_round(1.0f + ldexpf(1, -11)) == 1.0f);                    /* tie: to even */
    CHECK(rnnc_half_round(1.0f + 3 * ldexpf(1, -11)) == 1.0f + ldexpf(1, -9)); /* tie: to even */
    CHECK(rnnc_half_round(65504.0f) == 65504.0f);
    CHECK(isinf(rnnc_half_round(65520.0f)));
    CHECK(rnnc_half_round(ldexpf(1, -24)) == ldexpf(1, -24)); /* smallest subnormal */
    CHECK(rnnc_half_round(ldexpf(1, -25)) == 0.0f);            /* tie below it: to even (zero) */
    CHECK(rnnc_half_round(ldexpf(3, -25)) == ldexpf(1, -23));  /* 1.5 ulp: to even (2 ulp) */
    CHECK(isnan(rnnc_half_round(NAN)));
    CHECK(rnnc_half_round(-INFINITY) == -INFINITY);
    /* every finite half value is a fixed point */
    int bad = 0;
    for (int e = 0; e < 31; e++)
        for (int mnt = 0; mnt < 1024; mnt++) {
            float v = e == 0 ? ldexpf((float)mnt, -24) : ldexpf(1.0f + mnt / 1024.0f, e - 15);
            bad += rnnc_half_round(v) != v || rnnc_half_round(-v) != -v;
        }
    CHECK_EQ_LL(bad, 0);
    /* random floats: within half an ulp of half precision */
    rnnc_rng r;
    rnnc_rng_seed(&r, 9);
    for (int i = 0; i < 100000; i++) {
        float x = rnnc_rng_normal(&r) * ldexpf(1, (int)rnnc_rng_below(&r, 30) - 20);
        float h = rnnc_half_round(x);
        int ex;
        frexpf(fabsf(x), &ex);
        float ulp = ldexpf(1, (ex - 1 < -14 ? -14 : ex - 1) - 10);
        if (fabsf(h - x) > ulp / 2 * (1 + 1e-6f)) bad++;
    }
    CHECK_EQ_LL(bad, 0);
}

static void test_half_weights_close(void) {
    for (int ci = 0; ci < RNNC_CELL_COUNT; ci++) {
        rnnc_lm *m = small_model((rnnc_cell)ci);
        rnnc_sample_params p = {0, 0, 1};
        rnnc_generator *a, *b;
        CHECK(rnnc_generator_new(&a, m, &p, 1) == RNNC_OK);
        CHECK(rnnc_generator_new(&b, m, &p, 1) == RNNC_OK);
        CHECK(rnnc_generator_use_half(b) == RNNC_OK);
        double maxrel = 0;
        /* greedy from the same token: compare the logits while the two paths agree on the tokens */
        const uint32_t t0 = 5;
        rnnc_generator_feed(a, &t0, 1);
        rnnc_generator_feed(b, &t0, 1);
        for (int k = 0; k < 30; k++) {
            uint32_t x, y;
            rnnc_generator_next(a, &x);
            rnnc_generator_next(b, &y);
            const float *la = rnnc_generator_logits(a), *lb = rnnc_generator_logits(b);
            double scale = 0;
            for (int v = 0; v < V; v++) scale = fmax(scale, fabs(la[v]));
            for (int v = 0; v < V; v++) maxrel = fmax(maxrel, fabs(la[v] - lb[v]) / (scale + 1e-6));
            if (x != y) break; /* the paths diverged: later states are not comparable */
        }
        CHECK_MSG(maxrel < 2e-3 && maxrel > 0, "%s: half-precision logits differ by %g of their scale", rnnc_cell_name((rnnc_cell)ci), maxrel);
        if (getenv("RNNC_TEST_VERBOSE")) printf("%s: half-precision logits within %.2g of their scale\n", rnnc_cell_name((rnnc_cell)ci), maxrel);
        rnnc_generator_free(a);
        rnnc_generator_free(b);
        rnnc_lm_free(m);
    }
}

/* Done generating or done with a model, done with their temporaries: freeing a generator or a
 * language model empties the scratch cache */
static void test_free_trims_scratch(void) {
    rnnc_lm *m = small_model(RNNC_CELL_LSTM);
    rnnc_sample_params p = rnnc_sample_defaults();
    rnnc_generator *g = NULL;
    CHECK(rnnc_generator_new(&g, m, &p, 1) == RNNC_OK);
    if (g) CHECK_FREE_TRIMS_SCRATCH(rnnc_generator_free, g);
    CHECK_FREE_TRIMS_SCRATCH(rnnc_lm_free, m);
}

int main(void) {
    RUN(test_free_trims_scratch);
    RUN(test_windowed_feed_equals_steps);
    RUN(test_greedy_matches_step_api);
    RUN(test_seeds);
    RUN(test_bad_use);
    RUN(test_threads_identical);
    RUN(test_half_rounding);
    RUN(test_half_weights_close);
    return test_report();
}
