/* Data-parallel runs (include/rnnc/comm.h) without MPI: N ranks as threads of this process, over a
 * communicator of barriers (each rank reduces every rank's buffer in rank order, so all get the
 * same bytes, as comm.h asks). A language model (2 layers, dropout, the carried state), seq2seq
 * (dropout, output dropout, scheduled sampling) and a classifier with class weights on 3 ranks (a
 * last batch of 2 items leaves one rank idle) train as one process does within 1e-5; rank 1
 * never makes its run directory; a checkpoint of 2 ranks resumes on 3 and in one process; a batch
 * that does not split is refused naming the counts that would; the helpers (shares, the batch
 * check, substreams). tests/mpi_train.sh does the same through mpirun; this one also runs under
 * the sanitizers. */
#include <omp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "rnnc/train.h"
#include "test.h"
#include "train_tasks.h"

static char tmpdir[64];

/* ---- N ranks as threads ---- */

#define MAX_RANKS 4

typedef struct {
    int N;
    pthread_barrier_t bar;
    void *slot[MAX_RANKS];
} shared;

typedef struct {
    rnnc_comm c;
    shared *sh;
    unsigned char *tmp;
    size_t cap;
} tcomm;

static size_t elem(rnnc_comm_type t) { return t == RNNC_COMM_F32 ? 4 : 8; }

static rnnc_status t_allreduce(rnnc_comm *c, void *buf, size_t n, rnnc_comm_type type, rnnc_comm_op op, const char *what) {
    (void)what;
    tcomm *t = (tcomm *)c;
    size_t es = elem(type);
    if (t->cap < n * es) {
        free(t->tmp);
        if (!(t->tmp = malloc(n * es))) return rnnc_error(RNNC_ERR_NOMEM, "test comm: out of memory");
        t->cap = n * es;
    }
    t->sh->slot[c->rank] = buf;
    pthread_barrier_wait(&t->sh->bar);
    for (size_t i = 0; i < n; i++) /* the ranks in order: the same result on every rank */
        for (int r = 0; r < t->sh->N; r++) {
            const unsigned char *p = (const unsigned char *)t->sh->slot[r] + i * es;
            unsigned char *q = t->tmp + i * es;
            if (r == 0) { memcpy(q, p, es); continue; }
            if (type == RNNC_COMM_F32) {
                float x, y;
                memcpy(&x, p, 4);
                memcpy(&y, q, 4);
                y = op == RNNC_COMM_SUM ? y + x : op == RNNC_COMM_MAX ? (x > y ? x : y) : (x < y ? x : y);
                memcpy(q, &y, 4);
            } else if (type == RNNC_COMM_F64) {
                double x, y;
                memcpy(&x, p, 8);
                memcpy(&y, q, 8);
                y = op == RNNC_COMM_SUM ? y + x : op == RNNC_COMM_MAX ? (x > y ? x : y) : (x < y ? x : y);
                memcpy(q, &y, 8);
            } else {
                uint64_t x, y;
                memcpy(&x, p, 8);
                memcpy(&y, q, 8);
                y = op == RNNC_COMM_SUM ? y + x : op == RNNC_COMM_MAX ? (x > y ? x : y) : (x < y ? x : y);
                memcpy(q, &y, 8);
            }
        }
    pthread_barrier_wait(&t->sh->bar); /* every rank has read every buffer */
    memcpy(buf, t->tmp, n * es);
    return RNNC_OK;
}

static rnnc_status t_bcast(rnnc_comm *c, void *buf, size_t bytes, int root, const char *what) {
    (void)what;
    tcomm *t = (tcomm *)c;
    if (c->rank == root) t->sh->slot[root] = buf;
    pthread_barrier_wait(&t->sh->bar);
    if (c->rank != root) memcpy(buf, t->sh->slot[root], bytes);
    pthread_barrier_wait(&t->sh->bar);
    return RNNC_OK;
}

/* What each rank runs: a new run of the task made from opts, or a resume. */
typedef struct {
    tcomm comm;
    make_task_fn make;
    const void *opts;
    rnnc_run_opts run;     /* run_dir: this rank's (rank > 0: a path it must never create) */
    const char *resume;    /* resume this directory instead (rank 0's path; others: their own) */
    long resume_steps;
    rnnc_status status;
    char error[512];
} rank_job;

static void *rank_main(void *arg) {
    rank_job *j = arg;
    omp_set_num_threads(1);
    if (j->resume) {
        rnnc_run_change ch = rnnc_run_change_none();
        ch.steps = j->resume_steps;
        ch.comm = &j->comm.c;
        j->status = rnnc_run_resume(j->resume, &ch, NULL, NULL, NULL);
    } else {
        rnnc_task *t;
        j->run.comm = &j->comm.c;
        j->status = j->make(&t, j->opts, j->run.seed);
        if (!j->status) j->status = rnnc_run_start(&j->run, t, NULL, NULL, NULL);
    }
    snprintf(j->error, sizeof j->error, "%s", j->status ? rnnc_last_error() : "");
    return NULL;
}

/* Runs N ranks: rank 0 in dir (or resuming it), the others in dir.rankR, which must never appear.
 * Returns rank 0's status; every rank must end with the same one. */
static rnnc_status run_ranks(int N, make_task_fn make, const void *opts, rnnc_run_opts run, const char *dir, long resume_steps,
                             char *err0, size_t errn) {
    shared sh = {.N = N};
    pthread_barrier_init(&sh.bar, NULL, (unsigned)N);
    rank_job jobs[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    char dirs[MAX_RANKS][160];
    for (int r = 0; r < N; r++) {
        if (r == 0) snprintf(dirs[r], sizeof dirs[r], "%s", dir);
        else snprintf(dirs[r], sizeof dirs[r], "%s.rank%d", dir, r);
        jobs[r] = (rank_job){.comm = {.c = {.rank = r, .size = N, .allreduce = t_allreduce, .bcast = t_bcast}, .sh = &sh},
                             .make = make, .opts = opts, .run = run, .resume_steps = resume_steps};
        jobs[r].run.run_dir = dirs[r];
        if (resume_steps) jobs[r].resume = dirs[r];
        pthread_create(&th[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < N; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&sh.bar);
    int differ = 0, touched = 0;
    for (int r = 1; r < N; r++) {
        differ += jobs[r].status != jobs[0].status;
        touched += access(dirs[r], F_OK) == 0;
    }
    CHECK_MSG(differ == 0, "%s: the ranks ended differently (rank 0: %s; rank 1: %s)", dir, jobs[0].error, jobs[1].error);
    CHECK_MSG(touched == 0, "%s: a rank other than 0 made its run directory", dir);
    for (int r = 0; r < N; r++) free(jobs[r].comm.tmp);
    if (err0) snprintf(err0, errn, "%s", jobs[0].error);
    return jobs[0].status;
}

/* Every tensor of the two files within tol of the tensor's largest value; train.* tensors too. */
static double worst_diff(const char *a, const char *b) {
    rnnc_safetensors sa, sb;
    if (rnnc_st_load(&sa, a) || rnnc_st_load(&sb, b)) return INFINITY;
    double worst = sa.n_tensors == sb.n_tensors ? 0 : INFINITY;
    for (size_t i = 0; i < sa.n_tensors && worst < INFINITY; i++) {
        const rnnc_st_tensor *x = &sa.tensors[i], *y = rnnc_st_find(&sb, x->name);
        if (!y || y->numel != x->numel || x->dtype != y->dtype) { worst = INFINITY; break; }
        if (x->dtype != RNNC_DT_F32) {
            if (memcmp(x->data, y->data, x->nbytes)) worst = INFINITY;
            continue;
        }
        float *u = malloc(x->numel * sizeof *u), *v = malloc(x->numel * sizeof *v);
        memcpy(u, x->data, x->nbytes);
        memcpy(v, y->data, y->nbytes);
        double scale = 1e-3, d = 0;
        for (size_t k = 0; k < x->numel; k++) {
            if (fabs(u[k]) > scale) scale = fabs(u[k]);
            if (fabs(u[k] - v[k]) > d) d = fabs(u[k] - v[k]);
        }
        if (d / scale > worst) worst = d / scale;
        free(u);
        free(v);
    }
    rnnc_st_free(&sa);
    rnnc_st_free(&sb);
    return worst;
}

static void path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

/* One process, then N ranks, of the same run: the final weights, the checkpoint's optimizer
 * state and carried state, within tol. */
static void same_run(const char *name, int N, make_task_fn make, const void *opts, rnnc_run_opts run) {
    char one[160], many[160], a[200], b[200];
    snprintf(one, sizeof one, "%s/%s_n%d_one", tmpdir, name, N);
    snprintf(many, sizeof many, "%s/%s_n%d", tmpdir, name, N);
    omp_set_num_threads(1);
    rnnc_task *t;
    run.run_dir = one;
    CHECK_EQ_LL(make(&t, opts, run.seed), RNNC_OK);
    CHECK_EQ_LL(rnnc_run_start(&run, t, NULL, NULL, NULL), RNNC_OK);
    char err[512];
    CHECK_MSG(run_ranks(N, make, opts, run, many, 0, err, sizeof err) == RNNC_OK, "%s on %d ranks: %s", name, N, err);
    snprintf(a, sizeof a, "%s/model.safetensors", one);
    snprintf(b, sizeof b, "%s/model.safetensors", many);
    double d = worst_diff(a, b);
    CHECK_MSG(d <= 1e-5, "%s: %d ranks differ from one process by %.3g", name, N, d);
    snprintf(a, sizeof a, "%s/checkpoint.safetensors", one);
    snprintf(b, sizeof b, "%s/checkpoint.safetensors", many);
    double dc = worst_diff(a, b);
    CHECK_MSG(dc <= 1e-5, "%s: %d ranks' checkpoint differs from one process's by %.3g", name, N, dc);
    printf("     %s on %d ranks: weights within %.2g of one process's, checkpoint within %.2g\n", name, N, d, dc);
}

static void test_lm(void) {
    char corpus[160];
    path(corpus, sizeof corpus, "corpus.txt");
    FILE *f = fopen(corpus, "w");
    rnnc_rng r;
    rnnc_rng_seed(&r, 3);
    static const char *w[] = {"the", "cat", "sees", "a", "dog", "runs", "far", "home", "and", "birds"};
    for (int i = 0; i < 2500; i++) fprintf(f, "%s%s", w[rnnc_rng_below(&r, 10)], rnnc_rng_below(&r, 9) ? " " : ".\n");
    fclose(f);
    const char *data[] = {corpus};
    rnnc_lm_task_opts o = rnnc_lm_task_defaults();
    o.data = data;
    o.n_data = 1;
    o.layers = 2;
    o.hidden = 16;
    o.embed = 8;
    o.dropout = 0.2f;
    o.batch = 6;
    o.seq = 16;
    rnnc_run_opts run = rnnc_run_defaults();
    run.steps = 30;
    run.warmup = 5;
    run.schedule = RNNC_SCHEDULE_CONSTANT; /* (a run stopped at 20 then continued: the same rates) */
    run.eval_every = 10;
    run.checkpoint_every = 10;
    same_run("lm", 2, make_lm, &o, run);
    same_run("lm", 3, make_lm, &o, run);

    /* a checkpoint of 2 ranks, resumed on 3 and in one process, agrees with the run never stopped */
    char stopped[160], b[300], a[300];
    path(stopped, sizeof stopped, "lm_resume");
    run.steps = 20;
    CHECK_EQ_LL(run_ranks(2, make_lm, &o, run, stopped, 0, NULL, 0), RNNC_OK);
    char copy[400];
    snprintf(copy, sizeof copy, "cp -r %s %s_one", stopped, stopped);
    CHECK_EQ_LL(system(copy), 0);
    CHECK_EQ_LL(run_ranks(3, make_lm, &o, run, stopped, 30, NULL, 0), RNNC_OK);
    snprintf(a, sizeof a, "%s/lm_n2_one/model.safetensors", tmpdir);
    snprintf(b, sizeof b, "%s/model.safetensors", stopped);
    double d = worst_diff(a, b);
    CHECK_MSG(d <= 1e-5, "lm: 2 ranks then 3 differ from one process by %.3g", d);
    rnnc_run_change ch = rnnc_run_change_none();
    ch.steps = 30;
    snprintf(copy, sizeof copy, "%s_one", stopped);
    CHECK_EQ_LL(rnnc_run_resume(copy, &ch, NULL, NULL, NULL), RNNC_OK);
    snprintf(b, sizeof b, "%s_one/model.safetensors", stopped);
    d = worst_diff(a, b);
    CHECK_MSG(d <= 1e-5, "lm: 2 ranks then one process differ from one process by %.3g", d);

    /* the batch must split over the ranks */
    char bad[160], err[512];
    path(bad, sizeof bad, "lm_bad");
    CHECK_EQ_LL(run_ranks(4, make_lm, &o, run, bad, 0, err, sizeof err), RNNC_ERR_ARG);
    CHECK_MSG(strstr(err, "--batch 6 does not split over 4 processes") && strstr(err, "1, 2, 3 or 6"), "%s", err);
    CHECK(access(strcat(bad, "/model.safetensors"), F_OK) != 0);
}

static void test_seq2seq_classify(void) {
    char tsv[160], dev[160];
    path(tsv, sizeof tsv, "pairs.tsv");
    path(dev, sizeof dev, "dev.tsv");
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 9);
    write_reverse_pairs(tsv, dev, 240, 30, &rng);
    rnnc_s2s_task_opts so = rnnc_s2s_task_defaults();
    so.data = tsv;
    so.valid = dev;
    so.model.hidden = 12;
    so.model.embed = 6;
    so.model.layers = 2;
    so.model.dropout = 0.2;
    so.model.output_dropout = 0.1;
    so.teacher_forcing = 0.8;
    so.batch = 12;
    rnnc_run_opts run = rnnc_run_defaults();
    run.steps = 25;
    run.warmup = 5;
    run.eval_every = 10;
    same_run("seq2seq", 2, make_s2s, &so, run);

    /* classify: 100 items in batches of 6 end with a batch of 4, which leaves a rank of 3 idle */
    char ctr[160], cdv[160];
    path(ctr, sizeof ctr, "cls.tsv");
    path(cdv, sizeof cdv, "cls_dev.tsv");
    FILE *f = fopen(ctr, "w"), *g = fopen(cdv, "w");
    static const char *w[] = {"good", "bad", "fine", "poor", "great", "awful"};
    for (int i = 0; i < 130; i++) {
        int n = 2 + (int)rnnc_rng_below(&rng, 5), pos = 0;
        char text[128] = "";
        for (int k = 0; k < n; k++) {
            int j = (int)rnnc_rng_below(&rng, 6);
            pos += j % 2 == 0;
            size_t l = strlen(text);
            snprintf(text + l, sizeof text - l, "%s%s", k ? " " : "", w[j]);
        }
        fprintf(i < 100 ? f : g, "%s\t%s\n", 2 * pos > n ? "pos" : "neg", text);
    }
    fclose(f);
    fclose(g);
    rnnc_seq_task_opts co = rnnc_seq_task_defaults(RNNC_SEQ_CLASSIFY);
    co.data = ctr;
    co.valid = cdv;
    co.tokenizer = "space";
    co.class_weight = "balanced";
    co.model.hidden = 12;
    co.model.embed = 6;
    co.model.layers = 2;
    co.model.dropout = 0.1f;
    co.model.output_dropout = 0.2f;
    co.batch = 6;
    run.steps = 34; /* two epochs of 17 batches */
    run.eval_every = 17;
    same_run("classify", 3, make_seq, &co, run);
}

static void test_helpers(void) {
    /* shares: contiguous, in rank order, covering [0, n), sizes within one */
    for (int N = 1; N <= 5; N++)
        for (size_t n = 0; n < 12; n++) {
            size_t next = 0, lo, hi, smallest = n, largest = 0;
            for (int r = 0; r < N; r++) {
                rnnc_comm c = {.rank = r, .size = N};
                rnnc_comm_share(&c, n, &lo, &hi);
                CHECK(lo == next && hi >= lo);
                next = hi;
                if (hi - lo < smallest) smallest = hi - lo;
                if (hi - lo > largest) largest = hi - lo;
            }
            CHECK(next == n && largest - smallest <= 1);
        }
    size_t lo, hi;
    rnnc_comm_share(NULL, 7, &lo, &hi);
    CHECK(lo == 0 && hi == 7);
    rnnc_comm c = {.rank = 0, .size = 4};
    CHECK_EQ_LL(rnnc_comm_check_batch(&c, 32, "--batch"), RNNC_OK);
    CHECK_EQ_LL(rnnc_comm_check_batch(&c, 30, "--batch"), RNNC_ERR_ARG);
    CHECK_MSG(strstr(rnnc_last_error(), "1, 2, 3, 5, 6, 10, 15 or 30") != NULL, "%s", rnnc_last_error());
    CHECK_EQ_LL(rnnc_comm_check_batch(NULL, 7, "--batch"), RNNC_OK);
    CHECK_EQ_LL(rnnc_comm_rank(NULL), 0);
    CHECK_EQ_LL(rnnc_comm_size(NULL), 1);
    /* substreams: the same key and index give the same stream; another index, another */
    rnnc_rng a, b, x;
    rnnc_rng_substream(&a, 42, 7);
    rnnc_rng_substream(&b, 42, 7);
    rnnc_rng_substream(&x, 42, 8);
    int same = 0, other = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t u = rnnc_rng_u64(&a);
        same += u == rnnc_rng_u64(&b);
        other += u == rnnc_rng_u64(&x);
    }
    CHECK(same == 100 && other == 0);
    /* a fingerprint sees one bit */
    float v[64] = {0};
    uint64_t h0 = rnnc_comm_fingerprint(v, 64);
    v[63] = 1e-30f;
    CHECK(rnnc_comm_fingerprint(v, 64) != h0);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rnnc_test_dist_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_helpers);
    RUN(test_lm);
    RUN(test_seq2seq_classify);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return test_report();
}
