"""How the benchmarks run PyTorch: which OpenBLAS build its matrix products use, and its threads.

Debian's PyTorch calls BLAS through libblas.so.3, and the system alternative for it is OpenBLAS's
pthread build. With two threads that build's workers keep spinning after each product while
PyTorch's OpenMP threads run its other operations: four busy threads on two cores. PyTorch on two
threads then ran at half its one-thread rate (LSTM 512x2 training 1,792 against 3,356 tokens/s,
the G2P step 3.4 against 10.8 steps/s, 2026-12-07, Xeon with AVX-512). rnnc links OpenBLAS's
OpenMP build, which shares the OpenMP thread pool (docs/PERFORMANCE.md, "One thread pool").

So PyTorch gets the same: `env(threads, openmp=True)` preloads the OpenMP build's libblas.so.3
(package libopenblas0-openmp, which scripts/install-deps.sh installs) for that one process, without
touching the system alternative; then two threads ran 4,877 tokens/s and 16.1 steps/s. Every
benchmark that times PyTorch on more than one thread measures it both ways (`variants()`) and takes
the best as the reference, so a ratio is against PyTorch at its best on this machine.

RNNC_TORCH_BLAS=pthread leaves PyTorch on the system's build alone (the numbers before
2026-12-07 were made so).
"""
import glob
import os

_found = None


def openmp_libblas():
    """The OpenMP build's libblas.so.3, or None where it is not installed (or turned off)."""
    global _found
    if os.environ.get("RNNC_TORCH_BLAS", "") == "pthread":
        return None
    if _found is None:
        hits = sorted(glob.glob("/usr/lib/*/openblas-openmp/libblas.so.3"))
        _found = hits[0] if hits else ""
    return _found or None


def env(threads, openmp=False, base=None):
    """The environment of a PyTorch process on `threads` threads (OpenMP's and OpenBLAS's), with the
    OpenMP build of OpenBLAS preloaded when `openmp` (and installed)."""
    e = dict(os.environ if base is None else base, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    lib = openmp_libblas() if openmp else None
    if lib:
        e["LD_PRELOAD"] = lib + (" " + e["LD_PRELOAD"] if e.get("LD_PRELOAD") else "")
    return e


def variants(threads=(1, 2)):
    """(threads, openmp) for each way PyTorch is measured: every thread count on the system's
    build, and the counts above one again on the OpenMP build where it is installed."""
    out = [(t, False) for t in threads]
    if openmp_libblas():
        out += [(t, True) for t in threads if t > 1]
    return out


def describe():
    lib = openmp_libblas()
    return (f"PyTorch measured on the system's OpenBLAS and, on more than one thread, also with {lib} preloaded "
            "(the OpenMP build, as rnnc links); its best is the reference" if lib else
            "PyTorch on the system's OpenBLAS only (no OpenMP build found, or RNNC_TORCH_BLAS=pthread)")
