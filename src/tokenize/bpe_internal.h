/* rnnc — BPE internals shared by the trainer, its tests and its benchmark (not public API). */
#ifndef RNNC_BPE_INTERNAL_H
#define RNNC_BPE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/bpe.h"

/* One merge of training, in order: tokens `left` and `right` (ids) became token `id`, which had
 * `count` occurrences (weighted by piece frequency) when it was chosen. `id` is a fresh rank unless
 * the concatenated bytes already were a token (two merge paths to the same bytes): then it is that
 * token's rank, the merge still happens in training, and the vocabulary does not grow. */
typedef struct {
    uint32_t left, right, id;
    uint64_t count;
} rnnc_bpe_merge;

/* The outcome of training before it becomes a tokenizer. */
typedef struct {
    unsigned char *bytes;  /* all token bytes, concatenated */
    size_t *off;           /* token r is bytes[off[r] .. off[r+1]); n_tokens + 1 entries */
    size_t n_tokens;       /* ranks 0..n_tokens-1: the 256 single bytes (rank = byte value), then merges */
    rnnc_bpe_merge *merges;
    size_t n_merges;       /* >= n_tokens - 256; larger only when bytes coincided (see above) */
    uint64_t n_pieces;         /* pre-tokenized pieces in the corpus, with multiplicity */
    size_t n_unique;           /* distinct pieces */
    uint64_t n_final_tokens;   /* tokens of the corpus in training's final segmentation */
} rnnc_bpe_ranks;

/* Runs training (see rnnc_bpe_train) and returns the ranked tokens and the merge log instead of
 * a tokenizer. chunk_bytes: nominal size of the text chunks that are pre-tokenized in parallel
 * (0: the default, 1 MiB); the result does not depend on it for the built-in patterns. */
rnnc_status rnnc_bpe_train_ranks(const unsigned char *const *texts, const size_t *lens, size_t n_texts,
                                 const rnnc_bpe_train_opts *opts, size_t chunk_bytes, rnnc_bpe_ranks *out);
void rnnc_bpe_ranks_free(rnnc_bpe_ranks *r);

#endif
