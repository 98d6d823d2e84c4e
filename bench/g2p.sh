#!/usr/bin/env bash
# Grapheme-to-phoneme on CMUdict (issue 5): encoder-decoder configurations trained at the same time
# for a fixed wall-clock budget, each pinned to its own core with one thread, then scored on the
# test split with greedy decoding and beam search (K=5).
#
# Usage: bench/g2p.sh [BUDGET_SECONDS=1800] [OUT_DIR=/tmp/rnnc-g2p] [NAME "EXTRA ARGS"]...
# Without NAME/ARGS pairs it runs the two configurations of docs/RESULTS.md. Every run shares
# COMMON below and adds its own arguments. Results: OUT_DIR/NAME/ (models, metrics.jsonl), OUT_DIR/NAME.log, OUT_DIR/results.txt and OUT_DIR/g2p_curves.svg. Needs
# data/cmudict/{train,dev,test}.tsv (scripts/fetch-data.sh) and build/rnnc ($RNNC to override).
set -euo pipefail
budget=${1:-1800}
out=${2:-/tmp/rnnc-g2p}
shift $(( $# < 2 ? $# : 2 ))
rnnc=${RNNC:-build/rnnc}
data=${RNNC_DATA:-data}/cmudict
if [ $# -eq 0 ]; then
    set -- lstm1x256-drop "--layers 1 --dropout 0.3" lstm2x256-drop "--layers 2 --dropout 0.3"
fi
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 RNNC_NO_PROGRESS=1
# (--optimizer adam and one validation per epoch of 1879 batches: the seq2seq trainer's settings
# before the shared run flags, which default to AdamW and validation every 200 steps)
COMMON="--cell lstm --hidden 256 --embed 64 --batch 64 --lr 3e-3 --warmup 200 --min-lr-ratio 0.05 --reverse-source --valid-max 1000 --seed 1 --optimizer adam --eval-every 1879 --log-every 200"
ncpu=$(OMP_NUM_THREADS= nproc)  # (nproc obeys OMP_NUM_THREADS, set to 1 above)
names=() pids=() core=${G2P_FIRST_CORE:-0}  # the first run's core (the next ones follow)
start=$(date +%s)
while [ $# -ge 2 ]; do
    name=$1 args=$2
    shift 2
    rm -rf "${out:?}/$name"
    # shellcheck disable=SC2086
    taskset -c $((core % ncpu)) "$rnnc" seq2seq train --data "$data/train.tsv" --valid "$data/dev.tsv" $COMMON $args \
        --time "$budget" -o "$out/$name" 2> "$out/$name.log" &
    pids+=($!) names+=("$name") core=$((core + 1))
done
wait "${pids[@]}"
echo "trained ${#names[@]} configurations in $(( $(date +%s) - start )) s wall (budget $budget s each)" | tee "$out/results.txt"
labels=""
for name in "${names[@]}"; do
    grep -E "dev loss" "$out/$name.log" | tail -2 | sed "s/^/$name: /" | tee -a "$out/results.txt"
    for beam in 1 5; do
        r=$("$rnnc" seq2seq eval --model "$out/$name/best.safetensors" --data "$data/test.tsv" --beam $beam 2>&1 | tr '\n' ' ')
        echo "$name test beam $beam: $r" | tee -a "$out/results.txt"
    done
    labels="$labels${labels:+,}$name"
done
dirs=()
for name in "${names[@]}"; do dirs+=("$out/$name"); done
"$rnnc" plot "${dirs[@]}" --labels "$labels" --x step --title "G2P on CMUdict, $((budget / 60)) min each on one core" \
    -o "$out/g2p_curves.svg"
echo "curves: $out/g2p_curves.svg"
