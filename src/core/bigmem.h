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

/* A zeroed block of bytes, 64-byte aligned. From 4 MiB on it is a mapping of its own on 2 MiB
 * pages (where the kernel allows): the kernel's zero pages, so nothing is cleared here and memory
 * is taken only where the block is written; *mapped gets the mapping's size. Smaller blocks, and
 * every block under ASan (whose heap guards their ends), are cleared heap blocks: *mapped = 0.
 * NULL when out of memory. Free with rnnc_big_zfree(p, *mapped). */
void *rnnc_big_zalloc(size_t bytes, size_t *mapped);
void rnnc_big_zfree(void *p, size_t mapped);

/* Scratch for the temporaries of one call (packed panels, partial sums): an uninitialised block of
 * bytes, 64-byte aligned, NULL when out of memory. Blocks of 256 KiB and more are given back by
 * rnnc_scratch_free to a small cache shared by all threads, from which the next request of at
 * most their size takes them again, so a training step's big temporaries are not mapped, faulted
 * in and cleared by the kernel anew at every step (a bidirectional LSTM 512's step lost 4-10% of
 * its time to that). The cache holds at most RNNC_SCRATCH_SLOTS blocks; under ASan it is off, so
 * that use after free stays visible. rnnc_scratch_free(NULL) does nothing. */
#define RNNC_SCRATCH_SLOTS 8
void *rnnc_scratch_alloc(size_t bytes);
void rnnc_scratch_free(void *p);
/* Frees the cached blocks (for tests and for a program that is done computing). Freeing a model
 * (LM, seq2seq, sequence model), a translator or a generator calls it, so a program or Python
 * session done with a model, a training run's included (its task frees its model), keeps none of
 * its temporaries. Blocks in use are not touched. */
void rnnc_scratch_trim(void);
/* The number of blocks in the cache now (0 where it is off). */
int rnnc_scratch_cached(void);

#endif
