/* SGD, Adam, AdamW and gradient clipping with torch.optim's numerics (PyTorch 1.13).
 *
 * Matching torch number for number means following its order of operations: the scalars
 * (bias corrections, step size) are computed in double as Python does, then each tensor op runs in
 * float. Adam: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; denom = sqrt(v)/sqrt(1-b2^t) + eps;
 * p += -(lr/(1-b1^t)) * m / denom. */
#include <math.h>
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/optim.h"

rnnc_optim_config rnnc_optim_defaults(rnnc_optim_kind kind, double lr) {
    rnnc_optim_config c = {kind, lr, 0.0, kind == RNNC_OPT_ADAMW ? 0.01 : 0.0, 0.9, 0.999, 1e-8};
    return c;
}

static const char *const names[] = {"sgd", "adam", "adamw"};

rnnc_status rnnc_optim_parse(const char *name, rnnc_optim_kind *out) {
    for (int k = 0; k < 3; k++)
        if (strcmp(name, names[k]) == 0) { *out = (rnnc_optim_kind)k; return RNNC_OK; }
    return rnnc_error(RNNC_ERR_ARG, "unknown optimizer '%s' (expected sgd, adam or adamw)", name);
}

const char *rnnc_optim_name(rnnc_optim_kind kind) {
    return (unsigned)kind < 3 ? names[kind] : "?";
}

rnnc_status rnnc_optim_init(rnnc_optim *o, const rnnc_optim_config *c, size_t n) {
    memset(o, 0, sizeof *o);
    if ((unsigned)c->kind > RNNC_OPT_ADAMW) return rnnc_error(RNNC_ERR_ARG, "optimizer: unknown kind %d", (int)c->kind);
    if (!(c->lr >= 0) || !isfinite(c->lr)) return rnnc_error(RNNC_ERR_ARG, "optimizer: learning rate %g is not >= 0", c->lr);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return rnnc_error(RNNC_ERR_ARG, "optimizer: momentum %g is not in [0, 1)", c->momentum);
    if (!(c->weight_decay >= 0) || !isfinite(c->weight_decay))
        return rnnc_error(RNNC_ERR_ARG, "optimizer: weight decay %g is not >= 0", c->weight_decay);
    if (c->kind != RNNC_OPT_SGD) {
        if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
            return rnnc_error(RNNC_ERR_ARG, "optimizer: betas (%g, %g) are not in [0, 1)", c->beta1, c->beta2);
        if (!(c->eps >= 0)) return rnnc_error(RNNC_ERR_ARG, "optimizer: eps %g is not >= 0", c->eps);
    }
    o->c = *c;
    o->n = n;
    size_t per = c->kind == RNNC_OPT_SGD ? (c->momentum > 0 ? 1 : 0) : 2;
    if (per && n) {
        o->state = calloc(per * n, sizeof(float));
        if (!o->state) return rnnc_error(RNNC_ERR_NOMEM, "optimizer: out of memory for %zu moments", per * n);
    }
    return RNNC_OK;
}

void rnnc_optim_free(rnnc_optim *o) {
    if (!o) return;
    free(o->state);
    o->state = NULL;
}

/* Elements a work item of the optimizer's and the gradient norm's loops takes: 256 KiB of floats.
 * Chunk c of n elements is [c * CHUNK, chunk_end(c, n)). */
#define CHUNK ((size_t)1 << 16)
static size_t chunks_of(size_t n) { return (n + CHUNK - 1) / CHUNK; }
static size_t chunk_end(size_t c, size_t n) { return (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n; }

static void sgd_step(rnnc_optim *o, float *p, const float *g) {
    const float lr = (float)o->c.lr, wd = (float)o->c.weight_decay, mu = (float)o->c.momentum;
    float *buf = o->state;
    const size_t n = o->n;
    const int first = o->step == 1;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float d = wd != 0.0f ? g[i] + wd * p[i] : g[i];
        if (buf) {
            /* torch seeds the buffer with the first gradient itself (not mu*0 + g: same value). */
            buf[i] = first ? d : mu * buf[i] + d;
            d = buf[i];
        }
        p[i] += -lr * d;
    }
}

/* Adam on elements [lo, hi), eight or sixteen at a time where the machine has AVX or AVX-512 (the
 * scalar loop was a sixth of a G2P step; the compiler does not vectorise sqrtf while it may set
 * errno). Every vector operation rounds as its scalar twin, in the same order (no fused
 * multiply-add), so the numbers are the scalar loop's, which are torch.optim's. */
typedef struct { float b1, b2, omb1, omb2, wd, step_size, bc2_sqrt, eps, decay; int adamw; } adam_consts;

static inline void adam_one(const adam_consts *k, float *p, const float *g, float *m, float *v, size_t i) {
    float gi = g[i];
    if (k->adamw) p[i] *= k->decay;
    else if (k->wd != 0.0f) gi = gi + k->wd * p[i];
    m[i] = m[i] * k->b1 + k->omb1 * gi;
    v[i] = v[i] * k->b2 + k->omb2 * gi * gi;
    float denom = sqrtf(v[i]) / k->bc2_sqrt + k->eps;
    p[i] += -k->step_size * m[i] / denom;
}

#if defined(__AVX512F__)
#define ADAM_W 16
#define VF __m512
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VSET _mm512_set1_ps
#define VADD _mm512_add_ps
#define VMUL _mm512_mul_ps
#define VDIV _mm512_div_ps
#define VSQRT _mm512_sqrt_ps
#elif defined(__AVX__)
#define ADAM_W 8
#define VF __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET _mm256_set1_ps
#define VADD _mm256_add_ps
#define VMUL _mm256_mul_ps
#define VDIV _mm256_div_ps
#define VSQRT _mm256_sqrt_ps
#endif

static void adam_range(const adam_consts *k, float *p, const float *g, float *m, float *v, size_t lo, size_t hi) {
    size_t i = lo;
#ifdef ADAM_W
    const VF b1 = VSET(k->b1), b2 = VSET(k->b2), omb1 = VSET(k->omb1), omb2 = VSET(k->omb2), wd = VSET(k->wd);
    const VF nstep = VSET(-k->step_size), bc2 = VSET(k->bc2_sqrt), eps = VSET(k->eps), decay = VSET(k->decay);
    for (; i + ADAM_W <= hi; i += ADAM_W) {
        VF gi = VLOAD(g + i), pi = VLOAD(p + i);
        if (k->adamw) pi = VMUL(pi, decay);
        else if (k->wd != 0.0f) gi = VADD(gi, VMUL(wd, pi));
        VF mi = VADD(VMUL(VLOAD(m + i), b1), VMUL(omb1, gi));
        VF vi = VADD(VMUL(VLOAD(v + i), b2), VMUL(VMUL(omb2, gi), gi));
        VF denom = VADD(VDIV(VSQRT(vi), bc2), eps);
        VSTORE(m + i, mi);
        VSTORE(v + i, vi);
        VSTORE(p + i, VADD(pi, VDIV(VMUL(nstep, mi), denom)));
    }
#endif
    for (; i < hi; i++) adam_one(k, p, g, m, v, i);
}

static void adam_step(rnnc_optim *o, float *p, const float *g) {
    const double t = (double)o->step;
    adam_consts k;
    k.b1 = (float)o->c.beta1;
    k.b2 = (float)o->c.beta2;
    k.eps = (float)o->c.eps;
    /* 1 - beta is formed in double (Python) and then rounded, not as 1.0f - b1 in float. */
    k.omb1 = (float)(1.0 - o->c.beta1);
    k.omb2 = (float)(1.0 - o->c.beta2);
    k.wd = (float)o->c.weight_decay;
    k.step_size = (float)(o->c.lr / (1.0 - pow(o->c.beta1, t)));
    k.bc2_sqrt = (float)sqrt(1.0 - pow(o->c.beta2, t));
    k.decay = (float)(1.0 - o->c.lr * o->c.weight_decay); /* AdamW */
    k.adamw = o->c.kind == RNNC_OPT_ADAMW;
    float *m = o->state, *v = o->state + o->n;
    const size_t n = o->n, chunks = chunks_of(n);
    /* chunks handed out as threads come free: with two equal halves one thread waited for the
     * other 14% of G2P's step (parts of the arrays were still in one core's cache, not the other's) */
    #pragma omp parallel for schedule(dynamic) if (chunks > 1 && !omp_in_parallel())
    for (size_t c = 0; c < chunks; c++) adam_range(&k, p, g, m, v, c * CHUNK, chunk_end(c, n));
}

void rnnc_optim_step(rnnc_optim *o, float *params, const float *grads) {
    o->step++;
    if (o->c.kind == RNNC_OPT_SGD) sgd_step(o, params, grads);
    else adam_step(o, params, grads);
}

void rnnc_zero_grad(float *g, size_t n) {
    const size_t chunks = chunks_of(n);
    #pragma omp parallel for schedule(dynamic) if (chunks > 1 && !omp_in_parallel())
    for (size_t c = 0; c < chunks; c++) memset(g + c * CHUNK, 0, (chunk_end(c, n) - c * CHUNK) * sizeof(float));
}

/* The sum of squares of g[lo, hi) in double: 32 running sums (element i into sum i % 32, which
 * vectorises; one running sum was a chain of dependent additions, 2.5% of G2P's step), then the
 * 32 and the tail in order. */
static double sum_squares(const float *g, size_t lo, size_t hi) {
    double acc[32] = {0};
    size_t i = lo;
    for (; i + 32 <= hi; i += 32)
        for (int j = 0; j < 32; j++) acc[j] += (double)g[i + j] * (double)g[i + j];
    double s = 0.0;
    for (int j = 0; j < 32; j++) s += acc[j];
    for (; i < hi; i++) s += (double)g[i] * (double)g[i];
    return s;
}

/* Each chunk's sum of squares (sum_squares), then the chunks' sums in order: the same value on any
 * thread count (a reduction clause adds per-thread partials, which the thread count moves), with
 * the chunks handed out as threads come free. */
double rnnc_grad_norm(const float *g, size_t n) {
    const size_t chunks = chunks_of(n);
    double stack[64], *part = chunks <= 64 ? stack : malloc(chunks * sizeof(double));
    double s = 0.0;
    if (!part) { /* no memory for the partial sums: the same sums on this thread */
        for (size_t c = 0; c < chunks; c++) s += sum_squares(g, c * CHUNK, chunk_end(c, n));
        return sqrt(s);
    }
    #pragma omp parallel for schedule(dynamic) if (chunks > 1 && !omp_in_parallel())
    for (size_t c = 0; c < chunks; c++) part[c] = sum_squares(g, c * CHUNK, chunk_end(c, n));
    for (size_t c = 0; c < chunks; c++) s += part[c];
    if (part != stack) free(part);
    return sqrt(s);
}

float rnnc_clip_coef(double total, double max_norm) {
    /* torch: clip_coef = max_norm / (total + 1e-6), clamped at 1, computed as float tensors. */
    const float coef = (float)max_norm / ((float)total + 1e-6f);
    return coef < 1.0f ? coef : 1.0f;
}

double rnnc_clip_grad_norm(float *g, size_t n, double max_norm) {
    double total = rnnc_grad_norm(g, n);
    const float coef = rnnc_clip_coef(total, max_norm);
    if (coef < 1.0f) {
        const size_t chunks = chunks_of(n);
        #pragma omp parallel for schedule(dynamic) if (chunks > 1 && !omp_in_parallel())
        for (size_t c = 0; c < chunks; c++)
            for (size_t i = c * CHUNK, hi = chunk_end(c, n); i < hi; i++) g[i] *= coef;
    }
    return total;
}

rnnc_status rnnc_check_finite(double value, const char *what, long step) {
    if (isfinite(value)) return RNNC_OK;
    return rnnc_error(RNNC_ERR_NUMERIC, "step %ld: %s is %s; training stopped", step, what,
                      isnan(value) ? "NaN" : "Inf");
}

double rnnc_lr_schedule(double lr, double min_ratio, long warmup, long step, double progress) {
    if (warmup > 0 && step < warmup) return lr * (double)(step + 1) / (double)warmup;
    if (progress < 0) return lr;
    if (progress > 1) progress = 1;
    double lo = lr * min_ratio;
    return lo + 0.5 * (lr - lo) * (1 + cos(3.14159265358979323846 * progress));
}
