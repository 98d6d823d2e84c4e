"""Training throughput of a character-level LM, rnnc against PyTorch in the same run (issue 3).

Each configuration (V=96, E=64) is timed as full training steps: forward, cross-entropy, backward,
clip_grad_norm_(1.0) and Adam. rnnc runs build/bench_train twice: with the environment as the
machine sets it, and with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command alone
(OpenBLAS then picks its AVX-512 kernels). PyTorch runs in a fresh process per thread count (1 and
2), and on 2 threads also with OpenBLAS's OpenMP build preloaded (bench/torch_blas.py: Debian's
default pthread build halved PyTorch's two-thread rate); its best is the reference. Every measurement is a separate process, so peak RSS is per run.

Every configuration is measured over about the same work: --steps N is the count for the
largest step (LSTM 512x2, about 81 GFLOP); a configuration whose step has k times fewer FLOPs gets
k times more steps (LSTM 128x1: 30x), and a tenth of its steps as warm-up (at least one). With
--repeats R every measurement is made R times, interleaved, and the median is reported. The share
of SGEMM is the median training rate over the median SGEMM rate of the same R processes; with R > 1
a second line gives the range of the single processes' shares.

Usage: /usr/bin/python3 bench/train_vs_torch.py [--steps N] [--repeats R] [--only lstm512x2,...]
"""
import argparse
import os
import resource
import subprocess
import sys
import time

import torch_blas

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("BENCH_TRAIN", os.path.join(ROOT, "build", "bench_train"))  # env BENCH_TRAIN: another build
V, E = 96, 64
CONFIGS = [  # name, cell, hidden, layers, batch, seq, bidirectional
    ("lstm512x2", "lstm", 512, 2, 32, 128, False),
    ("gru512x2", "gru", 512, 2, 32, 128, False),
    ("elman512x2", "rnn_tanh", 512, 2, 32, 128, False),
    ("lstm128x1", "lstm", 128, 1, 32, 128, False),
    ("lstm1024x1", "lstm", 1024, 1, 64, 64, False),
    # a bidirectional layer can be no language model: a tagger's step (a label per token from the
    # 2H outputs of both directions), the same embedding, head, loss, clipping and Adam
    ("bilstm512x1", "lstm", 512, 1, 32, 128, True),
]


def step_gflop(cell, H, L, B, T, bidir=False):
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    D = 2 if bidir else 1
    weights = sum(D * G * H * ((E if l == 0 else D * H) + H) for l in range(L)) + D * H * V
    return 6.0 * weights * B * T / 1e9


def plan_steps(cell, H, L, B, T, steps, bidir=False):
    """(timed steps, warm-up steps) giving this configuration the work of `steps` LSTM 512x2 steps."""
    n = max(steps, round(steps * step_gflop("lstm", 512, 2, 32, 128) / step_gflop(cell, H, L, B, T, bidir)))
    return n, max(1, n // 10)


def torch_worker(cell, H, L, B, T, steps, warmup, threads, bidir=False):
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, E)
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell, nn.RNN)(
                E, H, L, batch_first=True, bidirectional=bidir,
                **({"nonlinearity": cell[4:]} if cell.startswith("rnn_") else {}))
            self.head = nn.Linear(2 * H if bidir else H, V)

        def forward(self, x):
            y, _ = self.rnn(self.embedding(x))
            return self.head(y)

    m = LM()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    times = []
    for s in range(warmup + steps):
        x = torch.randint(0, V, (B, T))
        y = torch.randint(0, V, (B, T))
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    step = med(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"tokens_per_s={B * T / step:.1f} median_step_s={step:.4f} peak_rss_mb={rss:.1f}")


def med(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def parse(line):
    return {k: v for k, v in (kv.split("=", 1) for kv in line.split())}


def run_rnnc(cell, H, L, B, T, steps, warmup, unset, one_thread=False, bidir=False):
    env = dict(os.environ)
    if one_thread:
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if unset:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    cmd = [BIN, "--cell", cell, "--vocab", str(V), "--embed", str(E), "--hidden", str(H), "--layers", str(L),
           "--batch", str(B), "--seq", str(T), "--steps", str(steps), "--warmup", str(warmup)] + \
        (["--bidirectional"] if bidir else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return parse(out.strip().splitlines()[-1])


def run_torch(cell, H, L, B, T, steps, warmup, threads, bidir=False, openmp=False):
    cmd = [sys.executable, __file__, "--worker", cell, str(H), str(L), str(B), str(T), str(steps), str(warmup),
           str(threads), "1" if bidir else "0"]
    env = torch_blas.env(threads, openmp)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return parse(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--worker", nargs=9)
    a = ap.parse_args()
    for flag, v in (("--steps", a.steps), ("--repeats", a.repeats)):
        if not a.worker and v < 1:
            sys.exit(f"train_vs_torch.py: {flag} {v}: must be at least 1")
    if a.worker:
        cell, H, L, B, T, steps, warmup, threads, bidir = a.worker
        torch_worker(cell, int(H), int(L), int(B), int(T), int(steps), int(warmup), int(threads), bidir == "1")
        return
    if not os.path.exists(BIN):
        subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "--target", "bench_train", "-j2"], check=True)
    only = set(filter(None, a.only.split(",")))
    names = [c[0] for c in CONFIGS]
    unknown = sorted(only - set(names))
    if unknown:
        sys.exit(f"train_vs_torch.py: --only: no configuration named {', '.join(unknown)} "
                 f"(there are: {', '.join(names)})")
    print(f"load average {os.getloadavg()[0]:.1f} at start; V={V} E={E}, the work of {a.steps} LSTM 512x2 steps per "
          f"measurement (steps column), median step; median of {a.repeats} interleaved repeat(s); tokens/s; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}; {torch_blas.describe()}")
    omp = torch_blas.openmp_libblas() is not None
    hdr = (f"{'config':<11} {'B':>3} {'T':>4} {'steps':>5} {'torch1':>8} {'torch2':>8} {'torch2o':>8} {'rnnc':>8} {'ratio':>6} {'%sgemm':>6} "
           f"{'rnnc*':>8} {'ratio*':>6} {'%sgemm*':>7} {'rnnc1t':>7} {'2t/1t':>6} {'GF/s':>6} {'GF/s*':>6} {'MB':>6} {'torchMB':>7}")
    print(hdr)
    for name, cell, H, L, B, T, bidir in CONFIGS:
        if only and name not in only:
            continue
        steps, warmup = plan_steps(cell, H, L, B, T, a.steps, bidir)
        runs = {k: [] for k in ("t1", "t2", "t2o", "r", "u", "o")}
        for _ in range(a.repeats):
            runs["t1"].append(run_torch(cell, H, L, B, T, steps, warmup, 1, bidir))
            runs["t2"].append(run_torch(cell, H, L, B, T, steps, warmup, 2, bidir))
            if omp:
                runs["t2o"].append(run_torch(cell, H, L, B, T, steps, warmup, 2, bidir, openmp=True))
            runs["r"].append(run_rnnc(cell, H, L, B, T, steps, warmup, False, bidir=bidir))
            runs["u"].append(run_rnnc(cell, H, L, B, T, steps, warmup, True, bidir=bidir))
            runs["o"].append(run_rnnc(cell, H, L, B, T, steps, warmup, False, True, bidir=bidir))
        # the run with the median tokens/s stands for each measurement (its other fields come with it)
        if not omp:
            runs["t2o"] = [{"tokens_per_s": "0", "peak_rss_mb": "0"}] * a.repeats
        t1, t2, t2o, r, u, o = (sorted(runs[k], key=lambda d: float(d["tokens_per_s"]))[(a.repeats - 1) // 2]
                                for k in ("t1", "t2", "t2o", "r", "u", "o"))
        # The share of SGEMM is the median training rate over the median SGEMM rate of the same
        # processes: each process's own 2048^3 reference moved by up to 15% between runs on this
        # shared host, more than rnnc's rate did, so a single process's quotient swung with it.
        sgemm = {k: med([float(d["sgemm_gflops"]) for d in runs[k]]) for k in ("r", "u")}
        share = {k: 100.0 * med([float(d["gflops"]) for d in runs[k]]) / sgemm[k] for k in ("r", "u")}
        spread = {k: sorted(float(d["pct_sgemm"]) for d in runs[k]) for k in ("r", "u")}
        tbest = max((t1, t2, t2o), key=lambda d: float(d["tokens_per_s"]))
        best, tmb = float(tbest["tokens_per_s"]), tbest["peak_rss_mb"]
        print(f"{name:<11} {B:>3} {T:>4} {steps:>5} {float(t1['tokens_per_s']):>8.0f} {float(t2['tokens_per_s']):>8.0f} "
              f"{float(t2o['tokens_per_s']):>8.0f} "
              f"{float(r['tokens_per_s']):>8.0f} {float(r['tokens_per_s']) / best:>6.2f} {share['r']:>6.1f} "
              f"{float(u['tokens_per_s']):>8.0f} {float(u['tokens_per_s']) / best:>6.2f} {share['u']:>7.1f} "
              f"{float(o['tokens_per_s']):>7.0f} {float(r['tokens_per_s']) / float(o['tokens_per_s']):>6.2f} "
              f"{sgemm['r']:>6.0f} {sgemm['u']:>6.0f} "
              f"{float(r['peak_rss_mb']):>6.0f} {float(tmb):>7.0f}", flush=True)
        if a.repeats > 1:
            print(f"{'':<11} per process: %sgemm {spread['r'][0]:.1f}-{spread['r'][-1]:.1f}, "
                  f"%sgemm* {spread['u'][0]:.1f}-{spread['u'][-1]:.1f}", flush=True)
    print("torch2o = PyTorch on 2 threads with OpenBLAS's OpenMP build preloaded (bench/torch_blas.py; 0: not "
          "installed); ratio = rnnc / best of torch1, torch2 and torch2o; * = OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for rnnc; "
          "%sgemm = 6 x matrix weights x tokens/s over the 2048^3 SGEMM rate (GF/s) measured in the same processes, "
          "medians of both over the repeats; MB = peak RSS; "
          "rnnc1t = rnnc with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1; 2t/1t = rnnc / rnnc1t")


if __name__ == "__main__":
    main()
