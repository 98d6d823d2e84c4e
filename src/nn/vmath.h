/* Internal: vectorisable float exp, sigmoid and tanh for the cells (cell.h) and the loss. */
#ifndef RNNC_NN_VMATH_H
#define RNNC_NN_VMATH_H

#include <math.h>
#include <stdint.h>

/* Vectorisable exp, sigmoid and tanh (libm's are calls the compiler cannot vectorise). Relative
 * error is a few float ulps over the whole range, far inside the 1e-4 we promise against PyTorch. */
static inline float rnnc_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = floorf(x * 1.44269504f + 0.5f);
    /* r = x - n ln2 in two pieces so r keeps its low bits */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n built from bits: adding 1.5 * 2^23 leaves the integer n in the low mantissa bits. No
     * float-to-int conversion, so a NaN argument (whose bits end up as garbage here) is not
     * undefined behaviour, and comes out as NaN through p. A union vectorises, memcpy did not. */
    union { float f; uint32_t u; } m = {.f = n + 12582912.0f}, s;
    s.u = (m.u - 0x4B400000u + 127u) << 23;
    return p * s.f;
}

static inline float rnnc_sigmoidf(float x) { return 1.0f / (1.0f + rnnc_expf(-x)); }

static inline float rnnc_tanhf(float x) {
    float ax = fabsf(x);
    /* large |x|: 1 - 2/(e^{2|x|}+1) loses at most a bit; small |x|: odd Taylor series to x^15,
     * whose truncation error below 0.5 is < 1e-8 relative (no cancellation near 0). */
    float big = 1.0f - 2.0f / (rnnc_expf(2.0f * ax) + 1.0f);
    float x2 = ax * ax;
    float p = 1.45583438705e-3f;          /* 929569/638512875 */
    p = p * x2 - 3.59212803657e-3f;       /* 21844/6081075 */
    p = p * x2 + 8.86323552990e-3f;       /* 1382/155925 */
    p = p * x2 - 2.18694885362e-2f;       /* 62/2835 */
    p = p * x2 + 5.39682539683e-2f;       /* 17/315 */
    p = p * x2 - 1.33333333333e-1f;       /* -2/15 -> sign below */
    p = p * x2 + 3.33333333333e-1f;
    float small = ax - ax * x2 * p;
    float v = ax < 0.5f ? small : big;
    return x < 0.0f ? -v : v;
}

#endif
