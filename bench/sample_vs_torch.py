"""Sampling throughput at batch 1, rnnc against PyTorch in the same run (issue 4).

The model is a character-level LM (V=96, E=64) with a 2-layer LSTM of H=512 unless flags say
otherwise, randomly initialised (speed does not depend on the weights). Each implementation
generates --tokens tokens one at a time, feeding each drawn token back: embedding, recurrent step,
head, softmax with temperature 1, one multinomial draw. PyTorch runs under torch.no_grad() in a
fresh process per thread count (1 and 2), on 2 threads also with OpenBLAS's OpenMP build preloaded
(bench/torch_blas.py), and its best is the reference; rnnc runs
build/bench_sample with OMP_NUM_THREADS 1 and 2, with float weights and with --half (the step reads
half-precision weights), and the best of each is reported. Medians of --repeats timed runs after
one warm-up.

With --prompt P each repeat first feeds P random ids, timed apart: PyTorch as one call of the
embedding and the recurrent stack over the whole prompt (its fastest way) and the head on the last
position; rnnc through rnnc_generator_feed (bench_sample --prompt). The prompt rates get a ratio
line of their own.

Usage: /usr/bin/python3 bench/sample_vs_torch.py [--tokens N] [--repeats R] [--hidden H] [--layers L]
                                                 [--prompt P]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch_blas

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "bench_sample")
V, E = 96, 64


def torch_worker(cell, H, L, tokens, repeats, threads, prompt=0):
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    emb = nn.Embedding(V, E)
    rnn = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell, nn.RNN)(E, H, L, batch_first=True)
    head = nn.Linear(H, V)
    rates, prates = [], []
    gen = torch.Generator().manual_seed(3)
    pids = torch.randint(0, V, (1, max(prompt, 1)), generator=gen)
    with torch.no_grad():
        for rep in range(repeats + 1):
            x = torch.ones(1, 1, dtype=torch.long)
            state = None
            if prompt > 0:
                t0 = time.perf_counter()
                y, state = rnn(emb(pids), None)
                probs = torch.softmax(head(y[:, -1]) / 1.0, dim=-1)
                x = torch.multinomial(probs, 1)
                if rep > 0:
                    prates.append(prompt / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for _ in range(tokens):
                y, state = rnn(emb(x), state)
                probs = torch.softmax(head(y[:, -1]) / 1.0, dim=-1)
                x = torch.multinomial(probs, 1)
            dt = time.perf_counter() - t0
            if rep > 0:
                rates.append(tokens / dt)
    extra = f" prompt_tok_s={statistics.median(prates):.1f}" if prompt > 0 else ""
    print(f"impl=torch threads={threads} median_tok_s={statistics.median(rates):.1f}{extra}")


def parse(line):
    return dict(kv.split("=", 1) for kv in line.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=0)
    ap.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.prompt < 0:
        ap.error(f"--prompt must be 0 or more, got {a.prompt}")
    if a.worker:
        torch_worker(a.cell, a.hidden, a.layers, a.tokens, a.repeats, a.worker, a.prompt)
        return
    if not os.path.exists(BIN):
        subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "--target", "bench_sample"], check=True)
    torch_best = torch_prompt = 0.0
    pr = ["--prompt", str(a.prompt)] if a.prompt > 0 else []
    for threads, omp in torch_blas.variants():
        out = subprocess.run([sys.executable, __file__, "--worker", str(threads), "--tokens", str(a.tokens),
                              "--repeats", str(a.repeats), "--cell", a.cell, "--hidden", str(a.hidden),
                              "--layers", str(a.layers)] + pr, capture_output=True, text=True, check=True,
                             env=torch_blas.env(threads, omp)).stdout
        r = parse(out.strip().splitlines()[-1])
        extra = f", prompt {float(r['prompt_tok_s']):9.1f} tokens/s" if a.prompt > 0 else ""
        blas = " (OpenMP BLAS)" if omp else ""
        print(f"  pytorch {threads} thread(s){blas}: {float(r['median_tok_s']):9.1f} tokens/s{extra}")
        torch_best = max(torch_best, float(r["median_tok_s"]))
        if a.prompt > 0:
            torch_prompt = max(torch_prompt, float(r["prompt_tok_s"]))
    best, best_prompt = {}, {}
    for half in ("", "--half"):
        name = "rnnc --half" if half else "rnnc"
        for threads in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1")
            cmd = [BIN, "--cell", a.cell, "--vocab", str(V), "--embed", str(E), "--hidden", str(a.hidden),
                   "--layers", str(a.layers), "--tokens", str(a.tokens), "--repeats", str(a.repeats)] + pr
            out = subprocess.run(cmd + ([half] if half else []), capture_output=True, text=True, check=True,
                                 env=env).stdout
            r = parse(out.strip().splitlines()[-1])
            extra = f", prompt {float(r['prompt_tok_s']):9.1f} tokens/s" if a.prompt > 0 else ""
            print(f"  {name:11s} {threads} thread(s): {float(r['median_tok_s']):9.1f} tokens/s{extra}")
            best[name] = max(best.get(name, 0.0), float(r["median_tok_s"]))
            if a.prompt > 0:
                best_prompt[name] = max(best_prompt.get(name, 0.0), float(r["prompt_tok_s"]))
    for name, rate in best.items():
        print(f"sample {a.cell} H={a.hidden} L={a.layers} V={V} E={E} batch 1: {name} {rate:.0f} tokens/s, "
              f"PyTorch {torch_best:.0f} tokens/s, ratio {rate / torch_best:.2f}x "
              f"(goals: >= 5x, issue 4; >= 8x with float weights, issue 17)")
    for name, rate in best_prompt.items():
        print(f"prompt of {a.prompt} tokens, {a.cell} H={a.hidden} L={a.layers} V={V} E={E}: {name} {rate:.0f} tokens/s, "
              f"PyTorch {torch_prompt:.0f} tokens/s (one call over the whole prompt), ratio {rate / torch_prompt:.2f}x")


if __name__ == "__main__":
    main()
