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

#ifdef __cplusplus
extern "C" {
#endif

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

/* Id files: whitespace-separated non-negative decimal token ids in a text file ("-" = stdin), or
 * the binary form below. Errors name the file and the 0-based position of the bad token. *ids is
 * malloc'd. rnnc_ids_read_text is rnnc_ids_read under its older name: both read either form. */
rnnc_status rnnc_ids_read_text(const char *path, int32_t **ids, size_t *len);

/* Binary id files are NumPy .npy files (format 1.0 or 2.0) of one dimension with dtype '<u4' or
 * '<i4': what `np.save(path, np.asarray(ids, np.uint32))` writes and `np.load` reads, and what
 * `rnnc tokenizer encode --format binary` writes. They start with the 6 bytes "\x93NUMPY", which
 * no text id file can (see docs/FORMATS.md, "Id files"). */
#define RNNC_NPY_MAGIC "\x93NUMPY"
#define RNNC_NPY_HEADER_MAX 128
/* An id file of either kind, told apart by that magic ("-" = stdin). Every id must be below 2^31;
 * errors name the file (and the 0-based position of a bad id, or what is wrong with the header). */
rnnc_status rnnc_ids_read(const char *path, int32_t **ids, size_t *len);
/* The same on bytes in memory; `name` is used in messages. */
rnnc_status rnnc_ids_parse(const unsigned char *data, size_t n, const char *name, int32_t **ids, size_t *len);
/* The .npy header for n ids of dtype '<u4' (1.0, padded to 64 bytes as NumPy does): written to
 * out, its length returned. The ids follow as little-endian u32. */
size_t rnnc_ids_npy_header(uint64_t n, unsigned char out[RNNC_NPY_HEADER_MAX]);
/* RNNC_ERR_RANGE "<what>: id X at position P is outside the vocabulary of V" for the first bad id. */
rnnc_status rnnc_ids_check_vocab(const int32_t *ids, size_t len, int V, const char *what);

#ifdef __cplusplus
}
#endif

#endif
