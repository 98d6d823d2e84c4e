"""seq2seq speed, rnnc against PyTorch in the same run (issue 17, part 2): training of the G2P
configuration and beam search on the G2P test set.

Training: configuration F of docs/RESULTS.md (LSTM 2x256 encoder and decoder, embeddings 64,
batch 64, dropout 0.3 between layers and on the decoder's outputs, label smoothing 0.1, reversed
sources, Adam 3e-3, gradient clipping at 5) on data/cmudict/train.tsv. build/bench_s2s (rnnc's
library) writes the initial model and the batches of its first steps (the order `rnnc seq2seq
train --seed 1` takes); PyTorch 1.13 loads that model and replays exactly those batches. The
PyTorch model is the usual one: nn.Embedding, nn.LSTM over a packed source (reversed per row), the
decoder nn.LSTM from the encoder's final states, dropout on its outputs, nn.Linear on the real
(unpadded) target steps only, F.cross_entropy with label_smoothing; clip_grad_norm_, Adam. Both
first compute the first batch's loss without dropout from the same weights, which must agree.
tokens/s counts the source and target symbols of the real steps (<eos> included), steps/s the
batches. Each side runs with 1 and 2 threads, each measurement a fresh process; the best of each
side is compared. OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set to the thread count for both
(torch.set_num_threads alone leaves Debian's OpenBLAS, under PyTorch's matrix products, on every
core). PyTorch on 2 threads runs once more with OpenBLAS's OpenMP build preloaded (bench/torch_blas.py:
Debian's default pthread build spins beside PyTorch's OpenMP threads, and halved its two-thread
rate); the best of its runs is the reference, and the ratio against the system's build alone is
printed beside it.

Beam search: width 5, alpha 1 (score = log-probability / (length + 1)), at most 2 * source length
+ 10 steps, on every word of data/cmudict/test.tsv, with the model the rnnc training run ended with
(or --model, e.g. a 30-minute G2P model). rnnc: `rnnc seq2seq eval --beam 5`'s search in-process
(bench_s2s beam). PyTorch: a batched beam search of the same rules (the sources sorted by length in
batches of --beam-batch, all B x K hypotheses stepped together), under no_grad. words/s = test
words / seconds; the outputs of the two are compared word by word.

Usage: /usr/bin/python3 bench/seq2seq_vs_torch.py [--steps 200] [--warmup 20] [--repeats 1]
                                                   [--model M] [--beam-batch 256] [--no-beam]
                                                   [--no-train] [--unset-coretype] [--bin B]
"""
import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import time

import torch_blas

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PAD, BOS, EOS, UNK = 0, 1, 2, 3


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    out = {}
    for k, v in h.items():
        assert v["dtype"] == "F32", (k, v["dtype"])
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(v["shape"]).copy()
    return out, meta


def read_batches(path):
    import numpy as np
    b = open(path, "rb").read()
    off, out = 0, []
    while off < len(b):
        B, Ts, Tt = struct.unpack_from("<3i", b, off)
        off += 12

        def take(n, dt):
            nonlocal off
            a = np.frombuffer(b, dtype=dt, count=n, offset=off)
            off += 4 * n
            return a
        src = take(B * Ts, "<u4").reshape(B, Ts)
        slen = take(B, "<i4")
        tin = take(B * Tt, "<u4").reshape(B, Tt)
        tout = take(B * Tt, "<u4").reshape(B, Tt)
        tlen = take(B, "<i4")
        out.append((src, slen, tin, tout, tlen))
    return out


def make_model(cfg):
    import torch.nn as nn

    class S2S(nn.Module):
        def __init__(self):
            super().__init__()
            E, H, L = cfg["embed"], cfg["hidden"], cfg["layers"]
            self.src_embedding = nn.Embedding(cfg["src_vocab"], E)
            self.encoder = nn.LSTM(E, H, L, batch_first=True, dropout=cfg["dropout"])
            self.tgt_embedding = nn.Embedding(cfg["tgt_vocab"], E)
            self.decoder = nn.LSTM(E, H, L, batch_first=True, dropout=cfg["dropout"])
            self.out_drop = nn.Dropout(cfg["output_dropout"])
            self.head = nn.Linear(H, cfg["tgt_vocab"])

        def encode(self, src, slen):
            from torch.nn.utils.rnn import pack_padded_sequence
            packed = pack_padded_sequence(self.src_embedding(src), slen, batch_first=True, enforce_sorted=False)
            _, state = self.encoder(packed)
            return state

    return S2S()


def load_model(path):
    import torch
    w, meta = read_safetensors(path)
    cfg = json.loads(meta["rnnc.seq2seq"])
    assert cfg["cell"] == "lstm" and not cfg["bidirectional"], cfg
    m = make_model(cfg)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    return m, cfg, meta


def reversed_sources(src, slen):
    """rnnc's reverse_source: each row's first slen symbols in reverse order, padding after."""
    import numpy as np
    out = src.copy()
    for r, n in enumerate(slen):
        out[r, :n] = src[r, :n][::-1]
    return out


def torch_train(threads, model_path, batches_path, warmup, steps):
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    m, cfg, _ = load_model(model_path)
    batches = []
    for src, slen, tin, tout, tlen in read_batches(batches_path)[:warmup + steps]:
        if cfg["reverse_source"]:
            src = reversed_sources(src, slen)
        mask = np.arange(tin.shape[1])[None, :] < tlen[:, None]
        batches.append((torch.from_numpy(src.astype(np.int64)), torch.from_numpy(slen.astype(np.int64)),
                        torch.from_numpy(tin.astype(np.int64)), torch.from_numpy(tout.astype(np.int64)[mask]),
                        torch.from_numpy(mask), int(slen.sum() + tlen.sum())))

    def loss_of(b, smoothing):
        src, slen, tin, tgt, mask, _ = b
        y, _ = m.decoder(m.tgt_embedding(tin), m.encode(src, slen))
        logits = m.head(m.out_drop(y[mask]))
        return F.cross_entropy(logits, tgt, label_smoothing=smoothing)

    m.eval()
    with torch.no_grad():
        first = float(loss_of(batches[0], 0.0))
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    times, toks, cpu = [], 0, 0.0
    for k, b in enumerate(batches):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = loss_of(b, 0.1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        t1 = time.perf_counter()
        if k >= warmup:
            times.append(t1 - t0)
            cpu += time.process_time() - c0
            toks += b[5]
    print(json.dumps({"steps": len(times), "seconds": sum(times), "cpu_s": cpu, "first_batch_loss": first,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def test_items(meta, path):
    """The test file's items as rnnc reads them (lines with the same source are one item), sources
    encoded with the model's source symbols (ids from 4; unknown -> <unk>)."""
    sym = {s: i + 4 for i, s in enumerate(meta["rnnc.src_vocab"].split("\n")) if s}
    items, seen = [], set()
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n").rstrip("\r")
        if not line or "\t" not in line:
            continue
        s = line.split("\t")[0]
        if s in seen:
            continue
        seen.add(s)
        items.append([sym.get(t, UNK) for t in s.split()])
    return items


def torch_beam(threads, model_path, test_path, K, batch, out_path):
    import torch
    torch.set_num_threads(threads)
    m, cfg, meta = load_model(model_path)
    m.eval()
    items = test_items(meta, test_path)
    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    best = [None] * len(items)
    # the work of the search, in the products an implementation that shares a parent's hidden-side
    # projection among the rows continuing it makes (as rnnc's does): decoder rows (live
    # hypotheses of unfinished sources), their distinct parent states, real source symbols
    rows = states = symbols = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for i0 in range(0, len(order), batch):
            idx = order[i0:i0 + batch]
            Bs = len(idx)
            lens = torch.tensor([len(items[i]) for i in idx])
            Ts = int(lens.max())
            src = torch.zeros(Bs, Ts, dtype=torch.long)
            for r, i in enumerate(idx):
                s = items[i][::-1] if cfg["reverse_source"] else items[i]
                src[r, :len(s)] = torch.tensor(s)
            symbols += int(lens.sum())
            h, c = m.encode(src, lens)
            h = h.repeat_interleave(K, dim=1)
            c = c.repeat_interleave(K, dim=1)
            maxlen = 2 * lens + 10
            Tmax = int(maxlen.max())
            lp = torch.full((Bs, K), float("-inf"), dtype=torch.float64)
            lp[:, 0] = 0
            toks = torch.zeros(Bs, K, Tmax, dtype=torch.long)
            prev = torch.full((Bs * K,), BOS, dtype=torch.long)
            fin = [[] for _ in range(Bs)]
            done = torch.zeros(Bs, dtype=torch.bool)
            base = torch.arange(Bs)[:, None] * K
            par = torch.zeros(Bs, K, dtype=torch.long)  # each hypothesis's parent in the last step
            for t in range(Tmax):
                live = (lp > float("-inf")) & ~done[:, None]
                rows += int(live.sum())
                states += int(torch.unique((base + par)[live]).numel())
                y, (h, c) = m.decoder(m.tgt_embedding(prev)[:, None, :], (h, c))
                logp = torch.log_softmax(m.head(y[:, 0]).double(), dim=1)
                logp[:, PAD] = float("-inf")
                logp[:, BOS] = float("-inf")
                tv, ti = logp.topk(K, dim=1)                         # (Bs*K, K)
                cand = (lp.view(-1, 1) + tv).view(Bs, K * K)
                cand[done] = float("-inf")
                cv, co = cand.sort(dim=1, descending=True, stable=True)
                ctok = ti.view(Bs, K * K).gather(1, co)
                crow = co // K
                valid = cv > float("-inf")
                eos = (ctok == EOS) & valid
                cont = (~eos) & valid
                rank = cont.long().cumsum(1) - cont.long()          # continuations before each candidate
                take = cont & (rank < K)
                fin_now = eos & (rank < K)
                for s, j in fin_now.nonzero().tolist():
                    if len(fin[s]) < 2 * K + 1:
                        fin[s].append((float(cv[s, j]) / (t + 1), toks[s, int(crow[s, j]), :t].tolist()))
                new_lp = torch.full((Bs, K), float("-inf"), dtype=torch.float64)
                new_row = torch.zeros(Bs, K, dtype=torch.long)
                new_tok = torch.full((Bs, K), EOS, dtype=torch.long)
                ss, jj = take.nonzero(as_tuple=True)
                slot = rank[ss, jj]
                new_lp[ss, slot] = cv[ss, jj]
                new_row[ss, slot] = crow[ss, jj]
                new_tok[ss, slot] = ctok[ss, jj]
                par = new_row
                sel = (base + new_row).view(-1)
                h, c = h[:, sel], c[:, sel]
                toks = toks.gather(1, new_row[:, :, None].expand(Bs, K, Tmax)).clone()
                toks[:, :, t] = new_tok
                lp = new_lp
                prev = new_tok.view(-1)
                alive = lp > float("-inf")
                for s in ((maxlen == t + 1) & ~done).nonzero().flatten().tolist():
                    for r in alive[s].nonzero().flatten().tolist():
                        fin[s].append((float(lp[s, r]) / (t + 2), toks[s, r, :t + 1].tolist()))
                nfin = torch.tensor([len(f) for f in fin])
                done |= (nfin >= K) | (alive.sum(1) == 0) | (maxlen <= t + 1)
                if bool(done.all()):
                    break
            for r, i in enumerate(idx):
                best[i] = max(fin[r], key=lambda f: f[0])[1] if fin[r] else []
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    with open(out_path, "w") as f:
        for b in best:
            f.write(" ".join(map(str, b)) + "\n")
    print(json.dumps({"items": len(items), "seconds": seconds, "cpu_s": cpu, "rows": rows, "states": states,
                      "symbols": symbols, "H": cfg["hidden"], "E": cfg["embed"], "L": cfg["layers"],
                      "V": cfg["tgt_vocab"]}))


def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if r.returncode:
        sys.exit(f"seq2seq_vs_torch: {' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout


def kv(line):
    return {a: b for a, b in (t.split("=", 1) for t in line.split()[1:])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--model", help="model for beam search (default: the one rnnc's training run ends with)")
    ap.add_argument("--beam-batch", type=int, default=256)
    ap.add_argument("--no-beam", action="store_true")
    ap.add_argument("--no-train", action="store_true", help="beam search only (needs --model)")
    ap.add_argument("--unset-coretype", action="store_true",
                    help="run both sides with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (OpenBLAS's AVX-512 kernels)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench_s2s"))
    ap.add_argument("--out", default="/tmp/rnnc-s2s-bench")
    ap.add_argument("--torch-train", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--torch-beam", nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args()
    for flag, v, lo in (("--steps", a.steps, 1), ("--warmup", a.warmup, 0), ("--repeats", a.repeats, 1),
                        ("--beam-batch", a.beam_batch, 1)):
        if not (a.torch_train or a.torch_beam) and v < lo:
            sys.exit(f"seq2seq_vs_torch: {flag} {v}: must be at least {lo}")
    if a.torch_train:
        t, mp, bp, w, s = a.torch_train
        return torch_train(int(t), mp, bp, int(w), int(s))
    if a.torch_beam:
        t, mp, tp, K, bs, op = a.torch_beam
        return torch_beam(int(t), mp, tp, int(K), int(bs), op)

    data = os.environ.get("RNNC_DATA", os.path.join(ROOT, "data"))
    train, test = os.path.join(data, "cmudict", "train.tsv"), os.path.join(data, "cmudict", "test.tsv")
    if not os.path.exists(train):
        sys.exit(f"seq2seq_vs_torch: {train} missing; run scripts/fetch-data.sh")
    if a.bin == os.path.join(ROOT, "build", "bench_s2s"):
        subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "--target", "bench_s2s", "-j2"], check=True,
                       stdout=subprocess.DEVNULL)
    if a.unset_coretype:
        os.environ.pop("OPENBLAS_CORETYPE", None)
        os.environ.pop("OPENBLAS_L2_SIZE", None)
    os.makedirs(a.out, exist_ok=True)
    prefix = os.path.join(a.out, "g2p")
    me = [sys.executable, os.path.abspath(__file__)]
    with open("/proc/loadavg") as f:
        load0 = " ".join(f.read().split()[:3])
    print(f"seq2seq_vs_torch: G2P configuration F, {a.warmup} warm-up + {a.steps} timed steps, "
          f"{a.repeats} repeat(s); load average at start {load0}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}", flush=True)

    res = {}
    first = {}
    if a.no_train and not a.model:
        sys.exit("seq2seq_vs_torch: --no-train needs --model")
    for rep in range(0 if a.no_train else a.repeats):
        for threads in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
            out = run([a.bin, "train", train, str(a.warmup), str(a.steps), prefix], env)
            lines = out.strip().split("\n")
            first["rnnc"] = float(kv(lines[0])["first_batch_loss"])
            r = kv(lines[1])
            res.setdefault(("rnnc", threads), []).append(
                (float(r["steps_per_s"]), float(r["tokens_per_s"]), float(r["cpu_s"]) / float(r["steps"])))
            pad = float(r["pad_share"])
            tok_per_step = float(r["tokens_per_s"]) / float(r["steps_per_s"])
            said = []
            for _, omp in torch_blas.variants((threads,)):
                o = json.loads(run(me + ["--torch-train", str(threads), prefix + ".init.safetensors",
                                         prefix + ".batches", str(a.warmup), str(a.steps)],
                                   torch_blas.env(threads, omp)))
                first["torch"] = o["first_batch_loss"]
                sps = o["steps"] / o["seconds"]
                res.setdefault(("torch omp" if omp else "torch", threads), []).append(
                    (sps, sps * tok_per_step, o["cpu_s"] / o["steps"]))
                said.append(f"PyTorch{' (OpenMP BLAS)' if omp else ''} {sps:.2f} steps/s")
            print(f"  round {rep + 1}, {threads} thread(s): rnnc {res[('rnnc', threads)][-1][0]:.2f} steps/s, "
                  + ", ".join(said), flush=True)

    def med(v):
        v = sorted(v)
        return v[len(v) // 2]
    if a.no_train:
        res = None
    if res:
        report_training(res, first, tok_per_step, pad, med)
    if a.no_beam:
        return
    beam_part(a, prefix, test, me)


def report_training(res, first, tok_per_step, pad, med):
    print(f"\nfirst batch, no dropout, same weights: rnnc loss {first['rnnc']:.6f}, PyTorch {first['torch']:.6f} "
          f"(difference {abs(first['rnnc'] - first['torch']):.2e})")
    print(f"batches: 64 pairs, {tok_per_step:.0f} source + target symbols a step on average, {100 * pad:.1f}% of "
          f"the padded cells empty\n")
    print(f"{'training':<22}{'1 thread':>14}{'2 threads':>14}{'best':>14}")
    best = {}
    for side in ("torch", "torch omp", "rnnc"):
        if (side, 2) not in res:
            continue
        vals = [med([x[1] for x in res[(side, t)]]) if (side, t) in res else 0.0 for t in (1, 2)]
        best[side] = max(vals)
        sps = [med([x[0] for x in res[(side, t)]]) if (side, t) in res else 0.0 for t in (1, 2)]
        name = {"torch": "PyTorch 1.13", "torch omp": "  OpenMP BLAS", "rnnc": "rnnc"}[side]
        one = (lambda v, f: f"{'-':>14}" if v == 0 else f"{v:>14{f}}")
        print(f"{name + ' tokens/s':<22}{one(vals[0], '.0f')}{vals[1]:>14.0f}{best[side]:>14.0f}")
        print(f"{name + ' steps/s':<22}{one(sps[0], '.2f')}{sps[1]:>14.2f}{max(sps):>14.2f}")
    tbest = max(best["torch"], best.get("torch omp", 0.0))
    print(f"seq2seq training, G2P configuration: rnnc {best['rnnc']:.0f} tokens/s, PyTorch {tbest:.0f} "
          f"tokens/s (best of 1-2 threads and both OpenBLAS builds), ratio {best['rnnc'] / tbest:.2f}x "
          f"(goal >= 4x); against PyTorch on the system's OpenBLAS alone {best['rnnc'] / best['torch']:.2f}x")
    cr, ct = med([x[2] for x in res[("rnnc", 1)]]), med([x[2] for x in res[("torch", 1)]])
    print(f"one thread by CPU time (leaves out waiting for a core): rnnc {1000 * cr:.1f} ms a step, PyTorch "
          f"{1000 * ct:.1f} ms, ratio {ct / cr:.2f}x")


def beam_part(a, prefix, test, me):
    model = a.model or prefix + ".trained.safetensors"
    print(f"\nbeam search K=5, alpha 1, {os.path.basename(test)}, model {model}")
    bres = {}
    for threads in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        r = kv(run([a.bin, "beam", model, test, "5", prefix + f".rnnc{threads}.out"], env).strip())
        bres[("rnnc", threads)] = float(r["words_per_s"])
        bres[("rnnc cpu", threads)] = float(r["cpu_s"])
        per, wer, items = r["per"], r["wer"], int(r["items"])
        said = []
        for _, omp in torch_blas.variants((threads,)):
            o = json.loads(run(me + ["--torch-beam", str(threads), model, test, "5", str(a.beam_batch),
                                     prefix + f".torch{threads}{'omp' if omp else ''}.out"],
                               torch_blas.env(threads, omp)))
            bres[("torch omp" if omp else "torch", threads)] = o["items"] / o["seconds"]
            work = o
            if not omp:
                bres[("torch cpu", threads)] = o["cpu_s"]
            said.append(f"PyTorch{' (OpenMP BLAS)' if omp else ''} {o['items'] / o['seconds']:.0f} words/s")
        print(f"  {threads} thread(s): rnnc {bres[('rnnc', threads)]:.0f} words/s, " + ", ".join(said), flush=True)
    a1 = open(prefix + ".rnnc1.out").read().split("\n")
    t1 = open(prefix + ".torch1.out").read().split("\n")
    same = sum(x == y for x, y in zip(a1, t1) if x or y) if len(a1) == len(t1) else 0
    rb = max(bres[("rnnc", 1)], bres[("rnnc", 2)])
    tsys = max(bres[("torch", 1)], bres[("torch", 2)])
    tb = max(tsys, bres.get(("torch omp", 2), 0.0))
    print(f"outputs: {same} of {items} words the same in rnnc and PyTorch; rnnc test PER {per}%, WER {wer}%")
    print(f"beam search K=5: rnnc {rb:.0f} words/s, PyTorch batched {tb:.0f} words/s (best of 1-2 threads and "
          f"both OpenBLAS builds), ratio {rb / tb:.2f}x (goal >= 5x); against PyTorch on the system's OpenBLAS "
          f"alone {rb / tsys:.2f}x")
    print(f"one thread by CPU time: rnnc {bres[('rnnc cpu', 1)]:.2f} s, PyTorch {bres[('torch cpu', 1)]:.2f} s, "
          f"ratio {bres[('torch cpu', 1)] / bres[('rnnc cpu', 1)]:.2f}x")
    # the products the search needs (an LSTM decoder whose layer-0 input projection is a table
    # lookup): per row layer 1..L-1's input side and the head, per parent state every layer's
    # hidden side; the encoder per source symbol the same minus layer 0's input side
    H, L, V, G = work["H"], work["L"], work["V"], 4
    mm = 2.0 * H * G * H
    flop = work["rows"] * ((L - 1) * mm + 2.0 * H * V) + work["states"] * L * mm + work["symbols"] * (2 * L - 1) * mm
    print(f"search work: {work['rows']} decoder rows, {work['states']} parent states "
          f"({work['rows'] / max(work['states'], 1):.2f} rows a state), {work['symbols']} source symbols: "
          f"{flop / 1e9:.0f} GFLOP of products; rnnc {flop / 1e9 * rb / items:.0f} GFLOP/s at its best")
    with open("/proc/loadavg") as f:
        print("load average at end " + " ".join(f.read().split()[:3]))


if __name__ == "__main__":
    main()
