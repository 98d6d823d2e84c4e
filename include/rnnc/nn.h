/* rnnc — the non-recurrent layers of a language model: embedding lookup, linear (affine) head and
 * softmax cross-entropy over the vocabulary. llm.c style: each layer is a forward/backward pair over
 * raw row-major float arrays; backward accumulates (+=) into parameter gradients.
 *
 * Shapes use N for the number of rows (B*T flattened), V vocabulary, E embedding width, IN/OUT the
 * linear layer's input/output widths (not I: complex.h, pulled in by cblas.h, defines I). Weights
 * follow PyTorch: nn.Embedding (V,E), nn.Linear (OUT,IN). */
#ifndef RNNC_NN_H
#define RNNC_NN_H

#include <stddef.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (N,E) = W[ids[n]] for W (V,E). An id outside [0,V) is RNNC_ERR_RANGE naming its position. */
rnnc_status rnnc_embedding_forward(float *out, const int *ids, const float *W, int N, int V, int E);
/* dW (V,E) += scatter of dout (N,E) by ids (rows of repeated ids add up). ids must be valid. */
void rnnc_embedding_backward(float *dW, const float *dout, const int *ids, int N, int E);

/* Output-layer bias at the start of training: bias[j] = log((count[j] + 0.5) / (total + 0.5 V)),
 * the add-half-smoothed unigram distribution of the training targets (total = sum of count), so
 * softmax(bias) is the model's first prediction and never-seen ids start improbable. */
void rnnc_unigram_bias(float *bias, const double *count, int V);

/* out (N,OUT) = x (N,IN) W^T + b, W (OUT,IN), b (OUT) or NULL. */
void rnnc_linear_forward(float *out, const float *x, const float *W, const float *b, int N, int IN, int OUT);
/* dx (N,IN) = dout W (written, skipped when dx is NULL); dW (OUT,IN) += dout^T x; db (OUT) += column
 * sums of dout (skipped when NULL). */
void rnnc_linear_backward(float *dx, float *dW, float *db, const float *dout, const float *x, const float *W,
                          int N, int IN, int OUT);

#define RNNC_IGNORE_INDEX (-100) /* torch.nn.CrossEntropyLoss's default ignore_index */

/* Softmax cross-entropy of logits (N,V) against targets (N), averaged over the targets that are not
 * ignore_index (as torch's reduction="mean"). Fused and numerically stable (the row max is
 * subtracted before expf; sums in double). *loss gets the mean (0 when every target is ignored), *count the
 * number of targets counted. When dlogits is not NULL it receives the gradient of
 * (mean loss * grad_scale) with respect to the logits; dlogits may alias logits. A target outside
 * [0,V) that is not ignore_index is RNNC_ERR_RANGE naming its position. */
rnnc_status rnnc_xent_forward_backward(const float *logits, const int *targets, int N, int V, int ignore_index,
                                       float grad_scale, float *dlogits, double *loss, long *count);

#ifdef __cplusplus
}
#endif

#endif
