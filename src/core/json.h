/* Strict reading of the small JSON objects rnnc keeps in its files (configs, options, progress):
 * one object, each key once, numbers range-checked as doubles before any conversion, so a crafted
 * file can neither pick which of two values wins nor reach an undefined float-to-integer cast.
 * Internal to the library (src/). */
#ifndef RNNC_CORE_JSON_H
#define RNNC_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnnc/status.h"

/* Parses `text` as exactly one JSON object (only white space after it) whose keys appear once;
 * errors say "WHAT: ..." (what names the file and metadata key). *out is freed with cJSON_Delete. */
rnnc_status rnnc_json_object(const char *text, const char *what, cJSON **out);
/* The first key of obj that appears twice, or NULL (sorted copy of the keys: no quadratic scan
 * on a hostile object); *nomem (when not NULL) is set when memory ran out, NULL returned. */
const char *rnnc_json_dup_key(const cJSON *obj, bool *nomem);

/* Text for an error message: at most 60 bytes, control bytes as \xNN, so a message stays one
 * line however hostile the text. */
#define RNNC_JSON_SHOWN_CAP 256
const char *rnnc_json_shown(const char *s, size_t n, char buf[RNNC_JSON_SHOWN_CAP]);
/* cJSON decodes \u0000 (and copies a raw NUL) into its C strings, which then silently end there.
 * Finds the first string of well-formed JSON text s[0, len) that holds one: 1 and its span
 * (quotes included) in *at, *n; else 0. */
int rnnc_json_nul_string(const char *s, size_t len, size_t *at, size_t *n);

/* obj[key] as a number in [lo, hi] (and a whole number when `integer`): RNNC_ERR_FORMAT naming
 * `what` and the key when missing (unless `optional`, which leaves *out alone), not a number, NaN,
 * out of range or fractional. */
rnnc_status rnnc_json_num(const cJSON *obj, const char *key, double lo, double hi, bool integer, bool optional,
                          double *out, const char *what);
rnnc_status rnnc_json_long(const cJSON *obj, const char *key, long lo, long hi, bool optional, long *out,
                           const char *what);
rnnc_status rnnc_json_int(const cJSON *obj, const char *key, int lo, int hi, bool optional, int *out, const char *what);
/* obj[key] as a string (a pointer into obj) or, when `optional` and absent, *out unchanged. A NUL
 * inside it (\u0000) is refused. */
rnnc_status rnnc_json_str(const cJSON *obj, const char *key, bool optional, const char **out, const char *what);
rnnc_status rnnc_json_bool(const cJSON *obj, const char *key, bool optional, bool *out, const char *what);

#endif
