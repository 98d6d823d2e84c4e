/* Token-by-token generation over the language model; see include/rnnc/generate.h.
 *
 * A drawn token runs through a dedicated batch-1 step: per layer two matrix-vector products
 * (W_ih x and W_hh h) and the cell's own pointwise code from src/nn, then the head as one more
 * matrix-vector product. The general window forward serves the prompt; for one token at batch 1
 * it costs several times the arithmetic (an M = 1 SGEMM repacks the whole weight matrix on every
 * call). Both paths use the same weights, cell code and state buffers, and the tests hold them to
 * the same logits. */
#include "rnnc/generate.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cell.h"

/* Prompt windows: long enough that the input projection is one real GEMM, small enough that the
 * workspace (T x V logits) stays modest for large vocabularies. */
#define PRIME_T 64
#define RNNC_GEN_MAX_LAYERS 64

struct rnnc_generator {
    rnnc_lm *m;
    rnnc_lm_ws *ws;
    rnnc_sampler sampler;
    rnnc_rng rng;
    float *logits;    /* (V) after the last input */
    int have_logits;
    int pending;      /* the last drawn id, not yet run through the model; -1 if none */
    int ids[PRIME_T]; /* a window of inputs as the model's int ids */
    /* the batch-1 step */
    int G, H, L;
    void (*cell)(const rnnc_cell_fwd *);
    const float *w_ih[RNNC_GEN_MAX_LAYERS], *w_hh[RNNC_GEN_MAX_LAYERS];
    const float *b_ih[RNNC_GEN_MAX_LAYERS], *b_hh[RNNC_GEN_MAX_LAYERS];
    int in_size[RNNC_GEN_MAX_LAYERS];
    float *gx, *gh, *hn, *h_new, *c_new; /* (G*H), (G*H), (H), (H), (H) */
    float *y[2];                         /* (H) each: layer outputs, alternating */
};

rnnc_status rnnc_generator_new(rnnc_generator **out, rnnc_lm *m, const rnnc_sample_params *p, uint64_t seed) {
    *out = NULL;
    rnnc_generator *g = calloc(1, sizeof *g);
    if (!g) return rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory");
    g->m = m;
    g->pending = -1;
    rnnc_rng_seed(&g->rng, seed);
    rnnc_status s = rnnc_sampler_init(&g->sampler, (size_t)m->c.vocab, p);
    if (!s) s = rnnc_lm_ws_new(&g->ws, m, 1, PRIME_T);
    if (!s && m->c.layers > RNNC_GEN_MAX_LAYERS)
        s = rnnc_error(RNNC_ERR_ARG, "generator: %d layers, at most %d supported", m->c.layers, RNNC_GEN_MAX_LAYERS);
    if (!s) {
        g->G = rnnc_cell_gates(m->c.cell);
        g->H = m->c.hidden;
        g->L = m->c.layers;
        g->cell = m->c.cell == RNNC_CELL_LSTM ? rnnc_lstm_forward : m->c.cell == RNNC_CELL_GRU ? rnnc_gru_forward
                                                                                             : rnnc_elman_forward;
        /* tensors 4l..4l+3 of the recurrent block: weight_ih, weight_hh, bias_ih, bias_hh */
        const float *rp = m->params + m->off_rnn;
        for (int l = 0; l < g->L; l++) {
            g->w_ih[l] = rp + rnnc_rnn_tensor(&m->rnn, (size_t)4 * l).offset;
            g->w_hh[l] = rp + rnnc_rnn_tensor(&m->rnn, (size_t)4 * l + 1).offset;
            g->b_ih[l] = rp + rnnc_rnn_tensor(&m->rnn, (size_t)4 * l + 2).offset;
            g->b_hh[l] = rp + rnnc_rnn_tensor(&m->rnn, (size_t)4 * l + 3).offset;
            g->in_size[l] = rnnc_rnn_tensor(&m->rnn, (size_t)4 * l).shape[1];
        }
        size_t GH = (size_t)g->G * (size_t)g->H;
        g->logits = malloc((size_t)m->c.vocab * sizeof *g->logits);
        g->gx = malloc(GH * sizeof(float));
        g->gh = malloc(GH * sizeof(float));
        g->hn = malloc((size_t)g->H * sizeof(float));
        g->h_new = malloc((size_t)g->H * sizeof(float));
        g->c_new = malloc((size_t)g->H * sizeof(float));
        g->y[0] = malloc((size_t)g->H * sizeof(float));
        g->y[1] = malloc((size_t)g->H * sizeof(float));
        if (!g->logits || !g->gx || !g->gh || !g->hn || !g->h_new || !g->c_new || !g->y[0] || !g->y[1])
            s = rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory for %d logits", m->c.vocab);
    }
    if (s) { rnnc_generator_free(g); return s; }
    *out = g;
    return RNNC_OK;
}

void rnnc_generator_free(rnnc_generator *g) {
    if (!g) return;
    if (g->ws) rnnc_lm_ws_free(g->ws);
    rnnc_sampler_free(&g->sampler);
    free(g->logits);
    free(g->gx);
    free(g->gh);
    free(g->hn);
    free(g->h_new);
    free(g->c_new);
    free(g->y[0]);
    free(g->y[1]);
    free(g);
}

void rnnc_generator_reset(rnnc_generator *g) {
    rnnc_lm_ws_reset_state(g->ws);
    g->have_logits = 0;
    g->pending = -1;
}

/* y[r] = W[r, :] . x for rows [r0, r1) of a row-major W (n columns). Four rows share each load of
 * x; `omp simd` lets the compiler vectorise the float sums (reassociating them, which a plain
 * loop may not), so this runs at the speed the weights stream in from cache. */
static void matvec_rows(const float *restrict W, size_t n, const float *restrict x, float *restrict y, int r0, int r1) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = W + (size_t)r * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (size_t k = 0; k < n; k++) {
            s0 += w0[k] * x[k];
            s1 += w1[k] * x[k];
            s2 += w2[k] * x[k];
            s3 += w3[k] * x[k];
        }
        y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;
    }
    for (; r < r1; r++) {
        const float *w = W + (size_t)r * n;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t k = 0; k < n; k++) s += w[k] * x[k];
        y[r] = s;
    }
}

/* Thread k of n owns units [j0, j1), cut at multiples of 16 floats so no cache line is shared. */
static void slice(int N, int k, int n, int *j0, int *j1) {
    int a = k == 0 ? 0 : (int)((long)N * k / n) & ~15;
    int b = k == n - 1 ? N : (int)((long)N * (k + 1) / n) & ~15;
    *j0 = a > N ? N : a;
    *j1 = b < *j0 ? *j0 : b;
}

/* One token through the model at batch 1, reading and writing the workspace's carried state
 * (h, c: (L, H)), leaving the logits in g->logits.
 *
 * Each thread owns a slice of hidden units: it computes the gate rows of its units (all G gates,
 * input and hidden side), runs the cell on them, and the threads meet once per layer, because the
 * next layer reads the whole output. The head is split by vocabulary rows. So the weights are read
 * once per token, split between the cores, with L + 1 barriers. */
static void step_one(rnnc_generator *g, int id) {
    const rnnc_lm *m = g->m;
    const int H = g->H, G = g->G, L = g->L, V = m->c.vocab;
    float *h = rnnc_lm_ws_h(g->ws), *c = rnnc_lm_ws_c(g->ws);
    const float *x0 = m->params + m->off_embedding + (size_t)id * (size_t)m->c.embed;
    const int relu = m->c.cell == RNNC_CELL_RNN_RELU;
    /* below ~64 units per thread the barriers cost more than the split saves */
    int nth = omp_get_max_threads();
    if (nth > H / 64) nth = H / 64 > 0 ? H / 64 : 1;
    static const int one = 1;
#pragma omp parallel num_threads(nth)
    {
        int k = omp_get_thread_num(), n = omp_get_num_threads(), j0, j1;
        slice(H, k, n, &j0, &j1);
        for (int l = 0; l < L; l++) {
            const float *xin = l == 0 ? x0 : g->y[(l - 1) & 1];
            float *hl = h + (size_t)l * H, *cl = c ? c + (size_t)l * H : NULL;
            size_t I = (size_t)g->in_size[l];
            for (int q = 0; q < G; q++) {
                matvec_rows(g->w_ih[l], I, xin, g->gx, q * H + j0, q * H + j1);
                matvec_rows(g->w_hh[l], (size_t)H, hl, g->gh, q * H + j0, q * H + j1);
            }
            rnnc_cell_fwd a = {.B = 1, .H = H, .j0 = j0, .j1 = j1, .t = 0, .len = &one, .relu = relu,
                               .gates = g->gx, .hg = g->gh, .b_ih = g->b_ih[l], .b_hh = g->b_hh[l], .hn = g->hn,
                               .h_prev = hl, .h_new = g->h_new, .c_prev = cl, .c_new = cl ? g->c_new : NULL,
                               .y = g->y[l & 1], .ldy = H};
            if (j1 > j0) g->cell(&a);
            /* every thread has read all of h_l for its hidden-side rows before any overwrites it */
#pragma omp barrier
            if (j1 > j0) {
                memcpy(hl + j0, g->h_new + j0, (size_t)(j1 - j0) * sizeof(float));
                if (cl) memcpy(cl + j0, g->c_new + j0, (size_t)(j1 - j0) * sizeof(float));
            }
        }
        int v0, v1;
        slice(V, k, n, &v0, &v1);
        const float *y = g->y[(L - 1) & 1];
        matvec_rows(m->params + m->off_head_w, (size_t)H, y, g->logits, v0, v1);
        const float *hb = m->params + m->off_head_b;
        for (int v = v0; v < v1; v++) g->logits[v] += hb[v];
    }
}

static rnnc_status run_pending(rnnc_generator *g) {
    if (g->pending < 0) return RNNC_OK;
    int id = g->pending;
    g->pending = -1;
    step_one(g, id);
    return RNNC_OK;
}

rnnc_status rnnc_generator_feed(rnnc_generator *g, const uint32_t *ids, size_t n) {
    const int V = g->m->c.vocab;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= (uint32_t)V)
            return rnnc_error(RNNC_ERR_RANGE, "generator: id %u at position %zu is outside the vocabulary of %d", ids[i], i, V);
    rnnc_status s = run_pending(g);
    for (size_t done = 0; !s && done < n;) {
        int t = n - done < PRIME_T ? (int)(n - done) : PRIME_T;
        for (int k = 0; k < t; k++) g->ids[k] = (int)ids[done + (size_t)k];
        const float *l;
        s = rnnc_lm_forward(g->m, g->ws, g->ids, 1, t, false, NULL, &l);
        if (!s) memcpy(g->logits, l + (size_t)(t - 1) * (size_t)V, (size_t)V * sizeof *g->logits);
        done += (size_t)t;
    }
    if (!s && n > 0) g->have_logits = 1;
    return s;
}

const float *rnnc_generator_logits(rnnc_generator *g) {
    if (!g->have_logits || run_pending(g)) return NULL;
    return g->logits;
}

rnnc_status rnnc_generator_next(rnnc_generator *g, uint32_t *id) {
    if (!g->have_logits) return rnnc_error(RNNC_ERR_ARG, "generator: feed at least one id (a prompt) before sampling");
    rnnc_status s = run_pending(g);
    if (!s) s = rnnc_sampler_next(&g->sampler, g->logits, &g->rng, id);
    if (!s) g->pending = (int)*id;
    return s;
}
