/* rnnc — data of the classify and tag tasks: TSV files read into token ids and label ids.
 *
 *   classify   "label<TAB>text" a line: the text is tokenized by the model's vocabulary (any kind:
 *              space, char, word, bpe, a tokenizer file) and cut to the first max_len tokens;
 *   tag        "tokens<TAB>tags" a line: space-separated tokens (vocabulary SPACE) or, with a
 *              CHAR vocabulary, the characters of the text (spaces included); the tags column is
 *              space-separated, one tag per token, the counts equal.
 * Blank lines are skipped; a CR before the LF is dropped; a final line without a newline counts.
 * Bad lines (no tab, a second tab, an empty text or label, a tag count that differs from the token
 * count, a NUL byte) are errors naming FILE:LINE, or counted in skipped_bad with skip_bad. A file
 * with no item at all is an error.
 *
 * Labels are the names the training data uses, sorted by strcmp (rnnc_seq_labels_collect). Data read
 * against a fixed label set (dev, eval) counts a label the set lacks in unknown_labels instead of
 * failing: a classify item with one is left out (the first is remembered for the report), a tag
 * step with one is kept with tag -1 (not scored). */
#ifndef RNNC_SEQDATA_H
#define RNNC_SEQDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnnc/seq2seq.h"
#include "rnnc/seqmodel.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest text the readers take unless told otherwise, in tokens: classify cuts longer texts
 * (counted in `truncated`); tag refuses them (they cannot be cut without losing tags) unless
 * skip_long counts them in skipped_long. */
#define RNNC_SEQ_DEFAULT_MAX_LEN 512

typedef struct {
    rnnc_seq_kind kind; /* classify or tag */
    int max_len;        /* tokens; 0: RNNC_SEQ_DEFAULT_MAX_LEN */
    bool skip_bad, skip_long;
    bool grow;          /* add new symbols to a SPACE/CHAR vocabulary (training data) */
} rnnc_seq_read_opts;

typedef struct {
    size_t n;
    uint32_t **ids; /* [n][len[i]] */
    int *len;
    int *label;     /* classify: [n] */
    int **tags;     /* tag: [n][len[i]], -1 for a tag the set lacks */
    size_t *line;   /* [n]: the line each item came from */
    size_t lines, skipped_bad, skipped_long, truncated;
    size_t unknown_labels;      /* items (classify) or steps (tag) whose label the set lacks */
    size_t unknown_label_line;  /* the first of them, and its label (cut) */
    char unknown_label[64];
    size_t tokens, unk_tokens;  /* the items' tokens and those out of the vocabulary, both counted
                                   before any cut to max_len */
    size_t cap;
} rnnc_seq_data;

/* The sorted distinct labels of a training file's text: classify the first column, tag every tag
 * of the second. Lines the reader would refuse are skipped here (the reader reports them). At
 * least two labels are needed ("FILE: only one label 'x'"). *names is a malloc'd array of
 * malloc'd strings (free with rnnc_seq_labels_free). */
rnnc_status rnnc_seq_labels_collect(const char *text, size_t len, const char *name, rnnc_seq_kind kind, char ***names, int *n);
void rnnc_seq_labels_free(char **names, int n);

/* Reads text[0, len) (name for messages) into d, encoding with v and mapping labels through
 * names[0, n_labels). */
rnnc_status rnnc_seq_data_parse(rnnc_seq_data *d, const char *text, size_t len, const char *name, const rnnc_seq_read_opts *o,
                                rnnc_s2s_vocab *v, const char *const *names, int n_labels);
/* The same from a file ("-": stdin). */
rnnc_status rnnc_seq_data_read(rnnc_seq_data *d, const char *path, const rnnc_seq_read_opts *o, rnnc_s2s_vocab *v,
                               const char *const *names, int n_labels);
void rnnc_seq_data_free(rnnc_seq_data *d);

/* A padded batch of items ex[0, B) of d into caller buffers of at least B*T ids, B lengths and
 * B*T labels (B for classify), T the longest of those items: ids padded with RNNC_S2S_PAD, tag
 * labels with -1; labels NULL fills none (prediction). Sets b (B, T, ids, lengths, labels). */
void rnnc_seq_data_batch(const rnnc_seq_data *d, rnnc_seq_kind kind, const size_t *ex, int B, uint32_t *ids, int *lengths,
                         int *labels, rnnc_seq_batch *b);

#ifdef __cplusplus
}
#endif

#endif
