/* Recurrent layers: finite-difference gradient checks for every cell (stacked, bidirectional,
 * variable lengths, dropout), packed-sequence semantics, workspace reuse, the parameter layout
 * and bad arguments. The PyTorch comparisons are in test_rnn_golden.c. */
#include <omp.h>

#include "nn/gemm.h"
#include "rnnc/rnn.h"
#include "rnnc/status.h"
#include "test.h"

/* Every cell of the table, so that a new cell is checked by every test here. */
#define NCELLS ((int)RNNC_CELL_COUNT)
#define CELL(k) ((rnnc_cell)(k))
/* Whether the cell carries the second state (c0, cn, dc0): LSTM. */
static bool two_states(rnnc_cell cell) { return rnnc_cell_info_of(cell)->states > 1; }

static float *randv(size_t n, rnnc_rng *r, float scale) {
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (2.0f * rnnc_rng_uniform(r) - 1.0f) * scale;
    return v;
}

/* One problem: a config, a batch, weights for the loss L = <wy,y> + <wh,hn> + <wc,cn>. */
typedef struct {
    rnnc_rnn_config c;
    int B, T;
    const int *len;
    bool training;
    float *params, *x, *h0, *c0, *wy, *wh, *wc;
    size_t np, nx, ns, ny;
    rnnc_rnn_ws *ws;
    float *y, *hn, *cn;
} problem;

static void problem_init(problem *p, rnnc_cell cell, int I, int H, int L, bool bidir, int B, int T, const int *len,
                         float dropout, uint64_t seed) {
    memset(p, 0, sizeof *p);
    p->c = (rnnc_rnn_config){.cell = cell, .input = I, .hidden = H, .layers = L, .bidirectional = bidir, .dropout = dropout};
    p->B = B; p->T = T; p->len = len; p->training = dropout > 0;
    rnnc_rng r;
    rnnc_rng_seed(&r, seed);
    int D = bidir ? 2 : 1;
    p->np = rnnc_rnn_num_params(&p->c);
    p->nx = (size_t)B * T * I;
    p->ns = (size_t)L * D * B * H;
    p->ny = (size_t)B * T * D * H;
    p->params = randv(p->np, &r, 0.6f);
    p->x = randv(p->nx, &r, 1.0f);
    p->h0 = randv(p->ns, &r, 0.5f);
    p->c0 = randv(p->ns, &r, 0.5f);
    p->wy = randv(p->ny, &r, 1.0f);
    p->wh = randv(p->ns, &r, 1.0f);
    p->wc = randv(p->ns, &r, 1.0f);
    p->y = malloc(p->ny * sizeof(float));
    p->hn = malloc(p->ns * sizeof(float));
    p->cn = malloc(p->ns * sizeof(float));
    CHECK(rnnc_rnn_ws_new(&p->ws, &p->c, B, T) == RNNC_OK);
}

static void problem_free(problem *p) {
    rnnc_rnn_ws_free(p->ws);
    free(p->params); free(p->x); free(p->h0); free(p->c0); free(p->wy); free(p->wh); free(p->wc);
    free(p->y); free(p->hn); free(p->cn);
}

/* The loss in double; the same dropout mask every time (the rng is reseeded). */
static double problem_loss(problem *p) {
    rnnc_rng r;
    rnnc_rng_seed(&r, 99);
    rnnc_status st = rnnc_rnn_forward(p->ws, p->params, p->B, p->T, p->x, p->len, p->h0, p->c0, p->y, p->hn, p->cn,
                                      p->training, &r);
    if (st) return NAN;
    double s = 0;
    for (size_t i = 0; i < p->ny; i++) s += (double)p->wy[i] * p->y[i];
    for (size_t i = 0; i < p->ns; i++) s += (double)p->wh[i] * p->hn[i];
    if (two_states(p->c.cell))
        for (size_t i = 0; i < p->ns; i++) s += (double)p->wc[i] * p->cn[i];
    return s;
}

/* Central differences on every entry of v against the analytic gradient g. With relu the loss
 * has kinks; where one lies within eps of the point the central difference averages two slopes,
 * and the analytic gradient must match the one-sided slope on its side instead. */
static bool fd_close(double an, double fd) { return fabs(fd - an) <= 2e-3 + 1e-2 * fabs(fd); }

static int fd_compare(problem *p, float *v, const float *g, size_t n, const char *what, size_t stride) {
    const float eps = 4e-3f;
    int bad = 0;
    double l0 = problem_loss(p);
    for (size_t i = 0; i < n; i += stride) {
        float keep = v[i];
        v[i] = keep + eps;
        double lp = problem_loss(p);
        v[i] = keep - eps;
        double lm = problem_loss(p);
        v[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)eps);
        bool ok = fd_close(g[i], fd);
        if (!ok && p->c.cell == RNNC_CELL_RNN_RELU)
            ok = fd_close(g[i], (lp - l0) / eps) || fd_close(g[i], (l0 - lm) / eps);
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  %s %s[%zu]: analytic %.6g, numeric %.6g\n", rnnc_cell_name(p->c.cell), what, i,
                        (double)g[i], fd);
            bad++;
        }
    }
    return bad;
}

/* stride: check every stride-th entry of each tensor (the wide case has thousands). */
static void gradcheck_n(rnnc_cell cell, int I, int H, int L, bool bidir, int B, int T, const int *len, float dropout,
                        size_t stride) {
    problem p;
    problem_init(&p, cell, I, H, L, bidir, B, T, len, dropout, 1234 + (uint64_t)cell * 7 + L);
    double loss = problem_loss(&p);
    CHECK(isfinite(loss));
    float *dp = calloc(p.np, sizeof(float)), *dx = malloc(p.nx * sizeof(float));
    float *dh0 = malloc(p.ns * sizeof(float)), *dc0 = malloc(p.ns * sizeof(float));
    CHECK(rnnc_rnn_backward(p.ws, p.params, dp, p.wy, p.wh, two_states(cell) ? p.wc : NULL, dx, dh0, dc0) == RNNC_OK);
    int bad = fd_compare(&p, p.params, dp, p.np, "param", stride);
    bad += fd_compare(&p, p.x, dx, p.nx, "x", 1);
    bad += fd_compare(&p, p.h0, dh0, p.ns, "h0", 1);
    if (two_states(cell)) bad += fd_compare(&p, p.c0, dc0, p.ns, "c0", 1);
    CHECK_MSG(bad == 0, "%s I=%d H=%d L=%d bidir=%d B=%d T=%d len=%s dropout=%g: %d gradients off",
              rnnc_cell_name(cell), I, H, L, bidir, B, T, len ? "var" : "all", (double)dropout, bad);
    /* backward accumulates: a second call doubles the parameter gradient */
    float *dp2 = malloc(p.np * sizeof(float));
    memcpy(dp2, dp, p.np * sizeof(float));
    problem_loss(&p); /* the workspace holds the last perturbed forward */
    CHECK(rnnc_rnn_backward(p.ws, p.params, dp2, p.wy, p.wh, two_states(cell) ? p.wc : NULL, NULL, NULL, NULL) == RNNC_OK);
    int acc_bad = 0;
    for (size_t i = 0; i < p.np; i++) acc_bad += !(fabsf(dp2[i] - 2 * dp[i]) <= 1e-5f * (1 + fabsf(dp[i])));
    CHECK_EQ_LL(acc_bad, 0);
    free(dp); free(dp2); free(dx); free(dh0); free(dc0);
    problem_free(&p);
}

static void gradcheck(rnnc_cell cell, int I, int H, int L, bool bidir, int B, int T, const int *len, float dropout) {
    gradcheck_n(cell, I, H, L, bidir, B, T, len, dropout, 1);
}

static void test_gradcheck_single_layer(void) {
    for (int k = 0; k < NCELLS; k++) gradcheck(CELL(k), 3, 5, 1, false, 2, 4, NULL, 0);
}

static void test_gradcheck_stacked_bidirectional_varlen(void) {
    static const int len[3] = {4, 1, 3};
    for (int k = 0; k < NCELLS; k++) gradcheck(CELL(k), 3, 5, 2, true, 3, 4, len, 0);
}

static void test_gradcheck_three_layers_varlen(void) {
    static const int len[2] = {2, 5};
    for (int k = 0; k < NCELLS; k++) gradcheck(CELL(k), 2, 4, 3, false, 2, 5, len, 0);
}

static void test_gradcheck_dropout(void) {
    static const int len[2] = {3, 2};
    for (int k = 0; k < NCELLS; k++) gradcheck(CELL(k), 3, 4, 2, true, 2, 3, len, 0.4f);
}

static void test_gradcheck_b1_t1(void) {
    for (int k = 0; k < NCELLS; k++) gradcheck(CELL(k), 2, 3, 2, true, 1, 1, NULL, 0);
}

/* Wider than one 32-unit chunk of the time loop, with a partial last chunk (H = 37). */
static void test_gradcheck_wide(void) {
    static const int len[2] = {3, 2};
    for (int k = 0; k < NCELLS; k++) gradcheck_n(CELL(k), 2, 37, 1, true, 2, 3, len, 0, 7);
}

/* pack_padded_sequence semantics: a padded batch gives each sequence exactly what running it
 * alone gives, zeros after its end, and its final state at its last step (both directions). */
static void test_varlen_matches_separate_runs(void) {
    static const int len[3] = {5, 2, 4};
    for (int k = 0; k < NCELLS; k++) {
        problem p;
        problem_init(&p, CELL(k), 3, 6, 2, true, 3, 5, len, 0, 77);
        problem_loss(&p);
        const int H = 6, D = 2, I = 3, L = 2, T = 5, B = 3;
        int bad = 0, nonzero_pad = 0;
        for (int b = 0; b < B; b++) {
            rnnc_rnn_ws *ws;
            CHECK(rnnc_rnn_ws_new(&ws, &p.c, 1, len[b]) == RNNC_OK);
            float y1[5 * 12], hn1[4 * 6], cn1[4 * 6], h01[4 * 6], c01[4 * 6];
            for (int s = 0; s < L * D; s++) {
                memcpy(h01 + s * H, p.h0 + ((size_t)s * B + b) * H, H * sizeof(float));
                memcpy(c01 + s * H, p.c0 + ((size_t)s * B + b) * H, H * sizeof(float));
            }
            CHECK(rnnc_rnn_forward(ws, p.params, 1, len[b], p.x + (size_t)b * T * I, NULL, h01, c01, y1, hn1, cn1, false,
                                   NULL) == RNNC_OK);
            for (int t = 0; t < T; t++)
                for (int j = 0; j < D * H; j++) {
                    float v = p.y[((size_t)b * T + t) * D * H + j];
                    if (t < len[b]) bad += !(fabsf(v - y1[t * D * H + j]) <= 1e-5f);
                    else nonzero_pad += v != 0.0f;
                }
            for (int s = 0; s < L * D; s++)
                for (int j = 0; j < H; j++) {
                    bad += !(fabsf(p.hn[((size_t)s * B + b) * H + j] - hn1[s * H + j]) <= 1e-5f);
                    if (two_states(CELL(k)))
                        bad += !(fabsf(p.cn[((size_t)s * B + b) * H + j] - cn1[s * H + j]) <= 1e-5f);
                }
            rnnc_rnn_ws_free(ws);
        }
        CHECK_MSG(bad == 0, "%s: %d values differ from separate runs", rnnc_cell_name(CELL(k)), bad);
        CHECK_EQ_LL(nonzero_pad, 0);
        problem_free(&p);
    }
}

/* A workspace made for (4, 7) serves (2, 3) exactly as a fresh (2, 3) one; repeated runs and
 * runs on one thread give the same numbers (up to BLAS rounding across thread counts). */
static void test_workspace_reuse_and_determinism(void) {
    for (int k = 0; k < NCELLS; k++) {
        rnnc_rnn_config c = {.cell = CELL(k), .input = 5, .hidden = 19, .layers = 2, .bidirectional = true};
        rnnc_rng r;
        rnnc_rng_seed(&r, 5);
        size_t np = rnnc_rnn_num_params(&c);
        float *params = randv(np, &r, 0.3f), *x = randv(2 * 3 * 5, &r, 1.0f), *dy = randv(2 * 3 * 38, &r, 1.0f);
        int len[2] = {3, 2};
        float y[3][2 * 3 * 38], dx[3][2 * 3 * 5];
        float *dp[3];
        rnnc_rnn_ws *big, *small;
        CHECK(rnnc_rnn_ws_new(&big, &c, 4, 7) == RNNC_OK);
        CHECK(rnnc_rnn_ws_new(&small, &c, 2, 3) == RNNC_OK);
        /* a larger forward first, so stale data from it sits in the big workspace */
        float *xb = randv(4 * 7 * 5, &r, 1.0f), *yb = malloc(4 * 7 * 38 * sizeof(float));
        CHECK(rnnc_rnn_forward(big, params, 4, 7, xb, NULL, NULL, NULL, yb, NULL, NULL, false, NULL) == RNNC_OK);
        rnnc_rnn_ws *wss[3] = {big, small, small};
        for (int i = 0; i < 3; i++) {
            dp[i] = calloc(np, sizeof(float));
            CHECK(rnnc_rnn_forward(wss[i], params, 2, 3, x, len, NULL, NULL, y[i], NULL, NULL, false, NULL) == RNNC_OK);
            CHECK(rnnc_rnn_backward(wss[i], params, dp[i], dy, NULL, NULL, dx[i], NULL, NULL) == RNNC_OK);
        }
        CHECK(!memcmp(y[0], y[1], sizeof y[0]) && !memcmp(y[1], y[2], sizeof y[0]));
        CHECK(!memcmp(dx[0], dx[1], sizeof dx[0]) && !memcmp(dx[1], dx[2], sizeof dx[0]));
        CHECK(!memcmp(dp[0], dp[1], np * sizeof(float)) && !memcmp(dp[1], dp[2], np * sizeof(float)));
        /* one thread */
        int nth = omp_get_max_threads();
        omp_set_num_threads(1);
        float y1[2 * 3 * 38];
        float *dp1 = calloc(np, sizeof(float));
        CHECK(rnnc_rnn_forward(small, params, 2, 3, x, len, NULL, NULL, y1, NULL, NULL, false, NULL) == RNNC_OK);
        CHECK(rnnc_rnn_backward(small, params, dp1, dy, NULL, NULL, NULL, NULL, NULL) == RNNC_OK);
        omp_set_num_threads(nth);
        int bad = 0;
        for (size_t i = 0; i < sizeof y1 / sizeof *y1; i++) bad += !(fabsf(y1[i] - y[0][i]) <= 1e-5f);
        for (size_t i = 0; i < np; i++) bad += !(fabsf(dp1[i] - dp[0][i]) <= 1e-4f * (1 + fabsf(dp[0][i])));
        CHECK_EQ_LL(bad, 0);
        for (int i = 0; i < 3; i++) free(dp[i]);
        free(dp1); free(params); free(x); free(dy); free(xb); free(yb);
        rnnc_rnn_ws_free(big);
        rnnc_rnn_ws_free(small);
    }
}

static void test_dropout_semantics(void) {
    /* eval mode ignores dropout; training mode with p = 1 cuts layer 1 off from the input */
    rnnc_rnn_config c = {.cell = RNNC_CELL_GRU, .input = 3, .hidden = 8, .layers = 2, .dropout = 1.0f};
    rnnc_rnn_config c0 = c;
    c0.dropout = 0.0f;
    rnnc_rng r;
    rnnc_rng_seed(&r, 3);
    size_t np = rnnc_rnn_num_params(&c);
    float *params = randv(np, &r, 0.4f), *x1 = randv(2 * 4 * 3, &r, 1), *x2 = randv(2 * 4 * 3, &r, 1);
    float ya[64], yb[64], yc[64], yd[64];
    rnnc_rnn_ws *ws, *ws0;
    CHECK(rnnc_rnn_ws_new(&ws, &c, 2, 4) == RNNC_OK);
    CHECK(rnnc_rnn_ws_new(&ws0, &c0, 2, 4) == RNNC_OK);
    CHECK(rnnc_rnn_forward(ws, params, 2, 4, x1, NULL, NULL, NULL, ya, NULL, NULL, false, NULL) == RNNC_OK);
    CHECK(rnnc_rnn_forward(ws0, params, 2, 4, x1, NULL, NULL, NULL, yb, NULL, NULL, true, NULL) == RNNC_OK);
    CHECK(!memcmp(ya, yb, sizeof ya));
    CHECK(rnnc_rnn_forward(ws, params, 2, 4, x1, NULL, NULL, NULL, yc, NULL, NULL, true, &r) == RNNC_OK);
    CHECK(rnnc_rnn_forward(ws, params, 2, 4, x2, NULL, NULL, NULL, yd, NULL, NULL, true, &r) == RNNC_OK);
    CHECK(!memcmp(yc, yd, sizeof yc));
    CHECK(memcmp(ya, yc, sizeof ya) != 0);
    CHECK(rnnc_rnn_forward(ws, params, 2, 4, x1, NULL, NULL, NULL, yc, NULL, NULL, true, NULL) == RNNC_ERR_ARG);
    rnnc_rnn_ws_free(ws);
    rnnc_rnn_ws_free(ws0);
    free(params); free(x1); free(x2);
}

static void test_layout(void) {
    rnnc_rnn_config c = {.cell = RNNC_CELL_LSTM, .input = 10, .hidden = 7, .layers = 2, .bidirectional = true};
    CHECK_EQ_LL(rnnc_rnn_num_tensors(&c), 16);
    size_t total = 0;
    for (size_t k = 0; k < rnnc_rnn_num_tensors(&c); k++) {
        rnnc_param_info p = rnnc_rnn_tensor(&c, k);
        CHECK_EQ_LL(p.offset, total);
        total += p.size;
    }
    CHECK_EQ_LL(total, rnnc_rnn_num_params(&c));
    rnnc_param_info p = rnnc_rnn_tensor(&c, 4);
    CHECK_STR(p.name, "weight_ih_l0_reverse");
    CHECK_EQ_LL(p.shape[0], 28);
    CHECK_EQ_LL(p.shape[1], 10);
    p = rnnc_rnn_tensor(&c, 9);
    CHECK_STR(p.name, "weight_hh_l1");
    CHECK_EQ_LL(p.shape[1], 7);
    p = rnnc_rnn_tensor(&c, 8);
    CHECK_EQ_LL(p.shape[1], 14);
    p = rnnc_rnn_tensor(&c, 15);
    CHECK_STR(p.name, "bias_hh_l1_reverse");
    CHECK_EQ_LL(p.ndim, 1);
    /* rnnc_rnn_layer: the four tensors of each layer and direction, for every cell */
    for (int k = 0; k < NCELLS; k++) {
        rnnc_rnn_config ck = c;
        ck.cell = CELL(k);
        for (int l = 0; l < 2; l++)
            for (int d = 0; d < 2; d++) {
                const rnnc_rnn_layer_layout y = rnnc_rnn_layer(&ck, l, d);
                const size_t t0 = (size_t)(l * 2 + d) * 4;
                rnnc_param_info w_ih = rnnc_rnn_tensor(&ck, t0), w_hh = rnnc_rnn_tensor(&ck, t0 + 1);
                rnnc_param_info b_ih = rnnc_rnn_tensor(&ck, t0 + 2), b_hh = rnnc_rnn_tensor(&ck, t0 + 3);
                CHECK(y.w_ih == w_ih.offset && y.w_hh == w_hh.offset && y.b_ih == b_ih.offset && y.b_hh == b_hh.offset);
                CHECK(y.rows == rnnc_cell_gates(ck.cell) * 7 && y.rows == w_ih.shape[0] && y.input == w_ih.shape[1]);
                CHECK_EQ_LL(y.input, l == 0 ? 10 : 14);
            }
    }
    /* 4x and 3x the parameters of an Elman layer of the same sizes */
    rnnc_rnn_config e = c, g = c;
    e.cell = RNNC_CELL_RNN_TANH;
    g.cell = RNNC_CELL_GRU;
    CHECK_EQ_LL(rnnc_rnn_num_params(&c), 4 * rnnc_rnn_num_params(&e));
    CHECK_EQ_LL(rnnc_rnn_num_params(&g), 3 * rnnc_rnn_num_params(&e));
    /* PyTorch's formula for one unidirectional LSTM layer */
    rnnc_rnn_config one = {.cell = RNNC_CELL_LSTM, .input = 64, .hidden = 512, .layers = 1};
    CHECK_EQ_LL(rnnc_rnn_num_params(&one), 4 * (512 * 64 + 512 * 512 + 2 * 512));
    rnnc_rng r;
    rnnc_rng_seed(&r, 1);
    float *w = malloc(rnnc_rnn_num_params(&c) * sizeof(float));
    rnnc_rnn_init(&c, w, &r);
    float lim = 1.0f / sqrtf(7.0f), mx = 0;
    for (size_t i = 0; i < rnnc_rnn_num_params(&c); i++) mx = fmaxf(mx, fabsf(w[i]));
    CHECK(mx <= lim && mx > 0.9f * lim);
    free(w);
}

/* The cell table: a complete row per value, PyTorch's gate and state counts, names both ways,
 * and values that are no cell refused by name. */
static void test_cell_table(void) {
    for (int k = 0; k < NCELLS; k++) {
        const rnnc_cell_info *ci = rnnc_cell_info_of(CELL(k));
        CHECK(ci && ci->name && ci->forward && ci->backward);
        if (!ci) continue;
        CHECK(ci->gates >= 1 && ci->states >= 1 && ci->states <= RNNC_CELL_MAX_STATES && ci->aux >= 0);
        CHECK_EQ_LL(rnnc_cell_gates(CELL(k)), ci->gates);
        CHECK_STR(rnnc_cell_name(CELL(k)), ci->name);
    }
    const rnnc_cell_info *lstm = rnnc_cell_info_of(RNNC_CELL_LSTM), *gru = rnnc_cell_info_of(RNNC_CELL_GRU);
    const rnnc_cell_info *tanh_ = rnnc_cell_info_of(RNNC_CELL_RNN_TANH), *relu = rnnc_cell_info_of(RNNC_CELL_RNN_RELU);
    CHECK(lstm->gates == 4 && lstm->states == 2 && lstm->aux == 0 && !lstm->split_dg);
    CHECK(gru->gates == 3 && gru->states == 1 && gru->aux == 1 && gru->split_dg);
    CHECK(tanh_->gates == 1 && tanh_->states == 1 && relu->gates == 1 && relu->states == 1);
    CHECK(tanh_->forward != relu->forward && tanh_->backward != relu->backward);
    CHECK(rnnc_cell_info_of(RNNC_CELL_COUNT) == NULL && rnnc_cell_info_of((rnnc_cell)-1) == NULL);
    CHECK_EQ_LL(rnnc_cell_gates(RNNC_CELL_COUNT), 0);
    CHECK_STR(rnnc_cell_name((rnnc_cell)99), "unknown");
    /* the list of names: the table's, in its order, "a, b, c or d" (built here from the rows, so
     * that a new cell needs no edit here), and snprintf's rules when it does not fit */
    char want[512] = "", buf[512], msg[600];
    for (int k = 0; k < NCELLS; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", k == 0 ? "" : k + 1 < NCELLS ? ", " : " or ",
                 rnnc_cell_name(CELL(k)));
    CHECK(!strncmp(want, "rnn_tanh, rnn_relu, lstm", 24)); /* today's cells keep their order */
    CHECK_EQ_LL(rnnc_cell_list(buf, sizeof buf), strlen(want));
    CHECK_STR(buf, want);
    CHECK_EQ_LL(rnnc_cell_list(buf, 12), strlen(want));
    CHECK_STR(buf, "rnn_tanh, r");
    CHECK_EQ_LL(rnnc_cell_list(NULL, 0), strlen(want));
    CHECK(rnnc_cell_check(RNNC_CELL_GRU, "x") == RNNC_OK);
    CHECK(rnnc_cell_check((rnnc_cell)99, "model config") == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "model config: unknown cell 99") != NULL);
    CHECK(strstr(rnnc_last_error(), want) != NULL);
    rnnc_rnn_config c = {.cell = RNNC_CELL_COUNT, .input = 4, .hidden = 4, .layers = 1};
    CHECK(rnnc_rnn_config_check(&c) == RNNC_ERR_ARG);
    snprintf(msg, sizeof msg, "rnn config: unknown cell %d", NCELLS);
    CHECK(strstr(rnnc_last_error(), msg) != NULL);
    rnnc_rnn_ws *ws = NULL;
    CHECK(rnnc_rnn_ws_new(&ws, &c, 2, 2) == RNNC_ERR_ARG && ws == NULL);
    rnnc_cell cell;
    CHECK(rnnc_cell_parse(NULL, &cell) == RNNC_ERR_ARG);
    CHECK(rnnc_cell_parse("transformer", &cell) == RNNC_ERR_ARG);
    snprintf(msg, sizeof msg, "\"transformer\" (expected %s)", want);
    CHECK(strstr(rnnc_last_error(), msg) != NULL);
}

static void test_names_and_bad_input(void) {
    rnnc_cell cell;
    for (int k = 0; k < NCELLS; k++) {
        CHECK(rnnc_cell_parse(rnnc_cell_name(CELL(k)), &cell) == RNNC_OK);
        CHECK(cell == CELL(k));
    }
    CHECK(rnnc_cell_parse("lstm2", &cell) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "lstm2") != NULL);
    CHECK_EQ_LL(rnnc_cell_gates(RNNC_CELL_GRU), 3);
    rnnc_rnn_config c = {.cell = RNNC_CELL_LSTM, .input = 4, .hidden = 0, .layers = 1};
    CHECK(rnnc_rnn_config_check(&c) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "hidden") != NULL);
    c.hidden = 4;
    c.dropout = 1.5f;
    CHECK(rnnc_rnn_config_check(&c) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "dropout") != NULL);
    c.dropout = 0;
    c.layers = 0;
    CHECK(rnnc_rnn_config_check(&c) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "layers") != NULL);
    c.layers = 1;
    rnnc_rnn_ws *ws = NULL;
    CHECK(rnnc_rnn_ws_new(&ws, &c, 0, 3) == RNNC_ERR_ARG);
    CHECK(rnnc_rnn_ws_new(&ws, &c, 2, 3) == RNNC_OK);
    float params[200] = {0}, dp[200] = {0}, x[2 * 4 * 4] = {0}, y[2 * 4 * 4];
    CHECK(rnnc_rnn_backward(ws, params, dp, y, NULL, NULL, NULL, NULL, NULL) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "no forward") != NULL);
    CHECK(rnnc_rnn_forward(ws, params, 3, 3, x, NULL, NULL, NULL, y, NULL, NULL, false, NULL) == RNNC_ERR_ARG);
    CHECK(rnnc_rnn_forward(ws, params, 2, 4, x, NULL, NULL, NULL, y, NULL, NULL, false, NULL) == RNNC_ERR_ARG);
    int len[2] = {3, 0};
    CHECK(rnnc_rnn_forward(ws, params, 2, 3, x, len, NULL, NULL, y, NULL, NULL, false, NULL) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "lengths[1]") != NULL);
    len[1] = 4;
    CHECK(rnnc_rnn_forward(ws, params, 2, 3, x, len, NULL, NULL, y, NULL, NULL, false, NULL) == RNNC_ERR_ARG);
    CHECK(rnnc_rnn_forward(ws, params, 2, 3, x, NULL, NULL, NULL, y, NULL, NULL, false, NULL) == RNNC_OK);
    rnnc_rnn_ws_free(ws);
}

/* The vectorised nonlinearities against libm. */
#include "nn/cell.h"
static void test_math(void) {
    double worst_e = 0, worst_t = 0, worst_s = 0;
    for (int i = -200000; i <= 200000; i++) {
        float x = i * 1e-4f * (i % 7 == 0 ? 7.0f : 1.0f);
        double e = exp((double)x), t = tanh((double)x), s = 1 / (1 + exp(-(double)x));
        if (x > -80 && x < 80) worst_e = fmax(worst_e, fabs(rnnc_expf(x) - e) / e);
        worst_t = fmax(worst_t, fabs(rnnc_tanhf(x) - t) / fmax(fabs(t), 1e-30));
        if (x > -80) worst_s = fmax(worst_s, fabs(rnnc_sigmoidf(x) - s) / s);
    }
    CHECK_MSG(worst_e < 1e-6, "exp %g", worst_e);
    CHECK_MSG(worst_t < 1e-6, "tanh %g", worst_t);
    CHECK_MSG(worst_s < 1e-6, "sigmoid %g", worst_s);
    CHECK(rnnc_tanhf(0.0f) == 0.0f && rnnc_tanhf(50.0f) == 1.0f && rnnc_tanhf(-50.0f) == -1.0f);
    /* NaN goes through (a diverged run must still show NaN in its loss) */
    CHECK(isnan(rnnc_expf(NAN)) && isnan(rnnc_tanhf(NAN)) && isnan(rnnc_sigmoidf(NAN)));
    CHECK(rnnc_sigmoidf(-200.0f) >= 0.0f && rnnc_sigmoidf(-200.0f) < 1e-37f && rnnc_sigmoidf(200.0f) == 1.0f);
}

/* The eight-lane nonlinearities (vmath.h, AVX2 + FMA builds), and the sixteen-lane ones of AVX-512
 * builds, are lane for lane the bits of the scalar ones, NaN for NaN, over a sweep of values and
 * random bit patterns (every exponent). */
#ifdef RNNC_V8
static bool same_float(float a, float b) { return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof a); }

/* Lanes k < n of the vector results e, s, t against the scalar functions of x[k]: counts the
 * checked lanes in *n_checked and the wrong ones in *bad, reporting the first five. */
static void check_lanes(const float *x, const float *e, const float *s, const float *t, int n, long *n_checked,
                        long *bad) {
    for (int k = 0; k < n; k++, (*n_checked)++)
        if (!same_float(e[k], rnnc_expf(x[k])) || !same_float(s[k], rnnc_sigmoidf(x[k])) ||
            !same_float(t[k], rnnc_tanhf(x[k]))) {
            if ((*bad)++ < 5)
                CHECK_MSG(false, "x %a in %d lanes: exp %a/%a sigmoid %a/%a tanh %a/%a", x[k], n, e[k], rnnc_expf(x[k]),
                          s[k], rnnc_sigmoidf(x[k]), t[k], rnnc_tanhf(x[k]));
        }
}
#endif

static void test_math_lanes(void) {
#ifdef RNNC_V8
    uint64_t st = 12345;
    long bad = 0, n = 0, n16 = 0;
    for (int i = 0; i < 400000; i += 8) {
        float x[8], e[8], s[8], t[8];
        for (int k = 0; k < 8; k++) {
            if (i < 200000) {
                x[k] = (i + k - 100000) * 1e-3f; /* -100 .. 100 */
            } else {
                st = st * 6364136223846793005ULL + 1442695040888963407ULL;
                uint32_t u = (uint32_t)(st >> 32);
                memcpy(&x[k], &u, sizeof u);
            }
        }
        if (i == 0) { x[0] = NAN; x[1] = INFINITY; x[2] = -INFINITY; x[3] = 0.0f; x[4] = -0.0f; x[5] = 0.5f; x[6] = -0.5f; x[7] = 1e-40f; }
        __m256 v = _mm256_loadu_ps(x);
        _mm256_storeu_ps(e, rnnc_v8_expf(v));
        _mm256_storeu_ps(s, rnnc_v8_sigmoidf(v));
        _mm256_storeu_ps(t, rnnc_v8_tanhf(v));
        check_lanes(x, e, s, t, 8, &n, &bad);
#ifdef RNNC_V16
        /* the same eight values, then reversed, in sixteen lanes */
        float x16[16], e16[16], s16[16], t16[16];
        for (int k = 0; k < 8; k++) x16[k] = x16[15 - k] = x[k];
        __m512 w = _mm512_loadu_ps(x16);
        _mm512_storeu_ps(e16, rnnc_v16_expf(w));
        _mm512_storeu_ps(s16, rnnc_v16_sigmoidf(w));
        _mm512_storeu_ps(t16, rnnc_v16_tanhf(w));
        check_lanes(x16, e16, s16, t16, 16, &n16, &bad);
#endif
    }
    CHECK_EQ_LL(bad, 0);
    CHECK_EQ_LL(n, 400000);
#ifdef RNNC_V16
    CHECK_EQ_LL(n16, 800000);
#else
    (void)n16;
#endif
#endif
    /* A cell's row of 69 units (eight lanes eight times, or sixteen four times, and a tail of five in such builds) against each unit
     * computed alone (the scalar loops only): the same bits, forward and, for the LSTM, backward. */
    const rnnc_cell cells[] = {RNNC_CELL_LSTM, RNNC_CELL_GRU, RNNC_CELL_RNN_TANH};
    for (int ci = 0; ci < 3; ci++) {
        const rnnc_cell_info *info = rnnc_cell_info_of(cells[ci]);
        enum { H = 69 };
        const int G = info->gates, GH = G * H;
        float gx[4 * H], hg[4 * H], bi[4 * H], bh[4 * H], hp[H], cp[H], g1[4 * H], g2[4 * H];
        float h1[H], h2[H], c1[H], c2[H], y1[H], y2[H], a1[H], a2[H];
        int one = 1;
        for (int k = 0; k < GH; k++) {
            gx[k] = sinf(1.7f * k) * 3; hg[k] = cosf(0.9f * k) * 2; bi[k] = 0.1f * (k % 5); bh[k] = -0.07f * (k % 3);
        }
        for (int k = 0; k < H; k++) { hp[k] = sinf(0.3f * k); cp[k] = cosf(1.3f * k) * 2; }
        memcpy(g1, gx, sizeof gx);
        memcpy(g2, gx, sizeof gx);
        rnnc_cell_fwd a = {.B = 1, .H = H, .j0 = 0, .j1 = H, .t = 0, .len = &one, .gates = g1, .hg = hg, .b_ih = bi,
                           .b_hh = bh, .aux = info->aux ? a1 : NULL, .h_prev = hp, .h_new = h1,
                           .c_prev = info->states == 2 ? cp : NULL, .c_new = info->states == 2 ? c1 : NULL, .y = y1, .ldy = H};
        info->forward(&a);
        for (int j = 0; j < H; j++) {
            rnnc_cell_fwd b = a;
            b.j0 = j; b.j1 = j + 1; b.gates = g2; b.aux = info->aux ? a2 : NULL; b.h_new = h2;
            b.c_new = info->states == 2 ? c2 : NULL; b.y = y2;
            info->forward(&b);
        }
        CHECK_MSG(!memcmp(g1, g2, sizeof(float) * GH) && !memcmp(h1, h2, sizeof h1) && !memcmp(y1, y2, sizeof y1) &&
                      (info->states != 2 || !memcmp(c1, c2, sizeof c1)) && (!info->aux || !memcmp(a1, a2, sizeof a1)),
                  "cell %s: a row of %d units differs from its units alone", info->name, H);
        if (cells[ci] != RNNC_CELL_LSTM) continue;
        float dh[H], dc[H], dy[H], zero[H] = {0}, dcp1[H], dcp2[H], dhp1[H], dhp2[H], dg1[4 * H], dg2[4 * H];
        for (int k = 0; k < H; k++) { dh[k] = sinf(2.1f * k); dc[k] = cosf(0.7f * k); dy[k] = sinf(0.4f * k + 1); }
        rnnc_cell_bwd w = {.B = 1, .H = H, .j0 = 0, .j1 = H, .t = 0, .len = &one, .gates = g1, .h_prev = hp, .h_new = h1,
                           .c_prev = cp, .c_new = c1, .dh = dh, .dy = dy, .lddy = H, .zero = zero, .dc = dc,
                           .dc_prev = dcp1, .dh_prev = dhp1, .dgx = dg1, .dgh = dg1};
        info->backward(&w);
        for (int j = 0; j < H; j++) {
            rnnc_cell_bwd v = w;
            v.j0 = j; v.j1 = j + 1; v.dc_prev = dcp2; v.dh_prev = dhp2; v.dgx = dg2; v.dgh = dg2;
            info->backward(&v);
        }
        CHECK_MSG(!memcmp(dg1, dg2, sizeof dg1) && !memcmp(dcp1, dcp2, sizeof dcp1) && !memcmp(dhp1, dhp2, sizeof dhp1),
                  "lstm backward: a row of %d units differs from its units alone", H);
    }
}

/* The schedules of the time loops (rnnc_loop_mode: one thread; each step split by hidden units;
 * threads carrying their own rows; each direction on its own threads; every layer at once as a
 * wavefront) give bit-identical outputs, final states and gradients, for every cell, one- and
 * two-direction stacks (2 layers; 3 layers of one direction), batches (B 5, 32 and 45) that rows mode splits
 * into single rows, into blocks of 8, 16, 24 and 32 rows (its own choice for these small layers, at most 16,
 * and forced bounds of 32 and 8: rnnc_rnn_set_row_block_max), some with a shorter last block, variable lengths in three orders (mixed; sorted longest first, as packed
 * sequences, with every row padded at the last step; sorted shortest first, as the batchers make
 * them: the time loops then compute each step's products on its live rows only), initial states, dropout in training, and layer 0 reading
 * x or ids from a projected table, on 1, 2 and 3 threads; each also with the weights packed
 * once beforehand (rnnc_rnn_ws_set_packed), which the forwards then read instead of packing their
 * own, and with a packed set of other weights, which they must ignore. Across thread counts everything is
 * bit-identical too where rnnc's own weight-gradient kernel runs (AVX-512 or AVX2 builds,
 * nn/gemm.h); through BLAS the weight gradients' row-split sums add per-thread partials, so there
 * only those depend on the thread count. */
typedef struct { float *y, *hn, *cn, *dx, *dh0, *dc0, *dp; } mode_run;

static void mode_run_free(mode_run *r) {
    free(r->y); free(r->hn); free(r->cn); free(r->dx); free(r->dh0); free(r->dc0); free(r->dp);
}

static void test_loop_modes_identical(void) {
    const int nth0 = omp_get_max_threads();
    enum { NM = 5 };
    const rnnc_loop_mode modes[NM] = {RNNC_LOOP_SERIAL, RNNC_LOOP_UNITS, RNNC_LOOP_ROWS, RNNC_LOOP_DIRS, RNNC_LOOP_WAVE};
    const char *const names[NM] = {"serial", "units", "rows", "dirs", "wave"};
    const struct { int L, bi; } shapes[] = {{2, 0}, {2, 1}, {3, 0}};
    const int batches[3] = {5, 32, 45};
    int compared = 0;
    for (int k = 0; k < NCELLS; k++)
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
            for (int bk = 0; bk < 3; bk++)
                for (int from_ids = 0; from_ids < 2; from_ids++)
                for (int order = 0; order < 3; order++) {
                    const int B = batches[bk];
                    const int L = shapes[si].L, bi = shapes[si].bi, T = 6, D = bi ? 2 : 1, H = 40, I = 6, V = 3;
                    rnnc_rnn_config c = {.cell = CELL(k), .input = I, .hidden = H, .layers = L, .bidirectional = bi,
                                         .dropout = 0.25f};
                    const bool lstm = two_states(c.cell);
                    rnnc_rng r;
                    rnnc_rng_seed(&r, 100 + k);
                    const size_t np = rnnc_rnn_num_params(&c), ny = (size_t)B * T * D * H, nx = (size_t)B * T * I;
                    const size_t ns = (size_t)L * D * B * H, nd = from_ids ? (size_t)V * I : nx;
                    float *params = randv(np, &r, 0.3f), *x = randv(nx, &r, 1.0f), *dy = randv(ny, &r, 1.0f);
                    float *dhn = randv(ns, &r, 1.0f), *dcn = randv(ns, &r, 1.0f), *h0 = randv(ns, &r, 0.5f);
                    float *c0 = randv(ns, &r, 0.5f), *table = randv((size_t)V * I, &r, 1.0f);
                    int len[45], ids[45 * 6];
                    for (int b = 0; b < B; b++)
                        len[b] = order == 0 ? 1 + b * 7 % T : order == 1 ? (T - 1) - b * (T - 1) / B : 1 + b * T / B;
                    for (int n = 0; n < B * T; n++) ids[n] = (int)rnnc_rng_below(&r, (uint64_t)V);
                    rnnc_rnn_ws *ws;
                    CHECK(rnnc_rnn_ws_new(&ws, &c, B, T) == RNNC_OK);
                    rnnc_rnn_packed *pk = NULL, *other = NULL;
                    CHECK(rnnc_rnn_packed_new(&pk, &c, params) == RNNC_OK);
                    rnnc_rng ro;
                    rnnc_rng_seed(&ro, 555);
                    float *params2 = randv(np, &ro, 0.3f); /* other weights of the same stack */
                    CHECK(rnnc_rnn_packed_new(&other, &c, params2) == RNNC_OK);
                    /* every mode on 1, 2 and 3 threads, without packed weights, with them, and with
                     * another stack's; run 0 (serial on one thread, unpacked) is the reference */
                    mode_run run[3 * 3 * NM];
                    for (int q = 0; q < 3 * 3 * NM; q++) {
                        const int nth = 1 + q / NM % 3, m = q % NM, pre = q / (3 * NM);
                        omp_set_num_threads(nth);
                        rnnc_rnn_set_loop_mode(modes[m]);
                        rnnc_rnn_set_row_block_max(pre == 1 ? 32 : pre == 2 ? 8 : 0); /* rows mode's blocks */
                        CHECK(rnnc_rnn_ws_set_packed(ws, pre == 1 ? pk : pre == 2 ? other : NULL) == RNNC_OK);
                        mode_run *o = &run[q];
                        o->y = malloc(ny * sizeof(float)); o->hn = malloc(ns * sizeof(float));
                        o->cn = malloc(ns * sizeof(float)); o->dx = calloc(nd, sizeof(float));
                        o->dh0 = malloc(ns * sizeof(float)); o->dc0 = malloc(ns * sizeof(float));
                        o->dp = calloc(np, sizeof(float));
                        rnnc_rng dr;
                        rnnc_rng_seed(&dr, 7);
                        if (from_ids) {
                            CHECK(rnnc_rnn_forward_ids(ws, params, B, T, ids, table, V, len, h0, lstm ? c0 : NULL, o->y, o->hn,
                                                       lstm ? o->cn : NULL, true, &dr) == RNNC_OK);
                            CHECK(rnnc_rnn_backward_ids(ws, params, o->dp, dy, dhn, lstm ? dcn : NULL, table, o->dx, o->dh0,
                                                        lstm ? o->dc0 : NULL) == RNNC_OK);
                        } else {
                            CHECK(rnnc_rnn_forward(ws, params, B, T, x, len, h0, lstm ? c0 : NULL, o->y, o->hn,
                                                   lstm ? o->cn : NULL, true, &dr) == RNNC_OK);
                            CHECK(rnnc_rnn_backward(ws, params, o->dp, dy, dhn, lstm ? dcn : NULL, o->dx, o->dh0,
                                                    lstm ? o->dc0 : NULL) == RNNC_OK);
                        }
                    }
                    for (int q = 1; q < 3 * 3 * NM; q++) {
                        const mode_run *a = &run[0], *o = &run[q];
                        const int nth = 1 + q / NM % 3, m = q % NM, pre = q / (3 * NM);
                        const bool states = !memcmp(a->y, o->y, ny * sizeof(float)) && !memcmp(a->hn, o->hn, ns * sizeof(float)) &&
                                            (!lstm || !memcmp(a->cn, o->cn, ns * sizeof(float)));
                        const bool grads = !memcmp(a->dx, o->dx, nd * sizeof(float)) && !memcmp(a->dh0, o->dh0, ns * sizeof(float)) &&
                                           (!lstm || !memcmp(a->dc0, o->dc0, ns * sizeof(float)));
                        /* the weight gradients: against the first mode on one thread where rnnc's own
                         * kernel makes them, else on the same thread count */
                        const mode_run *same = rnnc_wgrad_own() ? &run[0] : &run[(nth - 1) * NM];
                        const bool wgrads = !memcmp(same->dp, o->dp, np * sizeof(float));
                        CHECK_MSG(states && grads && wgrads,
                                  "%s L %d bi %d B %d %s, lengths %s, %s on %d threads%s: outputs %s, input/state gradients %s, weight gradients %s",
                                  rnnc_cell_name(c.cell), L, bi, B, from_ids ? "ids" : "x",
                                  order == 0 ? "mixed" : order == 1 ? "descending" : "ascending", names[m], nth,
                                  pre == 1 ? ", packed, blocks up to 32 rows" : pre == 2 ? ", other packed, 8-row blocks" : "",
                                  states ? "same" : "DIFFER", grads ? "same" : "DIFFER", wgrads ? "same" : "DIFFER");
                        compared++;
                    }
                    for (int q = 0; q < 3 * 3 * NM; q++) mode_run_free(&run[q]);
                    rnnc_rnn_packed_free(pk);
                    rnnc_rnn_packed_free(other);
                    free(params2);
                    free(params); free(x); free(dy); free(dhn); free(dcn); free(h0); free(c0); free(table);
                    rnnc_rnn_ws_free(ws);
                }
    CHECK_EQ_LL(compared, NCELLS * 3 * 3 * 2 * 3 * (3 * 3 * NM - 1));
    /* a packed set of another shape is refused */
    rnnc_rnn_config c1 = {.cell = RNNC_CELL_LSTM, .input = 4, .hidden = 8, .layers = 1}, c2 = c1;
    c2.hidden = 16;
    float w[2048] = {0};
    rnnc_rnn_ws *ws;
    rnnc_rnn_packed *pk;
    CHECK(rnnc_rnn_ws_new(&ws, &c1, 2, 2) == RNNC_OK);
    CHECK(rnnc_rnn_packed_new(&pk, &c2, w) == RNNC_OK);
    CHECK(rnnc_rnn_ws_set_packed(ws, pk) == RNNC_ERR_ARG);
    c2.hidden = 0;
    rnnc_rnn_packed *bad = (rnnc_rnn_packed *)1;
    CHECK(rnnc_rnn_packed_new(&bad, &c2, w) == RNNC_ERR_ARG && bad == NULL);
    rnnc_rnn_packed_free(pk);
    rnnc_rnn_packed_free(NULL);
    rnnc_rnn_ws_free(ws);
    rnnc_rnn_set_loop_mode(RNNC_LOOP_AUTO);
    rnnc_rnn_set_row_block_max(0);
    omp_set_num_threads(nth0);
}

/* A packed set and few rows with a W_ih over 1 MiB (layer 1 of a bidirectional stack of H 192:
 * 384 x 768 floats), which a forward without the set runs through BLAS: with the set it runs on
 * the packed panels, so each row's outputs are those it gets among 64 rows (where both paths pack)
 * to the bit, and within rounding of the unpacked forward's. */
static void test_packed_few_rows(void) {
    for (int k = 0; k < NCELLS; k++) {
        enum { H = 192, I = 8, T = 5, BS = 2, BB = 64 };
        rnnc_rnn_config c = {.cell = CELL(k), .input = I, .hidden = H, .layers = 2, .bidirectional = true};
        rnnc_rng r;
        rnnc_rng_seed(&r, 40 + k);
        const size_t np = rnnc_rnn_num_params(&c);
        float *params = randv(np, &r, 0.1f), *x = randv((size_t)BB * T * I, &r, 1.0f);
        rnnc_rnn_packed *pk;
        rnnc_rnn_ws *small, *big;
        CHECK(rnnc_rnn_packed_new(&pk, &c, params) == RNNC_OK);
        CHECK(rnnc_rnn_ws_new(&small, &c, BS, T) == RNNC_OK);
        CHECK(rnnc_rnn_ws_new(&big, &c, BB, T) == RNNC_OK);
        const size_t ny = (size_t)T * 2 * H;
        float *ys = malloc(BS * ny * sizeof(float)), *yu = malloc(BS * ny * sizeof(float)), *yb = malloc(BB * ny * sizeof(float));
        CHECK(rnnc_rnn_forward(small, params, BS, T, x, NULL, NULL, NULL, yu, NULL, NULL, false, NULL) == RNNC_OK);
        CHECK(rnnc_rnn_ws_set_packed(small, pk) == RNNC_OK);
        CHECK(rnnc_rnn_ws_set_packed(big, pk) == RNNC_OK);
        CHECK(rnnc_rnn_forward(small, params, BS, T, x, NULL, NULL, NULL, ys, NULL, NULL, false, NULL) == RNNC_OK);
        CHECK(rnnc_rnn_forward(big, params, BB, T, x, NULL, NULL, NULL, yb, NULL, NULL, false, NULL) == RNNC_OK);
        CHECK_MSG(!memcmp(ys, yb, BS * ny * sizeof(float)), "%s: packed rows differ between 2 and 64 rows", rnnc_cell_name(c.cell));
        double d = 0;
        for (size_t i = 0; i < BS * ny; i++) d = fmax(d, fabs(ys[i] - yu[i]));
        CHECK_MSG(d < 1e-5, "%s: packed and unpacked forwards differ by %g", rnnc_cell_name(c.cell), d);
        free(ys); free(yu); free(yb); free(params); free(x);
        rnnc_rnn_ws_free(small);
        rnnc_rnn_ws_free(big);
        rnnc_rnn_packed_free(pk);
    }
}

/* rnnc_rnn_forward_ids / backward_ids against forward on the looked-up rows, with dx scattered into
 * the table by hand: outputs, final states and every gradient, for a table small enough to be
 * projected (V = 3 against B*T = 20) and one that is not (V = 15), every cell, stacked and
 * bidirectional, variable lengths, with initial states and dropout. */
static int close_all(const float *a, const float *b, size_t n, float tol) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += !(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])));
    return bad;
}

static void test_forward_ids(void) {
    const int B = 4, T = 5, I = 3, H = 6, len[] = {5, 2, 4, 1};
    const int vocab[] = {3, 15};
    for (int k = 0; k < NCELLS; k++)
        for (int bi = 0; bi < 2; bi++)
            for (int vi = 0; vi < 2; vi++) {
                const int V = vocab[vi], L = 2, D = bi ? 2 : 1;
                problem p;
                problem_init(&p, CELL(k), I, H, L, bi, B, T, len, 0.3f, 77 + k);
                rnnc_rng r;
                rnnc_rng_seed(&r, 5 + vi);
                float *table = randv((size_t)V * I, &r, 1.0f);
                int ids[20];
                for (int n = 0; n < B * T; n++) ids[n] = (int)rnnc_rng_below(&r, (uint64_t)V);
                for (int n = 0; n < B * T; n++) memcpy(p.x + (size_t)n * I, table + (size_t)ids[n] * I, I * sizeof(float));
                const bool lstm = two_states(CELL(k));
                /* reference: the looked-up rows */
                double ref = problem_loss(&p);
                float *y = malloc(p.ny * sizeof(float)), *hn = malloc(p.ns * sizeof(float)), *cn = malloc(p.ns * sizeof(float));
                float *dp = calloc(p.np, sizeof(float)), *dx = malloc(p.nx * sizeof(float));
                float *dtab_ref = calloc((size_t)V * I, sizeof(float)), *dh0 = malloc(p.ns * sizeof(float));
                CHECK(rnnc_rnn_backward(p.ws, p.params, dp, p.wy, p.wh, lstm ? p.wc : NULL, dx, dh0, NULL) == RNNC_OK);
                for (int n = 0; n < B * T; n++)
                    for (int e = 0; e < I; e++) dtab_ref[(size_t)ids[n] * I + e] += dx[(size_t)n * I + e];
                CHECK(isfinite(ref));
                /* through the ids, in a workspace of its own */
                rnnc_rnn_ws *ws;
                CHECK(rnnc_rnn_ws_new(&ws, &p.c, B, T) == RNNC_OK);
                rnnc_rng_seed(&r, 99);
                CHECK(rnnc_rnn_forward_ids(ws, p.params, B, T, ids, table, V, len, p.h0, p.c0, y, hn, cn, true, &r) == RNNC_OK);
                float *dp2 = calloc(p.np, sizeof(float)), *dtab = calloc((size_t)V * I, sizeof(float));
                float *dh02 = malloc(p.ns * sizeof(float));
                CHECK(rnnc_rnn_backward_ids(ws, p.params, dp2, p.wy, p.wh, lstm ? p.wc : NULL, table, dtab, dh02, NULL) == RNNC_OK);
                int bad = close_all(y, p.y, p.ny, 1e-5f) + close_all(hn, p.hn, p.ns, 1e-5f) +
                          (lstm ? close_all(cn, p.cn, p.ns, 1e-5f) : 0) + close_all(dp2, dp, p.np, 1e-4f) +
                          close_all(dtab, dtab_ref, (size_t)V * I, 1e-4f) + close_all(dh02, dh0, p.ns, 1e-5f);
                CHECK_MSG(bad == 0, "%s bidir=%d V=%d: %d values differ from the looked-up path", rnnc_cell_name(CELL(k)),
                          bi, V, bad);
                /* a backward of the wrong kind, and an id outside the table */
                CHECK(rnnc_rnn_backward(ws, p.params, dp2, p.wy, NULL, NULL, NULL, NULL, NULL) == RNNC_ERR_ARG);
                CHECK(strstr(rnnc_last_error(), "rnnc_rnn_backward_ids") != NULL);
                ids[7] = V;
                CHECK(rnnc_rnn_forward_ids(ws, p.params, B, T, ids, table, V, len, NULL, NULL, y, NULL, NULL, false, NULL) ==
                      RNNC_ERR_RANGE);
                CHECK(strstr(rnnc_last_error(), "position 7") != NULL);
                ids[7] = -1;
                CHECK(rnnc_rnn_forward_ids(ws, p.params, B, T, ids, table, V, len, NULL, NULL, y, NULL, NULL, false, NULL) ==
                      RNNC_ERR_RANGE);
                CHECK(rnnc_rnn_forward_ids(ws, p.params, B, T, ids, table, 0, len, NULL, NULL, y, NULL, NULL, false, NULL) ==
                      RNNC_ERR_ARG);
                CHECK(rnnc_rnn_forward_ids(ws, p.params, B, T, NULL, table, V, len, NULL, NULL, y, NULL, NULL, false, NULL) ==
                      RNNC_ERR_ARG);
                /* after an x forward, backward_ids is refused */
                CHECK(rnnc_rnn_forward(ws, p.params, B, T, p.x, len, NULL, NULL, y, NULL, NULL, false, NULL) == RNNC_OK);
                CHECK(rnnc_rnn_backward_ids(ws, p.params, dp2, p.wy, NULL, NULL, table, dtab, NULL, NULL) == RNNC_ERR_ARG);
                (void)D;
                rnnc_rnn_ws_free(ws);
                free(y); free(hn); free(cn); free(dp); free(dx); free(dtab_ref); free(dh0); free(dp2); free(dtab);
                free(dh02); free(table);
                problem_free(&p);
            }
}

/* A batch whose lengths are in no order runs its rows longest first inside the runner (so that
 * each step's live rows are one span) and hands everything back in the caller's order: against
 * the same rows given already sorted, the outputs, final states and input and state gradients
 * are bit-identical row for row, and the weight gradients (whose sums add the rows in another
 * order) agree to rounding. Every cell, two layers of two directions, and of one direction. */
static void test_length_order_permutation(void) {
    const int B = 7, T = 5, I = 3, H = 9, len[7] = {2, 5, 1, 5, 3, 1, 4}, sorted[7] = {1, 3, 6, 4, 0, 2, 5};
    for (int k = 0; k < NCELLS; k++)
        for (int bi = 0; bi < 2; bi++) {
            rnnc_rnn_config c = {.cell = CELL(k), .input = I, .hidden = H, .layers = 2, .bidirectional = bi};
            const int D = bi ? 2 : 1, L = 2;
            const bool lstm = two_states(c.cell);
            rnnc_rng r;
            rnnc_rng_seed(&r, 300 + k);
            const size_t np = rnnc_rnn_num_params(&c), ny = (size_t)B * T * D * H, nx = (size_t)B * T * I;
            const size_t ns = (size_t)L * D * B * H;
            float *params = randv(np, &r, 0.4f), *x = randv(nx, &r, 1.0f), *dy = randv(ny, &r, 1.0f);
            float *h0 = randv(ns, &r, 0.5f), *c0 = randv(ns, &r, 0.5f), *dhn = randv(ns, &r, 1.0f), *dcn = randv(ns, &r, 1.0f);
            /* run 0: as given; run 1: the rows sorted longest first by the caller (row sorted[i] at i) */
            float *in[2][6], *out[2][7];
            int lens[2][7];
            for (int v = 0; v < 2; v++) {
                for (int i = 0; i < B; i++) lens[v][i] = len[v ? sorted[i] : i];
                float *src[6] = {x, dy, h0, c0, dhn, dcn};
                const size_t row[6] = {(size_t)T * I, (size_t)T * D * H, H, H, H, H}, blocks[6] = {1, 1, L * D, L * D, L * D, L * D};
                for (int a = 0; a < 6; a++) {
                    in[v][a] = malloc(blocks[a] * B * row[a] * sizeof(float));
                    for (size_t q = 0; q < blocks[a]; q++)
                        for (int i = 0; i < B; i++)
                            memcpy(in[v][a] + (q * B + i) * row[a], src[a] + (q * B + (v ? sorted[i] : i)) * row[a],
                                   row[a] * sizeof(float));
                }
                const size_t n[7] = {ny, ns, ns, nx, ns, ns, np};
                for (int a = 0; a < 7; a++) out[v][a] = calloc(n[a], sizeof(float));
                rnnc_rnn_ws *ws;
                CHECK(rnnc_rnn_ws_new(&ws, &c, B, T) == RNNC_OK);
                CHECK(rnnc_rnn_forward(ws, params, B, T, in[v][0], lens[v], in[v][2], lstm ? in[v][3] : NULL, out[v][0],
                                       out[v][1], lstm ? out[v][2] : NULL, false, NULL) == RNNC_OK);
                CHECK(rnnc_rnn_backward(ws, params, out[v][6], in[v][1], in[v][4], lstm ? in[v][5] : NULL, out[v][3],
                                        out[v][4], lstm ? out[v][5] : NULL) == RNNC_OK);
                rnnc_rnn_ws_free(ws);
            }
            /* row i of run 1 is row sorted[i] of run 0 */
            int differ = 0;
            const size_t row[6] = {(size_t)T * D * H, H, H, (size_t)T * I, H, H}, blocks[6] = {1, L * D, L * D, 1, L * D, L * D};
            for (int a = 0; a < 6; a++) {
                if (!lstm && (a == 2 || a == 5)) continue;
                for (size_t q = 0; q < blocks[a]; q++)
                    for (int i = 0; i < B; i++)
                        differ += memcmp(out[1][a] + (q * B + i) * row[a], out[0][a] + (q * B + sorted[i]) * row[a],
                                         row[a] * sizeof(float)) != 0;
            }
            CHECK_MSG(differ == 0, "%s bi %d: %d rows differ between the permuted and the caller-sorted batch",
                      rnnc_cell_name(c.cell), bi, differ);
            int off = 0;
            for (size_t i = 0; i < np; i++) off += !(fabsf(out[0][6][i] - out[1][6][i]) <= 1e-5f * (1 + fabsf(out[0][6][i])));
            CHECK_MSG(off == 0, "%s bi %d: %d weight gradients differ beyond rounding", rnnc_cell_name(c.cell), bi, off);
            for (int v = 0; v < 2; v++) {
                for (int a = 0; a < 6; a++) free(in[v][a]);
                for (int a = 0; a < 7; a++) free(out[v][a]);
            }
            free(params); free(x); free(dy); free(h0); free(c0); free(dhn); free(dcn);
        }
}

/* rnnc_rnn_ws_set_time_major: the same forward and backward with x, ids, y, dy and dx laid out
 * (T,B,...) give bit-identical results, element for element, to the batch-first ones (the runner
 * computes the same thing, only its copies in and out change): every cell, one and two
 * directions, with and without lengths (and so with and without the permutation of rows), with
 * dropout in training, through x and through ids (a table small enough to be projected, and
 * one too large to be). */
static void test_time_major(void) {
    const int B = 5, T = 4, I = 3, H = 7, L = 2, len[5] = {2, 4, 1, 4, 3};
    for (int k = 0; k < NCELLS; k++)
        for (int bi = 0; bi < 2; bi++)
            for (int var = 0; var < 2; var++)
                for (int in = 0; in < 3; in++) { /* x; ids folded (V 3); ids looked up (V 40) */
                    rnnc_rnn_config c = {.cell = CELL(k), .input = I, .hidden = H, .layers = L, .bidirectional = bi, .dropout = 0.3f};
                    const int D = bi ? 2 : 1, V = in == 1 ? 3 : 40;
                    const int *lens = var ? len : NULL;
                    const bool lstm = two_states(c.cell);
                    rnnc_rng r;
                    rnnc_rng_seed(&r, 500 + k);
                    const size_t np = rnnc_rnn_num_params(&c), ny = (size_t)B * T * D * H, nx = (size_t)B * T * I;
                    const size_t ns = (size_t)L * D * B * H;
                    float *params = randv(np, &r, 0.4f), *x = randv(nx, &r, 1.0f), *dy = randv(ny, &r, 1.0f);
                    float *table = randv((size_t)V * I, &r, 1.0f), *dhn = randv(ns, &r, 1.0f);
                    int ids[20], ids_t[20];
                    for (int n = 0; n < B * T; n++) ids[n] = (int)rnnc_rng_below(&r, (uint64_t)V);
                    float *x_t = malloc(nx * sizeof(float)), *dy_t = malloc(ny * sizeof(float));
                    for (int b = 0; b < B; b++)
                        for (int t = 0; t < T; t++) {
                            memcpy(x_t + ((size_t)t * B + b) * I, x + ((size_t)b * T + t) * I, I * sizeof(float));
                            memcpy(dy_t + ((size_t)t * B + b) * D * H, dy + ((size_t)b * T + t) * D * H, D * H * sizeof(float));
                            ids_t[t * B + b] = ids[b * T + t];
                        }
                    float *out[2][6]; /* y, hn, cn, dparams, dx (or dtable), dh0 */
                    const size_t nd = in ? (size_t)V * I : nx, n[6] = {ny, ns, ns, np, nd, ns};
                    for (int v = 0; v < 2; v++) {
                        for (int a = 0; a < 6; a++) out[v][a] = calloc(n[a], sizeof(float));
                        rnnc_rnn_ws *ws;
                        CHECK(rnnc_rnn_ws_new(&ws, &c, B, T) == RNNC_OK);
                        rnnc_rnn_ws_set_time_major(ws, v == 1);
                        rnnc_rng dr;
                        rnnc_rng_seed(&dr, 77);
                        if (in == 0) {
                            CHECK(rnnc_rnn_forward(ws, params, B, T, v ? x_t : x, lens, NULL, NULL, out[v][0], out[v][1],
                                                   lstm ? out[v][2] : NULL, true, &dr) == RNNC_OK);
                            CHECK(rnnc_rnn_backward(ws, params, out[v][3], v ? dy_t : dy, dhn, NULL, out[v][4], out[v][5],
                                                    NULL) == RNNC_OK);
                        } else {
                            CHECK(rnnc_rnn_forward_ids(ws, params, B, T, v ? ids_t : ids, table, V, lens, NULL, NULL,
                                                       out[v][0], out[v][1], lstm ? out[v][2] : NULL, true, &dr) == RNNC_OK);
                            CHECK(rnnc_rnn_backward_ids(ws, params, out[v][3], v ? dy_t : dy, dhn, NULL, table, out[v][4],
                                                        out[v][5], NULL) == RNNC_OK);
                        }
                        if (v == 1 && in) { /* an id's position in an error is its index in the caller's array */
                            ids_t[6] = V;
                            CHECK(rnnc_rnn_forward_ids(ws, params, B, T, ids_t, table, V, lens, NULL, NULL, out[v][0], NULL,
                                                       NULL, false, NULL) == RNNC_ERR_RANGE);
                            CHECK(strstr(rnnc_last_error(), "at position 6 ") != NULL);
                        }
                        rnnc_rnn_ws_free(ws);
                    }
                    /* back to batch-first: y and dx of the time-major run */
                    float *yb = malloc(ny * sizeof(float)), *dxb = malloc(nx * sizeof(float));
                    for (int b = 0; b < B; b++)
                        for (int t = 0; t < T; t++) {
                            memcpy(yb + ((size_t)b * T + t) * D * H, out[1][0] + ((size_t)t * B + b) * D * H, D * H * sizeof(float));
                            if (!in) memcpy(dxb + ((size_t)b * T + t) * I, out[1][4] + ((size_t)t * B + b) * I, I * sizeof(float));
                        }
                    int differ = memcmp(yb, out[0][0], ny * sizeof(float)) != 0;
                    differ += 2 * (memcmp(out[1][1], out[0][1], ns * sizeof(float)) != 0);
                    differ += 4 * (memcmp(out[1][2], out[0][2], ns * sizeof(float)) != 0);
                    differ += 8 * (memcmp(out[1][3], out[0][3], np * sizeof(float)) != 0);
                    differ += 16 * (memcmp(in ? out[1][4] : dxb, out[0][4], nd * sizeof(float)) != 0);
                    differ += 32 * (memcmp(out[1][5], out[0][5], ns * sizeof(float)) != 0);
                    CHECK_MSG(differ == 0, "%s bi %d lengths %d input %d: time-major differs (mask %d)",
                              rnnc_cell_name(c.cell), bi, var, in, differ);
                    for (int v = 0; v < 2; v++)
                        for (int a = 0; a < 6; a++) free(out[v][a]);
                    free(params); free(x); free(dy); free(table); free(dhn); free(x_t); free(dy_t); free(yb); free(dxb);
                }
}

int main(void) {
    RUN(test_loop_modes_identical);
    RUN(test_packed_few_rows);
    RUN(test_length_order_permutation);
    RUN(test_time_major);
    /* the threaded loops, even on these small layers: each step split by units ... */
    rnnc_rnn_set_loop_mode(RNNC_LOOP_UNITS);
    RUN(test_math);
    RUN(test_math_lanes);
    RUN(test_layout);
    RUN(test_cell_table);
    RUN(test_names_and_bad_input);
    RUN(test_gradcheck_single_layer);
    RUN(test_gradcheck_stacked_bidirectional_varlen);
    RUN(test_gradcheck_three_layers_varlen);
    RUN(test_gradcheck_dropout);
    RUN(test_gradcheck_b1_t1);
    RUN(test_gradcheck_wide);
    RUN(test_varlen_matches_separate_runs);
    RUN(test_workspace_reuse_and_determinism);
    RUN(test_dropout_semantics);
    RUN(test_forward_ids);
    /* ... and each thread carrying its own rows */
    rnnc_rnn_set_loop_mode(RNNC_LOOP_ROWS);
    RUN(test_gradcheck_stacked_bidirectional_varlen);
    RUN(test_gradcheck_three_layers_varlen);
    RUN(test_gradcheck_dropout);
    RUN(test_gradcheck_b1_t1);
    RUN(test_varlen_matches_separate_runs);
    RUN(test_workspace_reuse_and_determinism);
    RUN(test_forward_ids);
    RUN(test_length_order_permutation);
    /* ... each direction on its own threads, and all layers at once (the wavefront) */
    rnnc_rnn_set_loop_mode(RNNC_LOOP_DIRS);
    RUN(test_gradcheck_stacked_bidirectional_varlen);
    RUN(test_forward_ids);
    rnnc_rnn_set_loop_mode(RNNC_LOOP_WAVE);
    RUN(test_gradcheck_three_layers_varlen);
    RUN(test_gradcheck_dropout);
    RUN(test_varlen_matches_separate_runs);
    RUN(test_workspace_reuse_and_determinism);
    RUN(test_dropout_semantics);
    RUN(test_forward_ids);
    rnnc_rnn_set_loop_mode(RNNC_LOOP_SERIAL);
    RUN(test_forward_ids);
    return test_report();
}
