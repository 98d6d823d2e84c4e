/* LSTM cell, PyTorch's gate order i, f, g, o:
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)   (a = x W_ih^T + b_ih + h W_hh^T + b_hh)
 *   c' = f*c + i*g      h' = o * tanh(c')
 * Forward keeps the activated gates; backward recomputes tanh(c') (cheaper than storing it).
 * The row functions take restrict parameters: GCC trusts those and vectorises without the
 * run-time alias checks that sent block-scope restrict pointers down the scalar path. */
#include "nn/cell.h"

RNNC_CELL_FUNCS(lstm);

static void fwd_row(int n, float *restrict gi, float *restrict gf, float *restrict gg, float *restrict go,
                    const float *restrict hi, const float *restrict hf, const float *restrict hgg,
                    const float *restrict ho, const float *restrict bi, const float *restrict bh, int H,
                    const float *restrict cp, float *restrict cnew, float *restrict hnew, float *restrict y) {
    /* Two passes over the row: the gates and c', then h'. As one loop, each element was a single
     * dependent chain (a gate's exp and divide, c', tanh(c')'s exp and divide, h') of about 220
     * instructions, of which the core held two elements' worth; split, each pass's chain is half
     * as long and twice as many elements overlap. The activated gates and c' are in L1 for the
     * second pass. With AVX2 and FMA eight units at a time written out (vmath.h; sixteen with
     * AVX-512), the rest in the loops below, the same bits either way. */
    int j0 = 0;
#ifdef RNNC_VEC
#define LD(p) RNNC_VLD((p) + j)
#define GATE(g, h, k) RNNC_VADD(RNNC_VADD(RNNC_VADD(LD(g), LD(h)), LD(bi + (k) * H)), LD(bh + (k) * H))
    for (; j0 + RNNC_VW <= n; j0 += RNNC_VW) {
        const int j = j0;
        rnnc_vf i = rnnc_vsigmoidf(GATE(gi, hi, 0)), f = rnnc_vsigmoidf(GATE(gf, hf, 1));
        rnnc_vf g = rnnc_vtanhf(GATE(gg, hgg, 2)), o = rnnc_vsigmoidf(GATE(go, ho, 3));
        RNNC_VST(gi + j, i); RNNC_VST(gf + j, f); RNNC_VST(gg + j, g); RNNC_VST(go + j, o);
        RNNC_VST(cnew + j, RNNC_VADD(RNNC_VMUL(f, LD(cp)), RNNC_VMUL(i, g)));
    }
    for (int j = 0; j + RNNC_VW <= n; j += RNNC_VW) {
        rnnc_vf h = RNNC_VMUL(LD(go), rnnc_vtanhf(LD(cnew)));
        RNNC_VST(hnew + j, h); RNNC_VST(y + j, h);
    }
#undef GATE
#undef LD
#endif
#pragma omp simd
    for (int j = j0; j < n; j++) {
        float i = rnnc_sigmoidf(gi[j] + hi[j] + bi[j] + bh[j]);
        float f = rnnc_sigmoidf(gf[j] + hf[j] + bi[H + j] + bh[H + j]);
        float g = rnnc_tanhf(gg[j] + hgg[j] + bi[2 * H + j] + bh[2 * H + j]);
        float o = rnnc_sigmoidf(go[j] + ho[j] + bi[3 * H + j] + bh[3 * H + j]);
        gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
        cnew[j] = f * cp[j] + i * g;
    }
#pragma omp simd
    for (int j = j0; j < n; j++) {
        float h = go[j] * rnnc_tanhf(cnew[j]);
        hnew[j] = h; y[j] = h;
    }
}

void rnnc_cell_lstm_forward(const rnnc_cell_fwd *a) {
    const int H = a->H, j0 = a->j0, n = a->j1 - a->j0;
    const size_t GH = 4 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *hp = a->h_prev + (size_t)b * H + j0, *cp = a->c_prev + (size_t)b * H + j0;
        float *hnew = a->h_new + (size_t)b * H + j0, *cnew = a->c_new + (size_t)b * H + j0;
        float *y = a->y + (size_t)b * a->ldy + j0;
        if (a->t >= a->len[b]) { /* padded step: the state stays, the output is 0 */
            for (int j = 0; j < n; j++) { hnew[j] = hp[j]; cnew[j] = cp[j]; y[j] = 0.0f; }
            continue;
        }
        float *g = a->gates + b * GH + j0;
        const float *hg = a->hg + b * GH + j0;
        fwd_row(n, g, g + H, g + 2 * H, g + 3 * H, hg, hg + H, hg + 2 * H, hg + 3 * H, a->b_ih + j0, a->b_hh + j0, H,
                cp, cnew, hnew, y);
    }
}

static void bwd_row(int n, const float *restrict gi, const float *restrict gf, const float *restrict gg,
                    const float *restrict go, const float *restrict cp, const float *restrict cn,
                    const float *restrict dh, const float *restrict dy, const float *restrict dc,
                    float *restrict di, float *restrict df, float *restrict dg, float *restrict dO,
                    float *restrict dcp, float *restrict dhp) {
    int j0 = 0;
#ifdef RNNC_VEC
    /* the loop below, RNNC_VW units at a time, each product in its order there */
#define LD(p) RNNC_VLD((p) + j)
    const rnnc_vf one = RNNC_VSET1(1.0f);
    for (; j0 + RNNC_VW <= n; j0 += RNNC_VW) {
        const int j = j0;
        rnnc_vf d = RNNC_VADD(LD(dh), LD(dy)), i = LD(gi), f = LD(gf), g = LD(gg), o = LD(go);
        rnnc_vf tc = rnnc_vtanhf(LD(cn));
        rnnc_vf dct = RNNC_VADD(LD(dc), RNNC_VMUL(RNNC_VMUL(d, o), RNNC_VSUB(one, RNNC_VMUL(tc, tc))));
        RNNC_VST(di + j, RNNC_VMUL(RNNC_VMUL(RNNC_VMUL(dct, g), i), RNNC_VSUB(one, i)));
        RNNC_VST(df + j, RNNC_VMUL(RNNC_VMUL(RNNC_VMUL(dct, LD(cp)), f), RNNC_VSUB(one, f)));
        RNNC_VST(dg + j, RNNC_VMUL(RNNC_VMUL(dct, i), RNNC_VSUB(one, RNNC_VMUL(g, g))));
        RNNC_VST(dO + j, RNNC_VMUL(RNNC_VMUL(RNNC_VMUL(d, tc), o), RNNC_VSUB(one, o)));
        RNNC_VST(dcp + j, RNNC_VMUL(dct, f));
        RNNC_VST(dhp + j, RNNC_VZERO());
    }
#undef LD
#endif
#pragma omp simd
    for (int j = j0; j < n; j++) {
        float d = dh[j] + dy[j];
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

void rnnc_cell_lstm_backward(const rnnc_cell_bwd *a) {
    const int H = a->H, j0 = a->j0, n = a->j1 - a->j0;
    const size_t GH = 4 * (size_t)H;
    for (int b = 0; b < a->B; b++) {
        const float *dh = a->dh + (size_t)b * H + j0, *dc = a->dc + (size_t)b * H + j0;
        float *dhp = a->dh_prev + (size_t)b * H + j0, *dcp = a->dc_prev + (size_t)b * H + j0;
        float *dg = a->dgx + b * GH + j0;
        if (a->t >= a->len[b]) { /* padded step: gradients pass through, no gate gradient */
            for (int j = 0; j < n; j++) {
                dhp[j] = dh[j]; dcp[j] = dc[j];
                dg[j] = dg[H + j] = dg[2 * H + j] = dg[3 * H + j] = 0.0f;
            }
            continue;
        }
        const float *g = a->gates + b * GH + j0;
        const float *dy = a->dy ? a->dy + (size_t)b * a->lddy + j0 : a->zero;
        bwd_row(n, g, g + H, g + 2 * H, g + 3 * H, a->c_prev + (size_t)b * H + j0, a->c_new + (size_t)b * H + j0, dh,
                dy, dc, dg, dg + H, dg + 2 * H, dg + 3 * H, dcp, dhp);
    }
}
