/* Elman cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), or relu. See cell.h for the contract. */
#include "nn/cell.h"

void rnnc_elman_forward(const rnnc_cell_fwd *a) {
    const int H = a->H, j0 = a->j0, j1 = a->j1;
    for (int b = 0; b < a->B; b++) {
        const float *restrict hp = a->h_prev + (size_t)b * H;
        float *restrict hnew = a->h_new + (size_t)b * H;
        float *restrict y = a->y + (size_t)b * a->ldy;
        if (a->t >= a->len[b]) { /* padded step: the state stays, the output is 0 */
            for (int j = j0; j < j1; j++) { hnew[j] = hp[j]; y[j] = 0.0f; }
            continue;
        }
        float *restrict g = a->gates + (size_t)b * H;
        const float *restrict hg = a->hg + (size_t)b * H;
        const float *restrict bi = a->b_ih, *restrict bh = a->b_hh;
        if (a->relu) {
#pragma omp simd
            for (int j = j0; j < j1; j++) {
                float v = g[j] + hg[j] + bi[j] + bh[j];
                v = v > 0.0f ? v : 0.0f;
                g[j] = v; hnew[j] = v; y[j] = v;
            }
        } else {
#pragma omp simd
            for (int j = j0; j < j1; j++) {
                float v = rnnc_tanhf(g[j] + hg[j] + bi[j] + bh[j]);
                g[j] = v; hnew[j] = v; y[j] = v;
            }
        }
    }
}

void rnnc_elman_backward(const rnnc_cell_bwd *a) {
    const int H = a->H, j0 = a->j0, j1 = a->j1;
    for (int b = 0; b < a->B; b++) {
        const float *restrict dh = a->dh + (size_t)b * H;
        float *restrict dhp = a->dh_prev + (size_t)b * H;
        float *restrict dg = a->dgx + (size_t)b * H;
        if (a->t >= a->len[b]) {
            for (int j = j0; j < j1; j++) { dhp[j] = dh[j]; dg[j] = 0.0f; }
            continue;
        }
        const float *restrict h = a->gates + (size_t)b * H;
        const float *restrict dy = a->dy ? a->dy + (size_t)b * a->lddy : NULL;
        if (a->relu) {
#pragma omp simd
            for (int j = j0; j < j1; j++) {
                float d = dh[j] + (dy ? dy[j] : 0.0f);
                dg[j] = h[j] > 0.0f ? d : 0.0f;
                dhp[j] = 0.0f;
            }
        } else {
#pragma omp simd
            for (int j = j0; j < j1; j++) {
                float d = dh[j] + (dy ? dy[j] : 0.0f);
                dg[j] = d * (1.0f - h[j] * h[j]);
                dhp[j] = 0.0f;
            }
        }
    }
}
