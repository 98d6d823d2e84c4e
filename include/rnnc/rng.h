/* rnnc — a small, fast, seedable random number generator (xoshiro256**, seeded by splitmix64).
 * Its whole state is four words, so checkpoints can store and restore it exactly. */
#ifndef RNNC_RNG_H
#define RNNC_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct { uint64_t s[4]; } rnnc_rng;

void rnnc_rng_seed(rnnc_rng *r, uint64_t seed);
uint64_t rnnc_rng_u64(rnnc_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rnnc_rng_uniform(rnnc_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t rnnc_rng_below(rnnc_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
float rnnc_rng_normal(rnnc_rng *r);
/* The stream number `index` of `key`: a generator seeded from both, independent of every other
 * index. Dropout and sampling draw one key from the run's generator per use and a stream per
 * global row of the batch, so a row's draws do not depend on which rows (which share of a
 * data-parallel batch) a process holds, nor on the padded length. */
void rnnc_rng_substream(rnnc_rng *out, uint64_t key, uint64_t index);

#ifdef __cplusplus
}
#endif

#endif
