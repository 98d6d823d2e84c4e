#!/usr/bin/env bash
# Data-parallel training under mpirun (issue 14), registered by CMake when rnnc is built with MPI:
# - equivalence: `mpirun -np N rnnc ...` trains as one process does with the same global batch,
#   seed and data order, for the LM (2 layers, dropout, the carried state), seq2seq (dropout,
#   output dropout, scheduled sampling, a bidirectional encoder), classify (class weights, a last
#   batch smaller than the ranks) and forecast: losses, final weights, optimizer state and the LM's gathered
#   state agree within 1e-5 relative after 50 steps (tests/st_compare.py; measured ~3e-7);
# - only rank 0 prints and writes: one closing line; a rank started elsewhere (another working
#   directory, as on another host) never makes its run directory, and resumes from the checkpoint
#   rank 0 sends it; a rank without the data fails the job naming itself; ranks with different data
#   are refused at the start;
# - resume: N ranks from N ranks' checkpoint exactly (bit for bit), from one process's and into
#   one process within the tolerance;
# - faults: SIGINT to mpirun writes one checkpoint at the step it names and stops every rank
#   (resumable); kill -9 of one rank ends the job naming the rank, the last checkpoint intact and
#   resumable; a stopped rank (SIGSTOP) ends the job after --mpi-timeout naming it;
# - a --batch that does not split over the ranks is refused naming the counts that would.
# Usage: mpi_train.sh RNNC SOURCE_DIR MPIEXEC
set -u
RNNC=$1
SRC=$2
MPIEXEC=${3:-mpirun}
fails=0
t=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$t"; }
trap cleanup EXIT
export OMP_NUM_THREADS=1 RNNC_NO_PROGRESS=1
# containers: no ptrace for single-copy shared memory; and a 2-core machine holds 4 ranks
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpi=("$MPIEXEC" --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
cmp_st() { python3 "$SRC/tests/st_compare.py" "$@"; }
py=$(command -v python3) || { echo "mpi_train: python3 is needed (scripts/install-deps.sh installs it)"; exit 1; }

cd "$t"
awk 'BEGIN{srand(11); split("the a quick brown fox jumps over lazy dog and cat runs far from home while birds sing",w," ");
  for(i=0;i<1200;i++){n=4+int(rand()*8); s=""; for(k=0;k<n;k++) s=s (k?" ":"") w[1+int(rand()*18)]; print s}}' > corpus.txt
awk 'BEGIN{srand(3); for(i=0;i<600;i++){n=2+int(rand()*6); s="";r=""; for(k=0;k<n;k++){c=sprintf("%c",97+int(rand()*5)); a[k]=c;
  s=s (k?" ":"") c} for(k=n-1;k>=0;k--) r=r (k<n-1?" ":"") a[k]; print s "\t" r}}' > pairs.tsv
head -40 pairs.tsv > dev.tsv
# 201 items: with --batch 8 the last batch holds 1, so 3 of 4 ranks get nothing at that step
awk 'BEGIN{srand(5); split("good bad fine poor great awful nice grim",w," "); for(i=0;i<241;i++){n=3+int(rand()*6); s=""; p=0;
  for(k=0;k<n;k++){j=1+int(rand()*8); s=s (k?" ":"") w[j]; p+=(j%2)} print (p*2>n?"pos":"neg") "\t" s}}' > items.tsv
head -201 items.tsv > cls_train.tsv
tail -40 items.tsv > cls_dev.tsv

# ---- equivalence: the LM (2 layers, dropout, carried state), 50 steps
lm=(train --data corpus.txt --hidden 32 --embed 16 --layers 2 --dropout 0.2 --batch 8 --seq 16 --steps 50 --log-every 10
    --eval-every 25 --checkpoint-every 25 --seed 7 --threads 1 --schedule constant --warmup 10)
"$RNNC" "${lm[@]}" -o lm1 2>/dev/null
"${mpi[@]}" -np 2 "$RNNC" "${lm[@]}" -o lm2 > lm2.out 2>&1
check "lm: mpirun -np 2 trains (exit 0)" '[ $? -eq 0 ] && [ -s lm2/model.safetensors ] && [ -s lm2/best.safetensors ]'
check "lm: the final weights agree with one process's within 1e-5" 'cmp_st lm1/model.safetensors lm2/model.safetensors --tol 1e-5'
check "lm: the losses (training and validation) agree within 1e-5" 'cmp_st --metrics lm1/metrics.jsonl lm2/metrics.jsonl --tol 1e-5'
check "lm: the checkpoint's optimizer state, RNG and gathered carried state (L, B, H) agree" \
  'cmp_st lm1/checkpoint.safetensors lm2/checkpoint.safetensors --prefix train. --tol 1e-5'
check "lm: the output comes from rank 0 alone (one closing line, one data line)" \
  '[ $(grep -c "done\." lm2.out) -eq 1 ] && [ $(grep -c "char tokenizer" lm2.out) -eq 1 ]'

# ---- equivalence: seq2seq (dropout, output dropout, scheduled sampling, bidirectional), 50 steps
s2s=(seq2seq train --data pairs.tsv --valid dev.tsv --hidden 16 --embed 8 --layers 2 --dropout 0.2 --output-dropout 0.1
     --teacher-forcing 0.8 --bidirectional --batch 16 --steps 50 --log-every 10 --eval-every 25 --seed 3 --threads 1)
"$RNNC" "${s2s[@]}" -o s1 2>/dev/null
"${mpi[@]}" -np 2 "$RNNC" "${s2s[@]}" -o s2 > s2.out 2>&1
check "seq2seq: mpirun -np 2 trains (exit 0)" '[ $? -eq 0 ] && [ -s s2/model.safetensors ]'
check "seq2seq: the final weights agree with one process's within 1e-5" 'cmp_st s1/model.safetensors s2/model.safetensors --tol 1e-5'
check "seq2seq: the losses (training, dev) agree within 1e-5" 'cmp_st --metrics s1/metrics.jsonl s2/metrics.jsonl --tol 1e-5'

# ---- equivalence: classify with class weights on 4 ranks, an epoch whose last batch has 1 item
cls=(classify train --data cls_train.tsv --valid cls_dev.tsv --tokenizer space --hidden 16 --embed 8 --dropout 0.1 --layers 2
     --output-dropout 0.2 --class-weight balanced --batch 8 --epochs 2 --log-every 5 --eval-every 13 --seed 2 --threads 1)
"$RNNC" "${cls[@]}" -o c1 2>/dev/null
"${mpi[@]}" -np 4 "$RNNC" "${cls[@]}" -o c4 > c4.out 2>&1
check "classify: mpirun -np 4 trains (exit 0)" '[ $? -eq 0 ] && [ -s c4/model.safetensors ]'
check "classify: 4 ranks (one step with 3 of them idle) agree with one process within 1e-5" \
  'cmp_st c1/model.safetensors c4/model.safetensors --tol 1e-5 && cmp_st --metrics c1/metrics.jsonl c4/metrics.jsonl --tol 1e-5'

# ---- equivalence: forecast (windows of a CSV series, the known column, MAE against seasonal naive),
# with the weight average (--ema: every rank keeps the same one)
awk 'BEGIN{srand(2); print "day,value,dow"; for(i=0;i<600;i++) printf "%d,%.3f,%d\n", i, 100+10*sin(i/7*6.283)+rand()*5, i%7}' > series.csv
fc=(forecast train --data series.csv --target value --known dow --context 14 --horizon 3 --season 7 --hidden 16 --layers 2
    --dropout 0.1 --batch 16 --steps 40 --log-every 10 --eval-every 20 --seed 4 --threads 1 --ema 0.9)
"$RNNC" "${fc[@]}" -o f1 2>/dev/null
"${mpi[@]}" -np 2 "$RNNC" "${fc[@]}" -o f2 > f2.out 2>&1
check "forecast: 2 ranks agree with one process within 1e-5 (weights, losses, validation MAE)" \
  'cmp_st f1/model.safetensors f2/model.safetensors --tol 1e-5 && cmp_st --metrics f1/metrics.jsonl f2/metrics.jsonl --tol 1e-5'
check "forecast: the checkpoint's weight average (train.ema) and optimizer state agree within 1e-5" \
  'cmp_st f1/checkpoint.safetensors f2/checkpoint.safetensors --prefix train. --tol 1e-5'

# ---- the batch must split over the ranks
"${mpi[@]}" -np 3 "$RNNC" "${lm[@]}" -o bad3 > bad3.out 2>&1
check "--batch 8 over 3 ranks is refused, naming the counts that would split it" \
  '! [ -s bad3/model.safetensors ] && grep -q -- "--batch 8 does not split over 3 processes" bad3.out && grep -q "1, 2, 4 or 8" bad3.out'

# ---- rank 1 elsewhere (its own working directory, as on another host): never makes a run directory
mkdir w0 w1 && cp corpus.txt w0/ && cp corpus.txt w1/
"${mpi[@]}" -np 1 --wdir "$t/w0" "$RNNC" "${lm[@]}" --steps 30 -o run : -np 1 --wdir "$t/w1" "$RNNC" "${lm[@]}" --steps 30 -o run > w.out 2>&1
check "rank 1 in another directory: rank 0 writes the run, rank 1 never touches its own path" '[ -s w0/run/checkpoint.safetensors ] && ! [ -e w1/run ]'
"${mpi[@]}" -np 1 --wdir "$t/w0" "$RNNC" train --resume run --steps 50 : -np 1 --wdir "$t/w1" "$RNNC" train --resume run --steps 50 > w2.out 2>&1
check "resume with rank 1 lacking the checkpoint (rank 0 sends it): the same model as the run never stopped" \
  '[ $? -eq 0 ] && ! [ -e w1/run ] && cmp_st w0/run/model.safetensors lm2/model.safetensors --exact'

# ---- an error every rank meets (a batch that does not split) is said once, by rank 0
"${mpi[@]}" -np 3 "$RNNC" "${lm[@]}" --batch 8 --steps 2 -o runsplit > split.out 2>&1
check "a batch that does not split over 3 ranks: one error line, not one per rank" \
  '[ $? -ne 0 ] && [ "$(grep -c "does not split over 3 processes" split.out)" -eq 1 ] && ! grep -q "^rnnc: rank [12]:" split.out'

# ---- a rank whose host lacks the data, or holds other data
mkdir w2 w3 && head -c 20000 corpus.txt > w3/corpus.txt
"${mpi[@]}" -np 1 --wdir "$t/w0" "$RNNC" "${lm[@]}" -o run2 : -np 1 --wdir "$t/w2" "$RNNC" "${lm[@]}" -o run2 > miss.out 2>&1
check "rank 1 without the data file: the job fails, and the error names rank 1 and the file" \
  '[ $? -ne 0 ] && grep -q "^rnnc: rank 1: .*corpus.txt" miss.out'
# the same on a resume, where rank 0 learns of it through the run's agreement: rank 1's own line,
# which says why, is heard before the job ends (rank 0 says only that another process failed)
"${mpi[@]}" -np 1 --wdir "$t/w0" "$RNNC" train --resume run --steps 60 : -np 1 --wdir "$t/w2" "$RNNC" train --resume run --steps 60 > miss2.out 2>&1
check "a resume with rank 1 lacking the data: rank 1's reason is shown" \
  '[ $? -ne 0 ] && grep -q "^rnnc: rank 1: .*corpus.txt" miss2.out && grep -q "another process failed" miss2.out'
"${mpi[@]}" -np 1 --wdir "$t/w0" "$RNNC" "${lm[@]}" -o run3 : -np 1 --wdir "$t/w3" "$RNNC" "${lm[@]}" -o run3 > diff.out 2>&1
check "rank 1 with other data: refused at the start (the ranks' models or data differ)" \
  '[ $? -ne 0 ] && grep -q "differ between the 2 processes" diff.out && ! [ -e w0/run3/model.safetensors ]'

# ---- resume: N from N exactly; 1 from 2 and 2 from 1 within the tolerance
"${mpi[@]}" -np 2 "$RNNC" "${lm[@]}" --steps 30 -o r2 > /dev/null 2>&1
cp -r r2 r1
"${mpi[@]}" -np 2 "$RNNC" train --resume r2 --steps 50 > /dev/null 2>&1
check "resume on 2 ranks from 2 ranks' checkpoint: bit for bit the run never stopped" \
  'cmp_st r2/model.safetensors lm2/model.safetensors --exact && cmp_st r2/checkpoint.safetensors lm2/checkpoint.safetensors --exact'
"$RNNC" train --resume r1 --steps 50 2>/dev/null
check "resume in one process from 2 ranks' checkpoint: agrees within 1e-5" \
  'cmp_st r1/model.safetensors lm2/model.safetensors --tol 1e-5 && cmp_st r1/checkpoint.safetensors lm1/checkpoint.safetensors --prefix train. --tol 1e-5'
"$RNNC" "${lm[@]}" --steps 30 -o q1 2>/dev/null
"${mpi[@]}" -np 2 "$RNNC" train --resume q1 --steps 50 > /dev/null 2>&1
check "resume on 2 ranks from one process's checkpoint: agrees within 1e-5" 'cmp_st q1/model.safetensors lm1/model.safetensors --tol 1e-5'

# ---- faults on a long run: the ranks of mpirun (its children) by OMPI_COMM_WORLD_RANK
long=(train --data corpus.txt --hidden 48 --embed 16 --layers 2 --batch 8 --seq 32 --steps 1000000 --log-every 50
      --eval-every 1000000 --checkpoint-every 20 --seed 7 --threads 1)
rank_pid() { # mpirun's pid, rank
    local c
    for c in $(pgrep -P "$1"); do
        tr '\0' '\n' < "/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$c"; return; }
    done
}
started() { # mpirun's pid, run dir: waits until the run has made its first checkpoints (up to 60 s)
    for _ in $(seq 600); do
        [ -s "$2/metrics.jsonl" ] && [ -n "$(rank_pid "$1" 1)" ] && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
ended() { # pid, seconds: waits for it to end; kills it (a hang) after that
    for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || { wait "$1"; return 0; }; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
    return 1
}
step_of() { "$RNNC" info "$1/checkpoint.safetensors" 2>/dev/null | sed -n 's/^progress *step \([0-9]*\),.*/\1/p'; }

"${mpi[@]}" -np 2 "$RNNC" "${long[@]}" -o int > int.out 2>&1 &
p=$!; pids+=($p)
if started $p int; then
    kill -INT $p
    check "SIGINT to mpirun: the job ends" 'ended $p 60'
    stopped=$(sed -n 's/.*stopped at step \([0-9]*\);.*/\1/p' int.out)
    check "SIGINT: rank 0 says where it stopped, and the checkpoint is of that step (one checkpoint, no temp files)" \
      '[ -n "$stopped" ] && [ "$(step_of int)" = "$stopped" ] && [ $(ls int | grep -c "checkpoint") -eq 1 ] && ! ls int | grep -q tmp'
    check "SIGINT: no rank is left running" '[ -z "$(pgrep -f "rnnc train --data corpus.txt --hidden 48")" ]'
    "${mpi[@]}" -np 2 "$RNNC" train --resume int --steps $((stopped + 10)) > int2.out 2>&1
    check "SIGINT: the run resumes from that checkpoint under mpirun" '[ $? -eq 0 ] && [ "$(step_of int)" = "$((stopped + 10))" ]'
else
    bad "SIGINT: the long run did not start: $(tail -3 int.out)"
fi

"${mpi[@]}" -np 2 "$RNNC" "${long[@]}" -o k9 > k9.out 2>&1 &
p=$!; pids+=($p)
if started $p k9; then
    kill -9 "$(rank_pid $p 1)"
    check "kill -9 of rank 1: the job ends (no hang)" 'ended $p 60'
    check "kill -9 of rank 1: the message names rank 1" 'grep -q "rank 1" k9.out'
    before=$(step_of k9)
    check "kill -9 of rank 1: the last checkpoint is intact" '[ -n "$before" ] && [ "$before" -ge 20 ]'
    "${mpi[@]}" -np 2 "$RNNC" train --resume k9 --steps $((before + 5)) > k92.out 2>&1
    check "kill -9 of rank 1: the run resumes from the last checkpoint" '[ $? -eq 0 ] && [ "$(step_of k9)" = "$((before + 5))" ]'
else
    bad "kill -9: the long run did not start: $(tail -3 k9.out)"
fi

"${mpi[@]}" -np 2 "$RNNC" "${long[@]}" --mpi-timeout 2 -o hang > hang.out 2>&1 &
p=$!; pids+=($p)
if started $p hang; then
    r1=$(rank_pid $p 1)
    pids+=($r1)
    kill -STOP "$r1"
    check "a stopped rank: the job ends after --mpi-timeout 2 (no hang)" 'ended $p 60'
    check "a stopped rank: rank 0 names rank 1" 'grep -q "rank 1 (of 2 processes)" hang.out && grep -q -- "--mpi-timeout 2" hang.out'
    kill -9 "$r1" 2>/dev/null
else
    bad "timeout: the long run did not start: $(tail -3 hang.out)"
fi

echo "mpi_train: $fails failed"
[ "$fails" -eq 0 ]
