/* Token-by-token generation over the language model; see include/rnnc/generate.h.
 *
 * A drawn token runs through a dedicated batch-1 step: per layer and gate two one-row products
 * (x W_ih^T and h W_hh^T) over the weights packed once as the time loops pack theirs (nn/pgemm.h),
 * the cell's own pointwise code from src/nn, then the head as one more one-row product. Nothing
 * here names a cell or computes the weight layout: the gate and state counts, the cell's scratch
 * and its forward come from the cell table (rnnc_cell_info_of), each layer's weights from
 * rnnc_rnn_layer, as in the recurrent stack's own time loop. The general window forward serves
 * the prompt (the stack alone, over the same packed panels; the head once, for its last position);
 * for one token at batch 1 it costs several times the arithmetic. Both paths use the same
 * weights, cell code and state buffers, and the tests hold them to the same logits. */
#include "rnnc/generate.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/bigmem.h"
#include "core/cpu.h"
#include "nn/cell.h"
#include "nn/pgemm.h"
#include "nn/rnn_packed.h"

/* The half-precision step's kernel (hpanels): compiled in where the build targets F16C, AVX2 and
 * FMA; in other x86 builds (RNNC_NATIVE=OFF, a distribution's package) compiled for that target
 * alone and taken where the CPU has all three, as pgemm.c does for its AVX2 kernel. */
#if defined(__F16C__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define HALF_SIMD 1
#define HALF_TARGET
#elif (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define HALF_SIMD 1
#define HALF_TARGET __attribute__((target("avx2,fma,f16c")))
#endif


/* Prompt windows: long enough that the input projection is one real GEMM. feed() computes no
 * window's logits (rnnc_lm_forward_hidden), so the workspace's T x V logits buffer is never
 * written and takes address space only. */
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
    int threads;      /* for the per-token step */
    /* the batch-1 step */
    const rnnc_cell_info *cell; /* the model's row of the cell table */
    int G, H, L;
    const float *w_ih[RNNC_GEN_MAX_LAYERS], *w_hh[RNNC_GEN_MAX_LAYERS];
    const float *b_ih[RNNC_GEN_MAX_LAYERS], *b_hh[RNNC_GEN_MAX_LAYERS];
    int in_size[RNNC_GEN_MAX_LAYERS];
    float *gx, *gh;       /* (G*H) each: input- and hidden-side gate pre-activations */
    float *aux;           /* (aux*H): what the cell keeps for its backward (GRU), else NULL */
    float *h_new, *c_new; /* (H) each: the new states (c_new only for a cell with two states) */
    float *y[2];                         /* (H) each: layer outputs, alternating */
    /* the float step's weights as the time loops' packed panels (nn/pgemm.h) that rp does not
     * hold: the head, and before it, where H is not a multiple of 32, each layer's W_ih per gate
     * block; NULL after rnnc_generator_use_half */
    float *packed;
    const float *pk_ih[RNNC_GEN_MAX_LAYERS], *pk_hh[RNNC_GEN_MAX_LAYERS], *pk_head;
    /* the stack's weights packed once (rnnc_rnn_packed), read by the prompt's window forwards and
     * by the float step, whose W_hh (and with H a multiple of 32 W_ih) panels are these */
    rnnc_rnn_packed *rp;
    /* the same weights rounded to half precision in panels of 16 columns (hpanel_pack), each gate
     * block apart (rnnc_generator_use_half), else NULL */
    uint16_t *half;
    const uint16_t *hw_ih[RNNC_GEN_MAX_LAYERS], *hw_hh[RNNC_GEN_MAX_LAYERS], *hw_head;
};

/* The step's float weights packed once as the recurrent time loops pack theirs (nn/pgemm.h):
 * each gate block of W_ih and W_hh, and the head, as panels of 32 output columns. A one-row product
 * over panels (rnnc_pgemm) reads them at about the caches' rate (60 GB/s on one Zen 3 core), where
 * a dot product per row, two accumulators and a sum across the lanes, read 41-45. The stack's
 * panels are those of the rnnc_rnn_packed the prompt's window forwards read (nn/rnn_packed.h), so
 * they are held once; W_ih's only where H is a multiple of 32 (else each gate block is packed
 * apart here), and the head's here. */
static rnnc_status pack_weights(rnnc_generator *g) {
    const rnnc_lm *m = g->m;
    const int H = g->H, G = g->G, V = m->c.vocab;
    rnnc_status s = rnnc_rnn_packed_new(&g->rp, &m->rnn, m->params + m->off_rnn);
    if (!s) s = rnnc_lm_ws_set_packed(g->ws, g->rp);
    if (s) return s;
    const bool own_ih = H % RNNC_PGEMM_NR != 0;
    size_t total = rnnc_pgemm_size(H, V);
    for (int l = 0; own_ih && l < g->L; l++) total += (size_t)G * rnnc_pgemm_size(g->in_size[l], H);
    float *p = aligned_alloc(64, (total * sizeof(float) + 63) / 64 * 64);
    if (!p) return rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory for %zu packed weights", total);
    g->packed = p;
    for (int l = 0; l < g->L; l++) {
        const int I = g->in_size[l];
        g->pk_hh[l] = rnnc_rnn_packed_whh(g->rp, l, 0);
        g->pk_ih[l] = own_ih ? p : rnnc_rnn_packed_wih(g->rp, l, 0);
        for (int q = 0; own_ih && q < G; q++, p += rnnc_pgemm_size(I, H))
            rnnc_pgemm_pack(p, g->w_ih[l] + (size_t)q * H * I, I, 1, I, H, 0, H);
    }
    g->pk_head = p;
    rnnc_pgemm_pack(p, m->params + m->off_head_w, H, 1, H, V, 0, V);
    return RNNC_OK;
}

rnnc_status rnnc_generator_new(rnnc_generator **out, rnnc_lm *m, const rnnc_sample_params *p, uint64_t seed) {
    *out = NULL;
    rnnc_generator *g = calloc(1, sizeof *g);
    if (!g) return rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory");
    g->m = m;
    g->pending = -1;
    g->threads = 1;
    rnnc_rng_seed(&g->rng, seed);
    rnnc_status s = rnnc_sampler_init(&g->sampler, (size_t)m->c.vocab, p);
    if (!s) s = rnnc_lm_ws_new(&g->ws, m, 1, PRIME_T);
    if (!s && m->c.layers > RNNC_GEN_MAX_LAYERS)
        s = rnnc_error(RNNC_ERR_ARG, "generator: %d layers, at most %d supported", m->c.layers, RNNC_GEN_MAX_LAYERS);
    if (!s) {
        g->cell = rnnc_cell_info_of(m->c.cell); /* the model's config is checked: a row */
        g->G = g->cell->gates;
        g->H = m->c.hidden;
        g->L = m->c.layers;
        /* the language model's stack is unidirectional: direction 0 of each layer */
        const float *rp = m->params + m->off_rnn;
        for (int l = 0; l < g->L; l++) {
            const rnnc_rnn_layer_layout y = rnnc_rnn_layer(&m->rnn, l, 0);
            g->w_ih[l] = rp + y.w_ih;
            g->w_hh[l] = rp + y.w_hh;
            g->b_ih[l] = rp + y.b_ih;
            g->b_hh[l] = rp + y.b_hh;
            g->in_size[l] = y.input;
        }
        size_t GH = (size_t)g->G * (size_t)g->H, H = (size_t)g->H;
        g->logits = malloc((size_t)m->c.vocab * sizeof *g->logits);
        g->gx = malloc(GH * sizeof(float));
        g->gh = malloc(GH * sizeof(float));
        if (g->cell->aux) g->aux = malloc((size_t)g->cell->aux * H * sizeof(float));
        g->h_new = malloc(H * sizeof(float));
        if (g->cell->states > 1) g->c_new = malloc(H * sizeof(float));
        g->y[0] = malloc(H * sizeof(float));
        g->y[1] = malloc(H * sizeof(float));
        if (!g->logits || !g->gx || !g->gh || (g->cell->aux && !g->aux) || !g->h_new ||
            (g->cell->states > 1 && !g->c_new) || !g->y[0] || !g->y[1])
            s = rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory for %d logits", m->c.vocab);
    }
    if (!s) s = pack_weights(g);
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
    free(g->aux);
    free(g->h_new);
    free(g->c_new);
    free(g->y[0]);
    free(g->y[1]);
    free(g->half);
    free(g->packed);
    rnnc_rnn_packed_free(g->rp);
    free(g);
    rnnc_scratch_trim(); /* done generating: the cached temporaries go too */
}

void rnnc_generator_reset(rnnc_generator *g) {
    rnnc_lm_ws_reset_state(g->ws);
    g->have_logits = 0;
    g->pending = -1;
}

/* IEEE 754 binary16 <-> binary32, round to nearest even. Weights of a trained model are far inside
 * half's range (6e-8 .. 65504); larger values become infinity, as a hardware conversion does. */
static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, mant = x & 0x7fffff;
    if (e == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0)); /* inf, nan */
    int E = (int)e - 127 + 15;
    if (E >= 31) return (uint16_t)(sign | 0x7c00);
    if (E <= 0) { /* subnormal half (or zero) */
        if (E < -10) return (uint16_t)sign;
        mant |= 0x800000;
        int shift = 14 - E;
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)E << 10) | (mant >> 13), rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* may carry into the exponent: correct */
    return (uint16_t)(sign | h);
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, mant = h & 0x3ff, x;
    if (e == 0) {
        if (mant == 0) x = sign;
        else { /* subnormal: normalise */
            int k = 0;
            while (!(mant & 0x400)) { mant <<= 1; k++; }
            x = sign | ((uint32_t)(127 - 15 + 1 - k) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (e == 31) x = sign | 0x7f800000 | (mant << 13);
    else x = sign | ((e + 127 - 15) << 23) | (mant << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* Half-precision weights in panels of 16 output columns: panel p holds the K x 16 values of
 * columns 16p..16p+15 (zero beyond N), row k after row k (32 bytes a row). */
static size_t hpanel_size(int K, int N) { return (size_t)K * (size_t)((N + 15) / 16 * 16); }

/* Packs W (N rows of K, row-major: output column n is row n), rounded to half, as hpanel_size's
 * panels. */
static void hpanel_pack(uint16_t *dst, const float *W, int K, int N) {
    for (int p = 0; p < (N + 15) / 16; p++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < 16; j++) {
                const int n = 16 * p + j;
                dst[((size_t)p * K + k) * 16 + j] = n < N ? float_to_half(W[(size_t)n * K + k]) : 0;
            }
}

#ifdef HALF_SIMD
/* Columns of np <= 4 panels (the last w <= 16 wide) at once: 2 x np multiply-add chains over k,
 * each column its own sum over k in order, the weights converted in registers. */
static inline __attribute__((always_inline)) HALF_TARGET void hpanels(const int np, const uint16_t *P, int K, const float *x,
                                                          float *y, int w) {
    __m256 c[4][2];
#pragma GCC unroll 4
    for (int h = 0; h < np; h++) c[h][0] = c[h][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m256 a = _mm256_broadcast_ss(x + k);
#pragma GCC unroll 4
        for (int h = 0; h < np; h++) {
            const uint16_t *b = P + ((size_t)h * K + k) * 16;
            c[h][0] = _mm256_fmadd_ps(a, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b)), c[h][0]);
            c[h][1] = _mm256_fmadd_ps(a, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + 8))), c[h][1]);
        }
    }
#pragma GCC unroll 4
    for (int h = 0; h < np; h++) {
        float *yh = y + 16 * h;
        if (h < np - 1 || w == 16) {
            _mm256_storeu_ps(yh, c[h][0]);
            _mm256_storeu_ps(yh + 8, c[h][1]);
        } else {
            float t[16];
            _mm256_storeu_ps(t, c[h][0]);
            _mm256_storeu_ps(t + 8, c[h][1]);
            memcpy(yh, t, (size_t)w * sizeof(float));
        }
    }
}
#endif

#ifdef HALF_SIMD
/* hpanel_matvec's four panels at a time. */
static HALF_TARGET void hpanel_matvec_simd(const uint16_t *P, int K, const float *x, float *y, int n0, int n1) {
    for (int p = n0 / 16; 16 * p < n1; p += 4) {
        const int left = (n1 - 16 * p + 15) / 16, np = left < 4 ? left : 4;
        const int w = n1 - 16 * (p + np - 1) < 16 ? n1 - 16 * (p + np - 1) : 16;
        const uint16_t *Pp = P + (size_t)p * K * 16;
        float *yp = y + 16 * p;
        switch (np) {
        case 4: hpanels(4, Pp, K, x, yp, w); break;
        case 3: hpanels(3, Pp, K, x, yp, w); break;
        case 2: hpanels(2, Pp, K, x, yp, w); break;
        default: hpanels(1, Pp, K, x, yp, w); break;
        }
    }
}
#endif

/* y[n0:n1] = x W^T over hpanel_pack's panels of W (n0 a multiple of 16): the half traffic of the
 * float weights. Where the CPU has F16C, AVX2 and FMA four panels at a time (one accumulator
 * chain per panel half would wait on the multiply-adds' latency); otherwise a plain loop. */
static void hpanel_matvec(const uint16_t *P, int K, const float *x, float *y, int n0, int n1) {
#ifdef HALF_SIMD
    if (rnnc_cpu_avx2_fma_f16c()) {
        hpanel_matvec_simd(P, K, x, y, n0, n1);
        return;
    }
#endif
    for (int n = n0; n < n1; n++) {
        const uint16_t *col = P + (size_t)(n / 16) * K * 16 + n % 16;
        float s = 0;
        for (int k = 0; k < K; k++) s += half_to_float(col[(size_t)k * 16]) * x[k];
        y[n] = s;
    }
}

/* Thread k of n owns units [j0, j1), cut at multiples of 32: the packed panels' width (and no
 * cache line shared). */
static void slice(int N, int k, int n, int *j0, int *j1) {
    int a = k == 0 ? 0 : (int)((long)N * k / n) & ~31;
    int b = k == n - 1 ? N : (int)((long)N * (k + 1) / n) & ~31;
    *j0 = a > N ? N : a;
    *j1 = b < *j0 ? *j0 : b;
}

/* The threads of a step: below ~64 units per thread the barriers cost more than the split saves. */
static int step_threads(const rnnc_generator *g) {
    int nth = g->threads > 0 ? g->threads : omp_get_max_threads();
    if (nth > g->H / 64) nth = g->H / 64 > 0 ? g->H / 64 : 1;
    return nth;
}

/* Thread k of n: its slice of the logits of the last layer's output y (the head). */
static void head_slice(rnnc_generator *g, const float *y, int k, int n) {
    const rnnc_lm *m = g->m;
    const int H = g->H, V = m->c.vocab;
    int v0, v1;
    slice(V, k, n, &v0, &v1);
    if (g->half) hpanel_matvec(g->hw_head, H, y, g->logits, v0, v1);
    else rnnc_pgemm(1, H, v0, v1, y, H, g->pk_head, g->logits, V, 0);
    const float *hb = m->params + m->off_head_b;
    for (int v = v0; v < v1; v++) g->logits[v] += hb[v];
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
    const int H = g->H, G = g->G, L = g->L;
    float *h = rnnc_lm_ws_h(g->ws), *c = g->cell->states > 1 ? rnnc_lm_ws_c(g->ws) : NULL;
    const float *x0 = m->params + m->off_embedding + (size_t)id * (size_t)m->c.embed;
    const int nth = step_threads(g);
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
                if (g->half) {
                    hpanel_matvec(g->hw_ih[l] + (size_t)q * hpanel_size((int)I, H), (int)I, xin, g->gx + (size_t)q * H,
                                  j0, j1);
                    hpanel_matvec(g->hw_hh[l] + (size_t)q * hpanel_size(H, H), H, hl, g->gh + (size_t)q * H, j0, j1);
                } else {
                    rnnc_pgemm(1, (int)I, j0, j1, xin, (int)I, g->pk_ih[l] + (size_t)q * rnnc_pgemm_size((int)I, H),
                               g->gx + (size_t)q * H, G * H, 0);
                    rnnc_pgemm(1, H, j0, j1, hl, H, g->pk_hh[l] + (size_t)q * rnnc_pgemm_size(H, H),
                               g->gh + (size_t)q * H, G * H, 0);
                }
            }
            rnnc_cell_fwd a = {.B = 1, .H = H, .j0 = j0, .j1 = j1, .t = 0, .len = &one,
                               .gates = g->gx, .hg = g->gh, .b_ih = g->b_ih[l], .b_hh = g->b_hh[l], .aux = g->aux,
                               .h_prev = hl, .h_new = g->h_new, .c_prev = cl, .c_new = cl ? g->c_new : NULL,
                               .y = g->y[l & 1], .ldy = H};
            if (j1 > j0) g->cell->forward(&a);
            /* every thread has read all of h_l for its hidden-side rows before any overwrites it */
#pragma omp barrier
            if (j1 > j0) {
                memcpy(hl + j0, g->h_new + j0, (size_t)(j1 - j0) * sizeof(float));
                if (cl) memcpy(cl + j0, g->c_new + j0, (size_t)(j1 - j0) * sizeof(float));
            }
        }
        head_slice(g, g->y[(L - 1) & 1], k, n);
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
    const float *y = NULL;
    int t = 0;
    /* the stack over windows of the prompt; the head only for its last position, as for a drawn
     * token (the other positions' logits are never read: with a large vocabulary they were most of
     * a window's work) */
    for (size_t done = 0; !s && done < n; done += (size_t)t) {
        t = n - done < PRIME_T ? (int)(n - done) : PRIME_T;
        for (int k = 0; k < t; k++) g->ids[k] = (int)ids[done + (size_t)k];
        s = rnnc_lm_forward_hidden(g->m, g->ws, g->ids, 1, t, &y);
    }
    if (s || n == 0) return s;
    const float *last = y + (size_t)(t - 1) * (size_t)g->H;
#pragma omp parallel num_threads(step_threads(g))
    head_slice(g, last, omp_get_thread_num(), omp_get_num_threads());
    g->have_logits = 1;
    return RNNC_OK;
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

rnnc_status rnnc_generator_use_half(rnnc_generator *g) {
    if (g->half) return RNNC_OK;
    const rnnc_lm *m = g->m;
    const int H = g->H, G = g->G, V = m->c.vocab;
    size_t total = hpanel_size(H, V);
    for (int l = 0; l < g->L; l++) total += (size_t)G * (hpanel_size(g->in_size[l], H) + hpanel_size(H, H));
    uint16_t *h = malloc(total * sizeof *h);
    if (!h) return rnnc_error(RNNC_ERR_NOMEM, "generator: out of memory for %zu half-precision weights", total);
    uint16_t *p = h;
    for (int l = 0; l < g->L; l++) {
        const int I = g->in_size[l];
        g->hw_ih[l] = p;
        for (int q = 0; q < G; q++, p += hpanel_size(I, H)) hpanel_pack(p, g->w_ih[l] + (size_t)q * H * I, I, H);
        g->hw_hh[l] = p;
        for (int q = 0; q < G; q++, p += hpanel_size(H, H)) hpanel_pack(p, g->w_hh[l] + (size_t)q * H * H, H, H);
    }
    hpanel_pack(p, m->params + m->off_head_w, H, V);
    g->hw_head = p;
    g->half = h;
    /* the float step's own panels are no longer read; the stack's packed set stays for the
     * prompt's windows, which run in float */
    free(g->packed);
    g->packed = NULL;
    for (int l = 0; l < g->L; l++) g->pk_ih[l] = g->pk_hh[l] = NULL;
    g->pk_head = NULL;
    return RNNC_OK;
}

float rnnc_half_round(float x) { return half_to_float(float_to_half(x)); }

void rnnc_generator_set_threads(rnnc_generator *g, int threads) { g->threads = threads < 0 ? 1 : threads; }
