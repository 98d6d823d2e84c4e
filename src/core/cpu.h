/* rnnc — what the CPU can run (internal): the checks behind every kernel chosen at run time. */
#ifndef RNNC_CPU_H
#define RNNC_CPU_H

/* Whether the CPU has AVX2 and FMA, with the OS saving the vector registers (x86, checked once;
 * 1 in a build that targets both, 0 off x86): where the AVX2 kernels of pgemm.c and gemm.c run. */
int rnnc_cpu_avx2_fma(void);

/* Whether it also has F16C (half-precision conversion): where the generator's half-precision
 * kernel runs (generate.c). 1 in a build that targets all three, 0 off x86. */
int rnnc_cpu_avx2_fma_f16c(void);

/* Whether the CPU has AVX-512F (1 in a build that targets it, 0 off x86). No kernel is chosen by
 * it at run time (the AVX-512 kernels are compiled in only for a target that has it); `rnnc
 * version --verbose` reports it. */
int rnnc_cpu_avx512f(void);

/* The size in bytes of the data (or unified) cache of the given level (1, 2 or 3) of the first
 * CPU, 0 where the system does not say: read once from Linux's /sys/devices/system/cpu/cpu0/cache,
 * else from the C library (sysconf). sysfs first because glibc's numbers can be far off under a
 * hypervisor (an AMD EPYC VM: sysconf's L3 256 MiB, sysfs and lscpu 32 MiB). The time loops'
 * schedule asks how much of a recurrent layer's weights a core holds (L2) and how much every
 * thread may stream at every step (L3) (nn/rnn.c). */
long rnnc_cpu_cache_bytes(int level);

/* The same read from a directory laid out as sysfs's cpuN/cache (indexI/level, type, size): the
 * tests' way in. */
long rnnc_cpu_cache_bytes_in(const char *dir, int level);

#endif
