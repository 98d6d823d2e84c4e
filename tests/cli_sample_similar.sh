#!/usr/bin/env bash
# rnnc sample / rnnc similar end to end on a tiny model trained here: streaming output that starts
# with the prompt, seeds that reproduce, greedy, every flag's bad values, unknown words, a model
# without a tokenizer, the Embedding Projector export, and tokens that never occurred in training
# (metadata rnnc.unseen_ids) left out of the answers.
set -u
RNNC=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect_error() {
    local code=$1; shift
    "$RNNC" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    [ "$rc" -eq "$code" ] || fail "rnnc $* exited $rc, expected $code ($(head -c 300 "$T/err"))"
    if [ "$code" -eq 1 ]; then
        [ "$(wc -l <"$T/err")" -eq 1 ] || fail "rnnc $*: expected one error line, got: $(cat "$T/err")"
        grep -q '^rnnc: ' "$T/err" || fail "rnnc $*: error line does not start with 'rnnc: '"
    fi
}

# a small corpus and a tiny char model (seconds, even on a busy machine)
for i in $(seq 1 60); do echo "the cat sat on the mat. a dog ate the hat; then the cat ran $i times."; done >"$T/corpus.txt"
RNNC_NO_PROGRESS=1 "$RNNC" train --data "$T/corpus.txt" --tokenizer char --hidden 24 --layers 1 --embed 8 \
    --batch 4 --seq 16 --steps 30 --eval-every 30 --threads 1 -o "$T/run" >"$T/train.log" 2>&1 \
    || { fail "training the fixture model failed: $(tail -3 "$T/train.log")"; exit 1; }
M=$T/run/model.safetensors

# sample: the prompt comes first, the same seed gives the same text, greedy ignores the seed
"$RNNC" sample --model "$M" --prompt "the cat" -n 40 --seed 7 >"$T/s1" || fail "sample failed"
"$RNNC" sample --model "$M" --prompt "the cat" -n 40 --seed 7 >"$T/s2"
"$RNNC" sample --model "$M" --prompt "the cat" -n 40 --seed 8 --temperature 1.5 >"$T/s3"
head -c 7 "$T/s1" | grep -qx 'the cat' || fail "output does not start with the prompt: $(head -c 40 "$T/s1")"
cmp -s "$T/s1" "$T/s2" || fail "the same seed gave different text"
cmp -s "$T/s1" "$T/s3" && fail "a different seed and temperature gave the same 40 characters"
[ "$(tail -c 1 "$T/s1" | od -An -c | tr -d ' ')" = '\n' ] || fail "output does not end with a newline"
# 7 prompt bytes, 40 tokens of at most 4 bytes each (a character or a byte; reserved ids decode
# to nothing), a final newline
n=$(wc -c <"$T/s1")
[ "$n" -ge 8 ] && [ "$n" -le 168 ] || fail "expected 8-168 bytes, got $n"
"$RNNC" sample --model "$M" --prompt "the" -n 30 --temperature 0 --seed 1 >"$T/g1"
"$RNNC" sample --model "$M" --prompt "the" -n 30 --temperature 0 --seed 2 >"$T/g2"
cmp -s "$T/g1" "$T/g2" || fail "greedy output depends on the seed"
"$RNNC" sample --model "$M" --prompt "the" -n 30 --top-k 1 --seed 3 >"$T/k1"
cmp -s "$T/g1" "$T/k1" || fail "top-k 1 differs from greedy"
# --top-k at or above the vocabulary cuts nothing: ignored, with one warning line, the same text as without
"$RNNC" sample --model "$M" --prompt "the" -n 30 --seed 3 >"$T/ka" 2>/dev/null
"$RNNC" sample --model "$M" --prompt "the" -n 30 --seed 3 --top-k 100000 >"$T/kb" 2>"$T/err" && cmp -s "$T/ka" "$T/kb" &&
    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^rnnc sample: warning: --top-k 100000 is ignored: the model has [0-9]* tokens, all of them among the 100000 likeliest$" "$T/err" ||
    fail "--top-k above the vocabulary: $(cat "$T/err")"
"$RNNC" sample --model "$M" --prompt "the" -n 30 --seed 3 --top-k 5 >/dev/null 2>"$T/err" && [ ! -s "$T/err" ] || fail "--top-k 5: a warning: $(cat "$T/err")"
"$RNNC" sample --model "$M" --prompt "the" -n 30 --temperature 0 --half >"$T/h1" || fail "sample --half failed"
"$RNNC" sample --model "$M" --prompt "the" -n 30 --temperature 0 --half >"$T/h2"
cmp -s "$T/h1" "$T/h2" || fail "--half is not deterministic"
"$RNNC" sample --model "$M" -n 20 --top-p 0.9 --top-k 5 --seed 1 >"$T/np" || fail "sample without a prompt failed"
[ -s "$T/np" ] || fail "no output without a prompt"
"$RNNC" sample --model "$M" --prompt "x" -n 0 >"$T/n0" || fail "-n 0 failed"
[ "$(cat "$T/n0")" = x ] || fail "-n 0 should print just the prompt"

# --prompt-file: the same text as --prompt, from a file or stdin; NUL bytes pass through
printf 'the cat' >"$T/p.txt"
"$RNNC" sample --model "$M" --prompt-file "$T/p.txt" -n 40 --seed 7 >"$T/pf" || fail "--prompt-file failed"
cmp -s "$T/s1" "$T/pf" || fail "--prompt-file gave other text than --prompt"
"$RNNC" sample --model "$M" --prompt-file - -n 40 --seed 7 <"$T/p.txt" >"$T/pfs" || fail "--prompt-file - failed"
cmp -s "$T/s1" "$T/pfs" || fail "--prompt-file - (stdin) gave other text than --prompt"
printf 'a\0b' >"$T/nul.txt"
printf 'a\0b\n' >"$T/nul.want" # the prompt, then the final newline sample adds
"$RNNC" sample --model "$M" --prompt-file "$T/nul.txt" -n 0 >"$T/pnul" || fail "a prompt file with a NUL byte failed"
cmp -s "$T/nul.want" "$T/pnul" || fail "a prompt file with a NUL byte was not written back byte for byte"
: >"$T/empty.txt"
# numbers as typed in decimal: hexadecimal (strtod read --temperature 0x10 as 16) and blanks are
# usage errors naming the flag, as for every command
for bad in "--temperature 0x10" "--temperature 1e400" "--top-p 0x0.8" "--seed 0x10" "-n ' 5'"; do
    eval "set -- $bad"
    expect_error 2 sample --model "$M" "$@"
    grep -q -- "^rnnc sample: $1 " "$T/err" || fail "sample $bad: the error does not name $1: $(cat "$T/err")"
done
expect_error 1 sample --model "$M" --prompt-file "$T/empty.txt"
grep -q "empty.txt: the prompt file is empty" "$T/err" || fail "empty prompt file: $(cat "$T/err")"
expect_error 1 sample --model "$M" --prompt-file "$T/none.txt"
grep -q "none.txt" "$T/err" || fail "missing prompt file not named: $(cat "$T/err")"
expect_error 1 sample --model "$M" --prompt-file "$T"
expect_error 2 sample --model "$M" --prompt x --prompt-file "$T/p.txt"
expect_error 2 sample --model "$M" --prompt-file

expect_error 2 sample --model "$M" --temperature -1
# one message for every --top-p outside (0, 1] (0 said "in (0, 1]", 1.5 "between 0 and 1")
for p in 0 1.5 -0.5; do
    expect_error 2 sample --model "$M" --top-p $p
    grep -q "^rnnc sample: --top-p must be in (0, 1\], got $p$" "$T/err" || fail "--top-p $p: $(cat "$T/err")"
done
expect_error 2 sample --model "$M" --top-k -1
expect_error 2 sample --model "$M" -n abc
expect_error 2 sample --prompt hi
expect_error 2 sample --model "$M" stray
expect_error 1 sample --model "$T/missing.safetensors"
"$RNNC" init --cell lstm --vocab 10 --embed 4 --hidden 8 --layers 1 -o "$T/bare.safetensors" >/dev/null 2>&1 \
    || fail "rnnc init failed"
expect_error 1 sample --model "$T/bare.safetensors"
grep -q 'no tokenizer' "$T/err" || fail "model without tokenizer: unclear message: $(cat "$T/err")"

# similar: k neighbours each, never the query itself
"$RNNC" similar --model "$M" a t -k 3 >"$T/sim" || fail "similar failed"
[ "$(grep -c '^nearest to ' "$T/sim")" -eq 2 ] || fail "expected two neighbour lists: $(cat "$T/sim")"
[ "$(grep -cE '^ +-?[01]\.[0-9]{4}  ' "$T/sim")" -eq 6 ] || fail "expected 3 neighbours each: $(cat "$T/sim")"
awk '/^nearest to a:/{f=1;next} /^$/{f=0} f && $2=="a"{bad=1} END{exit bad}' "$T/sim" || fail "query listed as its own neighbour"
"$RNNC" similar --model "$M" c - a + o -k 2 >"$T/ana" || fail "similar with + and - failed"
grep -q '^nearest to c - a + o:' "$T/ana" || fail "analogy header: $(cat "$T/ana")"
expect_error 1 similar --model "$M" zq
grep -q "'zq'" "$T/err" || fail "unknown word not named: $(cat "$T/err")"
expect_error 1 similar --model "$M" "€"
grep -q "unknown character '€': not in this model's char vocabulary" "$T/err" || fail "unknown character not named as such: $(cat "$T/err")"
expect_error 1 similar --model "$T/bare.safetensors" a
expect_error 2 similar --model "$M"
expect_error 2 similar --model "$M" + a
expect_error 2 similar --model "$M" a -
expect_error 2 similar --model "$M" a -k 0
expect_error 2 similar --model "$M" --export "$T/p" a
expect_error 2 similar --model "$M" --export ""
expect_error 2 similar --model "$M" --export -

# export: one line per token in both files, no header
"$RNNC" similar --model "$M" --export "$T/proj" >/dev/null || fail "export failed"
V=$("$RNNC" info "$M" 2>/dev/null | grep -oE 'vocab[^0-9]*[0-9]+' | head -1 | grep -oE '[0-9]+$')
[ "$(wc -l <"$T/proj/vectors.tsv")" -eq "$(wc -l <"$T/proj/metadata.tsv")" ] || fail "vectors and metadata differ in length"
[ -z "$V" ] || [ "$(wc -l <"$T/proj/metadata.tsv")" -eq "$V" ] || fail "metadata lines != vocab $V"
[ "$(head -1 "$T/proj/metadata.tsv")" = "<pad>" ] || fail "metadata starts with a header or the wrong token"
awk -F'\t' 'NF != 8 {bad=1} END {exit bad}' "$T/proj/vectors.tsv" || fail "vectors.tsv rows do not have E=8 fields"
grep -q '^ $' "$T/proj/metadata.tsv" || fail "the space token is missing from metadata.tsv"
grep -qx '\\n' "$T/proj/metadata.tsv" || fail "the newline token is not escaped as \\n"
# -k counts a WORD's neighbours: with --export (every token's vector) it is ignored, with one
# warning line, and the files are the same
"$RNNC" similar --model "$M" --export "$T/projk" -k 5 >/dev/null 2>"$T/err" || fail "export with -k failed"
[ "$(cat "$T/err")" = "rnnc similar: warning: -k is ignored with --export (it writes every token's vector; -k counts the neighbours listed for a WORD)" ] ||
    fail "export -k: no warning: $(cat "$T/err")"
cmp -s "$T/proj/vectors.tsv" "$T/projk/vectors.tsv" && cmp -s "$T/proj/metadata.tsv" "$T/projk/metadata.tsv" || fail "export -k: other files"
# a char model's byte-fallback ids have labels of their own ("<0x65>"), so no label appears twice
[ -z "$(sort "$T/proj/metadata.tsv" | uniq -d)" ] || fail "labels appear twice: $(sort "$T/proj/metadata.tsv" | uniq -d | head -3 | tr '\n' ' ')"
[ "$(sed -n "$((4 + 0x65 + 1))p" "$T/proj/metadata.tsv")" = "<0x65>" ] || fail "byte 0x65's id is not labelled <0x65>"

# word and BPE models: words are looked up as one token (BPE: also after a space), spacing of
# sampled words comes from the word tokenizer's decoder
for tk in word bpe:300; do
    d=$T/run_${tk%%:*}
    RNNC_NO_PROGRESS=1 "$RNNC" train --data "$T/corpus.txt" --tokenizer "$tk" --hidden 16 --layers 1 --embed 8 \
        --batch 4 --seq 8 --steps 10 --eval-every 10 --threads 1 -o "$d" >"$T/train.log" 2>&1 \
        || { fail "training the $tk model failed: $(tail -3 "$T/train.log")"; continue; }
    "$RNNC" sample --model "$d/model.safetensors" --prompt "the cat" -n 8 --seed 1 >"$T/ws" || fail "$tk: sample failed"
    head -c 7 "$T/ws" | grep -qx 'the cat' || fail "$tk: output does not start with the prompt"
    "$RNNC" similar --model "$d/model.safetensors" cat dog -k 2 >"$T/wsim" || fail "$tk: similar cat dog failed"
    [ "$(grep -c '^nearest to ' "$T/wsim")" -eq 2 ] || fail "$tk: expected two lists: $(cat "$T/wsim")"
    expect_error 1 similar --model "$d/model.safetensors" elephant
    grep -q "'elephant'" "$T/err" || fail "$tk: unknown word not named"
    expect_error 1 similar --model "$d/model.safetensors" "the cat"
    grep -q "2 tokens" "$T/err" || fail "$tk: two-token word: $(cat "$T/err")"
done
# word decoding puts one space between words (none before punctuation)
if [ -s "$T/run_word/model.safetensors" ]; then
    "$RNNC" sample --model "$T/run_word/model.safetensors" --prompt "the cat" -n 5 --seed 4 >"$T/ws"
    grep -qE '^the cat( [^ ]|[.,;:!?)])' "$T/ws" || fail "word model: not one space (or punctuation) after the prompt: $(cat "$T/ws")"
fi

# Tokens that never occurred in training keep their random initial vectors: a model that lists them
# (metadata rnnc.unseen_ids, [first, last] ranges) never shows them, nor takes them as queries; a
# model without the key says once that it cannot tell; a malformed value is one error line naming
# the key. The key is added to the BPE model's header here (rewrite_header IN OUT SED_SCRIPT).
rewrite_header() {
    local n hdr len i
    n=$(od -A n -t u8 -N 8 "$1" | tr -d ' ')
    hdr=$(tail -c +9 "$1" | head -c "$n" | LC_ALL=C sed -e "$3")
    len=${#hdr}
    {
        for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $(((len >> (8 * i)) & 255)))"; done
        printf '%s' "$hdr"
        tail -c +$((9 + n)) "$1"
    } >"$2"
}
B=$T/run_bpe/model.safetensors
if [ -s "$B" ]; then
    export LC_ALL=C
    VB=$("$RNNC" info "$B" | awk '$1 == "vocab" { print $2 }')
    # the key as the trainer wrote it (if it did) taken out, then the value given put in
    drop_key='s/"rnnc\.unseen_ids":"[^"]*",//; s/,"rnnc\.unseen_ids":"[^"]*"//'
    with_unseen() { rewrite_header "$B" "$T/$1.safetensors" "$drop_key; s|\"__metadata__\":{|&\"rnnc.unseen_ids\":\"$2\",|"; }
    rewrite_header "$B" "$T/old.safetensors" "$drop_key"
    # a model as rnnc train writes it records its unseen tokens: no note, fewer answers
    if grep -aq '"rnnc.unseen_ids"' "$B"; then
        "$RNNC" similar --model "$B" cat -k 100000 >"$T/trained" 2>"$T/err" || fail "similar on the trained BPE model: $(cat "$T/err")"
        [ -s "$T/err" ] && fail "a note for a model that records its unseen tokens: $(cat "$T/err")"
        [ "$(grep -c '^  ' "$T/trained")" -lt $((VB - 1)) ] || fail "the trained model's unseen tokens are still answers"
    fi
    # without the key (older models): every other token is a candidate, and one note line says why
    "$RNNC" similar --model "$T/old.safetensors" cat -k 100000 >"$T/all" 2>"$T/err" || fail "similar on the BPE model failed"
    [ "$(grep -c '^  ' "$T/all")" -eq $((VB - 1)) ] || fail "without rnnc.unseen_ids: $(grep -c '^  ' "$T/all") answers, expected $((VB - 1))"
    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^note: .*does not record which tokens occurred in training (metadata rnnc.unseen_ids' "$T/err" \
        || fail "without rnnc.unseen_ids: expected one note line, got: $(cat "$T/err")"
    # the 256 byte tokens listed as unseen: none of them is an answer, and no note
    with_unseen bytes '[[0,255]]'
    "$RNNC" similar --model "$T/bytes.safetensors" cat -k 100000 >"$T/seen" 2>"$T/err" || fail "similar with rnnc.unseen_ids failed: $(cat "$T/err")"
    [ "$(grep -c '^  ' "$T/seen")" -eq $((VB - 257)) ] || fail "with [[0,255]] unseen: $(grep -c '^  ' "$T/seen") answers, expected $((VB - 257))"
    [ -s "$T/err" ] && fail "a note although the model records its unseen tokens: $(cat "$T/err")"
    grep -v '^nearest' "$T/seen" | awk '{ $1 = ""; print }' | grep -qvxF -f <(grep -v '^nearest' "$T/all" | awk '{ $1 = ""; print }') \
        && fail "answers with rnnc.unseen_ids that were not answers without it"
    # ranges anywhere, with white space: [[0,9], [100, 255]] leaves 10..99 in
    with_unseen spaced '[[0,9], [100, 255]]'
    "$RNNC" similar --model "$T/spaced.safetensors" cat -k 100000 >"$T/sp" 2>"$T/err" || fail "spaced ranges: $(cat "$T/err")"
    [ "$(grep -c '^  ' "$T/sp")" -eq $((VB - 257 + 90)) ] || fail "with [[0,9],[100,255]] unseen: $(grep -c '^  ' "$T/sp") answers"
    # an unseen query word is refused naming it
    with_unseen none "[[0,$((VB - 1))]]"
    expect_error 1 similar --model "$T/none.safetensors" cat
    grep -q "'cat' never occurred in the training data (as ' cat', token [0-9]*; metadata rnnc.unseen_ids)" "$T/err" || fail "unseen query: $(cat "$T/err")"
    expect_error 1 similar --model "$T/none.safetensors" cat - dog + the
    # malformed values: one line naming the key (expect_error checks the one line)
    for v in '[[3,1]]' "[[0,$VB]]" '[[0,3]' '[[5,9],[2,3]]' '[[0,3],[3,4]]' '[[-1,3]]' '[[01,3]]' '[[1.5,3]]' '[[1e2,300]]' \
             '[[0,3,5]]' '{}' '[0,3]' '[[0,3]] x' '' '[[0,3],]'; do
        with_unseen bad "$v"
        expect_error 1 similar --model "$T/bad.safetensors" cat
        grep -q "rnnc.unseen_ids" "$T/err" || fail "malformed rnnc.unseen_ids '$v': error does not name the key: $(cat "$T/err")"
    done
    # a word whose bare token never occurred falls back to its form after a space (docs: WORD is "the
    # word itself or the word after a space"); it was refused as unseen
    "$RNNC" similar --model "$B" --export "$T/bproj" >/dev/null || fail "export of the BPE model"
    bare=$(grep -nx 'the' "$T/bproj/metadata.tsv" | cut -d: -f1)
    if [ -n "$bare" ] && grep -qx ' the' "$T/bproj/metadata.tsv"; then
        with_unseen thebare "[[$((bare - 1)),$((bare - 1))]]"
        "$RNNC" similar --model "$T/thebare.safetensors" the -k 3 >"$T/tb" 2>"$T/err" && grep -q '^nearest to the:' "$T/tb" ||
            fail "an unseen bare 'the' should fall back to ' the': $(cat "$T/err")"
    else fail "the BPE model has no tokens 'the' and ' the' to test the fallback with"; fi
    with_unseen empty '[]'
    "$RNNC" similar --model "$T/empty.safetensors" cat -k 100000 >"$T/e" 2>"$T/err" && [ ! -s "$T/err" ] &&
        [ "$(grep -c '^  ' "$T/e")" -eq $((VB - 1)) ] || fail "rnnc.unseen_ids [] (every token seen): $(cat "$T/err")"
fi

[ "$fails" -eq 0 ] && echo "cli_sample_similar: all passed"
exit "$fails"
