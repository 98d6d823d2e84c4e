/* Token-by-token generation over the language model; see include/rnnc/generate.h. */
#include "rnnc/generate.h"

#include <stdlib.h>
#include <string.h>

/* Prompt windows: long enough that the input projection is one real GEMM, small enough that the
 * workspace (T x V logits) stays modest for large vocabularies. */
#define PRIME_T 64

struct rnnc_generator {
    rnnc_lm *m;
    rnnc_lm_ws *ws;
    rnnc_sampler sampler;
    rnnc_rng rng;
    float *logits;    /* (V) after the last input */
    int have_logits;
    int pending;      /* the last drawn id, not yet run through the model; -1 if none */
    int ids[PRIME_T]; /* a window of inputs as the model's int ids */
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
    if (!s) {
        g->logits = malloc((size_t)m->c.vocab * sizeof *g->logits);
        if (!g->logits) s = rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory for %d logits", m->c.vocab);
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
    free(g);
}

void rnnc_generator_reset(rnnc_generator *g) {
    rnnc_lm_ws_reset_state(g->ws);
    g->have_logits = 0;
    g->pending = -1;
}

static rnnc_status run_pending(rnnc_generator *g) {
    if (g->pending < 0) return RNNC_OK;
    int id = g->pending;
    g->pending = -1;
    return rnnc_lm_step(g->m, g->ws, &id, 1, g->logits);
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
