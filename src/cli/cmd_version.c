/* rnnc version: the version, and with --verbose what this build runs on this machine: the compiler
 * and target, the kernels taken at run time, the CPU's features and caches as the schedules read
 * them, the thread count and the BLAS. What a bug report or a benchmark needs next to its numbers. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "core/cpu.h"
#include "nn/gemm.h"
#include "nn/pgemm.h"
#include "nn/vmath.h"

static const char HELP[] =
    "usage: rnnc version [--verbose] [--json]\n"
    "\n"
    "Prints rnnc's version. With --verbose, also what this build runs on this\n"
    "machine: the compiler and the instruction set it targets, the kernels taken at\n"
    "run time, the CPU's vector features and cache sizes (as the recurrent loops'\n"
    "schedule reads them), the OpenMP thread count and the BLAS with its core.\n"
    "\n"
    "options:\n"
    "  --verbose, -v  the build and the machine, one line each\n"
    "  --json         the same as one JSON object (implies --verbose)\n";

/* The instruction set the compiler targeted (-march), the widest of what rnnc's kernels use. */
static const char *target_isa(void) {
#if defined(__AVX512F__)
    return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    return "AVX2+FMA";
#elif defined(__x86_64__)
    return "x86-64 (AVX2+FMA kernels chosen at run time)";
#else
    return "generic";
#endif
}

#if defined(__clang__)
#define COMPILER __VERSION__
#elif defined(__GNUC__)
#define COMPILER "GCC " __VERSION__
#else
#define COMPILER "unknown"
#endif

static void cache_text(char *buf, size_t n, long bytes) {
    if (bytes <= 0) snprintf(buf, n, "unknown");
    else if (bytes % 1048576 == 0) snprintf(buf, n, "%ld MiB", bytes / 1048576);
    else snprintf(buf, n, "%ld KiB", bytes / 1024);
}

int cmd_version(int argc, char **argv) {
    bool verbose = false, json = false;
    if (cli_wants_help(argc, argv)) { fputs(HELP, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) verbose = true;
        else if (!strcmp(argv[i], "--json")) json = verbose = true;
        else if (cli_looks_like_flag(argv[i])) return cli_usage_error("version", "unknown option '%s'", argv[i]);
        else return cli_usage_error("version", "takes no arguments, got '%s'", argv[i]);
    }
    if (!verbose) {
        printf("rnnc %s\n", rnnc_version());
        return 0;
    }
    char cpu[128], l1[32], l2[32], l3[32];
    snprintf(cpu, sizeof cpu, "%s%s%s", rnnc_cpu_avx2_fma() ? "AVX2 FMA" : "no AVX2/FMA",
             rnnc_cpu_avx2_fma_f16c() ? " F16C" : "", rnnc_cpu_avx512f() ? " AVX-512F" : "");
    cache_text(l1, sizeof l1, rnnc_cpu_cache_bytes(1));
    cache_text(l2, sizeof l2, rnnc_cpu_cache_bytes(2));
    cache_text(l3, sizeof l3, rnnc_cpu_cache_bytes(3));
#ifdef RNNC_VW
    const int lanes = RNNC_VW;
#else
    const int lanes = 1;
#endif
    const char *omp_env = getenv("OMP_NUM_THREADS"), *core = openblas_get_corename(), *blas = openblas_get_config();
    const int threads = omp_get_max_threads(), blas_threads = openblas_get_num_threads();
    const char *wgrad = rnnc_wgrad_own() ? "rnnc's own tiles" : "BLAS";
    if (json) {
        cJSON *j = cJSON_CreateObject(), *c = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "version", rnnc_version());
        cJSON_AddStringToObject(j, "compiler", COMPILER);
        cJSON_AddStringToObject(j, "target", target_isa());
        cJSON_AddStringToObject(j, "step_kernel", rnnc_pgemm_kernel());
        cJSON_AddNumberToObject(j, "cell_lanes", lanes);
        cJSON_AddStringToObject(j, "weight_gradients", wgrad);
        cJSON_AddStringToObject(j, "cpu_features", cpu);
        cJSON_AddNumberToObject(c, "l1d", (double)rnnc_cpu_cache_bytes(1));
        cJSON_AddNumberToObject(c, "l2", (double)rnnc_cpu_cache_bytes(2));
        cJSON_AddNumberToObject(c, "l3", (double)rnnc_cpu_cache_bytes(3));
        cJSON_AddItemToObject(j, "cache_bytes", c);
        cJSON_AddNumberToObject(j, "threads", threads);
        if (omp_env) cJSON_AddStringToObject(j, "omp_num_threads", omp_env);
        else cJSON_AddNullToObject(j, "omp_num_threads");
        cJSON_AddStringToObject(j, "blas", blas ? blas : "");
        cJSON_AddStringToObject(j, "blas_core", core ? core : "");
        cJSON_AddNumberToObject(j, "blas_threads", blas_threads);
        return cli_print_json(j);
    }
    printf("rnnc %s\n", rnnc_version());
    printf("compiler:  %s, target %s\n", COMPILER, target_isa());
    printf("kernels:   time steps %s; cells %d lane%s; weight gradients %s\n", rnnc_pgemm_kernel(), lanes,
           lanes == 1 ? "" : "s", wgrad);
    printf("cpu:       %s; caches L1d %s, L2 %s, L3 %s\n", cpu, l1, l2, l3);
    printf("threads:   %d (OpenMP; OMP_NUM_THREADS %s)\n", threads, omp_env ? omp_env : "unset");
    printf("blas:      %s; core %s; %d thread%s\n", blas ? blas : "unknown", core ? core : "unknown", blas_threads,
           blas_threads == 1 ? "" : "s");
    return 0;
}
