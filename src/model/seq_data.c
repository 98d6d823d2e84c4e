/* TSV data of the classify and tag tasks. See include/rnnc/seqdata.h. */
#include "rnnc/seqdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/io.h"
#include "rnnc/utf8.h"

/* ---- lines and fields ---- */

typedef struct {
    const char *p, *end;
    size_t line;
} line_iter;

/* The next line without its CR LF; false at the end. */
static bool next_line(line_iter *it, const char **s, size_t *n) {
    if (it->p >= it->end) return false;
    const char *e = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = e ? e : it->end;
    *s = it->p;
    *n = (size_t)(stop - it->p);
    if (*n && (*s)[*n - 1] == '\r') (*n)--;
    it->p = e ? e + 1 : it->end;
    it->line++;
    return true;
}

/* Splits a line into its two columns; the reason it cannot, or NULL. */
static const char NUL_WHY[] = "holds a NUL byte";
/* (the reasons are bare: the error line adds the two columns expected, once) */
static const char *split(const char *s, size_t n, const char **a, size_t *na, const char **b, size_t *nb) {
    if (memchr(s, 0, n)) return NUL_WHY;
    const char *tab = memchr(s, '\t', n);
    if (!tab) return "has no tab";
    *a = s;
    *na = (size_t)(tab - s);
    *b = tab + 1;
    *nb = n - *na - 1;
    if (memchr(*b, '\t', *nb)) return "has a second tab";
    return NULL;
}

/* The next space-separated token of s[*i, n); false when none is left. */
static bool next_token(const char *s, size_t n, size_t *i, const char **t, size_t *tn) {
    while (*i < n && s[*i] == ' ') (*i)++;
    if (*i >= n) return false;
    size_t j = *i;
    while (j < n && s[j] != ' ') j++;
    *t = s + *i;
    *tn = j - *i;
    *i = j;
    return true;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return false;
    return true;
}

/* ---- a set of names ---- */

typedef struct {
    char **names;
    int n, cap;
    int *table; /* index + 1; 0 empty */
    size_t tcap;
} name_set;

static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static size_t slot(const name_set *set, const char *s, size_t n) {
    size_t j = fnv(s, n) & (set->tcap - 1);
    while (set->table[j]) {
        const char *x = set->names[set->table[j] - 1];
        if (strlen(x) == n && !memcmp(x, s, n)) break;
        j = (j + 1) & (set->tcap - 1);
    }
    return j;
}

static rnnc_status set_add(name_set *set, const char *s, size_t n) {
    if (!set->tcap || (size_t)(set->n + 1) * 2 > set->tcap) {
        size_t cap = set->tcap ? set->tcap * 2 : 64;
        int *t = calloc(cap, sizeof *t);
        if (!t) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for labels");
        free(set->table);
        set->table = t;
        set->tcap = cap;
        for (int i = 0; i < set->n; i++) set->table[slot(set, set->names[i], strlen(set->names[i]))] = i + 1;
    }
    size_t j = slot(set, s, n);
    if (set->table[j]) return RNNC_OK;
    if (set->n >= RNNC_SEQ_MAX_OUTPUTS) return rnnc_error(RNNC_ERR_ARG, "more than %d distinct labels", RNNC_SEQ_MAX_OUTPUTS);
    if (set->n == set->cap) {
        int cap = set->cap ? set->cap * 2 : 16;
        char **nn = realloc(set->names, (size_t)cap * sizeof *nn);
        if (!nn) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for labels");
        set->names = nn;
        set->cap = cap;
    }
    if (!(set->names[set->n] = strndup(s, n))) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for labels");
    set->table[j] = ++set->n;
    return RNNC_OK;
}

/* set_add for a label or tag read at name:line, byte col of the line: names are stored in model
 * files, so they must be UTF-8. */
static rnnc_status label_add(name_set *set, const char *s, size_t n, const char *what, const char *name, size_t line, size_t col) {
    size_t ok = rnnc_utf8_valid_prefix((const unsigned char *)s, n);
    if (ok < n) return rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: a %s is not valid UTF-8 (byte %zu of the line)", name, line, what, col + ok);
    return set_add(set, s, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void rnnc_seq_labels_free(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

rnnc_status rnnc_seq_labels_collect(const char *text, size_t len, const char *name, rnnc_seq_kind kind, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    name_set set = {0};
    line_iter it = {text, text + len, 0};
    const char *s, *a, *b;
    size_t sn, na, nb;
    rnnc_status st = RNNC_OK;
    size_t bad = 0, bad_line = 0; /* lines that do not split in two columns, and the first of them */
    const char *bad_why = NULL;
    while (!st && next_line(&it, &s, &sn)) {
        if (blank(s, sn)) continue;
        const char *why = split(s, sn, &a, &na, &b, &nb);
        if (why) {
            if (!bad++) { bad_line = it.line; bad_why = why; }
            continue;
        }
        if (kind == RNNC_SEQ_CLASSIFY) {
            if (na) st = label_add(&set, a, na, "label", name, it.line, 0);
        } else {
            size_t i = 0;
            const char *t;
            size_t tn;
            while (!st && next_token(b, nb, &i, &t, &tn)) st = label_add(&set, t, tn, "tag", name, it.line, (size_t)(t - s));
        }
    }
    free(set.table);
    /* the lines left out, where they may be why the labels are too few */
    char skipped[160] = "";
    if (bad)
        snprintf(skipped, sizeof skipped, " (%zu line%s not in two columns left out; the first, line %zu, %s)", bad, bad == 1 ? "" : "s",
                 bad_line, bad_why);
    if (!st && set.n < 2)
        st = set.n ? rnnc_error(RNNC_ERR_ARG, "%s: only one %s ('%s'): nothing to tell apart%s", name, kind == RNNC_SEQ_TAG ? "tag" : "label",
                                set.names[0], skipped)
                   : rnnc_error(RNNC_ERR_ARG, "%s: no %s%s", name, kind == RNNC_SEQ_TAG ? "tags" : "labelled lines", skipped);
    if (st) {
        rnnc_seq_labels_free(set.names, set.n);
        return st;
    }
    qsort(set.names, (size_t)set.n, sizeof *set.names, cmp_str);
    *names = set.names;
    *n = set.n;
    return RNNC_OK;
}

/* ---- reading ---- */

void rnnc_seq_data_free(rnnc_seq_data *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->ids[i]);
        if (d->tags) free(d->tags[i]);
    }
    free(d->ids); free(d->len); free(d->label); free(d->tags); free(d->line);
    memset(d, 0, sizeof *d);
}

static rnnc_status grow_items(rnnc_seq_data *d) {
    if (d->n < d->cap) return RNNC_OK;
    size_t cap = d->cap ? d->cap * 2 : 256;
    uint32_t **ids = realloc(d->ids, cap * sizeof *ids);
    if (ids) d->ids = ids;
    int *len = realloc(d->len, cap * sizeof *len);
    if (len) d->len = len;
    int *label = realloc(d->label, cap * sizeof *label);
    if (label) d->label = label;
    int **tags = realloc(d->tags, cap * sizeof *tags);
    if (tags) d->tags = tags;
    size_t *line = realloc(d->line, cap * sizeof *line);
    if (line) d->line = line;
    if (!ids || !len || !label || !tags || !line) return rnnc_error(RNNC_ERR_NOMEM, "out of memory for %zu items", cap);
    d->cap = cap;
    return RNNC_OK;
}

/* Label lookup through a set built once per read. */
static int find_label(const name_set *set, const char *s, size_t n) {
    size_t j = slot(set, s, n);
    return set->table[j] ? set->table[j] - 1 : -1;
}

static void note_unknown(rnnc_seq_data *d, size_t line, const char *s, size_t n) {
    if (d->unknown_labels++ == 0) {
        d->unknown_label_line = line;
        snprintf(d->unknown_label, sizeof d->unknown_label, "%.*s", (int)(n < 60 ? n : 60), s);
    }
}

rnnc_status rnnc_seq_data_parse(rnnc_seq_data *d, const char *text, size_t len, const char *name, const rnnc_seq_read_opts *o,
                                rnnc_s2s_vocab *v, const char *const *names, int n_labels) {
    bool tag = o->kind == RNNC_SEQ_TAG;
    if (tag && v->tok != RNNC_S2S_TOK_SPACE && v->tok != RNNC_S2S_TOK_CHAR)
        return rnnc_error(RNNC_ERR_ARG, "tag: the tokenizer must be space or char (each token gets one tag), not %s", rnnc_s2s_tok_name(v->tok));
    int max_len = o->max_len > 0 ? o->max_len : RNNC_SEQ_DEFAULT_MAX_LEN;
    name_set set = {0};
    rnnc_status st = RNNC_OK;
    for (int i = 0; i < n_labels && !st; i++) st = set_add(&set, names[i], strlen(names[i]));
    if (st) goto out;
    line_iter it = {text, text + len, 0};
    const char *s, *a, *b;
    size_t sn, na, nb;
    rnnc_ids ids = {0};
    int *tags = NULL;
    size_t tags_cap = 0;
    char msg[96];
    while (!st && next_line(&it, &s, &sn)) {
        if (blank(s, sn)) continue;
        d->lines++;
        const char *why = split(s, sn, &a, &na, &b, &nb);
        const char *text_col = tag ? a : b, *lab_col = tag ? b : a;
        size_t text_n = tag ? na : nb, lab_n = tag ? nb : na;
        if (!why && blank(text_col, text_n)) why = "has an empty text";
        else if (!why && blank(lab_col, lab_n)) why = tag ? "has no tags" : "has an empty label";
        ids.len = 0;
        size_t unk = 0;
        if (!why) {
            /* tokens: space symbols split at spaces; everything else as the vocabulary splits it */
            if ((st = rnnc_s2s_encode_ex(v, text_col, text_n, o->grow, &ids, &unk))) {
                st = rnnc_error(st, "%s:%zu: %s", name, it.line, rnnc_last_error());
                break;
            }
            if (ids.len == 0) why = "has an empty text";
        }
        int *item_tags = NULL;
        if (!why && tag) {
            if (tags_cap < ids.len) {
                free(tags);
                tags_cap = ids.len;
                if (!(tags = malloc(tags_cap * sizeof *tags))) { st = rnnc_error(RNNC_ERR_NOMEM, "out of memory"); break; }
            }
            size_t i = 0, k = 0;
            const char *t;
            size_t tn;
            while (next_token(lab_col, lab_n, &i, &t, &tn)) {
                if (k < ids.len) {
                    tags[k] = find_label(&set, t, tn);
                    if (tags[k] < 0) note_unknown(d, it.line, t, tn);
                }
                k++;
            }
            if (k != ids.len) {
                snprintf(msg, sizeof msg, "has %zu tag%s for %zu %s%s", k, k == 1 ? "" : "s", ids.len,
                         v->tok == RNNC_S2S_TOK_CHAR ? "character" : "token", ids.len == 1 ? "" : "s");
                why = msg;
            }
            item_tags = tags;
        }
        /* the text's tokens, counted before any cut as its unknowns are (and as predict counts
         * them): the unknown share is of the tokens the texts have, never over 100% */
        size_t text_tokens = ids.len;
        if (!why && ids.len > (size_t)max_len) {
            if (tag) {
                if (!o->skip_long) {
                    st = rnnc_error(RNNC_ERR_ARG, "%s:%zu: %zu tokens, more than --max-len %d (raise it, or --skip-long to leave such lines out)",
                                    name, it.line, ids.len, max_len);
                    break;
                }
                d->skipped_long++;
                continue;
            }
            ids.len = (size_t)max_len;
            d->truncated++;
        }
        if (why) {
            if (!o->skip_bad) {
                st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: the line %s%s", name, it.line, why,
                                why == NUL_WHY ? "" : tag ? " (expected two columns: tokens TAB tags)" : " (expected two columns: label TAB text)");
                break;
            }
            d->skipped_bad++;
            continue;
        }
        int label = -1;
        if (!tag) {
            label = find_label(&set, lab_col, lab_n);
            if (label < 0) {
                note_unknown(d, it.line, lab_col, lab_n);
                continue;
            }
        }
        if ((st = grow_items(d))) break;
        size_t i = d->n;
        d->ids[i] = malloc(ids.len * sizeof(uint32_t));
        d->tags[i] = tag ? malloc(ids.len * sizeof(int)) : NULL;
        if (!d->ids[i] || (tag && !d->tags[i])) {
            free(d->ids[i]);
            free(d->tags[i]);
            st = rnnc_error(RNNC_ERR_NOMEM, "out of memory reading %s", name);
            break;
        }
        memcpy(d->ids[i], ids.data, ids.len * sizeof(uint32_t));
        if (tag) memcpy(d->tags[i], item_tags, ids.len * sizeof(int));
        d->len[i] = (int)ids.len;
        d->label[i] = label;
        d->line[i] = it.line;
        d->tokens += text_tokens;
        d->unk_tokens += unk;
        d->n++;
    }
    free(tags);
    rnnc_ids_free(&ids);
    if (!st && d->n == 0)
        st = rnnc_error(RNNC_ERR_ARG, "%s: no items to read%s", name,
                        d->unknown_labels ? " (every label is unknown to the model)" : d->lines ? " (every line was skipped)"
                        : len ? " (the file has only blank lines)" : " (the file is empty)");
out:
    rnnc_seq_labels_free(set.names, set.n);
    free(set.table);
    return st;
}

rnnc_status rnnc_seq_data_read(rnnc_seq_data *d, const char *path, const rnnc_seq_read_opts *o, rnnc_s2s_vocab *v,
                               const char *const *names, int n_labels) {
    unsigned char *text;
    size_t len;
    rnnc_status s = rnnc_read_file(path, &text, &len);
    if (s) return s;
    s = rnnc_seq_data_parse(d, (const char *)text, len, path, o, v, names, n_labels);
    free(text);
    return s;
}

void rnnc_seq_data_batch(const rnnc_seq_data *d, rnnc_seq_kind kind, const size_t *ex, int B, uint32_t *ids, int *lengths,
                         int *labels, rnnc_seq_batch *b) {
    int T = 1;
    for (int r = 0; r < B; r++) T = d->len[ex[r]] > T ? d->len[ex[r]] : T;
    bool tag = kind == RNNC_SEQ_TAG;
    for (int r = 0; r < B; r++) {
        size_t i = ex[r];
        int n = d->len[i];
        lengths[r] = n;
        for (int k = 0; k < T; k++) {
            ids[(size_t)r * T + k] = k < n ? d->ids[i][k] : RNNC_S2S_PAD;
            if (tag && labels) labels[(size_t)r * T + k] = k < n ? d->tags[i][k] : -1;
        }
        if (!tag && labels) labels[r] = d->label[i];
    }
    memset(b, 0, sizeof *b);
    b->B = B;
    b->T = T;
    b->ids = ids;
    b->lengths = lengths;
    b->labels = labels;
}
