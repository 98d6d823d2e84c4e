"""What a constrained decode would buy the lexical-stress tagger (issue 13): rnnc's trained tagger,
loaded into the PyTorch model of bench/seqtask_vs_torch.py (the crosscheck shows the two compute
the same tags), scored on the test split twice with bench/baselines.py's stress scorer:

  argmax       each phoneme its most probable tag (what `rnnc tag predict` prints);
  one-primary  the most probable tag sequence with exactly one primary stress ("1"), on a vowel:
               every phoneme its most probable tag other than "1", then the one vowel where
               log p(1) - log p(its best other tag) is largest gets "1". A line without a vowel
               keeps its argmax tags.

A phoneme is a vowel when the training data tags it with a digit (ARPAbet's vowels carry the
stress digit). The decode is exact for its constraint: the per-step distributions are independent
given the input, so the best sequence under "exactly one 1" is the argmax elsewhere plus the single
best place for the 1. About 1% of the data's own patterns break the constraint (compounds with two
primary stresses, function words with none): the scorer prints how many test lines do.

Usage: /usr/bin/python3 bench/stress_decode.py MODEL.safetensors [MODEL.safetensors...] [--out DIR]
  writes DIR/argmax.pred and DIR/one-primary.pred (default DIR: the first model's folder) and
  prints the scorer's table for each. Each model's sizes (layers, hidden, embed, direction) are
  read from its tensors. With several models (trained on the same data) the decode runs on the mean
  of their per-step distributions: an ensemble. Runs on one thread; about a minute for a 2x256
  bidirectional model.
"""
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import baselines  # noqa: E402
import seqtask_vs_torch as svt  # noqa: E402


def shapes(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        head = json.loads(f.read(n))
    return {k: v["shape"] for k, v in head.items() if k != "__metadata__"}


def step_probs(model):
    """The tagger of MODEL.safetensors in PyTorch: its Items (data, labels) and, per test line, the
    (L, tags) matrix of per-step probabilities."""
    if not os.path.exists(model):
        sys.exit(f"stress_decode: {model}: no such file")
    sh = shapes(model)
    if "rnn.weight_hh_l0" not in sh or "embedding.weight" not in sh:
        sys.exit(f"stress_decode: {model}: not a tagger over tokens (no rnn.weight_hh_l0 / embedding.weight)")
    cfg = svt.config("stress")
    f = cfg["flags"]
    f["layers"] = str(sum(1 for k in sh if k.startswith("rnn.weight_ih_l") and not k.endswith("_reverse")))
    f["hidden"] = str(sh["rnn.weight_hh_l0"][1])
    f["embed"] = str(sh["embedding.weight"][1])
    f["bidirectional"] = "rnn.weight_hh_l0_reverse" in sh
    data = svt.Items("tag", cfg, model)
    m = data.model()
    svt.load_rnnc_weights(m, model)
    m.eval()
    xs, probs = data.test[0], []
    with torch.no_grad():
        for k in range(0, len(xs), 64):
            idx = list(range(k, min(k + 64, len(xs))))
            (x, lengths), _ = data.batch(data.test, idx)
            pr = torch.softmax(m(x, lengths), -1)
            probs.extend(pr[r, :len(xs[i])] for r, i in enumerate(idx))
    return data, probs


def main():
    args = [a for a in sys.argv[1:]]
    out = None
    if "--out" in args:
        i = args.index("--out")
        out = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.exit("usage: stress_decode.py MODEL.safetensors [MODEL.safetensors...] [--out DIR]")
    out = out or os.path.dirname(os.path.abspath(args[0]))
    torch.set_num_threads(1)
    data, probs = step_probs(args[0])
    for model in args[1:]:  # an ensemble: the mean of the models' distributions
        d, p = step_probs(model)
        if d.labels != data.labels or d.test[0] != data.test[0]:
            sys.exit(f"stress_decode: {model}: other tags or another vocabulary than {args[0]}")
        probs = [a + b for a, b in zip(probs, p)]
    labels = data.labels
    one = labels.index("1")
    vowels = set()
    for ph, tg in baselines.read_tsv("stress", "train"):
        for p, t in zip(ph.split(" "), tg.split(" ")):
            if t.isdigit():
                vowels.add(p)
    xs = data.test[0]
    arg, con = [], []
    for i in range(len(xs)):
        L = len(xs[i])
        p = torch.log(probs[i] / len(args))
        a = p.argmax(-1).tolist()
        arg.append([labels[j] for j in a])
        phs = data.test_rows[i][0].split(" ")
        vpos = [t for t in range(L) if phs[t] in vowels]
        if not vpos:
            con.append(list(arg[-1]))
            continue
        other = p.clone()
        other[:, one] = float("-inf")
        b = other.argmax(-1).tolist()
        gain = [float(p[t, one] - other[t, b[t]]) for t in vpos]
        star = vpos[max(range(len(vpos)), key=lambda q: gain[q])]
        con.append([labels[one] if t == star else labels[b[t]] for t in range(L)])
    os.makedirs(out, exist_ok=True)
    for name, pred in (("argmax", arg), ("one-primary", con)):
        path = os.path.join(out, name + ".pred")
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write("".join(" ".join(t) + "\n" for t in pred))
        os.replace(path + ".tmp", path)
        baselines.stress_score(path, False)


if __name__ == "__main__":
    main()
