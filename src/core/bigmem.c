/* Big buffers on 2 MiB pages; see bigmem.h. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) is a Linux extension */
#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
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
