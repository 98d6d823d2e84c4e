/* rnnc — evaluation scores of the classify and tag tasks: a confusion matrix and what follows from
 * it (accuracy; per-class precision, recall, F1 and support; macro- and weighted-F1), sequence
 * accuracy of a tagger, span scores of BIO tags by the rules of CoNLL's conlleval, and a text
 * report and a JSON object of the same numbers.
 *
 * Definitions (those of scikit-learn's precision_recall_fscore_support and f1_score with the
 * labels left out, and zero_division=0):
 *   precision_c = tp_c / predicted_c, recall_c = tp_c / support_c, F1_c = 2 tp_c / (support_c +
 *   predicted_c), each 0 where its denominator is 0; support_c counts the items whose truth is c,
 *   predicted_c those predicted c;
 *   macro-F1 = the mean of F1_c over the classes present in the truth or the predictions
 *   (support_c + predicted_c > 0); a class absent from both is left out, not counted as 0;
 *   weighted-F1 = (sum over classes of F1_c * support_c) / items;
 *   accuracy = (sum over classes of tp_c) / items.
 * With no items every one of these is 0 (no division by zero); the report says there were none.
 *
 * Spans (conlleval): a tag name is "O", "B-TYPE" or "I-TYPE". A span of TYPE starts at a B-TYPE,
 * or at an I-TYPE that does not continue a span of TYPE (after an O, at the start, after another
 * type: IOB1 data and ill-formed IOB2 predictions both read this way); it goes on over the I-TYPE
 * tags that follow and ends before the next O, B-, or I- of another type, or at the end of the
 * sequence. A predicted span is correct when a true span has the same type, start and end.
 * Span precision = correct / predicted, recall = correct / true, F1 = 2 correct / (predicted +
 * true), each 0 when its denominator is 0. */
#ifndef RNNC_SCORES_H
#define RNNC_SCORES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* Precision, recall and F1 from the three counts (true positives, predicted, support or true
 * spans), by the definitions above. */
typedef struct {
    size_t tp, predicted, support;
    double precision, recall, f1;
} rnnc_prf;

rnnc_prf rnnc_prf_of(size_t tp, size_t predicted, size_t support);

/* ---- confusion matrix ---- */

typedef struct {
    int n_classes;  /* C */
    size_t *counts; /* C*C: counts[truth * C + pred] */
    size_t total;   /* items added */
} rnnc_confusion;

/* A zeroed C x C matrix (C >= 1). */
rnnc_status rnnc_confusion_init(rnnc_confusion *cm, int n_classes);
/* One item; both ids must be in [0, C) (RNNC_ERR_RANGE otherwise, the matrix unchanged). */
rnnc_status rnnc_confusion_add(rnnc_confusion *cm, int truth, int pred);
void rnnc_confusion_free(rnnc_confusion *cm);

/* Correct items / all items (0 with none). */
double rnnc_confusion_accuracy(const rnnc_confusion *cm);
/* Class c's counts and scores (c in [0, C)). */
rnnc_prf rnnc_confusion_class(const rnnc_confusion *cm, int c);
/* Whether class c is in the truth or the predictions, that is, counted in macro-F1. */
bool rnnc_confusion_present(const rnnc_confusion *cm, int c);
double rnnc_confusion_macro_f1(const rnnc_confusion *cm);
double rnnc_confusion_weighted_f1(const rnnc_confusion *cm);

/* ---- BIO spans ---- */

/* Whether a tag set is BIO: every name is "O" or starts with "B-" or "I-", and at least one
 * starts with "B-". */
bool rnnc_tags_are_bio(const char *const *names, int n_tags);

typedef struct {
    int n_tags;
    signed char *kind; /* per tag: 'B', 'I' or 'O' */
    int *type;         /* per tag: its type's index, -1 for O */
    int n_types;
    char **types;      /* the type names ("PER"), sorted by strcmp, owned */
    size_t *correct, *predicted, *truth; /* per type */
} rnnc_spans;

/* Counters for the tag set names[0, n_tags). Each name must be "O", "B-TYPE" or "I-TYPE"
 * (RNNC_ERR_ARG naming the first that is not); unlike rnnc_tags_are_bio, a set with no B- tag
 * (IOB1 data) is taken. */
rnnc_status rnnc_spans_init(rnnc_spans *s, const char *const *names, int n_tags);
/* Counts the spans of one sequence of n tags. A negative truth id is a step that is not scored:
 * it reads as O in both sequences. At the other steps both ids must be in [0, n_tags)
 * (RNNC_ERR_RANGE otherwise, nothing counted). */
rnnc_status rnnc_spans_add(rnnc_spans *s, const int *truth, const int *pred, size_t n);
/* All types together, and type t alone (t in [0, n_types)); tp is the correct spans, support
 * the true ones. */
rnnc_prf rnnc_spans_total(const rnnc_spans *s);
rnnc_prf rnnc_spans_type(const rnnc_spans *s, int t);
void rnnc_spans_free(rnnc_spans *s);

/* ---- tagging ---- */

/* What a tagger's evaluation accumulates: the token confusion matrix over the scored steps,
 * sequence accuracy, and span counts when the tag set is BIO. */
typedef struct {
    rnnc_confusion tokens;
    size_t seqs, seqs_correct; /* sequences with at least one scored step; those with all right */
    bool has_spans;            /* rnnc_tags_are_bio(names) at init */
    rnnc_spans spans;          /* valid when has_spans */
} rnnc_tag_score;

/* names may be NULL (no span scores then). */
rnnc_status rnnc_tag_score_init(rnnc_tag_score *t, const char *const *names, int n_tags);
/* One sequence of n steps. A step whose truth id is negative is not scored (padding, a step with
 * no label); every other id must be in [0, n_tags) (RNNC_ERR_RANGE otherwise, nothing counted).
 * The sequence is right when every scored step is; one with no scored step is not counted. */
rnnc_status rnnc_tag_score_add(rnnc_tag_score *t, const int *truth, const int *pred, size_t n);
/* seqs_correct / seqs (0 with none). */
double rnnc_tag_score_seq_accuracy(const rnnc_tag_score *t);
void rnnc_tag_score_free(rnnc_tag_score *t);

/* ---- reports ---- */

/* The classifier's report on fp, at most 80 columns wide: the item count, accuracy, macro- and
 * weighted-F1, a per-class table (precision, recall, F1, support, predicted; "-" for a class in
 * neither truth nor prediction) and the confusion matrix (rows truth, columns prediction; names
 * shortened to fit, a cut one ends in '~'). When the matrix cannot fit (more than
 * RNNC_SCORES_MAX_MATRIX classes, or counts too wide) the report says it is in the JSON. names
 * may be NULL: classes are then shown by number. RNNC_ERR_IO when writing fails. */
enum { RNNC_SCORES_MAX_MATRIX = 12, RNNC_SCORES_WIDTH = 80 };
rnnc_status rnnc_scores_report(FILE *fp, const char *const *names, const rnnc_confusion *cm);
/* The tagger's: the same over the scored tokens, with sequence accuracy and, for a BIO tag set,
 * the span scores overall and per type. */
rnnc_status rnnc_tag_scores_report(FILE *fp, const char *const *names, const rnnc_tag_score *t);

/* The same numbers as a new cJSON object (the caller deletes it with cJSON_Delete):
 *   {"items": N, "accuracy", "macro_f1", "weighted_f1",
 *    "per_class": [{"label", "precision", "recall", "f1", "support", "predicted"}, ...],
 *    "confusion": [[...], ...]}                        (rows truth, columns prediction)
 * and for a tagger also "sequences", "sequences_correct", "sequence_accuracy" and, for a BIO tag
 * set, "spans": {"precision", "recall", "f1", "correct", "predicted", "true",
 * "per_type": [{"type", "precision", "recall", "f1", "correct", "predicted", "true"}, ...]}.
 * For a tagger, items and accuracy are over the scored tokens. A label is names[c], or c as a
 * string when names is NULL. */
rnnc_status rnnc_scores_json(const char *const *names, const rnnc_confusion *cm, struct cJSON **out);
rnnc_status rnnc_tag_scores_json(const char *const *names, const rnnc_tag_score *t, struct cJSON **out);

#ifdef __cplusplus
}
#endif

#endif
