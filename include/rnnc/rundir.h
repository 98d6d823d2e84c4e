/* rnnc — run directories: one live training run per directory.
 *
 * A training run (any task) holds an exclusive advisory lock (flock) on RUN_DIR/run.lock for as
 * long as it lives. A second run, or a resume of a run that is still going, in the same directory
 * is refused with "RUN_DIR is in use by process N". The kernel drops the lock when the process
 * ends, however it ends (Ctrl-C, SIGKILL, a crash), so no lock outlives its run; the file itself
 * stays behind and is reused by the next run. */
#ifndef RNNC_RUNDIR_H
#define RNNC_RUNDIR_H

#include <stdbool.h>
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RNNC_RUN_LOCK_FILE "run.lock"

/* The files a run writes in its directory besides the lock, NULL-terminated: the checkpoint,
 * model.safetensors, best.safetensors and the logs. */
extern const char *const rnnc_run_files[];

typedef struct {
    int fd;    /* the lock file while held */
    bool held; /* false in a zeroed struct, so dropping a lock never taken is safe */
    char *created;      /* the directory, when taking the lock created it */
    char *created_lock; /* the lock file, when taking the lock created it (in a directory that existed) */
} rnnc_run_lock;

/* Creates `dir` (and its missing parents) when `create`, then takes the lock. Errors: the directory
 * is missing (without `create`) or not a directory; the lock is held by another process or another
 * open in this one ("DIR is in use by process N"). On success the lock file holds our pid, and the
 * temp files of atomic writes of the run's own files that a killed run left in `dir`
 * ("checkpoint.safetensors.tmp.PID" and the like: no other file) are removed. */
rnnc_status rnnc_run_lock_take(rnnc_run_lock *l, const char *dir, bool create);
/* Drops the lock (safe on a lock never taken, or twice). A run that failed before writing anything
 * (bad data, bad flags) leaves no trace: a directory that taking the lock created and that holds
 * nothing else is removed with its lock file, and a lock file it created in a directory that holds
 * none of the run's files is removed. */
void rnnc_run_lock_drop(rnnc_run_lock *l);

/* mkdir -p: creates `dir` and its missing parents; an existing directory is fine. */
rnnc_status rnnc_mkdirs(const char *dir);

#ifdef __cplusplus
}
#endif

#endif
