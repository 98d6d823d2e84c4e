#!/usr/bin/env python3
"""Compares the float tensors of safetensors files, and optionally the training losses of two
runs' metrics.jsonl, within a relative tolerance (the MPI tests: N processes against one).

usage: st_compare.py A.safetensors B.safetensors [--tol 1e-5] [--prefix NAME] [--exact]
       st_compare.py --metrics A/metrics.jsonl B/metrics.jsonl [--tol 1e-5] [--exact]

A tensor agrees when max |a - b| <= tol * max(max |a|, 1e-3) (relative to the tensor's scale, so
elements near zero are held to the tensor's precision, not their own); --exact asks for equal
bytes. --metrics compares every step's training loss and continuous validation figures (loss,
perplexity, bits per byte, forecast errors), each relative to max(|a|, 1e-3); the figures of
decoded labels (TER, SER, accuracy, F1) are left out: an argmax near a tie may fall either way. Tensors whose names start with --prefix only (default: all). Prints the worst tensor and
exits 1 on any disagreement, 2 on a file that cannot be read."""
import json
import struct
import sys


def load(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    head = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in head.items():
        if name == '__metadata__':
            continue
        b, e = t['data_offsets']
        raw = data[base + b:base + e]
        if t['dtype'] == 'F32':
            out[name] = ('F32', struct.unpack('<%df' % (len(raw) // 4), raw), raw)
        else:
            out[name] = (t['dtype'], None, raw)
    return out, head.get('__metadata__', {})


def close(a, b, tol):
    scale = max(max((abs(x) for x in a), default=0.0), 1e-3)
    worst = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
    return worst <= tol * scale, worst / scale


# Figures of decoded or predicted labels: an argmax near a tie may fall the other way on weights
# that differ in the 7th digit, and one token moves them by a whole count; not compared.
DISCRETE = {'val_ter', 'val_ser', 'val_acc', 'val_seq_acc', 'val_macro_f1', 'val_span_f1'}


def metrics(path):
    rows = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            for k, v in r.items():  # the training loss and the continuous validation figures
                if (k == 'train_loss' or (k.startswith('val_') and k not in DISCRETE)) and isinstance(v, (int, float)):
                    rows[(int(r['step']), k)] = v
    return rows


def main(argv):
    tol, exact, prefix, files, mode = 1e-5, False, '', [], 'st'
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--tol':
            tol = float(argv[i + 1]); i += 2; continue
        if a == '--prefix':
            prefix = argv[i + 1]; i += 2; continue
        if a == '--exact':
            exact = True
        elif a == '--metrics':
            mode = 'metrics'
        else:
            files.append(a)
        i += 1
    if len(files) != 2:
        print(__doc__)
        return 2
    if mode == 'metrics':
        a, b = metrics(files[0]), metrics(files[1])
        if set(a) != set(b):
            print('metrics differ in their rows: %s' % sorted(set(a) ^ set(b))[:5])
            return 1
        worst, at = 0.0, None
        for k in sorted(a):
            d = abs(a[k] - b[k]) / max(abs(a[k]), 1e-3)
            if (exact and a[k] != b[k]) or d > worst:
                worst, at = d, k
        ok = worst == 0 if exact else worst <= tol
        print('%d metric rows, worst relative difference %.3g (step %s %s)' % (len(a), worst, at[0] if at else '-', at[1] if at else ''))
        return 0 if ok else 1
    try:
        (ta, _), (tb, _) = load(files[0]), load(files[1])
    except (OSError, ValueError, struct.error) as e:
        print('cannot read: %s' % e)
        return 2
    names = sorted(n for n in ta if n.startswith(prefix))
    if sorted(n for n in tb if n.startswith(prefix)) != names:
        print('the files hold different tensors')
        return 1
    worst, at, bad = 0.0, None, 0
    for n in names:
        (da, va, ra), (db, vb, rb) = ta[n], tb[n]
        if da != db or len(ra) != len(rb):
            print('%s: dtype or size differs' % n)
            return 1
        if exact or va is None:
            ok, rel = ra == rb, 0.0 if ra == rb else float('inf')
        else:
            ok, rel = close(va, vb, tol)
        bad += not ok
        if rel > worst or at is None:
            worst, at = rel, n
    print('%d tensors, worst relative difference %.3g (%s)%s' % (len(names), worst, at, '' if not bad else ', %d over %g' % (bad, tol)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
