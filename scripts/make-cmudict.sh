#!/usr/bin/env bash
# Builds the grapheme-to-phoneme split data/cmudict/{train,dev,test}.tsv from data/cmudict/cmudict.json
# (cmu-pronouncing-dictionary: "word" or "word(N)" for the N-th variant -> "PH1 ON0 EMES # comment").
#   - stress digits are stripped (AH0/AH1/AH2 -> AH), leaving CMUdict's 39 phonemes; a trailing
#     "# comment" is dropped;
#   - variants "word(N)" join their base word: each distinct pronunciation becomes one more line with
#     the same source (the seq2seq reader groups equal sources into one item with several
#     references); pronunciations equal after stress stripping are written once;
#   - words are kept when they consist of letters a-z and apostrophes only ("'s", "o'brien": the
#     apostrophe changes the pronunciation, so it is a grapheme like any letter); words with '.'
#     (spelled abbreviations such as "a.m.") or '-' (compounds of two words) are dropped;
#   - split by FNV-1a 32-bit hash of the base word: h % 100 < 90 train, < 95 dev, else test, so all
#     pronunciations of a word land in one part; lines are sorted (byte order) within each part.
# Line format: "w o r d<TAB>W ER D". Deterministic; idempotent (skips when the files exist unless
# --force). Usage: make-cmudict.sh [--force]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${RNNC_DATA:-$root/data}
dir="$data/cmudict"
if [ "${1:-}" != "--force" ] && [ -s "$dir/train.tsv" ] && [ -s "$dir/dev.tsv" ] && [ -s "$dir/test.tsv" ]; then
  exit 0
fi
[ -s "$dir/cmudict.json" ] || { echo "make-cmudict: $dir/cmudict.json is missing; run scripts/fetch-data.sh" >&2; exit 1; }
node -e '
const fs = require("fs");
const dir = process.argv[1];
const dict = JSON.parse(fs.readFileSync(dir + "/cmudict.json", "utf8"));
const fnv1a = s => { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; } return h >>> 0; };
const words = new Map();           // base word -> Set of pronunciations
let variants = 0, dropped = new Set(), comments = 0;
for (const key of Object.keys(dict)) {
  const m = /^(.*?)(?:\((\d+)\))?$/.exec(key);
  const word = m[1];
  if (m[2] !== undefined) variants++;
  if (!/^[a-z\x27]+$/.test(word) || !/[a-z]/.test(word)) { dropped.add(word); continue; }
  let pron = dict[key];
  const hash = pron.indexOf("#");
  if (hash >= 0) { pron = pron.slice(0, hash); comments++; }
  const phones = pron.trim().split(/\s+/).filter(Boolean).map(p => p.replace(/[0-9]/g, ""));
  if (phones.length === 0) { dropped.add(word); continue; }
  for (const p of phones) if (!/^[A-Z]{1,2}$/.test(p)) throw new Error("make-cmudict: odd phoneme " + p + " in " + key);
  if (!words.has(word)) words.set(word, new Set());
  words.get(word).add(phones.join(" "));
}
const parts = { train: [], dev: [], test: [] }, nwords = { train: 0, dev: 0, test: 0 };
for (const [word, prons] of words) {
  const h = fnv1a(word) % 100;
  const part = h < 90 ? "train" : h < 95 ? "dev" : "test";
  nwords[part]++;
  const src = word.split("").join(" ");
  for (const p of prons) parts[part].push(src + "\t" + p);
}
const phoneset = new Set();
for (const name of ["train", "dev", "test"]) {
  const lines = parts[name].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const l of lines) for (const p of l.split("\t")[1].split(" ")) phoneset.add(p);
  const out = dir + "/" + name + ".tsv";
  fs.writeFileSync(out + ".tmp", lines.join("\n") + "\n");
  fs.renameSync(out + ".tmp", out);
  console.log("make-cmudict: " + out + ": " + nwords[name] + " words, " + lines.length + " pronunciations");
}
console.log("make-cmudict: " + Object.keys(dict).length + " entries (" + variants + " variants, " + comments +
            " comments dropped), " + words.size + " words kept, " + dropped.size + " words with . or - dropped, " +
            phoneset.size + " phonemes");
' "$dir"
