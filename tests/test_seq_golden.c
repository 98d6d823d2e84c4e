/* The classify / tag / forecast model (seqmodel.h) against PyTorch: the fixtures in
 * tests/golden/seq/ (made by tools/make_golden_seq.py) hold the config, parameters, inputs,
 * outputs (logits or predictions), loss, count and every parameter's gradient of an nn.Embedding
 * or numeric input -> nn.LSTM/GRU/RNN over pack_padded_sequence -> pooling (last, mean, max,
 * final) -> nn.Linear model with CrossEntropyLoss (class weights, ignore_index -1), MSELoss or
 * L1Loss. Each one is rebuilt through rnnc_seq_model_new, its parameters copied in by the names
 * rnnc_seq_tensor gives, and rnnc_seq_forward_backward compared value by value. */
#include "rnnc/seqmodel.h"

#include <stdint.h>

#include "rnnc/safetensors.h"
#include "test.h"

static const char *const fixtures[] = {
    "cls_lstm_l1_uni_last",   "cls_lstm_l1_bi_last_w",      "cls_rnn_relu_l1_uni_last",   "cls_gru_l2_uni_mean_w",
    "cls_rnn_tanh_l1_bi_mean_eq", "cls_rnn_tanh_l2_uni_max", "cls_lstm_l1_bi_max_w",       "cls_gru_l1_uni_final",
    "cls_gru_l1_bi_final",    "cls_lstm_l2_bi_final_w",     "tag_lstm_l1_uni",            "tag_rnn_tanh_l1_bi",
    "tag_gru_l2_bi_w",        "fc_lstm_l1_uni_last_mse",    "fc_rnn_tanh_l1_bi_last_mae", "fc_gru_l1_uni_final_mae",
    "fc_gru_l1_bi_final_mse", "fc_lstm_l2_bi_final_mae",    "fc_lstm_l1_uni_mean_mse_k0", "fc_gru_l1_bi_max_mae_k0",
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

/* test_rnn_golden.c's rule: |a - b| <= rtol*|b| + atol with rtol = 1e-4 and atol = 1e-6 *
 * max(1, largest |b| of the tensor): values near zero in a tensor of O(1) entries are judged on
 * absolute error. */
static const double RTOL = 1e-4;
static double worst_rel, worst_abs; /* for the report line: relative error where |b| >= 1e-2 */
static char worst_rel_at[128], worst_abs_at[128];

static int compare(const char *fixture, const char *name, const float *got, const float *want, size_t n) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    double atol = 1e-6 * fmax(1.0, mx);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (fabs(want[i]) >= 1e-2 && d / fabs(want[i]) > worst_rel) {
            worst_rel = d / fabs(want[i]);
            snprintf(worst_rel_at, sizeof worst_rel_at, "%s %s", fixture, name);
        }
        if (d > worst_abs) {
            worst_abs = d;
            snprintf(worst_abs_at, sizeof worst_abs_at, "%s %s", fixture, name);
        }
        if (!(d <= RTOL * fabs(want[i]) + atol)) {
            if (bad < 3) fprintf(stderr, "  %s %s[%zu]: %.9g, PyTorch %.9g\n", fixture, name, i, (double)got[i], (double)want[i]);
            bad++;
        }
    }
    return bad;
}

static int meta_int(const rnnc_safetensors *st, const char *key) {
    const char *v = rnnc_st_meta(st, key);
    return v ? atoi(v) : -1;
}

/* A tensor of the fixture as float32 (NULL when absent or not of n elements). */
static float *read_f32(const rnnc_safetensors *st, const char *name, size_t n) {
    const rnnc_st_tensor *t = rnnc_st_find(st, name);
    if (!t || t->numel != n) return NULL;
    float *v = malloc((n ? n : 1) * sizeof(float));
    if (rnnc_st_read_f32(st, name, t->ndim, t->shape, v) != RNNC_OK) { free(v); return NULL; }
    return v;
}

/* An integer tensor of the fixture as int (NULL when absent or not of n elements). */
static int *read_int(const rnnc_safetensors *st, const char *name, size_t n) {
    const rnnc_st_tensor *t = rnnc_st_find(st, name);
    if (!t || t->numel != n) return NULL;
    int64_t *v64 = malloc((n ? n : 1) * sizeof(int64_t));
    int *v = malloc((n ? n : 1) * sizeof(int));
    if (rnnc_st_read_i64(st, name, t->ndim, t->shape, v64) != RNNC_OK) { free(v64); free(v); return NULL; }
    for (size_t i = 0; i < n; i++) v[i] = (int)v64[i];
    free(v64);
    return v;
}

/* The model of a fixture's config, with zero parameters: a SPACE vocabulary grown to V ids and
 * labels "l0".. (classify, tag), or a series of F columns whose last K are known (forecast). The
 * vocabulary's and labels' content does not enter the math. */
static rnnc_seq_model *model_of(const rnnc_safetensors *st, const char *file) {
    rnnc_seq_config c = {.embed = meta_int(st, "embed"), .features = meta_int(st, "features"),
                         .hidden = meta_int(st, "hidden"), .layers = meta_int(st, "layers"),
                         .bidirectional = meta_int(st, "bidirectional") == 1, .outputs = meta_int(st, "outputs"),
                         .known = meta_int(st, "known")};
    const int V = meta_int(st, "vocab");
    rnnc_status s = rnnc_seq_kind_parse(rnnc_st_meta(st, "kind"), &c.kind);
    if (!s) s = rnnc_cell_parse(rnnc_st_meta(st, "cell"), &c.cell);
    if (!s) s = rnnc_pool_parse(rnnc_st_meta(st, "pool"), &c.pool);
    if (!s) s = rnnc_seq_loss_parse(rnnc_st_meta(st, "loss"), &c.loss);
    CHECK_MSG(s == RNNC_OK, "%s: %s", file, rnnc_last_error());
    if (s) return NULL;
    rnnc_seq_model *m = NULL;
    if (c.kind == RNNC_SEQ_FORECAST) {
        const int F = c.features;
        rnnc_seq_series sr = {.n_cols = F, .context = meta_int(st, "seq")};
        sr.name = calloc(F, sizeof *sr.name);
        sr.known = calloc(F, sizeof *sr.known);
        sr.mean = calloc(F, sizeof *sr.mean);
        sr.std = calloc(F, sizeof *sr.std);
        for (int i = 0; i < F; i++) {
            char nm[16];
            snprintf(nm, sizeof nm, "col%d", i);
            sr.name[i] = strdup(nm);
            sr.known[i] = i >= F - c.known;
            sr.std[i] = 1;
        }
        s = rnnc_seq_model_new(&m, &c, NULL, NULL, &sr);
        rnnc_seq_series_free(&sr);
    } else {
        rnnc_s2s_vocab v;
        CHECK(rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE) == RNNC_OK);
        for (int i = 0; (int)v.n < V; i++) {
            char sym[16];
            uint32_t id;
            snprintf(sym, sizeof sym, "w%d", i);
            if (rnnc_s2s_vocab_add(&v, sym, strlen(sym), &id) != RNNC_OK) break;
        }
        CHECK_EQ_LL(v.n, V);
        char names[64][8];
        const char *labels[64];
        for (int i = 0; i < c.outputs && i < 64; i++) {
            snprintf(names[i], sizeof names[i], "l%d", i);
            labels[i] = names[i];
        }
        CHECK(c.outputs <= 64);
        s = rnnc_seq_model_new(&m, &c, &v, labels, NULL);
        rnnc_s2s_vocab_free(&v);
    }
    CHECK_MSG(s == RNNC_OK, "%s: %s", file, rnnc_last_error());
    if (m && c.kind != RNNC_SEQ_FORECAST) CHECK_EQ_LL(m->c.vocab, V);
    return m;
}

static void run_fixture(const char *name) {
    char file[128], rel[256];
    snprintf(file, sizeof file, "%s.safetensors", name);
    snprintf(rel, sizeof rel, "golden/seq/%s", file);
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, test_path(rel));
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (s) return;
    rnnc_seq_model *m = model_of(&st, file);
    if (!m) { rnnc_st_free(&st); return; }
    const rnnc_seq_config *c = &m->c;
    const int B = meta_int(&st, "batch"), T = meta_int(&st, "seq"), C = c->outputs;
    const bool tokens = c->kind != RNNC_SEQ_FORECAST, tag = c->kind == RNNC_SEQ_TAG;
    const size_t np = m->n_params;

    /* parameters by name, in state_dict order: the tensors tile the buffer from 0 to n_params */
    float *want_dp = calloc(np, sizeof(float));
    size_t end = 0, n_grad_tensors = 0;
    for (size_t k = 0; k < rnnc_seq_num_tensors(m); k++) {
        rnnc_param_info p = rnnc_seq_tensor(m, k);
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        char gname[64];
        snprintf(gname, sizeof gname, "grad.%s", p.name);
        CHECK_MSG(p.offset == end, "%s: %s at offset %zu, expected %zu", file, p.name, p.offset, end);
        end = p.offset + p.size;
        CHECK_MSG(rnnc_st_read_f32(&st, p.name, p.ndim, shape, m->params + p.offset) == RNNC_OK, "%s", rnnc_last_error());
        CHECK_MSG(rnnc_st_read_f32(&st, gname, p.ndim, shape, want_dp + p.offset) == RNNC_OK, "%s", rnnc_last_error());
    }
    CHECK_EQ_LL(end, np);
    for (size_t i = 0; i < st.n_tensors; i++) n_grad_tensors += strncmp(st.tensors[i].name, "grad.", 5) == 0;
    CHECK_MSG(n_grad_tensors == rnnc_seq_num_tensors(m), "%s: PyTorch has %zu parameter tensors, the model %zu", file,
              n_grad_tensors, rnnc_seq_num_tensors(m));

    /* inputs and expected outputs */
    const size_t BT = (size_t)B * T, n_out = tag ? BT * C : (size_t)B * C, NK = (size_t)C * c->known;
    int *lengths = read_int(&st, "lengths", B);
    int *ids = tokens ? read_int(&st, "ids", BT) : NULL;
    int *labels = tokens ? read_int(&st, "labels", tag ? BT : (size_t)B) : NULL;
    float *x = tokens ? NULL : read_f32(&st, "x", BT * c->features);
    float *known = !tokens && NK ? read_f32(&st, "known", (size_t)B * NK) : NULL;
    float *targets = tokens ? NULL : read_f32(&st, "targets", (size_t)B * C);
    float *cw = meta_int(&st, "weighted") == 1 ? read_f32(&st, "class_weight", C) : NULL;
    float *want_out = read_f32(&st, tokens ? "logits" : "predictions", n_out);
    float *want_loss = read_f32(&st, "loss", 1), *want_count = read_f32(&st, "count", 1);
    bool have = lengths && want_out && want_loss && want_count && (meta_int(&st, "weighted") != 1 || cw) &&
                (tokens ? ids && labels : x && targets && (!NK || known));
    CHECK_MSG(have, "%s: an input or expected output is missing", file);
    uint32_t *uids = tokens ? malloc(BT * sizeof *uids) : NULL;
    for (size_t i = 0; ids && i < BT; i++) uids[i] = (uint32_t)ids[i];
    if (have) {
        rnnc_seq_batch b = {.B = B, .T = T, .ids = uids, .x = x, .known = known, .lengths = lengths,
                            .labels = labels, .targets = targets};
        rnnc_seq_opts o = {.class_weight = cw, .training = false};
        rnnc_seq_ws *ws = NULL;
        float *out = malloc(n_out * sizeof(float)), *dp = calloc(np, sizeof(float));
        double loss = -1, count = -1;
        /* a workspace larger than needed, as a training loop would keep */
        s = rnnc_seq_ws_new(&ws, m, B + 2, T + 3);
        CHECK_MSG(s == RNNC_OK, "%s: %s", file, rnnc_last_error());
        if (!s) s = rnnc_seq_forward_backward(ws, m, &b, &o, dp, 1.0f, NULL, out, &loss, &count);
        CHECK_MSG(s == RNNC_OK, "%s: %s", file, rnnc_last_error());
        if (!s) {
            float got_loss = (float)loss, got_count = (float)count;
            int bad = compare(file, tokens ? "logits" : "predictions", out, want_out, n_out) +
                      compare(file, "loss", &got_loss, want_loss, 1) + compare(file, "count", &got_count, want_count, 1);
            for (size_t k = 0; k < rnnc_seq_num_tensors(m); k++) {
                rnnc_param_info p = rnnc_seq_tensor(m, k);
                char gname[64];
                snprintf(gname, sizeof gname, "grad.%s", p.name);
                bad += compare(file, gname, dp + p.offset, want_dp + p.offset, p.size);
            }
            CHECK_MSG(bad == 0, "%s: %d values off", file, bad);
        }
        rnnc_seq_ws_free(ws);
        free(out); free(dp);
    }
    free(lengths); free(ids); free(uids); free(labels); free(x); free(known); free(targets); free(cw);
    free(want_out); free(want_loss); free(want_count); free(want_dp);
    rnnc_seq_model_free(m);
    rnnc_st_free(&st);
}

static void test_seq_golden_all(void) {
    for (size_t i = 0; i < N_FIXTURES; i++) run_fixture(fixtures[i]);
    printf("worst relative error (|PyTorch| >= 1e-2): %.3g (%s); worst absolute error: %.3g (%s)\n", worst_rel,
           worst_rel_at, worst_abs, worst_abs_at);
}

int main(void) {
    /* every way of running the recurrent time loop, as test_rnn_golden does (dirs on the
     * bidirectional fixtures, wave on the one-direction stacks of 2 layers) */
    const rnnc_loop_mode modes[] = {RNNC_LOOP_UNITS, RNNC_LOOP_ROWS, RNNC_LOOP_SERIAL, RNNC_LOOP_DIRS, RNNC_LOOP_WAVE};
    const char *const names[] = {"units", "rows", "serial", "dirs", "wave"};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        rnnc_rnn_set_loop_mode(modes[m]);
        printf("loop mode %s:\n", names[m]);
        RUN(test_seq_golden_all);
    }
    rnnc_rnn_set_loop_mode(RNNC_LOOP_AUTO);
    return test_report();
}
