/* rnnc — status codes and error messages.
 *
 * Errors are values: every fallible library call returns an rnnc_status and, on failure, leaves a
 * one-line message (naming the file, line, flag or tensor at fault) that rnnc_last_error() returns.
 * The message is per thread. The library never prints, aborts or exits on bad input. */
#ifndef RNNC_STATUS_H
#define RNNC_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RNNC_OK = 0,
    RNNC_ERR_IO,      /* a file could not be opened, read or written */
    RNNC_ERR_FORMAT,  /* a file or string is malformed */
    RNNC_ERR_ARG,     /* an argument is out of its allowed range */
    RNNC_ERR_NOMEM,   /* an allocation failed */
    RNNC_ERR_RANGE,   /* an id or index is outside the vocabulary or tensor */
    RNNC_ERR_NUMERIC, /* a NaN or Inf appeared */
    RNNC_ERR_INTERRUPTED, /* stopped by a signal; state was saved */
    RNNC_ERR_COMM,    /* the processes of a data-parallel run disagree, or one failed (comm.h) */
} rnnc_status;

/* Records a printf-style message for this thread and returns `code` (so `return rnnc_error(...)`). */
rnnc_status rnnc_error(rnnc_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like rnnc_error, but appends ": <strerror(errno)>" for the current errno. */
rnnc_status rnnc_error_errno(rnnc_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message recorded on this thread ("" if none). */
const char *rnnc_last_error(void);
/* Short name of a status code ("io", "format", ...). */
const char *rnnc_status_name(rnnc_status code);

#ifdef __cplusplus
}
#endif

#endif
