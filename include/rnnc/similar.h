/* rnnc — nearest neighbours in an embedding matrix by cosine similarity, and export in the
 * TensorBoard Embedding Projector format.
 *
 * E is a (V, D) row-major matrix: row i is the vector of token i. Rows that are all zero (for
 * example tokens that never occurred in training) have no direction, so they are never returned
 * as neighbours; a zero query is an error. */
#ifndef RNNC_SIMILAR_H
#define RNNC_SIMILAR_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t id;
    float sim; /* cosine similarity in [-1, 1] */
} rnnc_neighbor;

/* The k rows most similar to row `query` (which is excluded), best first, ties to the lower id.
 * out holds room for k; *n_out gets min(k, number of eligible rows). */
rnnc_status rnnc_similar_row(const float *E, size_t V, size_t D, uint32_t query, size_t k,
                             rnnc_neighbor *out, size_t *n_out);
/* The k rows most similar to the vector q (D), leaving out the ids in exclude[0, n_exclude) and
 * the ids below first_id. */
rnnc_status rnnc_similar_vec(const float *E, size_t V, size_t D, const float *q,
                             const uint32_t *exclude, size_t n_exclude, uint32_t first_id, size_t k,
                             rnnc_neighbor *out, size_t *n_out);
/* Analogy "a is to b as c is to ?": neighbours of unit(b) - unit(a) + unit(c) (unit vectors, so
 * that no word dominates by its length), excluding a, b and c. */
rnnc_status rnnc_similar_analogy(const float *E, size_t V, size_t D, uint32_t a, uint32_t b, uint32_t c,
                                 size_t k, rnnc_neighbor *out, size_t *n_out);

/* The general form: neighbours of sum_i sign[i] * unit(E[ids[i]]) (sign +1 or -1), excluding
 * every id in ids and, when first_id > 0, every id below first_id (tokens that training never
 * sees, such as a char tokenizer's reserved and byte-fallback ids, keep their random initial
 * vectors and would only be noise). One term with sign +1 is rnnc_similar_row; (b, +1), (a, -1),
 * (c, +1) is the analogy. Each term's row must be non-zero. */
rnnc_status rnnc_similar_terms(const float *E, size_t V, size_t D, const uint32_t *ids, const int *signs,
                               size_t n_terms, uint32_t first_id, size_t k, rnnc_neighbor *out, size_t *n_out);

/* rnnc_similar_terms with a mask in place of first_id: skip is NULL or V bytes, and an id whose
 * byte is non-zero is never an answer; as a query term it is RNNC_ERR_ARG naming the id (its
 * vector is whatever it was initialised to, so any neighbours would be noise). */
rnnc_status rnnc_similar_terms_skip(const float *E, size_t V, size_t D, const uint32_t *ids, const int *signs,
                                    size_t n_terms, const unsigned char *skip, size_t k, rnnc_neighbor *out,
                                    size_t *n_out);

/* The model metadata key that lists the token ids that never occurred in the training data (so
 * their embedding rows were never trained): a JSON array of [first, last] inclusive ranges, in
 * increasing order and without overlap, every id below the vocabulary size, e.g. [[0,3],[17,17]];
 * [] when every id occurred. Ids are plain non-negative decimal integers (no sign, fraction,
 * exponent or leading zero). */
#define RNNC_UNSEEN_IDS_KEY "rnnc.unseen_ids"
/* Parses that value strictly for a vocabulary of V ids: sets skip[id] = 1 for every listed id
 * (other entries are left as they are). Anything else (bad JSON, a range out of order, over the
 * vocabulary or with first > last) is RNNC_ERR_FORMAT naming the key and the fault. */
rnnc_status rnnc_unseen_ids_parse(const char *json, size_t V, unsigned char *skip);
/* The value for the ids whose seen[id] is 0, as a malloc'd NUL-terminated string. */
rnnc_status rnnc_unseen_ids_format(const unsigned char *seen, size_t V, char **json);

/* Cosine similarity of two D-vectors; 0 when either is zero. */
float rnnc_cosine(const float *x, const float *y, size_t D);

/* Writes DIR/vectors.tsv (one row per token, D tab-separated floats, exact round trip) and
 * DIR/metadata.tsv (one label per line, no header since there is one column), each atomically;
 * DIR is created if missing. labels[i] has length label_lens[i] (NULL label_lens: NUL-terminated)
 * and is escaped with rnnc_projector_escape. */
rnnc_status rnnc_projector_export(const char *dir, const float *E, size_t V, size_t D,
                                  const char *const *labels, const size_t *label_lens);

/* Makes a token readable on one TSV line: backslash -> \\, tab -> \t, newline -> \n, CR -> \r,
 * other control bytes and bytes that are not valid UTF-8 -> \xHH, and the empty token -> \(empty).
 * Writes at most cap-1 bytes plus a NUL into out and returns the length the full escape needs
 * (as snprintf does), so a return >= cap means truncated. */
size_t rnnc_projector_escape(const char *s, size_t n, char *out, size_t cap);
/* The inverse: decodes an escaped label into out (room for strlen(s) bytes), setting *n. A
 * malformed escape is RNNC_ERR_FORMAT. */
rnnc_status rnnc_projector_unescape(const char *s, char *out, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
