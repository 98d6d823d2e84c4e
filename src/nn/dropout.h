/* Internal: inverted dropout with a mask drawn per item, as rnnc's models draw it for data
 * parallelism (docs/ARCHITECTURE.md, "Data parallel"): item b, the global row row0 + b, draws from
 * stream row0 + b of one key (rnnc_rng_substream), its rows and units in order, so its mask
 * depends neither on the items beside it nor on the thread count. */
#ifndef RNNC_NN_DROPOUT_H
#define RNNC_NN_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

/* Items b < B of `per` rows each (row r = b*per + k), `width` units a row: mask[r*width + j] =
 * 1/(1-p) or 0 (kept with probability 1-p), y[r*sy + j] = x[r*sx + j] * that; x and y may be the
 * same buffer. Items run on the OpenMP threads when there is enough work. */
void rnnc_dropout_rows(const float *x, size_t sx, float *y, size_t sy, float *mask, int B, size_t per, int width,
                       float p, uint64_t key, long row0);

#endif
