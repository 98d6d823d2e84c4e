/* The communicator's helpers and its one-process behaviour; see include/rnnc/comm.h. The MPI
 * implementation lives in the rnnc binary (src/cli/comm_mpi.c), so the library never links MPI. */
#include "rnnc/comm.h"

#include <stdio.h>
#include <string.h>

int rnnc_comm_rank(const rnnc_comm *c) { return c ? c->rank : 0; }
int rnnc_comm_size(const rnnc_comm *c) { return c ? c->size : 1; }

rnnc_status rnnc_comm_allreduce(rnnc_comm *c, void *buf, size_t n, rnnc_comm_type type, rnnc_comm_op op, const char *what) {
    if (!c || c->size <= 1 || n == 0) return RNNC_OK;
    return c->allreduce(c, buf, n, type, op, what);
}

rnnc_status rnnc_comm_bcast(rnnc_comm *c, void *buf, size_t bytes, int root, const char *what) {
    if (!c || c->size <= 1 || bytes == 0) return RNNC_OK;
    return c->bcast(c, buf, bytes, root, what);
}

void rnnc_comm_share(const rnnc_comm *c, size_t n, size_t *lo, size_t *hi) {
    size_t r = (size_t)rnnc_comm_rank(c), N = (size_t)rnnc_comm_size(c);
    *lo = r * n / N;
    *hi = (r + 1) * n / N;
}

rnnc_status rnnc_comm_check_batch(const rnnc_comm *c, long batch, const char *flag) {
    long N = rnnc_comm_size(c);
    if (batch % N == 0) return RNNC_OK;
    char ok[256];
    size_t n = 0, listed = 0;
    ok[0] = 0;
    long last = 1; /* the divisors of batch, the last after "or" */
    for (long d = 1; d <= batch; d++)
        if (batch % d == 0) last = d;
    for (long d = 1; d <= batch && n < sizeof ok - 32; d++) {
        if (batch % d) continue;
        if (d == last && listed) n += (size_t)snprintf(ok + n, sizeof ok - n, " or %ld", d);
        else n += (size_t)snprintf(ok + n, sizeof ok - n, "%s%ld", listed ? ", " : "", d);
        listed++;
    }
    return rnnc_error(RNNC_ERR_ARG, "%s %ld does not split over %ld processes: each takes an equal share of the global "
                      "batch; run %ld processes with a %s divisible by %ld, or as many processes as divide %ld: %s",
                      flag, batch, N, N, flag, N, batch, ok);
}

uint64_t rnnc_comm_fingerprint(const float *x, size_t n) {
    const unsigned char *p = (const unsigned char *)x;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n * sizeof *x; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

rnnc_status rnnc_comm_check_same(rnnc_comm *c, const uint64_t *words, size_t n, const char *what) {
    if (rnnc_comm_size(c) <= 1) return RNNC_OK;
    uint64_t lo[16], hi[16];
    if (n > 16) n = 16;
    memcpy(lo, words, n * sizeof *lo);
    memcpy(hi, words, n * sizeof *hi);
    rnnc_status s = rnnc_comm_allreduce(c, lo, n, RNNC_COMM_U64, RNNC_COMM_MIN, what);
    if (!s) s = rnnc_comm_allreduce(c, hi, n, RNNC_COMM_U64, RNNC_COMM_MAX, what);
    if (s) return s;
    if (memcmp(lo, hi, n * sizeof *lo) != 0)
        return rnnc_error(RNNC_ERR_COMM, "%s differ between the %d processes", what, c->size);
    return RNNC_OK;
}
