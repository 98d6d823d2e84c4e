#!/usr/bin/env bash
# Data-parallel training on one machine (issue 14): 2 ranks x 1 thread (mpirun -np 2) against
# 1 process x 2 threads, in training tokens/s, for LSTM 512x2 and LSTM 128x1 language models
# (B = 32, T = 128, char tokenizer on the first 2 MB of data/sotu.txt), and the time per step the
# ranks spend in the gradient all-reduce and waiting for each other (rank 0's report lines).
# Three configurations run back to back in each round, rounds repeated, medians quoted:
#   threads  rnnc train --threads 2
#   ranks    mpirun -np 2 rnnc train --threads 1                (the default: polled MPI_Iallreduce
#                                                                with the --mpi-timeout deadline)
#   blocking mpirun -np 2 rnnc train --threads 1 --mpi-timeout 0 (plain MPI_Allreduce)
# Each run trains STEPS steps with a report every 5; the first report (warm-up) is dropped.
# Beside them, the all-reduce alone: 30 MPI_Allreduce of each model's gradient between 2 ranks in a
# plain MPI program (compiled here with mpicc), best and median.
#
# --inputs measures the inputs of the cluster cost model (bench/scaling_model.py, docs/SCALING.md)
# and runs it: for LSTM 512x2 and LSTM 1024x1 language models (B = 32 per rank, T = 128) and the
# G2P model of docs/RESULTS.md (seq2seq LSTM 2x256, batch 64 per rank, on data/cmudict), one
# rank's compute per step on one thread, the gradient floats, and the share of the gradient ready
# only at the end of backward (from the model's tensors: layer 0 and the embedding; the encoder
# side). The compute per step is CPU time, not wall time, so that the load of a shared machine
# does not count: (CPU seconds of a run of 3 STEPS steps - those of a run of STEPS) / (2 STEPS),
# which cancels the start (data, tokenizer) and the end (validation, checkpoint).
# Usage: bench/mpi_scaling.sh [ROUNDS] [STEPS]     (defaults 3, 20; RNNC=path/to/rnnc)
#        bench/mpi_scaling.sh --inputs [STEPS]      (default 6; G2P 4x as many)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
inputs=0
[ "${1:-}" = --inputs ] && { inputs=1; shift; }
rounds=${1:-3}
steps=${2:-20}
RNNC=${RNNC:-$root/build/rnnc}
data=$root/data/sotu.txt
[ -x "$RNNC" ] || { echo "mpi_scaling: $RNNC is missing (make build, or RNNC=...)"; exit 1; }
[ -s "$data" ] || { echo "mpi_scaling: $data is missing (make data)"; exit 1; }
command -v mpirun >/dev/null || { echo "mpi_scaling: mpirun is missing (scripts/install-deps.sh)"; exit 1; }
mpi=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
export OMPI_MCA_btl_vader_single_copy_mechanism=none RNNC_NO_PROGRESS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
head -c 2000000 "$data" > "$t/sotu2m.txt"

# ---- the cost model's inputs
if [ "$inputs" = 1 ]; then
    steps=${1:-6}
    out=$t/inputs.jsonl
    : > "$out"
    # cpu_per_step N CMD...: the CPU seconds per step of CMD (which takes --steps), from runs of N
    # and 3N steps
    cpu_of() { local TIMEFORMAT='%3U %3S'; { time "$@" > /dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}'; }
    cpu_per_step() {
        local n=$1; shift
        rm -rf "$t/run"; local a; a=$(cpu_of "$@" --steps "$n" -o "$t/run")
        rm -rf "$t/run"; local b; b=$(cpu_of "$@" --steps $((3 * n)) -o "$t/run")
        awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN{print (b - a) / (2 * n)}'
    }
    # shares NAME RUN_DIR KIND: params, and the share of the gradient in the last bucket
    record() { python3 -c '
import json, struct, sys
name, path, kind, last_time, step = sys.argv[1:6]
d = open(path, "rb").read(); n = struct.unpack("<Q", d[:8])[0]; h = json.loads(d[8:8 + n])
size = {k: (v["data_offsets"][1] - v["data_offsets"][0]) // 4 for k, v in h.items() if k != "__metadata__"}
last = (lambda k: k.startswith("embedding.") or k.endswith("_l0")) if kind == "lm" else \
       (lambda k: k.startswith("encoder.") or k.startswith("src_embedding.") or k.startswith("bridge"))
p = sum(size.values())
print(json.dumps({"name": name, "params": p, "step_s": float(step), "last_share": sum(v for k, v in size.items() if last(k)) / p,
                  "last_time": float(last_time)}))' "$@"; }
    echo "mpi_scaling --inputs: $(nproc) cores, $(uptime | sed 's/.*load/load/'); one thread, CPU time of $steps and $((3 * steps)) steps"
    export OMP_NUM_THREADS=1
    for model in "512 2" "1024 1"; do
        set -- $model
        step=$(cpu_per_step "$steps" "$RNNC" train --data "$t/sotu2m.txt" --hidden "$1" --layers "$2" --batch 32 --seq 128 \
               --eval-every 0 --eval-tokens 4096 --checkpoint-every 1000000 --threads 1)
        # the last part: layer 0 and the embedding; its backward is 1/L of the recurrent backward
        record "LSTM ${1}x${2} LM (B 32, T 128)" "$t/run/model.safetensors" lm "$(awk -v l="$2" 'BEGIN{print 1 / l}')" \
            "$step" >> "$out"
    done
    if [ -s "$root/data/cmudict/train.tsv" ]; then
        step=$(cpu_per_step $((steps * 4)) "$RNNC" seq2seq train --data "$root/data/cmudict/train.tsv" \
               --valid "$root/data/cmudict/dev.tsv" --cell lstm --layers 2 --hidden 256 --embed 64 --batch 64 --dropout 0.3 \
               --output-dropout 0.3 --label-smoothing 0.1 --reverse-source --eval-every 0 --valid-max 10 \
               --checkpoint-every 1000000 --threads 1)
        # the last part: the encoder (with the bridge and its embedding), about half of backward
        record "G2P seq2seq LSTM 2x256 (batch 64)" "$t/run/model.safetensors" s2s 0.5 "$step" >> "$out"
    fi
    cat "$out"
    python3 "$root/bench/scaling_model.py" "$out"
    echo
    echo "one rank per 16-core node (16 threads at 80%):"
    python3 "$root/bench/scaling_model.py" "$out" --threads-per-rank 16
    echo "mpi_scaling --inputs: done, $(uptime | sed 's/.*load/load/')"
    exit 0
fi

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# the report lines after the first: tokens/s, all-reduce ms, waiting ms
parse() { grep '^step .* tok/s' "$1" | tail -n +2 | sed -E 's/.* ([0-9.]+) tok\/s(  all-reduce ([0-9.]+) ms\/step \(waiting ([0-9.]+)\))?.*/\1 \3 \4/'; }

echo "mpi_scaling: $(nproc) cores, $(uptime | sed 's/.*load/load/'); $rounds rounds of $steps steps"
printf '%-12s %-9s %12s %14s %14s\n' model config "tokens/s" "all-reduce ms" "waiting ms"
for model in "512 2" "128 1"; do
    set -- $model
    H=$1 L=$2
    common=(train --data "$t/sotu2m.txt" --hidden "$H" --layers "$L" --batch 32 --seq 128 --steps "$steps" --log-every 5
            --eval-every 0 --eval-tokens 4096 --warmup 0 --checkpoint-every 1000000 --seed 1)
    : > "$t/threads" ; : > "$t/ranks" ; : > "$t/blocking"
    params=""
    for r in $(seq "$rounds"); do
        rm -rf "$t/run"
        "$RNNC" "${common[@]}" --threads 2 -o "$t/run" 2> "$t/out"
        parse "$t/out" >> "$t/threads"
        params=$(sed -n 's/.*, \([0-9]*\) parameters$/\1/p' "$t/out" | head -1)
        rm -rf "$t/run"
        "${mpi[@]}" -np 2 "$RNNC" "${common[@]}" --threads 1 -o "$t/run" 2> "$t/out"
        parse "$t/out" >> "$t/ranks"
        rm -rf "$t/run"
        "${mpi[@]}" -np 2 "$RNNC" "${common[@]}" --threads 1 --mpi-timeout 0 -o "$t/run" 2> "$t/out"
        parse "$t/out" >> "$t/blocking"
    done
    for c in threads ranks blocking; do
        tok=$(cut -d' ' -f1 "$t/$c" | median)
        ar=$(cut -d' ' -f2 "$t/$c" | grep . | median)
        wt=$(cut -d' ' -f3 "$t/$c" | grep . | median)
        printf '%-12s %-9s %12.0f %14s %14s\n' "lstm ${H}x${L}" "$c" "$tok" "$ar" "$wt"
        eval "tok_$c=$tok"
    done
    echo "lstm ${H}x${L}: $params parameters, gradient $(awk -v p="$params" 'BEGIN{printf "%.2f", 4 * p / 1e6}') MB;" \
         "2 ranks x 1 thread / 1 process x 2 threads = $(awk -v a="$tok_ranks" -v b="$tok_threads" 'BEGIN{printf "%.2f", a / b}')" \
         "(blocking all-reduce: $(awk -v a="$tok_blocking" -v b="$tok_threads" 'BEGIN{printf "%.2f", a / b}'));" \
         "one step = $(awk -v x="$tok_threads" 'BEGIN{printf "%.0f", 1000 * 4096 / x}') ms on 2 threads"
done
# the all-reduce alone, outside training
if command -v mpicc >/dev/null; then
    cat > "$t/ar.c" <<'EOF2'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    for (int k = 1; k < argc; k++) {
        int n = atoi(argv[k]);
        float *b = calloc((size_t)n, sizeof *b);
        double t[30];
        for (int i = 0; i < 30; i++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, b, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t[i] = MPI_Wtime() - t0;
        }
        qsort(t, 30, sizeof *t, cmp);
        if (!r) printf("all-reduce alone (2 ranks, MPI_Allreduce): %d floats (%.2f MB): best %.2f ms, median %.2f ms\n", n, 4e-6 * n, 1e3 * t[0], 1e3 * t[15]);
        free(b);
    }
    MPI_Finalize();
    return 0;
}
EOF2
    mpicc -O2 "$t/ar.c" -o "$t/ar" && "${mpi[@]}" -np 2 "$t/ar" 3481749 165141
fi
echo "mpi_scaling: done, $(uptime | sed 's/.*load/load/')"
