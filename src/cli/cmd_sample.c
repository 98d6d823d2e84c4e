/* rnnc sample: generate text from a model, streamed to stdout as it is produced. */
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "rnnc/tokenizer.h"

static const char *const sample_help =
    "usage: rnnc sample --model M [--prompt TEXT | --prompt-file FILE] [-n TOKENS]\n"
    "                   [--temperature X] [--top-k K] [--top-p P] [--seed S]\n"
    "\n"
    "Generates text from a language model and writes it to stdout as it is produced.\n"
    "The prompt (printed first) primes the recurrent state; without one, generation\n"
    "starts after a newline.\n"
    "\n"
    "options:\n"
    "  --model M          model file (.safetensors with its tokenizer inside)\n"
    "  --prompt TEXT      text to continue\n"
    "  --prompt-file FILE the text to continue read from FILE ('-': stdin), for\n"
    "                     prompts too long or too binary for a command line\n"
    "  -n TOKENS          tokens to generate (default 200)\n"
    "  --temperature X    0 = greedy (always the likeliest token); higher = more\n"
    "                     varied (default 1)\n"
    "  --top-k K          draw only from the K likeliest tokens (default 0 = off)\n"
    "  --top-p P          draw only from the smallest set of likeliest tokens whose\n"
    "                     probability reaches P, in (0, 1] (default 1 = off)\n"
    "  --seed S           random seed; the same seed, model and options give the same\n"
    "                     text (default: different every run)\n"
    "  --threads N        threads for each generated token (default: the cores idle\n"
    "                     at the start, up to 4, for models with H >= 256; else 1.\n"
    "                     Threads help only on idle cores: each token is a chain of\n"
    "                     small steps that wait for each other. With\n"
    "                     OMP_WAIT_POLICY=passive, 1 unless a token reads 24 MiB of\n"
    "                     weights or more)\n"
    "  --half             read the weights in half precision while generating: about\n"
    "                     twice as fast on large models, logits within about 0.1% of\n"
    "                     the float model's\n";

/* Busy and total jiffies of all processors from /proc/stat's first line; false when unreadable. */
static bool cpu_times(double *busy, double *total) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return false;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n < 4) return false;
    double t = 0;
    for (int i = 0; i < 8; i++) t += (double)v[i];
    *busy = t - (double)v[3] - (double)v[4]; /* all but idle and iowait */
    *total = t;
    return true;
}

/* This process's own user + system jiffies (all its threads), from /proc/self/stat; -1 if unknown. */
static double self_jiffies(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (double)ut + (double)st;
}

/* The default thread count (cli_token_threads): the cores idle right now, at most 4 and at most
 * OpenMP's limit; 1 for models with H < 256, and 1 under OMP_WAIT_POLICY=passive for models whose
 * token reads under 24 MiB of weights. Idle cores are measured over 50 ms of /proc/stat (the load
 * average lags by a minute); without /proc every processor counts as idle. Oversubscribed
 * threads make every token wait for a descheduled one, so a busy machine gets 1. */
static long auto_threads(const rnnc_lm *m, int half) {
    /* what a token reads: every weight but the embedding table, of which it reads one row */
    double bytes = (double)(m->n_params - (size_t)m->c.vocab * (size_t)m->c.embed) * (half ? 2 : 4);
    const bool passive = cli_omp_passive();
    if (!cli_token_threads_split(m->c.hidden, bytes, passive)) return 1; /* no need to look */
    long procs = sysconf(_SC_NPROCESSORS_ONLN), idle = procs;
    double b0, t0, b1, t1, s0 = self_jiffies();
    if (procs > 1 && cpu_times(&b0, &t0)) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        double s1 = self_jiffies();
        /* our own OpenMP workers may still be spinning from the model load: not someone else's load */
        double own = s0 >= 0 && s1 >= s0 ? s1 - s0 : 0;
        if (cpu_times(&b1, &t1) && t1 > t0) {
            double busy = b1 - b0 - own;
            idle = (long)floor((double)procs * (1.0 - (busy > 0 ? busy : 0) / (t1 - t0)) + 0.5);
        }
    }
    return cli_token_threads(idle, omp_get_max_threads(), m->c.hidden, bytes, passive);
}

/* Output in the token's own bytes, holding back characters split across tokens. For the word
 * tokenizer the spacing between words depends on their neighbours, so the text is decoded as a
 * whole and only its new tail is written. */
typedef struct {
    const rnnc_tokenizer *tok;
    int word;
    rnnc_ids all;          /* word tokenizer: every id so far (prompt included) */
    size_t shown;          /* word tokenizer: bytes of decode(all) already written */
    rnnc_bytes text;       /* scratch for decoding */
    rnnc_utf8_stream utf8;
    unsigned char *out;    /* scratch for the UTF-8 stream */
    size_t out_cap;
    int last;              /* last byte written, or -1 */
} text_out;

static int emit_bytes(text_out *o, const unsigned char *b, size_t n) {
    if (n + 4 > o->out_cap) {
        size_t cap = (n + 4) * 2;
        unsigned char *nb = realloc(o->out, cap);
        if (!nb) return cli_fail("out of memory");
        o->out = nb;
        o->out_cap = cap;
    }
    size_t w = rnnc_utf8_stream_push(&o->utf8, b, n, o->out);
    if (w) {
        if (fwrite(o->out, 1, w, stdout) != w) return cli_fail_stdout();
        o->last = o->out[w - 1];
    }
    return 0;
}

static int emit_id(text_out *o, uint32_t id) {
    if (!o->word) {
        o->text.len = 0;
        if (rnnc_tokenizer_decode(o->tok, &id, 1, &o->text)) return cli_fail_status();
        return emit_bytes(o, o->text.data, o->text.len);
    }
    if (rnnc_ids_push(&o->all, id)) return cli_fail_status();
    o->text.len = 0;
    if (rnnc_tokenizer_decode(o->tok, o->all.data, o->all.len, &o->text)) return cli_fail_status();
    if (o->text.len <= o->shown) return 0;
    int rc = emit_bytes(o, o->text.data + o->shown, o->text.len - o->shown);
    o->shown = o->text.len;
    return rc;
}

int cmd_sample(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *prompt_file = NULL;
    long n = 200, top_k = 0, seed_l = -1, threads = 0;
    double temperature = 1.0, top_p = 1.0;
    int err = 0, half = 0;
    if (cli_wants_help(argc, argv)) { fputs(sample_help, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_flag(argv, i, "--half")) { half = 1; continue; }
        if (cli_opt("sample", argc, argv, &i, "--model", &v, &err)) model = v;
        else if (cli_opt_text("sample", argc, argv, &i, "--prompt", &v, &err)) prompt = v; /* "": no prompt */
        else if (cli_opt("sample", argc, argv, &i, "--prompt-file", &v, &err)) prompt_file = v;
        else if (cli_opt("sample", argc, argv, &i, "-n", &v, &err)) { if (!err && !cli_parse_long("sample", "-n", v, 0, 100000000, &n)) return 2; }
        else if (cli_opt("sample", argc, argv, &i, "--temperature", &v, &err)) { if (!err && !cli_parse_double("sample", "--temperature", v, 0, 1e6, &temperature)) return 2; }
        else if (cli_opt("sample", argc, argv, &i, "--top-k", &v, &err)) { if (!err && !cli_parse_long("sample", "--top-k", v, 0, 100000000, &top_k)) return 2; }
        else if (cli_opt("sample", argc, argv, &i, "--top-p", &v, &err)) {
            /* one message for every value outside (0, 1], 0 included: a range that excludes 0 */
            if (!err && !cli_parse_double("sample", "--top-p", v, -INFINITY, INFINITY, &top_p)) return 2;
            if (!err && !(top_p > 0 && top_p <= 1)) return cli_usage_error("sample", "--top-p must be in (0, 1], got %s", v);
        }
        else if (cli_opt("sample", argc, argv, &i, "--threads", &v, &err)) { if (!err && !cli_parse_long("sample", "--threads", v, 1, 1024, &threads)) return 2; }
        else if (cli_opt("sample", argc, argv, &i, "--seed", &v, &err)) { if (!err && !cli_parse_long("sample", "--seed", v, 0, 0x7fffffffffffffffL, &seed_l)) return 2; }
        else if (argv[i][0] == '-') return cli_usage_error("sample", "unknown option '%s'", argv[i]);
        else return cli_usage_error("sample", "unexpected argument '%s' (the prompt goes in --prompt)", argv[i]);
        if (err) return err;
    }
    if (!model) return cli_usage_error("sample", "--model M is required");
    if (prompt && prompt_file) return cli_usage_error("sample", "--prompt and --prompt-file: give one of them");
    if (temperature == 0) { /* greedy: nothing is drawn, so what shapes or seeds the draw is ignored */
        const char *given[3];
        int ng = 0;
        if (top_k > 0) given[ng++] = "--top-k";
        if (top_p < 1) given[ng++] = "--top-p";
        if (seed_l >= 0) given[ng++] = "--seed";
        if (ng) { /* "A is", "A and B are", "A, B and C are" */
            fputs("rnnc sample: warning: ", stderr);
            for (int k = 0; k < ng; k++) fprintf(stderr, "%s%s", k == 0 ? "" : k == ng - 1 ? " and " : ", ", given[k]);
            fprintf(stderr, " %s ignored with --temperature 0 (greedy: always the likeliest token)\n", ng == 1 ? "is" : "are");
        }
    }
    uint64_t seed = (uint64_t)seed_l;
    if (seed_l < 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }

    /* the prompt as bytes: the flag's text, or the whole file (NUL bytes and all), read before the
     * model so that a missing file fails at once */
    unsigned char *pfile = NULL;
    const unsigned char *pdata = (const unsigned char *)prompt;
    size_t plen = prompt ? strlen(prompt) : 0;
    if (prompt_file) {
        if (rnnc_read_file(prompt_file, &pfile, &plen)) return cli_fail_status();
        if (plen == 0) {
            free(pfile);
            return cli_fail("%s: the prompt file is empty", rnnc_path_label(prompt_file));
        }
        pdata = pfile;
    }
    rnnc_lm *m;
    rnnc_tokenizer *tok;
    int rc = cli_load_lm_tokenizer(model, &m, &tok);
    if (rc) { free(pfile); return rc; }
    if (temperature > 0 && top_k >= m->c.vocab) /* the K likeliest are every token: no cut (greedy said so above) */
        fprintf(stderr, "rnnc sample: warning: --top-k %ld is ignored: the model has %d tokens, all of them among the %ld "
                        "likeliest\n", top_k, m->c.vocab, top_k);
    rnnc_sample_params p = {(float)temperature, (int)top_k, (float)top_p};
    rnnc_generator *g = NULL;
    rnnc_ids ids = {0};
    text_out o = {tok, rnnc_tokenizer_type_of(tok) == RNNC_TOKENIZER_WORD, {0}, 0, {0}, {{0}, 0}, NULL, 0, -1};
    if (rnnc_generator_new(&g, m, &p, seed) || (half && rnnc_generator_use_half(g))) { rc = cli_fail_status(); goto done; }
    if (threads == 0) threads = auto_threads(m, half);
    rnnc_generator_set_threads(g, (int)threads);

    /* The prompt, or a newline when there is none: text usually resumes after a line break, and a
     * recurrent model needs an input before it has a distribution to draw from. */
    const unsigned char *primer = plen ? pdata : (const unsigned char *)"\n";
    if (rnnc_tokenizer_encode(tok, primer, plen ? plen : 1, false, &ids, NULL)) { rc = cli_fail_status(); goto done; }
    if (ids.len == 0) {
        rc = cli_fail("%s: the tokenizer gives no tokens for this text", prompt_file ? "--prompt-file" : "--prompt");
        goto done;
    }
    if (rnnc_generator_feed(g, ids.data, ids.len)) { rc = cli_fail_status(); goto done; }
    if (plen) {
        fwrite(pdata, 1, plen, stdout);
        o.last = pdata[plen - 1];
        if (o.word) {
            for (size_t i = 0; i < ids.len; i++) if (rnnc_ids_push(&o.all, ids.data[i])) { rc = cli_fail_status(); goto done; }
            if (rnnc_tokenizer_decode(tok, o.all.data, o.all.len, &o.text)) { rc = cli_fail_status(); goto done; }
            o.shown = o.text.len;
        }
    }
    fflush(stdout);
    for (long k = 0; k < n && !rc; k++) {
        uint32_t id;
        if (rnnc_generator_next(g, &id)) { rc = cli_fail_status(); break; }
        rc = emit_id(&o, id);
        fflush(stdout); /* stream: each token appears as soon as it exists */
    }
    if (!rc) {
        unsigned char rest[4];
        size_t r = rnnc_utf8_stream_flush(&o.utf8, rest);
        if (r) { fwrite(rest, 1, r, stdout); o.last = rest[r - 1]; }
        if (o.last != '\n' && o.last != -1) fputc('\n', stdout);
        if (fflush(stdout) != 0) rc = cli_fail_stdout();
    }
done:
    rnnc_generator_free(g);
    rnnc_ids_free(&ids);
    rnnc_ids_free(&o.all);
    rnnc_bytes_free(&o.text);
    free(o.out);
    rnnc_tokenizer_free(tok);
    rnnc_lm_free(m);
    free(pfile);
    return rc;
}
