#define _DEFAULT_SOURCE /* realpath */
/* Whole-file reads and atomic writes; see include/rnnc/io.h. */
#include "rnnc/io.h"

#include "core/bigmem.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Reads fp to its end; `hint` is the expected size (a regular file's), 0 if unknown. */
static rnnc_status read_stream(FILE *fp, const char *path, unsigned char **data, size_t *len, size_t hint) {
    /* Room for the whole file and one more byte, so that the read that sees the end needs no
     * growth; big buffers on 2 MiB pages (bigmem.h). */
    size_t cap = hint && hint < SIZE_MAX / 2 ? hint + 1 : 1 << 16, n = 0;
    unsigned char *buf = rnnc_big_alloc(cap + 1);
    if (!buf) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap + 1);
            if (!nb) { free(buf); return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) { free(buf); return rnnc_error_errno(RNNC_ERR_IO, "%s: read failed", path); }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return RNNC_OK;
}

const char *rnnc_path_label(const char *path) { return strcmp(path, "-") == 0 ? "<stdin>" : path; }

rnnc_status rnnc_read_file(const char *path, unsigned char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    if (strcmp(path, "-") == 0) return read_stream(stdin, rnnc_path_label(path), data, len, 0);
    if (!*path) return rnnc_error(RNNC_ERR_ARG, "an empty file name (\"\"): give the file's name");
    FILE *fp = fopen(path, "rb");
    if (!fp) return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open", path);
    struct stat st;
    int known = fstat(fileno(fp), &st) == 0;
    if (known && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return rnnc_error(RNNC_ERR_IO, "%s: is a directory, not a file", path);
    }
    /* a device never ends (/dev/zero, /dev/urandom, a disk): read whole, it would take all memory.
     * /dev/null (empty) and a terminal (typed input, as stdin) are read as streams. */
    if (known && (S_ISBLK(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev != makedev(1, 3) && !isatty(fileno(fp))))) {
        fclose(fp);
        return rnnc_error(RNNC_ERR_IO, "%s: is a device, not a file", path);
    }
    size_t hint = known && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 0;
    /* Unbuffered: the data goes straight into our buffer, not through stdio's. */
    setvbuf(fp, NULL, _IONBF, 0);
    rnnc_status s = read_stream(fp, path, data, len, hint);
    fclose(fp);
    return s;
}

rnnc_status rnnc_atomic_open(rnnc_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    /* a link is written through: its target is replaced, the link kept (a rename over the link
     * would replace it with a file and leave its target as it was) */
    struct stat st;
    char *real = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && !(real = realpath(path, NULL))) {
        if (errno == ELOOP) return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot write it", path);
        /* a dangling link: its target is created, as a shell's > would (the rename would replace
         * the link itself) */
        char link[PATH_MAX];
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k <= 0) return rnnc_error_errno(RNNC_ERR_IO, "%s: cannot read the link", path);
        link[k] = 0;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        const char *d = dirname(dir); /* (the link's folder: a relative target is read from there) */
        size_t need = strlen(d) + (size_t)k + 2;
        if (!(real = malloc(need))) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
        if (link[0] == '/') snprintf(real, need, "%s", link);
        else snprintf(real, need, "%s/%s", d, link);
    }
    const char *target = real ? real : path;
    const bool there = stat(target, &st) == 0, existed = there && S_ISREG(st.st_mode);
    const mode_t mode = existed ? st.st_mode & 07777 : 0;
    if (there && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* a device or a pipe: written directly, as it is not a file a rename could replace */
        af->path = strdup(target);
        af->fp = af->path ? fopen(target, "wb") : NULL;
        free(real);
        if (!af->fp) {
            rnnc_status s = af->path ? rnnc_error_errno(RNNC_ERR_IO, "%s: cannot open for writing", path)
                                     : rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
            free(af->path);
            memset(af, 0, sizeof *af);
            return s;
        }
        return RNNC_OK;
    }
    size_t n = strlen(target);
    af->path = malloc(n + 1);
    af->tmp_path = malloc(n + 32);
    if (!af->path || !af->tmp_path) {
        free(real);
        rnnc_atomic_abort(af);
        return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->path, target, n + 1);
    /* NAME.tmp.PID beside the target; for a name so long that this would pass NAME_MAX (255
     * bytes), a short name in the same folder instead (numbered, so that one process's files
     * never share one) */
    const char *slash = strrchr(target, '/');
    const size_t base = strlen(slash ? slash + 1 : target);
    if (base + 24 <= 255) {
        snprintf(af->tmp_path, n + 32, "%s.tmp.%ld", target, (long)getpid());
    } else {
        static unsigned long counter;
        unsigned long k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        snprintf(af->tmp_path, n + 32, "%.*s.rnnc-tmp.%ld.%lu", slash ? (int)(slash - target + 1) : 0, target, (long)getpid(), k);
    }
    free(real);
    /* created, never truncated: two threads of this process writing the same NAME at once (or a
     * killed process's leftover under a reused pid) must not share one temp file; a taken name
     * gets a numbered one ("NAME.tmp.PID.K") */
    static unsigned long taken;
    int fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    for (int tries = 0; fd < 0 && errno == EEXIST && tries < 1000; tries++) {
        unsigned long k = __atomic_add_fetch(&taken, 1, __ATOMIC_RELAXED);
        if (base + 24 <= 255) snprintf(af->tmp_path, n + 32, "%s.tmp.%ld.%lu", target, (long)getpid(), k);
        else snprintf(af->tmp_path, n + 32, "%.*s.rnnc-tmp.%ld.x%lu", slash ? (int)(slash - target + 1) : 0, target,
                      (long)getpid(), k);
        fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    af->fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && !af->fp) {
        int err = errno;
        close(fd);
        unlink(af->tmp_path);
        errno = err;
    }
    /* the file it replaces keeps its permissions (a private file stays private) */
    if (af->fp && existed) (void)fchmod(fileno(af->fp), mode);
    if (!af->fp) {
        rnnc_status s = rnnc_error_errno(RNNC_ERR_IO, "%s: cannot create temp file %s", path, af->tmp_path);
        free(af->path); free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return s;
    }
    return RNNC_OK;
}

/* fsync the directory holding `path` so the rename itself survives a crash. */
static void sync_parent_dir(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

/* The first half of a commit: the temp file flushed, synced and closed (a device or pipe: flushed
 * and closed); on failure the error names the file and nothing has replaced it. */
static rnnc_status atomic_finish(rnnc_atomic_file *af) {
    if (!af->fp) return rnnc_error(RNNC_ERR_IO, "atomic write: file not open");
    rnnc_status s = RNNC_OK;
    const char *kept = af->tmp_path ? " (the old file is unchanged)" : "";
    if (fflush(af->fp) != 0 || ferror(af->fp)) s = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed%s", af->path, kept);
    else if (af->tmp_path && fsync(fileno(af->fp)) != 0)
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: fsync failed%s", af->path, kept);
    if (fclose(af->fp) != 0 && s == RNNC_OK) s = rnnc_error_errno(RNNC_ERR_IO, "%s: close failed%s", af->path, kept);
    af->fp = NULL;
    return s;
}

/* The second half: the temp file renamed over the target (nothing for a device or pipe). */
static rnnc_status atomic_publish(rnnc_atomic_file *af) {
    if (!af->tmp_path) return RNNC_OK;
    if (rename(af->tmp_path, af->path) != 0) return rnnc_error_errno(RNNC_ERR_IO, "%s: rename from temp file failed", af->path);
    sync_parent_dir(af->path);
    return RNNC_OK;
}

rnnc_status rnnc_atomic_commit(rnnc_atomic_file *af) {
    rnnc_status s = atomic_finish(af);
    if (!s) s = atomic_publish(af);
    rnnc_atomic_abort(af);
    return s;
}

rnnc_status rnnc_atomic_commit_pair(rnnc_atomic_file *a, rnnc_atomic_file *b) {
    /* both written out in full before either replaces its target: a full disk or a failed write
     * of either leaves both old files (only a failing rename between the two could split them) */
    rnnc_status s = atomic_finish(a);
    rnnc_status t = atomic_finish(b);
    if (!s) s = t;
    if (!s) s = atomic_publish(a);
    if (!s) s = atomic_publish(b);
    rnnc_atomic_abort(a);
    rnnc_atomic_abort(b);
    return s;
}

void rnnc_atomic_abort(rnnc_atomic_file *af) {
    if (!af) return;
    if (af->fp) { fclose(af->fp); af->fp = NULL; }
    if (af->tmp_path) unlink(af->tmp_path); /* after a successful rename this fails harmlessly */
    free(af->tmp_path);
    free(af->path);
    af->tmp_path = af->path = NULL;
}

rnnc_status rnnc_write_file_atomic(const char *path, const void *data, size_t len) {
    rnnc_atomic_file af;
    rnnc_status s = rnnc_atomic_open(&af, path);
    if (s) return s;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed (the old file is unchanged)", path);
        rnnc_atomic_abort(&af);
        return s;
    }
    return rnnc_atomic_commit(&af);
}

const char *rnnc_data_dir(void) {
    static _Thread_local char dir[PATH_MAX]; /* per thread: calls on several threads at once do not race */
    const char *env = getenv("RNNC_DATA");
    if (env && *env) return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *d = dirname(exe);
        snprintf(dir, sizeof dir, "%.*s/../data", (int)(sizeof dir - 16), d);
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return dir;
    }
    return "data";
}
