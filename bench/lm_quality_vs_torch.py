"""Same model, same data, same wall-clock budget: rnnc against PyTorch (issue 4's quality benchmark).

A character-level LSTM language model (2 layers, H=512, E=64, batch 32, sequence 128, Adam 2e-3,
clipping 5, 100 warm-up steps then a constant rate) is trained on the State of the Union corpus
with the last 5% held out, once by `rnnc train` and once by PyTorch (its best thread count,
measured first), each for BUDGET seconds on this machine, one after the other. Both write
metrics.jsonl in rnnc's format, the final held-out bits per byte of each best model are measured
on the whole held-out text, and `rnnc plot` draws both curves into one SVG.

Usage: /usr/bin/python3 bench/lm_quality_vs_torch.py [BUDGET_SECONDS=1200] [OUT_DIR=/tmp/rnnc-quality] [--parallel]

--parallel runs the two at the same time, each pinned to one of the two cores with one thread
(PyTorch 1.13's best thread count for this model here; rnnc's too on a busy machine), so both see
the same machine conditions over the same minutes; without it they run one after the other.
"""
import json
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNNC = os.path.join(ROOT, "build", "rnnc")
DATA = os.environ.get("RNNC_DATA", os.path.join(ROOT, "data"))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
PARALLEL = "--parallel" in sys.argv
WORKER = "--worker" in sys.argv
BUDGET = float(ARGS[0]) if len(ARGS) > 0 else 1200.0
OUT = ARGS[1] if len(ARGS) > 1 else "/tmp/rnnc-quality"
V_E, H, LAYERS, B, T, LR, CLIP, WARMUP = 64, 512, 2, 32, 128, 2e-3, 5.0, 100
EVAL_EVERY = 50  # steps between validations, the same for both
EVAL_TOKENS = 65536


def split_point(text, fraction=0.05):
    """The held-out cut rnnc uses: the first line break within 4096 bytes after the 95% point."""
    p = int(len(text) * (1 - fraction))
    q = text.find(b"\n", p, p + 4096)
    if q >= 0:
        return q + 1
    while p < len(text) and (text[p] & 0xC0) == 0x80:
        p += 1
    return p


class LM(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.embedding = nn.Embedding(V, V_E)
        self.rnn = nn.LSTM(V_E, H, LAYERS, batch_first=True)
        self.head = nn.Linear(H, V)

    def forward(self, x, state=None):
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def streams(ids, b):
    n = len(ids) // b
    return ids[: n * b].view(b, n), n


def torch_threads():
    """PyTorch's best thread count for this model (1 or 2), by a short timing of full steps."""
    best, best_rate = 1, 0.0
    for th in (1, 2):
        torch.set_num_threads(th)
        m = LM(100)
        opt = torch.optim.Adam(m.parameters(), lr=LR)
        x = torch.randint(0, 100, (B, T))
        for i in range(4):
            if i == 1:
                t0 = time.perf_counter()
            opt.zero_grad()
            logits, _ = m(x)
            loss = nn.functional.cross_entropy(logits.reshape(-1, 100), x.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), CLIP)
            opt.step()
        rate = 3 * B * T / (time.perf_counter() - t0)
        if rate > best_rate:
            best, best_rate = th, rate
    return best, best_rate


def run_torch(train_text, val_text, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    chars = sorted(set(train_text.decode("utf-8", "replace")))
    stoi = {c: i + 1 for i, c in enumerate(chars)}  # 0: unknown
    enc = lambda t: torch.tensor([stoi.get(c, 0) for c in t.decode("utf-8", "replace")], dtype=torch.long)
    tr, va = enc(train_text), enc(val_text)
    V = len(chars) + 1
    if PARALLEL or WORKER:
        threads, rate = 1, 0.0
    else:
        threads, rate = torch_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(1337)
    m = LM(V)
    opt = torch.optim.Adam(m.parameters(), lr=LR)
    trs, n = streams(tr, B)
    vas, vn = streams(va, B)

    def evaluate(max_tokens):
        m.eval()
        total, count, state = 0.0, 0, None
        with torch.no_grad():
            for k in range(0, vn - 1 - T + 1, T):
                x, y = vas[:, k:k + T], vas[:, k + 1:k + T + 1]
                logits, state = m(x, state)
                total += nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum").item()
                count += y.numel()
                if max_tokens and count >= max_tokens:
                    break
        m.train()
        return total / count, count

    log = open(os.path.join(out_dir, "metrics.jsonl"), "w")
    step, k, state, t0, best = 0, 0, None, time.perf_counter(), float("inf")
    loss_sum, loss_n = 0.0, 0
    val_bytes_per_token = len(val_text) / len(va)
    while time.perf_counter() - t0 < BUDGET:
        if k + T + 1 > n:
            k, state = 0, None
        x, y = trs[:, k:k + T], trs[:, k + 1:k + T + 1]
        for g in opt.param_groups:
            g["lr"] = LR * min(1.0, (step + 1) / WARMUP)
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = m(x, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), CLIP)
        opt.step()
        step, k = step + 1, k + T
        loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        el = time.perf_counter() - t0
        if step % 10 == 0:
            log.write(json.dumps({"step": step, "tokens": step * B * T, "train_loss": loss_sum / loss_n, "elapsed": el}) + "\n")
            loss_sum, loss_n = 0.0, 0
        if step % EVAL_EVERY == 0 or time.perf_counter() - t0 >= BUDGET:
            vl, _ = evaluate(EVAL_TOKENS)
            log.write(json.dumps({"step": step, "tokens": step * B * T, "val_loss": vl,
                                  "val_bpb": vl / math.log(2) / val_bytes_per_token, "elapsed": el}) + "\n")
            log.flush()
            if vl < best:
                best = vl
                torch.save(m.state_dict(), os.path.join(out_dir, "best.pt"))
    def evaluate_text():
        """Every target of the validation text, as `rnnc eval --data` scores it (rnnc_lm_text_loss):
        the n - 1 targets cut into B streams whose lengths differ by at most one, windows of T with
        the state carried, the rest of a row whose stream has ended not scored."""
        m.eval()
        N = len(va) - 1
        b = min(B, N)
        per, extra = divmod(N, b)
        lens = [per + (r < extra) for r in range(b)]
        starts = [sum(lens[:r]) for r in range(b)]
        total, state = 0.0, None
        with torch.no_grad():
            for k in range(0, max(lens), T):
                x = torch.zeros(b, T, dtype=torch.long)
                y = torch.full((b, T), -100, dtype=torch.long)
                for r in range(b):
                    n = max(0, min(T, lens[r] - k))
                    x[r, :n] = va[starts[r] + k:starts[r] + k + n]
                    y[r, :n] = va[starts[r] + k + 1:starts[r] + k + n + 1]
                logits, state = m(x, state)
                total += nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), ignore_index=-100,
                                                     reduction="sum").item()
        return total / N, N

    log.close()
    m.load_state_dict(torch.load(os.path.join(out_dir, "best.pt")))
    vl, count = evaluate_text()
    bpb = vl / math.log(2) / val_bytes_per_token
    return {"threads": threads, "steps": step, "tokens_per_s": step * B * T / BUDGET, "val_loss": vl, "val_bpb": bpb,
            "probe_rate": rate}


def run_rnnc(train_path, val_path, out_dir, pin=None):
    subprocess.run(["rm", "-rf", out_dir], check=True)
    steps_per_eval = EVAL_EVERY
    cmd = [RNNC, "train", "--data", train_path, "--valid", val_path, "--tokenizer", "char", "--cell", "lstm",
           "--layers", str(LAYERS), "--hidden", str(H), "--embed", str(V_E), "--batch", str(B), "--seq", str(T),
           "--optimizer", "adam", "--lr", str(LR), "--schedule", "constant", "--clip", str(CLIP), "--warmup", str(WARMUP),
           "--time", str(BUDGET), "--eval-every", str(steps_per_eval), "--eval-tokens", str(EVAL_TOKENS),
           "--checkpoint-every", "1000000", "-o", out_dir]
    env = dict(os.environ, RNNC_NO_PROGRESS="1")
    if pin is not None:
        cmd = ["taskset", "-c", str(pin)] + cmd
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)
    out = subprocess.run(([] if pin is None else ["taskset", "-c", str(pin)]) + [RNNC, "eval", "--model", os.path.join(out_dir, "best.safetensors"), "--data", val_path,
                          "--batch", str(B), "--seq", str(T)], check=True, capture_output=True, text=True, env=env).stdout
    vals = dict(f for f in (line.split() for line in out.strip().splitlines()) if len(f) == 2)  # "key value" lines
    rows = [json.loads(l) for l in open(os.path.join(out_dir, "metrics.jsonl")) if l.strip()]
    steps = max(r.get("step", 0) for r in rows)
    return {"steps": steps, "tokens_per_s": steps * B * T / BUDGET, "val_loss": float(vals["loss"]),
            "val_bpb": float(vals["bpb"])}


def main():
    os.makedirs(OUT, exist_ok=True)
    text = open(os.path.join(DATA, "sotu.txt"), "rb").read()
    cut = split_point(text)
    if WORKER:  # the PyTorch side of --parallel, in its own pinned process
        t = run_torch(text[:cut], text[cut:], os.path.join(OUT, "torch"))
        print(json.dumps(t), flush=True)
        return
    train_path, val_path = os.path.join(OUT, "train.txt"), os.path.join(OUT, "valid.txt")
    open(train_path, "wb").write(text[:cut])
    open(val_path, "wb").write(text[cut:])
    print(f"budget {BUDGET:.0f} s each; train {cut} bytes, held out {len(text) - cut} bytes", flush=True)
    if PARALLEL:
        worker = subprocess.Popen(["taskset", "-c", "1", sys.executable, os.path.abspath(__file__), str(BUDGET), OUT,
                                   "--worker"], stdout=subprocess.PIPE, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS="1"))
        r = run_rnnc(train_path, val_path, os.path.join(OUT, "rnnc"), pin=0)
        t = json.loads(worker.communicate()[0].strip().splitlines()[-1])
    else:
        r = run_rnnc(train_path, val_path, os.path.join(OUT, "rnnc"))
        t = run_torch(text[:cut], text[cut:], os.path.join(OUT, "torch"))
    print("rnnc   ", json.dumps(r), flush=True)
    print("pytorch", json.dumps(t), flush=True)
    svg = os.path.join(OUT, "loss.svg")
    subprocess.run([RNNC, "plot", os.path.join(OUT, "rnnc"), os.path.join(OUT, "torch", "metrics.jsonl"),
                    "--labels", "rnnc,PyTorch", "--title", f"char LSTM 2x512 on SOTU, {BUDGET/60:.0f} min each",
                    "-o", svg], check=True)
    print(f"held-out bits per byte: rnnc {r['val_bpb']:.4f}, PyTorch {t['val_bpb']:.4f} "
          f"(rnnc lower: {r['val_bpb'] < t['val_bpb']}); steps rnnc {r['steps']}, PyTorch {t['steps']} "
          f"({t['threads']} thread(s)); tokens/s ratio {r['tokens_per_s'] / t['tokens_per_s']:.2f}x; plot {svg}")


if __name__ == "__main__":
    main()
