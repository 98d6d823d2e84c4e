/* Evaluation scores of the classify and tag tasks; see include/rnnc/scores.h. */
#include "rnnc/scores.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/utf8.h"

/* a / b, 0 when b is 0 (scikit-learn's zero_division=0, conlleval's convention). */
static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

rnnc_prf rnnc_prf_of(size_t tp, size_t predicted, size_t support) {
    rnnc_prf r;
    r.tp = tp;
    r.predicted = predicted;
    r.support = support;
    r.precision = ratio((double)tp, (double)predicted);
    r.recall = ratio((double)tp, (double)support);
    /* 2 tp / (support + predicted): the harmonic mean of precision and recall where both are
     * defined, 0 where tp is 0 (as scikit-learn computes it since 1.3). */
    r.f1 = ratio(2.0 * (double)tp, (double)support + (double)predicted);
    return r;
}

/* ---- confusion matrix ---- */

rnnc_status rnnc_confusion_init(rnnc_confusion *cm, int n_classes) {
    memset(cm, 0, sizeof *cm);
    if (n_classes < 1) return rnnc_error(RNNC_ERR_ARG, "confusion matrix: %d classes (need at least 1)", n_classes);
    cm->counts = calloc((size_t)n_classes * (size_t)n_classes, sizeof *cm->counts);
    if (!cm->counts)
        return rnnc_error(RNNC_ERR_NOMEM, "confusion matrix: out of memory for %d x %d counts", n_classes, n_classes);
    cm->n_classes = n_classes;
    return RNNC_OK;
}

rnnc_status rnnc_confusion_add(rnnc_confusion *cm, int truth, int pred) {
    int C = cm->n_classes;
    if (truth < 0 || truth >= C || pred < 0 || pred >= C)
        return rnnc_error(RNNC_ERR_RANGE, "confusion matrix: class pair (truth %d, prediction %d) outside [0, %d)",
                          truth, pred, C);
    cm->counts[(size_t)truth * (size_t)C + (size_t)pred]++;
    cm->total++;
    return RNNC_OK;
}

void rnnc_confusion_free(rnnc_confusion *cm) {
    if (!cm) return;
    free(cm->counts);
    memset(cm, 0, sizeof *cm);
}

static size_t row_sum(const rnnc_confusion *cm, int t) {
    size_t s = 0, C = (size_t)cm->n_classes;
    for (size_t p = 0; p < C; p++) s += cm->counts[(size_t)t * C + p];
    return s;
}

static size_t col_sum(const rnnc_confusion *cm, int p) {
    size_t s = 0, C = (size_t)cm->n_classes;
    for (size_t t = 0; t < C; t++) s += cm->counts[t * C + (size_t)p];
    return s;
}

double rnnc_confusion_accuracy(const rnnc_confusion *cm) {
    size_t right = 0, C = (size_t)cm->n_classes;
    for (size_t c = 0; c < C; c++) right += cm->counts[c * C + c];
    return ratio((double)right, (double)cm->total);
}

rnnc_prf rnnc_confusion_class(const rnnc_confusion *cm, int c) {
    size_t C = (size_t)cm->n_classes;
    return rnnc_prf_of(cm->counts[(size_t)c * C + (size_t)c], col_sum(cm, c), row_sum(cm, c));
}

bool rnnc_confusion_present(const rnnc_confusion *cm, int c) { return row_sum(cm, c) + col_sum(cm, c) > 0; }

double rnnc_confusion_macro_f1(const rnnc_confusion *cm) {
    double sum = 0;
    size_t present = 0;
    for (int c = 0; c < cm->n_classes; c++) {
        rnnc_prf r = rnnc_confusion_class(cm, c);
        if (r.support + r.predicted == 0) continue;
        sum += r.f1;
        present++;
    }
    return ratio(sum, (double)present);
}

double rnnc_confusion_weighted_f1(const rnnc_confusion *cm) {
    double sum = 0;
    for (int c = 0; c < cm->n_classes; c++) {
        rnnc_prf r = rnnc_confusion_class(cm, c);
        sum += r.f1 * (double)r.support;
    }
    return ratio(sum, (double)cm->total);
}

/* ---- BIO spans ---- */

/* 'O', 'B' or 'I' for a well-formed name (then *type points at the type after "B-"/"I-"), else 0. */
static int tag_kind(const char *name, const char **type) {
    *type = NULL;
    if (!name) return 0;
    if (strcmp(name, "O") == 0) return 'O';
    if ((name[0] == 'B' || name[0] == 'I') && name[1] == '-') {
        *type = name + 2;
        return name[0];
    }
    return 0;
}

bool rnnc_tags_are_bio(const char *const *names, int n_tags) {
    if (!names || n_tags < 1) return false;
    bool any_b = false;
    for (int i = 0; i < n_tags; i++) {
        const char *type;
        int k = tag_kind(names[i], &type);
        if (!k) return false;
        any_b |= k == 'B';
    }
    return any_b;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

rnnc_status rnnc_spans_init(rnnc_spans *s, const char *const *names, int n_tags) {
    memset(s, 0, sizeof *s);
    if (!names || n_tags < 1) return rnnc_error(RNNC_ERR_ARG, "span scores: no tag names");
    for (int i = 0; i < n_tags; i++) {
        const char *type;
        if (!tag_kind(names[i], &type))
            return rnnc_error(RNNC_ERR_ARG, "span scores: tag %d (\"%.40s\") is not O, B-TYPE or I-TYPE", i,
                              names[i] ? names[i] : "(null)");
    }
    s->n_tags = n_tags;
    s->kind = malloc((size_t)n_tags);
    s->type = malloc((size_t)n_tags * sizeof *s->type);
    s->types = calloc((size_t)n_tags, sizeof *s->types);
    if (!s->kind || !s->type || !s->types) goto nomem;
    /* The distinct types, sorted, then each tag's index among them. */
    for (int i = 0; i < n_tags; i++) {
        const char *type;
        s->kind[i] = (signed char)tag_kind(names[i], &type);
        if (!type) continue;
        int seen = 0;
        for (int j = 0; j < s->n_types && !seen; j++) seen = strcmp(s->types[j], type) == 0;
        if (seen) continue;
        if (!(s->types[s->n_types] = strdup(type))) goto nomem;
        s->n_types++;
    }
    qsort(s->types, (size_t)s->n_types, sizeof *s->types, cmp_str);
    for (int i = 0; i < n_tags; i++) {
        const char *type;
        tag_kind(names[i], &type);
        s->type[i] = -1;
        for (int j = 0; type && j < s->n_types; j++)
            if (strcmp(s->types[j], type) == 0) s->type[i] = j;
    }
    size_t nt = s->n_types > 0 ? (size_t)s->n_types : 1;
    s->correct = calloc(nt, sizeof *s->correct);
    s->predicted = calloc(nt, sizeof *s->predicted);
    s->truth = calloc(nt, sizeof *s->truth);
    if (!s->correct || !s->predicted || !s->truth) goto nomem;
    return RNNC_OK;
nomem:
    rnnc_spans_free(s);
    return rnnc_error(RNNC_ERR_NOMEM, "span scores: out of memory for %d tags", n_tags);
}

/* The open span of one side while the steps are read: its type (-1: none) and start. */
typedef struct {
    int type;
    size_t start;
} open_span;

/* Reads the tag at step i (-1: O); returns whether the span open before step i ends there, and
 * updates the open span. */
static bool span_step(const rnnc_spans *s, open_span *o, int tag, size_t i, open_span *closed) {
    int kind = tag < 0 ? 'O' : s->kind[tag], type = tag < 0 ? -1 : s->type[tag];
    bool continues = kind == 'I' && o->type >= 0 && o->type == type;
    bool ends = o->type >= 0 && !continues;
    *closed = *o;
    if (ends) o->type = -1;
    if (kind != 'O' && !continues) {
        o->type = type;
        o->start = i;
    }
    return ends;
}

rnnc_status rnnc_spans_add(rnnc_spans *s, const int *truth, const int *pred, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (truth[i] >= 0 && (truth[i] >= s->n_tags || pred[i] < 0 || pred[i] >= s->n_tags))
            return rnnc_error(RNNC_ERR_RANGE, "span scores: step %zu: tag pair (truth %d, prediction %d) outside [0, %d)",
                              i, truth[i], pred[i], s->n_tags);
    open_span ot = {-1, 0}, op = {-1, 0};
    /* Step n is an O after the end, which closes what is open. */
    for (size_t i = 0; i <= n; i++) {
        int t = i < n ? truth[i] : -1, p = i < n && truth[i] >= 0 ? pred[i] : -1;
        open_span ct, cp;
        bool et = span_step(s, &ot, t, i, &ct), ep = span_step(s, &op, p, i, &cp);
        if (et) s->truth[ct.type]++;
        if (ep) s->predicted[cp.type]++;
        if (et && ep && ct.type == cp.type && ct.start == cp.start) s->correct[ct.type]++;
    }
    return RNNC_OK;
}

rnnc_prf rnnc_spans_total(const rnnc_spans *s) {
    size_t c = 0, p = 0, t = 0;
    for (int j = 0; j < s->n_types; j++) {
        c += s->correct[j];
        p += s->predicted[j];
        t += s->truth[j];
    }
    return rnnc_prf_of(c, p, t);
}

rnnc_prf rnnc_spans_type(const rnnc_spans *s, int t) {
    return rnnc_prf_of(s->correct[t], s->predicted[t], s->truth[t]);
}

void rnnc_spans_free(rnnc_spans *s) {
    if (!s) return;
    if (s->types)
        for (int j = 0; j < s->n_types; j++) free(s->types[j]);
    free(s->types);
    free(s->kind);
    free(s->type);
    free(s->correct);
    free(s->predicted);
    free(s->truth);
    memset(s, 0, sizeof *s);
}

/* ---- tagging ---- */

rnnc_status rnnc_tag_score_init(rnnc_tag_score *t, const char *const *names, int n_tags) {
    memset(t, 0, sizeof *t);
    rnnc_status rc = rnnc_confusion_init(&t->tokens, n_tags);
    if (rc) return rc;
    if (rnnc_tags_are_bio(names, n_tags)) {
        if ((rc = rnnc_spans_init(&t->spans, names, n_tags))) {
            rnnc_confusion_free(&t->tokens);
            return rc;
        }
        t->has_spans = true;
    }
    return RNNC_OK;
}

rnnc_status rnnc_tag_score_add(rnnc_tag_score *t, const int *truth, const int *pred, size_t n) {
    int C = t->tokens.n_classes;
    for (size_t i = 0; i < n; i++)
        if (truth[i] >= 0 && (truth[i] >= C || pred[i] < 0 || pred[i] >= C))
            return rnnc_error(RNNC_ERR_RANGE, "tag scores: step %zu: tag pair (truth %d, prediction %d) outside [0, %d)",
                              i, truth[i], pred[i], C);
    size_t scored = 0, right = 0;
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0) continue;
        scored++;
        right += truth[i] == pred[i];
        t->tokens.counts[(size_t)truth[i] * (size_t)C + (size_t)pred[i]]++;
        t->tokens.total++;
    }
    if (scored > 0) {
        t->seqs++;
        t->seqs_correct += right == scored;
    }
    /* The ids are checked (the spans check the same ones), so this cannot fail half-way. */
    return t->has_spans ? rnnc_spans_add(&t->spans, truth, pred, n) : RNNC_OK;
}

double rnnc_tag_score_seq_accuracy(const rnnc_tag_score *t) { return ratio((double)t->seqs_correct, (double)t->seqs); }

void rnnc_tag_score_free(rnnc_tag_score *t) {
    if (!t) return;
    rnnc_confusion_free(&t->tokens);
    if (t->has_spans) rnnc_spans_free(&t->spans);
    memset(t, 0, sizeof *t);
}

/* ---- text report ---- */

/* A label as shown in at most `width` columns: names[c] (or c), one column per code point, bytes
 * that are not printable UTF-8 shown as '?', cut to width - 1 columns and '~' when longer. Returns
 * the columns used; buf holds at least 4 * width + 1 bytes. */
static int shown_label(const char *const *names, int c, int width, char *buf) {
    char num[16];
    const char *name = names && names[c] ? names[c] : (snprintf(num, sizeof num, "%d", c), num);
    const unsigned char *u = (const unsigned char *)name;
    size_t n = strlen(name), at = 0, len = 0;
    int cols = 0, total = 0;
    /* The name's full width first, so a cut can leave room for the '~'. */
    for (size_t i = 0; i < n; total++) {
        uint32_t cp;
        int k = rnnc_utf8_decode(u + i, n - i, &cp);
        i += k > 0 ? (size_t)k : 1;
    }
    int keep = total <= width ? total : width - 1;
    while (at < n && cols < keep) {
        uint32_t cp;
        int k = rnnc_utf8_decode(u + at, n - at, &cp);
        if (k <= 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            buf[len++] = '?';
            at += k > 0 ? (size_t)k : 1;
        } else {
            memcpy(buf + len, u + at, (size_t)k);
            len += (size_t)k;
            at += (size_t)k;
        }
        cols++;
    }
    if (total > width && width > 0) {
        buf[len++] = '~';
        cols++;
    }
    buf[len] = 0;
    return cols;
}

/* Prints a label in a cell of `width` columns, left- or right-aligned. */
static void put_label(FILE *fp, const char *const *names, int c, int width, bool right) {
    char buf[4 * 64 + 1];
    if (width > 64) width = 64;
    int cols = shown_label(names, c, width, buf);
    if (right) fprintf(fp, "%*s%s", width - cols, "", buf);
    else fprintf(fp, "%s%*s", buf, width - cols, "");
}

static int digits(size_t v) {
    int d = 1;
    while (v >= 10) { v /= 10; d++; }
    return d;
}

/* Widths of a table of a name column, three scores and k counts up to max_count. */
typedef struct {
    int name, count;
} table_widths;

static table_widths widths_for(int k, size_t max_count) {
    table_widths w;
    w.count = digits(max_count) + 1;
    if (w.count < 10) w.count = 10;
    w.name = RNNC_SCORES_WIDTH - 2 - 3 * 10 - k * w.count;
    if (w.name > 24) w.name = 24;
    if (w.name < 8) w.name = 8;
    return w;
}

static void class_table(FILE *fp, const char *const *names, const rnnc_confusion *cm, const char *what) {
    size_t max_count = cm->total;
    table_widths w = widths_for(2, max_count);
    bool absent = false;
    fprintf(fp, "%-*s%10s%10s%10s%*s%*s\n", w.name, what, "precision", "recall", "F1", w.count, "support", w.count,
            "predicted");
    for (int c = 0; c < cm->n_classes; c++) {
        rnnc_prf r = rnnc_confusion_class(cm, c);
        put_label(fp, names, c, w.name, false);
        if (r.support + r.predicted == 0) {
            fprintf(fp, "%10s%10s%10s%*zu%*zu\n", "-", "-", "-", w.count, r.support, w.count, r.predicted);
            absent = true;
        } else {
            fprintf(fp, "%10.4f%10.4f%10.4f%*zu%*zu\n", r.precision, r.recall, r.f1, w.count, r.support, w.count,
                    r.predicted);
        }
    }
    if (absent) fprintf(fp, "(-: in neither truth nor prediction, left out of macro-F1)\n");
}

/* The confusion matrix when it fits the width, else a line saying where it is. */
static void matrix(FILE *fp, const char *const *names, const rnnc_confusion *cm) {
    int C = cm->n_classes;
    size_t max_count = 0;
    int max_name = 0;
    for (size_t i = 0; i < (size_t)C * (size_t)C; i++)
        if (cm->counts[i] > max_count) max_count = cm->counts[i];
    for (int c = 0; c < C; c++) {
        char buf[4 * 64 + 1];
        int cols = shown_label(names, c, 64, buf);
        if (cols > max_name) max_name = cols;
    }
    int d = digits(max_count);
    /* Row labels up to 16 columns (down to 8 when the counts need the room), then C columns of
     * one space and at least d characters each. */
    int rows_w = max_name < 5 ? 5 : max_name > 16 ? 16 : max_name;
    if (rows_w > 8 && rows_w + C * (d + 1) > RNNC_SCORES_WIDTH) rows_w = 8;
    if (C > RNNC_SCORES_MAX_MATRIX || rows_w + C * (d + 1) > RNNC_SCORES_WIDTH) {
        fprintf(fp, "confusion matrix: %d classes, too wide for %d columns; see the JSON report\n", C,
                RNNC_SCORES_WIDTH);
        return;
    }
    /* Characters of a column, the space not counted: room for the longest name (at least 3, at
     * most 12), never less than the counts need. */
    int col_w = (RNNC_SCORES_WIDTH - rows_w) / C - 1;
    int want = max_name < 3 ? 3 : max_name > 12 ? 12 : max_name;
    if (want < d) want = d;
    if (col_w > want) col_w = want;
    fprintf(fp, "confusion matrix (rows: truth, columns: prediction)\n%*s", rows_w, "");
    for (int p = 0; p < C; p++) {
        fputc(' ', fp);
        put_label(fp, names, p, col_w, true);
    }
    fputc('\n', fp);
    for (int t = 0; t < C; t++) {
        put_label(fp, names, t, rows_w, false);
        for (int p = 0; p < C; p++) fprintf(fp, " %*zu", col_w, cm->counts[(size_t)t * (size_t)C + (size_t)p]);
        fputc('\n', fp);
    }
}

static void overall(FILE *fp, const rnnc_confusion *cm, const char *accuracy_name) {
    size_t right = 0, C = (size_t)cm->n_classes;
    int present = 0;
    for (size_t c = 0; c < C; c++) {
        right += cm->counts[c * C + c];
        present += rnnc_confusion_present(cm, (int)c);
    }
    fprintf(fp, "%s: %.4f (%zu of %zu)\n", accuracy_name, rnnc_confusion_accuracy(cm), right, cm->total);
    fprintf(fp, "macro-F1: %.4f (mean over the %d of %zu labels in truth or prediction)\n",
            rnnc_confusion_macro_f1(cm), present, C);
    fprintf(fp, "weighted-F1: %.4f (weighted by support)\n", rnnc_confusion_weighted_f1(cm));
}

static rnnc_status report_done(FILE *fp) {
    if (fflush(fp) != 0 || ferror(fp)) return rnnc_error_errno(RNNC_ERR_IO, "writing the score report failed");
    return RNNC_OK;
}

rnnc_status rnnc_scores_report(FILE *fp, const char *const *names, const rnnc_confusion *cm) {
    if (cm->total == 0) {
        fprintf(fp, "items: 0 (nothing to score: accuracy and F1 are reported as 0)\n");
        return report_done(fp);
    }
    fprintf(fp, "items: %zu\n", cm->total);
    overall(fp, cm, "accuracy");
    fputc('\n', fp);
    class_table(fp, names, cm, "class");
    fputc('\n', fp);
    matrix(fp, names, cm);
    return report_done(fp);
}

static void span_table(FILE *fp, const rnnc_spans *s) {
    rnnc_prf all = rnnc_spans_total(s);
    table_widths w = widths_for(3, all.support > all.predicted ? all.support : all.predicted);
    fprintf(fp, "spans (conlleval): %zu true, %zu predicted, %zu correct\n", all.support, all.predicted, all.tp);
    fprintf(fp, "%-*s%10s%10s%10s%*s%*s%*s\n", w.name, "span type", "precision", "recall", "F1", w.count, "true",
            w.count, "predicted", w.count, "correct");
    for (int j = -1; j < s->n_types; j++) {
        rnnc_prf r = j < 0 ? all : rnnc_spans_type(s, j);
        if (j < 0) fprintf(fp, "%-*s", w.name, "(all)");
        else put_label(fp, (const char *const *)s->types, j, w.name, false);
        fprintf(fp, "%10.4f%10.4f%10.4f%*zu%*zu%*zu\n", r.precision, r.recall, r.f1, w.count, r.support, w.count,
                r.predicted, w.count, r.tp);
    }
}

rnnc_status rnnc_tag_scores_report(FILE *fp, const char *const *names, const rnnc_tag_score *t) {
    const rnnc_confusion *cm = &t->tokens;
    if (cm->total == 0) {
        fprintf(fp, "tokens: 0 scored (nothing to score: accuracy and F1 are reported as 0)\n");
        return report_done(fp);
    }
    fprintf(fp, "tokens: %zu scored, in %zu sequences\n", cm->total, t->seqs);
    overall(fp, cm, "token accuracy");
    fprintf(fp, "sequence accuracy: %.4f (%zu of %zu)\n", rnnc_tag_score_seq_accuracy(t), t->seqs_correct, t->seqs);
    fputc('\n', fp);
    class_table(fp, names, cm, "tag");
    if (t->has_spans) {
        fputc('\n', fp);
        span_table(fp, &t->spans);
    }
    fputc('\n', fp);
    matrix(fp, names, cm);
    return report_done(fp);
}

/* ---- JSON ---- */

/* Adds a number; counts failures in *bad. */
static void add_num(cJSON *o, const char *key, double v, int *bad) {
    if (!cJSON_AddNumberToObject(o, key, v)) (*bad)++;
}

static void add_prf(cJSON *o, rnnc_prf r, const char *tp_key, const char *support_key, int *bad) {
    add_num(o, "precision", r.precision, bad);
    add_num(o, "recall", r.recall, bad);
    add_num(o, "f1", r.f1, bad);
    if (tp_key) add_num(o, tp_key, (double)r.tp, bad);
    add_num(o, support_key, (double)r.support, bad);
    add_num(o, "predicted", (double)r.predicted, bad);
}

static cJSON *confusion_object(const char *const *names, const rnnc_confusion *cm) {
    int bad = 0, C = cm->n_classes;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_num(o, "items", (double)cm->total, &bad);
    add_num(o, "accuracy", rnnc_confusion_accuracy(cm), &bad);
    add_num(o, "macro_f1", rnnc_confusion_macro_f1(cm), &bad);
    add_num(o, "weighted_f1", rnnc_confusion_weighted_f1(cm), &bad);
    cJSON *per = cJSON_AddArrayToObject(o, "per_class");
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    if (!per || !conf) bad++;
    for (int c = 0; !bad && c < C; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(per, e)) { cJSON_Delete(e); bad++; break; }
        if (!cJSON_AddStringToObject(e, "label", names && names[c] ? names[c] : num)) bad++;
        add_prf(e, rnnc_confusion_class(cm, c), NULL, "support", &bad);
        cJSON *row = cJSON_CreateArray();
        if (!row || !cJSON_AddItemToArray(conf, row)) { cJSON_Delete(row); bad++; break; }
        for (int p = 0; p < C; p++) {
            cJSON *v = cJSON_CreateNumber((double)cm->counts[(size_t)c * (size_t)C + (size_t)p]);
            if (!v || !cJSON_AddItemToArray(row, v)) { cJSON_Delete(v); bad++; break; }
        }
    }
    if (bad) { cJSON_Delete(o); return NULL; }
    return o;
}

rnnc_status rnnc_scores_json(const char *const *names, const rnnc_confusion *cm, cJSON **out) {
    *out = confusion_object(names, cm);
    return *out ? RNNC_OK : rnnc_error(RNNC_ERR_NOMEM, "score JSON: out of memory");
}

static int add_spans(cJSON *o, const rnnc_spans *s) {
    int bad = 0;
    cJSON *sp = cJSON_AddObjectToObject(o, "spans");
    if (!sp) return 1;
    add_prf(sp, rnnc_spans_total(s), "correct", "true", &bad);
    cJSON *per = cJSON_AddArrayToObject(sp, "per_type");
    if (!per) return 1;
    for (int j = 0; !bad && j < s->n_types; j++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(per, e)) { cJSON_Delete(e); return 1; }
        if (!cJSON_AddStringToObject(e, "type", s->types[j])) bad++;
        add_prf(e, rnnc_spans_type(s, j), "correct", "true", &bad);
    }
    return bad;
}

rnnc_status rnnc_tag_scores_json(const char *const *names, const rnnc_tag_score *t, cJSON **out) {
    int bad = 0;
    cJSON *o = confusion_object(names, &t->tokens);
    if (o) {
        add_num(o, "sequences", (double)t->seqs, &bad);
        add_num(o, "sequences_correct", (double)t->seqs_correct, &bad);
        add_num(o, "sequence_accuracy", rnnc_tag_score_seq_accuracy(t), &bad);
        if (!bad && t->has_spans) bad += add_spans(o, &t->spans);
    }
    if (!o || bad) {
        cJSON_Delete(o);
        *out = NULL;
        return rnnc_error(RNNC_ERR_NOMEM, "score JSON: out of memory");
    }
    *out = o;
    return RNNC_OK;
}
