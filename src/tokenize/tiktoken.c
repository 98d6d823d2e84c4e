/* .tiktoken rank files (one "BASE64 RANK" line per token) and their JSON sidecars; the four
 * OpenAI encodings by name. See rnnc_bpe_load/save in include/rnnc/bpe.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json.h"
#include "rnnc/bpe.h"
#include "rnnc/io.h"
#include "rnnc/pretok.h"
#include "tokenize/bpe_cache.h"
#include "tokenize/bpe_table.h"

/* tiktoken's registry: pattern and special tokens of each OpenAI encoding. */
static const rnnc_special_token SPECIALS_R50K[] = {{"<|endoftext|>", 50256}};
static const rnnc_special_token SPECIALS_CL100K[] = {
    {"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258}, {"<|fim_middle|>", 100259},
    {"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276}};
static const rnnc_special_token SPECIALS_O200K[] = {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}};

static const struct {
    const char *name, *pattern;
    const rnnc_special_token *specials;
    size_t n_specials;
} ENCODINGS[] = {
    {"r50k_base", "r50k", SPECIALS_R50K, 1},
    {"p50k_base", "r50k", SPECIALS_R50K, 1},
    {"cl100k_base", "cl100k", SPECIALS_CL100K, 5},
    {"o200k_base", "o200k", SPECIALS_O200K, 2},
};

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict standard base64 (padded to a multiple of 4). Returns the decoded length, or -1. */
static long b64_decode(const unsigned char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) { v[k] = 0; pad++; continue; }
            if (pad) return -1; /* data after padding */
            v[k] = b64_value(s[i + k]);
            if (v[k] < 0) return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Bits beyond the last byte must be zero: two spellings of one token would look distinct. */
        if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF))) return -1;
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
    }
    return (long)o;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *p, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[o++] = B64[w >> 18];
        out[o++] = B64[(w >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? B64[w & 63] : '=';
    }
    out[o] = 0;
}

/* ---- strict JSON for the sidecar (the same checks as the tokenizer JSON reader in tokenizer.c) ---- */

/* Parses text as one JSON object with nothing but white space after it, and no NUL in any string
 * (cJSON accepts trailing bytes). Errors name `file`. */
static rnnc_status json_parse_object(cJSON **out, const char *text, size_t len, const char *file) {
    char buf[RNNC_JSON_SHOWN_CAP];
    const char *end = NULL;
    *out = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
        return rnnc_error(RNNC_ERR_FORMAT, "%s: JSON syntax error near byte %zu", file, off);
    }
    size_t e = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
    while (e < len && (text[e] == ' ' || text[e] == '\t' || text[e] == '\n' || text[e] == '\r')) e++;
    size_t at, n;
    rnnc_status st = RNNC_OK;
    if (!cJSON_IsObject(j)) st = rnnc_error(RNNC_ERR_FORMAT, "%s: not a JSON object", file);
    else if (e < len) st = rnnc_error(RNNC_ERR_FORMAT, "%s: unexpected data after the JSON object at byte %zu", file, e);
    else if (rnnc_json_nul_string(text, len, &at, &n))
        st = rnnc_error(RNNC_ERR_FORMAT, "%s: the string %s at byte %zu contains NUL (U+0000), which names and patterns cannot hold",
                        file, rnnc_json_shown(text + at, n, buf), at);
    if (st) { cJSON_Delete(j); return st; }
    *out = j;
    return RNNC_OK;
}

/* A repeated key in obj is an error naming `file` and `what` (the object). */
static rnnc_status json_unique_keys(const cJSON *obj, const char *file, const char *what) {
    char buf[RNNC_JSON_SHOWN_CAP];
    bool nomem;
    const char *dup = rnnc_json_dup_key(obj, &nomem);
    if (nomem) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", file);
    if (dup) return rnnc_error(RNNC_ERR_FORMAT, "%s: %skey \"%s\" appears twice", file, what, rnnc_json_shown(dup, strlen(dup), buf));
    return RNNC_OK;
}

/* Per rank while parsing: where its bytes are and the line that gave it (0: unused rank). */
typedef struct { size_t off, len, line; } rank_entry;

/* Seeded FNV-1a, finished by a mixer: the seed differs per run, so crafted tokens cannot be made
 * to collide in the duplicate table below. */
static uint64_t token_hash(const unsigned char *p, size_t n, uint64_t seed) {
    uint64_t h = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}

/* Parses rank lines into a rank-indexed token array and builds the tokenizer. Errors name
 * `source` (with the line for a bad line), or `spec_source` (the sidecar, if not NULL) for those
 * about the special tokens. */
static rnnc_status parse_ranks(rnnc_bpe **out, const unsigned char *data, size_t len, const char *source,
                               const char *pattern, const rnnc_special_token *specials, size_t n_specials,
                               const char *spec_source) {
    *out = NULL;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    lines++;
    /* Ranks may have gaps, but not more than this: it bounds the table a hostile file can make us
     * allocate (every allocation here is bounded by the file's size). */
    size_t max_rank = lines + 65536;
    unsigned char *bytes = malloc(len / 4 * 3 + 4);
    size_t cap = lines + 1, n_ranks = 0;
    rank_entry *ent = calloc(cap, sizeof *ent);
    /* Tokens seen so far by their bytes (rank + 1, 0 = empty), so that a duplicate is reported at
     * its line; rnnc_bpe_create could only name the ranks. */
    size_t dup_cap = 16;
    while (dup_cap < 2 * lines) dup_cap *= 2;
    size_t *seen = calloc(dup_cap, sizeof *seen);
    uint64_t seed = (uint64_t)(uintptr_t)seen * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&seed;
    if (!bytes || !ent || !seen) {
        free(bytes); free(ent); free(seen);
        return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", source);
    }
    size_t off = 0, line = 0;
    rnnc_status st = RNNC_OK;
    for (size_t i = 0; i < len && !st;) {
        line++;
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        size_t next = e < len ? e + 1 : e;
        if (e > i && data[e - 1] == '\r') e--; /* tolerate CRLF files */
        if (e == i) {
            if (next < len || e < len) st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: empty line", source, line);
            break; /* a final newline ends the file */
        }
        const unsigned char *sp = memchr(data + i, ' ', e - i);
        if (!sp) { st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: expected 'BASE64 RANK', found no space", source, line); break; }
        size_t tl = (size_t)(sp - (data + i));
        long bl = b64_decode(data + i, tl, bytes + off);
        if (bl <= 0) { st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: invalid base64 token", source, line); break; }
        const unsigned char *r = sp + 1, *rend = data + e;
        if (r == rend) { st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: missing rank", source, line); break; }
        size_t rank = 0, nd = (size_t)(rend - r);
        for (const unsigned char *q = r; q < rend && !st; q++)
            if (*q < '0' || *q > '9') st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: rank is not a non-negative integer", source, line);
        if (st) break;
        /* The value stops growing past max_rank, so it cannot wrap; the message shows the digits. */
        for (const unsigned char *q = r; q < rend && rank <= max_rank; q++) rank = rank * 10 + (size_t)(*q - '0');
        if (rank > max_rank) {
            st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: rank %.*s%s is too large (at most %zu in a file of %zu lines)", source, line,
                            (int)(nd < 40 ? nd : 40), (const char *)r, nd < 40 ? "" : "...", max_rank, lines);
            break;
        }
        if (rank >= cap) {
            size_t nc = cap;
            while (nc <= rank) nc *= 2;
            rank_entry *nt = realloc(ent, nc * sizeof *nt);
            if (!nt) { st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", source); break; }
            memset(nt + cap, 0, (nc - cap) * sizeof *nt);
            ent = nt;
            cap = nc;
        }
        if (ent[rank].line) {
            st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: duplicate rank %zu (also on line %zu)", source, line, rank, ent[rank].line);
            break;
        }
        size_t h = (size_t)token_hash(bytes + off, (size_t)bl, seed) & (dup_cap - 1);
        for (; seen[h]; h = (h + 1) & (dup_cap - 1)) {
            const rank_entry *o = &ent[seen[h] - 1];
            if (o->len == (size_t)bl && memcmp(bytes + o->off, bytes + off, o->len) == 0) break;
        }
        if (seen[h]) {
            st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: duplicate token: ranks %zu and %zu have the same bytes (lines %zu and %zu)",
                            source, line, seen[h] - 1, rank, ent[seen[h] - 1].line, line);
            break;
        }
        seen[h] = rank + 1;
        ent[rank] = (rank_entry){off, (size_t)bl, line};
        off += (size_t)bl;
        if (rank + 1 > n_ranks) n_ranks = rank + 1;
        i = next;
    }
    if (!st && n_ranks == 0) st = rnnc_error(RNNC_ERR_FORMAT, "%s: no tokens", source);
    free(seen);
    if (!st) {
        rnnc_token_bytes *real = calloc(n_ranks, sizeof *real); /* gaps stay NULL */
        if (!real) st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", source);
        for (size_t r = 0; !st && r < n_ranks; r++)
            if (ent[r].line) { real[r].data = bytes + ent[r].off; real[r].len = ent[r].len; }
        /* The specials first, so that their errors name the file they came from. rnnc_error may
         * format the last message into itself (it formats into scratch first). */
        if (!st && (st = rnnc_bpe_check_specials(real, n_ranks, specials, n_specials)))
            st = rnnc_error(st, "%s: %s", spec_source ? spec_source : source, rnnc_last_error());
        if (!st && (st = rnnc_bpe_create(out, real, n_ranks, pattern, specials, n_specials))) {
            const char *msg = rnnc_last_error();
            st = rnnc_error(st, "%s: %s", source, strncmp(msg, "bpe: ", 5) == 0 ? msg + 5 : msg);
        }
        free(real);
    }
    free(ent);
    free(bytes);
    return st;
}

static int has_rank(const void *ctx, size_t id) { return ((const rnnc_bpe *)ctx)->tok_len[id] != 0; }

/* Reads the rank file `file` and makes its tokenizer (errors as parse_ranks). A rank file of
 * RNNC_BPE_CACHE_MIN_SOURCE bytes or more goes through the cache beside it (bpe_cache.h): its
 * tables are taken from there when the cache matches the file and passes its checks, and are
 * written there after a parse otherwise (where the directory allows). */
static rnnc_status load_ranks(rnnc_bpe **out, const char *file, const char *pattern, const rnnc_special_token *specials,
                              size_t n_specials, const char *spec_source) {
    *out = NULL;
    struct stat sb;
    /* Stat before reading: a change after it leaves the recorded time older than the file's. */
    int regular = stat(file, &sb) == 0 && S_ISREG(sb.st_mode);
    unsigned char *data;
    size_t len;
    rnnc_status st = rnnc_read_file(file, &data, &len);
    if (st) return st;
    int mode = rnnc_bpe_cache_mode();
    int cached = regular && mode && (mode == 1 || len >= RNNC_BPE_CACHE_MIN_SOURCE);
    rnnc_bpe_source src = {0};
    if (cached) {
        src.size = (uint64_t)sb.st_size;
        src.mtime_s = (int64_t)sb.st_mtim.tv_sec;
        src.mtime_ns = (int64_t)sb.st_mtim.tv_nsec;
        src.hash = rnnc_bpe_hash64(data, len, RNNC_BPE_SOURCE_SEED);
        rnnc_bpe *t = NULL;
        if ((st = rnnc_bpe_cache_read(&t, file, &src))) { free(data); return st; }
        if (t) {
            free(data);
            if ((st = rnnc_bpe_check_specials_by(t->n_ranks, has_rank, t, specials, n_specials))) {
                st = rnnc_error(st, "%s: %s", spec_source ? spec_source : file, rnnc_last_error());
                rnnc_bpe_free(t);
            } else if ((st = rnnc_bpe_finish(t, out, pattern, specials, n_specials))) {
                const char *msg = rnnc_last_error();
                st = rnnc_error(st, "%s: %s", file, strncmp(msg, "bpe: ", 5) == 0 ? msg + 5 : msg);
            }
            return st;
        }
    }
    st = parse_ranks(out, data, len, file, pattern, specials, n_specials, spec_source);
    free(data);
    if (!st && cached) (void)rnnc_bpe_cache_write(*out, file, &src);
    return st;
}

rnnc_status rnnc_bpe_load_mem(rnnc_bpe **out, const unsigned char *data, size_t len, const char *source,
                              const char *pattern) {
    return parse_ranks(out, data, len, source ? source : "<memory>", pattern, NULL, 0, NULL);
}

/* path + suffix, malloc'd: paths have no fixed limit here, and a truncated one would name (or
 * open) the wrong file. */
static char *path_cat(const char *a, const char *b, const char *c) {
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    char *p = malloc(na + nb + nc + 1);
    if (!p) return NULL;
    memcpy(p, a, na);
    memcpy(p + na, b, nb);
    memcpy(p + na + nb, c, nc + 1);
    return p;
}

static void free_specials(rnnc_special_token *specials, size_t n) {
    for (size_t k = 0; k < n; k++) free((char *)specials[k].text);
    free(specials);
}

/* Reads the sidecar `side`: {"pattern": "...", "special_tokens": {"text": id, ...}}. *found = 0 if
 * there is none. The ids are checked against the ranks later (rnnc_bpe_check_specials). */
static rnnc_status read_sidecar(const char *side, char **pattern, rnnc_special_token **specials, size_t *n, int *found) {
    char buf[RNNC_JSON_SHOWN_CAP];
    *pattern = NULL;
    *specials = NULL;
    *n = 0;
    *found = 0;
    struct stat sb;
    if (stat(side, &sb) != 0) {
        /* Only a sidecar that is not there is optional: a name too long or a denied directory
         * must not silently drop the specials. */
        if (errno == ENOENT || errno == ENOTDIR) return RNNC_OK;
        return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot read the sidecar", side);
    }
    *found = 1;
    unsigned char *text;
    size_t len;
    rnnc_status st = rnnc_read_file(side, &text, &len);
    if (st) return st;
    cJSON *j;
    st = json_parse_object(&j, (const char *)text, len, side);
    free(text);
    if (st) return st;
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "special_tokens");
    st = json_unique_keys(j, side, "");
    if (!st && pat && !cJSON_IsString(pat)) st = rnnc_error(RNNC_ERR_FORMAT, "%s: \"pattern\" must be a string", side);
    if (!st && sp && !cJSON_IsObject(sp)) st = rnnc_error(RNNC_ERR_FORMAT, "%s: \"special_tokens\" must be an object", side);
    if (!st && sp) st = json_unique_keys(sp, side, "\"special_tokens\": ");
    if (!st && pat) {
        /* Compiled here too, so a bad pattern is reported against the sidecar, not the rank file. */
        rnnc_pretok *re;
        if ((st = rnnc_pretok_new(&re, pat->valuestring))) {
            const char *msg = rnnc_last_error();
            st = rnnc_error(st, "%s: \"pattern\": %s", side, strncmp(msg, "pattern: ", 9) == 0 ? msg + 9 : msg);
        }
        rnnc_pretok_free(re);
        if (!st && !(*pattern = strdup(pat->valuestring))) st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", side);
    }
    if (!st && sp) {
        size_t count = 0, k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, sp) count++;
        *specials = calloc(count ? count : 1, sizeof **specials);
        if (!*specials) st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", side);
        cJSON_ArrayForEach(it, sp) {
            if (st) break;
            double v = it->valuedouble;
            /* The range is checked on the double: casting 1e30 or -1 to an integer is undefined. */
            if (!cJSON_IsNumber(it) || !(v >= 0 && v <= 4294967295.0) || v != (double)(uint32_t)v) {
                st = cJSON_IsNumber(it)
                         ? rnnc_error(RNNC_ERR_FORMAT, "%s: special token \"%s\" has id %.15g; ids are integers from 0 to %u",
                                      side, rnnc_json_shown(it->string, strlen(it->string), buf), v, RNNC_BPE_MAX_VOCAB - 1)
                         : rnnc_error(RNNC_ERR_FORMAT, "%s: special token \"%s\" needs a number id", side,
                                      rnnc_json_shown(it->string, strlen(it->string), buf));
                break;
            }
            (*specials)[k].text = strdup(it->string);
            (*specials)[k].id = (uint32_t)v;
            if (!(*specials)[k].text) { st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", side); break; }
            k++;
        }
        *n = k;
    }
    cJSON_Delete(j);
    if (st) {
        free(*pattern);
        *pattern = NULL;
        free_specials(*specials, *n);
        *specials = NULL;
        *n = 0;
    }
    return st;
}

rnnc_status rnnc_bpe_load(rnnc_bpe **out, const char *name_or_path, const char *pattern) {
    *out = NULL;
    for (size_t i = 0; i < sizeof ENCODINGS / sizeof ENCODINGS[0]; i++) {
        if (strcmp(name_or_path, ENCODINGS[i].name) != 0) continue;
        char *path = path_cat(rnnc_data_dir(), "/tiktoken/", ENCODINGS[i].name);
        char *file = path ? path_cat(path, ".tiktoken", "") : NULL;
        free(path);
        if (!file) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", name_or_path);
        struct stat sb;
        rnnc_status st;
        if (stat(file, &sb) != 0)
            st = rnnc_error(RNNC_ERR_IO, "%s: not found (%s); run scripts/fetch-data.sh (or `make data`), or set RNNC_DATA to the data folder",
                            file, ENCODINGS[i].name);
        else st = load_ranks(out, file, ENCODINGS[i].pattern, ENCODINGS[i].specials, ENCODINGS[i].n_specials, NULL);
        free(file);
        return st;
    }
    char *side = path_cat(name_or_path, ".json", "");
    if (!side) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", name_or_path);
    char *side_pattern;
    rnnc_special_token *specials;
    size_t n_specials;
    int found;
    rnnc_status st = read_sidecar(side, &side_pattern, &specials, &n_specials, &found);
    if (!st) st = load_ranks(out, name_or_path, side_pattern ? side_pattern : pattern, specials, n_specials, found ? side : NULL);
    free(side_pattern);
    free_specials(specials, n_specials);
    free(side);
    return st;
}

/* The sidecar's text: {"pattern": ..., "special_tokens": {text: id}}, newline-terminated; NULL
 * when memory runs out. */
static char *sidecar_text(const rnnc_bpe *b, size_t *len) {
    cJSON *j = cJSON_CreateObject();
    cJSON *sp = j && cJSON_AddStringToObject(j, "pattern", rnnc_bpe_pattern(b)) ? cJSON_AddObjectToObject(j, "special_tokens") : NULL;
    for (size_t k = 0; sp && k < rnnc_bpe_n_specials(b); k++) {
        rnnc_special_token s = rnnc_bpe_special(b, k);
        if (!cJSON_AddNumberToObject(sp, s.text, (double)s.id)) sp = NULL;
    }
    char *txt = sp ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!txt) return NULL;
    *len = strlen(txt);
    txt[*len] = '\n'; /* cJSON_Print leaves room for the terminator only; write it as a newline */
    *len += 1;
    return txt;
}

rnnc_status rnnc_bpe_save(const rnnc_bpe *b, const char *path) {
    /* Everything that can run out of memory happens before the rank file is replaced, so a
     * failure does not leave a new rank file beside an old sidecar. */
    char *side = path_cat(path, ".json", "");
    if (!side) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
    size_t side_len = 0;
    char *side_txt = sidecar_text(b, &side_len);
    if (!side_txt) {
        rnnc_status st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory writing the sidecar", side);
        free(side);
        return st;
    }
    rnnc_atomic_file af = {0}, sf = {0};
    rnnc_status st = rnnc_atomic_open(&af, path);
    if (!st && (st = rnnc_atomic_open(&sf, side))) rnnc_atomic_abort(&af);
    char *line = NULL;
    size_t line_cap = 0;
    size_t n = rnnc_bpe_n_vocab(b);
    for (uint32_t r = 0; r < n && !st; r++) {
        rnnc_token_bytes t = rnnc_bpe_token(b, r);
        /* Special ids are not ranks (they go to the sidecar): a rank is found again by its bytes,
         * a special id never is (its text, if also a token, has that token's rank). */
        if (!t.data || rnnc_bpe_rank_of(b, t.data, t.len) != r) continue;
        size_t need = (t.len + 2) / 3 * 4 + 1;
        if (need > line_cap) {
            char *nl = realloc(line, need);
            if (!nl) { st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); break; }
            line = nl;
            line_cap = need;
        }
        b64_encode(t.data, t.len, line);
        if (fprintf(af.fp, "%s %u\n", line, r) < 0) st = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed", path);
    }
    free(line);
    /* the rank file and its sidecar are one tokenizer: both are written out before either
     * replaces the old pair (a sidecar that failed to write left new ranks beside old specials) */
    if (!st && side_len && fwrite(side_txt, 1, side_len, sf.fp) != side_len) st = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed", side);
    if (!st) st = rnnc_atomic_commit_pair(&af, &sf);
    else { rnnc_atomic_abort(&af); rnnc_atomic_abort(&sf); } /* (safe on files never opened) */
    cJSON_free(side_txt);
    free(side);
    return st;
}
