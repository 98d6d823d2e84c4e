/* rnnc — UTF-8 decoding and encoding (strict: no overlongs, no surrogates, at most U+10FFFF). */
#ifndef RNNC_UTF8_H
#define RNNC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..n). Returns its byte length (1..4) and stores it in *cp, or
 * returns 0 if the bytes at s do not start a valid UTF-8 sequence (n == 0 also returns 0). */
int rnnc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (at least 4 bytes). Returns the length, or 0 if cp is not a scalar value. */
int rnnc_utf8_encode(uint32_t cp, unsigned char *out);
/* Length of the longest prefix of s[0..n) that is valid UTF-8. */
size_t rnnc_utf8_valid_prefix(const unsigned char *s, size_t n);

#endif
