/* rnnc — the processes of a data-parallel run, as a table of collective operations.
 *
 * A run (run.h) given a communicator of N ranks trains data-parallel: each rank takes its share
 * of every global batch, the gradient buffer is summed over the ranks in place, every rank applies
 * the same optimizer step, validation is split and reduced, and only rank 0 writes files.
 *
 * The library does not link MPI. The rnnc binary fills this table from MPI when it is built with
 * it (src/cli/comm_mpi.c: MPI_Allreduce and MPI_Bcast on MPI_COMM_WORLD with a timeout); any
 * program may fill it from its own transport. A NULL communicator is one process.
 *
 * Every rank must call the same operations in the same order. An operation's result must be the
 * same on every rank, bit for bit (the ranks then take the same decisions: clipping, the NaN
 * guard, the best model, patience, the budget). */
#ifndef RNNC_COMM_H
#define RNNC_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The message of a rank that stops because another failed (the run's agreement after a step only
 * some ranks took): that rank's own message says why, so a caller under several processes lets it
 * be heard first (src/cli/comm_mpi.c). */
#define RNNC_COMM_PEER_FAILED "stopped: another process failed (its message says why)"

typedef enum { RNNC_COMM_F32, RNNC_COMM_F64, RNNC_COMM_U64 } rnnc_comm_type;
typedef enum { RNNC_COMM_SUM, RNNC_COMM_MAX, RNNC_COMM_MIN } rnnc_comm_op;

typedef struct rnnc_comm rnnc_comm;
struct rnnc_comm {
    int rank, size; /* this process, of size ranks (size >= 1) */
    /* buf[0, n) of `type` combined over all ranks by op, in place. `what` names the operation in
     * a message ("the gradient all-reduce"). */
    rnnc_status (*allreduce)(rnnc_comm *c, void *buf, size_t n, rnnc_comm_type type, rnnc_comm_op op, const char *what);
    /* bytes of root's buf copied into every other rank's buf. */
    rnnc_status (*bcast)(rnnc_comm *c, void *buf, size_t bytes, int root, const char *what);
    void *ctx; /* the implementation's */
};

/* 0 and 1 for a NULL communicator. */
int rnnc_comm_rank(const rnnc_comm *c);
int rnnc_comm_size(const rnnc_comm *c);
/* The operations, which do nothing on one process (NULL or size 1). */
rnnc_status rnnc_comm_allreduce(rnnc_comm *c, void *buf, size_t n, rnnc_comm_type type, rnnc_comm_op op, const char *what);
rnnc_status rnnc_comm_bcast(rnnc_comm *c, void *buf, size_t bytes, int root, const char *what);

/* This rank's share [*lo, *hi) of n rows: rank r of N takes [r n / N, (r + 1) n / N), so the
 * shares are contiguous, in rank order, and differ in size by one at most (some may be empty). */
void rnnc_comm_share(const rnnc_comm *c, size_t n, size_t *lo, size_t *hi);
/* RNNC_ERR_ARG when a global batch of `batch` rows does not split evenly over the ranks, naming
 * the flag and the process counts that would ("--batch 30 does not split over 4 processes: ..."). */
rnnc_status rnnc_comm_check_batch(const rnnc_comm *c, long batch, const char *flag);
/* RNNC_ERR_COMM when the n words differ between ranks (min and max over the ranks compared),
 * naming `what`: a check that every rank holds the same model, data and progress. */
rnnc_status rnnc_comm_check_same(rnnc_comm *c, const uint64_t *words, size_t n, const char *what);
/* A 64-bit fingerprint of n floats (FNV-1a over their bytes), for rnnc_comm_check_same. */
uint64_t rnnc_comm_fingerprint(const float *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif
