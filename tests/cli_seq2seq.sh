#!/usr/bin/env bash
# rnnc seq2seq train / translate / eval end to end on a tiny reversal task, and every bad input the
# issue names: a line without a tab, empty sides, over-long sources (error or skip by flag), empty
# translate input lines, a model file that is not a seq2seq model, usage errors; and vocabularies
# from tokenizers (word, bpe:N, tokenizer files) stored in the model file.
set -u
RNNC=$1
fails=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export OMP_NUM_THREADS=1 RNNC_NO_PROGRESS=1
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

awk 'BEGIN{srand(3); for(i=0;i<600;i++){n=2+int(rand()*3); s="";t=""; for(k=0;k<n;k++){c=sprintf("%c",97+int(rand()*5)); a[k]=c; s=s (k?" ":"") c} for(k=n-1;k>=0;k--) t=t (k<n-1?" ":"") a[k]; print s "\t" t}}' > "$t/train.tsv"
head -50 "$t/train.tsv" > "$t/dev.tsv"

"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/run" --hidden 16 --embed 8 --epochs 2 \
  --batch 16 --bidirectional --cell gru --seed 3 --log-every 20 --eval-every 20 2> "$t/train.err"
check "train exits 0" '[ $? -eq 0 ]'
nsteps=$(grep -o '"step":[0-9]*' "$t/run/metrics.jsonl" | tail -1 | cut -d: -f2)
check "train writes model, best, checkpoint, metrics" '[ -s "$t/run/model.safetensors" ] && [ -s "$t/run/best.safetensors" ] && [ -s "$t/run/checkpoint.safetensors" ] && [ -s "$t/run/metrics.jsonl" ]'
check "metrics.jsonl: dev loss, TER and SER every --eval-every steps and at the end, train loss every --log-every" '[ $(grep -c "\"val_loss\":.*\"val_ter\":[0-9.e-]*,\"val_ser\":" "$t/run/metrics.jsonl") -eq $((nsteps / 20 + (nsteps % 20 > 0))) ] && [ $(grep -c "\"train_loss\":" "$t/run/metrics.jsonl") -ge 2 ]'
"$RNNC" plot "$t/run" -o "$t/curves.svg" --x step 2>/dev/null
check "rnnc plot draws the seq2seq training log" '[ $? -eq 0 ] && grep -q "<svg" "$t/curves.svg"'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/run" --hidden 16 --embed 8 --epochs 1 2> "$t/err"
check "train refuses a run directory that holds another run" '[ $? -eq 1 ] && grep -q "holds another run" "$t/err"'
check "train reports the duplicate count" 'grep -q "duplicate" "$t/train.err"'

# the same seed gives the same model
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/run2" --hidden 16 --embed 8 --epochs 2 \
  --batch 16 --bidirectional --cell gru --seed 3 --log-every 20 2>/dev/null
check "training is reproducible" 'cmp -s "$t/run/model.safetensors" "$t/run2/model.safetensors"'

printf 'a b c\n\nd e\n   \na\n' | "$RNNC" seq2seq translate --model "$t/run/best.safetensors" > "$t/out.txt"
check "translate exits 0" '[ $? -eq 0 ]'
check "translate: one output line per input line" '[ $(wc -l < "$t/out.txt") -eq 5 ]'
check "translate: empty input line gives an empty line" '[ -z "$(sed -n 2p "$t/out.txt")" ] && [ -z "$(sed -n 4p "$t/out.txt")" ]'
printf 'a b c\nd e\n' | "$RNNC" seq2seq translate --model "$t/run/best.safetensors" --beam 4 --nbest 3 > "$t/nbest.txt"
check "nbest: 3 lines per input, numbered, scores sorted" '[ $(wc -l < "$t/nbest.txt") -eq 6 ] && [ "$(cut -f1 "$t/nbest.txt" | tr "\n" " ")" = "0 0 0 1 1 1 " ] && cut -f2 "$t/nbest.txt" | head -3 | sort -gr -c'
printf 'a b c\nd e\n' | "$RNNC" seq2seq translate --model "$t/run/best.safetensors" --beam 1 > "$t/g.txt"
printf 'a b c\nd e\n' | "$RNNC" seq2seq translate --model "$t/run/best.safetensors" > "$t/g2.txt"
check "beam 1 equals greedy" 'cmp -s "$t/g.txt" "$t/g2.txt"'
# -o: '-' is stdout; the input or the model named as output is refused (the write replaces the
# file at the end: the input would be lost), also spelled another way
printf 'a b c\nd e\n' > "$t/in.txt"; cp "$t/in.txt" "$t/in.bak"
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" "$t/in.txt" -o - > "$t/dash.txt" 2>/dev/null
check "translate -o -: stdout, no file named '-'" '[ $? -eq 0 ] && cmp -s "$t/dash.txt" "$t/g2.txt" && [ ! -e ./- ] && [ ! -e "$t/-" ]'
(cd "$t" && "$RNNC" seq2seq translate --model run/best.safetensors in.txt -o ./in.txt) > /dev/null 2> "$t/err"
check "translate -o INPUT (as ./INPUT): refused, the input intact" '[ $? -eq 2 ] && grep -q "^rnnc seq2seq translate: -o ./in.txt names in.txt, which this command reads" "$t/err" && cmp -s "$t/in.txt" "$t/in.bak"'
cp "$t/run/best.safetensors" "$t/best.bak"
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" "$t/in.txt" -o "$t/run/best.safetensors" > /dev/null 2> "$t/err"
check "translate -o MODEL: refused, the model intact" '[ $? -eq 2 ] && grep -q "which this command reads" "$t/err" && cmp -s "$t/run/best.safetensors" "$t/best.bak"'
# lines are decoded in batches (of like length, from a file many batches at a time): the outputs
# are those of one line at a time, in order, empty lines kept, whatever the batch and the input
for i in 1 2 3; do cut -f1 "$t/dev.tsv"; echo; printf '   \n'; done > "$t/many.txt"
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --batch 1 < "$t/many.txt" > "$t/b1.txt" 2>/dev/null
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --batch 7 < "$t/many.txt" > "$t/b7.txt"
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" "$t/many.txt" > "$t/bf.txt" 2>/dev/null
check "translate --batch 1, --batch 7 and a file give the same lines" '[ $(wc -l < "$t/b1.txt") -eq $(wc -l < "$t/many.txt") ] && cmp -s "$t/b1.txt" "$t/b7.txt" && cmp -s "$t/b1.txt" "$t/bf.txt"'
# --alpha ranks beams: without --beam it changes nothing, and says so (once, on stderr)
printf 'a b c\n' | "$RNNC" seq2seq translate --model "$t/run/best.safetensors" --alpha 0.5 > "$t/al.txt" 2> "$t/al.err"
check "translate --alpha without --beam: the greedy output, and one warning naming --alpha" \
  '[ "$(cat "$t/al.txt")" = "$(sed -n 1p "$t/g.txt")" ] && [ "$(wc -l < "$t/al.err")" -eq 1 ] && grep -q "^rnnc seq2seq translate: warning: --alpha is ignored without --beam" "$t/al.err"'
printf 'a b c\n' | "$RNNC" seq2seq translate --model "$t/run/best.safetensors" --alpha 0.5 --beam 2 > /dev/null 2> "$t/al2.err"
check "translate --alpha with --beam: no warning" '[ ! -s "$t/al2.err" ]'
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --beam 3 --nbest 2 --batch 1 < "$t/many.txt" > "$t/n1.txt"
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --beam 3 --nbest 2 "$t/many.txt" > "$t/nf.txt" 2>/dev/null
check "translate --nbest: the same lists batched and one line at a time" '[ $(wc -l < "$t/n1.txt") -eq $((2 * $(wc -l < "$t/many.txt"))) ] && cmp -s "$t/n1.txt" "$t/nf.txt"'
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --batch 0 < /dev/null 2> "$t/err"
check "translate --batch 0: exit 2 naming the flag" '[ $? -eq 2 ] && grep -q -- "--batch" "$t/err"'
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --batch 2> "$t/err" < /dev/null
check "translate --batch without a value: exit 2" '[ $? -eq 2 ] && grep -q -- "--batch needs a value" "$t/err"'

"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/dev.tsv" > "$t/eval.txt"
check "eval prints TER and SER" '[ $? -eq 0 ] && grep -q "TER [0-9.]*%  SER [0-9.]*%" "$t/eval.txt"'
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/dev.tsv" --beam 3 > "$t/eval3.txt"
check "eval with beam" '[ $? -eq 0 ] && grep -q "beam 3" "$t/eval3.txt"'
# --json: the same figures as the line, as fractions, with the counts behind them
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/dev.tsv" --beam 3 --json > "$t/eval3.json"
check "eval --json: TER and SER as the line's, and their counts" '/usr/bin/python3 - "$t/eval3.json" "$t/eval3.txt" <<"PY"
import json, re, sys
j = json.load(open(sys.argv[1])); line = open(sys.argv[2]).read()
ter, ser = (float(x) for x in re.search(r"TER ([0-9.]+)%  SER ([0-9.]+)%", line).groups())
assert abs(100 * j["ter"] - ter) < 0.006 and abs(100 * j["ser"] - ser) < 0.006, (j, line)
assert j["beam"] == 3 and abs(j["ter"] - j["edits"] / j["ref_tokens"]) < 1e-12 and j["seq_errors"] <= j["sources"], j
assert re.search(r"sources %d  references %d " % (j["sources"], j["references"]), line), (j, line)
PY'

# bad TSV lines
printf 'a b\tb a\nno tab here\n' > "$t/notab.tsv"
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/notab.tsv" 2> "$t/err" >/dev/null
check "no tab: exit 1 naming file:line" '[ $? -eq 1 ] && grep -q "notab.tsv:2: no tab" "$t/err"'
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/notab.tsv" --skip-bad > "$t/o" 2>&1
check "no tab with --skip-bad: counted" '[ $? -eq 0 ] && grep -q "skipped 1 bad" "$t/o"'
printf 'a b\t\n' > "$t/empty.tsv"
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/empty.tsv" 2> "$t/err" >/dev/null
check "empty target: exit 1 naming file:line" '[ $? -eq 1 ] && grep -q "empty.tsv:1: empty target" "$t/err"'
printf '\tb a\n' > "$t/empty2.tsv"
"$RNNC" seq2seq train --data "$t/empty2.tsv" --valid "$t/dev.tsv" -o "$t/x" --epochs 1 2> "$t/err"
check "empty source in training data: exit 1" '[ $? -eq 1 ] && grep -q "empty2.tsv:1: empty source" "$t/err" && [ ! -e "$t/x" ]'
printf 'a b c d e\te d c b a\na b\tb a\n' > "$t/long.tsv"
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/long.tsv" --max-source 3 2> "$t/err" >/dev/null
check "long source: exit 1 naming file:line" '[ $? -eq 1 ] && grep -q "long.tsv:1: source of 5 symbols is longer than the maximum 3" "$t/err"'
"$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/long.tsv" --max-source 3 --skip-long > "$t/o" 2>&1
check "long source with --skip-long: counted" '[ $? -eq 0 ] && grep -q "sources 1 .* 1 long" "$t/o"'
# --max-source has train's bounds, 1 to 1073741824: 0 is refused, not read as the default 1024
for n in 0 1073741825; do
  "$RNNC" seq2seq eval --model "$t/run/best.safetensors" --data "$t/long.tsv" --max-source $n > /dev/null 2> "$t/err"
  check "eval --max-source $n: exit 2, train's range" '[ $? -eq 2 ] && [ "$(head -1 "$t/err")" = "rnnc seq2seq eval: --max-source must be between 1 and 1073741824, got $n" ] && grep -q "^(see rnnc seq2seq eval --help)$" "$t/err"'
  "$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/ms" --steps 1 --max-source $n > /dev/null 2> "$t/err2"
  check "train --max-source $n: the same refusal" '[ $? -eq 2 ] && [ "$(head -1 "$t/err2")" = "rnnc seq2seq train: --max-source must be between 1 and 1073741824, got $n" ]'
done

# checkpoints resume exactly: a run stopped by --steps (mid-epoch, and at an epoch's end) and
# resumed ends with the same model as an uninterrupted run (scheduled sampling and dropout draw
# from the RNG, so its state must come back too)
# (a constant rate here: a cosine schedule follows the budget, which these resumes change)
common=(--hidden 16 --embed 8 --layers 2 --dropout 0.1 --epochs 2 --batch 16 --teacher-forcing 0.7 --seed 5 --log-every 10 --schedule constant)
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/rA" "${common[@]}" 2>/dev/null
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/rB" "${common[@]}" --steps 13 2>/dev/null
check "a --steps stop leaves a checkpoint" '[ -s "$t/rB/checkpoint.safetensors" ]'
"$RNNC" seq2seq train --resume "$t/rB" --epochs 2 2> "$t/err"
check "resume mid-epoch: exit 0 and says so" '[ $? -eq 0 ] && grep -q "resumed from step 13 (epoch 0.68, " "$t/err"'
check "resume mid-epoch: same final model as without a stop" 'cmp -s "$t/rA/model.safetensors" "$t/rB/model.safetensors"'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/rC" "${common[@]}" --epochs 1 2>/dev/null
"$RNNC" seq2seq train --resume "$t/rC" --epochs 2 2>/dev/null
check "resume at an epoch's end with a larger --epochs: same final model" 'cmp -s "$t/rA/model.safetensors" "$t/rC/model.safetensors"'
check "the resumed run's shared log still plots" '"$RNNC" plot "$t/rC" -o "$t/c.svg" --x step 2>/dev/null'
# a step's numbers depend on the thread count: a resume given none (no --threads, no
# OMP_NUM_THREADS) goes on with the run's own, where the machine has the cores, and one given
# another count says its numbers will differ
if [ "$(nproc)" -ge 2 ]; then
  "$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/tA" "${common[@]}" --threads 2 2>/dev/null
  "$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/tB" "${common[@]}" --threads 2 --steps 13 2>/dev/null
  env -u OMP_NUM_THREADS "$RNNC" seq2seq train --resume "$t/tB" --epochs 2 2> "$t/err"
  check "resume without a thread count: the run's own (2), no warning, the uninterrupted run's model" \
    '[ $? -eq 0 ] && ! grep -q "threads\? and goes on with" "$t/err" && cmp -s "$t/tA/model.safetensors" "$t/tB/model.safetensors"'
  "$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/tC" "${common[@]}" --threads 2 --steps 13 2>/dev/null
  "$RNNC" seq2seq train --resume "$t/tC" --epochs 2 --threads 1 2> "$t/err"
  check "resume on another thread count: one warning naming both" \
    '[ $? -eq 0 ] && grep -q "warning: the run trained on 2 threads and goes on with 1: its numbers will differ from those of a run that never stopped (--threads 2 for the same)" "$t/err"'
fi
# The cosine schedule (the default) runs from --lr down to --lr x --min-lr-ratio over the budget,
# after --warmup steps; Ctrl-C (SIGINT) stops after the current step with a checkpoint and exit
# 130, and resuming with the same budget ends with the uninterrupted run's model.
cos=(--hidden 16 --embed 8 --epochs 40 --batch 8 --seed 6 --log-every 1 --warmup 5 --lr 0.01 --min-lr-ratio 0.1 --reverse-source)
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/cA" "${cos[@]}" 2>/dev/null
check "cosine: warm-up, then falling to lr x min-lr-ratio at the last step" \
  "awk -F'\"lr\":' 'NF>1{split(\$2,a,/[,}]/); lr[++n]=a[1]} END{ok=lr[1]<0.0021 && lr[5]>0.0099 && lr[n]>0.00099 && lr[n]<0.0011; for(i=6;i<=n;i++) if(lr[i]>lr[i-1]+1e-12) ok=0; exit !ok}' '$t/cA/metrics.jsonl'"
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/cB" "${cos[@]}" 2>/dev/null &
pid=$!
for i in $(seq 1 100); do [ -s "$t/cB/metrics.jsonl" ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT: exit 130 with a checkpoint" '[ $rc -eq 130 ] && [ -s "$t/cB/checkpoint.safetensors" ]'
"$RNNC" seq2seq train --resume "$t/cB" 2>/dev/null
check "SIGINT, then --resume: the uninterrupted run's model (cosine schedule, reversed sources)" 'cmp -s "$t/cA/model.safetensors" "$t/cB/model.safetensors"'
printf 'a b c\n' | "$RNNC" seq2seq translate --model "$t/cA/model.safetensors" > "$t/o" 2>&1
check "a reversed-source model translates from its file" '[ $? -eq 0 ] && [ $(wc -l < "$t/o") -eq 1 ]'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/od" --hidden 8 --embed 4 --steps 20 --output-dropout 0.3 2>/dev/null
check "--output-dropout trains, and the model keeps it" '[ $? -eq 0 ] && grep -a -q "output_dropout..:0\.3" "$t/od/model.safetensors"'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/y" --output-dropout 1.5 --epochs 1 2> "$t/err"
check "--output-dropout 1.5: exit 2 naming the flag" '[ $? -eq 2 ] && grep -q -- "--output-dropout" "$t/err"'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/y" --schedule linear --epochs 1 2> "$t/err"
check "bad --schedule: exit 2 naming the flag" '[ $? -eq 2 ] && grep -q -- "--schedule" "$t/err"'

"$RNNC" seq2seq train --resume "$t/nothing" 2> "$t/err"
check "resume of a directory that does not exist: exit 1" '[ $? -eq 1 ] && grep -q "nothing: no such run directory" "$t/err"'
"$RNNC" seq2seq train --resume "$t/rC" --data "$t/train.tsv" 2>/dev/null
check "resume with --data: usage error" '[ $? -eq 2 ]'
"$RNNC" seq2seq translate --model "$t/rC/checkpoint.safetensors" < /dev/null
check "a checkpoint also loads as a model" '[ $? -eq 0 ]'

# not a seq2seq model
"$RNNC" seq2seq translate --model "$t/train.tsv" < /dev/null 2> "$t/err"
check "non-model file: exit 1 with a message" '[ $? -eq 1 ] && grep -q "^rnnc: .*train.tsv" "$t/err"'
"$RNNC" seq2seq eval --model "$t/missing.safetensors" --data "$t/dev.tsv" 2> "$t/err"
check "missing model: exit 1" '[ $? -eq 1 ] && grep -q "missing.safetensors" "$t/err"'

# usage errors
"$RNNC" seq2seq train --valid "$t/dev.tsv" -o "$t/y" 2>/dev/null
check "train without --data: exit 2" '[ $? -eq 2 ]'
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --bogus 2>/dev/null
check "unknown option: exit 2" '[ $? -eq 2 ]'
"$RNNC" seq2seq translate --model "$t/run/best.safetensors" --beam 2 --nbest 3 2>/dev/null
check "nbest > beam: exit 2" '[ $? -eq 2 ]'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/y" --hidden 0 --epochs 1 2>/dev/null
check "hidden 0: exit 2" '[ $? -eq 2 ]'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/tm" --hidden 8 --embed 4 --time 1s 2>/dev/null
check "--time takes a duration with a unit (1s)" '[ $? -eq 0 ] && [ -s "$t/tm/model.safetensors" ]'
"$RNNC" seq2seq train --data "$t/train.tsv" --valid "$t/dev.tsv" -o "$t/y" --time 5x 2> "$t/err"
check "--time 5x: exit 2 naming the flag" '[ $? -eq 2 ] && grep -q -- "--time expects a duration" "$t/err"'
"$RNNC" seq2seq frobnicate 2>/dev/null
check "unknown subcommand: exit 2" '[ $? -eq 2 ]'

# tokenizers: bpe:N trained on the source column, word on the target column, and tokenizer files
# made by `rnnc tokenizer train`; the model file carries them, so translate and eval need nothing else
awk 'BEGIN{srand(5); split("the a my one",d," "); split("cat dog bird fish horse",n," "); split("sees likes eats",v," ");
  for(i=0;i<300;i++){s=d[int(rand()*4)+1] " " n[int(rand()*5)+1] " " v[int(rand()*3)+1]; print s "\t" toupper(s)}}' > "$t/words.tsv"
head -30 "$t/words.tsv" > "$t/words_dev.tsv"
# (an uppercase copy of 60 distinct sentences: learnt exactly in 200 small steps, about a second)
tok_small=(--hidden 32 --embed 16 --batch 16 --lr 0.01 --seed 2 --log-every 20 --steps 200)
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/tok" --source-tokenizer bpe:300 \
  --target-tokenizer word "${tok_small[@]}" 2> "$t/tok.err"
check "train --source-tokenizer bpe:300 --target-tokenizer word: exit 0, model written" '[ $? -eq 0 ] && [ -s "$t/tok/model.safetensors" ] && [ -s "$t/tok/checkpoint.safetensors" ]'
check "train reports both vocabularies" 'grep -q "vocabularies: source bpe, [0-9]* ids; target word, 20 ids" "$t/tok.err"'
check "train reports unknown tokens (none in the training data)" 'grep -q "unknown tokens: .*words.tsv source 0 of [0-9]* (0.00%), target 0 of [0-9]* (0.00%)" "$t/tok.err"'
check "the model file holds both tokenizers" 'grep -a -q "\"rnnc.tokenizers\":\"bpe word\"" "$t/tok/model.safetensors" && grep -a -q "rnnc.src_tokenizer" "$t/tok/model.safetensors" && grep -a -q "rnnc.tgt_tokenizer" "$t/tok/model.safetensors"'
mkdir -p "$t/alone" && cp "$t/tok/model.safetensors" "$t/alone/m.safetensors"
rnnc_abs=$(cd "$(dirname "$RNNC")" && pwd)/$(basename "$RNNC")
printf 'the cat sees\n\nmy fish eats\n' | (cd "$t/alone" && "$rnnc_abs" seq2seq translate --model m.safetensors) > "$t/tok.out"
check "translate from the model file alone: one line per input, through both tokenizers" '[ $? -eq 0 ] && [ "$(cat "$t/tok.out")" = "$(printf "THE CAT SEES\n\nMY FISH EATS")" ]'
printf 'the cat sees\n' | "$RNNC" seq2seq translate --model "$t/alone/m.safetensors" --beam 3 --nbest 2 > "$t/tok.nb"
check "beam search with tokenizers" '[ $? -eq 0 ] && [ $(wc -l < "$t/tok.nb") -eq 2 ]'
"$RNNC" seq2seq eval --model "$t/alone/m.safetensors" --data "$t/words_dev.tsv" > "$t/tok.eval"
check "eval from the model file alone" '[ $? -eq 0 ] && grep -q "sources [0-9]* .*TER 0.00%  SER 0.00%" "$t/tok.eval"'
"$RNNC" seq2seq train --resume "$t/tok" --steps 203 2> "$t/err"
check "resume a tokenizer run from its checkpoint" '[ $? -eq 0 ] && grep -q "resumed from step 200 " "$t/err"'

cut -f1 "$t/words.tsv" > "$t/src.txt"
cut -f2 "$t/words.tsv" > "$t/tgt.txt"
"$RNNC" tokenizer train --type word --vocab-size 40 -o "$t/src_word.json" "$t/src.txt" 2>/dev/null &&
  "$RNNC" tokenizer train --type bpe --vocab-size 270 -o "$t/tgt.tiktoken" "$t/tgt.txt" 2>/dev/null
check "rnnc tokenizer train writes the tokenizer files" '[ $? -eq 0 ] && [ -s "$t/src_word.json" ] && [ -s "$t/tgt.tiktoken" ]'
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/tokf" --source-tokenizer "$t/src_word.json" \
  --target-tokenizer "$t/tgt.tiktoken" "${tok_small[@]}" 2> "$t/tokf.err"
check "train with tokenizer files: exit 0" '[ $? -eq 0 ] && [ -s "$t/tokf/model.safetensors" ]'
check "train reports the files' tokenizers" 'grep -q "source file (word tokenizer), 20 ids; target file (bpe tokenizer), [0-9]* ids" "$t/tokf.err"'
rm -f "$t/src_word.json" "$t/tgt.tiktoken" "$t/tgt.tiktoken.json"
printf 'a dog likes\n' | "$RNNC" seq2seq translate --model "$t/tokf/model.safetensors" > "$t/tokf.out"
# (BPE pieces of uppercase words learn more slowly than words: the output is only checked to be
# uppercase words, as the targets are)
check "translate with the tokenizer files gone" '[ $? -eq 0 ] && [ $(wc -l < "$t/tokf.out") -eq 1 ] && grep -qxE "[A-Z][A-Z ]*" "$t/tokf.out"'
"$RNNC" seq2seq eval --model "$t/tokf/best.safetensors" --data "$t/words_dev.tsv" > "$t/tokf.eval"
check "eval with the tokenizer files gone" '[ $? -eq 0 ] && grep -q "sources [0-9]* .*TER [0-9.]*%  SER [0-9.]*%" "$t/tokf.eval"'

# bad tokenizer values: one clear line, non-zero exit, no run directory
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/e1" --source-tokenizer bpe:abc --epochs 1 2> "$t/err"
check "--source-tokenizer bpe:abc: usage error naming the value" '[ $? -eq 2 ] && head -1 "$t/err" | grep -q "^rnnc seq2seq train: --source-tokenizer: bpe:abc: expected bpe:N with a positive size N$" && [ $(wc -l < "$t/err") -le 2 ] && [ ! -e "$t/e1" ]'
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/e1" --target-tokenizer bpe --epochs 1 2> "$t/err"
check "--target-tokenizer bpe without a size: usage error" '[ $? -eq 2 ] && head -1 "$t/err" | grep -q "target-tokenizer: bpe needs a vocabulary size"'
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/e1" --source-tokenizer char:30 --epochs 1 2> "$t/err"
check "--source-tokenizer char:30: usage error" '[ $? -eq 2 ] && head -1 "$t/err" | grep -q "char:30: a char vocabulary takes no size"'
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/e2" --target-tokenizer "$t/nope.json" --epochs 1 2> "$t/err"
check "missing tokenizer file: exit 1, one line naming it, no run directory" '[ $? -eq 1 ] && [ $(wc -l < "$t/err") -eq 1 ] && grep -q "^rnnc: --target-tokenizer: .*nope.json: cannot open tokenizer" "$t/err" && [ ! -e "$t/e2" ]'
"$RNNC" seq2seq train --data "$t/words.tsv" --valid "$t/words_dev.tsv" -o "$t/e3" --source-tokenizer bpe:100 --epochs 1 2> "$t/err"
check "bpe:100 (below the 256 bytes): a usage error naming the least, before any tokenizer training" '[ $? -eq 2 ] && [ "$(head -1 "$t/err")" = "rnnc seq2seq train: --source-tokenizer: bpe:100: a bpe vocabulary is at least 256 (its 256 byte tokens)" ] && [ $(wc -l < "$t/err") -eq 2 ] && [ ! -e "$t/e3" ]'
"$RNNC" seq2seq train --help > "$t/help.txt"
check "train --help lists the tokenizer values" 'grep -q "bpe:N" "$t/help.txt" && grep -q "word:N" "$t/help.txt" && grep -q "cl100k_base" "$t/help.txt"'

# One run per directory: a second run or a resume of a live run is refused naming the process;
# kill -9 before the first epoch's checkpoint leaves the step-0 one, which --resume continues.
big=(--data "$t/train.tsv" --valid "$t/dev.tsv" --hidden 16 --embed 8 --epochs 100000 --batch 4 --checkpoint-every 1000000 --eval-every 1000000)
"$RNNC" seq2seq train "${big[@]}" -o "$t/live" 2>/dev/null &
pid=$!
for _ in $(seq 200); do [ -s "$t/live/checkpoint.safetensors" ] && break; sleep 0.02; done
"$RNNC" seq2seq train "${big[@]}" -o "$t/live" 2> "$t/err"
check "a second run in a live run's directory: refused naming the process" '[ $? -eq 1 ] && grep -q "live is in use by process $pid" "$t/err"'
"$RNNC" seq2seq train --resume "$t/live" --steps 3 2> "$t/err"
check "a resume of a live run: refused naming the process" '[ $? -eq 1 ] && grep -q "live is in use by process $pid" "$t/err"'
kill -9 $pid
wait $pid 2>/dev/null
"$RNNC" seq2seq train --resume "$t/live" --steps 3 2> "$t/err"
check "kill -9 before the first epoch ends: --resume continues" '[ $? -eq 0 ] && grep -q "resumed from step" "$t/err" && [ -s "$t/live/model.safetensors" ]'
mkdir -p "$t/nock" && echo '{"step":1}' > "$t/nock/metrics.jsonl"
"$RNNC" seq2seq train "${big[@]}" -o "$t/nock" 2> "$t/err"
check "leftovers without a checkpoint: refused without suggesting --resume" '[ $? -eq 1 ] && grep -q "no checkpoint to resume" "$t/err" && ! grep -q -- "--resume" "$t/err"'

# each trainer resumes only its own task's runs
"$RNNC" train --resume "$t/rC" --steps 1000 2> "$t/err"
check "rnnc train --resume of a seq2seq run: refused, naming the command that resumes it" '[ $? -ne 0 ] && grep -q "checkpoint of a seq2seq run; resume it with rnnc seq2seq train --resume" "$t/err"'

echo "$fails failed"
[ $fails -eq 0 ]
