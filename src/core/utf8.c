/* Strict UTF-8 (RFC 3629): rejects overlong forms, surrogates and code points above U+10FFFF. */
#include "rnnc/utf8.h"

int rnnc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int rnnc_utf8_encode(uint32_t cp, unsigned char *out) {
    if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF) return 0;
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t rnnc_utf8_valid_prefix(const unsigned char *s, size_t n) {
    size_t i = 0;
    uint32_t cp;
    while (i < n) {
        int k = rnnc_utf8_decode(s + i, n - i, &cp);
        if (!k) break;
        i += (size_t)k;
    }
    return i;
}

size_t rnnc_units_utf8_max(size_t n, int unit) { return n * (unit == 1 ? 2 : unit == 2 ? 3 : 4); }

/* One code point of a str (no surrogate pairs: CPython keeps astral text as code points). */
static inline int put_cp(uint32_t c, unsigned char *o) {
    if (c < 0x80) { o[0] = (unsigned char)c; return 1; }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c >= 0xD800 && c <= 0xDFFF) {
        if (c >= 0xDC80 && c <= 0xDCFF) { o[0] = (unsigned char)(c & 0xFF); return 1; } /* surrogateescape */
        return 0;
    }
    return rnnc_utf8_encode(c, o);
}

size_t rnnc_units_to_utf8(const void *units, size_t n, int unit, unsigned char *out, size_t *bad) {
    unsigned char *o = out;
    size_t i = 0;
    if (unit == 1) {
        const uint8_t *u = units;
        for (; i < n; i++) o += put_cp(u[i], o);
        return (size_t)(o - out);
    }
    if (unit == 2) {
        const uint16_t *u = units;
        while (i < n) {
            /* ASCII runs, four units at a time (most of English text even when it is not all ASCII) */
            while (i + 4 <= n && ((u[i] | u[i + 1] | u[i + 2] | u[i + 3]) & 0xFF80u) == 0) {
                o[0] = (unsigned char)u[i]; o[1] = (unsigned char)u[i + 1];
                o[2] = (unsigned char)u[i + 2]; o[3] = (unsigned char)u[i + 3];
                o += 4;
                i += 4;
            }
            const size_t end = i + 4 <= n ? i + 4 : n;
            for (; i < end; i++) {
                int k = put_cp(u[i], o);
                if (!k) { *bad = i; return SIZE_MAX; }
                o += k;
            }
        }
        return (size_t)(o - out);
    }
    const uint32_t *u = units;
    for (; i < n; i++) {
        int k = u[i] > 0x10FFFF ? 0 : put_cp(u[i], o);
        if (!k) { *bad = i; return SIZE_MAX; }
        o += k;
    }
    return (size_t)(o - out);
}
