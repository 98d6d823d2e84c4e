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
 * the cells' forward loops run 1.25x faster for it.
 *
 * Sixteen lanes where the build targets AVX-512 (F and DQ, whose xor and andnot these use):
 * rnnc_v16_*, the same operations from the same text below, with mask blends for the selects.
 * On a Golden Cove core sigmoid + tanh ran 1.25-1.30x the eight-lane rate.
 *
 * RNNC_VMATH_FUNCS(N, V, VI, P, SI, SEL) writes the three for vectors V of N lanes: P is the
 * intrinsics' prefix (_mm256, _mm512), VI and SI the integer vector type and its cast suffix,
 * SEL(a, b, x, y) gives per lane a < b ? y : x with an ordered, non-signalling "<" (false for NaN,
 * as C's <). */
#define RNNC_VMATH_FUNCS(N, V, VI, P, SI, SEL)                                                            \
    static inline V rnnc_v##N##_expf(V x) {                                                               \
        x = P##_min_ps(P##_set1_ps(RNNC_EXP_MAX), x);                                                     \
        x = P##_max_ps(P##_set1_ps(RNNC_EXP_MIN), x);                                                     \
        V t = P##_fmadd_ps(x, P##_set1_ps(RNNC_EXP_LOG2E), P##_set1_ps(RNNC_EXP_SHIFT));                  \
        V n = P##_sub_ps(t, P##_set1_ps(RNNC_EXP_SHIFT));                                                 \
        V r = P##_fmadd_ps(n, P##_set1_ps(RNNC_EXP_LN2_HI), x);                                           \
        r = P##_fmadd_ps(n, P##_set1_ps(RNNC_EXP_LN2_LO), r);                                             \
        V p = P##_set1_ps(RNNC_EXP_P0);                                                                   \
        p = P##_fmadd_ps(p, r, P##_set1_ps(RNNC_EXP_P1));                                                 \
        p = P##_fmadd_ps(p, r, P##_set1_ps(RNNC_EXP_P2));                                                 \
        p = P##_fmadd_ps(p, r, P##_set1_ps(RNNC_EXP_P3));                                                 \
        p = P##_fmadd_ps(p, r, P##_set1_ps(RNNC_EXP_P4));                                                 \
        p = P##_fmadd_ps(p, r, P##_set1_ps(RNNC_EXP_P5));                                                 \
        p = P##_add_ps(P##_fmadd_ps(p, P##_mul_ps(r, r), r), P##_set1_ps(1.0f));                          \
        /* (bits - 0x4B400000 + 127) << 23, wrapping as the scalar's unsigned arithmetic does */          \
        VI s = P##_slli_epi32(P##_sub_epi32(P##_castps_##SI(t), P##_set1_epi32(0x4B400000 - 127)), 23);   \
        return P##_mul_ps(p, P##_cast##SI##_ps(s));                                                       \
    }                                                                                                     \
    static inline V rnnc_v##N##_sigmoidf(V x) {                                                           \
        const V one = P##_set1_ps(1.0f);                                                                  \
        return P##_div_ps(one, P##_add_ps(one, rnnc_v##N##_expf(P##_xor_ps(x, P##_set1_ps(-0.0f)))));     \
    }                                                                                                     \
    static inline V rnnc_v##N##_tanhf(V x) {                                                              \
        const V one = P##_set1_ps(1.0f), sign = P##_set1_ps(-0.0f);                                       \
        V ax = P##_andnot_ps(sign, x);                                                                    \
        V big = P##_sub_ps(one, P##_div_ps(P##_set1_ps(2.0f), P##_add_ps(rnnc_v##N##_expf(P##_add_ps(ax, ax)), one))); \
        V x2 = P##_mul_ps(ax, ax);                                                                        \
        V p = P##_set1_ps(RNNC_TANH_T0);                                                                  \
        p = P##_fmadd_ps(p, x2, P##_set1_ps(RNNC_TANH_T1));                                               \
        p = P##_fmadd_ps(p, x2, P##_set1_ps(RNNC_TANH_T2));                                               \
        p = P##_fmadd_ps(p, x2, P##_set1_ps(RNNC_TANH_T3));                                               \
        p = P##_fmadd_ps(p, x2, P##_set1_ps(RNNC_TANH_T4));                                               \
        p = P##_fmadd_ps(p, x2, P##_set1_ps(RNNC_TANH_T5));                                               \
        p = P##_fmadd_ps(p, x2, P##_set1_ps(RNNC_TANH_T6));                                               \
        V small = P##_fmadd_ps(P##_xor_ps(P##_mul_ps(ax, x2), sign), p, ax);                              \
        V v = SEL(ax, P##_set1_ps(0.5f), big, small);                                                     \
        return SEL(x, P##_setzero_ps(), v, P##_xor_ps(v, sign));                                          \
    }

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RNNC_V8 1
#define RNNC_SEL8(a, b, x, y) _mm256_blendv_ps((x), (y), _mm256_cmp_ps((a), (b), _CMP_LT_OQ))
RNNC_VMATH_FUNCS(8, __m256, __m256i, _mm256, si256, RNNC_SEL8)
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(RNNC_V8)
#define RNNC_V16 1
#define RNNC_SEL16(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ), (x), (y))
RNNC_VMATH_FUNCS(16, __m512, __m512i, _mm512, si512, RNNC_SEL16)
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
