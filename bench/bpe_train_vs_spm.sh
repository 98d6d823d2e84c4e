#!/usr/bin/env bash
# BPE training, rnnc vs sentencepiece's spm_train --model_type=bpe, on the SOTU corpus split into
# sentences (one per line), same thread count, side by side in one run. Prints the median wall time
# and peak memory (/usr/bin/time -v "Maximum resident set size") of each tool and their ratios.
#
# usage: bench/bpe_train_vs_spm.sh [BUILD_DIR]
#   env: SIZES="8000 32000"  THREADS=2  REPEATS=5  CORPUS=data/sotu.txt
#
# spm_train settings, chosen so that it trains on the whole corpus as byte-level BPE:
#   --input_sentence_size=0        use every sentence (no sampling)
#   --max_sentence_length=100000   skip no sentence for being long (the default is 4192 bytes)
#   --character_coverage=1.0       keep every character
#   --byte_fallback=true           256 byte pieces, like rnnc's byte tokens
# rnnc uses the cl100k pre-tokenizer pattern (its default).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
SIZES=${SIZES:-"8000 32000"}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
CORPUS=${CORPUS:-$root/data/sotu.txt}

for tool in spm_train /usr/bin/time perl; do
  command -v "$tool" >/dev/null || { echo "bpe_train_vs_spm: $tool is missing (make deps-bench)" >&2; exit 1; }
done
[ -r "$CORPUS" ] || { echo "bpe_train_vs_spm: $CORPUS is missing (make data)" >&2; exit 1; }
cmake --build "$build" --target bench_bpe_train -j2 >/dev/null
bench="$build/bench_bpe_train"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Sentences: a line break after . ! or ? followed by blanks and a capital, digit, quote or
# parenthesis; the speeches' own line breaks stay; blank lines go.
perl -ne 's/([.!?])[ \t]+(?=["'"'"'(A-Z0-9])/$1\n/g; print' "$CORPUS" | grep -v '^[[:space:]]*$' > "$tmp/sents.txt"
echo "corpus: $CORPUS -> $(wc -l < "$tmp/sents.txt") sentences, $(wc -c < "$tmp/sents.txt") bytes; threads $THREADS; $REPEATS runs each"

# run NAME CMD...: runs CMD under /usr/bin/time -v, appends "wall_s rss_kb" to $tmp/NAME.
run() {
  local name=$1; shift
  /usr/bin/time -v -o "$tmp/time.txt" "$@" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$tmp/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time.txt")
  echo "$wall $rss" >> "$tmp/$name"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-7s %12s %12s %12s %12s %10s %10s\n' vocab rnnc_s spm_s speedup rnnc_MB spm_MB mem_ratio
for V in $SIZES; do
  rm -f "$tmp/rnnc_$V" "$tmp/spm_$V"
  for ((r = 0; r < REPEATS; r++)); do
    run "rnnc_$V" "$bench" "$tmp/sents.txt" "$V" "$THREADS" "$tmp/rnnc_$V.tiktoken"
    run "spm_$V" spm_train --model_type=bpe --vocab_size="$V" --input="$tmp/sents.txt" \
      --model_prefix="$tmp/spm_$V" --num_threads="$THREADS" --input_sentence_size=0 \
      --max_sentence_length=100000 --character_coverage=1.0 --byte_fallback=true
  done
  rt=$(cut -d' ' -f1 "$tmp/rnnc_$V" | median); st=$(cut -d' ' -f1 "$tmp/spm_$V" | median)
  rm_=$(cut -d' ' -f2 "$tmp/rnnc_$V" | median); sm=$(cut -d' ' -f2 "$tmp/spm_$V" | median)
  awk -v V="$V" -v rt="$rt" -v st="$st" -v rm="$rm_" -v sm="$sm" 'BEGIN {
    printf "%-7s %12.3f %12.3f %11.1fx %12.1f %10.1f %9.2fx\n", V, rt, st, st / rt, rm / 1024, sm / 1024, sm / rm }'
done
echo "(speedup = spm time / rnnc time; mem_ratio = spm peak RSS / rnnc peak RSS; medians of $REPEATS runs)"
tail -n 1 "$tmp"/rnnc_*.log | grep 'rnnc bpe train' || true
