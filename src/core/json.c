/* Strict JSON object reading; see json.h. */
#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

const char *rnnc_json_dup_key(const cJSON *obj, bool *nomem) {
    if (nomem) *nomem = false;
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) n++;
    if (n < 2) return NULL;
    const char **keys = malloc(n * sizeof *keys);
    if (!keys) {
        if (nomem) *nomem = true;
        return NULL;
    }
    n = 0;
    cJSON_ArrayForEach(it, obj) keys[n++] = it->string ? it->string : "";
    qsort(keys, n, sizeof *keys, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
    free(keys);
    return dup;
}

const char *rnnc_json_shown(const char *s, size_t n, char buf[RNNC_JSON_SHOWN_CAP]) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 60) { memcpy(buf + o, "...", 3); o += 3; break; }
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) o += (size_t)snprintf(buf + o, 5, "\\x%02X", c);
        else buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

int rnnc_json_nul_string(const char *s, size_t len, size_t *at, size_t *n) {
    size_t start = 0;
    int in = 0, nul = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!in) {
            if (c == '"') { in = 1; nul = 0; start = i; }
        } else if (c == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0) nul = 1;
            i++; /* the escaped character cannot end the string */
        } else if (c == 0) {
            nul = 1;
        } else if (c == '"') {
            in = 0;
            if (nul) { *at = start; *n = i + 1 - start; return 1; }
        }
    }
    return 0;
}

rnnc_status rnnc_json_object(const char *text, const char *what, cJSON **out) {
    *out = NULL;
    if (!text) return rnnc_error(RNNC_ERR_FORMAT, "%s: missing", what);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, false);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return rnnc_error(RNNC_ERR_FORMAT, "%s: not a JSON object", what);
    }
    while (end && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (end && *end) {
        cJSON_Delete(j);
        return rnnc_error(RNNC_ERR_FORMAT, "%s: text after the JSON object", what);
    }
    bool nomem;
    const char *dup = rnnc_json_dup_key(j, &nomem);
    if (nomem) {
        cJSON_Delete(j);
        return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", what);
    }
    if (dup) {
        rnnc_status s = rnnc_error(RNNC_ERR_FORMAT, "%s: the key \"%s\" appears twice", what, dup);
        cJSON_Delete(j);
        return s;
    }
    *out = j;
    return RNNC_OK;
}

rnnc_status rnnc_json_num(const cJSON *obj, const char *key, double lo, double hi, bool integer, bool optional,
                          double *out, const char *what) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v && optional) return RNNC_OK;
    if (!v) return rnnc_error(RNNC_ERR_FORMAT, "%s: \"%s\" is missing", what, key);
    if (!cJSON_IsNumber(v)) return rnnc_error(RNNC_ERR_FORMAT, "%s: \"%s\" is not a number", what, key);
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi) || (integer && d != floor(d)))
        return rnnc_error(RNNC_ERR_FORMAT, "%s: \"%s\" is %g, not %s in [%g, %g]", what, key, d,
                          integer ? "an integer" : "a number", lo, hi);
    *out = d;
    return RNNC_OK;
}

rnnc_status rnnc_json_long(const cJSON *obj, const char *key, long lo, long hi, bool optional, long *out,
                           const char *what) {
    double d = 0;
    rnnc_status s = rnnc_json_num(obj, key, (double)lo, (double)hi, true, optional, &d, what);
    if (!s && cJSON_GetObjectItemCaseSensitive(obj, key)) *out = (long)d; /* in range: checked above */
    return s;
}

rnnc_status rnnc_json_int(const cJSON *obj, const char *key, int lo, int hi, bool optional, int *out, const char *what) {
    long v = 0;
    rnnc_status s = rnnc_json_long(obj, key, lo, hi, optional, &v, what);
    if (!s && cJSON_GetObjectItemCaseSensitive(obj, key)) *out = (int)v;
    return s;
}

rnnc_status rnnc_json_str(const cJSON *obj, const char *key, bool optional, const char **out, const char *what) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v && optional) return RNNC_OK;
    if (!v) return rnnc_error(RNNC_ERR_FORMAT, "%s: \"%s\" is missing", what, key);
    if (!cJSON_IsString(v)) return rnnc_error(RNNC_ERR_FORMAT, "%s: \"%s\" is not a string", what, key);
    *out = v->valuestring;
    return RNNC_OK;
}

rnnc_status rnnc_json_bool(const cJSON *obj, const char *key, bool optional, bool *out, const char *what) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v && optional) return RNNC_OK;
    if (!cJSON_IsBool(v)) return rnnc_error(RNNC_ERR_FORMAT, "%s: \"%s\" is %s", what, key, v ? "not true or false" : "missing");
    *out = cJSON_IsTrue(v);
    return RNNC_OK;
}
