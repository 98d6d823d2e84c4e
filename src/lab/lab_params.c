/* rnnc lab params — "LSTM: parameters = simple RNN x 4; GRU: x 3" (the seed, LSTM and GRU sections).
 *
 * For each configuration (E inputs, H units, layers, directions) and each cell, three counts of the
 * recurrent stack's parameters that must agree exactly:
 *   formula   sum over layers and directions of G*H*(I_l + H + 2): weight_ih (G*H, I_l),
 *             weight_hh (G*H, H) and PyTorch's two bias vectors (G*H each), with I_0 = E and
 *             I_l = D*H above the first layer; G = 1 (Elman), 4 (LSTM), 3 (GRU);
 *   library   rnnc_rnn_num_params;
 *   file      the element counts of the "rnn.*" tensors of a tagger saved with rnnc_seq_save and
 *             read back as a plain safetensors file.
 * Every term of the formula is proportional to G, so the stack's ratio to Elman is exactly 4 and 3.
 * What breaks the ratios: the parts of a model that do not grow with G (the embedding and the
 * head: the whole tagger's ratio is below 4 and 3), and bias conventions that are not per gate in
 * the same way for every cell: Keras's SimpleRNN has one bias vector (H) but its GRU, by default
 * (reset_after=True), two (2*3H), so Keras's GRU/SimpleRNN ratio is 3(I+H+2)/(I+H+1), not 3. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/lab.h"
#include "rnnc/safetensors.h"
#include "rnnc/seqmodel.h"

typedef struct { int E, H, L, D; } config;

static const rnnc_cell cells[3] = {RNNC_CELL_RNN_TANH, RNNC_CELL_LSTM, RNNC_CELL_GRU};
static const char *const cell_names[3] = {"elman", "lstm", "gru"};

/* The formula, written out (independent of rnn.c's bookkeeping). */
static uint64_t formula(int G, const config *k) {
    uint64_t n = 0, H = (uint64_t)k->H;
    for (int l = 0; l < k->L; l++) {
        uint64_t I = l == 0 ? (uint64_t)k->E : (uint64_t)k->D * H;
        n += (uint64_t)k->D * (uint64_t)G * H * (I + H + 2);
    }
    return n;
}

enum { VOCAB = 1000, TAGS = 10 }; /* the tagger around the stack: 1000 symbols, 10 tags */

/* A tagger (embedding VOCAB+4 x E, the stack, a head of TAGS) with PyTorch's initialisation. */
static rnnc_status make_tagger(rnnc_seq_model **out, rnnc_cell cell, const config *k) {
    rnnc_s2s_vocab v;
    rnnc_status s = rnnc_s2s_vocab_init(&v, RNNC_S2S_TOK_SPACE);
    if (s) return s;
    for (int i = 0; !s && i < VOCAB; i++) {
        char sym[16];
        int n = snprintf(sym, sizeof sym, "w%d", i);
        uint32_t id;
        s = rnnc_s2s_vocab_add(&v, sym, (size_t)n, &id);
    }
    const char *tags[TAGS];
    char tagbuf[TAGS][16]; /* room for any int: GCC at -O1 cannot see that i < TAGS and warns */
    for (int i = 0; i < TAGS; i++) {
        snprintf(tagbuf[i], sizeof tagbuf[i], "t%d", i);
        tags[i] = tagbuf[i];
    }
    rnnc_seq_config c = {.kind = RNNC_SEQ_TAG, .cell = cell, .embed = k->E, .hidden = k->H, .layers = k->L,
                         .bidirectional = k->D == 2, .outputs = TAGS, .loss = RNNC_SEQ_LOSS_CE};
    if (!s) s = rnnc_seq_model_new(out, &c, &v, tags, NULL);
    rnnc_s2s_vocab_free(&v);
    return s;
}

/* The parameters in a model file, read back as plain safetensors: those of the "rnn." tensors and
 * all of them. */
static rnnc_status count_file(const char *path, uint64_t *rnn, uint64_t *all) {
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, path);
    if (s) return s;
    *rnn = *all = 0;
    for (size_t i = 0; i < st.n_tensors; i++) {
        *all += st.tensors[i].numel;
        if (strncmp(st.tensors[i].name, "rnn.", 4) == 0) *rnn += st.tensors[i].numel;
    }
    rnnc_st_free(&st);
    return RNNC_OK;
}

rnnc_status rnnc_lab_params_run(const rnnc_lab_ctx *ctx) {
    static const config full[] = {{32, 64, 1, 1},  {64, 128, 1, 1},  {64, 128, 2, 1}, {64, 128, 1, 2},
                                  {64, 128, 2, 2}, {128, 256, 2, 1}, {256, 512, 1, 1}, {128, 256, 3, 2}};
    static const config quick[] = {{32, 64, 1, 1}, {64, 128, 2, 1}, {64, 128, 1, 2}, {16, 24, 3, 2}};
    const config *ks = ctx->quick ? quick : full;
    int nk = ctx->quick ? (int)(sizeof quick / sizeof quick[0]) : (int)(sizeof full / sizeof full[0]);

    static const char *const head[] = {"cell",    "E",       "H",          "layers",    "dirs", "formula", "library",
                                       "file",    "x elman", "tagger",     "tagger x elman"};
    enum { NC = 11 };
    rnnc_lab_cells t = {0};
    rnnc_status s = RNNC_OK;
    bool exact = true, agree = true;
    char *tmp = rnnc_lab_path(ctx, "count.tmp.safetensors");
    if (!tmp) return rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    rnnc_lab_note(ctx, "Recurrent parameters of Elman, LSTM and GRU stacks: the formula sum G*H*(I + H + 2) over layers and\n"
                       "directions (G = 1, 4, 3; two bias vectors per gate block, as PyTorch), rnnc's own count, and the\n"
                       "'rnn.*' tensors of a tagger (embedding of %d symbols + 4 specials, head of %d tags) saved and read back.",
                  VOCAB, TAGS);
    uint64_t ratio_fail_lstm = 0, ratio_fail_gru = 0;
    for (int ki = 0; !s && ki < nk; ki++) {
        const config *k = &ks[ki];
        uint64_t elman_rnn = 0, elman_all = 0;
        for (int ci = 0; !s && ci < 3; ci++) {
            int G = rnnc_cell_gates(cells[ci]);
            uint64_t f = formula(G, k);
            rnnc_rnn_config rc = {.cell = cells[ci], .input = k->E, .hidden = k->H, .layers = k->L, .bidirectional = k->D == 2};
            uint64_t lib = rnnc_rnn_num_params(&rc);
            rnnc_seq_model *m = NULL;
            if ((s = make_tagger(&m, cells[ci], k))) break;
            /* keep the first configuration's models for `rnnc info`; count the others and remove them */
            char keep[64];
            snprintf(keep, sizeof keep, "%s-E%d-H%d-L%d-D%d.safetensors", cell_names[ci], k->E, k->H, k->L, k->D);
            char *path = ki == 0 ? rnnc_lab_path(ctx, keep) : tmp;
            if (!path) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
            uint64_t file_rnn = 0, file_all = 0;
            if (!s) s = rnnc_seq_save(m, path, NULL, NULL, 0, NULL, 0);
            if (!s) s = count_file(path, &file_rnn, &file_all);
            if (path != tmp) free(path);
            else unlink(tmp);
            if (!s && file_all != m->n_params)
                s = rnnc_error(RNNC_ERR_FORMAT, "params: the tagger has %zu parameters but its file %" PRIu64, m->n_params, file_all);
            rnnc_seq_model_free(m);
            if (s) break;
            if (f != lib || f != file_rnn) agree = false;
            if (ci == 0) { elman_rnn = f; elman_all = file_all; }
            if (ci == 1 && f != 4 * elman_rnn) { exact = false; ratio_fail_lstm++; }
            if (ci == 2 && f != 3 * elman_rnn) { exact = false; ratio_fail_gru++; }
            rnnc_lab_cell(&t, "%s", cell_names[ci]);
            rnnc_lab_cell(&t, "%d", k->E);
            rnnc_lab_cell(&t, "%d", k->H);
            rnnc_lab_cell(&t, "%d", k->L);
            rnnc_lab_cell(&t, "%d", k->D);
            rnnc_lab_cell(&t, "%" PRIu64, f);
            rnnc_lab_cell(&t, "%" PRIu64, lib);
            rnnc_lab_cell(&t, "%" PRIu64, file_rnn);
            /* exact integers: the ratio printed as a fraction when it is not a whole number */
            if (f % elman_rnn == 0) rnnc_lab_cell(&t, "%" PRIu64 "x", f / elman_rnn);
            else rnnc_lab_cell(&t, "%.4fx", (double)f / (double)elman_rnn);
            rnnc_lab_cell(&t, "%" PRIu64, file_all);
            rnnc_lab_cell(&t, "%.4fx", (double)file_all / (double)elman_all);
        }
    }
    free(tmp);
    if (!s && t.failed) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        int nrow = t.n / NC;
        rnnc_lab_table(ctx, "recurrent parameters (formula = library = file), and the whole tagger's", NC, head, nrow,
                       (const char *const *)t.s);
        s = rnnc_lab_write_csv(ctx, "params.csv", NC, head, nrow, (const char *const *)t.s);
    }
    rnnc_lab_cells_free(&t);

    /* The ratios against H (E = 64, one layer, one direction), drawn: the stack's exact 4 and 3, the
     * whole tagger's (the embedding and head do not grow with G), and Keras's GRU against its
     * SimpleRNN (one bias vector against two per gate block). */
    enum { NH = 10 };
    double hs[NH], r_lstm[NH], r_gru[NH], r_tag_lstm[NH], r_tag_gru[NH], r_keras_gru[NH], r_keras_lstm[NH];
    rnnc_lab_cells kt = {0};
    const int E = 64;
    for (int i = 0; i < NH; i++) {
        int H = 8 << i; /* 8 .. 4096 */
        config k = {E, H, 1, 1};
        double el = (double)formula(1, &k), ls = (double)formula(4, &k), gr = (double)formula(3, &k);
        double around = (double)(VOCAB + 4) * E + (double)TAGS * (H + 1); /* embedding + head */
        hs[i] = H;
        r_lstm[i] = ls / el;
        r_gru[i] = gr / el;
        r_tag_lstm[i] = (ls + around) / (el + around);
        r_tag_gru[i] = (gr + around) / (el + around);
        double kel = (double)H * (E + H) + H;           /* SimpleRNN: kernel, recurrent kernel, one bias */
        double kls = 4.0 * H * (E + H) + 4.0 * H;       /* LSTM: one bias of 4H */
        double kgr = 3.0 * H * (E + H) + 2.0 * 3.0 * H; /* GRU, reset_after=True: bias (2, 3H) */
        r_keras_lstm[i] = kls / kel;
        r_keras_gru[i] = kgr / kel;
        rnnc_lab_cell(&kt, "%d", H);
        rnnc_lab_cell(&kt, "%.4f", r_lstm[i]);
        rnnc_lab_cell(&kt, "%.4f", r_gru[i]);
        rnnc_lab_cell(&kt, "%.4f", r_tag_lstm[i]);
        rnnc_lab_cell(&kt, "%.4f", r_tag_gru[i]);
        rnnc_lab_cell(&kt, "%.4f", r_keras_lstm[i]);
        rnnc_lab_cell(&kt, "%.4f", r_keras_gru[i]);
    }
    static const char *const khead[] = {"H", "lstm/elman", "gru/elman", "tagger lstm", "tagger gru", "keras lstm", "keras gru"};
    if (!s && kt.failed) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory");
    if (!s) {
        rnnc_lab_table(ctx, "ratios to Elman against H (E = 64, one layer): rnnc/PyTorch stack, the whole tagger, Keras's bias convention",
                       7, khead, NH, (const char *const *)kt.s);
        s = rnnc_lab_write_csv(ctx, "ratios.csv", 7, khead, NH, (const char *const *)kt.s);
    }
    rnnc_lab_cells_free(&kt);
    if (!s) {
        rnnc_plot_series ps[] = {
            {.label = "LSTM / Elman: the recurrent layer (rnnc, PyTorch)", .x = hs, .y = r_lstm, .n = NH, .color = 0, .markers = 1},
            {.label = "GRU / Elman: the recurrent layer (rnnc, PyTorch)", .x = hs, .y = r_gru, .n = NH, .color = 1, .markers = 1},
            {.label = "LSTM / Elman: a whole tagger (1004-symbol emb., 10 tags)", .x = hs, .y = r_tag_lstm, .n = NH,
             .color = 0, .dashed = 1},
            {.label = "GRU / Elman: a whole tagger", .x = hs, .y = r_tag_gru, .n = NH, .color = 1, .dashed = 1},
            {.label = "Keras GRU / SimpleRNN (bias 2x3H against H)", .x = hs, .y = r_keras_gru, .n = NH, .color = 2,
             .markers = 1},
        };
        rnnc_plot_opts po = {.title = "Parameters relative to an Elman RNN of the same size (E = 64, one layer)",
                             .xlabel = "hidden units H", .ylabel = "parameters / Elman's", .log_x = 1};
        s = rnnc_lab_plot(ctx, "params.svg", &po, ps, sizeof ps / sizeof ps[0]);
    }
    if (!s) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"lab\":\"params\",\"configs\":%d,\"formula_library_file_agree\":%s,\"lstm_exactly_4x\":%s,"
                 "\"gru_exactly_3x\":%s,\"keras_gru_ratio_H128\":%.6f,\"tagger_lstm_ratio_H128\":%.6f}",
                 nk, agree ? "true" : "false", ratio_fail_lstm ? "false" : "true", ratio_fail_gru ? "false" : "true",
                 r_keras_gru[4], r_tag_lstm[4]);
        s = rnnc_lab_write_json(ctx, "params.json", json);
    }
    if (s) return s;
    rnnc_lab_note(ctx, "\nwritten: %s/params.svg, params.csv, ratios.csv, params.json", ctx->out_dir);
    rnnc_lab_verdict(ctx, exact && agree,
                     "Formula, library and file agree for all %d (cell, configuration) pairs, and the recurrent stack is exactly "
                     "%s; a whole model is less (a tagger at H = 128: %.3fx), and Keras's GRU is not exactly 3x its SimpleRNN "
                     "(%.3fx at H = 128: one bias vector in SimpleRNN, two in GRU).",
                     nk * 3, exact ? "4x (LSTM) and 3x (GRU) an Elman stack" : "NOT 4x and 3x", r_tag_lstm[4], r_keras_gru[4]);
    return RNNC_OK;
}
