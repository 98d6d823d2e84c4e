/* rnnc eval — mean cross-entropy (nats per token) of a model over a stream-batched id file. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/lm_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc eval --model MODEL --ids FILE --batch B --seq T\n"
            "\n"
            "Prints 'loss <mean cross-entropy in nats per token>' over every window of the id file.\n"
            "FILE holds whitespace-separated token ids, cut into B equal contiguous streams (the tail that\n"
            "does not divide is dropped); window k reads ids [kT, kT+T) of each stream and predicts\n"
            "[kT+1, kT+T+1); the recurrent state carries from window to window.\n");
}

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *ids = NULL, *v;
    long B = 0, T = 0;
    int err = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { usage(stdout); return 0; }
        if (cli_opt("eval", argc, argv, &i, "--model", &v, &err)) { if (err) return err; model = v; }
        else if (cli_opt("eval", argc, argv, &i, "--ids", &v, &err)) { if (err) return err; ids = v; }
        else if (cli_opt("eval", argc, argv, &i, "--batch", &v, &err)) { if (err || !cli_parse_long("eval", "--batch", v, 1, 1 << 20, &B)) return 2; }
        else if (cli_opt("eval", argc, argv, &i, "--seq", &v, &err)) { if (err || !cli_parse_long("eval", "--seq", v, 1, 1 << 20, &T)) return 2; }
        else return cli_usage_error("eval", "unknown option '%s'", argv[i]);
    }
    if (!model) return cli_usage_error("eval", "--model is required");
    if (!ids) return cli_usage_error("eval", "--ids is required");
    if (!B) return cli_usage_error("eval", "--batch is required");
    if (!T) return cli_usage_error("eval", "--seq is required");
    cli_lm_data d;
    int rc = cli_lm_open("eval", model, ids, B, T, &d);
    if (rc) return rc;
    rnnc_lm_ws *ws = NULL;
    int *x = malloc((size_t)B * (size_t)T * sizeof *x), *y = malloc((size_t)B * (size_t)T * sizeof *y);
    if (!x || !y) { rc = cli_fail("out of memory"); goto out; }
    if (rnnc_lm_ws_new(&ws, d.m, (int)B, (int)T)) { rc = cli_fail_status(); goto out; }
    double sum = 0;
    for (size_t k = 0; k < d.stream.windows; k++) {
        rnnc_stream_window(&d.stream, k, x, y);
        double loss;
        if (rnnc_lm_forward(d.m, ws, x, (int)B, (int)T, false, NULL, NULL) || rnnc_lm_loss(d.m, ws, y, false, &loss)) {
            rc = cli_fail_status();
            goto out;
        }
        sum += loss; /* every window has B*T targets, so the mean of means is the mean per token */
    }
    printf("loss %.6f\n", sum / (double)d.stream.windows);
out:
    free(x);
    free(y);
    rnnc_lm_ws_free(ws);
    cli_lm_close(&d);
    return rc;
}
