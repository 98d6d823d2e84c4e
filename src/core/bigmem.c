/* Big buffers on 2 MiB pages; see bigmem.h. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) is a Linux extension */
#include "core/bigmem.h"

#include <pthread.h>
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

/* ---- scratch ----------------------------------------------------------------------------------- */

#define SCRATCH_MIN ((size_t)256 << 10)
#define HDR 64 /* the block's size lives in the 64 bytes before the caller's pointer */

static pthread_mutex_t scratch_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *base;
    size_t size; /* usable bytes after the header */
} cache[RNNC_SCRATCH_SLOTS];

void *rnnc_scratch_alloc(size_t bytes) {
    if (bytes > SIZE_MAX - 2 * HUGE_PAGE) return NULL;
    size_t b = (bytes + 63) / 64 * 64;
    if (!b) b = 64;
    if (!ZMAP || b < SCRATCH_MIN) {
        char *base = aligned_alloc(64, b + HDR);
        if (!base) return NULL;
        memcpy(base, &b, sizeof b);
        return base + HDR;
    }
    /* the smallest cached block that is big enough */
    char *base = NULL;
    pthread_mutex_lock(&scratch_mu);
    int best = -1;
    for (int i = 0; i < RNNC_SCRATCH_SLOTS; i++)
        if (cache[i].base && cache[i].size >= b && (best < 0 || cache[i].size < cache[best].size)) best = i;
    if (best >= 0) {
        base = cache[best].base;
        b = cache[best].size;
        cache[best].base = NULL;
    }
    pthread_mutex_unlock(&scratch_mu);
    if (!base) {
        /* whole 2 MiB pages (rnnc_big_alloc) from 512 KiB on, the header included: the block
         * is as big as its pages */
        if (b + HDR < HUGE_PAGE / 4) base = aligned_alloc(64, b + HDR);
        else {
            base = rnnc_big_alloc(b + HDR); /* 2 MiB aligned */
            b = ((b + HDR + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) - HDR;
        }
        if (!base) return NULL;
    }
    memcpy(base, &b, sizeof b);
    return base + HDR;
}

void rnnc_scratch_free(void *p) {
    if (!p) return;
    char *base = (char *)p - HDR;
    size_t b;
    memcpy(&b, base, sizeof b);
    if (!ZMAP || b < SCRATCH_MIN) {
        free(base);
        return;
    }
    /* into an empty slot, else in place of the smallest cached block if that is smaller */
    char *evict = NULL;
    pthread_mutex_lock(&scratch_mu);
    int slot = -1, small = -1;
    for (int i = 0; i < RNNC_SCRATCH_SLOTS && slot < 0; i++) {
        if (!cache[i].base) slot = i;
        else if (small < 0 || cache[i].size < cache[small].size) small = i;
    }
    if (slot < 0 && cache[small].size < b) {
        evict = cache[small].base;
        slot = small;
    }
    if (slot >= 0) {
        cache[slot].base = base;
        cache[slot].size = b;
        base = NULL;
    }
    pthread_mutex_unlock(&scratch_mu);
    free(evict);
    free(base);
}

void rnnc_scratch_trim(void) {
    pthread_mutex_lock(&scratch_mu);
    for (int i = 0; i < RNNC_SCRATCH_SLOTS; i++) {
        free(cache[i].base);
        cache[i].base = NULL;
    }
    pthread_mutex_unlock(&scratch_mu);
}

int rnnc_scratch_cached(void) {
    int n = 0;
    pthread_mutex_lock(&scratch_mu);
    for (int i = 0; i < RNNC_SCRATCH_SLOTS; i++) n += cache[i].base != NULL;
    pthread_mutex_unlock(&scratch_mu);
    return n;
}
