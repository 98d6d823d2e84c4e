/* rnnc seq2seq translate / eval: apply a trained encoder-decoder to lines of text, or score it on
 * TSV pairs (TER and SER). Training is in cmd_seq2seq.c. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"

static const char HELP_TRANSLATE[] =
    "usage: rnnc seq2seq translate --model M [options] [INPUT]\n"
    "\n"
    "Translates INPUT (a file, or stdin when absent or '-') line by line: one output\n"
    "line per input line, in order; an empty (or blank) line gives an empty line.\n"
    "Lines are decoded --batch at a time. Without -o the lines go to stdout as each\n"
    "batch is done; with -o FILE they are written to FILE at the end, atomically (a\n"
    "failed run leaves no partial file). At the end\n"
    "a line on stderr counts the lines and the source symbols outside the model's\n"
    "vocabulary (mapped to <unk>), e.g.\n"
    "  translate: 120 lines, 3 unknown source symbols (0.4% of 845)\n"
    "(left out when both ends are stdin and stdout and no symbol was unknown).\n"
    "\n"
    "options:\n"
    "  --model M        a model written by rnnc seq2seq train (required)\n"
    "  --input FILE     the lines to translate (or give FILE as the one positional\n"
    "                   argument)\n"
    "  -o, --output FILE  write the translations to FILE instead of stdout ('-':\n"
    "                   stdout); not the input or the model\n"
    "  --beam K         beam search of width K (default 1: greedy)\n"
    "  --nbest N        with --beam K >= N: N lines per input, INPUT_LINE_NO TAB\n"
    "                   SCORE TAB OUTPUT (lines numbered from 0)\n"
    "  --alpha A        length normalisation: score = log-probability / (length+1)^A\n"
    "                   (default 1)\n"
    "  --max-len N      the longest output in symbols, 1 to 1048576 (default 2 x\n"
    "                   source length + 10)\n"
    "  --batch B        lines decoded together (default 64; 1 when stdin is a\n"
    "                   terminal, so that each typed line is answered at once).\n"
    "                   The outputs do not depend on it\n"
    "  --threads N      OpenMP threads (default: OMP_NUM_THREADS)\n";

static const char HELP_EVAL[] =
    "usage: rnnc seq2seq eval --model M --data TEST.tsv [options]\n"
    "\n"
    "Decodes every source of TEST.tsv (source TAB target a line; equal sources are\n"
    "one item with several references) and prints the token error rate (TER: edit\n"
    "distance to the closest reference over its length; PER for G2P) and the sequence\n"
    "error rate (SER: outputs equal to no reference; WER for G2P). A file with no\n"
    "item left to score (empty, or every line skipped) is an error, never a perfect\n"
    "score.\n"
    "\n"
    "options:\n"
    "  --model M        a model written by rnnc seq2seq train (required)\n"
    "  --data FILE      the test pairs (required)\n"
    "  --beam K         beam search of width K (default 1: greedy)\n"
    "  --alpha A        beam length normalisation (default 1)\n"
    "  --batch B        sources decoded together, greedy or beam (default 64)\n"
    "  --max-source N   the longest source in symbols (default 1024); longer is an\n"
    "                   error naming file:line unless --skip-long\n"
    "  --skip-long      leave out pairs over --max-source (counted)\n"
    "  --skip-bad       leave out lines without a tab or with an empty side (counted)\n"
    "  --threads N      OpenMP threads (default: OMP_NUM_THREADS)\n"
    "  --json           the figures as one JSON object (TER and SER as fractions,\n"
    "                   with the counts behind them)\n";

/* Where translations go: stdout, flushed line by line, or a file written atomically at the end. */
typedef struct {
    FILE *fp;
    rnnc_atomic_file af;
    const char *path; /* NULL: stdout */
} sink;

/* The search every batch of lines gets, and where its outputs go. */
typedef struct {
    const rnnc_s2s_model *m;
    const rnnc_s2s_translator *tr;
    long beam, nbest, max_len, batch;
    double alpha;
    sink *out;
    rnnc_bytes *text; /* scratch for one output's text */
} search;

/* --alpha ranks beams: given without one, it changes nothing, and the user is told. */
static void warn_alpha(const char *mode, bool given, long beam) {
    if (given && beam == 1)
        fprintf(stderr, "rnnc %s: warning: --alpha is ignored without --beam (greedy decoding ranks nothing)\n", mode);
}

/* Lines read and waiting to be decoded together: ids[i] (len[i] symbols; 0 for an empty line). */
typedef struct {
    uint32_t **ids;
    int *len, n, cap;
    long first; /* the line number of line 0 */
    rnnc_s2s_hyp *hyps;
    int *n_out;
    const uint32_t **srcs;
    int *slen;
} pending;

static void pending_free(pending *p) {
    for (int i = 0; i < p->cap && p->ids; i++) free(p->ids[i]);
    free(p->ids); free(p->len); free(p->hyps); free(p->n_out); free(p->srcs); free(p->slen);
    memset(p, 0, sizeof *p);
}

static int pending_new(pending *p, int cap, int nbest) {
    memset(p, 0, sizeof *p);
    p->cap = cap;
    p->ids = calloc((size_t)cap, sizeof *p->ids);
    p->len = calloc((size_t)cap, sizeof *p->len);
    p->hyps = calloc((size_t)cap * (size_t)nbest, sizeof *p->hyps);
    p->n_out = calloc((size_t)cap, sizeof *p->n_out);
    p->srcs = calloc((size_t)cap, sizeof *p->srcs);
    p->slen = calloc((size_t)cap, sizeof *p->slen);
    if (!p->ids || !p->len || !p->hyps || !p->n_out || !p->srcs || !p->slen) { pending_free(p); return -1; }
    return 0;
}

/* Decodes the waiting lines and writes their outputs in order (an empty line: an empty output, or
 * nbest "-inf" lines). Returns 0, or the command's exit code. */
static int pending_flush(pending *p, const search *s) {
    const long nbest = s->nbest;
    sink *out = s->out;
    rnnc_bytes *text = s->text;
    int ne = 0, rc = 0;
    for (int i = 0; i < p->n; i++)
        if (p->len[i] > 0) { p->srcs[ne] = p->ids[i]; p->slen[ne++] = p->len[i]; }
    if (ne && rnnc_s2s_translator_run(s->tr, p->srcs, p->slen, (size_t)ne, (int)s->beam, s->alpha, (int)nbest,
                                      (int)s->max_len, (int)s->batch, p->hyps, p->n_out))
        rc = cli_fail_status();
    for (int i = 0, j = 0; i < p->n && !rc; i++) {
        long lineno = p->first + i;
        if (p->len[i] == 0) { /* nothing to translate: an empty line keeps the lines aligned */
            for (long k = 0; k < nbest; k++) {
                if (nbest > 1) fprintf(out->fp, "%ld\t-inf\t\n", lineno);
                else fputc('\n', out->fp);
            }
            continue;
        }
        for (int k = 0; k < p->n_out[j] && !rc; k++) {
            const rnnc_s2s_hyp *h = &p->hyps[(size_t)j * nbest + k];
            text->len = 0;
            if (rnnc_s2s_decode(&s->m->tgt_vocab, h->ids, (size_t)h->len, text)) rc = cli_fail_status();
            else if (nbest > 1) fprintf(out->fp, "%ld\t%.6f\t%s\n", lineno, h->score, (char *)text->data);
            else fprintf(out->fp, "%s\n", (char *)text->data);
        }
        j++;
    }
    for (size_t k = 0; k < (size_t)ne * (size_t)nbest; k++) rnnc_s2s_hyp_free(&p->hyps[k]);
    p->first += p->n;
    p->n = 0;
    if (!rc && !out->path) fflush(stdout); /* a filter: each batch as soon as it exists */
    return rc;
}

int cmd_seq2seq_translate(int argc, char **argv) {
    const char *mode = "seq2seq translate", *model = NULL, *input = NULL, *output = NULL;
    long beam = 1, nbest = 1, max_len = 0, threads = 0, batch = 0;
    double alpha = 1.0;
    bool alpha_given = false;
    if (cli_wants_help(argc, argv)) { fputs(HELP_TRANSLATE, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(mode, argc, argv, &i, name, &v, &err)
        if (OPT("--model")) { if (err) return err; model = v; }
        else if (OPT("--input")) {
            if (err) return err;
            if (input) return cli_usage_error(mode, "one input at most (got '%s' and '%s')", input, v);
            input = v;
        }
        else if (OPT("-o") || OPT("--output")) { if (err) return err; output = v; }
        else if (OPT("--beam")) { if (err || !cli_parse_long(mode, "--beam", v, 1, 1000, &beam)) return err ? err : 2; }
        else if (OPT("--nbest")) { if (err || !cli_parse_long(mode, "--nbest", v, 1, 1000, &nbest)) return err ? err : 2; }
        else if (OPT("--alpha")) {
            if (err || !cli_parse_double(mode, "--alpha", v, 0, 10, &alpha)) return err ? err : 2;
            alpha_given = true;
        }
        else if (OPT("--max-len")) { if (err || !cli_parse_long(mode, "--max-len", v, 1, 1 << 20, &max_len)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(mode, "--threads", v, 1, 1024, &threads)) return err ? err : 2; }
        else if (OPT("--batch")) { if (err || !cli_parse_long(mode, "--batch", v, 1, CLI_BATCH_MAX, &batch)) return err ? err : 2; }
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(mode, "unknown option '%s'", argv[i]);
        else if (input) return cli_usage_error(mode, "one input at most (got '%s' and '%s')", input, argv[i]);
        else input = argv[i];
#undef OPT
    }
    if (!model) return cli_usage_error(mode, "--model M is required");
    if (nbest > beam) return cli_usage_error(mode, "--nbest %ld needs --beam of at least %ld", nbest, nbest);
    int urc = cli_output_ok(mode, "-o", &output, true, (const char *const[]){model, input ? input : "-"}, 2);
    if (urc) return urc;
    warn_alpha(mode, alpha_given, beam);
    if (threads) omp_set_num_threads((int)threads);
    bool from_stdin = !input || strcmp(input, "-") == 0;
    const char *in_name = from_stdin ? "stdin" : input;
    rnnc_s2s_model *m;
    if (rnnc_s2s_load(&m, model)) return cli_fail_status();
    FILE *in = from_stdin ? stdin : fopen(input, "r");
    if (!in) {
        int e = errno;
        rnnc_s2s_model_free(m);
        return cli_fail("%s: cannot open: %s", input, strerror(e));
    }
    sink out = {stdout, {0}, NULL};
    if (output) {
        if (rnnc_atomic_open(&out.af, output)) {
            if (!from_stdin) fclose(in);
            rnnc_s2s_model_free(m);
            return cli_fail_status();
        }
        out.fp = out.af.fp;
        out.path = output;
    }
    int rc = 0;
    char *line = NULL;
    size_t cap = 0, symbols = 0, unknown = 0;
    ssize_t n;
    long lineno = 0;
    rnnc_ids ids = {0};
    rnnc_bytes text = {0};
    /* typed lines are answered one by one; a file or a pipe is decoded in batches. Lines from stdin
     * are handed on a batch at a time (a filter answers as soon as it can); from a file, 4,096
     * lines (or a batch, if larger) at a time, so that the batches are made of lines of like
     * length. The decoder's weights are packed once, for all of them. */
    if (!batch) batch = from_stdin && isatty(fileno(stdin)) ? 1 : 64;
    long chunk = from_stdin || batch > 4096 ? batch : 4096;
    pending pend;
    rnnc_s2s_translator *dec = NULL; /* the decoder's weights packed once for the whole input */
    if (pending_new(&pend, (int)chunk, (int)nbest)) rc = cli_fail("out of memory");
    else if (rnnc_s2s_translator_new(&dec, m)) rc = cli_fail_status();
    const search srch = {m, dec, beam, nbest, max_len, batch, alpha, &out, &text};
    while (!rc && (n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        ids.len = 0;
        size_t unk = 0;
        if (rnnc_s2s_encode_ex(&m->src_vocab, line, (size_t)n, false, &ids, &unk)) {
            rc = cli_fail("%s:%ld: %s", in_name, lineno + 1, rnnc_last_error());
            break;
        }
        symbols += ids.len;
        unknown += unk;
        int k = pend.n;
        pend.len[k] = (int)ids.len;
        if (ids.len) {
            uint32_t *c = realloc(pend.ids[k], ids.len * sizeof *c);
            if (!c) { rc = cli_fail("out of memory"); break; }
            memcpy(c, ids.data, ids.len * sizeof *c);
            pend.ids[k] = c;
        }
        pend.n++;
        lineno++;
        if (pend.n == pend.cap) rc = pending_flush(&pend, &srch);
    }
    if (!rc && pend.n) rc = pending_flush(&pend, &srch);
    if (!rc && ferror(in)) rc = cli_fail("reading %s: %s", in_name, strerror(errno));
    if (!from_stdin) fclose(in);
    if (out.path) {
        if (rc) rnnc_atomic_abort(&out.af);
        else if (rnnc_atomic_commit(&out.af)) rc = cli_fail_status();
    } else if (!rc && (fflush(stdout) || ferror(stdout))) {
        rc = cli_fail_stdout();
    }
    if (!rc && (!from_stdin || out.path || unknown > 0)) {
        fprintf(stderr, "translate: %ld line%s, %zu unknown source symbol%s (%.1f%% of %zu)%s%s\n", lineno,
                lineno == 1 ? "" : "s", unknown, unknown == 1 ? "" : "s",
                symbols ? 100.0 * (double)unknown / (double)symbols : 0.0, symbols, out.path ? "; wrote " : "",
                out.path ? out.path : "");
    }
    free(line);
    pending_free(&pend);
    rnnc_s2s_translator_free(dec);
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&text);
    rnnc_s2s_model_free(m);
    return rc;
}

/* 1 if the text has no line with anything but white space on it. */
static int blank_text(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
    return 1;
}

static void eval_progress(size_t done, size_t total, void *ctx) {
    (void)total;
    cli_progress *bar = ctx;
    char rate[48];
    double el = cli_now() - bar->start;
    snprintf(rate, sizeof rate, "%.0f sources/s", el > 0 ? (double)done / el : 0.0);
    cli_progress_update(bar, (double)done, rate);
}

int cmd_seq2seq_eval(int argc, char **argv) {
    const char *mode = "seq2seq eval", *model = NULL, *data = NULL;
    long beam = 1, batch = 64, threads = 0, max_source = 0; /* 0: not given, the default 1024 */
    double alpha = 1.0;
    bool skip_bad = false, skip_long = false, alpha_given = false, json = false;
    if (cli_wants_help(argc, argv)) { fputs(HELP_EVAL, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(mode, argc, argv, &i, name, &v, &err)
        if (OPT("--model")) { if (err) return err; model = v; }
        else if (OPT("--data")) { if (err) return err; data = v; }
        else if (OPT("--beam")) { if (err || !cli_parse_long(mode, "--beam", v, 1, 1000, &beam)) return err ? err : 2; }
        else if (OPT("--alpha")) {
            if (err || !cli_parse_double(mode, "--alpha", v, 0, 10, &alpha)) return err ? err : 2;
            alpha_given = true;
        }
        else if (OPT("--batch")) { if (err || !cli_parse_long(mode, "--batch", v, 1, CLI_BATCH_MAX, &batch)) return err ? err : 2; }
        else if (OPT("--max-source")) { if (err || !cli_parse_long(mode, "--max-source", v, 1, 1 << 30, &max_source)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(mode, "--threads", v, 1, 1024, &threads)) return err ? err : 2; }
        else if (cli_flag(argv, i, "--skip-bad")) skip_bad = true;
        else if (cli_flag(argv, i, "--skip-long")) skip_long = true;
        else if (cli_flag(argv, i, "--json")) json = true;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(mode, "unknown option '%s'", argv[i]);
        else return cli_usage_error(mode, "unexpected argument '%s' (the test file goes in --data)", argv[i]);
#undef OPT
    }
    if (!model) return cli_usage_error(mode, "--model M is required");
    if (!data) return cli_usage_error(mode, "--data TEST.tsv is required");
    warn_alpha(mode, alpha_given, beam);
    if (threads) omp_set_num_threads((int)threads);
    rnnc_s2s_model *m;
    if (rnnc_s2s_load(&m, model)) return cli_fail_status();
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts ro = {.max_source = (int)max_source, .skip_bad = skip_bad, .skip_long = skip_long};
    int rc = 0;
    rnnc_s2s_score sc;
    double t0 = cli_now();
    unsigned char *text = NULL;
    size_t len = 0;
    if (rnnc_read_file(data, &text, &len)) {
        rc = cli_fail_status();
    } else if (blank_text(text, len)) {
        /* zero items is never a score of 0% */
        rc = cli_fail("no items to evaluate in %s (%s)", data, len ? "only blank lines" : "the file is empty");
    } else if (rnnc_s2s_data_parse(&d, (const char *)text, len, data, &ro, &m->src_vocab, &m->tgt_vocab)) {
        rc = cli_fail_status();
    } else if (d.n == 0) {
        rc = cli_fail("no items to evaluate in %s (%zu skipped as bad, %zu as long)", data, d.skipped_bad, d.skipped_long);
    } else {
        cli_progress bar; /* on a terminal: the sources decoded so far (beam search takes a while) */
        cli_progress_start(&bar, "eval", (double)d.n);
        rnnc_status s = rnnc_s2s_evaluate_ex(m, &d, (int)beam, alpha, (int)batch, 0, &sc, NULL, eval_progress, &bar);
        cli_progress_finish(&bar);
        if (s) rc = cli_fail_status();
    }
    if (!rc && d.n && json) {
        static const char *const key[] = {"sources", "references", "skipped_bad", "skipped_long", "beam", "alpha", "ter", "ser",
                                          "edits", "ref_tokens", "seq_errors", "seconds"};
        const double val[] = {(double)d.n, (double)d.n_pairs, (double)d.skipped_bad, (double)d.skipped_long, (double)beam,
                              alpha, rnnc_s2s_ter(&sc), rnnc_s2s_ser(&sc), (double)sc.edits,
                              (double)sc.ref_tokens, (double)sc.seq_errors, cli_now() - t0};
        cJSON *j = cJSON_CreateObject();
        for (size_t k = 0; j && k < sizeof val / sizeof val[0]; k++)
            if (!cJSON_AddNumberToObject(j, key[k], val[k])) { cJSON_Delete(j); j = NULL; }
        rc = cli_print_json(j); /* (NULL: out of memory, said) */
    } else if (!rc && d.n) {
        printf("sources %zu  references %zu  skipped %zu bad %zu long  beam %ld  TER %.2f%%  SER %.2f%%  (%.1fs)\n", d.n,
               d.n_pairs, d.skipped_bad, d.skipped_long, beam, 100 * rnnc_s2s_ter(&sc), 100 * rnnc_s2s_ser(&sc),
               cli_now() - t0);
    }
    free(text);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_model_free(m);
    return rc;
}
