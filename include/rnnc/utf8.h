/* rnnc — UTF-8 decoding and encoding (strict: no overlongs, no surrogates, at most U+10FFFF). */
#ifndef RNNC_UTF8_H
#define RNNC_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decodes one code point from s[0..n). Returns its byte length (1..4) and stores it in *cp, or
 * returns 0 if the bytes at s do not start a valid UTF-8 sequence (n == 0 also returns 0). */
int rnnc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (at least 4 bytes). Returns the length, or 0 if cp is not a scalar value. */
int rnnc_utf8_encode(uint32_t cp, unsigned char *out);
/* Length of the longest prefix of s[0..n) that is valid UTF-8. */
size_t rnnc_utf8_valid_prefix(const unsigned char *s, size_t n);

/* Text as an array of n code units of `unit` bytes each, in the machine's byte order (the three
 * forms CPython keeps a str in): 1, Latin-1 (U+0000..U+00FF); 2, UCS-2 (U+0000..U+FFFF, no
 * surrogate pairs); 4, code points. rnnc_units_to_utf8 writes their UTF-8 to out, at least
 * rnnc_units_utf8_max(n, unit) bytes, as Python's str.encode("utf-8", "surrogateescape") does:
 * U+DC80..U+DCFF become the single bytes 0x80..0xFF (the bytes a surrogateescape decode turned
 * into them). Returns the bytes written, or SIZE_MAX with *bad the index of the first unit that
 * has no UTF-8 form (another surrogate, or a code point above U+10FFFF), writing nothing more. */
size_t rnnc_units_utf8_max(size_t n, int unit);
size_t rnnc_units_to_utf8(const void *units, size_t n, int unit, unsigned char *out, size_t *bad);

#ifdef __cplusplus
}
#endif

#endif
