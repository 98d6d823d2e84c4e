/* rnnc classify | tag — predict and eval: apply a trained classifier or tagger to lines of text,
 * or score it on labelled TSV. Training is in cmd_seqtask.c; forecast's in cmd_forecast_use.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/seqtask_cli.h"
#include "core/len_order.h"
#include "rnnc/scores.h"
#include "rnnc/seqdata.h"

/* predict reads this many batches of lines at a time, to run them in batches of like length, and
 * a batch of B rows holds at most PREDICT_ROW_TOKENS * B padded tokens: longer lines run in
 * fewer rows, so that the workspace (every step's gates and states) stays within that many tokens
 * whatever --max-len allows */
enum { PREDICT_CHUNK = 16, PREDICT_ROW_TOKENS = 256 };

/* The rows of a batch whose longest line has len tokens: B, or for a line longer than
 * PREDICT_ROW_TOKENS the largest power of two that keeps rows * len within B * PREDICT_ROW_TOKENS
 * (at least 1). Powers of two keep the distinct workspace shapes few. */
static int rows_for(int B, int len) {
    size_t fit = (size_t)B * PREDICT_ROW_TOKENS / (size_t)(len > 0 ? len : 1);
    if (fit >= (size_t)B) return B;
    int r = 1;
    while ((size_t)r * 2 <= fit) r *= 2;
    return r;
}

/* The next batch of items in order of length, from order[first] (n items in all): as many as
 * rows_for allows for the longest of them. */
static size_t next_batch(const rnnc_len_index *order, size_t first, size_t n, int B) {
    size_t nb = 0;
    while (first + nb < n && nb < (size_t)rows_for(B, order[first + nb].len)) nb++;
    return nb;
}

/* The most padded tokens a batch of next_batch can hold with items of at most T tokens: B * T, or
 * less where the budget binds (then B * PREDICT_ROW_TOKENS, or T for one item longer than that). */
static size_t batch_tokens(int B, int T) {
    size_t all = (size_t)B * (size_t)T, budget = (size_t)B * PREDICT_ROW_TOKENS;
    size_t most = budget > (size_t)T ? budget : (size_t)T;
    return all < most ? all : most;
}

/* A workspace for batches of up to B rows of up to T steps, sized on demand. */
typedef struct { rnnc_seq_ws *ws; int B, T; } sized_ws;

/* Makes w fit a batch of nb rows whose longest item has Tb tokens, where the longest item still
 * to come has longest tokens and --max-len is T: for the batch's row class (rows_for) and,
 * within the token budget, for the longest item to come (a longer one of the same row class at
 * least doubles it), so that batches run shortest first re-make it only where their rows drop.
 * 0 or the CLI's failure code. */
static int ws_fit(sized_ws *w, const rnnc_seq_model *m, int B, int T, int Tb, int longest) {
    int Bc = rows_for(B, Tb);
    /* (a one-direction classifier runs a long text through a workspace of fewer steps, in chunks:
     * rnnc_seq_ws_steps) */
    if (w->ws && rnnc_seq_ws_steps(m, Tb) <= w->T && Bc <= w->B) return 0;
    int lim = (int)(((size_t)B * PREDICT_ROW_TOKENS) / (size_t)Bc), want = longest < lim ? longest : lim;
    if (Bc == w->B && 2 * w->T < lim && want < 2 * w->T) want = 2 * w->T < T ? 2 * w->T : T;
    rnnc_seq_ws_free(w->ws);
    w->ws = NULL;
    w->T = rnnc_seq_ws_steps(m, Tb > want ? Tb : want);
    w->B = Bc;
    if (rnnc_seq_ws_new(&w->ws, m, w->B, w->T) || rnnc_seq_ws_pack(w->ws, m)) return cli_fail_status();
    return 0;
}

static const char HELP_PREDICT[] =
    "usage: rnnc %s predict --model M [options] [INPUT]\n"
    "\n"
    "Reads INPUT (a file, or stdin when absent or '-') one text a line and writes\n"
    "one line per input line, in order: %s\n"
    "An empty line gives an empty line. Without -o the lines go to stdout (from a\n"
    "terminal, each as soon as it is typed); with -o FILE they are written to FILE\n"
    "at the end, atomically. A line on stderr at the end counts the lines and the\n"
    "tokens outside the model's vocabulary.\n"
    "\n"
    "options:\n"
    "  --model M        a model written by rnnc %s train (required)\n"
    "  -o, --output FILE  write to FILE instead of stdout ('-': stdout); not\n"
    "                   the input or the model\n"
    "  --json           one JSON object a line:\n"
    "                   %s\n"
    "  --max-len N      tokens per line (default: the --max-len the model was\n"
    "                   trained with, else 512): %s\n"
    "  --batch B        lines run together (default 64; at most 256 x B tokens a\n"
    "                   batch, so longer lines run fewer at a time); except from\n"
    "                   a terminal, 16 batches of lines are read at a time and run\n"
    "                   in batches of like length, their outputs in input order\n"
    "  --threads N      OpenMP threads (default: OMP_NUM_THREADS)\n"
    "%s";

static const char HELP_EVAL[] =
    "usage: rnnc %s eval --model M --data TEST.tsv [options]\n"
    "\n"
    "Scores the model on TEST.tsv (%s) and prints\n"
    "%s.\n"
    "%s\n"
    "A file with nothing to score is an error, never a perfect score.\n"
    "\n"
    "options:\n"
    "  --model M        a model written by rnnc %s train (required)\n"
    "  --data FILE      the labelled test data (required)\n"
    "  --json           the same numbers as one JSON object (with the whole\n"
    "                   confusion matrix)\n"
    "  --max-len N      tokens per item (default: the model's training --max-len,\n"
    "                   else 512; classify cuts longer texts, tag refuses them)\n"
    "  --skip-bad       leave out bad lines (counted) instead of failing\n"
    "  --skip-long      (tag) leave out items over --max-len (counted)\n"
    "  --batch B        items run together (default 64; at most 256 x B tokens a\n"
    "                   batch, so longer items run fewer at a time)\n"
    "  --threads N      OpenMP threads (default: OMP_NUM_THREADS)\n"
    "%s";

/* tag predict and eval */
static const char HELP_ONE[] =
    "  --exactly-one TAG  exactly one token of each line gets TAG: the most probable\n"
    "                   tagging with one TAG (lexical stress: --exactly-one 1, one\n"
    "                   primary stress a word)\n";

static void help_predict(rnnc_seq_kind k) {
    bool tag = k == RNNC_SEQ_TAG;
    const char *name = rnnc_seq_kind_name(k);
    printf(HELP_PREDICT, name,
           tag ? "the tags, space-separated, one per\ntoken (per character for a char model)."
               : "the label TAB its probability.",
           name, tag ? "{\"tags\": [...], \"probs\": [...]} (each tag's probability)" : "{\"label\": L, \"probs\": {label: p, ...}}",
           tag ? "a longer line is an error" : "longer texts are cut", tag ? HELP_ONE : "");
}

static void help_eval(rnnc_seq_kind k) {
    bool tag = k == RNNC_SEQ_TAG;
    const char *name = rnnc_seq_kind_name(k);
    printf(HELP_EVAL, name, tag ? "tokens TAB tags a line" : "label TAB text a line",
           tag ? "token accuracy, sequence accuracy, per-tag precision/recall/F1 and, when the\ntags are BIO, span F1 (conlleval's rules)"
               : "accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix",
           tag ? "A tag the model does not know is counted and not scored."
               : "An item whose label the model does not know is counted and left out.",
           name, tag ? HELP_ONE : "");
}

typedef struct {
    long batch, max_len, threads;
    bool json, skip_bad, skip_long;
    const char *model, *data, *input, *output;
    const char *one; /* tag: --exactly-one TAG */
} opts;

/* The shared flags of predict and eval; returns 0, a usage exit code, or -1 for help. */
static int parse(const char *mode, bool eval, bool tag, int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->batch = 64;
    o->max_len = 0; /* the model's (cli_seq_load's caller fills it in) */
    if (cli_wants_help(argc, argv)) return -1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(mode, argc, argv, &i, name, &v, &err)
        if (OPT("--model")) { if (err) return err; o->model = v; }
        else if (eval && OPT("--data")) { if (err) return err; o->data = v; }
        else if (!eval && (OPT("-o") || OPT("--output"))) { if (err) return err; o->output = v; }
        else if (OPT("--max-len")) { if (err || !cli_parse_long(mode, "--max-len", v, 1, 1 << 30, &o->max_len)) return err ? err : 2; }
        else if (OPT("--batch")) { if (err || !cli_parse_long(mode, "--batch", v, 1, CLI_BATCH_MAX, &o->batch)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(mode, "--threads", v, 1, 1024, &o->threads)) return err ? err : 2; }
        else if (tag && OPT("--exactly-one")) { if (err) return err; o->one = v; }
        else if (cli_flag(argv, i, "--json")) o->json = true;
        else if (eval && cli_flag(argv, i, "--skip-bad")) o->skip_bad = true;
        else if (eval && cli_flag(argv, i, "--skip-long")) o->skip_long = true;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(mode, "unknown option '%s'", argv[i]);
        else if (eval) return cli_usage_error(mode, "unexpected argument '%s' (the test file goes in --data)", argv[i]);
        else if (o->input) return cli_usage_error(mode, "one input at most (got '%s' and '%s')", o->input, argv[i]);
        else o->input = argv[i];
#undef OPT
    }
    if (!o->model) return cli_usage_error(mode, "--model M is required");
    if (eval && !o->data) return cli_usage_error(mode, "--data TEST.tsv is required");
    int rc = cli_output_ok(mode, "-o", &o->output, true, (const char *const[]){o->model, o->input ? o->input : "-"}, 2);
    if (rc) return rc;
    if (o->threads) omp_set_num_threads((int)o->threads);
    return 0;
}

/* --exactly-one's tag id (-1 without the flag), or a usage error naming the flag and the tags. */
static int one_tag(const char *mode, const opts *o, const rnnc_seq_model *m, int *id) {
    *id = -1;
    if (!o->one) return 0;
    if ((*id = rnnc_seq_label_id(m, o->one)) >= 0 && m->n_labels >= 2) return 0;
    char list[512] = "";
    size_t at = 0;
    for (int i = 0; i < m->n_labels && at + 8 < sizeof list; i++) {
        int k = snprintf(list + at, sizeof list - at, "%s'%s'", i ? ", " : "", m->labels[i]);
        if (k < 0 || (size_t)k >= sizeof list - at) { snprintf(list + at, sizeof list - at, ", ..."); break; }
        at += (size_t)k;
    }
    if (*id >= 0) return cli_usage_error(mode, "--exactly-one: the model has one tag only (%s)", list);
    return cli_usage_error(mode, "--exactly-one: '%s' is not a tag of %s (its tags: %s)", o->one, o->model, list);
}

static void softmax(const float *z, int C, double *p) {
    float mx = z[0];
    for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
    double s = 0;
    for (int c = 0; c < C; c++) s += p[c] = exp((double)z[c] - mx);
    for (int c = 0; c < C; c++) p[c] /= s;
}

static int argmax(const double *p, int C) {
    int b = 0;
    for (int c = 1; c < C; c++)
        if (p[c] > p[b]) b = c;
    return b;
}

/* Writes the predictions of the items of d (one per line) to fp; empty[i] lines get an empty line. */
static int write_batch(FILE *fp, const rnnc_seq_model *m, const rnnc_seq_batch *b, const float *out, bool json, double *p,
                       int one, int *pred) {
    int C = m->c.outputs;
    bool tag = m->c.kind == RNNC_SEQ_TAG;
    for (int r = 0; r < b->B; r++) {
        if (!tag) {
            softmax(out + (size_t)r * C, C, p);
            int best = argmax(p, C);
            if (!json) {
                fprintf(fp, "%s\t%.4f\n", m->labels[best], p[best]);
                continue;
            }
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "label", m->labels[best]);
            cJSON *probs = cJSON_AddObjectToObject(j, "probs");
            for (int c = 0; c < C; c++) cJSON_AddNumberToObject(probs, m->labels[c], round(p[c] * 1e6) / 1e6);
            char *s = cJSON_PrintUnformatted(j);
            if (!s) { cJSON_Delete(j); return cli_fail("out of memory"); }
            fprintf(fp, "%s\n", s);
            free(s);
            cJSON_Delete(j);
            continue;
        }
        cJSON *j = json ? cJSON_CreateObject() : NULL, *tags = json ? cJSON_AddArrayToObject(j, "tags") : NULL,
              *probs = json ? cJSON_AddArrayToObject(j, "probs") : NULL;
        rnnc_tag_decode(out + (size_t)r * b->T * C, b->lengths[r], C, one, pred);
        for (int t = 0; t < b->lengths[r]; t++) {
            softmax(out + ((size_t)r * b->T + t) * C, C, p);
            int best = pred[t];
            if (json) {
                cJSON_AddItemToArray(tags, cJSON_CreateString(m->labels[best]));
                cJSON_AddItemToArray(probs, cJSON_CreateNumber(round(p[best] * 1e6) / 1e6));
            } else {
                fprintf(fp, "%s%s", t ? " " : "", m->labels[best]);
            }
        }
        if (json) {
            char *s = cJSON_PrintUnformatted(j);
            if (!s) { cJSON_Delete(j); return cli_fail("out of memory"); }
            fprintf(fp, "%s", s);
            free(s);
            cJSON_Delete(j);
        }
        fputc('\n', fp);
    }
    return 0;
}

int cmd_seqtask_predict(rnnc_seq_kind kind, int argc, char **argv) {
    char mode[64];
    snprintf(mode, sizeof mode, "%s predict", rnnc_seq_kind_name(kind));
    opts o;
    int rc = parse(mode, false, kind == RNNC_SEQ_TAG, argc, argv, &o);
    if (rc < 0) { help_predict(kind); return 0; }
    if (rc) return rc;
    rnnc_seq_model *m = NULL;
    if ((rc = cli_seq_load(kind, o.model, &m))) return rc;
    int one = -1;
    if ((rc = one_tag(mode, &o, m, &one))) { rnnc_seq_model_free(m); return rc; }
    if (!o.max_len) o.max_len = m->c.max_len ? m->c.max_len : RNNC_SEQ_DEFAULT_MAX_LEN;
    bool from_stdin = !o.input || !strcmp(o.input, "-"), tag = kind == RNNC_SEQ_TAG;
    const char *in_name = from_stdin ? "stdin" : o.input;
    FILE *in = from_stdin ? stdin : fopen(o.input, "r");
    if (!in) {
        int e = errno;
        rnnc_seq_model_free(m);
        return cli_fail("%s: cannot open: %s", o.input, strerror(e));
    }
    /* from a terminal, each line is answered as it is typed; otherwise lines are read a chunk of
     * PREDICT_CHUNK batches at a time and run in batches of like length (a batch's products run
     * over every padded position, and texts of ten and a thousand tokens side by side cost a
     * thousand each), their outputs put back in the input's order */
    int B = from_stdin && isatty(0) ? 1 : (int)o.batch, C = m->c.outputs, T = (int)o.max_len;
    size_t CH = B == 1 ? 1 : (size_t)B * PREDICT_CHUNK;
    rnnc_atomic_file af = {0};
    FILE *fp = stdout;
    if (o.output) {
        if (rnnc_atomic_open(&af, o.output)) { rc = cli_fail_status(); goto done; }
        fp = af.fp;
    }
    rnnc_seq_data d = {0};
    size_t BT = batch_tokens(B, T); /* the ids (and tag outputs) of a batch */
    uint32_t *ids = malloc(BT * sizeof *ids);
    int *lens = malloc((size_t)B * sizeof *lens);
    size_t *ex = malloc((size_t)B * sizeof *ex);
    float *out = malloc((tag ? BT : (size_t)B) * C * sizeof *out);
    double *p = malloc((size_t)C * sizeof *p);
    int *pred = malloc((size_t)T * sizeof *pred);
    char *line = NULL, *text = NULL; /* text: the chunk's outputs, in the order they were made */
    size_t cap = 0, lines = 0, tokens = 0, unknown = 0, cut = 0, text_size = 0;
    rnnc_ids tok = {0};
    /* the chunk's items: empties_before[k] empty lines before item k (after the last for k = n);
     * its output text[span[k] .. span[k + 1]) where order puts item k at position span_at[k] */
    int *empties_before = malloc((CH + 1) * sizeof *empties_before);
    size_t *span = malloc((CH + 1) * sizeof *span), *span_at = malloc(CH * sizeof *span_at);
    rnnc_len_index *order = malloc(CH * sizeof *order);
    FILE *ms = open_memstream(&text, &text_size);
    if (!ids || !lens || !ex || !out || !p || !pred || !empties_before || !span || !span_at || !order || !ms ||
        !(d.ids = calloc(CH, sizeof *d.ids)) || !(d.len = calloc(CH, sizeof *d.len))) {
        rc = cli_fail("out of memory");
    }
    sized_ws sw = {0};
    bool eof = false;
    while (!rc && !eof) {
        size_t n = 0;
        memset(empties_before, 0, (CH + 1) * sizeof *empties_before);
        while (n < CH) {
            ssize_t k = getline(&line, &cap, in);
            if (k < 0) { eof = true; break; }
            lines++;
            while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r')) k--;
            tok.len = 0;
            size_t unk = 0;
            if (rnnc_s2s_encode_ex(&m->vocab, line, (size_t)k, false, &tok, &unk)) { rc = cli_fail("%s:%zu: %s", in_name, lines, rnnc_last_error()); break; }
            if (tok.len == 0) { empties_before[n]++; continue; }
            /* (counted before any cut: the unknown share is of the tokens the text has) */
            tokens += tok.len;
            unknown += unk;
            if (tok.len > (size_t)T) {
                if (tag) { rc = cli_fail("%s:%zu: %zu tokens, more than --max-len %d", in_name, lines, tok.len, T); break; }
                tok.len = (size_t)T;
                cut++;
            }
            free(d.ids[n]);
            if (!(d.ids[n] = malloc(tok.len * sizeof(uint32_t)))) { rc = cli_fail("out of memory"); break; }
            memcpy(d.ids[n], tok.data, tok.len * sizeof(uint32_t));
            d.len[n] = (int)tok.len;
            n++;
        }
        if (rc) break;
        d.n = n;
        rnnc_len_order(order, d.len, n);
        rewind(ms);
        for (size_t first = 0, nb; first < n && !rc; first += nb) {
            /* a batch: the next lines in order of length, at most B of them and at most
             * PREDICT_ROW_TOKENS * B padded tokens; the workspace fitted to it */
            nb = next_batch(order, first, n, B);
            for (size_t k = 0; k < nb; k++) ex[k] = order[first + k].i;
            rnnc_seq_batch b = {0};
            rnnc_seq_data_batch(&d, kind, ex, (int)nb, ids, lens, NULL, &b);
            if ((rc = ws_fit(&sw, m, B, T, b.T, order[n - 1].len))) break;
            if (rnnc_seq_forward_backward(sw.ws, m, &b, NULL, NULL, 1, NULL, out, NULL, NULL)) { rc = cli_fail_status(); break; }
            for (size_t k = 0; k < nb && !rc; k++) {
                rnnc_seq_batch item = b;
                item.B = 1;
                item.lengths = lens + k;
                span[first + k] = (size_t)ftell(ms);
                span_at[ex[k]] = first + k;
                rc = write_batch(ms, m, &item, out + k * (tag ? (size_t)b.T : 1) * C, o.json, p, one, pred);
            }
        }
        span[n] = (size_t)ftell(ms);
        if (!rc && fflush(ms)) rc = cli_fail("out of memory");
        for (size_t k = 0; k <= n && !rc; k++) {
            for (int e = 0; e < empties_before[k]; e++) fputc('\n', fp);
            if (k == n) break;
            size_t at = span_at[k];
            fwrite(text + span[at], 1, span[at + 1] - span[at], fp);
        }
        if (fp == stdout) fflush(stdout);
    }
    if (!rc && ferror(in)) rc = cli_fail("reading %s: %s", in_name, strerror(errno));
    if (o.output) {
        if (rc) rnnc_atomic_abort(&af);
        else if (rnnc_atomic_commit(&af)) rc = cli_fail_status();
    } else if (!rc && (fflush(stdout) || ferror(stdout))) {
        rc = cli_fail_stdout();
    }
    if (!rc && (!from_stdin || o.output || unknown > 0 || cut > 0)) {
        char cut_note[64] = "";
        if (cut) snprintf(cut_note, sizeof cut_note, ", %zu text%s cut to --max-len %d", cut, cut == 1 ? "" : "s", T);
        fprintf(stderr, "predict: %zu line%s, %zu unknown token%s (%.1f%% of %zu)%s%s%s\n", lines, lines == 1 ? "" : "s", unknown,
                unknown == 1 ? "" : "s", tokens ? 100.0 * (double)unknown / (double)tokens : 0.0, tokens, cut_note,
                o.output ? "; wrote " : "", o.output ? o.output : "");
    }
    rnnc_seq_ws_free(sw.ws);
    for (size_t i = 0; d.ids && i < CH; i++) free(d.ids[i]);
    free(d.ids); free(d.len);
    free(ids); free(lens); free(ex); free(out); free(p); free(pred); free(line); free(empties_before);
    free(span); free(span_at); free(order);
    if (ms) fclose(ms);
    free(text);
    rnnc_ids_free(&tok);
done:
    if (!from_stdin) fclose(in);
    rnnc_seq_model_free(m);
    return rc;
}

int cmd_seqtask_eval(rnnc_seq_kind kind, int argc, char **argv) {
    char mode[64];
    snprintf(mode, sizeof mode, "%s eval", rnnc_seq_kind_name(kind));
    opts o;
    int rc = parse(mode, true, kind == RNNC_SEQ_TAG, argc, argv, &o);
    if (rc < 0) { help_eval(kind); return 0; }
    if (rc) return rc;
    if (kind == RNNC_SEQ_CLASSIFY && o.skip_long)
        fprintf(stderr, "rnnc %s: warning: --skip-long is ignored: classify cuts a text longer than --max-len instead\n", mode);
    rnnc_seq_model *m = NULL;
    if ((rc = cli_seq_load(kind, o.model, &m))) return rc;
    int one = -1;
    if ((rc = one_tag(mode, &o, m, &one))) { rnnc_seq_model_free(m); return rc; }
    if (!o.max_len) o.max_len = m->c.max_len ? m->c.max_len : RNNC_SEQ_DEFAULT_MAX_LEN;
    bool tag = kind == RNNC_SEQ_TAG;
    int C = m->c.outputs, B = (int)o.batch;
    rnnc_seq_data d = {0};
    rnnc_seq_read_opts ro = {.kind = kind, .max_len = (int)o.max_len, .skip_bad = o.skip_bad, .skip_long = o.skip_long};
    rnnc_confusion cm = {0};
    rnnc_tag_score ts = {0};
    const char *const *names = (const char *const *)m->labels;
    double t0 = cli_now();
    if (rnnc_seq_data_read(&d, o.data, &ro, &m->vocab, names, m->n_labels) ||
        (tag ? rnnc_tag_score_init(&ts, names, C) : rnnc_confusion_init(&cm, C))) {
        rnnc_seq_model_free(m);
        rnnc_seq_data_free(&d);
        return cli_fail_status();
    }
    int T = 1;
    for (size_t i = 0; i < d.n; i++) T = d.len[i] > T ? d.len[i] : T;
    size_t BT = batch_tokens(B, T); /* the ids (and tag outputs) of a batch */
    uint32_t *ids = malloc(BT * sizeof *ids);
    int *lens = malloc((size_t)B * sizeof *lens), *pred = malloc((size_t)T * sizeof *pred);
    size_t *ex = malloc((size_t)B * sizeof *ex);
    float *out = malloc((tag ? BT : (size_t)B) * C * sizeof *out);
    if (!ids || !lens || !pred || !ex || !out) rc = cli_fail("out of memory");
    /* batches of items of like length (the scores are sums, so the order changes none of them):
     * the input projections run over every padded position of a batch; at most B items and
     * PREDICT_ROW_TOKENS * B padded tokens a batch, as in predict, with the workspace fitted */
    rnnc_len_index *order = rc ? NULL : malloc((d.n ? d.n : 1) * sizeof *order);
    if (!rc && !order) rc = cli_fail("out of memory");
    if (!rc) rnnc_len_order(order, d.len, d.n);
    sized_ws sw = {0};
    cli_progress bar; /* on a terminal: the items scored so far (a large test set takes a while) */
    cli_progress_start(&bar, "eval", (double)d.n);
    for (size_t first = 0, n; !rc && first < d.n; first += n) {
        if (first) {
            char rate[48];
            double el = cli_now() - bar.start;
            snprintf(rate, sizeof rate, "%.0f items/s", el > 0 ? (double)first / el : 0.0);
            cli_progress_update(&bar, (double)first, rate);
        }
        n = next_batch(order, first, d.n, B);
        for (size_t k = 0; k < n; k++) ex[k] = order[first + k].i;
        rnnc_seq_batch b;
        rnnc_seq_data_batch(&d, kind, ex, (int)n, ids, lens, NULL, &b);
        if ((rc = ws_fit(&sw, m, B, T, b.T, order[d.n - 1].len))) break;
        if (rnnc_seq_forward_backward(sw.ws, m, &b, NULL, NULL, 1, NULL, out, NULL, NULL)) { rc = cli_fail_status(); break; }
        for (size_t k = 0; k < n && !rc; k++) {
            size_t i = ex[k];
            rnnc_status s;
            if (tag) {
                rnnc_tag_decode(out + k * b.T * C, d.len[i], C, one, pred);
                s = rnnc_tag_score_add(&ts, d.tags[i], pred, (size_t)d.len[i]);
            } else {
                const float *z = out + k * C;
                int best = 0;
                for (int c = 1; c < C; c++) best = z[c] > z[best] ? c : best;
                s = rnnc_confusion_add(&cm, d.label[i], best);
            }
            if (s) rc = cli_fail_status();
        }
    }
    cli_progress_finish(&bar);
    if (!rc && (tag ? ts.tokens.total : cm.total) == 0)
        rc = cli_fail("%s: nothing to score (every %s is unknown to the model)", o.data, tag ? "tag" : "label");
    if (!rc) {
        if (o.json) {
            cJSON *j = NULL;
            if (tag ? rnnc_tag_scores_json(names, &ts, &j) : rnnc_scores_json(names, &cm, &j)) rc = cli_fail_status();
            else {
                cJSON_AddNumberToObject(j, "skipped_bad", (double)d.skipped_bad);
                cJSON_AddNumberToObject(j, "skipped_long", (double)d.skipped_long);
                cJSON_AddNumberToObject(j, "unknown_labels", (double)d.unknown_labels);
                rc = cli_print_json(j);
            }
        } else {
            printf("%s: %zu item%s (skipped %zu bad, %zu long; %zu cut to --max-len), %zu tokens, %.2f%% unknown (%.1fs)\n", o.data, d.n,
                   d.n == 1 ? "" : "s", d.skipped_bad, d.skipped_long, d.truncated, d.tokens, d.tokens ? 100.0 * (double)d.unk_tokens / (double)d.tokens : 0.0,
                   cli_now() - t0);
            if (d.unknown_labels)
                printf("%zu %s the model does not know, %s (the first at line %zu: '%s')\n", d.unknown_labels,
                       tag ? (d.unknown_labels == 1 ? "tag" : "tags") : (d.unknown_labels == 1 ? "item with a label" : "items with labels"),
                       tag ? "not scored" : "left out", d.unknown_label_line, d.unknown_label);
            if (tag ? rnnc_tag_scores_report(stdout, names, &ts) : rnnc_scores_report(stdout, names, &cm)) rc = cli_fail_status();
        }
    }
    free(ids); free(lens); free(pred); free(ex); free(out); free(order);
    rnnc_seq_ws_free(sw.ws);
    if (tag) rnnc_tag_score_free(&ts);
    else rnnc_confusion_free(&cm);
    rnnc_seq_data_free(&d);
    rnnc_seq_model_free(m);
    return rc;
}
