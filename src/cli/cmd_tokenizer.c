/* rnnc tokenizer train|encode|decode|stats — a thin layer over include/rnnc/tokenizer.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "rnnc/tokenizer.h"

static const char HELP_TOKENIZER[] =
    "usage: rnnc tokenizer <command> [options]\n"
    "\n"
    "Train, apply and compare tokenizers: char (one token per Unicode character, byte fallback),\n"
    "word (words and punctuation, <unk> for the rest) and byte-level BPE (tiktoken-compatible).\n"
    "\n"
    "commands:\n"
    "  train    learn a vocabulary from text files and write the tokenizer\n"
    "  encode   text -> ids (space-separated on stdout)\n"
    "  decode   ids -> text\n"
    "  stats    |V| against sequence length L and OOV rate on held-out text, for every type\n"
    "\n"
    "A TOKENIZER is a file written by 'train' or one of r50k_base, p50k_base, cl100k_base,\n"
    "o200k_base (OpenAI's, from the fetched data). Run 'rnnc tokenizer <command> --help' for options.\n";

static const char HELP_TRAIN[] =
    "usage: rnnc tokenizer train --type char|word|bpe [options] -o FILE CORPUS...\n"
    "\n"
    "Learns a vocabulary from the CORPUS files and writes the tokenizer to FILE (atomically).\n"
    "char and word tokenizers are JSON files; a BPE tokenizer is a .tiktoken rank file plus the\n"
    "sidecar FILE.json with its pattern and special tokens.\n"
    "\n"
    "options:\n"
    "  --type T            char, word or bpe (required)\n"
    "  --vocab-size N      ids in all (required for word and bpe; char: a cap, default none).\n"
    "                      char: at least 260 (4 reserved + 256 bytes); word: at least 5;\n"
    "                      bpe: at least 256 + the number of special tokens\n"
    "  --min-count N       char/word: leave out characters/words seen fewer than N times\n"
    "  --min-frequency N   bpe: never merge a pair seen fewer than N times\n"
    "  --pattern P         bpe: pre-tokenizer, r50k | cl100k | o200k or a PCRE2 regex (default cl100k)\n"
    "  --special TEXT      bpe: add a special token (repeatable), e.g. '<|endoftext|>'\n"
    "  --threads N         bpe: threads for training (default: all)\n"
    "  -o, --output FILE   where to write the tokenizer (required)\n";

static const char HELP_ENCODE[] =
    "usage: rnnc tokenizer encode -t TOKENIZER [--allow-special] [--pattern P] [FILE]\n"
    "\n"
    "Encodes FILE (stdin if absent or '-') and prints the ids, space-separated, on one line.\n"
    "\n"
    "options:\n"
    "  -t, --tokenizer T   a tokenizer file or r50k_base | p50k_base | cl100k_base | o200k_base\n"
    "  --allow-special     BPE: text of special tokens becomes their ids (default: ordinary text)\n"
    "  --pattern P         BPE: the pattern for a .tiktoken file without a sidecar (default cl100k)\n";

static const char HELP_DECODE[] =
    "usage: rnnc tokenizer decode -t TOKENIZER [--pattern P] [FILE]\n"
    "\n"
    "Reads whitespace-separated ids from FILE (stdin if absent or '-') and writes the bytes they\n"
    "stand for to stdout. A word tokenizer's decoding is lossy (see docs/CLI.md).\n"
    "\n"
    "options:\n"
    "  -t, --tokenizer T   a tokenizer file or r50k_base | p50k_base | cl100k_base | o200k_base\n"
    "  --pattern P         BPE: the pattern for a .tiktoken file without a sidecar (default cl100k)\n";

static const char HELP_STATS[] =
    "usage: rnnc tokenizer stats [options] CORPUS...\n"
    "\n"
    "Trains char, word and BPE tokenizers on the corpus minus a held-out tail and prints, for each\n"
    "vocabulary size, |V|, the held-out length L in tokens, tokens per word, bytes per token and\n"
    "the out-of-vocabulary rate: the sequence-length vs vocabulary-size trade-off.\n"
    "BPE is trained once at the largest size; smaller sizes keep its first merges (BPE merges are\n"
    "nested, so this equals training at each size). Word vocabularies are nested the same way.\n"
    "\n"
    "options:\n"
    "  --held-out F        fraction of the corpus (its end, cut at a line start) held out (default 0.1)\n"
    "  --sizes LIST        vocabulary sizes, comma-separated (default 256,1000,4000,16000,32000)\n"
    "  --pattern P         BPE pre-tokenizer (default cl100k)\n"
    "  --min-count N       char: leave out characters seen fewer than N times (default 1)\n"
    "  --threads N         BPE training threads (default: all)\n";

/* ---- helpers ---- */

typedef struct {
    unsigned char **data;
    size_t *lens;
    size_t n;
    size_t total;
} corpus;

static void corpus_free(corpus *c) {
    for (size_t i = 0; i < c->n; i++) free(c->data[i]);
    free(c->data);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

/* Reads every file; returns 0 or the exit code of a printed error. */
static int corpus_read(corpus *c, char **paths, size_t n) {
    memset(c, 0, sizeof *c);
    c->data = calloc(n + 1, sizeof *c->data);
    c->lens = calloc(n + 1, sizeof *c->lens);
    if (!c->data || !c->lens) { corpus_free(c); return cli_fail("out of memory"); }
    for (size_t i = 0; i < n; i++) {
        if (rnnc_read_file(paths[i], &c->data[i], &c->lens[i])) { corpus_free(c); return cli_fail_status(); }
        c->n++;
        c->total += c->lens[i];
    }
    if (c->total == 0) {
        int rc = cli_fail("the corpus is empty (%s%s)", paths[0], n > 1 ? " and the other files" : "");
        corpus_free(c);
        return rc;
    }
    return 0;
}

static int load_tokenizer(rnnc_tokenizer **t, const char *cmd, const char *name, const char *pattern) {
    if (!name) return cli_usage_error(cmd, "-t TOKENIZER is required");
    if (rnnc_tokenizer_load(t, name, pattern)) return cli_fail_status();
    return 0;
}

/* BPE training reports two phases, counting (bytes) then merging; one bar shows each in turn. */
typedef struct {
    cli_progress bar;
    int phase; /* 0 none, 1 counting, 2 merging */
} train_progress;

static void on_phase(train_progress *p, int phase, const char *label, size_t total) {
    if (p->phase == phase) return;
    if (p->phase) cli_progress_finish(&p->bar);
    cli_progress_start(&p->bar, label, (double)total);
    p->phase = phase;
}

static void on_count(size_t done, size_t total, void *ctx) {
    train_progress *p = ctx;
    on_phase(p, 1, "counting pieces", total);
    char mb[64], rate[48];
    double el = cli_now() - p->bar.start;
    snprintf(mb, sizeof mb, "%.1f/%.1f MB", (double)done / 1e6, (double)total / 1e6);
    snprintf(rate, sizeof rate, "%.1f MB/s", el > 0 ? (double)done / 1e6 / el : 0.0);
    const cli_field f[] = {{mb, CLI_PRIO_MAIN}, {el > 0.5 ? rate : NULL, CLI_PRIO_DETAIL}};
    cli_progress_update_fields(&p->bar, (double)done, f, 2);
}

static void on_merge(size_t done, size_t total, void *ctx) {
    train_progress *p = ctx;
    on_phase(p, 2, "merging", total);
    char merges[64];
    snprintf(merges, sizeof merges, "%zu/%zu merges", done, total);
    const cli_field f[] = {{merges, CLI_PRIO_MAIN}};
    cli_progress_update_fields(&p->bar, (double)done, f, 1);
}

static void progress_done(train_progress *p) {
    if (p->phase) cli_progress_finish(&p->bar);
    p->phase = 0;
}

/* ---- train ---- */
static int tok_train(int argc, char **argv) {
    const char *cmd = "tokenizer train", *type_s = NULL, *out = NULL, *pattern = NULL, *v;
    long vocab = -1, min_count = 0, min_freq = 0, threads = 0;
    const char **specials = calloc((size_t)argc + 1, sizeof *specials);
    char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n_specials = 0, n_files = 0;
    int rc = 0;
    if (!specials || !files) { free(specials); free(files); return cli_fail("out of memory"); }
    if (cli_wants_help(argc, argv)) { fputs(HELP_TRAIN, stdout); free(specials); free(files); return 0; }
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (cli_opt(cmd, argc, argv, &i, "--type", &v, &rc)) { if (!rc) type_s = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--vocab-size", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--vocab-size", v, 1, 100000000, &vocab)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--min-count", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--min-count", v, 0, 1000000000000L, &min_count)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--min-frequency", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--min-frequency", v, 0, 1000000000000L, &min_freq)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--threads", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--threads", v, 0, 1024, &threads)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--pattern", &v, &rc)) { if (!rc) pattern = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--special", &v, &rc)) { if (!rc) specials[n_specials++] = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--output", &v, &rc) || cli_opt(cmd, argc, argv, &i, "-o", &v, &rc)) { if (!rc) out = v; }
        else if (a[0] == '-' && a[1]) rc = cli_usage_error(cmd, "unknown option '%s'", a);
        else files[n_files++] = argv[i];
    }
    rnnc_tokenizer_train_opts o = {0};
    if (!rc && !type_s) rc = cli_usage_error(cmd, "--type char|word|bpe is required");
    if (!rc && !rnnc_tokenizer_type_parse(type_s, &o.type)) rc = cli_usage_error(cmd, "--type must be char, word or bpe, got '%s'", type_s);
    if (!rc && !out) rc = cli_usage_error(cmd, "-o FILE is required");
    if (!rc && n_files == 0) rc = cli_usage_error(cmd, "no CORPUS file given");
    if (!rc && vocab < 0 && o.type != RNNC_TOKENIZER_CHAR) rc = cli_usage_error(cmd, "--vocab-size is required for --type %s", type_s);
    if (!rc && o.type != RNNC_TOKENIZER_BPE && (pattern || n_specials || min_freq))
        rc = cli_usage_error(cmd, "--pattern, --special and --min-frequency apply only to --type bpe");
    if (!rc && o.type == RNNC_TOKENIZER_BPE && min_count)
        rc = cli_usage_error(cmd, "--min-count applies to char and word; BPE has --min-frequency");
    if (rc) { free(specials); free(files); return rc; }

    corpus c;
    if ((rc = corpus_read(&c, files, n_files))) { free(specials); free(files); return rc; }
    train_progress bar = {0};
    o.vocab_size = vocab < 0 ? 0 : (size_t)vocab;
    o.min_count = (uint64_t)min_count;
    o.min_frequency = (uint64_t)min_freq;
    o.pattern = pattern;
    o.specials = specials;
    o.n_specials = n_specials;
    o.threads = (int)threads;
    o.progress = on_merge;
    o.count_progress = on_count;
    o.progress_ctx = &bar;
    double t0 = cli_now();
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_train(&t, (const unsigned char *const *)c.data, c.lens, c.n, &o);
    progress_done(&bar);
    corpus_free(&c);
    free(specials);
    free(files);
    if (s) return cli_fail_status();
    double dt = cli_now() - t0;
    if (rnnc_tokenizer_save(t, out)) { rnnc_tokenizer_free(t); return cli_fail_status(); }
    fprintf(stderr, "wrote %s: %s tokenizer, %zu ids, trained in %.2f s\n", out, type_s, rnnc_tokenizer_n_vocab(t), dt);
    rnnc_tokenizer_free(t);
    return 0;
}

/* ---- encode ---- */
static int parse_io_args(const char *cmd, const char *help, int argc, char **argv, const char **tok,
                         const char **pattern, bool *allow_special, const char **file, int *done) {
    const char *v;
    int rc = 0;
    *done = 0;
    if (cli_wants_help(argc, argv)) { fputs(help, stdout); *done = 1; return 0; }
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (cli_opt(cmd, argc, argv, &i, "--tokenizer", &v, &rc) || cli_opt(cmd, argc, argv, &i, "-t", &v, &rc)) { if (!rc) *tok = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--pattern", &v, &rc)) { if (!rc) *pattern = v; }
        else if (allow_special && cli_flag(argv, i, "--allow-special")) *allow_special = true;
        else if (a[0] == '-' && a[1]) rc = cli_usage_error(cmd, "unknown option '%s'", a);
        else if (*file) rc = cli_usage_error(cmd, "one input FILE at most (got '%s' and '%s')", *file, a);
        else *file = a;
    }
    return rc;
}

static int write_all(const void *p, size_t n) {
    if (n && fwrite(p, 1, n, stdout) != n) return cli_fail("writing to stdout failed: %s", strerror(errno));
    return 0;
}

static int tok_encode(int argc, char **argv) {
    const char *tok = NULL, *pattern = NULL, *file = NULL;
    bool allow = false;
    int done, rc = parse_io_args("tokenizer encode", HELP_ENCODE, argc, argv, &tok, &pattern, &allow, &file, &done);
    if (rc || done) return rc;
    rnnc_tokenizer *t;
    if ((rc = load_tokenizer(&t, "tokenizer encode", tok, pattern))) return rc;
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(file ? file : "-", &text, &len)) { rnnc_tokenizer_free(t); return cli_fail_status(); }
    rnnc_ids ids = {0};
    if (rnnc_tokenizer_encode(t, text, len, allow, &ids, NULL)) rc = cli_fail_status();
    free(text);
    rnnc_tokenizer_free(t);
    /* Format into one buffer: printf per id would dominate the run time on large files. */
    char *buf = rc ? NULL : malloc(ids.len * 11 + 2);
    if (!rc && !buf) rc = cli_fail("out of memory");
    if (!rc) {
        char *p = buf;
        for (size_t i = 0; i < ids.len; i++) {
            char tmp[12];
            int k = 0;
            uint32_t x = ids.data[i];
            do { tmp[k++] = (char)('0' + x % 10); x /= 10; } while (x);
            if (i) *p++ = ' ';
            while (k) *p++ = tmp[--k];
        }
        *p++ = '\n';
        rc = write_all(buf, (size_t)(p - buf));
        if (!rc && fflush(stdout)) rc = cli_fail("writing to stdout failed: %s", strerror(errno));
    }
    free(buf);
    rnnc_ids_free(&ids);
    return rc;
}

/* ---- decode ---- */
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static int tok_decode(int argc, char **argv) {
    const char *tok = NULL, *pattern = NULL, *file = NULL;
    int done, rc = parse_io_args("tokenizer decode", HELP_DECODE, argc, argv, &tok, &pattern, NULL, &file, &done);
    if (rc || done) return rc;
    rnnc_tokenizer *t;
    if ((rc = load_tokenizer(&t, "tokenizer decode", tok, pattern))) return rc;
    const char *name = file && strcmp(file, "-") ? file : "<stdin>";
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(file ? file : "-", &text, &len)) { rnnc_tokenizer_free(t); return cli_fail_status(); }
    rnnc_ids ids = {0};
    size_t nv = rnnc_tokenizer_n_vocab(t), p = 0;
    while (!rc) {
        while (p < len && is_space(text[p])) p++;
        if (p == len) break;
        size_t q = p;
        while (q < len && !is_space(text[q])) q++;
        uint64_t v = 0;
        bool ok = true;
        for (size_t k = p; k < q && ok; k++) {
            ok = text[k] >= '0' && text[k] <= '9' && q - p <= 10;
            v = v * 10 + (uint64_t)(text[k] - '0');
        }
        size_t pos = ids.len + 1;
        if (!ok) rc = cli_fail("%s: item %zu: '%.*s' is not an id (a non-negative integer)", name, pos, (int)(q - p > 40 ? 40 : q - p), (const char *)text + p);
        else if (v >= nv || !rnnc_tokenizer_token(t, (uint32_t)v).data)
            rc = cli_fail("%s: item %zu: id %llu is %s (the vocabulary has %zu ids)", name, pos, (unsigned long long)v,
                          v >= nv ? "out of range" : "not used by this tokenizer", nv);
        else if (rnnc_ids_push(&ids, (uint32_t)v)) rc = cli_fail_status();
        p = q;
    }
    free(text);
    rnnc_bytes out = {0};
    if (!rc && rnnc_tokenizer_decode(t, ids.data, ids.len, &out)) rc = cli_fail_status();
    if (!rc) rc = write_all(out.data, out.len);
    if (!rc && fflush(stdout)) rc = cli_fail("writing to stdout failed: %s", strerror(errno));
    rnnc_bytes_free(&out);
    rnnc_ids_free(&ids);
    rnnc_tokenizer_free(t);
    return rc;
}

/* ---- stats ---- */

/* The first line start at or after `at` whose first byte is not white space: cutting there keeps
 * the pre-tokenizer's pieces the same as in the whole text. Falls back to `at`. */
static size_t line_cut(const unsigned char *s, size_t len, size_t at) {
    for (size_t p = at; p < len; p++)
        if (p > 0 && s[p - 1] == '\n' && !is_space(s[p])) return p;
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
    printf("%-22s %8zu %12zu %11.3f %11.3f %10s %8s\n", name, V, L, h->words ? (double)L / (double)h->words : 0,
           L ? (double)h->len / (double)L : 0, oov_s, secs_s);
    fflush(stdout);
}

static int parse_sizes(const char *cmd, const char *s, size_t *sizes, size_t *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 10000000 || (*end && *end != ',') || *n == 32)
            return cli_usage_error(cmd, "--sizes expects up to 32 comma-separated positive integers, got '%s'", s);
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

static int tok_stats(int argc, char **argv) {
    const char *cmd = "tokenizer stats", *v, *pattern = "cl100k";
    double held = 0.1;
    long min_count = 1, threads = 0;
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
        else if (cli_opt(cmd, argc, argv, &i, "--pattern", &v, &rc)) { if (!rc) pattern = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--min-count", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--min-count", v, 1, 1000000000000L, &min_count)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--threads", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--threads", v, 0, 1024, &threads)) rc = 2; }
        else if (a[0] == '-' && a[1]) rc = cli_usage_error(cmd, "unknown option '%s'", a);
        else files[n_files++] = argv[i];
    }
    if (!rc && n_files == 0) rc = cli_usage_error(cmd, "no CORPUS file given");
    if (rc) { free(files); return rc; }
    qsort(sizes, n_sizes, sizeof *sizes, by_size);
    rnnc_pretok *re; /* a bad pattern should fail now, not after the char and word rows */
    if (rnnc_pretok_new(&re, pattern)) { free(files); return cli_fail_status(); }
    rnnc_pretok_free(re);

    corpus c;
    rc = corpus_read(&c, files, n_files);
    free(files);
    if (rc) return rc;
    /* One buffer for all files: the held-out slice is the end of the last ones. */
    unsigned char *all = malloc(c.total + 1);
    if (!all) { corpus_free(&c); return cli_fail("out of memory"); }
    size_t total = 0;
    for (size_t i = 0; i < c.n; i++) { memcpy(all + total, c.data[i], c.lens[i]); total += c.lens[i]; }
    corpus_free(&c);
    size_t cut = line_cut(all, total, (size_t)((double)total * (1 - held)));
    if (cut == 0 || cut >= total) { free(all); return cli_fail("the corpus (%zu bytes) is too small to hold out %g of it", total, held); }
    held_out h = {all + cut, total - cut, 0, 0};
    for (size_t p = 0; p < h.len; p++) {
        if (!is_space(h.text[p]) && (p == 0 || is_space(h.text[p - 1]))) h.words++;
        if ((h.text[p] & 0xC0) != 0x80) h.chars++;
    }
    /* One text: the BPE trainer cuts it into chunks for its threads itself. */
    const unsigned char *train_texts[1] = {all};
    size_t train_lens[1] = {cut}, n_train = 1;

    printf("corpus: %zu bytes; trained on the first %zu, measured on the last %zu (%.0f%%, %zu words)\n",
           total, cut, h.len, 100.0 * (double)h.len / (double)total, h.words);
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
        print_row("char", rnnc_char_n_vocab(ct), &h, ids.len, h.chars ? (double)fb / (double)h.chars : 0, NULL, dt);
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
            print_row(name, V, &h, ids.len, ids.len ? (double)unk / (double)ids.len : 0, NULL, dt);
            if (sizes[k] >= natural) break;
        }
        rnnc_word_free(wt);
    }
    /* BPE: trained once at the largest size; smaller sizes keep its first ranks. */
    {
        size_t big = sizes[n_sizes - 1] < 256 ? 256 : sizes[n_sizes - 1];
        train_progress bar = {0};
        rnnc_bpe_train_opts o = {.vocab_size = big, .pattern = pattern, .threads = (int)threads,
                                 .progress = on_merge, .count_progress = on_count, .progress_ctx = &bar};
        double t0 = cli_now();
        rnnc_bpe *b;
        s = rnnc_bpe_train(&b, train_texts, train_lens, n_train, &o);
        progress_done(&bar);
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

int cmd_tokenizer(int argc, char **argv) {
    if (argc < 2) { fputs(HELP_TOKENIZER, stderr); return 2; }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) { fputs(HELP_TOKENIZER, stdout); return 0; }
    if (strcmp(argv[1], "train") == 0) return tok_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "encode") == 0) return tok_encode(argc - 1, argv + 1);
    if (strcmp(argv[1], "decode") == 0) return tok_decode(argc - 1, argv + 1);
    if (strcmp(argv[1], "stats") == 0) return tok_stats(argc - 1, argv + 1);
    return cli_usage_error("tokenizer", "unknown subcommand '%s'", argv[1]);
}
