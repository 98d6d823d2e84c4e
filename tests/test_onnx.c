/* ONNX export (src/io/onnx.c): rnnc itself is the reference. Small random models of every cell
 * (Elman tanh and relu, LSTM, GRU), one and several layers, language models and seq2seq models
 * (unidirectional, bidirectional with the tanh bridge, sources reversed, rows of several lengths)
 * are exported; random ids and states go through rnnc (the LM's window forward, the seq2seq
 * encoder and the decoder step that greedy and beam decoding use) and the inputs and rnnc's
 * outputs are written beside each graph. Then
 *   - tools/onnx/ort_check.js runs every graph in ONNX Runtime (npm onnxruntime-node) and holds
 *     its logits and states to rnnc's within 1e-4 relative, and greedy decoding through the
 *     encoder and decoder graphs to rnnc_s2s_greedy's tokens;
 *   - tools/onnx/check_model.py runs onnx.checker.check_model(full_check=True) (Debian's
 *     python3-onnx) on every file.
 * Without node's onnxruntime-node or python3-onnx the checks are skipped with a message, except
 * under CI=true, where that is a failure (scripts/install-onnxruntime.sh and install-deps.sh
 * install them). Also: refusals (a cell value without an ONNX operator, a graph over the size
 * limit, an unwritable path) leave no file and keep an old one. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "test.h"

/* the largest file the writer makes (protobuf's 2 GiB); lowered here to test the refusal */
extern uint64_t rnnc_onnx_max_bytes;

static char dir[64];
static rnnc_rng rng;

static float urand(float a) { return (2.0f * rnnc_rng_uniform(&rng) - 1.0f) * a; }

static const char *path_of(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* ---- writing the references ---- */

typedef struct {
    rnnc_st_entry e[16];
    size_t n;
    void *owned[16];
} ref_file;

static void ref_f32(ref_file *r, const char *name, const float *data, int ndim, const int64_t *shape) {
    rnnc_st_entry *e = &r->e[r->n++];
    e->name = name;
    e->dtype = RNNC_DT_F32;
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
    e->data = data;
}

/* int64 copies of uint32 ids (owned by r) */
static void ref_i64(ref_file *r, const char *name, const uint32_t *ids, const int *ints, size_t n, int ndim,
                    const int64_t *shape) {
    int64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = ids ? (int64_t)ids[i] : (int64_t)ints[i];
    r->owned[r->n] = v;
    rnnc_st_entry *e = &r->e[r->n++];
    e->name = name;
    e->dtype = RNNC_DT_I64;
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
    e->data = v;
}

static void ref_save(ref_file *r, const char *name) {
    CHECK_MSG(rnnc_st_save(path_of(name), r->e, r->n, NULL, NULL, 0) == RNNC_OK, "%s", rnnc_last_error());
    for (size_t i = 0; i < r->n; i++) free(r->owned[i]);
    memset(r, 0, sizeof *r);
}

/* ---- language models ---- */

/* An LM of the given cell and size, exported, with rnnc's logits and final states for random ids
 * (B, T) from random states. */
static void lm_case(const char *name, rnnc_cell cell, int V, int E, int H, int L, int B, int T) {
    rnnc_lm_config c = {cell, V, E, H, L, 0.3f};
    rnnc_lm *m;
    if (rnnc_lm_new(&m, &c)) { CHECK_MSG(0, "%s", rnnc_last_error()); return; }
    rnnc_lm_init(m, &rng);
    CHECK_EQ_LL(rnnc_lm_set_meta(m, "rnnc.tokenizer", "{\"type\": \"none\"}"), RNNC_OK);
    char file[96];
    snprintf(file, sizeof file, "%s.onnx", name);
    CHECK_MSG(rnnc_onnx_export_lm(m, path_of(file)) == RNNC_OK, "%s: %s", name, rnnc_last_error());

    rnnc_lm_ws *ws;
    CHECK_EQ_LL(rnnc_lm_ws_new(&ws, m, B, T), RNNC_OK);
    size_t ns = (size_t)L * B * H;
    bool lstm = rnnc_cell_info_of(cell)->states == 2;
    int *ids = malloc((size_t)B * T * sizeof *ids);
    float *h0 = malloc(ns * sizeof *h0), *c0 = malloc(ns * sizeof *c0);
    for (int i = 0; i < B * T; i++) ids[i] = (int)rnnc_rng_below(&rng, (uint64_t)V);
    for (size_t i = 0; i < ns; i++) { h0[i] = urand(1); c0[i] = urand(2); }
    memcpy(rnnc_lm_ws_h(ws), h0, ns * sizeof *h0);
    if (lstm) memcpy(rnnc_lm_ws_c(ws), c0, ns * sizeof *c0);
    const float *logits;
    CHECK_EQ_LL(rnnc_lm_forward(m, ws, ids, B, T, false, NULL, &logits), RNNC_OK);

    ref_file r = {0};
    int64_t s_ids[2] = {B, T}, s_st[3] = {L, B, H}, s_lg[3] = {B, T, V};
    ref_i64(&r, "in.ids", NULL, ids, (size_t)B * T, 2, s_ids);
    ref_f32(&r, "in.h0", h0, 3, s_st);
    if (lstm) ref_f32(&r, "in.c0", c0, 3, s_st);
    ref_f32(&r, "out.logits", logits, 3, s_lg);
    ref_f32(&r, "out.hn", rnnc_lm_ws_h(ws), 3, s_st);
    if (lstm) ref_f32(&r, "out.cn", rnnc_lm_ws_c(ws), 3, s_st);
    snprintf(file, sizeof file, "%s.ref.safetensors", name);
    ref_save(&r, file);
    free(ids); free(h0); free(c0);
    rnnc_lm_ws_free(ws);
    rnnc_lm_free(m);
}

/* ---- seq2seq ---- */

static rnnc_s2s_model *s2s_model(rnnc_cell cell, int Vs, int Vt, int E, int H, int L, bool bi, bool rev) {
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_SPACE);
    char b[16];
    uint32_t id;
    for (int i = RNNC_S2S_NSPECIAL; i < Vs; i++) rnnc_s2s_vocab_add(&sv, b, (size_t)snprintf(b, sizeof b, "s%d", i), &id);
    for (int i = RNNC_S2S_NSPECIAL; i < Vt; i++) rnnc_s2s_vocab_add(&tv, b, (size_t)snprintf(b, sizeof b, "T%d", i), &id);
    rnnc_s2s_config c = {.cell = cell, .embed = E, .hidden = H, .layers = L, .bidirectional = bi, .reverse_source = rev,
                         .dropout = 0.2f, .output_dropout = 0.3f};
    rnnc_s2s_model *m;
    if (rnnc_s2s_model_new(&m, &c, &sv, &tv)) { CHECK_MSG(0, "%s", rnnc_last_error()); return NULL; }
    rnnc_s2s_model_init(m, &rng);
    return m;
}

/* A seq2seq model exported as NAME.encoder.onnx and NAME.decoder.onnx, with rnnc's numbers for
 * B random sources of lengths in [1, S] (the longest max_len, so all rows may be padded): the
 * encoder's outputs and the decoder's initial state; T decoder steps from that state on random
 * previous tokens (rnnc_s2s_decode_step, T times) against the decoder graph run once over (B, T);
 * and greedy decoding's tokens. */
static void s2s_case(const char *name, rnnc_cell cell, int L, bool bi, bool rev, int B, int S, int max_len, int T) {
    int Vs = 12, Vt = 10, E = 5, H = 6;
    rnnc_s2s_model *m = s2s_model(cell, Vs, Vt, E, H, L, bi, rev);
    if (!m) return;
    char file[96];
    snprintf(file, sizeof file, "%s.encoder.onnx", name);
    CHECK_MSG(rnnc_onnx_export_s2s_encoder(m, path_of(file)) == RNNC_OK, "%s: %s", name, rnnc_last_error());
    snprintf(file, sizeof file, "%s.decoder.onnx", name);
    CHECK_MSG(rnnc_onnx_export_s2s_decoder(m, path_of(file)) == RNNC_OK, "%s: %s", name, rnnc_last_error());

    int D = bi ? 2 : 1;
    bool lstm = rnnc_cell_info_of(cell)->states == 2;
    size_t ns = (size_t)L * B * H;
    uint32_t *src = calloc((size_t)B * S, sizeof *src); /* <pad> = 0 after each length */
    int *len = malloc((size_t)B * sizeof *len);
    for (int b = 0; b < B; b++) {
        len[b] = b == 0 ? max_len : 1 + (int)rnnc_rng_below(&rng, (uint64_t)max_len);
        for (int t = 0; t < len[b]; t++) src[(size_t)b * S + t] = RNNC_S2S_NSPECIAL + (uint32_t)rnnc_rng_below(&rng, (uint64_t)(Vs - RNNC_S2S_NSPECIAL));
    }
    float *y = malloc((size_t)B * S * D * H * sizeof *y), *h0 = malloc(ns * sizeof *h0), *c0 = malloc(ns * sizeof *c0);
    CHECK_MSG(rnnc_s2s_encoder_forward(m, src, len, B, S, h0, lstm ? c0 : NULL, y) == RNNC_OK, "%s", rnnc_last_error());
    ref_file r = {0};
    int64_t s_src[2] = {B, S}, s_len[1] = {B}, s_y[3] = {B, S, (int64_t)D * H}, s_st[3] = {L, B, H};
    ref_i64(&r, "in.src", src, NULL, (size_t)B * S, 2, s_src);
    ref_i64(&r, "in.src_lengths", NULL, len, (size_t)B, 1, s_len);
    ref_f32(&r, "out.encoder_outputs", y, 3, s_y);
    ref_f32(&r, "out.h0", h0, 3, s_st);
    if (lstm) ref_f32(&r, "out.c0", c0, 3, s_st);
    snprintf(file, sizeof file, "%s.encoder.ref.safetensors", name);
    ref_save(&r, file);

    /* the decoder over T steps from the encoder's state, one rnnc step at a time */
    int Vo = m->c.tgt_vocab;
    uint32_t *ids = malloc((size_t)B * T * sizeof *ids), *col = malloc((size_t)B * sizeof *col);
    float *logits = malloc((size_t)B * T * Vo * sizeof *logits), *step = malloc((size_t)B * Vo * sizeof *step);
    float *h = malloc(ns * sizeof *h), *cc = malloc(ns * sizeof *cc), *h2 = malloc(ns * sizeof *h2), *c2 = malloc(ns * sizeof *c2);
    for (int i = 0; i < B * T; i++) ids[i] = (uint32_t)rnnc_rng_below(&rng, (uint64_t)Vo);
    memcpy(h, h0, ns * sizeof *h);
    memcpy(cc, c0, ns * sizeof *cc);
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) col[b] = ids[(size_t)b * T + t];
        CHECK_MSG(rnnc_s2s_decode_step(m, col, B, h, lstm ? cc : NULL, step, h2, lstm ? c2 : NULL) == RNNC_OK, "%s",
                  rnnc_last_error());
        for (int b = 0; b < B; b++) memcpy(logits + ((size_t)b * T + t) * Vo, step + (size_t)b * Vo, (size_t)Vo * sizeof *step);
        memcpy(h, h2, ns * sizeof *h);
        memcpy(cc, c2, ns * sizeof *cc);
    }
    int64_t s_ids[2] = {B, T}, s_lg[3] = {B, T, Vo};
    ref_i64(&r, "in.ids", ids, NULL, (size_t)B * T, 2, s_ids);
    ref_f32(&r, "in.h0", h0, 3, s_st);
    if (lstm) ref_f32(&r, "in.c0", c0, 3, s_st);
    ref_f32(&r, "out.logits", logits, 3, s_lg);
    ref_f32(&r, "out.hn", h, 3, s_st);
    if (lstm) ref_f32(&r, "out.cn", cc, 3, s_st);
    snprintf(file, sizeof file, "%s.decoder.ref.safetensors", name);
    ref_save(&r, file);

    /* greedy decoding: rnnc's tokens, -1 after each row's end */
    int G = 8;
    uint32_t *out = malloc((size_t)B * G * sizeof *out);
    int *out_len = malloc((size_t)B * sizeof *out_len), *tok = malloc((size_t)B * G * sizeof *tok);
    CHECK_EQ_LL(rnnc_s2s_greedy(m, src, len, B, S, G, out, out_len), RNNC_OK);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < G; t++) tok[b * G + t] = t < out_len[b] ? (int)out[(size_t)b * G + t] : -1;
    int64_t s_tok[2] = {B, G};
    ref_i64(&r, "src", src, NULL, (size_t)B * S, 2, s_src);
    ref_i64(&r, "src_lengths", NULL, len, (size_t)B, 1, s_len);
    ref_i64(&r, "tokens", NULL, tok, (size_t)B * G, 2, s_tok);
    snprintf(file, sizeof file, "%s.greedy.safetensors", name);
    ref_save(&r, file);

    free(out); free(out_len); free(tok);
    free(ids); free(col); free(logits); free(step); free(h); free(cc); free(h2); free(c2);
    free(src); free(len); free(y); free(h0); free(c0);
    rnnc_s2s_model_free(m);
}

static void test_export_cases(void) {
    /* every cell, one and several layers; a batch-1 one-step call (generation) */
    lm_case("lm_rnn_tanh_1", RNNC_CELL_RNN_TANH, 13, 6, 8, 1, 3, 5);
    lm_case("lm_rnn_relu_2", RNNC_CELL_RNN_RELU, 13, 6, 8, 2, 3, 5);
    lm_case("lm_lstm_1", RNNC_CELL_LSTM, 13, 6, 8, 1, 2, 4);
    lm_case("lm_lstm_3", RNNC_CELL_LSTM, 29, 7, 16, 3, 3, 6);
    lm_case("lm_gru_1", RNNC_CELL_GRU, 13, 6, 8, 1, 3, 5);
    lm_case("lm_gru_2", RNNC_CELL_GRU, 13, 6, 8, 2, 2, 7);
    lm_case("lm_lstm_2_step", RNNC_CELL_LSTM, 40, 8, 32, 2, 1, 1);
    /* seq2seq: bidirectional encoders (the tanh bridge, of c too for LSTM), reversed sources,
     * rows of several lengths and all rows shorter than the padded width */
    s2s_case("s2s_lstm_bi_rev_2", RNNC_CELL_LSTM, 2, true, true, 4, 7, 7, 3);
    s2s_case("s2s_lstm_bi_1", RNNC_CELL_LSTM, 1, true, false, 3, 6, 4, 2);
    s2s_case("s2s_gru_bi_2", RNNC_CELL_GRU, 2, true, false, 4, 6, 6, 3);
    s2s_case("s2s_gru_uni_rev_1", RNNC_CELL_GRU, 1, false, true, 3, 5, 5, 2);
    s2s_case("s2s_rnn_tanh_bi_2", RNNC_CELL_RNN_TANH, 2, true, true, 3, 6, 6, 2);
    s2s_case("s2s_rnn_relu_uni_2", RNNC_CELL_RNN_RELU, 2, false, false, 3, 5, 3, 3);
    s2s_case("s2s_lstm_uni_2", RNNC_CELL_LSTM, 2, false, false, 2, 4, 4, 4);
}

/* ---- the runtimes ---- */

static bool ci(void) {
    const char *v = getenv("CI");
    return v && *v && strcmp(v, "false") && strcmp(v, "0");
}

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A runtime check: run when `probe` succeeds, else skipped with `why`, or failed under CI=true. */
static void runtime_check(const char *probe, const char *cmd, const char *why) {
    if (sh(probe) != 0) {
        if (ci()) CHECK_MSG(0, "CI=true and %s", why);
        else printf("skipped: %s\n", why);
        return;
    }
    fflush(stdout);
    CHECK_MSG(sh(cmd) == 0, "%s", cmd);
}

static void test_onnxruntime(void) {
    char probe[1024], cmd[1024];
    snprintf(probe, sizeof probe, "node -e 'require(\"%s/../tools/onnx/node_modules/onnxruntime-node\")' >/dev/null 2>&1",
             RNNC_TEST_DIR);
    snprintf(cmd, sizeof cmd, "node '%s/../tools/onnx/ort_check.js' '%s'", RNNC_TEST_DIR, dir);
    runtime_check(probe, cmd,
                  "node's onnxruntime-node is missing (scripts/install-onnxruntime.sh installs it): ONNX Runtime not run");
}

static void test_onnx_checker(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/../tools/onnx/check_model.py' '%s'/*.onnx", RNNC_TEST_DIR, dir);
    runtime_check("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1", cmd,
                  "python3-onnx is missing (scripts/install-deps.sh installs it): the ONNX checker not run");
}

/* ---- refusals ---- */

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_refusals(void) {
    rnnc_lm_config c = {RNNC_CELL_LSTM, 11, 4, 6, 2, 0};
    rnnc_lm *m;
    if (rnnc_lm_new(&m, &c)) { CHECK_MSG(0, "%s", rnnc_last_error()); return; }
    rnnc_lm_init(m, &rng);
    char old[256], bad[256];
    snprintf(old, sizeof old, "%s", path_of("old.onnx"));
    CHECK_EQ_LL(rnnc_write_file_atomic(old, "old", 3), RNNC_OK);

    /* a cell value the exporter has no operator for (a cell added to rnnc later) */
    m->c.cell = RNNC_CELL_COUNT;
    CHECK_EQ_LL(rnnc_onnx_export_lm(m, old), RNNC_ERR_ARG);
    CHECK_MSG(strstr(rnnc_last_error(), "no ONNX operator") != NULL, "%s", rnnc_last_error());
    m->c.cell = RNNC_CELL_LSTM;

    /* a graph over the size limit: nothing written, the old file kept */
    uint64_t keep = rnnc_onnx_max_bytes;
    rnnc_onnx_max_bytes = 1000;
    CHECK_EQ_LL(rnnc_onnx_export_lm(m, old), RNNC_ERR_ARG);
    CHECK_MSG(strstr(rnnc_last_error(), "at most") != NULL && strstr(rnnc_last_error(), old) != NULL, "%s", rnnc_last_error());
    rnnc_onnx_max_bytes = keep;
    unsigned char *d;
    size_t n;
    CHECK_EQ_LL(rnnc_read_file(old, &d, &n), RNNC_OK);
    CHECK(n == 3 && !memcmp(d, "old", 3));
    free(d);

    /* an unwritable path names itself */
    snprintf(bad, sizeof bad, "%s", path_of("no/such/dir/m.onnx"));
    CHECK_EQ_LL(rnnc_onnx_export_lm(m, bad), RNNC_ERR_IO);
    CHECK_MSG(strstr(rnnc_last_error(), bad) != NULL, "%s", rnnc_last_error());
    CHECK(!exists(bad));

    /* the same model twice gives the same bytes (no uninitialised padding, no clock) */
    CHECK_EQ_LL(rnnc_onnx_export_lm(m, path_of("a.onnx")), RNNC_OK);
    CHECK_EQ_LL(rnnc_onnx_export_lm(m, path_of("b.onnx")), RNNC_OK);
    unsigned char *a, *b;
    size_t na, nb;
    CHECK_EQ_LL(rnnc_read_file(path_of("a.onnx"), &a, &na), RNNC_OK);
    CHECK_EQ_LL(rnnc_read_file(path_of("b.onnx"), &b, &nb), RNNC_OK);
    CHECK(na == nb && !memcmp(a, b, na));
    /* the weights are in the file as they are: the embedding's bytes appear verbatim */
    size_t eb = (size_t)c.vocab * c.embed * sizeof(float);
    bool found = false;
    for (size_t i = 0; i + eb <= na && !found; i++) found = !memcmp(a + i, m->params + m->off_embedding, eb);
    CHECK(found);
    free(a);
    free(b);
    unlink(path_of("a.onnx"));
    unlink(path_of("b.onnx"));
    unlink(old);
    rnnc_lm_free(m);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/rnnc_onnx_XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    rnnc_rng_seed(&rng, 20261201);
    RUN(test_refusals);
    RUN(test_export_cases);
    RUN(test_onnx_checker);
    RUN(test_onnxruntime);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!getenv("KEEP") && sh(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    else if (getenv("KEEP")) printf("cases kept in %s\n", dir);
    return test_report();
}
