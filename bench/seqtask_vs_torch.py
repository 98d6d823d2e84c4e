"""Same model, same data, same wall-clock budget: rnnc against PyTorch on the classify, tag and
forecast tasks of issue 13 (as bench/lm_quality_vs_torch.py does for the language model).

For each task the settings are those of bench/seqtasks.sh (`bench/seqtasks.sh --config TASK`, one
source for both): rnnc trains through bench/seqtasks.sh, and PyTorch trains the same model on the
same data for the same number of seconds, then each best model (best validation, the same
criterion) is scored on the same test split with the same metrics.

Usage: /usr/bin/python3 bench/seqtask_vs_torch.py [TASK...] [--time T] [--out DIR] [--parallel] [--torch-only]
       /usr/bin/python3 bench/seqtask_vs_torch.py --crosscheck [TASK...] [--out DIR]
  TASK: spam stress truecase births (default all four; also stress-uni, truecase-uni)
  --time T      overrides every budget (seconds or 30s/10m as rnnc reads it)
  --parallel    rnnc (core 0) and PyTorch (core 1) at the same time, one thread each, so both see
                the same machine over the same minutes; without it they run one after the other on
                core 0 (PyTorch with one thread too: rnnc's runs get --threads 1)
  --torch-only  only the PyTorch side; the rnnc results are read from OUT (an earlier run)
  --crosscheck  no training: rnnc's best model of each TASK in OUT is loaded into the PyTorch model
                and scored on the test split there, beside rnnc's own eval (the same numbers show
                that the two programs hold one model); for births also an SVG of the test year,
                OUT/births-forecast.svg (truth, rnnc's forecasts, seasonal naive)

What is the same:
- tokenization: the ids rnnc gives. space/char vocabularies grow in order of first appearance in
  the training file (ids from 4; 0 <pad>, 3 <unk>), which Python reproduces exactly; a word:N
  tokenizer's vocabulary is read from the rnnc model file of the same run (rnnc.vocab, which is
  deterministic) and texts are split by the same rule (RNNC_WORD_PATTERN rebuilt from Python's
  unicodedata; the script checks on the whole data that it gives rnnc's ids, by running `rnnc
  tokenizer encode` once per split);
- the model: embedding (tokens) or the normalised features (forecast), nn.LSTM/GRU/RNN with the
  same sizes, layers, direction and inter-layer dropout, computing what pack_padded_sequence would
  (class Stack: one module per layer and direction, the reverse one over each sequence reversed
  within its length; packed sequences are far too slow in this PyTorch build), the same pooling
  (last, mean, max over the valid steps; final = h_n as PyTorch lays it out) and output dropout,
  the same linear head (forecast: the known covariates of the horizon appended, step-major);
  PyTorch's default initialisation, which is also rnnc's scheme;
- the loss (CrossEntropyLoss, ignore_index -1 for padded tag steps; MSELoss / L1Loss on the
  normalised targets), AdamW (0.9, 0.999, 1e-8, weight decay 0.01), clipping of the global norm,
  100 linear warm-up steps then the cosine from lr to lr x 0.1 over the time budget (rnnc's
  rnnc_run_lr with a time budget);
- the batches: each epoch shuffled, sorted by length inside chunks of 50 batches, then the batch
  order shuffled (the last, short batch stays last): rnnc's scheme, with Python's random module
  for the draws (so not the same draws);
- validation every --eval-every steps and at the end, keeping the best model by the same score
  (classify: macro-F1; tag: token accuracy; forecast: MAE; ties by the validation loss); with
  --ema D in the configuration, rnnc's weight average (the same rule, after every step) is what
  is validated and kept, and training goes on from the raw weights;
- the test metrics: classify accuracy and macro-F1; tag token and sequence (word) accuracy, and
  bench/baselines.py's scorers for stress (unseen phoneme strings) and truecasing (F1 on cased
  words); forecast MAE, RMSE, sMAPE, MASE over the windows whose targets lie in the last 366 rows.
"""
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import unicodedata

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import baselines  # noqa: E402  (the truecasing and stress scorers)

RNNC = os.environ.get("RNNC", os.path.join(ROOT, "build", "rnnc"))
SEQTASKS = os.path.join(ROOT, "bench", "seqtasks.sh")
PAD, UNK, NSPECIAL = 0, 3, 4


ALL_TASKS = ["spam", "stress", "truecase", "births"]
KNOWN_TASKS = ALL_TASKS + ["stress-uni", "truecase-uni"]  # bench/seqtasks.sh's runs
_VALUED = {"--time", "--out", "--worker", "--vocab-from"}
_SWITCHES = {"--parallel", "--torch-only", "--crosscheck"}

# The command line's settings. parse_args sets them in main(); a script that imports this module
# (bench/stress_decode.py) gets these defaults and keeps its own command line.
TIME = None
OUT = "/tmp/rnnc-seqtasks"
PARALLEL = TORCH_ONLY = CROSSCHECK = False
WORKER = VOCAB_FROM = None
TASKS = ALL_TASKS


def parse_args(argv):
    """Sets the settings above from argv (without the program name); exits with one line on a flag
    it does not know or one without its value, and prints the usage for -h/--help."""
    global TIME, OUT, PARALLEL, TORCH_ONLY, CROSSCHECK, WORKER, VOCAB_FROM, TASKS
    prog = os.path.basename(sys.argv[0])
    values, tasks, i = {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        if a in _VALUED:
            if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                sys.exit(f"{prog}: {a} needs a value")
            values[a] = argv[i + 1]
            i += 2
            continue
        if a in _SWITCHES:
            values[a] = True
        elif a.startswith("-"):
            sys.exit(f"{prog}: unknown flag {a} (--help lists them)")
        elif a not in KNOWN_TASKS:
            sys.exit(f"{prog}: unknown task {a} (one of {' '.join(KNOWN_TASKS)})")
        else:
            tasks.append(a)
        i += 1
    TIME = values.get("--time")
    OUT = values.get("--out", OUT)
    PARALLEL = "--parallel" in values
    TORCH_ONLY = "--torch-only" in values
    CROSSCHECK = "--crosscheck" in values
    WORKER = values.get("--worker")
    VOCAB_FROM = values.get("--vocab-from")
    TASKS = tasks or ALL_TASKS


def seconds(t):
    t = str(t)
    mult = {"s": 1, "m": 60, "h": 3600}.get(t[-1], 1)
    return float(t[:-1] if t[-1] in "smh" else t) * mult


# ---------------------------------------------------------------- settings (from seqtasks.sh)
def config(run):
    env = dict(os.environ)
    cmd = [SEQTASKS, "--config", run] + (["--time", TIME] if TIME else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    kv = dict(line.split("=", 1) for line in out.strip().splitlines())
    toks = kv["FLAGS"].split()
    flags = {}
    i = 0
    while i < len(toks):
        k = toks[i][2:]
        if i + 1 < len(toks) and not toks[i + 1].startswith("--"):
            flags[k] = toks[i + 1]
            i += 2
        else:
            flags[k] = True
            i += 1
    kv["flags"] = flags
    kv["seconds"] = seconds(kv["BUDGET"])
    return kv


# ---------------------------------------------------------------- tokenization
_CLS = None


def word_regex():
    """RNNC_WORD_PATTERN: [\\p{L}\\p{M}\\p{N}]+(?:['\\x{2019}][\\p{L}\\p{M}\\p{N}]+)*|\\S (PCRE2, UCP)."""
    global _CLS
    if _CLS is None:
        ranges, start, prev = [], None, None
        for cp in range(sys.maxunicode + 1):
            ok = unicodedata.category(chr(cp))[0] in "LMN"
            if ok and start is None:
                start = cp
            if not ok and start is not None:
                ranges.append((start, cp - 1))
                start = None
        if start is not None:
            ranges.append((start, sys.maxunicode))
        esc = lambda c: "\\U%08x" % c
        cls = "[" + "".join(esc(a) if a == b else esc(a) + "-" + esc(b) for a, b in ranges) + "]"
        # PCRE2's \s with UCP: \t \n \v \f \r, NEL (U+0085) and the Unicode separators (Z); Python's \s
        # takes \x1c-\x1f, which PCRE2 does not
        space = "[\\t\\n\\x0b\\x0c\\r\\x85" + "".join(esc(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] == "Z") + "]"
        _CLS = re.compile(cls + "+(?:['\u2019]" + cls + "+)*|(?!" + space + ").", re.S)
    return _CLS


class Vocab:
    def __init__(self, kind, words=None):
        self.kind = kind  # space | char | word
        self.ids = {}
        if kind == "word":
            self.ids = {w: i + NSPECIAL for i, w in enumerate(words)}  # tokenizer ids 4.. (its own specials 0..3)

    def encode(self, text, grow):
        if self.kind == "char":
            syms = list(text)
        elif self.kind == "space":
            syms = [s for s in re.split("[ \t]+", text) if s]
        else:  # the word tokenizer: id + 4, unknown words its own <unk> (3) + 4
            return [self.ids.get(m.group(), UNK) + NSPECIAL for m in word_regex().finditer(text)]
        out = []
        for s in syms:
            if s in ("<pad>", "<bos>", "<eos>", "<unk>"):
                out.append(UNK)
                continue
            i = self.ids.get(s)
            if i is None:
                if not grow:
                    out.append(UNK)
                    continue
                i = self.ids[s] = len(self.ids) + NSPECIAL
            out.append(i)
        return out


def check_word_ids(vocab, tokenizer_json, texts):
    """Python's word ids equal `rnnc tokenizer encode`'s on all the texts (one call, texts joined by
    newlines, which the word rule never puts inside a token)."""
    tok = os.path.join(OUT, "check-word-tokenizer.json")
    with open(tok, "w", encoding="utf-8") as f:
        f.write(tokenizer_json)
    joined = "\n".join(texts)
    ids = subprocess.run([RNNC, "tokenizer", "encode", "-t", tok], input=joined.encode("utf-8"), check=True,
                         capture_output=True).stdout.split()
    mine = [i - NSPECIAL for i in vocab.encode(joined, False)]
    if [int(i) for i in ids] != mine:
        bad = next((k for k, (a, b) in enumerate(zip(ids, mine)) if int(a) != b), min(len(ids), len(mine)))
        sys.exit(f"seqtask_vs_torch: the Python word rule differs from rnnc's at token {bad} "
                 f"({len(ids)} ids from rnnc, {len(mine)} from Python)")
    print(f"seqtask_vs_torch: word ids checked against rnnc tokenizer encode: {len(mine)} tokens agree", file=sys.stderr)


def rnnc_vocab(model_path):
    """The metadata of an rnnc model file: rnnc.vocab_kind and rnnc.vocab."""
    with open(model_path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        md = json.loads(f.read(n))["__metadata__"]
    return md["rnnc.vocab_kind"], md["rnnc.vocab"], md


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip(" \t"):
                continue
            a, _, b = line.partition("\t")
            rows.append((a, b))
    return rows


# ---------------------------------------------------------------- model
class Stack(nn.Module):
    """The recurrent stack over padded batches (valid steps first), one module per layer and
    direction: the forward direction runs over the padded batch as it is (padding comes after the
    valid steps, so it never reaches them); the reverse direction runs over each sequence reversed
    within its length and its outputs are put back in place. This is what pack_padded_sequence
    computes, without it: in this PyTorch build (1.13, Debian, CPU) the backward pass through a
    packed LSTM is 50-100x slower than through a padded one (3-4 s against 0.05 s for a 32x56
    batch of the births model), which would leave PyTorch a handful of steps in any budget."""

    def __init__(self, cell, I, H, L, bi, dropout, extra):
        super().__init__()
        D = 2 if bi else 1
        self.bi, self.dropout = bi, dropout
        self.fw = nn.ModuleList([cell(I if l == 0 else D * H, H, batch_first=True, **extra) for l in range(L)])
        self.bw = nn.ModuleList([cell(I if l == 0 else D * H, H, batch_first=True, **extra) for l in range(L)]) if bi else None

    def forward(self, x, lengths):
        B, T = x.shape[0], x.shape[1]
        if self.bi:
            t = torch.arange(T)[None, :].expand(B, T)
            rev = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # reversal within each length
            rev = rev[:, :, None]
        for l in range(len(self.fw)):
            if l > 0 and self.dropout > 0:
                x = nn.functional.dropout(x, self.dropout, self.training)
            yf, _ = self.fw[l](x)
            if self.bi:
                xr = x.gather(1, rev.expand(B, T, x.shape[2]))
                yb, _ = self.bw[l](xr)
                yb = yb.gather(1, rev.expand(B, T, yb.shape[2]))
                x = torch.cat((yf, yb), 2)
            else:
                x = yf
        return x


class SeqModel(nn.Module):
    def __init__(self, kind, f, V=0, F=0, C=2, K=0):
        super().__init__()
        self.kind, self.K = kind, K
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}[f.get("cell", "lstm")]
        extra = {"nonlinearity": "relu"} if f.get("cell") == "rnn_relu" else {}
        H, L = int(f.get("hidden", 128)), int(f.get("layers", 1))
        self.H = H
        self.bi = bool(f.get("bidirectional", False))
        E = int(f.get("embed", 64))
        if kind != "forecast":
            self.embedding = nn.Embedding(V, E)
        self.rnn = Stack(cell, E if kind != "forecast" else F, H, L, self.bi, float(f.get("dropout", 0)), extra)
        self.pool = f.get("pool", "max" if kind == "classify" else "final")
        self.odrop = nn.Dropout(float(f.get("output-dropout", 0)))
        D = 2 if self.bi else 1
        self.head = nn.Linear(D * H + (C * K if kind == "forecast" else 0), C)

    def forward(self, x, lengths, known=None):
        inp = self.embedding(x) if self.kind != "forecast" else x
        B, T = inp.shape[0], inp.shape[1]
        y = self.rnn(inp, lengths)
        if self.kind == "tag":
            return self.head(self.odrop(y))
        mask = (torch.arange(T)[None, :] < lengths[:, None]).unsqueeze(2)
        ar = torch.arange(B)
        if self.pool == "max":
            z = y.masked_fill(~mask, float("-inf")).max(1).values
        elif self.pool == "mean":
            z = (y * mask).sum(1) / lengths[:, None].to(y.dtype)
        elif self.pool == "last":
            z = y[ar, lengths - 1]
        else:  # final: h_n as PyTorch lays it out, [forward's last valid step, reverse's (at step 0)]
            z = torch.cat((y[ar, lengths - 1, :self.H], y[:, 0, self.H:]), 1) if self.bi else y[ar, lengths - 1]
        z = self.odrop(z)
        if self.kind == "forecast" and self.K:
            z = torch.cat((z, known), 1)
        return self.head(z)


# ---------------------------------------------------------------- batches (rnnc's scheme)
def epoch_order(lengths, B, seed, epoch):
    rng = random.Random(seed * 1000003 + epoch)
    n = len(lengths)
    order = list(range(n))
    rng.shuffle(order)
    if lengths is None or all(l == lengths[0] for l in lengths):
        return order
    chunk = 50 * B
    for c in range(0, n, chunk):
        order[c:c + chunk] = sorted(order[c:c + chunk], key=lambda i: (-lengths[i], i))
    nb = n // B
    batches = [order[k * B:(k + 1) * B] for k in range(nb)]
    rng.shuffle(batches)
    return [i for b in batches for i in b] + order[nb * B:]


def lr_at(f, step, elapsed, budget):
    lr, warm, lo = float(f.get("lr", 0.002)), int(f.get("warmup", 100)), float(f.get("lr", 0.002)) * float(f.get("min-lr-ratio", 0.1))
    if warm > 0 and step < warm:
        return lr * (step + 1) / warm
    if f.get("schedule", "cosine") != "cosine":
        return lr
    p = min(1.0, elapsed / budget)
    return lo + 0.5 * (lr - lo) * (1 + math.cos(math.pi * p))


# ---------------------------------------------------------------- metrics
def macro_f1(conf):
    C = len(conf)
    f1s = []
    for c in range(C):
        tp = conf[c][c]
        pred = sum(conf[r][c] for r in range(C))
        sup = sum(conf[c])
        if pred == 0 and sup == 0:
            continue
        p = tp / pred if pred else 0.0
        r = tp / sup if sup else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return sum(f1s) / len(f1s)


# ---------------------------------------------------------------- the tasks
class Items:
    """classify / tag: TSV items as rnnc reads them."""

    def __init__(self, kind, cfg, rnnc_model):
        f = cfg["flags"]
        self.kind, self.f = kind, f
        tok = f.get("tokenizer", "space" if kind == "tag" else "word:20000")
        maxlen = int(f.get("max-len", 512))
        tr, dv, te = read_tsv(cfg["TRAIN"]), read_tsv(cfg["VALID"]), read_tsv(cfg["TEST"])
        # the model's metadata, read once (absent while the PyTorch side trains before rnnc's)
        vk, vtext, md = rnnc_vocab(rnnc_model) if rnnc_model and os.path.exists(rnnc_model) else (None, None, {})
        if tok.startswith("word"):
            if vk != "word":
                sys.exit(f"seqtask_vs_torch: {rnnc_model}: vocab kind {vk}")
            words = json.loads(vtext)["words"]
            self.vocab = Vocab("word", words)
            self.V = len(words) + 2 * NSPECIAL
            check_word_ids(self.vocab, vtext, [r[1] for r in tr + dv + te])
        elif tok in ("space", "char"):
            self.vocab = Vocab(tok)
            if tok == "space" and vk == "space":
                # the model's own token ids (its training data's order of first use), so that a
                # model trained on other data than cfg's (a subset, say) is read right
                for t in vtext.split("\n"):
                    if t:
                        self.vocab.ids.setdefault(t, len(self.vocab.ids) + NSPECIAL)
        else:
            sys.exit(f"seqtask_vs_torch: tokenizer {tok}: only space, char and word:N are reproduced")
        if kind == "classify":
            labels = sorted({a for a, b in tr if a})
            text = lambda r: r[1]
        else:
            labels = sorted({t for a, b in tr for t in b.split(" ") if t})
            text = lambda r: r[0]
        if "rnnc.labels" in md and md["rnnc.labels"].split("\n") != labels:
            sys.exit(f"seqtask_vs_torch: {rnnc_model}: its labels {md['rnnc.labels'].split(chr(10))} are not "
                     f"those of {cfg['TRAIN']} {labels}")
        self.labels = labels
        lid = {l: i for i, l in enumerate(labels)}

        def load(rows, grow):
            xs, ys = [], []
            for r in rows:
                ids = self.vocab.encode(text(r), grow)
                if kind == "classify":
                    if r[0] not in lid:
                        continue
                    xs.append(ids[:maxlen])
                    ys.append(lid[r[0]])
                else:
                    tg = [lid.get(t, -1) for t in r[1].split(" ") if t]
                    if len(tg) != len(ids):
                        sys.exit(f"seqtask_vs_torch: a tag line with {len(tg)} tags for {len(ids)} tokens")
                    xs.append(ids)
                    ys.append(tg)
            return xs, ys

        self.train, self.dev, self.test = load(tr, True), load(dv, False), load(te, False)
        if not tok.startswith("word"):
            self.V = len(self.vocab.ids) + NSPECIAL
        self.C = len(labels)
        self.test_rows = te

    def batch(self, data, idx):
        xs, ys = data
        T = max(len(xs[i]) for i in idx)
        x = torch.zeros(len(idx), T, dtype=torch.long)
        lengths = torch.tensor([len(xs[i]) for i in idx])
        if self.kind == "tag":
            y = torch.full((len(idx), T), -1, dtype=torch.long)
        for r, i in enumerate(idx):
            x[r, :len(xs[i])] = torch.tensor(xs[i])
            if self.kind == "tag":
                y[r, :len(ys[i])] = torch.tensor(ys[i])
        if self.kind == "classify":
            y = torch.tensor([ys[i] for i in idx])
        return (x, lengths), y

    def n_train(self):
        return len(self.train[0])

    def lengths(self):
        return [len(x) for x in self.train[0]]

    def model(self):
        return SeqModel(self.kind, self.f, V=self.V, C=self.C)

    def loss(self, out, y):
        return nn.functional.cross_entropy(out.reshape(-1, self.C), y.reshape(-1), ignore_index=-1)

    def predict(self, m, data, B=64):
        m.eval()
        preds, loss_sum, cnt = [], 0.0, 0
        with torch.no_grad():
            for k in range(0, len(data[0]), B):
                idx = list(range(k, min(k + B, len(data[0]))))
                (x, lengths), y = self.batch(data, idx)
                out = m(x, lengths)
                l = nn.functional.cross_entropy(out.reshape(-1, self.C), y.reshape(-1), ignore_index=-1, reduction="sum")
                n = int((y.reshape(-1) >= 0).sum())
                loss_sum, cnt = loss_sum + l.item(), cnt + n
                am = out.argmax(-1)
                for r, i in enumerate(idx):
                    preds.append(am[r, :len(data[0][i])].tolist() if self.kind == "tag" else int(am[r]))
        m.train()
        return preds, loss_sum / max(cnt, 1)

    def validate(self, m):
        preds, loss = self.predict(m, self.dev)
        ys = self.dev[1]
        if self.kind == "classify":
            conf = [[0] * self.C for _ in range(self.C)]
            for p, y in zip(preds, ys):
                conf[y][p] += 1
            f1 = macro_f1(conf)
            return (1 - f1, loss), {"val_loss": loss, "val_acc": sum(conf[i][i] for i in range(self.C)) / len(ys), "val_macro_f1": f1}
        right = tot = seq = 0
        for p, y in zip(preds, ys):
            ok = [a == b for a, b in zip(p, y) if b >= 0]
            right, tot = right + sum(ok), tot + len(ok)
            seq += all(ok)
        acc = right / tot
        return (1 - acc, loss), {"val_loss": loss, "val_acc": acc, "val_seq_acc": seq / len(ys)}

    def test_metrics(self, m, out_dir, run):
        preds, _ = self.predict(m, self.test)
        ys = self.test[1]
        if self.kind == "classify":
            conf = [[0] * self.C for _ in range(self.C)]
            for p, y in zip(preds, ys):
                conf[y][p] += 1
            right = sum(conf[i][i] for i in range(self.C))
            return {"accuracy": right / len(ys), "macro_f1": macro_f1(conf), "errors": len(ys) - right, "items": len(ys),
                    "confusion": conf}
        right = tot = seq = 0
        for p, y in zip(preds, ys):
            ok = [a == b for a, b in zip(p, y) if b >= 0]
            right, tot = right + sum(ok), tot + len(ok)
            seq += all(ok)
        res = {"accuracy": right / tot, "sequence_accuracy": seq / len(ys)}
        path = os.path.join(out_dir, "test.pred")
        with open(path, "w", encoding="utf-8") as f:
            for p in preds:
                f.write(" ".join(self.labels[i] for i in p) + "\n")
        sc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "baselines.py"),
                             ("truecase" if run.startswith("truecase") else "stress") + "-score", path, "--json"],
                            check=True, capture_output=True, text=True).stdout
        res.update(json.loads(sc))
        return res


class Windows:
    """forecast: rnnc's windows, normalisation and split (task_seq.c's forecast_data)."""

    def __init__(self, cfg):
        f = self.f = cfg["flags"]
        import csv
        with open(cfg["TRAIN"], newline="") as fh:
            rd = csv.reader(fh)
            head = next(rd)
            rows = list(rd)
        cols = [f["target"]] + (f["covariates"].split(",") if "covariates" in f else []) + \
               (f["known"].split(",") if "known" in f else [])
        self.known = [False] * (1 + (len(f["covariates"].split(",")) if "covariates" in f else 0)) + \
                     [True] * (len(f["known"].split(",")) if "known" in f else 0)
        idx = [head.index(c) for c in cols]
        self.v = torch.tensor([[float(r[i]) for i in idx] for r in rows], dtype=torch.float64)
        self.rows, self.F = self.v.shape
        self.T, self.N = int(f.get("context", 28)), int(f.get("horizon", 1))
        self.season = int(f.get("season", 0))
        holdout = int(f.get("holdout", 0))
        usable = self.rows - holdout
        valid = int(f["valid-last"]) if "valid-last" in f else usable // 10
        valid = max(valid, self.N)
        self.train_end, self.valid_end = usable - valid, usable
        tr = self.v[:self.train_end]
        self.mean = tr.mean(0)
        self.std = tr.std(0, unbiased=False)
        const = tr.max(0).values == tr.min(0).values
        self.mean[const] = tr[0][const]
        self.std[const] = 1.0
        self.z = ((self.v - self.mean) / self.std).float()
        self.K = sum(self.known)
        self.kidx = [c for c in range(self.F) if self.known[c]]
        self.n_train_win = self.train_end - self.T - self.N + 1
        self.valid_starts = list(range(self.train_end - self.T, self.valid_end - self.T - self.N + 1))
        self.loss_kind = f.get("loss", "mse")
        self.relative = bool(f.get("relative", False))

    def n_train(self):
        return self.n_train_win

    def lengths(self):
        return None

    def level(self, starts):
        """--relative: each window's level, the mean of its context's normalised target (else 0)."""
        if not self.relative:
            return torch.zeros(len(starts))
        return torch.stack([self.z[i:i + self.T, 0].double().mean() for i in starts]).float()

    def batch(self, starts):
        x = torch.stack([self.z[i:i + self.T] for i in starts])
        known = torch.stack([self.z[i + self.T:i + self.T + self.N][:, self.kidx].reshape(-1) for i in starts]) if self.K else None
        y = torch.stack([self.z[i + self.T:i + self.T + self.N, 0] for i in starts])
        if self.relative:  # rnnc_series_fill: the level off the target input and the targets
            lv = self.level(starts)
            x = x.clone()
            x[:, :, 0] -= lv[:, None]
            y = y - lv[:, None]
        return (x, torch.full((len(starts),), self.T), known), y

    def model(self):
        return SeqModel("forecast", self.f, F=self.F, C=self.N, K=self.K)

    def loss(self, out, y):
        return nn.functional.mse_loss(out, y) if self.loss_kind == "mse" else nn.functional.l1_loss(out, y)

    def forecast(self, m, starts, B=64):
        m.eval()
        outs, loss_sum = [], 0.0
        with torch.no_grad():
            for k in range(0, len(starts), B):
                (x, lengths, known), y = self.batch(starts[k:k + B])
                o = m(x, lengths, known)
                loss_sum += self.loss(o, y).item() * len(y)
                lv = self.level(starts[k:k + B]).double()
                outs.append((o.double() + lv[:, None]) * self.std[0] + self.mean[0])
        m.train()
        return torch.cat(outs), loss_sum / len(starts)

    def metrics(self, pred, starts, scale=1.0):
        y = torch.stack([self.v[i + self.T:i + self.T + self.N, 0] for i in starts])
        e = y - pred
        mae = e.abs().mean().item()
        return {"mae": mae, "rmse": e.pow(2).mean().sqrt().item(),
                "smape": (200 * e.abs() / (y.abs() + pred.abs())).mean().item(), "mase": mae / scale}

    def validate(self, m):
        pred, loss = self.forecast(m, self.valid_starts)
        mt = self.metrics(pred, self.valid_starts)
        return (mt["mae"], loss), {"val_loss": loss, "val_mae": mt["mae"], "val_rmse": mt["rmse"], "val_smape": mt["smape"]}

    def test_metrics(self, m, out_dir, run):
        first = self.rows - 366
        starts = list(range(first - self.T, self.rows - self.T - self.N + 1))
        ms = self.season if self.season > 0 else 1
        y = self.v[:, 0]
        scale = (y[ms:first] - y[:first - ms]).abs().mean().item()
        pred, _ = self.forecast(m, starts)
        res = self.metrics(pred, starts, scale)
        res["windows"] = len(starts)
        with open(os.path.join(out_dir, "test.forecast.csv"), "w") as fh:
            fh.write("origin_row,h,truth,forecast\n")
            for k, i in enumerate(starts):
                for h in range(self.N):
                    fh.write(f"{i + self.T + 1},{h + 1},{self.v[i + self.T + h, 0].item():.0f},{pred[k, h].item():.2f}\n")
        return res


def run_torch(run, cfg, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    f = cfg["flags"]
    seed = int(f.get("seed", 1337))
    torch.manual_seed(seed)
    kind = cfg["TASK"]
    budget = cfg["seconds"]
    t_load = time.perf_counter()
    vocab_model = os.path.join(VOCAB_FROM or os.path.join(OUT, run), "best.safetensors")
    data = Windows(cfg) if kind == "forecast" else Items(kind, cfg, vocab_model)
    t_load = time.perf_counter() - t_load
    m = data.model()
    n_params = sum(p.numel() for p in m.parameters())
    opt = torch.optim.AdamW(m.parameters(), lr=float(f.get("lr", 0.002)), betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=float(f.get("weight-decay", 0.01)))
    B, clip = int(f.get("batch", 32)), float(f.get("clip", 5))
    ema = float(f.get("ema", 0))  # rnnc's --ema: validation and the best model use the average
    avg = [p.detach().clone() for p in m.parameters()] if ema > 0 else None
    eval_every, log_every = int(f.get("eval-every", 200)), int(f.get("log-every", 10))
    n = data.n_train()
    spe = (n + B - 1) // B
    lengths = data.lengths()
    log = open(os.path.join(out_dir, "metrics.jsonl"), "w")
    step, best, t0 = 0, (float("inf"), float("inf")), time.perf_counter()
    loss_sum, loss_n, order, planned = 0.0, 0, None, -1
    while True:
        el = time.perf_counter() - t0
        epoch, k = divmod(step, spe)
        if epoch != planned:
            order, planned = epoch_order(lengths if lengths is not None else [0] * n, B, seed, epoch), epoch
        idx = order[k * B:(k + 1) * B]
        lr = lr_at(f, step, el, budget)
        for g in opt.param_groups:
            g["lr"] = lr
        if kind == "forecast":
            (x, ln, known), y = data.batch(idx)
            out = m(x, ln, known)
        else:
            (x, ln), y = data.batch(data.train, idx)
            out = m(x, ln)
        loss = data.loss(out, y)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            nn.utils.clip_grad_norm_(m.parameters(), clip)
        opt.step()
        step += 1
        if avg is not None:  # avg = d avg + (1 - d) w, d = min(ema, (1 + n) / (10 + n)) after step n
            d = min(ema, (1.0 + step) / (10.0 + step))
            with torch.no_grad():
                for a, p in zip(avg, m.parameters()):
                    a.mul_(d).add_(p, alpha=1.0 - d)
        loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        el = time.perf_counter() - t0
        last = el >= budget
        if step % log_every == 0 or last:
            log.write(json.dumps({"step": step, "epoch": step / spe, "train_loss": loss_sum / loss_n, "lr": lr, "elapsed": el}) + "\n")
            loss_sum, loss_n = 0.0, 0
        if step % eval_every == 0 or last:
            if avg is not None:  # validate (and keep) the average; train on from the raw weights
                raw = [p.detach().clone() for p in m.parameters()]
                with torch.no_grad():
                    for a, p in zip(avg, m.parameters()):
                        p.copy_(a)
            score, vals = data.validate(m)
            vals.update(step=step, epoch=step / spe, elapsed=time.perf_counter() - t0)
            log.write(json.dumps(vals) + "\n")
            log.flush()
            if score < best:
                best = score
                torch.save(m.state_dict(), os.path.join(out_dir, "best.pt"))
            if avg is not None:
                with torch.no_grad():
                    for r, p in zip(raw, m.parameters()):
                        p.copy_(r)
            m.train()
        if last:
            break
    log.close()
    m.load_state_dict(torch.load(os.path.join(out_dir, "best.pt")))
    res = data.test_metrics(m, out_dir, run)
    res.update(steps=step, epochs=step / spe, params=n_params, load_s=t_load, best_val=best[0])
    json.dump(res, open(os.path.join(out_dir, "result.json"), "w"))
    return res


# ---------------------------------------------------------------- rnnc's weights through the PyTorch model
def load_rnnc_weights(m, path):
    """Copies the tensors of an rnnc model file (PyTorch's names: embedding.weight, rnn.weight_ih_l0,
    ..._reverse, head.weight) into SeqModel m (its Stack keeps one module per layer and direction)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        head = json.loads(f.read(n))
        blob = f.read()
    sd = {}
    for k, v in head.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        sd[k] = torch.frombuffer(bytearray(blob[a:b]), dtype=torch.float32).reshape(v["shape"])
    mine = {}
    for k, t in sd.items():
        if k.startswith("rnn."):
            name = k[4:]
            rev = name.endswith("_reverse")
            name = name[:-8] if rev else name
            base, layer = name.rsplit("_l", 1)
            mine[f"rnn.{'bw' if rev else 'fw'}.{layer}.{base}_l0"] = t
        elif not k.startswith(("train.", "run.", "task.")):
            mine[k] = t
    m.load_state_dict(mine)


def crosscheck(run):
    """The test metrics of rnnc's best model of `run`, computed by the PyTorch model with rnnc's
    weights: the same numbers as rnnc's eval show that the two models are one model."""
    torch.set_num_threads(1)
    cfg = config(run)
    kind = cfg["TASK"]
    best = os.path.join(OUT, run, "best.safetensors")
    data = Windows(cfg) if kind == "forecast" else Items(kind, cfg, best)
    m = data.model()
    load_rnnc_weights(m, best)
    d = os.path.join(OUT, "crosscheck-" + run)
    os.makedirs(d, exist_ok=True)
    res = data.test_metrics(m, d, run)
    r = rnnc_result(run)
    print(f"{run}: rnnc eval:                     {describe(kind, r)}")
    print(f"{run}: PyTorch with rnnc's weights:   {describe(kind, res)}")
    if kind == "forecast":
        plot_births(data, os.path.join(d, "test.forecast.csv"), os.path.join(OUT, run + "-forecast.svg"), r)


def plot_births(data, csv_path, svg_path, r):
    """An SVG of the test year: the truth, the forecasts of rnnc's model (through PyTorch) from every
    14th origin (h = 1..14, so each day is forecast once) and the seasonal-naive forecasts."""
    import csv as _csv
    rows = list(_csv.DictReader(open(csv_path)))
    first = data.rows - 366
    f = {}
    for row in rows:
        o, h = int(row["origin_row"]), int(row["h"])
        if (o - 1 - first) % 14 == 0:
            f[o - 1 + h - 1] = float(row["forecast"])
    y = data.v[:, 0].tolist()
    xs = list(range(first, data.rows))
    sn = {}
    for o in range(first, data.rows - 14 + 1, 14):
        for h in range(1, 15):
            sn[o + h - 1] = y[o + h - 1 - 7 * math.ceil(h / 7)]
    W, Hh, L, Rm, T, Bm = 1200, 420, 60, 20, 40, 40
    lo, hi = min(y[first:] + list(f.values())) - 200, max(y[first:] + list(f.values())) + 200
    X = lambda i: L + (i - first) * (W - L - Rm) / (len(xs) - 1)
    Y = lambda v: T + (hi - v) * (Hh - T - Bm) / (hi - lo)
    def line(pts, color, width, dash=""):
        d = " ".join(f"{'M' if k == 0 else 'L'}{X(i):.1f},{Y(v):.1f}" for k, (i, v) in enumerate(pts))
        return f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"{dash}/>'
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{Hh}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{L}" y="20" font-size="14">US daily births 1988 (test year): truth, rnnc forecaster (MAE {r["mae"]:.0f}) '
           f'and seasonal naive (MAE {r["naive_mae"]:.0f}); 14-day forecasts from every 14th day</text>']
    for v in range(int(lo // 1000 + 1) * 1000, int(hi) + 1, 1000):
        out.append(f'<line x1="{L}" x2="{W - Rm}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    for mth, day in enumerate((0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335)):
        out.append(f'<text x="{X(first + day):.1f}" y="{Hh - 20}">{"JFMAMJJASOND"[mth]}</text>')
    out.append(line([(i, y[i]) for i in xs], "#222", 1.5))
    out.append(line(sorted(sn.items()), "#999", 1, ' stroke-dasharray="4 3"'))
    out.append(line(sorted(f.items()), "#d62728", 1.5))
    out.append(f'<text x="{W - 330}" y="{Hh - 20}"><tspan fill="#222">truth</tspan>  <tspan fill="#d62728">rnnc</tspan>  '
               f'<tspan fill="#999">seasonal naive (dashed)</tspan></text></svg>')
    open(svg_path, "w").write("\n".join(out) + "\n")
    print(f"plot: {svg_path}")


# ---------------------------------------------------------------- rnnc side and the table
def run_rnnc(run, core):
    env = dict(os.environ, SEQTASKS_CORE=str(core))
    cmd = [SEQTASKS, "--out", OUT] + (["--time", TIME] if TIME else []) + [run]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def rnnc_result(run):
    d = os.path.join(OUT, run)
    t = json.load(open(os.path.join(d, "test.json")))
    rows = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl")) if l.strip()]
    t["steps"] = int(max(r.get("step", 0) for r in rows))
    t["epochs"] = max(r.get("epoch", 0) or 0 for r in rows)
    sp = os.path.join(d, "score.json")
    if os.path.exists(sp):
        t.update(json.load(open(sp)))
    if "confusion" in t and "sequence_accuracy" not in t:
        t["errors"] = t["items"] - sum(t["confusion"][i][i] for i in range(len(t["confusion"])))
    if "model" in t:
        t.update(t["model"])
        t["naive_mae"] = t["seasonal_naive"]["mae"]
    return t


def describe(kind, r):
    if kind == "classify":
        return f"acc {100 * r['accuracy']:.2f}%, macro-F1 {r['macro_f1']:.4f} ({r['errors']} errors)"
    if kind == "tag":
        s = f"tag acc {100 * r['accuracy']:.2f}%, word acc {100 * r['sequence_accuracy']:.2f}%"
        if "f1" in r:
            s += f", cased-word F1 {100 * r['f1']:.2f}% (P {100 * r['p']:.2f}, R {100 * r['r']:.2f}), char acc {100 * r['char_acc']:.3f}%"
        elif "word_acc_unseen" in r:
            s += f" (unseen phonemes {100 * r['word_acc_unseen']:.2f}%)"
        return s
    return f"MAE {r['mae']:.1f}, RMSE {r['rmse']:.1f}, sMAPE {r['smape']:.3f}%, MASE {r['mase']:.4f}"


def main():
    parse_args(sys.argv[1:])
    if CROSSCHECK:
        for run in TASKS:
            crosscheck(run)
        return
    if WORKER:
        cfg = config(WORKER)
        r = run_torch(WORKER, cfg, os.path.join(OUT, "torch-" + WORKER))
        print(json.dumps(r), flush=True)
        return
    os.makedirs(OUT, exist_ok=True)
    print(f"seqtask_vs_torch: {time.strftime('%F %H:%M', time.gmtime())} UTC, torch {torch.__version__}, out {OUT}, "
          f"tasks {' '.join(TASKS)}{', parallel' if PARALLEL else ''}", flush=True)
    lines = []
    for run in TASKS:
        cfg = config(run)
        worker_cmd = [sys.executable, os.path.abspath(__file__), "--worker", run, "--out", OUT] + (["--time", TIME] if TIME else [])
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        need_rnnc_first = cfg["flags"].get("tokenizer", "").startswith("word")  # PyTorch reads rnnc's vocabulary
        if TORCH_ONLY:
            t = json.loads(subprocess.run(["taskset", "-c", "1" if PARALLEL else "0"] + worker_cmd, check=True,
                                          capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1])
        elif PARALLEL and not need_rnnc_first:
            w = subprocess.Popen(["taskset", "-c", "1"] + worker_cmd, stdout=subprocess.PIPE, text=True, env=env)
            run_rnnc(run, 0)
            t = json.loads(w.communicate()[0].strip().splitlines()[-1])
        elif PARALLEL:
            # the word vocabulary must exist before PyTorch starts: a 1-step rnnc run makes it (deterministic)
            vdir = os.path.join(OUT, run)
            pre = subprocess.run([SEQTASKS, "--config", run], check=True, capture_output=True, text=True).stdout
            cmdline = dict(l.split("=", 1) for l in pre.strip().splitlines())["COMMAND"].split()
            cmdline[cmdline.index("-o") + 1] = vdir
            i = cmdline.index("--time")
            cmdline[i + 1] = "1"
            subprocess.run(["taskset", "-c", "1"] + cmdline, check=True, capture_output=True,
                           env=dict(env, RNNC_NO_PROGRESS="1"))
            os.makedirs(os.path.join(OUT, "vocab-" + run), exist_ok=True)
            os.replace(os.path.join(vdir, "best.safetensors"), os.path.join(OUT, "vocab-" + run, "best.safetensors"))
            w = subprocess.Popen(["taskset", "-c", "1"] + worker_cmd + ["--vocab-from", os.path.join(OUT, "vocab-" + run)],
                                 stdout=subprocess.PIPE, text=True, env=env)
            run_rnnc(run, 0)
            t = json.loads(w.communicate()[0].strip().splitlines()[-1])
        else:
            run_rnnc(run, 0)
            t = json.loads(subprocess.run(["taskset", "-c", "0"] + worker_cmd, check=True, capture_output=True, text=True,
                                          env=env).stdout.strip().splitlines()[-1])
        r = rnnc_result(run)
        kind = cfg["TASK"]
        lines.append(f"{run:13} {cfg['BUDGET']:>5}  rnnc    {r['steps']:6d} steps {r['epochs']:6.2f} epochs  {describe(kind, r)}")
        lines.append(f"{'':13} {'':>5}  PyTorch {t['steps']:6d} steps {t['epochs']:6.2f} epochs  {describe(kind, t)}")
        if kind == "forecast":
            lines.append(f"{'':13} {'':>5}  seasonal naive MAE {r['naive_mae']:.1f}: rnnc {100 * (1 - r['mae'] / r['naive_mae']):.1f}% below, "
                         f"PyTorch {100 * (1 - t['mae'] / r['naive_mae']):.1f}% below")
        print("\n".join(lines[-3 if kind == "forecast" else -2:]), flush=True)
    print("\nsummary (test split; budgets per run, one core and one thread each)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
