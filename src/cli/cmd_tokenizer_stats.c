/* rnnc tokenizer stats: |V| against sequence length L and the out-of-vocabulary rate on held-out
 * text, for every tokenizer type at several sizes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmd_tokenizer.h"
#include "rnnc/bpe.h"
#include "rnnc/tokenizer.h"

static const char HELP_STATS[] =
    "usage: rnnc tokenizer stats [options] CORPUS...\n"
    "\n"
    "Trains char, word and BPE tokenizers on the corpus minus a held-out tail and\n"
    "prints, for each vocabulary size, |V|, the held-out length L in tokens, tokens\n"
    "per word, bytes per token and the out-of-vocabulary rate: the sequence-length vs\n"
    "vocabulary-size trade-off.\n"
    "BPE is trained once at the largest size; smaller sizes keep its first merges\n"
    "(BPE merges are nested, so this equals training at each size). Word vocabularies\n"
    "are nested the same way.\n"
    "\n"
    "options:\n"
    "  --held-out F        fraction of the corpus (its end, cut at a line start) held\n"
    "                      out (default 0.1)\n"
    "  --sizes LIST        vocabulary sizes, comma-separated (default\n"
    "                      256,1000,4000,16000,32000)\n"
    "  --pattern P         BPE pre-tokenizer (default cl100k)\n"
    "  --min-count N       char: leave out characters seen fewer than N times\n"
    "                      (default 1)\n"
    "  --threads N         BPE training threads (default: all)\n";

/* ---- stats ---- */

/* The first line start at or after `at` whose first byte is not white space: cutting there keeps
 * the pre-tokenizer's pieces the same as in the whole text. Falls back to `at`, moved to a
 * character boundary (*mid_line set: the caller says so). */
static size_t line_cut(const unsigned char *s, size_t len, size_t at, bool *mid_line) {
    *mid_line = false;
    for (size_t p = at; p < len; p++)
        if (p > 0 && s[p - 1] == '\n' && !tok_is_space(s[p])) return p;
    *mid_line = at > 0 && s[at - 1] != '\n';
    while (at < len && (s[at] & 0xC0) == 0x80) at++;
    return at;
}

typedef struct {
    const unsigned char *text;
    size_t len;
    size_t words, chars; /* white-space separated words; UTF-8 characters (or stray bytes) */
} held_out;

static void print_row(const char *name, size_t V, const held_out *h, size_t L, double oov, const char *oov_note, double secs) {
    char oov_s[32];
    if (oov_note) snprintf(oov_s, sizeof oov_s, "%s", oov_note);
    else snprintf(oov_s, sizeof oov_s, "%.3f%%", 100 * oov);
    char secs_s[32];
    if (secs < 0) snprintf(secs_s, sizeof secs_s, "-");
    else snprintf(secs_s, sizeof secs_s, "%.1f", secs);
    /* a ratio over zero words or zero tokens is no figure: "-" (the corpus line says why) */
    char tpw[32] = "-", bpt[32] = "-";
    if (h->words) snprintf(tpw, sizeof tpw, "%.3f", (double)L / (double)h->words);
    if (L) snprintf(bpt, sizeof bpt, "%.3f", (double)h->len / (double)L);
    printf("%-22s %8zu %12zu %11s %11s %10s %8s\n", name, V, L, tpw, bpt, oov_s, secs_s);
    fflush(stdout);
}

static int parse_sizes(const char *cmd, const char *s, size_t *sizes, size_t *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : (end = (char *)p, 0); /* digits: no sign, no blank */
        if (end == p || errno || v < 1 || v > 10000000 || (*end && *end != ',') || *n == 32)
            return cli_usage_error(cmd, "--sizes expects up to 32 comma-separated integers from 1 to 10000000, got '%s'", s);
        sizes[(*n)++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    if (*n == 0) return cli_usage_error(cmd, "--sizes needs at least one size");
    return 0;
}

static int by_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int tok_stats(int argc, char **argv) {
    const char *cmd = "tokenizer stats", *v, *pattern = "cl100k";
    double held = 0.1;
    long min_count = 1, threads = 0;
    bool pattern_given = false;
    size_t sizes[32], n_sizes = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n_files = 0;
    int rc = 0;
    if (!files) return cli_fail("out of memory");
    rc = parse_sizes(cmd, "256,1000,4000,16000,32000", sizes, &n_sizes);
    if (cli_wants_help(argc, argv)) { fputs(HELP_STATS, stdout); free(files); return 0; }
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (cli_opt(cmd, argc, argv, &i, "--held-out", &v, &rc)) { if (!rc && !cli_parse_double(cmd, "--held-out", v, 0.001, 0.9, &held)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--sizes", &v, &rc)) { if (!rc) rc = parse_sizes(cmd, v, sizes, &n_sizes); }
        else if (cli_opt(cmd, argc, argv, &i, "--pattern", &v, &rc)) { if (!rc) { pattern = v; pattern_given = true; } }
        else if (cli_opt(cmd, argc, argv, &i, "--min-count", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--min-count", v, 0, 1000000000000L, &min_count)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--threads", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--threads", v, 1, 1024, &threads)) rc = 2; }
        else if (a[0] == '-' && a[1]) rc = cli_usage_error(cmd, "unknown option '%s'", a);
        else files[n_files++] = argv[i];
    }
    if (!rc && n_files == 0) rc = cli_usage_error(cmd, "no CORPUS file given");
    if (rc) { free(files); return rc; }
    qsort(sizes, n_sizes, sizeof *sizes, by_size);
    /* every size below BPE's 256 byte tokens: no BPE row, so BPE is not trained, and its flags do nothing */
    const bool bpe_rows = sizes[n_sizes - 1] >= 256;
    if (!bpe_rows && pattern_given)
        fprintf(stderr, "rnnc %s: warning: --pattern is ignored: every --sizes is below 256, so there is no BPE row (BPE "
                        "only)\n", cmd);
    if (!bpe_rows && threads > 0)
        fprintf(stderr, "rnnc %s: warning: --threads is ignored: every --sizes is below 256, so there is no BPE row (BPE "
                        "training only)\n", cmd);
    rnnc_pretok *re; /* a bad pattern should fail now, not after the char and word rows */
    if (rnnc_pretok_new(&re, pattern)) { free(files); return cli_fail_status(); }
    rnnc_pretok_free(re);

    tok_corpus c;
    rc = tok_corpus_read(&c, files, n_files);
    free(files);
    if (rc) return rc;
    /* One buffer for all files: the held-out slice is the end of the last ones. */
    unsigned char *all = malloc(c.total + 1);
    if (!all) { tok_corpus_free(&c); return cli_fail("out of memory"); }
    size_t total = 0;
    for (size_t i = 0; i < c.n; i++) { memcpy(all + total, c.data[i], c.lens[i]); total += c.lens[i]; }
    tok_corpus_free(&c);
    bool mid_line;
    size_t cut = line_cut(all, total, (size_t)((double)total * (1 - held)), &mid_line);
    if (cut == 0 || cut >= total) { free(all); return cli_fail("the corpus (%zu bytes) is too small to hold out %g of it", total, held); }
    held_out h = {all + cut, total - cut, 0, 0};
    for (size_t p = 0; p < h.len; p++) {
        if (!tok_is_space(h.text[p]) && (p == 0 || tok_is_space(h.text[p - 1]))) h.words++;
        if ((h.text[p] & 0xC0) != 0x80) h.chars++;
    }
    /* One text: the BPE trainer cuts it into chunks for its threads itself. */
    const unsigned char *train_texts[1] = {all};
    size_t train_lens[1] = {cut}, n_train = 1;

    printf("corpus: %zu bytes; trained on the first %zu, measured on the last %zu (%.0f%%, %zu words)%s\n",
           total, cut, h.len, 100.0 * (double)h.len / (double)total, h.words,
           mid_line ? "; cut inside a line: no line starts after that point" : "");
    if (h.words == 0) printf("the held-out part has no words: tokens/word and the word OOV rate are left out (-)\n");
    printf("L = held-out length in tokens; OOV = held-out characters (char) or word tokens (word) outside the vocabulary\n\n");
    printf("%-22s %8s %12s %11s %11s %10s %8s\n", "tokenizer", "|V|", "L", "tokens/word", "bytes/token", "OOV", "train s");

    rnnc_ids ids = {0};
    rnnc_status s = RNNC_OK;
    /* char: its natural vocabulary (every character seen min-count times). */
    {
        double t0 = cli_now();
        rnnc_char_tok *ct;
        rnnc_char_opts o = {.min_count = (uint64_t)min_count};
        if ((s = rnnc_char_build(&ct, train_texts, train_lens, n_train, &o))) goto fail;
        double dt = cli_now() - t0;
        size_t fb = 0;
        ids.len = 0;
        if ((s = rnnc_char_encode(ct, h.text, h.len, &ids, &fb))) { rnnc_char_free(ct); goto fail; }
        print_row("char", rnnc_char_n_vocab(ct), &h, ids.len, h.chars ? (double)fb / (double)h.chars : 0, h.chars ? NULL : "-", dt);
        rnnc_char_free(ct);
    }
    /* word: built once at the largest size; a smaller vocabulary is a prefix of its id order, so
     * its <unk>s are exactly the ids at or above that size. */
    {
        double t0 = cli_now();
        rnnc_word_tok *wt;
        rnnc_word_opts o = {.vocab_size = sizes[n_sizes - 1] < 5 ? 5 : sizes[n_sizes - 1]};
        if ((s = rnnc_word_build(&wt, train_texts, train_lens, n_train, &o))) goto fail;
        double dt = cli_now() - t0;
        ids.len = 0;
        if ((s = rnnc_word_encode(wt, h.text, h.len, &ids, NULL))) { rnnc_word_free(wt); goto fail; }
        size_t natural = rnnc_word_n_vocab(wt);
        for (size_t k = 0; k < n_sizes; k++) {
            size_t V = sizes[k] < natural ? sizes[k] : natural, unk = 0;
            if (V < 5) continue;
            for (size_t i = 0; i < ids.len; i++) unk += ids.data[i] >= V || ids.data[i] == RNNC_TOK_UNK;
            char name[48];
            snprintf(name, sizeof name, "word%s", sizes[k] > natural ? " (all words)" : "");
            /* a rate over no held-out tokens is no figure: left out, the note says why */
            print_row(name, V, &h, ids.len, ids.len ? (double)unk / (double)ids.len : 0, ids.len ? NULL : "-", dt);
            if (sizes[k] >= natural) break;
        }
        rnnc_word_free(wt);
    }
    /* BPE: trained once at the largest size; smaller sizes keep its first ranks. */
    if (bpe_rows) {
        size_t big = sizes[n_sizes - 1];
        tok_bpe_progress bar = {0};
        rnnc_bpe_train_opts o = {.vocab_size = big, .pattern = pattern, .threads = (int)threads,
                                 .progress = tok_on_merge, .count_progress = tok_on_count, .progress_ctx = &bar};
        double t0 = cli_now();
        rnnc_bpe *b;
        s = rnnc_bpe_train(&b, train_texts, train_lens, n_train, &o);
        tok_progress_done(&bar);
        if (s) goto fail;
        double dt = cli_now() - t0;
        size_t nv = rnnc_bpe_n_vocab(b);
        rnnc_token_bytes *toks = malloc(nv * sizeof *toks);
        if (!toks) { rnnc_bpe_free(b); s = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); goto fail; }
        for (uint32_t id = 0; id < nv; id++) toks[id] = rnnc_bpe_token(b, id);
        for (size_t k = 0; k < n_sizes && !s; k++) {
            if (sizes[k] < 256) continue;
            size_t V = sizes[k] < nv ? sizes[k] : nv;
            rnnc_bpe *small;
            if ((s = rnnc_bpe_create(&small, toks, V, rnnc_bpe_pattern(b), NULL, 0))) break;
            ids.len = 0;
            s = rnnc_bpe_encode(small, h.text, h.len, false, &ids);
            if (!s) print_row(sizes[k] > nv ? "bpe (all merges)" : "bpe", V, &h, ids.len, 0, "0 (bytes)", dt);
            rnnc_bpe_free(small);
            if (sizes[k] >= nv) break;
        }
        free(toks);
        rnnc_bpe_free(b);
        if (s) goto fail;
    }
    /* For reference, OpenAI's cl100k_base (trained on far more text) when the data is fetched. */
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/tiktoken/cl100k_base.tiktoken", rnnc_data_dir());
        struct stat st;
        rnnc_bpe *b;
        if (stat(path, &st) == 0 && rnnc_bpe_load(&b, "cl100k_base", NULL) == RNNC_OK) {
            ids.len = 0;
            if (rnnc_bpe_encode(b, h.text, h.len, false, &ids) == RNNC_OK)
                print_row("cl100k_base (OpenAI)", rnnc_bpe_n_vocab(b), &h, ids.len, 0, "0 (bytes)", -1);
            rnnc_bpe_free(b);
        }
    }
    if (sizes[n_sizes - 1] < 5) printf("word: no row: every --sizes is below 5 (4 reserved ids and one word)\n");
    if (sizes[n_sizes - 1] < 256) printf("bpe: no row: every --sizes is below 256 (its byte tokens)\n");
    printf("\nword and bpe are trained once, at the largest size; a smaller vocabulary is the first |V| ids\n"
           "of that run (word ids go by count, BPE merges are nested), so its row equals training at |V|.\n");
    rnnc_ids_free(&ids);
    free(all);
    return 0;
fail:
    rnnc_ids_free(&ids);
    free(all);
    return cli_fail_status();
}
