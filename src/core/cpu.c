/* CPU features, read once; see cpu.h. */
#include "core/cpu.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#define X86_GNU 1
#endif

int rnnc_cpu_avx2_fma(void) {
#if defined(__AVX2__) && defined(__FMA__)
    return 1;
#elif defined(X86_GNU)
    static int known = -1;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k;
#else
    return 0;
#endif
}

int rnnc_cpu_avx2_fma_f16c(void) {
#if defined(__F16C__) && defined(__AVX2__) && defined(__FMA__)
    return 1;
#elif defined(X86_GNU)
    /* F16C from CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports has no name for it);
     * the AVX2 check above covers the OS saving the registers */
    static int known = -1;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
        unsigned a, b, c, d;
        k = rnnc_cpu_avx2_fma() && __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k;
#else
    return 0;
#endif
}

int rnnc_cpu_avx512f(void) {
#if defined(__AVX512F__)
    return 1;
#elif defined(X86_GNU)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* A size as sysfs writes it ("32K", "512K", "32768K", "2M", or bytes): its bytes, -1 if it is
 * none of those. */
static long parse_size(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0 || errno) return -1;
    long mul = 1;
    if (*end == 'K') mul = 1024, end++;
    else if (*end == 'M') mul = 1048576, end++;
    else if (*end == 'G') mul = 1073741824, end++;
    while (*end == '\n' || *end == ' ') end++;
    if (*end || v > LONG_MAX / mul) return -1;
    return v * mul;
}

/* The first line of dir/indexI/name into buf; 0 when it could be read. */
static int read_line(const char *dir, int i, const char *name, char *buf, size_t n) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/index%d/%s", dir, i, name) >= (int)sizeof path) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    const int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

long rnnc_cpu_cache_bytes_in(const char *dir, int level) {
    for (int i = 0; i < 32; i++) {
        char lv[32], type[32], size[64];
        if (read_line(dir, i, "level", lv, sizeof lv)) break; /* the indices run from 0 without gaps */
        if (atoi(lv) != level || read_line(dir, i, "type", type, sizeof type)) continue;
        if (strncmp(type, "Data", 4) && strncmp(type, "Unified", 7)) continue; /* not the instruction cache */
        if (read_line(dir, i, "size", size, sizeof size)) continue;
        const long b = parse_size(size);
        return b > 0 ? b : 0;
    }
    return 0;
}

long rnnc_cpu_cache_bytes(int level) {
    static long known[4] = {-1, -1, -1, -1};
    if (level < 1 || level > 3) return 0;
    long k = __atomic_load_n(&known[level], __ATOMIC_RELAXED);
    if (k < 0) {
        k = rnnc_cpu_cache_bytes_in("/sys/devices/system/cpu/cpu0/cache", level);
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
        if (k <= 0)
            k = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE : level == 2 ? _SC_LEVEL2_CACHE_SIZE : _SC_LEVEL3_CACHE_SIZE);
#endif
        if (k < 0) k = 0;
        __atomic_store_n(&known[level], k, __ATOMIC_RELAXED);
    }
    return k;
}
