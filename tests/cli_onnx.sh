#!/usr/bin/env bash
# rnnc export --format onnx from the command line (the numbers themselves are tests/test_onnx.c's):
# a language model made by rnnc init, a trained one with its tokenizer and its run's checkpoint,
# and a seq2seq model (two files named from -o) are written, pass the ONNX checker (Debian's
# python3-onnx; skipped without it, a failure under CI=true) and carry the model's metadata; every
# refusal (a classifier, a tokenizer file, text, an ONNX file (to rnnc sample and translate too),
# a missing file, -o naming the model itself, an unknown format, a flag without its value, an
# unwritable path) is one error line, a non-zero exit, no file written and an old file kept; no
# temp file is left behind.
# Usage: cli_onnx.sh RNNC_BINARY REPO_ROOT
set -u
rnnc=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export RNNC_NO_PROGRESS=1 OMP_NUM_THREADS=1
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error CODE NEEDLE ARGS...: rnnc ARGS exits CODE with NEEDLE in its first stderr line (and,
# for a runtime error, that one line only).
expect_error() {
  local code=$1 needle=$2
  shift 2
  checks=$((checks + 1))
  "$rnnc" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne "$code" ]; then fail "rnnc $* exited $rc, expected $code: $(head -2 "$tmp/err")"; return; fi
  grep -qF -- "$needle" "$tmp/err" || fail "rnnc $*: stderr lacks '$needle': $(head -2 "$tmp/err")"
  if [ "$code" -eq 1 ] && [ "$(grep -c . "$tmp/err")" -ne 1 ]; then fail "rnnc $*: not one error line: $(cat "$tmp/err")"; fi
}

# expect_ok ARGS...: rnnc ARGS exits 0
expect_ok() {
  checks=$((checks + 1))
  "$rnnc" "$@" >"$tmp/out" 2>"$tmp/err" || fail "rnnc $* exited $?: $(head -3 "$tmp/err")"
}

# The models: one from init, a trained char LM (its run directory has a checkpoint), a seq2seq
# model, a classifier.
expect_ok init --cell gru --vocab 20 --embed 4 --hidden 8 --layers 2 -o "$tmp/init.safetensors"
awk 'BEGIN { srand(3); for (i = 0; i < 500; i++) printf "the cat sees the dog %d. ", int(rand() * 9) }' >"$tmp/corpus.txt"
expect_ok train --data "$tmp/corpus.txt" --cell lstm --layers 1 --hidden 8 --embed 4 --batch 4 --seq 8 --steps 2 -o "$tmp/lm"
for i in $(seq 30); do printf 'a b c\tc b a\nb c\tc b\n'; done >"$tmp/pairs.tsv"
expect_ok seq2seq train --data "$tmp/pairs.tsv" --valid "$tmp/pairs.tsv" --bidirectional --reverse-source --hidden 8 \
  --embed 4 --steps 2 -o "$tmp/s2s"
for i in $(seq 20); do printf 'a\tx y x\nb\ty y\n'; done >"$tmp/labelled.tsv"
expect_ok classify train --data "$tmp/labelled.tsv" --valid "$tmp/labelled.tsv" --tokenizer space --hidden 4 --embed 2 \
  --steps 2 -o "$tmp/cls"

# Exports: the summary names the files and the graph's inputs and outputs.
expect_ok export --format onnx "$tmp/init.safetensors" -o "$tmp/init.onnx"
grep -q "inputs   ids int64 \[batch, time\], h0 float \[2, batch, 8\]" "$tmp/out" || fail "init export summary: $(cat "$tmp/out")"
expect_ok export "$tmp/lm/model.safetensors" -o "$tmp/lm.onnx"
grep -q "h0, c0 float \[1, batch, 8\]" "$tmp/out" || fail "lm export summary: $(cat "$tmp/out")"
expect_ok export "$tmp/lm/checkpoint.safetensors" --output="$tmp/ckpt.onnx"
[ -s "$tmp/ckpt.onnx" ] || fail "checkpoint export is empty"
expect_ok export --format=onnx "$tmp/s2s/model.safetensors" -o "$tmp/g2p.onnx"
for f in g2p.encoder.onnx g2p.decoder.onnx; do [ -s "$tmp/$f" ] || fail "seq2seq export did not write $f"; done
[ -e "$tmp/g2p.onnx" ] && fail "seq2seq export wrote g2p.onnx itself"
grep -q "bidirectional encoder reading sources reversed" "$tmp/out" || fail "seq2seq export summary: $(cat "$tmp/out")"
expect_ok export "$tmp/s2s/model.safetensors" -o "$tmp/plain"
[ -s "$tmp/plain.encoder.onnx" ] && [ -s "$tmp/plain.decoder.onnx" ] || fail "-o without .onnx: files not named OUT.encoder.onnx"

# The ONNX checker, and the metadata the files carry.
checks=$((checks + 1))
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  /usr/bin/python3 "$root/tools/onnx/check_model.py" "$tmp"/*.onnx >"$tmp/check" 2>&1 || fail "ONNX checker: $(grep -v '^ok' "$tmp/check")"
  /usr/bin/python3 - "$tmp" >"$tmp/meta" 2>&1 <<'EOF' || fail "metadata: $(cat "$tmp/meta")"
import sys, json, onnx
d = sys.argv[1]
def meta(f):
    return {p.key: p.value for p in onnx.load(f"{d}/{f}").metadata_props}
m = meta("lm.onnx")
assert m["rnnc.graph"] == "language model", m
assert json.loads(m["rnnc.config"])["cell"] == "lstm", m
assert json.loads(m["rnnc.tokenizer"])["type"] == "char", m["rnnc.tokenizer"][:80]
e, dec = meta("g2p.encoder.onnx"), meta("g2p.decoder.onnx")
assert e["rnnc.graph"] == "seq2seq encoder" and dec["rnnc.graph"] == "seq2seq decoder"
assert json.loads(e["rnnc.seq2seq"])["reverse_source"] is True
assert e["rnnc.src_vocab"].split("\n")[:3] == ["a", "b", "c"], e["rnnc.src_vocab"]
assert "rnnc.tgt_vocab" in dec and "rnnc.src_vocab" not in dec
EOF
elif [ "${CI:-}" = true ]; then
  fail "CI=true and python3-onnx is missing (scripts/install-deps.sh installs it)"
else
  echo "skipped: python3-onnx is missing: the ONNX checker not run"
fi

# Refusals: one line, and the old file at -o kept.
echo old >"$tmp/keep.onnx"
sum_before=$(md5sum <"$tmp/init.safetensors")
cp "$tmp/s2s/model.safetensors" "$tmp/m.encoder.onnx"
expect_error 1 "this is a classifier; rnnc export takes language models and seq2seq models" \
  export "$tmp/cls/model.safetensors" -o "$tmp/keep.onnx"
expect_error 1 "not exported" export "$tmp/cls/checkpoint.safetensors" -o "$tmp/keep.onnx"
"$rnnc" tokenizer train --type word --vocab-size 20 -o "$tmp/tok.json" "$tmp/corpus.txt" >/dev/null 2>&1
expect_error 1 "tok.json: this is" export "$tmp/tok.json" -o "$tmp/keep.onnx"
expect_error 1 "corpus.txt: this is a text file" export "$tmp/corpus.txt" -o "$tmp/keep.onnx"
expect_error 1 "this is an ONNX model (what rnnc export writes); rnnc reads its models from safetensors" \
  export "$tmp/init.onnx" -o "$tmp/keep.onnx"
expect_error 1 "this is an ONNX model (what rnnc export writes), not a language model" \
  sample --model "$tmp/lm.onnx" -n 3
expect_error 1 "this is an ONNX model (what rnnc export writes), not a seq2seq model" \
  seq2seq translate --model "$tmp/g2p.decoder.onnx"
expect_error 1 "missing.safetensors: cannot open" export "$tmp/missing.safetensors" -o "$tmp/keep.onnx"
expect_error 2 "init.safetensors, which this command reads" export "$tmp/init.safetensors" -o "$tmp/init.safetensors"
expect_error 2 "-o -: this command writes a file, not to stdout" export "$tmp/init.safetensors" -o -
expect_error 2 "m.encoder.onnx, which this command reads" export "$tmp/m.encoder.onnx" -o "$tmp/m.onnx"
expect_error 1 "$tmp/no/dir/x.onnx" export "$tmp/init.safetensors" -o "$tmp/no/dir/x.onnx"
expect_error 2 "--format 'tflite': rnnc exports onnx only" export --format tflite "$tmp/init.safetensors" -o "$tmp/keep.onnx"
expect_error 2 "-o OUT is required" export "$tmp/init.safetensors"
expect_error 2 "MODEL is required" export -o "$tmp/keep.onnx"
expect_error 2 "-o needs a value" export "$tmp/init.safetensors" -o
expect_error 2 "--format needs a value" export --format -o "$tmp/keep.onnx" "$tmp/init.safetensors"
expect_error 2 "unknown option '--opset'" export --opset 13 "$tmp/init.safetensors" -o "$tmp/keep.onnx"
expect_error 2 "one MODEL expected" export "$tmp/init.safetensors" "$tmp/lm/model.safetensors" -o "$tmp/keep.onnx"
checks=$((checks + 1))
[ "$(cat "$tmp/keep.onnx")" = old ] || fail "a refused export changed the file at -o"
checks=$((checks + 1))
[ "$(md5sum <"$tmp/init.safetensors")" = "$sum_before" ] || fail "a refused export changed the model file"
checks=$((checks + 1))
left=$(find "$tmp" -name '*.tmp.*')
[ -z "$left" ] || fail "temp files left behind: $left"

echo "cli_onnx: $checks checks, $fails failed"
[ $fails -eq 0 ]
