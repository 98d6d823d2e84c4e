/* rnnc info — a model file's configuration and parameter counts per tensor and per layer. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "rnnc/tokenizer.h"

/* The tokenizer stored in the model (NULL: none), in one line. */
static void print_tokenizer(const rnnc_tokenizer *t) {
    if (!t) { printf("tokenizer   none (a model for id files; rnnc sample needs one)\n"); return; }
    printf("tokenizer   %s, |V| = %zu\n", rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(t)), rnnc_tokenizer_n_vocab(t));
}

/* Where training stood when the file was written ("rnnc.training", written by rnnc train). */
static void print_training(const rnnc_lm *m) {
    const char *tj = rnnc_lm_get_meta(m, "rnnc.training");
    cJSON *j = tj ? cJSON_Parse(tj) : NULL;
    if (!cJSON_IsObject(j)) { cJSON_Delete(j); return; }
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step"), *tok = cJSON_GetObjectItemCaseSensitive(j, "tokens"),
                *ep = cJSON_GetObjectItemCaseSensitive(j, "epoch"), *tl = cJSON_GetObjectItemCaseSensitive(j, "train_loss"),
                *vl = cJSON_GetObjectItemCaseSensitive(j, "val_loss");
    printf("training    step %.0f, %.0f tokens, epoch %.2f", cJSON_IsNumber(step) ? step->valuedouble : 0,
           cJSON_IsNumber(tok) ? tok->valuedouble : 0, cJSON_IsNumber(ep) ? ep->valuedouble : 0);
    if (cJSON_IsNumber(tl)) printf(", train loss %.4f", tl->valuedouble);
    if (cJSON_IsNumber(vl)) printf(", valid loss %.4f", vl->valuedouble);
    printf("\n");
    cJSON_Delete(j);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc info MODEL\n"
            "\n"
            "Prints the model's configuration, every tensor with its shape, and the parameters of each\n"
            "recurrent layer next to those of an Elman (rnn_tanh) layer of the same sizes: an LSTM layer\n"
            "has exactly 4x and a GRU layer 3x as many.\n");
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    if (cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("info", "unknown option '%s'", argv[i]);
        if (path) return cli_usage_error("info", "one model file expected, got '%s' too", argv[i]);
        path = argv[i];
    }
    if (!path) return cli_usage_error("info", "MODEL is required");
    rnnc_lm *m;
    rnnc_tokenizer *tok;
    /* an unreadable tokenizer, or one of another size than the vocabulary, is refused as by every
     * command that loads the model */
    if (rnnc_lm_load_tokenizer(&m, &tok, path)) return cli_fail_status();
    const rnnc_lm_config *c = &m->c;
    printf("model       %s\n", path);
    printf("cell        %s\n", rnnc_cell_name(c->cell));
    printf("vocab       %d\nembed       %d\nhidden      %d\nlayers      %d\ndropout     %g\n", c->vocab, c->embed,
           c->hidden, c->layers, (double)c->dropout);
    print_tokenizer(tok);
    rnnc_tokenizer_free(tok);
    print_training(m);
    for (size_t i = 0; i < m->n_meta; i++) printf("metadata    %s (%zu bytes)\n", m->meta_keys[i], strlen(m->meta_values[i]));
    printf("\ntensors:\n");
    size_t nt = rnnc_lm_num_tensors(m);
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_lm_tensor(m, k);
        char shape[48];
        if (p.ndim == 2) snprintf(shape, sizeof shape, "(%d, %d)", p.shape[0], p.shape[1]);
        else snprintf(shape, sizeof shape, "(%d)", p.shape[0]);
        printf("  %-28s %-14s %12zu\n", p.name, shape, p.size);
    }
    printf("\nrecurrent layers (parameters; an Elman layer of the same sizes for comparison):\n");
    size_t rnn_total = 0;
    for (int l = 0; l < c->layers; l++) {
        size_t n = rnnc_lm_layer_params(m, l);
        size_t I = (size_t)(l == 0 ? c->embed : c->hidden), H = (size_t)c->hidden;
        size_t elman = H * (I + H + 2); /* weight_ih (H,I) + weight_hh (H,H) + two biases (H) */
        printf("  layer %d  %12zu   elman %12zu   ratio %.2fx\n", l, n, elman, (double)n / (double)elman);
        rnn_total += n;
    }
    size_t emb = (size_t)c->vocab * (size_t)c->embed, head = (size_t)c->vocab * ((size_t)c->hidden + 1);
    printf("\nembedding   %12zu\nrecurrent   %12zu\nhead        %12zu\ntotal       %12zu\n", emb, rnn_total, head,
           m->n_params);
    rnnc_lm_free(m);
    return 0;
}
