/* One interface over the char, word and BPE tokenizers: training, files, JSON, encode/decode.
 * See include/rnnc/tokenizer.h. */
#include "core/json.h"
#include "rnnc/tokenizer.h"
#include "rnnc/utf8.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rnnc/filekind.h"
#include "rnnc/io.h"
#include "rnnc/pretok.h"

struct rnnc_tokenizer {
    rnnc_tokenizer_type type;
    rnnc_char_tok *ch;
    rnnc_word_tok *word;
    rnnc_bpe *bpe;
};

static const char *const RESERVED[RNNC_TOK_N_RESERVED] = {"<pad>", "<bos>", "<eos>", "<unk>"};
static const char *const OPENAI_NAMES[] = {"r50k_base", "p50k_base", "cl100k_base", "o200k_base"};

const char *rnnc_tokenizer_type_name(rnnc_tokenizer_type type) {
    switch (type) {
    case RNNC_TOKENIZER_CHAR: return "char";
    case RNNC_TOKENIZER_WORD: return "word";
    case RNNC_TOKENIZER_BPE: return "bpe";
    }
    return "?";
}

bool rnnc_tokenizer_type_parse(const char *name, rnnc_tokenizer_type *type) {
    for (int k = RNNC_TOKENIZER_CHAR; k <= RNNC_TOKENIZER_BPE; k++)
        if (strcmp(name, rnnc_tokenizer_type_name((rnnc_tokenizer_type)k)) == 0) {
            *type = (rnnc_tokenizer_type)k;
            return true;
        }
    return false;
}

static rnnc_status wrap(rnnc_tokenizer **out, rnnc_tokenizer_type type, void *inner) {
    *out = calloc(1, sizeof **out);
    if (!*out) {
        if (type == RNNC_TOKENIZER_CHAR) rnnc_char_free(inner);
        else if (type == RNNC_TOKENIZER_WORD) rnnc_word_free(inner);
        else rnnc_bpe_free(inner);
        return rnnc_error(RNNC_ERR_NOMEM, "tokenizer: out of memory");
    }
    (*out)->type = type;
    if (type == RNNC_TOKENIZER_CHAR) (*out)->ch = inner;
    else if (type == RNNC_TOKENIZER_WORD) (*out)->word = inner;
    else (*out)->bpe = inner;
    return RNNC_OK;
}

rnnc_status rnnc_tokenizer_wrap_char(rnnc_tokenizer **out, rnnc_char_tok *t) { return wrap(out, RNNC_TOKENIZER_CHAR, t); }
rnnc_status rnnc_tokenizer_wrap_word(rnnc_tokenizer **out, rnnc_word_tok *t) { return wrap(out, RNNC_TOKENIZER_WORD, t); }
rnnc_status rnnc_tokenizer_wrap_bpe(rnnc_tokenizer **out, rnnc_bpe *t) { return wrap(out, RNNC_TOKENIZER_BPE, t); }

void rnnc_tokenizer_free(rnnc_tokenizer *t) {
    if (!t) return;
    rnnc_char_free(t->ch);
    rnnc_word_free(t->word);
    rnnc_bpe_free(t->bpe);
    free(t);
}

rnnc_status rnnc_tokenizer_train(rnnc_tokenizer **out, const unsigned char *const *texts, const size_t *lens,
                                 size_t n, const rnnc_tokenizer_train_opts *opts) {
    *out = NULL;
    rnnc_status s;
    switch (opts->type) {
    case RNNC_TOKENIZER_CHAR: {
        rnnc_char_opts o = {.min_count = opts->min_count, .vocab_size = opts->vocab_size};
        rnnc_char_tok *t;
        if ((s = rnnc_char_build(&t, texts, lens, n, &o))) return s;
        return rnnc_tokenizer_wrap_char(out, t);
    }
    case RNNC_TOKENIZER_WORD: {
        rnnc_word_opts o = {.vocab_size = opts->vocab_size, .min_count = opts->min_count};
        rnnc_word_tok *t;
        if ((s = rnnc_word_build(&t, texts, lens, n, &o))) return s;
        return rnnc_tokenizer_wrap_word(out, t);
    }
    case RNNC_TOKENIZER_BPE: {
        /* Checked here too so every trainer gives the same clear message. */
        if (opts->vocab_size < 256 + opts->n_specials)
            return rnnc_error(RNNC_ERR_ARG, "bpe: vocabulary size %zu is smaller than the 256 byte tokens plus %zu special tokens",
                              opts->vocab_size, opts->n_specials);
        rnnc_pretok *re;
        if ((s = rnnc_pretok_new(&re, opts->pattern ? opts->pattern : "cl100k"))) return s;
        rnnc_pretok_free(re);
        rnnc_bpe_train_opts o = {
            .vocab_size = opts->vocab_size, .pattern = opts->pattern, .specials = opts->specials,
            .n_specials = opts->n_specials, .min_frequency = opts->min_frequency, .threads = opts->threads,
            .progress = opts->progress, .count_progress = opts->count_progress, .progress_ctx = opts->progress_ctx,
        };
        rnnc_bpe *t;
        if ((s = rnnc_bpe_train(&t, texts, lens, n, &o))) return s;
        return rnnc_tokenizer_wrap_bpe(out, t);
    }
    }
    return rnnc_error(RNNC_ERR_ARG, "tokenizer: unknown type %d", (int)opts->type);
}

rnnc_status rnnc_tokenizer_spec_parse(const char *spec, rnnc_tokenizer_spec *out) {
    memset(out, 0, sizeof *out);
    out->name = spec;
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    char kind[8] = "";
    if (klen < sizeof kind) {
        memcpy(kind, spec, klen);
        kind[klen] = 0;
    }
    if (klen >= sizeof kind || !rnnc_tokenizer_type_parse(kind, &out->type)) {
        out->load = true;
        return RNNC_OK;
    }
    if (colon) {
        /* digits only: strtoul would also take signs and leading blanks */
        const char *d = colon + 1;
        size_t n = 0;
        bool ok = *d != 0;
        for (; *d && ok; d++) {
            if (*d < '0' || *d > '9' || n > (SIZE_MAX - 9) / 10) ok = false;
            else n = n * 10 + (size_t)(*d - '0');
        }
        if (!ok || n == 0 || n > INT32_MAX)
            return rnnc_error(RNNC_ERR_ARG, "%s: expected %s:N with a positive size N", spec, kind);
        /* the least of each type, as tokenizer train's --vocab-size says it (the trainer said it
         * later, after the data was read, naming no spec) */
        const size_t least = out->type == RNNC_TOKENIZER_BPE ? 256 : out->type == RNNC_TOKENIZER_WORD ? RNNC_TOK_N_RESERVED + 1
                                                                                                          : RNNC_CHAR_FIRST;
        if (n < least)
            return rnnc_error(RNNC_ERR_ARG, "%s: a %s vocabulary is at least %zu (%s)", spec, kind, least,
                              out->type == RNNC_TOKENIZER_BPE ? "its 256 byte tokens"
                              : out->type == RNNC_TOKENIZER_WORD ? "4 reserved ids and a word" : "4 reserved ids and 256 bytes");
        out->vocab_size = n;
        out->sized = true;
    } else if (out->type == RNNC_TOKENIZER_BPE) {
        return rnnc_error(RNNC_ERR_ARG, "bpe needs a vocabulary size, e.g. bpe:4096");
    } else if (out->type == RNNC_TOKENIZER_WORD) {
        out->vocab_size = RNNC_WORD_DEFAULT_VOCAB;
    }
    return RNNC_OK;
}

rnnc_status rnnc_tokenizer_from_spec(rnnc_tokenizer **out, const rnnc_tokenizer_spec *spec,
                                     const unsigned char *const *texts, const size_t *lens, size_t n) {
    *out = NULL;
    if (spec->load) return rnnc_tokenizer_load(out, spec->name, NULL);
    rnnc_tokenizer_train_opts to;
    memset(&to, 0, sizeof to);
    to.type = spec->type;
    to.vocab_size = spec->vocab_size;
    return rnnc_tokenizer_train(out, texts, lens, n, &to);
}

rnnc_tokenizer_type rnnc_tokenizer_type_of(const rnnc_tokenizer *t) { return t->type; }
const rnnc_char_tok *rnnc_tokenizer_char(const rnnc_tokenizer *t) { return t->ch; }
const rnnc_word_tok *rnnc_tokenizer_word(const rnnc_tokenizer *t) { return t->word; }
const rnnc_bpe *rnnc_tokenizer_bpe(const rnnc_tokenizer *t) { return t->bpe; }

size_t rnnc_tokenizer_n_vocab(const rnnc_tokenizer *t) {
    switch (t->type) {
    case RNNC_TOKENIZER_CHAR: return rnnc_char_n_vocab(t->ch);
    case RNNC_TOKENIZER_WORD: return rnnc_word_n_vocab(t->word);
    case RNNC_TOKENIZER_BPE: return rnnc_bpe_n_vocab(t->bpe);
    }
    return 0;
}

rnnc_token_bytes rnnc_tokenizer_token(const rnnc_tokenizer *t, uint32_t id) {
    switch (t->type) {
    case RNNC_TOKENIZER_CHAR: return rnnc_char_token(t->ch, id);
    case RNNC_TOKENIZER_WORD: {
        const char *w = rnnc_word_text(t->word, id);
        return (rnnc_token_bytes){(const unsigned char *)w, w ? strlen(w) : 0};
    }
    case RNNC_TOKENIZER_BPE:
        if (id >= rnnc_bpe_n_vocab(t->bpe)) return (rnnc_token_bytes){NULL, 0};
        return rnnc_bpe_token(t->bpe, id);
    }
    return (rnnc_token_bytes){NULL, 0};
}

uint32_t rnnc_tokenizer_special_id(const rnnc_tokenizer *t, const char *text) {
    if (t->type != RNNC_TOKENIZER_BPE) {
        for (uint32_t k = 0; k < RNNC_TOK_N_RESERVED; k++)
            if (strcmp(text, RESERVED[k]) == 0) return k;
        return UINT32_MAX;
    }
    for (size_t k = 0; k < rnnc_bpe_n_specials(t->bpe); k++) {
        rnnc_special_token sp = rnnc_bpe_special(t->bpe, k);
        if (strcmp(sp.text, text) == 0) return sp.id;
    }
    return UINT32_MAX;
}

rnnc_status rnnc_tokenizer_encode(const rnnc_tokenizer *t, const unsigned char *text, size_t len,
                                  bool allow_special, rnnc_ids *out, size_t *n_oov) {
    switch (t->type) {
    case RNNC_TOKENIZER_CHAR: return rnnc_char_encode(t->ch, text, len, out, n_oov);
    case RNNC_TOKENIZER_WORD: return rnnc_word_encode(t->word, text, len, out, n_oov);
    case RNNC_TOKENIZER_BPE: return rnnc_bpe_encode(t->bpe, text, len, allow_special, out);
    }
    return rnnc_error(RNNC_ERR_ARG, "tokenizer: unknown type");
}

rnnc_status rnnc_tokenizer_encode_units(const rnnc_tokenizer *t, const void *units, size_t n, int unit,
                                        bool allow_special, rnnc_ids *out, size_t *n_oov) {
    if (unit != 1 && unit != 2 && unit != 4) return rnnc_error(RNNC_ERR_ARG, "tokenizer: code units of %d bytes", unit);
    if (t->type == RNNC_TOKENIZER_BPE) return rnnc_bpe_encode_units(t->bpe, units, n, unit, allow_special, out);
    if (n > SIZE_MAX / 8) return rnnc_error(RNNC_ERR_ARG, "tokenizer: input of %zu code units is too long", n);
    unsigned char *text = malloc(rnnc_units_utf8_max(n, unit) + 1);
    if (!text) return rnnc_error(RNNC_ERR_NOMEM, "tokenizer: out of memory for %zu code units", n);
    size_t bad = 0, len = rnnc_units_to_utf8(units, n, unit, text, &bad);
    uint32_t v = len != SIZE_MAX ? 0 : unit == 2 ? ((const uint16_t *)units)[bad] : ((const uint32_t *)units)[bad];
    rnnc_status st = len == SIZE_MAX ? rnnc_error(RNNC_ERR_ARG, "text: code unit %zu (U+%04X) has no UTF-8 form", bad, (unsigned)v)
                                     : rnnc_tokenizer_encode(t, text, len, allow_special, out, n_oov);
    free(text);
    return st;
}

rnnc_status rnnc_tokenizer_decode(const rnnc_tokenizer *t, const uint32_t *ids, size_t n, rnnc_bytes *out) {
    switch (t->type) {
    case RNNC_TOKENIZER_CHAR: return rnnc_char_decode(t->ch, ids, n, out);
    case RNNC_TOKENIZER_WORD: return rnnc_word_decode(t->word, ids, n, out);
    case RNNC_TOKENIZER_BPE: {
        size_t nv = rnnc_bpe_n_vocab(t->bpe);
        for (size_t i = 0; i < n; i++)
            if (ids[i] >= nv || !rnnc_bpe_token(t->bpe, ids[i]).data)
                return rnnc_error(RNNC_ERR_RANGE, "id %u at position %zu is %s (the vocabulary has %zu ids)",
                                  (unsigned)ids[i], i, ids[i] >= nv ? "out of range" : "unused", nv);
        return rnnc_bpe_decode(t->bpe, ids, n, out);
    }
    }
    return rnnc_error(RNNC_ERR_ARG, "tokenizer: unknown type");
}

/* ---- base64 (RFC 4648, with padding), as in .tiktoken files ---- */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *s, size_t n, char *out) {
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *out++ = B64[v >> 18]; *out++ = B64[v >> 12 & 63]; *out++ = B64[v >> 6 & 63]; *out++ = B64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *out++ = B64[v >> 18]; *out++ = B64[v >> 12 & 63]; *out++ = '='; *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *out++ = B64[v >> 18]; *out++ = B64[v >> 12 & 63]; *out++ = B64[v >> 6 & 63]; *out++ = '=';
    }
    *out = 0;
}

/* Value of a base64 digit, or -1. */
static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes a padded, canonical base64 string into out (room for 3/4 of its length); returns the
 * length or -1. */
static long b64_decode(const char *s, unsigned char *out) {
    size_t n = strlen(s);
    if (n == 0 || n % 4) return -1;
    long len = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + j];
            if (c == '=' && i + 4 == n && j >= 2) { pad++; v <<= 6; continue; }
            int x = b64_value(c);
            if (x < 0 || pad) return -1;
            v = v << 6 | (uint32_t)x;
        }
        /* Bits beyond the last byte must be zero: two spellings of one token would look distinct. */
        if ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF))) return -1;
        out[len++] = (unsigned char)(v >> 16);
        if (pad < 2) out[len++] = (unsigned char)(v >> 8);
        if (pad < 1) out[len++] = (unsigned char)v;
    }
    return len;
}

/* ---- JSON ---- */
static rnnc_status nomem_json(cJSON *root) {
    cJSON_Delete(root);
    return rnnc_error(RNNC_ERR_NOMEM, "tokenizer: out of memory writing JSON");
}

static rnnc_status bpe_to_json(const rnnc_bpe *b, cJSON *root) {
    size_t nv = rnnc_bpe_n_vocab(b), n_ranks = 0, ns = rnnc_bpe_n_specials(b);
    cJSON *specials = cJSON_AddObjectToObject(root, "special_tokens");
    if (!specials) return nomem_json(root);
    for (size_t k = 0; k < ns; k++) {
        rnnc_special_token sp = rnnc_bpe_special(b, k);
        if (!cJSON_AddNumberToObject(specials, sp.text, sp.id)) return nomem_json(root);
    }
    /* An id is a rank when its bytes look up to it; a special id never does (its text, if also a
     * token, has that token's rank). This needs no table the size of the vocabulary. */
    for (uint32_t id = 0; id < nv; id++) {
        rnnc_token_bytes tb = rnnc_bpe_token(b, id);
        if (tb.data && rnnc_bpe_rank_of(b, tb.data, tb.len) == id) n_ranks = (size_t)id + 1;
    }
    cJSON *ranks = cJSON_AddArrayToObject(root, "ranks");
    char *buf = malloc(16);
    size_t buf_cap = 16;
    if (!ranks || !buf) { free(buf); return nomem_json(root); }
    for (uint32_t id = 0; id < n_ranks; id++) {
        rnnc_token_bytes tb = rnnc_bpe_token(b, id);
        cJSON *item;
        if (tb.data && rnnc_bpe_rank_of(b, tb.data, tb.len) == id) {
            size_t need = (tb.len + 2) / 3 * 4 + 1;
            if (need > buf_cap) {
                char *nb = realloc(buf, need);
                if (!nb) { free(buf); return nomem_json(root); }
                buf = nb;
                buf_cap = need;
            }
            b64_encode(tb.data, tb.len, buf);
            item = cJSON_CreateString(buf);
        } else {
            item = cJSON_CreateNull(); /* a gap (or a special inside the ranks, listed above) */
        }
        if (!item || !cJSON_AddItemToArray(ranks, item)) { cJSON_Delete(item); free(buf); return nomem_json(root); }
    }
    free(buf);
    return RNNC_OK;
}

rnnc_status rnnc_tokenizer_to_json(const rnnc_tokenizer *t, char **json) {
    *json = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return nomem_json(NULL);
    if (!cJSON_AddStringToObject(root, "type", rnnc_tokenizer_type_name(t->type)) ||
        !cJSON_AddNumberToObject(root, "version", 1))
        return nomem_json(root);
    if (t->type == RNNC_TOKENIZER_BPE) {
        if (!cJSON_AddStringToObject(root, "pattern", rnnc_bpe_pattern(t->bpe))) return nomem_json(root);
        rnnc_status s = bpe_to_json(t->bpe, root);
        if (s) return s;
    } else {
        cJSON *reserved = cJSON_CreateStringArray(RESERVED, RNNC_TOK_N_RESERVED);
        if (!reserved || !cJSON_AddItemToObject(root, "reserved", reserved)) { cJSON_Delete(reserved); return nomem_json(root); }
        if (t->type == RNNC_TOKENIZER_CHAR) {
            if (!cJSON_AddTrueToObject(root, "byte_fallback")) return nomem_json(root);
            cJSON *chars = cJSON_AddArrayToObject(root, "chars");
            if (!chars) return nomem_json(root);
            for (uint32_t id = RNNC_CHAR_FIRST; id < rnnc_char_n_vocab(t->ch); id++) {
                cJSON *item = cJSON_CreateNumber(rnnc_char_codepoint(t->ch, id));
                if (!item || !cJSON_AddItemToArray(chars, item)) { cJSON_Delete(item); return nomem_json(root); }
            }
        } else {
            if (!cJSON_AddStringToObject(root, "rule", RNNC_WORD_PATTERN)) return nomem_json(root);
            cJSON *words = cJSON_AddArrayToObject(root, "words");
            if (!words) return nomem_json(root);
            for (uint32_t id = RNNC_TOK_N_RESERVED; id < rnnc_word_n_vocab(t->word); id++) {
                cJSON *item = cJSON_CreateString(rnnc_word_text(t->word, id));
                if (!item || !cJSON_AddItemToArray(words, item)) { cJSON_Delete(item); return nomem_json(root); }
            }
        }
    }
    /* One array element per line would be nicer to read, but unformatted keeps big vocabularies small. */
    *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!*json) return rnnc_error(RNNC_ERR_NOMEM, "tokenizer: out of memory writing JSON");
    return RNNC_OK;
}

/* ---- reading JSON strictly (the same checks as the .tiktoken sidecar reader in tiktoken.c) ---- */

/* cJSON keeps every copy of a repeated key and lookups see the first, so a second one would be
 * silently ignored. A repeated key in obj is an error naming `what` (the object). */
static rnnc_status json_unique_keys(const cJSON *obj, const char *what) {
    char buf[RNNC_JSON_SHOWN_CAP];
    bool nomem;
    const char *dup = rnnc_json_dup_key(obj, &nomem);
    if (nomem) return rnnc_error(RNNC_ERR_NOMEM, "tokenizer JSON: out of memory");
    if (dup) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: %skey \"%s\" appears twice", what, rnnc_json_shown(dup, strlen(dup), buf));
    return RNNC_OK;
}

/* Elements of a JSON array or members of an object, counted in size_t (cJSON_GetArraySize's int
 * would wrap for a huge file). */
static size_t json_count(const cJSON *a) {
    size_t n = 0;
    for (const cJSON *it = a ? a->child : NULL; it; it = it->next) n++;
    return n;
}

/* An optional "reserved" or "byte_fallback" must say what this rnnc does: a file that claims other
 * reserved ids would otherwise be read with ours, silently. */
static rnnc_status check_reserved(const cJSON *root, bool is_char) {
    const cJSON *reserved = cJSON_GetObjectItemCaseSensitive(root, "reserved");
    if (reserved) {
        bool ok = cJSON_IsArray(reserved) && json_count(reserved) == RNNC_TOK_N_RESERVED;
        size_t k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, reserved) {
            if (!ok) break;
            ok = cJSON_IsString(it) && strcmp(it->valuestring, RESERVED[k++]) == 0;
        }
        if (!ok)
            return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"reserved\" must be [\"%s\", \"%s\", \"%s\", \"%s\"] (ids 0-3)",
                              RESERVED[0], RESERVED[1], RESERVED[2], RESERVED[3]);
    }
    const cJSON *fallback = cJSON_GetObjectItemCaseSensitive(root, "byte_fallback");
    if (fallback && (!is_char || !cJSON_IsTrue(fallback)))
        return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"byte_fallback\" must be true, and only in a char tokenizer");
    return RNNC_OK;
}

static rnnc_status char_from_json(rnnc_tokenizer **out, const cJSON *root) {
    const cJSON *chars = cJSON_GetObjectItemCaseSensitive(root, "chars");
    if (!cJSON_IsArray(chars)) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"chars\" must be an array of code points");
    size_t n = json_count(chars), k = 0;
    uint32_t *cps = malloc((n + 1) * sizeof *cps);
    if (!cps) return rnnc_error(RNNC_ERR_NOMEM, "tokenizer JSON: out of memory");
    const cJSON *item;
    cJSON_ArrayForEach(item, chars) {
        double v = item->valuedouble;
        /* The range is checked on the double: casting 1e30 or -1 to an integer is undefined. */
        if (!cJSON_IsNumber(item) || !(v >= 0 && v <= 0x10FFFF) || v != (double)(uint32_t)v) {
            free(cps);
            return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"chars\"[%zu] is not a code point (an integer from 0 to 1114111)", k);
        }
        cps[k++] = (uint32_t)v;
    }
    rnnc_char_tok *ct;
    rnnc_status s = rnnc_char_create(&ct, cps, k);
    free(cps);
    if (s) return rnnc_error(s, "tokenizer JSON: \"chars\": %s", rnnc_last_error());
    return rnnc_tokenizer_wrap_char(out, ct);
}

static rnnc_status word_from_json(rnnc_tokenizer **out, const cJSON *root) {
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(root, "words");
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(root, "rule");
    if (rule && (!cJSON_IsString(rule) || strcmp(rule->valuestring, RNNC_WORD_PATTERN) != 0))
        return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: unknown word rule (this rnnc splits words by %s)", RNNC_WORD_PATTERN);
    if (!cJSON_IsArray(words)) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"words\" must be an array of strings");
    size_t n = json_count(words), k = 0;
    if (n == 0) /* all <unk>: nothing a model could learn or be scored on */
        return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"words\" is empty: a word tokenizer needs at least one word");
    const char **w = malloc((n + 1) * sizeof *w);
    if (!w) return rnnc_error(RNNC_ERR_NOMEM, "tokenizer JSON: out of memory");
    const cJSON *item;
    cJSON_ArrayForEach(item, words) {
        if (!cJSON_IsString(item)) {
            free(w);
            return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"words\"[%zu] is not a string", k);
        }
        w[k++] = item->valuestring;
    }
    rnnc_word_tok *wt;
    rnnc_status s = rnnc_word_create(&wt, w, k);
    free(w);
    if (s) return rnnc_error(s, "tokenizer JSON: \"words\": %s", rnnc_last_error());
    return rnnc_tokenizer_wrap_word(out, wt);
}

static rnnc_status bpe_from_json(rnnc_tokenizer **out, const cJSON *root) {
    char buf[RNNC_JSON_SHOWN_CAP];
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(root, "pattern");
    const cJSON *ranks = cJSON_GetObjectItemCaseSensitive(root, "ranks");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(root, "special_tokens");
    rnnc_status s;
    if (!cJSON_IsString(pattern)) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"pattern\" must be a string");
    if (!cJSON_IsArray(ranks)) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"ranks\" must be an array of base64 strings");
    if (specials && !cJSON_IsObject(specials)) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"special_tokens\" must be an object");
    if (specials && (s = json_unique_keys(specials, "\"special_tokens\": "))) return s;
    /* Both counts are bounded by the text's size (every element takes bytes), so are the tables. */
    size_t n = json_count(ranks), ns = json_count(specials);
    rnnc_token_bytes *toks = calloc(n + 1, sizeof *toks);
    rnnc_special_token *sp = calloc(ns + 1, sizeof *sp);
    rnnc_bytes store = {0};
    size_t *offs = calloc(n + 1, sizeof *offs);
    s = RNNC_OK;
    if (!toks || !sp || !offs) { s = rnnc_error(RNNC_ERR_NOMEM, "tokenizer JSON: out of memory"); goto done; }
    /* Decode into one growing buffer, then point the tokens into it once it stops moving. */
    size_t k = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, ranks) {
        if (cJSON_IsNull(item)) { offs[k] = SIZE_MAX; k++; continue; }
        size_t need = cJSON_IsString(item) ? strlen(item->valuestring) : 0;
        if ((s = rnnc_bytes_reserve(&store, store.len + need + 1))) goto done;
        long len = cJSON_IsString(item) ? b64_decode(item->valuestring, store.data + store.len) : -1;
        if (len <= 0) { s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"ranks\"[%zu] is not base64 token bytes or null", k); goto done; }
        offs[k] = store.len;
        toks[k].len = (size_t)len;
        store.len += (size_t)len;
        k++;
    }
    for (k = 0; k < n; k++)
        if (offs[k] != SIZE_MAX) toks[k].data = store.data + offs[k];
    k = 0;
    cJSON_ArrayForEach(item, specials) {
        double v = item->valuedouble;
        /* The range is checked on the double before the cast (1e30, 2^64, -1 are undefined as
         * integers); the limits that depend on the ranks are rnnc_bpe_check_specials's. */
        if (!cJSON_IsNumber(item) || !(v >= 0 && v <= 4294967295.0) || v != (double)(uint32_t)v) {
            s = cJSON_IsNumber(item)
                    ? rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: special token \"%s\" has id %.15g; ids are integers from 0 to %u",
                                 rnnc_json_shown(item->string, strlen(item->string), buf), v, RNNC_BPE_MAX_VOCAB - 1)
                    : rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: special token \"%s\" needs a number id",
                                 rnnc_json_shown(item->string, strlen(item->string), buf));
            goto done;
        }
        sp[k].text = item->string;
        sp[k].id = (uint32_t)v;
        k++;
    }
    if ((s = rnnc_bpe_check_specials(toks, n, sp, ns))) {
        s = rnnc_error(s, "tokenizer JSON: %s", rnnc_last_error());
        goto done;
    }
    rnnc_bpe *b;
    if ((s = rnnc_bpe_create(&b, toks, n, pattern->valuestring, sp, ns))) {
        const char *msg = rnnc_last_error(); /* rnnc_error formats into scratch: it may read its own buffer */
        s = rnnc_error(s, "tokenizer JSON: %s", strncmp(msg, "bpe: ", 5) == 0 ? msg + 5 : msg);
        goto done;
    }
    s = rnnc_tokenizer_wrap_bpe(out, b);
done:
    free(toks);
    free(sp);
    free(offs);
    rnnc_bytes_free(&store);
    return s;
}

rnnc_status rnnc_tokenizer_from_json(rnnc_tokenizer **out, const char *json, size_t len) {
    char buf[RNNC_JSON_SHOWN_CAP];
    *out = NULL;
    size_t lead = 0;
    while (lead < len && (json[lead] == ' ' || json[lead] == '\t' || json[lead] == '\n' || json[lead] == '\r')) lead++;
    if (lead == len) return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: empty");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= json && at <= json + len ? (size_t)(at - json) : 0;
        return rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: syntax error near byte %zu", off);
    }
    /* cJSON stops after the first value: anything but white space after it is an error. */
    size_t e = end && end >= json && end <= json + len ? (size_t)(end - json) : len;
    while (e < len && (json[e] == ' ' || json[e] == '\t' || json[e] == '\n' || json[e] == '\r')) e++;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    rnnc_tokenizer_type tt;
    rnnc_status s = RNNC_OK;
    size_t at, n;
    if (!cJSON_IsObject(root)) s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: not a JSON object");
    else if (e < len) s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: unexpected data after the JSON object at byte %zu", e);
    else if (rnnc_json_nul_string(json, len, &at, &n))
        s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: the string %s at byte %zu contains NUL (U+0000), which token text cannot hold",
                       rnnc_json_shown(json + at, n, buf), at);
    else if ((s = json_unique_keys(root, ""))) {}
    else if (!cJSON_IsString(type) || !rnnc_tokenizer_type_parse(type->valuestring, &tt))
        s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"type\" must be \"char\", \"word\" or \"bpe\"");
    else if (version && !cJSON_IsNumber(version))
        s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: \"version\" must be the number 1");
    else if (version && version->valuedouble != 1)
        s = rnnc_error(RNNC_ERR_FORMAT, "tokenizer JSON: version %.15g is not supported (this rnnc reads version 1)",
                       version->valuedouble);
    else if (tt != RNNC_TOKENIZER_BPE && (s = check_reserved(root, tt == RNNC_TOKENIZER_CHAR))) {}
    else if (tt == RNNC_TOKENIZER_CHAR) s = char_from_json(out, root);
    else if (tt == RNNC_TOKENIZER_WORD) s = word_from_json(out, root);
    else s = bpe_from_json(out, root);
    cJSON_Delete(root);
    return s;
}

/* ---- files ---- */
static rnnc_status load_any(rnnc_tokenizer **out, const char *name_or_path, const char *bpe_pattern);

rnnc_status rnnc_tokenizer_load(rnnc_tokenizer **out, const char *name_or_path, const char *bpe_pattern) {
    rnnc_status s = load_any(out, name_or_path, bpe_pattern);
    if (!s) return RNNC_OK;
    /* A file of another kind (a model, a checkpoint, TSV, ids) says what it is rather than how it
     * failed to parse as a rank file ("invalid base64 token"). */
    rnnc_file_kind k = rnnc_file_kind_sniff_path(name_or_path);
    if (k == RNNC_FILE_UNKNOWN) {
        char why[1024];
        snprintf(why, sizeof why, "%s", rnnc_last_error());
        rnnc_safetensors st;
        if (rnnc_st_load(&st, name_or_path) == RNNC_OK) {
            k = rnnc_file_kind_of(&st);
            rnnc_st_free(&st);
        }
        if (k == RNNC_FILE_UNKNOWN) return rnnc_error(s, "%s", why); /* the loader's own words */
    }
    if (k == RNNC_FILE_TOKENIZER_JSON || k == RNNC_FILE_TIKTOKEN || k == RNNC_FILE_TEXT || k == RNNC_FILE_JSON)
        return s; /* a tokenizer, or what might be one: the loader's error says what is wrong inside */
    char what[1200];
    return rnnc_error(RNNC_ERR_FORMAT, "%s: not a tokenizer: %s", name_or_path,
                      rnnc_file_kind_describe(what, sizeof what, k, RNNC_FILE_UNKNOWN, name_or_path));
}

static rnnc_status load_any(rnnc_tokenizer **out, const char *name_or_path, const char *bpe_pattern) {
    *out = NULL;
    rnnc_status s;
    for (size_t k = 0; k < sizeof OPENAI_NAMES / sizeof OPENAI_NAMES[0]; k++)
        if (strcmp(name_or_path, OPENAI_NAMES[k]) == 0) {
            rnnc_bpe *b;
            if ((s = rnnc_bpe_load(&b, name_or_path, NULL))) return s;
            return rnnc_tokenizer_wrap_bpe(out, b);
        }
    /* A pipe (a FIFO, <(...)) is read once, whole: only our JSON can come that way (a .tiktoken
     * file is read with its sidecar and cache beside it), and a peek would use up its start. */
    struct stat sb;
    if (stat(name_or_path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        unsigned char *data;
        size_t len;
        if ((s = rnnc_read_file(name_or_path, &data, &len))) return s;
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) i++;
        if (i == len || data[i] != '{') {
            free(data);
            return rnnc_error(RNNC_ERR_IO, "%s: not a regular file: from a pipe only a tokenizer JSON can be read; a .tiktoken "
                              "rank file must be a file (its sidecar is read beside it)", name_or_path);
        }
        s = rnnc_tokenizer_from_json(out, (const char *)data, len);
        free(data);
        return s ? rnnc_error(s, "%s: %s", name_or_path, rnnc_last_error()) : RNNC_OK;
    }
    /* Peek at the first non-blank byte: '{' is our JSON; a .tiktoken line starts with base64. */
    if (!*name_or_path) return rnnc_error(RNNC_ERR_ARG, "an empty tokenizer name (\"\"): give a file or a name");
    FILE *fp = fopen(name_or_path, "rb");
    if (!fp) return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open tokenizer", name_or_path);
    int c;
    while ((c = getc(fp)) == ' ' || c == '\t' || c == '\n' || c == '\r') {}
    fclose(fp);
    if (c != '{') {
        rnnc_bpe *b;
        if ((s = rnnc_bpe_load(&b, name_or_path, bpe_pattern))) return s;
        return rnnc_tokenizer_wrap_bpe(out, b);
    }
    unsigned char *data;
    size_t len;
    if ((s = rnnc_read_file(name_or_path, &data, &len))) return s;
    s = rnnc_tokenizer_from_json(out, (const char *)data, len);
    free(data);
    /* rnnc_error formats into scratch first, so the last message can be one of its arguments. */
    if (s) return rnnc_error(s, "%s: %s", name_or_path, rnnc_last_error());
    return RNNC_OK;
}

rnnc_status rnnc_tokenizer_save(const rnnc_tokenizer *t, const char *path) {
    if (t->type == RNNC_TOKENIZER_BPE) return rnnc_bpe_save(t->bpe, path);
    char *json;
    rnnc_status s = rnnc_tokenizer_to_json(t, &json);
    if (s) return rnnc_error(s, "%s: %s", path, rnnc_last_error());
    size_t n = strlen(json);
    json[n] = '\n'; /* cJSON's buffer always has room for its NUL; a final newline is friendlier */
    s = rnnc_write_file_atomic(path, json, n + 1);
    free(json);
    return s;
}
