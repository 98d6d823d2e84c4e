/* The language model against PyTorch (fixtures from tools/make_golden_lm.py): for every cell and
 * 1-2 layers, the loss of two consecutive windows with carried state, every parameter's gradient,
 * the final state and the first logits; the single-step API against the window forward; save/load
 * round trip; initialisation statistics; and every bad model file the issue names. */
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "test.h"

static const char *cells[] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};

/* max |a-b| / max(|b|, floor) must stay within rel. */
static void check_close(const char *what, const float *a, const float *b, size_t n, double rel) {
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs((double)a[i] - b[i]));
    CHECK_MSG(err <= rel * fmax(scale, 1e-6), "%s: max error %g against max magnitude %g", what, err, scale);
}

/* B, T: the fixture's window; suffix: its file name's ("" or "_fold"). */
static void golden_case(const char *cell, int L, const char *suffix, int B, int T) {
    char path[256], refp[4200];
    snprintf(path, sizeof path, "golden/lm/lm_%s_l%d%s.safetensors", cell, L, suffix);
    snprintf(refp, sizeof refp, "%s", test_path(path));
    rnnc_lm *m;
    CHECK_EQ_LL(rnnc_lm_load(&m, refp), RNNC_OK);
    if (!m) return;
    snprintf(path, sizeof path, "golden/lm/lm_%s_l%d%s_ref.safetensors", cell, L, suffix);
    rnnc_safetensors ref;
    CHECK_EQ_LL(rnnc_st_load(&ref, test_path(path)), RNNC_OK);
    if (!ref.buf) { rnnc_lm_free(m); return; }
    const int V = m->c.vocab, H = m->c.hidden, nid = B * (2 * T + 1) + 2;
    int64_t nid64 = nid, two = 2, lsh[2] = {B * T, V}, ssh[3] = {L, B, H};
    int64_t *ids64 = malloc((size_t)nid * sizeof *ids64);
    CHECK_EQ_LL(rnnc_st_read_i64(&ref, "ids", 1, &nid64, ids64), RNNC_OK);
    int32_t *ids = malloc((size_t)nid * sizeof *ids);
    for (int i = 0; i < nid; i++) ids[i] = (int32_t)ids64[i];
    float want_loss[2], *logits0 = malloc((size_t)B * T * V * sizeof *logits0);
    CHECK_EQ_LL(rnnc_st_read_f32(&ref, "loss", 1, &two, want_loss), RNNC_OK);
    CHECK_EQ_LL(rnnc_st_read_f32(&ref, "logits0", 2, lsh, logits0), RNNC_OK);
    rnnc_stream s;
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, (size_t)nid, B, T), RNNC_OK);
    rnnc_lm_ws *ws;
    CHECK_EQ_LL(rnnc_lm_ws_new(&ws, m, B, T), RNNC_OK);
    rnnc_lm_zero_grad(m);
    for (int k = 0; k < 2; k++) {
        int x[64], y[64];
        rnnc_stream_window(&s, (size_t)k, x, y);
        const float *logits;
        double loss;
        CHECK_EQ_LL(rnnc_lm_forward(m, ws, x, B, T, true, NULL, &logits), RNNC_OK);
        if (k == 0) check_close("logits0", logits, logits0, (size_t)B * T * V, 1e-5);
        CHECK_EQ_LL(rnnc_lm_loss(m, ws, y, true, &loss), RNNC_OK);
        CHECK_MSG(fabs(loss - want_loss[k]) <= 1e-5 * fabs(want_loss[k]), "%s l%d window %d loss %.9g vs %.9g", cell, L, k,
                  loss, (double)want_loss[k]);
    }
    /* Final carried state. */
    float *st = malloc((size_t)L * B * H * sizeof *st);
    CHECK_EQ_LL(rnnc_st_read_f32(&ref, "h", 3, ssh, st), RNNC_OK);
    check_close("h", rnnc_lm_ws_h(ws), st, (size_t)L * B * H, 1e-5);
    if (m->c.cell == RNNC_CELL_LSTM) {
        CHECK_EQ_LL(rnnc_st_read_f32(&ref, "c", 3, ssh, st), RNNC_OK);
        check_close("c", rnnc_lm_ws_c(ws), st, (size_t)L * B * H, 1e-5);
    }
    /* Every parameter's gradient, summed over both windows. */
    size_t nt = rnnc_lm_num_tensors(m);
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_lm_tensor(m, k);
        char gname[64], what[96];
        snprintf(gname, sizeof gname, "grad.%s", p.name);
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        float *g = malloc(p.size * sizeof *g);
        CHECK_EQ_LL(rnnc_st_read_f32(&ref, gname, p.ndim, shape, g), RNNC_OK);
        snprintf(what, sizeof what, "%s l%d %s", cell, L, gname);
        check_close(what, m->grads + p.offset, g, p.size, 1e-4);
        free(g);
    }
    free(ids64); free(ids); free(logits0); free(st);
    rnnc_lm_ws_free(ws);
    rnnc_st_free(&ref);
    rnnc_lm_free(m);
}

static void test_golden_all_cells(void) {
    for (int c = 0; c < 4; c++) {
        for (int L = 1; L <= 2; L++) golden_case(cells[c], L, "", 3, 4);
        golden_case(cells[c], 2, "_fold", 4, 6); /* a vocabulary small enough to project the table */
    }
}

/* A model of the given cell and sizes with PyTorch's initialisation drawn from r; NULL (and a
 * failed check) if it cannot be made. */
static rnnc_lm *random_lm(const char *cell, int V, int E, int H, int L, rnnc_rng *r) {
    rnnc_lm_config cfg = {0};
    CHECK_EQ_LL(rnnc_cell_parse(cell, &cfg.cell), RNNC_OK);
    cfg.vocab = V; cfg.embed = E; cfg.hidden = H; cfg.layers = L;
    rnnc_lm *m = NULL;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    if (m) rnnc_lm_init(m, r);
    return m;
}

/* Feeding a window one step at a time through rnnc_lm_step gives the window forward's logits. */
static void test_step_matches_window(void) {
    for (int c = 0; c < 4; c++) {
        rnnc_rng r;
        rnnc_rng_seed(&r, 11 + (uint64_t)c);
        rnnc_lm *m = random_lm(cells[c], 9, 4, 5, 2, &r);
        if (!m) continue;
        enum { B = 2, T = 6 };
        int ids[B * T];
        for (int i = 0; i < B * T; i++) ids[i] = (int)rnnc_rng_below(&r, 9);
        rnnc_lm_ws *ww, *ws1;
        CHECK_EQ_LL(rnnc_lm_ws_new(&ww, m, B, T), RNNC_OK);
        CHECK_EQ_LL(rnnc_lm_ws_new(&ws1, m, B, 1), RNNC_OK);
        const float *full;
        CHECK_EQ_LL(rnnc_lm_forward(m, ww, ids, B, T, false, NULL, &full), RNNC_OK);
        float lg[B * 9];
        double err = 0;
        for (int t = 0; t < T; t++) {
            int step_ids[B] = {ids[t], ids[T + t]};
            CHECK_EQ_LL(rnnc_lm_step(m, ws1, step_ids, B, lg), RNNC_OK);
            for (int b = 0; b < B; b++)
                for (int v = 0; v < 9; v++) err = fmax(err, fabs(lg[b * 9 + v] - full[((size_t)b * T + t) * 9 + v]));
        }
        CHECK_MSG(err < 1e-5, "%s: step vs window max diff %g", cells[c], err);
        /* Out-of-vocabulary id in a step is an error, not a crash. */
        int bad[B] = {0, 9};
        CHECK_EQ_LL(rnnc_lm_step(m, ws1, bad, B, lg), RNNC_ERR_RANGE);
        rnnc_lm_ws_free(ww);
        rnnc_lm_ws_free(ws1);
        rnnc_lm_free(m);
    }
}

/* rnnc_lm_forward_hidden: the stack's outputs, to the bit those the full forward's head reads
 * (its logits are the head over them), the state carried alike, and no loss after it; and a
 * workspace reading the stack's weights packed once (rnnc_lm_ws_set_packed) gives the same bits. */
static void test_forward_hidden_and_packed(void) {
    for (int c = 0; c < 4; c++) {
        rnnc_rng r;
        rnnc_rng_seed(&r, 31 + (uint64_t)c);
        rnnc_lm *m = random_lm(cells[c], 11, 5, 64, 2, &r);
        if (!m) continue;
        enum { B = 3, T = 7, H = 64, V = 11 };
        int ids[2][B * T];
        for (int w = 0; w < 2; w++)
            for (int i = 0; i < B * T; i++) ids[w][i] = (int)rnnc_rng_below(&r, V);
        rnnc_lm_ws *wa, *wb, *wc;
        CHECK_EQ_LL(rnnc_lm_ws_new(&wa, m, B, T), RNNC_OK);
        CHECK_EQ_LL(rnnc_lm_ws_new(&wb, m, B, T), RNNC_OK);
        CHECK_EQ_LL(rnnc_lm_ws_new(&wc, m, B, T), RNNC_OK);
        rnnc_rnn_packed *p;
        CHECK_EQ_LL(rnnc_rnn_packed_new(&p, &m->rnn, m->params + m->off_rnn), RNNC_OK);
        CHECK_EQ_LL(rnnc_lm_ws_set_packed(wc, p), RNNC_OK);
        int differ = 0;
        for (int w = 0; w < 2; w++) { /* two windows: the second starts from the carried state */
            const float *full, *y, *yc;
            CHECK_EQ_LL(rnnc_lm_forward(m, wa, ids[w], B, T, false, NULL, &full), RNNC_OK);
            CHECK_EQ_LL(rnnc_lm_forward_hidden(m, wb, ids[w], B, T, &y), RNNC_OK);
            float lg[B * T * V];
            rnnc_linear_forward(lg, y, m->params + m->off_head_w, m->params + m->off_head_b, B * T, H, V);
            differ += memcmp(lg, full, sizeof lg) != 0;
            CHECK_EQ_LL(rnnc_lm_forward_hidden(m, wc, ids[w], B, T, &yc), RNNC_OK);
            differ += memcmp(yc, y, (size_t)B * T * H * sizeof(float)) != 0;
        }
        CHECK_MSG(differ == 0, "%s: %d windows differ", cells[c], differ);
        differ = memcmp(rnnc_lm_ws_h(wa), rnnc_lm_ws_h(wb), (size_t)2 * B * H * sizeof(float)) != 0 ||
                 memcmp(rnnc_lm_ws_h(wa), rnnc_lm_ws_h(wc), (size_t)2 * B * H * sizeof(float)) != 0;
        CHECK_MSG(!differ, "%s: carried states differ", cells[c]);
        double loss;
        int tg[B * T] = {0};
        CHECK_EQ_LL(rnnc_lm_loss(m, wb, tg, false, &loss), RNNC_ERR_ARG); /* no logits to take a loss of */
        CHECK_EQ_LL(rnnc_lm_loss(m, wa, tg, false, &loss), RNNC_OK);
        rnnc_lm_ws_free(wa);
        rnnc_lm_ws_free(wb);
        rnnc_lm_ws_free(wc);
        rnnc_rnn_packed_free(p);
        rnnc_lm_free(m);
    }
}

static void test_save_load_roundtrip(void) {
    rnnc_lm_config cfg = {RNNC_CELL_GRU, 17, 6, 8, 3, 0.25f};
    rnnc_lm *m, *m2;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    rnnc_rng r;
    rnnc_rng_seed(&r, 5);
    rnnc_lm_init(m, &r);
    CHECK_EQ_LL(rnnc_lm_set_meta(m, "rnnc.tokenizer", "{\"kind\": \"char\"}"), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_set_meta(m, "rnnc.config", "x"), RNNC_ERR_ARG);
    char path[64];
    snprintf(path, sizeof path, "test_lm_%d.safetensors", (int)getpid());
    CHECK_EQ_LL(rnnc_lm_save(m, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_load(&m2, path), RNNC_OK);
    if (m2) {
        CHECK(m2->c.cell == cfg.cell && m2->c.vocab == 17 && m2->c.embed == 6 && m2->c.hidden == 8 && m2->c.layers == 3);
        CHECK(m2->c.dropout == 0.25f);
        CHECK(m2->n_params == m->n_params);
        CHECK(memcmp(m2->params, m->params, m->n_params * sizeof(float)) == 0);
        CHECK_STR(rnnc_lm_get_meta(m2, "rnnc.tokenizer"), "{\"kind\": \"char\"}");
        rnnc_lm_free(m2);
    }
    /* Names and order are PyTorch's state_dict. */
    CHECK_STR(rnnc_lm_tensor(m, 0).name, "embedding.weight");
    CHECK_STR(rnnc_lm_tensor(m, 1).name, "rnn.weight_ih_l0");
    CHECK_STR(rnnc_lm_tensor(m, 12).name, "rnn.bias_hh_l2");
    CHECK_STR(rnnc_lm_tensor(m, 13).name, "head.weight");
    CHECK_STR(rnnc_lm_tensor(m, 14).name, "head.bias");
    CHECK_EQ_LL(rnnc_lm_num_tensors(m), 15);
    rnnc_param_info last = rnnc_lm_tensor(m, 14);
    CHECK_EQ_LL(last.offset + last.size, m->n_params);
    unlink(path);
    rnnc_lm_free(m);
}

static void test_init_statistics(void) {
    rnnc_lm_config cfg = {RNNC_CELL_LSTM, 200, 50, 64, 1, 0};
    rnnc_lm *m;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    rnnc_rng r;
    rnnc_rng_seed(&r, 1);
    rnnc_lm_init(m, &r);
    /* Embedding N(0,1): mean ~0, variance ~1 over 10,000 draws. */
    double s = 0, s2 = 0;
    size_t ne = 200 * 50;
    for (size_t i = 0; i < ne; i++) { s += m->params[i]; s2 += (double)m->params[i] * m->params[i]; }
    CHECK_NEAR(s / ne, 0, 0, 0.05);
    CHECK_NEAR(s2 / ne, 1, 0, 0.05);
    /* Recurrent and head tensors within +-1/sqrt(H) and spread over it. */
    float k = 1.0f / sqrtf(64.0f), mx = 0;
    for (size_t i = m->off_rnn; i < m->n_params; i++) mx = fmaxf(mx, fabsf(m->params[i]));
    CHECK(mx <= k && mx > 0.95f * k);
    rnnc_lm_free(m);
}

static void expect_load_error(const char *rel, const char *needle) {
    rnnc_lm *m = (rnnc_lm *)1;
    CHECK(rnnc_lm_load(&m, test_path(rel)) != RNNC_OK);
    CHECK(m == NULL);
    CHECK_MSG(strstr(rnnc_last_error(), needle) != NULL, "%s: error '%s' lacks '%s'", rel, rnnc_last_error(), needle);
}

static void test_bad_files(void) {
    expect_load_error("golden/lm/bad_shape.safetensors", "tensor 'head.weight' has shape (5, 5) but rnnc.config asks for (5, 4)");
    expect_load_error("golden/lm/bad_missing.safetensors", "tensor 'rnn.bias_hh_l0' is missing (rnnc.config: cell gru");
    expect_load_error("golden/lm/bad_meta.safetensors",
                      "tensor 'embedding.weight' has shape (5, 3) but rnnc.config asks for (6, 3) (cell gru, vocab 6");
    expect_load_error("golden/lm/bad_nometa.safetensors", "no \"rnnc.config\"");
    expect_load_error("golden/lm/does_not_exist.safetensors", "does_not_exist.safetensors");
    /* Truncated at every length from 0 to the whole file minus one byte: always a clean error. */
    unsigned char *data;
    size_t len;
    CHECK_EQ_LL(rnnc_read_file(test_path("golden/lm/lm_gru_l1.safetensors"), &data, &len), RNNC_OK);
    char path[64];
    snprintf(path, sizeof path, "test_lm_trunc_%d.safetensors", (int)getpid());
    int errors = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 600 ? 1 : 37)) {
        FILE *f = fopen(path, "wb"); /* plain writes: an fsync per cut would make this slow */
        CHECK(f && fwrite(data, 1, cut, f) == cut);
        if (f) fclose(f);
        rnnc_lm *m;
        if (rnnc_lm_load(&m, path) != RNNC_OK && strstr(rnnc_last_error(), path)) errors++;
        else rnnc_lm_free(m);
    }
    CHECK(errors > 600);
    /* Config problems: extra tensor, unknown cell, bidirectional, bad JSON. */
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, test_path("golden/lm/lm_rnn_tanh_l1.safetensors")), RNNC_OK);
    rnnc_st_entry e[8];
    size_t n = 0;
    for (size_t i = 0; i < st.n_tensors && n < 7; i++) {
        const rnnc_st_tensor *t = &st.tensors[i];
        e[n] = (rnnc_st_entry){t->name, t->dtype, t->ndim, {0}, t->data};
        for (int d = 0; d < t->ndim; d++) e[n].shape[d] = t->shape[d];
        n++;
    }
    const char *key = "rnnc.config";
    const char *cfgs[] = {
        "{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 1}",
        "{\"cell\": \"mlp\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 1}",
        "{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 1, \"bidirectional\": true}",
        "{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6}",
        "{\"cell\": \"rnn_tanh\", \"vocab\": 11.5, \"embed\": 5, \"hidden\": 6, \"layers\": 1}",
        "not json",
    };
    const char *needles[] = {NULL, "'mlp'", "bidirectional", "no \"layers\"", "\"vocab\" is 11.5, not an integer in [1, 16777216]",
                             "not a JSON object"};
    for (int c = 0; c < 6; c++) {
        CHECK_EQ_LL(rnnc_st_save(path, e, n, &key, &cfgs[c], 1), RNNC_OK);
        rnnc_lm *m;
        rnnc_status s = rnnc_lm_load(&m, path);
        if (!needles[c]) { CHECK_EQ_LL(s, RNNC_OK); rnnc_lm_free(m); continue; }
        CHECK(s == RNNC_ERR_FORMAT);
        CHECK_MSG(strstr(rnnc_last_error(), needles[c]) != NULL, "config %d: '%s'", c, rnnc_last_error());
    }
    /* An extra tensor names it. */
    float extra[3] = {0};
    e[n] = (rnnc_st_entry){"rnn.weight_ih_l1", RNNC_DT_F32, 1, {3}, extra};
    CHECK_EQ_LL(rnnc_st_save(path, e, n + 1, &key, &cfgs[0], 1), RNNC_OK);
    rnnc_lm *m;
    CHECK_EQ_LL(rnnc_lm_load(&m, path), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "unexpected tensor 'rnn.weight_ih_l1'") != NULL);
    rnnc_st_free(&st);
    free(data);
    unlink(path);
}

/* The tensors of a model file as entries pointing into st (at most max), for rewriting it. */
static size_t file_entries(const rnnc_safetensors *st, rnnc_st_entry *e, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < st->n_tensors && n < max; i++, n++) {
        const rnnc_st_tensor *t = &st->tensors[i];
        e[n] = (rnnc_st_entry){t->name, t->dtype, t->ndim, {0}, t->data};
        for (int d = 0; d < t->ndim; d++) e[n].shape[d] = t->shape[d];
    }
    return n;
}

/* Hostile configs on a tiny file: each is refused with a message naming the key or tensor, before
 * anything sized by the config is allocated (64 layers of 16384 would be over 500 GB). */
static void test_hostile_configs(void) {
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, test_path("golden/lm/lm_rnn_tanh_l1.safetensors")), RNNC_OK);
    rnnc_st_entry e[8];
    size_t n = file_entries(&st, e, 8);
    char path[64];
    snprintf(path, sizeof path, "test_lm_hostile_%d.safetensors", (int)getpid());
    const char *key = "rnnc.config";
    static const struct { const char *cfg, *needle; } cases[] = {
        {"{\"cell\": \"lstm\", \"vocab\": 11, \"embed\": 5, \"hidden\": 16384, \"layers\": 64}",
         "tensor 'rnn.weight_ih_l0' has shape (6, 5) but rnnc.config asks for (65536, 5) (cell lstm, vocab 11, embed 5, "
         "hidden 16384, layers 64)"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 2}",
         "tensor 'rnn.weight_ih_l1' is missing (rnnc.config: cell rnn_tanh"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 16777216, \"embed\": 5, \"hidden\": 6, \"layers\": 1}",
         "tensor 'embedding.weight' has shape (11, 5) but rnnc.config asks for (16777216, 5)"},
        /* json numbers: checked as doubles before any conversion to int (3e9 was undefined behaviour) */
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 3e9, \"embed\": 5, \"hidden\": 6, \"layers\": 1}",
         "\"vocab\" is 3000000000, not an integer in [1, 16777216]"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 1e400, \"embed\": 5, \"hidden\": 6, \"layers\": 1}", "\"vocab\" is inf, not an integer"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": -11, \"embed\": 5, \"hidden\": 6, \"layers\": 1}", "\"vocab\" is -11, not an integer"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 1e-320, \"embed\": 5, \"hidden\": 6, \"layers\": 1}", "\"vocab\" is 9.9998886718268301e-321"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": \"11\", \"embed\": 5, \"hidden\": 6, \"layers\": 1}", "\"vocab\" is not a number"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 65}", "\"layers\" is 65, not an integer in [1, 64]"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 65537, \"layers\": 1}", "\"hidden\" is 65537, not an integer in [1, 65536]"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 2000000, \"hidden\": 6, \"layers\": 1}", "\"embed\" is 2000000, not an integer in [1, 1048576]"},
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 1, \"dropout\": 1e300}", "\"dropout\" is not a number in [0, 1)"},
        /* a repeated key: cJSON would silently take the first */
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 1, \"vocab\": 99999}", "has the key \"vocab\" twice"},
        {"{\"cell\": \"lstm\", \"cell\": \"rnn_tanh\", \"vocab\": 11, \"embed\": 5, \"hidden\": 6, \"layers\": 1}", "has the key \"cell\" twice"},
        /* every field in range, but tensors of over 2^31 floats */
        {"{\"cell\": \"rnn_tanh\", \"vocab\": 16777216, \"embed\": 1048576, \"hidden\": 6, \"layers\": 1}", "tensors of over 2^31 floats"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CHECK_EQ_LL(rnnc_st_save(path, e, n, &key, &cases[c].cfg, 1), RNNC_OK);
        rnnc_lm *m = (rnnc_lm *)1;
        CHECK_EQ_LL(rnnc_lm_load(&m, path), RNNC_ERR_FORMAT);
        CHECK(m == NULL);
        CHECK_MSG(strstr(rnnc_last_error(), cases[c].needle) && strstr(rnnc_last_error(), path), "case %zu: '%s' lacks '%s'",
                  c, rnnc_last_error(), cases[c].needle);
    }
    /* the config alone, for rnnc_lm_new: the same bounds */
    rnnc_lm_config big = {RNNC_CELL_LSTM, 11, 5, 70000, 1, 0};
    rnnc_lm *m = NULL;
    CHECK_EQ_LL(rnnc_lm_new(&m, &big), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "hidden 70000 is outside [1, 65536]") != NULL);
    big.hidden = 6; big.layers = 65;
    CHECK_EQ_LL(rnnc_lm_new(&m, &big), RNNC_ERR_ARG);
    big.layers = 1; big.vocab = (1 << 24) + 1;
    CHECK_EQ_LL(rnnc_lm_new(&m, &big), RNNC_ERR_ARG);
    CHECK(m == NULL);
    /* a workspace whose logits would not fit memory's addresses is refused, not wrapped around */
    rnnc_lm_config tiny = {RNNC_CELL_GRU, 7, 3, 4, 1, 0};
    CHECK_EQ_LL(rnnc_lm_new(&m, &tiny), RNNC_OK);
    rnnc_lm_ws *ws = (rnnc_lm_ws *)1;
    CHECK_EQ_LL(rnnc_lm_ws_new(&ws, m, 1 << 20, 1 << 20), RNNC_ERR_ARG);
    CHECK(ws == NULL && strstr(rnnc_last_error(), "too large") != NULL);
    rnnc_lm_free(m);
    rnnc_st_free(&st);
    unlink(path);
}

/* A NaN or Inf weight is refused on load naming the tensor (eval used to print "loss nan"). */
static void test_nonfinite_weights(void) {
    rnnc_lm_config cfg = {RNNC_CELL_LSTM, 7, 3, 4, 1, 0};
    rnnc_lm *m;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    rnnc_rng r;
    rnnc_rng_seed(&r, 3);
    rnnc_lm_init(m, &r);
    char path[64];
    snprintf(path, sizeof path, "test_lm_nan_%d.safetensors", (int)getpid());
    static const struct { size_t tensor, elem; float v; const char *needle; } cases[] = {
        {3, 2, NAN, "tensor 'head.weight' holds a non-finite value (nan) at element 2"},
        {2, 5, INFINITY, "tensor 'rnn.weight_hh_l0' holds a non-finite value (inf) at element 5"},
        {0, 0, -INFINITY, "tensor 'embedding.weight' holds a non-finite value (-inf) at element 0"},
        {6, 6, NAN, "tensor 'head.bias' holds a non-finite value (nan) at element 6"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rnnc_param_info p = rnnc_lm_tensor(m, cases[c].tensor == 6 ? rnnc_lm_num_tensors(m) - 1 :
                                              cases[c].tensor == 3 ? rnnc_lm_num_tensors(m) - 2 : cases[c].tensor);
        float keep = m->params[p.offset + cases[c].elem];
        m->params[p.offset + cases[c].elem] = cases[c].v;
        CHECK_EQ_LL(rnnc_lm_save(m, path), RNNC_OK);
        m->params[p.offset + cases[c].elem] = keep;
        rnnc_lm *m2 = (rnnc_lm *)1;
        CHECK_EQ_LL(rnnc_lm_load(&m2, path), RNNC_ERR_NUMERIC);
        CHECK(m2 == NULL);
        CHECK_MSG(strstr(rnnc_last_error(), cases[c].needle) != NULL, "case %zu: '%s'", c, rnnc_last_error());
    }
    rnnc_lm_free(m);
    unlink(path);
}

/* The tokenizer stored in a model must have the model's vocabulary size: checked in one place
 * (rnnc_lm_load_tokenizer), which every command goes through. */
static void test_tokenizer_check(void) {
    uint32_t chars[2] = {'a', 'b'};
    rnnc_char_tok *ct;
    rnnc_tokenizer *t;
    char *json = NULL;
    CHECK_EQ_LL(rnnc_char_create(&ct, chars, 2), RNNC_OK);
    CHECK_EQ_LL(rnnc_tokenizer_wrap_char(&t, ct), RNNC_OK);
    CHECK_EQ_LL(rnnc_tokenizer_to_json(t, &json), RNNC_OK);
    CHECK_EQ_LL(rnnc_tokenizer_n_vocab(t), 262);
    rnnc_tokenizer_free(t);
    char path[64];
    snprintf(path, sizeof path, "test_lm_tok_%d.safetensors", (int)getpid());
    rnnc_lm_config cfg = {RNNC_CELL_GRU, 13, 3, 4, 1, 0};
    rnnc_lm *m, *m2;
    rnnc_tokenizer *tok;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    /* no tokenizer: fine, and *tok is NULL (a model for id files) */
    CHECK_EQ_LL(rnnc_lm_save(m, path), RNNC_OK);
    tok = (rnnc_tokenizer *)1;
    CHECK_EQ_LL(rnnc_lm_load_tokenizer(&m2, &tok, path), RNNC_OK);
    CHECK(tok == NULL);
    rnnc_lm_free(m2);
    /* 262 tokens for a vocabulary of 13: the plain load keeps the metadata unread, the tokenizer
     * load refuses it naming both sizes */
    CHECK_EQ_LL(rnnc_lm_set_meta(m, "rnnc.tokenizer", json), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_save(m, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_load(&m2, path), RNNC_OK);
    rnnc_lm_free(m2);
    m2 = (rnnc_lm *)1;
    CHECK_EQ_LL(rnnc_lm_load_tokenizer(&m2, &tok, path), RNNC_ERR_FORMAT);
    CHECK(m2 == NULL && tok == NULL);
    CHECK_MSG(strstr(rnnc_last_error(), "the tokenizer in metadata 'rnnc.tokenizer' has 262 tokens but the model's vocabulary is 13") &&
              strstr(rnnc_last_error(), path), "'%s'", rnnc_last_error());
    CHECK_EQ_LL(rnnc_lm_load_tokenizer(&m2, NULL, path), RNNC_ERR_FORMAT); /* checked without being kept */
    /* an unreadable tokenizer names the key */
    CHECK_EQ_LL(rnnc_lm_set_meta(m, "rnnc.tokenizer", "{\"type\": \"char\"}"), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_save(m, path), RNNC_OK);
    CHECK(rnnc_lm_load_tokenizer(&m2, &tok, path) != RNNC_OK);
    CHECK_MSG(strstr(rnnc_last_error(), "tokenizer in metadata 'rnnc.tokenizer'") != NULL, "'%s'", rnnc_last_error());
    rnnc_lm_free(m);
    /* sizes that agree */
    cfg.vocab = 262;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_set_meta(m, "rnnc.tokenizer", json), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_save(m, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_load_tokenizer(&m2, &tok, path), RNNC_OK);
    CHECK(tok && rnnc_tokenizer_n_vocab(tok) == 262);
    rnnc_tokenizer_free(tok);
    rnnc_lm_free(m2);
    rnnc_lm_free(m);
    free(json);
    unlink(path);
}

/* A training checkpoint's extra tensors: unexpected for rnnc_lm_load, skipped by prefix. */
static void test_skip_prefix(void) {
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, test_path("golden/lm/lm_gru_l1.safetensors")), RNNC_OK);
    rnnc_st_entry e[9];
    size_t n = file_entries(&st, e, 8);
    float h[4] = {0};
    e[n++] = (rnnc_st_entry){"train.h", RNNC_DT_F32, 1, {4}, h};
    char path[64];
    snprintf(path, sizeof path, "test_lm_ck_%d.safetensors", (int)getpid());
    const char *key = "rnnc.config", *cfg = rnnc_st_meta(&st, "rnnc.config");
    CHECK_EQ_LL(rnnc_st_save(path, e, n, &key, &cfg, 1), RNNC_OK);
    rnnc_lm *m = NULL;
    CHECK_EQ_LL(rnnc_lm_load(&m, path), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "unexpected tensor 'train.h'") != NULL);
    rnnc_safetensors ck;
    CHECK_EQ_LL(rnnc_st_load(&ck, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_from_safetensors(&m, &ck, "train."), RNNC_OK);
    CHECK(m && m->n_meta == 0);
    rnnc_lm_free(m);
    rnnc_st_free(&ck);
    rnnc_st_free(&st);
    unlink(path);
}

static void test_config_checks(void) {
    rnnc_lm *m;
    rnnc_lm_config c = {RNNC_CELL_LSTM, 0, 4, 4, 1, 0};
    CHECK_EQ_LL(rnnc_lm_new(&m, &c), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "vocab 0") != NULL);
    c.vocab = 10; c.dropout = 1.0f;
    CHECK_EQ_LL(rnnc_lm_new(&m, &c), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "dropout") != NULL);
    c.dropout = 0; c.hidden = 1 << 20; c.embed = 1 << 20;
    CHECK_EQ_LL(rnnc_lm_new(&m, &c), RNNC_ERR_ARG);
    /* Loss without a forward pass is an error. */
    c.hidden = 4; c.embed = 4;
    CHECK_EQ_LL(rnnc_lm_new(&m, &c), RNNC_OK);
    rnnc_lm_ws *ws;
    CHECK_EQ_LL(rnnc_lm_ws_new(&ws, m, 2, 3), RNNC_OK);
    int y[6] = {0};
    double loss;
    CHECK_EQ_LL(rnnc_lm_loss(m, ws, y, true, &loss), RNNC_ERR_ARG);
    int x[8] = {0};
    CHECK_EQ_LL(rnnc_lm_forward(m, ws, x, 2, 4, false, NULL, NULL), RNNC_ERR_ARG); /* T above the workspace */
    rnnc_lm_ws_free(ws);
    rnnc_lm_free(m);
}

/* Dropout between layers: training forwards are reproducible for a seed and differ from eval. */
static void test_dropout(void) {
    rnnc_lm_config cfg = {RNNC_CELL_GRU, 9, 4, 8, 2, 0.5f};
    rnnc_lm *m;
    CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
    rnnc_rng r;
    rnnc_rng_seed(&r, 2);
    rnnc_lm_init(m, &r);
    int ids[6] = {1, 2, 3, 4, 5, 6};
    float a[6 * 9], b[6 * 9], e[6 * 9];
    const float *l;
    rnnc_lm_ws *ws;
    CHECK_EQ_LL(rnnc_lm_ws_new(&ws, m, 2, 3), RNNC_OK);
    for (int pass = 0; pass < 3; pass++) {
        rnnc_lm_ws_reset_state(ws);
        rnnc_rng_seed(&r, 77);
        CHECK_EQ_LL(rnnc_lm_forward(m, ws, ids, 2, 3, pass < 2, &r, &l), RNNC_OK);
        memcpy(pass == 0 ? a : pass == 1 ? b : e, l, sizeof a);
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, e, sizeof a) != 0);
    rnnc_lm_ws_free(ws);
    rnnc_lm_free(m);
}

/* A forward that does not ask for the logits runs the rows time-major (lm.c): its loss, its
 * gradients and its carried state match a forward that does, to rounding (the loss and the
 * head's sums add in another order), for every cell, with ignored targets; an out-of-range target
 * or id still names its position in the caller's batch-first array. */
static void test_time_major_rows(void) {
    for (int k = 0; k < (int)RNNC_CELL_COUNT; k++) {
        rnnc_lm_config cfg = {(rnnc_cell)k, 11, 5, 6, 2, 0.0f};
        rnnc_lm *m;
        CHECK_EQ_LL(rnnc_lm_new(&m, &cfg), RNNC_OK);
        rnnc_rng r;
        rnnc_rng_seed(&r, 40 + k);
        rnnc_lm_init(m, &r);
        enum { B = 3, T = 4 };
        int x[B * T], y[B * T];
        for (int i = 0; i < B * T; i++) { x[i] = (int)rnnc_rng_below(&r, 11); y[i] = (int)rnnc_rng_below(&r, 11); }
        y[5] = RNNC_IGNORE_INDEX;
        double loss[2];
        float *g[2], *h[2];
        const size_t ns = (size_t)cfg.layers * B * cfg.hidden;
        for (int v = 0; v < 2; v++) {
            rnnc_lm_ws *ws;
            CHECK_EQ_LL(rnnc_lm_ws_new(&ws, m, B, T), RNNC_OK);
            const float *l = NULL;
            rnnc_lm_zero_grad(m);
            CHECK_EQ_LL(rnnc_lm_forward(m, ws, x, B, T, true, &r, v ? NULL : &l), RNNC_OK);
            CHECK_EQ_LL(rnnc_lm_loss(m, ws, y, true, &loss[v]), RNNC_OK);
            g[v] = malloc(m->n_params * sizeof(float));
            memcpy(g[v], m->grads, m->n_params * sizeof(float));
            h[v] = malloc(ns * sizeof(float));
            memcpy(h[v], rnnc_lm_ws_h(ws), ns * sizeof(float));
            if (v == 1) {
                int bad[B * T];
                memcpy(bad, y, sizeof bad);
                bad[6] = 11;
                CHECK_EQ_LL(rnnc_lm_forward(m, ws, x, B, T, true, &r, NULL), RNNC_OK);
                double unused;
                CHECK_EQ_LL(rnnc_lm_loss(m, ws, bad, true, &unused), RNNC_ERR_RANGE);
                CHECK(strstr(rnnc_last_error(), "target 11 at position 6 ") != NULL);
                memcpy(bad, x, sizeof bad);
                bad[9] = -2;
                CHECK_EQ_LL(rnnc_lm_forward(m, ws, bad, B, T, true, &r, NULL), RNNC_ERR_RANGE);
                CHECK(strstr(rnnc_last_error(), "id -2 at position 9 ") != NULL);
            }
            rnnc_lm_ws_free(ws);
        }
        CHECK_NEAR(loss[1], loss[0], 1e-12, 1e-9);
        int off = 0;
        for (size_t i = 0; i < m->n_params; i++) off += !(fabsf(g[1][i] - g[0][i]) <= 1e-6f * (1 + fabsf(g[0][i])));
        CHECK_MSG(off == 0, "%s: %d gradients differ between the time-major and the batch-first rows",
                  rnnc_cell_name((rnnc_cell)k), off);
        CHECK(memcmp(h[0], h[1], ns * sizeof(float)) == 0);
        for (int v = 0; v < 2; v++) { free(g[v]); free(h[v]); }
        rnnc_lm_free(m);
    }
}

int main(void) {
    rnnc_rnn_set_loop_mode(RNNC_LOOP_UNITS); /* the threaded time loop, even on these small layers */
    RUN(test_golden_all_cells);
    RUN(test_step_matches_window);
    RUN(test_forward_hidden_and_packed);
    RUN(test_save_load_roundtrip);
    RUN(test_init_statistics);
    RUN(test_bad_files);
    RUN(test_hostile_configs);
    RUN(test_nonfinite_weights);
    RUN(test_tokenizer_check);
    RUN(test_skip_prefix);
    RUN(test_config_checks);
    RUN(test_dropout);
    RUN(test_time_major_rows);
    return test_report();
}
