/* rnnc — growable arrays of token ids and of bytes, used across the tokenizer API. */
#ifndef RNNC_BUF_H
#define RNNC_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct { uint32_t *data; size_t len, cap; } rnnc_ids;
typedef struct { unsigned char *data; size_t len, cap; } rnnc_bytes;

rnnc_status rnnc_ids_reserve(rnnc_ids *v, size_t cap);
rnnc_status rnnc_ids_push(rnnc_ids *v, uint32_t id);
void rnnc_ids_free(rnnc_ids *v);

rnnc_status rnnc_bytes_reserve(rnnc_bytes *b, size_t cap);
rnnc_status rnnc_bytes_append(rnnc_bytes *b, const void *data, size_t len);
void rnnc_bytes_free(rnnc_bytes *b);

#ifdef __cplusplus
}
#endif

#endif
