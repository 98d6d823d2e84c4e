/* GRU cell, PyTorch's gate order r, z, n with b_hn inside the reset product:
 *   r = σ(x_r + h_r)   z = σ(x_z + h_z)   (x_k = x W_ik^T + b_ik,  h_k = h W_hk^T + b_hk)
 *   n = tanh(x_n + r * h_n)               h' = (1 - z) * n + z * h
 * Forward keeps r, z, n and h_n; because of r * h_n the n block's gradient differs between the
 * input side (dgx) and the hidden side (dgh = r * dgx there). */
#include "nn/cell.h"

void rnnc_gru_forward(const rnnc_cell_fwd *a) {
    const int H = a->H, j0 = a->j0, j1 = a->j1;
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *restrict hp = a->h_prev + (size_t)b * H;
        float *restrict hnew = a->h_new + (size_t)b * H;
        float *restrict y = a->y + (size_t)b * a->ldy;
        if (a->t >= a->len[b]) {
            for (int j = j0; j < j1; j++) { hnew[j] = hp[j]; y[j] = 0.0f; }
            continue;
        }
        float *restrict gr = a->gates + b * GH, *restrict gz = gr + H, *restrict gn = gr + 2 * H;
        const float *restrict hr = a->hg + b * GH, *restrict hz = hr + H, *restrict hh = hr + 2 * H;
        float *restrict hn = a->hn + (size_t)b * H;
        const float *restrict bi = a->b_ih, *restrict bh = a->b_hh;
#pragma omp simd
        for (int j = j0; j < j1; j++) {
            float r = rnnc_sigmoidf(gr[j] + hr[j] + bi[j] + bh[j]);
            float z = rnnc_sigmoidf(gz[j] + hz[j] + bi[H + j] + bh[H + j]);
            float hnv = hh[j] + bh[2 * H + j];
            float n = rnnc_tanhf(gn[j] + bi[2 * H + j] + r * hnv);
            float h = (1.0f - z) * n + z * hp[j];
            gr[j] = r; gz[j] = z; gn[j] = n; hn[j] = hnv;
            hnew[j] = h; y[j] = h;
        }
    }
}

void rnnc_gru_backward(const rnnc_cell_bwd *a) {
    const int H = a->H, j0 = a->j0, j1 = a->j1;
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *restrict dh = a->dh + (size_t)b * H;
        float *restrict dhp = a->dh_prev + (size_t)b * H;
        float *restrict xr = a->dgx + b * GH, *restrict xz = xr + H, *restrict xn = xr + 2 * H;
        float *restrict hr = a->dgh + b * GH, *restrict hz = hr + H, *restrict hnn = hr + 2 * H;
        if (a->t >= a->len[b]) {
            for (int j = j0; j < j1; j++) {
                dhp[j] = dh[j];
                xr[j] = xz[j] = xn[j] = 0.0f;
                hr[j] = hz[j] = hnn[j] = 0.0f;
            }
            continue;
        }
        const float *restrict gr = a->gates + b * GH, *restrict gz = gr + H, *restrict gn = gr + 2 * H;
        const float *restrict hn = a->hn + (size_t)b * H;
        const float *restrict hp = a->h_prev + (size_t)b * H;
        const float *restrict dy = a->dy ? a->dy + (size_t)b * a->lddy : NULL;
#pragma omp simd
        for (int j = j0; j < j1; j++) {
            float d = dh[j] + (dy ? dy[j] : 0.0f);
            float r = gr[j], z = gz[j], n = gn[j];
            float dan = d * (1.0f - z) * (1.0f - n * n);
            float daz = d * (hp[j] - n) * z * (1.0f - z);
            float dar = dan * hn[j] * r * (1.0f - r);
            xr[j] = dar; xz[j] = daz; xn[j] = dan;
            hr[j] = dar; hz[j] = daz; hnn[j] = dan * r;
            dhp[j] = d * z;
        }
    }
}
