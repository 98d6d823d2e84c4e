/* safetensors reading and writing; see include/rnnc/safetensors.h. */
#include "rnnc/safetensors.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
/* Shape entries and offsets must be below 2^53: JSON readers keep numbers as doubles, which hold
 * every integer up to there exactly and round above it. */
#define MAX_EXACT 9007199254740992.0
/* Arrays and objects nested deeper than this are refused (the limit of cJSON, which parsed the
 * header before). A valid header nests 3 deep. */
#define MAX_DEPTH 1000

void rnnc_st_free(rnnc_safetensors *st) {
    if (!st) return;
    if (st->strings) {
        free(st->strings); /* every name, metadata key and value of a parsed file */
    } else { /* a struct filled by other means: each string its own allocation */
        for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
        for (size_t i = 0; i < st->n_meta; i++) { free(st->meta_keys[i]); free(st->meta_values[i]); }
    }
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

/* The faults of the header text that rank before any JSON error: invalid UTF-8 (the first bad
 * byte), then the first control character (raw inside a string, or outside one other than JSON
 * white space; cJSON took any byte below 0x21 for white space) or escaped NUL ("\u0000": C strings
 * would cut a name there, so two different names could compare equal). The parser refuses all of
 * these as well; when it stops on a fault, this pass over the whole header finds the one to name. */
static rnnc_status text_fault(const unsigned char *h, size_t n, const char *file) {
    size_t ok = rnnc_utf8_valid_prefix(h, n);
    if (ok < n)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: header is not valid UTF-8 (byte 0x%02x at header byte %zu)", file, h[ok], ok);
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
        } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
            return rnnc_error(RNNC_ERR_FORMAT, "%s: control character 0x%02x at header byte %zu", file, c, i);
        }
    }
    return RNNC_OK;
}

/* ---- The header parser: one pass over exactly the safetensors header grammar, no tree. ----
 * It checks the JSON (strings with their escapes and UTF-8, numbers, nesting) as it reads, decodes
 * every name, metadata key and value into one block (st->strings: decoding never lengthens a
 * string and its quotes make room for the NUL, so the header's length is enough), and fills
 * st->tensors and the metadata arrays directly. It stops at the first fault; header_fault then
 * names the fault that the reader's order puts first (see there). */

/* How a step ended: P_SYNTAX and P_JUNK leave the header byte in err_at; P_ERROR has recorded its
 * message with rnnc_error and its status in `status`. */
enum { P_OK, P_SYNTAX, P_JUNK, P_ERROR };

/* The bytes between a string's quotes, and whether they hold an escape to decode. */
typedef struct { size_t at, len; bool escaped; } str_span;

/* A value where a shape entry or an offset belongs: ok if it is a number that is an integer in
 * [0, 2^53), its value then in v; otherwise d (if is_num) says what it is for the message. */
typedef struct { bool is_num, ok; uint64_t v; double d; } num_val;

typedef struct {
    const unsigned char *h; /* the header text, n bytes; pos: where the parser is */
    size_t n, pos;
    int depth;
    size_t err_at;
    rnnc_status status;
    const char *file;
    size_t lex_at, lex_len;         /* the first number not spelled as a plain integer (none: 0) */
    rnnc_safetensors *st;
    size_t cap, meta_cap;           /* of st->tensors, st->meta_keys and st->meta_values */
    size_t used;                    /* bytes of st->strings taken */
    const unsigned char *data;      /* the data section, data_len bytes */
    size_t data_len;
} parser;

static int syntax_at(parser *p, size_t at) { p->err_at = at; return P_SYNTAX; }
static int failed(parser *p, rnnc_status s) { p->status = s; return P_ERROR; }

static void skip_ws(parser *p) {
    if (p->pos < p->n && p->h[p->pos] > ' ') return; /* the usual case: no white space */
    while (p->pos < p->n) {
        unsigned char c = p->h[p->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
        p->pos++;
    }
}

/* After a member's key: white space, ':', white space. */
static int expect_colon(parser *p) {
    skip_ws(p);
    if (p->pos >= p->n || p->h[p->pos] != ':') return syntax_at(p, p->pos);
    p->pos++;
    skip_ws(p);
    return P_OK;
}

/* After a member or element: ',' (then white space: more follow) or the closing bracket. Returns
 * P_OK with *more set, or P_SYNTAX. */
static int next_member(parser *p, unsigned char close, bool *more) {
    skip_ws(p);
    if (p->pos < p->n && p->h[p->pos] == ',') { p->pos++; skip_ws(p); *more = true; return P_OK; }
    if (p->pos < p->n && p->h[p->pos] == close) { p->pos++; *more = false; return P_OK; }
    return syntax_at(p, p->pos);
}

/* Enters the object or array whose bracket is at p->pos; *empty if it closes at once. */
static int open_container(parser *p, unsigned char close, bool *empty) {
    if (p->depth >= MAX_DEPTH) return syntax_at(p, p->pos);
    p->depth++;
    p->pos++;
    skip_ws(p);
    *empty = p->pos < p->n && p->h[p->pos] == close;
    if (*empty) p->pos++;
    return P_OK;
}

static bool hex4(const unsigned char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (uint32_t)(c - 'A' + 10);
        else return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* The \u escape at s (m bytes readable): its length (6, or 12 for a surrogate pair) with its code
 * point in *cp, or 0 if it is malformed, a lone surrogate or U+0000. */
static size_t u_escape(const unsigned char *s, size_t m, uint32_t *cp) {
    uint32_t hi, lo;
    if (m < 6 || !hex4(s + 2, &hi) || hi == 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) return 0;
    if (hi < 0xD800 || hi > 0xDBFF) { *cp = hi; return 6; }
    if (m < 12 || s[6] != '\\' || s[7] != 'u' || !hex4(s + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 12;
}

/* A byte that stands for itself in a string: printable ASCII other than '"' and '\'. */
static bool plain_byte(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

/* Checks the string whose '"' is at p->pos and moves past it: bytes from 0x20 up, valid UTF-8,
 * only the JSON escapes (\" \\ \/ \b \f \n \r \t \uXXXX, surrogates only in pairs, not \u0000). */
static int lex_string(parser *p, str_span *out) {
    const unsigned char *h = p->h;
    size_t n = p->n, i = p->pos + 1;
    bool escaped = false;
    for (;;) {
        while (i < n && plain_byte(h[i])) i++;
        if (i >= n) return syntax_at(p, i);
        unsigned char c = h[i];
        if (c == '"') break;
        if (c == '\\') {
            size_t k = 0;
            uint32_t cp;
            if (i + 1 < n) switch (h[i + 1]) {
                case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': k = 2; break;
                case 'u': k = u_escape(h + i, n - i, &cp); break;
                default: break;
                }
            if (!k) return syntax_at(p, i);
            escaped = true;
            i += k;
        } else if (c < 0x80) {
            return syntax_at(p, i); /* a raw control character */
        } else {
            uint32_t cp;
            int k = rnnc_utf8_decode(h + i, n - i, &cp);
            if (!k) return syntax_at(p, i);
            i += (size_t)k;
        }
    }
    out->at = p->pos + 1;
    out->len = i - out->at;
    out->escaped = escaped;
    p->pos = i + 1;
    return P_OK;
}

/* Writes string s (checked by lex_string) decoded, and a NUL, to out; returns its length. */
static size_t decode_string(const unsigned char *h, str_span s, char *out) {
    const unsigned char *r = h + s.at, *end = r + s.len;
    if (!s.escaped) {
        memcpy(out, r, s.len);
        out[s.len] = 0;
        return s.len;
    }
    size_t k = 0;
    while (r < end) {
        const unsigned char *bs = memchr(r, '\\', (size_t)(end - r));
        size_t run = (size_t)((bs ? bs : end) - r);
        memcpy(out + k, r, run);
        k += run;
        r += run;
        if (!bs) break;
        switch (r[1]) {
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'u': {
            uint32_t cp = 0;
            size_t m = u_escape(r, (size_t)(end - r), &cp);
            k += (size_t)rnnc_utf8_encode(cp, (unsigned char *)out + k);
            r += m - 2;
            break;
        }
        default: out[k++] = (char)r[1]; break; /* " \ / */
        }
        r += 2;
    }
    out[k] = 0;
    return k;
}

/* s decoded into the free part of st->strings, not kept (a field name or dtype to compare). */
static char *scratch_string(parser *p, str_span s) {
    char *out = p->st->strings + p->used;
    decode_string(p->h, s, out);
    return out;
}

static char *keep_string(parser *p, str_span s) {
    char *out = p->st->strings + p->used;
    p->used += decode_string(p->h, s, out) + 1;
    return out;
}

static bool span_is(parser *p, str_span s, const char *word) {
    if (s.escaped) return strcmp(scratch_string(p, s), word) == 0;
    return s.len == strlen(word) && memcmp(p->h + s.at, word, s.len) == 0;
}

/* A character cJSON took into a number (it converted them with strtod). */
static bool num_char(unsigned char c) { return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'; }

/* Reads the number at p->pos (a '-' or a digit is there). Plain digits without a leading zero,
 * up to 15 of them (so below 2^53), are read directly. Anything else is read as cJSON read it,
 * the longest run of number characters given to strtod, so that a sign, fraction or exponent
 * gives the message it always has: a value that is no integer in range is refused with its value
 * by the caller (naming the tensor), and a right value spelled otherwise than as plain digits is
 * noted in lex_at/lex_len, refused only once everything else has passed. */
static int lex_number(parser *p, num_val *out) {
    const unsigned char *h = p->h;
    size_t n = p->n, start = p->pos, i = start;
    uint64_t v = 0;
    if (h[i] == '0') i++;
    else
        while (i < n && is_digit(h[i]) && i - start < 15) v = v * 10 + (uint64_t)(h[i++] - '0');
    if (i > start && (i == n || !num_char(h[i]))) {
        out->is_num = out->ok = true;
        out->v = v;
        out->d = (double)v;
        p->pos = i;
        return P_OK;
    }
    size_t len = start;
    while (len < n && num_char(h[len])) len++;
    len -= start;
    char small[64], *text = len < sizeof small ? small : malloc(len + 1);
    if (!text) return failed(p, rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", p->file));
    char point = localeconv()->decimal_point[0]; /* strtod follows the locale, as cJSON allowed for */
    for (size_t k = 0; k < len; k++) text[k] = h[start + k] == '.' ? point : (char)h[start + k];
    text[len] = 0;
    char *end;
    double d = strtod(text, &end);
    size_t used = (size_t)(end - text);
    if (text != small) free(text);
    if (used == 0) return syntax_at(p, start);
    bool plain = !(h[start] == '0' && used > 1);
    for (size_t k = 0; k < used && plain; k++) plain = is_digit(h[start + k]);
    if (!plain && !p->lex_len) { p->lex_at = start; p->lex_len = used; }
    /* the range is checked on the double before the cast, which C leaves undefined outside it */
    out->is_num = true;
    out->d = d;
    out->ok = !signbit(d) && d < MAX_EXACT && d == floor(d); /* signbit: -0 and -inf too */
    out->v = out->ok ? (uint64_t)d : 0;
    p->pos = start + used;
    return P_OK;
}

static int skip_value(parser *p);

/* Checks the object or array at p->pos as JSON, keeping nothing. */
static int skip_container(parser *p, unsigned char close) {
    bool more, empty;
    int r = open_container(p, close, &empty);
    if (r || empty) { if (!r) p->depth--; return r; }
    do {
        if (close == '}') {
            str_span key;
            if (p->pos >= p->n || p->h[p->pos] != '"') return syntax_at(p, p->pos);
            if ((r = lex_string(p, &key)) || (r = expect_colon(p))) return r;
        }
        if ((r = skip_value(p)) || (r = next_member(p, close, &more))) return r;
    } while (more);
    p->depth--;
    return P_OK;
}

/* Checks the JSON value at p->pos and moves past it, keeping nothing. */
static int skip_value(parser *p) {
    static const char *const words[3] = {"true", "false", "null"};
    if (p->pos >= p->n) return syntax_at(p, p->pos);
    unsigned char c = p->h[p->pos];
    if (c == '"') { str_span s; return lex_string(p, &s); }
    if (c == '{') return skip_container(p, '}');
    if (c == '[') return skip_container(p, ']');
    if (c == '-' || is_digit(c)) { num_val v; return lex_number(p, &v); }
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(words[k]);
        if (p->n - p->pos >= len && memcmp(p->h + p->pos, words[k], len) == 0) { p->pos += len; return P_OK; }
    }
    return syntax_at(p, p->pos);
}

/* Reads the array at p->pos, of what should be numbers: the first `keep` entries into vals (any
 * that is not a number, checked as JSON, as such) and the count of them all into *count. */
static int parse_num_array(parser *p, num_val *vals, size_t keep, size_t *count) {
    bool more, empty;
    size_t k = 0;
    int r = open_container(p, ']', &empty);
    if (r) return r;
    if (!empty) {
        do {
            if (p->pos >= p->n) return syntax_at(p, p->pos);
            num_val v = {false, false, 0, 0.0};
            unsigned char c = p->h[p->pos];
            if ((r = c == '-' || is_digit(c) ? lex_number(p, &v) : skip_value(p))) return r;
            if (k < keep) vals[k] = v;
            k++;
            if ((r = next_member(p, ']', &more))) return r;
        } while (more);
    }
    p->depth--;
    *count = k;
    return P_OK;
}

static void num_why(const num_val *v, char *why, size_t n) {
    if (!v->is_num) snprintf(why, n, "is not a number");
    else if (signbit(v->d)) snprintf(why, n, "(%.16g) is negative", v->d);
    else if (!(v->d < MAX_EXACT)) snprintf(why, n, "(%.16g) is 2^53 or more (not exact in JSON)", v->d);
    else snprintf(why, n, "(%.16g) is not an integer", v->d);
}

static int grow_meta(parser *p) {
    rnnc_safetensors *st = p->st;
    size_t cap = p->meta_cap ? 2 * p->meta_cap : 8;
    char **k = realloc(st->meta_keys, cap * sizeof *k);
    if (k) st->meta_keys = k;
    char **v = k ? realloc(st->meta_values, cap * sizeof *v) : NULL;
    if (v) st->meta_values = v;
    if (!k || !v) return failed(p, rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", p->file));
    p->meta_cap = cap;
    return P_OK;
}

/* "__metadata__": an object of string values, no key twice. */
static int parse_meta(parser *p) {
    rnnc_safetensors *st = p->st;
    if (p->h[p->pos] != '{') return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ is not an object", p->file));
    bool more, empty;
    int r = open_container(p, '}', &empty);
    if (r) return r;
    if (!empty) {
        do {
            str_span ks, vs;
            if (p->pos >= p->n || p->h[p->pos] != '"') return syntax_at(p, p->pos);
            if ((r = lex_string(p, &ks)) || (r = expect_colon(p))) return r;
            char *key = keep_string(p, ks);
            if (p->pos >= p->n || p->h[p->pos] != '"')
                return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string", p->file, key));
            if ((r = lex_string(p, &vs))) return r;
            if (st->n_meta == p->meta_cap && (r = grow_meta(p))) return r;
            st->meta_keys[st->n_meta] = key;
            st->meta_values[st->n_meta++] = keep_string(p, vs);
            if ((r = next_member(p, '}', &more))) return r;
        } while (more);
    }
    p->depth--;
    /* Repeated keys (lookups would see only the first) sit side by side in a sorted copy. */
    if (st->n_meta < 2) return P_OK;
    char **keys = malloc(st->n_meta * sizeof *keys);
    if (!keys) return failed(p, rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", p->file));
    memcpy(keys, st->meta_keys, st->n_meta * sizeof *keys);
    qsort(keys, st->n_meta, sizeof *keys, cmp_str_ptr);
    r = P_OK;
    for (size_t i = 1; i < st->n_meta && !r; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            r = failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ key '%s' appears twice", p->file, keys[i]));
    free(keys);
    return r;
}

enum { F_DTYPE, F_SHAPE, F_OFFSETS };
static const char *const field_names[3] = {"dtype", "shape", "data_offsets"};

/* What a tensor's entry held, checked once the entry is read, in the order the reader has always
 * checked it: the fields, then dtype, shape and data_offsets. */
typedef struct {
    bool seen[3], dtype_is_str, shape_is_arr, offs_is_arr;
    str_span dtype;
    num_val shape[RNNC_ST_MAX_DIMS], offs[2];
    size_t ndim, n_offs;
} entry;

static int check_entry(parser *p, rnnc_st_tensor *t, const entry *e) {
    const char *file = p->file, *name = t->name;
    for (int k = 0; k < 3; k++)
        if (!e->seen[k]) return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': missing field '%s'", file, name, field_names[k]));
    if (!e->dtype_is_str) return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': dtype is not a string", file, name));
    size_t k = 0;
    while (k < N_DTYPES && !span_is(p, e->dtype, dtypes[k].name)) k++;
    if (k == N_DTYPES)
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': unsupported dtype '%s'", file, name, scratch_string(p, e->dtype)));
    t->dtype = (rnnc_dtype)k;

    if (!e->shape_is_arr) return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape is not an array", file, name));
    if (e->ndim > RNNC_ST_MAX_DIMS)
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': %zu dimensions (at most %d)", file, name, e->ndim, RNNC_ST_MAX_DIMS));
    t->ndim = (int)e->ndim;
    size_t numel = 1;
    char why[96];
    for (size_t i = 0; i < e->ndim; i++) {
        if (!e->shape[i].ok) {
            num_why(&e->shape[i], why, sizeof why);
            return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape entry %zu %s", file, name, i, why));
        }
        uint64_t v = e->shape[i].v;
        t->shape[i] = (int64_t)v;
        if (v && numel > SIZE_MAX / v) return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': shape overflows", file, name));
        numel *= (size_t)v;
    }
    t->numel = numel;
    if (numel > SIZE_MAX / dtypes[k].size) return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': size overflows", file, name));
    t->nbytes = numel * dtypes[k].size;

    if (!e->offs_is_arr || e->n_offs != 2)
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end]", file, name));
    for (int i = 0; i < 2; i++)
        if (!e->offs[i].ok) {
            num_why(&e->offs[i], why, sizeof why);
            return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets %s %s", file, name, i ? "end" : "begin", why));
        }
    uint64_t b = e->offs[0].v, end = e->offs[1].v;
    if (end < b)
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", file, name,
                                    (unsigned long long)b, (unsigned long long)end));
    if (end > p->data_len)
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': data ends at byte %llu but the file has %zu data bytes (truncated?)",
                                    file, name, (unsigned long long)end, p->data_len));
    if (end - b != t->nbytes)
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': %llu data bytes for %zu elements of %s", file, name,
                                    (unsigned long long)(end - b), numel, dtypes[k].name));
    t->data = p->data + b;
    return P_OK;
}

/* A tensor's entry: an object with the fields dtype, shape and data_offsets, in any order. An
 * unknown or repeated field is refused when read; the values are checked at the end. */
static int parse_entry(parser *p, rnnc_st_tensor *t) {
    if (p->h[p->pos] != '{')
        return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", p->file, t->name));
    entry e;
    memset(&e, 0, sizeof e);
    bool more, empty;
    int r = open_container(p, '}', &empty);
    if (r) return r;
    if (!empty) {
        do {
            str_span key;
            if (p->pos >= p->n || p->h[p->pos] != '"') return syntax_at(p, p->pos);
            if ((r = lex_string(p, &key)) || (r = expect_colon(p))) return r;
            int k = 0;
            while (k < 3 && !span_is(p, key, field_names[k])) k++;
            if (k == 3)
                return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': unknown field '%s' (expected dtype, shape, data_offsets)",
                                            p->file, t->name, scratch_string(p, key)));
            if (e.seen[k])
                return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s': field '%s' appears twice", p->file, t->name, field_names[k]));
            e.seen[k] = true;
            unsigned char c = p->pos < p->n ? p->h[p->pos] : 0;
            if (k == F_DTYPE && c == '"') { e.dtype_is_str = true; r = lex_string(p, &e.dtype); }
            else if (k == F_SHAPE && c == '[') { e.shape_is_arr = true; r = parse_num_array(p, e.shape, RNNC_ST_MAX_DIMS, &e.ndim); }
            else if (k == F_OFFSETS && c == '[') { e.offs_is_arr = true; r = parse_num_array(p, e.offs, 2, &e.n_offs); }
            else r = skip_value(p);
            if (r || (r = next_member(p, '}', &more))) return r;
        } while (more);
    }
    p->depth--;
    return check_entry(p, t, &e);
}

static int grow_tensors(parser *p) {
    size_t cap = 2 * p->cap;
    rnnc_st_tensor *t = cap <= SIZE_MAX / sizeof *t ? realloc(p->st->tensors, cap * sizeof *t) : NULL;
    if (!t) return failed(p, rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", p->file));
    p->st->tensors = t;
    p->cap = cap;
    return P_OK;
}

/* The header: one object ('{' at byte 0) of "__metadata__" (once) and tensor entries, then only
 * spaces. */
static int parse_header(parser *p) {
    rnnc_safetensors *st = p->st;
    bool more, empty, seen_meta = false;
    p->pos = 0;
    p->depth = 0;
    int r = open_container(p, '}', &empty);
    if (r) return r;
    if (!empty) {
        do {
            str_span ks;
            if (p->pos >= p->n || p->h[p->pos] != '"') return syntax_at(p, p->pos);
            if ((r = lex_string(p, &ks)) || (r = expect_colon(p))) return r;
            if (p->pos >= p->n) return syntax_at(p, p->pos);
            char *key = st->strings + p->used;
            size_t len = decode_string(p->h, ks, key);
            if (len == 12 && memcmp(key, "__metadata__", 12) == 0) {
                if (seen_meta) return failed(p, rnnc_error(RNNC_ERR_FORMAT, "%s: __metadata__ appears twice", p->file));
                seen_meta = true;
                r = parse_meta(p);
            } else {
                p->used += len + 1;
                if (st->n_tensors == p->cap && (r = grow_tensors(p))) return r;
                rnnc_st_tensor *t = &st->tensors[st->n_tensors];
                memset(t, 0, sizeof *t);
                t->name = key;
                if (!(r = parse_entry(p, t))) st->n_tensors++;
            }
            if (r || (r = next_member(p, '}', &more))) return r;
        } while (more);
    }
    p->depth--;
    for (size_t i = p->pos; i < p->n; i++)
        if (p->h[i] != ' ') { p->err_at = i; return P_JUNK; } /* only space padding may follow */
    return P_OK;
}

/* The error for a header the parser stopped on (r), ranked as the reader always has: invalid
 * UTF-8 anywhere, then a control character or escaped NUL, then invalid JSON, then junk after the
 * object, and only then the first fault of the content, in file order (the one the parser found:
 * it stops there, so the rest of the header is checked here as JSON). */
static rnnc_status header_fault(parser *p, int r) {
    if (r == P_ERROR && p->status == RNNC_ERR_NOMEM) return p->status;
    rnnc_status s = text_fault(p->h, p->n, p->file);
    if (s) return s;
    if (r == P_ERROR) {
        rnnc_status content = p->status; /* its message stays unless the JSON check finds worse */
        p->pos = 0;
        p->depth = 0;
        r = skip_value(p); /* '{' is at byte 0 */
        for (size_t i = p->pos; !r && i < p->n; i++)
            if (p->h[i] != ' ') { p->err_at = i; r = P_JUNK; }
        if (r == P_OK) return content;
        if (r == P_ERROR) return p->status;
    }
    if (r == P_JUNK)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: junk after the header's JSON object at header byte %zu (only spaces may pad it)",
                          p->file, p->err_at);
    return rnnc_error(RNNC_ERR_FORMAT, "%s: header is not a valid JSON object (error near header byte %zu)", p->file, p->err_at);
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
    const unsigned char *h = buf + 8;
    if (n == 0 || h[0] != '{') { s = rnnc_error(RNNC_ERR_FORMAT, "%s: header does not start with '{'", file); goto out; }
    parser p;
    memset(&p, 0, sizeof p);
    p.h = h;
    p.n = (size_t)n;
    p.file = file;
    p.st = st;
    p.cap = 64;
    p.data = buf + 8 + n;
    p.data_len = len - 8 - (size_t)n;
    st->strings = malloc((size_t)n + 1); /* the decoded strings take at most the header's length */
    st->tensors = malloc(p.cap * sizeof *st->tensors);
    if (!st->strings || !st->tensors) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file); goto out; }
    int r = parse_header(&p);
    if (r) { s = header_fault(&p, r); goto out; }

    /* Data order. Files come sorted (rnnc and the reference write the tensors by name, data in that
     * order), so a check in one pass usually spares the sort. */
    size_t nt = st->n_tensors;
    bool sorted = true;
    for (size_t i = 1; i < nt && sorted; i++) sorted = cmp_offset(&st->tensors[i - 1], &st->tensors[i]) < 0;
    if (!sorted) qsort(st->tensors, nt, sizeof *st->tensors, cmp_offset);
    /* A name index, sorted: rnnc_st_find searches it, and repeated names sit side by side in it,
     * found in O(n log n) (a pairwise search took 46 s for 200k tensors). */
    st->by_name = malloc((nt ? nt : 1) * sizeof *st->by_name);
    if (!st->by_name) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file); goto out; }
    for (size_t i = 0; i < nt; i++) st->by_name[i] = &st->tensors[i];
    sorted = true;
    for (size_t i = 1; i < nt && sorted; i++) sorted = strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) < 0;
    if (!sorted) {
        qsort((void *)st->by_name, nt, sizeof *st->by_name, cmp_tensor_ptr_name);
        for (size_t i = 1; i < nt; i++)
            if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
                s = rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' appears twice", file, st->by_name[i]->name);
                goto out;
            }
    }
    if ((s = check_tiling(st, p.data, p.data_len, file))) goto out;
    if (p.lex_len) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: '%.*s' at header byte %zu is not a plain integer (shape entries and offsets are "
                       "written as digits, without sign, fraction, exponent or leading zero)",
                       file, (int)(p.lex_len > 32 ? 32 : p.lex_len), (const char *)h + p.lex_at, p.lex_at);
        goto out;
    }
out:
    if (s) rnnc_st_free(st);
    return s;
}

rnnc_status rnnc_st_load(rnnc_safetensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    /* a model or checkpoint is read more than once on its way in (what it is, then the model,
     * then its tokenizer): a pipe would give its bytes to the first read only, and a FIFO with
     * no writer would wait in open */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return rnnc_error(RNNC_ERR_IO, "%s: not a regular file: a model is read more than once, so it must be a file, not a "
                          "pipe or a device (save it to a file first)", path);
    if (!strcmp(path, "-"))
        return rnnc_error(RNNC_ERR_IO, "-: a model is read more than once, so it must be a file, not the standard input");
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
