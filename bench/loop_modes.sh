#!/bin/bash
# The recurrent time loops' schedules (rnnc_loop_mode: serial, units, rows, dirs, wave, auto) against
# each other in paired, interleaved runs of the same binary: every round runs each mode once, in
# the order given, and the median over the rounds is printed with its ratio to the first mode and
# the load average before and after. Mode "1t" is the same command on one thread (OMP_NUM_THREADS=
# OPENBLAS_NUM_THREADS=1, AUTO, which is serial there); the others run on THREADS threads (2).
#
#   bench/loop_modes.sh train ROUNDS "bench_train args" MODE...   tokens/s of full training steps
#   bench/loop_modes.sh rnn ROUNDS "bench_rnn args" MODE...       the stack alone: forward and backward ms
#
# e.g. bench/loop_modes.sh train 5 "--bidirectional --hidden 512 --layers 1 --steps 4" 1t rows dirs
#      bench/loop_modes.sh rnn 5 "lstm 256 2 8 64 64 10" serial units wave
# Binaries: BUILD (default build), i.e. $BUILD/bench_train and $BUILD/bench_rnn.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
TH=${THREADS:-2}
[ $# -ge 4 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
kind=$1 rounds=$2 args=$3
shift 3
case $kind in train|rnn) ;; *) echo "loop_modes: first argument: train or rnn, not $kind" >&2; exit 2 ;; esac
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $kind $args; threads $TH; $rounds rounds"
for ((r = 0; r < rounds; r++)); do
    for m in "$@"; do
        th=$TH mode=$m
        [ "$m" = 1t ] && th=1 mode=auto
        if [ "$kind" = train ]; then
            # shellcheck disable=SC2086
            out=$(OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th "$BUILD/bench_train" $args --loop "$mode" --no-sgemm)
            echo "$m $(sed -n 's/.*tokens_per_s=\([0-9.]*\).*/\1/p' <<<"$out") 0"
        else
            # shellcheck disable=SC2086
            out=$(OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th BENCH_LOOP=$mode "$BUILD/bench_rnn" $args)
            echo "$m $(sed -n 's/.*fwd_ms=\([0-9.]*\) bwd_ms=\([0-9.]*\).*/\1 \2/p' <<<"$out")"
        fi
    done
done | KIND=$kind python3 -c '
import os, statistics, sys
runs = {}
for line in sys.stdin:
    k, a, b = line.split()
    runs.setdefault(k, []).append((float(a), float(b)))
first = None
for k, v in runs.items():
    a = statistics.median(x[0] for x in v)
    b = statistics.median(x[1] for x in v)
    if os.environ["KIND"] == "train":
        first = first or a
        print(f"  {k:6s} {a:10.0f} tokens/s  x{a / first:5.2f}   runs: {[round(x[0]) for x in v]}")
    else:
        first = first or (a + b)
        print(f"  {k:6s} fwd {a:8.2f} ms  bwd {b:8.2f} ms  fwd+bwd x{first / (a + b):5.2f} of the first   "
              f"fwd runs: {[x[0] for x in v]}")
'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
