/* rnnc train --data ... -o RUN_DIR | --resume RUN_DIR: language-model training on text files
 * (include/rnnc/train.h), with a live progress bar, validation reports and checkpoints on Ctrl-C. */
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "rnnc/train.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static const char usage_text[] =
    "usage: rnnc train --data FILE... [options] -o RUN_DIR\n"
    "       rnnc train --resume RUN_DIR [--steps N | --epochs X | --time T]\n"
    "\n"
    "Trains a recurrent language model on text. The tokenizer is trained on the training text (or\n"
    "loaded) and stored in the model files, so a model file is all that sampling needs.\n"
    "\n"
    "data:\n"
    "  --data FILE...          training text (several files are concatenated)\n"
    "  --valid FILE            held-out text (default: the last --valid-fraction of the data)\n"
    "  --valid-fraction X      default 0.05\n"
    "  --tokenizer SPEC        char | word | word:N | bpe:N | FILE | r50k_base ... (default char)\n"
    "model:\n"
    "  --cell C                rnn_tanh | rnn_relu | lstm | gru (default lstm)\n"
    "  --layers N --hidden H --embed E   default 2, 256, 64\n"
    "  --dropout P             between recurrent layers (default 0)\n"
    "  --uniform-bias          start the output bias as PyTorch does (default: the log unigram\n"
    "                          frequencies of the training tokens)\n"
    "training:\n"
    "  --batch B --seq T       B streams, windows of T tokens (default 32, 128)\n"
    "  --steps N | --epochs X | --time T   budget; T in seconds or with s/m/h (e.g. 2m)\n"
    "  --optimizer O           sgd | adam | adamw (default adamw)\n"
    "  --lr X                  peak learning rate (default 2e-3)\n"
    "  --momentum X --weight-decay X\n"
    "  --clip X                global gradient-norm clipping (default 5; 0 = off)\n"
    "  --warmup N              linear warm-up steps (default 100), then cosine decay\n"
    "  --min-lr-ratio X        final learning rate / peak (default 0.1)\n"
    "  --seed S                default 1337\n"
    "  --threads N             OpenMP threads (default: all cores)\n"
    "reports and files:\n"
    "  --report-every N        training-loss reports (default 10 steps)\n"
    "  --eval-every N          validation and best-model check (default 200 steps)\n"
    "  --eval-tokens N         cap on validation tokens per check (default: all)\n"
    "  --checkpoint-every N    default 200 steps; also at the end and on Ctrl-C\n"
    "  -o RUN_DIR              model.safetensors, best.safetensors, checkpoint.safetensors,\n"
    "                          metrics.jsonl (plot with: rnnc plot RUN_DIR -o loss.svg)\n"
    "  --force                 reuse a RUN_DIR that holds another run\n";

typedef struct {
    cli_progress bar;
    bool bar_started;
    double last_loss;
} ui;

static void on_event(const rnnc_train_event *e, void *ctx) {
    ui *u = ctx;
    char buf[256];
    switch (e->kind) {
    case RNNC_TRAIN_STARTED:
        fprintf(stderr, "rnnc train: %s\n", e->message);
        cli_progress_start(&u->bar, "train", e->total_steps > 0 ? (double)e->total_steps : e->seconds_budget);
        u->bar_started = true;
        u->last_loss = NAN;
        break;
    case RNNC_TRAIN_PROGRESS: {
        cli_train_status st = {e->step, e->total_steps, e->epoch, u->last_loss, NAN};
        if (isnan(st.loss)) st.loss = e->loss;
        cli_format_train(buf, sizeof buf, &st);
        cli_progress_update(&u->bar, e->total_steps > 0 ? (double)e->step : e->elapsed, buf);
        break;
    }
    case RNNC_TRAIN_REPORT:
        u->last_loss = e->loss;
        if (!u->bar.tty)
            fprintf(stderr, "step %ld  epoch %.2f  loss %.4f  lr %.3g  %.0f tok/s\n", e->step, e->epoch, e->loss, e->lr,
                    e->tokens_per_s);
        break;
    case RNNC_TRAIN_VALID:
        cli_progress_log(&u->bar, "step %ld  valid loss %.4f  ppl %.2f  bpb %.4f%s", e->step, e->val_loss, e->val_ppl,
                         e->val_bpb, e->improved ? "  (best so far: best.safetensors)" : "");
        break;
    case RNNC_TRAIN_CHECKPOINT:
    case RNNC_TRAIN_DONE:
        break;
    }
}

/* "90", "90s", "2m", "1.5h" -> seconds. */
int cmd_train_text(int argc, char **argv) {
    const char *cmd = "train";
    rnnc_train_opts o = rnnc_train_defaults();
    const char **files = calloc((size_t)argc, sizeof *files);
    if (!files) return cli_fail("out of memory");
    const char *resume = NULL, *v;
    long threads = 0;
    double lr = o.optim.lr, momentum = NAN, wd = NAN;
    int err = 0, rc = 0;
    for (int i = 1; i < argc && !err; i++) {
        const char *a = argv[i];
        long n;
        double x;
        if (cli_is_help(a)) { fputs(usage_text, stdout); free(files); return 0; }
        if (cli_opt(cmd, argc, argv, &i, "--data", &v, &err)) {
            if (err) break;
            files[o.n_data++] = v;
            while (i + 1 < argc && argv[i + 1][0] != '-') files[o.n_data++] = argv[++i];
        } else if (cli_opt(cmd, argc, argv, &i, "--valid", &v, &err)) o.valid = v;
        else if (cli_opt(cmd, argc, argv, &i, "--valid-fraction", &v, &err)) {
            if (!err && !cli_parse_double(cmd, a, v, 1e-6, 0.999, &o.valid_fraction)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--tokenizer", &v, &err)) o.tokenizer = v;
        else if (cli_opt(cmd, argc, argv, &i, "--cell", &v, &err)) {
            if (!err && rnnc_cell_parse(v, &o.cell)) err = cli_usage_error(cmd, "--cell: %s", rnnc_last_error());
        } else if (cli_opt(cmd, argc, argv, &i, "--layers", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--layers", v, 1, 64, &n)) o.layers = (int)n; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--hidden", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--hidden", v, 1, 65536, &n)) o.hidden = (int)n; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--embed", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--embed", v, 1, 65536, &n)) o.embed = (int)n; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--dropout", &v, &err)) {
            if (!err && cli_parse_double(cmd, "--dropout", v, 0, 0.99, &x)) o.dropout = (float)x; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--batch", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--batch", v, 1, 1 << 16, &n)) o.batch = (int)n; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--seq", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--seq", v, 1, 1 << 20, &n)) o.seq = (int)n; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--steps", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--steps", v, 1, 1L << 40, &o.steps)) {} else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--epochs", &v, &err)) {
            if (!err && cli_parse_double(cmd, "--epochs", v, 1e-9, 1e9, &o.epochs)) {} else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--time", &v, &err)) {
            if (!err && !cli_parse_duration(cmd, "--time", v, &o.seconds)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--optimizer", &v, &err)) {
            if (!err && rnnc_optim_parse(v, &o.optim.kind)) err = cli_usage_error(cmd, "--optimizer: %s", rnnc_last_error());
        } else if (cli_opt(cmd, argc, argv, &i, "--lr", &v, &err)) {
            if (!err && !cli_parse_double(cmd, "--lr", v, 0, 100, &lr)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--momentum", &v, &err)) {
            if (!err && !cli_parse_double(cmd, "--momentum", v, 0, 0.9999, &momentum)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--weight-decay", &v, &err)) {
            if (!err && !cli_parse_double(cmd, "--weight-decay", v, 0, 10, &wd)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--clip", &v, &err)) {
            if (!err && !cli_parse_double(cmd, "--clip", v, 0, 1e9, &o.clip)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--warmup", &v, &err)) {
            if (!err && !cli_parse_long(cmd, "--warmup", v, 0, 1L << 40, &o.warmup)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--min-lr-ratio", &v, &err)) {
            if (!err && !cli_parse_double(cmd, "--min-lr-ratio", v, 0, 1, &o.min_lr_ratio)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--seed", &v, &err)) {
            if (!err && cli_parse_long(cmd, "--seed", v, 0, 1L << 62, &n)) o.seed = (uint64_t)n; else err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--threads", &v, &err)) {
            if (!err && !cli_parse_long(cmd, "--threads", v, 1, 1024, &threads)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--report-every", &v, &err)) {
            if (!err && !cli_parse_long(cmd, "--report-every", v, 1, 1L << 40, &o.report_every)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--eval-every", &v, &err)) {
            if (!err && !cli_parse_long(cmd, "--eval-every", v, 1, 1L << 40, &o.eval_every)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--eval-tokens", &v, &err)) {
            if (!err && !cli_parse_long(cmd, "--eval-tokens", v, 1, 1L << 40, &o.eval_max_tokens)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "--checkpoint-every", &v, &err)) {
            if (!err && !cli_parse_long(cmd, "--checkpoint-every", v, 1, 1L << 40, &o.checkpoint_every)) err = 2;
        } else if (cli_opt(cmd, argc, argv, &i, "-o", &v, &err) || cli_opt(cmd, argc, argv, &i, "--output", &v, &err)) {
            o.run_dir = v;
        } else if (cli_opt(cmd, argc, argv, &i, "--resume", &v, &err)) {
            resume = v;
        } else if (cli_flag(argv, i, "--uniform-bias")) {
            o.unigram_bias = false;
        } else if (cli_flag(argv, i, "--force")) {
            o.force = true;
        } else {
            err = cli_usage_error(cmd, "unknown option '%s'", a);
        }
    }
    if (err) { free(files); return err; }
    o.data = files;
    /* Optimizer defaults follow the chosen kind (AdamW's weight decay is 0.01, the others' 0). */
    rnnc_optim_kind kind = o.optim.kind;
    o.optim = rnnc_optim_defaults(kind, lr);
    if (!isnan(momentum)) o.optim.momentum = momentum;
    if (!isnan(wd)) o.optim.weight_decay = wd;
    if (threads > 0) omp_set_num_threads((int)threads);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    ui u;
    memset(&u, 0, sizeof u);
    rnnc_status s;
    const char *dir = resume ? resume : o.run_dir;
    if (resume) {
        if (o.n_data) { free(files); return cli_usage_error(cmd, "--resume takes the data and options from the checkpoint; drop --data"); }
        s = rnnc_train_resume(resume, &o, on_event, &u, &stop_requested);
    } else {
        if (!o.n_data) { free(files); return cli_usage_error(cmd, "--data is required (or --resume RUN_DIR)"); }
        if (!o.run_dir) { free(files); return cli_usage_error(cmd, "-o RUN_DIR is required"); }
        s = rnnc_train_run(&o, on_event, &u, &stop_requested);
    }
    if (u.bar_started) cli_progress_finish(&u.bar);
    if (s == RNNC_ERR_INTERRUPTED) {
        fprintf(stderr, "rnnc: %s\n", rnnc_last_error());
        rc = 130;
    } else if (s) {
        rc = cli_fail_status();
    } else {
        fprintf(stderr, "rnnc train: done. %s/model.safetensors (last), %s/best.safetensors (best validation); "
                        "plot: rnnc plot %s -o loss.svg\n", dir, dir, dir);
    }
    free(files);
    return rc;
}
