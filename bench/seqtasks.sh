#!/usr/bin/env bash
# The classify, tag and forecast tasks of issue 13 on their real data, each trained by rnnc for a
# fixed wall-clock budget, its best model (best validation) scored on the test split, and one
# table of the test metrics. Results with commands: docs/RESULTS.md, "Classify, tag, forecast:
# results (issue 13)".
#
# usage: bench/seqtasks.sh [--time T] [--out DIR] [--jobs 1|2] [RUN...]
#        bench/seqtasks.sh --config RUN      (the run's settings as KEY=VALUE lines; bench/seqtask_vs_torch.py reads them)
#        bench/seqtasks.sh --table [--out DIR] [RUN...]   (only the table, of runs already made)
#
# RUN is one of (default: all, in this order):
#   stress        phonemes -> stress tag per phoneme, bidirectional LSTM          (budget 15m)
#   stress-uni    the same model one-directional, same size per direction        (budget 15m)
#   truecase      characters -> U/L per character, bidirectional LSTM             (budget 15m)
#   truecase-uni  the same one-directional                                         (budget 15m)
#   spam          subject + body -> spam/ham, bidirectional LSTM, max pooling     (budget 10m)
#   births        daily births -> the next 14 days, LSTM, the calendar known ahead, --relative (budget 5m)
#
# --time T   overrides every budget (quick trials: --time 60)
# --jobs 2   runs two trainings at once, each pinned to one core (taskset -c 0 / -c 1) with one
#            thread; the runs are paired in list order (1st with 2nd, 3rd with 4th, ...), so the
#            default order puts runs of the same budget side by side. --jobs 1 (default) runs one
#            at a time pinned to core ${SEQTASKS_CORE:-0}, also with one thread.
# Every training gets --threads 1: the budgets are per core. The data comes from
# scripts/fetch-data.sh --tasks; truecasing F1 is scored by bench/baselines.py truecase-score
# (the exact metric of the baseline), stress word accuracy on unseen phoneme strings and
# primary-stress word accuracy by bench/baselines.py stress-score.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RNNC="${RNNC:-$ROOT/build/rnnc}"
DATA="${RNNC_DATA:-$ROOT/data}"
PY="${PYTHON:-/usr/bin/python3}"
OUT=/tmp/rnnc-seqtasks
TIME=""
JOBS=1
MODE=run
RUNS=()
ALL=(stress stress-uni truecase truecase-uni spam births)

while [ $# -gt 0 ]; do
    case "$1" in
        --time) TIME="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --config) MODE=config; RUNS+=("$2"); shift 2 ;;
        --table) MODE=table; shift ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "seqtasks.sh: unknown option $1" >&2; exit 2 ;;
        *) RUNS+=("$1"); shift ;;
    esac
done
[ ${#RUNS[@]} -gt 0 ] || RUNS=("${ALL[@]}")

# The settings of each run. TASK: the rnnc subcommand; BUDGET; TRAIN: the flags of `rnnc TASK
# train` besides --data/--valid/--time/--threads/-o; the rest say how to score it.
config() {
    local run="$1"
    COMMON="--optimizer adamw --weight-decay 0.01 --clip 5 --schedule cosine --warmup 100 --min-lr-ratio 0.1 --seed 1337"
    case "$run" in
        stress|stress-uni)
            TASK=tag; BUDGET=15m
            TRAINDATA="$DATA/stress/train.tsv"; VALID="$DATA/stress/dev.tsv"; TEST="$DATA/stress/test.tsv"
            MODEL="--tokenizer space --cell lstm --layers 2 --hidden 256 --embed 64 --dropout 0.2 --output-dropout 0.2"
            RUNFLAGS="--batch 64 --lr 0.003 --eval-every 500 --log-every 100"
            [ "$run" = stress ] && MODEL="$MODEL --bidirectional" ;;
        truecase|truecase-uni)
            TASK=tag; BUDGET=15m
            TRAINDATA="$DATA/truecase/train.tsv"; VALID="$DATA/truecase/dev.tsv"; TEST="$DATA/truecase/test.tsv"
            MODEL="--tokenizer char --cell lstm --layers 1 --hidden 128 --embed 32 --output-dropout 0.1"
            RUNFLAGS="--batch 32 --lr 0.003 --eval-every 300 --log-every 50"
            [ "$run" = truecase ] && MODEL="$MODEL --bidirectional" ;;
        spam)
            TASK=classify; BUDGET=10m
            TRAINDATA="$DATA/spam/train.tsv"; VALID="$DATA/spam/dev.tsv"; TEST="$DATA/spam/test.tsv"
            MODEL="--tokenizer word:20000 --cell lstm --layers 1 --hidden 128 --embed 128 --bidirectional --pool max --output-dropout 0.3 --max-len 1024"
            RUNFLAGS="--batch 32 --lr 0.003 --eval-every 100 --log-every 20 --ema 0.99" ;;
        births)
            TASK=forecast; BUDGET=5m
            TRAINDATA="$DATA/births/births.csv"; VALID=""; TEST="$DATA/births/births.csv"
            MODEL="--target births --known mon,tue,wed,thu,fri,sat,sun,holiday,near_holiday,year_sin,year_cos --relative --horizon 14 --season 7 --holdout 366 --context 56 --cell lstm --layers 1 --hidden 128 --pool final --output-dropout 0.1"
            RUNFLAGS="--batch 32 --lr 0.003 --eval-every 400 --log-every 100" ;;
        *) echo "seqtasks.sh: unknown run '$run' (choose: ${ALL[*]})" >&2; exit 2 ;;
    esac
    [ -n "$TIME" ] && BUDGET="$TIME"
    return 0
}

train_cmd() { # the training command line of run $1 (after config)
    local dir="$OUT/$1"
    local v=""
    [ -n "$VALID" ] && v="--valid $VALID"
    echo "$RNNC $TASK train --data $TRAINDATA $v $MODEL $RUNFLAGS $COMMON --time $BUDGET --threads 1 --checkpoint-every 1000000 -o $dir --force"
}

one() { # run $1 on core $2
    local run="$1" core="$2" dir="$OUT/$1"
    config "$run"
    rm -rf "$dir"
    mkdir -p "$dir"
    local cmd
    cmd="$(train_cmd "$run")"
    echo "$cmd" > "$dir/command.txt"
    echo "[$(date -u +%H:%M:%S)] $run on core $core: $cmd"
    local pin=(taskset -c "$core")
    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 RNNC_NO_PROGRESS=1
    # shellcheck disable=SC2086
    "${pin[@]}" $cmd > "$dir/train.log" 2>&1 || { echo "$run: training failed, see $dir/train.log" >&2; tail -3 "$dir/train.log" >&2; return 1; }
    local best="$dir/best.safetensors"
    case "$TASK" in
        classify) # eval cuts at its own --max-len (default 512), not the training one: pass the same
            local ml
            ml="$(echo "$MODEL" | sed -n 's/.*--max-len \([0-9]*\).*/\1/p')"
            "${pin[@]}" "$RNNC" classify eval --model "$best" --data "$TEST" --threads 1 ${ml:+--max-len $ml} --json > "$dir/test.json" ;;
        tag)
            "${pin[@]}" "$RNNC" tag eval --model "$best" --data "$TEST" --threads 1 --json > "$dir/test.json"
            cut -f1 "$TEST" | "${pin[@]}" "$RNNC" tag predict --model "$best" --threads 1 -o "$dir/test.pred" 2> "$dir/predict.log"
            case "$run" in
                truecase*) "${pin[@]}" "$PY" "$ROOT/bench/baselines.py" truecase-score "$dir/test.pred" --json > "$dir/score.json" ;;
                stress*) "${pin[@]}" "$PY" "$ROOT/bench/baselines.py" stress-score "$dir/test.pred" --json > "$dir/score.json" ;;
            esac ;;
        forecast) "${pin[@]}" "$RNNC" forecast eval --model "$best" --data "$TEST" --last 366 --threads 1 --json > "$dir/test.json" ;;
    esac
    echo "[$(date -u +%H:%M:%S)] $run done: $(tail -1 "$dir/train.log" | cut -c1-160)"
}

table() {
    "$PY" - "$OUT" "$@" <<'EOF'
import json, os, re, sys
out, runs = sys.argv[1], sys.argv[2:]
print(f"{'run':14} {'steps':>7} {'epochs':>7}  test metrics")
for r in runs:
    d = os.path.join(out, r)
    if not os.path.exists(os.path.join(d, "test.json")):
        print(f"{r:14} (no result)")
        continue
    t = json.load(open(os.path.join(d, "test.json")))
    rows = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl")) if l.strip()]
    steps = int(max(x.get("step", 0) for x in rows))
    ep = max(x.get("epoch", 0) or 0 for x in rows)
    sc = json.load(open(os.path.join(d, "score.json"))) if os.path.exists(os.path.join(d, "score.json")) else {}
    if "macro_f1" in t and "sequence_accuracy" not in t:
        m = f"acc {100 * t['accuracy']:.2f}%  macro-F1 {t['macro_f1']:.4f}  errors {t['items'] - sum(t['confusion'][i][i] for i in range(len(t['confusion'])))} of {t['items']}"
    elif "sequence_accuracy" in t:
        m = f"tag acc {100 * t['accuracy']:.2f}%  seq (word) acc {100 * t['sequence_accuracy']:.2f}%"
        if "word_acc_unseen" in sc:
            m += f"  unseen {100 * sc['word_acc_unseen']:.2f}%  vowel acc {100 * sc['vowel_acc']:.2f}%"
        if "primary_word_acc" in sc:
            m += f"  primary-stress word acc {100 * sc['primary_word_acc']:.2f}%"
        if "f1" in sc:
            m += f"  cased-word P {100 * sc['p']:.2f}% R {100 * sc['r']:.2f}% F1 {100 * sc['f1']:.2f}%  char acc {100 * sc['char_acc']:.3f}%"
    else:
        mo, sn = t["model"], t["seasonal_naive"]
        m = (f"MAE {mo['mae']:.1f}  RMSE {mo['rmse']:.1f}  sMAPE {mo['smape']:.3f}%  MASE {mo['mase']:.4f}  |  seasonal naive MAE {sn['mae']:.1f}"
             f"  ->  {100 * (1 - mo['mae'] / sn['mae']):.1f}% below")
    print(f"{r:14} {steps:7d} {ep:7.2f}  {m}")
EOF
}

case "$MODE" in
    config)
        config "${RUNS[0]}"
        echo "TASK=$TASK"; echo "BUDGET=$BUDGET"; echo "TRAIN=$TRAINDATA"; echo "VALID=$VALID"; echo "TEST=$TEST"
        echo "FLAGS=$MODEL $RUNFLAGS $COMMON"
        echo "COMMAND=$(train_cmd "${RUNS[0]}")"
        exit 0 ;;
    table) table "${RUNS[@]}"; exit 0 ;;
esac

[ -x "$RNNC" ] || { echo "seqtasks.sh: $RNNC is missing (build it first)" >&2; exit 1; }
mkdir -p "$OUT"
echo "seqtasks: $(date -u '+%F %H:%M') UTC, $(nproc) cores, out $OUT, runs: ${RUNS[*]}${TIME:+, every budget $TIME}"
for r in "${RUNS[@]}"; do config "$r"; done # unknown names fail before anything runs
if [ "$JOBS" = 2 ]; then
    a=(); b=()
    for i in "${!RUNS[@]}"; do if [ $((i % 2)) = 0 ]; then a+=("${RUNS[$i]}"); else b+=("${RUNS[$i]}"); fi; done
    # pairs in step: the i-th run of each lane start together
    for i in "${!a[@]}"; do
        one "${a[$i]}" 0 & p0=$!
        if [ -n "${b[$i]:-}" ]; then one "${b[$i]}" 1 & p1=$!; wait "$p1" || true; fi
        wait "$p0" || true
    done
else
    for r in "${RUNS[@]}"; do one "$r" "${SEQTASKS_CORE:-0}" || true; done
fi
echo
table "${RUNS[@]}"
