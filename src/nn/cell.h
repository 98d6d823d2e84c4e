/* Internal interface between the recurrent-layer runner (rnn.c) and the cells (elman.c, lstm.c,
 * gru.c), which the cell table (cells.c, rnnc_cell_info in include/rnnc/rnn.h) lists with their
 * gate and state counts and workspace needs. A cell is only its pointwise math: the runner has already computed, for one time step,
 * the input projection x W_ih^T (no bias) into `gates` and the hidden projection h_prev W_hh^T
 * (no bias) into `hg`; the cell adds the biases, applies its nonlinearities and produces the new
 * state. Backward is the reverse: from the gradient reaching the new state it produces the
 * gradients of the gate pre-activations (the runner turns those into weight, input and
 * hidden-state gradients with GEMMs) and the direct part of the gradient of the previous state.
 *
 * Every function works on units [j0, j1) of all B rows, so the runner can split one step across
 * threads by hidden unit with no communication inside the step. Row b is valid at this step when
 * t < len[b]; an invalid (padded) row keeps its state, outputs 0 and passes gradients through.
 * Gate blocks are laid out as in PyTorch: row r of `gates` holds gate k of unit j at k*H + j.
 * The runner sizes `aux`, `c_*` and `dgh` from the cell's table row (aux, states, split_dg). */
#ifndef RNNC_NN_CELL_H
#define RNNC_NN_CELL_H

#include <string.h>

#include "nn/vmath.h"

typedef struct rnnc_cell_fwd {
    int B, H, j0, j1;
    int t;                /* time index; row b valid when t < len[b] */
    const int *len;       /* [B] */
    float *gates;         /* [B, G*H] in: x W_ih^T; out: activated gates (GRU: r, z, n; Elman: left as is, h_new is its gate) */
    const float *hg;      /* [B, G*H] h_prev W_hh^T */
    const float *b_ih, *b_hh; /* [G*H] */
    float *aux;           /* [B, aux*H] out: what backward needs besides gates and states (GRU:
                             W_hn h_prev + b_hn); NULL when the table's aux is 0 */
    const float *h_prev;  /* [B, H] */
    float *h_new;         /* [B, H] */
    const float *c_prev;  /* second state (states == 2, LSTM: the cell state): [B, H], else NULL */
    float *c_new;         /* second state: [B, H], else NULL */
    float *y;             /* [B, ldy]: h_new of valid rows, 0 for padded rows */
    int ldy;
} rnnc_cell_fwd;

typedef struct rnnc_cell_bwd {
    int B, H, j0, j1;
    int t;
    const int *len;
    const float *gates;   /* [B, G*H] activated gates from forward (Elman: unused, reads h_new) */
    const float *aux;     /* [B, aux*H] what forward kept (GRU: W_hn h_prev + b_hn), else NULL */
    const float *h_prev, *h_new; /* [B, H] */
    const float *c_prev, *c_new; /* second state: [B, H] */
    const float *dh;      /* [B, H] gradient reaching h_new from later steps / the final state */
    const float *dy;      /* [B, lddy] gradient reaching this step's output, or NULL */
    int lddy;
    const float *zero;    /* [H] zeros, read in place of a NULL dy */
    const float *dc;      /* second state: [B, H] gradient reaching c_new */
    float *dc_prev;       /* second state: [B, H] out */
    float *dh_prev;       /* [B, H] out: the part of dL/dh_prev not through W_hh (the runner adds
                             dgh W_hh afterwards); for padded rows all of dh */
    float *dgx;           /* [B, G*H] out: gradient of the input-side pre-activations */
    float *dgh;           /* [B, H] out (split_dg cells only): the hidden side's last gate block,
                             the one that differs from dgx's (GRU: n); its other blocks are dgx's.
                             Otherwise the same buffer as dgx and not written */
} rnnc_cell_bwd;

/* The prototypes of cell X's pair, rnnc_cell_X_forward and rnnc_cell_X_backward. The cell's own
 * file and the table (cells.c) both write RNNC_CELL_FUNCS(X);, so the definitions are checked
 * against the declarations the table uses without a list of cells in this header. */
#define RNNC_CELL_FUNCS(X)                                                                                            \
    void rnnc_cell_##X##_forward(const rnnc_cell_fwd *a);                                                          \
    void rnnc_cell_##X##_backward(const rnnc_cell_bwd *a)

#endif
