/* Inverted dropout drawn per item; see nn/dropout.h. */
#include "nn/dropout.h"

#include "core/rng_inline.h"

#include <omp.h>

void rnnc_dropout_rows(const float *x, size_t sx, float *y, size_t sy, float *mask, int B, size_t per, int width,
                       float p, uint64_t key, long row0) {
    const float keep = 1.0f - p, scale = 1.0f / keep;
#pragma omp parallel for schedule(static) if ((size_t)B * per * (size_t)width >= ((size_t)1 << 15) && !omp_in_parallel())
    for (int b = 0; b < B; b++) {
        rnnc_rng rr;
        rnnc_rng_substream(&rr, key, (uint64_t)(row0 + b));
        for (size_t r = (size_t)b * per; r < (size_t)(b + 1) * per; r++)
            for (int j = 0; j < width; j++) {
                const float k = rnnc_rng_next_uniform(&rr) < keep ? scale : 0.0f;
                mask[r * (size_t)width + j] = k;
                y[r * sy + j] = x[r * sx + j] * k;
            }
    }
}
