/* rnnc — status codes and error messages.
 *
 * Errors are values: every fallible library call returns an rnnc_status and, on failure, leaves a
 * one-line message (naming the file, line, flag or tensor at fault) that rnnc_last_error() returns.
 * The message is per thread. The library never prints, aborts or exits on bad input.
 *
 * The rules of the API, for every header where its comment says nothing else:
 * - Pointer arguments must not be NULL, but for out-parameters documented as optional ("may be
 *   NULL") and the object of a free, close, abort or drop function, which takes NULL and does
 *   nothing (as free() does). A bad value that is not a pointer (a size, an enum, NaN) is an
 *   RNNC_ERR_ARG, never a crash.
 * - What a call returns through an out-parameter is the caller's, to give back with the matching
 *   *_free; a `const char *` it returns (a name, a message, a metadata value) belongs to the
 *   library and lives as long as the object it came from (rnnc_last_error's: until the thread's
 *   next failing call). The pointers in a run event live for the callback only.
 * - One object is used by one thread at a time; different objects on different threads are
 *   independent. Where a header says an object may be shared (a BPE tokenizer's encode, a seq2seq
 *   translator), calls on several threads at once are safe. A few settings are process-wide and
 *   say so (rnnc_rnn_set_loop_mode, rnnc_rnn_set_row_block_max; the OpenMP thread count).
 * - The library installs no signal handler and writes nothing to stdout or stderr. Files it writes
 *   are written atomically (a temp file beside the target, fsync, rename); loading a .tiktoken
 *   rank file writes its cache beside it (NAME.rnnc-cache; RNNC_BPE_CACHE=0 turns that off). */
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
