/* Helpers shared by the fuzz targets: temp files for the parsers that only read paths, and the
 * error-contract checks. Everything is static: each target is one translation unit. */
#ifndef RNNC_FUZZ_UTIL_H
#define RNNC_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnnc/status.h"

/* A failed invariant: trap, so libFuzzer (or the replay driver) reports the input. */
#define FUZZ_CHECK(cond) \
    do {                 \
        if (!(cond)) __builtin_trap(); \
    } while (0)

/* Empties this thread's error message, so that a failure can be checked to leave one. */
static inline void fuzz_clear_error(void) { rnnc_error(RNNC_OK, "%s", ""); }

/* A failed call must have said why. */
static inline void fuzz_check_failed(rnnc_status s) {
    FUZZ_CHECK(s != RNNC_OK);
    FUZZ_CHECK(rnnc_last_error()[0] != 0);
}

/* The process's temp directory under /tmp, made on first use and removed at exit with the files
 * made through fuzz_path (a target writes no others there). */
static char fuzz_dir[64];
static char fuzz_files[8][128];
static int fuzz_n_files;

static inline void fuzz_cleanup(void) {
    for (int i = 0; i < fuzz_n_files; i++) unlink(fuzz_files[i]);
    if (fuzz_dir[0]) rmdir(fuzz_dir);
}

/* The path of the temp file `name` (at most 8 names per process), in the process's own directory. */
static inline const char *fuzz_path(const char *name) {
    if (!fuzz_dir[0]) {
        strcpy(fuzz_dir, "/tmp/rnnc-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir)) { perror("fuzz: mkdtemp"); abort(); }
        atexit(fuzz_cleanup);
    }
    char p[128];
    snprintf(p, sizeof p, "%s/%s", fuzz_dir, name);
    for (int i = 0; i < fuzz_n_files; i++)
        if (strcmp(fuzz_files[i], p) == 0) return fuzz_files[i];
    if (fuzz_n_files == 8) abort();
    strcpy(fuzz_files[fuzz_n_files], p);
    return fuzz_files[fuzz_n_files++];
}

/* Writes data[0..n) to the temp file `name` (replacing it) and returns its path. */
static inline const char *fuzz_write(const char *name, const void *data, size_t n) {
    const char *p = fuzz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f) { perror(p); abort(); }
    if ((n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) { perror(p); abort(); }
    return p;
}

/* A NUL-terminated copy of data[0..n) (malloc'd). */
static inline char *fuzz_strndup(const void *data, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    if (n) memcpy(s, data, n);
    s[n] = 0;
    return s;
}

#endif
