/* Recurrent layers against PyTorch: the fixtures in tests/golden/rnn/ (made by
 * tools/make_golden_rnn.py) hold parameters, inputs, outputs and the gradients of a weighted sum
 * of y, hn and cn for every cell x {1,2,3} layers x {uni, bi} x {equal, variable lengths}. */
#include "rnnc/rnn.h"
#include "rnnc/safetensors.h"
#include "test.h"

static const char *const cells[] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};

/* |a - b| <= rtol*|b| + atol with rtol = 1e-4 and atol = 1e-6 * max(1, largest |b| of the
 * tensor): values near zero in a tensor of O(1) entries are judged on absolute error. */
static const double RTOL = 1e-4;
static double worst_rel, worst_abs; /* for the report line: relative error where |b| >= 1e-2 */

static int compare(const char *fixture, const char *name, const float *got, const float *want, size_t n) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    double atol = 1e-6 * fmax(1.0, mx);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (fabs(want[i]) >= 1e-2) worst_rel = fmax(worst_rel, d / fabs(want[i]));
        worst_abs = fmax(worst_abs, d);
        if (!(d <= RTOL * fabs(want[i]) + atol)) {
            if (bad < 3) fprintf(stderr, "  %s %s[%zu]: %.9g, PyTorch %.9g\n", fixture, name, i, (double)got[i], (double)want[i]);
            bad++;
        }
    }
    return bad;
}

static float *read_tensor(const rnnc_safetensors *st, const char *name, size_t *n) {
    const rnnc_st_tensor *t = rnnc_st_find(st, name);
    if (!t) return NULL;
    float *v = malloc((t->numel ? t->numel : 1) * sizeof(float));
    if (rnnc_st_read_f32(st, name, t->ndim, t->shape, v) != RNNC_OK) { free(v); return NULL; }
    *n = t->numel;
    return v;
}

static int meta_int(const rnnc_safetensors *st, const char *key) {
    const char *v = rnnc_st_meta(st, key);
    return v ? atoi(v) : -1;
}

static void run_fixture(const char *file) {
    rnnc_safetensors st;
    char rel[256];
    snprintf(rel, sizeof rel, "golden/rnn/%s", file);
    rnnc_status s = rnnc_st_load(&st, test_path(rel));
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (s) return;
    rnnc_rnn_config c = {.input = meta_int(&st, "input"), .hidden = meta_int(&st, "hidden"),
                         .layers = meta_int(&st, "layers"), .bidirectional = meta_int(&st, "bidirectional") == 1};
    CHECK(rnnc_cell_parse(rnnc_st_meta(&st, "cell"), &c.cell) == RNNC_OK);
    CHECK(rnnc_rnn_config_check(&c) == RNNC_OK);
    const int B = meta_int(&st, "batch"), T = meta_int(&st, "seq"), D = c.bidirectional ? 2 : 1, H = c.hidden;
    const bool lstm = c.cell == RNNC_CELL_LSTM;
    size_t np = rnnc_rnn_num_params(&c), n;
    float *params = malloc(np * sizeof(float)), *want_dp = malloc(np * sizeof(float));
    for (size_t k = 0; k < rnnc_rnn_num_tensors(&c); k++) {
        rnnc_param_info p = rnnc_rnn_tensor(&c, k);
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        char gname[64];
        snprintf(gname, sizeof gname, "grad.%s", p.name);
        CHECK_MSG(rnnc_st_read_f32(&st, p.name, p.ndim, shape, params + p.offset) == RNNC_OK, "%s", rnnc_last_error());
        CHECK_MSG(rnnc_st_read_f32(&st, gname, p.ndim, shape, want_dp + p.offset) == RNNC_OK, "%s", rnnc_last_error());
    }
    float *x = read_tensor(&st, "x", &n), *h0 = read_tensor(&st, "h0", &n), *wy = read_tensor(&st, "wy", &n);
    float *wh = read_tensor(&st, "wh", &n), *c0 = lstm ? read_tensor(&st, "c0", &n) : NULL;
    float *wc = lstm ? read_tensor(&st, "wc", &n) : NULL;
    float *want_y = read_tensor(&st, "y", &n), *want_hn = read_tensor(&st, "hn", &n);
    float *want_cn = lstm ? read_tensor(&st, "cn", &n) : NULL;
    float *want_dx = read_tensor(&st, "grad.x", &n), *want_dh0 = read_tensor(&st, "grad.h0", &n);
    float *want_dc0 = lstm ? read_tensor(&st, "grad.c0", &n) : NULL;
    int64_t len64[64];
    int len[64];
    int64_t lshape[1] = {B};
    CHECK(B <= 64 && rnnc_st_read_i64(&st, "lengths", 1, lshape, len64) == RNNC_OK);
    for (int b = 0; b < B && b < 64; b++) len[b] = (int)len64[b];
    CHECK(x && h0 && wy && wh && want_y && want_hn && want_dx && want_dh0 && (!lstm || (c0 && wc && want_cn && want_dc0)));
    if (!(x && h0 && wy && wh && want_y && want_hn && want_dx && want_dh0 && (!lstm || (c0 && wc && want_cn && want_dc0))))
        goto done;

    const size_t ny = (size_t)B * T * D * H, ns = (size_t)c.layers * D * B * H, nx = (size_t)B * T * c.input;
    float *y = malloc(ny * sizeof(float)), *hn = malloc(ns * sizeof(float)), *cn = malloc(ns * sizeof(float));
    float *dp = calloc(np, sizeof(float)), *dx = malloc(nx * sizeof(float)), *dh0 = malloc(ns * sizeof(float));
    float *dc0 = malloc(ns * sizeof(float));
    rnnc_rnn_ws *ws;
    /* a workspace larger than needed, as a training loop would keep */
    CHECK(rnnc_rnn_ws_new(&ws, &c, B + 2, T + 3) == RNNC_OK);
    CHECK(rnnc_rnn_forward(ws, params, B, T, x, len, h0, c0, y, hn, lstm ? cn : NULL, false, NULL) == RNNC_OK);
    CHECK(rnnc_rnn_backward(ws, params, dp, wy, wh, wc, dx, dh0, lstm ? dc0 : NULL) == RNNC_OK);
    int bad = compare(file, "y", y, want_y, ny) + compare(file, "hn", hn, want_hn, ns);
    if (lstm) bad += compare(file, "cn", cn, want_cn, ns) + compare(file, "grad.c0", dc0, want_dc0, ns);
    bad += compare(file, "grad.x", dx, want_dx, nx) + compare(file, "grad.h0", dh0, want_dh0, ns);
    for (size_t k = 0; k < rnnc_rnn_num_tensors(&c); k++) {
        rnnc_param_info p = rnnc_rnn_tensor(&c, k);
        bad += compare(file, p.name, dp + p.offset, want_dp + p.offset, p.size);
    }
    CHECK_MSG(bad == 0, "%s: %d values off", file, bad);
    rnnc_rnn_ws_free(ws);
    free(y); free(hn); free(cn); free(dp); free(dx); free(dh0); free(dc0);
done:
    free(params); free(want_dp); free(x); free(h0); free(wy); free(wh); free(c0); free(wc);
    free(want_y); free(want_hn); free(want_cn); free(want_dx); free(want_dh0); free(want_dc0);
    rnnc_st_free(&st);
}

static void test_golden_all(void) {
    int n = 0;
    for (int k = 0; k < 4; k++)
        for (int L = 1; L <= 3; L++)
            for (int bi = 0; bi < 2; bi++)
                for (int var = 0; var < 2; var++) {
                    char file[128];
                    snprintf(file, sizeof file, "%s_l%d_%s_%s.safetensors", cells[k], L, bi ? "bi" : "uni", var ? "var" : "eq");
                    run_fixture(file);
                    n++;
                }
    CHECK_EQ_LL(n, 48);
    printf("worst relative error (|PyTorch| >= 1e-2): %.3g; worst absolute error: %.3g\n", worst_rel, worst_abs);
}

int main(void) {
    /* every way of running the time loop, the threaded ones even on these small layers */
    const rnnc_loop_mode modes[5] = {RNNC_LOOP_UNITS, RNNC_LOOP_ROWS, RNNC_LOOP_SERIAL, RNNC_LOOP_DIRS, RNNC_LOOP_WAVE};
    for (int m = 0; m < 5; m++) {
        rnnc_rnn_set_loop_mode(modes[m]);
        RUN(test_golden_all);
    }
    return test_report();
}
