/* libFuzzer target: seq2seq model files, their config ("rnnc.seq2seq") and vocabulary metadata.
 *
 * Input starting with one of s c w b f: a stored vocabulary of that kind (space, char, word, bpe,
 * file) in the rest of the input, read with rnnc_s2s_vocab_from_string. One that loads must give
 * its own stored form back after to_string -> from_string, find each of its symbols at its id,
 * and encode and decode text with ids inside it.
 * Any other input: a whole model file, written to a temp file and loaded with rnnc_s2s_load (the
 * loader reads a path; the config and both vocabularies are parsed from the metadata there). A
 * model that loads must have vocabularies of its config's sizes and finite weights, decode greedily
 * and by beam search to target ids inside its vocabulary, and run a training forward/backward on
 * one pair. Failures must leave a message and no object.
 * Seeds: real tiny models made by tools/make_fuzz_seeds.c (a real model file's header length is a
 * multiple of 8, so its first byte is never one of the kind letters). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

static const char PROBE[] = "w o r d the cat sat. 2001-03-03 \xC3\xA9t\xC3\xA9 <unk> <|endoftext|>";

static void check_vocab(rnnc_s2s_vocab *v) {
    FUZZ_CHECK(v->n >= RNNC_S2S_NSPECIAL);
    if (!v->tk)
        for (size_t id = RNNC_S2S_NSPECIAL; id < v->n; id++)
            FUZZ_CHECK(rnnc_s2s_vocab_find(v, v->sym[id], strlen(v->sym[id])) == id);
    rnnc_ids ids = {0};
    rnnc_bytes out = {0};
    size_t unk = 0;
    rnnc_status s = rnnc_s2s_encode_ex(v, PROBE, sizeof PROBE - 1, false, &ids, &unk);
    FUZZ_CHECK(s == RNNC_OK);
    for (size_t i = 0; i < ids.len; i++) FUZZ_CHECK(ids.data[i] < v->n);
    FUZZ_CHECK(rnnc_s2s_decode(v, ids.data, ids.len, &out) == RNNC_OK);
    uint32_t bad = (uint32_t)v->n;
    fuzz_clear_error();
    fuzz_check_failed(rnnc_s2s_decode(v, &bad, 1, &out));
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&out);
}

static void vocab_mode(rnnc_s2s_tok tok, const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    rnnc_s2s_vocab v;
    fuzz_clear_error();
    rnnc_status s = rnnc_s2s_vocab_from_string(&v, tok, text, "fuzz");
    free(text);
    if (s) {
        fuzz_check_failed(s);
        FUZZ_CHECK(v.sym == NULL && v.table == NULL && v.tk == NULL);
        return;
    }
    FUZZ_CHECK(v.tok == tok);
    check_vocab(&v);
    rnnc_bytes a = {0}, b = {0};
    FUZZ_CHECK(rnnc_s2s_vocab_to_string(&v, &a) == RNNC_OK);
    rnnc_s2s_vocab w;
    FUZZ_CHECK(rnnc_s2s_vocab_from_string(&w, tok, (const char *)a.data, "again") == RNNC_OK);
    FUZZ_CHECK(w.n == v.n);
    FUZZ_CHECK(rnnc_s2s_vocab_to_string(&w, &b) == RNNC_OK);
    FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    rnnc_bytes_free(&a);
    rnnc_bytes_free(&b);
    rnnc_s2s_vocab_free(&w);
    rnnc_s2s_vocab_free(&v);
}

/* One teacher-forced forward and backward (scheduled sampling and dropout on) of the pair
 * (source, greedy output): a loss over |target| + 1 steps and gradients for every parameter. */
static void train_step(const rnnc_s2s_model *m, uint32_t *src, int Ts, const uint32_t *tgt, int n) {
    enum { TT = 5 };
    uint32_t tin[TT], tout[TT];
    int slen = Ts, tlen = n + 1;
    size_t item = 0;
    int ref = 0;
    tin[0] = RNNC_S2S_BOS;
    for (int i = 0; i < n; i++) { tin[i + 1] = tgt[i]; tout[i] = tgt[i]; }
    tout[n] = RNNC_S2S_EOS;
    for (int i = n + 1; i < TT; i++) tin[i] = tout[i] = RNNC_S2S_PAD;
    rnnc_s2s_batch b = {1, Ts, TT, src, &slen, tin, tout, &tlen, &item, &ref};
    rnnc_s2s_ws *ws;
    FUZZ_CHECK(rnnc_s2s_ws_new(&ws, m, 1, Ts, TT) == RNNC_OK);
    float *grads = calloc(m->n_params, sizeof *grads);
    FUZZ_CHECK(grads != NULL);
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 7);
    rnnc_s2s_train_opts o = {0.5f, 0.1f, true};
    double loss = -1;
    long count = 0;
    fuzz_clear_error();
    rnnc_status s = rnnc_s2s_forward_backward(ws, m, &b, &o, grads, 1.0f, &rng, &loss, &count);
    if (s) fuzz_check_failed(s); /* a finite model may still overflow */
    else FUZZ_CHECK(count == tlen && !(loss < 0));
    free(grads);
    rnnc_s2s_ws_free(ws);
}

static void model_mode(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("s2s.safetensors", data, size);
    rnnc_s2s_model *m;
    fuzz_clear_error();
    rnnc_status s = rnnc_s2s_load(&m, path);
    if (s) { fuzz_check_failed(s); FUZZ_CHECK(m == NULL); return; }
    FUZZ_CHECK(rnnc_s2s_config_check(&m->c) == RNNC_OK);
    FUZZ_CHECK(m->src_vocab.n == (size_t)m->c.src_vocab && m->tgt_vocab.n == (size_t)m->c.tgt_vocab);
    size_t nt = rnnc_s2s_num_tensors(m), total = 0;
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_s2s_tensor(m, k);
        FUZZ_CHECK(p.offset + p.size <= m->n_params);
        total += p.size;
    }
    FUZZ_CHECK(total == m->n_params);
    for (size_t i = 0; i < m->n_params; i++) FUZZ_CHECK(isfinite(m->params[i]));
    check_vocab(&m->src_vocab);
    check_vocab(&m->tgt_vocab);

    /* Decode one source read with the model's own vocabulary (at most 4 symbols, at least one). */
    rnnc_ids src = {0};
    FUZZ_CHECK(rnnc_s2s_encode(&m->src_vocab, PROBE, sizeof PROBE - 1, false, &src) == RNNC_OK);
    int Ts = src.len < 4 ? (int)src.len : 4;
    if (Ts == 0) { FUZZ_CHECK(rnnc_ids_push(&src, RNNC_S2S_UNK) == RNNC_OK); Ts = 1; }
    enum { MAXLEN = 4 };
    uint32_t out[MAXLEN];
    int out_len = -1;
    FUZZ_CHECK(rnnc_s2s_greedy(m, src.data, &Ts, 1, Ts, MAXLEN, out, &out_len) == RNNC_OK);
    FUZZ_CHECK(out_len >= 0 && out_len <= MAXLEN);
    for (int i = 0; i < out_len; i++) FUZZ_CHECK(out[i] < m->tgt_vocab.n);
    rnnc_bytes text = {0};
    FUZZ_CHECK(rnnc_s2s_decode(&m->tgt_vocab, out, (size_t)out_len, &text) == RNNC_OK);
    rnnc_bytes_free(&text);
    rnnc_s2s_hyp hyp[2];
    int n_hyp = 0;
    FUZZ_CHECK(rnnc_s2s_beam(m, src.data, Ts, 2, MAXLEN, 1.0, 2, hyp, &n_hyp) == RNNC_OK);
    FUZZ_CHECK(n_hyp >= 0 && n_hyp <= 2);
    for (int h = 0; h < n_hyp; h++) {
        FUZZ_CHECK(hyp[h].len >= 0 && hyp[h].len <= MAXLEN);
        for (int i = 0; i < hyp[h].len; i++) FUZZ_CHECK(hyp[h].ids[i] < m->tgt_vocab.n);
        rnnc_s2s_hyp_free(&hyp[h]);
    }
    train_step(m, src.data, Ts, out, out_len);
    rnnc_ids_free(&src);
    rnnc_s2s_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char kinds[] = "scwbf";
    const char *k = size ? memchr(kinds, data[0], 5) : NULL;
    if (k) vocab_mode((rnnc_s2s_tok)(k - kinds), data + 1, size - 1);
    else model_mode(data, size);
    return 0;
}
