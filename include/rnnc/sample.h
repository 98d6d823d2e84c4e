/* rnnc — choosing the next token from a logits vector: greedy, temperature, top-k and top-p
 * (nucleus) sampling with a seeded RNG.
 *
 * The order of operations is the usual one (as in PyTorch/Hugging Face generation): logits are
 * divided by the temperature, top-k keeps the k largest, top-p then keeps the smallest prefix of
 * the remaining tokens, in decreasing order of probability, whose renormalised probability reaches
 * p, and one token is drawn from what is left in proportion to exp(logit / T). Ties are broken by
 * the lower token id, so every choice is a deterministic function of the logits and the RNG state.
 *
 * A sampler owns its scratch space (sized once for a vocabulary of V tokens), so the per-token
 * calls never allocate. */
#ifndef RNNC_SAMPLE_H
#define RNNC_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/rng.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float temperature; /* >= 0; 0 means greedy (argmax, lowest id on ties) */
    int top_k;         /* >= 0; 0 means off */
    float top_p;       /* in (0, 1]; 1 means off */
} rnnc_sample_params;

/* temperature 1, top-k off, top-p off: plain sampling from softmax(logits). */
rnnc_sample_params rnnc_sample_defaults(void);
/* RNNC_ERR_ARG naming the parameter when it is out of range (negative or NaN temperature,
 * negative top-k, top-p outside (0, 1]). */
rnnc_status rnnc_sample_check(const rnnc_sample_params *p);

typedef struct {
    size_t V;
    rnnc_sample_params params;
    float *z;      /* (V) logits / T */
    float *w;      /* (V) unnormalised weights exp(z - max) of the kept tokens, in idx order */
    uint32_t *idx; /* (V) token ids; the first n_kept are the kept set */
    int owns;      /* 1 when init allocated the scratch (free releases it) */
} rnnc_sampler;

/* Allocates the scratch for V tokens (3 V words). */
rnnc_status rnnc_sampler_init(rnnc_sampler *s, size_t V, const rnnc_sample_params *p);
/* The same over caller memory: `scratch` holds rnnc_sampler_scratch_bytes(V) bytes, 4-byte
 * aligned, and must outlive the sampler; nothing is allocated. */
size_t rnnc_sampler_scratch_bytes(size_t V);
rnnc_status rnnc_sampler_init_scratch(rnnc_sampler *s, size_t V, const rnnc_sample_params *p, void *scratch);
/* Releases what init allocated (nothing for init_scratch). */
void rnnc_sampler_free(rnnc_sampler *s);

/* Picks the next token. logits is (V). A NaN or +Inf logit, or all logits -Inf, is
 * RNNC_ERR_NUMERIC; -Inf logits are allowed (a masked token is never chosen). */
rnnc_status rnnc_sampler_next(rnnc_sampler *s, const float *logits, rnnc_rng *rng, uint32_t *out);

/* The distribution rnnc_sampler_next draws from: probs is (V), zero outside the kept set and
 * summing to 1 (greedy puts 1 on the argmax). Consumes no randomness; for tests and inspection. */
rnnc_status rnnc_sampler_probs(rnnc_sampler *s, const float *logits, float *probs);

/* Index of the largest value (lowest index on ties; NaN never wins). V > 0. */
uint32_t rnnc_argmax(const float *x, size_t V);

/* Streaming generated text: token bytes pass straight through, except that a UTF-8 character
 * split across tokens (byte-level BPE does that) is held back until it is complete, so a terminal
 * never shows half a character. Bytes that cannot become a valid character are passed through as
 * they are: the output is always exactly the concatenation of the input. */
typedef struct {
    unsigned char held[4];
    int n_held;
} rnnc_utf8_stream;

/* Writes the bytes that are ready to out (room for n + 3 bytes) and returns their count. */
size_t rnnc_utf8_stream_push(rnnc_utf8_stream *s, const unsigned char *in, size_t n, unsigned char *out);
/* Writes whatever is still held (an incomplete character at the end of generation). */
size_t rnnc_utf8_stream_flush(rnnc_utf8_stream *s, unsigned char *out);

#ifdef __cplusplus
}
#endif

#endif
