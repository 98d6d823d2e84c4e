#!/usr/bin/env bash
# The main job run by `make demo`: the seed document's |V| against L trade-off on the real corpus,
# then a character-level LSTM trained on it for about two minutes (progress bar on the terminal),
# samples at two temperatures, nearest neighbours in the embedding, and where the plot and the
# model are. RNNC_DEMO_TIME (default 2m) and RNNC_DEMO_DIR (default runs/demo) change the budget
# and the run directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rnnc=${RNNC:-$root/build/rnnc}
data=${RNNC_DATA:-$root/data}
run=${RNNC_DEMO_DIR:-$root/runs/demo}
budget=${RNNC_DEMO_TIME:-2m}
echo "== Tokenizers on the State of the Union corpus ($data/sotu.txt): |V| against L"
"$rnnc" tokenizer stats "$data/sotu.txt"

echo
echo "== Training a character-level LSTM (2 layers x 256) on it for $budget; the last 5% is held out"
"$rnnc" train --data "$data/sotu.txt" --tokenizer char --cell lstm --layers 2 --hidden 256 --embed 64 \
    --batch 32 --seq 128 --time "$budget" --eval-every 100 --eval-tokens 100000 --force -o "$run"
"$rnnc" plot "$run" --title "char LSTM 2x256 on the State of the Union speeches" -o "$run/loss.svg"

for t in 0.5 1.0; do
    echo
    echo "== A sample at temperature $t (prompt: \"The state of the Union\")"
    "$rnnc" sample --model "$run/best.safetensors" --prompt "The state of the Union" -n 400 --temperature "$t" --seed 1
done

echo
echo "== Nearest neighbours by cosine similarity of the learned character embeddings"
"$rnnc" similar --model "$run/best.safetensors" a t 1 . T -k 5

echo
echo "The model:         $run/best.safetensors (best validation loss), $run/model.safetensors (last)"
echo "The loss curves:   $run/loss.svg (open it in a browser)"
echo "More:              $rnnc sample --model $run/best.safetensors --prompt \"...\" --top-p 0.9"
echo "                   $rnnc similar --model $run/best.safetensors --export $run/projector"
