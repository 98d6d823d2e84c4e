#!/usr/bin/env bash
# rnnc train --data/--resume from the command line: a run's files, run-directory guarding, Ctrl-C
# and kill -9 leave a checkpoint that resumes, a failing write keeps the old checkpoint, and bad
# input gives one clear error line and a non-zero exit.
# Usage: cli_train.sh RNNC_BINARY REPO_ROOT
set -u
rnnc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export RNNC_NO_PROGRESS=1 OMP_NUM_THREADS=1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# A corpus with structure: sentences from a tiny grammar.
awk 'BEGIN { srand(7); split("the cat|a dog|my friend|she|he", s, "|"); split("sees|likes|walks to|finds", v, "|");
             split("the house|a tree|the river|the market", o, "|");
             for (i = 0; i < 1500; i++) printf "%s %s %s. ", s[int(rand()*5)+1], v[int(rand()*4)+1], o[int(rand()*4)+1] }' > "$tmp/corpus.txt"
small=(--cell lstm --layers 1 --hidden 24 --embed 8 --batch 4 --seq 16 --log-every 5 --eval-every 10 --eval-tokens 500)

# expect_error NAME PATTERN CMD...: non-zero exit, and the one stderr line mentions PATTERN.
expect_error() {
  local name=$1 pat=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne 0 ] && grep -q -- "$pat" "$tmp/err" && [ "$(grep -c . "$tmp/err")" -le 2 ]; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
}

# 1. A run produces its files; the model carries its tokenizer; info reads it.
if "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 30 -o "$tmp/run" 2>"$tmp/err"; then ok; else bad "train: $(cat "$tmp/err")"; fi
for f in model.safetensors best.safetensors checkpoint.safetensors metrics.jsonl; do
  [ -s "$tmp/run/$f" ] && ok || bad "missing $tmp/run/$f"
done
grep -q '"val_loss"' "$tmp/run/metrics.jsonl" && ok || bad "no validation in metrics.jsonl"
# each training report has the mean gradient norm, and with clipping (on by default) the clipped share
[ "$(grep '"train_loss"' "$tmp/run/metrics.jsonl" | grep -c '"grad_norm":[0-9].*"clip_share":[01]')" -eq \
  "$(grep -c '"train_loss"' "$tmp/run/metrics.jsonl")" ] && ok || bad "reports without grad_norm / clip_share: $(head -2 "$tmp/run/metrics.jsonl")"
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 5 --clip 0 -o "$tmp/noclip" 2>/dev/null \
  && grep -q '"grad_norm"' "$tmp/noclip/metrics.jsonl" && ! grep -q '"clip_share"' "$tmp/noclip/metrics.jsonl" && ok \
  || bad "--clip 0: grad_norm without clip_share: $(head -1 "$tmp/noclip/metrics.jsonl")"
"$rnnc" info "$tmp/run/model.safetensors" > "$tmp/info" 2>&1 && grep -qi lstm "$tmp/info" && ok || bad "info: $(cat "$tmp/info")"

# A run directory whose parents do not exist yet is created with them.
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 2 -o "$tmp/deep/er/run" 2>/dev/null && [ -s "$tmp/deep/er/run/model.safetensors" ] && ok \
  || bad "nested run directory"

# 2. The directory is guarded; --force starts over; --resume with a larger budget continues.
expect_error "rerun refused" "holds another run" "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 5 -o "$tmp/run"
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 10 --force -o "$tmp/run" 2>/dev/null && ok || bad "--force"
"$rnnc" train --resume "$tmp/run" --steps 14 2>"$tmp/err" && grep -q '"step":14' "$tmp/run/metrics.jsonl" && ok \
  || bad "resume to 14: $(cat "$tmp/err")"
# A run stopped by its --steps between two reports and resumed logs the next report over the
# same steps as a run never stopped (its train_loss and grad_norm), with the same model.
lw=(--data "$tmp/corpus.txt" "${small[@]}" --log-every 10 --eval-every 0 --schedule constant --warmup 0)
"$rnnc" train "${lw[@]}" --steps 20 -o "$tmp/lw1" 2>/dev/null
"$rnnc" train "${lw[@]}" --steps 13 -o "$tmp/lw2" 2>/dev/null && "$rnnc" train --resume "$tmp/lw2" --steps 20 2>/dev/null
row20() { grep '"step":20,' "$1/metrics.jsonl" | grep -o '"train_loss":[^,]*\|"grad_norm":[^,]*' | tr '\n' ' '; }
[ -n "$(row20 "$tmp/lw1")" ] && [ "$(row20 "$tmp/lw1")" = "$(row20 "$tmp/lw2")" ] && cmp -s "$tmp/lw1/model.safetensors" "$tmp/lw2/model.safetensors" && ok \
  || bad "the report after a --steps stop and resume: '$(row20 "$tmp/lw1")' against '$(row20 "$tmp/lw2")'"
# A line appended to the data since the start: the resume says the file changed (it used to fail
# on the held-out cut, or go on with other data).
cp "$tmp/corpus.txt" "$tmp/grow.txt"
"$rnnc" train --data "$tmp/grow.txt" "${small[@]}" --steps 3 -o "$tmp/grow" 2>/dev/null
echo "one more line" >> "$tmp/grow.txt"
expect_error "resume after the data changed" "grow.txt has changed since the run started" "$rnnc" train --resume "$tmp/grow" --steps 5
# Every data file is recorded, however many (the ninth used to go unchecked).
for i in 1 2 3 4 5 6 7 8 9; do head -c 3000 "$tmp/corpus.txt" >"$tmp/part$i.txt"; done
"$rnnc" train --data "$tmp"/part[1-9].txt "${small[@]}" --steps 2 -o "$tmp/nine" 2>/dev/null
echo "one more line" >> "$tmp/part9.txt"
expect_error "resume after the ninth data file changed" "part9.txt has changed since the run started" "$rnnc" train --resume "$tmp/nine" --steps 4
# A FIFO planted in place of a run's own file would block the resume (reading the checkpoint) or
# its first save (opening model.safetensors): refused by name before anything is read or written.
cp -r "$tmp/grow" "$tmp/fifo" && cp "$tmp/corpus.txt" "$tmp/grow.txt"  # (grow's data back as it was)
rm -f "$tmp/fifo/model.safetensors" && mkfifo "$tmp/fifo/model.safetensors"
expect_error "a FIFO as the run's model.safetensors" "fifo/model.safetensors: is a FIFO where the run keeps a regular file" \
  timeout 60 "$rnnc" train --resume "$tmp/fifo" --steps 5
rm -f "$tmp/fifo/model.safetensors" "$tmp/fifo/checkpoint.safetensors" && mkfifo "$tmp/fifo/checkpoint.safetensors"
expect_error "a FIFO as the run's checkpoint" "fifo/checkpoint.safetensors: is a FIFO where the run keeps a regular file" \
  timeout 60 "$rnnc" train --resume "$tmp/fifo" --steps 5
# A user's folder: a failed --resume leaves it as it was (no run.lock, and their "notes.tmp.2024"
# kept); a run into it removes only its own files' dead temps; a run that fails there on bad data
# leaves no run.lock behind.
mkdir -p "$tmp/mine" && echo draft >"$tmp/mine/notes.tmp.2024" && echo x >"$tmp/mine/keep.txt"
expect_error "resume of a folder without a checkpoint" "mine: no checkpoint.safetensors to resume" "$rnnc" train --resume "$tmp/mine"
[ "$(ls -A "$tmp/mine" | tr '\n' ' ')" = "keep.txt notes.tmp.2024 " ] && ok || bad "a failed resume changed the folder: $(ls -A "$tmp/mine")"
"$rnnc" train --data "$tmp/mine/missing.txt" "${small[@]}" --steps 1 -o "$tmp/mine" 2>/dev/null
[ "$(ls -A "$tmp/mine" | tr '\n' ' ')" = "keep.txt notes.tmp.2024 " ] && ok || bad "a failed run left files in the folder: $(ls -A "$tmp/mine")"
echo stale >"$tmp/mine/model.safetensors.tmp.99999999" && echo stale >"$tmp/mine/best.safetensors.tmp.99999999.2"
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1 -o "$tmp/mine" 2>/dev/null
[ -e "$tmp/mine/notes.tmp.2024" ] && [ ! -e "$tmp/mine/model.safetensors.tmp.99999999" ] && [ -s "$tmp/mine/model.safetensors" ] &&
  [ ! -e "$tmp/mine/best.safetensors.tmp.99999999.2" ] && ok \
  || bad "a run in a user's folder: $(ls -A "$tmp/mine")"
# Relative data paths are the run's, from where it started: a resume from another directory reads
# them there (not a file of the same name here), and says so by the full path when one changed.
mkdir -p "$tmp/wd/a" "$tmp/wd/b" && cp "$tmp/corpus.txt" "$tmp/wd/a/text.txt" && head -c 5000 "$tmp/corpus.txt" >"$tmp/wd/b/text.txt"
(cd "$tmp/wd/a" && "$rnnc" train --data text.txt "${small[@]}" --steps 3 -o run 2>/dev/null)
(cd "$tmp/wd/b" && "$rnnc" train --resume ../a/run --steps 5 2>"$tmp/err") && ok || bad "resume from another directory: $(cat "$tmp/err")"
echo "one more line" >>"$tmp/wd/a/text.txt"
(cd "$tmp/wd/b" && "$rnnc" train --resume ../a/run --steps 7 2>"$tmp/err")
grep -q "^rnnc: $(cd "$tmp/wd/a" && pwd -P)/text.txt has changed since the run started" "$tmp/err" && ok || bad "changed data from elsewhere: $(cat "$tmp/err")"
# ... and a project folder moved since: its relative paths are read from where it is now
mkdir -p "$tmp/wd/c" && cp "$tmp/corpus.txt" "$tmp/wd/c/text.txt"
(cd "$tmp/wd/c" && "$rnnc" train --data text.txt "${small[@]}" --steps 3 -o run 2>/dev/null)
mv "$tmp/wd/c" "$tmp/wd/moved" && (cd "$tmp/wd/moved" && "$rnnc" train --resume run --steps 5 2>"$tmp/err") \
  && ok || bad "resume of a moved project: $(cat "$tmp/err")"
# A run whose budget ran out at the validation that used up its patience resumes with a new budget
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --lr 0 --steps 3 --eval-every 1 --patience 2 -o "$tmp/pb" 2>/dev/null
"$rnnc" train --resume "$tmp/pb" --steps 5 2>"$tmp/err" && ok || bad "resume after budget and patience ended together: $(cat "$tmp/err")"
# Data from stdin (or a pipe) trains: it cannot be read again, so the run records no digest of it.
"$rnnc" train --data - "${small[@]}" --steps 2 -o "$tmp/stdin" <"$tmp/corpus.txt" 2>"$tmp/err" && [ -s "$tmp/stdin/model.safetensors" ] && ok \
  || bad "train --data - (stdin): $(cat "$tmp/err")"
# ... and its resume reads stdin again, which it cannot check: the first line says so
"$rnnc" train --resume "$tmp/stdin" --steps 3 <"$tmp/corpus.txt" 2>"$tmp/err" &&
  head -1 "$tmp/err" | grep -q "note: the run's data came from the standard input, which a resume reads again and cannot check" && ok \
  || bad "resume of a stdin run: $(head -2 "$tmp/err")"
# ... and a stdin run stopped by Ctrl-C says its resume needs the data piped in again
"$rnnc" train --data - "${small[@]}" --steps 1000000 -o "$tmp/stdin2" <"$tmp/corpus.txt" 2>"$tmp/err" &
pid=$!
for _ in $(seq 250); do [ -s "$tmp/stdin2/checkpoint.safetensors" ] && break; sleep 0.02; done
kill -INT $pid; wait $pid
grep -q "continue with: rnnc train --resume .*stdin2 < DATA (the same data on the standard input again" "$tmp/err" && ok \
  || bad "a stdin run's resume hint: $(tail -1 "$tmp/err")"
# Bytes that are not UTF-8 (a binary file given as text) train, as byte tokens, and the first line says how many.
{ printf '\377\376\375'; cat "$tmp/corpus.txt"; } >"$tmp/bin.txt"
"$rnnc" train --data "$tmp/bin.txt" "${small[@]}" --steps 1 -o "$tmp/bin" 2>"$tmp/err" &&
  grep -q "; note: 3 bytes (.*%) of the training text are not UTF-8$" "$tmp/err" && ok || bad "non-UTF-8 note: $(head -2 "$tmp/err")"
# -o - is no run directory: a usage error, not a directory named "-".
(cd "$tmp" && "$rnnc" train --data corpus.txt "${small[@]}" --steps 1 -o - >/dev/null 2>err; echo $? >rc)
[ "$(cat "$tmp/rc")" = 2 ] && grep -q "^rnnc train: -o -: a run writes a directory of files" "$tmp/err" && [ ! -e "$tmp/-" ] && ok \
  || bad "train -o -: rc $(cat "$tmp/rc"), $(cat "$tmp/err")"
# A device as data would be read until memory ran out: refused by name (/dev/null reads as empty).
expect_error "a device as --data" "/dev/zero: is a device, not a file" "$rnnc" train --data /dev/zero "${small[@]}" --steps 1 -o "$tmp/dev"

# 3. Ctrl-C (SIGINT) writes a checkpoint and says how to resume; exit code 130.
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1000000 --checkpoint-every 1000000 -o "$tmp/int" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 100); do grep -q '"step"' "$tmp/int/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && grep -q -- "--resume" "$tmp/int.err" && [ -s "$tmp/int/checkpoint.safetensors" ] && ok \
  || bad "SIGINT: rc=$rc $(cat "$tmp/int.err")"
# A closed terminal (SIGHUP) stops it the same way; under nohup (SIGHUP ignored when rnnc started)
# it stays ignored, and SIGTERM then stops it.
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1000000 --checkpoint-every 1000000 -o "$tmp/hup" 2>"$tmp/hup.err" &
pid=$!
for _ in $(seq 100); do grep -q '"step"' "$tmp/hup/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -HUP $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && grep -q "continue with: rnnc train --resume" "$tmp/hup.err" && ok || bad "SIGHUP: rc=$rc $(cat "$tmp/hup.err")"
(trap '' HUP; exec "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1000000 --checkpoint-every 1000000 -o "$tmp/ign") 2>"$tmp/ign.err" &
pid=$!
for _ in $(seq 100); do grep -q '"step"' "$tmp/ign/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -HUP $pid; sleep 0.5
if kill -0 $pid 2>/dev/null; then ok; else bad "an ignored SIGHUP stopped the run: $(cat "$tmp/ign.err")"; fi
kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && ok || bad "SIGTERM after an ignored SIGHUP: rc=$rc"

# 4. kill -9 at any moment leaves the last checkpoint intact: it resumes.
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1000000 --checkpoint-every 3 -o "$tmp/k9" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/k9/checkpoint.safetensors" ] && break; sleep 0.1; done
sleep 0.5
kill -9 $pid
wait $pid 2>/dev/null
ls "$tmp/k9" | grep -q '\.tmp\.' && rm -f "$tmp"/k9/*.tmp.* # a torn temp file may remain; the real file never is
step=$(grep -o '"step":[0-9]*' "$tmp/k9/metrics.jsonl" | tail -1 | cut -d: -f2)
if "$rnnc" train --resume "$tmp/k9" --steps $((step + 5)) 2>"$tmp/err"; then ok; else bad "resume after kill -9: $(cat "$tmp/err")"; fi

# 5. A write that fails (file size limit: like a full disk) keeps the old checkpoint.
before=$(md5sum < "$tmp/k9/checkpoint.safetensors")
size_kb=$(( $(stat -c %s "$tmp/k9/checkpoint.safetensors") / 1024 / 2 ))
( ulimit -f "$size_kb"; trap '' XFSZ; exec "$rnnc" train --resume "$tmp/k9" --steps 100000 ) 2>"$tmp/err"
rc=$?
after=$(md5sum < "$tmp/k9/checkpoint.safetensors")
[ $rc -ne 0 ] && [ "$before" = "$after" ] && grep -q "unchanged\|write failed\|File too large" "$tmp/err" && ok \
  || bad "failing write: rc=$rc, same=$([ "$before" = "$after" ] && echo yes || echo no), $(cat "$tmp/err")"
"$rnnc" train --resume "$tmp/k9" --steps $((step + 6)) 2>/dev/null && ok || bad "resume after failed write"

# 6. Bad input: one clear line, non-zero exit.
: > "$tmp/empty.txt"
printf 'tiny corpus' > "$tmp/tiny.txt"
expect_error "empty corpus" "empty" "$rnnc" train --data "$tmp/empty.txt" "${small[@]}" --steps 5 -o "$tmp/e1"
expect_error "missing corpus" "$tmp/nope.txt" "$rnnc" train --data "$tmp/nope.txt" "${small[@]}" --steps 5 -o "$tmp/e2"
expect_error "corpus smaller than a batch" "batch" "$rnnc" train --data "$tmp/tiny.txt" "${small[@]}" --steps 5 -o "$tmp/e3"
expect_error "bad cell" "--cell" "$rnnc" train --data "$tmp/corpus.txt" --cell foo --steps 5 -o "$tmp/e4"
expect_error "bpe without size" "bpe" "$rnnc" train --data "$tmp/corpus.txt" --tokenizer bpe "${small[@]}" --steps 5 -o "$tmp/e5"
expect_error "no budget" "budget" "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" -o "$tmp/e6"
expect_error "no run dir" "RUN_DIR" "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 5
expect_error "resume nothing" "no such run directory" "$rnnc" train --resume "$tmp/e6"
expect_error "bad time" "--time" "$rnnc" train --data "$tmp/corpus.txt" --time 5x -o "$tmp/e7"

# 7. One run per directory. Two runs started together: one trains, the other is refused (in use, or
# holding the first's files if it came late) and leaves the first's files alone. A refusal in the
# moment between the first's lock and its pid being written names no process (rundir.c says so).
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 60 --seed 7 -o "$tmp/two" 2>"$tmp/two1.err" &
p1=$!
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 60 --seed 8 -o "$tmp/two" 2>"$tmp/two2.err" &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
if [ $((r1 == 0)) -ne $((r2 == 0)) ] && grep -q "is in use by process\|is in use by another process\|holds another run" "$tmp/two1.err" "$tmp/two2.err"; then ok
else bad "two runs in one directory: rc $r1 and $r2: $(cat "$tmp/two1.err" "$tmp/two2.err" | grep -v '^step')"; fi
dups=$(grep -o '"step":[0-9]*' "$tmp/two/metrics.jsonl" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] && ok || bad "two runs: $dups duplicated steps in metrics.jsonl"

# A resume of a live run is refused naming its process; after kill -9 (no lock survives) it resumes,
# and the torn temp files of the killed run are gone.
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1000000 --checkpoint-every 1000000 -o "$tmp/live" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q '"step"' "$tmp/live/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
expect_error "resume of a live run" "in use by process $pid" "$rnnc" train --resume "$tmp/live" --steps 5
expect_error "second run on a live run, even with --force" "in use by process $pid" \
  "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 5 --force -o "$tmp/live"
kill -9 $pid
wait $pid 2>/dev/null
: > "$tmp/live/model.safetensors.tmp.$pid" # as a write cut short by the kill leaves it
"$rnnc" train --resume "$tmp/live" --steps 1000 2>"$tmp/err" && ok || bad "resume after kill -9 of a live run: $(cat "$tmp/err")"
ls "$tmp/live" | grep -q '\.tmp\.' && bad "temp files of the killed run remain: $(ls "$tmp/live")" || ok
# One line that ends in a line break: its only break is the end, so the held-out cut falls inside
# the line (not at the end, which would leave nothing to hold out).
{ cat "$tmp/corpus.txt"; echo; } > "$tmp/oneline.txt"
"$rnnc" train --data "$tmp/oneline.txt" "${small[@]}" --steps 2 -o "$tmp/oneline" 2>"$tmp/err" && grep -q '"val_loss"' "$tmp/oneline/metrics.jsonl" \
  && ok || bad "one line with a final newline: $(cat "$tmp/err")"

# --dropout acts between stacked layers: with --layers 1 it is ignored, with a one-line warning; the
# largest --seed of every command is taken
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1 --dropout 0.3 --seed 9223372036854775807 -o "$tmp/drop" 2>"$tmp/err" \
  && [ "$(grep -c "warning: --dropout is ignored with one layer" "$tmp/err")" -eq 1 ] && ok || bad "no --dropout warning: $(cat "$tmp/err")"

# --mpi-timeout bounds the waits between mpirun's processes: in one process it is ignored, with a
# one-line warning, when a run starts and when it resumes (and the run is the same)
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 2 --mpi-timeout 10 -o "$tmp/mpit" 2>"$tmp/err" \
  && [ "$(grep -c "^rnnc train: warning: --mpi-timeout is ignored in a single process" "$tmp/err")" -eq 1 ] && ok \
  || bad "no --mpi-timeout warning: $(cat "$tmp/err")"
"$rnnc" train --resume "$tmp/mpit" --steps 3 --mpi-timeout 0 2>"$tmp/err" \
  && [ "$(grep -c "^rnnc train: warning: --mpi-timeout is ignored in a single process" "$tmp/err")" -eq 1 ] && ok \
  || bad "no --mpi-timeout warning on --resume: $(cat "$tmp/err")"
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 2 -o "$tmp/mpit0" 2>"$tmp/err" && ! grep -q -- "--mpi-timeout" "$tmp/err" && ok \
  || bad "an --mpi-timeout warning without the flag: $(cat "$tmp/err")"

# --patience counts validations: with --eval-every 0 there is one, at the end, so it is ignored, with a warning
# (train --ids, which never validates, refuses both: cli_model)
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 2 --patience 2 --eval-every 0 -o "$tmp/pat" 2>"$tmp/err" \
  && grep -q "warning: --patience is ignored with --eval-every 0" "$tmp/err" && ok || bad "no --patience warning: $(cat "$tmp/err")"

expect_error "budget used up" "budget is used up" "$rnnc" train --resume "$tmp/live" --steps 10
grep -q "the checkpoint is at step [0-9]* (epoch [0-9.]*) and the budget ends at step 10 (--steps 10)" "$tmp/err" && ok \
  || bad "used up, in steps: $(cat "$tmp/err")"
expect_error "budget used up, in epochs" "budget ends at step [0-9]* (--epochs 0.001, [0-9]* steps of [0-9]* an epoch)" \
  "$rnnc" train --resume "$tmp/live" --epochs 0.001
# --time 0 alone is no budget: a usage error naming it, on a resume as on a start
expect_error "resume --time 0" "rnnc train: --time 0 means no time limit, and no --steps or --epochs is given" \
  "$rnnc" train --resume "$tmp/live" --time 0
grep -q "^(see rnnc train --help)" "$tmp/err" && ok || bad "resume --time 0 is not a usage error: $(cat "$tmp/err")"

# A larger budget on a resume moves the cosine schedule: one note line says how the learning rate jumps
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 30 --warmup 0 -o "$tmp/cos" 2>/dev/null
"$rnnc" train --resume "$tmp/cos" --steps 60 2>"$tmp/err"
grep -q "note: the new budget moves the cosine schedule (it runs over the budget): the learning rate goes from 0.0002 to 0.00[0-9]* at step 30" "$tmp/err" \
  && ok || bad "no note on the schedule's jump: $(head -3 "$tmp/err")"
"$rnnc" train --resume "$tmp/cos" --steps 70 --schedule constant 2>/dev/null; [ $? -eq 2 ] && ok || bad "--schedule changed on a resume"

# --force and -o with --resume: each refused with what it is for, not as a "change"
expect_error "--resume with --force" "rnnc train: --force starts a new run over an old one; --resume continues the old one" \
  "$rnnc" train --resume "$tmp/cos" --force
expect_error "--resume with -o" "rnnc train: -o: --resume RUN_DIR names the run directory" "$rnnc" train --resume "$tmp/cos" -o "$tmp/cos"

# A run its --patience stopped is not resumed into more of the same: refused, unless --patience grows
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --lr 0 --steps 100 --eval-every 1 --patience 1 -o "$tmp/pat1" 2>"$tmp/err"
grep -q "stopped: no better validation in --patience evaluations" "$tmp/err" && ok || bad "--patience 1 at lr 0: $(cat "$tmp/err")"
expect_error "resume of a run --patience stopped" "the run stopped early: no better validation in its last 1 evaluations (--patience 1); give a larger --patience" \
  "$rnnc" train --resume "$tmp/pat1"
"$rnnc" train --resume "$tmp/pat1" --patience 3 2>"$tmp/err" && grep -q "stopped: no better validation" "$tmp/err" && ok \
  || bad "resume with a larger --patience: $(cat "$tmp/err")"
# ... and its last line names the best by its step and figure (from the checkpoint: the resumed part
# found no better), and best.safetensors only while it is there
tail -1 "$tmp/err" | grep -q "pat1/best.safetensors (best validation: step 1, valid loss" && ok \
  || bad "a resumed run's last line without its best: $(tail -1 "$tmp/err")"
rm "$tmp/pat1/best.safetensors"
"$rnnc" train --resume "$tmp/pat1" --patience 5 2>"$tmp/err"
tail -1 "$tmp/err" | grep -q "(last); best validation: step 1, valid loss .* (its best.safetensors is no longer there); plot" && ok \
  || bad "the last line names a best.safetensors that is gone: $(tail -1 "$tmp/err")"

# kill -9 before any periodic checkpoint: the run saved one at step 0, so --resume continues it.
"$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 1000000 --checkpoint-every 1000000 --eval-every 0 -o "$tmp/early" 2>/dev/null &
pid=$!
for _ in $(seq 200); do [ -s "$tmp/early/checkpoint.safetensors" ] && break; sleep 0.02; done
kill -9 $pid
wait $pid 2>/dev/null
"$rnnc" train --resume "$tmp/early" --steps 3 2>"$tmp/err" && [ -s "$tmp/early/model.safetensors" ] && ok \
  || bad "resume after an early kill -9: $(cat "$tmp/err")"

# Files of a run but no checkpoint: the refusal says how to start over, not "--resume".
mkdir -p "$tmp/nock" && echo '{"step":1}' > "$tmp/nock/metrics.jsonl"
expect_error "leftovers without a checkpoint" "no checkpoint to resume" \
  "$rnnc" train --data "$tmp/corpus.txt" "${small[@]}" --steps 5 -o "$tmp/nock"
grep -q -- "--resume" "$tmp/err" && bad "leftovers: the message suggests --resume: $(cat "$tmp/err")" || ok
expect_error "resume without a checkpoint" "no checkpoint.safetensors to resume" "$rnnc" train --resume "$tmp/nock"

# usage_error NAME LINE CMD...: exit 2, the first stderr line exactly LINE, then the mode's hint
usage_error() {
  local name=$1 line=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(head -1 "$tmp/err")" = "$line" ] && [ "$(sed -n 2p "$tmp/err")" = "(see rnnc train --help)" ] &&
     [ "$(wc -l <"$tmp/err")" -eq 2 ]; then ok
  else bad "$name: rc=$rc, stderr: $(cat "$tmp/err")"; fi
}

# Numbers are decimal, as typed: no white space around them, no hexadecimal (strtod took 0x10 as
# 16 for real-valued flags only), no inf or nan; a duration is at most a year (1e20 was taken).
t=(train --data "$tmp/corpus.txt" "${small[@]}" -o "$tmp/num")
usage_error "--threads ' 5'" "rnnc train: --threads expects an integer, got ' 5'" "$rnnc" "${t[@]}" --steps 1 --threads ' 5'
usage_error "--steps '5 '" "rnnc train: --steps expects an integer, got '5 '" "$rnnc" "${t[@]}" --steps '5 '
usage_error "--clip 0x10" "rnnc train: --clip expects a number, got '0x10'" "$rnnc" "${t[@]}" --steps 1 --clip 0x10
usage_error "--lr ' 0.1'" "rnnc train: --lr expects a number, got ' 0.1'" "$rnnc" "${t[@]}" --steps 1 --lr ' 0.1'
usage_error "--lr 1e-3x" "rnnc train: --lr expects a number, got '1e-3x'" "$rnnc" "${t[@]}" --steps 1 --lr 1e-3x
usage_error "--epochs inf" "rnnc train: --epochs expects a number, got 'inf'" "$rnnc" "${t[@]}" --epochs inf
usage_error "--epochs 1e400" "rnnc train: --epochs must be between 1e-09 and 1e+09, got 1e400" "$rnnc" "${t[@]}" --epochs 1e400
usage_error "--time 0x10" "rnnc train: --time expects a duration such as 120, 90s, 2m or 1h, got '0x10'" "$rnnc" "${t[@]}" --time 0x10
usage_error "--time ' 5m'" "rnnc train: --time expects a duration such as 120, 90s, 2m or 1h, got ' 5m'" "$rnnc" "${t[@]}" --time ' 5m'
usage_error "--time 1e20" "rnnc train: --time must be between 0 and 8760h (a year), got 1e20" "$rnnc" "${t[@]}" --time 1e20
usage_error "--time 8761h" "rnnc train: --time must be between 0 and 8760h (a year), got 8761h" "$rnnc" "${t[@]}" --time 8761h
usage_error "--time -1" "rnnc train: --time must be between 0 and 8760h (a year), got -1" "$rnnc" "${t[@]}" --time -1
usage_error "--mpi-timeout 1e20" "rnnc train: --mpi-timeout must be between 0 and 8760h (a year), got 1e20" "$rnnc" "${t[@]}" --steps 1 --mpi-timeout 1e20
# a --tokenizer spec is checked before any work, as the other trainers check theirs: a bad size or
# one below the type's least is a usage error (it was exit 1, after reading the data)
usage_error "--tokenizer bpe:x" "rnnc train: --tokenizer: bpe:x: expected bpe:N with a positive size N" "$rnnc" "${t[@]}" --steps 1 --tokenizer bpe:x
usage_error "--tokenizer bpe:100" "rnnc train: --tokenizer: bpe:100: a bpe vocabulary is at least 256 (its 256 byte tokens)" "$rnnc" "${t[@]}" --steps 1 --tokenizer bpe:100
usage_error "--tokenizer word:4" "rnnc train: --tokenizer: word:4: a word vocabulary is at least 5 (4 reserved ids and a word)" "$rnnc" "${t[@]}" --steps 1 --tokenizer word:4
[ ! -e "$tmp/num" ] && ok || bad "a refused number made the run directory"
# the decimal forms all pass: a sign, a fraction without leading or trailing digits, an exponent,
# a year to the second
"$rnnc" "${t[@]}" --steps +2 --lr .01 --clip 5. --weight-decay 1E-2 --time 31536000 --mpi-timeout 8760h >/dev/null 2>"$tmp/err" &&
  ok || bad "decimal forms refused: $(cat "$tmp/err")"

echo "cli_train: $pass passed, $fail failed"
[ $fail -eq 0 ]
