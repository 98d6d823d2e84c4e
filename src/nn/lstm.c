/* LSTM cell, PyTorch's gate order i, f, g, o:
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)   (a = x W_ih^T + b_ih + h W_hh^T + b_hh)
 *   c' = f*c + i*g      h' = o * tanh(c')
 * Forward keeps the activated gates; backward recomputes tanh(c') (cheaper than storing it). */
#include "nn/cell.h"

void rnnc_lstm_forward(const rnnc_cell_fwd *a) {
    const int H = a->H, j0 = a->j0, j1 = a->j1;
    const size_t GH = 4 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *restrict hp = a->h_prev + (size_t)b * H;
        const float *restrict cp = a->c_prev + (size_t)b * H;
        float *restrict hnew = a->h_new + (size_t)b * H;
        float *restrict cnew = a->c_new + (size_t)b * H;
        float *restrict y = a->y + (size_t)b * a->ldy;
        if (a->t >= a->len[b]) {
            for (int j = j0; j < j1; j++) { hnew[j] = hp[j]; cnew[j] = cp[j]; y[j] = 0.0f; }
            continue;
        }
        float *restrict gi = a->gates + b * GH, *restrict gf = gi + H, *restrict gg = gi + 2 * H,
                        *restrict go = gi + 3 * H;
        const float *restrict hi = a->hg + b * GH, *restrict hf = hi + H, *restrict hgg = hi + 2 * H,
                              *restrict ho = hi + 3 * H;
        const float *restrict bi = a->b_ih, *restrict bh = a->b_hh;
#pragma omp simd
        for (int j = j0; j < j1; j++) {
            float i = rnnc_sigmoidf(gi[j] + hi[j] + bi[j] + bh[j]);
            float f = rnnc_sigmoidf(gf[j] + hf[j] + bi[H + j] + bh[H + j]);
            float g = rnnc_tanhf(gg[j] + hgg[j] + bi[2 * H + j] + bh[2 * H + j]);
            float o = rnnc_sigmoidf(go[j] + ho[j] + bi[3 * H + j] + bh[3 * H + j]);
            float c = f * cp[j] + i * g;
            float h = o * rnnc_tanhf(c);
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
            cnew[j] = c; hnew[j] = h; y[j] = h;
        }
    }
}

void rnnc_lstm_backward(const rnnc_cell_bwd *a) {
    const int H = a->H, j0 = a->j0, j1 = a->j1;
    const size_t GH = 4 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *restrict dh = a->dh + (size_t)b * H;
        const float *restrict dc = a->dc + (size_t)b * H;
        float *restrict dhp = a->dh_prev + (size_t)b * H;
        float *restrict dcp = a->dc_prev + (size_t)b * H;
        float *restrict di = a->dgx + b * GH, *restrict df = di + H, *restrict dg = di + 2 * H,
                        *restrict dO = di + 3 * H;
        if (a->t >= a->len[b]) {
            for (int j = j0; j < j1; j++) {
                dhp[j] = dh[j]; dcp[j] = dc[j];
                di[j] = 0.0f; df[j] = 0.0f; dg[j] = 0.0f; dO[j] = 0.0f;
            }
            continue;
        }
        const float *restrict gi = a->gates + b * GH, *restrict gf = gi + H, *restrict gg = gi + 2 * H,
                              *restrict go = gi + 3 * H;
        const float *restrict cp = a->c_prev + (size_t)b * H, *restrict cn = a->c_new + (size_t)b * H;
        const float *restrict dy = a->dy ? a->dy + (size_t)b * a->lddy : NULL;
#pragma omp simd
        for (int j = j0; j < j1; j++) {
            float d = dh[j] + (dy ? dy[j] : 0.0f);
            float i = gi[j], f = gf[j], g = gg[j], o = go[j];
            float tc = rnnc_tanhf(cn[j]);
            float dct = dc[j] + d * o * (1.0f - tc * tc);
            di[j] = dct * g * i * (1.0f - i);
            df[j] = dct * cp[j] * f * (1.0f - f);
            dg[j] = dct * i * (1.0f - g * g);
            dO[j] = d * tc * o * (1.0f - o);
            dcp[j] = dct * f;
            dhp[j] = 0.0f;
        }
    }
}
