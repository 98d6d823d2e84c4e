/* Big buffers on 2 MiB pages; see bigmem.h. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) is a Linux extension */
#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *rnnc_big_alloc(size_t bytes) {
    if (bytes < HUGE_PAGE / 4) return malloc(bytes ? bytes : 1);
    /* Whole huge pages: the tail would otherwise share a page with whatever malloc puts after
     * it and fault in 4 KiB at a time. A 512 KiB buffer costs a 2 MiB page (zeroed by the kernel
     * in about the time of 20 small faults, against 128). */
    if (bytes > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t whole = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, whole) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, whole, MADV_HUGEPAGE);
#endif
    return p;
}

#if defined(__SANITIZE_ADDRESS__)
#define ZMAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZMAP 0
#endif
#endif
#ifndef ZMAP
#define ZMAP 1
#endif

void *rnnc_big_zalloc(size_t bytes, size_t *mapped) {
    *mapped = 0;
    if (bytes > SIZE_MAX - 2 * HUGE_PAGE) return NULL;
    if (!ZMAP || bytes < 2 * HUGE_PAGE) {
        size_t b = (bytes + 63) / 64 * 64;
        void *p = aligned_alloc(64, b ? b : 64);
        if (p) memset(p, 0, b ? b : 64);
        return p;
    }
    size_t whole = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    char *m = mmap(NULL, whole + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    /* 2 MiB aligned: the slack before and after is given back (after, never empty) */
    char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > m) munmap(m, (size_t)(a - m));
    munmap(a + whole, HUGE_PAGE - (size_t)(a - m));
#ifdef MADV_HUGEPAGE
    (void)madvise(a, whole, MADV_HUGEPAGE);
#endif
    *mapped = whole;
    return a;
}

void rnnc_big_zfree(void *p, size_t mapped) {
    if (mapped) munmap(p, mapped);
    else free(p);
}
