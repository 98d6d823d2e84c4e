#!/usr/bin/env bash
# Grapheme-to-phoneme on CMUdict (issue 5): two encoder-decoder LSTM configurations trained at the
# same time for a fixed wall-clock budget, each pinned to one of the two cores with one thread,
# then scored on the test split with greedy decoding and beam search (K=5).
#
# Usage: bench/g2p.sh [BUDGET_SECONDS=1800] [OUT_DIR=/tmp/rnnc-g2p] [RNNC=build/rnnc]
# Results: OUT_DIR/{uni-rev,bi}/ (models, metrics.jsonl, eval.jsonl), OUT_DIR/results.txt and
# OUT_DIR/g2p_curves.svg. Needs data/cmudict/{train,dev,test}.tsv (scripts/fetch-data.sh).
set -euo pipefail
budget=${1:-1800}
out=${2:-/tmp/rnnc-g2p}
rnnc=${3:-build/rnnc}
data=${RNNC_DATA:-data}/cmudict
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 RNNC_NO_PROGRESS=1
common=(--data "$data/train.tsv" --valid "$data/dev.tsv" --cell lstm --layers 1 --hidden 256 --embed 64
        --batch 64 --lr 3e-3 --warmup 200 --min-lr-ratio 0.05 --time "$budget" --valid-max 1000 --seed 1)
rm -rf "$out/uni-rev" "$out/bi"
start=$(date +%s)
taskset -c 0 "$rnnc" seq2seq train "${common[@]}" --reverse-source -o "$out/uni-rev" 2> "$out/uni-rev.log" &
p1=$!
taskset -c 1 "$rnnc" seq2seq train "${common[@]}" --bidirectional -o "$out/bi" 2> "$out/bi.log" &
p2=$!
wait $p1 $p2
echo "trained both in $(( $(date +%s) - start )) s wall (budget $budget s each)" | tee "$out/results.txt"
for run in uni-rev bi; do
    grep -E "^epoch" "$out/$run.log" | tail -3 | sed "s/^/$run: /" | tee -a "$out/results.txt"
    for beam in 1 5; do
        r=$(taskset -c 0 "$rnnc" seq2seq eval --model "$out/$run/best.safetensors" --data "$data/test.tsv" --beam $beam 2>&1 | tr '\n' ' ')
        echo "$run test beam $beam: $r" | tee -a "$out/results.txt"
    done
done
"$rnnc" plot "$out/uni-rev" "$out/bi" --labels "LSTM 1x256 reversed source,bi-LSTM 1x256 + bridge" --x step \
    --title "G2P on CMUdict, $((budget / 60)) min each on one core" -o "$out/g2p_curves.svg"
echo "curves: $out/g2p_curves.svg"
