/* rnnc — the panels of an rnnc_rnn_packed (internal), for a caller that runs its own products
 * over them: the generator's batch-1 step. */
#ifndef RNNC_RNN_PACKED_H
#define RNNC_RNN_PACKED_H

#include "rnnc/rnn.h"

/* Layer l, direction d: W_hh per gate, gate g's panels at rnnc_pgemm_size(H, H) * g (K = H rows of
 * W_hh^T, N = H columns), as the forward time loop packs them. */
const float *rnnc_rnn_packed_whh(const rnnc_rnn_packed *p, int l, int d);
/* Layer l, direction d: W_ih as rnnc_gemm_aw packs it, K = the layer's input rows of W_ih^T and
 * N = G*H columns in 32-column panels. With H a multiple of 32 gate g's columns are the panels
 * at rnnc_pgemm_size(I, H) * g, laid out as W_ih's gate block g packed alone. */
const float *rnnc_rnn_packed_wih(const rnnc_rnn_packed *p, int l, int d);

#endif
