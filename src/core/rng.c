/* xoshiro256** (Blackman & Vigna) seeded through splitmix64; see include/rnnc/rng.h. */
#include "core/rng_inline.h"
#include "rnnc/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rnnc_rng_seed(rnnc_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t rnnc_rng_u64(rnnc_rng *r) { return rnnc_rng_next(r); }

float rnnc_rng_uniform(rnnc_rng *r) { return rnnc_rng_next_uniform(r); }

uint64_t rnnc_rng_below(rnnc_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the biased top slice */
    uint64_t x;
    do x = rnnc_rng_u64(r); while (x >= limit);
    return x % n;
}

float rnnc_rng_normal(rnnc_rng *r) {
    double u1 = ((double)(rnnc_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0,1] */
    double u2 = (double)(rnnc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rnnc_rng_substream(rnnc_rng *out, uint64_t key, uint64_t index) {
    /* two splitmix64 rounds over the pair: streams of neighbouring indices share no state */
    uint64_t x = key;
    uint64_t k = splitmix64(&x) ^ (index * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    rnnc_rng_seed(out, splitmix64(&k));
}
