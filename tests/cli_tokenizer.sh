#!/usr/bin/env bash
# rnnc tokenizer CLI: help at every level, train/encode/decode round trips for char, word and BPE,
# and every bad input of issue 2 giving one clear error line and a non-zero exit.
# Usage: cli_tokenizer.sh RNNC_BINARY REPO_ROOT
set -u
rnnc=$1
root=$2
data=${RNNC_DATA:-$root/data}
export RNNC_DATA=$data RNNC_NO_PROGRESS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }

# expect_fail CODE REGEX CMD...: exit status CODE; the first stderr line matches REGEX; for
# runtime errors (1) stderr is exactly one line "rnnc: ...".
expect_fail() {
    local code=$1 re=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" != "$code" ]; then fail "$* -> exit $rc, want $code; stderr: $(cat "$tmp/err")"; return; fi
    if ! head -1 "$tmp/err" | grep -Eq -- "$re"; then fail "$* -> stderr '$(head -1 "$tmp/err")' does not match /$re/"; return; fi
    if [ "$code" = 1 ] && { [ "$lines" != 1 ] || ! grep -q '^rnnc: ' "$tmp/err"; }; then
        fail "$* -> want one line 'rnnc: ...', got: $(cat "$tmp/err")"; return
    fi
    ok
}

# round_trip TOKENIZER FILE [encode flags]: encode | decode gives FILE back byte for byte.
round_trip() {
    local tok=$1 file=$2
    shift 2
    if ! "$rnnc" tokenizer encode -t "$tok" "$@" "$file" >"$tmp/ids"; then fail "encode -t $tok $file"; return; fi
    if ! "$rnnc" tokenizer decode -t "$tok" <"$tmp/ids" >"$tmp/back"; then fail "decode -t $tok ($file)"; return; fi
    if ! cmp -s "$file" "$tmp/back"; then fail "round trip with $tok changed $file"; return; fi
    ok
}

# Deterministic inputs: random bytes (every value, NULs included) and mixed-script text.
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) printf "%c", int(rand() * 256) }' >"$tmp/random.bin"
LC_ALL=C awk 'BEGIN { srand(8); for (i = 0; i < 3000; i++) printf "%c", int(rand() * 256) }' >"$tmp/random2.bin"
printf 'Fellow citizens, the state of our Union is strong.\n日本語 naïve café 😀 — 12345\n\n   spaces\tand tabs\n' >"$tmp/mixed.txt"
if [ -s "$data/sotu.txt" ]; then
    head -c 300000 "$data/sotu.txt" >"$tmp/corpus.txt"
else
    echo "note: $data/sotu.txt missing (run scripts/fetch-data.sh); using a small generated corpus" >&2
    for i in $(seq 1 300); do cat "$tmp/mixed.txt"; done >"$tmp/corpus.txt"
fi
: >"$tmp/empty.txt"

# --- help at every level ---
for sub in "" train encode decode stats; do
    if "$rnnc" tokenizer $sub --help >"$tmp/out" 2>&1 && grep -q '^usage: rnnc tokenizer' "$tmp/out"; then ok
    else fail "rnnc tokenizer $sub --help"; fi
done
# The summaries name subcommands that exist: the comparison of the types is 'stats' (there is no
# 'tokenizer compare', which 'rnnc --help' once promised).
summary=$("$rnnc" --help | awk '/^  tokenizer / { on = 1; print; next } on && /^     / { print; next } { on = 0 }')
intro=$("$rnnc" tokenizer --help | sed -n '3,5p')
for text in "$summary" "$intro"; do
    if [ -n "$text" ] && ! grep -qi compare <<<"$text" && grep -q stats <<<"$text"; then ok
    else fail "tokenizer summary names no stats or a compare: '$text'"; fi
done

# --- char ---
if "$rnnc" tokenizer train --type char -o "$tmp/char.json" "$tmp/corpus.txt" 2>"$tmp/err"; then ok; else fail "train char: $(cat "$tmp/err")"; fi
grep -q '"type":"char"' "$tmp/char.json" && ok || fail "char tokenizer file is not JSON of type char"
# --threads is for BPE: with char it is ignored, with one warning, and the file is the same
"$rnnc" tokenizer train --type char --threads 2 -o "$tmp/char_t.json" "$tmp/corpus.txt" 2>"$tmp/err" &&
    grep -q "^rnnc tokenizer train: warning: --threads is ignored by --type char (bpe only)$" "$tmp/err" &&
    cmp -s "$tmp/char.json" "$tmp/char_t.json" && ok || fail "char with --threads: no warning, or another file: $(cat "$tmp/err")"
round_trip "$tmp/char.json" "$tmp/random.bin"
round_trip "$tmp/char.json" "$tmp/mixed.txt"
round_trip "$tmp/char.json" "$tmp/corpus.txt"
round_trip "$tmp/char.json" "$tmp/empty.txt"
# known ids: bytes are 4 + value, <unk>-free
printf '\377' | "$rnnc" tokenizer encode -t "$tmp/char.json" >"$tmp/ids" && [ "$(cat "$tmp/ids")" = 259 ] && ok || fail "byte 0xFF should be id 259, got $(cat "$tmp/ids")"
"$rnnc" tokenizer train --type char --vocab-size 270 --min-count 2 -o "$tmp/char270.json" "$tmp/corpus.txt" 2>/dev/null &&
    [ "$(tr ',' '\n' <"$tmp/char270.json" | grep -c '^[0-9]*\]\?}\?$')" -ge 1 ] && ok || fail "train char --vocab-size 270"
round_trip "$tmp/char270.json" "$tmp/mixed.txt"

# --- word ---
if "$rnnc" tokenizer train --type word --vocab-size 500 -o "$tmp/word.json" "$tmp/corpus.txt" 2>"$tmp/err"; then ok; else fail "train word: $(cat "$tmp/err")"; fi
printf 'the  state ,of   the Union.' | "$rnnc" tokenizer encode -t "$tmp/word.json" >"$tmp/ids" &&
    "$rnnc" tokenizer decode -t "$tmp/word.json" "$tmp/ids" >"$tmp/back" &&
    [ "$(cat "$tmp/back")" = "the state, of the Union." ] && ok || fail "word decode: '$(cat "$tmp/back")'"
printf 'the Qwxzy' | "$rnnc" tokenizer encode -t "$tmp/word.json" >"$tmp/ids" && [ "$(cut -d' ' -f2 "$tmp/ids")" = 3 ] && ok ||
    fail "unknown word should be <unk> = 3: $(cat "$tmp/ids")"

# --min-count keeps only frequent words; "-" reads stdin
"$rnnc" tokenizer train --type word --vocab-size 100000 --min-count 50 -o "$tmp/word50.json" "$tmp/corpus.txt" 2>/dev/null &&
    "$rnnc" tokenizer train --type word --vocab-size 100000 -o "$tmp/wordall.json" "$tmp/corpus.txt" 2>/dev/null &&
    [ "$(wc -c <"$tmp/word50.json")" -lt "$(wc -c <"$tmp/wordall.json")" ] && ok || fail "word --min-count 50 should shrink the vocabulary"
# a --min-count that leaves no word is refused, naming it (a tokenizer of <unk> alone scores ppl 1 on
# nothing); so is such a file
expect_fail 1 'min-count 999999 leaves no word' "$rnnc" tokenizer train --type word --vocab-size 100 --min-count 999999 -o "$tmp/none.json" "$tmp/corpus.txt"
[ ! -e "$tmp/none.json" ] && ok || fail "a refused tokenizer train wrote $tmp/none.json"
printf '{"type":"word","version":1,"words":[]}' > "$tmp/nowords.json"
expect_fail 1 'nowords.json.*"words" is empty' "$rnnc" tokenizer encode -t "$tmp/nowords.json" "$tmp/corpus.txt"
printf 'the' | "$rnnc" tokenizer encode -t "$tmp/word50.json" - >"$tmp/ids" && [ "$(cat "$tmp/ids")" = 4 ] && ok || fail "'the' should be id 4 (most frequent), got $(cat "$tmp/ids")"

# --- BPE ---
if "$rnnc" tokenizer train --type bpe --vocab-size 400 --special '<|endoftext|>' -o "$tmp/bpe.tiktoken" "$tmp/corpus.txt" 2>"$tmp/err"; then ok
else fail "train bpe: $(cat "$tmp/err")"; fi
[ -s "$tmp/bpe.tiktoken.json" ] && ok || fail "train bpe wrote no sidecar"
round_trip "$tmp/bpe.tiktoken" "$tmp/random.bin"
round_trip "$tmp/bpe.tiktoken" "$tmp/mixed.txt"
round_trip "$tmp/bpe.tiktoken" "$tmp/corpus.txt"
round_trip "$tmp/bpe.tiktoken" "$tmp/empty.txt"
# special tokens: ordinary text by default, one id with --allow-special (the top id, 399)
printf '<|endoftext|>' | "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --allow-special >"$tmp/ids" && [ "$(cat "$tmp/ids")" = 399 ] && ok ||
    fail "--allow-special: want 399, got $(cat "$tmp/ids")"
printf '<|endoftext|>' | "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" >"$tmp/ids" && [ "$(wc -w <"$tmp/ids")" -gt 1 ] && ok ||
    fail "special text without --allow-special should be ordinary text: $(cat "$tmp/ids")"
# the same training twice gives the same file
"$rnnc" tokenizer train --type bpe --vocab-size 400 --special '<|endoftext|>' -o "$tmp/bpe2.tiktoken" "$tmp/corpus.txt" 2>/dev/null &&
    cmp -s "$tmp/bpe.tiktoken" "$tmp/bpe2.tiktoken" && ok || fail "BPE training is not deterministic"
"$rnnc" tokenizer train --type bpe --vocab-size 400 --special '<|endoftext|>' --threads 1 -o "$tmp/bpe1.tiktoken" "$tmp/corpus.txt" 2>/dev/null &&
    cmp -s "$tmp/bpe.tiktoken" "$tmp/bpe1.tiktoken" && ok || fail "BPE training depends on the thread count"
"$rnnc" tokenizer train --type bpe --vocab-size 300 --pattern '\S+|\s+' -o "$tmp/bpe_re.tiktoken" "$tmp/corpus.txt" 2>/dev/null && ok || fail "train bpe with a user regex"
round_trip "$tmp/bpe_re.tiktoken" "$tmp/random2.bin"
if [ -s "$data/tiktoken/cl100k_base.tiktoken" ]; then
    round_trip cl100k_base "$tmp/random2.bin"
    round_trip cl100k_base "$tmp/corpus.txt"
    printf 'hello world' | "$rnnc" tokenizer encode -t cl100k_base >"$tmp/ids" && [ "$(cat "$tmp/ids")" = "15339 1917" ] && ok ||
        fail "cl100k_base 'hello world' should be 15339 1917, got $(cat "$tmp/ids")"
fi

# --- bad input: one clear line, non-zero exit ---
expect_fail 1 "nope.txt" "$rnnc" tokenizer train --type char -o "$tmp/x.json" "$tmp/nope.txt"
expect_fail 1 "is a directory" "$rnnc" tokenizer train --type char -o "$tmp/x.json" "$tmp"
if [ "$(id -u)" != 0 ]; then
    cp "$tmp/mixed.txt" "$tmp/locked.txt" && chmod 000 "$tmp/locked.txt"
    expect_fail 1 "locked.txt.*(denied|cannot)" "$rnnc" tokenizer train --type char -o "$tmp/x.json" "$tmp/locked.txt"
fi
expect_fail 1 "empty" "$rnnc" tokenizer train --type char -o "$tmp/x.json" "$tmp/empty.txt"
expect_fail 1 "empty" "$rnnc" tokenizer train --type bpe --vocab-size 300 -o "$tmp/x.tiktoken" "$tmp/empty.txt"
expect_fail 1 "empty" "$rnnc" tokenizer train --type word --vocab-size 300 -o "$tmp/x.json" "$tmp/empty.txt"
expect_fail 2 "at least 260 for --type char.*got 259" "$rnnc" tokenizer train --type char --vocab-size 259 -o "$tmp/x.json" "$tmp/corpus.txt"
# a vocabulary below the type's least is a usage error naming --vocab-size and that least (it was
# the trainer's exit 1, 'bpe: vocabulary size 100 is smaller than ...')
expect_fail 2 "^rnnc tokenizer train: --vocab-size must be at least 5 for --type word \(4 reserved ids and a word\), got 4$" \
    "$rnnc" tokenizer train --type word --vocab-size 4 -o "$tmp/x.json" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer train: --vocab-size must be at least 260 for --type char \(4 reserved ids and 256 bytes\), got 100$" \
    "$rnnc" tokenizer train --type char --vocab-size 100 -o "$tmp/x.json" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer train: --vocab-size must be at least 256 for --type bpe \(256 byte tokens and 0 special tokens\), got 100$" \
    "$rnnc" tokenizer train --type bpe --vocab-size 100 -o "$tmp/x.tiktoken" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer train: --vocab-size must be at least 258 for --type bpe \(256 byte tokens and 2 special tokens\), got 257$" \
    "$rnnc" tokenizer train --type bpe --vocab-size 257 --special '<a>' --special '<b>' -o "$tmp/x.tiktoken" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer train: --special '<a>' is given twice$" \
    "$rnnc" tokenizer train --type bpe --vocab-size 300 --special '<a>' --special '<a>' -o "$tmp/x.tiktoken" "$tmp/corpus.txt"
"$rnnc" tokenizer train --type bpe --vocab-size 100 -o "$tmp/x.tiktoken" "$tmp/corpus.txt" 2>&1 | sed -n 2p |
    grep -qx "(see rnnc tokenizer train --help)" && ok || fail "--vocab-size 100: no hint line"
[ -e "$tmp/x.json" ] || [ -e "$tmp/x.tiktoken" ] && fail "a refused --vocab-size wrote a tokenizer"
# the least is taken (char 260: the bytes and reserved ids alone)
"$rnnc" tokenizer train --type char --vocab-size 260 -o "$tmp/c260.json" "$tmp/corpus.txt" 2>/dev/null && ok || fail "char --vocab-size 260 refused"
"$rnnc" tokenizer train --type bpe --vocab-size 256 -o "$tmp/b256.tiktoken" "$tmp/corpus.txt" 2>/dev/null && ok || fail "bpe --vocab-size 256 refused"
expect_fail 2 "at least 256 for --type bpe.*got 255" "$rnnc" tokenizer train --type bpe --vocab-size 255 -o "$tmp/x.tiktoken" "$tmp/corpus.txt"
expect_fail 2 "at least 257 for --type bpe \(256 byte tokens and 1 special token\), got 256" "$rnnc" tokenizer train --type bpe --vocab-size 256 --special '<s>' -o "$tmp/x.tiktoken" "$tmp/corpus.txt"
expect_fail 1 "offset [0-9]+: missing closing parenthesis" "$rnnc" tokenizer train --type bpe --vocab-size 300 --pattern '(ab' -o "$tmp/x.tiktoken" "$tmp/corpus.txt"
expect_fail 1 "missing/x.json" "$rnnc" tokenizer train --type char -o "$tmp/missing/x.json" "$tmp/corpus.txt"
[ ! -e "$tmp/x.json" ] && [ ! -e "$tmp/x.tiktoken" ] && ok || fail "a failed train left an output file"
expect_fail 2 "unknown option '--bogus'" "$rnnc" tokenizer train --type char --bogus -o "$tmp/x.json" "$tmp/corpus.txt"
expect_fail 2 "--vocab-size needs a value" "$rnnc" tokenizer train --type bpe --vocab-size
expect_fail 2 "^rnnc tokenizer train: --output needs a value \(got the flag --vocab-size\)$" "$rnnc" tokenizer train --type bpe --output --vocab-size 300 "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer encode: -t needs a value \(got the flag --pattern\)$" "$rnnc" tokenizer encode -t --pattern cl100k "$tmp/mixed.txt"
expect_fail 2 "^rnnc tokenizer decode: --tokenizer needs a value \(got the flag -t\)$" "$rnnc" tokenizer decode --tokenizer -t x
# -o naming a file the command reads is refused (it would be replaced at the end), the file intact
cp "$tmp/corpus.txt" "$tmp/corpus.bak"
expect_fail 2 "^rnnc tokenizer train: -o .*corpus.txt names .*corpus.txt, which this command reads" \
    "$rnnc" tokenizer train --type char -o "$tmp/corpus.txt" "$tmp/mixed.txt" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer encode: -o .*corpus.txt names .*corpus.txt, which this command reads" \
    "$rnnc" tokenizer encode -t cl100k_base -o "$tmp/corpus.txt" "$tmp/corpus.txt"
cmp -s "$tmp/corpus.txt" "$tmp/corpus.bak" && ok || fail "the input of a refused -o changed"
# -o through a symbolic link writes its target and keeps the link; -o to a FIFO writes into it
# (with a reader), never replacing it with a file (as a rename would /dev/null itself, as root)
: >"$tmp/target.ids" && ln -sf "$tmp/target.ids" "$tmp/link.ids"
printf 'ab' | "$rnnc" tokenizer encode -t "$tmp/char.json" -o "$tmp/link.ids" && [ -L "$tmp/link.ids" ] && [ -s "$tmp/target.ids" ] && ok \
    || fail "-o through a symbolic link"
mkfifo "$tmp/out.fifo" && { cat "$tmp/out.fifo" >"$tmp/fifo.got" & }
printf 'ab' | timeout 20 "$rnnc" tokenizer encode -t "$tmp/char.json" -o "$tmp/out.fifo"; wait
[ -p "$tmp/out.fifo" ] && cmp -s "$tmp/fifo.got" "$tmp/target.ids" && ok || fail "-o to a FIFO: $(ls -la "$tmp/out.fifo")"
# the file on the standard input is an input too: -o naming it is refused, the file intact
cp "$tmp/corpus.txt" "$tmp/in2.txt"
expect_fail 2 "names the file on its standard input" sh -c '"$1" tokenizer encode -t "$2" -o "$3" <"$3"' _ "$rnnc" "$tmp/char.json" "$tmp/in2.txt"
cmp -s "$tmp/in2.txt" "$tmp/corpus.txt" && ok || fail "-o over the standard input's file changed it"
# a pipe is read once: a tokenizer JSON from <(...) works; a model from a pipe is refused in one
# line (it is read more than once: it hung on a FIFO, or read nothing the second time)
"$rnnc" tokenizer encode -t <(cat "$tmp/char.json") "$tmp/corpus.txt" >"$tmp/p.ids" && "$rnnc" tokenizer encode -t "$tmp/char.json" "$tmp/corpus.txt" | cmp -s - "$tmp/p.ids" && ok \
    || fail "tokenizer JSON from a pipe"
expect_fail 1 "not a regular file: a model is read more than once" "$rnnc" info <(cat "$root/tests/golden/safetensors/sample.safetensors")
# -o - is stdout
printf 'ab' | "$rnnc" tokenizer encode -t "$tmp/char.json" -o - >"$tmp/ids" && [ "$(tr '\n' ' ' <"$tmp/ids")" != "" ] && [ ! -e ./- ] && ok \
    || fail "tokenizer encode -o - should write to stdout"
expect_fail 2 "^rnnc tokenizer stats: --sizes needs a value \(got the flag --threads\)$" "$rnnc" tokenizer stats --sizes --threads 1 "$tmp/corpus.txt"
# usage errors point at the help of the subcommand in use
for sub in train encode decode stats; do
    "$rnnc" tokenizer $sub --bogus >/dev/null 2>"$tmp/err" </dev/null
    [ "$(tail -1 "$tmp/err")" = "(see rnnc tokenizer $sub --help)" ] && ok || fail "tokenizer $sub --bogus: $(cat "$tmp/err")"
done
expect_fail 2 "--vocab-size expects an integer" "$rnnc" tokenizer train --type bpe --vocab-size ten -o "$tmp/x" "$tmp/corpus.txt"
expect_fail 2 "--type" "$rnnc" tokenizer train -o "$tmp/x.json" "$tmp/corpus.txt"
expect_fail 2 "--type must be" "$rnnc" tokenizer train --type chars -o "$tmp/x.json" "$tmp/corpus.txt"
expect_fail 2 "-o FILE" "$rnnc" tokenizer train --type char "$tmp/corpus.txt"
expect_fail 2 "no CORPUS" "$rnnc" tokenizer train --type char -o "$tmp/x.json"
expect_fail 2 "--vocab-size is required" "$rnnc" tokenizer train --type bpe -o "$tmp/x" "$tmp/corpus.txt"
expect_fail 2 "only to --type bpe" "$rnnc" tokenizer train --type char --pattern r50k -o "$tmp/x" "$tmp/corpus.txt"
expect_fail 2 "unknown subcommand 'frobnicate'" "$rnnc" tokenizer frobnicate
expect_fail 2 "usage" "$rnnc" tokenizer

# malformed .tiktoken: the loader reports the line
printf 'IQ== 0\nIg== 1\nthis is not base64\n' >"$tmp/bad.tiktoken"
expect_fail 1 "bad.tiktoken:3: " "$rnnc" tokenizer encode -t "$tmp/bad.tiktoken" "$tmp/mixed.txt"
expect_fail 1 "nope.tiktoken" "$rnnc" tokenizer encode -t "$tmp/nope.tiktoken" "$tmp/mixed.txt"
# a rank file whose sidecar gives two specials one id: an error line naming the sidecar, not a crash
# (the message used to be formatted after the tokenizer was freed: exit 139)
LC_ALL=C awk 'BEGIN { b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (i = 0; i < 256; i++) printf "%s%s== %d\n", substr(b, int(i / 4) + 1, 1), substr(b, (i % 4) * 16 + 1, 1), i }' >"$tmp/dup.tiktoken"
printf '{"pattern": "r50k", "special_tokens": {"<|a|>": 300, "<|b|>": 300}}\n' >"$tmp/dup.tiktoken.json"
expect_fail 1 "dup.tiktoken.json: .*special tokens '<\|a\|>' and '<\|b\|>' share the id 300" "$rnnc" tokenizer encode -t "$tmp/dup.tiktoken" "$tmp/mixed.txt"
printf '{"pattern": "r50k", "special_tokens": {"<|a|>": 300, "<|b|>": 301}}\n' >"$tmp/dup.tiktoken.json"
round_trip "$tmp/dup.tiktoken" "$tmp/mixed.txt" --allow-special
printf '{"pattern": "r50k", "special_tokens": {"<|a|>": 4294967294}}\n' >"$tmp/dup.tiktoken.json"
expect_fail 1 "dup.tiktoken.json: .*4294967294.*2147483647" "$rnnc" tokenizer encode -t "$tmp/dup.tiktoken" "$tmp/mixed.txt"
printf '{"type":"char","chars":[1,' >"$tmp/bad.json"
expect_fail 1 "bad.json.*syntax" "$rnnc" tokenizer encode -t "$tmp/bad.json" "$tmp/mixed.txt"
expect_fail 1 "nope.txt" "$rnnc" tokenizer encode -t "$tmp/char.json" "$tmp/nope.txt"
expect_fail 2 "-t TOKENIZER" "$rnnc" tokenizer encode "$tmp/mixed.txt"
expect_fail 2 "-t needs a value" "$rnnc" tokenizer encode -t
# an empty value is a missing one, naming the flag (--special= and --pattern= failed later, exit 1,
# with 'bpe train: special token 1 is empty' and 'pattern: the regular expression is empty')
expect_fail 2 "^rnnc tokenizer train: --special needs a value$" "$rnnc" tokenizer train --type bpe --vocab-size 300 --special= -o "$tmp/e.tiktoken" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer train: --pattern needs a value$" "$rnnc" tokenizer train --type bpe --vocab-size 300 --pattern "" -o "$tmp/e.tiktoken" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer train: --type needs a value$" "$rnnc" tokenizer train --type= -o "$tmp/e.json" "$tmp/corpus.txt"
expect_fail 2 "^rnnc tokenizer encode: -t needs a value$" "$rnnc" tokenizer encode -t= "$tmp/mixed.txt"
expect_fail 2 "^rnnc tokenizer decode: --tokenizer needs a value$" "$rnnc" tokenizer decode --tokenizer=
expect_fail 2 "^rnnc tokenizer encode: --pattern needs a value$" "$rnnc" tokenizer encode -t cl100k_base --pattern= "$tmp/mixed.txt"
expect_fail 2 "^rnnc tokenizer stats: --pattern needs a value$" "$rnnc" tokenizer stats --pattern= "$tmp/corpus.txt"
[ -e "$tmp/e.tiktoken" ] || [ -e "$tmp/e.json" ] && fail "an empty value wrote a tokenizer"
"$rnnc" tokenizer train --type bpe --vocab-size 300 --special= -o "$tmp/e.tiktoken" "$tmp/corpus.txt" 2>&1 | sed -n 2p | grep -qx "(see rnnc tokenizer train --help)" && ok ||
    fail "--special=: no hint line"
expect_fail 2 "unknown option '--nope'" "$rnnc" tokenizer encode -t "$tmp/char.json" --nope
expect_fail 2 "one input FILE" "$rnnc" tokenizer encode -t "$tmp/char.json" "$tmp/mixed.txt" "$tmp/mixed.txt"

# decode: non-numbers and ids out of range name the position and the value
printf '260 261\n 9999999 5' >"$tmp/ids_range"
expect_fail 1 "ids_range: item 3: id 9999999 is out of range" "$rnnc" tokenizer decode -t "$tmp/char.json" "$tmp/ids_range"
printf '10 abc 12' >"$tmp/ids_nan"
expect_fail 1 "ids_nan: item 2: 'abc' is not an id" "$rnnc" tokenizer decode -t "$tmp/char.json" "$tmp/ids_nan"
printf '10 -1' >"$tmp/ids_neg"
expect_fail 1 "item 2: '-1' is not an id" "$rnnc" tokenizer decode -t "$tmp/char.json" "$tmp/ids_neg"
printf '99999999999999999999' >"$tmp/ids_big"
expect_fail 1 "item 1: .* is not an id" "$rnnc" tokenizer decode -t "$tmp/char.json" "$tmp/ids_big"
printf '4 400' >"$tmp/ids_bpe"
expect_fail 1 "item 2: id 400 is out of range" "$rnnc" tokenizer decode -t "$tmp/bpe.tiktoken" "$tmp/ids_bpe"
expect_fail 1 "item 2: id 500 is out of range" "$rnnc" tokenizer decode -t "$tmp/word.json" <(printf '4 500')

# --- encode --format binary (.npy), -o, --threads, and the rank file's table cache ---
# binary ids decode to the input, for every type; and are the text ids (decoded alike)
for tok in "$tmp/char.json" "$tmp/bpe.tiktoken" "$tmp/word.json"; do
    "$rnnc" tokenizer encode -t "$tok" --format binary "$tmp/mixed.txt" >"$tmp/ids.npy" &&
        "$rnnc" tokenizer encode -t "$tok" "$tmp/mixed.txt" >"$tmp/ids.txt" &&
        [ "$(head -c 6 "$tmp/ids.npy" | od -An -c | tr -d ' ')" = '223NUMPY' ] &&
        "$rnnc" tokenizer decode -t "$tok" "$tmp/ids.npy" >"$tmp/back_bin" &&
        "$rnnc" tokenizer decode -t "$tok" "$tmp/ids.txt" >"$tmp/back_txt" && cmp -s "$tmp/back_bin" "$tmp/back_txt" &&
        [ $(($(wc -c <"$tmp/ids.npy") - 128)) = $((4 * $(wc -w <"$tmp/ids.txt"))) ] && ok ||
        fail "encode --format binary with $tok: not the text ids as .npy"
done
"$rnnc" tokenizer encode -t "$tmp/char.json" --format binary "$tmp/random.bin" >"$tmp/ids.npy" &&
    "$rnnc" tokenizer decode -t "$tmp/char.json" <"$tmp/ids.npy" | cmp -s - "$tmp/random.bin" && ok ||
    fail "binary ids of random bytes (read from stdin) do not decode to them"
"$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --format binary "$tmp/empty.txt" >"$tmp/ids.npy" &&
    [ "$(wc -c <"$tmp/ids.npy")" = 128 ] && "$rnnc" tokenizer decode -t "$tmp/bpe.tiktoken" "$tmp/ids.npy" | cmp -s - "$tmp/empty.txt" &&
    ok || fail "binary ids of an empty input"
# NumPy reads what rnnc writes (when NumPy is there; python3-onnx of scripts/install-deps.sh brings it)
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --format binary -o "$tmp/np.npy" "$tmp/corpus.txt" &&
        "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" "$tmp/corpus.txt" >"$tmp/np.txt" &&
        /usr/bin/python3 -c 'import numpy as np, sys; a = np.load(sys.argv[1]); b = [int(t) for t in open(sys.argv[2]).read().split()]; sys.exit(0 if a.dtype == np.uint32 and a.ndim == 1 and a.tolist() == b else 1)' "$tmp/np.npy" "$tmp/np.txt" &&
        ok || fail "np.load of rnnc's binary ids differs from the text ids"
elif [ "${CI:-}" = true ]; then fail "CI=true and NumPy is missing"; else echo "note: NumPy missing: np.load of the binary ids not checked" >&2; fi
# -o writes the file (atomically: no temp file left), the same bytes as stdout
"$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" -o "$tmp/out.txt" "$tmp/corpus.txt" &&
    "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" "$tmp/corpus.txt" | cmp -s - "$tmp/out.txt" &&
    [ -z "$(ls "$tmp" | grep '\.tmp\.')" ] && ok || fail "encode -o differs from stdout or left a temp file"
expect_fail 1 "missing/ids.npy" "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --format binary -o "$tmp/missing/ids.npy" "$tmp/mixed.txt"
expect_fail 2 "^rnnc tokenizer encode: --format must be text or binary, got 'npy'$" "$rnnc" tokenizer encode -t "$tmp/char.json" --format npy "$tmp/mixed.txt"
expect_fail 2 "--format needs a value" "$rnnc" tokenizer encode -t "$tmp/char.json" --format
expect_fail 2 "--threads" "$rnnc" tokenizer encode -t "$tmp/char.json" --threads -1 "$tmp/mixed.txt"
expect_fail 2 "--threads" "$rnnc" tokenizer encode -t "$tmp/char.json" --threads 1025 "$tmp/mixed.txt"
# binary to a terminal is refused (a pseudo-terminal by script(1), where it is installed)
if command -v script >/dev/null; then
    script -qc "$rnnc tokenizer encode -t $tmp/char.json --format binary $tmp/mixed.txt; echo rc=\$?" /dev/null </dev/null >"$tmp/tty" 2>&1
    grep -q 'not a terminal' "$tmp/tty" && grep -q 'rc=2' "$tmp/tty" && ok || fail "binary to a terminal: $(cat "$tmp/tty")"
fi
# a text of over 256 KiB (encoded in parallel chunks): the same ids on 1, 2 and 3 threads
for i in 1 2 3 4; do cat "$tmp/corpus.txt" "$tmp/mixed.txt"; done >"$tmp/big.txt"
while [ "$(wc -c <"$tmp/big.txt")" -lt 300000 ]; do cat "$tmp/big.txt" "$tmp/big.txt" >"$tmp/big2.txt"; mv "$tmp/big2.txt" "$tmp/big.txt"; done
"$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --threads 1 "$tmp/big.txt" >"$tmp/t1" &&
    "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --threads 2 "$tmp/big.txt" >"$tmp/t2" &&
    "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --threads 3 --format binary "$tmp/big.txt" >"$tmp/t3.npy" &&
    cmp -s "$tmp/t1" "$tmp/t2" && "$rnnc" tokenizer decode -t "$tmp/bpe.tiktoken" "$tmp/t3.npy" | cmp -s - "$tmp/big.txt" && ok ||
    fail "encode depends on --threads"
# binary id files that are not right: one line naming the file
printf '\223NUMPY\001\000\010\000{}     \n' >"$tmp/hdr.npy"
expect_fail 1 "hdr.npy: .npy header lacks 'descr'" "$rnnc" tokenizer decode -t "$tmp/char.json" "$tmp/hdr.npy"
"$rnnc" tokenizer encode -t "$tmp/char.json" --format binary "$tmp/mixed.txt" >"$tmp/cut.npy" && truncate -s -2 "$tmp/cut.npy"
expect_fail 1 "cut.npy: .npy header says [0-9]+ ids" "$rnnc" tokenizer decode -t "$tmp/char.json" "$tmp/cut.npy"
"$rnnc" tokenizer encode -t "$tmp/char.json" --format binary "$tmp/mixed.txt" >"$tmp/range.npy"
expect_fail 1 "range.npy: item [0-9]+: id [0-9]+ is out of range" "$rnnc" tokenizer decode -t "$tmp/bpe_re.tiktoken" "$tmp/range.npy"

# The table cache beside a rank file (<file>.rnnc-cache; by default only for rank files of 256 KiB
# or more, RNNC_BPE_CACHE=1 for every one): the same ids whether it is written, used, corrupted,
# stale or impossible to write.
cp "$tmp/bpe.tiktoken" "$tmp/c.tiktoken" && cp "$tmp/bpe.tiktoken.json" "$tmp/c.tiktoken.json"
RNNC_BPE_CACHE=0 "$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" >"$tmp/want"
[ ! -e "$tmp/c.tiktoken.rnnc-cache" ] && "$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/mixed.txt" >/dev/null &&
    [ ! -e "$tmp/c.tiktoken.rnnc-cache" ] && ok || fail "a small rank file was cached without RNNC_BPE_CACHE=1"
export RNNC_BPE_CACHE=1
"$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" | cmp -s - "$tmp/want" && [ -s "$tmp/c.tiktoken.rnnc-cache" ] && ok ||
    fail "the first load did not write the cache, or changed the ids"
cp "$tmp/c.tiktoken.rnnc-cache" "$tmp/cache.good"
"$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" | cmp -s - "$tmp/want" && ok || fail "ids through the cache differ"
# corrupted in the middle, torn, or garbage: the same ids, and the cache is rewritten
size=$(wc -c <"$tmp/c.tiktoken.rnnc-cache")
printf 'XXXXXXXX' | dd of="$tmp/c.tiktoken.rnnc-cache" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" | cmp -s - "$tmp/want" && cmp -s "$tmp/cache.good" "$tmp/c.tiktoken.rnnc-cache" &&
    ok || fail "a corrupted cache changed the ids or was not rewritten"
truncate -s $((size / 3)) "$tmp/c.tiktoken.rnnc-cache"
"$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" | cmp -s - "$tmp/want" && cmp -s "$tmp/cache.good" "$tmp/c.tiktoken.rnnc-cache" &&
    ok || fail "a torn cache changed the ids or was not rewritten"
head -c 100000 "$tmp/random.bin" >"$tmp/c.tiktoken.rnnc-cache"
"$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" | cmp -s - "$tmp/want" && ok || fail "a garbage cache changed the ids"
# stale: another rank file at the same path (another vocabulary) gives its own ids
"$rnnc" tokenizer train --type bpe --vocab-size 350 --special '<|endoftext|>' -o "$tmp/c.tiktoken" "$tmp/corpus.txt" 2>/dev/null
RNNC_BPE_CACHE=0 "$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" >"$tmp/want350"
"$rnnc" tokenizer encode -t "$tmp/c.tiktoken" "$tmp/big.txt" | cmp -s - "$tmp/want350" && ! cmp -s "$tmp/want" "$tmp/want350" && ok ||
    fail "a stale cache was used after the rank file changed"
# a cache that cannot be written (its temp name taken by a directory; a read-only folder when not root)
rm -f "$tmp/c.tiktoken.rnnc-cache"
mkdir -p "$tmp/ro" && cp "$tmp/c.tiktoken" "$tmp/c.tiktoken.json" "$tmp/ro/"
if [ "$(id -u)" != 0 ]; then
    chmod 555 "$tmp/ro"
    "$rnnc" tokenizer encode -t "$tmp/ro/c.tiktoken" "$tmp/big.txt" 2>"$tmp/err" | cmp -s - "$tmp/want350" && [ ! -s "$tmp/err" ] &&
        [ ! -e "$tmp/ro/c.tiktoken.rnnc-cache" ] && ok || fail "a read-only folder: $(cat "$tmp/err")"
    chmod 755 "$tmp/ro"
fi
mkfifo "$tmp/ro/c.tiktoken.rnnc-cache"
timeout 60 "$rnnc" tokenizer encode -t "$tmp/ro/c.tiktoken" "$tmp/big.txt" 2>"$tmp/err" | cmp -s - "$tmp/want350" && [ ! -s "$tmp/err" ] &&
    ok || fail "a FIFO in the cache's place: $(cat "$tmp/err")"
unset RNNC_BPE_CACHE
# cl100k_base (when fetched) through its cache, in a copy of the data folder
if [ -s "$data/tiktoken/cl100k_base.tiktoken" ]; then
    mkdir -p "$tmp/data/tiktoken" && cp "$data/tiktoken/cl100k_base.tiktoken" "$tmp/data/tiktoken/"
    RNNC_DATA="$tmp/data" RNNC_BPE_CACHE=0 "$rnnc" tokenizer encode -t cl100k_base "$tmp/big.txt" >"$tmp/cl_want"
    RNNC_DATA="$tmp/data" "$rnnc" tokenizer encode -t cl100k_base "$tmp/big.txt" | cmp -s - "$tmp/cl_want" &&
        [ -s "$tmp/data/tiktoken/cl100k_base.tiktoken.rnnc-cache" ] &&
        RNNC_DATA="$tmp/data" "$rnnc" tokenizer encode -t cl100k_base --format binary "$tmp/big.txt" >"$tmp/cl.npy" &&
        RNNC_DATA="$tmp/data" "$rnnc" tokenizer decode -t cl100k_base "$tmp/cl.npy" | cmp -s - "$tmp/big.txt" && ok ||
        fail "cl100k_base through its cache"
fi

# -t given another kind of rnnc file: named as such, not a parse error from inside it
printf '1 2 3\n' > "$tmp/ids.txt"
expect_fail 1 "ids.txt: not a tokenizer: this is a file of token ids" "$rnnc" tokenizer encode -t "$tmp/ids.txt" "$tmp/corpus.txt"
expect_fail 1 "sample.safetensors: not a tokenizer: this is a language model" "$rnnc" tokenizer decode -t "$root/tests/golden/safetensors/sample.safetensors" "$tmp/ids.txt"
# the same through a trainer's --tokenizer (it used to say "invalid base64 token")
expect_fail 1 "^rnnc: .*sample.safetensors: not a tokenizer: this is a language model" \
    "$rnnc" train --data "$tmp/corpus.txt" --tokenizer "$root/tests/golden/safetensors/sample.safetensors" --steps 1 -o "$tmp/tokrun"

# stats: bad flags and inputs
expect_fail 2 "--sizes" "$rnnc" tokenizer stats --sizes 10,x "$tmp/corpus.txt"
expect_fail 2 "--held-out must be between" "$rnnc" tokenizer stats --held-out 2 "$tmp/corpus.txt"
# --threads takes 1..1024 here as in every command (0 was taken and meant the default)
expect_fail 2 "--threads must be between 1 and 1024, got 0" "$rnnc" tokenizer encode -t char --threads 0 "$tmp/corpus.txt"
expect_fail 1 "empty" "$rnnc" tokenizer stats "$tmp/empty.txt"
expect_fail 1 "nope.txt" "$rnnc" tokenizer stats "$tmp/nope.txt"
expect_fail 1 "offset" "$rnnc" tokenizer stats --pattern '[a' --sizes 300 "$tmp/corpus.txt"
# stats on a small corpus: one char row, word and bpe rows per size, in a table
if "$rnnc" tokenizer stats --sizes 300,600 "$tmp/corpus.txt" >"$tmp/stats" 2>"$tmp/err"; then
    grep -Eq '^char +[0-9]+' "$tmp/stats" && [ "$(grep -Ec '^word +[0-9]+' "$tmp/stats")" = 2 ] &&
        [ "$(grep -Ec '^bpe +(300|600) ' "$tmp/stats")" = 2 ] && ok || fail "stats table: $(cat "$tmp/stats")"
else fail "stats: $(cat "$tmp/err")"; fi

# stats says what it leaves out: word and BPE rows under --sizes too small for them, the real upper
# limit of --sizes, ratios over a held-out part with no words ("-", not 0.000%), and a cut that
# falls inside a line
"$rnnc" tokenizer stats --sizes 1 "$tmp/corpus.txt" >"$tmp/stats" 2>&1 && grep -q '^word: no row: every --sizes is below 5' "$tmp/stats" &&
    grep -q '^bpe: no row: every --sizes is below 256' "$tmp/stats" && ok || fail "stats --sizes 1: $(cat "$tmp/stats")"
expect_fail 2 "--sizes expects up to 32 comma-separated integers from 1 to 10000000, got '100000000'" "$rnnc" tokenizer stats --sizes 100000000 "$tmp/corpus.txt"
printf 'hello world\n  ' >"$tmp/t14.txt"
"$rnnc" tokenizer stats --sizes 300 "$tmp/t14.txt" >"$tmp/stats" 2>&1 && grep -q 'the held-out part has no words' "$tmp/stats" &&
    grep -Eq '^word \(all words\) +[0-9]+ +0 +- +- +- ' "$tmp/stats" && ! grep -q '%' <(grep '^word' "$tmp/stats") && ok ||
    fail "stats on a held-out part without words: $(cat "$tmp/stats")"
tr -d '\n' <"$tmp/corpus.txt" >"$tmp/oneline.txt"
"$rnnc" tokenizer stats --sizes 300 "$tmp/oneline.txt" >"$tmp/stats" 2>&1 && head -1 "$tmp/stats" | grep -q 'cut inside a line' && ok ||
    fail "stats on one line: the cut inside the line is not said: $(head -1 "$tmp/stats")"

# A flag the tokenizer leaves without effect: one warning line each, and the ids are those without it.
# warned NAME WANT CMD...: the command succeeds, stderr is exactly the lines WANT (a regex per line,
# '|'-separated), and stdout is the same as CMD without the flags after '--' (given last)
warned() {
    local name=$1 want=$2
    shift 2
    local i n=$# args=("$@") plain=()
    for ((i = 0; i < n; i++)); do [ "${args[i]}" = -- ] && break; plain+=("${args[i]}"); done
    local extra=("${args[@]:i+1}")
    "$rnnc" "${plain[@]}" >"$tmp/w_plain" 2>/dev/null
    if "$rnnc" "${plain[@]}" "${extra[@]}" >"$tmp/w_out" 2>"$tmp/w_err" && cmp -s "$tmp/w_plain" "$tmp/w_out" &&
        [ "$(wc -l <"$tmp/w_err")" -eq "$(echo "$want" | tr '|' '\n' | grep -c .)" ] &&
        ! echo "$want" | tr '|' '\n' | while read -r w; do grep -qE -- "$w" "$tmp/w_err" || echo missing; done | grep -q .; then ok
    else fail "$name: stderr $(cat "$tmp/w_err")"; fi
}
cp "$tmp/bpe.tiktoken" "$tmp/bare.tiktoken" # no sidecar, no special tokens: --pattern is its pattern
"$rnnc" tokenizer train --type bpe --vocab-size 300 -o "$tmp/nospec.tiktoken" "$tmp/corpus.txt" 2>/dev/null
warned "encode char --allow-special --pattern" \
    "^rnnc tokenizer encode: warning: --pattern is ignored by a char tokenizer \(BPE only\)$|^rnnc tokenizer encode: warning: --allow-special is ignored by a char tokenizer \(BPE only\)$" \
    tokenizer encode -t "$tmp/char.json" "$tmp/mixed.txt" -- --allow-special --pattern r50k
warned "encode word --pattern" "^rnnc tokenizer encode: warning: --pattern is ignored by a word tokenizer \(BPE only\)$" \
    tokenizer encode -t "$tmp/word.json" "$tmp/mixed.txt" -- --pattern r50k
warned "encode bpe with a sidecar --pattern" "^rnnc tokenizer encode: warning: --pattern is ignored: the sidecar .*bpe.tiktoken.json gives the pattern" \
    tokenizer encode -t "$tmp/bpe.tiktoken" "$tmp/mixed.txt" -- --pattern r50k
warned "encode bpe without specials --allow-special" "^rnnc tokenizer encode: warning: --allow-special is ignored: .*nospec.tiktoken has no special tokens$" \
    tokenizer encode -t "$tmp/nospec.tiktoken" "$tmp/mixed.txt" -- --allow-special
warned "encode char --format binary --threads" "^rnnc tokenizer encode: warning: --threads is ignored by a char tokenizer with --format binary" \
    tokenizer encode -t "$tmp/char.json" --format binary "$tmp/mixed.txt" -- --threads 2
"$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" "$tmp/mixed.txt" >"$tmp/w_ids"
warned "decode --pattern" "^rnnc tokenizer decode: warning: --pattern is ignored by decode" \
    tokenizer decode -t "$tmp/bpe.tiktoken" "$tmp/w_ids" -- --pattern '[a'
# ... and none where it acts: --pattern for a rank file without a sidecar (other ids), --allow-special
# with special tokens, --threads with the text output
"$rnnc" tokenizer encode -t "$tmp/bare.tiktoken" --pattern r50k "$tmp/mixed.txt" >/dev/null 2>"$tmp/err" && [ ! -s "$tmp/err" ] &&
    printf '<|endoftext|>' | "$rnnc" tokenizer encode -t "$tmp/bpe.tiktoken" --allow-special >/dev/null 2>"$tmp/err" && [ ! -s "$tmp/err" ] &&
    "$rnnc" tokenizer encode -t "$tmp/char.json" --threads 2 "$tmp/mixed.txt" >/dev/null 2>"$tmp/err" && [ ! -s "$tmp/err" ] && ok ||
    fail "a warning for a flag that acts: $(cat "$tmp/err")"
# stats with every size below 256 has no BPE row: --pattern and --threads are ignored, one line each
"$rnnc" tokenizer stats --sizes 100 --pattern r50k --threads 2 "$tmp/corpus.txt" >/dev/null 2>"$tmp/err" &&
    [ "$(grep -c '^rnnc tokenizer stats: warning: --pattern is ignored: every --sizes is below 256' "$tmp/err")" -eq 1 ] &&
    [ "$(grep -c '^rnnc tokenizer stats: warning: --threads is ignored: every --sizes is below 256' "$tmp/err")" -eq 1 ] &&
    [ "$(wc -l <"$tmp/err")" -eq 2 ] && ok || fail "stats --sizes 100 --pattern --threads: $(cat "$tmp/err")"
"$rnnc" tokenizer stats --sizes 300 --pattern r50k --threads 2 "$tmp/corpus.txt" >/dev/null 2>"$tmp/err" && ! grep -q warning "$tmp/err" && ok ||
    fail "stats --sizes 300 --pattern --threads: a warning: $(cat "$tmp/err")"

echo "$checks checks passed, $failures failed"
[ "$failures" = 0 ]
