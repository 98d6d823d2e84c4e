/* rnnc — files: whole-file reads and atomic writes (temp file, fsync, rename). */
#ifndef RNNC_IO_H
#define RNNC_IO_H

#include <stdio.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file (path "-" is stdin). *data is malloc'd and NUL-terminated one past *len. */
rnnc_status rnnc_read_file(const char *path, unsigned char **data, size_t *len);
/* How messages name a path that rnnc_read_file takes: "<stdin>" for "-", else the path itself. */
const char *rnnc_path_label(const char *path);

/* A file being written atomically: data goes to a temp file beside `path`, which replaces `path`
 * only on commit (after fflush and fsync), so a crash or a full disk never leaves a torn file.
 * Where path is a symbolic link, its target is written (the link stays). Where it exists and is
 * not a regular file (/dev/null, /dev/stdout, a FIFO) it is written directly, tmp_path NULL: a
 * rename over it would replace the device or pipe with a file (as root, /dev/null itself).
 * The temp file is NAME.tmp.PID, created new (never truncated): where that name is taken (another
 * thread writing the same path, a leftover under a reused pid) NAME.tmp.PID.K. */
typedef struct {
    FILE *fp;
    char *path;
    char *tmp_path;
} rnnc_atomic_file;

rnnc_status rnnc_atomic_open(rnnc_atomic_file *af, const char *path);
/* Flushes, fsyncs, closes and renames over the target; on any failure the temp file is removed,
 * the old target is untouched, and an error naming the path is returned. */
rnnc_status rnnc_atomic_commit(rnnc_atomic_file *af);
/* Two files that belong together (a BPE rank file and its sidecar; the Projector's vectors and
 * labels): both are written out in full before either replaces its target, a then b, so a failed
 * write leaves both old ones. Both are closed either way. */
rnnc_status rnnc_atomic_commit_pair(rnnc_atomic_file *a, rnnc_atomic_file *b);
/* Discards the temp file (safe to call after a failed commit, or twice). */
void rnnc_atomic_abort(rnnc_atomic_file *af);
/* One-shot helper: writes `len` bytes atomically to `path`. */
rnnc_status rnnc_write_file_atomic(const char *path, const void *data, size_t len);

/* Directory holding fetched data: $RNNC_DATA if set, else <dir of the rnnc binary>/../data when
 * it exists, else "./data". Returned string is static. */
const char *rnnc_data_dir(void);

#ifdef __cplusplus
}
#endif

#endif
