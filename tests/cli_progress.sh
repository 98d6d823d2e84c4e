#!/usr/bin/env bash
# Progress bars fit the terminal they are drawn on: run each command that draws one under a
# pseudo-terminal (script(1), from bsdutils) 80, 60 and 40 columns wide and check that every
# redraw of the bar (the text after each "\r\033[K") takes at most width-1 columns, so it never
# wraps and leaves stale lines behind. Without a terminal the same commands print plain lines:
# no carriage returns, no escape sequences.
# Usage: cli_progress.sh RNNC_BINARY REPO_ROOT
set -u
rnnc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset RNNC_NO_PROGRESS
export OMP_NUM_THREADS=1 LC_ALL=C.UTF-8
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if ! command -v script >/dev/null; then
    echo "cli_progress: script(1) is missing (Debian: bsdutils); skipped"
    exit 0
fi

# Text for the BPE trainer (a few MB, so the counting and merging bars redraw) and a corpus for
# the language-model trainer.
awk 'BEGIN { srand(3); split("the cat|a dog|my friend|she|he|the old man|a bird", s, "|");
             split("sees|likes|walks to|finds|carries|remembers", v, "|");
             split("the house|a tree|the river|the market|an island|the long road", o, "|");
             for (i = 0; i < 60000; i++) printf "%s %s %s %d. ", s[int(rand()*7)+1], v[int(rand()*6)+1], o[int(rand()*6)+1], int(rand()*1000) }' >"$tmp/corpus.txt"
head -c 200000 "$tmp/corpus.txt" >"$tmp/small.txt"
for i in $(seq 60); do printf 'a b c\tc b a\nb c\tc b\nc a b\tb a c\n'; done >"$tmp/pairs.tsv"

# under_tty NAME COLS CMD...: runs CMD (stdout to a file) on a terminal COLS wide; the terminal's
# output is left in $tmp/NAME.tty.
under_tty() {
    local name=$1 cols=$2
    shift 2
    local q
    printf -v q '%q ' "$@"
    script -qc "stty cols $cols rows 24; $q >$tmp/$name.out" /dev/null >"$tmp/$name.tty" 2>&1 </dev/null
}

# check_bars NAME COLS MIN_DRAWS: every bar redraw in $tmp/NAME.tty fits COLS-1 columns, and there
# were at least MIN_DRAWS of them (so the test is not passing on a bar that never showed).
check_bars() {
    local name=$1 cols=$2 min=$3 report
    # each redraw starts with CR ESC[K and runs to the next CR; a line that stays (a log line, the
    # closing line) is erased the same way but ends with a newline (CR LF on a terminal): not a bar
    report=$(awk -v RS='\r' -v cols="$cols" '
        function bar(line) { n++; w = length(line); if (w > max) max = w; if (w > cols - 1) { over++; if (!ex) ex = line } }
        { if (pending && substr($0, 1, 1) != "\n") bar(prev)
          pending = 0
          if (substr($0, 1, 3) == "\033[K" && index($0, "\n") == 0) { pending = 1; prev = substr($0, 4) } }
        END { if (pending && prev != "") bar(prev); printf "%d %d %d %s", n, max, over, ex }' "$tmp/$name.tty")
    local n max over ex
    read -r n max over ex <<<"$report"
    if [ "$n" -lt "$min" ]; then bad "$name at $cols columns: $n bar redraws, expected at least $min"; return; fi
    if [ "$over" -gt 0 ]; then bad "$name at $cols columns: $over redraws wider than $((cols - 1)), e.g. '$ex'"; return; fi
    ok
}

for cols in 80 60 40; do
    under_tty bpe$cols "$cols" "$rnnc" tokenizer train --type bpe --vocab-size 2000 --threads 1 -o "$tmp/bpe$cols.tiktoken" "$tmp/corpus.txt"
    [ -s "$tmp/bpe$cols.tiktoken" ] && ok || bad "tokenizer train under a terminal: $(tail -c 300 "$tmp/bpe$cols.tty")"
    check_bars bpe$cols "$cols" 2
    under_tty stats$cols "$cols" "$rnnc" tokenizer stats --sizes 300,600 --threads 1 "$tmp/small.txt"
    check_bars stats$cols "$cols" 2
    under_tty lm$cols "$cols" "$rnnc" train --data "$tmp/small.txt" --tokenizer char --layers 1 --hidden 16 --embed 8 \
        --batch 4 --seq 16 --steps 30 --eval-every 10 --threads 1 -o "$tmp/lm$cols"
    [ -s "$tmp/lm$cols/model.safetensors" ] && ok || bad "train --data under a terminal: $(tail -c 300 "$tmp/lm$cols.tty")"
    check_bars lm$cols "$cols" 1
    under_tty s2s$cols "$cols" "$rnnc" seq2seq train --data "$tmp/pairs.tsv" --valid "$tmp/pairs.tsv" -o "$tmp/s2s$cols" \
        --hidden 8 --embed 4 --epochs 2 --batch 8
    [ -s "$tmp/s2s$cols/model.safetensors" ] && ok || bad "seq2seq train under a terminal: $(tail -c 300 "$tmp/s2s$cols.tty")"
    check_bars s2s$cols "$cols" 1
    # the evaluations: a bar of the items scored (batches of 4: many redraws), the report on stdout
    under_tty s2seval$cols "$cols" "$rnnc" seq2seq eval --model "$tmp/s2s$cols/best.safetensors" --data "$tmp/pairs.tsv" --batch 4 --threads 1
    grep -q "^sources 3 " "$tmp/s2seval$cols.out" && ok || bad "seq2seq eval under a terminal: $(tail -c 300 "$tmp/s2seval$cols.tty")"
    check_bars s2seval$cols "$cols" 1
done
"$rnnc" tag train --data "$tmp/pairs.tsv" --valid "$tmp/pairs.tsv" --tokenizer space --hidden 8 --embed 4 --steps 2 --batch 4 \
    --threads 1 -o "$tmp/tag" 2>/dev/null >/dev/null
for i in $(seq 300); do cat "$tmp/pairs.tsv"; done >"$tmp/tagtest.tsv"
for cols in 80 40; do
    under_tty tageval$cols "$cols" "$rnnc" tag eval --model "$tmp/tag/best.safetensors" --data "$tmp/tagtest.tsv" --batch 1 --threads 1
    grep -q "54000 items" "$tmp/tageval$cols.out" && ok || bad "tag eval under a terminal: $(tail -c 300 "$tmp/tageval$cols.tty")"
    check_bars tageval$cols "$cols" 1
done

# a terminal that reports no size: $COLUMNS, else 80
script -qc "stty cols 0 rows 0; COLUMNS=50 $(printf '%q ' "$rnnc") tokenizer train --type bpe --vocab-size 1000 --threads 1 -o $tmp/c50.tiktoken $tmp/corpus.txt" \
    /dev/null >"$tmp/c50.tty" 2>&1 </dev/null
check_bars c50 50 2

# no terminal: plain lines only
"$rnnc" tokenizer train --type bpe --vocab-size 1000 --threads 1 -o "$tmp/pipe.tiktoken" "$tmp/corpus.txt" 2>"$tmp/pipe.err" >/dev/null
"$rnnc" train --data "$tmp/small.txt" --tokenizer char --layers 1 --hidden 16 --embed 8 --batch 4 --seq 16 --steps 20 \
    --eval-every 10 --threads 1 -o "$tmp/lmpipe" 2>>"$tmp/pipe.err" >/dev/null
"$rnnc" seq2seq train --data "$tmp/pairs.tsv" --valid "$tmp/pairs.tsv" -o "$tmp/s2spipe" --hidden 8 --embed 4 --epochs 1 \
    --batch 8 2>>"$tmp/pipe.err" >/dev/null
"$rnnc" seq2seq eval --model "$tmp/s2spipe/best.safetensors" --data "$tmp/pairs.tsv" --batch 4 2>>"$tmp/pipe.err" >/dev/null
"$rnnc" tag eval --model "$tmp/tag/best.safetensors" --data "$tmp/pairs.tsv" --batch 4 2>>"$tmp/pipe.err" >/dev/null
[ -s "$tmp/pipe.err" ] && ok || bad "no progress lines at all without a terminal"
if LC_ALL=C grep -q $'[\r\033]' "$tmp/pipe.err"; then bad "control characters without a terminal: $(cat -v "$tmp/pipe.err" | head -3)"; else ok; fi

echo "cli_progress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
