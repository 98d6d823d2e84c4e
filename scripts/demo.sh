#!/usr/bin/env bash
# The main job run by `make demo`. Until the language model lands, it shows the seed document's
# trade-off on the real corpus: as the vocabulary |V| grows, the sequence length L shrinks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rnnc=${RNNC:-$root/build/rnnc}
data=${RNNC_DATA:-$root/data}
echo "== Tokenizers on the State of the Union corpus ($data/sotu.txt): |V| against L"
"$rnnc" tokenizer stats "$data/sotu.txt"
