/* rnnc seq2seq translate / eval: apply a trained encoder-decoder to stdin, or score it on TSV pairs
 * (TER and SER). Training is in cmd_seq2seq.c. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *CMD = "seq2seq";

int cmd_seq2seq_translate(int argc, char **argv) {
    const char *model = NULL;
    long beam = 1, nbest = 1, max_len = 0, threads = 0;
    double alpha = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(CMD, argc, argv, &i, name, &v, &err)
        if (cli_is_help(argv[i])) { cmd_seq2seq_usage(stdout); return 0; }
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

int cmd_seq2seq_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL;
    long beam = 1, batch = 64, threads = 0, max_source = 0;
    double alpha = 1.0;
    bool skip_bad = false, skip_long = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(CMD, argc, argv, &i, name, &v, &err)
        if (cli_is_help(argv[i])) { cmd_seq2seq_usage(stdout); return 0; }
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
