/* Internal: hand-written matchers for tiktoken's built-in pre-tokenizer patterns (r50k, cl100k,
 * o200k). They give exactly the pieces of the regexes (leftmost-first alternation, greedy
 * quantifiers with backtracking, (?!\S) lookahead) without a regex engine; the PCRE2 path stays
 * for user patterns and as the reference the property tests compare against. */
#ifndef RNNC_PRETOK_FAST_H
#define RNNC_PRETOK_FAST_H

#include <stddef.h>
#include <stdint.h>
#include "rnnc/pretok.h"

enum { RNNC_PRETOK_R50K = 0, RNNC_PRETOK_CL100K = 1, RNNC_PRETOK_O200K = 2 };

/* The fast kind of a built-in name ("r50k", "cl100k", "o200k"), or -1. */
int rnnc_pretok_fast_kind(const char *builtin);

/* End of the piece that starts at text[i] (i < n): a regex match, or a maximal run of bytes that
 * are not valid UTF-8 (which no pattern item matches, as with PCRE2_MATCH_INVALID_UTF). */
size_t rnnc_pretok_fast_next(int kind, const unsigned char *text, size_t n, size_t i);

/* The class bits (RNNC_UC_* in unicode_classes.h) of a code point. */
unsigned rnnc_pretok_uclass(uint32_t cp);

/* The fast kind of a compiled pre-tokenizer, or -1 for a user regex. */
int rnnc_pretok_fast_kind_of(const rnnc_pretok *p);

/* Splits with the compiled PCRE2 regex even for built-in patterns (the reference path). */
rnnc_status rnnc_pretok_split_pcre2(const rnnc_pretok *p, const unsigned char *text, size_t len,
                                    rnnc_piece_fn fn, void *ctx);

#endif
