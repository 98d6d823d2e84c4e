/* Internal: vectorisable float exp, sigmoid and tanh for the cells (cell.h) and the loss. */
#ifndef RNNC_NN_VMATH_H
#define RNNC_NN_VMATH_H

#include <math.h>
#include <stdint.h>

/* Vectorisable exp, sigmoid and tanh (libm's are calls the compiler cannot vectorise). Relative
 * error is a few float ulps over the whole range, far inside the 1e-4 we promise against PyTorch.
 *
 * The polynomials are chains of fused multiply-adds where the target has them (-march=native here).
 * A cell's forward is one long dependent chain per element (a gate's exp and divide, c', tanh(c')'s
 * exp and divide, h'); fusing shortens it and cuts its instructions, so the core overlaps more
 * elements. The fusion is written out (RNNC_FMA), not left to -ffp-contract, so a vector loop, its
 * tail and every other caller round alike: an element is the same bits whichever thread, chunk or
 * loop part computes it. Without FMA (a portable build) it is the plain a * b + c throughout. */
#ifdef __FMA__
#define RNNC_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define RNNC_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* The constants of both forms (the scalar functions and the eight-lane ones below), written once. */
#define RNNC_EXP_MAX 88.0f
#define RNNC_EXP_MIN -87.0f
#define RNNC_EXP_LOG2E 1.44269504f
#define RNNC_EXP_SHIFT 12582912.0f /* 1.5 * 2^23 */
#define RNNC_EXP_LN2_HI -0.693359375f
#define RNNC_EXP_LN2_LO 2.12194440e-4f
#define RNNC_EXP_P0 1.9875691500e-4f
#define RNNC_EXP_P1 1.3981999507e-3f
#define RNNC_EXP_P2 8.3334519073e-3f
#define RNNC_EXP_P3 4.1665795894e-2f
#define RNNC_EXP_P4 1.6666665459e-1f
#define RNNC_EXP_P5 5.0000001201e-1f
#define RNNC_TANH_T0 1.45583438705e-3f  /* 929569/638512875 */
#define RNNC_TANH_T1 -3.59212803657e-3f /* 21844/6081075 */
#define RNNC_TANH_T2 8.86323552990e-3f  /* 1382/155925 */
#define RNNC_TANH_T3 -2.18694885362e-2f /* 62/2835 */
#define RNNC_TANH_T4 5.39682539683e-2f  /* 17/315 */
#define RNNC_TANH_T5 -1.33333333333e-1f /* -2/15 -> sign below */
#define RNNC_TANH_T6 3.33333333333e-1f

static inline float rnnc_expf(float x) {
    /* a NaN x stays NaN (the comparisons are false); GCC, keeping that, makes compares and blends
     * of these, where rnnc_v8_expf below has vminps/vmaxps */
    x = RNNC_EXP_MAX < x ? RNNC_EXP_MAX : x;
    x = RNNC_EXP_MIN > x ? RNNC_EXP_MIN : x;
    /* n = round(x / ln2): adding 1.5 * 2^23 leaves the integer n in the low mantissa bits of t,
     * the bits 2^n is built from below. No float-to-int conversion, so a NaN argument (whose bits
     * end up as garbage there) is not undefined behaviour, and comes out as NaN through p. */
    float t = RNNC_FMA(x, RNNC_EXP_LOG2E, RNNC_EXP_SHIFT);
    float n = t - RNNC_EXP_SHIFT;
    /* r = x - n ln2 in two pieces so r keeps its low bits */
    float r = RNNC_FMA(n, RNNC_EXP_LN2_HI, x);
    r = RNNC_FMA(n, RNNC_EXP_LN2_LO, r);
    float p = RNNC_EXP_P0;
    p = RNNC_FMA(p, r, RNNC_EXP_P1);
    p = RNNC_FMA(p, r, RNNC_EXP_P2);
    p = RNNC_FMA(p, r, RNNC_EXP_P3);
    p = RNNC_FMA(p, r, RNNC_EXP_P4);
    p = RNNC_FMA(p, r, RNNC_EXP_P5);
    p = RNNC_FMA(p, r * r, r) + 1.0f;
    /* A union vectorises, memcpy did not. */
    union { float f; uint32_t u; } m = {.f = t}, s;
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
    float p = RNNC_TANH_T0;
    p = RNNC_FMA(p, x2, RNNC_TANH_T1);
    p = RNNC_FMA(p, x2, RNNC_TANH_T2);
    p = RNNC_FMA(p, x2, RNNC_TANH_T3);
    p = RNNC_FMA(p, x2, RNNC_TANH_T4);
    p = RNNC_FMA(p, x2, RNNC_TANH_T5);
    p = RNNC_FMA(p, x2, RNNC_TANH_T6);
    float small = RNNC_FMA(-ax * x2, p, ax);
    float v = ax < 0.5f ? small : big;
    return x < 0.0f ? -v : v;
}

/* Eight lanes at a time, written out for AVX2 with FMA: rnnc_v8_expf, rnnc_v8_sigmoidf and
 * rnnc_v8_tanhf do the same operations in the same order as the scalar functions above, so each
 * lane is the same bits as the scalar function of it (test_rnn's test_math_lanes), NaN included:
 * a vector loop and its scalar tail agree. Written out because GCC, keeping NaN semantics, turns
 * the two clamps into about ten compares and blends a call where vminps and vmaxps do it in two
 * (they return their second operand when either is NaN, as the clamps' false comparisons do);
 * the cells' forward loops run 1.25x faster for it. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RNNC_V8 1

static inline __m256 rnnc_v8_expf(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(RNNC_EXP_MAX), x);
    x = _mm256_max_ps(_mm256_set1_ps(RNNC_EXP_MIN), x);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(RNNC_EXP_LOG2E), _mm256_set1_ps(RNNC_EXP_SHIFT));
    __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(RNNC_EXP_SHIFT));
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(RNNC_EXP_LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(RNNC_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(RNNC_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RNNC_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RNNC_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RNNC_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RNNC_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RNNC_EXP_P5));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    /* (bits - 0x4B400000 + 127) << 23, wrapping as the scalar's unsigned arithmetic does */
    __m256i s = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000 - 127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(s));
}

static inline __m256 rnnc_v8_sigmoidf(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, rnnc_v8_expf(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)))));
}

static inline __m256 rnnc_v8_tanhf(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(rnnc_v8_expf(_mm256_add_ps(ax, ax)), one)));
    __m256 x2 = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(RNNC_TANH_T0);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(RNNC_TANH_T1));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(RNNC_TANH_T2));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(RNNC_TANH_T3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(RNNC_TANH_T4));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(RNNC_TANH_T5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(RNNC_TANH_T6));
    __m256 small = _mm256_fmadd_ps(_mm256_xor_ps(_mm256_mul_ps(ax, x2), sign), p, ax);
    /* ordered, non-signalling "<": false for NaN, as C's < */
    __m256 v = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
    return _mm256_blendv_ps(v, _mm256_xor_ps(v, sign), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}
#endif

/* Sixteen lanes, where the build targets AVX-512: the same operations again, lane for lane the bits
 * of the scalar functions (test_math_lanes); the selects are mask blends on the same ordered
 * comparisons. On a Golden Cove core sigmoid + tanh ran 1.25-1.30x the eight-lane rate. */
#if defined(__AVX512F__) && defined(RNNC_V8)
#define RNNC_V16 1
static inline __m512 rnnc_v16_expf(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(RNNC_EXP_MAX), x);
    x = _mm512_max_ps(_mm512_set1_ps(RNNC_EXP_MIN), x);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(RNNC_EXP_LOG2E), _mm512_set1_ps(RNNC_EXP_SHIFT));
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(RNNC_EXP_SHIFT));
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(RNNC_EXP_LN2_HI), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(RNNC_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(RNNC_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNNC_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNNC_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNNC_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNNC_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNNC_EXP_P5));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i s = _mm512_slli_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000 - 127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(s));
}

static inline __m512 rnnc_v16_sigmoidf(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, rnnc_v16_expf(_mm512_xor_ps(x, _mm512_set1_ps(-0.0f)))));
}

static inline __m512 rnnc_v16_tanhf(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f), sign = _mm512_set1_ps(-0.0f);
    __m512 ax = _mm512_andnot_ps(sign, x);
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(rnnc_v16_expf(_mm512_add_ps(ax, ax)), one)));
    __m512 x2 = _mm512_mul_ps(ax, ax);
    __m512 p = _mm512_set1_ps(RNNC_TANH_T0);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(RNNC_TANH_T1));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(RNNC_TANH_T2));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(RNNC_TANH_T3));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(RNNC_TANH_T4));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(RNNC_TANH_T5));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(RNNC_TANH_T6));
    __m512 small = _mm512_fmadd_ps(_mm512_xor_ps(_mm512_mul_ps(ax, x2), sign), p, ax);
    __m512 v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.5f), _CMP_LT_OQ), big, small);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), v, _mm512_xor_ps(v, sign));
}
#endif

/* The widest of the two for the cells' vector loops, written once over these names: RNNC_VW lanes
 * of type rnnc_vf. A cell's loop over RNNC_VW units at a time, then its scalar loop, gives each
 * unit the same bits at either width. */
#if defined(RNNC_V16)
#define RNNC_VEC 1
#define RNNC_VW 16
typedef __m512 rnnc_vf;
#define RNNC_VLD(p) _mm512_loadu_ps(p)
#define RNNC_VST(p, v) _mm512_storeu_ps((p), (v))
#define RNNC_VADD _mm512_add_ps
#define RNNC_VSUB _mm512_sub_ps
#define RNNC_VMUL _mm512_mul_ps
#define RNNC_VSET1 _mm512_set1_ps
#define RNNC_VZERO _mm512_setzero_ps
#define rnnc_vsigmoidf rnnc_v16_sigmoidf
#define rnnc_vtanhf rnnc_v16_tanhf
#elif defined(RNNC_V8)
#define RNNC_VEC 1
#define RNNC_VW 8
typedef __m256 rnnc_vf;
#define RNNC_VLD(p) _mm256_loadu_ps(p)
#define RNNC_VST(p, v) _mm256_storeu_ps((p), (v))
#define RNNC_VADD _mm256_add_ps
#define RNNC_VSUB _mm256_sub_ps
#define RNNC_VMUL _mm256_mul_ps
#define RNNC_VSET1 _mm256_set1_ps
#define RNNC_VZERO _mm256_setzero_ps
#define rnnc_vsigmoidf rnnc_v8_sigmoidf
#define rnnc_vtanhf rnnc_v8_tanhf
#endif

#endif
