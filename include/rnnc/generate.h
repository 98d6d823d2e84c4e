/* rnnc — generating tokens from a language model, one at a time.
 *
 * A generator holds the model's recurrent state for one sequence (batch 1), the sampler and its
 * RNG. feed() runs ids through the model (a prompt is fed in windows, one batched forward of the
 * recurrent stack each, not token by token, over the stack's weights packed once) and computes the
 * logits after the last one only; next() draws a token from them and schedules it as the next
 * input. Nothing is allocated per token. */
#ifndef RNNC_GENERATE_H
#define RNNC_GENERATE_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/lm.h"
#include "rnnc/rng.h"
#include "rnnc/sample.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rnnc_generator rnnc_generator;

/* The model is borrowed: it must outlive the generator, and its weights must not change while the
 * generator lives (the per-token step reads copies packed at creation; a model trained further
 * needs a new generator). The state starts at zero. */
rnnc_status rnnc_generator_new(rnnc_generator **out, rnnc_lm *m, const rnnc_sample_params *p, uint64_t seed);
void rnnc_generator_free(rnnc_generator *g); /* with the cached temporaries, as rnnc_lm_free */
/* Back to the zero state, no logits; the RNG is not reseeded. */
void rnnc_generator_reset(rnnc_generator *g);

/* Runs ids[0, n) through the model after whatever came before. An id outside the vocabulary is
 * RNNC_ERR_RANGE naming its position; the state is then unspecified (reset before reuse). */
rnnc_status rnnc_generator_feed(rnnc_generator *g, const uint32_t *ids, size_t n);
/* Draws the next token from the logits of the last input and makes it the next input. Needs at
 * least one fed id (RNNC_ERR_ARG otherwise): a recurrent LM has no distribution before input. */
rnnc_status rnnc_generator_next(rnnc_generator *g, uint32_t *id);
/* From now on the per-token step reads the recurrent and head weights rounded to IEEE half
 * precision (11 significant bits; biases, embedding, state and sums stay float): half the memory
 * each token streams, which is what bounds batch-1 speed. Logits then differ from the float
 * model's by about 1e-3 relative; feed() still runs a prompt's recurrent stack in float, over the
 * float weights packed once (the head after its last id reads the half weights too). */
rnnc_status rnnc_generator_use_half(rnnc_generator *g);
/* Threads for the per-token step (0: OpenMP's default). The default is 1: a batch-1 step is a few
 * hundred microseconds of weight streaming, and the split across cores pays off only on an idle
 * machine; when other processes compete for the cores, a thread waiting for a descheduled partner
 * at the per-layer barrier costs far more than it saves (measured: 7x slower with 2 threads). */
void rnnc_generator_set_threads(rnnc_generator *g, int threads);
/* x rounded to the nearest IEEE half-precision value (ties to even), as use_half rounds weights. */
float rnnc_half_round(float x);

/* The logits (V) next() would draw from (after running a pending input), or NULL before any
 * input. For tests and tools that show the distribution. */
const float *rnnc_generator_logits(rnnc_generator *g);

#ifdef __cplusplus
}
#endif

#endif
