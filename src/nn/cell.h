/* Internal interface between the recurrent-layer runner (rnn.c) and the cells (elman.c, lstm.c,
 * gru.c). A cell is only its pointwise math: the runner has already computed, for one time step,
 * the input projection x W_ih^T (no bias) into `gates` and the hidden projection h_prev W_hh^T
 * (no bias) into `hg`; the cell adds the biases, applies its nonlinearities and produces the new
 * state. Backward is the reverse: from the gradient reaching the new state it produces the
 * gradients of the gate pre-activations (the runner turns those into weight, input and
 * hidden-state gradients with GEMMs) and the direct part of the gradient of the previous state.
 *
 * Every function works on units [j0, j1) of all B rows, so the runner can split one step across
 * threads by hidden unit with no communication inside the step. Row b is valid at this step when
 * t < len[b]; an invalid (padded) row keeps its state, outputs 0 and passes gradients through.
 * Gate blocks are laid out as in PyTorch: row r of `gates` holds gate k of unit j at k*H + j. */
#ifndef RNNC_NN_CELL_H
#define RNNC_NN_CELL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    int B, H, j0, j1;
    int t;                /* time index; row b valid when t < len[b] */
    const int *len;       /* [B] */
    int relu;             /* Elman: relu instead of tanh */
    float *gates;         /* [B, G*H] in: x W_ih^T; out: activated gates (GRU: r, z, n; Elman: left as is, h_new is its gate) */
    const float *hg;      /* [B, G*H] h_prev W_hh^T */
    const float *b_ih, *b_hh; /* [G*H] */
    float *hn;            /* GRU: [B, H] out: W_hn h_prev + b_hn (needed by backward) */
    const float *h_prev;  /* [B, H] */
    float *h_new;         /* [B, H] */
    const float *c_prev;  /* LSTM: [B, H] */
    float *c_new;         /* LSTM: [B, H] */
    float *y;             /* [B, ldy]: h_new of valid rows, 0 for padded rows */
    int ldy;
} rnnc_cell_fwd;

typedef struct {
    int B, H, j0, j1;
    int t;
    const int *len;
    int relu;
    const float *gates;   /* [B, G*H] activated gates from forward (Elman: unused, reads h_new) */
    const float *hn;      /* GRU: [B, H] */
    const float *h_prev, *h_new; /* [B, H] */
    const float *c_prev, *c_new; /* LSTM: [B, H] */
    const float *dh;      /* [B, H] gradient reaching h_new from later steps / the final state */
    const float *dy;      /* [B, lddy] gradient reaching this step's output, or NULL */
    int lddy;
    const float *zero;    /* [H] zeros, read in place of a NULL dy */
    const float *dc;      /* LSTM: [B, H] gradient reaching c_new */
    float *dc_prev;       /* LSTM: [B, H] out */
    float *dh_prev;       /* [B, H] out: the part of dL/dh_prev not through W_hh (the runner adds
                             dgh W_hh afterwards); for padded rows all of dh */
    float *dgx;           /* [B, G*H] out: gradient of the input-side pre-activations */
    float *dgh;           /* [B, G*H] out: hidden side (GRU only; differs in the n block) */
} rnnc_cell_bwd;

void rnnc_elman_forward(const rnnc_cell_fwd *a);
void rnnc_elman_backward(const rnnc_cell_bwd *a);
void rnnc_lstm_forward(const rnnc_cell_fwd *a);
void rnnc_lstm_backward(const rnnc_cell_bwd *a);
void rnnc_gru_forward(const rnnc_cell_fwd *a);
void rnnc_gru_backward(const rnnc_cell_bwd *a);

/* Vectorisable exp, sigmoid and tanh (libm's are calls the compiler cannot vectorise). Relative
 * error is a few float ulps over the whole range, far inside the 1e-4 we promise against PyTorch. */
static inline float rnnc_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = floorf(x * 1.44269504f + 0.5f);
    /* r = x - n ln2 in two pieces so r keeps its low bits */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n built from bits: adding 1.5 * 2^23 leaves the integer n in the low mantissa bits. No
     * float-to-int conversion, so a NaN argument (whose bits end up as garbage here) is not
     * undefined behaviour, and comes out as NaN through p. A union vectorises, memcpy did not. */
    union { float f; uint32_t u; } m = {.f = n + 12582912.0f}, s;
    s.u = (m.u - 0x4B400000u + 127u) << 23;
    return p * s.f;
}

static inline float rnnc_sigmoidf(float x) { return 1.0f / (1.0f + rnnc_expf(-x)); }

static inline float rnnc_tanhf(float x) {
    float ax = fabsf(x);
    /* large |x|: 1 - 2/(e^{2|x|}+1) loses at most a bit; small |x|: odd Taylor series to x^15,
     * whose truncation error below 0.5 is < 1e-8 relative (no cancellation near 0). */
    float big = 1.0f - 2.0f / (rnnc_expf(2.0f * ax) + 1.0f);
    float x2 = ax * ax;
    float p = 1.45583438705e-3f;          /* 929569/638512875 */
    p = p * x2 - 3.59212803657e-3f;       /* 21844/6081075 */
    p = p * x2 + 8.86323552990e-3f;       /* 1382/155925 */
    p = p * x2 - 2.18694885362e-2f;       /* 62/2835 */
    p = p * x2 + 5.39682539683e-2f;       /* 17/315 */
    p = p * x2 - 1.33333333333e-1f;       /* -2/15 -> sign below */
    p = p * x2 + 3.33333333333e-1f;
    float small = ax - ax * x2 * p;
    float v = ax < 0.5f ? small : big;
    return x < 0.0f ? -v : v;
}

#endif
