/* Regex pre-tokenizer over PCRE2 (UTF + UCP + JIT); see include/rnnc/pretok.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rnnc/pretok.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/utf8.h"
#include "pretok_fast.h"

struct rnnc_pretok {
    pcre2_code *code;
    char *regex;
    const char *builtin;
    int fast; /* hand-written matcher for a built-in (pretok_fast.c), or -1 */
};

/* tiktoken's patterns (pat_str of its registry), verbatim. */
static const char PAT_R50K[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char PAT_CL100K[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char PAT_O200K[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* What PCRE2 compiles for the built-ins: the same patterns with \s and \S spelled as White_Space,
 * which is what \s means to tiktoken's regex crate (PCRE2's \s also takes U+180E). */
static const char PCRE_R50K[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+|\\p{White_Space}+(?!\\P{White_Space})"
    "|\\p{White_Space}+";
static const char PCRE_CL100K[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\p{White_Space}*[\\r\\n]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";
static const char PCRE_O200K[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n/]*|\\p{White_Space}*[\\r\\n]+"
    "|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

static const struct { const char *name, *canon, *regex, *pcre; } builtins[] = {
    {"r50k", "r50k", PAT_R50K, PCRE_R50K},       {"r50k_base", "r50k", PAT_R50K, PCRE_R50K},
    {"p50k", "r50k", PAT_R50K, PCRE_R50K},       {"p50k_base", "r50k", PAT_R50K, PCRE_R50K},
    {"gpt2", "r50k", PAT_R50K, PCRE_R50K},       {"cl100k", "cl100k", PAT_CL100K, PCRE_CL100K},
    {"cl100k_base", "cl100k", PAT_CL100K, PCRE_CL100K}, {"o200k", "o200k", PAT_O200K, PCRE_O200K},
    {"o200k_base", "o200k", PAT_O200K, PCRE_O200K},
};

rnnc_status rnnc_pretok_new(rnnc_pretok **out, const char *pattern) {
    *out = NULL;
    const char *regex = pattern, *builtin = NULL, *compiled = pattern;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(pattern, builtins[i].name) == 0) {
            regex = builtins[i].regex;
            builtin = builtins[i].canon;
            compiled = builtins[i].pcre;
        }
    if (!*regex) return rnnc_error(RNNC_ERR_ARG, "pattern: the regular expression is empty");
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)compiled, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return rnnc_error(RNNC_ERR_ARG, "pattern: invalid regular expression at offset %zu: %s", (size_t)off, (char *)msg);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is unavailable */
    rnnc_pretok *p = calloc(1, sizeof *p);
    char *copy = p ? strdup(regex) : NULL;
    if (!p || !copy) {
        free(p);
        pcre2_code_free(code);
        return rnnc_error(RNNC_ERR_NOMEM, "pattern: out of memory");
    }
    p->code = code;
    p->regex = copy;
    p->builtin = builtin;
    p->fast = rnnc_pretok_fast_kind(builtin);
    *out = p;
    return RNNC_OK;
}

void rnnc_pretok_free(rnnc_pretok *p) {
    if (!p) return;
    pcre2_code_free(p->code);
    free(p->regex);
    free(p);
}

const char *rnnc_pretok_regex(const rnnc_pretok *p) { return p->regex; }
const char *rnnc_pretok_builtin(const rnnc_pretok *p) { return p->builtin; }

rnnc_status rnnc_pretok_split(const rnnc_pretok *p, const unsigned char *text, size_t len,
                              rnnc_piece_fn fn, void *ctx) {
    if (p->fast < 0) return rnnc_pretok_split_pcre2(p, text, len, fn, ctx);
    for (size_t i = 0; i < len;) {
        size_t e = rnnc_pretok_fast_next(p->fast, text, len, i);
        if (fn(text + i, e - i, ctx)) return RNNC_ERR_INTERRUPTED;
        i = e;
    }
    return RNNC_OK;
}

int rnnc_pretok_fast_kind_of(const rnnc_pretok *p) { return p->fast; }

rnnc_status rnnc_pretok_split_pcre2(const rnnc_pretok *p, const unsigned char *text, size_t len,
                                    rnnc_piece_fn fn, void *ctx) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->code, NULL);
    if (!md) return rnnc_error(RNNC_ERR_NOMEM, "pre-tokenizer: out of memory");
    rnnc_status st = RNNC_OK;
    size_t pos = 0;    /* first byte not yet emitted */
    size_t search = 0; /* where the next match attempt starts */
    while (search < len) {
        int rc = pcre2_match(p->code, (PCRE2_SPTR)text, len, search, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st = rnnc_error(RNNC_ERR_FORMAT, "pre-tokenizer: matching failed at byte %zu: %s", search, (char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e == s) { /* an empty match: step over one character, which joins the next gap piece */
            uint32_t cp;
            int k = rnnc_utf8_decode(text + s, len - s, &cp);
            search = s + (k > 0 ? (size_t)k : 1);
            continue;
        }
        if (s > pos && fn(text + pos, s - pos, ctx)) { st = RNNC_ERR_INTERRUPTED; break; }
        if (fn(text + s, e - s, ctx)) { st = RNNC_ERR_INTERRUPTED; break; }
        pos = search = e;
    }
    if (st == RNNC_OK && pos < len && fn(text + pos, len - pos, ctx)) st = RNNC_ERR_INTERRUPTED;
    pcre2_match_data_free(md);
    return st;
}
