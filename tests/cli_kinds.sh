#!/usr/bin/env bash
# Every file knows its kind (issue 12): each command given the wrong kind of file says what the
# file is and which command takes it, in one line; rnnc info describes every kind (the classifier,
# tagger and forecaster of issue 13 and their checkpoints included); the models and
# checkpoints an older rnnc wrote (tests/golden/old/, made at c9803b3) still load and work, and
# their checkpoints are refused by --resume with the reason.
# Usage: cli_kinds.sh RNNC_BINARY REPO_ROOT
set -u
RNNC=$1
ROOT=$2
OLD=$ROOT/tests/golden/old
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export RNNC_NO_PROGRESS=1 OMP_NUM_THREADS=1
fails=0
checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# refused NEEDLE CMD...: exit 1, one stderr line "rnnc: ..." holding NEEDLE
refused() {
    local needle=$1
    shift
    checks=$((checks + 1))
    "$RNNC" "$@" >"$T/out" 2>"$T/err" </dev/null
    local rc=$?
    if [ $rc -ne 1 ]; then fail "rnnc $* exited $rc, expected 1: $(head -3 "$T/err")"; return; fi
    if ! grep -qF -- "$needle" "$T/err"; then fail "rnnc $*: stderr lacks '$needle': $(cat "$T/err")"; return; fi
    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^rnnc: ' "$T/err" || fail "rnnc $*: not one 'rnnc: ' line: $(cat "$T/err")"
}

# works CMD...: exit 0 (stdin from $T/in when it exists)
works() {
    checks=$((checks + 1))
    local in=/dev/null
    [ -f "$T/in" ] && in=$T/in
    "$RNNC" "$@" >"$T/out" 2>"$T/err" <"$in" || fail "rnnc $* exited $?: $(head -3 "$T/err")"
}

# has TEXT: the last command's stdout holds the line fragment TEXT
has() { checks=$((checks + 1)); grep -qF -- "$1" "$T/out" || fail "output lacks '$1': $(head -40 "$T/out")"; }

# ---- the files: today's runs (an LM and a seq2seq model with their checkpoints), tokenizers,
# data files of each kind
for i in $(seq 1 40); do echo "the cat sat on the mat; a dog ran $i times."; done >"$T/corpus.txt"
"$RNNC" train --data "$T/corpus.txt" --layers 1 --hidden 8 --embed 4 --batch 2 --seq 8 --steps 3 --threads 1 \
    -o "$T/lm" >"$T/log" 2>&1 || { echo "FAIL: training the LM: $(tail -3 "$T/log")"; exit 1; }
"$RNNC" seq2seq train --data "$OLD/s2s/train.tsv" --valid "$OLD/s2s/dev.tsv" --hidden 8 --embed 4 --steps 2 \
    --threads 1 -o "$T/s2s" >"$T/log" 2>&1 || { echo "FAIL: training the seq2seq model: $(tail -3 "$T/log")"; exit 1; }
"$RNNC" tokenizer train --type char -o "$T/char.json" "$T/corpus.txt" >"$T/log" 2>&1 &&
    "$RNNC" tokenizer train --type bpe --vocab-size 270 --threads 1 -o "$T/bpe.tiktoken" "$T/corpus.txt" >"$T/log" 2>&1 ||
    { echo "FAIL: training the tokenizers: $(tail -3 "$T/log")"; exit 1; }
# a classifier (bidirectional, final-state pooling, class weights), a tagger (BIO tags), a
# forecaster (a covariate known only up to now and one known ahead)
for i in $(seq 1 30); do
    echo "pos	the film was great $i"
    echo "neg	a dull plot and weak actors $i"
done >"$T/cls.tsv"
for i in $(seq 1 20); do
    echo "we met Ann in Paris	O O B-PER O B-LOC"
    echo "Ann Lee saw Rome	B-PER I-PER O B-LOC"
done >"$T/tag.tsv"
{
    echo "date,births,temp,weekday"
    for i in $(seq 0 99); do echo "d$i,$((100 + (i % 7) * 3 + (i % 5))),$((10 + i % 9)),$((i % 7))"; done
} >"$T/series.csv"
"$RNNC" classify train --data "$T/cls.tsv" --valid "$T/cls.tsv" --tokenizer word:30 --bidirectional --pool final \
    --class-weight balanced --hidden 6 --embed 4 --steps 2 --threads 1 -o "$T/cls" >"$T/log" 2>&1 &&
    "$RNNC" tag train --data "$T/tag.tsv" --valid "$T/tag.tsv" --hidden 6 --embed 4 --layers 2 --dropout 0.1 --steps 2 \
        --threads 1 -o "$T/tag" >"$T/log" 2>&1 &&
    "$RNNC" forecast train --data "$T/series.csv" --target births --covariates temp --known weekday --context 14 \
        --horizon 3 --season 7 --hidden 6 --steps 2 --threads 1 -o "$T/fc" >"$T/log" 2>&1 ||
    { echo "FAIL: training the sequence-task models: $(tail -3 "$T/log")"; exit 1; }
LM=$T/lm/model.safetensors LMCK=$T/lm/checkpoint.safetensors
S2S=$T/s2s/model.safetensors S2SCK=$T/s2s/checkpoint.safetensors
TSV=$OLD/s2s/dev.tsv
printf '5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n' >"$T/ids.txt"
printf '{"vocab": 10, "hidden": 8}\n' >"$T/config.json"
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage' >"$T/blob.gz"

# ---- the old files load and work
works info "$OLD/lm/model.safetensors"
has "kind        language model"
has "tokenizer   char, |V| = 324"
has "training    step 3, 48 tokens"
works sample --model "$OLD/lm/model.safetensors" --prompt "The " -n 20 --seed 3
head -c 4 "$T/out" | grep -qx 'The ' || fail "old LM: sample does not start with the prompt: $(cat "$T/out")"
cp "$T/out" "$T/old_sample"
works eval --model "$OLD/lm/model.safetensors" --data "$T/corpus.txt"
has "loss"
works similar --model "$OLD/lm/model.safetensors" e t -k 2
has "nearest to e:"
works info "$OLD/s2s/model.safetensors"
has "kind        seq2seq model"
has "source      space vocabulary: 6 symbols, 10 ids with the 4 specials"
has "training    step 1, epoch 1"
printf 'a b c\nf e d\n' >"$T/in"
works seq2seq translate --model "$OLD/s2s/model.safetensors"
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "old seq2seq model: expected 2 output lines, got $(wc -l <"$T/out")"
cp "$T/out" "$T/old_translation"
rm -f "$T/in"
works seq2seq eval --model "$OLD/s2s/model.safetensors" --data "$TSV"
has "TER"

# the old checkpoints: their models load (the same weights as the model files), info says what
# they are, --resume refuses them with the reason
works sample --model "$OLD/lm/checkpoint.safetensors" --prompt "The " -n 20 --seed 3
cmp -s "$T/out" "$T/old_sample" || fail "the old LM checkpoint samples differently from its model"
printf 'a b c\nf e d\n' >"$T/in"
works seq2seq translate --model "$OLD/s2s/checkpoint.safetensors"
cmp -s "$T/out" "$T/old_translation" || fail "the old seq2seq checkpoint translates differently from its model"
rm -f "$T/in"
for task in lm s2s; do
    works info "$OLD/$task/checkpoint.safetensors"
    has "written by an older rnnc; cannot be resumed by this version; its model loads"
    has "progress    step"
    mkdir -p "$T/old_$task"
    cp "$OLD/$task/checkpoint.safetensors" "$T/old_$task/"
done
has "kind        the run's seq2seq model"
refused "older rnnc" train --resume "$T/old_lm" --steps 10
refused "older rnnc" seq2seq train --resume "$T/old_s2s" --steps 10

# ---- today's checkpoints load as their models; a model trained from one is a model file
works sample --model "$LMCK" --prompt "the" -n 10 --seed 1
printf 'a b c\n' >"$T/in"
works seq2seq translate --model "$S2SCK"
rm -f "$T/in"
works train --model "$LMCK" --ids "$T/ids.txt" --batch 1 --seq 4 --steps 1 --optimizer sgd --lr 0.1 -o "$T/from_ck.safetensors"
works info "$T/from_ck.safetensors"
has "kind        language model"
grep -q "rnnc.run" "$T/out" && fail "a model trained from a checkpoint keeps the run's metadata: $(grep rnnc.run "$T/out")"

# ---- the LM commands given each wrong kind
for f in "$S2S" "$OLD/s2s/model.safetensors"; do
    want="this is a seq2seq model, not a language model; use rnnc seq2seq translate or rnnc seq2seq eval"
    refused "$f: $want" sample --model "$f" -n 5
    refused "$f: $want" eval --model "$f" --data "$T/corpus.txt"
    refused "$f: $want" eval --model "$f" --ids "$T/ids.txt" --batch 1 --seq 4
    refused "$f: $want" similar --model "$f" a
    refused "$f: $want" train --model "$f" --ids "$T/ids.txt" --batch 1 --seq 4 --steps 1 --optimizer sgd --lr 0.1 -o "$T/x.safetensors"
done
want="this is a checkpoint of a seq2seq run, not a language model; resume it with rnnc seq2seq train --resume $T/s2s, or give it (or $T/s2s/model.safetensors) to rnnc seq2seq translate or rnnc seq2seq eval"
refused "$want" sample --model "$S2SCK" -n 5
refused "$want" eval --model "$S2SCK" --data "$T/corpus.txt"
refused "$want" similar --model "$S2SCK" a
refused "a checkpoint of a seq2seq run written by an older rnnc, not a language model; this version cannot resume it, but its model loads: give it (or $OLD/s2s/model.safetensors) to rnnc seq2seq translate" \
    sample --model "$OLD/s2s/checkpoint.safetensors"
for cmd in "sample --model" "eval --data $T/corpus.txt --model" "similar a --model"; do
    # shellcheck disable=SC2086
    {
        refused "char.json: this is a tokenizer (JSON), not a language model; give it to rnnc train --tokenizer" $cmd "$T/char.json"
        refused "bpe.tiktoken: this is a BPE rank file (.tiktoken), not a language model" $cmd "$T/bpe.tiktoken"
        refused "dev.tsv: this is a TSV file, not a language model; TSV lines are data (source TAB target for rnnc seq2seq, label TAB text for rnnc classify, tokens TAB tags for rnnc tag): give it as --data to their train or eval" $cmd "$TSV"
        refused "corpus.txt: this is a text file, not a language model; text is data: give it as --data to rnnc train or rnnc eval" $cmd "$T/corpus.txt"
        refused "ids.txt: this is a file of token ids, not a language model; give it as --ids to rnnc eval or rnnc train" $cmd "$T/ids.txt"
        refused "config.json: this is a JSON file, not a language model" $cmd "$T/config.json"
        refused "bad_nometa.safetensors: this is not an rnnc language model, nor any rnnc file (no \"rnnc.config\"" $cmd "$ROOT/tests/golden/lm/bad_nometa.safetensors"
        refused "blob.gz: header length" $cmd "$T/blob.gz"
    }
done

# ---- the seq2seq commands given each wrong kind
for f in "$LM" "$OLD/lm/model.safetensors"; do
    want="$f: this is a language model, not a seq2seq model; use rnnc sample, rnnc eval or rnnc similar"
    refused "$want" seq2seq translate --model "$f"
    refused "$want" seq2seq eval --model "$f" --data "$TSV"
done
want="$LMCK: this is a checkpoint of a language-model run, not a seq2seq model; resume it with rnnc train --resume $T/lm, or give it (or $T/lm/model.safetensors) to rnnc sample, rnnc eval or rnnc similar"
refused "$want" seq2seq translate --model "$LMCK"
refused "$want" seq2seq eval --model "$LMCK" --data "$TSV"
refused "this is a checkpoint of a language-model run written by an older rnnc, not a seq2seq model" \
    seq2seq translate --model "$OLD/lm/checkpoint.safetensors"
for cmd in "seq2seq translate --model" "seq2seq eval --data $TSV --model"; do
    # shellcheck disable=SC2086
    {
        refused "char.json: this is a tokenizer (JSON), not a seq2seq model" $cmd "$T/char.json"
        refused "bpe.tiktoken: this is a BPE rank file (.tiktoken), not a seq2seq model" $cmd "$T/bpe.tiktoken"
        refused "dev.tsv: this is a TSV file, not a seq2seq model; TSV lines are data" $cmd "$TSV"
        refused "corpus.txt: this is a text file, not a seq2seq model" $cmd "$T/corpus.txt"
        refused "bad_nometa.safetensors: this is not an rnnc seq2seq model" $cmd "$ROOT/tests/golden/lm/bad_nometa.safetensors"
    }
done


# ---- the classifier, tagger and forecaster: every other command given one (or its checkpoint)
# says what it is and which command takes it
declare -A what=([cls]="a classifier" [tag]="a tagger" [fc]="a forecaster")
declare -A run_name=([cls]="a classifier's run" [tag]="a tagger's run" [fc]="a forecaster's run")
declare -A cmd=([cls]=classify [tag]=tag [fc]=forecast)
for k in cls tag fc; do
    f=$T/$k/model.safetensors c=$T/$k/checkpoint.safetensors use="rnnc ${cmd[$k]} predict or rnnc ${cmd[$k]} eval"
    refused "$f: this is ${what[$k]}, not a language model; use $use" sample --model "$f" -n 5
    refused "$f: this is ${what[$k]}, not a language model; use $use" eval --model "$f" --data "$T/corpus.txt"
    refused "$f: this is ${what[$k]}, not a language model; use $use" eval --model "$f" --ids "$T/ids.txt" --batch 1 --seq 4
    refused "$f: this is ${what[$k]}, not a language model; use $use" similar --model "$f" a
    refused "$f: this is ${what[$k]}, not a language model; use $use" \
        train --model "$f" --ids "$T/ids.txt" --batch 1 --seq 4 --steps 1 --optimizer sgd --lr 0.1 -o "$T/x.safetensors"
    refused "$f: this is ${what[$k]}, not a seq2seq model; use $use" seq2seq translate --model "$f"
    refused "$f: this is ${what[$k]}, not a seq2seq model; use $use" seq2seq eval --model "$f" --data "$TSV"
    want="$c: this is a checkpoint of ${run_name[$k]}, not a language model; resume it with rnnc ${cmd[$k]} train --resume $T/$k, or give it (or $T/$k/model.safetensors) to $use"
    refused "$want" sample --model "$c" -n 5
    refused "$want" eval --model "$c" --data "$T/corpus.txt"
    refused "$want" similar --model "$c" a
    refused "$c: this is a checkpoint of ${run_name[$k]}, not a seq2seq model; resume it with rnnc ${cmd[$k]} train --resume $T/$k" \
        seq2seq translate --model "$c"
    refused "$c: this is a checkpoint of ${run_name[$k]}, not a seq2seq model" seq2seq eval --model "$c" --data "$TSV"
    # another trainer's --resume names the one that resumes the run
    for other in "train" "seq2seq train"; do
        # shellcheck disable=SC2086
        refused "$c: this is a checkpoint of a ${cmd[$k]} run; resume it with rnnc ${cmd[$k]} train --resume $T/$k" \
            $other --resume "$T/$k" --steps 10
    done
    [ $k = fc ] || refused "$c: this is a checkpoint of a ${cmd[$k]} run; resume it with rnnc ${cmd[$k]} train --resume $T/$k" \
        forecast train --resume "$T/$k" --steps 10
    [ $k = fc ] && refused "$c: this is a checkpoint of a forecast run; resume it with rnnc forecast train --resume $T/fc" \
        classify train --resume "$T/fc" --steps 10
done
# the task commands given another task's model or checkpoint, or a model of the other kinds
refused "$T/tag/model.safetensors: this is a tagger, not a classifier; use rnnc tag predict or rnnc tag eval" \
    classify eval --model "$T/tag/model.safetensors" --data "$T/cls.tsv"
refused "$T/cls/checkpoint.safetensors: this is a checkpoint of a classifier's run, not a forecaster; resume it with rnnc classify train --resume $T/cls" \
    forecast eval --model "$T/cls/checkpoint.safetensors" --data "$T/series.csv"
refused "$LM: this is a language model, not a tagger; use rnnc sample, rnnc eval or rnnc similar" \
    tag eval --model "$LM" --data "$T/tag.tsv"
refused "$S2SCK: this is a checkpoint of a seq2seq run, not a forecaster; resume it with rnnc seq2seq train --resume $T/s2s" \
    forecast predict --model "$S2SCK" --data "$T/series.csv"
refused "$T/series.csv: this is a text file (a CSV with a header), not a classifier; a series is data: give it as --data to rnnc forecast train, predict or eval" classify predict --model "$T/series.csv"
refused "bad_nometa.safetensors: this is not an rnnc file" classify eval --model "$ROOT/tests/golden/lm/bad_nometa.safetensors" --data "$T/cls.tsv"
# ... and a checkpoint of their own run loads as its model
printf 'the film was great\n' >"$T/in"
works classify predict --model "$T/cls/checkpoint.safetensors"
rm -f "$T/in"

# ---- info describes every kind
works info "$LM"
has "kind        language model"
# a training record edited by hand (a negative step, a count past a double's range) shows "?",
# never a count it is not
if command -v python3 >/dev/null; then
    python3 - "$LM" "$T/crafted_training.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["__metadata__"]["rnnc.training"] = '{"step":-5,"tokens":1e400,"epoch":0.5}'
t = json.dumps(h, separators=(",", ":")).encode()
t += b" " * (-len(t) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
    works info "$T/crafted_training.safetensors"
    has "training    step ?, ? tokens, epoch 0.50"
fi
works info "$S2S"
has "kind        seq2seq model"
has "target      space vocabulary: 6 symbols, 10 ids with the 4 specials"
has "training    step 2"
# each stack's layers beside an Elman layer's, as for the other models (an LSTM: 4x)
has "  encoder layer 0"
has "  decoder layer 0"
[ "$(grep -c "layer 0 .*ratio 4.00x$" "$T/out")" -eq 2 ] || fail "seq2seq info: not two LSTM layers at 4.00x: $(grep layer "$T/out")"
has "total"
works info "$LMCK"
has "kind        a checkpoint of a language-model run (format 2, task lm)"
has "progress    step 3, 48 tokens"
has "best        valid loss"
has "budget      3 steps"
has "optimizer   adamw, lr 0.002"
has "data        $T/corpus.txt"
has "state       ended: its --steps 3 are done"
has "resume with rnnc train --resume $T/lm --steps N (N above 3)"
has "kind        the run's language model"
has "layer 0"
# an empty file name given as an argument: one line saying so (it read "rnnc: : cannot open")
refused 'an empty file name ("")' export "" -o "$T/x.onnx"
refused 'an empty file name ("")' plot "" -o "$T/x.svg"
refused 'an empty file name ("")' tokenizer train --type char -o "$T/x.json" ""
# the run directory itself: its checkpoint
works info "$T/lm"
has "checkpoint  $T/lm/checkpoint.safetensors"
mkdir -p "$T/plain"
refused "is a directory, and no run directory (no checkpoint.safetensors or model.safetensors)" info "$T/plain"
works info "$S2SCK"
has "kind        a checkpoint of a seq2seq run (format 2, task seq2seq)"
has "best        dev SER"
has "budget      2 steps"
has "resume with rnnc seq2seq train --resume $T/s2s"
has "kind        the run's seq2seq model"
works info "$T/cls/model.safetensors"
has "kind        classifier"
has "task        classify (sequence -> label)"
has "hidden      6 per direction"
has "encoder     bidirectional"
has "pooling     final: the top layer's final states of both directions, concatenated, 12 wide"
has "labels      2: neg, pos"
has "vocabulary  word vocabulary: a word tokenizer of"
has "training    step 2, "
has "  rnn.weight_ih_l0_reverse     (24, 4)                  96"
has "  head.weight                  (2, 12)                  24"
has "  layer 0           576   elman          144   ratio 4.00x"
has "head                  26"
works info "$T/cls/checkpoint.safetensors"
has "kind        a checkpoint of a classifier's run (format 2, task classify)"
# the run counts the items' tokens (it said items), a forecaster the rows its windows read
has "progress    step 2, "
grep -q "^progress    step 2, [0-9]* tokens, " "$T/out" || fail "a classifier's progress is not counted in tokens: $(grep ^progress "$T/out")"
has "best        dev macro-F1 "
has "budget      2 steps"
has "data        $T/cls.tsv; held out: $T/cls.tsv"
has "classes     weighted: balanced"
has "resume with rnnc classify train --resume $T/cls"
has "kind        the run's classifier"
works info "$T/tag/model.safetensors"
has "kind        tagger"
has "task        tag (a label per token)"
has "layers      2"
has "dropout     0.1 between layers, 0 on the head's input (training only)"
has "tags        4: B-LOC, B-PER, I-PER, O (BIO: scored by span F1 too)"
has "vocabulary  space vocabulary: 8 symbols, 12 ids with the 4 specials"
has "  layer 1 "
grep -q "^pooling" "$T/out" && fail "info of a tagger shows a pooling: $(grep ^pooling "$T/out")"
works info "$T/tag/checkpoint.safetensors"
has "best        dev span F1 "
has "resume with rnnc tag train --resume $T/tag"
works info "$T/fc/model.safetensors"
has "kind        forecaster"
has "task        forecast (values -> the next values)"
has "inputs      3 per step: the target and 2 covariates, 1 of them known ahead (also fed for the 3 forecast steps)"
has "series      3 columns, each normalised as (v - mean) / std over the training rows:"
has "  births                target"
has "  temp                  covariate, known up to now"
has "  weekday               covariate, known ahead"
has "context     14 steps read per forecast"
has "horizon     3 steps forecast at once"
has "season      7 (the seasonal-naive forecast it is compared with)"
has "loss        mse"
has "head        9 inputs: the pooled 6 and the 3 known-ahead values of the forecast steps"
has "  head.weight                  (3, 9)                   27"
grep -q "^embedding\|^vocabulary\|^labels" "$T/out" && fail "info of a forecaster shows a vocabulary: $(cat "$T/out")"
has "training    step 2, 896 rows read, epoch "
works info "$T/fc/checkpoint.safetensors"
has "kind        a checkpoint of a forecaster's run (format 2, task forecast)"
has "progress    step 2, 896 rows read, " # 2 batches of 32 windows of 14 rows (it said target values)
has "best        dev MAE "
has "resume with rnnc forecast train --resume $T/fc"
has "kind        the run's forecaster"
cp "$LMCK" "$T/elsewhere.safetensors"
works info "$T/elsewhere.safetensors"
has "resume with rnnc train --resume RUN_DIR (a directory holding it as checkpoint.safetensors)"
works info "$T/char.json"
has "type        char"
has "vocabulary  "
works info "$T/bpe.tiktoken"
has "type        bpe"
has "vocabulary  270 ids"
refused "$ROOT/tests/golden/lm/bad_nometa.safetensors: this is not an rnnc file (no \"rnnc.config\", \"rnnc.seq2seq\" or \"rnnc.seqmodel\" metadata)" \
    info "$ROOT/tests/golden/lm/bad_nometa.safetensors"
has "embedding.weight                 F32   (5, 3)"
has "7 tensors"
has "the tensor names are those of an rnnc language model"
refused "dev.tsv: this is a TSV file, not a model" info "$TSV"
refused "corpus.txt: this is a text file, not a model" info "$T/corpus.txt"
refused "ids.txt: this is a file of token ids, not a model" info "$T/ids.txt"
refused "bpe.tiktoken.json: this is the sidecar of a BPE rank file (its pattern and special tokens); give the .tiktoken file" info "$T/bpe.tiktoken.json"
# files rnnc writes beside the others are known by their names, not taken for what their bytes resemble
printf '12345\n' >"$T/run.lock"
refused "run.lock: this is a run directory's lock" info "$T/run.lock"
printf 'RNNCACHE\377\376\375\000' >"$T/bpe.tiktoken.rnnc-cache"
refused "bpe.tiktoken.rnnc-cache: this is rnnc's cache of a BPE rank file" info "$T/bpe.tiktoken.rnnc-cache"
refused "blob.gz: header length" info "$T/blob.gz"
refused "$T/missing.safetensors" info "$T/missing.safetensors"

echo "cli_kinds: $checks checks, $fails failed"
[ $fails -eq 0 ]
