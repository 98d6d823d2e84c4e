#!/usr/bin/env bash
# Batch-1 next-token steps, rnnc against ONNX Runtime on rnnc's own exported model, in the same run
# (issue 15): a char-sized LSTM language model (V 96, E 64, 2 layers of 512, random weights from
# rnnc init --seed 1) is exported with rnnc export --format onnx; rnnc's generator
# (build/bench_sample --model, the per-token path of rnnc sample) and ONNX Runtime
# (onnxruntime-node 1.31 from tools/onnx, bench/_ort_steps.js: the exported graph run on [1, 1] ids
# with the state fed back) each generate TOKENS tokens one at a time (softmax at temperature 1,
# one draw, fed back), with 1 and with 2 threads (OMP_NUM_THREADS; ORT's intra-op threads), each
# with its library's default wait policy (until 2026-12-07 rnnc ran with OMP_WAIT_POLICY=passive,
# which puts a thread to sleep at each of a token's barriers: slower on two threads than on one
# once a token takes about 0.1 ms).
# The four are interleaved round by round, so machine load hits them alike; each prints the median
# tokens/s of REPEATS timed runs after a warm-up; the table gives the median over the rounds of
# each rate and of each round's ratio (rnnc and ORT of the same round saw the same load).
# Also: ORT's per-call floor, the same loop on a 1-unit LSTM (what a step costs ORT through node
# before any arithmetic). Goal: rnnc >= 1.5x ONNX Runtime.
# Usage: bench/onnx_vs_rnnc.sh [--tokens 1000] [--repeats 5] [--rounds 3]   (BUILD=dir, default build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
tokens=1000 repeats=5 rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --tokens) tokens=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: onnx_vs_rnnc.sh [--tokens N] [--repeats R] [--rounds K]" >&2; exit 2 ;;
  esac
done
cmake --build "$build" --target rnnc bench_sample >/dev/null
bash "$root/scripts/install-onnxruntime.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
L=2 H=512
"$build/rnnc" init --cell lstm --vocab 96 --embed 64 --hidden $H --layers $L --seed 1 -o "$tmp/lm.safetensors" >/dev/null
"$build/rnnc" export --format onnx "$tmp/lm.safetensors" -o "$tmp/lm.onnx" >/dev/null
"$build/rnnc" init --cell lstm --vocab 2 --embed 1 --hidden 1 --layers 1 --seed 1 -o "$tmp/tiny.safetensors" >/dev/null
"$build/rnnc" export --format onnx "$tmp/tiny.safetensors" -o "$tmp/tiny.onnx" >/dev/null

rate() { sed -n 's/.*median_tok_s=\([0-9.]*\).*/\1/p'; }
: >"$tmp/rates"
echo "batch-1 LSTM ${L}x${H} (V 96, E 64) next-token steps, $tokens tokens x $repeats repeats, $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    a=$(OMP_NUM_THREADS=$t "$build/bench_sample" --model "$tmp/lm.safetensors" --tokens "$tokens" --repeats "$repeats" | rate)
    b=$(node "$root/bench/_ort_steps.js" "$tmp/lm.onnx" $L $H $t "$tokens" "$repeats" | rate)
    q=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
    echo "  round $r, $t thread(s): rnnc $a tokens/s, ONNX Runtime $b tokens/s, ratio ${q}x"
    echo "rnnc $t $a" >>"$tmp/rates"
    echo "ort $t $b" >>"$tmp/rates"
    echo "ratio $t $q" >>"$tmp/rates"
  done
done
floor=$(node "$root/bench/_ort_steps.js" "$tmp/tiny.onnx" 1 1 1 "$tokens" "$repeats" | rate)

# median over the rounds of impl $1 at $2 threads
med() { awk -v i="$1" -v t="$2" '$1 == i && $2 == t { print $3 }' "$tmp/rates" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
r1=$(med rnnc 1) r2=$(med rnnc 2) o1=$(med ort 1) o2=$(med ort 2) q1=$(med ratio 1) q2=$(med ratio 2)
awk -v r1="$r1" -v r2="$r2" -v o1="$o1" -v o2="$o2" -v q1="$q1" -v q2="$q2" -v floor="$floor" -v L=$L -v H=$H 'BEGIN {
  printf "\n| | 1 thread | 2 threads | best |\n|---|---:|---:|---:|\n"
  rb = r1 > r2 ? r1 : r2; ob = o1 > o2 ? o1 : o2
  printf "| rnnc tokens/s | %.0f | %.0f | %.0f |\n", r1, r2, rb
  printf "| ONNX Runtime tokens/s | %.0f | %.0f | %.0f |\n", o1, o2, ob
  printf "| rnnc / ONNX Runtime (ratio of the medians) | %.2fx | %.2fx | %.2fx |\n", r1 / o1, r2 / o2, rb / ob
  printf "| median of the per-round ratios | %.2fx | %.2fx | |\n\n", q1, q2
  printf "ONNX Runtime per-call floor (a 1-unit LSTM through the same loop): %.0f steps/s\n", floor
  printf "onnx steps lstm H=%d L=%d V=96 batch 1: rnnc %.0f tokens/s, ONNX Runtime %.0f tokens/s, ratio %.2fx (target >= 1.5x)\n", H, L, rb, ob, rb / ob
}'
