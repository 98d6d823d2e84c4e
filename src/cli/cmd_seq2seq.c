/* rnnc seq2seq — train an encoder-decoder on TSV pairs, translate stdin, evaluate TER/SER.
 * A thin layer over include/rnnc/seq2seq.h. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static const char *CMD = "seq2seq";

static void usage(FILE *f) {
    fprintf(f,
            "usage: rnnc seq2seq train --data TRAIN.tsv --valid DEV.tsv -o RUN_DIR [options]\n"
            "       rnnc seq2seq translate --model M [--beam K] [--nbest N] [--alpha A] [--max-len N]\n"
            "       rnnc seq2seq eval --model M --data TEST.tsv [--beam K] [--alpha A] [--skip-bad]\n"
            "\n"
            "TSV files hold one pair a line: source TAB target; equal sources are one item with\n"
            "several references.\n"
            "\n"
            "train options:\n"
            "  --source-tokenizer space|char   how sources split into symbols (default space)\n"
            "  --target-tokenizer space|char   how targets split into symbols (default space)\n"
            "  --cell rnn_tanh|rnn_relu|lstm|gru  (default lstm)   --layers N (1)\n"
            "  --hidden H (256)  --embed E (64)  --bidirectional  --dropout P (0)\n"
            "  --epochs N (10) | --steps N | --time SECONDS   when to stop (the first reached)\n"
            "  --batch B (64)  --lr LR (0.002)  --clip C (5, 0 = off)  --seed S (1)\n"
            "  --teacher-forcing R (1.0)  --label-smoothing EPS (0)\n"
            "  --max-source N (0 = none)  --skip-long (else an over-long source is an error)\n"
            "  --skip-bad (else a line without a tab or with an empty side is an error)\n"
            "  --valid-max N  score at most N dev items by greedy decoding each epoch (0 = all)\n"
            "  --threads N    OpenMP threads (default: OMP_NUM_THREADS)\n"
            "  --log-every N  a metrics.jsonl line with the mean train loss every N steps (200; 0 = off)\n"
            "writes RUN_DIR/model.safetensors (last), RUN_DIR/best.safetensors (lowest dev SER, then\n"
            "TER) and RUN_DIR/metrics.jsonl (JSON lines: per epoch, and every --log-every steps).\n"
            "\n"
            "translate: one output line per stdin line, flushed as it goes (an empty line gives an\n"
            "empty line); with --nbest N, N lines per input: INPUT_LINE_NO TAB SCORE TAB OUTPUT.\n"
            "eval: prints the token error rate (TER, PER for G2P) and sequence error rate (SER, WER).\n");
}

typedef struct {
    const char *data, *valid, *outdir;
    rnnc_s2s_tok stok, ttok;
    rnnc_s2s_config mc;
    long epochs, steps, batch, seed, max_source, valid_max, threads, log_every;
    double time_limit, lr, clip, tf, ls;
    bool skip_bad, skip_long, epochs_set;
} train_args;

static int parse_tok(const char *flag, const char *v, rnnc_s2s_tok *t) {
    if (rnnc_s2s_tok_parse(v, t)) return cli_usage_error(CMD, "%s: %s", flag, rnnc_last_error());
    return 0;
}

static int mkdir_p(const char *dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
        return cli_fail("%s exists and is not a directory", dir);
    }
    return cli_fail("cannot create directory %s: %s", dir, strerror(errno));
}

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

static int train(int argc, char **argv) {
    train_args a = {.stok = RNNC_S2S_TOK_SPACE, .ttok = RNNC_S2S_TOK_SPACE, .epochs = 10, .batch = 64, .seed = 1,
                    .lr = 2e-3, .clip = 5, .tf = 1.0, .log_every = 200};
    a.mc = (rnnc_s2s_config){.cell = RNNC_CELL_LSTM, .embed = 64, .hidden = 256, .layers = 1};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
        long lv;
        double dv;
#define OPT(name) cli_opt(CMD, argc, argv, &i, name, &v, &err)
        if (cli_is_help(argv[i])) { usage(stdout); return 0; }
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
        else if (OPT("--dropout")) { if (err || !cli_parse_double(CMD, "--dropout", v, 0, 0.99, &dv)) return err ? err : 2; a.mc.dropout = (float)dv; }
        else if (OPT("--epochs")) { if (err || !cli_parse_long(CMD, "--epochs", v, 1, 1000000, &a.epochs)) return err ? err : 2; a.epochs_set = true; }
        else if (OPT("--steps")) { if (err || !cli_parse_long(CMD, "--steps", v, 1, 1000000000, &a.steps)) return err ? err : 2; }
        else if (OPT("--time")) { if (err || !cli_parse_double(CMD, "--time", v, 1, 1e9, &a.time_limit)) return err ? err : 2; }
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
    if (!a.data) return cli_usage_error(CMD, "train needs --data TRAIN.tsv");
    if (!a.valid) return cli_usage_error(CMD, "train needs --valid DEV.tsv");
    if (!a.outdir) return cli_usage_error(CMD, "train needs -o RUN_DIR");
    if ((a.steps || a.time_limit > 0) && !a.epochs_set) a.epochs = 1000000;
    if (a.threads) omp_set_num_threads((int)a.threads);

    int rc = 1;
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, a.stok);
    rnnc_s2s_vocab_init(&tv, a.ttok);
    rnnc_s2s_data dtr, dva;
    rnnc_s2s_data_init(&dtr);
    rnnc_s2s_data_init(&dva);
    rnnc_s2s_model *m = NULL;
    rnnc_s2s_ws *ws = NULL;
    rnnc_s2s_batcher bt = {0};
    rnnc_optim opt = {0};
    float *grads = NULL;
    FILE *mf = NULL;
    char path_model[4096], path_best[4096], path_metrics[4096];
    rnnc_s2s_read_opts ro = {.max_source = (int)a.max_source, .skip_bad = a.skip_bad, .skip_long = a.skip_long, .grow = true};
    if (rnnc_s2s_data_read(&dtr, a.data, &ro, &sv, &tv)) { cli_fail_status(); goto out; }
    ro.grow = false;
    if (rnnc_s2s_data_read(&dva, a.valid, &ro, &sv, &tv)) { cli_fail_status(); goto out; }
    if (dtr.n == 0) { cli_fail("%s: no pairs to train on", a.data); goto out; }
    fprintf(stderr, "seq2seq: %s: %zu sources, %zu pairs (skipped: %zu bad, %zu long, %zu duplicate); %s: %zu sources\n",
            a.data, dtr.n, dtr.n_pairs, dtr.skipped_bad, dtr.skipped_long, dtr.skipped_dup, a.valid, dva.n);
    fprintf(stderr, "seq2seq: vocabularies: %zu source, %zu target symbols (specials included)\n", sv.n, tv.n);
    if (mkdir_p(a.outdir)) goto out;
    snprintf(path_model, sizeof path_model, "%s/model.safetensors", a.outdir);
    snprintf(path_best, sizeof path_best, "%s/best.safetensors", a.outdir);
    snprintf(path_metrics, sizeof path_metrics, "%s/metrics.jsonl", a.outdir);
    if (rnnc_s2s_model_new(&m, &a.mc, &sv, &tv)) { cli_fail_status(); goto out; }
    rnnc_rng rng;
    rnnc_rng_seed(&rng, (uint64_t)a.seed);
    rnnc_s2s_model_init(m, &rng);
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
    grads = calloc(m->n_params, sizeof *grads);
    if (!grads) { cli_fail("out of memory for %zu gradients", m->n_params); goto out; }
    mf = fopen(path_metrics, "w");
    if (!mf) { cli_fail("cannot write %s: %s", path_metrics, strerror(errno)); goto out; }

    /* The dev subset scored by decoding each epoch: the first valid_max items. */
    rnnc_s2s_data dsub = dva;
    if (a.valid_max > 0 && (size_t)a.valid_max < dva.n) dsub.n = (size_t)a.valid_max;
    rnnc_s2s_train_opts to = {.teacher_forcing = (float)a.tf, .label_smoothing = (float)a.ls,
                              .training = true};
    double t0 = cli_now(), best_ser = INFINITY, best_ter = INFINITY;
    long step = 0;
    bool stop = false;
    for (long ep = 1; ep <= a.epochs && !stop; ep++) {
        rnnc_s2s_batcher_plan(&bt, &rng);
        cli_progress pb;
        char label[32], extra[96];
        snprintf(label, sizeof label, "epoch %ld", ep);
        cli_progress_start(&pb, label, (double)bt.n_batches);
        double lsum = 0, wsum = 0;
        long ln = 0, wn = 0;
        for (size_t k = 0; k < bt.n_batches; k++) {
            double loss, gn;
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
            if (a.log_every && step % a.log_every == 0) {
                fprintf(mf, "{\"step\":%ld,\"train_loss\":%.6f,\"seconds\":%.3f}\n", step, wsum / (double)wn, cli_now() - t0);
                fflush(mf);
                wsum = 0;
                wn = 0;
            }
            snprintf(extra, sizeof extra, "loss %.4f", lsum / (double)ln);
            cli_progress_update(&pb, (double)(k + 1), extra);
            if ((a.steps && step >= a.steps) || (a.time_limit > 0 && cli_now() - t0 >= a.time_limit)) { stop = true; break; }
        }
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
        fprintf(mf, "{\"epoch\":%ld,\"step\":%ld,\"train_loss\":%.6f,\"valid_loss\":%.6f,\"valid_ter\":%.6f,"
                    "\"valid_ser\":%.6f,\"valid_items\":%zu,\"seconds\":%.3f}\n",
                ep, step, ln ? lsum / (double)ln : 0, vloss, ter, ser, dsub.n, el);
        fflush(mf);
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
    }
    fprintf(stderr, "seq2seq: wrote %s, %s, %s\n", path_model, path_best, path_metrics);
    rc = 0;
out:
    if (mf) fclose(mf);
    free(grads);
    rnnc_optim_free(&opt);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_batcher_free(&bt);
    rnnc_s2s_model_free(m);
    rnnc_s2s_data_free(&dtr);
    rnnc_s2s_data_free(&dva);
    rnnc_s2s_vocab_free(&sv);
    rnnc_s2s_vocab_free(&tv);
    return rc;
}

static int translate(int argc, char **argv) {
    const char *model = NULL;
    long beam = 1, nbest = 1, max_len = 0, threads = 0;
    double alpha = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(CMD, argc, argv, &i, name, &v, &err)
        if (cli_is_help(argv[i])) { usage(stdout); return 0; }
        else if (OPT("--model")) { if (err) return err; model = v; }
        else if (OPT("--beam")) { if (err || !cli_parse_long(CMD, "--beam", v, 1, 1000, &beam)) return err ? err : 2; }
        else if (OPT("--nbest")) { if (err || !cli_parse_long(CMD, "--nbest", v, 1, 1000, &nbest)) return err ? err : 2; }
        else if (OPT("--alpha")) { if (err || !cli_parse_double(CMD, "--alpha", v, 0, 10, &alpha)) return err ? err : 2; }
        else if (OPT("--max-len")) { if (err || !cli_parse_long(CMD, "--max-len", v, 1, 1 << 20, &max_len)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(CMD, "--threads", v, 1, 1024, &threads)) return err ? err : 2; }
        else return cli_usage_error(CMD, "translate: unknown option '%s'", argv[i]);
#undef OPT
    }
    if (!model) return cli_usage_error(CMD, "translate needs --model M");
    if (nbest > beam) return cli_usage_error(CMD, "--nbest %ld needs --beam of at least %ld", nbest, nbest);
    if (threads) omp_set_num_threads((int)threads);
    rnnc_s2s_model *m;
    if (rnnc_s2s_load(&m, model)) return cli_fail_status();
    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    rnnc_ids ids = {0};
    rnnc_bytes out = {0};
    rnnc_s2s_hyp *hyps = calloc((size_t)nbest, sizeof *hyps);
    uint32_t *gout = NULL;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        ids.len = 0;
        if (rnnc_s2s_encode(&m->src_vocab, line, (size_t)n, false, &ids)) {
            rc = cli_fail("stdin:%ld: %s", lineno + 1, rnnc_last_error());
            break;
        }
        if (ids.len == 0) { /* nothing to translate: an empty line keeps the lines aligned */
            for (long k = 0; k < nbest; k++) {
                if (nbest > 1) printf("%ld\t-inf\t\n", lineno);
                else putchar('\n');
            }
            fflush(stdout);
            lineno++;
            continue;
        }
        int ml = max_len > 0 ? (int)max_len : 2 * (int)ids.len + 10;
        int nh = 0;
        if (beam <= 1) {
            uint32_t *g = realloc(gout, (size_t)ml * sizeof *g);
            if (!g) { rc = cli_fail("out of memory"); break; }
            gout = g;
            int len = (int)ids.len, olen;
            if (rnnc_s2s_greedy(m, ids.data, &len, 1, len, ml, gout, &olen)) { rc = cli_fail_status(); break; }
            out.len = 0;
            if (rnnc_s2s_decode(&m->tgt_vocab, gout, (size_t)olen, &out)) { rc = cli_fail_status(); break; }
            printf("%s\n", (char *)out.data);
        } else {
            if (rnnc_s2s_beam(m, ids.data, (int)ids.len, (int)beam, ml, alpha, (int)nbest, hyps, &nh)) { rc = cli_fail_status(); break; }
            for (int k = 0; k < nh && !rc; k++) {
                out.len = 0;
                if (rnnc_s2s_decode(&m->tgt_vocab, hyps[k].ids, (size_t)hyps[k].len, &out)) rc = cli_fail_status();
                else if (nbest > 1) printf("%ld\t%.6f\t%s\n", lineno, hyps[k].score, (char *)out.data);
                else printf("%s\n", (char *)out.data);
            }
            for (int k = 0; k < nh; k++) rnnc_s2s_hyp_free(&hyps[k]);
            if (rc) break;
        }
        fflush(stdout);
        lineno++;
    }
    if (!rc && ferror(stdin)) rc = cli_fail("reading stdin: %s", strerror(errno));
    if (!rc && (fflush(stdout) || ferror(stdout))) rc = cli_fail("writing stdout: %s", strerror(errno));
    free(line);
    free(gout);
    free(hyps);
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&out);
    rnnc_s2s_model_free(m);
    return rc;
}

static int eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL;
    long beam = 1, batch = 64, threads = 0, max_source = 0;
    double alpha = 1.0;
    bool skip_bad = false, skip_long = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(CMD, argc, argv, &i, name, &v, &err)
        if (cli_is_help(argv[i])) { usage(stdout); return 0; }
        else if (OPT("--model")) { if (err) return err; model = v; }
        else if (OPT("--data")) { if (err) return err; data = v; }
        else if (OPT("--beam")) { if (err || !cli_parse_long(CMD, "--beam", v, 1, 1000, &beam)) return err ? err : 2; }
        else if (OPT("--alpha")) { if (err || !cli_parse_double(CMD, "--alpha", v, 0, 10, &alpha)) return err ? err : 2; }
        else if (OPT("--batch")) { if (err || !cli_parse_long(CMD, "--batch", v, 1, 1 << 16, &batch)) return err ? err : 2; }
        else if (OPT("--max-source")) { if (err || !cli_parse_long(CMD, "--max-source", v, 0, 1 << 30, &max_source)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(CMD, "--threads", v, 1, 1024, &threads)) return err ? err : 2; }
        else if (cli_flag(argv, i, "--skip-bad")) skip_bad = true;
        else if (cli_flag(argv, i, "--skip-long")) skip_long = true;
        else return cli_usage_error(CMD, "eval: unknown option '%s'", argv[i]);
#undef OPT
    }
    if (!model) return cli_usage_error(CMD, "eval needs --model M");
    if (!data) return cli_usage_error(CMD, "eval needs --data TEST.tsv");
    if (threads) omp_set_num_threads((int)threads);
    rnnc_s2s_model *m;
    if (rnnc_s2s_load(&m, model)) return cli_fail_status();
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts ro = {.max_source = (int)max_source, .skip_bad = skip_bad, .skip_long = skip_long};
    int rc = 0;
    rnnc_s2s_score sc;
    double t0 = cli_now();
    if (rnnc_s2s_data_read(&d, data, &ro, &m->src_vocab, &m->tgt_vocab) ||
        rnnc_s2s_evaluate(m, &d, (int)beam, alpha, (int)batch, 0, &sc, NULL)) {
        rc = cli_fail_status();
    } else {
        printf("sources %zu  references %zu  skipped %zu bad %zu long  beam %ld  TER %.2f%%  SER %.2f%%  (%.1fs)\n", d.n,
               d.n_pairs, d.skipped_bad, d.skipped_long, beam, 100 * rnnc_s2s_ter(&sc), 100 * rnnc_s2s_ser(&sc),
               cli_now() - t0);
    }
    rnnc_s2s_data_free(&d);
    rnnc_s2s_model_free(m);
    return rc;
}

int cmd_seq2seq(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (cli_is_help(argv[1])) { usage(stdout); return 0; }
    if (!strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "translate")) return translate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return eval(argc - 1, argv + 1);
    return cli_usage_error(CMD, "unknown subcommand '%s' (train, translate, eval)", argv[1]);
}
