/* Several processes for the trainers: the communicator (include/rnnc/comm.h) over MPI, built into
 * the rnnc binary only (the library never links MPI), when CMake finds MPI (RNNC_WITH_MPI).
 *
 * A process started by mpirun (OMPI_COMM_WORLD_SIZE, or PMIX_RANK / PMI_SIZE from another
 * launcher) joins MPI when a trainer parses its run flags (cli_dist_start). Rank 0 keeps stdout
 * and stderr; every other rank's go to /dev/null, but its error lines still reach the terminal as
 * "rnnc: rank N: ...". A failed process ends the whole job (MPI_Abort), so no rank waits on one
 * that has gone; a stopped run (Ctrl-C) ends on every rank at the same step.
 *
 * Collectives run as non-blocking MPI operations polled against a deadline (--mpi-timeout): a
 * rank that does not join one in time (stuck, or on a lost host) is named by rank 0, which sees who
 * has arrived (each other rank sends rank 0 a note as it enters a collective), and the job is
 * aborted. The other ranks wait a little longer, so that rank 0's message comes first; when rank
 * 0 itself is the one missing, they say so. A rank that dies is reported by mpirun itself ("process
 * rank 1 ... exited on signal 9"), which then ends the job. */
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static int dist_rank = 0, dist_size = 1;
static double timeout_s = 300;

int cli_dist_rank(void) { return dist_rank; }
int cli_dist_size(void) { return dist_size; }
void cli_dist_set_timeout(double seconds) { timeout_s = seconds; }

/* Whether a launcher started this process as one of several. */
static int launched_size(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0) return atoi(v);
    }
    return getenv("PMIX_RANK") || getenv("PMI_RANK") ? 2 : 1; /* a rank without a size: several */
}

#ifdef RNNC_WITH_MPI
#include <mpi.h>

typedef struct {
    MPI_Comm world, notes; /* notes: the arrival notes to rank 0 (a duplicate, so they never match a collective) */
    long seq;              /* collectives so far (the same count on every rank) */
    MPI_Request *arrivals; /* rank 0: the receive of each other rank's next note */
    long *arrived;         /* rank 0: their buffers */
    long note;             /* other ranks: the note sent */
    MPI_Request note_req;
} mpi_ctx;

static mpi_ctx ctx;
static rnnc_comm comm;
static int mpi_on = 0;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

enum { TAG_NOTE = 1, TAG_PING = 2, TAG_PONG = 3 };

/* A rank waiting in a collective answers rank 0's ping: it is alive and polling. */
static void answer_ping(void) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(0, TAG_PING, ctx.notes, &flag, &st);
    if (!flag) return;
    long x;
    MPI_Recv(&x, 1, MPI_LONG, 0, TAG_PING, ctx.notes, MPI_STATUS_IGNORE);
    MPI_Send(&x, 1, MPI_LONG, 0, TAG_PONG, ctx.notes);
}

/* Every rank joined, yet the collective does not end: the ranks that do not answer a ping within
 * two seconds (stopped, or cut off) into missing. Returns how many. */
static int ping_all(char *missing, size_t cap) {
    MPI_Request *req = calloc(2 * (size_t)dist_size, sizeof *req);
    long *buf = calloc(2 * (size_t)dist_size, sizeof *buf);
    if (!req || !buf) { free(req); free(buf); return 0; }
    for (int r = 1; r < dist_size; r++) {
        MPI_Isend(&buf[2 * r], 1, MPI_LONG, r, TAG_PING, ctx.notes, &req[2 * r]);
        MPI_Irecv(&buf[2 * r + 1], 1, MPI_LONG, r, TAG_PONG, ctx.notes, &req[2 * r + 1]);
    }
    double t0 = MPI_Wtime();
    int pending = dist_size - 1;
    while (pending > 0 && MPI_Wtime() - t0 < 2.0) {
        pending = 0;
        for (int r = 1; r < dist_size; r++) {
            int done = 0;
            MPI_Test(&req[2 * r + 1], &done, MPI_STATUS_IGNORE);
            pending += !done;
        }
        sleep_us(1000);
    }
    int k = 0;
    size_t n = 0;
    for (int r = 1; r < dist_size && n < cap - 16; r++) {
        int done = 0;
        MPI_Test(&req[2 * r + 1], &done, MPI_STATUS_IGNORE);
        if (!done) n += (size_t)snprintf(missing + n, cap - n, "%s%d", k++ ? ", " : "", r);
    }
    return k; /* (the requests are left: the job ends next) */
}

/* No rank joined `what` in time: rank 0 names those whose notes have not come (or, when all came,
 * those that do not answer a ping), the others say they waited, and the job ends. */
static void timed_out(const char *what, double waited) {
    char missing[512] = "";
    size_t n = 0;
    int k = 0;
    if (dist_rank == 0) {
        for (int r = 1; r < dist_size && n < sizeof missing - 16; r++) {
            int done = 0; /* the receive outstanding is this collective's note (the earlier ones are settled) */
            MPI_Test(&ctx.arrivals[r - 1], &done, MPI_STATUS_IGNORE);
            if (!done) n += (size_t)snprintf(missing + n, sizeof missing - n, "%s%d", k++ ? ", " : "", r);
        }
        if (k)
            cli_dist_error("rnnc: %s has waited %.0f s for rank%s %s (of %d processes), which never joined it: stuck, or its "
                           "host is lost; stopping the job (--mpi-timeout %.0f)", what, waited, k > 1 ? "s" : "", missing,
                           dist_size, timeout_s);
        else if ((k = ping_all(missing, sizeof missing)))
            cli_dist_error("rnnc: %s has waited %.0f s: rank%s %s (of %d processes) joined it but no longer answer%s: stopped, "
                           "or its host is lost; stopping the job (--mpi-timeout %.0f)", what, waited, k > 1 ? "s" : "",
                           missing, dist_size, k > 1 ? "" : "s", timeout_s);
        else
            cli_dist_error("rnnc: %s has not completed in %.0f s though every rank joined it and answers; stopping the job "
                           "(--mpi-timeout %.0f)", what, waited, timeout_s);
    } else {
        cli_dist_error("rnnc: %s has waited %.0f s for the other processes (rank 0, or one rank 0 names, never joined it); "
                       "stopping the job (--mpi-timeout %.0f)", what, waited, timeout_s);
    }
    cli_errors_release(0); /* (the other ranks have waited already: rank 0's line comes first) */
    MPI_Abort(ctx.world, 1);
    _exit(1);
}

/* Before a collective: rank 0 makes sure a receive waits for each other rank's note; the others
 * send theirs. */
static void arrive(void) {
    ctx.seq++;
    if (timeout_s <= 0) return;
    if (dist_rank == 0) return; /* its receives are posted once and reposted as notes come */
    ctx.note = ctx.seq;
    MPI_Isend(&ctx.note, 1, MPI_LONG, 0, TAG_NOTE, ctx.notes, &ctx.note_req);
}

/* After a collective: its notes are all in (every rank sent its note before joining it), and rank
 * 0 posts the receives of the next ones. One note per rank and collective, matched in order. */
static void settle(void) {
    if (timeout_s <= 0) return;
    if (dist_rank != 0) {
        MPI_Wait(&ctx.note_req, MPI_STATUS_IGNORE);
        return;
    }
    for (int r = 1; r < dist_size; r++) {
        MPI_Wait(&ctx.arrivals[r - 1], MPI_STATUS_IGNORE);
        MPI_Irecv(&ctx.arrived[r - 1], 1, MPI_LONG, r, TAG_NOTE, ctx.notes, &ctx.arrivals[r - 1]);
    }
}

/* Polls req until it completes, or stops the job at the deadline. */
static void wait_for(MPI_Request *req, const char *what) {
    double t0 = MPI_Wtime();
    /* the others give rank 0 time to name the missing rank first */
    double limit = dist_rank == 0 ? timeout_s : timeout_s + (timeout_s / 10 > 5 ? timeout_s / 10 : 5);
    double waited = 0;
    for (long spins = 0;; spins++) {
        int done = 0;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        /* MPI progresses only in MPI_Test: poll hard while a transfer may be under way, but a
         * long wait (a slower rank, rank 0 writing a checkpoint) should not burn the core */
        if (waited > 0.2) sleep_us(100);
        else if (spins > 1000) sched_yield();
        if ((spins & 63) == 0) {
            waited = MPI_Wtime() - t0;
            if (dist_rank != 0 && waited > 0.01) answer_ping();
            if (waited > limit) timed_out(what, waited);
        }
    }
}

static MPI_Datatype type_of(rnnc_comm_type t) {
    return t == RNNC_COMM_F32 ? MPI_FLOAT : t == RNNC_COMM_F64 ? MPI_DOUBLE : MPI_UINT64_T;
}
static size_t size_of(rnnc_comm_type t) { return t == RNNC_COMM_F32 ? 4 : 8; }
static MPI_Op op_of(rnnc_comm_op o) { return o == RNNC_COMM_SUM ? MPI_SUM : o == RNNC_COMM_MAX ? MPI_MAX : MPI_MIN; }

#define CHUNK ((size_t)1 << 28) /* elements per call: MPI counts are ints */

static rnnc_status mpi_allreduce(rnnc_comm *c, void *buf, size_t n, rnnc_comm_type type, rnnc_comm_op op, const char *what) {
    (void)c;
    for (size_t i = 0; i < n; i += CHUNK) {
        int k = (int)(n - i < CHUNK ? n - i : CHUNK);
        void *p = (char *)buf + i * size_of(type);
        arrive();
        if (timeout_s <= 0) { /* no deadline: the blocking call (MPI's own algorithms, no polling) */
            MPI_Allreduce(MPI_IN_PLACE, p, k, type_of(type), op_of(op), ctx.world);
        } else {
            MPI_Request req;
            MPI_Iallreduce(MPI_IN_PLACE, p, k, type_of(type), op_of(op), ctx.world, &req);
            wait_for(&req, what);
        }
        settle();
    }
    return RNNC_OK;
}

static rnnc_status mpi_bcast(rnnc_comm *c, void *buf, size_t bytes, int root, const char *what) {
    (void)c;
    for (size_t i = 0; i < bytes; i += CHUNK) {
        int k = (int)(bytes - i < CHUNK ? bytes - i : CHUNK);
        arrive();
        if (timeout_s <= 0) {
            MPI_Bcast((char *)buf + i, k, MPI_BYTE, root, ctx.world);
        } else {
            MPI_Request req;
            MPI_Ibcast((char *)buf + i, k, MPI_BYTE, root, ctx.world, &req);
            wait_for(&req, what);
        }
        settle();
    }
    return RNNC_OK;
}

static void quiet_others(void) {
    if (dist_rank == 0) return;
    fflush(stdout);
    fflush(stderr);
    cli_errors_from_rank(dist_rank, dup(2));
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
}

int cli_dist_start(const char *mode, rnnc_comm **out) {
    *out = NULL;
    if (mpi_on) { *out = dist_size > 1 ? &comm : NULL; return 0; }
    if (launched_size() <= 1) return 0;
    /* Open MPI's non-blocking all-reduce picks a binomial tree for an in-place buffer or fewer
     * than 4 ranks, 10-20x slower than its blocking one on a 14 MB gradient (2 ranks, shared
     * memory: 45 ms against 2.5); the ring (algorithm 1) matches the blocking call. A value the
     * user set stays. */
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return cli_fail("%s: MPI_Init failed: cannot join the other processes", mode);
    mpi_on = 1;
    ctx.world = MPI_COMM_WORLD;
    MPI_Comm_rank(ctx.world, &dist_rank);
    MPI_Comm_size(ctx.world, &dist_size);
    MPI_Comm_dup(ctx.world, &ctx.notes);
    if (dist_size <= 1) return 0;
    if (dist_rank == 0 && timeout_s > 0) {
        ctx.arrivals = calloc((size_t)dist_size, sizeof *ctx.arrivals);
        ctx.arrived = calloc((size_t)dist_size, sizeof *ctx.arrived);
        if (!ctx.arrivals || !ctx.arrived) return cli_fail("out of memory");
        for (int r = 1; r < dist_size; r++)
            MPI_Irecv(&ctx.arrived[r - 1], 1, MPI_LONG, r, TAG_NOTE, ctx.notes, &ctx.arrivals[r - 1]);
    }
    comm = (rnnc_comm){.rank = dist_rank, .size = dist_size, .allreduce = mpi_allreduce, .bcast = mpi_bcast, .ctx = &ctx};
    quiet_others();
    *out = &comm;
    return 0;
}

int cli_dist_finish(int rc) {
    if (!mpi_on) return rc;
    if (dist_size > 1 && rc != 0 && rc != 130) {
        /* a failed rank ends the job: the others may be waiting on it. A rank > 0 waits two
         * seconds first (Open MPI takes about one to carry an abort to the other ranks): where
         * every rank failed alike, rank 0's abort ends it meanwhile, and the error is said once.
         * A rank that stopped only because another failed (RNNC_COMM_PEER_FAILED) waits longer
         * and says nothing more, so that the failed rank's own line, which says why, is heard
         * before its abort ends the job. */
        fflush(stdout);
        fflush(stderr);
        if (!strcmp(rnnc_last_error(), RNNC_COMM_PEER_FAILED)) {
            if (dist_rank) cli_errors_drop();
            struct timespec ts = {4, 0};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
        } else {
            cli_errors_release(dist_rank ? 2 : 0);
        }
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    cli_errors_release(0);
    if (dist_rank == 0 && ctx.arrivals) /* the receives of notes that will never come */
        for (int r = 1; r < dist_size; r++) {
            MPI_Cancel(&ctx.arrivals[r - 1]);
            MPI_Wait(&ctx.arrivals[r - 1], MPI_STATUS_IGNORE);
        }
    free(ctx.arrivals);
    free(ctx.arrived);
    MPI_Comm_free(&ctx.notes);
    MPI_Finalize();
    return rc;
}

bool cli_dist_built(void) { return true; }

#else /* without MPI: one process; a launch of several is refused */

int cli_dist_start(const char *mode, rnnc_comm **out) {
    *out = NULL;
    int n = launched_size();
    if (n > 1)
        return cli_fail("%s: started as one of %d processes (mpirun), but this rnnc was built without MPI: install Open MPI "
                        "(libopenmpi-dev, openmpi-bin; scripts/install-deps.sh) and build again", mode, n);
    return 0;
}

int cli_dist_finish(int rc) { return rc; }
bool cli_dist_built(void) { return false; }

#endif
