#!/usr/bin/env bash
# Hostile files (issue 11): every class of crafted model, checkpoint, tokenizer, rank, sidecar, id
# and TSV file that once crashed rnnc, tripped a sanitizer or loaded wrong data. tools/make_hostile.py
# crafts them from small valid files made here and lists, for each, the command that reads it and
# a piece of the one error line expected. Each must exit 1 or 2 with that line, within the time
# limit, without a sanitizer report; the valid controls must exit 0. In `make sanitize` this same
# script runs the ASan+UBSan binary.
# Usage: cli_hostile.sh RNNC_BINARY REPO_ROOT
set -u
rnnc=$1
root=$2
py=$(command -v python3) || { echo "cli_hostile: python3 is needed (scripts/install-deps.sh installs it)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export RNNC_NO_PROGRESS=1 OMP_NUM_THREADS=1
pass=0 fail=0

# The valid originals: a char LM, a BPE LM, a finished run, a seq2seq model, a classifier, a forecaster.
awk 'BEGIN { srand(5); for (i = 0; i < 2000; i++) printf "the cat sees the dog %d. ", int(rand() * 9) }' > "$tmp/corpus.txt"
small=(--layers 1 --hidden 8 --embed 4 --batch 4 --seq 8 --steps 2)
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --cell lstm -o "$tmp/lm" 2>/dev/null &&
  "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --cell gru --tokenizer bpe:300 -o "$tmp/lmbpe" 2>/dev/null || {
  echo "cli_hostile: could not train the valid models"; exit 1; }
for i in $(seq 60); do printf 'a b c\tc b a\nb c\tc b\nc a b\tb a c\n'; done > "$tmp/pairs.tsv"
"$rnnc" seq2seq train --data "$tmp/pairs.tsv" --valid "$tmp/pairs.tsv" -o "$tmp/s2s" --hidden 8 --embed 4 --steps 2 \
  2>/dev/null || { echo "cli_hostile: could not train the seq2seq model"; exit 1; }
for i in $(seq 40); do printf 'a\tx y x\nb\ty y\n'; done > "$tmp/labelled.tsv"
"$rnnc" classify train --data "$tmp/labelled.tsv" --valid "$tmp/labelled.tsv" --tokenizer space -o "$tmp/cls" --hidden 4 \
  --embed 2 --steps 2 2>/dev/null || { echo "cli_hostile: could not train the classifier"; exit 1; }
awk 'BEGIN { print "y,k"; for (i = 0; i < 80; i++) printf "%d,%d\n", 10 + i % 7, i % 7 }' > "$tmp/series.csv"
"$rnnc" forecast train --data "$tmp/series.csv" --target y --known k --context 5 --horizon 2 -o "$tmp/fc" --hidden 4 \
  --steps 2 2>/dev/null || { echo "cli_hostile: could not train the forecaster"; exit 1; }
"$py" "$root/tools/make_hostile.py" "$tmp/lm/model.safetensors" "$tmp/lmbpe/model.safetensors" \
  "$tmp/s2s/model.safetensors" "$tmp/lm" "$tmp/cls/model.safetensors" "$tmp/fc/model.safetensors" "$tmp/cases" ||
  { echo "cli_hostile: make_hostile.py failed"; exit 1; }

while IFS=$'\t' read -r -a row; do
  name=${row[0]} want=${row[1]}
  args=("${row[@]:2}")
  in=/dev/null
  last=${args[${#args[@]}-1]}
  if [ "${last:0:1}" = "<" ]; then in=${last:1}; unset 'args[${#args[@]}-1]'; fi
  timeout 60 "$rnnc" "${args[@]}" <"$in" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if grep -q "Sanitizer\|runtime error" "$tmp/err"; then
    fail=$((fail + 1)); echo "FAIL $name: sanitizer report: $(grep -m3 "Sanitizer\|runtime error" "$tmp/err")"
  elif [ "$want" = OK ]; then
    if [ $rc -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name: valid file refused (rc $rc): $(head -2 "$tmp/err")"; fi
  elif [ $rc -ne 1 ] && [ $rc -ne 2 ]; then
    fail=$((fail + 1)); echo "FAIL $name: exit $rc (want 1 or 2): $(head -2 "$tmp/err")"
  elif ! grep -q -F -- "$want" "$tmp/err"; then
    fail=$((fail + 1)); echo "FAIL $name: message lacks '$want': $(head -2 "$tmp/err")"
  elif [ "$(grep -c . "$tmp/err")" -gt 1 ]; then
    fail=$((fail + 1)); echo "FAIL $name: more than one error line: $(head -3 "$tmp/err")"
  else
    pass=$((pass + 1))
  fi
done < "$tmp/cases/cases.tsv"

# Control bytes in a crafted file's strings (a metadata key, a tensor name, task options, the best's
# validation line) are shown escaped, never sent to the terminal as they are.
"$py" - "$tmp/lm/checkpoint.safetensors" "$tmp/esc" <<'PY'
import json, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/run", exist_ok=True)
b = open(src, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); data = b[8 + n:]
def write(path, h):
    t = json.dumps(h, separators=(",", ":")).encode(); t += b" " * (-len(t) % 8)
    open(path, "wb").write(struct.pack("<Q", len(t)) + t + data)
m = h["__metadata__"]
run = json.loads(m["rnnc.run"]); run["best_line"] = "valid loss 1.0\x1b[2J\x1b]0;pwned\x07"; run["best_step"] = run["step"]; run["best"] = [0.0, 0.0]
m["rnnc.run"] = json.dumps(run)
write(out + "/run/checkpoint.safetensors", h)
t = json.loads(m["rnnc.task.options"]); t["valid"] = "dev\x1b[31m.txt"; m["rnnc.task.options"] = json.dumps(t)
write(out + "/opts.safetensors", h)
other = {"__metadata__": {"key\x1b[31m": "v"}}
for k, v in h.items():
    if k != "__metadata__": other["w\x1b[1m" + k] = v
write(out + "/other.safetensors", other)
PY
"$rnnc" info "$tmp/esc/opts.safetensors" >"$tmp/out" 2>&1
"$rnnc" info "$tmp/esc/other.safetensors" >>"$tmp/out" 2>&1
"$rnnc" train --resume "$tmp/esc/opts.safetensors" >>"$tmp/out" 2>&1
cp "$tmp/esc/opts.safetensors" "$tmp/esc/checkpoint.safetensors"
"$rnnc" train --resume "$tmp/esc" --steps 3 >>"$tmp/out" 2>&1
if LC_ALL=C grep -q $'\033' "$tmp/out"; then fail=$((fail + 1)); echo "FAIL info printed a crafted file's escape bytes: $(cat -v "$tmp/out" | grep -m2 '\^\[')"
elif [ "$(grep -c 'x1B' "$tmp/out")" -ge 3 ]; then pass=$((pass + 1))
else fail=$((fail + 1)); echo "FAIL info: escaped control bytes missing: $(head -20 "$tmp/out")"; fi
cp "$tmp/corpus.txt" "$tmp/esc/corpus.txt"
"$rnnc" train --resume "$tmp/esc/run" --steps 3 --eval-every 0 >"$tmp/out" 2>&1
if LC_ALL=C grep -q $'\033\|\007' "$tmp/out"; then fail=$((fail + 1)); echo "FAIL a resume printed a crafted best line's control bytes: $(cat -v "$tmp/out" | tail -2)"
elif tail -1 "$tmp/out" | grep -qF "best validation: step 2, valid loss 1.0?[2J?]0;pwned? "; then pass=$((pass + 1))
else fail=$((fail + 1)); echo "FAIL the resumed run's best line: $(tail -1 "$tmp/out")"; fi

echo "cli_hostile: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
