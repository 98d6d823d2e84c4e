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

With --nbest K it also prints how often the truth is among the K most probable patterns with
exactly one "1", on a vowel (exact K-best under the constraint: a beam of K per "primary seen yet" state, exact
because the per-step scores add up independently), for the full pattern and for the place of the
primary stress, at 1, 2, 3, 5 and K: what a reranker of the tagger's K-best could reach at most.

Usage: /usr/bin/python3 bench/stress_decode.py MODEL.safetensors [MODEL.safetensors...] [--out DIR] [--nbest K]
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


def kbest_one_primary(p, labels, one, vowels, K):
    """The K best tag sequences (log-probability, tags) of the (L, tags) log-probabilities p that
    have exactly one primary stress, on one of the positions in vowels (as the one-primary decode
    places it); fewer when fewer exist."""
    beams = {0: [(0.0, ())], 1: []}
    for t in range(p.shape[0]):
        row = p[t].tolist()
        nxt = {0: [], 1: []}
        for st, beam in beams.items():
            for sc, seq in beam:
                for j, lp in enumerate(row):
                    ns = st + (j == one)
                    if ns < 2 and (j != one or t in vowels):
                        nxt[ns].append((sc + lp, seq + (j,)))
        beams = {st: sorted(b, key=lambda e: -e[0])[:K] for st, b in nxt.items()}
    return [(sc, [labels[j] for j in seq]) for sc, seq in beams[1]]


def nbest_oracle(data, probs, n_models, K, con, vposs, gains):
    labels = data.labels
    one = labels.index("1")
    ks = sorted({k for k in (1, 2, 3, 5, K) if k <= K})
    full, prim = {k: 0 for k in ks}, {k: 0 for k in ks}
    for i in range(len(probs)):
        truth = data.test_rows[i][1].split(" ")
        p = torch.log(probs[i] / n_models)
        best = kbest_one_primary(p, labels, one, set(vposs[i]), K)
        if best and "1" in con[i] and best[0][1] != con[i]:  # the two decodes must agree on the best
            sys.exit(f"stress_decode: test line {i + 1}: the K-best's first pattern is not the one-primary decode's")
        fr = next((r for r, (_, tg) in enumerate(best) if tg == truth), None)
        # the places of the primary stress by rank of the one-primary decode's gain (main)
        places = [vposs[i][q] for q in sorted(range(len(vposs[i])), key=lambda q: -gains[i][q])]
        tp = baselines.primary(truth)
        pr = places.index(tp[0]) if len(tp) == 1 and tp[0] in places else None
        for k in ks:
            full[k] += fr is not None and fr < k
            prim[k] += pr is not None and pr < k
    n = len(probs)
    print(f"stress_decode: the truth among the k most probable one-primary patterns ({n} test lines; "
          f"for the primary stress, its k most probable places; {sum(len(baselines.primary(r[1].split(' '))) != 1 for r in data.test_rows)} "
          f"lines have no or several primary stresses and count as misses):")
    print("  k  " + "  ".join(f"{k:>7}" for k in ks))
    print("  full pattern   " + "  ".join(f"{100 * full[k] / n:6.2f}%" for k in ks))
    print("  primary stress " + "  ".join(f"{100 * prim[k] / n:6.2f}%" for k in ks))


def main():
    args = [a for a in sys.argv[1:]]
    out = None
    nbest = 0
    if "--nbest" in args:
        i = args.index("--nbest")
        if i + 1 >= len(args) or not args[i + 1].isdigit() or int(args[i + 1]) < 1:
            sys.exit("stress_decode: --nbest needs a whole number >= 1")
        nbest = int(args[i + 1])
        del args[i:i + 2]
    if "--out" in args:
        i = args.index("--out")
        if i + 1 >= len(args) or args[i + 1].startswith("--"):
            sys.exit("stress_decode: --out needs a value")
        out = args[i + 1]
        del args[i:i + 2]
    if "-h" in args or "--help" in args:
        print(__doc__)
        return
    unknown = [a for a in args if a.startswith("-")]
    if unknown:
        sys.exit(f"stress_decode: unknown flag {unknown[0]} (--help lists them)")
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
    arg, con, vposs, gains = [], [], [], []
    for i in range(len(xs)):
        L = len(xs[i])
        p = torch.log(probs[i] / len(args))
        a = p.argmax(-1).tolist()
        arg.append([labels[j] for j in a])
        phs = data.test_rows[i][0].split(" ")
        vpos = [t for t in range(L) if phs[t] in vowels]
        vposs.append(vpos)
        gains.append([])
        if not vpos:
            con.append(list(arg[-1]))
            continue
        other = p.clone()
        other[:, one] = float("-inf")
        b = other.argmax(-1).tolist()
        # the best pattern with its 1 at t scores log p(1 at t) - log p(t's best other tag) above
        # the sum of every phoneme's best other tag
        gain = gains[-1] = [float(p[t, one] - other[t, b[t]]) for t in vpos]
        star = vpos[max(range(len(vpos)), key=lambda q: gain[q])]
        con.append([labels[one] if t == star else labels[b[t]] for t in range(L)])
    os.makedirs(out, exist_ok=True)
    for name, pred in (("argmax", arg), ("one-primary", con)):
        path = os.path.join(out, name + ".pred")
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write("".join(" ".join(t) + "\n" for t in pred))
        os.replace(path + ".tmp", path)
        baselines.stress_score(path, False)
    if nbest:
        nbest_oracle(data, probs, len(args), nbest, con, vposs, gains)


if __name__ == "__main__":
    main()
