/* rnnc — optimizers over one contiguous parameter buffer and its gradient buffer (llm.c style):
 * SGD with momentum, Adam and AdamW with torch.optim's numerics (PyTorch 1.13, single-tensor path),
 * global-norm gradient clipping as torch.nn.utils.clip_grad_norm_, and a NaN/Inf guard. */
#ifndef RNNC_OPTIM_H
#define RNNC_OPTIM_H

#include <stddef.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RNNC_OPT_SGD, RNNC_OPT_ADAM, RNNC_OPT_ADAMW } rnnc_optim_kind;

typedef struct {
    rnnc_optim_kind kind;
    double lr;
    double momentum;      /* SGD only; dampening 0, no Nesterov (torch's defaults) */
    double weight_decay;  /* SGD/Adam: L2 added to the gradient; AdamW: decoupled p *= 1 - lr*wd */
    double beta1, beta2, eps; /* Adam/AdamW */
} rnnc_optim_config;

/* torch's defaults for `kind` at learning rate lr: momentum 0, weight decay 0 (AdamW: 0.01),
 * betas (0.9, 0.999), eps 1e-8. */
rnnc_optim_config rnnc_optim_defaults(rnnc_optim_kind kind, double lr);
/* "sgd", "adam", "adamw" -> kind; anything else is RNNC_ERR_ARG. */
rnnc_status rnnc_optim_parse(const char *name, rnnc_optim_kind *out);
const char *rnnc_optim_name(rnnc_optim_kind kind);

typedef struct {
    rnnc_optim_config c;
    size_t n;       /* number of parameters */
    long step;      /* steps taken so far */
    float *state;   /* one buffer: SGD momentum (n) or Adam m then v (2n); NULL for plain SGD */
} rnnc_optim;

rnnc_status rnnc_optim_init(rnnc_optim *o, const rnnc_optim_config *c, size_t n); /* checks c */
void rnnc_optim_free(rnnc_optim *o);
/* One update of params (n) from grads (n); grads are not modified. */
void rnnc_optim_step(rnnc_optim *o, float *params, const float *grads);

/* The learning-rate schedule of rnnc's trainers: a linear warm-up over the first `warmup` steps
 * (step is 0-based), then a cosine from lr down to lr * min_ratio as progress goes from 0 to 1
 * (the share of the budget used: steps, or time for a timed run; clamped to [0, 1]). A negative
 * progress means "unknown budget": lr stays constant after the warm-up. */
double rnnc_lr_schedule(double lr, double min_ratio, long warmup, long step, double progress);

/* grads[0..n) = 0 before a step's backward accumulates into them; on every thread for a large n
 * (a serial memset of G2P's 7 MB of gradients was 1% of its two-thread step). */
void rnnc_zero_grad(float *grads, size_t n);
/* The 2-norm of all n gradients together (accumulated in double). */
double rnnc_grad_norm(const float *grads, size_t n);
/* As torch.nn.utils.clip_grad_norm_(max_norm): total = the norm above; when
 * max_norm / (total + 1e-6) < 1 every gradient is multiplied by that coefficient. Returns total. */
double rnnc_clip_grad_norm(float *grads, size_t n, double max_norm);
/* The coefficient rnnc_clip_grad_norm multiplies by for a norm `total` (computed in float as
 * torch does), or 1 when it leaves the gradients as they are. */
float rnnc_clip_coef(double total, double max_norm);

/* RNNC_ERR_NUMERIC "step S: <what> is <value>" when value is NaN or Inf, else RNNC_OK. Training
 * calls it on the loss and on the gradient norm (which is non-finite iff some gradient is). */
rnnc_status rnnc_check_finite(double value, const char *what, long step);

#ifdef __cplusplus
}
#endif

#endif
