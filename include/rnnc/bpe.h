/* rnnc — byte-level BPE: tiktoken-compatible encoding and decoding, .tiktoken rank files, training.
 *
 * A BPE tokenizer is a list of byte strings ranked 0..n-1 (the rank is the token id; gaps are
 * allowed, as in OpenAI's files), a pre-tokenizer pattern (see pretok.h) and special tokens.
 * Encoding splits the text with the pattern and merges each piece's bytes by lowest rank, exactly
 * as tiktoken does; every single byte has a rank, so any byte string encodes and decodes losslessly. */
#ifndef RNNC_BPE_H
#define RNNC_BPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rnnc/buf.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rnnc_bpe rnnc_bpe;

/* One token as bytes. */
typedef struct { const unsigned char *data; size_t len; } rnnc_token_bytes;
/* A special token: its text and its id (ids may lie above the ranks, e.g. 100257 in cl100k). */
typedef struct { const char *text; uint32_t id; } rnnc_special_token;

/* Ids are below RNNC_BPE_MAX_VOCAB, so a vocabulary size always fits the models' int. */
#define RNNC_BPE_MAX_VOCAB 2147483647u
/* How far special ids may run past the ranks: a special id must be below
 * n_tokens + n_specials + RNNC_BPE_MAX_SPECIAL_GAP, so a small file cannot claim a huge vocabulary
 * (and make everything sized by it, from model tables to JSON, huge). */
#define RNNC_BPE_MAX_SPECIAL_GAP 65536u

/* Builds a tokenizer from ranked tokens: tokens[r] has rank/id r; an entry with data == NULL is a
 * gap. All 256 single bytes must be present; n_tokens is at most RNNC_BPE_MAX_VOCAB. `pattern`: a
 * built-in name or a PCRE2 regex. The specials must pass rnnc_bpe_check_specials. */
rnnc_status rnnc_bpe_create(rnnc_bpe **out, const rnnc_token_bytes *tokens, size_t n_tokens,
                            const char *pattern, const rnnc_special_token *specials, size_t n_specials);
/* The checks rnnc_bpe_create makes of special tokens, for loaders that want to name the file the
 * specials came from: every text non-empty and every id below RNNC_BPE_MAX_VOCAB and below
 * n_tokens + n_specials + RNNC_BPE_MAX_SPECIAL_GAP; no id that is a used rank; no two specials with
 * the same id or text. RNNC_ERR_ARG with a message that starts "special token". */
rnnc_status rnnc_bpe_check_specials(const rnnc_token_bytes *tokens, size_t n_tokens,
                                    const rnnc_special_token *specials, size_t n_specials);

/* Loads a tokenizer: `name` is one of "r50k_base", "p50k_base", "cl100k_base", "o200k_base"
 * (looked up as <data dir>/tiktoken/<name>.tiktoken, with tiktoken's pattern and special tokens),
 * or a path to a .tiktoken file. For a path, the pattern and special tokens come from the sidecar
 * file <path>.json when present ({"pattern": ..., "special_tokens": {text: id}}), else from the
 * `pattern` argument (NULL: cl100k). A malformed line is reported with its line number.
 * The first load of a rank file writes a cache beside it (<path>.rnnc-cache, a few MB for the
 * OpenAI encodings; where the folder is not writable, none), which later loads map instead of
 * parsing the text (docs/FORMATS.md); the environment variable RNNC_BPE_CACHE=0 turns it off. */
rnnc_status rnnc_bpe_load(rnnc_bpe **out, const char *name_or_path, const char *pattern);
/* Parses .tiktoken text held in memory; `source` names it in error messages ("FILE:LINE: ...").
 * pattern: as for rnnc_bpe_create (NULL: cl100k); no special tokens. */
rnnc_status rnnc_bpe_load_mem(rnnc_bpe **out, const unsigned char *data, size_t len, const char *source,
                              const char *pattern);
/* Writes the rank file (atomically) and its sidecar <path>.json with the pattern and specials. */
rnnc_status rnnc_bpe_save(const rnnc_bpe *bpe, const char *path);
void rnnc_bpe_free(rnnc_bpe *bpe);

/* Number of ids: one past the largest rank or special id. */
size_t rnnc_bpe_n_vocab(const rnnc_bpe *bpe);
/* The bytes of token `id` (rank or special), or data == NULL if the id is unused. */
rnnc_token_bytes rnnc_bpe_token(const rnnc_bpe *bpe, uint32_t id);
const char *rnnc_bpe_pattern(const rnnc_bpe *bpe);
/* The special tokens, in the order given to rnnc_bpe_create (i < n_specials). */
size_t rnnc_bpe_n_specials(const rnnc_bpe *bpe);
rnnc_special_token rnnc_bpe_special(const rnnc_bpe *bpe, size_t i);
/* The rank of the token with these bytes, or UINT32_MAX if there is none. */
uint32_t rnnc_bpe_rank_of(const rnnc_bpe *bpe, const unsigned char *bytes, size_t len);

/* Appends the ids of text[0..len) to *out: exactly tiktoken's ids for valid UTF-8, and a lossless
 * encoding of any other bytes. allow_special = false encodes special-token text as ordinary text
 * (tiktoken's encode_ordinary); true turns it into the special ids (tiktoken's encode with
 * allowed_special="all"). Inputs of 256 KiB or more with a built-in pattern are encoded on the
 * OpenMP threads (same ids). Time is O(n log n) in the length of the longest piece. Thread-safe. */
rnnc_status rnnc_bpe_encode(const rnnc_bpe *bpe, const unsigned char *text, size_t len,
                            bool allow_special, rnnc_ids *out);
/* The same for text given as n code units of `unit` bytes (1 Latin-1, 2 UCS-2, 4 code points: the
 * forms CPython keeps a str in; see rnnc_units_to_utf8 in utf8.h, surrogate escapes included): the
 * ids of its UTF-8, which big inputs make chunk by chunk on the encoding threads instead of whole.
 * A unit with no UTF-8 form is RNNC_ERR_ARG naming its index; then *out is as before. */
rnnc_status rnnc_bpe_encode_units(const rnnc_bpe *bpe, const void *units, size_t n, int unit, bool allow_special,
                                  rnnc_ids *out);
/* Appends the bytes of ids[0..n) to *out; an unknown id is RNNC_ERR_RANGE naming the id and its position. */
rnnc_status rnnc_bpe_decode(const rnnc_bpe *bpe, const uint32_t *ids, size_t n, rnnc_bytes *out);

/* Training: pre-tokenize `n_texts` texts with `pattern`, count the pieces, then repeatedly merge
 * the most frequent adjacent pair (ties: the smaller left id, then the smaller right id; within a
 * piece, left to right) until the vocabulary holds vocab_size ids including the 256 byte tokens
 * and the special tokens (which take the top ids).
 * Pairs seen fewer than min_frequency times are never merged (training may stop early, as it does
 * when no pair is left). Special-token text in the texts is a boundary, not learned from. The
 * result is the same for every thread count. An empty corpus or vocab_size < 256 + n_specials is
 * RNNC_ERR_ARG.
 * progress, if not NULL, is called now and then with (merges done, merges wanted). */
typedef struct {
    size_t vocab_size;
    const char *pattern;               /* built-in name or PCRE2 regex; NULL = "cl100k" */
    const char *const *specials;       /* special-token texts */
    size_t n_specials;
    uint64_t min_frequency;            /* 0 or 1: no limit */
    int threads;                       /* 0: OpenMP default */
    void (*progress)(size_t done, size_t total, void *ctx);
    void *progress_ctx;
    /* If not NULL, called now and then (from the calling thread) with (bytes pre-tokenized, bytes in
     * all texts) while the corpus is counted, before the merges; gets progress_ctx too. */
    void (*count_progress)(size_t done, size_t total, void *ctx);
} rnnc_bpe_train_opts;

rnnc_status rnnc_bpe_train(rnnc_bpe **out, const unsigned char *const *texts, const size_t *lens,
                           size_t n_texts, const rnnc_bpe_train_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
