/* rnnc — big buffers on 2 MiB pages (internal). Page faults cost several microseconds each on the
 * shared VMs rnnc is measured on; a 10 MB buffer touched once on 4 KiB pages takes 2,600 of them,
 * on 2 MiB pages five. The pointer is an ordinary heap block: free() and realloc() take it. */
#ifndef RNNC_BIGMEM_H
#define RNNC_BIGMEM_H

#include <stddef.h>

/* malloc(bytes), on 2 MiB pages (where the kernel allows: transparent huge pages on "madvise" or
 * "always") when bytes is at least 512 KiB (rounded up to whole 2 MiB pages then). NULL when out
 * of memory. Not zeroed. */
void *rnnc_big_alloc(size_t bytes);

#endif
