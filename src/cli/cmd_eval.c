/* rnnc eval — mean cross-entropy (nats per token) of a model over a stream-batched id file. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/lm_common.h"
#include "rnnc/metrics.h"
#include "rnnc/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc eval --model MODEL --ids FILE --batch B --seq T [--json]\n"
            "       rnnc eval --model MODEL --data FILE [--batch B] [--seq T] [--json]\n"
            "\n"
            "Prints 'loss <mean cross-entropy in nats per token>' over every window of the id\n"
            "file. FILE holds whitespace-separated token ids, cut into B equal contiguous\n"
            "streams (the tail that does not divide is dropped); window k reads ids\n"
            "[kT, kT+T) of each stream and predicts [kT+1, kT+T+1); the recurrent state\n"
            "carries from window to window.\n"
            "\n"
            "With --data, the text is encoded with the tokenizer stored in the model and the\n"
            "loss is printed as nats per token, perplexity and bits per byte (comparable\n"
            "across tokenizers). Every token but the first is scored: the text is cut into B\n"
            "streams whose lengths differ by at most one (fewer when the text is short), and\n"
            "the last window stops where each stream ends; B and T default to 16 and 128.\n"
            "A word model also prints its <unk> rate, and bits per byte only when\n"
            "no token is <unk> (the bytes behind an <unk> are not modelled); a char model\n"
            "prints the characters outside its vocabulary (encoded as bytes, so still\n"
            "counted). A file with nothing to evaluate is an error.\n"
            "\n"
            "options:\n"
            "  --model MODEL   the model file (required)\n"
            "  --ids FILE      token ids to evaluate\n"
            "  --data FILE     text to evaluate, encoded with the model's own tokenizer\n"
            "  --batch B       streams evaluated together (required with --ids)\n"
            "  --seq T         window length in tokens (required with --ids)\n"
            "  --json          the same figures as one JSON object: loss, ppl, tokens; with\n"
            "                  --data also bytes, bpb (null where not shown, with\n"
            "                  bpb_withheld saying why), and unk or fallback counts\n");
}

/* rnnc_lm_stream_loss over every window, with its workspace and window buffers. */
static rnnc_status stream_loss(rnnc_lm *m, const rnnc_stream *st, int B, int T, double *loss) {
    rnnc_lm_ws *ws = NULL;
    int *x = malloc((size_t)B * (size_t)T * sizeof *x), *y = malloc((size_t)B * (size_t)T * sizeof *y);
    rnnc_status s = (!x || !y) ? rnnc_error(RNNC_ERR_NOMEM, "out of memory") : rnnc_lm_ws_new(&ws, m, B, T);
    if (!s) s = rnnc_lm_stream_loss(m, ws, st, 0, x, y, loss);
    free(x);
    free(y);
    rnnc_lm_ws_free(ws);
    return s;
}

/* Characters of UTF-8 text (lead bytes; a stray byte counts as one). */
static size_t count_chars(const unsigned char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += (s[i] & 0xC0) != 0x80;
    return c;
}

static int eval_text(const char *model, const char *data, long B, long T, bool json) {
    rnnc_lm *m = NULL;
    rnnc_tokenizer *tok = NULL;
    unsigned char *text = NULL;
    size_t len = 0, oov = 0;
    rnnc_ids ids = {0};
    int rc = 0;
    if (rnnc_lm_load_tokenizer(&m, &tok, model)) return cli_fail_status();
    if (!tok) { rc = cli_fail("%s: the model file has no tokenizer (metadata 'rnnc.tokenizer'); evaluate id files with --ids", model); goto out; }
    if (rnnc_read_file(data, &text, &len)) { rc = cli_fail_status(); goto out; }
    if (len == 0) { rc = cli_fail("no text to evaluate in %s (the file is empty)", data); goto out; }
    if (rnnc_tokenizer_encode(tok, text, len, false, &ids, &oov)) { rc = cli_fail_status(); goto out; }
    if (ids.len == 0) { rc = cli_fail("no tokens to evaluate in %s (its %zu bytes give no tokens)", data, len); goto out; }
    if (rnnc_ids_check_vocab((const int32_t *)ids.data, ids.len, m->c.vocab, data)) { rc = cli_fail_status(); goto out; }
    if (ids.len < 2) { rc = cli_fail("nothing to evaluate in %s: its %zu byte%s one token, and the first token is only context", data, len,
                                  len == 1 ? " is" : "s are"); goto out; }
    double loss;
    size_t n_targets;
    if (rnnc_lm_text_loss(m, (const int32_t *)ids.data, ids.len, (int)B, (int)T, &loss, &n_targets)) { rc = cli_fail_status(); goto out; }
    double targets = (double)n_targets;
    /* Bytes covered by the evaluated targets (all tokens but the first). A char or BPE tokenizer's
     * tokens are the text's bytes, in order: the text's bytes but the first token's, counted. A
     * word tokenizer's are words without the spaces between them, so there the text's bytes are
     * shared out in proportion to the tokens (an estimate). */
    rnnc_tokenizer_type type = rnnc_tokenizer_type_of(tok);
    rnnc_token_bytes first = rnnc_tokenizer_token(tok, ids.data[0]);
    double bytes = type != RNNC_TOKENIZER_WORD && first.data && first.len <= len ? (double)(len - first.len)
                                                                                 : (double)len * targets / (double)ids.len;
    /* Bits per byte charges the model for every byte of the text. A word tokenizer's <unk> stands
     * for any unknown word, so the bytes behind it are never modelled and the figure would flatter
     * the model (one that maps everything to <unk> would score near 0): left out, with the reason,
     * whenever an <unk> occurs. A char tokenizer's unknown characters are byte tokens: modelled. */
    const double unk_rate = (double)oov / (double)ids.len, bpb = rnnc_bits_per_byte(loss, targets, bytes);
    const bool bpb_shown = !(type == RNNC_TOKENIZER_WORD && oov > 0);
    const size_t chars = type == RNNC_TOKENIZER_CHAR && oov > 0 ? count_chars(text, len) : 0;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "loss", loss);
        cJSON_AddNumberToObject(j, "ppl", rnnc_perplexity(loss));
        if (bpb_shown) cJSON_AddNumberToObject(j, "bpb", bpb);
        else {
            cJSON_AddNullToObject(j, "bpb");
            cJSON_AddStringToObject(j, "bpb_withheld", "<unk> tokens: their bytes are not modelled");
        }
        cJSON_AddNumberToObject(j, "tokens", targets);
        cJSON_AddNumberToObject(j, "bytes", bytes);
        if (type == RNNC_TOKENIZER_WORD) {
            cJSON_AddNumberToObject(j, "unk_tokens", (double)oov);
            cJSON_AddNumberToObject(j, "text_tokens", (double)ids.len);
        } else if (chars) {
            cJSON_AddNumberToObject(j, "fallback_chars", (double)oov);
            cJSON_AddNumberToObject(j, "text_chars", (double)chars);
        }
        rc = cli_print_json(j);
        goto out;
    }
    printf("loss %.6f\nppl %.4f\n", loss, rnnc_perplexity(loss));
    if (!bpb_shown)
        printf("bits per byte: not shown, %.1f%% of the tokens are <unk>: their bytes are not modelled\n", 100 * unk_rate);
    else
        printf("bpb %.6f\n", bpb);
    printf("tokens %.0f\nbytes %.0f\n", targets, bytes); /* every token but the first: the targets */
    if (type == RNNC_TOKENIZER_WORD)
        printf("unk %.2f%% (%zu of the text's %zu tokens)\n", 100 * unk_rate, oov, ids.len);
    else if (chars)
        printf("fallback %.2f%% (%zu of the text's %zu characters are outside the vocabulary: encoded as their bytes, "
               "so bpb still counts them)\n", 100.0 * (double)oov / (double)chars, oov, chars);
out:
    rnnc_ids_free(&ids);
    free(text);
    rnnc_tokenizer_free(tok);
    rnnc_lm_free(m);
    return rc;
}

/* An id file with no ids in it (empty, or only white space) is an error, not a loss over nothing:
 * returns the exit code after printing the error (also a read error), or 0 when the file holds
 * something. */
static int no_ids(const char *path) {
    /* a pipe (stdin, a FIFO, <(...)) can be read once only: the load that follows reads it, and
     * its own check says when there are too few ids */
    struct stat st;
    if (!strcmp(path, "-") || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    unsigned char *s;
    size_t n;
    if (rnnc_read_file(path, &s, &n)) return cli_fail_status();
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')) i++;
    free(s);
    if (i < n) return 0;
    return cli_fail("no ids to evaluate in %s (the file is %s)", path, n ? "only white space" : "empty");
}

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *ids = NULL, *data = NULL, *v;
    long B = 0, T = 0;
    int err = 0;
    bool json = false;
    if (cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv, i, "--json")) { json = true; continue; }
        if (cli_opt("eval", argc, argv, &i, "--model", &v, &err)) { if (err) return err; model = v; }
        else if (cli_opt("eval", argc, argv, &i, "--ids", &v, &err)) { if (err) return err; ids = v; }
        else if (cli_opt("eval", argc, argv, &i, "--data", &v, &err)) { if (err) return err; data = v; }
        else if (cli_opt("eval", argc, argv, &i, "--batch", &v, &err)) { if (err || !cli_parse_long("eval", "--batch", v, 1, CLI_BATCH_MAX, &B)) return 2; }
        else if (cli_opt("eval", argc, argv, &i, "--seq", &v, &err)) { if (err || !cli_parse_long("eval", "--seq", v, 1, 1 << 20, &T)) return 2; }
        else return cli_usage_error("eval", "unknown option '%s'", argv[i]);
    }
    if (!model) return cli_usage_error("eval", "--model is required");
    if (data && ids) return cli_usage_error("eval", "give --data or --ids, not both");
    if (data) return eval_text(model, data, B ? B : 16, T ? T : 128, json);
    if (!ids) return cli_usage_error("eval", "--data FILE (text) or --ids FILE (token ids) is required");
    if (!B) return cli_usage_error("eval", "--batch is required");
    if (!T) return cli_usage_error("eval", "--seq is required");
    int rc = no_ids(ids);
    if (rc) return rc;
    cli_lm_data d;
    rc = cli_lm_open("eval", model, ids, B, T, &d);
    if (rc) return rc;
    double loss;
    if (stream_loss(d.m, &d.stream, (int)B, (int)T, &loss)) rc = cli_fail_status();
    else if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "loss", loss);
        cJSON_AddNumberToObject(j, "ppl", rnnc_perplexity(loss));
        cJSON_AddNumberToObject(j, "tokens", (double)d.stream.windows * (double)B * (double)T);
        rc = cli_print_json(j);
    } else printf("loss %.6f\n", loss);
    cli_lm_close(&d);
    return rc;
}
