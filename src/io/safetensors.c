/* safetensors reading and writing; see include/rnnc/safetensors.h. */
#include "rnnc/safetensors.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/io.h"
#include "rnnc/utf8.h"

static const struct { const char *name; size_t size; } dtypes[] = {
    [RNNC_DT_F32] = {"F32", 4}, [RNNC_DT_F64] = {"F64", 8}, [RNNC_DT_F16] = {"F16", 2},
    [RNNC_DT_BF16] = {"BF16", 2}, [RNNC_DT_I64] = {"I64", 8}, [RNNC_DT_I32] = {"I32", 4},
    [RNNC_DT_U32] = {"U32", 4}, [RNNC_DT_U64] = {"U64", 8}, [RNNC_DT_U8] = {"U8", 1},
    [RNNC_DT_I8] = {"I8", 1}, [RNNC_DT_BOOL] = {"BOOL", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *rnnc_dtype_name(rnnc_dtype dt) { return (size_t)dt < N_DTYPES ? dtypes[dt].name : "?"; }
size_t rnnc_dtype_size(rnnc_dtype dt) { return (size_t)dt < N_DTYPES ? dtypes[dt].size : 0; }

/* The header may not exceed this: the reference implementation's limit (100,000,000 bytes). */
#define MAX_HEADER ((uint64_t)100000000)
/* Shape entries and offsets must be below 2^53: cJSON keeps numbers as doubles, which hold every
 * integer up to there exactly and round above it. */
#define MAX_EXACT 9007199254740992.0

void rnnc_st_free(rnnc_safetensors *st) {
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (size_t i = 0; i < st->n_meta; i++) { free(st->meta_keys[i]); free(st->meta_values[i]); }
    free(st->tensors);
    free((void *)st->by_name);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->buf);
    free(st->path);
    memset(st, 0, sizeof *st);
}

/* Data order: by (begin, end) as the reference's validation sorts; the name breaks ties between
 * zero-size tensors so the order does not depend on qsort. */
static int cmp_offset(const void *a, const void *b) {
    const rnnc_st_tensor *x = a, *y = b;
    if (x->data != y->data) return x->data < y->data ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_tensor_ptr_name(const void *a, const void *b) {
    return strcmp((*(const rnnc_st_tensor *const *)a)->name, (*(const rnnc_st_tensor *const *)b)->name);
}

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Where the raw header breaks a rule cJSON does not check: the first number not spelled as a plain
 * non-negative integer (reported only if the parsed values pass, so a value error, which names its
 * tensor, comes first). */
typedef struct { size_t at, len; } lex_fault;

/* One pass over the raw header bytes for what cJSON accepts but the format does not: invalid UTF-8,
 * control characters (cJSON takes any byte below 0x21 as whitespace, and raw ones inside strings),
 * "\u0000" (C strings would cut the name there, so two different names could compare equal), and
 * numbers with a sign, fraction, exponent or leading zero. Linear; stops at the first fault. */
static rnnc_status scan_header(const unsigned char *h, size_t n, const char *file, lex_fault *lex) {
    size_t ok = rnnc_utf8_valid_prefix(h, n);
    if (ok < n)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: header is not valid UTF-8 (byte 0x%02x at header byte %zu)", file, h[ok], ok);
    lex->len = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = h[i];
        if (in_str) {
            if (c == '"') in_str = false;
            else if (c < 0x20)
                return rnnc_error(RNNC_ERR_FORMAT, "%s: raw control character 0x%02x inside a string at header byte %zu",
                                  file, c, i);
            else if (c == '\\') {
                if (i + 5 < n && h[i + 1] == 'u' && memcmp(h + i + 2, "0000", 4) == 0)
                    return rnnc_error(RNNC_ERR_FORMAT, "%s: escaped NUL (\\u0000) inside a string at header byte %zu", file, i);
                i++; /* the escaped character cannot end the string */
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '{' || c == '}' || c == '[' || c == ']' ||
                   c == ':' || c == ',') {
            /* JSON structure */
        } else if (c < 0x20 || c == 0x7f) {
            return rnnc_error(RNNC_ERR_FORMAT, "%s: control character 0x%02x at header byte %zu", file, c, i);
        } else {
            /* a number or a bare word: only plain digits without a leading zero belong in a header */
            size_t j = i;
            while (j < n && (is_digit(h[j]) || h[j] == '.' || h[j] == '-' || h[j] == '+' || (h[j] >= 'a' && h[j] <= 'z') ||
                             (h[j] >= 'A' && h[j] <= 'Z')))
                j++;
            if (j == i) j = i + 1;
            bool plain = true;
            for (size_t k = i; k < j; k++) plain = plain && is_digit(h[k]);
            if ((!plain || (h[i] == '0' && j - i > 1)) && lex->len == 0) { lex->at = i; lex->len = j - i; }
            i = j - 1;
        }
    }
    return RNNC_OK;
}

/* Reads a JSON number that must be an integer in [0, 2^53). Checks the double's range before the
 * cast: converting an out-of-range double to an integer is undefined behaviour. On failure writes
 * why into `why` (for the caller's message, which names the tensor). */
static bool json_uint(const cJSON *v, uint64_t *out, char *why, size_t why_n) {
    if (!cJSON_IsNumber(v)) { snprintf(why, why_n, "is not a number"); return false; }
    double d = v->valuedouble;
    if (signbit(d)) { snprintf(why, why_n, "(%.16g) is negative", d); return false; } /* -0 and -inf too */
    if (!(d < MAX_EXACT)) { snprintf(why, why_n, "(%.16g) is 2^53 or more (not exact in JSON)", d); return false; }
    if (d != floor(d)) { snprintf(why, why_n, "(%.16g) is not an integer", d); return false; }
    *out = (uint64_t)d;
    return true;
}

static rnnc_status parse_meta(rnnc_safetensors *st, const cJSON *meta, const char *file) {
    if (!cJSON_IsObject(meta)) return rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ is not an object", file);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    st->meta_keys = calloc(n ? n : 1, sizeof *st->meta_keys);
    st->meta_values = calloc(n ? n : 1, sizeof *st->meta_values);
    if (!st->meta_keys || !st->meta_values) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta) {
        if (!cJSON_IsString(kv))
            return rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string", file, kv->string);
        st->meta_keys[st->n_meta] = strdup(kv->string);
        st->meta_values[st->n_meta] = strdup(kv->valuestring);
        st->n_meta++;
        if (!st->meta_keys[st->n_meta - 1] || !st->meta_values[st->n_meta - 1])
            return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    }
    /* cJSON keeps every copy of a repeated key (and lookups would see only the first): refuse them.
     * Sorting a copy of the keys finds repeats in O(n log n). */
    char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    memcpy(keys, st->meta_keys, n * sizeof *keys);
    qsort(keys, n, sizeof *keys, cmp_str_ptr);
    rnnc_status s = RNNC_OK;
    for (size_t i = 1; i < n && !s; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ key '%s' appears twice", file, keys[i]);
    free(keys);
    return s;
}

static rnnc_status parse_tensor(rnnc_st_tensor *t, const cJSON *obj, const unsigned char *data, size_t data_len,
                                const char *file) {
    const char *name = obj->string;
    if (!cJSON_IsObject(obj)) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", file, name);
    /* Exactly the three fields, each once (cJSON would keep both copies of a repeated one). */
    static const char *const field_names[3] = {"dtype", "shape", "data_offsets"};
    const cJSON *field[3] = {NULL, NULL, NULL}, *f;
    cJSON_ArrayForEach(f, obj) {
        int k = 0;
        while (k < 3 && strcmp(f->string, field_names[k]) != 0) k++;
        if (k == 3)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': unknown field '%s' (expected dtype, shape, data_offsets)",
                              file, name, f->string);
        if (field[k]) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': field '%s' appears twice", file, name, f->string);
        field[k] = f;
    }
    for (int k = 0; k < 3; k++)
        if (!field[k]) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': missing field '%s'", file, name, field_names[k]);
    const cJSON *dt = field[0], *shape = field[1], *offs = field[2];

    if (!cJSON_IsString(dt)) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': dtype is not a string", file, name);
    size_t k = 0;
    while (k < N_DTYPES && strcmp(dtypes[k].name, dt->valuestring) != 0) k++;
    if (k == N_DTYPES) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': unsupported dtype '%s'", file, name, dt->valuestring);
    t->dtype = (rnnc_dtype)k;

    if (!cJSON_IsArray(shape)) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape is not an array", file, name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > RNNC_ST_MAX_DIMS) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)", file, name, nd, RNNC_ST_MAX_DIMS);
    t->ndim = nd;
    size_t numel = 1;
    int i = 0;
    char why[96];
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        uint64_t v;
        if (!json_uint(d, &v, why, sizeof why))
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape entry %d %s", file, name, i, why);
        t->shape[i] = (int64_t)v;
        if (v && numel > SIZE_MAX / v) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape overflows", file, name);
        numel *= (size_t)v;
        i++;
    }
    t->numel = numel;
    if (numel > SIZE_MAX / dtypes[k].size) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': size overflows", file, name);
    t->nbytes = numel * dtypes[k].size;

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end]", file, name);
    uint64_t b, e;
    if (!json_uint(offs->child, &b, why, sizeof why))
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets begin %s", file, name, why);
    if (!json_uint(offs->child->next, &e, why, sizeof why))
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets end %s", file, name, why);
    if (e < b)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", file, name,
                          (unsigned long long)b, (unsigned long long)e);
    if (e > data_len)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data ends at byte %llu but the file has %zu data bytes (truncated?)",
                          file, name, (unsigned long long)e, data_len);
    if (e - b != t->nbytes)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': %llu data bytes for %zu elements of %s", file, name,
                          (unsigned long long)(e - b), numel, dtypes[k].name);
    t->data = data + b;
    t->name = strdup(name);
    if (!t->name) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    return RNNC_OK;
}

/* The tensors (sorted by offset) must tile the data section exactly, as the reference's `validate`
 * requires: the first begins at 0, each where the previous ended, the last at the end of the file.
 * A gap or trailing bytes usually mean a wrong header length, which would shift every tensor. */
static rnnc_status check_tiling(const rnnc_safetensors *st, const unsigned char *data, size_t data_len, const char *file) {
    size_t end = 0;
    for (size_t i = 0; i < st->n_tensors; i++) {
        const rnnc_st_tensor *t = &st->tensors[i];
        size_t b = (size_t)(t->data - data);
        if (b != end && i == 0)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: the first tensor '%s' begins at byte %zu, not 0 (gap)", file, t->name, b);
        if (b > end)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' begins at byte %zu but the previous tensor '%s' ends at byte %zu (gap)",
                              file, t->name, b, st->tensors[i - 1].name, end);
        if (b < end)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' [%zu, %zu) overlaps tensor '%s', which ends at byte %zu (overlap)",
                              file, t->name, b, b + t->nbytes, st->tensors[i - 1].name, end);
        end = b + t->nbytes;
    }
    if (end != data_len) {
        if (st->n_tensors == 0)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: %zu bytes after the header but no tensors (trailing bytes)", file, data_len);
        return rnnc_error(RNNC_ERR_FORMAT, "%s: %zu bytes after the last tensor's data, which ends at byte %zu of %zu (trailing bytes)",
                          file, data_len - end, end, data_len);
    }
    return RNNC_OK;
}

rnnc_status rnnc_st_parse(rnnc_safetensors *st, unsigned char *buf, size_t len, const char *file) {
    memset(st, 0, sizeof *st);
    st->buf = buf;
    st->len = len;
    st->path = strdup(file);
    if (!st->path) { rnnc_st_free(st); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file); }
    rnnc_status s = RNNC_OK;
    cJSON *root = NULL;
    if (len < 8) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: not a safetensors file (%zu bytes, no header)", file, len); goto out; }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
    if (n > MAX_HEADER) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit (not safetensors?)", file,
                       (unsigned long long)n);
        goto out;
    }
    if (n > len - 8) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: header length %llu does not fit the file of %zu bytes (truncated or not safetensors)",
                       file, (unsigned long long)n, len);
        goto out;
    }
    const char *h = (const char *)buf + 8;
    if (n == 0 || h[0] != '{') { s = rnnc_error(RNNC_ERR_FORMAT, "%s: header does not start with '{'", file); goto out; }
    lex_fault lex = {0, 0};
    if ((s = scan_header(buf + 8, (size_t)n, file, &lex))) goto out;
    const char *json_end = NULL;
    root = cJSON_ParseWithLengthOpts(h, (size_t)n, &json_end, 0);
    if (!cJSON_IsObject(root)) {
        size_t at = json_end && json_end >= h && json_end <= h + n ? (size_t)(json_end - h) : 0;
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: header is not a valid JSON object (error near header byte %zu)", file, at);
        goto out;
    }
    /* cJSON stops after the object; the rest of the header may only be space padding. */
    for (const char *p = json_end; p < h + n; p++)
        if (*p != ' ') {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: junk after the header's JSON object at header byte %zu (only spaces may pad it)",
                           file, (size_t)(p - h));
            goto out;
        }
    const unsigned char *data = buf + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    size_t count = (size_t)cJSON_GetArraySize(root);
    st->tensors = calloc(count ? count : 1, sizeof *st->tensors);
    if (!st->tensors) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file); goto out; }
    const cJSON *item;
    bool seen_meta = false;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (seen_meta) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ appears twice", file); goto out; }
            seen_meta = true;
            if ((s = parse_meta(st, item, file))) goto out;
            continue;
        }
        if ((s = parse_tensor(&st->tensors[st->n_tensors], item, data, data_len, file))) goto out;
        st->n_tensors++;
    }
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_offset);
    /* A name index, sorted: rnnc_st_find searches it, and repeated names sit side by side in it,
     * found in O(n log n) (a pairwise search took 46 s for 200k tensors). */
    st->by_name = malloc((st->n_tensors ? st->n_tensors : 1) * sizeof *st->by_name);
    if (!st->by_name) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file); goto out; }
    for (size_t i = 0; i < st->n_tensors; i++) st->by_name[i] = &st->tensors[i];
    qsort((void *)st->by_name, st->n_tensors, sizeof *st->by_name, cmp_tensor_ptr_name);
    for (size_t i = 1; i < st->n_tensors; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' appears twice", file, st->by_name[i]->name);
            goto out;
        }
    if ((s = check_tiling(st, data, data_len, file))) goto out;
    if (lex.len) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: '%.*s' at header byte %zu is not a plain integer (shape entries and offsets are "
                       "written as digits, without sign, fraction, exponent or leading zero)",
                       file, (int)(lex.len > 32 ? 32 : lex.len), h + lex.at, lex.at);
        goto out;
    }
out:
    cJSON_Delete(root);
    if (s) rnnc_st_free(st);
    return s;
}

rnnc_status rnnc_st_load(rnnc_safetensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    unsigned char *buf;
    size_t len;
    rnnc_status s = rnnc_read_file(path, &buf, &len);
    if (s) return s;
    return rnnc_st_parse(st, buf, len, path);
}

const rnnc_st_tensor *rnnc_st_find(const rnnc_safetensors *st, const char *name) {
    if (!st->by_name) { /* a struct not made by rnnc_st_parse */
        for (size_t i = 0; i < st->n_tensors; i++)
            if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
        return NULL;
    }
    size_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *rnnc_st_meta(const rnnc_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, ")");
}

static rnnc_status check_shape(const rnnc_safetensors *st, const char *name, int ndim, const int64_t *shape,
                               const rnnc_st_tensor **out) {
    const rnnc_st_tensor *t = rnnc_st_find(st, name);
    if (!t) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' is missing", st->path, name);
    bool ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[160], got[160];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", st->path, name, got, want);
    }
    *out = t;
    return RNNC_OK;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) { man <<= 1; exp--; }
            bits = sign | (exp << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7F800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

rnnc_status rnnc_st_read_f32(const rnnc_safetensors *st, const char *name, int ndim, const int64_t *shape, float *dst) {
    const rnnc_st_tensor *t;
    rnnc_status s = check_shape(st, name, ndim, shape, &t);
    if (s) return s;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case RNNC_DT_F32: if (t->nbytes) memcpy(dst, p, t->nbytes); break;
    case RNNC_DT_F64:
        for (size_t i = 0; i < t->numel; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            if (isfinite(d) && fabs(d) > FLT_MAX) /* checked before the conversion, which C leaves undefined */
                return rnnc_error(RNNC_ERR_NUMERIC, "%s: tensor '%s' holds a value (%g) at element %zu that overflows float32",
                                  st->path, name, d, i);
            dst[i] = (float)d;
        }
        break;
    case RNNC_DT_F16:
        for (size_t i = 0; i < t->numel; i++) dst[i] = half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case RNNC_DT_BF16:
        for (size_t i = 0; i < t->numel; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&dst[i], &bits, 4);
        }
        break;
    default:
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected a float type", st->path, name,
                          rnnc_dtype_name(t->dtype));
    }
    /* A NaN or Inf weight would only surface later as a NaN loss far from its cause; every caller
     * stores finite values (training stops before a non-finite update), so refuse it here. */
    for (size_t i = 0; i < t->numel; i++)
        if (!isfinite(dst[i]))
            return rnnc_error(RNNC_ERR_NUMERIC, "%s: tensor '%s' holds a non-finite value (%s) at element %zu", st->path, name,
                              isnan(dst[i]) ? "nan" : dst[i] > 0 ? "inf" : "-inf", i);
    return RNNC_OK;
}

rnnc_status rnnc_st_read_i64(const rnnc_safetensors *st, const char *name, int ndim, const int64_t *shape, int64_t *dst) {
    const rnnc_st_tensor *t;
    rnnc_status s = check_shape(st, name, ndim, shape, &t);
    if (s) return s;
    const unsigned char *p = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case RNNC_DT_I64: memcpy(&dst[i], p + 8 * i, 8); break;
        case RNNC_DT_U64: { uint64_t v; memcpy(&v, p + 8 * i, 8); dst[i] = (int64_t)v; break; }
        case RNNC_DT_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = v; break; }
        case RNNC_DT_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = v; break; }
        case RNNC_DT_U8: case RNNC_DT_BOOL: dst[i] = p[i]; break;
        case RNNC_DT_I8: dst[i] = (int8_t)p[i]; break;
        default:
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected an integer type", st->path, name,
                              rnnc_dtype_name(t->dtype));
        }
    }
    return RNNC_OK;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(const rnnc_st_entry *const *)a)->name, (*(const rnnc_st_entry *const *)b)->name);
}

static bool valid_utf8(const char *s) {
    size_t n = strlen(s);
    return rnnc_utf8_valid_prefix((const unsigned char *)s, n) == n;
}

/* Size in bytes of entry e, or an error if the reader would refuse it (so save never writes a file
 * that load rejects): a bad dtype or rank, a negative or too large dimension, an overflow. */
static rnnc_status entry_bytes(const rnnc_st_entry *e, const char *path, size_t *nbytes) {
    if (!e->name || !valid_utf8(e->name)) /* not echoed: the message must stay valid text */
        return rnnc_error(RNNC_ERR_ARG, "%s: a tensor name is missing or not valid UTF-8", path);
    if (strcmp(e->name, "__metadata__") == 0)
        return rnnc_error(RNNC_ERR_ARG, "%s: '__metadata__' is reserved for the metadata, not a tensor name", path);
    if ((size_t)e->dtype >= N_DTYPES) return rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s': unknown dtype %d", path, e->name, (int)e->dtype);
    if (e->ndim < 0 || e->ndim > RNNC_ST_MAX_DIMS)
        return rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s': %d dimensions (0 to %d)", path, e->name, e->ndim, RNNC_ST_MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        if (e->shape[d] < 0 || (double)e->shape[d] >= MAX_EXACT)
            return rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s': dimension %d is %lld", path, e->name, d, (long long)e->shape[d]);
        size_t v = (size_t)e->shape[d];
        if (v && numel > SIZE_MAX / v) return rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s': shape overflows", path, e->name);
        numel *= v;
    }
    if (numel > SIZE_MAX / dtypes[e->dtype].size) return rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s': size overflows", path, e->name);
    *nbytes = numel * dtypes[e->dtype].size;
    return RNNC_OK;
}

rnnc_status rnnc_st_save(const char *path, const rnnc_st_entry *entries, size_t n,
                         const char *const *meta_keys, const char *const *meta_values, size_t n_meta) {
    const rnnc_st_entry **order = malloc((n ? n : 1) * sizeof *order);
    size_t *nbytes = malloc((n ? n : 1) * sizeof *nbytes);
    const char **keys = malloc((n_meta ? n_meta : 1) * sizeof *keys);
    cJSON *root = cJSON_CreateObject();
    char *header = NULL;
    rnnc_status s = RNNC_OK;
    if (!order || !nbytes || !keys || !root) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); goto out; }
    for (size_t i = 0; i < n; i++) order[i] = &entries[i];
    qsort(order, n, sizeof *order, cmp_entry_name);
    if (n_meta) {
        /* The reader refuses repeated keys and invalid UTF-8; do not write what it cannot read. */
        for (size_t i = 0; i < n_meta; i++) {
            if (!meta_keys[i] || !meta_values[i] || !valid_utf8(meta_keys[i]) || !valid_utf8(meta_values[i])) {
                s = rnnc_error(RNNC_ERR_ARG, "%s: metadata pair %zu is missing or not valid UTF-8", path, i);
                goto out;
            }
            keys[i] = meta_keys[i];
        }
        qsort(keys, n_meta, sizeof *keys, cmp_str_ptr);
        for (size_t i = 1; i < n_meta; i++)
            if (strcmp(keys[i - 1], keys[i]) == 0) {
                s = rnnc_error(RNNC_ERR_ARG, "%s: metadata key '%s' given twice", path, keys[i]);
                goto out;
            }
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        if (!meta) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory writing the metadata", path); goto out; }
        for (size_t i = 0; i < n_meta; i++)
            if (!cJSON_AddStringToObject(meta, meta_keys[i], meta_values[i])) {
                s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory writing metadata key '%s'", path, meta_keys[i]);
                goto out;
            }
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const rnnc_st_entry *e = order[i];
        if ((s = entry_bytes(e, path, &nbytes[i]))) goto out;
        if (i && strcmp(order[i - 1]->name, e->name) == 0) { s = rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s' given twice", path, e->name); goto out; }
        size_t nb = nbytes[i];
        if ((double)off + (double)nb >= MAX_EXACT) { s = rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s' ends past 2^53 bytes", path, e->name); goto out; }
        double shp[RNNC_ST_MAX_DIMS];
        for (int d = 0; d < e->ndim; d++) shp[d] = (double)e->shape[d];
        double range[2] = {(double)off, (double)(off + nb)};
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON *sh = t && cJSON_AddStringToObject(t, "dtype", rnnc_dtype_name(e->dtype)) ? cJSON_CreateDoubleArray(shp, e->ndim) : NULL;
        if (sh && !cJSON_AddItemToObject(t, "shape", sh)) { cJSON_Delete(sh); sh = NULL; }
        cJSON *rg = sh ? cJSON_CreateDoubleArray(range, 2) : NULL;
        if (rg && !cJSON_AddItemToObject(t, "data_offsets", rg)) { cJSON_Delete(rg); rg = NULL; }
        if (!rg) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory writing the header entry of tensor '%s'", path, e->name); goto out; }
        off += nb;
    }
    header = cJSON_PrintUnformatted(root);
    if (!header) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); goto out; }
    size_t hlen = strlen(header), padded = (hlen + 7) / 8 * 8; /* pad with spaces to 8-byte alignment */
    rnnc_atomic_file af;
    if ((s = rnnc_atomic_open(&af, path))) goto out;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    bool ok = fwrite(lenbuf, 1, 8, af.fp) == 8 && fwrite(header, 1, hlen, af.fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', af.fp) != EOF;
    for (size_t i = 0; ok && i < n; i++) ok = nbytes[i] == 0 || fwrite(order[i]->data, 1, nbytes[i], af.fp) == nbytes[i];
    if (!ok) {
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed (the old file is unchanged)", path);
        rnnc_atomic_abort(&af);
        goto out;
    }
    s = rnnc_atomic_commit(&af);
out:
    free(header);
    cJSON_Delete(root);
    free(keys);
    free(nbytes);
    free(order);
    return s;
}
