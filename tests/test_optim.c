/* Optimizers against torch.optim (fixture from tools/make_golden_lm.py): 4 steps of clipped
 * gradients through SGD (momentum, weight decay), plain SGD, Adam (weight decay) and AdamW; plus
 * clipping properties and the NaN/Inf guard. */
#include "rnnc/optim.h"
#include "rnnc/rnnc.h"
#include "test.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

enum { P = 30, S = 4 };

static void run_golden(const rnnc_safetensors *st, const char *name, rnnc_optim_config c) {
    float init[P], grads[S * P], want[S * P];
    double norms[S];
    int64_t sp = P, sg[2] = {S, P}, sn = S;
    CHECK_EQ_LL(rnnc_st_read_f32(st, "init", 1, &sp, init), RNNC_OK);
    CHECK_EQ_LL(rnnc_st_read_f32(st, "grads", 2, sg, grads), RNNC_OK);
    char key[64];
    snprintf(key, sizeof key, "%s.params", name);
    CHECK_EQ_LL(rnnc_st_read_f32(st, key, 2, sg, want), RNNC_OK);
    snprintf(key, sizeof key, "%s.norms", name);
    const rnnc_st_tensor *t = rnnc_st_find(st, key);
    CHECK(t && t->numel == S);
    if (!t) return;
    memcpy(norms, t->data, sizeof norms);
    (void)sn;
    rnnc_optim o;
    CHECK_EQ_LL(rnnc_optim_init(&o, &c, P), RNNC_OK);
    float p[P], g[P];
    memcpy(p, init, sizeof p);
    for (int s = 0; s < S; s++) {
        memcpy(g, grads + s * P, sizeof g);
        double total = rnnc_clip_grad_norm(g, P, 1.0);
        CHECK_NEAR(total, norms[s], 1e-5, 0);
        rnnc_optim_step(&o, p, g);
        for (int i = 0; i < P; i++)
            CHECK_MSG(fabs(p[i] - want[s * P + i]) <= 1e-6 + 1e-5 * fabs(want[s * P + i]), "%s step %d param %d: %.9g vs %.9g",
                      name, s + 1, i, (double)p[i], (double)want[s * P + i]);
    }
    rnnc_optim_free(&o);
}

static void test_golden(void) {
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, test_path("golden/lm/optim.safetensors")), RNNC_OK);
    if (!st.buf) return;
    rnnc_optim_config sgd = rnnc_optim_defaults(RNNC_OPT_SGD, 0.1);
    sgd.momentum = 0.9;
    sgd.weight_decay = 0.01;
    run_golden(&st, "sgd", sgd);
    run_golden(&st, "sgd_plain", rnnc_optim_defaults(RNNC_OPT_SGD, 0.05));
    rnnc_optim_config adam = rnnc_optim_defaults(RNNC_OPT_ADAM, 0.01);
    adam.weight_decay = 0.01;
    run_golden(&st, "adam", adam);
    rnnc_optim_config adamw = rnnc_optim_defaults(RNNC_OPT_ADAMW, 0.01);
    adamw.weight_decay = 0.1;
    run_golden(&st, "adamw", adamw);
    rnnc_st_free(&st);
}

static void test_clip(void) {
    float g[4] = {3, 4, 0, 0};
    CHECK_NEAR(rnnc_clip_grad_norm(g, 4, 10.0), 5.0, 1e-12, 0);
    CHECK(g[0] == 3 && g[1] == 4); /* coefficient >= 1: untouched */
    CHECK_NEAR(rnnc_clip_grad_norm(g, 4, 1.0), 5.0, 1e-12, 0);
    CHECK_NEAR(rnnc_grad_norm(g, 4), 1.0, 1e-5, 0);
    CHECK_NEAR(g[0], 0.6, 1e-5, 0);
    /* the coefficient alone, as torch forms it: 1 below the limit, max/(total+1e-6) in float above
     * it, and just under 1 at the limit itself (torch scales there too) */
    CHECK(rnnc_clip_coef(4.0, 5.0) == 1.0f);
    CHECK(rnnc_clip_coef(10.0, 5.0) == 5.0f / (10.0f + 1e-6f));
    CHECK(rnnc_clip_coef(5.0, 5.0) < 1.0f && rnnc_clip_coef(5.0, 5.0) > 0.999999f);
}

static void test_defaults_and_parse(void) {
    rnnc_optim_kind k;
    CHECK_EQ_LL(rnnc_optim_parse("adamw", &k), RNNC_OK);
    CHECK(k == RNNC_OPT_ADAMW);
    CHECK_EQ_LL(rnnc_optim_parse("rmsprop", &k), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "rmsprop") != NULL);
    CHECK_STR(rnnc_optim_name(RNNC_OPT_SGD), "sgd");
    rnnc_optim_config c = rnnc_optim_defaults(RNNC_OPT_ADAMW, 1e-3);
    CHECK(c.weight_decay == 0.01 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8);
    rnnc_optim o;
    c.momentum = 1.5;
    CHECK_EQ_LL(rnnc_optim_init(&o, &c, 10), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "momentum") != NULL);
    c = rnnc_optim_defaults(RNNC_OPT_SGD, -1);
    CHECK_EQ_LL(rnnc_optim_init(&o, &c, 10), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "learning rate") != NULL);
}

static void test_nonfinite(void) {
    CHECK_EQ_LL(rnnc_check_finite(1.5, "loss", 3), RNNC_OK);
    CHECK_EQ_LL(rnnc_check_finite(NAN, "loss", 17), RNNC_ERR_NUMERIC);
    CHECK(strstr(rnnc_last_error(), "step 17: loss is NaN") != NULL);
    float g[3] = {1, INFINITY, 0};
    CHECK_EQ_LL(rnnc_check_finite(rnnc_grad_norm(g, 3), "gradient norm", 4), RNNC_ERR_NUMERIC);
    CHECK(strstr(rnnc_last_error(), "step 4: gradient norm is Inf") != NULL);
}

/* rnnc_zero_grad clears exactly n floats, in one piece or in parallel 64K-float chunks with a
 * short last one, and leaves the float after them alone. */
static void test_zero_grad(void) {
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 65536 + 5};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const size_t n = sizes[k];
        float *g = malloc((n + 1) * sizeof(float));
        for (size_t i = 0; i <= n; i++) g[i] = 1.5f;
        rnnc_zero_grad(g, n);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += g[i] != 0.0f;
        CHECK_MSG(bad == 0 && g[n] == 1.5f, "zero_grad n %zu: %zu not cleared, sentinel %g", n, bad, g[n]);
        free(g);
    }
}

/* rnnc_grad_norm: the same bits on 1, 2 and 3 threads (chunks' sums added in order), for sizes
 * below one chunk, across a ragged last chunk and past the 64 partial sums kept on the stack,
 * and within 1e-12 of a long-double sum. */
static void test_grad_norm_threads(void) {
    const size_t sizes[] = {5, 33, 65536 * 2 + 77, 65536 * 70 + 3};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const size_t n = sizes[k];
        float *g = malloc(n * sizeof(float));
        long double want = 0.0L;
        for (size_t i = 0; i < n; i++) {
            g[i] = (float)((double)((i * 2654435761u) % 2001) / 1000.0 - 1.0);
            want += (long double)g[i] * g[i];
        }
        double norms[3];
        for (int nt = 1; nt <= 3; nt++) {
            omp_set_num_threads(nt);
            norms[nt - 1] = rnnc_grad_norm(g, n);
        }
        omp_set_num_threads(2);
        CHECK_MSG(norms[0] == norms[1] && norms[1] == norms[2], "grad_norm n %zu: %.17g %.17g %.17g on 1-3 threads", n,
                  norms[0], norms[1], norms[2]);
        CHECK_MSG(fabs(norms[0] - sqrt((double)want)) <= 1e-12 * sqrt((double)want), "grad_norm n %zu: %.17g against %.17g", n,
                  norms[0], sqrt((double)want));
        free(g);
    }
}

int main(void) {
    RUN(test_golden);
    RUN(test_clip);
    RUN(test_defaults_and_parse);
    RUN(test_nonfinite);
    RUN(test_zero_grad);
    RUN(test_grad_norm_threads);
    return test_report();
}
