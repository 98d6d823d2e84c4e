/* Evaluation scores: the confusion matrix and its scores against hand counts and scikit-learn,
 * BIO span counts by conlleval's rules, tagging's sequence accuracy, empty inputs, range errors,
 * the text report (80 columns) and the JSON. */
#include <cjson/cJSON.h>
#include <stdint.h>

#include "rnnc/rnnc.h"
#include "rnnc/scores.h"
#include "rnnc/utf8.h"
#include "test.h"

static void fill(rnnc_confusion *cm, const int *t, const int *p, size_t n) {
    for (size_t i = 0; i < n; i++) CHECK(rnnc_confusion_add(cm, t[i], p[i]) == RNNC_OK);
}

/* The 3-class example:
 *   truth  0 0 0 0 0 1 1 1 1 2 2 2
 *   pred   0 0 0 1 2 1 1 0 1 2 1 1
 * confusion (rows truth): [3 1 1; 1 3 0; 0 2 1]
 * tp 3 3 1, support (row sums) 5 4 3, predicted (column sums) 4 6 2
 * precision 3/4 3/6 1/2, recall 3/5 3/4 1/3, F1 = 2tp/(support+predicted) = 6/9 6/10 2/5
 * accuracy 7/12, macro-F1 (2/3 + 3/5 + 2/5)/3 = 5/9, weighted-F1 (5*2/3 + 4*3/5 + 3*2/5)/12 = 26/45.
 * scikit-learn 1.2.1 gives the same:
 *   precision_recall_fscore_support(t, p, zero_division=0)
 *     -> ([0.75, 0.5, 0.5], [0.6, 0.75, 0.33333333], [0.66666667, 0.6, 0.4], [5, 4, 3])
 *   f1_score(t, p, average='macro') -> 0.5555555555555555
 *   f1_score(t, p, average='weighted') -> 0.5777777777777777
 *   accuracy_score(t, p) -> 0.5833333333333334 */
static const int T3[12] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
static const int P3[12] = {0, 0, 0, 1, 2, 1, 1, 0, 1, 2, 1, 1};

static void test_three_classes(void) {
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 3) == RNNC_OK);
    fill(&cm, T3, P3, 12);
    CHECK_EQ_LL(cm.total, 12);
    const size_t want[9] = {3, 1, 1, 1, 3, 0, 0, 2, 1};
    for (int i = 0; i < 9; i++) CHECK_EQ_LL(cm.counts[i], want[i]);

    const double prec[3] = {0.75, 0.5, 0.5}, rec[3] = {0.6, 0.75, 1.0 / 3}, f1[3] = {2.0 / 3, 0.6, 0.4};
    const size_t support[3] = {5, 4, 3}, predicted[3] = {4, 6, 2}, tp[3] = {3, 3, 1};
    for (int c = 0; c < 3; c++) {
        rnnc_prf r = rnnc_confusion_class(&cm, c);
        CHECK_NEAR(r.precision, prec[c], 1e-15, 0);
        CHECK_NEAR(r.recall, rec[c], 1e-15, 0);
        CHECK_NEAR(r.f1, f1[c], 1e-15, 0);
        CHECK_EQ_LL(r.support, support[c]);
        CHECK_EQ_LL(r.predicted, predicted[c]);
        CHECK_EQ_LL(r.tp, tp[c]);
        CHECK(rnnc_confusion_present(&cm, c));
    }
    CHECK_NEAR(rnnc_confusion_accuracy(&cm), 7.0 / 12, 1e-15, 0);
    CHECK_NEAR(rnnc_confusion_macro_f1(&cm), 5.0 / 9, 1e-15, 0);
    CHECK_NEAR(rnnc_confusion_weighted_f1(&cm), 26.0 / 45, 1e-15, 0);
    /* scikit-learn's printed values (above) */
    CHECK_NEAR(rnnc_confusion_macro_f1(&cm), 0.5555555555555555, 1e-14, 0);
    CHECK_NEAR(rnnc_confusion_weighted_f1(&cm), 0.5777777777777777, 1e-14, 0);
    CHECK_NEAR(rnnc_confusion_accuracy(&cm), 0.5833333333333334, 1e-14, 0);
    CHECK_NEAR(rnnc_confusion_class(&cm, 2).recall, 0.33333333, 0, 1e-8);
    rnnc_confusion_free(&cm);
}

/* Five classes: class 3 is only predicted, class 4 never appears.
 *   truth 0 1 2 2 1 0, pred 0 1 3 2 2 0
 * tp 2 1 1 0, support 2 2 2 0, predicted 2 1 2 1 -> F1 1, 2/3, 1/2, 0
 * macro-F1 over the 4 classes present (class 3 counts, as 0; class 4 does not):
 * (1 + 2/3 + 1/2 + 0)/4 = 13/24; weighted (2 + 4/3 + 1)/6 = 13/18; accuracy 4/6.
 * scikit-learn 1.2.1:
 *   precision_recall_fscore_support(t, p, zero_division=0)
 *     -> ([1, 1, 0.5, 0], [1, 0.5, 0.5, 0], [1, 0.66666667, 0.5, 0], [2, 2, 2, 0])
 *   f1_score(t, p, average='macro', zero_division=0) -> 0.5416666666666666
 *   f1_score(t, p, average='weighted', zero_division=0) -> 0.7222222222222222 */
static void test_absent_and_predicted_only(void) {
    const int t[6] = {0, 1, 2, 2, 1, 0}, p[6] = {0, 1, 3, 2, 2, 0};
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 5) == RNNC_OK);
    fill(&cm, t, p, 6);
    CHECK(rnnc_confusion_present(&cm, 3));
    CHECK(!rnnc_confusion_present(&cm, 4));
    rnnc_prf r3 = rnnc_confusion_class(&cm, 3), r4 = rnnc_confusion_class(&cm, 4);
    CHECK(r3.precision == 0 && r3.recall == 0 && r3.f1 == 0 && r3.predicted == 1 && r3.support == 0);
    CHECK(r4.precision == 0 && r4.recall == 0 && r4.f1 == 0 && r4.predicted == 0 && r4.support == 0);
    CHECK_NEAR(rnnc_confusion_class(&cm, 1).f1, 2.0 / 3, 1e-15, 0);
    CHECK_NEAR(rnnc_confusion_macro_f1(&cm), 13.0 / 24, 1e-15, 0);
    CHECK_NEAR(rnnc_confusion_macro_f1(&cm), 0.5416666666666666, 1e-14, 0);
    CHECK_NEAR(rnnc_confusion_weighted_f1(&cm), 13.0 / 18, 1e-15, 0);
    CHECK_NEAR(rnnc_confusion_weighted_f1(&cm), 0.7222222222222222, 1e-14, 0);
    CHECK_NEAR(rnnc_confusion_accuracy(&cm), 4.0 / 6, 1e-15, 0);
    rnnc_confusion_free(&cm);
}

static void test_confusion_errors(void) {
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 0) == RNNC_ERR_ARG);
    CHECK(cm.counts == NULL);
    rnnc_confusion_free(&cm); /* harmless after a failed init */
    CHECK(rnnc_confusion_init(&cm, 2) == RNNC_OK);
    CHECK(rnnc_confusion_add(&cm, 2, 0) == RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "truth 2") != NULL);
    CHECK(rnnc_confusion_add(&cm, 0, -1) == RNNC_ERR_RANGE);
    CHECK(rnnc_confusion_add(&cm, -1, 0) == RNNC_ERR_RANGE);
    CHECK_EQ_LL(cm.total, 0);
    CHECK(rnnc_confusion_add(&cm, 1, 1) == RNNC_OK);
    CHECK_EQ_LL(cm.total, 1);
    CHECK_EQ_LL(cm.counts[3], 1);
    rnnc_confusion_free(&cm);
}

/* No items: every score is 0, nothing divides by zero. */
static void test_empty(void) {
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 3) == RNNC_OK);
    CHECK(rnnc_confusion_accuracy(&cm) == 0);
    CHECK(rnnc_confusion_macro_f1(&cm) == 0);
    CHECK(rnnc_confusion_weighted_f1(&cm) == 0);
    for (int c = 0; c < 3; c++) {
        rnnc_prf r = rnnc_confusion_class(&cm, c);
        CHECK(r.precision == 0 && r.recall == 0 && r.f1 == 0 && !rnnc_confusion_present(&cm, c));
    }
    rnnc_confusion_free(&cm);

    const char *names[3] = {"O", "B-X", "I-X"};
    rnnc_tag_score t;
    CHECK(rnnc_tag_score_init(&t, names, 3) == RNNC_OK);
    CHECK(t.has_spans);
    CHECK(rnnc_tag_score_add(&t, NULL, NULL, 0) == RNNC_OK); /* an empty sequence: not counted */
    const int unscored[2] = {-1, -1}, any[2] = {1, 2};
    CHECK(rnnc_tag_score_add(&t, unscored, any, 2) == RNNC_OK); /* no scored step: not counted */
    CHECK_EQ_LL(t.seqs, 0);
    CHECK_EQ_LL(t.tokens.total, 0);
    CHECK(rnnc_tag_score_seq_accuracy(&t) == 0);
    rnnc_prf s = rnnc_spans_total(&t.spans);
    CHECK(s.tp == 0 && s.predicted == 0 && s.support == 0); /* the unscored B-X I-X is no span */
    CHECK(s.precision == 0 && s.recall == 0 && s.f1 == 0);
    rnnc_tag_score_free(&t);

    CHECK(rnnc_prf_of(0, 0, 0).f1 == 0);
}

static void test_bio_detection(void) {
    const char *iob2[3] = {"O", "B-PER", "I-PER"};
    const char *iob1[3] = {"O", "I-PER", "I-LOC"};
    const char *plain[3] = {"O", "PER", "LOC"};
    const char *lower[2] = {"o", "B-X"};
    const char *no_dash[2] = {"O", "BX"};
    CHECK(rnnc_tags_are_bio(iob2, 3));
    CHECK(!rnnc_tags_are_bio(iob1, 3)); /* no B- */
    CHECK(!rnnc_tags_are_bio(plain, 3));
    CHECK(!rnnc_tags_are_bio(lower, 2));
    CHECK(!rnnc_tags_are_bio(no_dash, 2));
    CHECK(!rnnc_tags_are_bio(NULL, 3));
    CHECK(!rnnc_tags_are_bio(iob2, 0));

    rnnc_spans s;
    CHECK(rnnc_spans_init(&s, iob1, 3) == RNNC_OK); /* IOB1 label sets are scored */
    CHECK_EQ_LL(s.n_types, 2);
    CHECK_STR(s.types[0], "LOC"); /* sorted */
    CHECK_STR(s.types[1], "PER");
    CHECK(s.type[0] == -1 && s.type[1] == 1 && s.type[2] == 0);
    rnnc_spans_free(&s);
    CHECK(rnnc_spans_init(&s, plain, 3) == RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "tag 1 (\"PER\")") != NULL);
    rnnc_spans_free(&s);

    /* A tagger with a non-BIO tag set has no span scores. */
    rnnc_tag_score t;
    CHECK(rnnc_tag_score_init(&t, plain, 3) == RNNC_OK);
    CHECK(!t.has_spans);
    rnnc_tag_score_free(&t);
    CHECK(rnnc_tag_score_init(&t, NULL, 3) == RNNC_OK);
    CHECK(!t.has_spans);
    rnnc_tag_score_free(&t);
}

/* Tag ids of the span tests. */
enum { O, BP, IP, BL, IL };
static const char *const SPAN_TAGS[5] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};

/* Counts one pair of sequences alone: correct, predicted, true spans overall. */
static void spans_of(const int *t, const int *p, size_t n, size_t want_correct, size_t want_pred, size_t want_true,
                     int line) {
    rnnc_spans s;
    CHECK(rnnc_spans_init(&s, SPAN_TAGS, 5) == RNNC_OK);
    CHECK(rnnc_spans_add(&s, t, p, n) == RNNC_OK);
    rnnc_prf r = rnnc_spans_total(&s);
    CHECK_MSG(r.tp == want_correct && r.predicted == want_pred && r.support == want_true,
              "case at line %d: correct/predicted/true %zu/%zu/%zu, expected %zu/%zu/%zu", line, r.tp, r.predicted,
              r.support, want_correct, want_pred, want_true);
    rnnc_spans_free(&s);
}

static void test_spans(void) {
    /* IOB2, all right: PER[0,1], LOC[3,3] */
    {
        const int t[4] = {BP, IP, O, BL}, p[4] = {BP, IP, O, BL};
        spans_of(t, p, 4, 2, 2, 2, __LINE__);
    }
    /* IOB1-style starts: an I- at the start and after O opens a span, so the truth's spans are
     * PER[0,1] and LOC[3,3], the same as the prediction's IOB2 ones */
    {
        const int t[4] = {IP, IP, O, IL}, p[4] = {BP, IP, O, BL};
        spans_of(t, p, 4, 2, 2, 2, __LINE__);
    }
    /* type changes: I-LOC after PER opens LOC. truth PER[0,1] LOC[2,3];
     * prediction PER[0,0] LOC[1,2]: none correct */
    {
        const int t[4] = {BP, IP, IL, IL}, p[4] = {BP, IL, IL, O};
        spans_of(t, p, 4, 0, 2, 2, __LINE__);
    }
    /* I-PER after B-LOC starts a PER span (conlleval), not a continuation: truth LOC[0,0] PER[1,2];
     * the prediction B-LOC B-PER I-PER has the same spans */
    {
        const int t[3] = {BL, IP, IP}, p[3] = {BL, BP, IP};
        spans_of(t, p, 3, 2, 2, 2, __LINE__);
    }
    /* a span running to the end of the sequence: LOC[1,3] in both */
    {
        const int t[4] = {O, BL, IL, IL}, p[4] = {O, BL, IL, IL};
        spans_of(t, p, 4, 1, 1, 1, __LINE__);
    }
    /* ... and one that the prediction ends early (LOC[1,2]) or late is wrong */
    {
        const int t[4] = {O, BL, IL, IL}, p[4] = {O, BL, IL, O};
        spans_of(t, p, 4, 0, 1, 1, __LINE__);
        const int t2[4] = {O, BL, IL, O}, p2[4] = {O, BL, IL, IL};
        spans_of(t2, p2, 4, 0, 1, 1, __LINE__);
    }
    /* B after B: two spans PER[0,0] PER[1,1]; the prediction joins them into PER[0,1] */
    {
        const int t[2] = {BP, BP}, p[2] = {BP, IP};
        spans_of(t, p, 2, 0, 1, 2, __LINE__);
    }
    /* same start, same end, other type: wrong */
    {
        const int t[3] = {BP, IP, O}, p[3] = {BL, IL, O};
        spans_of(t, p, 3, 0, 1, 1, __LINE__);
    }
    /* a one-step sequence ending in a span, and one of all O */
    {
        const int t[1] = {IL}, p[1] = {BL};
        spans_of(t, p, 1, 1, 1, 1, __LINE__);
        const int t2[3] = {O, O, O}, p2[3] = {O, O, O};
        spans_of(t2, p2, 3, 0, 0, 0, __LINE__);
    }
    /* an unscored step (truth -1) reads as O on both sides: it splits the truth's and the
     * prediction's I-PER runs alike, giving PER[0,0] and PER[2,2] on both */
    {
        const int t[3] = {BP, -1, IP}, p[3] = {BP, IP, IP};
        spans_of(t, p, 3, 2, 2, 2, __LINE__);
    }
}

/* Several sequences and the per-type numbers:
 *   1: truth B-PER I-PER O B-LOC      pred B-PER I-PER O O        PER[0,1] right, LOC missed
 *   2: truth O B-LOC I-LOC            pred O B-LOC I-LOC          LOC right
 *   3: truth B-PER O                  pred B-LOC O                PER missed, LOC wrong
 * PER: correct 1, predicted 1, true 2 -> P 1, R 1/2, F1 2/3
 * LOC: correct 1, predicted 2, true 2 -> P 1/2, R 1/2, F1 1/2
 * all: correct 2, predicted 3, true 4 -> P 2/3, R 1/2, F1 4/7 */
static void test_span_types(void) {
    const int t1[4] = {BP, IP, O, BL}, p1[4] = {BP, IP, O, O};
    const int t2[3] = {O, BL, IL}, p2[3] = {O, BL, IL};
    const int t3[2] = {BP, O}, p3[2] = {BL, O};
    rnnc_spans s;
    CHECK(rnnc_spans_init(&s, SPAN_TAGS, 5) == RNNC_OK);
    CHECK(rnnc_spans_add(&s, t1, p1, 4) == RNNC_OK);
    CHECK(rnnc_spans_add(&s, t2, p2, 3) == RNNC_OK);
    CHECK(rnnc_spans_add(&s, t3, p3, 2) == RNNC_OK);
    CHECK_STR(s.types[0], "LOC");
    CHECK_STR(s.types[1], "PER");
    rnnc_prf per = rnnc_spans_type(&s, 1), loc = rnnc_spans_type(&s, 0), all = rnnc_spans_total(&s);
    CHECK(per.tp == 1 && per.predicted == 1 && per.support == 2);
    CHECK_NEAR(per.precision, 1, 1e-15, 0);
    CHECK_NEAR(per.recall, 0.5, 1e-15, 0);
    CHECK_NEAR(per.f1, 2.0 / 3, 1e-15, 0);
    CHECK(loc.tp == 1 && loc.predicted == 2 && loc.support == 2);
    CHECK_NEAR(loc.f1, 0.5, 1e-15, 0);
    CHECK(all.tp == 2 && all.predicted == 3 && all.support == 4);
    CHECK_NEAR(all.precision, 2.0 / 3, 1e-15, 0);
    CHECK_NEAR(all.recall, 0.5, 1e-15, 0);
    CHECK_NEAR(all.f1, 4.0 / 7, 1e-15, 0);

    /* a bad id counts nothing */
    const int bad_t[2] = {BP, 5}, bad_p[2] = {BP, O}, neg_p[2] = {BP, -1};
    CHECK(rnnc_spans_add(&s, bad_t, bad_p, 2) == RNNC_ERR_RANGE);
    CHECK(rnnc_spans_add(&s, t3, neg_p, 2) == RNNC_ERR_RANGE);
    all = rnnc_spans_total(&s);
    CHECK(all.tp == 2 && all.predicted == 3 && all.support == 4);
    rnnc_spans_free(&s);
}

/* Tagging: token matrix over the scored steps, sequence accuracy, spans. Tags O B-PER I-PER B-LOC
 * I-LOC.
 *   1: truth B-PER I-PER O        pred B-PER I-PER O        all right
 *   2: truth O B-LOC -1 O         pred O B-LOC I-PER B-PER  one wrong scored step (last)
 *   3: truth B-LOC I-LOC -1       pred B-LOC I-LOC B-PER    wrong only where unscored: right
 *   4: truth -1 -1                pred O O                  no scored step: not counted
 * scored tokens 3 + 3 + 2 = 8, right 7; sequences 3, right 2.
 * spans: truth PER[0,1]; LOC[1,1]; LOC[0,1]; prediction the same plus PER[3,3] in 2 (its I-PER
 * at the unscored step reads as O) -> correct 3, predicted 4, true 3 */
static void test_tagging(void) {
    rnnc_tag_score t;
    CHECK(rnnc_tag_score_init(&t, SPAN_TAGS, 5) == RNNC_OK);
    CHECK(t.has_spans);
    const int t1[3] = {BP, IP, O}, p1[3] = {BP, IP, O};
    const int t2[4] = {O, BL, -1, O}, p2[4] = {O, BL, IP, BP};
    const int t3[3] = {BL, IL, -1}, p3[3] = {BL, IL, BP};
    const int t4[2] = {-1, -1}, p4[2] = {O, O};
    CHECK(rnnc_tag_score_add(&t, t1, p1, 3) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t2, p2, 4) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t3, p3, 3) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t4, p4, 2) == RNNC_OK);
    CHECK_EQ_LL(t.tokens.total, 8);
    CHECK_NEAR(rnnc_confusion_accuracy(&t.tokens), 7.0 / 8, 1e-15, 0);
    CHECK_EQ_LL(t.tokens.counts[O * 5 + BP], 1);
    CHECK_EQ_LL(t.seqs, 3);
    CHECK_EQ_LL(t.seqs_correct, 2);
    CHECK_NEAR(rnnc_tag_score_seq_accuracy(&t), 2.0 / 3, 1e-15, 0);
    rnnc_prf s = rnnc_spans_total(&t.spans);
    CHECK(s.tp == 3 && s.predicted == 4 && s.support == 3);

    /* out-of-range ids count nothing, in the matrix or the spans */
    const int bt[2] = {O, 7}, bp[2] = {O, O}, nt[2] = {O, BP}, np[2] = {O, -2};
    CHECK(rnnc_tag_score_add(&t, bt, bp, 2) == RNNC_ERR_RANGE);
    CHECK(rnnc_tag_score_add(&t, nt, np, 2) == RNNC_ERR_RANGE);
    const int ut[2] = {O, -1}, up[2] = {O, -1}; /* an unscored step's prediction is not checked */
    CHECK(rnnc_tag_score_add(&t, ut, up, 2) == RNNC_OK);
    CHECK_EQ_LL(t.tokens.total, 9);
    CHECK_EQ_LL(t.seqs, 4);
    s = rnnc_spans_total(&t.spans);
    CHECK(s.tp == 3 && s.predicted == 4 && s.support == 3);
    rnnc_tag_score_free(&t);
}

/* ---- reports ---- */

/* The report as a string (malloc'd). */
static char *report_of(const char *const *names, const rnnc_confusion *cm, const rnnc_tag_score *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return NULL;
    rnnc_status rc = t ? rnnc_tag_scores_report(fp, names, t) : rnnc_scores_report(fp, names, cm);
    CHECK(rc == RNNC_OK);
    fclose(fp);
    return buf;
}

/* The widest line in display columns (one per code point); checks that the text is UTF-8 and ends
 * in a newline. */
static int widest_line(const char *text) {
    int widest = 0, cols = 0, invalid = 0;
    const unsigned char *u = (const unsigned char *)text;
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        if (u[i] == '\n') {
            if (cols > widest) widest = cols;
            cols = 0;
            i++;
            continue;
        }
        uint32_t cp;
        int k = rnnc_utf8_decode(u + i, n - i, &cp);
        invalid += k <= 0;
        i += k > 0 ? (size_t)k : 1;
        cols++;
    }
    CHECK(invalid == 0); /* the report is valid UTF-8 */
    CHECK(cols == 0);    /* and ends with a newline */
    return widest;
}

static void test_report_classes(void) {
    const char *names[3] = {"cat", "dog", "bird"};
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 3) == RNNC_OK);
    fill(&cm, T3, P3, 12);
    char *r = report_of(names, &cm, NULL);
    CHECK(r != NULL);
    if (!r) return;
    CHECK(strstr(r, "items: 12\n") != NULL);
    CHECK(strstr(r, "accuracy: 0.5833 (7 of 12)\n") != NULL);
    CHECK(strstr(r, "macro-F1: 0.5556 (mean over the 3 of 3 labels in truth or prediction)\n") != NULL);
    CHECK(strstr(r, "weighted-F1: 0.5778") != NULL);
    CHECK(strstr(r, "\ncat                         0.7500    0.6000    0.6667         5         4\n") != NULL);
    CHECK(strstr(r, "\nbird                        0.5000    0.3333    0.4000         3         2\n") != NULL);
    CHECK(strstr(r, "confusion matrix (rows: truth, columns: prediction)\n") != NULL);
    CHECK(strstr(r, "\n       cat  dog bird\n") != NULL);
    CHECK(strstr(r, "\ncat      3    1    1\n") != NULL);
    CHECK(strstr(r, "\nbird     0    2    1\n") != NULL);
    CHECK(widest_line(r) <= 80);
    free(r);

    /* names left out: classes by number */
    r = report_of(NULL, &cm, NULL);
    CHECK(r && strstr(r, "\n2       0   2   1\n") != NULL);
    if (r) CHECK(widest_line(r) <= 80);
    free(r);
    rnnc_confusion_free(&cm);
}

static void test_report_empty(void) {
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 2) == RNNC_OK);
    char *r = report_of(NULL, &cm, NULL);
    CHECK(r && strncmp(r, "items: 0 (nothing to score", 26) == 0);
    if (r) CHECK(widest_line(r) <= 80);
    free(r);
    rnnc_confusion_free(&cm);

    const char *names[2] = {"O", "B-X"};
    rnnc_tag_score t;
    CHECK(rnnc_tag_score_init(&t, names, 2) == RNNC_OK);
    r = report_of(names, NULL, &t);
    CHECK(r && strncmp(r, "tokens: 0 scored (nothing to score", 34) == 0);
    if (r) CHECK(widest_line(r) <= 80);
    free(r);
    rnnc_tag_score_free(&t);
}

/* Long, UTF-8 and control-character names, big counts, up to the largest matrix shown and one
 * past it: always within 80 columns. */
static void test_report_width(void) {
    const char *long_names[12] = {
        "an_extremely_long_class_name_that_cannot_fit_anywhere", "Ärger-und-Übermut-über-alle-Maßen", "short",
        "tab\there", "x", "yy", "zzz", "class number seven", "8", "nine", "ten", "eleven-eleven-eleven"};
    for (int C = 2; C <= 13; C++) {
        const char *names13[13];
        for (int c = 0; c < 13; c++) names13[c] = c < 12 ? long_names[c] : "thirteen";
        for (int big = 0; big < 3; big++) {
            rnnc_confusion cm;
            CHECK(rnnc_confusion_init(&cm, C) == RNNC_OK);
            size_t scale = big == 0 ? 1 : big == 1 ? 997 : 123457;
            for (int t = 0; t < C; t++)
                for (int p = 0; p < C; p++) cm.counts[t * C + p] = scale * (size_t)(1 + (t * 7 + p * 3) % 11);
            for (int i = 0; i < C * C; i++) cm.total += cm.counts[i];
            char *r = report_of(names13, &cm, NULL);
            CHECK(r != NULL);
            if (!r) continue;
            int w = widest_line(r);
            CHECK_MSG(w <= 80, "%d classes, scale %zu: a line of %d columns", C, scale, w);
            int shown = strstr(r, "confusion matrix (rows") != NULL;
            int said = strstr(r, "see the JSON report") != NULL;
            CHECK_MSG(shown != said, "%d classes, scale %zu: matrix shown %d, JSON pointer %d", C, scale, shown, said);
            if (C > RNNC_SCORES_MAX_MATRIX) CHECK(said);
            if (C <= 4) CHECK(shown); /* a few classes always fit */
            CHECK(strstr(r, "an_extremely_long_class~") != NULL); /* cut in the table, marked */
            if (C > 3) CHECK(strstr(r, "tab?here") != NULL);       /* no raw tab */
            if (C >= 2) CHECK(strstr(r, "Ärger-und-Übermut-über-~") != NULL); /* cut by characters */
            free(r);
            rnnc_confusion_free(&cm);
        }
    }
}

static void test_report_tagging(void) {
    rnnc_tag_score t;
    CHECK(rnnc_tag_score_init(&t, SPAN_TAGS, 5) == RNNC_OK);
    const int t1[4] = {BP, IP, O, BL}, p1[4] = {BP, IP, O, O};
    const int t2[3] = {O, BL, IL}, p2[3] = {O, BL, IL};
    const int t3[2] = {BP, O}, p3[2] = {BL, O};
    CHECK(rnnc_tag_score_add(&t, t1, p1, 4) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t2, p2, 3) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t3, p3, 2) == RNNC_OK);
    char *r = report_of(SPAN_TAGS, NULL, &t);
    CHECK(r != NULL);
    if (!r) return;
    CHECK(strstr(r, "tokens: 9 scored, in 3 sequences\n") != NULL);
    CHECK(strstr(r, "token accuracy: 0.7778 (7 of 9)\n") != NULL);
    CHECK(strstr(r, "sequence accuracy: 0.3333 (1 of 3)\n") != NULL);
    CHECK(strstr(r, "spans (conlleval): 4 true, 3 predicted, 2 correct\n") != NULL);
    CHECK(strstr(r, "\n(all)                 0.6667    0.5000    0.5714         4         3         2\n") != NULL);
    CHECK(strstr(r, "\nPER                   1.0000    0.5000    0.6667         2         1         1\n") != NULL);
    CHECK(strstr(r, "confusion matrix (rows") != NULL);
    CHECK(widest_line(r) <= 80);
    free(r);
    rnnc_tag_score_free(&t);
}

static void test_json(void) {
    const char *names[3] = {"cat", "dog", "bird"};
    rnnc_confusion cm;
    CHECK(rnnc_confusion_init(&cm, 3) == RNNC_OK);
    fill(&cm, T3, P3, 12);
    cJSON *j = NULL;
    CHECK(rnnc_scores_json(names, &cm, &j) == RNNC_OK);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    cJSON *o = cJSON_Parse(text); /* what a reader of the printed text sees */
    free(text);
    CHECK(cJSON_IsObject(o));
    CHECK_EQ_LL(cJSON_GetObjectItem(o, "items")->valuedouble, 12);
    CHECK_NEAR(cJSON_GetObjectItem(o, "accuracy")->valuedouble, 7.0 / 12, 1e-15, 0);
    CHECK_NEAR(cJSON_GetObjectItem(o, "macro_f1")->valuedouble, 5.0 / 9, 1e-15, 0);
    CHECK_NEAR(cJSON_GetObjectItem(o, "weighted_f1")->valuedouble, 26.0 / 45, 1e-15, 0);
    cJSON *per = cJSON_GetObjectItem(o, "per_class");
    CHECK_EQ_LL(cJSON_GetArraySize(per), 3);
    cJSON *bird = cJSON_GetArrayItem(per, 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(bird, "label")), "bird");
    CHECK_NEAR(cJSON_GetObjectItem(bird, "recall")->valuedouble, 1.0 / 3, 1e-15, 0);
    CHECK_NEAR(cJSON_GetObjectItem(bird, "f1")->valuedouble, 0.4, 1e-15, 0);
    CHECK_EQ_LL(cJSON_GetObjectItem(bird, "support")->valuedouble, 3);
    CHECK_EQ_LL(cJSON_GetObjectItem(bird, "predicted")->valuedouble, 2);
    cJSON *conf = cJSON_GetObjectItem(o, "confusion");
    CHECK_EQ_LL(cJSON_GetArraySize(conf), 3);
    const double want[9] = {3, 1, 1, 1, 3, 0, 0, 2, 1};
    for (int t = 0; t < 3; t++) {
        CHECK_EQ_LL(cJSON_GetArraySize(cJSON_GetArrayItem(conf, t)), 3);
        for (int p = 0; p < 3; p++)
            CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(conf, t), p)->valuedouble == want[t * 3 + p]);
    }
    CHECK(cJSON_GetObjectItem(o, "spans") == NULL);
    cJSON_Delete(o);

    /* no names: labels are the numbers */
    CHECK(rnnc_scores_json(NULL, &cm, &j) == RNNC_OK);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "per_class"), 1), "label")), "1");
    cJSON_Delete(j);
    rnnc_confusion_free(&cm);

    /* the tagger's, with spans (the test_span_types sequences) */
    rnnc_tag_score t;
    CHECK(rnnc_tag_score_init(&t, SPAN_TAGS, 5) == RNNC_OK);
    const int t1[4] = {BP, IP, O, BL}, p1[4] = {BP, IP, O, O};
    const int t2[3] = {O, BL, IL}, p2[3] = {O, BL, IL};
    const int t3[2] = {BP, O}, p3[2] = {BL, O};
    CHECK(rnnc_tag_score_add(&t, t1, p1, 4) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t2, p2, 3) == RNNC_OK);
    CHECK(rnnc_tag_score_add(&t, t3, p3, 2) == RNNC_OK);
    CHECK(rnnc_tag_scores_json(SPAN_TAGS, &t, &j) == RNNC_OK);
    CHECK_EQ_LL(cJSON_GetObjectItem(j, "items")->valuedouble, 9);
    CHECK_EQ_LL(cJSON_GetObjectItem(j, "sequences")->valuedouble, 3);
    CHECK_EQ_LL(cJSON_GetObjectItem(j, "sequences_correct")->valuedouble, 1);
    CHECK_NEAR(cJSON_GetObjectItem(j, "sequence_accuracy")->valuedouble, 1.0 / 3, 1e-15, 0);
    cJSON *sp = cJSON_GetObjectItem(j, "spans");
    CHECK(cJSON_IsObject(sp));
    CHECK_NEAR(cJSON_GetObjectItem(sp, "f1")->valuedouble, 4.0 / 7, 1e-15, 0);
    CHECK_EQ_LL(cJSON_GetObjectItem(sp, "correct")->valuedouble, 2);
    CHECK_EQ_LL(cJSON_GetObjectItem(sp, "predicted")->valuedouble, 3);
    CHECK_EQ_LL(cJSON_GetObjectItem(sp, "true")->valuedouble, 4);
    cJSON *types = cJSON_GetObjectItem(sp, "per_type");
    CHECK_EQ_LL(cJSON_GetArraySize(types), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(types, 1), "type")), "PER");
    CHECK_NEAR(cJSON_GetObjectItem(cJSON_GetArrayItem(types, 1), "f1")->valuedouble, 2.0 / 3, 1e-15, 0);
    cJSON_Delete(j);
    rnnc_tag_score_free(&t);

    /* empty: zeros, no NaN (which cJSON would print as null) */
    CHECK(rnnc_confusion_init(&cm, 2) == RNNC_OK);
    CHECK(rnnc_scores_json(NULL, &cm, &j) == RNNC_OK);
    text = cJSON_PrintUnformatted(j);
    CHECK(text && strstr(text, "null") == NULL);
    CHECK(text && strstr(text, "\"items\":0,\"accuracy\":0,\"macro_f1\":0,\"weighted_f1\":0") != NULL);
    free(text);
    cJSON_Delete(j);
    rnnc_confusion_free(&cm);
}

int main(void) {
    RUN(test_three_classes);
    RUN(test_absent_and_predicted_only);
    RUN(test_confusion_errors);
    RUN(test_empty);
    RUN(test_bio_detection);
    RUN(test_spans);
    RUN(test_span_types);
    RUN(test_tagging);
    RUN(test_report_classes);
    RUN(test_report_empty);
    RUN(test_report_width);
    RUN(test_report_tagging);
    RUN(test_json);
    return test_report();
}
