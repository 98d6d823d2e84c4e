/* Internal: xoshiro256** (the generator of rng.h) inline, for the loops that draw a number per
 * element (dropout masks): the same numbers as rnnc_rng_u64 / rnnc_rng_uniform, which rng.c
 * defines with these, without a call per draw. */
#ifndef RNNC_CORE_RNG_INLINE_H
#define RNNC_CORE_RNG_INLINE_H

#include "rnnc/rng.h"

static inline uint64_t rnnc_rng_rotl_(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rnnc_rng_next(rnnc_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rnnc_rng_rotl_(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rnnc_rng_rotl_(s[3], 45);
    return result;
}

/* uniform in [0, 1) on the 2^-24 grid */
static inline float rnnc_rng_next_uniform(rnnc_rng *r) { return (float)(rnnc_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

#endif
