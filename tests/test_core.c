/* Core utilities: UTF-8, RNG, atomic file writes, error messages. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cpu.h"
#include "rnnc/rnnc.h"
#include "test.h"

static void test_utf8_roundtrip_all_scalars(void) {
    unsigned char buf[4];
    int bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        int n = rnnc_utf8_encode(cp, buf);
        if (cp >= 0xD800 && cp <= 0xDFFF) { if (n != 0) bad++; continue; }
        uint32_t back = 0;
        if (n == 0 || rnnc_utf8_decode(buf, (size_t)n, &back) != n || back != cp) bad++;
    }
    CHECK_EQ_LL(bad, 0);
}

static void test_utf8_rejects_invalid(void) {
    uint32_t cp;
    const unsigned char overlong[] = {0xC0, 0xAF}, surrogate[] = {0xED, 0xA0, 0x80},
                        too_big[] = {0xF4, 0x90, 0x80, 0x80}, truncated[] = {0xE2, 0x82},
                        lone_cont[] = {0x80}, euro[] = {0xE2, 0x82, 0xAC};
    CHECK_EQ_LL(rnnc_utf8_decode(overlong, 2, &cp), 0);
    CHECK_EQ_LL(rnnc_utf8_decode(surrogate, 3, &cp), 0);
    CHECK_EQ_LL(rnnc_utf8_decode(too_big, 4, &cp), 0);
    CHECK_EQ_LL(rnnc_utf8_decode(truncated, 2, &cp), 0);
    CHECK_EQ_LL(rnnc_utf8_decode(lone_cont, 1, &cp), 0);
    CHECK_EQ_LL(rnnc_utf8_decode(euro, 3, &cp), 3);
    CHECK_EQ_LL(cp, 0x20AC);
    CHECK_EQ_LL(rnnc_utf8_valid_prefix((const unsigned char *)"ab\xE2\x82", 4), 2);
}

static void test_rng_deterministic_and_uniform(void) {
    rnnc_rng a, b;
    rnnc_rng_seed(&a, 42);
    rnnc_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= rnnc_rng_u64(&a) == rnnc_rng_u64(&b);
    CHECK(same);
    double sum = 0;
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        float u = rnnc_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        sum += u;
        counts[rnnc_rng_below(&a, 10)]++;
    }
    CHECK_NEAR(sum / 100000, 0.5, 0, 0.01);
    for (int k = 0; k < 10; k++) CHECK_NEAR(counts[k], 10000, 0.05, 0);
    double m = 0, v = 0;
    for (int i = 0; i < 100000; i++) { double x = rnnc_rng_normal(&a); m += x; v += x * x; }
    CHECK_NEAR(m / 100000, 0, 0, 0.02);
    CHECK_NEAR(v / 100000, 1, 0, 0.03);
}

static void test_atomic_write(void) {
    char dir[] = "/tmp/rnnc_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    CHECK_EQ_LL(rnnc_write_file_atomic(path, "hello", 5), RNNC_OK);
    unsigned char *data; size_t len;
    CHECK_EQ_LL(rnnc_read_file(path, &data, &len), RNNC_OK);
    CHECK_EQ_LL(len, 5);
    CHECK(memcmp(data, "hello", 5) == 0);
    free(data);
    /* An aborted write leaves the old content and no temp file behind. */
    rnnc_atomic_file af;
    CHECK_EQ_LL(rnnc_atomic_open(&af, path), RNNC_OK);
    fputs("partial", af.fp);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", af.tmp_path);
    rnnc_atomic_abort(&af);
    CHECK(access(tmp, F_OK) != 0);
    CHECK_EQ_LL(rnnc_read_file(path, &data, &len), RNNC_OK);
    CHECK(len == 5 && memcmp(data, "hello", 5) == 0);
    free(data);
    /* Two writes of one path open at once (two threads of a process): each its own temp file,
     * never one truncated under the other; a leftover under this pid's name is left alone. */
    {
        char stale[600];
        snprintf(stale, sizeof stale, "%s.tmp.%ld", path, (long)getpid());
        FILE *f = fopen(stale, "wb");
        CHECK(f && fputs("stale", f) >= 0 && fclose(f) == 0);
        rnnc_atomic_file a, b;
        CHECK_EQ_LL(rnnc_atomic_open(&a, path), RNNC_OK);
        CHECK_EQ_LL(rnnc_atomic_open(&b, path), RNNC_OK);
        CHECK(strcmp(a.tmp_path, b.tmp_path) != 0 && strcmp(a.tmp_path, stale) != 0 && strcmp(b.tmp_path, stale) != 0);
        fputs("first", a.fp);
        fputs("second", b.fp);
        CHECK_EQ_LL(rnnc_atomic_commit(&a), RNNC_OK);
        CHECK_EQ_LL(rnnc_read_file(path, &data, &len), RNNC_OK);
        CHECK(len == 5 && memcmp(data, "first", 5) == 0);
        free(data);
        CHECK_EQ_LL(rnnc_atomic_commit(&b), RNNC_OK);
        CHECK_EQ_LL(rnnc_read_file(path, &data, &len), RNNC_OK);
        CHECK(len == 6 && memcmp(data, "second", 6) == 0);
        free(data);
        CHECK_EQ_LL(rnnc_read_file(stale, &data, &len), RNNC_OK);
        CHECK(len == 5 && memcmp(data, "stale", 5) == 0);
        free(data);
        unlink(stale);
        CHECK_EQ_LL(rnnc_write_file_atomic(path, "hello", 5), RNNC_OK);
    }
    /* Writing into a missing directory fails with a message naming the path. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x", dir);
    CHECK_EQ_LL(rnnc_write_file_atomic(bad, "x", 1), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), bad) != NULL);
    /* Through a symbolic link: its target gets the new content, the link stays a link. */
    char link[300];
    snprintf(link, sizeof link, "%s/link.bin", dir);
    CHECK(symlink(path, link) == 0);
    CHECK_EQ_LL(rnnc_write_file_atomic(link, "world", 5), RNNC_OK);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_EQ_LL(rnnc_read_file(path, &data, &len), RNNC_OK);
    CHECK(len == 5 && memcmp(data, "world", 5) == 0);
    free(data);
    unlink(link);
    /* A dangling link: its target is created (the link kept), as a shell's > would. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.bin", dir);
    CHECK(symlink("missing.bin", link) == 0);
    CHECK_EQ_LL(rnnc_write_file_atomic(link, "new", 3), RNNC_OK);
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat(missing, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 3);
    unlink(link);
    unlink(missing);
    /* A pair committed together: both replaced; a pair aborted: neither. */
    char second[300];
    snprintf(second, sizeof second, "%s/second.bin", dir);
    rnnc_atomic_file a, b;
    CHECK_EQ_LL(rnnc_atomic_open(&a, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_atomic_open(&b, second), RNNC_OK);
    fputs("AA", a.fp);
    fputs("BB", b.fp);
    CHECK_EQ_LL(rnnc_atomic_commit_pair(&a, &b), RNNC_OK);
    CHECK_EQ_LL(rnnc_read_file(path, &data, &len), RNNC_OK);
    CHECK(len == 2 && !memcmp(data, "AA", 2));
    free(data);
    CHECK_EQ_LL(rnnc_read_file(second, &data, &len), RNNC_OK);
    CHECK(len == 2 && !memcmp(data, "BB", 2));
    free(data);
    CHECK(a.fp == NULL && b.fp == NULL && a.tmp_path == NULL && b.tmp_path == NULL);
    unlink(second);
    /* A name too long for NAME.tmp.PID (NAME_MAX 255) is written through a short temp name. */
    char longname[600];
    int at = snprintf(longname, sizeof longname, "%s/", dir);
    for (int i = 0; i < 250; i++) longname[at++] = 'n';
    longname[at] = 0;
    CHECK_EQ_LL(rnnc_write_file_atomic(longname, "long", 4), RNNC_OK);
    CHECK(stat(longname, &st) == 0 && st.st_size == 4);
    unlink(longname);
    /* A message too long for the buffer keeps its reason: the message is cut, not the errno. */
    char huge[12000];
    memset(huge, 'p', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    errno = ENOENT;
    rnnc_error_errno(RNNC_ERR_IO, "%s", huge);
    const char *msg = rnnc_last_error();
    size_t ml = strlen(msg), rl = strlen(strerror(ENOENT));
    CHECK(ml > rl && !strcmp(msg + ml - rl, strerror(ENOENT)) && strstr(msg, "...: ") != NULL);
    /* The file replaced keeps its permissions (a private file stays private). */
    CHECK(chmod(path, 0640) == 0);
    CHECK_EQ_LL(rnnc_write_file_atomic(path, "again", 5), RNNC_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    /* A FIFO (as a device, such as /dev/null) is written directly, not replaced by a file: a
     * reader on the other end gets the bytes, and the FIFO is still one afterwards. */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) { /* the reader */
        int fd = open(fifo, O_RDONLY);
        char b[8] = {0};
        ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
        _exit(got == 3 && !memcmp(b, "abc", 3) ? 0 : 1);
    }
    CHECK_EQ_LL(rnnc_write_file_atomic(fifo, "abc", 3), RNNC_OK);
    int status = 1;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

static void test_read_missing_file(void) {
    unsigned char *data; size_t len;
    CHECK_EQ_LL(rnnc_read_file("/nonexistent/file.txt", &data, &len), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "/nonexistent/file.txt") != NULL);
    CHECK_EQ_LL(rnnc_read_file("/tmp", &data, &len), RNNC_ERR_IO);
    CHECK(strstr(rnnc_last_error(), "directory") != NULL);
}

/* The run lock: a second take fails naming our pid (flock locks conflict between two opens even
 * in one process); it is free again after the drop; a created directory that got nothing but the
 * lock goes away with it, one that got a file stays. */
static void test_run_lock(void) {
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/rnnc_lock_%ld/a/b", (long)getpid());
    rnnc_run_lock a, b;
    CHECK_EQ_LL(rnnc_run_lock_take(&a, dir, false), RNNC_ERR_IO); /* missing, and not to be created */
    CHECK(strstr(rnnc_last_error(), "no such run directory") != NULL);
    CHECK_EQ_LL(rnnc_run_lock_take(&a, dir, true), RNNC_OK);
    CHECK_EQ_LL(rnnc_run_lock_take(&b, dir, true), RNNC_ERR_ARG);
    char want[128];
    snprintf(want, sizeof want, "%s is in use by process %ld", dir, (long)getpid());
    CHECK_STR(rnnc_last_error(), want);
    rnnc_run_lock_drop(&b); /* never taken: harmless */
    rnnc_run_lock_drop(&a);
    struct stat st;
    CHECK(stat(dir, &st) != 0); /* created, held nothing else: removed */
    CHECK_EQ_LL(rnnc_run_lock_take(&a, dir, true), RNNC_OK);
    char file[128], tmpf[128];
    snprintf(file, sizeof file, "%s/metrics.jsonl", dir);
    CHECK_EQ_LL(rnnc_write_file_atomic(file, "x", 1), RNNC_OK);
    rnnc_run_lock_drop(&a);
    CHECK(stat(file, &st) == 0); /* it holds a run's file: kept */
    snprintf(tmpf, sizeof tmpf, "%s/model.safetensors.tmp.99999", dir);
    CHECK_EQ_LL(rnnc_write_file_atomic(tmpf, "x", 1), RNNC_OK);
    CHECK_EQ_LL(rnnc_run_lock_take(&a, dir, false), RNNC_OK);
    CHECK(stat(tmpf, &st) != 0); /* a dead run's temp file: removed under the lock */
    CHECK(stat(file, &st) == 0);
    rnnc_run_lock_drop(&a);
    rnnc_run_lock_drop(&a); /* twice: harmless */
    char lock[128];
    snprintf(lock, sizeof lock, "%s/" RNNC_RUN_LOCK_FILE, dir);
    unlink(file);
    unlink(lock);
    rmdir(dir);
    snprintf(dir, sizeof dir, "/tmp/rnnc_lock_%ld/a", (long)getpid());
    rmdir(dir);
    snprintf(dir, sizeof dir, "/tmp/rnnc_lock_%ld", (long)getpid());
    rmdir(dir);
}

/* dir/indexI/{level,type,size} as sysfs lays out a CPU's caches. */
static void put_cache(const char *dir, int i, const char *level, const char *type, const char *size) {
    char p[512];
    snprintf(p, sizeof p, "%s/index%d", dir, i);
    CHECK(mkdir(p, 0700) == 0);
    const char *names[3] = {"level", "type", "size"}, *vals[3] = {level, type, size};
    for (int k = 0; k < 3; k++) {
        if (!vals[k]) continue;
        snprintf(p, sizeof p, "%s/index%d/%s", dir, i, names[k]);
        FILE *f = fopen(p, "w");
        CHECK(f != NULL);
        if (f) fprintf(f, "%s\n", vals[k]), fclose(f);
    }
}

static void rm_tree(const char *dir, int n) {
    char p[512];
    const char *names[3] = {"level", "type", "size"};
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) snprintf(p, sizeof p, "%s/index%d/%s", dir, i, names[k]), unlink(p);
        snprintf(p, sizeof p, "%s/index%d", dir, i), rmdir(p);
    }
    rmdir(dir);
}

/* A cache tree as sysfs lays it out, in a new directory (dir: its path, a "/tmp/..XXXXXX" buffer):
 * entry i is index<i>'s level, type and size (a NULL size: no size file). */
typedef struct { const char *level, *type, *size; } cache_entry;
static void cache_tree(char *dir, const cache_entry *e, int n) {
    CHECK(mkdtemp(strcpy(dir, "/tmp/rnnc_test_XXXXXX")) != NULL);
    for (int i = 0; i < n; i++) put_cache(dir, i, e[i].level, e[i].type, e[i].size);
}

/* The cache sizes the time loops' schedule reads: sysfs's layout parsed, the instruction cache
 * skipped, K and M suffixes, and what is missing or malformed read as unknown (0), never a guess. */
static void test_cache_sizes(void) {
    char dir[32];
    /* a Zen 3 core's: K sizes, an instruction cache among the data ones, no level 4 */
    const cache_entry zen3[] = {{"1", "Data", "32K"}, {"1", "Instruction", "64K"}, {"2", "Unified", "512K"},
                                {"3", "Unified", "32768K"}};
    cache_tree(dir, zen3, 4);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 1), 32 * 1024);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 2), 512 * 1024);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 3), 32L * 1048576);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 4), 0);
    rm_tree(dir, 4);
    /* the instruction cache listed first, an M suffix, a size in bytes, a level with no size file */
    const cache_entry other[] = {{"1", "Instruction", "64K"}, {"1", "Data", "49152"}, {"2", "Unified", "2M"},
                                 {"3", "Unified", NULL}};
    cache_tree(dir, other, 4);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 1), 49152);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 2), 2L * 1048576);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, 3), 0);
    rm_tree(dir, 4);
    /* malformed sizes, a missing directory */
    const cache_entry bad[] = {{"1", "Data", "32Q"}, {"2", "Unified", "-512K"}, {"3", "Unified", "99999999999999999999K"}};
    cache_tree(dir, bad, 3);
    for (int l = 1; l <= 3; l++) CHECK_EQ_LL(rnnc_cpu_cache_bytes_in(dir, l), 0);
    rm_tree(dir, 3);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes_in("/nonexistent/rnnc", 2), 0);
    /* this machine's: a level it reports is at least a few KiB and the levels grow */
    const long l1 = rnnc_cpu_cache_bytes(1), l2 = rnnc_cpu_cache_bytes(2), l3 = rnnc_cpu_cache_bytes(3);
    CHECK(l1 == 0 || l1 >= 4096);
    CHECK(l2 == 0 || l1 == 0 || l2 > l1);
    CHECK(l3 == 0 || l2 == 0 || l3 > l2);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes(0), 0);
    CHECK_EQ_LL(rnnc_cpu_cache_bytes(4), 0);
}

/* Every public free (and close, abort, drop) function takes NULL and does nothing, as free() does:
 * an error path may free what it never made. */
static void test_free_null(void) {
    rnnc_atomic_abort(NULL);
    rnnc_bpe_free(NULL);
    rnnc_bytes_free(NULL);
    rnnc_char_free(NULL);
    rnnc_confusion_free(NULL);
    rnnc_generator_free(NULL);
    rnnc_ids_free(NULL);
    rnnc_lm_free(NULL);
    rnnc_lm_ws_free(NULL);
    rnnc_metrics_close(NULL);
    rnnc_metrics_series_free(NULL);
    rnnc_optim_free(NULL);
    rnnc_pretok_free(NULL);
    rnnc_rnn_packed_free(NULL);
    rnnc_rnn_ws_free(NULL);
    rnnc_run_lock_drop(NULL);
    rnnc_s2s_batcher_free(NULL);
    rnnc_s2s_data_free(NULL);
    rnnc_s2s_hyp_free(NULL);
    rnnc_s2s_model_free(NULL);
    rnnc_s2s_translator_free(NULL);
    rnnc_s2s_vocab_free(NULL);
    rnnc_s2s_ws_free(NULL);
    rnnc_sampler_free(NULL);
    rnnc_seq_data_free(NULL);
    rnnc_seq_model_free(NULL);
    rnnc_seq_series_free(NULL);
    rnnc_seq_ws_free(NULL);
    rnnc_series_data_free(NULL);
    rnnc_spans_free(NULL);
    rnnc_st_free(NULL);
    rnnc_tag_score_free(NULL);
    rnnc_task_free(NULL);
    rnnc_tokenizer_free(NULL);
    rnnc_word_free(NULL);
    rnnc_seq_labels_free(NULL, 0);
    CHECK(1);
}

int main(void) {
    RUN(test_utf8_roundtrip_all_scalars);
    RUN(test_utf8_rejects_invalid);
    RUN(test_rng_deterministic_and_uniform);
    RUN(test_atomic_write);
    RUN(test_read_missing_file);
    RUN(test_run_lock);
    RUN(test_cache_sizes);
    RUN(test_free_null);
    return test_report();
}
