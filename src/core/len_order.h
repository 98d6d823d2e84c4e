/* Internal: putting items in order of length, shortest first, ties in their own order, so that
 * batches are made of items of like length (the input projections run over every padded
 * position of a batch). Used by seq2seq decoding and the sequence tasks' eval. */
#ifndef RNNC_CORE_LEN_ORDER_H
#define RNNC_CORE_LEN_ORDER_H

#include <stddef.h>
#include <stdlib.h>

typedef struct { int len; size_t i; } rnnc_len_index;

static inline int rnnc_len_index_cmp(const void *a, const void *b) {
    const rnnc_len_index *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* order[k] = {len[i], i} for the n items, sorted shortest first. */
static inline void rnnc_len_order(rnnc_len_index *order, const int *len, size_t n) {
    for (size_t i = 0; i < n; i++) order[i] = (rnnc_len_index){len[i], i};
    qsort(order, n, sizeof *order, rnnc_len_index_cmp);
}

#endif
