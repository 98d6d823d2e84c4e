/* The sequence-to-sequence model: encoder stack, bridge, decoder stack and head; teacher-forced
 * loss and its backward; greedy and beam decoding; model files. See include/rnnc/seq2seq.h.
 * Built from the shared layers (rnn.h, nn.h); this file only wires them together. */
#include "core/json.h"
#include "core/len_order.h"
#include "model/layout.h"
#include "nn/dropout.h"
#include "rnnc/seq2seq.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "nn/cell.h"
#include "nn/pgemm.h"
#include "rnnc/filekind.h"
#include "rnnc/nn.h"
#include "rnnc/safetensors.h"
#include "core/bigmem.h"

/* a * b and a + b, false on size_t overflow */
static bool mul_sz(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b) return false;
    *out = a * b;
    return true;
}
static bool add_sz(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - b) return false;
    *out = a + b;
    return true;
}

/* Each tensor holds at most this many floats (so its element count fits an int). */
#define MAX_TENSOR ((size_t)1 << 31)

/* The parameter count of a config whose fields are in range (the layout of rnnc_s2s_model_new),
 * every step checked; false when params (and an optimizer's copies) would not fit a size_t. */
static bool count_params(const rnnc_s2s_config *c, size_t *n) {
    size_t E = (size_t)c->embed, H = (size_t)c->hidden, L = (size_t)c->layers, D = c->bidirectional ? 2 : 1;
    size_t GH = (size_t)rnnc_cell_gates(c->cell) * H, t, total;
    if (!mul_sz((size_t)c->src_vocab, E, &total)) return false;
    for (size_t l = 0; l < L; l++) { /* encoder: D directions; decoder: one */
        size_t in_enc = l == 0 ? E : D * H, in_dec = l == 0 ? E : H;
        if (!add_sz(in_enc, H + 2, &t) || !mul_sz(GH, t, &t) || !mul_sz(t, D, &t) || !add_sz(total, t, &total)) return false;
        if (!add_sz(in_dec, H + 2, &t) || !mul_sz(GH, t, &t) || !add_sz(total, t, &total)) return false;
    }
    if (c->bidirectional) { /* a bridge per state (bridge_h, and bridge_c with c): (H, 2H) + (H) per layer */
        size_t per = 2 * H * H + H, k = (size_t)rnnc_cell_info_of(c->cell)->states;
        if (!mul_sz(per, L * k, &t) || !add_sz(total, t, &total)) return false;
    }
    if (!mul_sz((size_t)c->tgt_vocab, E + H + 1, &t) || !add_sz(total, t, &total)) return false;
    if (total > SIZE_MAX / (4 * sizeof(float))) return false;
    *n = total;
    return true;
}

rnnc_status rnnc_s2s_config_check(const rnnc_s2s_config *c) {
    if (rnnc_cell_check(c->cell, "seq2seq")) return RNNC_ERR_ARG;
    if (c->src_vocab <= RNNC_S2S_NSPECIAL) return rnnc_error(RNNC_ERR_ARG, "seq2seq: source vocabulary of %d symbols has nothing but the specials", c->src_vocab);
    if (c->tgt_vocab <= RNNC_S2S_NSPECIAL) return rnnc_error(RNNC_ERR_ARG, "seq2seq: target vocabulary of %d symbols has nothing but the specials", c->tgt_vocab);
    if (c->src_vocab > RNNC_S2S_MAX_VOCAB) return rnnc_error(RNNC_ERR_ARG, "seq2seq: source vocabulary of %d symbols is more than %d", c->src_vocab, RNNC_S2S_MAX_VOCAB);
    if (c->tgt_vocab > RNNC_S2S_MAX_VOCAB) return rnnc_error(RNNC_ERR_ARG, "seq2seq: target vocabulary of %d symbols is more than %d", c->tgt_vocab, RNNC_S2S_MAX_VOCAB);
    if (c->embed < 1 || c->embed > RNNC_S2S_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "seq2seq: embed %d outside [1, %d]", c->embed, RNNC_S2S_MAX_DIM);
    if (c->hidden < 1 || c->hidden > RNNC_S2S_MAX_DIM) return rnnc_error(RNNC_ERR_ARG, "seq2seq: hidden %d outside [1, %d]", c->hidden, RNNC_S2S_MAX_DIM);
    if (c->layers < 1 || c->layers > RNNC_S2S_MAX_LAYERS) return rnnc_error(RNNC_ERR_ARG, "seq2seq: layers %d outside [1, %d]", c->layers, RNNC_S2S_MAX_LAYERS);
    if (!(c->dropout >= 0 && c->dropout < 1)) return rnnc_error(RNNC_ERR_ARG, "seq2seq: dropout %g outside [0, 1)", c->dropout);
    if (!(c->output_dropout >= 0 && c->output_dropout < 1))
        return rnnc_error(RNNC_ERR_ARG, "seq2seq: output_dropout %g outside [0, 1)", c->output_dropout);
    /* the fields are bounded above, so these products fit a 64-bit size_t */
    size_t E = (size_t)c->embed, H = (size_t)c->hidden, D = c->bidirectional ? 2 : 1, n;
    size_t V = (size_t)(c->src_vocab > c->tgt_vocab ? c->src_vocab : c->tgt_vocab), I = E > D * H ? E : D * H;
    if (V * E > MAX_TENSOR || (size_t)c->tgt_vocab * H > MAX_TENSOR ||
        (size_t)rnnc_cell_gates(c->cell) * H * I > MAX_TENSOR || (c->bidirectional && 2 * H * H > MAX_TENSOR))
        return rnnc_error(RNNC_ERR_ARG, "seq2seq: vocabularies %d and %d, embed %d, hidden %d give tensors of over 2^31 floats",
                          c->src_vocab, c->tgt_vocab, c->embed, c->hidden);
    if (!count_params(c, &n))
        return rnnc_error(RNNC_ERR_ARG, "seq2seq: %d layers of hidden %d have more parameters than memory can address",
                          c->layers, c->hidden);
    return RNNC_OK;
}

/* The cell's state count (the table's): h, and for LSTM the cell state c, which the encoder then
 * hands on too (through bridge_c when bidirectional), as c0/cn and dc0/dcn. */
static int n_states(const rnnc_s2s_model *m) { return rnnc_cell_info_of(m->c.cell)->states; }
static bool has_c(const rnnc_s2s_model *m) { return n_states(m) > 1; }

/* Tensors: src_embedding, encoder.*, [bridge_h.weight_l/bias_l per layer, bridge_c.* with c],
 * tgt_embedding, decoder.*, head.weight, head.bias. */
size_t rnnc_s2s_num_tensors(const rnnc_s2s_model *m) {
    size_t n = 1 + rnnc_rnn_num_tensors(&m->enc) + 1 + rnnc_rnn_num_tensors(&m->dec) + 2;
    if (m->c.bidirectional) n += (size_t)m->c.layers * 2 * (size_t)n_states(m);
    return n;
}

static rnnc_param_info info2(const char *name, int r, int c, size_t off) {
    rnnc_param_info p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%.47s", name);
    p.ndim = c ? 2 : 1;
    p.shape[0] = r;
    p.shape[1] = c;
    p.offset = off;
    p.size = (size_t)r * (size_t)(c ? c : 1);
    return p;
}

rnnc_param_info rnnc_s2s_tensor(const rnnc_s2s_model *m, size_t k) {
    int E = m->c.embed, H = m->c.hidden, L = m->c.layers;
    char name[sizeof(((rnnc_param_info *)0)->name)];
    if (k == 0) return info2("src_embedding.weight", m->c.src_vocab, E, m->off_src_emb);
    k--;
    size_t ne = rnnc_rnn_num_tensors(&m->enc);
    if (k < ne) {
        rnnc_param_info p = rnnc_rnn_tensor(&m->enc, k);
        memcpy(name, p.name, sizeof p.name);
        snprintf(p.name, sizeof p.name, "encoder.%.39s", name);
        p.offset += m->off_enc;
        return p;
    }
    k -= ne;
    if (m->c.bidirectional) {
        size_t nb = (size_t)L * 2 * (size_t)n_states(m);
        if (k < nb) {
            size_t which = k / ((size_t)L * 2), l = (k / 2) % (size_t)L;
            bool bias = k % 2;
            size_t HH2 = 2 * (size_t)H * (size_t)H; /* in size_t: 2*H*H overflows an int from H = 32768 */
            size_t base = (which ? m->off_bridge_c : m->off_bridge_h) + l * (HH2 + (size_t)H);
            snprintf(name, sizeof name, "bridge_%c.%s_l%zu", which ? 'c' : 'h', bias ? "bias" : "weight", l);
            return bias ? info2(name, H, 0, base + HH2) : info2(name, H, 2 * H, base);
        }
        k -= nb;
    }
    if (k == 0) return info2("tgt_embedding.weight", m->c.tgt_vocab, E, m->off_tgt_emb);
    k--;
    size_t nd = rnnc_rnn_num_tensors(&m->dec);
    if (k < nd) {
        rnnc_param_info p = rnnc_rnn_tensor(&m->dec, k);
        memcpy(name, p.name, sizeof p.name);
        snprintf(p.name, sizeof p.name, "decoder.%.39s", name);
        p.offset += m->off_dec;
        return p;
    }
    k -= nd;
    if (k == 0) return info2("head.weight", m->c.tgt_vocab, H, m->off_head_w);
    return info2("head.bias", m->c.tgt_vocab, 0, m->off_head_b);
}

/* The offsets and parameter count of config c (checked) in m: no allocation, so the tensor table
 * (rnnc_s2s_tensor) can be compared with a file before anything sized by c is allocated. */
static void s2s_layout(rnnc_s2s_model *m, const rnnc_s2s_config *cp) {
    memset(m, 0, sizeof *m);
    rnnc_s2s_config c = *cp;
    m->c = c;
    m->enc = (rnnc_rnn_config){c.cell, c.embed, c.hidden, c.layers, c.bidirectional, c.dropout};
    m->dec = (rnnc_rnn_config){c.cell, c.embed, c.hidden, c.layers, false, c.dropout};
    size_t E = (size_t)c.embed, H = (size_t)c.hidden, L = (size_t)c.layers, off = 0;
    m->off_src_emb = off; off += (size_t)c.src_vocab * E;
    m->off_enc = off; off += rnnc_rnn_num_params(&m->enc);
    m->off_bridge_h = off; if (c.bidirectional) off += L * (2 * H * H + H);
    m->off_bridge_c = off; if (c.bidirectional && rnnc_cell_info_of(c.cell)->states > 1) off += L * (2 * H * H + H);
    m->off_tgt_emb = off; off += (size_t)c.tgt_vocab * E;
    m->off_dec = off; off += rnnc_rnn_num_params(&m->dec);
    m->off_head_w = off; off += (size_t)c.tgt_vocab * H;
    m->off_head_b = off; off += (size_t)c.tgt_vocab;
    m->n_params = off;
}

rnnc_status rnnc_s2s_model_new(rnnc_s2s_model **out, const rnnc_s2s_config *cin, rnnc_s2s_vocab *sv,
                               rnnc_s2s_vocab *tv) {
    *out = NULL;
    /* the sizes are size_t: bounded before they become ints */
    if (sv->n > RNNC_S2S_MAX_VOCAB || tv->n > RNNC_S2S_MAX_VOCAB)
        return rnnc_error(RNNC_ERR_ARG, "seq2seq: vocabularies of %zu and %zu ids: at most %d each", sv->n, tv->n,
                          RNNC_S2S_MAX_VOCAB);
    rnnc_s2s_config c = *cin;
    c.src_vocab = (int)sv->n;
    c.tgt_vocab = (int)tv->n;
    rnnc_status s = rnnc_s2s_config_check(&c);
    if (s) return s;
    rnnc_s2s_model *m = calloc(1, sizeof *m);
    if (!m) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a seq2seq model");
    s2s_layout(m, &c);
    if ((s = rnnc_rnn_config_check(&m->enc)) || (s = rnnc_rnn_config_check(&m->dec))) { free(m); return s; }
    m->params = calloc(m->n_params, sizeof *m->params);
    if (!m->params) {
        size_t n = m->n_params;
        free(m);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for %zu seq2seq parameters", n);
    }
    m->src_vocab = *sv;
    m->tgt_vocab = *tv;
    memset(sv, 0, sizeof *sv);
    memset(tv, 0, sizeof *tv);
    *out = m;
    return RNNC_OK;
}

void rnnc_s2s_model_free(rnnc_s2s_model *m) {
    if (!m) return;
    free(m->params);
    rnnc_s2s_vocab_free(&m->src_vocab);
    rnnc_s2s_vocab_free(&m->tgt_vocab);
    free(m);
    rnnc_scratch_trim(); /* done with a model: the temporaries cached for computing go too */
}

static void fill_uniform(float *p, size_t n, float a, rnnc_rng *rng) {
    for (size_t i = 0; i < n; i++) p[i] = (2.0f * rnnc_rng_uniform(rng) - 1.0f) * a;
}

void rnnc_s2s_model_init(rnnc_s2s_model *m, rnnc_rng *rng) {
    size_t E = (size_t)m->c.embed, H = (size_t)m->c.hidden;
    for (size_t i = 0; i < (size_t)m->c.src_vocab * E; i++) m->params[m->off_src_emb + i] = rnnc_rng_normal(rng);
    rnnc_rnn_init(&m->enc, m->params + m->off_enc, rng);
    fill_uniform(m->params + m->off_bridge_h, m->off_tgt_emb - m->off_bridge_h, 1.0f / sqrtf(2.0f * (float)H), rng);
    for (size_t i = 0; i < (size_t)m->c.tgt_vocab * E; i++) m->params[m->off_tgt_emb + i] = rnnc_rng_normal(rng);
    rnnc_rnn_init(&m->dec, m->params + m->off_dec, rng);
    fill_uniform(m->params + m->off_head_w, (size_t)m->c.tgt_vocab * (H + 1), 1.0f / sqrtf((float)H), rng);
}

/* ---- encoder and bridge, shared by training and decoding ---- */

typedef struct {
    rnnc_rnn_ws *rnn;
    float *y, *hn, *cn;      /* (B,Ts,D*H), (L*D,B,H) x2 */
    float *cat, *cat_c;      /* (L,B,2H): the bridge inputs */
    float *h0, *c0;          /* (L,B,H): the decoder's initial states */
} encoder_bufs;

static void encoder_bufs_free(encoder_bufs *e) {
    rnnc_rnn_ws_free(e->rnn);
    free(e->y); free(e->hn); free(e->cn); free(e->cat); free(e->cat_c); free(e->h0); free(e->c0);
    memset(e, 0, sizeof *e);
}

static rnnc_status encoder_bufs_new(encoder_bufs *e, const rnnc_s2s_model *m, int B, int Ts) {
    memset(e, 0, sizeof *e);
    size_t D = m->c.bidirectional ? 2 : 1, H = (size_t)m->c.hidden, L = (size_t)m->c.layers, Bz = (size_t)B;
    rnnc_status s = rnnc_rnn_ws_new(&e->rnn, &m->enc, B, Ts);
    if (s) return s;
    e->y = malloc(Bz * (size_t)Ts * D * H * sizeof(float));
    e->hn = malloc(L * D * Bz * H * sizeof(float));
    e->cn = malloc(L * D * Bz * H * sizeof(float));
    e->cat = malloc(L * Bz * 2 * H * sizeof(float));
    e->cat_c = malloc(L * Bz * 2 * H * sizeof(float));
    e->h0 = malloc(L * Bz * H * sizeof(float));
    e->c0 = malloc(L * Bz * H * sizeof(float));
    if (!e->y || !e->hn || !e->cn || !e->cat || !e->cat_c || !e->h0 || !e->c0) {
        encoder_bufs_free(e);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for encoder activations (B=%d, T=%d)", B, Ts);
    }
    return RNNC_OK;
}

/* One bridge: out (L,B,H) = tanh(W_l [st_fwd; st_bwd] + b_l) from st (L*2,B,H); cat keeps the input. */
static void bridge_forward(const float *W, const float *st, float *cat, float *out, int L, int B, int H) {
    for (int l = 0; l < L; l++) {
        float *cl = cat + (size_t)l * B * 2 * H;
        for (int b = 0; b < B; b++)
            for (int d = 0; d < 2; d++)
                memcpy(cl + ((size_t)b * 2 + d) * H, st + (((size_t)l * 2 + d) * B + b) * H, (size_t)H * sizeof(float));
        const float *Wl = W + (size_t)l * (2 * (size_t)H * H + H);
        float *ol = out + (size_t)l * B * H;
        rnnc_linear_forward(ol, cl, Wl, Wl + (size_t)2 * H * H, B, 2 * H, H);
        for (size_t i = 0; i < (size_t)B * H; i++) ol[i] = tanhf(ol[i]);
    }
}

/* Backward of bridge_forward: dout (L,B,H) -> dst (L*2,B,H) (written), dW accumulated. dpre and
 * dcat are scratch of (B,H) and (B,2H). */
static void bridge_backward(const float *W, float *dW, const float *cat, const float *out, const float *dout,
                            float *dst, float *dpre, float *dcat, int L, int B, int H) {
    for (int l = 0; l < L; l++) {
        const float *ol = out + (size_t)l * B * H, *gl = dout + (size_t)l * B * H;
        for (size_t i = 0; i < (size_t)B * H; i++) dpre[i] = gl[i] * (1.0f - ol[i] * ol[i]);
        size_t wo = (size_t)l * (2 * (size_t)H * H + H);
        rnnc_linear_backward(dcat, dW + wo, dW + wo + (size_t)2 * H * H, dpre, cat + (size_t)l * B * 2 * H,
                             W + wo, B, 2 * H, H);
        for (int b = 0; b < B; b++)
            for (int d = 0; d < 2; d++)
                memcpy(dst + (((size_t)l * 2 + d) * B + b) * H, dcat + ((size_t)b * 2 + d) * H, (size_t)H * sizeof(float));
    }
}

/* The encoder's input ids from the batch's (B,Ts) source ids: as they are, or with each row's
 * first len symbols reversed (reverse_source), padding left in place. */
static void source_ids(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts, int *out) {
    for (int b = 0; b < B; b++) {
        const uint32_t *row = src + (size_t)b * Ts;
        int *o = out + (size_t)b * Ts, n = src_len[b] < Ts ? src_len[b] : Ts;
        if (m->c.reverse_source) {
            for (int t = 0; t < n; t++) o[t] = (int)row[n - 1 - t];
            for (int t = n; t < Ts; t++) o[t] = (int)row[t];
        } else {
            for (int t = 0; t < Ts; t++) o[t] = (int)row[t];
        }
    }
}

/* Embeds and encodes src ids (B,Ts) and fills e->h0/c0 with the decoder's initial states. */
static rnnc_status encode(const rnnc_s2s_model *m, encoder_bufs *e, const int *src, const int *src_len, int B,
                          int Ts, bool training, rnnc_rng *rng) {
    int L = m->c.layers, H = m->c.hidden;
    /* the embedding lookup is the recurrent layer's own (rnnc_rnn_forward_ids) */
    rnnc_status s = rnnc_rnn_forward_ids(e->rnn, m->params + m->off_enc, B, Ts, src, m->params + m->off_src_emb,
                                         m->c.src_vocab, src_len, NULL, NULL, e->y, e->hn, has_c(m) ? e->cn : NULL,
                                         training, rng);
    if (s) return s;
    size_t n = (size_t)L * B * H;
    if (!m->c.bidirectional) {
        memcpy(e->h0, e->hn, n * sizeof(float));
        if (has_c(m)) memcpy(e->c0, e->cn, n * sizeof(float));
        return RNNC_OK;
    }
    bridge_forward(m->params + m->off_bridge_h, e->hn, e->cat, e->h0, L, B, H);
    if (has_c(m)) bridge_forward(m->params + m->off_bridge_c, e->cn, e->cat_c, e->c0, L, B, H);
    return RNNC_OK;
}

/* ---- training ---- */

struct rnnc_s2s_ws {
    int B, Ts, Tt;
    encoder_bufs enc;
    rnnc_rnn_ws *dec;
    int *src, *tin, *tout;
    float *enc_dy, *denc_hn, *denc_cn, *dh0, *dc0, *dpre, *dcat;
    float *dec_y, *ddec_y, *logits;
    float *dec_mask, *dec_yd; /* output dropout: the scaled keep mask and the dropped outputs */
    bool dropped;             /* the last decode_train applied it */
    long row0;                /* the global row of row 0 (per-row random streams) */
};

void rnnc_s2s_ws_set_row0(rnnc_s2s_ws *w, long row0) {
    w->row0 = row0;
    rnnc_rnn_ws_set_row0(w->enc.rnn, row0);
    rnnc_rnn_ws_set_row0(w->dec, row0);
}

void rnnc_s2s_ws_free(rnnc_s2s_ws *w) {
    if (!w) return;
    encoder_bufs_free(&w->enc);
    rnnc_rnn_ws_free(w->dec);
    free(w->src); free(w->tin); free(w->tout);
    free(w->enc_dy); free(w->denc_hn); free(w->denc_cn); free(w->dh0); free(w->dc0);
    free(w->dpre); free(w->dcat);
    free(w->dec_y); free(w->ddec_y); free(w->logits);
    free(w->dec_mask); free(w->dec_yd);
    free(w);
}

rnnc_status rnnc_s2s_ws_new(rnnc_s2s_ws **out, const rnnc_s2s_model *m, int B, int Ts, int Tt) {
    *out = NULL;
    if (B < 1 || Ts < 1 || Tt < 1) return rnnc_error(RNNC_ERR_ARG, "seq2seq workspace: B=%d Ts=%d Tt=%d must be positive", B, Ts, Tt);
    rnnc_s2s_ws *w = calloc(1, sizeof *w);
    if (!w) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a seq2seq workspace");
    w->B = B; w->Ts = Ts; w->Tt = Tt;
    rnnc_status s = encoder_bufs_new(&w->enc, m, B, Ts);
    if (!s) s = rnnc_rnn_ws_new(&w->dec, &m->dec, B, Tt);
    if (s) { rnnc_s2s_ws_free(w); return s; }
    size_t D = m->c.bidirectional ? 2 : 1, H = (size_t)m->c.hidden, L = (size_t)m->c.layers;
    size_t Bz = (size_t)B, S = Bz * (size_t)Ts, T = Bz * (size_t)Tt;
    w->src = malloc(S * sizeof(int));
    w->tin = malloc(T * sizeof(int));
    w->tout = malloc(T * sizeof(int));
    w->enc_dy = calloc(S * D * H, sizeof(float)); /* stays zero: without attention y takes no gradient */
    w->denc_hn = malloc(L * D * Bz * H * sizeof(float));
    w->denc_cn = malloc(L * D * Bz * H * sizeof(float));
    w->dh0 = malloc(L * Bz * H * sizeof(float));
    w->dc0 = malloc(L * Bz * H * sizeof(float));
    w->dpre = malloc(Bz * H * sizeof(float));
    w->dcat = malloc(Bz * 2 * H * sizeof(float));
    w->dec_y = malloc(T * H * sizeof(float));
    w->ddec_y = malloc(T * H * sizeof(float));
    if (m->c.output_dropout > 0) {
        w->dec_mask = malloc(T * H * sizeof(float));
        w->dec_yd = malloc(T * H * sizeof(float));
    }
    w->logits = malloc(T * (size_t)m->c.tgt_vocab * sizeof(float));
    if (!w->src || !w->tin || !w->tout || !w->enc_dy || !w->denc_hn || !w->denc_cn || !w->dh0 ||
        !w->dc0 || !w->dpre || !w->dcat || !w->dec_y || !w->ddec_y || !w->logits ||
        (m->c.output_dropout > 0 && (!w->dec_mask || !w->dec_yd))) {
        rnnc_s2s_ws_free(w);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a seq2seq workspace (B=%d, Ts=%d, Tt=%d)", B, Ts, Tt);
    }
    *out = w;
    return RNNC_OK;
}

/* Decoder over w->tin (B,Tt) from the encoder's h0/c0: logits (B*Tt, V) in w->logits. */
static rnnc_status decode_train(rnnc_s2s_ws *w, const rnnc_s2s_model *m, const rnnc_s2s_batch *b, bool training,
                                rnnc_rng *rng) {
    int N = b->B * b->Tt;
    rnnc_status s = rnnc_rnn_forward_ids(w->dec, m->params + m->off_dec, b->B, b->Tt, w->tin,
                                         m->params + m->off_tgt_emb, m->c.tgt_vocab, b->tgt_len, w->enc.h0,
                                         has_c(m) ? w->enc.c0 : NULL, w->dec_y, NULL, NULL, training, rng);
    if (s) return s;
    /* Output dropout (training only): the top layer's outputs are dropped before the head, as
     * OpenNMT does, so even a one-layer decoder is regularised. */
    const float *y = w->dec_y;
    w->dropped = training && rng && m->c.output_dropout > 0 && w->dec_mask;
    if (w->dropped) {
        /* each row (b) from its own stream: steps and units in order */
        const size_t n = (size_t)b->Tt * (size_t)m->c.hidden;
        rnnc_dropout_rows(w->dec_y, n, w->dec_yd, n, w->dec_mask, b->B, 1, (int)n, m->c.output_dropout,
                          rnnc_rng_u64(rng), w->row0);
        y = w->dec_yd;
    }
    rnnc_linear_forward(w->logits, y, m->params + m->off_head_w, m->params + m->off_head_b, N, m->c.hidden,
                        m->c.tgt_vocab);
    return RNNC_OK;
}

static int argmax_output(const float *row, int V) {
    /* <pad> and <bos> are never outputs. */
    int best = RNNC_S2S_EOS;
    for (int v = RNNC_S2S_EOS + 1; v < V; v++)
        if (row[v] > row[best]) best = v;
    return best;
}

rnnc_status rnnc_s2s_forward_backward(rnnc_s2s_ws *w, const rnnc_s2s_model *m, const rnnc_s2s_batch *b,
                                      const rnnc_s2s_train_opts *o, float *grads, float grad_scale,
                                      rnnc_rng *rng, double *loss, long *count) {
    if (b->B > w->B || b->Ts > w->Ts || b->Tt > w->Tt)
        return rnnc_error(RNNC_ERR_ARG, "seq2seq: batch (B=%d, Ts=%d, Tt=%d) exceeds the workspace (%d, %d, %d)",
                          b->B, b->Ts, b->Tt, w->B, w->Ts, w->Tt);
    int B = b->B, Ts = b->Ts, Tt = b->Tt, V = m->c.tgt_vocab, H = m->c.hidden, L = m->c.layers;
    int N = B * Tt;
    source_ids(m, b->src, b->src_len, B, Ts, w->src);
    for (int i = 0; i < N; i++) {
        w->tin[i] = (int)b->tgt_in[i];
        w->tout[i] = b->tgt_out[i] == RNNC_S2S_PAD ? RNNC_IGNORE_INDEX : (int)b->tgt_out[i];
    }
    bool training = o && o->training;
    rnnc_status s = encode(m, &w->enc, w->src, b->src_len, B, Ts, training, rng);
    if (s) return s;
    if (o && o->teacher_forcing < 1.0f && rng) {
        /* Parallel scheduled sampling: predictions from a gold-prefix pass (no dropout) replace
         * some inputs. Drawing is per step, after <bos>, inside each target. */
        if ((s = decode_train(w, m, b, false, NULL))) return s;
        uint64_t key = rnnc_rng_u64(rng);
        for (int r = 0; r < B; r++) {
            rnnc_rng rr; /* the row's own stream */
            rnnc_rng_substream(&rr, key, (uint64_t)(w->row0 + r));
            for (int t = 1; t < b->tgt_len[r]; t++)
                if (rnnc_rng_uniform(&rr) >= o->teacher_forcing)
                    w->tin[r * Tt + t] = argmax_output(w->logits + ((size_t)r * Tt + t - 1) * V, V);
        }
    }
    if ((s = decode_train(w, m, b, training, rng))) return s;
    double mean = 0;
    long cnt = 0;
    s = rnnc_xent_forward_backward(w->logits, w->tout, N, V, RNNC_IGNORE_INDEX, grad_scale, grads ? w->logits : NULL,
                                   &mean, &cnt);
    if (s) return s;
    *loss = mean;
    *count = cnt;
    if (!grads || cnt == 0) return RNNC_OK;
    float eps = o ? o->label_smoothing : 0.0f;
    if (eps > 0) {
        /* dlogits holds (p - onehot) * scale / count; smoothing moves eps of the target mass to the
         * uniform distribution: add eps * (onehot - 1/V) * scale / count on counted rows. */
        float k = eps * grad_scale / (float)cnt, u = k / (float)V;
        for (int i = 0; i < N; i++) {
            if (w->tout[i] == RNNC_IGNORE_INDEX) continue;
            float *row = w->logits + (size_t)i * V;
            for (int v = 0; v < V; v++) row[v] -= u;
            row[w->tout[i]] += k;
        }
    }
    float *P = m->params, *G = grads;
    rnnc_linear_backward(w->ddec_y, G + m->off_head_w, G + m->off_head_b, w->logits, w->dropped ? w->dec_yd : w->dec_y,
                         P + m->off_head_w, N, H, V);
    if (w->dropped)
        for (size_t i = 0; i < (size_t)N * H; i++) w->ddec_y[i] *= w->dec_mask[i];
    s = rnnc_rnn_backward_ids(w->dec, P + m->off_dec, G + m->off_dec, w->ddec_y, NULL, NULL, P + m->off_tgt_emb,
                              G + m->off_tgt_emb, w->dh0, has_c(m) ? w->dc0 : NULL);
    if (s) return s;
    size_t n = (size_t)L * B * H;
    if (m->c.bidirectional) {
        bridge_backward(P + m->off_bridge_h, G + m->off_bridge_h, w->enc.cat, w->enc.h0, w->dh0, w->denc_hn, w->dpre,
                        w->dcat, L, B, H);
        if (has_c(m))
            bridge_backward(P + m->off_bridge_c, G + m->off_bridge_c, w->enc.cat_c, w->enc.c0, w->dc0, w->denc_cn,
                            w->dpre, w->dcat, L, B, H);
    } else {
        memcpy(w->denc_hn, w->dh0, n * sizeof(float));
        if (has_c(m)) memcpy(w->denc_cn, w->dc0, n * sizeof(float));
    }
    s = rnnc_rnn_backward_ids(w->enc.rnn, P + m->off_enc, G + m->off_enc, w->enc_dy, w->denc_hn,
                              has_c(m) ? w->denc_cn : NULL, P + m->off_src_emb, G + m->off_src_emb, NULL, NULL);
    if (s) return s;
    return RNNC_OK;
}

/* ---- decoding ---- */

/* One decoder step for B rows: ids (B) from states h, c (L,B,H) -> logits (B,V); the new states
 * go to h2, c2. */
typedef struct {
    rnnc_rnn_ws *rnn;
    int *ids;
    float *x, *y, *h, *c, *h2, *c2, *logits;
} step_bufs;

static void step_bufs_free(step_bufs *s) {
    rnnc_rnn_ws_free(s->rnn);
    free(s->ids); free(s->x); free(s->y); free(s->h); free(s->c); free(s->h2); free(s->c2); free(s->logits);
    memset(s, 0, sizeof *s);
}

/* with_rnn: the recurrent layer's workspace too (step() needs it; the packed decoder does not) */
static rnnc_status step_bufs_new_ex(step_bufs *s, const rnnc_s2s_model *m, int B, bool with_rnn) {
    memset(s, 0, sizeof *s);
    rnnc_status st = with_rnn ? rnnc_rnn_ws_new(&s->rnn, &m->dec, B, 1) : RNNC_OK;
    if (st) return st;
    size_t Bz = (size_t)B, H = (size_t)m->c.hidden, n = (size_t)m->c.layers * Bz * H;
    s->ids = malloc(Bz * sizeof(int));
    s->x = malloc(Bz * (size_t)m->c.embed * sizeof(float));
    s->y = malloc(Bz * H * sizeof(float));
    s->h = malloc(n * sizeof(float)); s->c = malloc(n * sizeof(float));
    s->h2 = malloc(n * sizeof(float)); s->c2 = malloc(n * sizeof(float));
    s->logits = malloc(Bz * (size_t)m->c.tgt_vocab * sizeof(float));
    if (!s->ids || !s->x || !s->y || !s->h || !s->c || !s->h2 || !s->c2 || !s->logits) {
        step_bufs_free(s);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for decoding %d rows", B);
    }
    return RNNC_OK;
}

static rnnc_status step_bufs_new(step_bufs *s, const rnnc_s2s_model *m, int B) { return step_bufs_new_ex(s, m, B, true); }

static rnnc_status step(const rnnc_s2s_model *m, step_bufs *s, int B) {
    rnnc_status st = rnnc_embedding_forward(s->x, s->ids, m->params + m->off_tgt_emb, B, m->c.tgt_vocab, m->c.embed);
    if (st) return st;
    bool with_c = has_c(m);
    st = rnnc_rnn_forward(s->rnn, m->params + m->off_dec, B, 1, s->x, NULL, s->h, with_c ? s->c : NULL, s->y, s->h2,
                          with_c ? s->c2 : NULL, false, NULL);
    if (st) return st;
    rnnc_linear_forward(s->logits, s->y, m->params + m->off_head_w, m->params + m->off_head_b, B, m->c.hidden,
                        m->c.tgt_vocab);
    return RNNC_OK;
}

typedef struct dec_packed dec_packed; /* the decoder with packed weights (below) */
static rnnc_status greedy_impl(const rnnc_s2s_model *m, dec_packed *dp, const uint32_t *src, const int *src_len,
                               int B, int Ts, int max_len, const int *row_max, uint32_t *out, int *out_len);
static rnnc_status greedy_packed(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts,
                                 int max_len, uint32_t *out, int *out_len);
static rnnc_status beam_packed(const rnnc_s2s_model *m, const uint32_t *src, int src_len, int K, int max_len,
                               double alpha, int nbest, rnnc_s2s_hyp *out, int *n_out);

rnnc_status rnnc_s2s_greedy(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts,
                            int max_len, uint32_t *out, int *out_len) {
    if (B < 1 || Ts < 1 || max_len < 1) return rnnc_error(RNNC_ERR_ARG, "greedy decoding: B=%d Ts=%d max_len=%d must be positive", B, Ts, max_len);
    return greedy_packed(m, src, src_len, B, Ts, max_len, out, out_len);
}


rnnc_status rnnc_s2s_encoder_forward(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts,
                                     float *h0, float *c0, float *y) {
    if (B < 1 || Ts < 1) return rnnc_error(RNNC_ERR_ARG, "seq2seq encode: B=%d Ts=%d must be positive", B, Ts);
    if (has_c(m) && !c0) return rnnc_error(RNNC_ERR_ARG, "seq2seq encode: an LSTM encoder needs c0");
    int *sids = malloc((size_t)B * (size_t)Ts * sizeof(int));
    if (!sids) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for encoding %d sources", B);
    encoder_bufs e;
    rnnc_status s = encoder_bufs_new(&e, m, B, Ts);
    if (s) { free(sids); return s; }
    source_ids(m, src, src_len, B, Ts, sids);
    if (!(s = encode(m, &e, sids, src_len, B, Ts, false, NULL))) {
        size_t n = (size_t)m->c.layers * (size_t)B * (size_t)m->c.hidden;
        memcpy(h0, e.h0, n * sizeof(float));
        if (has_c(m)) memcpy(c0, e.c0, n * sizeof(float));
        if (y) memcpy(y, e.y, (size_t)B * (size_t)Ts * (m->c.bidirectional ? 2 : 1) * (size_t)m->c.hidden * sizeof(float));
    }
    encoder_bufs_free(&e);
    free(sids);
    return s;
}

rnnc_status rnnc_s2s_decode_step(const rnnc_s2s_model *m, const uint32_t *ids, int B, const float *h, const float *c,
                                 float *logits, float *h_out, float *c_out) {
    if (B < 1) return rnnc_error(RNNC_ERR_ARG, "seq2seq decode step: B=%d must be positive", B);
    if (has_c(m) && (!c || !c_out)) return rnnc_error(RNNC_ERR_ARG, "seq2seq decode step: an LSTM decoder needs c and c_out");
    for (int b = 0; b < B; b++)
        if (ids[b] >= (uint32_t)m->c.tgt_vocab)
            return rnnc_error(RNNC_ERR_RANGE, "seq2seq decode step: id %u at row %d is outside the target vocabulary (%d)",
                              ids[b], b, m->c.tgt_vocab);
    step_bufs sb;
    rnnc_status s = step_bufs_new(&sb, m, B);
    if (s) return s;
    size_t n = (size_t)m->c.layers * (size_t)B * (size_t)m->c.hidden;
    for (int b = 0; b < B; b++) sb.ids[b] = (int)ids[b];
    memcpy(sb.h, h, n * sizeof(float));
    if (has_c(m)) memcpy(sb.c, c, n * sizeof(float));
    if (!(s = step(m, &sb, B))) {
        memcpy(logits, sb.logits, (size_t)B * (size_t)m->c.tgt_vocab * sizeof(float));
        memcpy(h_out, sb.h2, n * sizeof(float));
        if (has_c(m)) memcpy(c_out, sb.c2, n * sizeof(float));
    }
    step_bufs_free(&sb);
    return s;
}

/* ---- the decoder for inference, its weights packed once ----
 *
 * Greedy and beam decoding take one decoder step at a time for many rows. Through the recurrent
 * layer's general forward (step() above) each step packs W_ih and W_hh again and runs its phases
 * one after the other with the threads meeting between them; here the weights are packed once
 * per decoding call (the pgemm panels of rnn.c), layer 0's input projection is made once for the
 * whole target table (V rows: its embedding times W_ih0^T), and a step of R rows runs as equal
 * blocks of at most DEC_BLOCK rows on the threads, each block through every layer and the head
 * with no meeting (rows are independent). The cells' own pointwise code does the gates, as in training.
 * The encoder's weights are packed once with them (rnnc_rnn_packed), for the recurrent layer's own
 * forward to read. A dec_packed made by dec_packed_new holds the weights alone; the decoders that
 * step borrow them (dec_packed_borrow), each with its own buffers, so a translator's weights serve
 * any number of calls and threads. */
#define DEC_BLOCK 32

struct dec_packed {
    int L, H, GH, V;
    const rnnc_cell_info *cell;
    float *tab;            /* (V, G*H): tgt_embedding x W_ih0^T */
    float *p_ih, *p_hh;    /* packed W_ih_l^T (l >= 1) and W_hh_l^T, (H x G*H) each, layer after layer */
    float *p_head;         /* packed head^T (H x V) */
    const float **b_ih, **b_hh;
    const float *head_b;
    rnnc_rnn_packed *enc;  /* the encoder's weights packed (its workspaces read them: rnnc_rnn_ws_set_packed) */
    bool borrowed;         /* the weights above are another dec_packed's (dec_packed_borrow) */
    /* Below: what stepping needs, in a borrowing dec_packed only (dec_packed_new packs weights alone) */
    int threads;
    float *scratch;        /* per thread: gates (DEC_BLOCK x G*H); aux, y (DEC_BLOCK x H) */
    float *hgp;            /* (L, rows, G*H): the parents' hidden projections of a step */
    size_t scratch_per;
    int ones[DEC_BLOCK];   /* every row valid: the cells' lengths */
    /* the encoder's and the steps' buffers, kept from call to call (reallocated when too small) */
    encoder_bufs e;
    int e_B, e_Ts;
    step_bufs sb;
    int sb_rows;
    float *hgp_own; /* hgp's block (aligned), for sb_rows rows */
};

/* Packed panels are read with aligned vector loads. */
static float *alloc_panels(size_t floats) { return aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64); }

/* dp's encoder buffers for B sources of Ts steps and step buffers for `rows` rows. */
static rnnc_status dec_packed_bufs(dec_packed *dp, const rnnc_s2s_model *m, int B, int Ts, int rows) {
    rnnc_status s;
    if (dp->e_B < B || dp->e_Ts < Ts) {
        encoder_bufs_free(&dp->e);
        dp->e_B = dp->e_Ts = 0;
        if ((s = encoder_bufs_new(&dp->e, m, B, Ts))) return s;
        if ((s = rnnc_rnn_ws_set_packed(dp->e.rnn, dp->enc))) { encoder_bufs_free(&dp->e); return s; }
        dp->e_B = B;
        dp->e_Ts = Ts;
    }
    if (dp->sb_rows < rows) {
        step_bufs_free(&dp->sb);
        free(dp->hgp_own);
        dp->hgp = dp->hgp_own = NULL;
        dp->sb_rows = 0;
        if ((s = step_bufs_new_ex(&dp->sb, m, rows, false))) return s;
        dp->hgp = dp->hgp_own = alloc_panels((size_t)dp->L * rows * dp->GH);
        if (!dp->hgp) { step_bufs_free(&dp->sb); return rnnc_error(RNNC_ERR_NOMEM, "out of memory for decoding %d rows", rows); }
        dp->sb_rows = rows;
    }
    return RNNC_OK;
}

static void dec_packed_free(dec_packed *d) {
    if (d->e_B) encoder_bufs_free(&d->e);
    if (d->sb_rows) step_bufs_free(&d->sb);
    free(d->hgp_own);
    free(d->scratch);
    if (!d->borrowed) {
        free(d->tab); free(d->p_ih); free(d->p_hh); free(d->p_head);
        free((void *)d->b_ih); free((void *)d->b_hh);
        rnnc_rnn_packed_free(d->enc);
    }
    memset(d, 0, sizeof *d);
}

/* d: w's packed weights (read only, w outlives d) with buffers of its own, for the threads
 * (omp_get_max_threads() where it is called) that will step it. */
static rnnc_status dec_packed_borrow(dec_packed *d, const dec_packed *w) {
    memset(d, 0, sizeof *d);
    d->L = w->L; d->H = w->H; d->GH = w->GH; d->V = w->V;
    d->cell = w->cell;
    d->tab = w->tab; d->p_ih = w->p_ih; d->p_hh = w->p_hh; d->p_head = w->p_head;
    d->b_ih = w->b_ih; d->b_hh = w->b_hh; d->head_b = w->head_b;
    d->enc = w->enc;
    d->borrowed = true;
    d->threads = omp_get_max_threads();
    d->scratch_per = w->scratch_per;
    d->scratch = malloc((size_t)d->threads * d->scratch_per * sizeof(float));
    if (!d->scratch) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a decoder's buffers");
    for (int r = 0; r < DEC_BLOCK; r++) d->ones[r] = 1;
    return RNNC_OK;
}

/* m's decoder weights packed, read only from here on: the decoders that step borrow them
 * (dec_packed_borrow), any number at once. */
static rnnc_status dec_packed_new(dec_packed *d, const rnnc_s2s_model *m) {
    memset(d, 0, sizeof *d);
    int L = m->c.layers, H = m->c.hidden, E = m->c.embed, V = m->c.tgt_vocab;
    d->cell = rnnc_cell_info_of(m->c.cell);
    int G = d->cell->gates, GH = G * H;
    d->L = L; d->H = H; d->GH = GH; d->V = V;
    size_t ph = rnnc_pgemm_size(H, GH);
    d->scratch_per = (size_t)DEC_BLOCK * ((size_t)GH + 2 * (size_t)H);
    d->tab = malloc((size_t)V * GH * sizeof(float));
    d->p_ih = alloc_panels((L > 1 ? (size_t)(L - 1) : 1) * ph);
    d->p_hh = alloc_panels((size_t)L * ph);
    d->p_head = alloc_panels(rnnc_pgemm_size(H, V));
    d->b_ih = malloc((size_t)L * sizeof *d->b_ih);
    d->b_hh = malloc((size_t)L * sizeof *d->b_hh);
    if (!d->tab || !d->p_ih || !d->p_hh || !d->p_head || !d->b_ih || !d->b_hh) {
        dec_packed_free(d);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the decoder's packed weights");
    }
    rnnc_status s = rnnc_rnn_packed_new(&d->enc, &m->enc, m->params + m->off_enc);
    if (s) { dec_packed_free(d); return s; }
    const float *P = m->params + m->off_dec;
    for (int l = 0; l < L; l++) {
        rnnc_rnn_layer_layout ll = rnnc_rnn_layer(&m->dec, l, 0);
        if (l == 0) {
            /* every target token's layer-0 input projection, without bias (the cell adds it) */
            float *pk = alloc_panels(rnnc_pgemm_size(E, GH));
            if (!pk) { dec_packed_free(d); return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the decoder's packed weights"); }
            rnnc_pgemm_pack(pk, P + ll.w_ih, E, 1, E, GH, 0, GH);
            rnnc_pgemm(V, E, 0, GH, m->params + m->off_tgt_emb, E, pk, d->tab, GH, 0);
            free(pk);
        } else {
            rnnc_pgemm_pack(d->p_ih + (size_t)(l - 1) * ph, P + ll.w_ih, H, 1, H, GH, 0, GH);
        }
        rnnc_pgemm_pack(d->p_hh + (size_t)l * ph, P + ll.w_hh, H, 1, H, GH, 0, GH);
        d->b_ih[l] = P + ll.b_ih;
        d->b_hh[l] = P + ll.b_hh;
    }
    rnnc_pgemm_pack(d->p_head, m->params + m->off_head_w, H, 1, H, V, 0, V);
    d->head_b = m->params + m->off_head_b;
    return RNNC_OK;
}

/* Row r's K best output tokens (<pad> and <bos> never) in top[0..K-1], best first, ties to the
 * lower id, and the log of its softmax's denominator in *lse (so token v's log-probability is
 * row[v] - *lse). Returns how many there are: K, or fewer when V - 2 < K. */
static int row_topk(const float *row, int V, int K, int *top, double *lse) {
    double mx = row[0];
    for (int v = 1; v < V; v++) if (row[v] > mx) mx = row[v];
    double z = 0;
    for (int v = 0; v < V; v++) z += exp(row[v] - mx);
    *lse = mx + log(z);
    int n = 0;
    for (int v = RNNC_S2S_EOS; v < V; v++) {
        /* insert v after every kept token at least as large (the earlier id wins a tie) */
        int i = n < K ? n : K;
        while (i > 0 && row[v] > row[top[i - 1]]) i--;
        if (i >= K) continue;
        for (int j = (n < K ? n : K - 1); j > i; j--) top[j] = top[j - 1];
        top[i] = v;
        if (n < K) n++;
    }
    return n;
}

/* One decoder step of R rows from P states: row r reads token ids[r] and the states of row par[r]
 * of h, c (L,P,H) (par NULL: its own, P = R) -> logits (R,V) and its next states h2, c2 (L,R,H);
 * c, c2 NULL for cells with one state. The hidden projections h W_hh^T depend on the state alone,
 * so they are made once per state: the rows of a beam continuing one hypothesis share them, and
 * the cell reads each row's parent state and projection where they are (one row at a time), not
 * from gathered copies. With K > 0 each row's K best tokens and log-softmax denominator are made
 * here too, on the threads, while its logits are in cache: topk (R,K), n_top (R), lse (R). */
static void dec_packed_step(dec_packed *d, int P, const float *h, const float *c, int R, const int *par,
                            const int *ids, float *h2, float *c2, float *logits, int K, int *topk, int *n_top,
                            double *lse) {
    int L = d->L, H = d->H, GH = d->GH, V = d->V, T = d->threads;
    if (R < 1 || P < 1) return;
    /* blocks of at most DEC_BLOCK rows, as many of each phase as a multiple of the threads, of
     * equal sizes (a multiple of the kernel's four rows): no thread waits out a lone short block */
    int nb = (R + DEC_BLOCK - 1) / DEC_BLOCK, nbp = (P + DEC_BLOCK - 1) / DEC_BLOCK;
    if (T > 1) {
        nb = (nb + T - 1) / T * T;
        while ((nbp * L) % T) nbp++;
    }
    int bs = ((R + nb - 1) / nb + 3) / 4 * 4, bsp = ((P + nbp - 1) / nbp + 3) / 4 * 4;
    nb = (R + bs - 1) / bs;
    size_t ph = rnnc_pgemm_size(H, GH);
    #pragma omp parallel if (nb + nbp > 2)
    {
        #pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < nbp * L; k++) {
            int l = k / nbp, p0 = k % nbp * bsp, M = P - p0 < bsp ? P - p0 : bsp;
            if (M <= 0) continue;
            rnnc_pgemm(M, H, 0, GH, h + ((size_t)l * P + p0) * H, H, d->p_hh + (size_t)l * ph, d->hgp + ((size_t)l * P + p0) * GH,
                       GH, 0);
        }
        #pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < nb; k++) {
            int r0 = k * bs, M = R - r0 < bs ? R - r0 : bs, th = omp_get_thread_num();
            float *gates = d->scratch + (size_t)(th < d->threads ? th : 0) * d->scratch_per;
            float *aux = gates + (size_t)DEC_BLOCK * GH, *y = aux + (size_t)DEC_BLOCK * H;
            for (int l = 0; l < L; l++) {
                if (l == 0)
                    for (int r = 0; r < M; r++) memcpy(gates + (size_t)r * GH, d->tab + (size_t)ids[r0 + r] * GH, (size_t)GH * sizeof(float));
                else
                    rnnc_pgemm(M, H, 0, GH, y, H, d->p_ih + (size_t)(l - 1) * ph, gates, GH, 0);
                for (int r = 0; r < M; r++) {
                    size_t q = (size_t)l * P + (size_t)(par ? par[r0 + r] : r0 + r), so = ((size_t)l * R + r0 + r) * H;
                    rnnc_cell_fwd a = {.B = 1, .H = H, .j0 = 0, .j1 = H, .t = 0, .len = d->ones, .gates = gates + (size_t)r * GH,
                                       .hg = d->hgp + q * GH, .b_ih = d->b_ih[l], .b_hh = d->b_hh[l],
                                       .aux = d->cell->aux ? aux + (size_t)r * H : NULL, .h_prev = h + q * H, .h_new = h2 + so,
                                       .c_prev = c ? c + q * H : NULL, .c_new = c2 ? c2 + so : NULL, .y = y + (size_t)r * H,
                                       .ldy = H};
                    d->cell->forward(&a);
                }
            }
            float *lg = logits + (size_t)r0 * V;
            for (int r = 0; r < M; r++) memcpy(lg + (size_t)r * V, d->head_b, (size_t)V * sizeof(float));
            rnnc_pgemm(M, H, 0, V, y, H, d->p_head, lg, V, 1);
            if (K > 0)
                for (int r = 0; r < M; r++)
                    n_top[r0 + r] = row_topk(lg + (size_t)r * V, V, K, topk + (size_t)(r0 + r) * K, &lse[r0 + r]);
        }
    }
}

/* Greedy decoding of B sources; row b's output at out[b * max_len], out_len[b] tokens, at most
 * row_max[b] of them (row_max NULL: max_len each; row_max[b] <= max_len). */
static rnnc_status greedy_impl(const rnnc_s2s_model *m, dec_packed *dp, const uint32_t *src, const int *src_len,
                               int B, int Ts, int max_len, const int *row_max, uint32_t *out, int *out_len) {
    int *sids = malloc((size_t)B * (size_t)Ts * sizeof(int)), *row = malloc((size_t)B * sizeof(int));
    rnnc_status s = !sids || !row ? rnnc_error(RNNC_ERR_NOMEM, "out of memory for greedy decoding") : RNNC_OK;
    if (!s) s = dec_packed_bufs(dp, m, B, Ts, B);
    if (s) { free(sids); free(row); return s; }
    encoder_bufs e = dp->e;
    step_bufs sb = dp->sb; /* the swaps below change only this copy's pointers: put back at the end */
    source_ids(m, src, src_len, B, Ts, sids);
    if ((s = encode(m, &e, sids, src_len, B, Ts, false, NULL))) goto out;
    const int L = m->c.layers, H = m->c.hidden, V = m->c.tgt_vocab;
    size_t n = (size_t)L * B * H;
    memcpy(sb.h, e.h0, n * sizeof(float));
    if (has_c(m)) memcpy(sb.c, e.c0, n * sizeof(float));
    for (int b = 0; b < B; b++) { out_len[b] = 0; sb.ids[b] = RNNC_S2S_BOS; row[b] = b; }
    /* Only the rows still decoding are stepped: row r of the step is source row[r], and the states
     * (L, R, H) are those rows' alone, packed again when some finish. A row's numbers do not
     * depend on the rows stepped with it, so the outputs are those of stepping every row. */
    int R = B;
    bool with_c = has_c(m);
    for (int t = 0; t < max_len && R > 0; t++) {
        dec_packed_step(dp, R, sb.h, with_c ? sb.c : NULL, R, NULL, sb.ids, sb.h2, with_c ? sb.c2 : NULL, sb.logits, 0, NULL,
                        NULL, NULL);
        int R2 = 0;
        for (int r = 0; r < R; r++) {
            int b = row[r], v = argmax_output(sb.logits + (size_t)r * V, V);
            if (v == RNNC_S2S_EOS) continue;
            out[(size_t)b * max_len + out_len[b]++] = (uint32_t)v;
            if (out_len[b] == (row_max ? row_max[b] : max_len)) continue;
            if (R2 < r) /* row r moves up to R2: its states and its next input */
                for (int l = 0; l < L; l++) {
                    memcpy(sb.h2 + ((size_t)l * R + R2) * H, sb.h2 + ((size_t)l * R + r) * H, (size_t)H * sizeof(float));
                    if (with_c) memcpy(sb.c2 + ((size_t)l * R + R2) * H, sb.c2 + ((size_t)l * R + r) * H, (size_t)H * sizeof(float));
                }
            row[R2] = b;
            sb.ids[R2++] = v;
        }
        if (R2 < R) /* the layers' blocks, R rows apart, closed up to R2 rows apart */
            for (int l = 1; l < L; l++) {
                memmove(sb.h2 + (size_t)l * R2 * H, sb.h2 + (size_t)l * R * H, (size_t)R2 * H * sizeof(float));
                if (with_c) memmove(sb.c2 + (size_t)l * R2 * H, sb.c2 + (size_t)l * R * H, (size_t)R2 * H * sizeof(float));
            }
        R = R2;
        float *t1 = sb.h; sb.h = sb.h2; sb.h2 = t1;
        t1 = sb.c; sb.c = sb.c2; sb.c2 = t1;
    }
out:
    dp->sb = sb;
    free(sids);
    free(row);
    return s;
}

static rnnc_status greedy_packed(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts,
                                 int max_len, uint32_t *out, int *out_len) {
    dec_packed w, dp;
    rnnc_status s = dec_packed_new(&w, m);
    if (s) return s;
    if (!(s = dec_packed_borrow(&dp, &w))) s = greedy_impl(m, &dp, src, src_len, B, Ts, max_len, NULL, out, out_len);
    dec_packed_free(&dp);
    dec_packed_free(&w);
    return s;
}

void rnnc_s2s_hyp_free(rnnc_s2s_hyp *h) { if (!h) return; free(h->ids); memset(h, 0, sizeof *h); }

typedef struct { double lp; int row, tok; } cand;

static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->lp != y->lp) return x->lp > y->lp ? -1 : 1;
    if (x->row != y->row) return x->row < y->row ? -1 : 1;
    return x->tok < y->tok ? -1 : x->tok > y->tok;
}

static int cmp_hyp(const void *a, const void *b) {
    const rnnc_s2s_hyp *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return 0;
}

static double norm_score(double lp, int len, double alpha) { return lp / pow((double)len + 1.0, alpha); }

/* The search's per-source state, shared by the sources' steps (each writes only its own slices). */
typedef struct {
    int K, V, ML;
    size_t cap_fin, per_fin;
    double alpha;
    const float *logits;
    const int *topk, *n_top, *rb, *max_len;
    const double *lse;
    cand *cands;
    uint32_t *toks, *toks2;
    double *lp, *lp2;
    int *alive, *n_fin, *parent, *next_tok;
    rnnc_s2s_hyp *fin;
} beam_state;

/* Active source a (source b) after step t: its candidates (each alive row's K best tokens), the K
 * best kept as its next hypotheses, those ending in <eos> finished; at its length limit the alive
 * ones finished too. Returns whether it searches on (-1: out of memory). */
static int beam_advance(beam_state *st, int a, int b, int t) {
    const int K = st->K, V = st->V, ML = st->ML;
    int na = 0, nc = 0;
    cand *cs = st->cands + (size_t)b * K * K;
    size_t tb = (size_t)b * K * ML; /* source b's token rows in toks / toks2 */
    /* Per alive row: its K best tokens (<pad> and <bos> are never chosen), from the step. */
    for (int r = 0; r < st->alive[b]; r++) {
        size_t q = (size_t)st->rb[a] + r;
        const float *row = st->logits + q * V;
        for (int k = 0; k < st->n_top[q]; k++) {
            int v = st->topk[q * K + k];
            cs[nc++] = (cand){st->lp[(size_t)b * K + r] + row[v] - st->lse[q], r, v};
        }
    }
    qsort(cs, (size_t)nc, sizeof *cs, cmp_cand);
    for (int i = 0; i < nc && na < K; i++) {
        const cand *c = &cs[i];
        if (c->tok == RNNC_S2S_EOS) {
            if ((size_t)st->n_fin[b] >= st->cap_fin) continue;
            rnnc_s2s_hyp *h = &st->fin[(size_t)b * st->per_fin + st->n_fin[b]];
            h->ids = malloc((size_t)(t > 0 ? t : 1) * sizeof(uint32_t));
            if (!h->ids) return -1;
            memcpy(h->ids, st->toks + tb + (size_t)c->row * ML, (size_t)t * sizeof(uint32_t));
            h->len = t;
            h->logprob = c->lp;
            h->score = norm_score(c->lp, t, st->alpha);
            h->finished = true;
            st->n_fin[b]++;
            continue;
        }
        memcpy(st->toks2 + tb + (size_t)na * ML, st->toks + tb + (size_t)c->row * ML, (size_t)t * sizeof(uint32_t));
        st->toks2[tb + (size_t)na * ML + t] = (uint32_t)c->tok;
        st->lp2[(size_t)b * K + na] = c->lp;
        st->parent[(size_t)b * K + na] = st->rb[a] + c->row; /* the row of this step it continues */
        st->next_tok[(size_t)b * K + na] = c->tok;
        na++;
    }
    st->alive[b] = na;
    for (int r = 0; r < na; r++) {
        memcpy(st->toks + tb + (size_t)r * ML, st->toks2 + tb + (size_t)r * ML, (size_t)(t + 1) * sizeof(uint32_t));
        st->lp[(size_t)b * K + r] = st->lp2[(size_t)b * K + r];
    }
    if (t + 1 == st->max_len[b])
        for (int r = 0; r < na && (size_t)st->n_fin[b] < st->per_fin; r++) {
            rnnc_s2s_hyp *h = &st->fin[(size_t)b * st->per_fin + st->n_fin[b]];
            h->ids = malloc((size_t)(t + 1) * sizeof(uint32_t));
            if (!h->ids) return -1;
            memcpy(h->ids, st->toks + tb + (size_t)r * ML, (size_t)(t + 1) * sizeof(uint32_t));
            h->len = t + 1;
            h->logprob = st->lp[(size_t)b * K + r];
            h->score = norm_score(h->logprob, t + 1, st->alpha);
            h->finished = false;
            st->n_fin[b]++;
        }
    return na > 0 && st->n_fin[b] < K && t + 1 < st->max_len[b];
}

/* Beam search of width K for B sources at once (src (B,Ts), lengths src_len, max_len[b] steps at
 * most): each source's search follows exactly the rules of rnnc_s2s_beam (below), and their
 * decoder steps are taken together, K rows per source still searching, so a step is one product of
 * up to B*K rows instead of B products of K. out gets nbest hypotheses per source (source b's at
 * out[b * nbest]), n_out[b] their count. */
static rnnc_status beam_batch(const rnnc_s2s_model *m, dec_packed *dp, const uint32_t *src, const int *src_len,
                              int B, int Ts, int K, const int *max_len, double alpha, int nbest, rnnc_s2s_hyp *out,
                              int *n_out) {
    int V = m->c.tgt_vocab, H = m->c.hidden, L = m->c.layers, ML = 1;
    bool with_c = has_c(m);
    for (int b = 0; b < B; b++) {
        n_out[b] = 0;
        if (max_len[b] > ML) ML = max_len[b];
    }
    size_t BK = (size_t)B * K, cap_fin = 2 * (size_t)K + (size_t)nbest, per_fin = cap_fin + (size_t)K;
    rnnc_status s = dec_packed_bufs(dp, m, B, Ts, (int)BK);
    if (s) return s;
    encoder_bufs e = dp->e;
    step_bufs sb = dp->sb; /* put back at the end (the swaps change this copy's pointers) */
    int *sids = malloc((size_t)B * Ts * sizeof(int));
    uint32_t *toks = malloc(BK * ML * sizeof(uint32_t)), *toks2 = malloc(BK * ML * sizeof(uint32_t));
    double *lp = malloc(BK * sizeof(double)), *lp2 = malloc(BK * sizeof(double));
    cand *cands = malloc(BK * K * sizeof(cand));
    int *alive = malloc((size_t)B * sizeof(int)), *n_fin = calloc((size_t)B, sizeof(int));
    int *act = malloc((size_t)B * sizeof(int)), *act2 = malloc((size_t)B * sizeof(int));
    int *parent = malloc(BK * sizeof(int)), *next_tok = malloc(BK * sizeof(int));
    int *rb = malloc(((size_t)B + 1) * sizeof(int)); /* first row of each active source; rb[n_act] = rows */
    int *par = malloc(BK * sizeof(int)), *pmap = malloc(BK * sizeof(int)); /* each row's state; a row's new state index */
    int *topk = malloc(BK * K * sizeof(int)), *n_top = malloc(BK * sizeof(int)); /* each row's best tokens */
    double *lse = malloc(BK * sizeof(double));
    char *more = malloc((size_t)B);
    rnnc_s2s_hyp *fin = calloc((size_t)B * per_fin, sizeof *fin);
    int n_act = B;
    if (!sids || !toks || !toks2 || !lp || !lp2 || !cands || !alive || !n_fin || !act || !act2 || !parent || !next_tok ||
        !fin || !rb || !par || !pmap || !topk || !n_top || !lse || !more) {
        s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for beam search");
        goto out;
    }
    source_ids(m, src, src_len, B, Ts, sids);
    if ((s = encode(m, &e, sids, src_len, B, Ts, false, NULL))) goto out;
    /* Rows of the step: one per alive hypothesis, source by source (active source a, act[a], has
     * rows rb[a] .. rb[a+1]-1), each reading the state of the hypothesis it continues (par: one
     * state for all the rows that continue one hypothesis); at the first step one row per source,
     * from its context. States are (L, P, H) with P the states in use. */
    for (int a = 0; a < B; a++) {
        act[a] = a;
        alive[a] = 1;
        lp[(size_t)a * K] = 0;
        rb[a] = a;
        sb.ids[a] = RNNC_S2S_BOS;
    }
    rb[B] = B;
    memcpy(sb.h, e.h0, (size_t)L * B * H * sizeof(float));
    if (with_c) memcpy(sb.c, e.c0, (size_t)L * B * H * sizeof(float));
    int P = B;
    beam_state st = {.K = K, .V = V, .ML = ML, .cap_fin = cap_fin, .per_fin = per_fin, .alpha = alpha, .logits = sb.logits,
                     .topk = topk, .n_top = n_top, .rb = rb, .max_len = max_len, .lse = lse, .cands = cands, .toks = toks,
                     .toks2 = toks2, .lp = lp, .lp2 = lp2, .alive = alive, .n_fin = n_fin, .parent = parent,
                     .next_tok = next_tok, .fin = fin};
    for (int t = 0; t < ML && n_act > 0; t++) {
        size_t R = (size_t)rb[n_act];
        dec_packed_step(dp, P, sb.h, with_c ? sb.c : NULL, (int)R, t ? par : NULL, sb.ids, sb.h2, with_c ? sb.c2 : NULL,
                        sb.logits, K, topk, n_top, lse);
        /* the sources' own work, on the threads where there are enough of them; more[a] says
         * whether active source a searches on */
        int n_act2 = 0, failed = 0;
        #pragma omp parallel for schedule(dynamic, 4) reduction(|| : failed) if (n_act >= 32)
        for (int a = 0; a < n_act; a++) {
            int r = beam_advance(&st, a, act[a], t);
            failed = failed || r < 0;
            more[a] = r > 0;
        }
        if (failed) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for beam search"); goto out; }
        for (int a = 0; a < n_act; a++)
            if (more[a]) act2[n_act2++] = act[a];
        /* The next step's rows: the alive hypotheses of the sources still searching, packed; its
         * states: those of the rows they continue, each once. */
        for (size_t i = 0; i < R; i++) pmap[i] = -1;
        int P2 = 0, to = 0;
        for (int a2 = 0; a2 < n_act2; a2++) {
            int b = act2[a2];
            rb[a2] = to;
            for (int r = 0; r < alive[b]; r++, to++) {
                int from = parent[(size_t)b * K + r];
                if (pmap[from] < 0) pmap[from] = P2++;
                par[to] = pmap[from];
                sb.ids[to] = next_tok[(size_t)b * K + r];
            }
        }
        rb[n_act2] = to;
        #pragma omp parallel for schedule(static) if (R * (size_t)L * H >= ((size_t)1 << 16))
        for (size_t i = 0; i < R; i++)
            if (pmap[i] >= 0)
                for (int l = 0; l < L; l++) {
                    memcpy(sb.h + ((size_t)l * P2 + pmap[i]) * H, sb.h2 + ((size_t)l * R + i) * H, (size_t)H * sizeof(float));
                    if (with_c) memcpy(sb.c + ((size_t)l * P2 + pmap[i]) * H, sb.c2 + ((size_t)l * R + i) * H, (size_t)H * sizeof(float));
                }
        P = P2;
        int *ta = act; act = act2; act2 = ta;
        n_act = n_act2;
    }
    for (int b = 0; b < B; b++) {
        rnnc_s2s_hyp *f = fin + (size_t)b * per_fin;
        qsort(f, (size_t)n_fin[b], sizeof *f, cmp_hyp);
        for (int i = 0; i < n_fin[b]; i++) {
            if (i < nbest) { out[(size_t)b * nbest + i] = f[i]; n_out[b]++; }
            else rnnc_s2s_hyp_free(&f[i]);
        }
        n_fin[b] = 0;
    }
out:
    if (fin && n_fin)
        for (int b = 0; b < B; b++)
            for (int i = 0; i < n_fin[b]; i++) rnnc_s2s_hyp_free(&fin[(size_t)b * per_fin + i]);
    free(fin); free(cands); free(lp); free(lp2); free(toks); free(toks2); free(sids);
    free(alive); free(n_fin); free(act); free(act2); free(parent); free(next_tok); free(rb); free(par); free(pmap);
    free(topk); free(n_top); free(lse); free(more);
    dp->sb = sb;
    return s;
}

rnnc_status rnnc_s2s_beam(const rnnc_s2s_model *m, const uint32_t *src, int src_len, int K, int max_len,
                          double alpha, int nbest, rnnc_s2s_hyp *out, int *n_out) {
    *n_out = 0;
    if (K < 1 || max_len < 1 || nbest < 1 || src_len < 1)
        return rnnc_error(RNNC_ERR_ARG, "beam search: K=%d max_len=%d nbest=%d src_len=%d must be positive", K, max_len, nbest, src_len);
    return beam_packed(m, src, src_len, K, max_len, alpha, nbest, out, n_out);
}

static rnnc_status beam_packed(const rnnc_s2s_model *m, const uint32_t *src, int src_len, int K, int max_len,
                               double alpha, int nbest, rnnc_s2s_hyp *out, int *n_out) {
    dec_packed w, dp;
    rnnc_status s = dec_packed_new(&w, m);
    if (s) return s;
    if (!(s = dec_packed_borrow(&dp, &w))) s = beam_batch(m, &dp, src, &src_len, 1, src_len, K, &max_len, alpha, nbest, out, n_out);
    dec_packed_free(&dp);
    dec_packed_free(&w);
    return s;
}

/* ---- model files ---- */

static char *config_json(const rnnc_s2s_config *c) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "cell", rnnc_cell_name(c->cell));
    cJSON_AddNumberToObject(j, "src_vocab", c->src_vocab);
    cJSON_AddNumberToObject(j, "tgt_vocab", c->tgt_vocab);
    cJSON_AddNumberToObject(j, "embed", c->embed);
    cJSON_AddNumberToObject(j, "hidden", c->hidden);
    cJSON_AddNumberToObject(j, "layers", c->layers);
    cJSON_AddBoolToObject(j, "bidirectional", c->bidirectional);
    cJSON_AddBoolToObject(j, "reverse_source", c->reverse_source);
    cJSON_AddNumberToObject(j, "dropout", c->dropout);
    cJSON_AddNumberToObject(j, "output_dropout", c->output_dropout);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* A JSON number as an int in [lo, hi]. Finite, integral and in range are checked on the double
 * before the conversion: converting an out-of-range double (3e9) to int is undefined behaviour. */
static rnnc_status json_int(const cJSON *j, const char *key, int lo, int hi, int *out, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v)) return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"%s\" missing or not a number", path, key);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"%s\" is %.17g, not an integer in [%d, %d]", path, key, d,
                          lo, hi);
    *out = (int)d;
    return RNNC_OK;
}

/* A dropout rate: a number in [0, 1), checked as a double (a double beyond float's range does not
 * convert to float defined). An absent optional one is 0. */
static rnnc_status json_rate(const cJSON *j, const char *key, bool required, float *out, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *out = 0.0f;
    if (!v && !required) return RNNC_OK;
    if (!cJSON_IsNumber(v)) return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"%s\" missing or not a number", path, key);
    if (!(v->valuedouble >= 0 && v->valuedouble < 1))
        return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"%s\" is %g, not in [0, 1)", path, key, v->valuedouble);
    *out = (float)v->valuedouble;
    return RNNC_OK;
}

static rnnc_status config_parse(rnnc_s2s_config *c, const char *text, const char *path) {
    memset(c, 0, sizeof *c);
    cJSON *j = cJSON_Parse(text);
    if (!j || !cJSON_IsObject(j)) { cJSON_Delete(j); return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq is not a JSON object", path); }
    rnnc_status s = RNNC_OK;
    bool nomem;
    const char *dup = rnnc_json_dup_key(j, &nomem);
    const cJSON *cell = cJSON_GetObjectItemCaseSensitive(j, "cell");
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(j, "bidirectional");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "reverse_source");
    if (nomem) s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory reading rnnc.seq2seq", path);
    else if (dup) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq has the key \"%s\" twice", path, dup);
    else if (!cJSON_IsString(cell)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"cell\" missing", path);
    else if (rnnc_cell_parse(cell->valuestring, &c->cell)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: %s", path, rnnc_last_error());
    else if (!cJSON_IsBool(bi)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"bidirectional\" missing or not true/false", path);
    /* optional: files written before the option encode the source in order */
    else if (rs && !cJSON_IsBool(rs)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.seq2seq: \"reverse_source\" is not true/false", path);
    else if (!(s = json_int(j, "src_vocab", RNNC_S2S_NSPECIAL + 1, RNNC_S2S_MAX_VOCAB, &c->src_vocab, path)) &&
             !(s = json_int(j, "tgt_vocab", RNNC_S2S_NSPECIAL + 1, RNNC_S2S_MAX_VOCAB, &c->tgt_vocab, path)) &&
             !(s = json_int(j, "embed", 1, RNNC_S2S_MAX_DIM, &c->embed, path)) &&
             !(s = json_int(j, "hidden", 1, RNNC_S2S_MAX_DIM, &c->hidden, path)) &&
             !(s = json_int(j, "layers", 1, RNNC_S2S_MAX_LAYERS, &c->layers, path)) &&
             !(s = json_rate(j, "dropout", true, &c->dropout, path)) &&
             !(s = json_rate(j, "output_dropout", false, &c->output_dropout, path))) { /* optional: newer files */
        c->bidirectional = cJSON_IsTrue(bi);
        c->reverse_source = cJSON_IsTrue(rs);
        if ((s = rnnc_s2s_config_check(c))) s = rnnc_error(RNNC_ERR_FORMAT, "%s: %s", path, rnnc_last_error());
    }
    cJSON_Delete(j);
    return s;
}

rnnc_status rnnc_s2s_save(const rnnc_s2s_model *m, const char *path, const char *const *keys,
                          const char *const *values, size_t n) {
    return rnnc_s2s_save_ex(m, path, keys, values, n, NULL, 0);
}

/* A run's state saved beside the model tensors (checkpoints): the loader passes these over. */
static const char *const train_prefixes[] = {"train.", NULL};
static bool is_train_tensor(const char *name) { return rnnc_layout_has_prefix(name, train_prefixes); }

rnnc_status rnnc_s2s_save_ex(const rnnc_s2s_model *m, const char *path, const char *const *keys,
                             const char *const *values, size_t n, const rnnc_st_entry *extra, size_t n_extra) {
    for (size_t i = 0; i < n_extra; i++)
        if (!is_train_tensor(extra[i].name))
            return rnnc_error(RNNC_ERR_ARG, "%s: extra tensor '%s' must be named train.*", path, extra[i].name);
    size_t nt = rnnc_s2s_num_tensors(m);
    rnnc_st_entry *ent = calloc(nt + n_extra, sizeof *ent);
    const char **mk = calloc(n + 4, sizeof *mk), **mv = calloc(n + 4, sizeof *mv);
    char *cfg = config_json(&m->c);
    rnnc_bytes sv = {0}, tv = {0};
    char tags[32];
    rnnc_param_info *info = calloc(nt, sizeof *info);
    rnnc_status s = RNNC_OK;
    if (!ent || !mk || !mv || !cfg || !info) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory saving %s", path); goto out; }
    if ((s = rnnc_s2s_vocab_to_string(&m->src_vocab, &sv)) || (s = rnnc_s2s_vocab_to_string(&m->tgt_vocab, &tv))) goto out;
    for (size_t k = 0; k < nt; k++) {
        info[k] = rnnc_s2s_tensor(m, k);
        ent[k].name = info[k].name;
        ent[k].dtype = RNNC_DT_F32;
        ent[k].ndim = info[k].ndim;
        ent[k].shape[0] = info[k].shape[0];
        ent[k].shape[1] = info[k].shape[1];
        ent[k].data = m->params + info[k].offset;
    }
    snprintf(tags, sizeof tags, "%s %s", rnnc_s2s_tok_name(m->src_vocab.tok), rnnc_s2s_tok_name(m->tgt_vocab.tok));
    mk[0] = "rnnc.seq2seq"; mv[0] = cfg;
    mk[1] = m->src_vocab.tk ? "rnnc.src_tokenizer" : "rnnc.src_vocab"; mv[1] = (const char *)sv.data;
    mk[2] = m->tgt_vocab.tk ? "rnnc.tgt_tokenizer" : "rnnc.tgt_vocab"; mv[2] = (const char *)tv.data;
    mk[3] = "rnnc.tokenizers"; mv[3] = tags;
    size_t nm = 4;
    for (size_t i = 0; i < n; i++) { mk[nm] = keys[i]; mv[nm++] = values[i]; }
    for (size_t i = 0; i < n_extra; i++) ent[nt + i] = extra[i];
    s = rnnc_st_save(path, ent, nt + n_extra, mk, mv, nm);
out:
    free(ent); free(mk); free(mv); free(cfg); free(info);
    rnnc_bytes_free(&sv);
    rnnc_bytes_free(&tv);
    return s;
}

static bool tok_from_tag(const char *tag, rnnc_s2s_tok *out) {
    for (int k = RNNC_S2S_TOK_SPACE; k <= RNNC_S2S_TOK_FILE; k++)
        if (!strcmp(tag, rnnc_s2s_tok_name((rnnc_s2s_tok)k))) {
            *out = (rnnc_s2s_tok)k;
            return true;
        }
    return false;
}

/* One side's vocabulary: rnnc.<side>_vocab (space/char symbols) or rnnc.<side>_tokenizer (JSON). */
static rnnc_status vocab_load(rnnc_s2s_vocab *v, const rnnc_safetensors *st, rnnc_s2s_tok tok, const char *side,
                              const char *path) {
    char key[64], what[512];
    snprintf(key, sizeof key, "rnnc.%s_%s", side, rnnc_s2s_tok_is_tokenizer(tok) ? "tokenizer" : "vocab");
    const char *text = rnnc_st_meta(st, key);
    if (!text) return rnnc_error(RNNC_ERR_FORMAT, "%s: seq2seq model with a %s vocabulary but no %s", path, rnnc_s2s_tok_name(tok), key);
    snprintf(what, sizeof what, "%s: %s", path, key);
    return rnnc_s2s_vocab_from_string(v, tok, text, what);
}


/* Every tensor the config asks for is in the file with that shape, and the file holds no other
 * (but train.* ones): model/layout.h. */
static rnnc_status check_tensors(const rnnc_s2s_model *lay, const rnnc_safetensors *st) {
    const rnnc_s2s_config *c = &lay->c;
    char cfg[200];
    snprintf(cfg, sizeof cfg, "cell %s, vocabularies %d and %d, embed %d, hidden %d, layers %d%s", rnnc_cell_name(c->cell),
             c->src_vocab, c->tgt_vocab, c->embed, c->hidden, c->layers, c->bidirectional ? ", bidirectional" : "");
    size_t nt = rnnc_s2s_num_tensors(lay);
    rnnc_param_info *want = malloc(nt * sizeof *want);
    if (!want) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", st->path);
    for (size_t k = 0; k < nt; k++) want[k] = rnnc_s2s_tensor(lay, k);
    rnnc_status s = rnnc_check_layout(st, want, nt, train_prefixes, "rnnc.seq2seq", cfg);
    free(want);
    return s;
}

/* A seq2seq model or a checkpoint of a seq2seq run (either format: "train.*" tensors are skipped);
 * any other kind of file is refused with what it is and which command takes it. */
rnnc_status rnnc_s2s_load(rnnc_s2s_model **out, const char *path) {
    *out = NULL;
    /* a tokenizer, TSV, id or text file is told by its first bytes, before the file is read whole */
    rnnc_file_kind kind = rnnc_file_kind_sniff_path(path);
    if (kind != RNNC_FILE_UNKNOWN) return rnnc_file_kind_refuse(path, kind, RNNC_FILE_SEQ2SEQ);
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, path);
    if (s) return s;
    s = rnnc_s2s_load_st(out, &st);
    rnnc_st_free(&st);
    return s;
}

rnnc_status rnnc_s2s_load_st(rnnc_s2s_model **out, const rnnc_safetensors *stp) {
    *out = NULL;
    const rnnc_safetensors st = *stp; /* (a view: not freed here) */
    const char *path = st.path;
    rnnc_status s = RNNC_OK;
    rnnc_s2s_vocab sv = {0}, tv = {0};
    rnnc_s2s_model *m = NULL;
    const char *cfg = rnnc_st_meta(&st, "rnnc.seq2seq");
    const char *toks = rnnc_st_meta(&st, "rnnc.tokenizers");
    rnnc_file_kind kind = rnnc_file_kind_of(&st);
    if (!cfg || rnnc_file_kind_task(kind) != RNNC_FILE_SEQ2SEQ) {
        s = rnnc_file_kind_refuse(path, kind, RNNC_FILE_SEQ2SEQ);
        goto out;
    }
    if (!toks) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: seq2seq model without rnnc.tokenizers", path); goto out; }
    rnnc_s2s_config c;
    if ((s = config_parse(&c, cfg, path))) goto out;
    char a[16] = "", b[16] = "", extra[2];
    rnnc_s2s_tok ta, tb;
    if (sscanf(toks, "%15s %15s %1s", a, b, extra) != 2 || !tok_from_tag(a, &ta) || !tok_from_tag(b, &tb)) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.tokenizers \"%s\" is not two of space/char/word/bpe/file", path, toks);
        goto out;
    }
    if ((s = vocab_load(&sv, &st, ta, "src", path)) || (s = vocab_load(&tv, &st, tb, "tgt", path))) goto out;
    if (sv.n != (size_t)c.src_vocab || tv.n != (size_t)c.tgt_vocab) {
        bool src = sv.n != (size_t)c.src_vocab;
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.%s_%s gives %zu ids (the 4 specials included) but the config says %s_vocab %d",
                       path, src ? "src" : "tgt", rnnc_s2s_tok_is_tokenizer(src ? ta : tb) ? "tokenizer" : "vocab",
                       src ? sv.n : tv.n, src ? "src" : "tgt", src ? c.src_vocab : c.tgt_vocab);
        goto out;
    }
    rnnc_s2s_model lay;
    s2s_layout(&lay, &c);
    if ((s = check_tensors(&lay, &st))) goto out;
    /* only now, with every tensor the config implies in the file, is the model allocated */
    if ((s = rnnc_s2s_model_new(&m, &c, &sv, &tv))) { s = rnnc_error(s, "%s: %s", path, rnnc_last_error()); goto out; }
    size_t nt = rnnc_s2s_num_tensors(m);
    for (size_t k = 0; k < nt && !s; k++) {
        rnnc_param_info p = rnnc_s2s_tensor(m, k);
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        float *x = m->params + p.offset;
        if ((s = rnnc_st_read_f32(&st, p.name, p.ndim, shape, x))) break;
        /* one NaN or Inf weight makes every output garbage: refused by name (rnnc_st_read_f32
         * does too; kept so this guarantee does not rest on the reader's) */
        for (size_t i = 0; i < p.size; i++)
            if (!isfinite(x[i])) {
                s = rnnc_error(RNNC_ERR_NUMERIC, "%s: tensor '%s' holds a non-finite value (%s) at element %zu", path,
                               p.name, isnan(x[i]) ? "nan" : x[i] > 0 ? "inf" : "-inf", i);
                break;
            }
    }
out:
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    if (s) rnnc_s2s_model_free(m);
    else *out = m;
    return s;
}

/* ---- training step and evaluation ---- */

rnnc_status rnnc_s2s_train_step(rnnc_s2s_model *m, rnnc_s2s_ws *ws, const rnnc_s2s_batch *b, rnnc_optim *opt,
                                float *grads, const rnnc_s2s_train_opts *o, double clip, rnnc_rng *rng,
                                double *loss, double *grad_norm) {
    rnnc_zero_grad(grads, m->n_params);
    long count = 0;
    rnnc_status s = rnnc_s2s_forward_backward(ws, m, b, o, grads, 1.0f, rng, loss, &count);
    if (s) return s;
    if ((s = rnnc_check_finite(*loss, "loss", opt->step + 1))) return s;
    double norm = clip > 0 ? rnnc_clip_grad_norm(grads, m->n_params, clip) : rnnc_grad_norm(grads, m->n_params);
    if ((s = rnnc_check_finite(norm, "gradient norm", opt->step + 1))) return s;
    if (grad_norm) *grad_norm = norm;
    rnnc_optim_step(opt, m->params, grads);
    return RNNC_OK;
}

/* 2 * source length + 10, without int overflow for the longest sources a reader without a limit
 * can give (the allocation then fails cleanly instead) */
static int default_out_len(int src_len) { return src_len > (INT_MAX - 10) / 2 ? INT_MAX : 2 * src_len + 10; }

/* A set's decoding: the sources, their order (by length) and where the outputs go. */
typedef struct {
    const rnnc_s2s_model *m;
    const uint32_t *const *srcs;
    const int *lens;
    const rnnc_len_index *order;
    size_t n;
    int beam, nbest, max_len, batch, Ts, ML;
    double alpha;
    rnnc_s2s_hyp *hyps;
    int *n_out;
    rnnc_s2s_progress_fn progress; /* NULL: none; called on the calling thread only */
    void *progress_ctx;
} set_job;

/* One decoder's scratch: its decoder (on borrowed weights) and the buffers of one batch. */
typedef struct {
    dec_packed dp;
    bool has_dp; /* dp borrowed (to be freed) */
    rnnc_s2s_hyp *bh; /* nbh: a batch's hypotheses, empty between batches */
    size_t nbh;
    uint32_t *src, *out;
    int *slen, *olen, *rmax, *bn;
} set_worker;

/* Frees what worker_new made (a zeroed worker too). */
static void worker_free(set_worker *w) {
    for (size_t k = 0; w->bh && k < w->nbh; k++) rnnc_s2s_hyp_free(&w->bh[k]);
    free(w->bh); free(w->src); free(w->out); free(w->slen); free(w->olen); free(w->rmax); free(w->bn);
    if (w->has_dp) dec_packed_free(&w->dp);
    memset(w, 0, sizeof *w);
}

/* A worker stepping the packed weights `shared`. */
static rnnc_status worker_new(set_worker *w, const set_job *j, const dec_packed *shared) {
    memset(w, 0, sizeof *w);
    size_t B = (size_t)j->batch;
    w->nbh = B * (size_t)j->nbest;
    w->bh = calloc(w->nbh, sizeof *w->bh);
    w->src = malloc(B * (size_t)j->Ts * sizeof *w->src);
    w->out = malloc(B * (size_t)j->ML * sizeof *w->out);
    w->slen = malloc(B * sizeof *w->slen); w->olen = malloc(B * sizeof *w->olen);
    w->rmax = malloc(B * sizeof *w->rmax); w->bn = malloc(B * sizeof *w->bn);
    rnnc_status s = RNNC_OK;
    if (!w->bh || !w->src || !w->out || !w->slen || !w->olen || !w->rmax || !w->bn)
        s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for decoding %zu sources", j->n);
    if (!s && !(s = dec_packed_borrow(&w->dp, shared))) {
        w->has_dp = true;
        /* the buffers for the longest source at once: the batches come shortest first, and
         * growing them batch by batch cleared fresh pages at every new length (2% of a search) */
        int B0 = j->n < B ? (int)j->n : j->batch;
        size_t rows0 = (size_t)B0 * (size_t)(j->beam > 1 ? j->beam : 1);
        if (rows0 <= INT_MAX) s = dec_packed_bufs(&w->dp, j->m, B0, j->Ts, (int)rows0);
    }
    if (s) worker_free(w); /* (a failed borrow leaves nothing in dp: has_dp stays false) */
    return s;
}

/* Batch i0 / batch of the sorted sources: decoded, the outputs put in the sources' own places. */
static rnnc_status decode_batch(const set_job *j, set_worker *w, size_t i0) {
    const int B = (int)(j->n - i0 < (size_t)j->batch ? j->n - i0 : (size_t)j->batch), nbest = j->nbest;
    /* Pad to the batch's longest source. */
    int T = 1, ml = 1;
    for (int b = 0; b < B; b++) if (j->lens[j->order[i0 + b].i] > T) T = j->lens[j->order[i0 + b].i];
    for (int b = 0; b < B; b++) {
        const uint32_t *x = j->srcs[j->order[i0 + b].i];
        w->slen[b] = j->lens[j->order[i0 + b].i];
        for (int t = 0; t < T; t++) w->src[(size_t)b * T + t] = t < w->slen[b] ? x[t] : RNNC_S2S_PAD;
        w->rmax[b] = j->max_len > 0 ? j->max_len : default_out_len(w->slen[b]);
        if (w->rmax[b] > ml) ml = w->rmax[b];
        w->bn[b] = 0;
    }
    rnnc_status s;
    if (j->beam > 1) /* the batch's searches side by side, each as rnnc_s2s_beam makes it */
        s = beam_batch(j->m, &w->dp, w->src, w->slen, B, T, j->beam, w->rmax, j->alpha, nbest, w->bh, w->bn);
    else if (!(s = greedy_impl(j->m, &w->dp, w->src, w->slen, B, T, ml, w->rmax, w->out, w->olen)))
        for (int b = 0; b < B && !s; b++) {
            rnnc_s2s_hyp *h = &w->bh[b];
            h->ids = malloc((size_t)(w->olen[b] ? w->olen[b] : 1) * sizeof(uint32_t));
            if (!h->ids) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for decoding"); break; }
            memcpy(h->ids, w->out + (size_t)b * ml, (size_t)w->olen[b] * sizeof(uint32_t));
            h->len = w->olen[b];
            h->finished = w->olen[b] < w->rmax[b]; /* it stopped at <eos>, not at its limit */
            w->bn[b] = 1;
        }
    for (int b = 0; b < B; b++) { /* to the sources' own places (freed from there on an error) */
        size_t i = j->order[i0 + b].i;
        for (int k = 0; k < nbest; k++) {
            j->hyps[i * (size_t)nbest + (size_t)k] = w->bh[(size_t)b * nbest + k];
            memset(&w->bh[(size_t)b * nbest + k], 0, sizeof *w->bh);
        }
        j->n_out[i] = w->bn[b];
    }
    return s;
}

/* n sources (src[i], src_len[i] ids, each >= 1) decoded `batch` at a time, greedy (beam <= 1) or by
 * beam search of width beam, on the decoder weights packed in `weights` (read only): out[i * nbest ..]
 * their hypotheses, n_out[i] how many.
 *
 * With several threads and at least two batches a thread, each thread decodes whole batches on
 * its own (its own decoder and buffers, one thread inside, on the shared weights),
 * taking the next batch from a counter: no meeting inside a step, where splitting each step over
 * the threads met three times a step and left one thread waiting during the search's serial
 * parts. Fewer batches: each batch's steps are split over the threads. Either way each source's
 * output is its own. */
static rnnc_status decode_set(const rnnc_s2s_model *m, const dec_packed *weights, const uint32_t *const *srcs,
                              const int *lens, size_t n, int beam, double alpha, int nbest, int max_len, int batch,
                              rnnc_s2s_hyp *hyps, int *n_out, rnnc_s2s_progress_fn progress, void *progress_ctx) {
    if (n == 0) return RNNC_OK;
    if (batch < 1) batch = 1;
    if (beam <= 1) nbest = 1;
    int Ts = 1;
    for (size_t i = 0; i < n; i++) if (lens[i] > Ts) Ts = lens[i];
    for (size_t i = 0; i < n; i++) n_out[i] = 0;
    rnnc_len_index *order = malloc(n * sizeof *order);
    if (!order) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for decoding %zu sources", n);
    /* Batches of sources of one length, or nearly: the encoder's input projections run over every
     * padded position of a batch, which in the set's own order was 43% of them on the CMUdict
     * test set. Each source's output is its own whatever its batch (its limit too), so the order
     * changes nothing but the time. */
    rnnc_len_order(order, lens, n);
    set_job j = {.m = m, .srcs = srcs, .lens = lens, .order = order, .n = n, .beam = beam, .nbest = nbest,
                 .max_len = max_len, .batch = batch, .Ts = Ts, .ML = max_len > 0 ? max_len : default_out_len(Ts),
                 .alpha = alpha, .hyps = hyps, .n_out = n_out, .progress = progress, .progress_ctx = progress_ctx};
    const size_t batches = (n + (size_t)batch - 1) / (size_t)batch;
    const int nth = omp_in_parallel() ? 1 : omp_get_max_threads();
    rnnc_status s = RNNC_OK;
    if (nth > 1 && batches >= 2 * (size_t)nth) {
        size_t next = 0, done = 0;
        char msg[1024] = "";
        #pragma omp parallel num_threads(nth)
        {
            omp_set_num_threads(1); /* this thread's decoder, and all it calls, on one thread */
            set_worker w;
            rnnc_status ws = worker_new(&w, &j, weights);
            while (!ws) {
                size_t k;
                #pragma omp atomic capture
                k = next++;
                if (k >= batches) break;
                ws = decode_batch(&j, &w, k * (size_t)batch);
                size_t items = k + 1 < batches ? (size_t)batch : n - k * (size_t)batch, now;
                #pragma omp atomic capture
                now = done += items;
                /* the callback runs on the calling thread alone (the team's first), never at once */
                if (!ws && j.progress && omp_get_thread_num() == 0) j.progress(now, n, j.progress_ctx);
            }
            if (ws) {
                #pragma omp critical(rnnc_decode_set_error)
                if (!s) { s = ws; snprintf(msg, sizeof msg, "%s", rnnc_last_error()); }
                #pragma omp atomic write
                next = batches; /* the others stop after their batch */
            }
            worker_free(&w);
        }
        if (s) rnnc_error(s, "%s", msg); /* the message, on the caller's thread */
        else if (j.progress) j.progress(n, n, j.progress_ctx); /* the others may have decoded the last batches */
    } else {
        set_worker w;
        if (!(s = worker_new(&w, &j, weights))) {
            for (size_t i0 = 0; i0 < n && !s; i0 += (size_t)batch) {
                s = decode_batch(&j, &w, i0);
                size_t now = i0 + (size_t)batch < n ? i0 + (size_t)batch : n;
                if (!s && j.progress) j.progress(now, n, j.progress_ctx);
            }
            worker_free(&w);
        }
    }
    free(order);
    return s;
}

struct rnnc_s2s_translator {
    const rnnc_s2s_model *m;
    dec_packed w; /* the packed weights, read only: calls on several threads at once share them */
};

rnnc_status rnnc_s2s_translator_new(rnnc_s2s_translator **out, const rnnc_s2s_model *m) {
    *out = NULL;
    rnnc_s2s_translator *t = malloc(sizeof *t);
    if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for a seq2seq translator");
    t->m = m;
    rnnc_status s = dec_packed_new(&t->w, m);
    if (s) { free(t); return s; }
    *out = t;
    return RNNC_OK;
}

void rnnc_s2s_translator_free(rnnc_s2s_translator *t) {
    if (!t) return;
    dec_packed_free(&t->w);
    free(t);
    rnnc_scratch_trim(); /* done translating: the cached temporaries go too */
}

/* The arguments of a translation, checked before any work. */
static rnnc_status translate_args(const rnnc_s2s_model *m, const uint32_t *const *src, const int *src_len, size_t n,
                                  int beam, int nbest, int max_len, int batch) {
    if (beam < 1 || nbest < 1 || batch < 1 || max_len < 0 || (beam == 1 && nbest > 1))
        return rnnc_error(RNNC_ERR_ARG, "seq2seq translate: beam=%d nbest=%d batch=%d max_len=%d (beam, nbest and batch "
                          "positive, nbest 1 without a beam, max_len 0 or more)", beam, nbest, batch, max_len);
    for (size_t i = 0; i < n; i++) {
        if (src_len[i] < 1) return rnnc_error(RNNC_ERR_ARG, "seq2seq translate: source %zu is empty", i);
        for (int t = 0; t < src_len[i]; t++)
            if (src[i][t] >= (uint32_t)m->c.src_vocab)
                return rnnc_error(RNNC_ERR_RANGE, "seq2seq translate: id %u at position %d of source %zu is outside the "
                                  "source vocabulary (%d)", src[i][t], t, i, m->c.src_vocab);
    }
    return RNNC_OK;
}

/* rnnc_s2s_translator_run on arguments translate_args has passed. */
static rnnc_status translator_run_checked(const rnnc_s2s_translator *tr, const uint32_t *const *src, const int *src_len,
                                          size_t n, int beam, double alpha, int nbest, int max_len, int batch,
                                          rnnc_s2s_hyp *out, int *n_out) {
    for (size_t k = 0; k < n * (size_t)nbest; k++) memset(&out[k], 0, sizeof out[k]);
    rnnc_status s = decode_set(tr->m, &tr->w, src, src_len, n, beam, alpha, nbest, max_len, batch, out, n_out, NULL, NULL);
    if (s)
        for (size_t k = 0; k < n * (size_t)nbest; k++) rnnc_s2s_hyp_free(&out[k]);
    return s;
}

rnnc_status rnnc_s2s_translate(const rnnc_s2s_model *m, const uint32_t *const *src, const int *src_len, size_t n,
                               int beam, double alpha, int nbest, int max_len, int batch, rnnc_s2s_hyp *out,
                               int *n_out) {
    rnnc_s2s_translator *t;
    /* refused arguments cost no packing */
    rnnc_status s = translate_args(m, src, src_len, n, beam, nbest, max_len, batch);
    if (s || (s = rnnc_s2s_translator_new(&t, m))) return s;
    s = translator_run_checked(t, src, src_len, n, beam, alpha, nbest, max_len, batch, out, n_out);
    rnnc_s2s_translator_free(t);
    return s;
}

rnnc_status rnnc_s2s_translator_run(const rnnc_s2s_translator *tr, const uint32_t *const *src, const int *src_len,
                                    size_t n, int beam, double alpha, int nbest, int max_len, int batch,
                                    rnnc_s2s_hyp *out, int *n_out) {
    rnnc_status s = translate_args(tr->m, src, src_len, n, beam, nbest, max_len, batch);
    return s ? s : translator_run_checked(tr, src, src_len, n, beam, alpha, nbest, max_len, batch, out, n_out);
}

rnnc_status rnnc_s2s_evaluate(const rnnc_s2s_model *m, const rnnc_s2s_data *d, int beam, double alpha, int batch,
                              int max_len, rnnc_s2s_score *score, rnnc_s2s_hyp **hyps_out) {
    return rnnc_s2s_evaluate_ex(m, d, beam, alpha, batch, max_len, score, hyps_out, NULL, NULL);
}

rnnc_status rnnc_s2s_evaluate_ex(const rnnc_s2s_model *m, const rnnc_s2s_data *d, int beam, double alpha, int batch,
                                 int max_len, rnnc_s2s_score *score, rnnc_s2s_hyp **hyps_out, rnnc_s2s_progress_fn progress,
                                 void *progress_ctx) {
    memset(score, 0, sizeof *score);
    if (hyps_out) *hyps_out = NULL;
    if (beam < 1 || batch < 1 || max_len < 0 || !isfinite(alpha))
        return rnnc_error(RNNC_ERR_ARG, "seq2seq evaluate: beam=%d batch=%d max_len=%d alpha=%g (beam and batch positive, "
                          "max_len 0 or more, alpha finite), as rnnc_s2s_translate takes them", beam, batch, max_len, alpha);
    if (d->n == 0) return RNNC_OK;
    rnnc_s2s_hyp *hyps = calloc(d->n, sizeof *hyps);
    const uint32_t **srcs = malloc(d->n * sizeof *srcs);
    int *lens = malloc(d->n * sizeof *lens), *n_out = malloc(d->n * sizeof *n_out);
    rnnc_status s = RNNC_OK;
    if (!hyps || !srcs || !lens || !n_out) {
        s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for evaluation");
        goto out;
    }
    for (size_t i = 0; i < d->n; i++) { srcs[i] = d->items[i].src; lens[i] = d->items[i].src_len; }
    dec_packed w;
    if ((s = dec_packed_new(&w, m))) goto out;
    s = decode_set(m, &w, srcs, lens, d->n, beam, alpha, 1, max_len, batch, hyps, n_out, progress, progress_ctx);
    dec_packed_free(&w);
    for (size_t i = 0; i < d->n && !s; i++) {
        const rnnc_s2s_item *it = &d->items[i];
        s = rnnc_s2s_score_add(score, hyps[i].ids, (size_t)hyps[i].len, (const uint32_t *const *)it->ref, it->ref_len,
                               it->n_refs);
    }
out:
    if (hyps && (s || !hyps_out)) {
        for (size_t i = 0; i < d->n; i++) rnnc_s2s_hyp_free(&hyps[i]);
        free(hyps);
    } else if (hyps_out) {
        *hyps_out = hyps;
    }
    free(srcs); free(lens); free(n_out);
    return s;
}
