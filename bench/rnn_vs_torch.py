"""Recurrent stack, forward + backward, rnnc vs PyTorch (nn.LSTM / nn.GRU / nn.RNN) in one run.

For each case of issue 3 (character LM sizes: E = 64 inputs, batch 32, sequence 128; LSTM 1024
with batch 64, sequence 64) it times one training pass of the recurrent layers alone (forward,
then backward from a fixed dy, input gradient included, as when an embedding sits below), for
PyTorch with 1 and with 2 threads (its best counts) and for rnnc (build/bench_rnn), interleaved,
and prints medians, tokens/s, the ratio, rnnc's GFLOP/s (6 x weights in matrix products per
token) and that as a fraction of the SGEMM rate on a 2048^3 product measured in the same run.

  /usr/bin/python3 bench/rnn_vs_torch.py [--reps N] [--rounds R] [--only lstm512x2,...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch
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


def rnnc_step(cell, H, L, B, T, reps):
    out = subprocess.run([BENCH, cell, str(H), str(L), str(B), str(T), str(E), str(reps)],
                         check=True, capture_output=True, text=True).stdout
    kv = dict(f.split("=") for f in out.split()[1:])
    return float(kv["step_ms"]) / 1e3, float(kv["gflops"]), int(kv["threads"])


def gemm_rate():
    out = subprocess.run([BENCH, "gemm", "2048", "5"], check=True, capture_output=True, text=True).stdout
    return float(dict(f.split("=") for f in out.split()[1:])["gflops"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians over rounds")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")}
    print("env:", " ".join(f"{k}={v}" for k, v in env.items()), "| torch", torch.__version__)
    sys.stdout.flush()
    cases = [c for c in CASES if not a.only or c[0] in a.only.split(",")]
    gemms = []
    rows = []
    for name, cell, H, L, B, T in cases:
        t1, t2, tr, gf = [], [], [], []
        for _ in range(a.rounds):
            gemms.append(gemm_rate())
            t1.append(torch_step_times(cell, H, L, B, T, a.reps, 1))
            t2.append(torch_step_times(cell, H, L, B, T, a.reps, 2))
            s, g, nth = rnnc_step(cell, H, L, B, T, a.reps)
            tr.append(s)
            gf.append(g)
        tok = B * T
        pt1, pt2, r = statistics.median(t1), statistics.median(t2), statistics.median(tr)
        best = min(pt1, pt2)
        rows.append((name, tok / pt1, tok / pt2, tok / r, best / r, statistics.median(gf)))
        print(f"{name:11s} torch1 {tok / pt1:8.0f} tok/s  torch2 {tok / pt2:8.0f} tok/s  rnnc({nth}t) {tok / r:8.0f} tok/s"
              f"  ratio {best / r:5.2f}x  rnnc {statistics.median(gf):6.1f} GFLOP/s")
        sys.stdout.flush()
    g = statistics.median(gemms)
    print(f"sgemm 2048^3: median {g:.1f} GFLOP/s over {len(gemms)} runs")
    print("| case | PyTorch 1 thread tok/s | PyTorch 2 threads tok/s | rnnc tok/s | ratio vs best PyTorch | rnnc GFLOP/s | % of SGEMM |")
    print("|---|---|---|---|---|---|---|")
    for name, a1, a2, ar, ratio, gfl in rows:
        print(f"| {name} | {a1:.0f} | {a2:.0f} | {ar:.0f} | {ratio:.2f}x | {gfl:.1f} | {100 * gfl / g:.0f}% |")


if __name__ == "__main__":
    main()
