#!/usr/bin/env bash
# The main job run by `make demo`:
#   1. the seed document's trade-off on the real corpus: as the vocabulary |V| grows, the
#      sequence length L shrinks (char, word and BPE tokenizers side by side);
#   2. a BPE-level LSTM language model trained on the State of the Union speeches for about two
#      minutes (DEMO_TIME), with a live progress bar;
#   3. text sampled from it at two temperatures, and the nearest neighbours of a few words by
#      cosine similarity of the learned embedding vectors; a loss plot as SVG.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rnnc=${RNNC:-$root/build/rnnc}
data=${RNNC_DATA:-$root/data}
run=${DEMO_RUN:-$root/runs/demo}
time_budget=${DEMO_TIME:-2m}

echo "== 1. Tokenizers on the State of the Union corpus: |V| against L (held-out slice)"
"$rnnc" tokenizer stats "$data/sotu.txt"
echo
echo "== 2. Training a BPE-level LSTM language model for $time_budget (2 layers x 256, embed 64)"
"$rnnc" train --data "$data/sotu.txt" --tokenizer bpe:2000 --cell lstm --layers 2 --hidden 256 --embed 64 \
  --batch 32 --seq 64 --lr 3e-3 --warmup 50 --time "$time_budget" --eval-every 100 --eval-tokens 100000 \
  --log-every 20 --force -o "$run"
model=$run/best.safetensors
echo
echo "== 3. Samples (prompt: 'The state of the Union')"
for temp in 0.5 1.0; do
  echo "-- temperature $temp"
  "$rnnc" sample --model "$model" --prompt "The state of the Union" -n 80 --temperature "$temp" --seed 7
  echo
done
echo
echo "== 4. Nearest neighbours by cosine similarity of the embedding vectors"
"$rnnc" similar --model "$model" -k 6 war peace government people year
"$rnnc" plot "$run" --title "BPE LSTM on SOTU" -o "$run/loss.svg"
echo
echo "The model: $model (and $run/model.safetensors, the last one); details: rnnc info $model"
echo "Loss curves: $run/loss.svg; metrics: $run/metrics.jsonl"
echo "Try: $rnnc sample --model $model --prompt 'My fellow citizens' -n 200"
