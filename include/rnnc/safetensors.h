/* rnnc — safetensors files: an 8-byte little-endian header length N, N bytes of JSON naming each
 * tensor's dtype, shape and [begin, end) byte range in the data section, then the raw data.
 * "__metadata__" in the header is a string-to-string map (rnnc keeps its config there).
 *
 * The reader is strict, like the reference implementation's validation, and names the file and the
 * tensor or key in every error. It accepts exactly:
 *  - N <= 100,000,000 (else "exceeds the 100 MB limit") and 8 + N <= the file size ("does not fit");
 *  - a header that is valid UTF-8, starts with '{', is one JSON object followed only by spaces
 *    (0x20) up to N, and holds no raw control characters (other than JSON whitespace between
 *    tokens) and no escaped NUL ("\u0000");
 *  - no key twice anywhere: tensor names, __metadata__, metadata keys, fields of an entry;
 *  - "__metadata__" (at most once): an object whose values are all strings;
 *  - every other key a tensor whose entry has exactly the fields dtype (F32 F64 F16 BF16 I64 I32
 *    U32 U64 U8 I8 BOOL), shape (at most 8 entries) and data_offsets ([begin, end]);
 *  - shape entries and offsets: integers in [0, 2^53) written as plain digits (no sign, fraction,
 *    exponent or leading zero); the shape's element count times the dtype size must not overflow
 *    and must equal end - begin;
 *  - tensors that, sorted by (begin, end), tile the data section exactly: the first begins at 0,
 *    each where the previous ended, the last at the end of the file (no gap, overlap or trailing
 *    bytes). Zero-size tensors (begin == end) are allowed anywhere in that sequence.
 * No alignment of the data is required. rnnc_st_read_f32 also refuses NaN and Inf values.
 * Writing is atomic (temp file, fsync, rename) and refuses what the reader would refuse. */
#ifndef RNNC_SAFETENSORS_H
#define RNNC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RNNC_DT_F32, RNNC_DT_F64, RNNC_DT_F16, RNNC_DT_BF16,
    RNNC_DT_I64, RNNC_DT_I32, RNNC_DT_U32, RNNC_DT_U64, RNNC_DT_U8, RNNC_DT_I8, RNNC_DT_BOOL,
} rnnc_dtype;

const char *rnnc_dtype_name(rnnc_dtype dt); /* "F32", ... */
size_t rnnc_dtype_size(rnnc_dtype dt);

#define RNNC_ST_MAX_DIMS 8

typedef struct {
    char *name;
    rnnc_dtype dtype;
    int ndim;
    int64_t shape[RNNC_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const unsigned char *data; /* points into the loaded file; little-endian */
} rnnc_st_tensor;

typedef struct {
    char *path;
    unsigned char *buf; /* the whole file */
    size_t len;
    rnnc_st_tensor *tensors; /* in file order of their data offsets */
    size_t n_tensors;
    char **meta_keys, **meta_values;
    size_t n_meta;
    const rnnc_st_tensor **by_name; /* the tensors sorted by name, for rnnc_st_find */
    char *strings; /* one block holding every name, metadata key and value (NULL: each is its own
                    * allocation, as in a struct not made by rnnc_st_parse); rnnc_st_free frees it */
} rnnc_safetensors;

rnnc_status rnnc_st_load(rnnc_safetensors *st, const char *path);
/* Parses an in-memory file (takes ownership of buf, which must come from malloc). */
rnnc_status rnnc_st_parse(rnnc_safetensors *st, unsigned char *buf, size_t len, const char *name_for_errors);
void rnnc_st_free(rnnc_safetensors *st);

const rnnc_st_tensor *rnnc_st_find(const rnnc_safetensors *st, const char *name);
/* Metadata value for key, or NULL. */
const char *rnnc_st_meta(const rnnc_safetensors *st, const char *key);

/* Copies tensor `name` into dst as float32, converting from F32/F64/F16/BF16. The tensor must
 * exist and have exactly the given shape; errors name the file, the tensor, and the expected and
 * found shape or dtype. A NaN or Inf (or an F64 value beyond float32's range) is refused with
 * RNNC_ERR_NUMERIC naming the first bad element; dst may then hold part of the values. */
rnnc_status rnnc_st_read_f32(const rnnc_safetensors *st, const char *name, int ndim, const int64_t *shape, float *dst);
/* Same for integer tensors (I64/I32/U32/U64/U8/I8/BOOL) into int64. */
rnnc_status rnnc_st_read_i64(const rnnc_safetensors *st, const char *name, int ndim, const int64_t *shape, int64_t *dst);

/* A tensor to write: data holds numel * dtype_size bytes in the host's (little-endian) order. */
typedef struct {
    const char *name;
    rnnc_dtype dtype;
    int ndim;
    int64_t shape[RNNC_ST_MAX_DIMS];
    const void *data;
} rnnc_st_entry;

/* Writes the tensors (sorted by name in the header, as the reference implementation does) and the
 * metadata pairs atomically. Refuses (RNNC_ERR_ARG) a repeated tensor name or metadata key, a name
 * "__metadata__", names or metadata that are not valid UTF-8, a negative dimension or an offset
 * at or above 2^53 bytes. */
rnnc_status rnnc_st_save(const char *path, const rnnc_st_entry *entries, size_t n,
                         const char *const *meta_keys, const char *const *meta_values, size_t n_meta);

#ifdef __cplusplus
}
#endif

#endif
