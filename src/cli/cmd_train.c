/* rnnc train — truncated-BPTT training of a language model on a stream-batched id file.
 *
 * Options are parsed in one loop of independent cases, so later modes (text data with a tokenizer,
 * run directories) add cases without changing the --ids mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/lm_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc train --data FILE... [options] -o RUN_DIR   (text; see 'rnnc train --data x --help')\n"
            "       rnnc train --resume RUN_DIR\n"
            "usage: rnnc train --model MODEL --ids FILE --batch B --seq T --steps N --optimizer sgd|adam|adamw\n"
            "                  --lr X [--momentum M] [--weight-decay W] [--clip C] [--seed S] -o OUT\n"
            "\n"
            "Takes N optimizer steps on consecutive windows of the id file (batched as in 'rnnc eval'),\n"
            "carrying the recurrent state between windows and starting again from the first window with\n"
            "zero state when the windows run out. Each step's loss (mean cross-entropy over its B*T\n"
            "targets) is printed; the trained model is written to OUT.\n"
            "\n"
            "  --optimizer     sgd (torch.optim.SGD), adam (Adam), adamw (AdamW)\n"
            "  --lr X          learning rate\n"
            "  --momentum M    SGD momentum (default 0)\n"
            "  --weight-decay  L2 for sgd/adam, decoupled for adamw (default 0; adamw 0.01)\n"
            "  --clip C        clip the global gradient norm to C (default: no clipping)\n"
            "  --seed S        seed for dropout (default 1)\n");
}

int cmd_train(int argc, char **argv) {
    /* Text mode (issue 4: --data / --resume with a run directory) lives in cmd_train_text.c. */
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--data", 6) == 0 || strncmp(argv[i], "--resume", 8) == 0) return cmd_train_text(argc, argv);
    const char *model = NULL, *ids = NULL, *out = NULL, *opt_name = NULL, *v;
    long B = 0, T = 0, steps = 0, seed = 1;
    double lr = -1, momentum = 0, wd = -1, clip = 0;
    int err = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { usage(stdout); return 0; }
        if (cli_opt("train", argc, argv, &i, "--model", &v, &err)) { if (err) return err; model = v; }
        else if (cli_opt("train", argc, argv, &i, "--ids", &v, &err)) { if (err) return err; ids = v; }
        else if (cli_opt("train", argc, argv, &i, "--batch", &v, &err)) { if (err || !cli_parse_long("train", "--batch", v, 1, 1 << 20, &B)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--seq", &v, &err)) { if (err || !cli_parse_long("train", "--seq", v, 1, 1 << 20, &T)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--steps", &v, &err)) { if (err || !cli_parse_long("train", "--steps", v, 1, 1L << 40, &steps)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--optimizer", &v, &err)) { if (err) return err; opt_name = v; }
        else if (cli_opt("train", argc, argv, &i, "--lr", &v, &err)) { if (err || !cli_parse_double("train", "--lr", v, 0, 1e6, &lr)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--momentum", &v, &err)) { if (err || !cli_parse_double("train", "--momentum", v, 0, 0.999999, &momentum)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--weight-decay", &v, &err)) { if (err || !cli_parse_double("train", "--weight-decay", v, 0, 1e6, &wd)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--clip", &v, &err)) { if (err || !cli_parse_double("train", "--clip", v, 1e-12, 1e12, &clip)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "--seed", &v, &err)) { if (err || !cli_parse_long("train", "--seed", v, 0, 0x7fffffffffffffffL, &seed)) return 2; }
        else if (cli_opt("train", argc, argv, &i, "-o", &v, &err) || cli_opt("train", argc, argv, &i, "--output", &v, &err)) { if (err) return err; out = v; }
        else return cli_usage_error("train", "unknown option '%s'", argv[i]);
    }
    if (!model) return cli_usage_error("train", "--model is required");
    if (!ids) return cli_usage_error("train", "--ids is required");
    if (!B) return cli_usage_error("train", "--batch is required");
    if (!T) return cli_usage_error("train", "--seq is required");
    if (!steps) return cli_usage_error("train", "--steps is required");
    if (!opt_name) return cli_usage_error("train", "--optimizer is required (sgd, adam or adamw)");
    if (lr < 0) return cli_usage_error("train", "--lr is required");
    if (!out) return cli_usage_error("train", "-o OUT is required");
    rnnc_optim_kind kind;
    if (rnnc_optim_parse(opt_name, &kind))
        return cli_usage_error("train", "--optimizer must be sgd, adam or adamw, got '%s'", opt_name);
    if (momentum > 0 && kind != RNNC_OPT_SGD) return cli_usage_error("train", "--momentum applies to --optimizer sgd only");
    rnnc_optim_config oc = rnnc_optim_defaults(kind, lr);
    oc.momentum = momentum;
    if (wd >= 0) oc.weight_decay = wd;

    cli_lm_data d;
    int rc = cli_lm_open("train", model, ids, B, T, &d);
    if (rc) return rc;
    rnnc_lm_ws *ws = NULL;
    rnnc_optim opt = {0};
    int *x = malloc((size_t)B * (size_t)T * sizeof *x), *y = malloc((size_t)B * (size_t)T * sizeof *y);
    if (!x || !y) { rc = cli_fail("out of memory"); goto out; }
    if (rnnc_lm_ws_new(&ws, d.m, (int)B, (int)T) || rnnc_optim_init(&opt, &oc, d.m->n_params)) { rc = cli_fail_status(); goto out; }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, (uint64_t)seed);
    cli_progress prog;
    cli_progress_start(&prog, "train", (double)steps);
    for (long step = 1; step <= steps; step++) {
        size_t k = (size_t)(step - 1) % d.stream.windows;
        if (k == 0) rnnc_lm_ws_reset_state(ws); /* the streams start over: so does the state */
        rnnc_stream_window(&d.stream, k, x, y);
        rnnc_lm_zero_grad(d.m);
        double loss;
        if (rnnc_lm_forward(d.m, ws, x, (int)B, (int)T, true, &rng, NULL) || rnnc_lm_loss(d.m, ws, y, true, &loss) ||
            rnnc_check_finite(loss, "loss", step)) {
            rc = cli_fail_status();
            goto out;
        }
        double norm = clip > 0 ? rnnc_clip_grad_norm(d.m->grads, d.m->n_params, clip)
                               : rnnc_grad_norm(d.m->grads, d.m->n_params);
        if (rnnc_check_finite(norm, "gradient norm", step)) { rc = cli_fail_status(); goto out; }
        rnnc_optim_step(&opt, d.m->params, d.m->grads);
        cli_progress_finish(&prog);
        printf("step %ld loss %.6f\n", step, loss);
        fflush(stdout);
        char extra[64];
        snprintf(extra, sizeof extra, "loss %.4f", loss);
        cli_progress_update(&prog, (double)step, extra);
    }
    cli_progress_finish(&prog);
    if (rnnc_lm_save(d.m, out)) { rc = cli_fail_status(); goto out; }
    fprintf(stderr, "wrote %s\n", out);
out:
    free(x);
    free(y);
    rnnc_optim_free(&opt);
    rnnc_lm_ws_free(ws);
    cli_lm_close(&d);
    return rc;
}
