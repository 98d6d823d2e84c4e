/* Elman cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), or relu. See cell.h for the contract.
 * The activated gate is h' itself, so forward leaves the gate buffer as it was (its pre-activation)
 * and backward reads h' from the state: one store less per unit and step, in a loop whose time
 * goes to memory traffic. Row functions take restrict parameters so that GCC vectorises them (see
 * lstm.c). */
#include "nn/cell.h"

RNNC_CELL_FUNCS(rnn_tanh);
RNNC_CELL_FUNCS(rnn_relu);

static void fwd_row(int n, int relu, const float *restrict g, const float *restrict hg, const float *restrict bi,
                    const float *restrict bh, float *restrict hnew, float *restrict y) {
    if (relu) {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            float v = g[j] + hg[j] + bi[j] + bh[j];
            v = v > 0.0f ? v : 0.0f;
            hnew[j] = v; y[j] = v;
        }
    } else {
        int j0 = 0;
#ifdef RNNC_VEC /* RNNC_VW units at a time written out (vmath.h), the same bits as the loop below */
        for (; j0 + RNNC_VW <= n; j0 += RNNC_VW) {
            const int j = j0;
            rnnc_vf v = rnnc_vtanhf(RNNC_VADD(RNNC_VADD(RNNC_VADD(RNNC_VLD(g + j), RNNC_VLD(hg + j)), RNNC_VLD(bi + j)),
                                              RNNC_VLD(bh + j)));
            RNNC_VST(hnew + j, v); RNNC_VST(y + j, v);
        }
#endif
#pragma omp simd
        for (int j = j0; j < n; j++) {
            float v = rnnc_tanhf(g[j] + hg[j] + bi[j] + bh[j]);
            hnew[j] = v; y[j] = v;
        }
    }
}

static void elman_forward(const rnnc_cell_fwd *a, int relu) {
    const int H = a->H, j0 = a->j0, n = a->j1 - a->j0;
    for (int b = 0; b < a->B; b++) {
        const float *hp = a->h_prev + (size_t)b * H + j0;
        float *hnew = a->h_new + (size_t)b * H + j0;
        float *y = a->y + (size_t)b * a->ldy + j0;
        if (a->t >= a->len[b]) { /* padded step: the state stays, the output is 0 */
            for (int j = 0; j < n; j++) { hnew[j] = hp[j]; y[j] = 0.0f; }
            continue;
        }
        fwd_row(n, relu, a->gates + (size_t)b * H + j0, a->hg + (size_t)b * H + j0, a->b_ih + j0, a->b_hh + j0,
                hnew, y);
    }
}

static void bwd_row(int n, int relu, const float *restrict h, const float *restrict dh, const float *restrict dy,
                    float *restrict dg, float *restrict dhp) {
    if (relu) {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            float d = dh[j] + dy[j];
            dg[j] = h[j] > 0.0f ? d : 0.0f;
            dhp[j] = 0.0f;
        }
    } else {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            float d = dh[j] + dy[j];
            dg[j] = d * (1.0f - h[j] * h[j]);
            dhp[j] = 0.0f;
        }
    }
}

static void elman_backward(const rnnc_cell_bwd *a, int relu) {
    const int H = a->H, j0 = a->j0, n = a->j1 - a->j0;
    for (int b = 0; b < a->B; b++) {
        const float *dh = a->dh + (size_t)b * H + j0;
        float *dhp = a->dh_prev + (size_t)b * H + j0;
        float *dg = a->dgx + (size_t)b * H + j0;
        if (a->t >= a->len[b]) {
            for (int j = 0; j < n; j++) { dhp[j] = dh[j]; dg[j] = 0.0f; }
            continue;
        }
        const float *dy = a->dy ? a->dy + (size_t)b * a->lddy + j0 : a->zero;
        bwd_row(n, relu, a->h_new + (size_t)b * H + j0, dh, dy, dg, dhp);
    }
}

void rnnc_cell_rnn_tanh_forward(const rnnc_cell_fwd *a) { elman_forward(a, 0); }
void rnnc_cell_rnn_tanh_backward(const rnnc_cell_bwd *a) { elman_backward(a, 0); }
void rnnc_cell_rnn_relu_forward(const rnnc_cell_fwd *a) { elman_forward(a, 1); }
void rnnc_cell_rnn_relu_backward(const rnnc_cell_bwd *a) { elman_backward(a, 1); }
