/* The recurrent-layer runner: everything about Elman, LSTM and GRU layers except their pointwise
 * math (elman.c, lstm.c, gru.c). See include/rnnc/rnn.h for the API and nn/cell.h for the cells.
 * No cell is named here: gate and state counts, the buffers a cell keeps for backward and its
 * pointwise functions come from its row of the cell table (cells.c, ws->cell).
 *
 * Internally everything is time-major ([T, B, ...]) so that one time step is a contiguous block
 * of B rows. Per layer and direction:
 *   forward:  G  = X W_ih^T                    one GEMM [T*B, I] x [I, G*H] for all steps
 *             for each step: hg = h_prev W_hh^T  one GEMM [B, H] x [H, G*H]; the cell does the rest
 *   backward: for each step (reversed): the cell gives dG; dh_prev += dG_h W_hh   [B,G*H]x[G*H,H]
 *             then, once for all steps: dW_ih += dG_x^T X, dW_hh += dG_h^T H_prev (nn/gemm.h),
 *             dX = dG_x W_ih, bias gradients as column sums.
 * The state buffer hs has T+1 slots so that the previous states of all steps form one contiguous
 * [T*B, H] matrix for dW_hh: the forward direction reads slot t and writes t+1, the reverse
 * direction reads t+1 and writes t.
 *
 * The per-step products do not go through BLAS: a general GEMM repacks W_hh on every call, which
 * at B = 32 cost about a fifth of the step, so W_hh is packed once per call (pgemm.h).
 *
 * Threads: the time loop of a layer (both directions together) is a list of work items, one per
 * step, direction and chunk of hidden units (fwd_chunk, bwd_chunk), run in one of the modes of
 * rnnc_loop_mode: by blocks of batch rows, each block through every step with one item per step
 * and direction covering all H units (rows), or all rows of a 32-unit chunk at a time from a
 * shared ticket counter, with no barrier (units), or on one thread, or each direction's blocks of
 * rows on threads of their own (dirs); or, for a one-direction stack, every layer's loop at once
 * as a wavefront over per-step counters (wave; forward_wave, backward_wave).
 * The big products run from serial code through nn/gemm.h on every thread. Every number is
 * computed the same way whatever the schedule, so results are reproducible for a given thread
 * count (and differ across thread counts only by BLAS rounding in the big products). */
#include "core/bigmem.h"
#include "nn/rnn_packed.h"
#include "core/rng_inline.h"
#include "rnnc/rnn.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cell.h"
#include "core/cpu.h"
#include "nn/pgemm.h"
#include "nn/gemm.h"
#include "rnnc/nn.h"

/* cblas.h pulls in complex.h, whose macro I would shadow our input size I. */
#undef I

/* ---- configuration and parameter layout ------------------------------------------------- */

rnnc_status rnnc_rnn_config_check(const rnnc_rnn_config *c) {
    if (!c) return rnnc_error(RNNC_ERR_ARG, "rnn config: NULL");
    if (rnnc_cell_check(c->cell, "rnn config")) return RNNC_ERR_ARG;
    if (c->input < 1 || c->input > (1 << 20)) return rnnc_error(RNNC_ERR_ARG, "rnn config: input size %d outside [1, 2^20]", c->input);
    if (c->hidden < 1 || c->hidden > (1 << 16)) return rnnc_error(RNNC_ERR_ARG, "rnn config: hidden size %d outside [1, 65536]", c->hidden);
    if (c->layers < 1 || c->layers > 1024) return rnnc_error(RNNC_ERR_ARG, "rnn config: layers %d outside [1, 1024]", c->layers);
    if (!(c->dropout >= 0.0f && c->dropout <= 1.0f)) return rnnc_error(RNNC_ERR_ARG, "rnn config: dropout %g outside [0, 1]", (double)c->dropout);
    return RNNC_OK;
}

static int dirs(const rnnc_rnn_config *c) { return c->bidirectional ? 2 : 1; }
static int layer_input(const rnnc_rnn_config *c, int l) { return l == 0 ? c->input : dirs(c) * c->hidden; }

/* Offset of the (layer l, direction d) block: weight_ih, weight_hh, bias_ih, bias_hh in a row. */
static size_t block_offset(const rnnc_rnn_config *c, int l, int d) {
    size_t GH = (size_t)rnnc_cell_gates(c->cell) * c->hidden, off = 0;
    for (int k = 0; k < l * dirs(c) + d; k++)
        off += GH * ((size_t)layer_input(c, k / dirs(c)) + c->hidden + 2);
    return off;
}

size_t rnnc_rnn_num_params(const rnnc_rnn_config *c) { return block_offset(c, c->layers, 0); }

size_t rnnc_rnn_num_tensors(const rnnc_rnn_config *c) { return 4 * (size_t)c->layers * dirs(c); }

rnnc_rnn_layer_layout rnnc_rnn_layer(const rnnc_rnn_config *c, int l, int d) {
    const int GH = rnnc_cell_gates(c->cell) * c->hidden, I = layer_input(c, l);
    const size_t o = block_offset(c, l, d), w_hh = o + (size_t)GH * I, b_ih = w_hh + (size_t)GH * c->hidden;
    return (rnnc_rnn_layer_layout){o, w_hh, b_ih, b_ih + GH, GH, I};
}

rnnc_param_info rnnc_rnn_tensor(const rnnc_rnn_config *c, size_t k) {
    rnnc_param_info p;
    memset(&p, 0, sizeof p);
    int D = dirs(c), l = (int)(k / (4 * (size_t)D)), d = (int)(k / 4 % D), which = (int)(k % 4);
    const rnnc_rnn_layer_layout y = rnnc_rnn_layer(c, l, d);
    static const char *const kind[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    snprintf(p.name, sizeof p.name, "%s_l%d%s", kind[which], l, d ? "_reverse" : "");
    p.ndim = which < 2 ? 2 : 1;
    p.shape[0] = y.rows;
    p.shape[1] = which == 0 ? y.input : which == 1 ? c->hidden : 0;
    p.offset = which == 0 ? y.w_ih : which == 1 ? y.w_hh : which == 2 ? y.b_ih : y.b_hh;
    p.size = (size_t)p.shape[0] * (p.ndim == 2 ? (size_t)p.shape[1] : 1);
    return p;
}

void rnnc_rnn_init(const rnnc_rnn_config *c, float *params, rnnc_rng *rng) {
    float k = 1.0f / sqrtf((float)c->hidden);
    size_t n = rnnc_rnn_num_params(c);
    for (size_t i = 0; i < n; i++) params[i] = (2.0f * rnnc_rng_uniform(rng) - 1.0f) * k;
}

/* ---- workspace ---------------------------------------------------------------------------- */

#define MAX_ALLOCS 64

struct rnnc_rnn_ws {
    rnnc_rnn_config c;
    const rnnc_cell_info *cell; /* the table row of c.cell: gate and state counts, aux, split_dg, the pointwise code */
    int G, D, L, Bmax, Tmax;
    int B, T;            /* of the last forward */
    bool have_forward;
    long row0;           /* the global row of row 0, for dropout's per-row streams */
    int *len;            /* [Bmax] */
    int *live;           /* [2*Tmax] rows [live[2t], live[2t+1]) hold every row with t < len (live_span) */
    int *perm;           /* [Bmax] the caller's row of internal row b, when permuted (length_order) */
    bool permuted;       /* the last forward ran its rows in perm's order */
    float *pst;          /* [4][L*D*Bmax*H] initial / final states and their gradients in perm's order */
    /* per layer and direction, index l*D+d */
    float **gates;       /* [T, B, G*H] input projection, then activated gates */
    float **aux;         /* [T, B, aux*H] what the cell keeps for backward (GRU), else NULL */
    float **hs, **cs;    /* [T+1, B, H] states (cs: the second state, cells with 2 states) */
    /* per layer */
    float **xin;         /* layer input [T, B, I_l]; for l > 0 the previous output after dropout */
    unsigned char **keep;/* dropout keep flags for xin[l], l > 0 (when dropout > 0) */
    bool *dropped;       /* whether the last forward applied dropout to xin[l] */
    float *ylast;        /* [T, B, D*H] output of the last layer */
    float *yout;         /* where the last layer writes: ylast, or the caller's y (time-major, unpermuted) */
    bool tm_io;          /* rnnc_rnn_ws_set_time_major: the caller's x, y, dy, dx are [T, B, ...] */
    bool tm_fwd;         /* the last forward ran with tm_io (its backward reads dy that way) */
    /* scratch, per direction */
    float *hg[2];        /* [B, G*H] */
    float *pk[2];        /* W_hh packed for the per-step products (pgemm.h): G*H*roundup(H, 32) */
    float *dgx[2], *dgh[2]; /* [T, B, G*H]; dgh == dgx unless the cell's split_dg, then [T, B, H]:
                               the hidden side's last gate block (cell.h) */
    float *dh[2][2], *dc[2][2]; /* [B, H] ping-pong carries */
    float *dbuf[2];      /* [T, B, max(I, D*H)] gradients of layer outputs / inputs */
    float *zero;         /* [B, H] zeros for missing initial states */
    /* layer 0's input as ids into a table (rnnc_rnn_forward_ids) */
    bool from_ids;       /* the last forward read ids, not x */
    bool folded;         /* ... and projected the table, not the looked-up rows (see fold_plan) */
    int V;               /* table rows of the last forward_ids */
    int *ids;            /* [T, B] that forward's ids, time-major */
    float *ptab[2];      /* folded: [V, G*H] table W_ih^T per direction */
    float *stab;         /* folded: [V, G*H] per-id sums of one direction's gate gradients */
    size_t tab_floats;   /* floats allocated in each of ptab[0], ptab[1], stab */
    /* the wavefront over layers (RNNC_LOOP_WAVE, one direction), allocated on its first use */
    bool wave;           /* set while fwd_chunk runs in the wavefront: it reads the per-layer buffers */
    float *wbuf;         /* one block holding the three below */
    float *wpk;          /* [L][G * pgemm_size(H, H)] every layer's W_hh packed as pack_layer packs it */
    float *wih;          /* [L][pgemm_size(H, G*H)] layers l >= 1: W_ih packed as rnnc_gemm_aw packs it */
    float *whg;          /* [L][Bmax, G*H] the per-step products, per layer */
    float *bbuf;         /* the reverse wavefront's block: */
    float *bpk;          /* [L][pgemm_size(G*H, H)] every layer's W_hh packed as the backward pack_layer packs it */
    float *bih;          /* [L][pgemm_size(G*H, H)] layers l >= 1: W_ih packed as rnnc_gemm_aw packs it for dX */
    float *bdg;          /* [L] every layer's gate gradients, [T, B, G*H] dgx then, split, [T, B, H] dgh (wave_dg) */
    float *bdy;          /* [L-1][T, B, H] layer l's output gradient, made step by step by layer l+1 */
    float *bdh;          /* [L][2][2][Bmax, H] the dh, dc ping-pong carries per layer */
    /* the weight gradients over the live rows only (live_gather), allocated on first use */
    float *lbuf;         /* one block: [Tmax*Bmax] rows of max(I, D*H) inputs, H previous states, G*H gate gradients (+ H, split) */
    size_t live_floats;
    size_t wave_floats;
    /* weights packed once (rnnc_rnn_ws_set_packed), and what the running forward reads: pre when
     * it was made from that forward's params, else NULL (the forward packs its own) */
    const rnnc_rnn_packed *pre, *fpre;
    void *allocs[MAX_ALLOCS];
    size_t mapped[MAX_ALLOCS]; /* allocs[i]'s mapping's bytes; 0: a heap block */
    int n_allocs;
    size_t bytes;        /* allocated in all */
};

/* A zeroed block of the workspace (rnnc_big_zalloc): big ones are mappings of their own, on 2 MiB
 * pages where the kernel allows it (a time step's rows lie G*H*4 bytes apart, so with 4 KiB pages
 * nearly every row read by a cell or packed by BLAS is a TLB miss), not cleared here and taking
 * memory only where written: a forward-only caller (prediction) never touches the backward
 * pass's buffers, which for long texts are most of the workspace (clearing them all was half the
 * time of `rnnc classify predict` on 1,024-token texts). */
static void *ws_alloc(rnnc_rnn_ws *ws, size_t bytes) {
    if (ws->n_allocs == MAX_ALLOCS) return NULL;
    size_t mapped;
    void *p = rnnc_big_zalloc(bytes, &mapped);
    if (p) { ws->allocs[ws->n_allocs] = p; ws->mapped[ws->n_allocs++] = mapped; ws->bytes += mapped ? mapped : bytes; }
    return p;
}

size_t rnnc_rnn_ws_bytes(const rnnc_rnn_ws *ws) {
    return ws ? ws->bytes + sizeof *ws + (3 * ws->tab_floats + ws->wave_floats + ws->live_floats) * sizeof(float) : 0;
}

void rnnc_rnn_ws_set_time_major(rnnc_rnn_ws *ws, bool time_major) {
    if (ws) ws->tm_io = time_major;
}

void rnnc_rnn_ws_set_row0(rnnc_rnn_ws *ws, long row0) {
    if (ws) ws->row0 = row0;
}

void rnnc_rnn_ws_free(rnnc_rnn_ws *ws) {
    if (!ws) return;
    for (int i = 0; i < ws->n_allocs; i++) rnnc_big_zfree(ws->allocs[i], ws->mapped[i]);
    free(ws->ptab[0]); free(ws->ptab[1]); free(ws->stab);
    free(ws->wbuf);
    free(ws->bbuf);
    free(ws->lbuf);
    free(ws);
}

rnnc_status rnnc_rnn_ws_new(rnnc_rnn_ws **out, const rnnc_rnn_config *c, int B, int T) {
    *out = NULL;
    rnnc_status st = rnnc_rnn_config_check(c);
    if (st) return st;
    if (B < 1 || T < 1) return rnnc_error(RNNC_ERR_ARG, "rnn workspace: batch %d and length %d must be >= 1", B, T);
    rnnc_rnn_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return rnnc_error(RNNC_ERR_NOMEM, "rnn workspace: out of memory");
    ws->c = *c;
    ws->cell = rnnc_cell_info_of(c->cell);
    ws->G = ws->cell->gates;
    ws->D = dirs(c);
    ws->L = c->layers;
    ws->Bmax = B;
    ws->Tmax = T;
    const size_t H = c->hidden, GH = ws->G * H, D = ws->D, L = ws->L, TB = (size_t)T * B;
    const size_t DH = D * H, maxI = (size_t)c->input > DH ? (size_t)c->input : DH;
    const size_t S2 = ws->cell->states > 1, AUX = (size_t)ws->cell->aux, SPLIT = ws->cell->split_dg ? 2 : 1;
    bool ok = true;
#define ALLOC(dst, bytes) do { if (ok) { (dst) = ws_alloc(ws, (bytes)); ok = (dst) != NULL; } } while (0)
    /* The pointer tables go in one block so that the number of allocations stays bounded. */
    ALLOC(ws->len, B * sizeof(int));
    ALLOC(ws->live, 2 * (size_t)T * sizeof(int));
    ALLOC(ws->perm, B * sizeof(int));
    ALLOC(ws->pst, 4 * L * D * (size_t)B * c->hidden * sizeof(float));
    ALLOC(ws->ids, TB * sizeof(int));
    void **tab = NULL;
    ALLOC(tab, (4 * L * D + 2 * L) * sizeof(void *));
    ALLOC(ws->dropped, L * sizeof(bool));
    if (ok) {
        ws->gates = (float **)tab; ws->aux = (float **)tab + L * D; ws->hs = (float **)tab + 2 * L * D;
        ws->cs = (float **)tab + 3 * L * D; ws->xin = (float **)tab + 4 * L * D;
        ws->keep = (unsigned char **)(tab + 4 * L * D + L);
    }
    /* One slab for everything of size T*B-ish keeps the allocation count independent of L. */
    size_t per_ld = TB * GH + (1 + S2) * (T + 1) * (size_t)B * H + AUX * TB * H;
    size_t floats = L * D * per_ld + TB * c->input + (L - 1) * TB * DH + TB * DH
                    + D * ((size_t)B * GH + TB * GH + (SPLIT - 1) * TB * H + 4 * (size_t)B * H)
                    + 2 * TB * maxI + (size_t)B * H + D * ws->G * rnnc_pgemm_size(c->hidden, c->hidden);
    /* round every piece to 16 floats (64 bytes) */
    floats += 16 * (6 * L * D + L + 4 * D + 16);
    float *slab = NULL;
    ALLOC(slab, floats * sizeof(float));
    size_t dropout_bytes = c->dropout > 0.0f && L > 1 ? (L - 1) * TB * DH : 0;
    unsigned char *kslab = NULL;
    if (dropout_bytes) ALLOC(kslab, dropout_bytes);
#undef ALLOC
    if (!ok) {
        rnnc_rnn_ws_free(ws);
        return rnnc_error(RNNC_ERR_NOMEM, "rnn workspace: out of memory for batch %d, length %d, hidden %d", B, T, c->hidden);
    }
    float *p = slab;
#define TAKE(n) (p += ((n) + 15) / 16 * 16, p - ((n) + 15) / 16 * 16)
    for (size_t k = 0; k < L * D; k++) {
        ws->gates[k] = TAKE(TB * GH);
        ws->hs[k] = TAKE((T + 1) * (size_t)B * H);
        ws->cs[k] = S2 ? TAKE((T + 1) * (size_t)B * H) : NULL;
        ws->aux[k] = AUX ? TAKE(AUX * TB * H) : NULL;
    }
    for (size_t l = 0; l < L; l++) {
        ws->xin[l] = TAKE(TB * (l == 0 ? (size_t)c->input : DH));
        ws->keep[l] = l > 0 && kslab ? kslab + (l - 1) * TB * DH : NULL;
    }
    ws->ylast = TAKE(TB * DH);
    for (size_t d = 0; d < D; d++) {
        ws->hg[d] = TAKE((size_t)B * GH);
        ws->pk[d] = TAKE(ws->G * rnnc_pgemm_size(c->hidden, c->hidden));
        ws->dgx[d] = TAKE(TB * GH);
        ws->dgh[d] = SPLIT == 2 ? TAKE(TB * H) : ws->dgx[d];
        for (int k = 0; k < 2; k++) { ws->dh[d][k] = TAKE((size_t)B * H); ws->dc[d][k] = TAKE((size_t)B * H); }
    }
    ws->dbuf[0] = TAKE(TB * maxI);
    ws->dbuf[1] = TAKE(TB * maxI);
    ws->zero = TAKE((size_t)B * H);
#undef TAKE
    *out = ws;
    return RNNC_OK;
}

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct { const float *w_ih, *w_hh, *b_ih, *b_hh; } layer_params;
typedef struct { float *w_ih, *w_hh, *b_ih, *b_hh; } layer_grads;

static layer_params params_of(const rnnc_rnn_config *c, const float *params, int l, int d) {
    const rnnc_rnn_layer_layout y = rnnc_rnn_layer(c, l, d);
    return (layer_params){params + y.w_ih, params + y.w_hh, params + y.b_ih, params + y.b_hh};
}

struct rnnc_rnn_packed {
    rnnc_rnn_config c;
    const float *params; /* what it was packed from */
    float *whh;          /* [L*D][G * pgemm_size(H, H)]: W_hh per gate, as pack_layer packs it forward */
    float *wih;          /* per layer and direction, at wih_off[l*D+d]: W_ih as rnnc_gemm_aw packs it */
    size_t *wih_off;
};

static const float *pre_whh(const rnnc_rnn_packed *p, int l, int d) {
    const int G = rnnc_cell_gates(p->c.cell), D = p->c.bidirectional ? 2 : 1;
    return p->whh + (size_t)(l * D + d) * G * rnnc_pgemm_size(p->c.hidden, p->c.hidden);
}

static const float *pre_wih(const rnnc_rnn_packed *p, int l, int d) {
    return p->wih + p->wih_off[l * (p->c.bidirectional ? 2 : 1) + d];
}

const float *rnnc_rnn_packed_whh(const rnnc_rnn_packed *p, int l, int d) { return pre_whh(p, l, d); }
const float *rnnc_rnn_packed_wih(const rnnc_rnn_packed *p, int l, int d) { return pre_wih(p, l, d); }

void rnnc_rnn_packed_free(rnnc_rnn_packed *p) {
    if (!p) return;
    free(p->whh);
    free(p->wih);
    free(p->wih_off);
    free(p);
}

rnnc_status rnnc_rnn_packed_new(rnnc_rnn_packed **out, const rnnc_rnn_config *c, const float *params) {
    *out = NULL;
    rnnc_status st = rnnc_rnn_config_check(c);
    if (st) return st;
    const int G = rnnc_cell_gates(c->cell), H = c->hidden, GH = G * H, D = dirs(c), L = c->layers;
    const size_t ps = rnnc_pgemm_size(H, H);
    rnnc_rnn_packed *p = calloc(1, sizeof *p);
    if (!p) return rnnc_error(RNNC_ERR_NOMEM, "rnn: out of memory for packed weights");
    p->c = *c;
    p->params = params;
    p->wih_off = malloc((size_t)L * D * sizeof *p->wih_off);
    size_t nih = 0;
    for (int l = 0; l < L && p->wih_off; l++)
        for (int d = 0; d < D; d++) {
            p->wih_off[l * D + d] = nih;
            nih += (rnnc_pgemm_size(layer_input(c, l), GH) + 15) / 16 * 16; /* 64-byte aligned */
        }
    p->whh = aligned_alloc(64, ((size_t)L * D * G * ps * sizeof(float) + 63) / 64 * 64);
    p->wih = aligned_alloc(64, (nih * sizeof(float) + 63) / 64 * 64);
    if (!p->wih_off || !p->whh || !p->wih) {
        rnnc_rnn_packed_free(p);
        return rnnc_error(RNNC_ERR_NOMEM, "rnn: out of memory for packed weights");
    }
    #pragma omp parallel for schedule(dynamic, 1) if ((size_t)L * D * GH * H >= ((size_t)1 << 18))
    for (int q = 0; q < L * D * (G + 1); q++) {
        const int ld = q / (G + 1), g = q % (G + 1), l = ld / D, d = ld % D;
        const layer_params lp = params_of(c, params, l, d);
        if (g < G)
            rnnc_gemm_aw_pack((float *)pre_whh(p, l, d) + (size_t)g * ps, lp.w_hh + (size_t)g * H * H, H, 1, H, H);
        else
            rnnc_gemm_aw_pack(p->wih + p->wih_off[ld], lp.w_ih, layer_input(c, l), 1, layer_input(c, l), GH);
    }
    *out = p;
    return RNNC_OK;
}

rnnc_status rnnc_rnn_ws_set_packed(rnnc_rnn_ws *ws, const rnnc_rnn_packed *p) {
    if (p && (p->c.cell != ws->c.cell || p->c.input != ws->c.input || p->c.hidden != ws->c.hidden ||
              p->c.layers != ws->c.layers || p->c.bidirectional != ws->c.bidirectional))
        return rnnc_error(RNNC_ERR_ARG, "rnn: packed weights of another shape than the workspace's stack");
    ws->pre = p;
    return RNNC_OK;
}

static layer_grads grads_of(const rnnc_rnn_config *c, float *g, int l, int d) {
    layer_params lp = params_of(c, g, l, d);
    layer_grads lg = {(float *)lp.w_ih, (float *)lp.w_hh, (float *)lp.b_ih, (float *)lp.b_hh};
    return lg;
}

/* The caller's row (t, b) of a [B, T, C] array (or of a [T, B, C] one when tm), b being the
 * runner's internal row: the caller's row perm[b] when the rows run permuted. */
static size_t io_row(int b, int t, int B, int T, const int *perm, bool tm) {
    const size_t cb = (size_t)(perm ? perm[b] : b);
    return tm ? (size_t)t * B + cb : cb * T + t;
}

/* dst [T, B, C] (the runner's order) from the caller's src; to_io is the way back. */
static void to_time_major(float *dst, const float *src, int B, int T, size_t C, const int *perm, bool tm) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)t * B + b) * C, src + io_row(b, t, B, T, perm, tm) * C, C * sizeof(float));
}

static void to_io(float *dst, const float *src, int T, int B, size_t C, const int *perm, bool tm) {
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            memcpy(dst + io_row(b, t, B, T, perm, tm) * C, src + ((size_t)t * B + b) * C, C * sizeof(float));
}

/* n blocks of [B, H] states: dst's internal row b from the caller's row perm[b] (in), or back (out). */
static void states_in(float *dst, const float *src, size_t n, int B, size_t H, const int *perm) {
    for (size_t k = 0; k < n; k++)
        for (int b = 0; b < B; b++) memcpy(dst + (k * B + b) * H, src + (k * B + perm[b]) * H, H * sizeof(float));
}

static void states_out(float *dst, const float *src, size_t n, int B, size_t H, const int *perm) {
    for (size_t k = 0; k < n; k++)
        for (int b = 0; b < B; b++) memcpy(dst + (k * B + perm[b]) * H, src + (k * B + b) * H, H * sizeof(float));
}

/* Whether the rows run in another order than the caller's: when the lengths are neither
 * non-increasing nor non-decreasing, the rows are taken longest first (stable), so that each
 * step's live rows are one span (live_span) and no padded row is computed with them. A row's
 * numbers do not depend on its place in the batch (dropout draws from the caller's row), so
 * only the weight gradients' sums, which add the rows in order, see the permutation. */
static bool length_order(rnnc_rnn_ws *ws, const int *lengths) {
    const int B = ws->B, T = ws->T;
    bool up = true, down = true;
    for (int b = 1; lengths && b < B; b++) {
        up = up && lengths[b] >= lengths[b - 1];
        down = down && lengths[b] <= lengths[b - 1];
    }
    if (!lengths || up || down) return false;
    int k = 0; /* a counting pass per length, longest first: B x T at most, and stable */
    for (int t = T; t >= 1; t--)
        for (int b = 0; b < B; b++)
            if (lengths[b] == t) ws->perm[k++] = b;
    return true;
}

/* ---- the live rows of each step ------------------------------------------------------------
 *
 * Row b takes part in step t when t < len[b]; the cells keep a padded row's state, write 0 to its
 * output and pass its gradients through, and its gate gradients are 0. The time loops compute the
 * per-step products only for the rows [live[2t], live[2t+1]), the smallest span holding every
 * row alive at t (in either direction: a reverse direction's live rows at time t are the same).
 * When a batch is ordered by length (descending, as PyTorch's packed sequences and the tagging
 * batcher, or ascending, as the seq2seq batcher makes it) the span is exactly the live rows, a
 * prefix or a suffix; any other batch runs its rows longest first (length_order). A row's product does not
 * depend on the rows computed with it (rnnc_pgemm), and the cells treat padded rows as before,
 * so every number stays as it was: a padded row's hg is no longer written, and nothing reads it. */
static void live_span(rnnc_rnn_ws *ws) {
    const int B = ws->B, T = ws->T, *len = ws->len;
    for (int t = 0; t < T; t++) {
        int lo = 0, hi = B;
        while (lo < B && len[lo] <= t) lo++;
        while (hi > lo && len[hi - 1] <= t) hi--;
        ws->live[2 * t] = lo < hi ? lo : 0;
        ws->live[2 * t + 1] = lo < hi ? hi : 0;
    }
}

/* The live rows of step t inside rows [b0, b1): [*m0, *m1), empty when none. */
static void live_rows(const rnnc_rnn_ws *ws, int t, int b0, int b1, int *m0, int *m1) {
    const int lo = ws->live[2 * t], hi = ws->live[2 * t + 1];
    *m0 = b0 > lo ? b0 : lo;
    *m1 = b1 < hi ? b1 : hi;
    if (*m1 < *m0) *m1 = *m0;
}

/* ---- forward ------------------------------------------------------------------------------ */

/* The time loops are scheduled in chunks of 32 hidden units (one packed panel): chunk (d, c) of
 * step s is ticket s*D*nch + d*nch + c. A thread takes the next ticket and, before working on
 * step s, waits until every chunk of step s-1 is done. There is no barrier: a thread that the OS
 * has descheduled holds up the others only while it holds a chunk, and otherwise the running
 * threads take all the work, which matters on a machine shared with other jobs. Every chunk is
 * computed the same way whichever thread takes it, so results do not depend on the schedule. */
typedef struct { atomic_int ticket, done; } sched;

static void wait_done(atomic_int *done, int target) {
    int spins = 0;
    while (atomic_load_explicit(done, memory_order_acquire) < target) {
        if (++spins < 2000) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield(); /* the thread we wait for may need this core */
        }
    }
}

#define CHUNK RNNC_PGEMM_NR

/* How a layer's time loop uses the threads (rnnc_loop_mode in rnn.h):
 *   rows:  each thread runs its own rows of the batch through every step; rows are independent,
 *          so the threads never wait for each other inside the loop. Every thread reads all of
 *          W_hh at every step of every block, from L2 or L3: LSTM 128x1 at B 32 ran its loops in
 *          half the time of units mode. Since a rows item covers all H units, it also beats units
 *          where W_hh is well over L2 (paired training runs, B 32: LSTM 512x2 1.07x, GRU 512x2
 *          1.10x, Elman 1024x2 1.07x, GRU 1024x1 1.10x, LSTM 1024x1 1.03x; at B 64 GRU 1024x1
 *          1.03x, LSTM 1024x1 0.99x, on a host with a 32 MiB L3), so AUTO takes it up to 12 MiB of
 *          W_hh (all directions) or half the L3 the C library reports, whichever is more. With
 *          blocks of up to 32 rows and the kernel's next-panel hints, on a Xeon whose L3 is
 *          reported as 480 MiB, rows ran LSTM 1024x1 1.18x (B 32) and 1.20x (B 64) as fast as
 *          units, and LSTM 2048x1 (64 MiB, B 64) 1.23x. Needs 8 rows per thread.
 *   units: every step is split into chunks of 32 hidden units (below); each thread then reads
 *          only its share of W_hh, but all threads meet at every step. For larger layers.
 *   serial: one thread, below about 8M multiply-adds per step with H under 256, where those
 *          meetings cost more than the split saves (LSTM 128x1, B 32: 65k tokens/s on two
 *          threads, 88k on one), and on one thread where rows cannot run. From H 256 on units
 *          runs the small batches rows cannot take (a prompt's B 1, a prediction's few rows):
 *          each thread streams half of a W_hh of 256 KiB and more, which a step at B 1 mostly
 *          is (two threads, 64-step windows of B 1: LSTM 512 1.6-1.8x serial's rate, LSTM 256
 *          1.4x, Elman 256 1.8x, GRU 256 1.5x; under H 256 the two were within noise).
 * On one thread rows mode is still the better loop where it can run: its items cover all H units of
 * a block of rows (8 when this was measured, 8 to 32 since: row_block), so a cell call works through
 * whole rows (16 vectors at H 128) where serial's 32-unit chunks gave it two vectors per row and a
 * row stride between them (one thread, paired training runs, B 32: LSTM 128x1 1.05-1.12x, GRU 128x1
 * 1.07-1.14x, LSTM 64x1 1.04-1.09x, Elman 512x2 1.05x; LSTM/GRU 256-512 and Elman 128 within
 * noise). Two directions that fill L2 take dirs there as on more threads (bidirectional LSTM
 * 512x1: 13.1-14.4k tokens/s against 12.8-13.0k serial, 12.2-12.5k rows; on a Zen 3 core,
 * bidirectional LSTM 128, 512 KiB: 1.04x rows).
 * The big GEMMs around the loop use every thread in any case. */
static rnnc_loop_mode loop_mode = RNNC_LOOP_AUTO;

void rnnc_rnn_set_loop_mode(rnnc_loop_mode mode) { loop_mode = mode; }

static int row_block_max = 0;

void rnnc_rnn_set_row_block_max(int rows) { row_block_max = rows >= 8 && rows <= 32 ? rows / 8 * 8 : 0; }

/* A core's L2 (rnnc_cpu_cache_bytes; 2 MiB where the system does not say, a Golden Cove core's,
 * on which these rules were first measured; an AMD Zen 3 core has 512 KiB): the weights that fill
 * it stream from L3 at every step, which the schedule and the row blocks below weigh. */
static double l2_bytes(void) {
    const long l2 = rnnc_cpu_cache_bytes(2);
    return l2 > 0 ? (double)l2 : 2.0 * 1048576.0;
}

/* The bytes of W_hh of every direction of a layer of the stack. */
static double whh_bytes(const rnnc_rnn_ws *ws) { return 4.0 * ws->D * ws->G * (double)ws->c.hidden * ws->c.hidden; }

static bool wave_ok(const rnnc_rnn_ws *ws, int nth);
static bool bwave_ok(const rnnc_rnn_ws *ws, int nth);

/* The schedule of the time loops of the last forward's shape, for its forward (fwd) or backward
 * pass: the mode of every layer and the threads it uses. A forced WAVE that the stack cannot run
 * (see wave_ok, bwave_ok) falls back to AUTO's pick. AUTO: SERIAL on one thread where rows cannot
 * run; otherwise, on any number of threads:
 *   two directions: DIRS when the two directions' W_hh fill a core's L2 (l2_bytes; with 2 MiB
 *     bidirectional LSTM 256 and up, with 512 KiB LSTM 128 and up) or rows cannot be used; each
 *     thread then streams one direction's W_hh over all its rows at once (docs/PERFORMANCE.md,
 *     issue 17 part 1; on a Zen 3 core dirs against rows ran bidirectional LSTM 128 at 1.03x,
 *     192 at 0.97-1.02x and 256 at 1.04x, so the exact threshold matters little there);
 *   else ROWS when W_hh is at most max(12 MiB, half the L3) and the batch has 8 rows per thread;
 *   else, for a one-direction stack of 2 or more layers and at least 2 steps per layer, WAVE (the
 *     layers on different threads instead of one thread or a meeting at every step; with fewer
 *     steps the pipeline would be mostly filling and draining, e.g. a decoder stepped one step
 *     at a time);
 *   else UNITS when a step has at least 8M multiply-adds (B x G*H x H x directions) or H is 256
 *     or more, else SERIAL. */
static void loop_plan(const rnnc_rnn_ws *ws, int *nth, rnnc_loop_mode *mode, bool fwd) {
    const double H = ws->c.hidden, whh = whh_bytes(ws), work = (double)ws->B * ws->G * H * H * ws->D;
    const int n = omp_get_max_threads();
    const double half_l3 = 0.5 * (double)rnnc_cpu_cache_bytes(3), rows_max = half_l3 > 12.0 * 1048576.0 ? half_l3 : 12.0 * 1048576.0;
    const bool rows_ok = ws->B >= 8 * n && whh <= rows_max;
    const bool wave = fwd ? wave_ok(ws, n) : bwave_ok(ws, n);
    rnnc_loop_mode m = loop_mode;
    if (m == RNNC_LOOP_WAVE && !wave) m = RNNC_LOOP_AUTO;
    if (m == RNNC_LOOP_AUTO)
        m = n == 1 && !rows_ok ? RNNC_LOOP_SERIAL /* one thread otherwise takes the same rules as more */
            : ws->D == 2 && (whh >= l2_bytes() || !rows_ok) ? RNNC_LOOP_DIRS
            : rows_ok ? RNNC_LOOP_ROWS
            : wave && ws->T >= 2 * ws->L ? RNNC_LOOP_WAVE
            : work >= 8e6 || H >= 256 ? RNNC_LOOP_UNITS : RNNC_LOOP_SERIAL;
    *nth = m == RNNC_LOOP_SERIAL ? 1 : n;
    *mode = m;
}

/* Rows mode hands out blocks of rows from a counter, each block carried through every step by
 * the thread that took it. Taking blocks as they come, rather than a fixed share per thread, lets
 * a thread whose core is busy with something else do fewer (on this shared machine one of the two
 * cores is sometimes slower for seconds at a time: Elman 512x2 with fixed halves dipped to 18k
 * tokens/s where the per-step split held 29k). Each row's numbers do not depend on which thread
 * computes it, nor on the rows computed with it.
 *
 * A block has a multiple of 8 rows, at most 32 where W_hh (all directions) fills a core's L2
 * (l2_bytes) and at most 16 below: the largest such that every thread gets a block (two blocks
 * when the rows have different lengths and there are two or more threads) and no thread
 * more rows than with blocks of 8 (two threads, LSTM 512: B 32 in blocks of 16, B 48 of 24, B 64
 * of 32, B 80 of 8, where bigger blocks would give one thread more than its 40 rows; one thread:
 * blocks of 32 from B 25 on), and single rows when there are fewer than 8 rows per thread. A
 * block runs its per-step product as 8-row register blocks over each weight panel, the first
 * bringing the next panel into L2 for the others (pgemm.c), and calls the cell once for its rows.
 * Where W_hh does not fit a core's L2 (LSTM 512: 4 MiB) an 8-row block streams all of it from L3
 * for every 8 rows, more than L3 delivers to one core (bench_pgemm [8,512]x[512,2048] 106-119
 * GFLOP/s, [16,...] 159-160, [32,...] 163). Paired training runs, LSTM 512x2: two threads, B 32,
 * 16-row blocks against four of 8 1.15-1.19x (GRU 512x2 1.13-1.20x, Elman 1024x2 1.18-1.22x,
 * LSTM 256x2 1.02-1.10x, LSTM 128x1 within noise); two threads, B 48, 24-row blocks against 8-row
 * ones 1.18-1.29x; B 64, 32 against 16 1.03-1.04x; one thread, B 32, 32 against 16 1.04-1.06x.
 * On a Zen 3 core (512 KiB L2, no next-panel hints in the AVX2 kernel), LSTM 256x2 on one thread
 * at B 32 (W_hh 1 MiB: blocks of 32 against 16) was within noise (0.96-1.03x). Rows of different
 * lengths want two blocks a thread: their blocks carry different numbers of live steps (a batch
 * ordered by length puts its short rows in the last blocks), and with one block a thread the
 * thread with the long rows is the step's time; with two the counter evens them out. The G2P
 * step (B 64, W_hh 1 MiB over the Zen 3 L2) in two 32-row blocks on two threads ran 0.76-1.18x
 * (median 0.91, 13 paired rounds) the four 16-row blocks it had before.
 * Where W_hh sits in L2 blocks over 16 rows did not pay (LSTM 128x1 on one thread 0.94-1.00x, the
 * G2P step (B 64) 0.96-1.01x), and 16 against 8 gave that step 1.04x on two threads (ten paired
 * rounds, 0.98-1.07) and 1.02-1.08x on one. With a busy loop on one of the two cores the two
 * 16-row blocks ran LSTM 512x2 at 5.7-5.8k tokens/s against 5.5-5.6k for the four 8-row blocks
 * (docs/PERFORMANCE.md; before the next-panel hints the 16-row blocks were within noise on a
 * quiet machine and 0.78-0.91x beside a busy loop). */
/* Whether the last forward's rows are not all T steps long: its last step's live span (live_span)
 * is then not all B rows. */
static bool ragged(const rnnc_rnn_ws *ws) {
    const int *last = ws->live + 2 * (ws->T - 1);
    return last[0] != 0 || last[1] != ws->B;
}

static int row_block(const rnnc_rnn_ws *ws, int nth) {
    const int B = ws->B;
    if (B < 8 * nth) return 1;
    const int most8 = ((B + 7) / 8 + nth - 1) / nth * 8; /* a thread's rows at most, in 8-row blocks */
    const int cap = row_block_max ? row_block_max : whh_bytes(ws) >= l2_bytes() ? 32 : 16;
    const int per = nth > 1 && ragged(ws) ? 2 * nth : nth; /* blocks wanted at least */
    for (int bs = cap; bs > 8; bs -= 8) {
        const int nb = (B + bs - 1) / bs;
        if (nb >= per && (nb + nth - 1) / nth * bs <= most8) return bs;
    }
    return 8;
}

/* Dirs mode: work items (direction, block of rows), each carried through every step of its one
 * direction by the thread that takes it, so each thread reads one direction's W_hh and the two
 * directions never meet. nth / D blocks per direction (at least one), of whole 8-row register
 * blocks where there are enough rows. Item k: direction k / nbd, block k % nbd; rows [*b0, *b1),
 * empty when the block lies past B. */
static int dirs_blocks(int D, int nth) { return nth / D > 1 ? nth / D : 1; }
static int dirs_item(int k, int B, int D, int nth, int *b0, int *b1) {
    const int nbd = dirs_blocks(D, nth), per = (B + nbd - 1) / nbd, bs = B >= 8 * nbd ? (per + 7) / 8 * 8 : per;
    const int blk = k % nbd;
    *b0 = blk * bs < B ? blk * bs : B;
    *b1 = *b0 + bs < B ? *b0 + bs : B;
    return k / nbd;
}

/* Packs W_hh of every direction of layer l for the per-step products, all threads sharing the
 * panels; ends with a barrier. fwd: per gate, K = H rows of W_hh^T; bwd: K = G*H rows of W_hh. */
static void pack_layer(rnnc_rnn_ws *ws, const layer_params *p, int fwd) {
    const int H = ws->c.hidden, G = ws->G, nch = (H + CHUNK - 1) / CHUNK;
    const size_t ps = rnnc_pgemm_size(H, H);
    const int per_d = fwd ? G * nch : nch;
    const int tid = omp_get_thread_num(), n = omp_get_num_threads();
    for (int q = tid; q < ws->D * per_d; q += n) {
        int d = q / per_d, g = fwd ? q % per_d / nch : 0, c = q % nch;
        int j0 = c * CHUNK, j1 = j0 + CHUNK < H ? j0 + CHUNK : H;
        if (fwd)
            rnnc_pgemm_pack(ws->pk[d] + g * ps, p[d].w_hh + (size_t)g * H * H, H, 1, H, H, j0, j1);
        else
            rnnc_pgemm_pack(ws->pk[d], p[d].w_hh, H, 0, G * H, H, j0, j1);
    }
#pragma omp barrier
}

/* Work item q of a layer's time loop with chunks of cw units (nch per direction): phase or step
 * s = q / (D*nch), then direction d and units [j0, j1). */
typedef struct { int s, d, j0, j1; } loop_item;

static loop_item item_of(int q, int cw, int H, int D) {
    const int nch = (H + cw - 1) / cw, total = D * nch, j0 = q % nch * cw;
    return (loop_item){q / total, q % total / nch, j0, j0 + cw < H ? j0 + cw : H};
}

/* Work item q of layer l's forward loop on rows [b0, b1), with chunks of cw units (nch per
 * direction): step q / (D*nch), direction and unit chunk from the rest; the chunk's per-step
 * products, then its cell. Rows mode runs one chunk of all H units per step (cw = H): 1.06x
 * (LSTM 128x1) and 1.10x (Elman 512x2) the training rate of 32-unit chunks, whose cell calls
 * covered two vectors per row; units mode needs 32 (a panel) to split a step. An element's
 * products and cell are computed the same way whatever the chunk, so every number is the same
 * in every mode. */
static void fwd_chunk(rnnc_rnn_ws *ws, int l, const layer_params *p, int q, int cw, int b0, int b1, float *out) {
    const int B = ws->B, T = ws->T, H = ws->c.hidden, G = ws->G, GH = G * H, D = ws->D, DH = D * H;
    const size_t BH = (size_t)B * H, ps = rnnc_pgemm_size(H, H), r0 = (size_t)b0 * H;
    const loop_item it = item_of(q, cw, H, D);
    const int s = it.s, d = it.d, j0 = it.j0, j1 = it.j1, nb = b1 - b0;
    const int ld = l * D + d, t = d == 0 ? s : T - 1 - s;
    const int prev = d == 0 ? t : t + 1, next = d == 0 ? t + 1 : t;
    float *hs = ws->hs[ld], *cs = ws->cs[ld];
    float *hg = (ws->wave ? ws->whg + (size_t)l * ws->Bmax * GH : ws->hg[d]) + (size_t)b0 * GH;
    const float *pk = ws->fpre ? pre_whh(ws->fpre, l, d) : ws->wave ? ws->wpk + (size_t)l * G * ps : ws->pk[d];
    const float *h_prev = hs + prev * BH + r0;
    int m0, m1; /* the rows of [b0, b1) alive at t: the rest only keep their state (live_span) */
    live_rows(ws, t, b0, b1, &m0, &m1);
    if (l == 0 && ws->folded) {
        /* the input projection of each row is its id's row of table W_ih^T, which stays in cache */
        float *gt = ws->gates[ld] + (size_t)t * B * GH;
        for (int b = m0; b < m1; b++) {
            const float *src = ws->ptab[d] + (size_t)ws->ids[(size_t)t * B + b] * GH;
            for (int g = 0; g < G; g++) memcpy(gt + (size_t)b * GH + g * H + j0, src + g * H + j0, (size_t)(j1 - j0) * sizeof(float));
        }
    }
    for (int g = 0; g < G && m0 < m1; g++)
        rnnc_pgemm(m1 - m0, H, j0, j1, h_prev + (size_t)(m0 - b0) * H, H, pk + g * ps,
                   hg + (size_t)(m0 - b0) * GH + (size_t)g * H, GH, 0);
    const size_t na = (size_t)ws->cell->aux; /* aux rows are aux*H wide */
    rnnc_cell_fwd a = {.B = nb, .H = H, .j0 = j0, .j1 = j1, .t = t, .len = ws->len + b0,
                       .gates = ws->gates[ld] + ((size_t)t * B + b0) * GH, .hg = hg, .b_ih = p[d].b_ih,
                       .b_hh = p[d].b_hh, .aux = ws->aux[ld] ? ws->aux[ld] + na * ((size_t)t * BH + r0) : NULL,
                       .h_prev = h_prev,
                       .h_new = hs + next * BH + r0, .c_prev = cs ? cs + prev * BH + r0 : NULL,
                       .c_new = cs ? cs + next * BH + r0 : NULL,
                       .y = out + ((size_t)t * B + b0) * DH + (size_t)d * H, .ldy = DH};
    ws->cell->forward(&a);
}

/* The time loop of layer l, all directions. gates[l*D+d] already holds X W_ih^T; writes the
 * outputs into out (time-major, row stride D*H, direction d at column d*H). h0, c0: (D, B, H). */
static void forward_layer(rnnc_rnn_ws *ws, int l, const float *params, const float *h0, const float *c0,
                          float *out, int nth, rnnc_loop_mode mode) {
    const bool rows = mode == RNNC_LOOP_ROWS, split = mode == RNNC_LOOP_SERIAL || mode == RNNC_LOOP_UNITS;
    const int B = ws->B, T = ws->T, H = ws->c.hidden, D = ws->D;
    const size_t BH = (size_t)B * H;
    const int total = D * ((H + CHUNK - 1) / CHUNK);
    layer_params p[2];
    for (int d = 0; d < D; d++) {
        const int ld = l * D + d, first = d == 0 ? 0 : T; /* the slot holding the initial state */
        p[d] = params_of(&ws->c, params, l, d);
        memcpy(ws->hs[ld] + first * BH, h0 ? h0 + d * BH : ws->zero, BH * sizeof(float));
        if (ws->cs[ld]) memcpy(ws->cs[ld] + first * BH, c0 ? c0 + d * BH : ws->zero, BH * sizeof(float));
    }
    sched sc;
    atomic_init(&sc.ticket, 0);
    atomic_init(&sc.done, 0);
#pragma omp parallel num_threads(nth)
    {
        if (!ws->fpre) pack_layer(ws, p, 1);
        const int unit = row_block(ws, nth), nblk = (B + unit - 1) / unit;
        /* rows: a block of rows through every step */
        for (int k; rows && (k = atomic_fetch_add_explicit(&sc.ticket, 1, memory_order_relaxed)) < nblk;)
            for (int q = 0; q < T * D; q++) fwd_chunk(ws, l, p, q, H, k * unit, k * unit + unit < B ? k * unit + unit : B, out);
        /* dirs: a block of rows of one direction through every step */
        for (int k; mode == RNNC_LOOP_DIRS && (k = atomic_fetch_add_explicit(&sc.ticket, 1, memory_order_relaxed)) < D * dirs_blocks(D, nth);) {
            int b0, b1;
            const int d = dirs_item(k, B, D, nth, &b0, &b1);
            for (int s = 0; s < T && b0 < b1; s++) fwd_chunk(ws, l, p, s * D + d, H, b0, b1, out);
        }
        /* units: all rows of one chunk, once every chunk of the step before is done */
        for (int q; split && (q = atomic_fetch_add_explicit(&sc.ticket, 1, memory_order_relaxed)) < T * total;) {
            if (q >= total) wait_done(&sc.done, q / total * total);
            fwd_chunk(ws, l, p, q, CHUNK, 0, B, out);
            atomic_fetch_add_explicit(&sc.done, 1, memory_order_release);
        }
    }
}

/* Inverted dropout on layer l's input xin[l] (l >= 1), in two parts: the keep flags, each row
 * from its own stream of the layer's key (steps and units in order), so a row's mask depends on
 * its global row only (not on the rows beside it, nor on the padded length); then the scaling of
 * steps [t0, t1) of rows [b0, b1), which the wavefront applies step by step. */
static void draw_keep(rnnc_rnn_ws *ws, int l, uint64_t key) {
    const int B = ws->B, T = ws->T, DH = ws->D * ws->c.hidden;
    unsigned char *keep = ws->keep[l];
    const float p = ws->c.dropout;
    const long row0 = ws->row0;
#pragma omp parallel for schedule(static) if ((size_t)T * B * DH >= 65536)
    for (int b = 0; b < B; b++) {
        rnnc_rng rr;
        rnnc_rng_substream(&rr, key, (uint64_t)(row0 + (ws->permuted ? ws->perm[b] : b)));
        for (int t = 0; t < T; t++) {
            size_t i0 = ((size_t)t * B + b) * DH;
            for (int i = 0; i < DH; i++) keep[i0 + i] = rnnc_rng_next_uniform(&rr) >= p;
        }
    }
    ws->dropped[l] = true;
}

/* v[i] = keep[i] ? v[i] * scale : 0 for i < n. restrict tells GCC that the flags (unsigned char,
 * which may alias anything) are not written through v: then it vectorises the loop, which it left
 * scalar, 1.8% of G2P's step each for the forward and the backward pass. */
static void keep_scale(float *restrict v, const unsigned char *restrict keep, size_t n, float scale) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) v[i] = keep[i] ? v[i] * scale : 0.0f;
}

static void apply_keep(rnnc_rnn_ws *ws, int l, int t0, int t1, int b0, int b1) {
    const int B = ws->B, DH = ws->D * ws->c.hidden;
    const unsigned char *keep = ws->keep[l];
    float *v = ws->xin[l];
    const float p = ws->c.dropout, scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    const bool par = (size_t)(t1 - t0) * (b1 - b0) * DH >= 65536 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
    for (int t = t0; t < t1; t++) {
        const size_t i0 = ((size_t)t * B + b0) * DH;
        keep_scale(v + i0, keep + i0, (size_t)(b1 - b0) * DH, scale);
    }
}

/* ---- the wavefront over layers (RNNC_LOOP_WAVE) ---------------------------------------------
 *
 * A one-direction stack of L >= 2 layers whose input projections (layers >= 1) rnnc_gemm_aw makes
 * with the packed kernel can run all its layers in one parallel region: layer l+1 runs step t
 * while layer l runs step t+1. Layer l >= 1 makes its input projection step by step (the same
 * packed kernel on the same panels, so every gate equals the one the whole-sequence product
 * gives), and dropout between layers is drawn before the region and applied step by step (the
 * same flags and the same multiply). The work is cut into pairs (layer, block of rows): nth / L
 * blocks of rows (at least one), pair l*nblk + k on thread (l*nblk + k) % nth. A pair waits only
 * for its block's previous layer to finish the same step (a counter per pair, release after the
 * step, acquire before reading it): no barrier, and no two threads ever wait for each other in a
 * cycle (a thread runs its pairs step by step, lower layers first, and what the lowest unfinished
 * (step, layer) waits for is always finished). Each number is computed as in the other modes. */

/* Row blocks of the wavefront: nth / L (at least one, at most B). */
static int wave_blocks(int B, int L, int nth) {
    const int n = nth / L > 1 ? nth / L : 1;
    return n < B ? n : B;
}

/* Whether the stack can run as a wavefront on nth threads. */
static bool wave_ok(const rnnc_rnn_ws *ws, int nth) {
    const int H = ws->c.hidden;
    return ws->D == 1 && ws->L >= 2 && nth >= 2 && rnnc_gemm_aw_packs(ws->T * ws->B, ws->G * H, H);
}

static rnnc_status wave_reserve(rnnc_rnn_ws *ws) {
    if (ws->wbuf) return RNNC_OK;
    const size_t H = ws->c.hidden, GH = (size_t)ws->G * H, L = ws->L;
    const size_t pk = ws->G * rnnc_pgemm_size((int)H, (int)H), ih = rnnc_pgemm_size((int)H, (int)GH), hg = (size_t)ws->Bmax * GH;
    const size_t n = L * (pk + ih + hg);
    float *b = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!b) return rnnc_error(RNNC_ERR_NOMEM, "rnn forward: out of memory for the wavefront's packed weights");
    ws->wbuf = b;
    ws->wpk = b;
    ws->wih = b + L * pk;
    ws->whg = b + L * (pk + ih);
    ws->wave_floats = n;
    return RNNC_OK;
}

/* What both wavefronts set up: the pairs (layer, block of rows), their per-pair step counters
 * (all 0) and every layer's weights. */
typedef struct {
    int nblk, per, pairs; /* row blocks, rows a block, L * nblk pairs */
    layer_params *lp;     /* L */
    atomic_int *done;     /* pairs: the steps (phases) pair q has finished */
} wave_plan;

static rnnc_status wave_setup(rnnc_rnn_ws *ws, const float *params, int nth, const char *what, wave_plan *w) {
    const int B = ws->B, L = ws->L;
    w->nblk = wave_blocks(B, L, nth);
    w->per = (B + w->nblk - 1) / w->nblk;
    w->pairs = L * w->nblk;
    w->lp = malloc((size_t)L * sizeof *w->lp);
    w->done = malloc((size_t)w->pairs * sizeof *w->done);
    if (!w->lp || !w->done) {
        free(w->lp); free(w->done);
        return rnnc_error(RNNC_ERR_NOMEM, "rnn %s: out of memory for the wavefront", what);
    }
    for (int l = 0; l < L; l++) w->lp[l] = params_of(&ws->c, params, l, 0);
    for (int q = 0; q < w->pairs; q++) atomic_init(&w->done[q], 0);
    return RNNC_OK;
}

static void wave_teardown(wave_plan *w) {
    free(w->lp);
    free(w->done);
}

/* Pair q's layer and rows [b0, b1) of B (empty when its block starts past B). */
static void wave_pair(const wave_plan *w, int q, int B, int *l, int *b0, int *b1) {
    const int k = q % w->nblk;
    *l = q / w->nblk;
    *b0 = k * w->per < B ? k * w->per : B;
    *b1 = *b0 + w->per < B ? *b0 + w->per : B;
}

static void wave_wait(const atomic_int *done, int target) {
    int spins = 0;
    while (atomic_load_explicit(done, memory_order_acquire) < target) {
        if (++spins < 2000) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

/* The time loops of every layer of a one-direction stack as one wavefront. gates[0] already holds
 * layer 0's input projection (or the projected table, folded); h0, c0 (L, B, H) may be NULL.
 * Dropout's flags for layers >= 1 are drawn (when dropout) before it is called. */
static rnnc_status forward_wave(rnnc_rnn_ws *ws, const float *params, const float *h0, const float *c0, bool dropout,
                                int nth) {
    rnnc_status st = wave_reserve(ws);
    if (st) return st;
    const int B = ws->B, T = ws->T, H = ws->c.hidden, G = ws->G, GH = G * H, L = ws->L;
    const size_t BH = (size_t)B * H, ps = rnnc_pgemm_size(H, H), ips = rnnc_pgemm_size(H, GH);
    const int nch = (H + CHUNK - 1) / CHUNK, gch = (GH + CHUNK - 1) / CHUNK;
    wave_plan w;
    if ((st = wave_setup(ws, params, nth, "forward", &w))) return st;
    const int nblk = w.nblk, pairs = w.pairs;
    const layer_params *lp = w.lp;
    atomic_int *done = w.done;
    for (int l = 0; l < L; l++) {
        memcpy(ws->hs[l] + 0, h0 ? h0 + l * BH : ws->zero, BH * sizeof(float));
        if (ws->cs[l]) memcpy(ws->cs[l], c0 ? c0 + l * BH : ws->zero, BH * sizeof(float));
    }
    ws->wave = true;
#pragma omp parallel num_threads(nth)
    {
        const int tid = omp_get_thread_num(), n = omp_get_num_threads();
        /* pack every layer's W_hh (per gate, as pack_layer) and W_ih (as rnnc_gemm_aw) */
        const int per_l = G * nch + gch;
        for (int q = tid; q < L * per_l && !ws->fpre; q += n) {
            const int l = q / per_l, r = q % per_l;
            if (r < G * nch) {
                const int g = r / nch, j0 = r % nch * CHUNK, j1 = j0 + CHUNK < H ? j0 + CHUNK : H;
                rnnc_pgemm_pack(ws->wpk + (size_t)l * G * ps + g * ps, lp[l].w_hh + (size_t)g * H * H, H, 1, H, H, j0, j1);
            } else if (l > 0) {
                const int j0 = (r - G * nch) * CHUNK, j1 = j0 + CHUNK < GH ? j0 + CHUNK : GH;
                rnnc_pgemm_pack(ws->wih + (size_t)l * ips, lp[l].w_ih, H, 1, H, GH, j0, j1);
            }
        }
#pragma omp barrier
        for (int t = 0; t < T; t++)
            for (int q = tid; q < pairs; q += n) {
                int l, b0, b1;
                wave_pair(&w, q, B, &l, &b0, &b1);
                float *out = l + 1 < L ? ws->xin[l + 1] : ws->yout;
                if (b0 < b1) {
                    if (l > 0) {
                        wave_wait(&done[q - nblk], t + 1);
                        int m0, m1; /* a padded row's gates are not read */
                        live_rows(ws, t, b0, b1, &m0, &m1);
                        const size_t r = (size_t)t * B + m0;
                        if (m0 < m1)
                            rnnc_pgemm(m1 - m0, H, 0, GH, ws->xin[l] + r * H, H,
                                       ws->fpre ? pre_wih(ws->fpre, l, 0) : ws->wih + (size_t)l * ips, ws->gates[l] + r * GH,
                                       GH, 0);
                    }
                    fwd_chunk(ws, l, &lp[l], t, H, b0, b1, out);
                    if (dropout && l + 1 < L) apply_keep(ws, l + 1, t, t + 1, b0, b1);
                }
                atomic_store_explicit(&done[q], t + 1, memory_order_release);
            }
    }
    ws->wave = false;
    wave_teardown(&w);
    return RNNC_OK;
}

/* Whether forward_ids projects the table (V rows) instead of the looked-up rows (T*B): when the
 * table has at most half as many rows, the product is at least twice smaller; backward then sums
 * the gate gradients per id (one pass over them) and makes both gradients from V rows. */
static bool fold_plan(int V, size_t TB) { return (size_t)V * 2 <= TB; }

/* Makes room for three [V, G*H] tables per direction... (ptab[0], ptab[1], stab). */
static rnnc_status tab_reserve(rnnc_rnn_ws *ws, int V) {
    const size_t need = (size_t)V * ws->G * ws->c.hidden;
    if (need <= ws->tab_floats) return RNNC_OK;
    float *n[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        n[k] = aligned_alloc(64, (need * sizeof(float) + 63) / 64 * 64);
        if (!n[k]) {
            for (int j = 0; j < k; j++) free(n[j]);
            return rnnc_error(RNNC_ERR_NOMEM, "rnn forward: out of memory for a projected table of %d rows", V);
        }
    }
    free(ws->ptab[0]); free(ws->ptab[1]); free(ws->stab);
    ws->ptab[0] = n[0]; ws->ptab[1] = n[1]; ws->stab = n[2];
    ws->tab_floats = need;
    return RNNC_OK;
}

static rnnc_status forward_impl(rnnc_rnn_ws *ws, const float *params, int B, int T, const float *x,
                                const int *ids, const float *table, int V, const int *lengths,
                                const float *h0, const float *c0, float *y, float *hn, float *cn, bool training,
                                rnnc_rng *rng);

rnnc_status rnnc_rnn_forward(rnnc_rnn_ws *ws, const float *params, int B, int T, const float *x,
                             const int *lengths, const float *h0, const float *c0, float *y,
                             float *hn, float *cn, bool training, rnnc_rng *rng) {
    if (!x) return rnnc_error(RNNC_ERR_ARG, "rnn forward: NULL x");
    return forward_impl(ws, params, B, T, x, NULL, NULL, 0, lengths, h0, c0, y, hn, cn, training, rng);
}

rnnc_status rnnc_rnn_forward_ids(rnnc_rnn_ws *ws, const float *params, int B, int T, const int *ids,
                                 const float *table, int V, const int *lengths, const float *h0, const float *c0,
                                 float *y, float *hn, float *cn, bool training, rnnc_rng *rng) {
    if (!ids || !table) return rnnc_error(RNNC_ERR_ARG, "rnn forward: NULL ids or table");
    if (V < 1) return rnnc_error(RNNC_ERR_ARG, "rnn forward: table of %d rows", V);
    return forward_impl(ws, params, B, T, NULL, ids, table, V, lengths, h0, c0, y, hn, cn, training, rng);
}

static rnnc_status forward_impl(rnnc_rnn_ws *ws, const float *params, int B, int T, const float *x,
                                const int *ids, const float *table, int V, const int *lengths,
                                const float *h0, const float *c0, float *y, float *hn, float *cn, bool training,
                                rnnc_rng *rng) {
    if (!ws || !params || !y) return rnnc_error(RNNC_ERR_ARG, "rnn forward: NULL workspace, params or y");
    if (B < 1 || B > ws->Bmax || T < 1 || T > ws->Tmax)
        return rnnc_error(RNNC_ERR_ARG, "rnn forward: batch %d x length %d outside the workspace's %d x %d",
                          B, T, ws->Bmax, ws->Tmax);
    for (int b = 0; lengths && b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T)
            return rnnc_error(RNNC_ERR_ARG, "rnn forward: lengths[%d] = %d outside [1, %d]", b, lengths[b], T);
    const rnnc_rnn_config *c = &ws->c;
    const bool dropout = training && c->dropout > 0.0f && c->layers > 1;
    if (dropout && !rng) return rnnc_error(RNNC_ERR_ARG, "rnn forward: dropout in training needs an rng");
    const int H = c->hidden, GH = ws->G * H, D = ws->D, L = ws->L, DH = D * H;
    const size_t TB = (size_t)T * B, BH = (size_t)B * H;
    const bool fold = ids && fold_plan(V, TB);
    if (ids) {
        for (size_t i = 0; i < TB; i++)
            if (ids[i] < 0 || ids[i] >= V)
                return rnnc_error(RNNC_ERR_RANGE, "embedding: id %d at position %zu is outside the vocabulary of %d",
                                  ids[i], i, V);
        if (fold) {
            rnnc_status st = tab_reserve(ws, V);
            if (st) return st;
        }
    }
    ws->B = B;
    ws->T = T;
    ws->have_forward = false;
    ws->fpre = ws->pre && ws->pre->params == params ? ws->pre : NULL;
    ws->from_ids = ids != NULL;
    ws->folded = fold;
    ws->V = V;
    ws->permuted = length_order(ws, lengths);
    ws->tm_fwd = ws->tm_io;
    const int *perm = ws->permuted ? ws->perm : NULL;
    ws->yout = ws->tm_io && !perm ? y : ws->ylast;
    for (int b = 0; b < B; b++) ws->len[b] = lengths ? lengths[perm ? perm[b] : b] : T;
    for (int b = 0; ids && b < B; b++)
        for (int t = 0; t < T; t++) ws->ids[(size_t)t * B + b] = ids[io_row(b, t, B, T, perm, ws->tm_io)];
    live_span(ws);
    const size_t nst = (size_t)L * D * BH; /* floats in h0, c0, hn, cn */
    if (perm) { /* the initial states in the rows' order; the final ones are put back below */
        if (h0) { states_in(ws->pst, h0, (size_t)L * D, B, H, perm); h0 = ws->pst; }
        if (c0 && ws->cell->states > 1) { states_in(ws->pst + nst, c0, (size_t)L * D, B, H, perm); c0 = ws->pst + nst; }
    }
    for (int l = 0; l < ws->L; l++) ws->dropped[l] = false;

    int nth;
    rnnc_loop_mode mode;
    loop_plan(ws, &nth, &mode, true);
    if (x) {
        to_time_major(ws->xin[0], x, B, T, c->input, perm, ws->tm_io);
    } else if (!fold) {
        rnnc_embedding_forward(ws->xin[0], ws->ids, table, (int)TB, V, c->input); /* ids checked above */
    }
    for (int l = 0; l < L; l++) {
        const int I = layer_input(c, l);
        for (int d = 0; d < D && (l == 0 || mode != RNNC_LOOP_WAVE); d++) {
            layer_params p = params_of(c, params, l, d);
            /* the gates are gathered from the projected table in the time loop (fold) */
            const int M = l == 0 && fold ? V : (int)TB;
            const float *A = l == 0 && fold ? table : ws->xin[l];
            float *C = l == 0 && fold ? ws->ptab[d] : ws->gates[l * D + d];
            /* on panels packed once: the same numbers where rnnc_gemm_aw packs too, and the packed
             * kernel also where it would take BLAS (few rows and W_ih over 1 MiB: a prediction's
             * short batches, whose every call through BLAS packed W_ih again) */
            if (ws->fpre)
                rnnc_gemm_aw_packed(M, GH, I, A, I, pre_wih(ws->fpre, l, d), C, GH, 0);
            else
                rnnc_gemm_aw(M, GH, I, A, I, p.w_ih, I, 1, C, GH, 0);
        }
        if (mode == RNNC_LOOP_WAVE) {
            /* every layer at once (the wavefront); the dropout keys in the order of the loop below */
            for (int k = 1; k < L && dropout; k++) draw_keep(ws, k, rnnc_rng_u64(rng));
            rnnc_status st = forward_wave(ws, params, h0, c0, dropout, nth);
            if (st) return st;
        } else {
            float *out = l + 1 < L ? ws->xin[l + 1] : ws->yout;
            forward_layer(ws, l, params, h0 ? h0 + (size_t)l * D * BH : NULL, c0 ? c0 + (size_t)l * D * BH : NULL, out, nth,
                          mode);
        }
        for (int k = l * D; k < (mode == RNNC_LOOP_WAVE ? L * D : l * D + D); k++) {
            int last = k % D == 0 ? T : 0;
            if (hn && perm) states_out(hn + k * BH, ws->hs[k] + last * BH, 1, B, H, perm);
            else if (hn) memcpy(hn + k * BH, ws->hs[k] + last * BH, BH * sizeof(float));
            if (cn && ws->cs[k] && perm) states_out(cn + k * BH, ws->cs[k] + last * BH, 1, B, H, perm);
            else if (cn && ws->cs[k]) memcpy(cn + k * BH, ws->cs[k] + last * BH, BH * sizeof(float));
        }
        if (mode == RNNC_LOOP_WAVE) break;
        if (l + 1 < L && dropout) {
            draw_keep(ws, l + 1, rnnc_rng_u64(rng));
            apply_keep(ws, l + 1, 0, T, 0, B);
        }
    }
    if (ws->yout != y) to_io(y, ws->ylast, T, B, DH, perm, ws->tm_io);
    ws->have_forward = true;
    return RNNC_OK;
}

/* ---- backward ----------------------------------------------------------------------------- */

/* Layer l's gate gradients in the reverse wavefront's block (bwave_reserve): dgx [T, B, G*H], then
 * for a split_dg cell its dgh [T, B, H] (Tmax * Bmax rows each); *dgh = dgx otherwise. */
static float *wave_dg(const rnnc_rnn_ws *ws, int l, float **dgh) {
    const size_t TB = (size_t)ws->Tmax * ws->Bmax, H = ws->c.hidden, GH = (size_t)ws->G * H;
    float *dgx = ws->bdg + (size_t)l * TB * (GH + (ws->cell->split_dg ? H : 0));
    if (dgh) *dgh = ws->cell->split_dg ? dgx + TB * GH : dgx;
    return dgx;
}

/* Work item q of layer l's reversed loop on rows [b0, b1), chunks of cw units as in fwd_chunk:
 * phase s = q / (D*nch) of one direction and unit chunk. It first finishes step s-1 for its units
 * (dh_prev += dG_h W_hh, which needs all of step s-1's dG) and then runs the cell of step s on
 * them; phase T only finishes. */
static void bwd_chunk(rnnc_rnn_ws *ws, int l, const float *dy, int q, int cw, int b0, int b1) {
    const int B = ws->B, T = ws->T, H = ws->c.hidden, GH = ws->G * H, D = ws->D, DH = D * H;
    const size_t BH = (size_t)B * H, r0 = (size_t)b0 * H, g0 = (size_t)b0 * GH;
    const loop_item it = item_of(q, cw, H, D);
    const int s = it.s, d = it.d, j0 = it.j0, j1 = it.j1, nb = b1 - b0, ld = l * D + d;
    float *dgx = ws->dgx[d], *dgh = ws->dgh[d], *dh[2] = {ws->dh[d][0], ws->dh[d][1]}, *dc[2] = {ws->dc[d][0], ws->dc[d][1]};
    const float *pk = ws->pk[d];
    const bool split = ws->cell->split_dg; /* dgh holds the last gate block only, H wide */
    if (ws->wave) { /* the reverse wavefront: every layer's own buffers */
        const size_t bh = (size_t)ws->Bmax * H;
        dgx = wave_dg(ws, l, &dgh);
        for (int k = 0; k < 2; k++) { dh[k] = ws->bdh + ((size_t)l * 4 + k) * bh; dc[k] = ws->bdh + ((size_t)l * 4 + 2 + k) * bh; }
        pk = ws->bpk + (size_t)l * rnnc_pgemm_size(GH, H);
    }
    if (s > 0) {
        const int tp = d == 0 ? T - s : s - 1; /* the time index of step s-1 */
        int m0, m1; /* rows padded at tp have no gate gradient: nothing to add (live_span) */
        live_rows(ws, tp, b0, b1, &m0, &m1);
        const size_t r = (size_t)tp * B + m0;
        if (m0 < m1 && split) /* the first G-1 blocks from dgx, the last from dgh: one product's sums */
            rnnc_pgemm2(m1 - m0, GH - H, dgx + r * GH, GH, H, dgh + r * H, H, j0, j1, pk, dh[s & 1] + (size_t)m0 * H, H, 1);
        else if (m0 < m1)
            rnnc_pgemm(m1 - m0, GH, j0, j1, dgh + r * GH, GH, pk, dh[s & 1] + (size_t)m0 * H, H, 1);
    }
    if (s < T) {
        const int t = d == 0 ? T - 1 - s : s, prev = d == 0 ? t : t + 1, next = d == 0 ? t + 1 : t;
        const float *hs = ws->hs[ld], *cs = ws->cs[ld];
        const size_t na = (size_t)ws->cell->aux;
        rnnc_cell_bwd a = {.B = nb, .H = H, .j0 = j0, .j1 = j1, .t = t, .len = ws->len + b0,
                           .gates = ws->gates[ld] + (size_t)t * B * GH + g0,
                           .aux = ws->aux[ld] ? ws->aux[ld] + na * ((size_t)t * BH + r0) : NULL, .h_prev = hs + prev * BH + r0,
                           .h_new = hs + next * BH + r0, .c_prev = cs ? cs + prev * BH + r0 : NULL,
                           .c_new = cs ? cs + next * BH + r0 : NULL, .dh = dh[s & 1] + r0,
                           .dy = dy ? dy + ((size_t)t * B + b0) * DH + (size_t)d * H : NULL, .lddy = DH,
                           .zero = ws->zero, .dc = dc[s & 1] + r0, .dc_prev = dc[(s + 1) & 1] + r0,
                           .dh_prev = dh[(s + 1) & 1] + r0, .dgx = dgx + (size_t)t * B * GH + g0,
                           .dgh = split ? dgh + (size_t)t * BH + r0 : dgh + (size_t)t * B * GH + g0};
        ws->cell->backward(&a);
    }
}

/* The reversed time loop of layer l, all directions. dy: [T, B, D*H] gradient of this layer's
 * output (NULL: none). Leaves dG in dgx[d] / dgh[d]; writes dL/dh0, dL/dc0 (D, B, H) when asked. */
static void backward_layer(rnnc_rnn_ws *ws, int l, const float *params, const float *dy, const float *dhn,
                           const float *dcn, float *dh0, float *dc0, int nth, rnnc_loop_mode mode) {
    const bool rows = mode == RNNC_LOOP_ROWS, split = mode == RNNC_LOOP_SERIAL || mode == RNNC_LOOP_UNITS;
    const int B = ws->B, T = ws->T, H = ws->c.hidden, D = ws->D;
    const size_t BH = (size_t)B * H;
    const int total = D * ((H + CHUNK - 1) / CHUNK), items = (T + 1) * total;
    layer_params p[2];
    for (int d = 0; d < D; d++) {
        p[d] = params_of(&ws->c, params, l, d);
        memcpy(ws->dh[d][0], dhn ? dhn + d * BH : ws->zero, BH * sizeof(float));
        if (ws->cs[l * D + d]) memcpy(ws->dc[d][0], dcn ? dcn + d * BH : ws->zero, BH * sizeof(float));
    }
    sched sc;
    atomic_init(&sc.ticket, 0);
    atomic_init(&sc.done, 0);
#pragma omp parallel num_threads(nth)
    {
        pack_layer(ws, p, 0);
        const int unit = row_block(ws, nth), nblk = (B + unit - 1) / unit;
        /* rows: a block of rows through every phase (a chunk's cell needs only its own units of
         * dh, and the next phase needs all of dG, which the same thread has just made) */
        for (int k; rows && (k = atomic_fetch_add_explicit(&sc.ticket, 1, memory_order_relaxed)) < nblk;)
            for (int q = 0; q < (T + 1) * D; q++) bwd_chunk(ws, l, dy, q, H, k * unit, k * unit + unit < B ? k * unit + unit : B);
        /* dirs: a block of rows of one direction through every phase */
        for (int k; mode == RNNC_LOOP_DIRS && (k = atomic_fetch_add_explicit(&sc.ticket, 1, memory_order_relaxed)) < D * dirs_blocks(D, nth);) {
            int b0, b1;
            const int d = dirs_item(k, B, D, nth, &b0, &b1);
            for (int s = 0; s <= T && b0 < b1; s++) bwd_chunk(ws, l, dy, s * D + d, H, b0, b1);
        }
        /* units: all rows of one chunk, once every chunk of the phase before is done */
        for (int q; split && (q = atomic_fetch_add_explicit(&sc.ticket, 1, memory_order_relaxed)) < items;) {
            if (q >= total) wait_done(&sc.done, q / total * total);
            bwd_chunk(ws, l, dy, q, CHUNK, 0, B);
            atomic_fetch_add_explicit(&sc.done, 1, memory_order_release);
        }
    }
    for (int d = 0; d < D; d++) {
        if (dh0) memcpy(dh0 + d * BH, ws->dh[d][T & 1], BH * sizeof(float));
        if (dc0 && ws->cs[l * D + d]) memcpy(dc0 + d * BH, ws->dc[d][T & 1], BH * sizeof(float));
    }
}

/* The reverse wavefront (RNNC_LOOP_WAVE in backward): the reversed time loops of every layer of a
 * one-direction stack at once, layer l at phase s while layer l+1 runs phase s+1. Layer l+1 makes
 * layer l's output gradient step by step, dX = dG_x W_ih on the panels rnnc_gemm_aw packs (the
 * same numbers as its whole-sequence product), with dropout's backward on those rows; each pair
 * (layer, block of rows) waits only for its block's layer above to finish the same phase. Leaves
 * every layer's gate gradients in bdg for the weight gradients made after it. */
static bool bwave_ok(const rnnc_rnn_ws *ws, int nth) {
    const int H = ws->c.hidden;
    return wave_ok(ws, nth) && rnnc_gemm_aw_packs(ws->T * ws->B, H, ws->G * H);
}

static rnnc_status bwave_reserve(rnnc_rnn_ws *ws) {
    if (ws->bbuf) return RNNC_OK;
    const size_t H = ws->c.hidden, GH = (size_t)ws->G * H, L = ws->L, TB = (size_t)ws->Tmax * ws->Bmax;
    const size_t pk = rnnc_pgemm_size((int)GH, (int)H), dg = TB * (GH + (ws->cell->split_dg ? H : 0));
    const size_t n = L * 2 * pk + L * dg + (L - 1) * TB * H + L * 4 * (size_t)ws->Bmax * H;
    float *b = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!b) return rnnc_error(RNNC_ERR_NOMEM, "rnn backward: out of memory for the wavefront's buffers");
    ws->bbuf = b;
    ws->bpk = b;
    ws->bih = b + L * pk;
    ws->bdg = b + 2 * L * pk;
    ws->bdy = ws->bdg + L * dg;
    ws->bdh = ws->bdy + (L - 1) * TB * H;
    ws->wave_floats += n;
    return RNNC_OK;
}

static rnnc_status backward_wave(rnnc_rnn_ws *ws, const float *params, const float *dy, const float *dhn,
                                 const float *dcn, float *dh0, float *dc0, int nth) {
    rnnc_status st = bwave_reserve(ws);
    if (st) return st;
    const int B = ws->B, T = ws->T, H = ws->c.hidden, G = ws->G, GH = G * H, L = ws->L;
    const size_t BH = (size_t)B * H, bh = (size_t)ws->Bmax * H, pks = rnnc_pgemm_size(GH, H), TB = (size_t)T * B;
    const size_t tbh = (size_t)ws->Tmax * ws->Bmax * H;
    const int nch = (H + CHUNK - 1) / CHUNK;
    wave_plan w;
    if ((st = wave_setup(ws, params, nth, "backward", &w))) return st;
    const int nblk = w.nblk, pairs = w.pairs;
    const layer_params *lp = w.lp;
    atomic_int *done = w.done;
    for (int l = 0; l < L; l++) {
        memcpy(ws->bdh + (size_t)l * 4 * bh, dhn ? dhn + l * BH : ws->zero, BH * sizeof(float));
        if (ws->cs[l]) memcpy(ws->bdh + ((size_t)l * 4 + 2) * bh, dcn ? dcn + l * BH : ws->zero, BH * sizeof(float));
    }
    const float p = ws->c.dropout, scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    ws->wave = true;
#pragma omp parallel num_threads(nth)
    {
        const int tid = omp_get_thread_num(), n = omp_get_num_threads();
        for (int q = tid; q < L * 2 * nch; q += n) { /* W_hh (K = G*H rows) and, l >= 1, W_ih for dX */
            const int l = q / (2 * nch), w = q % (2 * nch) / nch, j0 = q % nch * CHUNK, j1 = j0 + CHUNK < H ? j0 + CHUNK : H;
            if (w == 0)
                rnnc_pgemm_pack(ws->bpk + (size_t)l * pks, lp[l].w_hh, H, 0, GH, H, j0, j1);
            else if (l > 0)
                rnnc_pgemm_pack(ws->bih + (size_t)l * pks, lp[l].w_ih, H, 0, GH, H, j0, j1);
        }
#pragma omp barrier
        for (int s = 0; s <= T; s++)
            for (int i = tid; i < pairs; i += n) {
                const int q = pairs - 1 - i; /* the top layer first */
                int l, b0, b1;
                wave_pair(&w, q, B, &l, &b0, &b1);
                if (b0 < b1) {
                    const float *ldy = dy;
                    if (l + 1 < L) {
                        wave_wait(&done[q + nblk], s < T ? s + 1 : T);
                        ldy = ws->bdy + (size_t)l * tbh;
                    }
                    bwd_chunk(ws, l, ldy, s, H, b0, b1);
                    if (l > 0 && s < T) { /* the output gradient of the layer below at this step */
                        const int t = T - 1 - s;
                        int m0, m1; /* a padded row's output gradient is not read (its cell passes dh on) */
                        live_rows(ws, t, b0, b1, &m0, &m1);
                        const size_t r = (size_t)t * B + m0;
                        const float *dgx = wave_dg(ws, l, NULL);
                        float *o = ws->bdy + (size_t)(l - 1) * tbh + r * H;
                        if (m0 < m1)
                            rnnc_pgemm(m1 - m0, GH, 0, H, dgx + r * GH, GH, ws->bih + (size_t)l * pks, o, H, 0);
                        if (ws->dropped[l]) keep_scale(o, ws->keep[l] + r * H, (size_t)(m1 - m0) * H, scale);
                    }
                }
                atomic_store_explicit(&done[q], s + 1, memory_order_release);
            }
    }
    ws->wave = false;
    for (int l = 0; l < L; l++) {
        if (dh0) memcpy(dh0 + l * BH, ws->bdh + ((size_t)l * 4 + (T & 1)) * bh, BH * sizeof(float));
        if (dc0 && ws->cs[l]) memcpy(dc0 + l * BH, ws->bdh + ((size_t)l * 4 + 2 + (T & 1)) * bh, BH * sizeof(float));
    }
    (void)TB;
    wave_teardown(&w);
    return RNNC_OK;
}

/* stab[v, :] = the sum of dg's rows r with ids[r] = v ([rows, cols] -> [V, cols]). Split by
 * columns, each thread taking every row of its columns in order, so the sums do not depend on the
 * thread count. A 64-column block keeps its 96 (V) partial rows in L1; dg (8 MiB in LSTM 128's
 * step, written by the reversed loop) comes from memory at a 2 KiB stride that the hardware does
 * not prefetch across pages, so the rows 12 ahead are asked for by hand: 0.55-0.60 ms -> 0.37-0.40
 * ms a step there. */
static void sum_by_id(float *stab, const float *dg, const int *ids, size_t rows, int cols, int V) {
    const size_t ahead = 12;
#pragma omp parallel for schedule(static)
    for (int k0 = 0; k0 < cols; k0 += 64) {
        const int n = k0 + 64 < cols ? 64 : cols - k0;
        for (int v = 0; v < V; v++) memset(stab + (size_t)v * cols + k0, 0, (size_t)n * sizeof(float));
        for (size_t r = 0; r < rows; r++) {
            float *dst = stab + (size_t)ids[r] * cols + k0;
            const float *src = dg + r * cols + k0;
            if (r + ahead < rows)
                for (int k = 0; k < n; k += 16) __builtin_prefetch(src + ahead * (size_t)cols + k);
#pragma omp simd
            for (int k = 0; k < n; k++) dst[k] += src[k];
        }
    }
}

static rnnc_status backward_impl(rnnc_rnn_ws *ws, const float *params, float *dparams, const float *dy,
                                 const float *dhn, const float *dcn, float *dx, const float *table, float *dtable,
                                 float *dh0, float *dc0);

/* The weight and bias gradients sum over the time-major rows (t, b); a padded row (t >= len[b])
 * adds nothing, its gate gradients being 0. When a batch has padding, the rows that do add are
 * first gathered into one block (in time-major order) so that those products run over them only,
 * as PyTorch's packed sequences do: the sums then group their terms differently than over all
 * T*B rows, so a padded batch's weight gradients differ from the full products' in the last bits
 * (the same in every loop mode). Batches without padding take the full products as before. */
static size_t live_count(const rnnc_rnn_ws *ws) {
    size_t n = 0;
    for (int b = 0; b < ws->B; b++) n += (size_t)ws->len[b];
    return n;
}

static rnnc_status live_reserve(rnnc_rnn_ws *ws) {
    if (ws->lbuf) return RNNC_OK;
    const size_t H = ws->c.hidden, DH = ws->D * H, maxI = (size_t)ws->c.input > DH ? (size_t)ws->c.input : DH;
    const size_t n = (size_t)ws->Tmax * ws->Bmax * (maxI + H + ws->G * H + (ws->cell->split_dg ? H : 0));
    ws->lbuf = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!ws->lbuf) return rnnc_error(RNNC_ERR_NOMEM, "rnn backward: out of memory for the live rows' buffers");
    ws->live_floats = n;
    return RNNC_OK;
}

/* dst = the rows (t, b) of src ([T, B, cols], time-major) with t < len[b], in order. The runner
 * keeps its rows in one length order (length_order), so step t's live rows are exactly its span
 * [live[2t], live[2t+1]) and each step is one copy; each thread copies a range of steps, starting
 * at the sum of the spans before it. */
static void live_gather(const rnnc_rnn_ws *ws, float *dst, const float *src, size_t cols) {
    const int B = ws->B, T = ws->T;
    const bool par = (size_t)T * B * cols >= ((size_t)1 << 16) && !omp_in_parallel();
#pragma omp parallel if (par)
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        const int t0 = (int)((long)T * id / nt), t1 = (int)((long)T * (id + 1) / nt);
        size_t o = 0;
        for (int t = 0; t < t0; t++) o += (size_t)(ws->live[2 * t + 1] - ws->live[2 * t]);
        for (int t = t0; t < t1; t++) {
            const int lo = ws->live[2 * t], n = ws->live[2 * t + 1] - lo;
            memcpy(dst + o * cols, src + ((size_t)t * B + lo) * cols, (size_t)n * cols * sizeof(float));
            o += (size_t)n;
        }
    }
}

rnnc_status rnnc_rnn_backward(rnnc_rnn_ws *ws, const float *params, float *dparams, const float *dy,
                              const float *dhn, const float *dcn, float *dx, float *dh0, float *dc0) {
    if (ws && ws->have_forward && ws->from_ids)
        return rnnc_error(RNNC_ERR_ARG, "rnn backward: the last forward read ids (use rnnc_rnn_backward_ids)");
    return backward_impl(ws, params, dparams, dy, dhn, dcn, dx, NULL, NULL, dh0, dc0);
}

rnnc_status rnnc_rnn_backward_ids(rnnc_rnn_ws *ws, const float *params, float *dparams, const float *dy,
                                  const float *dhn, const float *dcn, const float *table, float *dtable, float *dh0,
                                  float *dc0) {
    if (!table) return rnnc_error(RNNC_ERR_ARG, "rnn backward: NULL table");
    if (ws && ws->have_forward && !ws->from_ids)
        return rnnc_error(RNNC_ERR_ARG, "rnn backward: the last forward read x, not ids (use rnnc_rnn_backward)");
    return backward_impl(ws, params, dparams, dy, dhn, dcn, NULL, table, dtable, dh0, dc0);
}

static rnnc_status backward_impl(rnnc_rnn_ws *ws, const float *params, float *dparams, const float *dy,
                                 const float *dhn, const float *dcn, float *dx, const float *table, float *dtable,
                                 float *dh0, float *dc0) {
    if (!ws || !params || !dparams) return rnnc_error(RNNC_ERR_ARG, "rnn backward: NULL workspace, params or dparams");
    if (!ws->have_forward) return rnnc_error(RNNC_ERR_ARG, "rnn backward: no forward to differentiate");
    const rnnc_rnn_config *c = &ws->c;
    const int B = ws->B, T = ws->T, H = c->hidden, GH = ws->G * H, D = ws->D, L = ws->L, DH = D * H;
    const size_t TB = (size_t)T * B, BH = (size_t)B * H;
    int nth;
    rnnc_loop_mode mode;
    loop_plan(ws, &nth, &mode, false);
    const int *perm = ws->permuted ? ws->perm : NULL;
    const size_t nst = (size_t)L * D * BH;
    float *udh0 = dh0, *udc0 = dc0; /* the caller's, when the rows run permuted */
    if (perm) {
        if (dhn) { states_in(ws->pst, dhn, (size_t)L * D, B, H, perm); dhn = ws->pst; }
        if (dcn && ws->cell->states > 1) { states_in(ws->pst + nst, dcn, (size_t)L * D, B, H, perm); dcn = ws->pst + nst; }
        if (dh0) dh0 = ws->pst + 2 * nst;
        if (dc0) dc0 = ws->pst + 3 * nst;
    }
    const float *dcur = NULL; /* gradient of the current layer's output, time-major */
    int which = 0;
    if (dy) {
        if (ws->tm_fwd && !perm) { /* the runner's own order: read in place */
            dcur = dy;
        } else {
            to_time_major(ws->dbuf[0], dy, B, T, DH, perm, ws->tm_fwd);
            dcur = ws->dbuf[0];
        }
    }
    const bool wave = mode == RNNC_LOOP_WAVE;
    const size_t nlive = live_count(ws);
    const bool gather = nlive < TB; /* padding: the weight gradients over the live rows only */
    if (gather) {
        rnnc_status st = live_reserve(ws);
        if (st) return st;
    }
    const size_t DHmax = (size_t)(c->input > DH ? c->input : DH);
    float *lx = NULL, *lh = NULL, *lgx = NULL, *lgh = NULL;
    if (gather) { lx = ws->lbuf; lh = lx + TB * DHmax; lgx = lh + TB * H; lgh = lgx + TB * GH; }
    if (wave) { /* every layer's reversed loop at once; the products below then run layer by layer */
        rnnc_status st = backward_wave(ws, params, dcur, dhn, dcn, dh0, dc0, nth);
        if (st) return st;
    }
    for (int l = L - 1; l >= 0; l--) {
        const int I = layer_input(c, l);
        if (!wave)
            backward_layer(ws, l, params, dcur, dhn ? dhn + (size_t)l * D * BH : NULL, dcn ? dcn + (size_t)l * D * BH : NULL,
                           dh0 ? dh0 + (size_t)l * D * BH : NULL, dc0 ? dc0 + (size_t)l * D * BH : NULL, nth, mode);
        /* The big products, once for all steps (the wavefront made the layers' dX already). */
        const bool folded = l == 0 && ws->folded;
        const bool need_dx = (l > 0 && !wave) || (l == 0 && (dx || (dtable && !folded)));
        float *dxin = ws->dbuf[which ^ 1];
        if (gather && !folded) live_gather(ws, lx, ws->xin[l], (size_t)I);
        for (int d = 0; d < D; d++) {
            layer_params p = params_of(c, params, l, d);
            layer_grads g = grads_of(c, dparams, l, d);
            const float *hprev = ws->hs[l * D + d] + (d == 0 ? 0 : BH);
            float *dgx = ws->dgx[d], *dgh = ws->dgh[d];
            if (wave) dgx = wave_dg(ws, l, &dgh);
            /* The input side over its rows: the T*B inputs, or, projected, the table's V rows with
             * each one's gate gradients summed (every product shrinks by T*B/V). */
            /* The hidden side: dgx's gate blocks, except a split cell's last block, which is dgh
             * ([T, B, H]); KH of the G*H blocks' columns are shared with the input side. */
            const bool split = dgh != dgx;
            const int KH = split ? GH - H : GH;
            const float *dgi = dgx, *xi = ws->xin[l], *wdgx = dgx, *wdgh = dgh, *wh = hprev;
            size_t ni = TB, nh = TB;
            if (gather) { /* the live rows only (live_gather) */
                live_gather(ws, lh, hprev, (size_t)H);
                live_gather(ws, lgx, dgx, (size_t)GH);
                if (split) live_gather(ws, lgh, dgh, (size_t)H);
                wdgx = lgx;
                wdgh = split ? lgh : lgx;
                wh = lh;
                nh = nlive;
                if (!folded) { dgi = lgx; xi = lx; ni = nlive; }
            }
            if (folded) {
                sum_by_id(ws->stab, dgx, ws->ids, TB, GH, ws->V);
                dgi = ws->stab; xi = table; ni = (size_t)ws->V;
            }
            rnnc_wgrad(GH, I, (int)ni, dgi, GH, xi, I, g.w_ih, I);
            rnnc_wgrad(KH, H, (int)nh, wdgx, GH, wh, H, g.w_hh, H);
            /* the bias gradients of the shared blocks from the input side's rows (the table's, folded) */
            rnnc_colsum_add(g.b_ih, g.b_hh, KH, dgi, GH, ni, GH);
            if (split) {
                rnnc_wgrad(H, H, (int)nh, wdgh, H, wh, H, g.w_hh + (size_t)KH * H, H);
                rnnc_colsum_add(g.b_hh + KH, NULL, 0, wdgh, H, nh, H);
            }
            if (folded && dtable)
                rnnc_gemm_aw((int)ni, I, GH, dgi, GH, p.w_ih, I, 0, dtable, I, 1);
            else if (need_dx)
                rnnc_gemm_aw((int)TB, I, GH, dgx, GH, p.w_ih, I, 0, dxin, I, d != 0);
        }
        if (l > 0 && wave) {
            continue;
        } else if (l > 0) {
            if (ws->dropped[l]) {
                const unsigned char *keep = ws->keep[l];
                const float p = c->dropout, scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
                const size_t n = TB * DH, CH = 4096; /* elements a work item scales */
#pragma omp parallel for schedule(static) if (n >= 65536)
                for (size_t i0 = 0; i0 < n; i0 += CH) keep_scale(dxin + i0, keep + i0, n - i0 < CH ? n - i0 : CH, scale);
            }
            dcur = dxin;
            which ^= 1;
        } else if (dx) {
            to_io(dx, dxin, T, B, c->input, perm, ws->tm_fwd);
        } else if (dtable && !folded) {
            rnnc_embedding_backward(dtable, dxin, ws->ids, (int)TB, c->input); /* the lookup's backward */
        }
    }
    if (perm && udh0) states_out(udh0, dh0, (size_t)L * D, B, H, perm);
    if (perm && udc0 && ws->cell->states > 1) states_out(udc0, dc0, (size_t)L * D, B, H, perm);
    return RNNC_OK;
}
