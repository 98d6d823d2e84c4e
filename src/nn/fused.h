/* Internal: layers fused with their neighbours where the data between them is large and read once:
 * the affine head of a language model, its softmax cross-entropy and the head's input gradient. */
#ifndef RNNC_NN_FUSED_H
#define RNNC_NN_FUSED_H

#include <stdbool.h>

#include "rnnc/status.h"

/* logits = x W^T + b (x [N, IN], W [V, IN] as nn.Linear, b [V] or NULL), the mean softmax
 * cross-entropy against targets (ignore_index skipped) into *loss and the count into *count, and
 * with backward its gradient over the logits in place and, when dx is not NULL, dx = dlogits W
 * ([N, IN]). The rows go in blocks of 64, each block's logits, loss terms, gradient and dx made one
 * after the other while the block is in cache, instead of three passes over all N x V logits; the
 * weight and bias gradients (sums over all rows) are left to the caller. Every logit, gradient and
 * dx element is the number rnnc_linear_forward, rnnc_xent_forward_backward and rnnc_gemm_aw give;
 * the loss adds its blocks' sums in block order, so it does not depend on the thread count. A W
 * too large to pack takes those three calls instead. Errors as rnnc_xent_forward_backward's. */
rnnc_status rnnc_head_xent(const float *x, const float *W, const float *b, const int *targets, int N, int IN, int V,
                           int ignore_index, float *logits, bool backward, float *dx, double *loss, long *count);

#endif
