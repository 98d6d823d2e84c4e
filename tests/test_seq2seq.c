/* The seq2seq model: finite-difference gradient check of the whole model (embeddings, encoder,
 * bridge, decoder, head) for each cell, padding masks, model files, greedy vs beam decoding. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"
#include "core/bigmem.h"
#include "test.h"

/* Vocabularies of Vs and Vt symbols (specials included). */
static void make_vocabs(rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv, int Vs, int Vt) {
    rnnc_s2s_vocab_init(sv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_vocab_init(tv, RNNC_S2S_TOK_SPACE);
    char b[8];
    uint32_t id;
    for (int i = RNNC_S2S_NSPECIAL; i < Vs; i++) rnnc_s2s_vocab_add(sv, b, (size_t)snprintf(b, sizeof b, "s%d", i), &id);
    for (int i = RNNC_S2S_NSPECIAL; i < Vt; i++) rnnc_s2s_vocab_add(tv, b, (size_t)snprintf(b, sizeof b, "T%d", i), &id);
}

static rnnc_s2s_model *tiny_model(rnnc_cell cell, bool bidir, int layers, uint64_t seed) {
    rnnc_s2s_vocab sv, tv;
    make_vocabs(&sv, &tv, 9, 8);
    rnnc_s2s_config c = {.cell = cell, .embed = 3, .hidden = 4, .layers = layers, .bidirectional = bidir};
    rnnc_s2s_model *m = NULL;
    if (rnnc_s2s_model_new(&m, &c, &sv, &tv)) return NULL;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    rnnc_s2s_model_init(m, &rng);
    /* larger than default weights make every gradient visible above float noise */
    return m;
}

/* A batch of 3 with different source and target lengths (row 1 is padded on both sides), with the
 * arrays it points into: keep it where it is made. */
typedef struct {
    rnnc_s2s_batch b;
    uint32_t src[12], tin[12], tout[12];
    int slen[3], tlen[3];
} tiny_data;

static void tiny_batch(tiny_data *d) {
    static const uint32_t S[3][4] = {{4, 5, 6, 7}, {8, 4, 0, 0}, {5, 5, 8, 6}};
    static const uint32_t T[3][3] = {{4, 5, 6}, {7, 0, 0}, {6, 6, 4}};
    static const int SL[3] = {4, 2, 4}, TL[3] = {3, 1, 2};
    for (int r = 0; r < 3; r++) {
        d->slen[r] = SL[r];
        d->tlen[r] = TL[r] + 1;
        for (int t = 0; t < 4; t++) {
            d->src[r * 4 + t] = S[r][t];
            d->tin[r * 4 + t] = t == 0 ? RNNC_S2S_BOS : t <= TL[r] ? T[r][t - 1] : RNNC_S2S_PAD;
            d->tout[r * 4 + t] = t < TL[r] ? T[r][t] : t == TL[r] ? RNNC_S2S_EOS : RNNC_S2S_PAD;
        }
    }
    d->b = (rnnc_s2s_batch){.B = 3, .Ts = 4, .Tt = 4, .src = d->src, .src_len = d->slen, .tgt_in = d->tin,
                            .tgt_out = d->tout, .tgt_len = d->tlen};
}

/* A workspace for the tiny batch. */
static rnnc_s2s_ws *tiny_ws(const rnnc_s2s_model *m) {
    rnnc_s2s_ws *ws = NULL;
    CHECK(rnnc_s2s_ws_new(&ws, m, 3, 4, 4) == RNNC_OK);
    return ws;
}

/* Training-mode loss with the RNG reset to `seed` (fixed dropout masks); seed 0: evaluation mode. */
static double loss_at(rnnc_s2s_model *m, rnnc_s2s_ws *ws, const rnnc_s2s_batch *b, float *g, uint64_t seed) {
    rnnc_rng rng;
    rnnc_rng_seed(&rng, seed);
    double loss = 0;
    long cnt = 0;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f, .training = seed != 0};
    if (rnnc_s2s_forward_backward(ws, m, b, &o, g, 1.0f, seed ? &rng : NULL, &loss, &cnt)) return NAN;
    return loss;
}

/* Central differences against the analytic gradient for every element of every tensor (the model
 * is tiny) on the tiny batch; seed as in loss_at. */
static void gradcheck_model(rnnc_s2s_model *m, uint64_t seed, const char *what) {
    rnnc_s2s_ws *ws = tiny_ws(m);
    tiny_data d;
    tiny_batch(&d);
    float *g = calloc(m->n_params, sizeof *g);
    CHECK(isfinite(loss_at(m, ws, &d.b, g, seed)));
    int bad = 0, checked = 0, nonzero_tensors = 0;
    size_t nt = rnnc_s2s_num_tensors(m);
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_s2s_tensor(m, k);
        double tensor_abs = 0;
        for (size_t i = p.offset; i < p.offset + p.size; i++) {
            float keep = m->params[i];
            double h = 1e-2;
            m->params[i] = keep + (float)h;
            double lp = loss_at(m, ws, &d.b, NULL, seed);
            m->params[i] = keep - (float)h;
            double lm = loss_at(m, ws, &d.b, NULL, seed);
            m->params[i] = keep;
            double fd = (lp - lm) / (2 * h);
            tensor_abs += fabs(g[i]);
            checked++;
            if (fabs(fd - g[i]) > 2e-3 + 2e-2 * fabs(fd)) {
                if (bad < 5) fprintf(stderr, "  %s[%zu]: fd %.6g analytic %.6g\n", p.name, i - p.offset, fd, g[i]);
                bad++;
            }
        }
        /* rows of unused ids (e.g. <unk>) have zero gradient, but no whole tensor may */
        if (tensor_abs > 0) nonzero_tensors++;
        else fprintf(stderr, "  %s: all-zero gradient\n", p.name);
    }
    CHECK_MSG(bad == 0, "%s: %d of %d gradients off", what, bad, checked);
    CHECK_EQ_LL(nonzero_tensors, nt);
    free(g);
    rnnc_s2s_ws_free(ws);
}

static void gradcheck(rnnc_cell cell, bool bidir, int layers) {
    rnnc_s2s_model *m = tiny_model(cell, bidir, layers, 7);
    CHECK(m != NULL);
    if (!m) return;
    /* the loss counts every target step: 4 + 2 + 3 of the tiny batch */
    rnnc_s2s_ws *ws = tiny_ws(m);
    tiny_data d;
    tiny_batch(&d);
    double loss;
    long cnt;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o, NULL, 1.0f, NULL, &loss, &cnt) == RNNC_OK);
    CHECK_EQ_LL(cnt, 4 + 2 + 3);
    rnnc_s2s_ws_free(ws);
    char what[64];
    snprintf(what, sizeof what, "%s bidir=%d layers=%d", rnnc_cell_name(cell), bidir, layers);
    gradcheck_model(m, 0, what);
    rnnc_s2s_model_free(m);
}

static void test_gradcheck_lstm_bidir(void) { gradcheck(RNNC_CELL_LSTM, true, 2); }
static void test_gradcheck_gru_bidir(void) { gradcheck(RNNC_CELL_GRU, true, 1); }
static void test_gradcheck_lstm_uni(void) { gradcheck(RNNC_CELL_LSTM, false, 2); }
static void test_gradcheck_elman(void) { gradcheck(RNNC_CELL_RNN_TANH, false, 1); }

/* Padded steps change nothing: the batch's summed loss and gradients equal those of each row on
 * its own (unpadded). */
static void test_padding_masks(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_GRU, true, 2, 3);
    rnnc_s2s_ws *ws = tiny_ws(m);
    tiny_data d;
    tiny_batch(&d);
    float *g = calloc(m->n_params, sizeof *g), *g1 = calloc(m->n_params, sizeof *g1);
    double loss, sum = 0;
    long cnt, total = 0;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o, g, 1.0f, NULL, &loss, &cnt) == RNNC_OK);
    for (int r = 0; r < 3; r++) {
        uint32_t s1[4], ti[4], to[4];
        rnnc_s2s_batch one = {.B = 1, .Ts = d.slen[r], .Tt = d.tlen[r], .src = s1, .src_len = &d.slen[r], .tgt_in = ti,
                              .tgt_out = to, .tgt_len = &d.tlen[r]};
        for (int t = 0; t < d.slen[r]; t++) s1[t] = d.src[r * 4 + t];
        for (int t = 0; t < d.tlen[r]; t++) { ti[t] = d.tin[r * 4 + t]; to[t] = d.tout[r * 4 + t]; }
        double l1;
        long c1;
        /* grad_scale c1/cnt turns the row's mean into its share of the batch mean */
        CHECK(rnnc_s2s_forward_backward(ws, m, &one, &o, g1, (float)d.tlen[r] / (float)cnt, NULL, &l1, &c1) == RNNC_OK);
        CHECK_EQ_LL(c1, d.tlen[r]);
        sum += l1 * (double)c1;
        total += c1;
    }
    CHECK_EQ_LL(total, cnt);
    CHECK_NEAR(sum / (double)total, loss, 1e-5, 1e-6);
    int bad = 0;
    for (size_t i = 0; i < m->n_params; i++)
        if (fabsf(g[i] - g1[i]) > 1e-5f + 1e-4f * fabsf(g[i])) bad++;
    CHECK_EQ_LL(bad, 0);
    free(g); free(g1);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_model_free(m);
}

/* Label smoothing's gradient equals the finite difference of the smoothed loss, which the test
 * computes from the logits' log-softmax: (1-eps) CE + eps * mean_v(-log p_v). */
static void test_label_smoothing_gradient(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, false, 1, 11);
    rnnc_s2s_ws *ws = tiny_ws(m);
    tiny_data d;
    tiny_batch(&d);
    float *g = calloc(m->n_params, sizeof *g), *g0 = calloc(m->n_params, sizeof *g0);
    double loss;
    long cnt;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f, .label_smoothing = 0.2f};
    rnnc_s2s_train_opts o0 = {.teacher_forcing = 1.0f};
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o, g, 1.0f, NULL, &loss, &cnt) == RNNC_OK);
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o0, g0, 1.0f, NULL, &loss, &cnt) == RNNC_OK);
    /* the head bias gradient of smoothing is exact to write down: per counted row,
     * (p - onehot) * (1) + eps * (onehot - 1/V), averaged: so g - g0 summed over the bias equals
     * eps * (1 - 1) = 0, and each entry differs by eps*(count_v/cnt - 1/V). */
    int V = m->c.tgt_vocab, bad = 0;
    for (int v = 0; v < V; v++) {
        int cv = 0;
        for (int i = 0; i < 12; i++) if (d.tout[i] == (uint32_t)v && d.tout[i] != RNNC_S2S_PAD) cv++;
        if (v == RNNC_S2S_PAD) cv = 0;
        double want = 0.2 * ((double)cv / (double)cnt - 1.0 / V);
        double got = g[m->off_head_b + v] - g0[m->off_head_b + v];
        if (fabs(want - got) > 1e-5) bad++;
    }
    CHECK_EQ_LL(bad, 0);
    free(g); free(g0);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_model_free(m);
}

/* Beam search of width 1 is greedy decoding; wider beams return n-best lists sorted by score, the
 * best at least as likely (by its normalised score) as the greedy output. */
static void test_greedy_and_beam(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, true, 2, 5);
    uint32_t src[2 * 4] = {4, 5, 6, 7, 8, 8, 0, 0};
    int slen[2] = {4, 2}, olen[2];
    uint32_t out[2 * 12];
    CHECK(rnnc_s2s_greedy(m, src, slen, 2, 4, 12, out, olen) == RNNC_OK);
    for (int r = 0; r < 2; r++) {
        /* row decoded alone gives the same tokens: batching and padding do not leak */
        uint32_t out1[12];
        int olen1;
        CHECK(rnnc_s2s_greedy(m, src + r * 4, &slen[r], 1, slen[r], 12, out1, &olen1) == RNNC_OK);
        CHECK_EQ_LL(olen1, olen[r]);
        CHECK(olen1 == olen[r] && !memcmp(out1, out + r * 12, (size_t)olen1 * sizeof *out1));
        rnnc_s2s_hyp h[4];
        int n;
        CHECK(rnnc_s2s_beam(m, src + r * 4, slen[r], 1, 12, 1.0, 1, h, &n) == RNNC_OK);
        CHECK_EQ_LL(n, 1);
        CHECK_EQ_LL(h[0].len, olen[r]);
        CHECK(h[0].len == olen[r] && !memcmp(h[0].ids, out + r * 12, (size_t)olen[r] * sizeof *out));
        double greedy_score = h[0].score;
        rnnc_s2s_hyp_free(&h[0]);
        CHECK(rnnc_s2s_beam(m, src + r * 4, slen[r], 4, 12, 1.0, 4, h, &n) == RNNC_OK);
        CHECK(n >= 2);
        for (int i = 1; i < n; i++) CHECK(h[i - 1].score >= h[i].score);
        CHECK(h[0].score >= greedy_score - 1e-9);
        for (int i = 0; i < n; i++) {
            CHECK_NEAR(h[i].score, h[i].logprob / pow(h[i].len + 1.0, 1.0), 1e-9, 1e-12);
            /* The step-by-step decoder (T=1 calls from the carried state) and the whole-sequence
             * teacher-forced decoder (the path the PyTorch golden tests of the recurrent layer
             * cover) give the same log-probability to each finished hypothesis. */
            if (h[i].finished) {
                rnnc_s2s_ws *ws;
                int T = h[i].len + 1, sl = slen[r];
                uint32_t ti[16], to[16];
                ti[0] = RNNC_S2S_BOS;
                for (int t = 0; t < h[i].len; t++) { ti[t + 1] = h[i].ids[t]; to[t] = h[i].ids[t]; }
                to[h[i].len] = RNNC_S2S_EOS;
                rnnc_s2s_batch one = {.B = 1, .Ts = sl, .Tt = T, .src = src + r * 4, .src_len = &sl, .tgt_in = ti,
                                      .tgt_out = to, .tgt_len = &T};
                double loss;
                long cnt;
                rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
                CHECK(rnnc_s2s_ws_new(&ws, m, 1, sl, T) == RNNC_OK);
                CHECK(rnnc_s2s_forward_backward(ws, m, &one, &o, NULL, 1.0f, NULL, &loss, &cnt) == RNNC_OK);
                CHECK_EQ_LL(cnt, T);
                CHECK_NEAR(-loss * (double)cnt, h[i].logprob, 1e-4, 1e-5);
                rnnc_s2s_ws_free(ws);
            }
            rnnc_s2s_hyp_free(&h[i]);
        }
    }
    rnnc_s2s_model_free(m);
}

/* got, the output a search over a set gave source it, against the search of width K and limit ml
 * over the source alone: the same tokens, log-probability and end (what: the case, for the
 * message). Frees got's tokens. Returns whether the search alone finished at <eos>. */
static bool same_as_alone(const rnnc_s2s_model *m, const rnnc_s2s_item *it, rnnc_s2s_hyp *got, int K, int ml,
                          const char *what) {
    rnnc_s2s_hyp h[1];
    int n = 0;
    CHECK_EQ_LL(rnnc_s2s_beam(m, it->src, it->src_len, K, ml, 1.0, 1, h, &n), RNNC_OK);
    CHECK_EQ_LL(n, 1);
    bool finished = n == 1 && h[0].finished;
    CHECK_MSG(n == 1 && got->len == h[0].len && got->logprob == h[0].logprob && got->finished == h[0].finished &&
                  !memcmp(got->ids, h[0].ids, (size_t)h[0].len * sizeof *h[0].ids),
              "%s: batched %d tokens, alone %d", what, got->len, n == 1 ? h[0].len : -1);
    if (n == 1) rnnc_s2s_hyp_free(&h[0]);
    rnnc_s2s_hyp_free(got);
    return finished;
}

/* Beam search over a set (rnnc_s2s_evaluate: the sources of a batch searched side by side) gives
 * every source exactly what rnnc_s2s_beam gives it alone: the same tokens and log-probability,
 * for sources of every length, hypotheses that end early and ones cut at max_len, any batch size.
 * Greedy decoding over a set (K = 1) gives what rnnc_s2s_greedy gives the source alone, cut at the
 * source's own limit (2 x its length + 10), not its batch's longest source's. */
static void test_beam_batched(void) {
    static const char tsv[] = "s4\tT4\ns5 s6\tT5 T6\ns7 s8 s4 s5 s6 s7\tT7\ns8 s8 s8\tT4 T4\ns6 s4\tT6\n"
                              "s5 s5 s5 s5 s5\tT5\ns4 s7 s6\tT7 T4\ns8\tT5\ns6 s7 s8 s4\tT6 T6 T6\n";
    const rnnc_cell cells[] = {RNNC_CELL_LSTM, RNNC_CELL_GRU};
    for (int ci = 0; ci < 2; ci++) {
        rnnc_s2s_model *m = tiny_model(cells[ci], ci == 1, 2, 11 + (uint64_t)ci);
        m->c.reverse_source = ci == 0;
        /* larger weights: the outputs depend on the source, so some searches end early, some run to
         * max_len, and a batch's sources finish at different steps */
        for (size_t k = 0; k < m->n_params; k++) m->params[k] *= 3.0f;
        m->params[m->off_head_b + RNNC_S2S_EOS] += ci == 0 ? 0.0f : 2.0f;
        rnnc_s2s_data d;
        rnnc_s2s_data_init(&d);
        rnnc_s2s_read_opts ro = {.grow = false};
        CHECK_EQ_LL(rnnc_s2s_data_parse(&d, tsv, sizeof tsv - 1, "beam.tsv", &ro, &m->src_vocab, &m->tgt_vocab), RNNC_OK);
        CHECK_EQ_LL(d.n, 9);
        const int Ks[] = {1, 2, 3, 5}, batches[] = {1, 4, 9}, max_lens[] = {0, 3};
        int finished = 0, cut = 0;
        for (int ki = 0; ki < 4; ki++)
            for (int bi = 0; bi < 3; bi++)
                for (int mi = 0; mi < 2; mi++) {
                    rnnc_s2s_score sc;
                    rnnc_s2s_hyp *hyps = NULL;
                    CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, Ks[ki], 1.0, batches[bi], max_lens[mi], &sc, &hyps), RNNC_OK);
                    for (size_t i = 0; hyps && i < d.n; i++) {
                        const rnnc_s2s_item *it = &d.items[i];
                        int ml = max_lens[mi] ? max_lens[mi] : 2 * it->src_len + 10;
                        if (Ks[ki] == 1) {
                            uint32_t out1[32];
                            int olen1 = -1, sl = it->src_len;
                            CHECK_EQ_LL(rnnc_s2s_greedy(m, it->src, &sl, 1, sl, ml, out1, &olen1), RNNC_OK);
                            CHECK_MSG(hyps[i].len == olen1 && !memcmp(hyps[i].ids, out1, (size_t)olen1 * sizeof *out1),
                                      "cell %d greedy batch %d max_len %d item %zu: batched %d tokens, alone %d", ci,
                                      batches[bi], max_lens[mi], i, hyps[i].len, olen1);
                            rnnc_s2s_hyp_free(&hyps[i]);
                            continue;
                        }
                        char what[96];
                        snprintf(what, sizeof what, "cell %d K %d batch %d max_len %d item %zu", ci, Ks[ki], batches[bi],
                                 max_lens[mi], i);
                        bool fin = same_as_alone(m, it, &hyps[i], Ks[ki], ml, what);
                        finished += fin;
                        cut += !fin;
                    }
                    free(hyps);
                }
        CHECK_MSG(finished > 0 && cut > 0, "cell %d: %d finished, %d cut", ci, finished, cut);
        /* <eos> made unlikely: every output runs to its source's own limit, whatever its batch */
        m->params[m->off_head_b + RNNC_S2S_EOS] -= 100.0f;
        rnnc_s2s_score sc;
        rnnc_s2s_hyp *hyps = NULL;
        CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, 1, 1.0, 9, 0, &sc, &hyps), RNNC_OK);
        for (size_t i = 0; hyps && i < d.n; i++) {
            CHECK_MSG(hyps[i].len == 2 * d.items[i].src_len + 10, "cell %d item %zu of %d symbols: %d tokens", ci, i,
                      d.items[i].src_len, hyps[i].len);
            rnnc_s2s_hyp_free(&hyps[i]);
        }
        free(hyps);
        rnnc_s2s_data_free(&d);
        rnnc_s2s_model_free(m);
    }
}

typedef struct {
    int calls, shrank, other_thread;
    size_t last, total;
} progress_seen;

static void on_progress(size_t done, size_t total, void *ctx) {
    progress_seen *p = ctx;
    if (done < p->last) p->shrank = 1;
    if (omp_get_thread_num() != 0) p->other_thread = 1;
    p->last = done;
    p->total = total;
    p->calls++;
}

/* A set large enough that the searches' own work between steps runs on the threads (32 sources
 * or more searching): every source still gets what its search alone gives it. */
static void test_beam_many_sources(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, false, 2, 23);
    for (size_t k = 0; k < m->n_params; k++) m->params[k] *= 3.0f;
    char tsv[4096];
    size_t n = 0;
    for (int i = 0; i < 70; i++) { /* distinct sources of 2-5 symbols from s4..s8: i's base-5 digits */
        int len = 2 + i % 4;
        for (int j = 0, v = i; j < len; j++, v /= 5) n += (size_t)snprintf(tsv + n, sizeof tsv - n, "%ss%d", j ? " " : "", 4 + v % 5);
        n += (size_t)snprintf(tsv + n, sizeof tsv - n, "\tT%d\n", 4 + i % 4);
    }
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts ro = {.grow = false};
    CHECK_EQ_LL(rnnc_s2s_data_parse(&d, tsv, n, "many.tsv", &ro, &m->src_vocab, &m->tgt_vocab), RNNC_OK);
    CHECK_EQ_LL(d.n, 70);
    rnnc_s2s_score sc;
    rnnc_s2s_hyp *hyps = NULL;
    CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, 4, 1.0, 64, 0, &sc, &hyps), RNNC_OK);
    for (size_t i = 0; hyps && i < d.n; i++) {
        char what[32];
        snprintf(what, sizeof what, "item %zu", i);
        same_as_alone(m, &d.items[i], &hyps[i], 4, 2 * d.items[i].src_len + 10, what);
    }
    free(hyps);
    /* rnnc_s2s_evaluate_ex's progress: calls that only grow, the last at every item, on the calling
     * thread alone, on one thread and on several (batches of 8: enough of them to share), and the
     * scores as without it */
    for (int nth = 1; nth <= 2; nth++) {
        int keep = omp_get_max_threads();
        omp_set_num_threads(nth);
        progress_seen ps = {0};
        rnnc_s2s_score sc2;
        CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, 1, 1.0, 8, 0, &sc, NULL), RNNC_OK);
        CHECK_EQ_LL(rnnc_s2s_evaluate_ex(m, &d, 1, 1.0, 8, 0, &sc2, NULL, on_progress, &ps), RNNC_OK);
        omp_set_num_threads(keep);
        CHECK_MSG(ps.calls >= 1 && ps.last == d.n && ps.total == d.n && !ps.shrank && !ps.other_thread,
                  "%d threads: %d calls, last %zu of %zu, shrank %d, other thread %d", nth, ps.calls, ps.last, ps.total, ps.shrank,
                  ps.other_thread);
        CHECK_MSG(sc.edits == sc2.edits && sc.seq_errors == sc2.seq_errors && sc.ref_tokens == sc2.ref_tokens,
                  "%d threads: the scores differ with a progress callback", nth);
    }
    /* arguments rnnc_s2s_translate refuses are refused here too (batch 0 was taken as 1) */
    CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, 1, 1.0, 0, 0, &sc, NULL), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, 0, 1.0, 8, 0, &sc, NULL), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_s2s_evaluate(m, &d, 1, 1.0, 8, -1, &sc, NULL), RNNC_ERR_ARG);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_model_free(m);
}

/* rnnc_s2s_translate: the n-best lists of rnnc_s2s_beam and the outputs of rnnc_s2s_greedy for each
 * source alone, whatever the batch; bad arguments refused with nothing left allocated. */
static void test_translate(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_GRU, true, 2, 31);
    for (size_t k = 0; k < m->n_params; k++) m->params[k] *= 3.0f;
    enum { N = 11 };
    uint32_t data[N][6];
    const uint32_t *src[N];
    int len[N];
    for (int i = 0; i < N; i++) {
        len[i] = 1 + (i * 5) % 6;
        for (int t = 0; t < len[i]; t++) data[i][t] = 4 + (uint32_t)((i + 2 * t) % 5);
        src[i] = data[i];
    }
    const int batches[] = {1, 4, 64};
    for (int bi = 0; bi < 3; bi++) {
        rnnc_s2s_hyp out[N * 2];
        int n_out[N];
        CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, N, 4, 0.7, 2, 0, batches[bi], out, n_out), RNNC_OK);
        for (int i = 0; i < N; i++) {
            rnnc_s2s_hyp h[2];
            int k = 0;
            CHECK_EQ_LL(rnnc_s2s_beam(m, src[i], len[i], 4, 2 * len[i] + 10, 0.7, 2, h, &k), RNNC_OK);
            CHECK_EQ_LL(n_out[i], k);
            for (int j = 0; j < k && j < n_out[i]; j++)
                CHECK_MSG(out[i * 2 + j].len == h[j].len && out[i * 2 + j].score == h[j].score &&
                              !memcmp(out[i * 2 + j].ids, h[j].ids, (size_t)h[j].len * sizeof *h[j].ids),
                          "batch %d source %d hypothesis %d", batches[bi], i, j);
            for (int j = 0; j < k; j++) rnnc_s2s_hyp_free(&h[j]);
            for (int j = 0; j < n_out[i]; j++) rnnc_s2s_hyp_free(&out[i * 2 + j]);
        }
        CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, N, 1, 0, 1, 5, batches[bi], out, n_out), RNNC_OK);
        for (int i = 0; i < N; i++) {
            uint32_t g[5];
            int gl = -1;
            CHECK_EQ_LL(rnnc_s2s_greedy(m, src[i], &len[i], 1, len[i], 5, g, &gl), RNNC_OK);
            CHECK_EQ_LL(n_out[i], 1);
            CHECK(out[i].len == gl && !memcmp(out[i].ids, g, (size_t)gl * sizeof *g) && out[i].finished == (gl < 5));
            rnnc_s2s_hyp_free(&out[i]);
        }
    }
    rnnc_s2s_hyp out[N * 2];
    int n_out[N], zero = 0;
    CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, N, 1, 0, 2, 0, 8, out, n_out), RNNC_ERR_ARG); /* n-best without a beam */
    CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, N, 0, 0, 1, 0, 8, out, n_out), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, N, 2, 0, 1, -1, 8, out, n_out), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_s2s_translate(m, src, &zero, 1, 2, 0, 1, 0, 8, out, n_out), RNNC_ERR_ARG); /* an empty source */
    uint32_t bad[2] = {4, 999};
    const uint32_t *bs[1] = {bad};
    int bl = 2;
    CHECK_EQ_LL(rnnc_s2s_translate(m, bs, &bl, 1, 2, 0, 1, 0, 8, out, n_out), RNNC_ERR_RANGE);
    CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, 0, 2, 0, 1, 0, 8, out, n_out), RNNC_OK); /* nothing to do */
    rnnc_s2s_model_free(m);
}

/* Two outputs of a set are the same hypotheses, to the bit. */
static bool same_hyps(const rnnc_s2s_hyp *a, const int *na, const rnnc_s2s_hyp *b, const int *nb, int n, int nbest) {
    for (int i = 0; i < n; i++) {
        if (na[i] != nb[i]) return false;
        for (int k = 0; k < na[i]; k++) {
            const rnnc_s2s_hyp *x = &a[i * nbest + k], *y = &b[i * nbest + k];
            if (x->len != y->len || x->finished != y->finished || memcmp(&x->score, &y->score, sizeof x->score) ||
                memcmp(&x->logprob, &y->logprob, sizeof x->logprob) || memcmp(x->ids, y->ids, (size_t)x->len * sizeof *x->ids))
                return false;
        }
    }
    return true;
}

static void free_hyps(rnnc_s2s_hyp *h, int n) {
    for (int k = 0; k < n; k++) rnnc_s2s_hyp_free(&h[k]);
}

/* A translator kept over many calls gives what rnnc_s2s_translate gives each call: whatever came
 * before it (greedy, beam, other batches), on other thread counts than it was made on, and from
 * several threads at once. Bad arguments are refused as rnnc_s2s_translate refuses them. */
static void test_translator(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, false, 2, 41);
    for (size_t k = 0; k < m->n_params; k++) m->params[k] *= 3.0f;
    enum { N = 75, NB = 2 };
    uint32_t data[N][7];
    const uint32_t *src[N];
    int len[N];
    for (int i = 0; i < N; i++) {
        len[i] = 1 + (i * 5) % 7;
        for (int t = 0; t < len[i]; t++) data[i][t] = 4 + (uint32_t)((i + 3 * t) % 5);
        src[i] = data[i];
    }
    /* beam, nbest, max_len, batch */
    const int runs[][4] = {{1, 1, 0, 1}, {4, 2, 0, 4}, {1, 1, 6, 64}, {3, 2, 9, 8}, {4, 2, 0, 4}, {1, 1, 0, 1}};
    const int nth0 = omp_get_max_threads();
    rnnc_s2s_translator *t = NULL;
    omp_set_num_threads(1); /* made on one thread, run on one to three */
    CHECK_EQ_LL(rnnc_s2s_translator_new(&t, m), RNNC_OK);
    static rnnc_s2s_hyp want[N * NB], got[3][N * NB];
    int n_want[N], n_got[3][N];
    for (size_t r = 0; r < sizeof runs / sizeof runs[0] && t; r++) {
        const int *a = runs[r];
        omp_set_num_threads(1 + (int)r % 3);
        CHECK_EQ_LL(rnnc_s2s_translate(m, src, len, N, a[0], 0.7, a[1], a[2], a[3], want, n_want), RNNC_OK);
        CHECK_EQ_LL(rnnc_s2s_translator_run(t, src, len, N, a[0], 0.7, a[1], a[2], a[3], got[0], n_got[0]), RNNC_OK);
        CHECK_MSG(same_hyps(want, n_want, got[0], n_got[0], N, a[1]), "run %zu", r);
        free_hyps(got[0], N * a[1]);
        /* three threads at once on the one translator, each with a batch of its own */
        int rc[3] = {-1, -1, -1};
        #pragma omp parallel num_threads(3)
        {
            int k = omp_get_thread_num();
            if (k < 3) rc[k] = rnnc_s2s_translator_run(t, src, len, N, a[0], 0.7, a[1], a[2], 1 + 5 * k, got[k], n_got[k]);
        }
        for (int k = 0; k < 3; k++) {
            CHECK_EQ_LL(rc[k], RNNC_OK);
            if (rc[k] == RNNC_OK) {
                CHECK_MSG(same_hyps(want, n_want, got[k], n_got[k], N, a[1]), "run %zu, thread %d", r, k);
                free_hyps(got[k], N * a[1]);
            }
        }
        free_hyps(want, N * a[1]);
    }
    omp_set_num_threads(nth0);
    int zero = 0;
    CHECK_EQ_LL(rnnc_s2s_translator_run(t, src, len, N, 1, 0, 2, 0, 8, got[0], n_got[0]), RNNC_ERR_ARG);
    CHECK_EQ_LL(rnnc_s2s_translator_run(t, src, &zero, 1, 2, 0, 1, 0, 8, got[0], n_got[0]), RNNC_ERR_ARG);
    uint32_t bad[2] = {4, 999};
    const uint32_t *bs[1] = {bad};
    int bl = 2;
    CHECK_EQ_LL(rnnc_s2s_translator_run(t, bs, &bl, 1, 2, 0, 1, 0, 8, got[0], n_got[0]), RNNC_ERR_RANGE);
    rnnc_s2s_translator_free(t);
    rnnc_s2s_translator_free(NULL);
    rnnc_s2s_model_free(m);
}

static void test_model_file(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, true, 2, 9);
    const char *path = "test_seq2seq_model.safetensors";
    const char *k[] = {"rnnc.note"}, *v[] = {"hello"};
    CHECK(rnnc_s2s_save(m, path, k, v, 1) == RNNC_OK);
    rnnc_s2s_model *m2 = NULL;
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_OK);
    if (m2) {
        CHECK_EQ_LL(m2->n_params, m->n_params);
        CHECK(!memcmp(m2->params, m->params, m->n_params * sizeof(float)));
        CHECK_EQ_LL(m2->tgt_vocab.n, m->tgt_vocab.n);
        CHECK_STR(m2->src_vocab.sym[5], m->src_vocab.sym[5]);
        CHECK(m2->c.bidirectional && m2->c.cell == RNNC_CELL_LSTM && m2->c.layers == 2);
        rnnc_s2s_model_free(m2);
    }
    /* a language-model file and a plain safetensors file are refused with a clear message */
    rnnc_lm_config lc = {.cell = RNNC_CELL_GRU, .vocab = 10, .embed = 3, .hidden = 4, .layers = 1};
    rnnc_lm *lm = NULL;
    CHECK(rnnc_lm_new(&lm, &lc) == RNNC_OK);
    CHECK(rnnc_lm_save(lm, "test_seq2seq_lm.safetensors") == RNNC_OK);
    rnnc_lm_free(lm);
    CHECK(rnnc_s2s_load(&m2, "test_seq2seq_lm.safetensors") == RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "a language model, not a seq2seq model") != NULL);
    float x[2] = {1, 2};
    rnnc_st_entry e = {.name = "x", .dtype = RNNC_DT_F32, .ndim = 1, .shape = {2}, .data = x};
    CHECK(rnnc_st_save("test_seq2seq_plain.safetensors", &e, 1, NULL, NULL, 0) == RNNC_OK);
    CHECK(rnnc_s2s_load(&m2, "test_seq2seq_plain.safetensors") == RNNC_ERR_FORMAT);
    CHECK_MSG(strstr(rnnc_last_error(), "not an rnnc seq2seq model") != NULL, "%s", rnnc_last_error());
    CHECK(rnnc_s2s_load(&m2, "/nonexistent/m.safetensors") == RNNC_ERR_IO);
    /* a truncated model file names the file */
    unsigned char *buf;
    size_t len;
    CHECK(rnnc_read_file(path, &buf, &len) == RNNC_OK);
    CHECK(rnnc_write_file_atomic("test_seq2seq_trunc.safetensors", buf, len - 10) == RNNC_OK);
    free(buf);
    CHECK(rnnc_s2s_load(&m2, "test_seq2seq_trunc.safetensors") != RNNC_OK);
    CHECK(strstr(rnnc_last_error(), "test_seq2seq_trunc.safetensors") != NULL);
    remove(path);
    remove("test_seq2seq_lm.safetensors");
    remove("test_seq2seq_trunc.safetensors");
    remove("test_seq2seq_plain.safetensors");
    rnnc_s2s_model_free(m);
}

/* Scheduled sampling: R = 1 is plain teacher forcing whatever the rng; R < 1 changes the inputs
 * (so the loss), the same seed gives the same loss, and padded steps stay out of the count. */
static void test_scheduled_sampling(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_GRU, false, 1, 13);
    rnnc_s2s_ws *ws = tiny_ws(m);
    tiny_data d;
    tiny_batch(&d);
    double l_tf = loss_at(m, ws, &d.b, NULL, 0), l1, l2, l3;
    long c;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    rnnc_s2s_train_opts o1 = {.teacher_forcing = 1.0f};
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o1, NULL, 1.0f, &rng, &l1, &c) == RNNC_OK);
    CHECK_NEAR(l1, l_tf, 0, 0);
    rnnc_s2s_train_opts o0 = {.teacher_forcing = 0.0f};
    rnnc_rng_seed(&rng, 2);
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o0, NULL, 1.0f, &rng, &l2, &c) == RNNC_OK);
    CHECK_EQ_LL(c, 9);
    rnnc_rng_seed(&rng, 2);
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o0, NULL, 1.0f, &rng, &l3, &c) == RNNC_OK);
    CHECK_NEAR(l2, l3, 0, 0);
    CHECK(l2 != l_tf);
    /* the caller's batch is not modified (the sampled inputs live in the workspace) */
    CHECK_EQ_LL(d.tin[1], 4);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_model_free(m);
}

/* reverse_source: a model that reads sources reversed gives, on a batch, exactly the loss, the
 * gradients and the greedy outputs that the same weights without the flag give on the batch
 * with every source reversed by hand (padding stays at the end); and the flag survives a save. */
static void test_reverse_source(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, false, 2, 11);
    CHECK(m != NULL);
    if (!m) return;
    rnnc_s2s_ws *ws = tiny_ws(m);
    rnnc_s2s_batch br;
    uint32_t srcr[12];
    tiny_data d;
    tiny_batch(&d);
    br = d.b;
    for (int r = 0; r < 3; r++)
        for (int t = 0; t < 4; t++) srcr[r * 4 + t] = t < d.slen[r] ? d.src[r * 4 + d.slen[r] - 1 - t] : d.src[r * 4 + t];
    br.src = srcr;
    CHECK(memcmp(d.src, srcr, sizeof d.src) != 0);
    size_t n = m->n_params;
    float *g1 = calloc(n, sizeof *g1), *g2 = calloc(n, sizeof *g2);
    double l1, l2, l3;
    long c1, c2;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
    m->c.reverse_source = true;
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o, g1, 1.0f, NULL, &l1, &c1) == RNNC_OK);
    uint32_t out1[3 * 6], out2[3 * 6], outb[6];
    int ol1[3], ol2[3], nb = 0;
    CHECK(rnnc_s2s_greedy(m, d.src, d.slen, 3, 4, 6, out1, ol1) == RNNC_OK);
    rnnc_s2s_hyp h[1];
    CHECK(rnnc_s2s_beam(m, d.src, d.slen[0], 1, 6, 0, 1, h, &nb) == RNNC_OK && nb == 1);
    m->c.reverse_source = false;
    CHECK(rnnc_s2s_forward_backward(ws, m, &br, &o, g2, 1.0f, NULL, &l2, &c2) == RNNC_OK);
    CHECK(rnnc_s2s_forward_backward(ws, m, &d.b, &o, NULL, 1.0f, NULL, &l3, &c2) == RNNC_OK);
    CHECK(rnnc_s2s_greedy(m, srcr, d.slen, 3, 4, 6, out2, ol2) == RNNC_OK);
    CHECK_MSG(l1 == l2, "loss %.9g vs %.9g", l1, l2);
    CHECK_MSG(l1 != l3, "reversing changes the loss (%.9g)", l1);
    CHECK(memcmp(g1, g2, n * sizeof *g1) == 0);
    CHECK(memcmp(ol1, ol2, sizeof ol1) == 0);
    for (int r = 0; r < 3; r++) CHECK(memcmp(out1 + r * 6, out2 + r * 6, (size_t)ol1[r] * sizeof(uint32_t)) == 0);
    /* beam of width 1 is greedy: the reversed reading reaches beam search too */
    if (nb == 1) {
        CHECK_EQ_LL(h[0].len, ol1[0]);
        memcpy(outb, h[0].ids, (size_t)h[0].len * sizeof(uint32_t));
        CHECK(memcmp(outb, out1, (size_t)ol1[0] * sizeof(uint32_t)) == 0);
        rnnc_s2s_hyp_free(&h[0]);
    }
    m->c.reverse_source = true;
    const char *path = "test_seq2seq_rev.safetensors";
    CHECK(rnnc_s2s_save(m, path, NULL, NULL, 0) == RNNC_OK);
    rnnc_s2s_model *m2 = NULL;
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_OK);
    CHECK(m2 && m2->c.reverse_source);
    rnnc_s2s_model_free(m2);
    remove(path);
    free(g1);
    free(g2);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_model_free(m);
}

/* Dropout in training (between the decoder's and encoder's layers, and on the decoder's outputs
 * before the head): with the RNG reset to the same state for every evaluation the masks are
 * fixed, so the analytic gradient must match finite differences; the masks change the loss, and
 * evaluation (training off) ignores them. */
static void test_gradcheck_dropout(void) {
    rnnc_s2s_vocab sv, tv;
    make_vocabs(&sv, &tv, 9, 8);
    rnnc_s2s_config c = {.cell = RNNC_CELL_LSTM, .embed = 3, .hidden = 4, .layers = 2, .dropout = 0.3f,
                         .output_dropout = 0.4f};
    rnnc_s2s_model *m = NULL;
    CHECK(rnnc_s2s_model_new(&m, &c, &sv, &tv) == RNNC_OK);
    if (!m) return;
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 13);
    rnnc_s2s_model_init(m, &rng);
    rnnc_s2s_ws *ws = tiny_ws(m);
    tiny_data d;
    tiny_batch(&d);
    float *g = calloc(m->n_params, sizeof *g);
    double l1 = loss_at(m, ws, &d.b, g, 99), l2 = loss_at(m, ws, &d.b, NULL, 99);
    double l3 = loss_at(m, ws, &d.b, NULL, 100), l_eval = loss_at(m, ws, &d.b, NULL, 0);
    CHECK_MSG(l1 == l2, "same seed, same masks: %.9g vs %.9g", l1, l2);
    CHECK_MSG(l1 != l3 && l1 != l_eval, "masks change the loss (%.6g, %.6g, eval %.6g)", l1, l3, l_eval);
    gradcheck_model(m, 99, "dropout with fixed masks");
    const char *path = "test_seq2seq_drop.safetensors";
    CHECK(rnnc_s2s_save(m, path, NULL, NULL, 0) == RNNC_OK);
    rnnc_s2s_model *m2 = NULL;
    CHECK(rnnc_s2s_load(&m2, path) == RNNC_OK);
    CHECK(m2 && m2->c.output_dropout == 0.4f && m2->c.dropout == 0.3f);
    rnnc_s2s_model_free(m2);
    remove(path);
    free(g);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_model_free(m);
}

/* The encoder and the decoder's teacher-forced pass run through the recurrent runner, so every
 * schedule of its time loops (rnnc_loop_mode) must give the same loss and gradient to the bit:
 * one- and two-direction encoders of 2 and 3 layers, LSTM and GRU, dropout between layers and on
 * the outputs, on 2 and 3 threads (the weight gradients' sums depend on the thread count, so the
 * modes are compared on each). */
static void test_loop_modes_identical(void) {
    const int nth0 = omp_get_max_threads();
    const rnnc_loop_mode modes[] = {RNNC_LOOP_SERIAL, RNNC_LOOP_UNITS, RNNC_LOOP_ROWS, RNNC_LOOP_DIRS, RNNC_LOOP_WAVE};
    const int NM = (int)(sizeof modes / sizeof *modes);
    const struct { rnnc_cell cell; bool bidir; int layers; } shapes[] = {
        {RNNC_CELL_LSTM, false, 2}, {RNNC_CELL_GRU, true, 2}, {RNNC_CELL_LSTM, false, 3}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (int nth = 2; nth <= 3; nth++) {
            rnnc_s2s_vocab sv, tv;
            make_vocabs(&sv, &tv, 9, 8);
            rnnc_s2s_config c = {.cell = shapes[si].cell, .embed = 5, .hidden = 36, .layers = shapes[si].layers,
                                 .bidirectional = shapes[si].bidir, .dropout = 0.3f, .output_dropout = 0.2f};
            rnnc_s2s_model *m = NULL;
            CHECK(rnnc_s2s_model_new(&m, &c, &sv, &tv) == RNNC_OK);
            if (!m) return;
            rnnc_rng rng;
            rnnc_rng_seed(&rng, 21);
            rnnc_s2s_model_init(m, &rng);
            rnnc_s2s_ws *ws = tiny_ws(m);
            tiny_data d;
            tiny_batch(&d);
            omp_set_num_threads(nth);
            float *g0 = NULL;
            double l0 = 0;
            for (int k = 0; k < NM; k++) {
                rnnc_rnn_set_loop_mode(modes[k]);
                float *g = calloc(m->n_params, sizeof *g);
                double l = loss_at(m, ws, &d.b, g, 99);
                CHECK(isfinite(l));
                if (k == 0) {
                    g0 = g;
                    l0 = l;
                    continue;
                }
                CHECK_MSG(l == l0 && !memcmp(g, g0, m->n_params * sizeof *g), "%s bidir %d layers %d, %d threads: mode %d differs",
                          rnnc_cell_name(c.cell), c.bidirectional, c.layers, nth, (int)modes[k]);
                free(g);
            }
            free(g0);
            rnnc_s2s_ws_free(ws);
            rnnc_s2s_model_free(m);
        }
    rnnc_rnn_set_loop_mode(RNNC_LOOP_AUTO);
    omp_set_num_threads(nth0);
}

/* path_out: the tensors of model file path_in (without `drop`, and with `extra` added when not
 * NULL) and its metadata, with metadata `key` set to `value` (added when missing). */
static void rewrite_model(const char *path_in, const char *path_out, const char *key, const char *value, const char *drop,
                          const rnnc_st_entry *extra) {
    rnnc_safetensors st;
    CHECK(rnnc_st_load(&st, path_in) == RNNC_OK);
    size_t n = 0, nm = 0;
    rnnc_st_entry *e = calloc(st.n_tensors + 1, sizeof *e);
    const char **mk = calloc(st.n_meta + 1, sizeof *mk), **mv = calloc(st.n_meta + 1, sizeof *mv);
    for (size_t i = 0; i < st.n_tensors; i++) {
        const rnnc_st_tensor *t = &st.tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        e[n] = (rnnc_st_entry){t->name, t->dtype, t->ndim, {0}, t->data};
        for (int d = 0; d < t->ndim; d++) e[n].shape[d] = t->shape[d];
        n++;
    }
    if (extra) e[n++] = *extra;
    bool set = false;
    for (size_t i = 0; i < st.n_meta; i++) {
        mk[nm] = st.meta_keys[i];
        mv[nm++] = key && !strcmp(key, st.meta_keys[i]) ? (set = true, value) : st.meta_values[i];
    }
    if (key && !set) { mk[nm] = key; mv[nm++] = value; }
    CHECK(rnnc_st_save(path_out, e, n, mk, mv, nm) == RNNC_OK);
    free(e); free(mk); free(mv);
    rnnc_st_free(&st);
}

/* Loading path must fail with `code` and a message holding `needle` and the path. */
static void expect_s2s_error(const char *path, rnnc_status code, const char *needle, const char *what) {
    rnnc_s2s_model *m = (rnnc_s2s_model *)1;
    rnnc_status s = rnnc_s2s_load(&m, path);
    CHECK_MSG(s == code, "%s: status %d, expected %d (%s)", what, (int)s, (int)code, rnnc_last_error());
    CHECK(m == NULL);
    CHECK_MSG(strstr(rnnc_last_error(), needle) && strstr(rnnc_last_error(), path), "%s: '%s' lacks '%s'", what,
              rnnc_last_error(), needle);
    if (!s) rnnc_s2s_model_free(m);
}

/* Hostile seq2seq files: configs out of bounds (checked as doubles before any cast), repeated
 * keys, configs the tensors do not hold (refused by tensor name before allocating), bad
 * vocabularies, NaN/Inf weights. */
static void test_hostile_files(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, true, 1, 4); /* Vs 9, Vt 8, E 3, H 4 */
    const char *good = "test_seq2seq_good.safetensors", *bad = "test_seq2seq_bad.safetensors";
    CHECK(rnnc_s2s_save(m, good, NULL, NULL, 0) == RNNC_OK);
    const char *base = "\"cell\":\"lstm\",\"src_vocab\":9,\"tgt_vocab\":8,\"embed\":3,\"bidirectional\":true,\"dropout\":0";
    static const struct { const char *rest, *needle; } cases[] = {
        {"\"hidden\":16384,\"layers\":64",
         "tensor 'encoder.weight_ih_l0' has shape (16, 3) but rnnc.seq2seq asks for (65536, 3) (cell lstm, vocabularies 9 "
         "and 8, embed 3, hidden 16384, layers 64, bidirectional)"},
        {"\"hidden\":4,\"layers\":2", "tensor 'encoder.weight_ih_l1' is missing (rnnc.seq2seq: cell lstm"},
        {"\"hidden\":5,\"layers\":1", "tensor 'encoder.weight_ih_l0' has shape (16, 3) but rnnc.seq2seq asks for (20, 3)"},
        {"\"hidden\":4,\"layers\":1,\"src_vocab\":3e9", "has the key \"src_vocab\" twice"},
        {"\"hidden\":4,\"layers\":1,\"hidden\":4", "has the key \"hidden\" twice"},
        {"\"hidden\":4.5,\"layers\":1", "\"hidden\" is 4.5, not an integer in [1, 65536]"},
        {"\"hidden\":4,\"layers\":-1", "\"layers\" is -1, not an integer in [1, 64]"},
        {"\"hidden\":4,\"layers\":1e400", "\"layers\" is inf, not an integer"},
        {"\"hidden\":4,\"layers\":\"1\"", "\"layers\" missing or not a number"},
        {"\"hidden\":4,\"layers\":1,\"output_dropout\":1e300", "\"output_dropout\" is 1e+300, not in [0, 1)"},
        {"\"hidden\":4,\"layers\":1,\"reverse_source\":1", "\"reverse_source\" is not true/false"},
    };
    char cfg[512];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(cfg, sizeof cfg, "{%s,%s}", base, cases[c].rest);
        rewrite_model(good, bad, "rnnc.seq2seq", cfg, NULL, NULL);
        char what[32];
        snprintf(what, sizeof what, "case %zu", c);
        expect_s2s_error(bad, RNNC_ERR_FORMAT, cases[c].needle, what);
    }
    /* src_vocab 3e9 was cast to int before any range check (undefined behaviour) */
    rewrite_model(good, bad, "rnnc.seq2seq",
                  "{\"cell\":\"lstm\",\"src_vocab\":3e9,\"tgt_vocab\":8,\"embed\":3,\"hidden\":4,\"layers\":1,"
                  "\"bidirectional\":true,\"dropout\":0}", NULL, NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "\"src_vocab\" is 3000000000, not an integer in [5, 16777216]", "3e9");
    /* vocabularies: the sizes the config names, symbols once each */
    rewrite_model(good, bad, "rnnc.src_vocab", "s4\ns5\ns6\ns7\ns4\n", NULL, NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "rnnc.src_vocab: symbol 5 ('s4') appears twice", "duplicate symbol");
    rewrite_model(good, bad, "rnnc.src_vocab", "s4\ns5\n", NULL, NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "rnnc.src_vocab gives 6 ids (the 4 specials included) but the config says src_vocab 9", "short vocabulary");
    rewrite_model(good, bad, "rnnc.tgt_vocab", "T4\n", NULL, NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "rnnc.tgt_vocab gives 5 ids (the 4 specials included) but the config says tgt_vocab 8",
                     "short target vocabulary");
    rewrite_model(good, bad, "rnnc.tgt_vocab", "T4\n<bos>\n", NULL, NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "rnnc.tgt_vocab: symbol 2 ('<bos>') is a special token", "special");
    rewrite_model(good, bad, "rnnc.tokenizers", "space space space", NULL, NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "is not two of space/char/word/bpe/file", "three tags");
    /* tensors: missing, unexpected (train.* ones are a checkpoint's and skipped), wrong shape */
    rewrite_model(good, bad, NULL, NULL, "bridge_c.bias_l0", NULL);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "tensor 'bridge_c.bias_l0' is missing", "missing");
    float z[4] = {0};
    rnnc_st_entry x = {.name = "decoder.weight_ih_l1", .dtype = RNNC_DT_F32, .ndim = 1, .shape = {4}, .data = z};
    rewrite_model(good, bad, NULL, NULL, NULL, &x);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "unexpected tensor 'decoder.weight_ih_l1'", "unexpected");
    x.name = "train.state";
    rewrite_model(good, bad, NULL, NULL, NULL, &x);
    rnnc_s2s_model *m2 = NULL;
    CHECK(rnnc_s2s_load(&m2, bad) == RNNC_OK);
    rnnc_s2s_model_free(m2);
    x.name = "head.bias"; /* (4) instead of (8) */
    rewrite_model(good, bad, NULL, NULL, "head.bias", &x);
    expect_s2s_error(bad, RNNC_ERR_FORMAT, "tensor 'head.bias' has shape (4) but rnnc.seq2seq asks for (8)", "shape");
    /* NaN and Inf weights name the tensor */
    static const struct { size_t k, i; float v; const char *needle; } nf[] = {
        {0, 3, NAN, "tensor 'src_embedding.weight' holds a non-finite value (nan) at element 3"},
        {2, 1, INFINITY, "tensor 'encoder.weight_hh_l0' holds a non-finite value (inf) at element 1"},
        {9, 0, -INFINITY, "tensor 'bridge_h.weight_l0' holds a non-finite value (-inf) at element 0"},
    };
    for (size_t c = 0; c < sizeof nf / sizeof nf[0]; c++) {
        rnnc_param_info p = rnnc_s2s_tensor(m, nf[c].k);
        float keep = m->params[p.offset + nf[c].i];
        m->params[p.offset + nf[c].i] = nf[c].v;
        CHECK(rnnc_s2s_save(m, bad, NULL, NULL, 0) == RNNC_OK);
        m->params[p.offset + nf[c].i] = keep;
        expect_s2s_error(bad, RNNC_ERR_NUMERIC, nf[c].needle, "non-finite");
    }
    /* the config alone: bounded fields, vocabulary sizes checked before their conversion to int */
    rnnc_s2s_config c = m->c;
    c.hidden = 65537;
    CHECK(rnnc_s2s_config_check(&c) == RNNC_ERR_ARG);
    c.hidden = 4; c.layers = 65;
    CHECK(rnnc_s2s_config_check(&c) == RNNC_ERR_ARG);
    c.layers = 1; c.src_vocab = (1 << 24) + 1;
    CHECK(rnnc_s2s_config_check(&c) == RNNC_ERR_ARG);
    c.src_vocab = 9; c.hidden = 40000; /* bridge (H, 2H) of over 2^31 floats */
    CHECK(rnnc_s2s_config_check(&c) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "over 2^31 floats") != NULL);
    remove(good);
    remove(bad);
    rnnc_s2s_model_free(m);
}

/* Done with a translator or a model, done with their temporaries: freeing either empties the
 * scratch cache */
static void test_free_trims_scratch(void) {
    rnnc_s2s_model *m = tiny_model(RNNC_CELL_LSTM, false, 1, 5);
    CHECK(m != NULL);
    if (!m) return;
    rnnc_s2s_translator *t = NULL;
    CHECK_EQ_LL(rnnc_s2s_translator_new(&t, m), RNNC_OK);
    if (t) CHECK_FREE_TRIMS_SCRATCH(rnnc_s2s_translator_free, t);
    CHECK_FREE_TRIMS_SCRATCH(rnnc_s2s_model_free, m);
}

int main(void) {
    RUN(test_free_trims_scratch);
    RUN(test_gradcheck_lstm_bidir);
    RUN(test_gradcheck_gru_bidir);
    RUN(test_gradcheck_lstm_uni);
    RUN(test_gradcheck_elman);
    RUN(test_padding_masks);
    RUN(test_label_smoothing_gradient);
    RUN(test_scheduled_sampling);
    RUN(test_greedy_and_beam);
    RUN(test_beam_batched);
    RUN(test_beam_many_sources);
    RUN(test_translate);
    RUN(test_translator);
    RUN(test_model_file);
    RUN(test_hostile_files);
    RUN(test_reverse_source);
    RUN(test_gradcheck_dropout);
    RUN(test_loop_modes_identical);
    return test_report();
}
