/* Growable id and byte arrays; see include/rnnc/buf.h. Capacity doubles, so appends are amortised O(1). */
#include "rnnc/buf.h"

#include <stdlib.h>
#include <string.h>

static rnnc_status grow(void **data, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return RNNC_OK;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *nd = realloc(*data, nc * elem);
    if (!nd) return rnnc_error(RNNC_ERR_NOMEM, "out of memory growing a buffer to %zu elements", nc);
    *data = nd;
    *cap = nc;
    return RNNC_OK;
}

rnnc_status rnnc_ids_reserve(rnnc_ids *v, size_t cap) { return grow((void **)&v->data, &v->cap, cap, sizeof *v->data); }

rnnc_status rnnc_ids_push(rnnc_ids *v, uint32_t id) {
    if (v->len == v->cap) {
        rnnc_status s = grow((void **)&v->data, &v->cap, v->len + 1, sizeof *v->data);
        if (s) return s;
    }
    v->data[v->len++] = id;
    return RNNC_OK;
}

void rnnc_ids_free(rnnc_ids *v) { if (!v) return; free(v->data); v->data = NULL; v->len = v->cap = 0; }

rnnc_status rnnc_bytes_reserve(rnnc_bytes *b, size_t cap) { return grow((void **)&b->data, &b->cap, cap, 1); }

rnnc_status rnnc_bytes_append(rnnc_bytes *b, const void *data, size_t len) {
    rnnc_status s = grow((void **)&b->data, &b->cap, b->len + len + 1, 1);
    if (s) return s;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0; /* always NUL-terminated, for convenience */
    return RNNC_OK;
}

void rnnc_bytes_free(rnnc_bytes *b) { if (!b) return; free(b->data); b->data = NULL; b->len = b->cap = 0; }
