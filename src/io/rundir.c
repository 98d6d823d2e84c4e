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

/* Temp files of atomic writes ("NAME.tmp.PID", see rnnc_atomic_open) that a killed run left
 * behind. Only called under the lock, when no live run of this directory can own one. */
static void remove_dead_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || !t[5]) continue;
        const char *p = t + 5;
        while (isdigit((unsigned char)*p)) p++;
        if (*p) continue;
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
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open the run lock", path);
        free(path);
        return s;
    }
    free(path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char pid[32] = "";
        ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
        close(fd);
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
    remove_dead_temps(dir);
    return RNNC_OK;
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
    if (l->held) close(l->fd); /* closing the only descriptor releases the flock */
    free(l->created);
    l->created = NULL;
    l->fd = -1;
    l->held = false;
}
