/* A plain main() for the fuzz targets when libFuzzer is not linked in: replays files through
 * LLVMFuzzerTestOneInput. Each argument is a file, or a directory whose files (not its
 * subdirectories or dot files) are replayed in name order; an argument that does not exist is
 * skipped (a target may have no crash inputs yet). Each input is copied into a buffer of exactly
 * its size, so a sanitizer sees a read past the end. A failed invariant in a target traps, which
 * fails the test; a target's return value is ignored, as libFuzzer does. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "fuzz driver: %s: out of memory\n", path);
            fclose(f);
            return 1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *g = realloc(buf, cap * 2);
        if (!g) free(buf);
        buf = g;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "fuzz driver: %s: read error\n", path);
        free(buf);
        return 1;
    }
    /* Exactly n bytes, so that reading one past the input is a heap overflow under ASan. */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        fprintf(stderr, "fuzz driver: %s: out of memory\n", path);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "fuzz driver: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz driver: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(names, cap * sizeof *g);
            if (!g) { rc = 1; break; }
            names = g;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) { rc = 1; break; }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (rc) fprintf(stderr, "fuzz driver: %s: out of memory\n", dir);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (!rc && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            rc = run_file(names[i]);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "fuzz driver: %s: absent, skipped\n", argv[i]);
            continue;
        }
        int rc = S_ISDIR(sb.st_mode) ? run_dir(argv[i], &count) : (count++, run_file(argv[i]));
        if (rc) return 1;
    }
    printf("fuzz driver: %zu inputs replayed without a failure\n", count);
    return 0;
}
