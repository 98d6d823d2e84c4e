#!/bin/bash
# CLI tests of init/eval/train/info: a model made in PyTorch (tools/make_golden_lm.py) evaluates to
# PyTorch's loss; training prints PyTorch's per-step losses; every bad input gives one clear error
# line and a non-zero exit. Then: evaluating nothing is an error; bits per byte only where no
# <unk> hides bytes; seq2seq translate's input, -o and closing count, and seq2seq eval on zero
# items; a flag whose value is missing; usage errors that point at the mode's help.
# Usage: cli_model.sh RNNC_BIN REPO_ROOT
set -u
RNNC=$1
ROOT=$2
G=$ROOT/tests/golden/lm
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
checks=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# near A B TOL: |A-B| <= TOL*|B|
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= t * m) }'; }

# expect_error EXIT_CODE NEEDLE CMD...: the command fails with that code and one stderr line
# starting "rnnc" that contains NEEDLE.
expect_error() {
    local code=$1 needle=$2
    shift 2
    checks=$((checks + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ $rc -ne "$code" ]; then fail "$* exited $rc, expected $code: $(cat "$TMP/err")"; return; fi
    if ! grep -qF -- "$needle" "$TMP/err"; then fail "$*: stderr lacks '$needle': $(cat "$TMP/err")"; return; fi
    if [ "$(grep -c '^rnnc' "$TMP/err")" -lt 1 ]; then fail "$*: no 'rnnc' error line"; fi
    if [ "$code" -eq 1 ] && [ "$(wc -l <"$TMP/err")" -ne 1 ]; then fail "$*: more than one error line: $(cat "$TMP/err")"; fi
}

want_eval=$(awk '$1 == "eval" { print $2 }' "$G/cli_expect.txt")
want_sgd=$(awk '$1 == "sgd1" { print $2 }' "$G/cli_expect.txt")

# eval of a PyTorch-made model gives PyTorch's loss.
checks=$((checks + 1))
out=$("$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5)
got=$(echo "$out" | awk '$1 == "loss" { print $2 }')
[ -n "$got" ] && near "$got" "$want_eval" 1e-5 || fail "eval: '$out', PyTorch says $want_eval"

# train: each step's loss equals PyTorch's (12 Adam steps, clipping, wrapping after 9 windows).
checks=$((checks + 1))
"$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 12 \
    --optimizer adam --lr 0.01 --clip 0.5 -o "$TMP/a.safetensors" >"$TMP/train.out" 2>/dev/null || fail "train adam exited $?"
awk '$1 == "adam12" { for (i = 2; i <= NF; i++) print $i }' "$G/cli_expect.txt" >"$TMP/want"
awk '$1 == "step" { print $4 }' "$TMP/train.out" >"$TMP/got"
[ "$(wc -l <"$TMP/got")" -eq 12 ] || fail "train printed $(wc -l <"$TMP/got") step lines, expected 12"
paste "$TMP/got" "$TMP/want" | while read -r a b; do near "$a" "$b" 1e-5 || echo "step loss $a vs $b"; done >"$TMP/bad"
[ -s "$TMP/bad" ] && fail "train losses differ from PyTorch: $(cat "$TMP/bad")"

# Ctrl-C of a train --ids run (no run directory): the model of that step is written to -o and the
# message says so (it used to say a checkpoint was saved in "." and write nothing).
checks=$((checks + 1))
"$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 100000000 \
    --optimizer sgd --lr 0.01 -o "$TMP/int.safetensors" >/dev/null 2>"$TMP/int.err" &
pid=$!
sleep 1; kill -INT $pid; wait $pid; rc=$?
{ [ $rc -eq 130 ] && grep -q "stopped at step [0-9]*; .*int.safetensors holds the model of that step" "$TMP/int.err" &&
  "$RNNC" info "$TMP/int.safetensors" >/dev/null; } || fail "train --ids stopped: rc $rc, $(cat "$TMP/int.err")"

# Binary id files (.npy written by NumPy, tools/make_npy_ids.py): the same eval loss, and the same
# trained model byte for byte, as the text ids.
for npy in "$G/../ids/cli_ids_u4.npy" "$G/../ids/cli_ids_i4.npy"; do
    checks=$((checks + 1))
    out=$("$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$npy" --batch 4 --seq 5)
    [ "$out" = "$("$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5)" ] ||
        fail "eval --ids $npy: '$out' differs from the text ids'"
    checks=$((checks + 1))
    "$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$npy" --batch 4 --seq 5 --steps 12 \
        --optimizer adam --lr 0.01 --clip 0.5 -o "$TMP/a_npy.safetensors" >/dev/null 2>&1 &&
        cmp -s "$TMP/a.safetensors" "$TMP/a_npy.safetensors" || fail "train --ids $npy: not the model of the text ids"
done
expect_error 1 "empty_u4.npy" "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/../ids/empty_u4.npy" --batch 4 --seq 5
expect_error 1 "outside the vocabulary" "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/../ids/big_u4.npy" --batch 4 --seq 5

# One SGD step: its loss, and the trained model evaluates to something lower-or-different but valid.
checks=$((checks + 1))
got=$("$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 \
    --optimizer sgd --lr 0.5 --momentum 0.9 --weight-decay 0.01 -o "$TMP/s.safetensors" 2>/dev/null | awk '{ print $4 }')
near "$got" "$want_sgd" 1e-5 || fail "sgd step loss $got vs $want_sgd"
[ -s "$TMP/s.safetensors" ] || fail "train wrote no model"
ls "$TMP" | grep -q tmp && fail "a temp file was left behind"
# -o may write over the model (trained further in place: it is read first), never over the ids
cp "$G/cli_ids.txt" "$TMP/ids.txt"
expect_error 2 "ids.txt, which this command reads" "$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$TMP/ids.txt" \
    --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.5 -o "$TMP/ids.txt"
cmp -s "$TMP/ids.txt" "$G/cli_ids.txt" || fail "train --ids -o IDS changed the ids"
cp "$TMP/s.safetensors" "$TMP/inplace.safetensors"
"$RNNC" train --model "$TMP/inplace.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.5 \
    -o "$TMP/inplace.safetensors" >/dev/null 2>&1 && ! cmp -s "$TMP/inplace.safetensors" "$TMP/s.safetensors" ||
    fail "train --ids -o MODEL: the model trained in place"

# train --ids: its help gives this mode's defaults, not the text trainer's, and lists only the flags
# it uses; the run flags it has no use for are refused, naming the flag.
"$RNNC" train --ids x --help >"$TMP/idshelp"
for want in "sgd | adam | adamw (required)" "learning rate (required)" "default constant)" "warm-up steps (default 0)" \
    "(default 0 = off)" "draws dropout (default 1)" "-o, --output OUT"; do
    grep -qF -- "$want" "$TMP/idshelp" || fail "train --ids --help lacks '$want'"
done
for flag in --log-every --eval-every --patience --checkpoint-every --dropout --resume --force "default 1337" "adamw)" "default 100" \
    "resumed"; do
    grep -qF -- "$flag" "$TMP/idshelp" && fail "train --ids --help shows '$flag'"
done
# its budgets are the other trainers': --epochs (passes over the windows) or --time alone is one,
# and a run with none is refused as there
idb=(train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --optimizer sgd --lr 0.5)
nwin=$("$RNNC" "${idb[@]}" --epochs 1 -o "$TMP/ep1.safetensors" 2>"$TMP/err" | grep -c '^step ')
[ "$nwin" -gt 0 ] || fail "train --ids --epochs 1: no steps: $(cat "$TMP/err")"
[ "$("$RNNC" "${idb[@]}" --epochs 2 -o "$TMP/ep2.safetensors" 2>/dev/null | grep -c '^step ')" -eq $((2 * nwin)) ] ||
    fail "train --ids --epochs 2 is not twice --epochs 1 ($nwin steps)"
"$RNNC" "${idb[@]}" --steps "$nwin" -o "$TMP/st1.safetensors" >/dev/null 2>&1 && cmp -s "$TMP/st1.safetensors" "$TMP/ep1.safetensors" ||
    fail "train --ids --epochs 1 differs from --steps $nwin"
"$RNNC" "${idb[@]}" --time 1 -o "$TMP/t1.safetensors" >"$TMP/out" 2>"$TMP/err" && grep -q '^step 1 ' "$TMP/out" &&
    [ -s "$TMP/t1.safetensors" ] || fail "train --ids --time 1: $(cat "$TMP/err")"
expect_error 2 "no training budget: give --steps, --epochs or --time" "$RNNC" "${idb[@]}" -o "$TMP/nb.safetensors"
# the warnings judge this mode's defaults: --min-lr-ratio under its constant schedule, and a
# --warmup as long as the run, each one line
"$RNNC" "${idb[@]}" --steps 2 --min-lr-ratio 0.5 --warmup 50 -o "$TMP/w.safetensors" >/dev/null 2>"$TMP/err" || fail "train --ids --warmup 50"
[ "$(grep -c "^rnnc train --ids: warning: --min-lr-ratio is ignored by --schedule constant (cosine only)$" "$TMP/err")" -eq 1 ] &&
    [ "$(grep -c "^rnnc train --ids: warning: --warmup 50 is as long as the whole run (2 steps)" "$TMP/err")" -eq 1 ] ||
    fail "train --ids: no --min-lr-ratio or --warmup warning: $(cat "$TMP/err")"
"$RNNC" "${idb[@]}" --steps 2 --schedule cosine --min-lr-ratio 0.5 --warmup 1 -o "$TMP/w.safetensors" >/dev/null 2>"$TMP/err" &&
    ! grep -q warning "$TMP/err" || fail "train --ids --schedule cosine --min-lr-ratio 0.5: a warning: $(cat "$TMP/err")"
# --seed draws dropout only: for a model without (cli_lstm has dropout 0; one layer, whatever its
# dropout) it is ignored, with a warning
"$RNNC" "${idb[@]}" --steps 1 --seed 5 -o "$TMP/seed.safetensors" >/dev/null 2>"$TMP/err" &&
    [ "$(grep -c "^rnnc train --ids: warning: --seed is ignored: it draws dropout only, and the model has none (dropout 0)$" "$TMP/err")" -eq 1 ] ||
    fail "train --ids --seed without dropout: $(cat "$TMP/err")"
"$RNNC" init --cell gru --vocab 50 --embed 4 --hidden 4 --layers 1 --dropout 0.3 -o "$TMP/drop1.safetensors" 2>/dev/null
"$RNNC" train --model "$TMP/drop1.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.5 --seed 5 \
    -o "$TMP/drop1o.safetensors" >/dev/null 2>"$TMP/err" &&
    [ "$(grep -c "^rnnc train --ids: warning: --seed is ignored: it draws dropout only, and the model has none (one layer)$" "$TMP/err")" -eq 1 ] ||
    fail "train --ids --seed without dropout: $(cat "$TMP/err")"
"$RNNC" init --cell gru --vocab 50 --embed 4 --hidden 4 --layers 2 --dropout 0.3 -o "$TMP/drop2.safetensors" 2>/dev/null
"$RNNC" train --model "$TMP/drop2.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.5 --seed 5 \
    -o "$TMP/drop2o.safetensors" >/dev/null 2>"$TMP/err" && ! grep -q warning "$TMP/err" || fail "train --ids --seed with dropout: $(cat "$TMP/err")"
idtr=(train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.5 -o "$TMP/u.safetensors")
for f in "--log-every 3" "--eval-every 3" "--patience 2" "--checkpoint-every 3" "--resume $TMP"; do
    expect_error 2 "${f%% *} does not apply to an id-file run" "$RNNC" "${idtr[@]}" $f
done
expect_error 2 "--force does not apply to an id-file run (it has no run directory to start over in" "$RNNC" "${idtr[@]}" --force
[ -e "$TMP/u.safetensors" ] && fail "a refused train --ids wrote its model"

# A flag has the same bounds in init as in train (one table, run_cli.c): --hidden and --embed up to
# 65536 (init took 1048576 at parse, then failed in the model config), --dropout below 1 up to
# 0.99, --seed up to 2^63 - 1 everywhere (train stopped at 4.6e18); a number beyond long is out of
# range, not "not an integer". --dropout with one layer does nothing: a one-line warning.
expect_error 2 "--hidden must be between 1 and 65536, got 100000" "$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 100000 -o "$TMP/x.safetensors"
expect_error 2 "--embed must be between 1 and 65536, got 100000" "$RNNC" init --cell lstm --vocab 5 --embed 100000 --hidden 2 -o "$TMP/x.safetensors"
expect_error 2 "--dropout must be between 0 and 0.99, got 0.995" "$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 --layers 2 --dropout 0.995 -o "$TMP/x.safetensors"
expect_error 2 "--seed must be between 0 and 9223372036854775807, got 9223372036854775808" "$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 --seed 9223372036854775808 -o "$TMP/x.safetensors"
expect_error 2 "--seed must be between 0 and 9223372036854775807, got 9223372036854775808" "$RNNC" train --data "$G/cli_ids.txt" --seed 9223372036854775808 --steps 1 -o "$TMP/x"
checks=$((checks + 1))
"$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 --dropout 0.5 --seed 9223372036854775807 -o "$TMP/d1.safetensors" >/dev/null 2>"$TMP/err" &&
    [ "$(cat "$TMP/err")" = "rnnc init: warning: --dropout is ignored with one layer (it acts between stacked layers; give --layers 2 or more)" ] ||
    fail "init --dropout with one layer: $(cat "$TMP/err")"
checks=$((checks + 1))
"$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 --layers 2 --dropout 0.5 -o "$TMP/d2.safetensors" >/dev/null 2>"$TMP/err" &&
    [ ! -s "$TMP/err" ] || fail "init --dropout with two layers warned: $(cat "$TMP/err")"

# init then info: LSTM layers have 4x and GRU layers 3x an Elman layer's parameters.
for cell in rnn_tanh lstm gru; do
    checks=$((checks + 1))
    "$RNNC" init --cell $cell --vocab 96 --embed 64 --hidden 128 --layers 2 --seed 3 -o "$TMP/$cell.safetensors" >/dev/null || fail "init $cell"
    "$RNNC" info "$TMP/$cell.safetensors" >"$TMP/info.$cell" || fail "info $cell"
done
e0=$(awk '$1 == "layer" && $2 == 0 { print $3 }' "$TMP/info.rnn_tanh")
l0=$(awk '$1 == "layer" && $2 == 0 { print $3 }' "$TMP/info.lstm")
g1=$(awk '$1 == "layer" && $2 == 1 { print $3 }' "$TMP/info.gru")
e1=$(awk '$1 == "layer" && $2 == 1 { print $3 }' "$TMP/info.rnn_tanh")
checks=$((checks + 1))
[ "$e0" = $((128 * (64 + 128 + 2))) ] || fail "Elman layer 0 has $e0 parameters"
[ "$l0" = $((4 * e0)) ] || fail "LSTM layer 0 has $l0, not 4x $e0"
[ "$g1" = $((3 * e1)) ] || fail "GRU layer 1 has $g1, not 3x $e1"
grep -q "ratio 4.00x" "$TMP/info.lstm" || fail "info lstm shows no 4.00x ratio"
# init is seeded: same seed, same file; another seed, another file.
checks=$((checks + 1))
"$RNNC" init --cell lstm --vocab 96 --embed 64 --hidden 128 --layers 2 --seed 3 -o "$TMP/again.safetensors" >/dev/null
cmp -s "$TMP/lstm.safetensors" "$TMP/again.safetensors" || fail "init with one seed made two different files"
"$RNNC" init --cell lstm --vocab 96 --embed 64 --hidden 128 --layers 2 --seed 4 -o "$TMP/other.safetensors" >/dev/null
cmp -s "$TMP/lstm.safetensors" "$TMP/other.safetensors" && fail "init with two seeds made the same file"

# Bad inputs: one clear line, non-zero exit, never a crash.
head -c 2000 "$G/cli_lstm.safetensors" >"$TMP/trunc.safetensors"
printf '1 2 3 13 4\n' >"$TMP/oov.txt"
printf '1 2 x 4\n' >"$TMP/junk.txt"
ev=(eval --ids "$G/cli_ids.txt" --batch 4 --seq 5)
expect_error 1 "truncated" "$RNNC" "${ev[@]}" --model "$TMP/trunc.safetensors"
expect_error 1 "tensor 'head.weight' has shape (5, 5) but rnnc.config asks for (5, 4)" "$RNNC" info "$G/bad_shape.safetensors"
expect_error 1 "tensor 'rnn.bias_hh_l0' is missing" "$RNNC" "${ev[@]}" --model "$G/bad_missing.safetensors"
expect_error 1 "but rnnc.config asks for (6, 3) (cell gru, vocab 6" "$RNNC" "${ev[@]}" --model "$G/bad_meta.safetensors"
expect_error 1 "no \"rnnc.config\"" "$RNNC" info "$G/bad_nometa.safetensors"
expect_error 1 "$TMP/nope.safetensors" "$RNNC" info "$TMP/nope.safetensors"
expect_error 1 "oov.txt: id 13 at position 3 is outside the vocabulary of 13" \
    "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$TMP/oov.txt" --batch 1 --seq 2
expect_error 1 "junk.txt: token 2 ('x')" "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$TMP/junk.txt" --batch 1 --seq 2
expect_error 1 "--batch 64 x --seq 5 needs at least 384 ids" \
    "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 64 --seq 5
expect_error 1 "--batch 4 x --seq 100 needs at least 404 ids" "$RNNC" train --model "$G/cli_lstm.safetensors" \
    --ids "$G/cli_ids.txt" --batch 4 --seq 100 --steps 1 --optimizer sgd --lr 0.1 -o "$TMP/x.safetensors"
expect_error 2 "--batch expects an integer" "$RNNC" "${ev[@]}" --model "$G/cli_lstm.safetensors" --batch four
expect_error 2 "--seq must be between" "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 0
expect_error 2 "--optimizer must be sgd, adam or adamw" "$RNNC" train --model "$G/cli_lstm.safetensors" \
    --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer lbfgs --lr 0.1 -o "$TMP/x.safetensors"
expect_error 2 "--lr is required" "$RNNC" train --model "$G/cli_lstm.safetensors" \
    --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd -o "$TMP/x.safetensors"
# --momentum with Adam is ignored with a one-line warning (the same in every trainer)
"$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer adam \
    --lr 0.1 --momentum 0.9 -o "$TMP/mom.safetensors" >/dev/null 2>"$TMP/mom.err" || fail "train with --momentum and adam failed"
grep -q "warning: --momentum is ignored by --optimizer adam" "$TMP/mom.err" || fail "no --momentum warning: $(cat "$TMP/mom.err")"
# --min-lr-ratio is the cosine schedule's floor: with --schedule constant it is ignored, with a warning
"$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer adam \
    --lr 0.1 --schedule constant --min-lr-ratio 0.5 -o "$TMP/sch.safetensors" >/dev/null 2>"$TMP/sch.err" || fail "train with --schedule constant failed"
grep -q "warning: --min-lr-ratio is ignored by --schedule constant (cosine only)" "$TMP/sch.err" || fail "no --min-lr-ratio warning: $(cat "$TMP/sch.err")"
# --mpi-timeout outside mpirun: one process, nothing to wait for; ignored with a warning
"$RNNC" train --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd \
    --lr 0.1 --mpi-timeout 10 -o "$TMP/mpit.safetensors" >/dev/null 2>"$TMP/mpit.err" || fail "train --ids with --mpi-timeout failed"
[ "$(grep -c "^rnnc train --ids: warning: --mpi-timeout is ignored in a single process" "$TMP/mpit.err")" -eq 1 ] \
    || fail "no --mpi-timeout warning: $(cat "$TMP/mpit.err")"
expect_error 2 "unknown option '--bogus'" "$RNNC" "${ev[@]}" --model "$G/cli_lstm.safetensors" --bogus
expect_error 2 "--cell must be rnn_tanh, rnn_relu, lstm or gru" "$RNNC" init --cell transformer --vocab 5 --embed 2 \
    --hidden 2 -o "$TMP/x.safetensors"
expect_error 2 "--vocab is required" "$RNNC" init --cell lstm --embed 2 --hidden 2 -o "$TMP/x.safetensors"
expect_error 2 "--layers must be between" "$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 --layers 0 -o "$TMP/x.safetensors"
expect_error 1 "$TMP/no/such/dir/m.safetensors" "$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 -o "$TMP/no/such/dir/m.safetensors"
[ -e "$TMP/x.safetensors" ] && fail "a failed command wrote its output"
# A NaN weight is refused on load naming the tensor (eval printed "loss nan" and exited 0), and
# train writes nothing. (A NaN that appears during training stops it naming the step: test_optim.)
expect_error 1 "tensor 'head.bias' holds a non-finite value (nan)" "$RNNC" "${ev[@]}" --model "$G/bad_nan.safetensors"
expect_error 1 "tensor 'head.bias' holds a non-finite value (nan)" "$RNNC" train --model "$G/bad_nan.safetensors" \
    --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 20 --optimizer sgd --lr 0.1 -o "$TMP/div.safetensors"
[ -e "$TMP/div.safetensors" ] && fail "a run from a NaN model wrote its output"

# Crafted headers: the data section of a good file, its header passed through sed.
# rewrite_header IN OUT SED_SCRIPT
rewrite_header() {
    local n hdr len i
    n=$(od -A n -t u8 -N 8 "$1" | tr -d ' ')
    hdr=$(tail -c +9 "$1" | head -c "$n" | sed -e "$3")
    len=${#hdr}
    {
        for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $(((len >> (8 * i)) & 255)))"; done
        printf '%s' "$hdr"
        tail -c +$((9 + n)) "$1"
    } >"$2"
}
export LC_ALL=C
# A tokenizer of 262 ids (a, b) stored in a model of vocabulary 13: every command that loads the
# model with its tokenizer refuses it naming both sizes.
tokjson='{\\"type\\":\\"char\\",\\"version\\":1,\\"reserved\\":[\\"<pad>\\",\\"<bos>\\",\\"<eos>\\",\\"<unk>\\"],\\"byte_fallback\\":true,\\"chars\\":[97,98]}'
rewrite_header "$G/cli_lstm.safetensors" "$TMP/tok262.safetensors" "s|\"__metadata__\":{|&\"rnnc.tokenizer\":\"$tokjson\",|"
printf 'abba abab baba\n%.0s' $(seq 40) >"$TMP/ab.txt"
mism="the tokenizer in metadata 'rnnc.tokenizer' has 262 tokens but the model's vocabulary is 13"
expect_error 1 "$mism" "$RNNC" eval --model "$TMP/tok262.safetensors" --data "$TMP/ab.txt" --batch 2 --seq 5
expect_error 1 "$mism" "$RNNC" "${ev[@]}" --model "$TMP/tok262.safetensors"
expect_error 1 "$mism" "$RNNC" sample --model "$TMP/tok262.safetensors" -n 3 --seed 1
expect_error 1 "$mism" "$RNNC" info "$TMP/tok262.safetensors"
# the same tokenizer in a model of vocabulary 262 is fine
checks=$((checks + 1))
"$RNNC" init --cell lstm --vocab 262 --embed 4 --hidden 8 --layers 1 -o "$TMP/v262.safetensors" >/dev/null || fail "init v262"
rewrite_header "$TMP/v262.safetensors" "$TMP/tok_ok.safetensors" "s|\"__metadata__\":{|&\"rnnc.tokenizer\":\"$tokjson\",|"
"$RNNC" eval --model "$TMP/tok_ok.safetensors" --data "$TMP/ab.txt" --batch 2 --seq 5 >"$TMP/out" 2>"$TMP/err" &&
    grep -q '^loss ' "$TMP/out" || fail "eval with a matching tokenizer: $(cat "$TMP/err")"
"$RNNC" info "$TMP/tok_ok.safetensors" | grep -q 'tokenizer   char, |V| = 262' || fail "info does not show the tokenizer"
# eval --data scores every token but the first, whatever B and T (600 bytes: 599 targets), not the
# part B streams of whole T-windows cover; a shorter last window is the same as one long window.
printf '{"type":"char","version":1,"reserved":["<pad>","<bos>","<eos>","<unk>"],"byte_fallback":true,"chars":[97,98]}' >"$TMP/ab.json"
"$RNNC" tokenizer encode -t "$TMP/ab.json" "$TMP/ab.txt" >"$TMP/ab.ids" || fail "encode ab.txt"
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/tok_ok.safetensors" --data "$TMP/ab.txt" --batch 16 --seq 128 >"$TMP/out" 2>&1 &&
    grep -q '^tokens 599$' "$TMP/out" && grep -q '^bytes 599$' "$TMP/out" || fail "eval --data B 16 T 128 on 600 bytes: $(cat "$TMP/out")"
# ids from a pipe or stdin are read once (eval read them twice, the second time finding none)
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/tok_ok.safetensors" --ids - --batch 2 --seq 5 <"$TMP/ab.ids" | grep -q '^loss ' || fail "eval --ids - (stdin)"
# the bytes the targets cover are counted (the text's but the first token's), not pro-rated: a
# text opening with a two-byte character then 10 one-byte ones covers 10 bytes (pro-rated,
# 12 x 10 / 11 = 10.9)
tok3='{\\"type\\":\\"char\\",\\"version\\":1,\\"reserved\\":[\\"<pad>\\",\\"<bos>\\",\\"<eos>\\",\\"<unk>\\"],\\"byte_fallback\\":true,\\"chars\\":[97,98,233]}'
"$RNNC" init --cell lstm --vocab 263 --embed 4 --hidden 8 --layers 1 -o "$TMP/v263.safetensors" >/dev/null || fail "init v263"
rewrite_header "$TMP/v263.safetensors" "$TMP/tok3.safetensors" "s|\"__metadata__\":{|&\"rnnc.tokenizer\":\"$tok3\",|"
printf '\303\251ababababab' >"$TMP/eab.txt"
checks=$((checks + 1))
got=$("$RNNC" eval --model "$TMP/tok3.safetensors" --data "$TMP/eab.txt" --json 2>&1)
printf '%s\n' "$got" | grep -q '"tokens":[[:space:]]*10,' && printf '%s\n' "$got" | grep -Eq '"bytes":[[:space:]]*10,?$' ||
    fail "eval --json: 10 targets over 10 counted bytes expected: $got"
checks=$((checks + 1))
d7=$("$RNNC" eval --model "$TMP/tok_ok.safetensors" --data "$TMP/ab.txt" --batch 1 --seq 7 | awk '$1 == "loss" { print $2 }')
all=$("$RNNC" eval --model "$TMP/tok_ok.safetensors" --ids "$TMP/ab.ids" --batch 1 --seq 599 | awk '$1 == "loss" { print $2 }')
[ -n "$d7" ] && near "$d7" "$all" 1e-5 || fail "eval --data --batch 1 --seq 7 ($d7) should equal one window over all 599 targets ($all)"
printf 'a' >"$TMP/a1.txt"
expect_error 1 "nothing to evaluate in $TMP/a1.txt: its 1 byte is one token" "$RNNC" eval --model "$TMP/tok_ok.safetensors" --data "$TMP/a1.txt"
expect_error 2 "--data FILE (text) or --ids FILE (token ids) is required" "$RNNC" eval --model "$TMP/tok_ok.safetensors"

# A tiny file whose config asks for 64 layers x 16384 hidden (over 500 GB): one error naming the
# first tensor that does not match, before anything is allocated (it used to reach a failed
# allocation, then a use after free). Where the binary tolerates it (not under ASan), run it with
# 2 GB of address space, so that an attempt to allocate the model could not succeed silently.
rewrite_header "$G/cli_lstm.safetensors" "$TMP/huge.safetensors" 's|\\"hidden\\": 8, \\"layers\\": 2|\\"hidden\\": 16384, \\"layers\\": 64|'
huge="tensor 'rnn.weight_ih_l0' has shape (32, 6) but rnnc.config asks for (65536, 6) (cell lstm, vocab 13, embed 6, hidden 16384, layers 64)"
if (ulimit -v 2000000 && "$RNNC" version) >/dev/null 2>&1; then
    expect_error 1 "$huge" bash -c 'ulimit -v 2000000 && exec "$@"' _ "$RNNC" "${ev[@]}" --model "$TMP/huge.safetensors"
else
    expect_error 1 "$huge" "$RNNC" "${ev[@]}" --model "$TMP/huge.safetensors"
fi
expect_error 1 "$huge" "$RNNC" info "$TMP/huge.safetensors"

# Nothing to evaluate is an error naming the file, never a loss over nothing.
: >"$TMP/empty.txt"
printf ' \n\t\n' >"$TMP/blank.txt"
expect_error 1 "no ids to evaluate in $TMP/empty.txt (the file is empty)" "$RNNC" eval --model "$G/cli_lstm.safetensors" \
    --ids "$TMP/empty.txt" --batch 1 --seq 2
expect_error 1 "no ids to evaluate in $TMP/blank.txt (the file is only white space)" "$RNNC" eval --model "$G/cli_lstm.safetensors" \
    --ids "$TMP/blank.txt" --batch 1 --seq 2
expect_error 1 "no text to evaluate in $TMP/empty.txt" "$RNNC" eval --model "$TMP/tok_ok.safetensors" --data "$TMP/empty.txt"

# Bits per byte only where it is true: a word model's <unk>s hide the bytes of the words they
# stand for, so with any <unk> the figure is left out, saying why; the <unk> rate is always shown.
export RNNC_NO_PROGRESS=1 OMP_NUM_THREADS=1
for i in $(seq 1 40); do echo "the cat sat on the mat, and the dog ate the hat."; done >"$TMP/words.txt"
# 10 tokens a line, 4 of them unknown words (zebra, with, a, xylophone)
printf 'the cat sat on the zebra with a xylophone.\n%.0s' $(seq 20) >"$TMP/unk.txt"
lm_small=(--hidden 16 --layers 1 --embed 8 --batch 2 --seq 8 --steps 2 --eval-every 2 --threads 1)
"$RNNC" train --data "$TMP/words.txt" --tokenizer word "${lm_small[@]}" -o "$TMP/wordrun" >/dev/null 2>&1 &&
    "$RNNC" train --data "$TMP/words.txt" --tokenizer word:5 "${lm_small[@]}" -o "$TMP/word5" >/dev/null 2>&1 &&
    "$RNNC" train --data "$TMP/words.txt" --tokenizer char "${lm_small[@]}" -o "$TMP/charrun" >/dev/null 2>&1 ||
    fail "training the word and char models failed"
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/wordrun/model.safetensors" --data "$TMP/words.txt" --seq 8 >"$TMP/out" 2>"$TMP/err" || fail "eval word: $(cat "$TMP/err")"
grep -q '^bpb [0-9.]*$' "$TMP/out" && grep -q '^unk 0.00% (0 of ' "$TMP/out" || fail "word model, no <unk>: bpb and the rate expected: $(cat "$TMP/out")"
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/wordrun/model.safetensors" --data "$TMP/unk.txt" --seq 8 >"$TMP/out" 2>"$TMP/err" || fail "eval word: $(cat "$TMP/err")"
grep -q '^bpb' "$TMP/out" && fail "word model with <unk>s: bpb shown: $(cat "$TMP/out")"
grep -qx 'bits per byte: not shown, 40.0% of the tokens are <unk>: their bytes are not modelled' "$TMP/out" &&
    grep -q '^unk 40.00% (80 of the text.s 200 tokens)$' "$TMP/out" || fail "word model with <unk>s: $(cat "$TMP/out")"
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/word5/model.safetensors" --data "$TMP/words.txt" --seq 8 >"$TMP/out" 2>"$TMP/err" || fail "eval word:5: $(cat "$TMP/err")"
grep -q '^bits per byte: not shown, [0-9.]*% of the tokens are <unk>' "$TMP/out" && ! grep -q '^bpb' "$TMP/out" ||
    fail "a word model that maps most words to <unk>: $(cat "$TMP/out")"
checks=$((checks + 1))
printf 'the cat \303\251t\303\251 \342\202\254.\n%.0s' $(seq 10) >"$TMP/fallback.txt"
"$RNNC" eval --model "$TMP/charrun/model.safetensors" --data "$TMP/fallback.txt" --seq 8 >"$TMP/out" 2>"$TMP/err" || fail "eval char: $(cat "$TMP/err")"
grep -q '^bpb [0-9.]*$' "$TMP/out" && grep -q '^fallback 20.00% (30 of the text.s 150 characters' "$TMP/out" ||
    fail "char model with unknown characters: bpb (bytes are modelled) and the fallback rate expected: $(cat "$TMP/out")"

# --json: the same figures as one object; bpb null with the reason where the text leaves it out.
jnum() { tr -d ' \t\n' <"$2" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }
checks=$((checks + 1))
"$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 --json >"$TMP/out.json" || fail "eval --ids --json exited $?"
[ "$(jnum tokens "$TMP/out.json")" = 180 ] && [ "$(awk -v l="$(jnum loss "$TMP/out.json")" 'BEGIN { printf "%.6f", l }')" = \
    "$("$RNNC" eval --model "$G/cli_lstm.safetensors" --ids "$G/cli_ids.txt" --batch 4 --seq 5 | awk '{ print $2 }')" ] &&
    [ -n "$(jnum ppl "$TMP/out.json")" ] || fail "eval --ids --json: loss, ppl and tokens expected: $(cat "$TMP/out.json")"
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/wordrun/model.safetensors" --data "$TMP/unk.txt" --seq 8 --json >"$TMP/out.json" 2>"$TMP/err" || fail "eval word --json: $(cat "$TMP/err")"
tr -d ' \t\n' <"$TMP/out.json" | grep -q '"bpb":null,"bpb_withheld":"<unk>tokens:theirbytesarenotmodelled"' &&
    [ "$(jnum unk_tokens "$TMP/out.json")" = 80 ] && [ "$(jnum text_tokens "$TMP/out.json")" = 200 ] ||
    fail "eval word --json with <unk>s: bpb null, the reason and the counts expected: $(cat "$TMP/out.json")"
checks=$((checks + 1))
"$RNNC" eval --model "$TMP/charrun/model.safetensors" --data "$TMP/fallback.txt" --seq 8 --json >"$TMP/out.json" 2>"$TMP/err" || fail "eval char --json: $(cat "$TMP/err")"
[ -n "$(jnum bpb "$TMP/out.json")" ] && [ "$(jnum fallback_chars "$TMP/out.json")" = 30 ] && [ "$(jnum text_chars "$TMP/out.json")" = 150 ] ||
    fail "eval char --json: a bpb and the fallback counts expected: $(cat "$TMP/out.json")"

# seq2seq translate: an input file (positional or --input, - for stdin), -o written at the end, a
# closing count of lines and unknown source symbols; seq2seq eval on zero items is an error.
for i in $(seq 60); do printf 'a b c\tc b a\nb c\tc b\nc a b\tb a c\n'; done >"$TMP/pairs.tsv"
"$RNNC" seq2seq train --data "$TMP/pairs.tsv" --valid "$TMP/pairs.tsv" -o "$TMP/s2s" --hidden 8 --embed 4 --steps 20 \
    >/dev/null 2>&1 || fail "training the seq2seq model failed"
S=$TMP/s2s/model.safetensors
printf 'a b c\nz a\n\nb c\n' >"$TMP/src.txt"
checks=$((checks + 1))
"$RNNC" seq2seq translate --model "$S" "$TMP/src.txt" >"$TMP/out" 2>"$TMP/err" || fail "translate FILE: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/out")" -eq 4 ] && [ -z "$(sed -n 3p "$TMP/out")" ] || fail "translate FILE: 4 lines expected: $(cat "$TMP/out")"
grep -qx 'translate: 4 lines, 1 unknown source symbol (14.3% of 7)' "$TMP/err" || fail "translate FILE: closing line: $(cat "$TMP/err")"
checks=$((checks + 1))
"$RNNC" seq2seq translate --model "$S" --input "$TMP/src.txt" -o "$TMP/tr.txt" >"$TMP/out" 2>"$TMP/err" || fail "translate -o: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/tr.txt")" -eq 4 ] || fail "translate -o: the lines go to the file only"
grep -qx "translate: 4 lines, 1 unknown source symbol (14.3% of 7); wrote $TMP/tr.txt" "$TMP/err" || fail "translate -o: closing line: $(cat "$TMP/err")"
"$RNNC" seq2seq translate --model "$S" <"$TMP/src.txt" >"$TMP/out2" 2>/dev/null
cmp -s "$TMP/tr.txt" "$TMP/out2" || fail "translate -o and translate from stdin differ"
checks=$((checks + 1))
printf 'a b c\n' | "$RNNC" seq2seq translate --model "$S" >"$TMP/out" 2>"$TMP/err" && [ "$(wc -l <"$TMP/out")" -eq 1 ] && [ ! -s "$TMP/err" ] ||
    fail "stdin to stdout with no unknown symbol: one line, nothing on stderr: $(cat "$TMP/err")"
printf 'a q\n' | "$RNNC" seq2seq translate --model "$S" - >"$TMP/out" 2>"$TMP/err" &&
    grep -qx 'translate: 1 line, 1 unknown source symbol (50.0% of 2)' "$TMP/err" || fail "translate - (stdin) with an unknown symbol: $(cat "$TMP/err")"
expect_error 1 "$TMP/nope.txt: cannot open" "$RNNC" seq2seq translate --model "$S" --input "$TMP/nope.txt" -o "$TMP/tr2.txt"
[ -e "$TMP/tr2.txt" ] && fail "a failed translate left its -o file"
expect_error 1 "$TMP/no/dir/out.txt" "$RNNC" seq2seq translate --model "$S" "$TMP/src.txt" -o "$TMP/no/dir/out.txt"
expect_error 2 "one input at most" "$RNNC" seq2seq translate --model "$S" "$TMP/src.txt" "$TMP/src.txt"
printf 'a b c\n' >"$TMP/notab.tsv"
printf 'a b c a b c\ta\n' >"$TMP/long.tsv"
expect_error 1 "no items to evaluate in $TMP/notab.tsv (1 skipped as bad, 0 as long)" "$RNNC" seq2seq eval --model "$S" \
    --data "$TMP/notab.tsv" --skip-bad
[ -s "$TMP/out" ] && fail "eval on zero items printed a score: $(cat "$TMP/out")"
expect_error 1 "no items to evaluate in $TMP/long.tsv (0 skipped as bad, 1 as long)" "$RNNC" seq2seq eval --model "$S" \
    --data "$TMP/long.tsv" --max-source 3 --skip-long
expect_error 1 "no items to evaluate in $TMP/empty.txt (the file is empty)" "$RNNC" seq2seq eval --model "$S" --data "$TMP/empty.txt"
expect_error 1 "no items to evaluate in $TMP/blank.txt (only blank lines)" "$RNNC" seq2seq eval --model "$S" --data "$TMP/blank.txt"

# A flag whose value is missing is an error naming it, on every command; a negative number or a
# lone - (stdin) is a value.
expect_error 2 "--model needs a value (got the flag --data)" "$RNNC" eval --model --data "$TMP/words.txt"
expect_error 2 "--ids needs a value (got the flag --batch)" "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids --batch 4 --seq 5
expect_error 2 "--cell needs a value (got the flag --vocab)" "$RNNC" init --cell --vocab 5 --embed 2 --hidden 2 -o "$TMP/x.safetensors"
expect_error 2 "-o needs a value (got the flag --seed)" "$RNNC" init --cell lstm --vocab 5 --embed 2 --hidden 2 -o --seed 3
expect_error 2 "--data" "$RNNC" train --data --steps 3 -o "$TMP/r"
[ -e "$TMP/--steps" ] || [ -e "$TMP/r" ] && fail "train --data --steps took the flag as a file"
expect_error 2 "--model needs a value (got the flag --beam)" "$RNNC" seq2seq translate --model --beam 3
expect_error 2 "--data needs a value (got the flag --skip-bad)" "$RNNC" seq2seq eval --model "$S" --data --skip-bad
expect_error 2 "--model needs a value (got the flag -n)" "$RNNC" sample --model -n 5
expect_error 2 "--prompt needs a value (got the flag --seed)" "$RNNC" sample --model "$TMP/charrun/model.safetensors" --prompt --seed 3
expect_error 2 "--temperature must be between 0 and" "$RNNC" sample --model "$TMP/charrun/model.safetensors" --temperature -0.5
# greedy draws nothing: --top-k and --seed are ignored, with one warning naming both, and the text is greedy's
checks=$((checks + 1))
"$RNNC" sample --model "$TMP/charrun/model.safetensors" -n 20 --temperature 0 > "$TMP/greedy.txt" 2>/dev/null
"$RNNC" sample --model "$TMP/charrun/model.safetensors" -n 20 --temperature 0 --top-k 3 --seed 9 > "$TMP/greedy2.txt" 2> "$TMP/greedy2.err"
if ! cmp -s "$TMP/greedy.txt" "$TMP/greedy2.txt" || [ "$(wc -l < "$TMP/greedy2.err")" -ne 1 ] ||
   ! grep -q "^rnnc sample: warning: --top-k and --seed are ignored with --temperature 0" "$TMP/greedy2.err"; then
    fail "sample --temperature 0 --top-k 3 --seed 9: $(cat "$TMP/greedy2.err")"
fi
# a refused number is quoted as typed (not rounded by %g into the bound it broke)
expect_error 2 "--ema must be between 0 and 0.999999, got 0.9999995" "$RNNC" train --data "$TMP/x.txt" --ema 0.9999995 -o "$TMP/emarun"
expect_error 2 "--model needs a value (got the flag -k)" "$RNNC" similar --model -k 3 cat

# An empty value, after '=' or as its own argument, is a missing one, named as such (a file flag
# said "rnnc: : cannot open", exit 1, naming no flag). The hint line follows.
# usage_is MODE LINE CMD...: exit 2, the first stderr line "rnnc MODE: LINE", the second the hint
usage_is() {
    local mode=$1 line=$2
    shift 2
    expect_error 2 "$line" "$@" # (exit 2, the line in stderr), then its exact form and the hint
    if [ "$(head -1 "$TMP/err")" != "rnnc $mode: $line" ] || [ "$(sed -n 2p "$TMP/err")" != "(see rnnc $mode --help)" ] ||
       [ "$(wc -l <"$TMP/err")" -ne 2 ]; then fail "$*: $(cat "$TMP/err")"; fi
}
CH=$TMP/charrun/model.safetensors
usage_is eval "--model needs a value" "$RNNC" eval --model= --ids "$G/cli_ids.txt" --batch 2 --seq 4
usage_is eval "--model needs a value" "$RNNC" eval --model "" --ids "$G/cli_ids.txt" --batch 2 --seq 4
usage_is eval "--ids needs a value" "$RNNC" eval --model "$G/cli_lstm.safetensors" --ids= --batch 2 --seq 4
usage_is eval "--data needs a value" "$RNNC" eval --model "$CH" --data=
usage_is train "--data needs a value" "$RNNC" train --data= --steps 2 -o "$TMP/t3"
usage_is train "--data: value 2 is empty" "$RNNC" train --data "$TMP/words.txt" "" --steps 2 -o "$TMP/t3"
usage_is "train --ids" "--model needs a value" "$RNNC" train --model= --ids "$G/cli_ids.txt" --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.1 -o "$TMP/t3.safetensors"
usage_is "train --ids" "--ids needs a value" "$RNNC" train --model "$G/cli_lstm.safetensors" --ids= --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.1 -o "$TMP/t3.safetensors"
[ -e "$TMP/t3" ] || [ -e "$TMP/t3.safetensors" ] && fail "an empty value made an output"
usage_is sample "--model needs a value" "$RNNC" sample --model=
usage_is sample "--prompt-file needs a value" "$RNNC" sample --model "$CH" --prompt-file=
usage_is similar "--model needs a value" "$RNNC" similar --model= cat
usage_is "seq2seq translate" "--model needs a value" "$RNNC" seq2seq translate --model=
usage_is "seq2seq translate" "--input needs a value" "$RNNC" seq2seq translate --model "$S" --input ""
usage_is "seq2seq eval" "--model needs a value" "$RNNC" seq2seq eval --model= --data "$TMP/long.tsv"
usage_is "seq2seq eval" "--data needs a value" "$RNNC" seq2seq eval --model "$S" --data=
usage_is export "--format needs a value" "$RNNC" export --format= "$G/cli_lstm.safetensors" -o "$TMP/x.onnx"
# where empty means something it is taken: an empty --prompt is no prompt (the text starts after a
# newline, as without one)
checks=$((checks + 1))
"$RNNC" sample --model "$CH" -n 12 --temperature 0 --prompt= >"$TMP/p0" 2>"$TMP/err" &&
    "$RNNC" sample --model "$CH" -n 12 --temperature 0 >"$TMP/p1" && cmp -s "$TMP/p0" "$TMP/p1" ||
    fail "sample --prompt= is not sample without a prompt: $(cat "$TMP/err")"

# train's two modes: flags of both on one line are one usage error naming them (the id-file mode,
# picked by --model anywhere, said "unknown option '--data'"); each mode alone is as before
usage_is train "--model and --data do not go together: --model MODEL --ids FILE trains a model file on token ids, --data FILE... (or --resume RUN_DIR) a new model on text" \
    "$RNNC" train --data "$TMP/words.txt" --steps 2 -o "$TMP/t4" --model
usage_is train "--ids and --data do not go together: --model MODEL --ids FILE trains a model file on token ids, --data FILE... (or --resume RUN_DIR) a new model on text" \
    "$RNNC" train --ids "$G/cli_ids.txt" --data "$TMP/words.txt" -o "$TMP/t4" --steps 1
usage_is train "--model and --data do not go together: --model MODEL --ids FILE trains a model file on token ids, --data FILE... (or --resume RUN_DIR) a new model on text" \
    "$RNNC" train --model="$G/cli_lstm.safetensors" --data="$TMP/words.txt" -o "$TMP/t4" --steps 1
[ -e "$TMP/t4" ] && fail "a mixed train line made its run directory"
usage_is "train --ids" "--model needs a value" "$RNNC" train --ids "$G/cli_ids.txt" --steps 2 -o "$TMP/t4.safetensors" --model
usage_is train "--data needs a value" "$RNNC" train --steps 2 -o "$TMP/t4" --data
checks=$((checks + 1))
"$RNNC" train --data x --model y --help | grep -q "^usage: rnnc train" || fail "train --data --model --help: no help"

# Usage errors end by pointing at the help of the mode in use; --help anywhere on the line wins.
for mode in "seq2seq translate" "seq2seq eval" "eval" "init" "sample" "similar" "info" "plot"; do
    checks=$((checks + 1))
    # shellcheck disable=SC2086
    "$RNNC" $mode --bogus >/dev/null 2>"$TMP/err"
    rc=$?
    [ $rc -eq 2 ] && head -1 "$TMP/err" | grep -q "^rnnc $mode: unknown option '--bogus'" &&
        [ "$(tail -1 "$TMP/err")" = "(see rnnc $mode --help)" ] || fail "rnnc $mode --bogus: rc $rc, $(cat "$TMP/err")"
    # shellcheck disable=SC2086
    "$RNNC" $mode --help >"$TMP/help" 2>&1 && grep -q "^usage: rnnc $mode" "$TMP/help" || fail "rnnc $mode --help: $(head -2 "$TMP/help")"
    # --help anywhere wins, even as the value a flag is missing
    # shellcheck disable=SC2086
    "$RNNC" $mode --bogus --model --help >"$TMP/help" 2>&1 && grep -q "^usage: rnnc $mode" "$TMP/help" ||
        fail "rnnc $mode --bogus --model --help: $(head -2 "$TMP/help")"
done

# rnnc version: the plain line; --verbose's six lines, its caches those the system reports (sysfs
# where it has them); --json the same as an object; an unknown option a usage error; --help wins.
checks=$((checks + 1))
ver=$("$RNNC" version) && [ "$ver" = "$("$RNNC" --version)" ] && [[ $ver =~ ^rnnc\ [0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    fail "rnnc version: '$ver'"
"$RNNC" version --verbose >"$TMP/ver" || fail "rnnc version --verbose failed"
for k in compiler kernels cpu threads blas; do
    checks=$((checks + 1))
    [ "$(grep -c "^$k: " "$TMP/ver")" -eq 1 ] || fail "rnnc version --verbose: no single '$k:' line: $(cat "$TMP/ver")"
done
checks=$((checks + 1))
[ "$(head -1 "$TMP/ver")" = "$ver" ] && [ "$(wc -l <"$TMP/ver")" -eq 6 ] || fail "rnnc version --verbose: $(cat "$TMP/ver")"
l2dir=
for d in /sys/devices/system/cpu/cpu0/cache/index*; do
    [ "$(cat "$d/level" 2>/dev/null)" = 2 ] && [ "$(cat "$d/type" 2>/dev/null)" != Instruction ] && l2dir=$d
done
if [ -n "$l2dir" ] && [ -r "$l2dir/size" ]; then
    checks=$((checks + 1))
    l2=$(cat "$l2dir/size")
    case $l2 in *K) want="${l2%K} KiB" ;; *M) want="${l2%M} MiB" ;; *) want=$l2 ;; esac
    if [[ $l2 == *K ]] && [ $((${l2%K} % 1024)) -eq 0 ]; then want="$((${l2%K} / 1024)) MiB"; fi
    grep -q "L2 $want," "$TMP/ver" || fail "rnnc version --verbose: L2 is not sysfs's $l2: $(grep '^cpu' "$TMP/ver")"
fi
checks=$((checks + 1))
"$RNNC" version --json >"$TMP/ver.json" && for k in '"version"' '"step_kernel"' '"cache_bytes"' '"l2"' '"threads"' '"blas_core"'; do
    grep -q "$k:" "$TMP/ver.json" || fail "rnnc version --json lacks $k: $(cat "$TMP/ver.json")"
done
checks=$((checks + 1))
OMP_NUM_THREADS=1 "$RNNC" version -v | grep -q '^threads:   1 (OpenMP; OMP_NUM_THREADS 1)' || fail "rnnc version -v under OMP_NUM_THREADS=1"
checks=$((checks + 1))
"$RNNC" version --bogus >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] && head -1 "$TMP/err" | grep -q "^rnnc version: unknown option '--bogus'" || fail "rnnc version --bogus: rc $rc, $(cat "$TMP/err")"
checks=$((checks + 1))
"$RNNC" version extra >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] && head -1 "$TMP/err" | grep -q "^rnnc version: takes no arguments, got 'extra'" || fail "rnnc version extra: rc $rc, $(cat "$TMP/err")"
# output that cannot be written is an error of every command, not a silent exit 0
if [ -w /dev/full ]; then
    # (and the commands that write their output as they go, which report it themselves, alike)
    for i in $(seq 300); do echo "the cat sat on the mat"; done >"$TMP/line.txt"
    "$RNNC" tokenizer train --type char -o "$TMP/char.json" "$TMP/line.txt" 2>/dev/null
    "$RNNC" train --data "$TMP/line.txt" --hidden 4 --embed 2 --batch 2 --seq 8 --steps 1 -o "$TMP/fullrun" 2>/dev/null
    for cmd in "version --verbose" "--help" "info $G/cli_lstm.safetensors" "tokenizer encode -t $TMP/char.json $TMP/line.txt" \
               "sample --model $TMP/fullrun/model.safetensors -n 5 --seed 1"; do
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        "$RNNC" $cmd >/dev/full 2>"$TMP/err"
        rc=$?
        [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^rnnc: writing the standard output failed" "$TMP/err" ||
            fail "rnnc $cmd >/dev/full: rc $rc, $(cat "$TMP/err")"
    done
fi
checks=$((checks + 1))
"$RNNC" version --bogus --help | grep -q '^usage: rnnc version' || fail "rnnc version --bogus --help"

# A bad -o is refused up front by every command that writes a file, with the same words: an empty
# name, an existing directory (train --ids found it only after all its steps), a missing directory.
mkdir -p "$TMP/adir"
printf '{"step":1,"tokens":10,"train_loss":2}\n' >"$TMP/m.jsonl"
writers=("init --cell lstm --vocab 5 --embed 2 --hidden 2"
         "tokenizer train --type char $TMP/ab.txt"
         "tokenizer encode -t char $TMP/ab.txt"
         "plot $TMP/m.jsonl"
         "export $G/cli_lstm.safetensors"
         "train --model $G/cli_lstm.safetensors --ids $G/cli_ids.txt --batch 4 --seq 5 --steps 1 --optimizer sgd --lr 0.5")
for w in "${writers[@]}"; do
    # shellcheck disable=SC2086
    expect_error 2 "-o needs a file name" "$RNNC" $w -o ""
    # shellcheck disable=SC2086
    expect_error 2 "-o $TMP/adir is a directory; give the name of the file to write" "$RNNC" $w -o "$TMP/adir"
    # shellcheck disable=SC2086
    expect_error 1 "$TMP/nodir/x: cannot write it: $TMP/nodir is not a directory that exists" "$RNNC" $w -o "$TMP/nodir/x"
done
[ -z "$(ls -A "$TMP/adir")" ] || fail "a refused -o wrote into the directory: $(ls "$TMP/adir")"

# A flag of one name takes one range in every command that has it (CLI.md, "Flag values"); the
# value is checked as it is read, before any file is opened, so no model is needed here.
threaders=("sample" "tokenizer train" "tokenizer encode" "tokenizer stats" "seq2seq translate" "seq2seq eval"
           "seq2seq train" "classify predict" "classify eval" "tag predict" "tag eval" "forecast eval" "train"
           "classify train" "tag train" "forecast train" "lab params")
for c in "${threaders[@]}"; do
    # shellcheck disable=SC2086
    expect_error 2 "--threads must be between 1 and 1024, got 1025" "$RNNC" $c --threads 1025
done
for c in "eval" "seq2seq translate" "seq2seq eval" "seq2seq train" "classify predict" "classify eval" "tag predict" \
         "tag eval" "forecast eval" "train" "classify train" "tag train" "forecast train"; do
    # shellcheck disable=SC2086
    expect_error 2 "--batch must be between 1 and 65536, got 65537" "$RNNC" $c --batch 65537
done
for c in "sample" "train" "seq2seq train" "classify train" "lab params"; do
    # shellcheck disable=SC2086
    expect_error 2 "--seed must be between 0 and 9223372036854775807, got -1" "$RNNC" $c --seed -1
done
for c in "classify train" "tag train" "classify predict" "classify eval" "tag predict" "tag eval"; do
    # shellcheck disable=SC2086
    expect_error 2 "--max-len must be between 1 and 1073741824, got 1073741825" "$RNNC" $c --max-len 1073741825
done
# (translate's --max-len is the longest output, whose room is set aside per line: CLI.md)
expect_error 2 "--max-len must be between 1 and 1048576, got 1048577" "$RNNC" seq2seq translate --max-len 1048577
for c in "seq2seq train" "seq2seq eval"; do
    # shellcheck disable=SC2086
    expect_error 2 "--max-source must be between 1 and 1073741824, got 0" "$RNNC" $c --max-source 0
done

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
