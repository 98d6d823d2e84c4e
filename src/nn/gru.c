/* GRU cell, PyTorch's gate order r, z, n with b_hn inside the reset product:
 *   r = σ(x_r + h_r)   z = σ(x_z + h_z)   (x_k = x W_ik^T + b_ik,  h_k = h W_hk^T + b_hk)
 *   n = tanh(x_n + r * h_n)               h' = (1 - z) * n + z * h
 * Forward keeps r, z, n and h_n; because of r * h_n the n block's gradient differs between the
 * input side (dgx) and the hidden side (r * dgx there), so backward writes that block alone into
 * dgh ([B, H]); the r and z blocks of the hidden side are dgx's. Row functions take restrict
 * parameters so that GCC vectorises them (see lstm.c). */
#include "nn/cell.h"

RNNC_CELL_FUNCS(gru);

static void fwd_row(int n, float *restrict gr, float *restrict gz, float *restrict gn, const float *restrict hr,
                    const float *restrict hz, const float *restrict hh, const float *restrict bi,
                    const float *restrict bh, int H, const float *restrict hp, float *restrict hn,
                    float *restrict hnew, float *restrict y) {
    /* two passes, as in lstm.c: r and z, then n and h' (each pass's chain one exp and divide);
     * with AVX2 and FMA eight units at a time written out, the same bits as the loops below */
    int j0 = 0;
#ifdef RNNC_VEC
#define LD(p) RNNC_VLD((p) + j)
    const rnnc_vf one = RNNC_VSET1(1.0f);
    for (int j = 0; j + RNNC_VW <= n; j += RNNC_VW) {
        RNNC_VST(gr + j, rnnc_vsigmoidf(RNNC_VADD(RNNC_VADD(RNNC_VADD(LD(gr), LD(hr)), LD(bi)), LD(bh))));
        RNNC_VST(gz + j, rnnc_vsigmoidf(RNNC_VADD(RNNC_VADD(RNNC_VADD(LD(gz), LD(hz)), LD(bi + H)), LD(bh + H))));
    }
    for (; j0 + RNNC_VW <= n; j0 += RNNC_VW) {
        const int j = j0;
        rnnc_vf r = LD(gr), z = LD(gz), hnv = RNNC_VADD(LD(hh), LD(bh + 2 * H));
        rnnc_vf nv = rnnc_vtanhf(RNNC_VADD(RNNC_VADD(LD(gn), LD(bi + 2 * H)), RNNC_VMUL(r, hnv)));
        rnnc_vf h = RNNC_VADD(RNNC_VMUL(RNNC_VSUB(one, z), nv), RNNC_VMUL(z, LD(hp)));
        RNNC_VST(gn + j, nv); RNNC_VST(hn + j, hnv);
        RNNC_VST(hnew + j, h); RNNC_VST(y + j, h);
    }
#undef LD
#endif
#pragma omp simd
    for (int j = j0; j < n; j++) {
        gr[j] = rnnc_sigmoidf(gr[j] + hr[j] + bi[j] + bh[j]);
        gz[j] = rnnc_sigmoidf(gz[j] + hz[j] + bi[H + j] + bh[H + j]);
    }
#pragma omp simd
    for (int j = j0; j < n; j++) {
        float r = gr[j], z = gz[j];
        float hnv = hh[j] + bh[2 * H + j];
        float nv = rnnc_tanhf(gn[j] + bi[2 * H + j] + r * hnv);
        float h = (1.0f - z) * nv + z * hp[j];
        gn[j] = nv; hn[j] = hnv;
        hnew[j] = h; y[j] = h;
    }
}

void rnnc_cell_gru_forward(const rnnc_cell_fwd *a) {
    const int H = a->H, j0 = a->j0, n = a->j1 - a->j0;
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *hp = a->h_prev + (size_t)b * H + j0;
        float *hnew = a->h_new + (size_t)b * H + j0;
        float *y = a->y + (size_t)b * a->ldy + j0;
        if (a->t >= a->len[b]) {
            for (int j = 0; j < n; j++) { hnew[j] = hp[j]; y[j] = 0.0f; }
            continue;
        }
        float *g = a->gates + b * GH + j0;
        const float *hg = a->hg + b * GH + j0;
        fwd_row(n, g, g + H, g + 2 * H, hg, hg + H, hg + 2 * H, a->b_ih + j0, a->b_hh + j0, H, hp,
                a->aux + (size_t)b * H + j0, hnew, y);
    }
}

static void bwd_row(int n, const float *restrict gr, const float *restrict gz, const float *restrict gn,
                    const float *restrict hn, const float *restrict hp, const float *restrict dh,
                    const float *restrict dy, float *restrict xr, float *restrict xz, float *restrict xn,
                    float *restrict hnn, float *restrict dhp) {
#pragma omp simd
    for (int j = 0; j < n; j++) {
        float d = dh[j] + dy[j];
        float r = gr[j], z = gz[j], nv = gn[j];
        float dan = d * (1.0f - z) * (1.0f - nv * nv);
        float daz = d * (hp[j] - nv) * z * (1.0f - z);
        float dar = dan * hn[j] * r * (1.0f - r);
        xr[j] = dar; xz[j] = daz; xn[j] = dan;
        hnn[j] = dan * r;
        dhp[j] = d * z;
    }
}

void rnnc_cell_gru_backward(const rnnc_cell_bwd *a) {
    const int H = a->H, j0 = a->j0, n = a->j1 - a->j0;
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *dh = a->dh + (size_t)b * H + j0;
        float *dhp = a->dh_prev + (size_t)b * H + j0;
        float *x = a->dgx + b * GH + j0, *hnn = a->dgh + (size_t)b * H + j0;
        if (a->t >= a->len[b]) {
            for (int j = 0; j < n; j++) {
                dhp[j] = dh[j];
                x[j] = x[H + j] = x[2 * H + j] = 0.0f;
                hnn[j] = 0.0f;
            }
            continue;
        }
        const float *g = a->gates + b * GH + j0;
        const float *dy = a->dy ? a->dy + (size_t)b * a->lddy + j0 : a->zero;
        bwd_row(n, g, g + H, g + 2 * H, a->aux + (size_t)b * H + j0, a->h_prev + (size_t)b * H + j0, dh, dy, x, x + H,
                x + 2 * H, hnn, dhp);
    }
}
