/* CPU features, read once; see cpu.h. */
#include "core/cpu.h"

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

long rnnc_cpu_l3_bytes(void) {
    static long known = -1;
    long k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
#ifdef _SC_LEVEL3_CACHE_SIZE
        k = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
        if (k < 0) k = 0;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k;
}
