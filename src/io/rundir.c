/* Run directories: the lock that keeps one run per directory; see include/rnnc/rundir.h. */
#define _DEFAULT_SOURCE /* flock */
#include "rnnc/rundir.h"

#include <errno.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

rnnc_status rnnc_mkdirs(const char *dir) {
    if (!dir || !*dir) return rnnc_error(RNNC_ERR_ARG, "no directory given");
    char *buf = strdup(dir);
    if (!buf) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", dir);
    rnnc_status s = RNNC_OK;
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot create the directory", buf);
            break;
        }
        *p = c;
        if (!c) break;
    }
    free(buf);
    if (s) return s;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return rnnc_error(RNNC_ERR_IO, "%s: exists and is not a directory", dir);
    return RNNC_OK;
}

const char *const rnnc_run_files[] = {"checkpoint.safetensors", "model.safetensors", "best.safetensors", "metrics.jsonl",
                                      "eval.jsonl", NULL};

/* True when name is "F.tmp.PID" or "F.tmp.PID.K" for one of the run's own files F. */
static bool own_temp(const char *name) {
    for (size_t i = 0; rnnc_run_files[i]; i++) {
        size_t n = strlen(rnnc_run_files[i]);
        if (strncmp(name, rnnc_run_files[i], n) != 0 || strncmp(name + n, ".tmp.", 5) != 0 || !name[n + 5]) continue;
        const char *p = name + n + 5; /* PID, or PID.K (a name another thread held) */
        while (isdigit((unsigned char)*p)) p++;
        if (*p == '.' && isdigit((unsigned char)p[1]))
            for (p++; isdigit((unsigned char)*p); p++) {}
        if (!*p) return true;
    }
    return false;
}

/* Temp files of atomic writes of the run's own files (rnnc_atomic_open) that a killed run left
 * behind; nothing else of the directory's (it may be the user's folder, with their own
 * "notes.tmp.2024"). Only called under the lock, when no live run of this directory can own one. */
static void remove_dead_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!own_temp(e->d_name)) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(n);
        if (!path) break;
        snprintf(path, n, "%s/%s", dir, e->d_name);
        unlink(path); /* best effort: a leftover only costs disk space */
        free(path);
    }
    closedir(d);
}

rnnc_status rnnc_run_lock_take(rnnc_run_lock *l, const char *dir, bool create) {
    l->fd = -1;
    l->held = false;
    l->created = NULL;
    l->created_lock = NULL;
    rnnc_status s;
    struct stat st;
    bool existed = stat(dir, &st) == 0;
    if (create && (s = rnnc_mkdirs(dir))) return s;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) return rnnc_error(RNNC_ERR_IO, "%s: no such run directory", dir);
        return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open the run directory", dir);
    }
    if (!S_ISDIR(st.st_mode)) return rnnc_error(RNNC_ERR_IO, "%s: not a directory", dir);
    size_t n = strlen(dir) + sizeof "/" RNNC_RUN_LOCK_FILE;
    char *path = malloc(n);
    if (!path) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", dir);
    snprintf(path, n, "%s/" RNNC_RUN_LOCK_FILE, dir);
    bool made = false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && (fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) >= 0) made = true;
    else if (fd < 0 && errno == EEXIST) fd = open(path, O_RDWR | O_CLOEXEC); /* another process made it meanwhile */
    if (fd < 0) {
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open the run lock", path);
        free(path);
        return s;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char pid[32] = "";
        ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
        close(fd);
        free(path);
        if (err != EWOULDBLOCK) {
            errno = err;
            return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot lock the run directory", dir);
        }
        long p = got > 0 ? strtol(pid, NULL, 10) : 0;
        /* The holder writes its pid right after locking: between the two it reads as empty. */
        if (p > 0) return rnnc_error(RNNC_ERR_ARG, "%s is in use by process %ld", dir, p);
        return rnnc_error(RNNC_ERR_ARG, "%s is in use by another process", dir);
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* The pid is for the message above only; failing to write it does not weaken the lock. */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) errno = 0;
    l->fd = fd;
    l->held = true;
    if (create && !existed) l->created = strdup(dir); /* NULL on no memory: the directory then stays */
    if (made && !l->created) l->created_lock = path;
    else free(path);
    remove_dead_temps(dir);
    return RNNC_OK;
}

/* True when the directory of `lock` (a path ending in "/run.lock") holds any of the run's files. */
static bool any_run_file(const char *lock) {
    size_t d = strlen(lock) - strlen(RNNC_RUN_LOCK_FILE);
    bool any = false;
    for (size_t i = 0; rnnc_run_files[i] && !any; i++) {
        size_t n = d + strlen(rnnc_run_files[i]) + 1;
        char *p = malloc(n);
        if (!p) return true; /* keep the lock file when in doubt */
        snprintf(p, n, "%.*s%s", (int)d, lock, rnnc_run_files[i]);
        any = access(p, F_OK) == 0;
        free(p);
    }
    return any;
}

/* True when dir holds no entry but the lock file. */
static bool only_lock_in(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool only = true;
    struct dirent *e;
    while (only && (e = readdir(d)))
        only = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, RNNC_RUN_LOCK_FILE) == 0;
    closedir(d);
    return only;
}

void rnnc_run_lock_drop(rnnc_run_lock *l) {
    if (!l) return;
    if (l->held && l->created && only_lock_in(l->created)) {
        /* still under the lock: no other run can have started here */
        size_t n = strlen(l->created) + sizeof "/" RNNC_RUN_LOCK_FILE;
        char *path = malloc(n);
        if (path) {
            snprintf(path, n, "%s/" RNNC_RUN_LOCK_FILE, l->created);
            if (unlink(path) == 0) rmdir(l->created); /* best effort: fails harmlessly if a file appeared */
            free(path);
        }
    }
    if (l->held && l->created_lock && !any_run_file(l->created_lock)) /* still under the lock */
        unlink(l->created_lock); /* best effort: a leftover lock file only costs a name */
    if (l->held) close(l->fd); /* closing the only descriptor releases the flock */
    free(l->created);
    free(l->created_lock);
    l->created = NULL;
    l->created_lock = NULL;
    l->fd = -1;
    l->held = false;
}
