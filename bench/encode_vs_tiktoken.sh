#!/usr/bin/env bash
# BPE encoding throughput: rnnc vs tiktoken (npm package, WASM build, under node), same machine,
# same run. Encodes data/sotu.txt with cl100k_base (special tokens allowed), alternating one
# tiktoken run and one rnnc run RUNS times (so load from other jobs hits both alike), checks that
# the ids are identical (count + FNV-1a-64), and prints the medians as MB/s, MB/s per core and
# ratios; then rnnc's time per byte on a 1 MB whitespace-free string vs 1 MB of ordinary text.
# Usage: bench/encode_vs_tiktoken.sh [ENCODING] [RUNS]      (MB = 10^6 bytes)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
enc=${1:-cl100k_base}
runs=${2:-5}
file=data/sotu.txt
[ -f "$file" ] || { echo "encode_vs_tiktoken: $file missing; run scripts/fetch-data.sh" >&2; exit 1; }
cmake --build build --target bench_encode -j2 >/dev/null
threads=${OMP_NUM_THREADS:-$(nproc)}
echo "encode_vs_tiktoken: $enc on $file ($(wc -c <"$file") bytes), $runs alternating runs, $(nproc) cores, OMP_NUM_THREADS=$threads"
get() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
tk_t=() r1_t=() rn_t=() nows=() ord=() tk_c=() r1_c=() cnows=() cord=()
status=0 tk_ids= tk_fnv= bytes=
for ((i = 1; i <= runs; i++)); do
  tk=$(node bench/_tiktoken_encode.js "$enc" "$file" 1)
  rn=$(OMP_NUM_THREADS=$threads ./build/bench_encode "$enc" "$file" 1)
  bytes=$(get bytes "$tk"); tk_ids=$(get ids "$tk"); tk_fnv=$(get fnv "$tk")
  tk_t+=("$(get median_s "$tk")"); tk_c+=("$(get cpu_s "$tk")")
  while read -r line; do
    case "$line" in
    rnnc*)
      if [ "$(get ids "$line")" != "$tk_ids" ] || [ "$(get fnv "$line")" != "$tk_fnv" ]; then
        echo "MISMATCH: rnnc ($(get threads "$line") threads) ids differ from tiktoken's: $line"; status=1
      fi
      if [ "$(get threads "$line")" = 1 ]; then r1_t+=("$(get median_s "$line")"); r1_c+=("$(get cpu_s "$line")")
      else rn_t+=("$(get median_s "$line")"); fi ;;
    nows*) nows+=("$(get ns_per_byte "$line")"); ord+=("$(get ordinary_ns_per_byte "$line")")
      cnows+=("$(get cpu_ns_per_byte "$line")"); cord+=("$(get cpu_ordinary_ns_per_byte "$line")") ;;
    esac
  done <<<"$rn"
done
tk_m=$(printf '%s\n' "${tk_t[@]}" | median)
r1_m=$(printf '%s\n' "${r1_t[@]}" | median)
awk -v b="$bytes" -v s="$tk_m" 'BEGIN { printf "tiktoken (WASM, 1 thread): median %.3f s, %.2f MB/s\n", s, b/s/1e6 }'
awk -v b="$bytes" -v s="$r1_m" -v ts="$tk_m" 'BEGIN {
  printf "rnnc 1 thread:  median %.3f s, %.1f MB/s per core, ratio %.1fx\n", s, b/s/1e6, ts/s }'
if [ ${#rn_t[@]} -gt 0 ]; then
  rn_m=$(printf '%s\n' "${rn_t[@]}" | median)
  awk -v b="$bytes" -v s="$rn_m" -v ts="$tk_m" -v t="$threads" 'BEGIN {
    printf "rnnc %d threads: median %.3f s, %.1f MB/s (%.1f MB/s per core), ratio %.1fx\n", t, s, b/s/1e6, b/s/1e6/t, ts/s }'
fi
tk_cm=$(printf '%s\n' "${tk_c[@]}" | median); r1_cm=$(printf '%s\n' "${r1_c[@]}" | median)
awk -v b="$bytes" -v s="$r1_cm" -v ts="$tk_cm" 'BEGIN {
  printf "by CPU time (1 thread each; leaves out waiting for a core): tiktoken %.2f MB/s, rnnc %.1f MB/s, ratio %.1fx\n", b/ts/1e6, b/s/1e6, ts/s }'
nw=$(printf '%s\n' "${nows[@]}" | median); od=$(printf '%s\n' "${ord[@]}" | median)
awk -v n="$nw" -v o="$od" 'BEGIN { printf "no-whitespace 1 MB: %.1f ns/byte vs ordinary text %.1f ns/byte (1 thread): ratio %.2fx (goal <= 3x)\n", n, o, n/o }'
nw=$(printf '%s\n' "${cnows[@]}" | median); od=$(printf '%s\n' "${cord[@]}" | median)
awk -v n="$nw" -v o="$od" 'BEGIN { printf "no-whitespace 1 MB by CPU time: %.1f ns/byte vs %.1f ns/byte: ratio %.2fx\n", n, o, n/o }'
[ $status = 0 ] && echo "ids identical to tiktoken's in every run ($tk_ids ids, fnv $tk_fnv)"
exit $status
