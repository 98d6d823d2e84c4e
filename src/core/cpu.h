/* rnnc — what the CPU can run (internal): the checks behind every kernel chosen at run time. */
#ifndef RNNC_CPU_H
#define RNNC_CPU_H

/* Whether the CPU has AVX2 and FMA, with the OS saving the vector registers (x86, checked once;
 * 1 in a build that targets both, 0 off x86): where the AVX2 kernels of pgemm.c and gemm.c run. */
int rnnc_cpu_avx2_fma(void);

/* Whether it also has F16C (half-precision conversion): where the generator's half-precision
 * kernel runs (generate.c). 1 in a build that targets all three, 0 off x86. */
int rnnc_cpu_avx2_fma_f16c(void);

/* The last-level (L3) cache's size in bytes as the C library reports it (sysconf), 0 where it
 * does not: the time loops' schedule asks it how much of a recurrent layer's weights every thread
 * may stream at every step (nn/rnn.c). Read once. */
long rnnc_cpu_l3_bytes(void);

#endif
