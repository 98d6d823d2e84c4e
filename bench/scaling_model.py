#!/usr/bin/env python3
"""A cost model of rnnc's data-parallel training on a cluster (issue 14, docs/SCALING.md).

Inputs, per model, measured by bench/mpi_scaling.sh --inputs (a JSON object per line):
  name, params (gradient floats), step_s (one rank's forward + backward + optimizer step at its
  per-rank batch, one thread), last_share (the share of the gradient that is ready only at the end
  of backward: the first layer and its embedding for a language model, the encoder for seq2seq),
  last_time (the share of backward spent producing that last part).

The model, weak scaling (each rank keeps its per-rank batch, the global batch is N times it, which
is how a cluster run is sized; --batch is the global batch):
  ring all-reduce   T_ar(S) = 2 (N-1)/N * S / BW + 2 (N-1) * alpha
  no overlap        T_step = T_c + T_ar(S)
  overlap           the gradient but its last part is summed while backward produces the last part
                    (per-layer buckets): exposed = T_ar(S_last) + max(0, T_ar(S - S_last) - w)
                    with w = last_time * T_back and T_back = 2/3 T_c (backward ~ twice forward)
  efficiency        E = T_c / T_step (1: perfect; the throughput of N ranks is N E one rank's)
Networks: 10 Gb/s Ethernet (TCP; alpha 30 us, 90% of the line rate) and 100 Gb/s (InfiniBand or
RoCE, RDMA; alpha 3 us, 90%). Those alphas and efficiencies are assumptions, not measurements; the
shared-memory all-reduce measured on this machine is printed beside for scale.

usage: scaling_model.py INPUTS.jsonl [--threads-per-rank K]
  --threads-per-rank K divides T_c by K x 0.8 (one rank per node running K threads at 80%
  parallel efficiency instead of one thread): the compute shrinks, the communication does not."""
import json
import sys

NETS = [("10 Gb/s", 10e9 / 8 * 0.9, 30e-6), ("100 Gb/s", 100e9 / 8 * 0.9, 3e-6)]
RANKS = [2, 8, 64]


def t_ar(nbytes, n, bw, alpha):
    return 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * alpha


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    k = 1.0
    if '--threads-per-rank' in argv:
        i = argv.index('--threads-per-rank')
        k = float(argv[i + 1]) * 0.8
        argv = argv[:i] + argv[i + 2:]
    models = [json.loads(line) for line in open(argv[0]) if line.strip()]
    print('| model | gradient | T_c per step | network | ' + ' | '.join('N = %d' % n for n in RANKS) +
          ' | communication > compute from |')
    print('|---|---|---|---|' + '---|' * len(RANKS) + '---|')
    for m in models:
        S = 4.0 * m['params']
        tc = m['step_s'] / k
        tb = 2.0 / 3.0 * tc
        s_last = S * m['last_share']
        w = m['last_time'] * tb
        for net, bw, alpha in NETS:
            cells = []
            for n in RANKS:
                plain = tc / (tc + t_ar(S, n, bw, alpha))
                exposed = t_ar(s_last, n, bw, alpha) + max(0.0, t_ar(S - s_last, n, bw, alpha) - w)
                over = tc / (tc + exposed)
                cells.append('%.0f%% (%.0f%%)' % (100 * plain, 100 * over))
            # the smallest N at which the all-reduce takes longer than the compute (no overlap)
            cross = next((n for n in range(2, 100001) if t_ar(S, n, bw, alpha) > tc), None)
            print('| %s | %.1f MB | %.0f ms | %s | %s | %s |' % (
                m['name'], S / 1e6, 1e3 * tc, net, ' | '.join(cells),
                'never (the ring sends at most 2 S: %.0f ms)' % (1e3 * 2 * S / bw) if cross is None else 'N = %d' % cross))
    print()
    print('Efficiency without overlap, (with backward overlapped, per-layer buckets).')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
