/* safetensors reading and writing; see include/rnnc/safetensors.h. */
#include "rnnc/safetensors.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/io.h"

static const struct { const char *name; size_t size; } dtypes[] = {
    [RNNC_DT_F32] = {"F32", 4}, [RNNC_DT_F64] = {"F64", 8}, [RNNC_DT_F16] = {"F16", 2},
    [RNNC_DT_BF16] = {"BF16", 2}, [RNNC_DT_I64] = {"I64", 8}, [RNNC_DT_I32] = {"I32", 4},
    [RNNC_DT_U32] = {"U32", 4}, [RNNC_DT_U64] = {"U64", 8}, [RNNC_DT_U8] = {"U8", 1},
    [RNNC_DT_I8] = {"I8", 1}, [RNNC_DT_BOOL] = {"BOOL", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *rnnc_dtype_name(rnnc_dtype dt) { return (size_t)dt < N_DTYPES ? dtypes[dt].name : "?"; }
size_t rnnc_dtype_size(rnnc_dtype dt) { return (size_t)dt < N_DTYPES ? dtypes[dt].size : 0; }

/* The header may not exceed this (the reference implementation uses 100 MB too). */
#define MAX_HEADER ((uint64_t)100 << 20)

void rnnc_st_free(rnnc_safetensors *st) {
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (size_t i = 0; i < st->n_meta; i++) { free(st->meta_keys[i]); free(st->meta_values[i]); }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->buf);
    free(st->path);
    memset(st, 0, sizeof *st);
}

static int cmp_offset(const void *a, const void *b) {
    const rnnc_st_tensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
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
    return RNNC_OK;
}

static rnnc_status parse_tensor(rnnc_st_tensor *t, const cJSON *obj, const unsigned char *data, size_t data_len,
                                const char *file) {
    const char *name = obj->string;
    if (!cJSON_IsObject(obj)) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", file, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(obj, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(obj, "data_offsets");
    if (!cJSON_IsString(dt)) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': missing dtype", file, name);
    size_t k = 0;
    while (k < N_DTYPES && strcmp(dtypes[k].name, dt->valuestring) != 0) k++;
    if (k == N_DTYPES) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': unsupported dtype '%s'", file, name, dt->valuestring);
    t->dtype = (rnnc_dtype)k;
    if (!cJSON_IsArray(shape)) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': missing shape", file, name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > RNNC_ST_MAX_DIMS) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)", file, name, nd, RNNC_ST_MAX_DIMS);
    t->ndim = nd;
    size_t numel = 1;
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble != (double)(int64_t)d->valuedouble || d->valuedouble > 9e15)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape entry %d is not a non-negative integer", file, name, i);
        t->shape[i] = (int64_t)d->valuedouble;
        if (t->shape[i] && numel > SIZE_MAX / (size_t)t->shape[i])
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape overflows", file, name);
        numel *= (size_t)t->shape[i];
    }
    t->numel = numel;
    if (numel > SIZE_MAX / dtypes[k].size) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': size overflows", file, name);
    t->nbytes = numel * dtypes[k].size;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end]", file, name);
    double b = cJSON_GetArrayItem(offs, 0)->valuedouble, e = cJSON_GetArrayItem(offs, 1)->valuedouble;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(offs, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(offs, 1)) || b < 0 || e < b ||
        b != (double)(uint64_t)b || e != (double)(uint64_t)e)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': bad data_offsets", file, name);
    if (e > (double)data_len)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data ends at byte %.0f but the file has %zu data bytes (truncated?)",
                          file, name, e, data_len);
    if ((size_t)(e - b) != t->nbytes)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': %.0f data bytes for %zu elements of %s", file, name, e - b,
                          numel, dtypes[k].name);
    t->data = data + (size_t)b;
    t->name = strdup(name);
    if (!t->name) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
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
    if (n > MAX_HEADER || n > len - 8) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: header length %llu does not fit the file of %zu bytes (truncated or not safetensors)",
                       file, (unsigned long long)n, len);
        goto out;
    }
    root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)n);
    if (!cJSON_IsObject(root)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: header is not a JSON object", file); goto out; }
    const unsigned char *data = buf + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    size_t count = (size_t)cJSON_GetArraySize(root);
    st->tensors = calloc(count ? count : 1, sizeof *st->tensors);
    if (!st->tensors) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file); goto out; }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (st->meta_keys) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ appears twice", file); goto out; }
            if ((s = parse_meta(st, item, file))) goto out;
            continue;
        }
        for (size_t i = 0; i < st->n_tensors; i++)
            if (strcmp(st->tensors[i].name, item->string) == 0) {
                s = rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' appears twice", file, item->string);
                goto out;
            }
        if ((s = parse_tensor(&st->tensors[st->n_tensors], item, data, data_len, file))) goto out;
        st->n_tensors++;
    }
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_offset);
    for (size_t i = 1; i < st->n_tensors; i++)
        if (st->tensors[i - 1].data + st->tensors[i - 1].nbytes > st->tensors[i].data) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", file, st->tensors[i - 1].name, st->tensors[i].name);
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
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
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
    case RNNC_DT_F32: memcpy(dst, p, t->nbytes); break;
    case RNNC_DT_F64:
        for (size_t i = 0; i < t->numel; i++) { double d; memcpy(&d, p + 8 * i, 8); dst[i] = (float)d; }
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

rnnc_status rnnc_st_save(const char *path, const rnnc_st_entry *entries, size_t n,
                         const char *const *meta_keys, const char *const *meta_values, size_t n_meta) {
    const rnnc_st_entry **order = malloc((n ? n : 1) * sizeof *order);
    cJSON *root = cJSON_CreateObject();
    char *header = NULL;
    rnnc_status s = RNNC_OK;
    if (!order || !root) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); goto out; }
    for (size_t i = 0; i < n; i++) order[i] = &entries[i];
    qsort(order, n, sizeof *order, cmp_entry_name);
    if (n_meta) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (size_t i = 0; i < n_meta; i++) cJSON_AddStringToObject(meta, meta_keys[i], meta_values[i]);
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const rnnc_st_entry *e = order[i];
        if (i && strcmp(order[i - 1]->name, e->name) == 0) { s = rnnc_error(RNNC_ERR_ARG, "%s: tensor '%s' given twice", path, e->name); goto out; }
        size_t numel = 1;
        double shp[RNNC_ST_MAX_DIMS];
        for (int d = 0; d < e->ndim; d++) { numel *= (size_t)e->shape[d]; shp[d] = (double)e->shape[d]; }
        size_t nb = numel * rnnc_dtype_size(e->dtype);
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON_AddStringToObject(t, "dtype", rnnc_dtype_name(e->dtype));
        cJSON_AddItemToObject(t, "shape", cJSON_CreateDoubleArray(shp, e->ndim));
        double range[2] = {(double)off, (double)(off + nb)};
        cJSON_AddItemToObject(t, "data_offsets", cJSON_CreateDoubleArray(range, 2));
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
    for (size_t i = 0; ok && i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < order[i]->ndim; d++) numel *= (size_t)order[i]->shape[d];
        size_t nb = numel * rnnc_dtype_size(order[i]->dtype);
        ok = nb == 0 || fwrite(order[i]->data, 1, nb, af.fp) == nb;
    }
    if (!ok) {
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed (the old file is unchanged)", path);
        rnnc_atomic_abort(&af);
        goto out;
    }
    s = rnnc_atomic_commit(&af);
out:
    free(header);
    cJSON_Delete(root);
    free(order);
    return s;
}
