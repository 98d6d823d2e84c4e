/* .tiktoken rank files (one "BASE64 RANK" line per token) and their JSON sidecars; the four
 * OpenAI encodings by name. See rnnc_bpe_load/save in include/rnnc/bpe.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rnnc/bpe.h"
#include "rnnc/io.h"

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

/* Parses rank lines into a rank-indexed token array and builds the tokenizer. */
static rnnc_status parse_ranks(rnnc_bpe **out, const unsigned char *data, size_t len, const char *source,
                               const char *pattern, const rnnc_special_token *specials, size_t n_specials) {
    *out = NULL;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    lines++;
    /* Ranks may have gaps, but not more than this: it bounds the table a hostile file can make us
     * allocate. */
    size_t max_rank = lines + 65536;
    unsigned char *bytes = malloc(len / 4 * 3 + 4);
    size_t cap = lines + 1, n_ranks = 0;
    rnnc_token_bytes *tok = calloc(cap, sizeof *tok);
    if (!bytes || !tok) { free(bytes); free(tok); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", source); }
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
        const unsigned char *r = sp + 1;
        size_t rank = 0;
        if (r == data + e) { st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: missing rank", source, line); break; }
        for (; r < data + e; r++) {
            if (*r < '0' || *r > '9' || rank > max_rank) {
                st = *r < '0' || *r > '9'
                         ? rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: rank is not a non-negative integer", source, line)
                         : rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: rank is too large (the file has %zu lines)", source, line, lines);
                break;
            }
            rank = rank * 10 + (size_t)(*r - '0');
        }
        if (st) break;
        if (rank > max_rank) { st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: rank %zu is too large (the file has %zu lines)", source, line, rank, lines); break; }
        if (rank >= cap) {
            size_t nc = cap;
            while (nc <= rank) nc *= 2;
            rnnc_token_bytes *nt = realloc(tok, nc * sizeof *nt);
            if (!nt) { st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", source); break; }
            memset(nt + cap, 0, (nc - cap) * sizeof *nt);
            tok = nt;
            cap = nc;
        }
        if (tok[rank].len) { st = rnnc_error(RNNC_ERR_FORMAT, "%s:%zu: duplicate rank %zu", source, line, rank); break; }
        /* An offset for now (len > 0 marks the rank as used); rebased once `bytes` is complete. */
        tok[rank].data = (const unsigned char *)(uintptr_t)off;
        tok[rank].len = (size_t)bl;
        off += (size_t)bl;
        if (rank + 1 > n_ranks) n_ranks = rank + 1;
        i = next;
    }
    if (!st && n_ranks == 0) st = rnnc_error(RNNC_ERR_FORMAT, "%s: no tokens", source);
    if (!st) {
        /* Rebase the offsets now that the byte buffer is final; gaps stay NULL. */
        rnnc_token_bytes *real = calloc(n_ranks, sizeof *real);
        if (!real) st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", source);
        for (size_t r = 0; !st && r < n_ranks; r++)
            if (tok[r].len) { real[r].data = bytes + (uintptr_t)tok[r].data; real[r].len = tok[r].len; }
        if (!st) {
            st = rnnc_bpe_create(out, real, n_ranks, pattern, specials, n_specials);
            if (st) {
                /* Prefix the file name (a duplicate token names its two ranks). */
                char msg[512];
                snprintf(msg, sizeof msg, "%s", rnnc_last_error());
                st = rnnc_error(st, "%s: %s", source, strncmp(msg, "bpe: ", 5) == 0 ? msg + 5 : msg);
            }
        }
        free(real);
    }
    free(tok);
    free(bytes);
    return st;
}

rnnc_status rnnc_bpe_load_mem(rnnc_bpe **out, const unsigned char *data, size_t len, const char *source,
                              const char *pattern) {
    return parse_ranks(out, data, len, source ? source : "<memory>", pattern, NULL, 0);
}

/* Reads <path>.json: {"pattern": "...", "special_tokens": {"text": id, ...}}. *found = 0 if absent. */
static rnnc_status read_sidecar(const char *path, char **pattern, rnnc_special_token **specials, size_t *n, int *found) {
    *pattern = NULL;
    *specials = NULL;
    *n = 0;
    *found = 0;
    char side[4096];
    snprintf(side, sizeof side, "%s.json", path);
    struct stat sb;
    if (stat(side, &sb) != 0) return RNNC_OK;
    *found = 1;
    unsigned char *text;
    size_t len;
    rnnc_status st = rnnc_read_file(side, &text, &len);
    if (st) return st;
    cJSON *j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    if (!j || !cJSON_IsObject(j)) { cJSON_Delete(j); return rnnc_error(RNNC_ERR_FORMAT, "%s: not a JSON object", side); }
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "special_tokens");
    if (pat && !cJSON_IsString(pat)) st = rnnc_error(RNNC_ERR_FORMAT, "%s: \"pattern\" must be a string", side);
    if (!st && sp && !cJSON_IsObject(sp)) st = rnnc_error(RNNC_ERR_FORMAT, "%s: \"special_tokens\" must be an object", side);
    if (!st && pat) *pattern = strdup(pat->valuestring);
    if (!st && sp) {
        size_t count = (size_t)cJSON_GetArraySize(sp), k = 0;
        *specials = calloc(count ? count : 1, sizeof **specials);
        if (!*specials) st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", side);
        const cJSON *it;
        cJSON_ArrayForEach(it, sp) {
            if (st) break;
            if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= 4294967295.0 ||
                it->valuedouble != (double)(uint32_t)it->valuedouble) {
                st = rnnc_error(RNNC_ERR_FORMAT, "%s: special token \"%s\" needs a non-negative integer id", side, it->string);
                break;
            }
            (*specials)[k].text = strdup(it->string);
            (*specials)[k].id = (uint32_t)it->valuedouble;
            if (!(*specials)[k].text) st = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", side);
            k++;
        }
        *n = k;
    }
    cJSON_Delete(j);
    if (st) {
        free(*pattern);
        *pattern = NULL;
        for (size_t k = 0; k < *n; k++) free((char *)(*specials)[k].text);
        free(*specials);
        *specials = NULL;
        *n = 0;
    }
    return st;
}

rnnc_status rnnc_bpe_load(rnnc_bpe **out, const char *name_or_path, const char *pattern) {
    *out = NULL;
    for (size_t i = 0; i < sizeof ENCODINGS / sizeof ENCODINGS[0]; i++) {
        if (strcmp(name_or_path, ENCODINGS[i].name) != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/tiktoken/%s.tiktoken", rnnc_data_dir(), ENCODINGS[i].name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            return rnnc_error(RNNC_ERR_IO, "%s: not found (%s); run scripts/fetch-data.sh (or `make data`), or set RNNC_DATA to the data folder",
                              path, ENCODINGS[i].name);
        unsigned char *data;
        size_t len;
        rnnc_status st = rnnc_read_file(path, &data, &len);
        if (st) return st;
        st = parse_ranks(out, data, len, path, ENCODINGS[i].pattern, ENCODINGS[i].specials, ENCODINGS[i].n_specials);
        free(data);
        return st;
    }
    char *side_pattern;
    rnnc_special_token *specials;
    size_t n_specials;
    int found;
    rnnc_status st = read_sidecar(name_or_path, &side_pattern, &specials, &n_specials, &found);
    if (st) return st;
    unsigned char *data;
    size_t len;
    st = rnnc_read_file(name_or_path, &data, &len);
    if (!st) {
        const char *pat = side_pattern ? side_pattern : pattern;
        st = parse_ranks(out, data, len, name_or_path, pat, specials, n_specials);
        free(data);
    }
    free(side_pattern);
    for (size_t k = 0; k < n_specials; k++) free((char *)specials[k].text);
    free(specials);
    return st;
}

rnnc_status rnnc_bpe_save(const rnnc_bpe *b, const char *path) {
    rnnc_atomic_file af;
    rnnc_status st = rnnc_atomic_open(&af, path);
    if (st) return st;
    char *line = NULL;
    size_t line_cap = 0;
    size_t n = rnnc_bpe_n_vocab(b);
    for (uint32_t r = 0; r < n && !st; r++) {
        rnnc_token_bytes t = rnnc_bpe_token(b, r);
        if (!t.data) continue;
        /* Special ids are not ranks: they go to the sidecar. */
        int special = 0;
        for (size_t k = 0; k < rnnc_bpe_n_specials(b); k++) special |= rnnc_bpe_special(b, k).id == r;
        if (special) continue;
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
    if (st) { rnnc_atomic_abort(&af); return st; }
    st = rnnc_atomic_commit(&af);
    if (st) return st;

    cJSON *j = cJSON_CreateObject();
    cJSON *sp = cJSON_CreateObject();
    if (!j || !sp || !cJSON_AddStringToObject(j, "pattern", rnnc_bpe_pattern(b))) st = RNNC_ERR_NOMEM;
    for (size_t k = 0; !st && k < rnnc_bpe_n_specials(b); k++) {
        rnnc_special_token s = rnnc_bpe_special(b, k);
        if (!cJSON_AddNumberToObject(sp, s.text, (double)s.id)) st = RNNC_ERR_NOMEM;
    }
    if (!st) { cJSON_AddItemToObject(j, "special_tokens", sp); sp = NULL; }
    char *txt = st ? NULL : cJSON_Print(j);
    cJSON_Delete(j);
    cJSON_Delete(sp);
    if (!txt) return rnnc_error(RNNC_ERR_NOMEM, "%s.json: out of memory", path);
    char side[4096];
    snprintf(side, sizeof side, "%s.json", path);
    size_t tl = strlen(txt);
    txt[tl] = '\n'; /* cJSON_Print leaves room for the terminator only; write it as a newline */
    st = rnnc_write_file_atomic(side, txt, tl + 1);
    cJSON_free(txt);
    return st;
}
