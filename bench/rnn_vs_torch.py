"""Recurrent stack, forward + backward, rnnc vs PyTorch (nn.LSTM / nn.GRU / nn.RNN) in one run.

For each case of issue 3 (character LM sizes: E = 64 inputs, batch 32, sequence 128; LSTM 1024
with batch 64, sequence 64) it times one training pass of the recurrent layers alone (forward,
then backward from a fixed dy, input gradient included, as when an embedding sits below), for
PyTorch and for rnnc (build/bench_rnn), each with 1 and with 2 threads (best of each counts),
interleaved, and prints medians, tokens/s, the ratio, rnnc's GFLOP/s (6 x weights in matrix
products per token) and that as a fraction of the SGEMM rate on a 2048^3 product measured in the
same run (default threads), and peak resident memory of each measuring process.

  /usr/bin/python3 bench/rnn_vs_torch.py [--reps N] [--rounds R] [--only lstm512x2,...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

import torch_blas
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench_rnn")
CASES = [  # name, cell, H, layers, B, T
    ("lstm512x2", "lstm", 512, 2, 32, 128),
    ("gru512x2", "gru", 512, 2, 32, 128),
    ("rnn512x2", "rnn_tanh", 512, 2, 32, 128),
    ("lstm128x1", "lstm", 128, 1, 32, 128),
    ("lstm1024x1", "lstm", 1024, 1, 64, 64),
]
E = 64


def torch_step_times(cell, H, L, B, T, reps, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell, nn.RNN)
    kw = {"nonlinearity": cell[4:]} if cell.startswith("rnn_") else {}
    m = cls(E, H, L, batch_first=True, **kw)
    x = torch.rand(B, T, E, requires_grad=True)
    dy = torch.rand(B, T, H) * 1e-3
    times = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        y, _ = m(x)
        y.backward(dy)
        t = time.perf_counter() - t0
        if r:
            times.append(t)
    return statistics.median(times)


def weights(cell, H, L):
    """Weights in matrix products (W_ih, W_hh of every layer)."""
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    return sum(G * H * ((E if l == 0 else H) + H) for l in range(L))


def torch_worker(argv):
    """Child process: one PyTorch measurement, so its peak memory is its own."""
    cell, H, L, B, T, reps, threads = argv[0], *map(int, argv[1:])
    t = torch_step_times(cell, H, L, B, T, reps, threads)
    with open("/proc/self/status") as f:  # VmHWM: ru_maxrss would include the parent's image
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(t, hwm / 1024.0)


def torch_step(cell, H, L, B, T, reps, threads):
    """PyTorch's step time on `threads` threads: on more than one, the faster of the system's OpenBLAS
    and the OpenMP build preloaded (bench/torch_blas.py)."""
    best = None
    for _, omp in torch_blas.variants((threads,)):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", cell, str(H), str(L),
                              str(B), str(T), str(reps), str(threads)], check=True, capture_output=True, text=True,
                             env=torch_blas.env(threads, omp)).stdout
        t, mb = map(float, out.split())
        if best is None or t < best[0]:
            best = (t, mb)
    return best


def rnnc_step(cell, H, L, B, T, reps, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))  # OpenBLAS (pthreads) follows it too
    out = subprocess.run([BENCH, cell, str(H), str(L), str(B), str(T), str(E), str(reps)],
                         check=True, capture_output=True, text=True, env=env).stdout
    kv = dict(f.split("=") for f in out.split()[1:])
    return float(kv["step_ms"]) / 1e3, float(kv["gflops"]), int(kv["threads"]), float(kv["maxrss_mb"])


def gemm_rate():
    out = subprocess.run([BENCH, "gemm", "2048", "5"], check=True, capture_output=True, text=True).stdout
    return float(dict(f.split("=") for f in out.split()[1:])["gflops"])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        return torch_worker(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians over rounds")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")}
    print("env:", " ".join(f"{k}={v}" for k, v in env.items()), "| torch", torch.__version__, "|",
          torch_blas.describe())
    sys.stdout.flush()
    cases = [c for c in CASES if not a.only or c[0] in a.only.split(",")]
    gemms = []
    rows = []
    for name, cell, H, L, B, T in cases:
        t1, t2, r1, r2, mem_t, mem_r = [], [], [], [], [], []
        for _ in range(a.rounds):
            gemms.append(gemm_rate())
            for threads, acc in ((1, t1), (2, t2)):
                t, mb = torch_step(cell, H, L, B, T, a.reps, threads)
                acc.append(t)
                mem_t.append(mb)
            for threads, acc in ((1, r1), (2, r2)):
                s, _, _, mb = rnnc_step(cell, H, L, B, T, a.reps, threads)
                acc.append(s)
                mem_r.append(mb)
        tok = B * T
        pt1, pt2, q1, q2 = (statistics.median(v) for v in (t1, t2, r1, r2))
        best, r = min(pt1, pt2), min(q1, q2)
        gfl = 6 * weights(cell, H, L) * tok / r / 1e9
        rows.append((name, tok / pt1, tok / pt2, tok / q1, tok / q2, best / r, gfl, max(mem_t), max(mem_r)))
        print(f"{name:11s} torch 1t {tok / pt1:8.0f}  2t {tok / pt2:8.0f} tok/s | rnnc 1t {tok / q1:8.0f}  2t {tok / q2:8.0f}"
              f" tok/s | best/best {best / r:5.2f}x | rnnc {gfl:6.1f} GFLOP/s | peak MB torch {max(mem_t):.0f}"
              f" rnnc {max(mem_r):.0f}")
        sys.stdout.flush()
    g = statistics.median(gemms)
    print(f"sgemm 2048^3: median {g:.1f} GFLOP/s over {len(gemms)} runs")
    print("| case | PyTorch 1t tok/s | PyTorch 2t tok/s | rnnc 1t tok/s | rnnc 2t tok/s | best rnnc / best PyTorch "
          "| rnnc GFLOP/s (best) | % of SGEMM | peak MB PyTorch / rnnc |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, a1, a2, b1, b2, ratio, gfl, mt, mr in rows:
        print(f"| {name} | {a1:.0f} | {a2:.0f} | {b1:.0f} | {b2:.0f} | {ratio:.2f}x | {gfl:.1f} | {100 * gfl / g:.0f}% "
              f"| {mt:.0f} / {mr:.0f} |")


if __name__ == "__main__":
    main()
