/* rnnc — sequence-to-sequence data: TSV pairs (source TAB target), symbol vocabularies with the
 * special tokens, several references per source, length-bucketed padded batches; and the metrics
 * (edit distance, token error rate, sequence error rate).
 *
 * A TSV file holds one pair a line: "source<TAB>target". Lines with the same source text are one
 * item with several references (CMUdict's variant pronunciations, for instance). Sources and
 * targets are split into symbols by a tokenizer kind: SPACE (symbols separated by runs of spaces
 * or tabs, as in "w o r d" -> "W ER D") or CHAR (every UTF-8 character is a symbol, spaces too,
 * as in "march 3 2001" -> "2001-03-03"). */
#ifndef RNNC_SEQ2SEQ_H
#define RNNC_SEQ2SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rnnc/buf.h"
#include "rnnc/rng.h"
#include "rnnc/status.h"

/* Special ids, the same in every seq2seq vocabulary. */
enum { RNNC_S2S_PAD = 0, RNNC_S2S_BOS = 1, RNNC_S2S_EOS = 2, RNNC_S2S_UNK = 3, RNNC_S2S_NSPECIAL = 4 };

typedef enum { RNNC_S2S_TOK_SPACE, RNNC_S2S_TOK_CHAR } rnnc_s2s_tok;
/* "space" / "char" <-> kind; an unknown name is RNNC_ERR_ARG. */
rnnc_status rnnc_s2s_tok_parse(const char *name, rnnc_s2s_tok *out);
const char *rnnc_s2s_tok_name(rnnc_s2s_tok tok);

/* A vocabulary of symbols (byte strings without NUL): ids 0..3 are <pad> <bos> <eos> <unk>. */
typedef struct {
    rnnc_s2s_tok tok;
    char **sym;       /* sym[id], NUL-terminated */
    size_t n, cap;
    uint32_t *table;  /* open addressing: id + 1, 0 = empty */
    size_t table_cap; /* power of two */
} rnnc_s2s_vocab;

rnnc_status rnnc_s2s_vocab_init(rnnc_s2s_vocab *v, rnnc_s2s_tok tok);
void rnnc_s2s_vocab_free(rnnc_s2s_vocab *v);
/* The id of a symbol, adding it when new. */
rnnc_status rnnc_s2s_vocab_add(rnnc_s2s_vocab *v, const char *sym, size_t len, uint32_t *id);
/* The id of a symbol, or RNNC_S2S_UNK. */
uint32_t rnnc_s2s_vocab_find(const rnnc_s2s_vocab *v, const char *sym, size_t len);
/* Splits text[0..len) into symbols and appends their ids to out (not cleared). With grow, new
 * symbols are added to v; without, they become <unk>. A symbol that spells a special token
 * ("<pad>", "<bos>", "<eos>", "<unk>") is <unk>: data can never inject control tokens. CHAR mode needs valid UTF-8 (RNNC_ERR_FORMAT otherwise). */
rnnc_status rnnc_s2s_encode(rnnc_s2s_vocab *v, const char *text, size_t len, bool grow, rnnc_ids *out);
/* Appends the text of ids to out (not cleared): SPACE joins symbols with one space, CHAR
 * concatenates them. <pad>/<bos>/<eos> are skipped; an id outside the vocabulary is RNNC_ERR_RANGE. */
rnnc_status rnnc_s2s_decode(const rnnc_s2s_vocab *v, const uint32_t *ids, size_t n, rnnc_bytes *out);
/* The symbols, one a line, ids in order (for model metadata), and back. */
rnnc_status rnnc_s2s_vocab_to_string(const rnnc_s2s_vocab *v, rnnc_bytes *out);
rnnc_status rnnc_s2s_vocab_from_string(rnnc_s2s_vocab *v, rnnc_s2s_tok tok, const char *s, const char *what);

/* One source with its references (target id sequences, without <bos>/<eos>). */
typedef struct {
    char *src_text; /* the source as written in the file (NUL-terminated) */
    uint32_t *src;
    int src_len;
    int n_refs;
    uint32_t **ref;
    int *ref_len;
} rnnc_s2s_item;

typedef struct {
    rnnc_s2s_item *items;
    size_t n, cap;
    size_t n_pairs;      /* lines read as pairs (references in all) */
    size_t skipped_bad;  /* lines without a tab or with an empty side (skip_bad) */
    size_t skipped_long; /* pairs whose source exceeds max_source symbols (skip_long) */
    size_t skipped_dup;  /* lines repeating a pair already read */
    /* private: source text -> item index */
    uint32_t *index;
    size_t index_cap;
} rnnc_s2s_data;

typedef struct {
    int max_source;  /* in symbols; 0 = no limit */
    int max_target;  /* in symbols; 0 = no limit; longer pairs count as skipped_long / error */
    bool skip_bad;   /* false: a bad line is an error naming file:line */
    bool skip_long;  /* false: an over-long source is an error naming file:line */
    bool grow;       /* add unseen symbols to the vocabularies (training data) */
} rnnc_s2s_read_opts;

void rnnc_s2s_data_init(rnnc_s2s_data *d);
void rnnc_s2s_data_free(rnnc_s2s_data *d);
/* Reads a TSV file (path "-" is stdin) into d (appending), encoding with sv and tv. Blank lines
 * (nothing but a line ending) are skipped silently; a final line without a newline counts. A
 * CR before the LF is dropped. */
rnnc_status rnnc_s2s_data_read(rnnc_s2s_data *d, const char *path, const rnnc_s2s_read_opts *o,
                               rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv);
/* Same over an in-memory text; `name` is used in error messages. */
rnnc_status rnnc_s2s_data_parse(rnnc_s2s_data *d, const char *text, size_t len, const char *name,
                                const rnnc_s2s_read_opts *o, rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv);

/* A padded batch. src (B,Ts) and the target arrays are row-major, padded with RNNC_S2S_PAD;
 * tgt_in = <bos> + target, tgt_out = target + <eos>, both tgt_len[b] = |target| + 1 long. */
typedef struct {
    int B, Ts, Tt;
    uint32_t *src;
    int *src_len;
    uint32_t *tgt_in, *tgt_out;
    int *tgt_len;
    size_t *item; /* the item of each row */
    int *ref;     /* its reference index */
} rnnc_s2s_batch;

/* Training examples (one per item and reference, or one per item using its first reference)
 * grouped into batches of similar source length. */
typedef struct {
    const rnnc_s2s_data *data;
    size_t n_ex;
    size_t *ex_item;
    int *ex_ref;
    size_t *order; /* the examples in batch order */
    int batch;
    size_t n_batches;
    size_t *batch_order;
    rnnc_s2s_batch buf;
} rnnc_s2s_batcher;

rnnc_status rnnc_s2s_batcher_new(rnnc_s2s_batcher *b, const rnnc_s2s_data *d, int batch_size, bool all_refs);
void rnnc_s2s_batcher_free(rnnc_s2s_batcher *b);
/* Orders the examples into batches: with rng, shuffled, then sorted by source length inside
 * windows of 50 batches (so each batch holds similar lengths), then the batch order shuffled;
 * without rng (NULL), in item order, unsorted (for evaluation, where order must be kept). */
void rnnc_s2s_batcher_plan(rnnc_s2s_batcher *b, rnnc_rng *rng);
/* Fills the batcher's buffer with batch k (0 <= k < n_batches) and returns it. */
const rnnc_s2s_batch *rnnc_s2s_batcher_get(rnnc_s2s_batcher *b, size_t k);

/* ---- metrics ---- */

/* Levenshtein distance (insertions, deletions, substitutions, each cost 1) between token
 * sequences; scratch holds nb + 1 entries. */
size_t rnnc_edit_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *scratch);

/* Accumulated error counts over a test set. For a hypothesis with several references the closest
 * reference (fewest edits; on a tie the longer one) gives the edits and the reference length; the
 * sequence is correct when it equals any reference exactly. */
typedef struct {
    size_t edits, ref_tokens;
    size_t seqs, seq_errors;
} rnnc_s2s_score;

rnnc_status rnnc_s2s_score_add(rnnc_s2s_score *s, const uint32_t *hyp, size_t n_hyp,
                               const uint32_t *const *refs, const int *ref_lens, int n_refs);
/* edits / ref_tokens, and seq_errors / seqs (0 when empty). */
double rnnc_s2s_ter(const rnnc_s2s_score *s);
double rnnc_s2s_ser(const rnnc_s2s_score *s);

#endif
