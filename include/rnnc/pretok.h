/* rnnc — pre-tokenization: splitting text into pieces by a regular expression before BPE.
 *
 * Patterns are either built-in names — "r50k" (also "r50k_base", "p50k", "p50k_base", "gpt2"),
 * "cl100k" ("cl100k_base") and "o200k" ("o200k_base"), tiktoken's patterns — or any PCRE2 regex,
 * compiled with UTF + UCP (Unicode \s, \p{L}, ...) and JIT.
 *
 * Every byte of the input lands in exactly one piece, in order: text the regex does not match
 * (such as bytes that are not valid UTF-8) becomes pieces of its own, so BPE stays lossless on
 * any byte string. */
#ifndef RNNC_PRETOK_H
#define RNNC_PRETOK_H

#include <stddef.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rnnc_pretok rnnc_pretok;

/* Compiles `pattern`. An invalid regex gives RNNC_ERR_ARG with PCRE2's message and offset. */
rnnc_status rnnc_pretok_new(rnnc_pretok **out, const char *pattern);
void rnnc_pretok_free(rnnc_pretok *p);
/* The regex source (for built-ins, tiktoken's pat_str). */
const char *rnnc_pretok_regex(const rnnc_pretok *p);
/* The built-in name ("r50k", "cl100k", "o200k") or NULL for a user regex. */
const char *rnnc_pretok_builtin(const rnnc_pretok *p);

/* Called once per piece, in order. Return non-zero to stop early (rnnc_pretok_split then returns
 * RNNC_ERR_INTERRUPTED without touching the error message). */
typedef int (*rnnc_piece_fn)(const unsigned char *piece, size_t len, void *ctx);

/* Splits text[0..len). Safe to call from several threads on one rnnc_pretok. */
rnnc_status rnnc_pretok_split(const rnnc_pretok *p, const unsigned char *text, size_t len,
                              rnnc_piece_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
