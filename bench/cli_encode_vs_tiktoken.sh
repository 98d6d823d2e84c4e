#!/usr/bin/env bash
# Command-line encoding as a whole process against tiktoken's library call (issue 17, part 3):
# `rnnc tokenizer encode -t ENCODING FILE > /dev/null` timed from fork to exit (wall clock, bash's
# EPOCHREALTIME), against tiktoken's in-process `encode_ordinary` of the same text (npm tiktoken,
# its WASM build, under node; the time of the call alone, without node's start or the file read).
# The two alternate, ROUNDS rounds (each round: one node process timing two calls, then each rnnc
# variant once, in an order rotated from round to round), so load from other jobs hits both alike;
# every figure is the best of its rounds.
# rnnc variants: text ids (the default), --format binary, one thread, and with the rank-file cache
# off (RNNC_BPE_CACHE=0: the rank file parsed as on a first run); also `rnnc --version` (the
# process start). The ids of rnnc's binary output are checked against tiktoken's.
# Usage: bench/cli_encode_vs_tiktoken.sh [ENCODING] [ROUNDS]     env: RNNC (default build/rnnc), FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
enc=${1:-cl100k_base}
rounds=${2:-3}
file=${FILE:-data/sotu.txt}
[ -f "$file" ] || { echo "cli_encode_vs_tiktoken: $file missing; run scripts/fetch-data.sh" >&2; exit 1; }
if [ -z "${RNNC:-}" ]; then cmake --build build --target rnnc -j2 >/dev/null; RNNC=build/rnnc; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run first: it writes the rank file's cache if there is none (what a first run pays is the
# RNNC_BPE_CACHE=0 line), and the binary ids for the check.
"$RNNC" tokenizer encode -t "$enc" --format binary -o "$tmp/ids.npy" "$file"

# "WALL CPU" seconds of one run of "$@" with stdout to /dev/null: wall clock from fork to exit,
# and the process's CPU time, all threads, user + system (bash's `times`, milliseconds)
cpu_children() { awk 'END { split($0, f, /[ms ]+/); print f[1] * 60 + f[2] + f[3] * 60 + f[4] }' "$tmp/times"; }
wall() {
  local c0 c1 t0 t1
  times >"$tmp/times"; c0=$(cpu_children); t0=$EPOCHREALTIME
  "$@" >/dev/null
  t1=$EPOCHREALTIME; times >"$tmp/times"; c1=$(cpu_children)
  awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" 'BEGIN { printf "%.4f %.3f\n", b - a, d - c }' >>"$tmp/wall"
}
best() { sort -g | head -1; }
get() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }

names=(text binary one_thread no_cache start)
declare -A times
tk=() tkc=() match=yes
echo "cli_encode_vs_tiktoken: $enc on $file ($(wc -c <"$file") bytes), $rounds rounds, $(nproc) cores; load average at start:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
for ((r = 1; r <= rounds; r++)); do
  line=$(node bench/_tiktoken_ordinary.js "$enc" "$file" 2 "$tmp/ids.npy")
  tk+=("$(get best_s "$line")"); tkc+=("$(get cpu_s "$line")")
  m=$(get match "$line"); [ "$m" = yes ] || match="$m"
  # the variants in a rotated order, so that none is always the first after node's run
  for ((k = 0; k < ${#names[@]}; k++)); do
    n=${names[$(((k + r) % ${#names[@]}))]}
    case $n in
      text) wall "$RNNC" tokenizer encode -t "$enc" "$file" ;;
      binary) wall "$RNNC" tokenizer encode -t "$enc" --format binary "$file" ;;
      one_thread) OMP_NUM_THREADS=1 wall "$RNNC" tokenizer encode -t "$enc" "$file" ;;
      no_cache) RNNC_BPE_CACHE=0 wall "$RNNC" tokenizer encode -t "$enc" "$file" ;;
      start) wall "$RNNC" --version ;;
    esac
    times[$n]+="$(tail -1 "$tmp/wall"),"
  done
done
tk_best=$(printf '%s\n' "${tk[@]}" | best)
tkc_best=$(printf '%s\n' "${tkc[@]}" | best)
awk -v s="$tk_best" -v c="$tkc_best" -v n="$(get ids "$line")" 'BEGIN {
  printf "tiktoken encode_ordinary, in-process (WASM, 1 thread): best %.3f s wall, %.3f s CPU (%d ids)\n", s, c, n }'
label() {
  case $1 in
    text) echo "rnnc tokenizer encode, whole process, text ids" ;;
    binary) echo "rnnc tokenizer encode --format binary, whole process" ;;
    one_thread) echo "rnnc tokenizer encode, OMP_NUM_THREADS=1" ;;
    no_cache) echo "rnnc tokenizer encode, RNNC_BPE_CACHE=0 (rank file parsed)" ;;
    start) echo "rnnc --version (process start)" ;;
  esac
}
echo "(rnnc: best of the rounds, wall from fork to exit and CPU time of all threads; ratio = tiktoken's / rnnc's)"
for n in "${names[@]}"; do
  b=$(tr ',' '\n' <<<"${times[$n]}" | grep . | awk '{ print $1 }' | best)
  c=$(tr ',' '\n' <<<"${times[$n]}" | grep . | awk '{ print $2 }' | best)
  if [ "$n" = start ]; then
    awk -v l="$(label "$n")" -v s="$b" -v c="$c" 'BEGIN { printf "%-58s %.4f s wall, %.3f s CPU\n", l, s, c }'
  else
    awk -v l="$(label "$n")" -v s="$b" -v c="$c" -v t="$tk_best" -v tc="$tkc_best" 'BEGIN {
      printf "%-58s %.4f s wall (ratio %.1fx), %.3f s CPU (ratio %.1fx)\n", l, s, t / s, c, (c > 0 ? tc / c : 0) }'
  fi
done
echo "load average at end:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
echo "ids identical to tiktoken's encode_ordinary: $match"
[ "$match" = yes ]
