/* Per-thread error messages; see include/rnnc/status.h. */
#include "rnnc/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for a message naming two paths of PATH_MAX (4096) and its reason. */
static _Thread_local char last_error[10240];

/* Formatted into a scratch buffer first: callers often wrap the previous message
 * (rnnc_error(s, "%s: %s", file, rnnc_last_error())), and vsnprintf must not read the buffer it
 * writes. */
static void vset(const char *fmt, va_list ap) {
    char tmp[sizeof last_error];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    memcpy(last_error, tmp, sizeof last_error);
}

rnnc_status rnnc_error(rnnc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    return code;
}

rnnc_status rnnc_error_errno(rnnc_status code, const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    /* the reason goes last and must not be the part cut off: a message too long for it is cut
     * short ("...") before it */
    char why[160];
    int w = snprintf(why, sizeof why, ": %s", strerror(e));
    size_t n = strlen(last_error), room = sizeof last_error - 1 - (size_t)(w > 0 ? w : 0);
    if (n > room) {
        n = room > 3 ? room - 3 : 0;
        memcpy(last_error + n, "...", 3);
        n += 3;
    }
    snprintf(last_error + n, sizeof last_error - n, "%s", why);
    return code;
}

const char *rnnc_last_error(void) { return last_error; }

const char *rnnc_status_name(rnnc_status code) {
    switch (code) {
    case RNNC_OK: return "ok";
    case RNNC_ERR_IO: return "io";
    case RNNC_ERR_FORMAT: return "format";
    case RNNC_ERR_ARG: return "argument";
    case RNNC_ERR_NOMEM: return "out of memory";
    case RNNC_ERR_RANGE: return "range";
    case RNNC_ERR_NUMERIC: return "numeric";
    case RNNC_ERR_INTERRUPTED: return "interrupted";
    case RNNC_ERR_COMM: return "processes";
    }
    return "unknown";
}
