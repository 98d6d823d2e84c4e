/* rnnc tokenizer train|encode|decode — a thin layer over include/rnnc/tokenizer.h (stats: cmd_tokenizer_stats.c). */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_tokenizer.h"
#include "core/bigmem.h"
#include "rnnc/batch.h"
#include "rnnc/bpe.h"
#include "rnnc/filekind.h"
#include "rnnc/safetensors.h"
#include "rnnc/io.h"
#include "rnnc/tokenizer.h"

static const char HELP_TOKENIZER[] =
    "usage: rnnc tokenizer <command> [options]\n"
    "\n"
    "Train tokenizers, encode and decode with them, and measure them side by side\n"
    "(stats): char (one token per Unicode character, byte fallback), word (words and\n"
    "punctuation, <unk> for the rest) and byte-level BPE (tiktoken-compatible).\n"
    "\n"
    "commands:\n"
    "  train    learn a vocabulary from text files and write the tokenizer\n"
    "  encode   text -> ids (space-separated on stdout)\n"
    "  decode   ids -> text\n"
    "  stats    |V| against sequence length L and OOV rate on held-out text, for\n"
    "           every type\n"
    "\n"
    "A TOKENIZER is a file written by 'train' or one of r50k_base, p50k_base,\n"
    "cl100k_base, o200k_base (OpenAI's, from the fetched data). Run\n"
    "'rnnc tokenizer <command> --help' for options.\n";

static const char HELP_TRAIN[] =
    "usage: rnnc tokenizer train --type char|word|bpe [options] -o FILE CORPUS...\n"
    "\n"
    "Learns a vocabulary from the CORPUS files and writes the tokenizer to FILE\n"
    "(atomically). char and word tokenizers are JSON files; a BPE tokenizer is a\n"
    ".tiktoken rank file plus the sidecar FILE.json with its pattern and special\n"
    "tokens.\n"
    "\n"
    "options:\n"
    "  --type T            char, word or bpe (required)\n"
    "  --vocab-size N      ids in all (required for word and bpe; char: a cap,\n"
    "                      default none). char: at least 260 (4 reserved + 256\n"
    "                      bytes); word: at least 5; bpe: at least 256 + the number\n"
    "                      of special tokens\n"
    "  --min-count N       char/word: leave out characters/words seen fewer than N\n"
    "                      times\n"
    "  --min-frequency N   bpe: never merge a pair seen fewer than N times\n"
    "  --pattern P         bpe: pre-tokenizer, r50k | cl100k | o200k or a PCRE2 regex\n"
    "                      (default cl100k)\n"
    "  --special TEXT      bpe: add a special token (repeatable), e.g.\n"
    "                      '<|endoftext|>'\n"
    "  --threads N         bpe: threads for training (default: all)\n"
    "  -o, --output FILE   where to write the tokenizer (required)\n";

static const char HELP_ENCODE[] =
    "usage: rnnc tokenizer encode -t TOKENIZER [--allow-special] [--pattern P]\n"
    "                             [--format text|binary] [--threads N] [-o OUT]\n"
    "                             [FILE]\n"
    "\n"
    "Encodes FILE (stdin if absent or '-') and writes the ids to stdout (or OUT): as\n"
    "text, space-separated on one line, or as a binary id file (NumPy .npy,\n"
    "little-endian u32), which rnnc train and rnnc eval take as id files, as they\n"
    "take text ids.\n"
    "\n"
    "options:\n"
    "  -t, --tokenizer T   a tokenizer file or r50k_base | p50k_base | cl100k_base |\n"
    "                      o200k_base\n"
    "  --allow-special     BPE: text of special tokens becomes their ids (default:\n"
    "                      ordinary text)\n"
    "  --pattern P         BPE: the pattern for a .tiktoken file without a sidecar\n"
    "                      (default cl100k)\n"
    "  --format F          text (default) or binary (.npy; not to a terminal: use -o\n"
    "                      or a pipe)\n"
    "  --threads N         threads for encoding (BPE inputs of 256 KiB or more) and\n"
    "                      for writing the text (default: all)\n"
    "  -o, --output OUT    write the ids to OUT (atomically) instead of stdout\n";

static const char HELP_DECODE[] =
    "usage: rnnc tokenizer decode -t TOKENIZER [--pattern P] [FILE]\n"
    "\n"
    "Reads whitespace-separated ids, or a binary id file (.npy, as encode --format\n"
    "binary writes), from FILE (stdin if absent or '-') and writes the bytes they\n"
    "stand for to stdout. A word tokenizer's decoding is lossy (see docs/CLI.md).\n"
    "\n"
    "options:\n"
    "  -t, --tokenizer T   a tokenizer file or r50k_base | p50k_base | cl100k_base |\n"
    "                      o200k_base\n"
    "  --pattern P         taken as encode takes it, but ignored, with a warning: ids\n"
    "                      decode to their bytes without a pattern\n";


/* ---- helpers ---- */

void tok_corpus_free(tok_corpus *c) {
    for (size_t i = 0; i < c->n; i++) free(c->data[i]);
    free(c->data);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

/* Reads every file; returns 0 or the exit code of a printed error. */
int tok_corpus_read(tok_corpus *c, char **paths, size_t n) {
    memset(c, 0, sizeof *c);
    c->data = calloc(n + 1, sizeof *c->data);
    c->lens = calloc(n + 1, sizeof *c->lens);
    if (!c->data || !c->lens) { tok_corpus_free(c); return cli_fail("out of memory"); }
    for (size_t i = 0; i < n; i++) {
        if (rnnc_read_file(paths[i], &c->data[i], &c->lens[i])) { tok_corpus_free(c); return cli_fail_status(); }
        c->n++;
        c->total += c->lens[i];
    }
    if (c->total == 0) {
        int rc = cli_fail("the corpus is empty (%s%s)", paths[0], n > 1 ? " and the other files" : "");
        tok_corpus_free(c);
        return rc;
    }
    return 0;
}

/* A file that failed to load as a tokenizer but is another kind of rnnc file (a model, a
 * checkpoint, ids, a TSV, ONNX) is named as such, with what to use it for. */
static int load_tokenizer(rnnc_tokenizer **t, const char *cmd, const char *name, const char *pattern) {
    if (!name) return cli_usage_error(cmd, "-t TOKENIZER is required");
    /* a file of another kind is named as such by the loader ("not a tokenizer: this is ...") */
    return rnnc_tokenizer_load(t, name, pattern) == RNNC_OK ? 0 : cli_fail_status();
}

static void on_phase(tok_bpe_progress *p, int phase, const char *label, size_t total) {
    if (p->phase == phase) return;
    if (p->phase) cli_progress_finish(&p->bar);
    cli_progress_start(&p->bar, label, (double)total);
    p->phase = phase;
}

void tok_on_count(size_t done, size_t total, void *ctx) {
    tok_bpe_progress *p = ctx;
    on_phase(p, 1, "counting pieces", total);
    char mb[64], rate[48];
    double el = cli_now() - p->bar.start;
    snprintf(mb, sizeof mb, "%.1f/%.1f MB", (double)done / 1e6, (double)total / 1e6);
    snprintf(rate, sizeof rate, "%.1f MB/s", el > 0 ? (double)done / 1e6 / el : 0.0);
    const cli_field f[] = {{mb, CLI_PRIO_MAIN}, {el > 0.5 ? rate : NULL, CLI_PRIO_DETAIL}};
    cli_progress_update_fields(&p->bar, (double)done, f, 2);
}

void tok_on_merge(size_t done, size_t total, void *ctx) {
    tok_bpe_progress *p = ctx;
    on_phase(p, 2, "merging", total);
    char merges[64];
    snprintf(merges, sizeof merges, "%zu/%zu merges", done, total);
    const cli_field f[] = {{merges, CLI_PRIO_MAIN}};
    cli_progress_update_fields(&p->bar, (double)done, f, 1);
}

void tok_progress_done(tok_bpe_progress *p) {
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
        else if (cli_opt(cmd, argc, argv, &i, "--threads", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--threads", v, 1, 1024, &threads)) rc = 2; }
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
    if (!rc) rc = cli_output_ok(cmd, "-o", &out, false, (const char *const *)files, (int)n_files);
    if (!rc && n_files == 0) rc = cli_usage_error(cmd, "no CORPUS file given");
    if (!rc && vocab < 0 && o.type != RNNC_TOKENIZER_CHAR) rc = cli_usage_error(cmd, "--vocab-size is required for --type %s", type_s);
    if (!rc && o.type != RNNC_TOKENIZER_BPE && (pattern || n_specials || min_freq))
        rc = cli_usage_error(cmd, "--pattern, --special and --min-frequency apply only to --type bpe");
    if (!rc && o.type == RNNC_TOKENIZER_BPE && min_count)
        rc = cli_usage_error(cmd, "--min-count applies to char and word; BPE has --min-frequency");
    for (size_t k = 0; !rc && k < n_specials; k++) /* (each is given once: a repeat would be one token) */
        for (size_t j = 0; !rc && j < k; j++)
            if (!strcmp(specials[j], specials[k])) rc = cli_usage_error(cmd, "--special '%s' is given twice", specials[k]);
    if (!rc && vocab >= 0) { /* the smallest vocabulary of each type, named here rather than by the trainer (exit 1) */
        const long least = o.type == RNNC_TOKENIZER_CHAR ? RNNC_CHAR_FIRST
                         : o.type == RNNC_TOKENIZER_WORD ? RNNC_TOK_N_RESERVED + 1 : 256 + (long)n_specials;
        if (vocab < least) {
            char why[96];
            if (o.type == RNNC_TOKENIZER_CHAR) snprintf(why, sizeof why, "%d reserved ids and 256 bytes", RNNC_TOK_N_RESERVED);
            else if (o.type == RNNC_TOKENIZER_WORD) snprintf(why, sizeof why, "%d reserved ids and a word", RNNC_TOK_N_RESERVED);
            else snprintf(why, sizeof why, "256 byte tokens and %zu special token%s", n_specials, n_specials == 1 ? "" : "s");
            rc = cli_usage_error(cmd, "--vocab-size must be at least %ld for --type %s (%s), got %ld", least, type_s, why, vocab);
        }
    }
    if (rc) { free(specials); free(files); return rc; }
    if (o.type != RNNC_TOKENIZER_BPE && threads > 0) /* counting characters or words is one pass */
        fprintf(stderr, "rnnc %s: warning: --threads is ignored by --type %s (bpe only)\n", cmd, type_s);

    tok_corpus c;
    if ((rc = tok_corpus_read(&c, files, n_files))) { free(specials); free(files); return rc; }
    tok_bpe_progress bar = {0};
    o.vocab_size = vocab < 0 ? 0 : (size_t)vocab;
    o.min_count = (uint64_t)min_count;
    o.min_frequency = (uint64_t)min_freq;
    o.pattern = pattern;
    o.specials = specials;
    o.n_specials = n_specials;
    o.threads = (int)threads;
    o.progress = tok_on_merge;
    o.count_progress = tok_on_count;
    o.progress_ctx = &bar;
    double t0 = cli_now();
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_train(&t, (const unsigned char *const *)c.data, c.lens, c.n, &o);
    tok_progress_done(&bar);
    tok_corpus_free(&c);
    free(specials);
    free(files);
    if (s) return cli_fail_status();
    double dt = cli_now() - t0;
    if (rnnc_tokenizer_save(t, out)) { rnnc_tokenizer_free(t); return cli_fail_status(); }
    fprintf(stderr, "wrote %s: %s tokenizer, %zu ids, trained in %.2f s\n", out, type_s, rnnc_tokenizer_n_vocab(t), dt);
    rnnc_tokenizer_free(t);
    return 0;
}

/* The one-line warnings for encode's flags that the tokenizer loaded (t, named `name`) leaves
 * without effect: --pattern (a .tiktoken file without a sidecar only), --allow-special (BPE with
 * special tokens only), --threads with --format binary for char and word (their encoders run on
 * one thread; only BPE inputs and the text output use more). */
static void warn_unused(const char *cmd, const char *name, const rnnc_tokenizer *t, const char *pattern, bool allow,
                        long threads, bool binary) {
    rnnc_tokenizer_type type = rnnc_tokenizer_type_of(t);
    const char *tn = rnnc_tokenizer_type_name(type);
    const rnnc_bpe *b = rnnc_tokenizer_bpe(t);
    if (pattern && !b)
        fprintf(stderr, "rnnc %s: warning: --pattern is ignored by a %s tokenizer (BPE only)\n", cmd, tn);
    else if (pattern) {
        static const char *const openai[] = {"r50k_base", "p50k_base", "cl100k_base", "o200k_base"};
        bool named = false;
        for (size_t k = 0; k < sizeof openai / sizeof openai[0]; k++) named |= strcmp(name, openai[k]) == 0;
        rnnc_file_kind kind = named ? RNNC_FILE_UNKNOWN : rnnc_file_kind_sniff_path(name);
        struct stat sb; /* from a pipe only a tokenizer JSON can be read (not sniffed: it is read once) */
        if (!named && (stat(name, &sb) != 0 || !S_ISREG(sb.st_mode))) kind = RNNC_FILE_TOKENIZER_JSON;
        if (named)
            fprintf(stderr, "rnnc %s: warning: --pattern is ignored: %s has its own (it is for a .tiktoken file without a "
                            "sidecar)\n", cmd, name);
        else if (kind == RNNC_FILE_TOKENIZER_JSON || kind == RNNC_FILE_JSON)
            fprintf(stderr, "rnnc %s: warning: --pattern is ignored: the tokenizer file %s carries its own (it is for a "
                            ".tiktoken file without a sidecar)\n", cmd, name);
        else if (strcmp(rnnc_bpe_pattern(b), pattern) != 0) /* the sidecar's took its place */
            fprintf(stderr, "rnnc %s: warning: --pattern is ignored: the sidecar %s.json gives the pattern (it is for a "
                            ".tiktoken file without a sidecar)\n", cmd, name);
    }
    if (allow && !b)
        fprintf(stderr, "rnnc %s: warning: --allow-special is ignored by a %s tokenizer (BPE only)\n", cmd, tn);
    else if (allow && rnnc_bpe_n_specials(b) == 0)
        fprintf(stderr, "rnnc %s: warning: --allow-special is ignored: %s has no special tokens\n", cmd, name);
    if (threads > 0 && binary && !b)
        fprintf(stderr, "rnnc %s: warning: --threads is ignored by a %s tokenizer with --format binary (it encodes on one "
                        "thread; BPE inputs and the text output use more)\n", cmd, tn);
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
    if (n && fwrite(p, 1, n, stdout) != n) return cli_fail_stdout();
    return 0;
}

/* The decimal digits of x at p; returns the end. Two digits per step from a table. */
static const char DIGITS2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline int n_digits(uint32_t x) {
    return x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6
         : x < 10000000 ? 7 : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10;
}

static inline char *put_u32(char *p, uint32_t x) {
    char *e = p + n_digits(x), *q = e;
    while (x >= 100) {
        uint32_t r = x % 100;
        x /= 100;
        q -= 2;
        memcpy(q, DIGITS2 + 2 * r, 2);
    }
    if (x >= 10) { q -= 2; memcpy(q, DIGITS2 + 2 * x, 2); }
    else *--q = (char)('0' + x);
    return e;
}

/* Writes n bytes to fp; 0 or the exit code of a printed error naming `where`. */
static int write_to(FILE *fp, const char *where, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, fp) != n)
        return fp == stdout ? cli_fail_stdout() : cli_fail("writing %s failed: %s", where, strerror(errno));
    return 0;
}

/* The ids [lo, hi) of n as text into p ("a b c", a space after each but the last of all, which
 * gets the newline); returns the end. */
static char *format_ids(char *p, const uint32_t *ids, size_t lo, size_t hi, size_t n) {
    for (size_t i = lo; i < hi; i++) {
        p = put_u32(p, ids[i]);
        *p++ = i + 1 < n ? ' ' : '\n';
    }
    return p;
}

/* The ids as text, "a b c\n". Big outputs are formatted in one piece per thread (each into its own
 * buffer, on 2 MiB pages) and written in order; small ones through one buffer of 1 MiB. */
static int write_ids_text(FILE *fp, const char *where, const uint32_t *ids, size_t n) {
    if (n == 0) return write_to(fp, where, "\n", 1);
    int rc = 0;
    size_t pieces = (size_t)omp_get_max_threads();
    if (pieces > 1 && n >= (1u << 18)) {
        char **buf = calloc(pieces, sizeof *buf);
        size_t *len = calloc(pieces, sizeof *len);
        int bad = !buf || !len;
        #pragma omp parallel for schedule(static, 1) if (!bad)
        for (size_t k = 0; k < (bad ? 0 : pieces); k++) {
            size_t lo = n / pieces * k, hi = k + 1 == pieces ? n : n / pieces * (k + 1);
            buf[k] = rnnc_big_alloc((hi - lo) * 11);
            if (buf[k]) len[k] = (size_t)(format_ids(buf[k], ids, lo, hi, n) - buf[k]);
        }
        for (size_t k = 0; k < pieces && !bad; k++) {
            if (!rc && !buf[k]) rc = cli_fail("out of memory");
            if (!rc) rc = write_to(fp, where, buf[k], len[k]);
            free(buf[k]);
        }
        if (bad) rc = cli_fail("out of memory");
        free(buf);
        free(len);
        return rc;
    }
    enum { CAP = 1 << 20, IDS = (CAP - 16) / 11 };
    char *buf = malloc(CAP);
    if (!buf) return cli_fail("out of memory");
    for (size_t i = 0; i < n && !rc; i += IDS) {
        size_t hi = n - i < IDS ? n : i + IDS;
        rc = write_to(fp, where, buf, (size_t)(format_ids(buf, ids, i, hi, n) - buf));
    }
    free(buf);
    return rc;
}

/* The ids as a .npy file (rnnc_ids_npy_header, then little-endian u32). */
static int write_ids_npy(FILE *fp, const char *where, const uint32_t *ids, size_t n) {
    unsigned char head[RNNC_NPY_HEADER_MAX];
    int rc = write_to(fp, where, head, rnnc_ids_npy_header(n, head));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (!rc) rc = write_to(fp, where, ids, n * sizeof *ids);
#else
    unsigned char le[4096];
    for (size_t i = 0; i < n && !rc;) {
        size_t k = 0;
        for (; i < n && k + 4 <= sizeof le; i++, k += 4) {
            le[k] = (unsigned char)ids[i];
            le[k + 1] = (unsigned char)(ids[i] >> 8);
            le[k + 2] = (unsigned char)(ids[i] >> 16);
            le[k + 3] = (unsigned char)(ids[i] >> 24);
        }
        rc = write_to(fp, where, le, k);
    }
#endif
    return rc;
}

static int tok_encode(int argc, char **argv) {
    const char *cmd = "tokenizer encode", *tok = NULL, *pattern = NULL, *file = NULL, *out = NULL, *format = "text", *v;
    bool allow = false;
    long threads = 0;
    int rc = 0;
    if (cli_wants_help(argc, argv)) { fputs(HELP_ENCODE, stdout); return 0; }
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (cli_opt(cmd, argc, argv, &i, "--tokenizer", &v, &rc) || cli_opt(cmd, argc, argv, &i, "-t", &v, &rc)) { if (!rc) tok = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--pattern", &v, &rc)) { if (!rc) pattern = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--format", &v, &rc)) { if (!rc) format = v; }
        else if (cli_opt(cmd, argc, argv, &i, "--threads", &v, &rc)) { if (!rc && !cli_parse_long(cmd, "--threads", v, 1, 1024, &threads)) rc = 2; }
        else if (cli_opt(cmd, argc, argv, &i, "--output", &v, &rc) || cli_opt(cmd, argc, argv, &i, "-o", &v, &rc)) { if (!rc) out = v; }
        else if (cli_flag(argv, i, "--allow-special")) allow = true;
        else if (a[0] == '-' && a[1]) rc = cli_usage_error(cmd, "unknown option '%s'", a);
        else if (file) rc = cli_usage_error(cmd, "one input FILE at most (got '%s' and '%s')", file, a);
        else file = a;
    }
    if (rc) return rc;
    if ((rc = cli_output_ok(cmd, "-o", &out, true, (const char *const[]){file ? file : "-", tok}, 2))) return rc;
    bool binary = strcmp(format, "binary") == 0;
    if (!binary && strcmp(format, "text") != 0) return cli_usage_error(cmd, "--format must be text or binary, got '%s'", format);
    if (binary && !out && isatty(STDOUT_FILENO))
        return cli_usage_error(cmd, "--format binary writes binary data; give -o OUT or redirect stdout, not a terminal");
    if (threads > 0) omp_set_num_threads((int)threads);
    rnnc_tokenizer *t;
    if ((rc = load_tokenizer(&t, cmd, tok, pattern))) return rc;
    warn_unused(cmd, tok, t, pattern, allow, threads, binary);
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(file ? file : "-", &text, &len)) { rnnc_tokenizer_free(t); return cli_fail_status(); }
    rnnc_ids ids = {0};
    if (rnnc_tokenizer_encode(t, text, len, allow, &ids, NULL)) rc = cli_fail_status();
    free(text);
    rnnc_tokenizer_free(t);
    rnnc_atomic_file af = {0};
    FILE *fp = stdout;
    const char *where = out ? out : "stdout";
    if (!rc && out) {
        if (rnnc_atomic_open(&af, out)) rc = cli_fail_status();
        else fp = af.fp;
    }
    if (!rc) rc = binary ? write_ids_npy(fp, where, ids.data, ids.len) : write_ids_text(fp, where, ids.data, ids.len);
    if (out && af.fp) {
        if (rc) rnnc_atomic_abort(&af);
        else if (rnnc_atomic_commit(&af)) rc = cli_fail_status();
    } else if (!rc && fflush(stdout)) rc = cli_fail_stdout();
    rnnc_ids_free(&ids);
    return rc;
}

/* ---- decode ---- */
int tok_is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static int tok_decode(int argc, char **argv) {
    const char *tok = NULL, *pattern = NULL, *file = NULL;
    int done, rc = parse_io_args("tokenizer decode", HELP_DECODE, argc, argv, &tok, &pattern, NULL, &file, &done);
    if (rc || done) return rc;
    if (pattern) /* not even checked: a pattern cuts text into pieces, and decoding has no text to cut */
        fprintf(stderr, "rnnc tokenizer decode: warning: --pattern is ignored by decode (ids decode to their bytes without "
                        "a pattern; encode uses it)\n");
    rnnc_tokenizer *t;
    if ((rc = load_tokenizer(&t, "tokenizer decode", tok, NULL))) return rc;
    const char *name = rnnc_path_label(file ? file : "-");
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(file ? file : "-", &text, &len)) { rnnc_tokenizer_free(t); return cli_fail_status(); }
    rnnc_ids ids = {0};
    size_t nv = rnnc_tokenizer_n_vocab(t), p = 0;
    if (len >= 6 && memcmp(text, RNNC_NPY_MAGIC, 6) == 0) { /* a binary id file */
        int32_t *bin = NULL;
        size_t n = 0;
        if (rnnc_ids_parse(text, len, name, &bin, &n)) rc = cli_fail_status();
        for (size_t i = 0; i < n && !rc; i++) {
            uint32_t v = (uint32_t)bin[i];
            if (v >= nv || !rnnc_tokenizer_token(t, v).data)
                rc = cli_fail("%s: item %zu: id %u is %s (the vocabulary has %zu ids)", name, i + 1, v,
                              v >= nv ? "out of range" : "not used by this tokenizer", nv);
            else if (rnnc_ids_push(&ids, v)) rc = cli_fail_status();
        }
        free(bin);
        p = len; /* the text loop below has nothing left to read */
    }
    while (!rc) {
        while (p < len && tok_is_space(text[p])) p++;
        if (p == len) break;
        size_t q = p;
        while (q < len && !tok_is_space(text[q])) q++;
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
    if (!rc && fflush(stdout)) rc = cli_fail_stdout();
    rnnc_bytes_free(&out);
    rnnc_ids_free(&ids);
    rnnc_tokenizer_free(t);
    return rc;
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
