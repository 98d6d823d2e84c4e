/* rnnc export: a model as ONNX graphs (src/io/onnx.c): a language model as one file, a seq2seq
 * model as its encoder and its decoder step, one file each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "rnnc/onnx.h"

static const char *const export_help =
    "usage: rnnc export [--format onnx] MODEL -o OUT.onnx\n"
    "\n"
    "Writes MODEL as ONNX graphs (IR version 7, opset 14: the standard LSTM, GRU and\n"
    "RNN operators) that ONNX Runtime runs with rnnc's numbers. The weights are\n"
    "inside the file (float32); a model whose graph would pass protobuf's 2 GiB is\n"
    "refused.\n"
    "\n"
    "A language model (or a checkpoint of its run) becomes OUT.onnx:\n"
    "  inputs   ids int64 [batch, time] (batch first; time 1 for one generation\n"
    "           step), h0 float [layers, batch, hidden] (zeros to start), and c0 the\n"
    "           same for LSTM\n"
    "  outputs  logits float [batch, time, vocab], hn (and cn): the state after the\n"
    "           last step, the next call's h0 (and c0)\n"
    "A seq2seq model becomes two files, OUT.encoder.onnx and OUT.decoder.onnx\n"
    "(\".onnx\" taken off OUT first):\n"
    "  encoder  src int64 [batch, src_time] (padded with <pad> = 0), src_lengths\n"
    "           int64 [batch] -> encoder_outputs float [batch, src_time, directions x\n"
    "           hidden], h0 (and c0) float [layers, batch, hidden]: the decoder's\n"
    "           initial state (after the tanh bridge of a bidirectional encoder; a\n"
    "           model that reads sources reversed reverses them itself)\n"
    "  decoder  ids (the previous tokens, <bos> = 1 first), h0 (and c0) -> logits, hn\n"
    "           (and cn): the language-model graph over the target vocabulary; time 1\n"
    "           is one decoding step\n"
    "The file's metadata holds the model's configuration and its tokenizer or\n"
    "vocabularies. Classifiers, taggers and forecasters are not exported.\n"
    "\n"
    "options:\n"
    "  --format onnx   the format (onnx, the default and only one)\n"
    "  -o, --output OUT  the file to write (a seq2seq model: the two files named from\n"
    "                    it)\n";

/* OUT with a trailing ".onnx" taken off, then the suffix: "g2p.onnx" -> "g2p.encoder.onnx". */
static char *derived(const char *out, const char *suffix) {
    size_t n = strlen(out);
    if (n > 5 && !strcmp(out + n - 5, ".onnx")) n -= 5;
    size_t cap = n + strlen(suffix) + 1;
    char *p = malloc(cap);
    if (p) snprintf(p, cap, "%.*s%s", (int)n, out, suffix);
    return p;
}

static void print_size(const char *path) {
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
    printf("  %s  %.2f MB\n", path, mb);
}

static int export_lm(const char *model, const char *out) {
    rnnc_lm *m;
    /* a model whose tokenizer disagrees with it is refused as by every command that loads one */
    if (rnnc_lm_load_tokenizer(&m, NULL, model)) return cli_fail_status();
    if (rnnc_onnx_export_lm(m, out)) { rnnc_lm_free(m); return cli_fail_status(); }
    const rnnc_lm_config *c = &m->c;
    bool lstm = rnnc_cell_info_of(c->cell)->states == 2;
    printf("rnnc export: %s (language model: %s, %d layer%s x %d, vocabulary %d) as ONNX (opset %d)\n", model,
           rnnc_cell_name(c->cell), c->layers, c->layers == 1 ? "" : "s", c->hidden, c->vocab, RNNC_ONNX_OPSET);
    print_size(out);
    printf("  inputs   ids int64 [batch, time], h0%s float [%d, batch, %d]\n", lstm ? ", c0" : "", c->layers, c->hidden);
    printf("  outputs  logits float [batch, time, %d], hn%s float [%d, batch, %d]\n", c->vocab, lstm ? ", cn" : "",
           c->layers, c->hidden);
    rnnc_lm_free(m);
    return 0;
}

static int export_s2s(const char *model, const char *out) {
    char *enc = derived(out, ".encoder.onnx"), *dec = derived(out, ".decoder.onnx");
    rnnc_s2s_model *m = NULL;
    int rc = 0;
    if (!enc || !dec) { rc = cli_fail("out of memory"); goto done; }
    /* the two files -o names must not be the model either */
    if ((rc = cli_output_ok("export", "-o", (const char **)&enc, false, (const char *const[]){model}, 1)) ||
        (rc = cli_output_ok("export", "-o", (const char **)&dec, false, (const char *const[]){model}, 1)))
        goto done;
    if (rnnc_s2s_load(&m, model) || rnnc_onnx_export_s2s_encoder(m, enc) || rnnc_onnx_export_s2s_decoder(m, dec)) {
        rc = cli_fail_status();
        goto done;
    }
    const rnnc_s2s_config *c = &m->c;
    bool lstm = rnnc_cell_info_of(c->cell)->states == 2;
    int D = c->bidirectional ? 2 : 1;
    printf("rnnc export: %s (seq2seq model: %s, %d layer%s x %d, %s encoder%s, vocabularies %d and %d) as ONNX "
           "(opset %d)\n", model, rnnc_cell_name(c->cell), c->layers, c->layers == 1 ? "" : "s", c->hidden,
           c->bidirectional ? "bidirectional" : "unidirectional", c->reverse_source ? " reading sources reversed" : "",
           c->src_vocab, c->tgt_vocab, RNNC_ONNX_OPSET);
    print_size(enc);
    printf("    src int64 [batch, src_time], src_lengths int64 [batch] -> encoder_outputs float [batch, src_time, %d], "
           "h0%s float [%d, batch, %d]\n", D * c->hidden, lstm ? ", c0" : "", c->layers, c->hidden);
    print_size(dec);
    printf("    ids int64 [batch, time], h0%s -> logits float [batch, time, %d], hn%s\n", lstm ? ", c0" : "",
           c->tgt_vocab, lstm ? ", cn" : "");
done:
    rnnc_s2s_model_free(m);
    free(enc);
    free(dec);
    return rc;
}

int cmd_export(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) { fputs(export_help, stdout); return 0; }
    const char *format = "onnx", *out = NULL, *model = NULL, *v;
    int err = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_opt("export", argc, argv, &i, "--format", &v, &err)) { if (err) return err; format = v; }
        else if (cli_opt("export", argc, argv, &i, "-o", &v, &err) || cli_opt("export", argc, argv, &i, "--output", &v, &err)) {
            if (err) return err;
            out = v;
        } else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("export", "unknown option '%s'", argv[i]);
        else if (model) return cli_usage_error("export", "one MODEL expected, got '%s' too", argv[i]);
        else model = argv[i];
    }
    if (strcmp(format, "onnx")) return cli_usage_error("export", "--format '%s': rnnc exports onnx only", format);
    if (!model) return cli_usage_error("export", "MODEL is required");
    if (!out) return cli_usage_error("export", "-o OUT is required");
    int orc = cli_output_ok("export", "-o", &out, false, (const char *const[]){model}, 1);
    if (orc) return orc;

    char what[1600];
    rnnc_file_kind k = rnnc_file_kind_sniff_path(model);
    if (k != RNNC_FILE_UNKNOWN) return cli_fail("%s: %s", model, rnnc_file_kind_describe(what, sizeof what, k, RNNC_FILE_UNKNOWN, model));
    rnnc_safetensors st;
    if (rnnc_st_load(&st, model)) return cli_fail_status();
    k = rnnc_file_kind_of(&st);
    rnnc_st_free(&st);
    switch (rnnc_file_kind_task(k)) {
    case RNNC_FILE_LM: return export_lm(model, out);
    case RNNC_FILE_SEQ2SEQ: return export_s2s(model, out);
    case RNNC_FILE_CLASSIFIER:
    case RNNC_FILE_TAGGER:
    case RNNC_FILE_FORECASTER:
        return cli_fail("%s: this is %s; rnnc export takes language models and seq2seq models (classifiers, taggers "
                        "and forecasters are not exported)", model, rnnc_file_kind_name(k));
    default:
        return cli_fail("%s: %s", model, rnnc_file_kind_describe(what, sizeof what, k, RNNC_FILE_UNKNOWN, model));
    }
}
