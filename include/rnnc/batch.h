/* rnnc — stream batching of a token-id sequence for truncated backpropagation through time.
 *
 * The ids are cut into B equal contiguous streams of n = len / B ids each (the tail that does not
 * divide is dropped). Window k reads ids [kT, kT+T) of every stream as input and [kT+1, kT+T+1) as
 * targets, for every k with kT + T < n, so consecutive windows continue each stream and the
 * recurrent state can carry from one window to the next. */
#ifndef RNNC_BATCH_H
#define RNNC_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/status.h"

typedef struct {
    const int32_t *ids;
    size_t len;       /* ids available */
    int B, T;
    size_t n;         /* ids per stream */
    size_t windows;   /* number of windows */
} rnnc_stream;

/* RNNC_ERR_ARG (naming batch, seq and the id count) when not even one window fits, i.e. when
 * len / B < T + 1. ids must outlive the stream. */
rnnc_status rnnc_stream_init(rnnc_stream *s, const int32_t *ids, size_t len, int B, int T);
/* Window k < s->windows: x and y (B,T), row b = stream b. */
void rnnc_stream_window(const rnnc_stream *s, size_t k, int *x, int *y);

/* Reads whitespace-separated non-negative decimal token ids from a text file ("-" = stdin).
 * Errors name the file and the 0-based position of the bad token. *ids is malloc'd. */
rnnc_status rnnc_ids_read_text(const char *path, int32_t **ids, size_t *len);
/* RNNC_ERR_RANGE "<what>: id X at position P is outside the vocabulary of V" for the first bad id. */
rnnc_status rnnc_ids_check_vocab(const int32_t *ids, size_t len, int V, const char *what);

#endif
