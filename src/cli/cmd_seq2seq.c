/* rnnc seq2seq — train an encoder-decoder on TSV pairs, translate stdin, evaluate TER/SER.
 * A thin layer over include/rnnc/seq2seq.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static const char *CMD = "seq2seq";

void cmd_seq2seq_usage(FILE *f) {
    fprintf(f,
            "usage: rnnc seq2seq train --data TRAIN.tsv --valid DEV.tsv -o RUN_DIR [options]\n"
            "       rnnc seq2seq translate --model M [--beam K] [--nbest N] [--alpha A] [--max-len N]\n"
            "       rnnc seq2seq eval --model M --data TEST.tsv [--beam K] [--alpha A] [--skip-bad]\n"
            "\n"
            "TSV files hold one pair a line: source TAB target; equal sources are one item with\n"
            "several references.\n"
            "\n"
            "train options:\n"
            "  --source-tokenizer T  how sources split into symbols (default space):\n"
            "                 space   symbols separated by spaces (\"w o r d\")\n"
            "                 char    every UTF-8 character is a symbol\n"
            "                 word | word:N  rnnc's word tokenizer: the most frequent words, N ids\n"
            "                         with its 4 reserved ones (default 10000); others are <unk>\n"
            "                 bpe:N   rnnc's byte-level BPE trained to N tokens\n"
            "                 FILE    a tokenizer file (rnnc tokenizer train) or an OpenAI name\n"
            "                         (cl100k_base, ...)\n"
            "                 word and bpe:N are trained on the training data's source column; the\n"
            "                 vocabulary or tokenizer is stored in the model file\n"
            "  --target-tokenizer T  the same for targets (trained on the target column)\n"
            "  --cell rnn_tanh|rnn_relu|lstm|gru  (default lstm)   --layers N (1)\n"
            "  --hidden H (256)  --embed E (64)  --bidirectional\n"
            "  --dropout P (0)   between stacked layers (training only)\n"
            "  --output-dropout P (0)  on the decoder's outputs before the head (training only;\n"
            "                 regularises one-layer models too)\n"
            "  --reverse-source  the encoder reads each source last symbol first (kept in the model)\n"
            "  --epochs N (10) | --steps N | --time T (120, 90s, 30m, 1h)   when to stop (the first reached)\n"
            "  --batch B (64)  --lr LR (0.002)  --clip C (5, 0 = off)  --seed S (1)\n"
            "  --schedule cosine|constant  (cosine: from LR down to LR x --min-lr-ratio (0.05) over\n"
            "                 the budget: the steps of --steps/--epochs, or the time of --time)\n"
            "  --warmup N     linear warm-up steps (0)\n"
            "  --teacher-forcing R (1.0)  --label-smoothing EPS (0)\n"
            "  --max-source N (0 = none)  --skip-long (else an over-long source is an error)\n"
            "  --skip-bad (else a line without a tab or with an empty side is an error)\n"
            "  --valid-max N  score at most N dev items by greedy decoding each epoch (0 = all)\n"
            "  --threads N    OpenMP threads (default: OMP_NUM_THREADS)\n"
            "  --checkpoint-every N  write RUN_DIR/checkpoint.safetensors every N steps (500; also at each\n"
            "                 epoch's end and when --steps/--time stop training)\n"
            "  --resume RUN_DIR  continue a run exactly from its checkpoint (with --epochs/--steps/--time\n"
            "                 to change the budget)\n"
            "  --log-every N  a metrics.jsonl line with the mean train loss every N steps (200; 0 = off)\n"
            "writes RUN_DIR/model.safetensors (last), RUN_DIR/best.safetensors (lowest dev SER, then\n"
            "TER), RUN_DIR/metrics.jsonl (the training log `rnnc plot` draws: train loss every\n"
            "--log-every steps, dev loss per epoch) and RUN_DIR/eval.jsonl (dev loss, TER, SER per epoch).\n"
            "\n"
            "translate: one output line per stdin line, flushed as it goes (an empty line gives an\n"
            "empty line); with --nbest N, N lines per input: INPUT_LINE_NO TAB SCORE TAB OUTPUT.\n"
            "eval: prints the token error rate (TER, PER for G2P) and sequence error rate (SER, WER).\n");
}

typedef struct {
    const char *data, *valid, *outdir;
    const char *stok, *ttok; /* --source-tokenizer / --target-tokenizer values */
    rnnc_s2s_config mc;
    long epochs, steps, batch, seed, max_source, valid_max, threads, log_every, checkpoint_every;
    double time_limit, lr, clip, tf, ls, min_lr_ratio;
    long warmup;
    bool cosine;
    bool skip_bad, skip_long, epochs_set, steps_set, time_set;
    const char *resume;
} train_args;

/* Checks a --source-tokenizer / --target-tokenizer value (a missing file shows up when training starts). */
static int parse_tok(const char *flag, const char *v, const char **out) {
    rnnc_s2s_tok t;
    if (rnnc_s2s_tok_parse(v, &t)) return cli_usage_error(CMD, "%s: %s", flag, rnnc_last_error());
    *out = v;
    return 0;
}

/* "bpe, 304 ids" / "file (word tokenizer), 10004 ids" */
static void describe_vocab(char *buf, size_t n, const rnnc_s2s_vocab *v) {
    if (v->tok == RNNC_S2S_TOK_FILE)
        snprintf(buf, n, "file (%s tokenizer), %zu ids", rnnc_tokenizer_type_name(rnnc_tokenizer_type_of(v->tk)), v->n);
    else
        snprintf(buf, n, "%s, %zu %s", rnnc_s2s_tok_name(v->tok), v->n, v->tk ? "ids" : "symbols");
}

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

/* Mean loss of every (item, reference) pair of d, in batches. */
static rnnc_status valid_loss(const rnnc_s2s_model *m, const rnnc_s2s_data *d, int batch, double *out) {
    rnnc_s2s_batcher bt;
    rnnc_status s = rnnc_s2s_batcher_new(&bt, d, batch, true);
    if (s) return s;
    int Ts = 1, Tt = 1;
    for (size_t k = 0; k < bt.n_batches; k++) {
        const rnnc_s2s_batch *b = rnnc_s2s_batcher_get(&bt, k);
        if (b->Ts > Ts) Ts = b->Ts;
        if (b->Tt > Tt) Tt = b->Tt;
    }
    rnnc_s2s_ws *ws;
    if ((s = rnnc_s2s_ws_new(&ws, m, batch, Ts, Tt))) { rnnc_s2s_batcher_free(&bt); return s; }
    double sum = 0;
    long total = 0;
    rnnc_s2s_train_opts o = {.teacher_forcing = 1.0f};
    for (size_t k = 0; k < bt.n_batches && !s; k++) {
        double l;
        long c;
        s = rnnc_s2s_forward_backward(ws, m, rnnc_s2s_batcher_get(&bt, k), &o, NULL, 1.0f, NULL, &l, &c);
        sum += l * (double)c;
        total += c;
    }
    *out = total ? sum / (double)total : 0;
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_batcher_free(&bt);
    return s;
}

static int train_run(train_args *ap, rnnc_safetensors *ck);
static int train_resume(train_args *cmdline);

/* Ctrl-C / SIGTERM: finish the current step, write the checkpoint, exit 130. */
static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* The decoder's output bias starts at the log of the smoothed frequencies of the training
 * targets (every reference and its <eos>), so the first predictions are the unigram
 * distribution and the never-predicted ids (<pad>, <bos>) start improbable. */
static void unigram_bias(rnnc_s2s_model *m, const rnnc_s2s_data *d) {
    size_t V = (size_t)m->c.tgt_vocab;
    double *count = calloc(V, sizeof *count);
    if (!count) return; /* keep the uniform initialisation */
    for (size_t i = 0; i < d->n; i++)
        for (int r = 0; r < d->items[i].n_refs; r++) {
            for (int t = 0; t < d->items[i].ref_len[r]; t++)
                if (d->items[i].ref[r][t] < V) count[d->items[i].ref[r][t]] += 1;
            count[RNNC_S2S_EOS] += 1;
        }
    rnnc_unigram_bias(m->params + m->off_head_b, count, (int)V);
    free(count);
}

/* The learning rate before step `step` (0-based) at `elapsed` seconds into the run. */
static double lr_at(const train_args *a, long step, size_t n_batches, double elapsed) {
    double p = -1;
    if (a->cosine) {
        if (a->steps > 0) p = (double)step / (double)a->steps;
        if (a->epochs_set && n_batches) {
            double q = (double)step / ((double)a->epochs * (double)n_batches);
            if (q > p) p = q;
        }
        if (a->time_limit > 0 && elapsed / a->time_limit > p) p = elapsed / a->time_limit;
        if (p < 0 && !a->steps && !a->time_limit && n_batches) p = (double)step / ((double)a->epochs * (double)n_batches);
    }
    return rnnc_lr_schedule(a->lr, a->min_lr_ratio, a->warmup, step, p);
}

static int train(int argc, char **argv) {
    train_args a = {.stok = "space", .ttok = "space", .epochs = 10, .batch = 64, .seed = 1,
                    .lr = 2e-3, .clip = 5, .tf = 1.0, .cosine = true, .min_lr_ratio = 0.05, .log_every = 200, .checkpoint_every = 500};
    a.mc = (rnnc_s2s_config){.cell = RNNC_CELL_LSTM, .embed = 64, .hidden = 256, .layers = 1};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
        long lv;
        double dv;
#define OPT(name) cli_opt(CMD, argc, argv, &i, name, &v, &err)
        if (cli_is_help(argv[i])) { cmd_seq2seq_usage(stdout); return 0; }
        else if (OPT("--data")) { if (err) return err; a.data = v; }
        else if (OPT("--valid")) { if (err) return err; a.valid = v; }
        else if (OPT("-o") || OPT("--output")) { if (err) return err; a.outdir = v; }
        else if (OPT("--source-tokenizer")) { if (err) return err; if ((err = parse_tok("--source-tokenizer", v, &a.stok))) return err; }
        else if (OPT("--target-tokenizer")) { if (err) return err; if ((err = parse_tok("--target-tokenizer", v, &a.ttok))) return err; }
        else if (OPT("--cell")) {
            if (err) return err;
            if (rnnc_cell_parse(v, &a.mc.cell)) return cli_usage_error(CMD, "--cell: %s", rnnc_last_error());
        }
        else if (OPT("--layers")) { if (err || !cli_parse_long(CMD, "--layers", v, 1, 64, &lv)) return err ? err : 2; a.mc.layers = (int)lv; }
        else if (OPT("--hidden")) { if (err || !cli_parse_long(CMD, "--hidden", v, 1, 65536, &lv)) return err ? err : 2; a.mc.hidden = (int)lv; }
        else if (OPT("--embed")) { if (err || !cli_parse_long(CMD, "--embed", v, 1, 65536, &lv)) return err ? err : 2; a.mc.embed = (int)lv; }
        else if (cli_flag(argv, i, "--bidirectional")) a.mc.bidirectional = true;
        else if (cli_flag(argv, i, "--reverse-source")) a.mc.reverse_source = true;
        else if (OPT("--schedule")) {
            if (err) return err;
            if (strcmp(v, "cosine") == 0) a.cosine = true;
            else if (strcmp(v, "constant") == 0) a.cosine = false;
            else return cli_usage_error(CMD, "--schedule expects cosine or constant, got '%s'", v);
        }
        else if (OPT("--warmup")) { if (err || !cli_parse_long(CMD, "--warmup", v, 0, 1L << 40, &a.warmup)) return err ? err : 2; }
        else if (OPT("--min-lr-ratio")) { if (err || !cli_parse_double(CMD, "--min-lr-ratio", v, 0, 1, &a.min_lr_ratio)) return err ? err : 2; }
        else if (OPT("--output-dropout")) { if (err || !cli_parse_double(CMD, "--output-dropout", v, 0, 0.99, &dv)) return err ? err : 2; a.mc.output_dropout = (float)dv; }
        else if (OPT("--dropout")) { if (err || !cli_parse_double(CMD, "--dropout", v, 0, 0.99, &dv)) return err ? err : 2; a.mc.dropout = (float)dv; }
        else if (OPT("--epochs")) { if (err || !cli_parse_long(CMD, "--epochs", v, 1, 1000000, &a.epochs)) return err ? err : 2; a.epochs_set = true; }
        else if (OPT("--steps")) { if (err || !cli_parse_long(CMD, "--steps", v, 0, 1000000000, &a.steps)) return err ? err : 2; a.steps_set = true; }
        else if (OPT("--time")) { if (err || !cli_parse_duration(CMD, "--time", v, &a.time_limit)) return err ? err : 2; a.time_set = true; }
        else if (OPT("--resume")) { if (err) return err; a.resume = v; }
        else if (OPT("--checkpoint-every")) { if (err || !cli_parse_long(CMD, "--checkpoint-every", v, 0, 1L << 40, &a.checkpoint_every)) return err ? err : 2; }
        else if (OPT("--batch")) { if (err || !cli_parse_long(CMD, "--batch", v, 1, 1 << 16, &a.batch)) return err ? err : 2; }
        else if (OPT("--lr")) { if (err || !cli_parse_double(CMD, "--lr", v, 1e-9, 10, &a.lr)) return err ? err : 2; }
        else if (OPT("--clip")) { if (err || !cli_parse_double(CMD, "--clip", v, 0, 1e9, &a.clip)) return err ? err : 2; }
        else if (OPT("--seed")) { if (err || !cli_parse_long(CMD, "--seed", v, 0, 1L << 62, &a.seed)) return err ? err : 2; }
        else if (OPT("--teacher-forcing")) { if (err || !cli_parse_double(CMD, "--teacher-forcing", v, 0, 1, &a.tf)) return err ? err : 2; }
        else if (OPT("--label-smoothing")) { if (err || !cli_parse_double(CMD, "--label-smoothing", v, 0, 0.99, &a.ls)) return err ? err : 2; }
        else if (OPT("--max-source")) { if (err || !cli_parse_long(CMD, "--max-source", v, 0, 1 << 30, &a.max_source)) return err ? err : 2; }
        else if (OPT("--valid-max")) { if (err || !cli_parse_long(CMD, "--valid-max", v, 0, 1L << 40, &a.valid_max)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(CMD, "--threads", v, 1, 1024, &a.threads)) return err ? err : 2; }
        else if (OPT("--log-every")) { if (err || !cli_parse_long(CMD, "--log-every", v, 0, 1L << 40, &a.log_every)) return err ? err : 2; }
        else if (cli_flag(argv, i, "--skip-bad")) a.skip_bad = true;
        else if (cli_flag(argv, i, "--skip-long")) a.skip_long = true;
        else return cli_usage_error(CMD, "train: unknown option '%s'", argv[i]);
#undef OPT
    }
    if (a.threads) omp_set_num_threads((int)a.threads);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!a.resume) {
        if (!a.data) return cli_usage_error(CMD, "train needs --data TRAIN.tsv");
        if (!a.valid) return cli_usage_error(CMD, "train needs --valid DEV.tsv");
        if (!a.outdir) return cli_usage_error(CMD, "train needs -o RUN_DIR");
    }
    /* the run directory is locked for the whole run, before any data or checkpoint is read */
    rnnc_run_lock lock;
    if (rnnc_run_lock_take(&lock, a.resume ? a.resume : a.outdir, !a.resume)) return cli_fail_status();
    int rc;
    if (a.resume) rc = train_resume(&a);
    else {
        if ((a.steps || a.time_limit > 0) && !a.epochs_set) a.epochs = 1000000;
        rc = train_run(&a, NULL);
    }
    rnnc_run_lock_drop(&lock);
    return rc;
}

/* The options a checkpoint keeps, as JSON (so a resume trains on exactly as before). */
static char *args_json(const train_args *a) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "data", a->data);
    cJSON_AddStringToObject(j, "valid", a->valid);
    if (a->stok) cJSON_AddStringToObject(j, "source_tokenizer", a->stok); /* a record: the model holds the vocabularies */
    if (a->ttok) cJSON_AddStringToObject(j, "target_tokenizer", a->ttok);
    cJSON_AddNumberToObject(j, "epochs", (double)a->epochs);
    cJSON_AddNumberToObject(j, "steps", (double)a->steps);
    cJSON_AddNumberToObject(j, "time", a->time_limit);
    cJSON_AddNumberToObject(j, "batch", (double)a->batch);
    cJSON_AddNumberToObject(j, "seed", (double)a->seed);
    cJSON_AddNumberToObject(j, "lr", a->lr);
    cJSON_AddStringToObject(j, "schedule", a->cosine ? "cosine" : "constant");
    cJSON_AddNumberToObject(j, "warmup", (double)a->warmup);
    cJSON_AddNumberToObject(j, "min_lr_ratio", a->min_lr_ratio);
    cJSON_AddBoolToObject(j, "epochs_set", a->epochs_set);
    cJSON_AddNumberToObject(j, "clip", a->clip);
    cJSON_AddNumberToObject(j, "teacher_forcing", a->tf);
    cJSON_AddNumberToObject(j, "label_smoothing", a->ls);
    cJSON_AddNumberToObject(j, "max_source", (double)a->max_source);
    cJSON_AddBoolToObject(j, "skip_bad", a->skip_bad);
    cJSON_AddBoolToObject(j, "skip_long", a->skip_long);
    cJSON_AddNumberToObject(j, "valid_max", (double)a->valid_max);
    cJSON_AddNumberToObject(j, "log_every", (double)a->log_every);
    cJSON_AddNumberToObject(j, "checkpoint_every", (double)a->checkpoint_every);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Where training stands: everything a checkpoint must restore besides parameters and moments. */
typedef struct {
    long step, epoch, batch, ln;   /* next batch `batch` of epoch `epoch` (1-based) */
    double lsum, tokens, elapsed, best_ser, best_ter;
    rnnc_rng rng, rng_epoch;       /* now, and at the start of the epoch (before its plan) */
    long opt_step;
} train_pos;

static void rng_hex(char *buf, size_t n, const rnnc_rng *r) {
    snprintf(buf, n, "%016llx%016llx%016llx%016llx", (unsigned long long)r->s[0], (unsigned long long)r->s[1],
             (unsigned long long)r->s[2], (unsigned long long)r->s[3]);
}

static bool rng_unhex(const char *s, rnnc_rng *r) {
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, s + 16 * i, 16);
        part[16] = 0;
        char *e;
        r->s[i] = (uint64_t)strtoull(part, &e, 16);
        if (*e) return false;
    }
    return true;
}

static rnnc_status save_checkpoint(const char *path, const rnnc_s2s_model *m, const rnnc_optim *opt, const train_args *a,
                                   const train_pos *p) {
    char *aj = args_json(a);
    if (!aj) return rnnc_error(RNNC_ERR_NOMEM, "out of memory writing %s", path);
    char pos[512], r1[80], r2[80];
    rng_hex(r1, sizeof r1, &p->rng);
    rng_hex(r2, sizeof r2, &p->rng_epoch);
    snprintf(pos, sizeof pos,
             "{\"step\":%ld,\"epoch\":%ld,\"batch\":%ld,\"ln\":%ld,\"lsum\":%.17g,\"tokens\":%.17g,"
             "\"elapsed\":%.17g,\"best_ser\":%.17g,\"best_ter\":%.17g,\"opt_step\":%ld}",
             p->step, p->epoch, p->batch, p->ln, p->lsum, p->tokens, p->elapsed, isfinite(p->best_ser) ? p->best_ser : 2.0,
             isfinite(p->best_ter) ? p->best_ter : 2.0, opt->step);
    const char *keys[] = {"rnnc.train.args", "rnnc.train.pos", "rnnc.train.rng", "rnnc.train.rng_epoch"};
    const char *vals[] = {aj, pos, r1, r2};
    rnnc_st_entry e = {.name = "train.optim_state", .dtype = RNNC_DT_F32, .ndim = 1,
                       .shape = {(int64_t)(2 * opt->n)}, .data = opt->state};
    rnnc_status s = rnnc_s2s_save_ex(m, path, keys, vals, 4, &e, opt->state ? 1 : 0);
    free(aj);
    return s;
}


/* A new run (ck NULL) or the continuation of one from its checkpoint ck (model, optimizer state,
 * position and RNG restored: the same steps follow as if it had never stopped). */
static int train_run(train_args *ap, rnnc_safetensors *ck) {
    train_args a = *ap;
    int rc = 1;
    rnnc_s2s_vocab sv = {0}, tv = {0};
    unsigned char *text = NULL;
    size_t text_len = 0;
    train_pos pos = {.epoch = 1, .best_ser = INFINITY, .best_ter = INFINITY};
    char path_ck[4096];
    rnnc_s2s_data dtr, dva;
    rnnc_s2s_data_init(&dtr);
    rnnc_s2s_data_init(&dva);
    rnnc_s2s_model *m = NULL;
    rnnc_s2s_ws *ws = NULL;
    rnnc_s2s_batcher bt = {0};
    rnnc_optim opt = {0};
    float *grads = NULL;
    rnnc_metrics_log mlog = {0};
    FILE *ef = NULL;
    char path_model[4096], path_best[4096], path_metrics[4096], path_eval[4096];
    rnnc_s2s_read_opts ro = {.max_source = (int)a.max_source, .skip_bad = a.skip_bad, .skip_long = a.skip_long, .grow = !ck};
    /* the vocabularies: sv/tv until a new model takes them over, the model's on a resume */
    rnnc_s2s_vocab *svp = &sv, *tvp = &tv;
    snprintf(path_model, sizeof path_model, "%s/model.safetensors", a.outdir);
    snprintf(path_best, sizeof path_best, "%s/best.safetensors", a.outdir);
    snprintf(path_metrics, sizeof path_metrics, "%s/metrics.jsonl", a.outdir);
    snprintf(path_eval, sizeof path_eval, "%s/eval.jsonl", a.outdir);
    snprintf(path_ck, sizeof path_ck, "%s/checkpoint.safetensors", a.outdir);
    if (!ck) { /* under the run lock: nothing of another run may be here */
        const char *const files[] = {path_ck, path_model, path_best, path_metrics, path_eval};
        bool resumable = access(path_ck, F_OK) == 0;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
            if (access(files[i], F_OK) == 0) {
                if (resumable) cli_fail("%s holds another run (%s): continue it with --resume", a.outdir, path_ck);
                else cli_fail("%s holds files of another run (%s) but no checkpoint to resume: give a new RUN_DIR", a.outdir, files[i]);
                goto out;
            }
    }
    if (ck) {
        /* the model and its vocabularies come from the checkpoint; the data map onto them */
        if (rnnc_s2s_load(&m, ck->path)) { cli_fail_status(); goto out; }
        svp = &m->src_vocab;
        tvp = &m->tgt_vocab;
        if (rnnc_s2s_data_read(&dtr, a.data, &ro, svp, tvp)) { cli_fail_status(); goto out; }
    } else {
        /* The training file is read once: the word/bpe tokenizers are trained on its columns,
         * then the same text is encoded (space/char vocabularies grow as it is). */
        if (rnnc_read_file(a.data, &text, &text_len)) { cli_fail_status(); goto out; }
        const char *flags[2] = {"--source-tokenizer", "--target-tokenizer"}, *specs[2] = {a.stok, a.ttok};
        rnnc_s2s_vocab *vs[2] = {&sv, &tv};
        for (int side = 0; side < 2; side++) {
            rnnc_s2s_tok kind;
            if (rnnc_s2s_tok_parse(specs[side], &kind)) { cli_fail("%s: %s", flags[side], rnnc_last_error()); goto out; }
            if (kind == RNNC_S2S_TOK_WORD || kind == RNNC_S2S_TOK_BPE)
                fprintf(stderr, "seq2seq: training the %s tokenizer (%s) on %s's %s column\n", side ? "target" : "source",
                        specs[side], a.data, side ? "target" : "source");
            if (rnnc_s2s_vocab_make(vs[side], specs[side], (const char *)text, text_len, side)) {
                cli_fail("%s: %s", flags[side], rnnc_last_error());
                goto out;
            }
        }
        if (rnnc_s2s_data_parse(&dtr, (const char *)text, text_len, a.data, &ro, &sv, &tv)) { cli_fail_status(); goto out; }
        free(text);
        text = NULL;
    }
    ro.grow = false;
    if (rnnc_s2s_data_read(&dva, a.valid, &ro, svp, tvp)) { cli_fail_status(); goto out; }
    if (dtr.n == 0) { cli_fail("%s: no pairs to train on", a.data); goto out; }
    fprintf(stderr, "seq2seq: %s: %zu sources, %zu pairs (skipped: %zu bad, %zu long, %zu duplicate); %s: %zu sources\n",
            a.data, dtr.n, dtr.n_pairs, dtr.skipped_bad, dtr.skipped_long, dtr.skipped_dup, a.valid, dva.n);
    {
        char ds[128], dt[128];
        describe_vocab(ds, sizeof ds, svp);
        describe_vocab(dt, sizeof dt, tvp);
        fprintf(stderr, "seq2seq: vocabularies: source %s; target %s (the 4 specials included)\n", ds, dt);
        fprintf(stderr, "seq2seq: unknown tokens: %s source %zu of %zu (%.2f%%), target %zu of %zu (%.2f%%); "
                        "%s source %zu of %zu (%.2f%%), target %zu of %zu (%.2f%%)\n",
                a.data, dtr.src_unk, dtr.src_symbols, pct(dtr.src_unk, dtr.src_symbols), dtr.tgt_unk, dtr.tgt_symbols,
                pct(dtr.tgt_unk, dtr.tgt_symbols), a.valid, dva.src_unk, dva.src_symbols, pct(dva.src_unk, dva.src_symbols),
                dva.tgt_unk, dva.tgt_symbols, pct(dva.tgt_unk, dva.tgt_symbols));
    }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, (uint64_t)a.seed);
    if (!ck) {
        if (rnnc_s2s_model_new(&m, &a.mc, &sv, &tv)) { cli_fail_status(); goto out; }
        rnnc_s2s_model_init(m, &rng);
        unigram_bias(m, &dtr);
    }
    fprintf(stderr, "seq2seq: %s x%d, hidden %d, embed %d%s: %zu parameters\n", rnnc_cell_name(m->c.cell), m->c.layers,
            m->c.hidden, m->c.embed, m->c.bidirectional ? ", bidirectional encoder" : "", m->n_params);
    if (rnnc_s2s_batcher_new(&bt, &dtr, (int)a.batch, true)) { cli_fail_status(); goto out; }
    int Ts = 1, Tt = 1;
    for (size_t i = 0; i < dtr.n; i++) {
        if (dtr.items[i].src_len > Ts) Ts = dtr.items[i].src_len;
        for (int r = 0; r < dtr.items[i].n_refs; r++) if (dtr.items[i].ref_len[r] + 1 > Tt) Tt = dtr.items[i].ref_len[r] + 1;
    }
    if (rnnc_s2s_ws_new(&ws, m, (int)a.batch, Ts, Tt)) { cli_fail_status(); goto out; }
    rnnc_optim_config oc = rnnc_optim_defaults(RNNC_OPT_ADAM, a.lr);
    if (rnnc_optim_init(&opt, &oc, m->n_params)) { cli_fail_status(); goto out; }
    if (ck) {
        const char *pj = rnnc_st_meta(ck, "rnnc.train.pos");
        cJSON *j = pj ? cJSON_Parse(pj) : NULL;
        const char *fields[] = {"step", "epoch", "batch", "ln", "lsum", "tokens", "elapsed", "best_ser", "best_ter", "opt_step"};
        double v[10];
        bool okj = j != NULL;
        for (int f = 0; f < 10 && okj; f++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, fields[f]);
            if (!cJSON_IsNumber(x) || isnan(x->valuedouble)) okj = false;
            else v[f] = x->valuedouble;
            /* the counts are checked before their conversion (a crafted 1e30 is no UB) */
            bool count = f <= 3 || f == 9;
            if (okj && count && !(v[f] >= 0 && v[f] < 9e15 && v[f] == floor(v[f]))) okj = false;
        }
        cJSON_Delete(j);
        if (!okj || !rng_unhex(rnnc_st_meta(ck, "rnnc.train.rng"), &pos.rng) ||
            !rng_unhex(rnnc_st_meta(ck, "rnnc.train.rng_epoch"), &pos.rng_epoch)) {
            cli_fail("%s: checkpoint position or RNG state missing or malformed", ck->path);
            goto out;
        }
        pos.step = (long)v[0]; pos.epoch = (long)v[1]; pos.batch = (long)v[2]; pos.ln = (long)v[3];
        pos.lsum = v[4]; pos.tokens = v[5]; pos.elapsed = v[6];
        pos.best_ser = v[7] > 1 ? INFINITY : v[7];
        pos.best_ter = v[8] > 1 ? INFINITY : v[8];
        opt.step = (long)v[9];
        int64_t shape[1] = {(int64_t)(2 * m->n_params)};
        if (opt.state && rnnc_st_read_f32(ck, "train.optim_state", 1, shape, opt.state)) { cli_fail_status(); goto out; }
        fprintf(stderr, "seq2seq: resuming %s at epoch %ld, step %ld\n", a.outdir, pos.epoch, pos.step);
    }
    grads = calloc(m->n_params, sizeof *grads);
    if (!grads) { cli_fail("out of memory for %zu gradients", m->n_params); goto out; }
    /* metrics.jsonl is the shared training log (rnnc plot reads it); the decoding scores per
     * epoch, which that log has no fields for, go to eval.jsonl beside it. */
    if (!ck) { /* the step-0 checkpoint: from here on, whatever stops the run, --resume continues it */
        pos.rng = pos.rng_epoch = rng;
        if (save_checkpoint(path_ck, m, &opt, &a, &pos)) { cli_fail_status(); goto out; }
    }
    if (rnnc_metrics_open(&mlog, a.outdir)) { cli_fail_status(); goto out; }
    ef = fopen(path_eval, ck ? "a" : "w");
    if (!ef) { cli_fail("cannot write %s: %s", path_eval, strerror(errno)); goto out; }

    /* The dev subset scored by decoding each epoch: the first valid_max items. */
    rnnc_s2s_data dsub = dva;
    if (a.valid_max > 0 && (size_t)a.valid_max < dva.n) dsub.n = (size_t)a.valid_max;
    rnnc_s2s_train_opts to = {.teacher_forcing = (float)a.tf, .label_smoothing = (float)a.ls,
                              .training = true};
    double t0 = cli_now() - pos.elapsed, best_ser = pos.best_ser, best_ter = pos.best_ter, tokens = pos.tokens;
    long step = pos.step;
    bool stop = (a.steps && step >= a.steps) || (a.time_limit > 0 && pos.elapsed >= a.time_limit);
    const long first_epoch = pos.epoch;
    for (long ep = pos.epoch; ep <= a.epochs && !stop; ep++) {
        size_t k0 = 0;
        if (ck && ep == first_epoch) {
            /* the epoch's plan from the RNG as it was when the epoch began, then (mid-epoch)
             * the RNG as it was at the checkpoint */
            rng = pos.rng_epoch;
            rnnc_s2s_batcher_plan(&bt, &rng);
            if (pos.batch > 0) rng = pos.rng;
            k0 = (size_t)pos.batch;
        } else {
            pos.rng_epoch = rng;
            rnnc_s2s_batcher_plan(&bt, &rng);
        }
        cli_progress pb;
        char label[32], extra[96];
        snprintf(label, sizeof label, "epoch %ld", ep);
        cli_progress_start(&pb, label, (double)bt.n_batches);
        double lsum = k0 ? pos.lsum : 0, wsum = 0, wt0 = cli_now();
        long ln = k0 ? pos.ln : 0, wn = 0, wtok = 0;
        for (size_t k = k0; k < bt.n_batches; k++) {
            double loss, gn, lr = lr_at(&a, step, bt.n_batches, cli_now() - t0);
            opt.c.lr = lr;
            if (rnnc_s2s_train_step(m, ws, rnnc_s2s_batcher_get(&bt, k), &opt, grads, &to, a.clip, &rng, &loss, &gn)) {
                cli_progress_finish(&pb);
                cli_fail_status();
                goto out;
            }
            lsum += loss;
            ln++;
            step++;
            wsum += loss;
            wn++;
            const rnnc_s2s_batch *bb = &bt.buf;
            for (int r = 0; r < bb->B; r++) wtok += bb->tgt_len[r];
            if (a.log_every && step % a.log_every == 0) {
                double now = cli_now();
                rnnc_metrics_row row = rnnc_metrics_row_empty();
                tokens += (double)wtok;
                row.step = (double)step;
                row.tokens = tokens;
                row.epoch = (double)(ep - 1) + (double)(k + 1) / (double)bt.n_batches;
                row.train_loss = wsum / (double)wn;
                row.lr = lr;
                row.tokens_per_s = (double)wtok / (now - wt0);
                row.elapsed = now - t0;
                if (rnnc_metrics_append(&mlog, &row)) { cli_progress_finish(&pb); cli_fail_status(); goto out; }
                wsum = 0;
                wn = 0;
                wtok = 0;
                wt0 = now;
            }
            snprintf(extra, sizeof extra, "loss %.4f", lsum / (double)ln);
            cli_progress_update(&pb, (double)(k + 1), extra);
            if ((a.steps && step >= a.steps) || (a.time_limit > 0 && cli_now() - t0 >= a.time_limit) || stop_requested) stop = true;
            bool last = k + 1 == bt.n_batches;
            if ((stop && !last) || (a.checkpoint_every && step % a.checkpoint_every == 0 && !last)) {
                pos = (train_pos){.step = step, .epoch = ep, .batch = (long)k + 1, .ln = ln, .lsum = lsum,
                                  .tokens = tokens + (double)wtok, .elapsed = cli_now() - t0, .best_ser = best_ser,
                                  .best_ter = best_ter, .rng = rng, .rng_epoch = pos.rng_epoch};
                if (save_checkpoint(path_ck, m, &opt, &a, &pos)) { cli_progress_finish(&pb); cli_fail_status(); goto out; }
            }
            if (stop) break;
        }
        bool epoch_done = !stop || ln == (long)bt.n_batches;
        cli_progress_finish(&pb);
        double vloss = 0;
        rnnc_s2s_score sc;
        if (valid_loss(m, &dva, (int)a.batch, &vloss) || rnnc_s2s_evaluate(m, &dsub, 1, 0, (int)a.batch, 0, &sc, NULL)) {
            cli_fail_status();
            goto out;
        }
        double ter = rnnc_s2s_ter(&sc), ser = rnnc_s2s_ser(&sc), el = cli_now() - t0;
        bool best = ser < best_ser || (ser == best_ser && ter < best_ter);
        fprintf(stderr, "epoch %ld step %ld  train loss %.4f  dev loss %.4f  dev TER %.2f%%  SER %.2f%%  %.0fs%s\n", ep, step,
                ln ? lsum / (double)ln : 0, vloss, 100 * ter, 100 * ser, el, best ? "  (best)" : "");
        tokens += (double)wtok;
        wtok = 0;
        rnnc_metrics_row row = rnnc_metrics_row_empty();
        row.step = (double)step;
        row.tokens = tokens;
        row.epoch = (double)ep;
        row.val_loss = vloss;
        row.val_ppl = rnnc_perplexity(vloss);
        row.elapsed = el;
        if (rnnc_metrics_append(&mlog, &row)) { cli_fail_status(); goto out; }
        fprintf(ef, "{\"epoch\":%ld,\"step\":%ld,\"train_loss\":%.6f,\"valid_loss\":%.6f,\"valid_ter\":%.6f,"
                    "\"valid_ser\":%.6f,\"valid_items\":%zu,\"seconds\":%.3f}\n",
                ep, step, ln ? lsum / (double)ln : 0, vloss, ter, ser, dsub.n, el);
        fflush(ef);
        char meta_ep[32], meta_step[32];
        snprintf(meta_ep, sizeof meta_ep, "%ld", ep);
        snprintf(meta_step, sizeof meta_step, "%ld", step);
        const char *keys[] = {"rnnc.epoch", "rnnc.step"}, *vals[] = {meta_ep, meta_step};
        if (rnnc_s2s_save(m, path_model, keys, vals, 2)) { cli_fail_status(); goto out; }
        if (best) {
            best_ser = ser;
            best_ter = ter;
            if (rnnc_s2s_save(m, path_best, keys, vals, 2)) { cli_fail_status(); goto out; }
        }
        if (epoch_done) {
            /* the checkpoint at an epoch's end points at the next one */
            pos = (train_pos){.step = step, .epoch = ep + 1, .batch = 0, .ln = 0, .lsum = 0, .tokens = tokens,
                              .elapsed = cli_now() - t0, .best_ser = best_ser, .best_ter = best_ter, .rng = rng,
                              .rng_epoch = rng};
            if (save_checkpoint(path_ck, m, &opt, &a, &pos)) { cli_fail_status(); goto out; }
        }
    }
    fprintf(stderr, "seq2seq: wrote %s, %s, %s, %s\n", path_model, path_best, path_metrics, path_eval);
    rc = 0;
    if (stop_requested) {
        fprintf(stderr, "seq2seq: interrupted at step %ld; %s holds the checkpoint: continue with "
                        "rnnc seq2seq train --resume %s\n", step, path_ck, a.outdir);
        rc = 130;
    }
out:
    rnnc_metrics_close(&mlog);
    if (ef) fclose(ef);
    free(grads);
    rnnc_optim_free(&opt);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_batcher_free(&bt);
    rnnc_s2s_model_free(m);
    rnnc_s2s_data_free(&dtr);
    rnnc_s2s_data_free(&dva);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    free(text);
    return rc;
}

static int train_resume(train_args *cl) {
    if (cl->data || cl->valid || cl->outdir)
        return cli_usage_error(CMD, "--resume takes data, model and options from the checkpoint (only --epochs, --steps, "
                                    "--time and --threads may be given)");
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", cl->resume);
    rnnc_safetensors ck;
    if (rnnc_st_load(&ck, path)) return cli_fail_status();
    const char *aj = rnnc_st_meta(&ck, "rnnc.train.args");
    cJSON *j = aj ? cJSON_Parse(aj) : NULL;
    train_args a = {0};
    char *data = NULL, *valid = NULL, *stok = NULL, *ttok = NULL;
    int rc = 1;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data"), *v = cJSON_GetObjectItemCaseSensitive(j, "valid");
    if (!j || !cJSON_IsString(d) || !cJSON_IsString(v)) {
        cli_fail("%s: not a seq2seq training checkpoint (no valid \"rnnc.train.args\")", path);
        goto out;
    }
    data = strdup(d->valuestring);
    valid = strdup(v->valuestring);
    a.data = data;
    a.valid = valid;
    /* only a record (the checkpoint's model holds the vocabularies); absent in older checkpoints */
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "source_tokenizer"), *tt = cJSON_GetObjectItemCaseSensitive(j, "target_tokenizer");
    if (cJSON_IsString(st)) a.stok = stok = strdup(st->valuestring);
    if (cJSON_IsString(tt)) a.ttok = ttok = strdup(tt->valuestring);
    a.outdir = cl->resume;
#define NUM(key, dst) do { const cJSON *x_ = cJSON_GetObjectItemCaseSensitive(j, key); \
        if (!cJSON_IsNumber(x_)) { cli_fail("%s: checkpoint options lack \"%s\"", path, key); goto out; } dst = x_->valuedouble; } while (0)
/* integers are range-checked as doubles before the conversion (a crafted 1e30 is no UB) */
#define INT(key, dst, lo, hi) do { NUM(key, t); if (!(t >= (lo) && t <= (hi) && t == floor(t))) { \
        cli_fail("%s: checkpoint option \"%s\" is %g, not an integer in [%.0f, %.0f]", path, key, t, (double)(lo), (double)(hi)); \
        goto out; } dst = (long)t; } while (0)
    double t;
    INT("epochs", a.epochs, 0, 1e15);
    INT("steps", a.steps, 0, 1e15);
    NUM("time", a.time_limit);
    INT("batch", a.batch, 1, 1 << 20);
    INT("seed", a.seed, -9e15, 9e15);
    NUM("lr", a.lr);
    NUM("clip", a.clip);
    NUM("teacher_forcing", a.tf);
    NUM("label_smoothing", a.ls);
    INT("max_source", a.max_source, 0, 1e15);
    INT("valid_max", a.valid_max, 0, 1e15);
    INT("log_every", a.log_every, 0, 1e15);
    INT("checkpoint_every", a.checkpoint_every, 0, 1e15);
#undef NUM
#undef INT
    /* checkpoints from before the schedule options trained at a constant rate */
    const cJSON *sch = cJSON_GetObjectItemCaseSensitive(j, "schedule");
    a.cosine = cJSON_IsString(sch) && strcmp(sch->valuestring, "cosine") == 0;
    const cJSON *wu = cJSON_GetObjectItemCaseSensitive(j, "warmup"), *mr = cJSON_GetObjectItemCaseSensitive(j, "min_lr_ratio");
    a.warmup = cJSON_IsNumber(wu) && wu->valuedouble >= 0 && wu->valuedouble <= 1e15 ? (long)wu->valuedouble : 0;
    a.min_lr_ratio = cJSON_IsNumber(mr) ? mr->valuedouble : 0.05;
    a.epochs_set = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "epochs_set"));
    a.skip_bad = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "skip_bad"));
    a.skip_long = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "skip_long"));
    if (cl->epochs_set) { a.epochs = cl->epochs; a.epochs_set = true; }
    if (cl->steps_set) a.steps = cl->steps;
    if (cl->time_set) a.time_limit = cl->time_limit;
    rc = train_run(&a, &ck);
out:
    cJSON_Delete(j);
    free(data);
    free(valid);
    free(stok);
    free(ttok);
    rnnc_st_free(&ck);
    return rc;
}

int cmd_seq2seq(int argc, char **argv) {
    if (argc < 2) { cmd_seq2seq_usage(stderr); return 2; }
    if (cli_is_help(argv[1])) { cmd_seq2seq_usage(stdout); return 0; }
    if (!strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "translate")) return cmd_seq2seq_translate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_seq2seq_eval(argc - 1, argv + 1);
    return cli_usage_error(CMD, "unknown subcommand '%s' (train, translate, eval)", argv[1]);
}
