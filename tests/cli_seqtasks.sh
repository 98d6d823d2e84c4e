#!/usr/bin/env bash
# rnnc classify | tag | forecast train / predict / eval end to end, on synthetic tasks made here
# (deterministic awk) that each model learns in about a second on one core:
#   classify  whether x outnumbers y in a random string of x and y (odd lengths, no ties);
#   tag       SAME on a token the next token repeats, else O: only a bidirectional tagger can see
#             the next token, so it reaches 100% and a unidirectional one stays near the O rate;
#             a BIO task (runs of a as spans) for span F1; a char-mode task (first letters);
#   forecast  a weekly pattern plus uniform noise, the weekday a covariate known ahead: the model
#             must beat the seasonal-naive forecast (the best possible is 25% below it).
# Then the outputs of predict and eval, -o written atomically, exact resume, and every bad input
# of issue 13: each one line naming file:line (or file:line:column (name), or the flag), a
# non-zero exit, and nothing written.
# Usage: cli_seqtasks.sh RNNC_BINARY REPO_ROOT
set -u
RNNC=$1
fails=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export OMP_NUM_THREADS=1 RNNC_NO_PROGRESS=1
py=$(command -v python3) || { echo "cli_seqtasks: python3 is needed (scripts/install-deps.sh installs it)"; exit 1; }
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# refused NAME RC TEXT CMD...: exit status RC, TEXT (fixed string) on the first stderr line, no other
# line but a usage error's "(see ... --help)", and nothing on stdout
refused() {
  local name=$1 rc=$2 text=$3; shift 3
  "$@" > "$t/out" 2> "$t/err"
  local got=$?
  if [ $got -eq "$rc" ] && head -1 "$t/err" | grep -qF -- "$text" && [ "$(wc -l < "$t/err")" -le $((rc == 2 ? 2 : 1)) ] &&
     [ ! -s "$t/out" ]; then ok "$name"
  else bad "$name (exit $got; stderr: $(head -c 400 "$t/err"))"; fi
}
# the number after "LABEL: " in a report (accuracy: 0.9950 (199 of 200))
figure() { awk -v k="$1:" '$1 == k || ($1 " " $2) == k { print ($1 == k ? $2 : $3); exit }' "$2"; }

# ---- the data ----
# classify: label TAB x/y string of 3 to 13 symbols, odd lengths
awk 'BEGIN { srand(11); for (i = 0; i < 1200; i++) { n = 3 + int(rand() * 10); if (n % 2 == 0) n++; s = ""; x = 0
  for (k = 0; k < n; k++) { c = rand() < 0.5 ? "x" : "y"; x += c == "x"; s = s (k ? " " : "") c }
  print (2 * x > n ? "more_x" : "more_y") "\t" s } }' > "$t/cls.tsv"
head -1000 "$t/cls.tsv" > "$t/cls_train.tsv"; tail -200 "$t/cls.tsv" > "$t/cls_dev.tsv"
# tag: tokens of {a,b,c} TAB SAME where the next token is the same, else O
awk 'BEGIN { srand(5); for (i = 0; i < 1200; i++) { n = 4 + int(rand() * 9); for (k = 0; k < n; k++) a[k] = sprintf("%c", 97 + int(rand() * 3))
  s = ""; g = ""; for (k = 0; k < n; k++) { s = s (k ? " " : "") a[k]; g = g (k ? " " : "") (k < n - 1 && a[k + 1] == a[k] ? "SAME" : "O") }
  print s "\t" g } }' > "$t/tag.tsv"
head -1000 "$t/tag.tsv" > "$t/tag_train.tsv"; tail -200 "$t/tag.tsv" > "$t/tag_dev.tsv"
# BIO: runs of a are spans of type A
awk 'BEGIN { srand(8); for (i = 0; i < 600; i++) { n = 4 + int(rand() * 8); s = ""; g = ""; p = ""
  for (k = 0; k < n; k++) { c = rand() < 0.4 ? "a" : (rand() < 0.5 ? "b" : "c"); s = s (k ? " " : "") c
    g = g (k ? " " : "") (c == "a" ? (p == "a" ? "I-A" : "B-A") : "O"); p = c }
  print s "\t" g } }' > "$t/bio.tsv"
head -500 "$t/bio.tsv" > "$t/bio_train.tsv"; tail -100 "$t/bio.tsv" > "$t/bio_dev.tsv"
# char mode: words of {a,b,c,d}; a tag per character: U for a word's first letter, L for the others, S for a space
awk 'BEGIN { srand(9); for (i = 0; i < 600; i++) { n = 2 + int(rand() * 4); s = ""
  for (w = 0; w < n; w++) { l = 1 + int(rand() * 4); if (w) s = s " "; for (k = 0; k < l; k++) s = s sprintf("%c", 97 + int(rand() * 4)) }
  g = ""; for (k = 1; k <= length(s); k++) { c = substr(s, k, 1); p = k == 1 ? " " : substr(s, k - 1, 1)
    g = g (k > 1 ? " " : "") (c == " " ? "S" : (p == " " ? "U" : "L")) }
  print s "\t" g } }' > "$t/char.tsv"
head -500 "$t/char.tsv" > "$t/char_train.tsv"; tail -100 "$t/char.tsv" > "$t/char_dev.tsv"
# forecast: 700 days of 100 + a weekly pattern + uniform noise in [-3, 3]; the weekday is known ahead
awk 'BEGIN { srand(4); split("0 3 5 4 6 -8 -10", p, " "); print "day,sales,weekday"
  for (i = 0; i < 700; i++) { d = i % 7; printf "%d,%.3f,%d\n", i, 100 + 2 * p[d + 1] + (rand() - 0.5) * 6, d } }' > "$t/fc.csv"

small=(--hidden 16 --embed 8 --lr 0.01 --log-every 0 --eval-every 0)

# ---- classify ----
"$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/cls" "${small[@]}" --epochs 10 --pool last \
  2> "$t/cls.err"
check "classify train: exit 0; model, best, checkpoint and metrics written" '[ $? -eq 0 ] && [ -s "$t/cls/model.safetensors" ] && [ -s "$t/cls/best.safetensors" ] && [ -s "$t/cls/checkpoint.safetensors" ] && [ -s "$t/cls/metrics.jsonl" ]'
check "classify train: the data summary and the model line" 'grep -q "^classify: .*cls_train.tsv: 1000 items" "$t/cls.err" && grep -q "2 classes, vocabulary [0-9]*; lstm 1x16, pooling last" "$t/cls.err"'
check "classify train: the last line names the files and the best validation" 'tail -1 "$t/cls.err" | grep -q "done. .*cls/model.safetensors (last), .*cls/best.safetensors (best validation: step [0-9]*, .*acc [0-9.]*%  macro-F1"'
CM=$t/cls/best.safetensors
"$RNNC" classify eval --model "$CM" --data "$t/cls_dev.tsv" > "$t/cls.eval"
check "classify eval: x outnumbers y learnt to >= 99% accuracy" '[ $? -eq 0 ] && awk "BEGIN { exit !($(figure accuracy "$t/cls.eval") >= 0.99) }"'
check "classify eval: accuracy, macro-F1, a precision/recall/F1 row per class, the confusion matrix" \
  'grep -q "^items: 200$" "$t/cls.eval" && grep -q "^macro-F1: " "$t/cls.eval" && grep -q "^class  *precision  *recall  *F1  *support" "$t/cls.eval" && grep -q "^more_x  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9]" "$t/cls.eval" && grep -q "^more_y  *[0-9.]*" "$t/cls.eval" && grep -q "^confusion matrix (rows: truth, columns: prediction)" "$t/cls.eval" && [ "$(tail -2 "$t/cls.eval" | awk "{ n += \$2 + \$3 } END { print n }")" = 200 ]'
"$RNNC" classify eval --model "$CM" --data "$t/cls_dev.tsv" --json > "$t/cls.json"
check "classify eval --json: one object with accuracy, macro_f1, per_class and the confusion matrix" \
  '"$py" -c "import json,sys; j = json.load(open(sys.argv[1])); assert j[\"items\"] == 200 and j[\"accuracy\"] >= 0.99 and len(j[\"per_class\"]) == 2 and sum(map(sum, j[\"confusion\"])) == 200 and j[\"unknown_labels\"] == 0" "$t/cls.json"'
printf 'x x y\n\ny y y x x\n   \nx\n' | "$RNNC" classify predict --model "$CM" > "$t/cls.pred" 2> "$t/err"
check "classify predict: label TAB probability a line, an empty line for an empty one, right on simple texts" \
  '[ $? -eq 0 ] && [ "$(wc -l < "$t/cls.pred")" -eq 5 ] && [ "$(cut -f1 "$t/cls.pred" | tr "\n" " ")" = "more_x  more_y  more_x " ] && awk -F"\t" "NF { if (NF != 2 || \$2 < 0.5 || \$2 > 1) exit 1 }" "$t/cls.pred" && [ ! -s "$t/err" ]'
printf 'x x y\n\ny y y x x\n' | "$RNNC" classify predict --model "$CM" --json > "$t/cls.jl"
check "classify predict --json: every line parses, with the label and every class's probability" \
  '"$py" -c "
import json, sys
lines = open(sys.argv[1]).read().split(\"\n\")[:-1]
assert len(lines) == 3 and lines[1] == \"\"
for l in (lines[0], lines[2]):
    j = json.loads(l)
    assert set(j[\"probs\"]) == {\"more_x\", \"more_y\"} and abs(sum(j[\"probs\"].values()) - 1) < 1e-4
    assert j[\"label\"] == max(j[\"probs\"], key=j[\"probs\"].get)
assert json.loads(lines[0])[\"label\"] == \"more_x\"" "$t/cls.jl"'
printf 'x x y\nz z x\n' > "$t/in.txt"
"$RNNC" classify predict --model "$CM" "$t/in.txt" -o "$t/cls.out" 2> "$t/err"
# texts cut to --max-len: the unknown share is of the same tokens as the count, the whole texts'
# (it was unknowns before the cut over tokens after it: 125%)
printf 'more_x\tzz zz zz x x\nmore_y\tqq qq y\n' > "$t/unkcut.tsv"
"$RNNC" classify eval --model "$CM" --data "$t/unkcut.tsv" --max-len 2 > "$t/o" 2>&1
check "classify eval --max-len: tokens and unknowns counted over the same (uncut) tokens" \
  'grep -q "^.*unkcut.tsv: 2 items (skipped 0 bad, 0 long; 2 cut to --max-len), 8 tokens, 62.50% unknown" "$t/o"'
"$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/unkcut.tsv" --max-len 2 -o "$t/unkcut" --hidden 4 --steps 1 > "$t/o" 2>&1
check "classify train --max-len: the dev file's unknown share over the same tokens" \
  'grep -q "unkcut.tsv: 2 items, 5 tokens out of the vocabulary (62.50%)" "$t/o"'
check "classify predict FILE -o OUT: writes OUT, counts lines and unknown tokens on stderr" \
  '[ $? -eq 0 ] && [ "$(wc -l < "$t/cls.out")" -eq 2 ] && grep -q "^predict: 2 lines, 2 unknown tokens (33.3% of 6); wrote .*cls.out$" "$t/err"'
cp "$t/in.txt" "$t/in.bak"
refused "classify predict -o INPUT: refused (it would replace the input)" 2 "-o $t/in.txt names $t/in.txt, which this command reads" \
  "$RNNC" classify predict --model "$CM" "$t/in.txt" -o "$t/in.txt"
check "... and the input is intact" 'cmp -s "$t/in.txt" "$t/in.bak"'
"$RNNC" classify predict --model "$CM" "$t/in.txt" -o - > "$t/dash.out" 2> /dev/null
check "classify predict -o -: stdout" '[ $? -eq 0 ] && cmp -s "$t/dash.out" "$t/cls.out"'
printf 'x x x x y\n' | "$RNNC" classify predict --model "$CM" --max-len 2 2> "$t/err" > /dev/null
check "classify predict --max-len: a longer text is cut and counted" '[ $? -eq 0 ] && grep -q "1 text cut to --max-len 2" "$t/err"'
check "rnnc plot draws a classify run" '"$RNNC" plot "$t/cls" -o "$t/cls.svg" 2>/dev/null && grep -q "<svg" "$t/cls.svg"'

# ---- tag: bidirectional against unidirectional ----
"$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/bi" "${small[@]}" --epochs 10 --bidirectional 2> "$t/bi.err"
check "tag train --bidirectional: exit 0" '[ $? -eq 0 ] && [ -s "$t/bi/best.safetensors" ] && grep -q "2 tags, vocabulary 7; lstm 1x16 bidirectional" "$t/bi.err"'
"$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/uni" "${small[@]}" --epochs 10 2>/dev/null
check "tag train (unidirectional): exit 0" '[ $? -eq 0 ] && [ -s "$t/uni/best.safetensors" ]'
TM=$t/bi/best.safetensors
"$RNNC" tag eval --model "$TM" --data "$t/tag_dev.tsv" > "$t/bi.eval"
"$RNNC" tag eval --model "$t/uni/best.safetensors" --data "$t/tag_dev.tsv" > "$t/uni.eval"
bi_acc=$(figure "token accuracy" "$t/bi.eval"); uni_acc=$(figure "token accuracy" "$t/uni.eval")
echo "     (token accuracy: bidirectional $bi_acc, unidirectional $uni_acc)"
check "tag: bidirectional learns 'the next token repeats this one' (token accuracy >= 99%)" 'awk "BEGIN { exit !($bi_acc >= 0.99) }"'
check "tag: unidirectional cannot see the next token (token accuracy below 85%, 14 points under bidirectional)" 'awk "BEGIN { exit !($uni_acc < 0.85 && $bi_acc - $uni_acc > 0.14) }"'
check "tag eval: token and sequence accuracy, per-tag rows, the confusion matrix; no spans for non-BIO tags" \
  'grep -q "^tokens: [0-9]* scored, in 200 sequences" "$t/bi.eval" && grep -q "^sequence accuracy: " "$t/bi.eval" && grep -q "^SAME  *[0-9.]*  *[0-9.]*  *[0-9.]*" "$t/bi.eval" && grep -q "^O  *[0-9.]*" "$t/bi.eval" && grep -q "^confusion matrix" "$t/bi.eval" && ! grep -q "spans" "$t/bi.eval"'
printf 'a a b\n\nc b b b a\n' | "$RNNC" tag predict --model "$TM" > "$t/tag.pred"
check "tag predict: one tag per token, an empty line for an empty one" '[ $? -eq 0 ] && [ "$(cat "$t/tag.pred")" = "$(printf "SAME O O\n\nO SAME SAME O O")" ]'
# lines growing in length batch after batch (the workspace grows with them) and a short one last
printf 'a\nb a\na b c\nc c b a\na b c a b c a\nb b a a c c b b a a c c\na c\n' > "$t/grow.txt"
"$RNNC" tag predict --model "$TM" --batch 1 "$t/grow.txt" > "$t/grow.1" 2>/dev/null
"$RNNC" tag predict --model "$TM" --batch 2 "$t/grow.txt" > "$t/grow.2" 2>/dev/null
"$RNNC" tag predict --model "$TM" "$t/grow.txt" > "$t/grow.64" 2>/dev/null
check "tag predict: batches of 1, 2 and 64 lines of growing lengths give the same tags" \
  '[ -s "$t/grow.1" ] && cmp -s "$t/grow.1" "$t/grow.2" && cmp -s "$t/grow.1" "$t/grow.64" && [ "$(wc -l < "$t/grow.1")" -eq 7 ]'
# predict runs a chunk of 16 batches in batches of like length and writes the outputs in the
# input's order: 300 lines of mixed lengths, every seventh empty, over several chunks at --batch 2
awk 'BEGIN { for (i = 1; i <= 300; i++) { if (i % 7 == 0) { print ""; continue } n = (i * 37) % 23 + 1; s = ""; for (k = 0; k < n; k++) s = s (k ? " " : "") substr("abc", (i + k * k) % 3 + 1, 1); print s } }' > "$t/mix.txt"
"$RNNC" tag predict --model "$TM" --batch 1 --json "$t/mix.txt" > "$t/mix.1" 2>/dev/null
"$RNNC" tag predict --model "$TM" --batch 2 --json "$t/mix.txt" > "$t/mix.2" 2>/dev/null
"$RNNC" tag predict --model "$TM" --json "$t/mix.txt" > "$t/mix.64" 2>/dev/null
check "tag predict: lines of mixed lengths run sorted by length come out in the input's order, the same as one at a time" \
  '[ "$(wc -l < "$t/mix.1")" -eq 300 ] && cmp -s "$t/mix.1" "$t/mix.2" && cmp -s "$t/mix.1" "$t/mix.64" && [ "$(awk "NR % 7 == 0 && \$0 != \"\"" "$t/mix.1" | wc -l)" -eq 0 ] && [ "$(awk "NR % 7 != 0 && \$0 == \"\"" "$t/mix.1" | wc -l)" -eq 0 ] && [ "$(sed -n 1p "$t/mix.1" | grep -o "\"[A-Z]*\"" | wc -l)" -eq "$(sed -n 1p "$t/mix.txt" | wc -w)" ]'
tr abc xyx < "$t/mix.txt" > "$t/mixc.txt"
"$RNNC" classify predict --model "$CM" --batch 1 --json "$t/mixc.txt" > "$t/mixc.1" 2>/dev/null
"$RNNC" classify predict --model "$CM" --batch 3 --json "$t/mixc.txt" > "$t/mixc.3" 2>/dev/null
check "classify predict: the same over lines of mixed lengths, at --batch 1 and 3" \
  '[ "$(wc -l < "$t/mixc.1")" -eq 300 ] && cmp -s "$t/mixc.1" "$t/mixc.3"'
# a batch holds at most 256 x --batch padded tokens: lines of up to 1,400 tokens run in fewer rows
# (at --batch 2 a line over 512 tokens alone), with the same output as one line at a time
awk 'BEGIN { for (i = 1; i <= 40; i++) { n = (i * 353) % 1400 + 1; s = ""; for (k = 0; k < n; k++) s = s (k ? " " : "") substr("xy", (i + k) % 2 + 1, 1); print s } }' > "$t/long.txt"
"$RNNC" classify predict --model "$CM" --max-len 2000 --batch 1 --json "$t/long.txt" > "$t/long.1" 2>/dev/null
"$RNNC" classify predict --model "$CM" --max-len 2000 --batch 2 --json "$t/long.txt" > "$t/long.2" 2>/dev/null
"$RNNC" classify predict --model "$CM" --max-len 2000 --batch 5 --json "$t/long.txt" > "$t/long.5" 2>/dev/null
"$RNNC" classify predict --model "$CM" --max-len 2000 --json "$t/long.txt" > "$t/long.64" 2>/dev/null
check "classify predict: lines of 1 to 1,400 tokens (fewer rows a batch for long ones) at --batch 1, 2, 5 and 64 agree" \
  '[ "$(wc -l < "$t/long.1")" -eq 40 ] && cmp -s "$t/long.1" "$t/long.2" && cmp -s "$t/long.1" "$t/long.5" && cmp -s "$t/long.1" "$t/long.64"'
awk '{ nx = gsub(/x/, "x"); ny = gsub(/y/, "y"); print (nx > ny ? "more_x" : "more_y") "\t" $0 }' "$t/long.txt" > "$t/long.tsv"
"$RNNC" classify eval --model "$CM" --max-len 2000 --batch 1 --json --data "$t/long.tsv" > "$t/long.e1" 2>/dev/null
"$RNNC" classify eval --model "$CM" --max-len 2000 --batch 3 --json --data "$t/long.tsv" > "$t/long.e3" 2>/dev/null
"$RNNC" classify eval --model "$CM" --max-len 2000 --json --data "$t/long.tsv" > "$t/long.e64" 2>/dev/null
check "classify eval: the same scores for items of 1 to 1,400 tokens at --batch 1, 3 and 64" \
  'grep -q "\"items\":[[:space:]]*40," "$t/long.e1" && cmp -s "$t/long.e1" "$t/long.e3" && cmp -s "$t/long.e1" "$t/long.e64"'
printf 'a a b\nc b b b a\na b c\n\nb\n' > "$t/one.txt"
"$RNNC" tag predict --model "$TM" "$t/one.txt" > "$t/one.free" 2>/dev/null
"$RNNC" tag predict --model "$TM" --exactly-one SAME "$t/one.txt" > "$t/one.pred" 2>/dev/null
check "tag predict --exactly-one SAME: one SAME on every non-empty line; a line that had one is unchanged" \
  '[ $? -eq 0 ] && [ "$(awk "NF { n = 0; for (i = 1; i <= NF; i++) n += \$i == \"SAME\"; if (n != 1) bad++ } END { print NR, bad + 0 }" "$t/one.pred")" = "5 0" ] &&
   [ "$(sed -n 1p "$t/one.pred")" = "$(sed -n 1p "$t/one.free")" ] && [ "$(sed -n 1p "$t/one.free")" = "SAME O O" ] &&
   [ "$(sed -n 4p "$t/one.pred")" = "" ] && [ "$(sed -n 5p "$t/one.pred")" = "SAME" ]'
"$RNNC" tag eval --model "$TM" --data "$t/tag_dev.tsv" --exactly-one O --json > "$t/one.json"
check "tag eval --exactly-one: scores the constrained tagging (one O a line: fewer tokens right than free)" \
  '"$py" -c "import json,sys; j = json.load(open(sys.argv[1])); assert j[\"sequences\"] == 200 and j[\"accuracy\"] < $bi_acc, j[\"accuracy\"]" "$t/one.json"'
refused "tag predict --exactly-one: a tag the model lacks is a usage error naming the flag and the tags" 2 \
  "--exactly-one: 'X' is not a tag of $TM (its tags: 'O', 'SAME')" "$RNNC" tag predict --model "$TM" --exactly-one X "$t/one.txt"
refused "tag eval --exactly-one without a value" 2 "--exactly-one needs a value" "$RNNC" tag eval --model "$TM" --data "$t/tag_dev.tsv" --exactly-one
refused "classify predict has no --exactly-one" 2 "unknown option '--exactly-one'" "$RNNC" classify predict --model "$CM" --exactly-one SAME "$t/one.txt"
printf 'a a b\nc c\n' | "$RNNC" tag predict --model "$TM" --json > "$t/tag.jl" 2>/dev/null
check "tag predict --json: every line parses, a tag and its probability per token" \
  '"$py" -c "
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert [len(j[\"tags\"]) for j in ls] == [3, 2] and [len(j[\"probs\"]) for j in ls] == [3, 2]
assert ls[0][\"tags\"] == [\"SAME\", \"O\", \"O\"] and all(0.5 <= p <= 1 for j in ls for p in j[\"probs\"])" "$t/tag.jl"'
# BIO tags: span F1 by conlleval's rules
"$RNNC" tag train --data "$t/bio_train.tsv" --valid "$t/bio_dev.tsv" -o "$t/bio" "${small[@]}" --epochs 8 2> "$t/bio.err"
check "tag train with BIO tags validates by span F1" '[ $? -eq 0 ] && grep -q "span F1 1.0000" "$t/bio.err"'
"$RNNC" tag eval --model "$t/bio/best.safetensors" --data "$t/bio_dev.tsv" > "$t/bio.eval"
check "tag eval with BIO tags: span counts and a span F1 row per type" '[ $? -eq 0 ] && grep -q "^spans (conlleval): [0-9]* true, [0-9]* predicted, [0-9]* correct" "$t/bio.eval" && grep -q "^A  *1.0000  *1.0000  *1.0000" "$t/bio.eval"'
"$RNNC" tag eval --model "$t/bio/best.safetensors" --data "$t/bio_dev.tsv" --json > "$t/bio.json"
check "tag eval --json: sequence accuracy and spans" '"$py" -c "import json,sys; j = json.load(open(sys.argv[1])); assert j[\"sequences\"] == 100 and j[\"spans\"][\"f1\"] == 1 and j[\"spans\"][\"per_type\"][0][\"type\"] == \"A\"" "$t/bio.json"'
# char mode: a tag per character, spaces included
"$RNNC" tag train --data "$t/char_train.tsv" --valid "$t/char_dev.tsv" --tokenizer char -o "$t/char" "${small[@]}" --epochs 10 2>/dev/null
check "tag train --tokenizer char: exit 0" '[ $? -eq 0 ] && [ -s "$t/char/best.safetensors" ]'
"$RNNC" tag eval --model "$t/char/best.safetensors" --data "$t/char_dev.tsv" > "$t/char.eval"
check "char tagging learnt (token accuracy >= 99%)" 'awk "BEGIN { exit !($(figure "token accuracy" "$t/char.eval") >= 0.99) }"'
printf 'ab cd\nd  a\n' | "$RNNC" tag predict --model "$t/char/best.safetensors" > "$t/char.pred"
check "char tag predict: a tag per character, each space too" '[ $? -eq 0 ] && [ "$(cat "$t/char.pred")" = "$(printf "U L S U L\nU S S U")" ]'

# ---- forecast ----
fc=(--data "$t/fc.csv" --target sales --known weekday --context 14 --season 7 --holdout 100 --hidden 16 --lr 0.01 --log-every 0 --eval-every 0)
"$RNNC" forecast train "${fc[@]}" --epochs 20 -o "$t/fc" 2> "$t/fc.err"
check "forecast train: exit 0; the rows it trains and validates on" '[ $? -eq 0 ] && [ -s "$t/fc/best.safetensors" ] && grep -q "fc.csv: 700 rows; training targets in rows \[15, 540\], validation in \[541, 600\], the rest held out" "$t/fc.err" && grep -q "526 training and 60 validation windows of 14 steps -> 1, 2 inputs (1 known ahead)" "$t/fc.err"'
FM=$t/fc/best.safetensors
# values near the float limit: the seasonal-naive MAE is summed in double, as eval's (it said inf)
awk 'BEGIN { print "t,y"; for (i = 0; i < 60; i++) printf "%d,%s\n", i, i % 2 ? "3.3e+38" : "-3.3e+38" }' > "$t/fcmax.csv"
# a run that diverges says what its directory holds and what may help
"$RNNC" forecast train "${fc[@]}" --steps 300 --lr 10 --clip 0 --optimizer sgd --momentum 0.999 --warmup 0 --eval-every 5 \
  --checkpoint-every 20 -o "$t/div" 2> "$t/err"
check "forecast train that diverges: the checkpoint's step and what may help" '[ $? -eq 1 ] && grep -q "^rnnc: step [0-9]*: the .* is \(NaN\|Inf\); training stopped; .*div/checkpoint.safetensors holds its last checkpoint (step [0-9]*).*: a lower --lr, a smaller --clip or more --warmup may get past it$" "$t/err"'
"$RNNC" forecast train --data "$t/fcmax.csv" --target y --context 7 --hidden 4 --steps 1 -o "$t/fcmax" 2> "$t/err"
check "forecast train: values near the float limit give a finite seasonal-naive MAE" \
  '[ $? -eq 0 ] && grep -q "seasonal-naive MAE on them 6.6e+38$" "$t/err"'
"$RNNC" forecast train "${fc[@]}" --steps 2 --log-every 1 -o "$t/fcrate" 2> "$t/err"
check "forecast train: the report's rate counts the rows the windows read" 'grep -q "^step 1  epoch .*  [0-9]* rows/s  [0-9:]* elapsed$" "$t/err"'
"$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" --last 100 > "$t/fc.eval"
check "forecast eval: MAE, RMSE, sMAPE and MASE for the model and the seasonal-naive forecast" \
  '[ $? -eq 0 ] && grep -q "100 windows of 14 steps -> 1 (targets in rows 601-700), 100 forecasts" "$t/fc.eval" && grep -q "^  *MAE  *RMSE  *sMAPE  *MASE$" "$t/fc.eval" && grep -q "^model  *[0-9.]*  *[0-9.]*  *[0-9.]*%  *[0-9.]*$" "$t/fc.eval" && grep -q "^seasonal naive  *[0-9.]*  *[0-9.]*  *[0-9.]*%  *[0-9.]*$" "$t/fc.eval"'
"$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" --last 100 --json > "$t/fc.json"
check "forecast eval --json on the 100 held-out days: model MAE at least 10% below seasonal naive" \
  '"$py" -c "
import json, sys
j = json.load(open(sys.argv[1]))
print(\"     (test MAE: model %.3f, seasonal naive %.3f)\" % (j[\"model\"][\"mae\"], j[\"seasonal_naive\"][\"mae\"]))
assert j[\"windows\"] == 100 and j[\"season\"] == 7 and j[\"model\"][\"mae\"] < 0.9 * j[\"seasonal_naive\"][\"mae\"]
assert set(j[\"model\"]) == {\"mae\", \"rmse\", \"smape\", \"mase\"}" "$t/fc.json"'
"$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" > "$t/fc_all.eval"
cp "$t/fc.csv" "$t/fc.bak"
refused "forecast eval --plot DATA: refused (the picture would replace the series)" 2 "--plot $t/fc.csv names $t/fc.csv, which this command reads" \
  "$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" --plot "$t/fc.csv"
check "... and the series is intact" 'cmp -s "$t/fc.csv" "$t/fc.bak"'
check "forecast eval without --last: every window of the file" '[ $? -eq 0 ] && grep -q "686 windows of 14 steps -> 1 (targets in rows 15-700)" "$t/fc_all.eval"'
# predict: the recent rows, then one row per forecast step with the target empty and the weekday given
{ head -691 "$t/fc.csv"; echo "690,,4"; } > "$t/recent.csv"
"$RNNC" forecast predict --model "$FM" --data "$t/recent.csv" > "$t/fc.pred"
check "forecast predict: a CSV step,sales with one forecast near the weekly level" \
  '[ $? -eq 0 ] && [ "$(head -1 "$t/fc.pred")" = "step,sales" ] && [ "$(wc -l < "$t/fc.pred")" -eq 2 ] && awk -F, "NR == 2 { exit !(\$1 == 1 && \$2 > 108 && \$2 < 116) }" "$t/fc.pred"'
"$RNNC" forecast predict --model "$FM" --data - -o "$t/fc.out" < "$t/recent.csv"
check "forecast predict --data - -o OUT: the same CSV, from stdin, in OUT" '[ $? -eq 0 ] && cmp -s "$t/fc.pred" "$t/fc.out"'
"$RNNC" forecast train "${fc[@]}" --epochs 2 --horizon 3 -o "$t/fc3" 2>/dev/null
{ head -691 "$t/fc.csv"; printf '690,,4\n691,,5\n692,,6\n'; } > "$t/recent3.csv"
"$RNNC" forecast predict --model "$t/fc3/best.safetensors" --data "$t/recent3.csv" > "$t/fc3.pred"
check "forecast predict with --horizon 3: steps 1 to 3" '[ $? -eq 0 ] && [ "$(cut -d, -f1 "$t/fc3.pred" | tr "\n" " ")" = "step 1 2 3 " ]'
"$RNNC" forecast train --data "$t/fc.csv" --target sales --covariates weekday --context 14 -o "$t/fcu" --hidden 8 --steps 5 2>/dev/null
head -100 "$t/fc.csv" > "$t/head100.csv"
"$RNNC" forecast predict --model "$t/fcu/best.safetensors" --data "$t/head100.csv" > "$t/fcu.pred"
check "a model without covariates known ahead predicts from the observed rows alone" '[ $? -eq 0 ] && [ "$(wc -l < "$t/fcu.pred")" -eq 2 ]'

# ---- runs: repeatable, exact resume ----
"$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/cls2" "${small[@]}" --epochs 10 --pool last 2>/dev/null
check "classify training is repeatable bit for bit" 'cmp -s "$t/cls/model.safetensors" "$t/cls2/model.safetensors"'
# (a constant rate: a cosine schedule follows the budget, which these resumes change)
for task in classify tag forecast; do
  case $task in
    classify) d=(--data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" --hidden 8 --embed 4 --dropout 0.2 --layers 2 --class-weight balanced) ;;
    tag) d=(--data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" --hidden 8 --embed 4 --bidirectional --output-dropout 0.2) ;;
    forecast) d=(--data "$t/fc.csv" --target sales --known weekday --context 14 --hidden 8 --output-dropout 0.2) ;;
  esac
  "$RNNC" $task train "${d[@]}" --schedule constant --log-every 5 --eval-every 10 --steps 40 -o "$t/rA_$task" 2>/dev/null
  "$RNNC" $task train "${d[@]}" --schedule constant --log-every 5 --eval-every 10 --steps 17 -o "$t/rB_$task" 2>/dev/null
  "$RNNC" $task train --resume "$t/rB_$task" --steps 40 2> "$t/err"
  check "$task: stopped at step 17 and resumed, the model of a run never stopped (dropout and epoch order included)" \
    '[ $? -eq 0 ] && grep -q "resumed from step 17 " "$t/err" && cmp -s "$t/rA_$task/model.safetensors" "$t/rB_$task/model.safetensors"'
done
# a resume reads the same data or none: a training or validation file changed since the start
# (shorter, or the same size with other bytes) is refused naming it, before anything is read;
# put back, the run resumes
cp "$t/cls_train.tsv" "$t/ch_train.tsv"
"$RNNC" classify train --data "$t/ch_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/ch" "${small[@]}" --steps 5 2>/dev/null
head -100 "$t/cls_train.tsv" > "$t/ch_train.tsv"
refused "resume after the training file shrank: refused naming it" 1 "ch_train.tsv has changed since the run started (" \
  "$RNNC" classify train --resume "$t/ch" --steps 8
sed '3s/x/y/' "$t/cls_train.tsv" > "$t/ch_train.tsv"
refused "resume after the training file changed in place: refused (same size, other bytes)" 1 "now, other bytes): a resume continues exactly only on the same data" \
  "$RNNC" classify train --resume "$t/ch" --steps 8
cp "$t/cls_train.tsv" "$t/ch_train.tsv"
"$RNNC" classify train --resume "$t/ch" --steps 8 2>/dev/null
check "... the file put back: the run resumes" '[ $? -eq 0 ]'

# ---- -o is atomic: a failing predict leaves no file ----
printf 'a b\na a a a a a\n' > "$t/long.txt"
refused "tag predict: a line over --max-len is an error naming file:line" 1 "long.txt:2: 6 tokens, more than --max-len 4" \
  "$RNNC" tag predict --model "$TM" --max-len 4 "$t/long.txt" -o "$t/p1.txt"
check "... and -o wrote nothing, no temporary file left" '[ ! -e "$t/p1.txt" ] && [ -z "$(ls "$t" | grep "^p1.txt")" ]'
{ head -691 "$t/fc.csv"; echo "690,,"; } > "$t/nofuture.csv"
refused "forecast predict: a future row without its known covariate names file:line:column (name)" 1 "nofuture.csv:692:3 (weekday): empty cell (a known covariate must be given for the rows to forecast too)" \
  "$RNNC" forecast predict --model "$FM" --data "$t/nofuture.csv" -o "$t/p2.csv"
check "... and -o wrote nothing" '[ -z "$(ls "$t" | grep "^p2.csv")" ]'

# ---- bad input (issue 13) ----
# a label or tag that training never saw: classify counts the item and leaves it out, tag counts the tag and does not score it
printf 'more_x\tx x y\nspam\tx y y\nmore_y\ty y x\nham\ty\n' > "$t/cls_unseen.tsv"
"$RNNC" classify eval --model "$CM" --data "$t/cls_unseen.tsv" > "$t/o" 2> "$t/err"
check "classify eval: items whose label the model does not know are counted and left out" \
  '[ $? -eq 0 ] && grep -q "^2 items with labels the model does not know, left out (the first at line 2: .spam.)$" "$t/o" && grep -q "^items: 2$" "$t/o"'
printf 'a a b\tSAME O O\na b\tO NEW\n' > "$t/tag_unseen.tsv"
"$RNNC" tag eval --model "$TM" --data "$t/tag_unseen.tsv" > "$t/o"
check "tag eval: a tag the model does not know is counted and not scored" \
  '[ $? -eq 0 ] && grep -q "^1 tag the model does not know, not scored (the first at line 2: .NEW.)$" "$t/o" && grep -q "^tokens: 4 scored" "$t/o"'
"$RNNC" classify eval --model "$CM" --data "$t/cls_unseen.tsv" --json > "$t/o"
check "classify eval --json: the count of unknown labels" '"$py" -c "import json,sys; assert json.load(open(sys.argv[1]))[\"unknown_labels\"] == 2" "$t/o"'
printf 'spam\tx\nham\ty\n' > "$t/cls_allunseen.tsv"
refused "classify eval: every label unknown is an error, never a perfect score" 1 "cls_allunseen.tsv: no items to read (every label is unknown to the model)" \
  "$RNNC" classify eval --model "$CM" --data "$t/cls_allunseen.tsv"
printf 'a b\tX Y\n' > "$t/tag_allunseen.tsv"
refused "tag eval: every tag unknown is an error" 1 "tag_allunseen.tsv: nothing to score (every tag is unknown to the model)" \
  "$RNNC" tag eval --model "$TM" --data "$t/tag_allunseen.tsv"
cat "$t/cls_dev.tsv" "$t/cls_unseen.tsv" > "$t/cls_dev_unseen.tsv"
"$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev_unseen.tsv" -o "$t/u1" --hidden 4 --embed 4 --steps 2 2> "$t/err"
check "classify train: dev items with a label the training data lacks are counted and left out" \
  '[ $? -eq 0 ] && grep -q "cls_dev_unseen.tsv: 2 items with labels the training data does not have, left out (the first at line 202: .spam.)" "$t/err"'
cat "$t/tag_dev.tsv" "$t/tag_unseen.tsv" > "$t/tag_dev_unseen.tsv"
"$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev_unseen.tsv" -o "$t/u2" --hidden 4 --embed 4 --steps 2 2> "$t/err"
check "tag train: a dev tag the training data lacks is counted and left unscored" \
  '[ $? -eq 0 ] && grep -q "tag_dev_unseen.tsv: 1 tag the training data does not have, left unscored (the first at line 202: .NEW.)" "$t/err"'

# tag count != token count; an empty text; a line without a tab
printf 'a a b\tSAME O\n' > "$t/count.tsv"
cat "$t/tag_train.tsv" "$t/count.tsv" > "$t/count_train.tsv"
refused "tag train: tag count != token count names file:line" 1 "count_train.tsv:1001: the line has 2 tags for 3 tokens" \
  "$RNNC" tag train --data "$t/count_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/n1" --steps 2
check "... and no run directory" '[ ! -e "$t/n1" ]'
refused "tag eval: tag count != token count names file:line" 1 "count.tsv:1: the line has 2 tags for 3 tokens" \
  "$RNNC" tag eval --model "$TM" --data "$t/count.tsv"
printf 'ab\tU L L\n' > "$t/charcount.tsv"
refused "char tag eval: tag count != character count" 1 "charcount.tsv:1: the line has 3 tags for 2 characters" \
  "$RNNC" tag eval --model "$t/char/best.safetensors" --data "$t/charcount.tsv"
"$RNNC" tag train --data "$t/count_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/n2" --hidden 4 --embed 4 --steps 2 --skip-bad 2> "$t/err"
check "tag train --skip-bad: the bad line is counted and skipped" '[ $? -eq 0 ] && grep -q "count_train.tsv: 1000 items (skipped: 1 bad" "$t/err"'
printf 'more_x\tx x y\nmore_y\t  \n' > "$t/cls_empty.tsv"
refused "classify eval: an empty text names file:line" 1 "cls_empty.tsv:2: the line has an empty text" \
  "$RNNC" classify eval --model "$CM" --data "$t/cls_empty.tsv"
cat "$t/cls_train.tsv" "$t/cls_empty.tsv" > "$t/cls_empty_train.tsv"
refused "classify train: an empty text names file:line" 1 "cls_empty_train.tsv:1002: the line has an empty text" \
  "$RNNC" classify train --data "$t/cls_empty_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/n3" --steps 2
check "... and no run directory" '[ ! -e "$t/n3" ]'
printf 'a a\tO O\n\tO\n' > "$t/tag_empty.tsv"
refused "tag eval: an empty text names file:line" 1 "tag_empty.tsv:2: the line has an empty text" \
  "$RNNC" tag eval --model "$TM" --data "$t/tag_empty.tsv"
printf 'more_x\tx x y\nno tab here\n' > "$t/notab.tsv"
refused "classify eval: a line without a tab names file:line" 1 "notab.tsv:2: the line has no tab" \
  "$RNNC" classify eval --model "$CM" --data "$t/notab.tsv"
check "... with what was expected, once (it said it twice)" 'grep -q "the line has no tab (expected two columns: label TAB text)$" "$t/err"'
printf 'x x\tO O\nno tab\n' > "$t/tagnotab.tsv"
refused "tag eval: a line without a tab says what tag expects" 1 "tagnotab.tsv:2: the line has no tab (expected two columns: tokens TAB tags)" \
  "$RNNC" tag eval --model "$TM" --data "$t/tagnotab.tsv"
printf '\n  \n\n' > "$t/blank.tsv"
refused "classify eval: a file of blank lines says so (it said empty)" 1 "blank.tsv: no items to read (the file has only blank lines)" \
  "$RNNC" classify eval --model "$CM" --data "$t/blank.tsv"
refused "classify eval --model a CSV with a header: points to rnnc forecast too" 1 "fc.csv: this is a text file (a CSV with a header), not a classifier; a series is data: give it as --data to rnnc forecast train, predict or eval" \
  "$RNNC" classify eval --model "$t/fc.csv" --data "$t/cls_dev.tsv"
"$RNNC" classify eval --model "$CM" --data "$t/notab.tsv" --skip-bad > "$t/o" 2>&1
check "classify eval --skip-bad: counted" '[ $? -eq 0 ] && grep -q "notab.tsv: 1 item (skipped 1 bad, 0 long" "$t/o"'
: > "$t/empty.tsv"
refused "classify eval: an empty file is an error, never a perfect score" 1 "empty.tsv: no items to read (the file is empty)" \
  "$RNNC" classify eval --model "$CM" --data "$t/empty.tsv"
refused "classify train: an empty training file says so" 1 "empty.tsv: no labelled lines" \
  "$RNNC" classify train --data "$t/empty.tsv" --valid "$t/cls_dev.tsv" -o "$t/n4" --steps 2
printf 'more_x\tx y x\n' > "$t/one.tsv"
refused "classify train: a single label leaves nothing to tell apart" 1 "one.tsv: only one label ('more_x'): nothing to tell apart" \
  "$RNNC" classify train --data "$t/one.tsv" --valid "$t/cls_dev.tsv" -o "$t/n4" --steps 2
check "... and no run directory" '[ ! -e "$t/n4" ]'
# labels, tags and space tokens are stored in the model file (UTF-8 metadata): invalid UTF-8 in
# them names file:line before anything runs (it used to fail at the first checkpoint, naming it)
printf 'more_x\tx y x\nle\377ss\tx y y\n' > "$t/badlabel.tsv"
refused "classify train: a label in invalid UTF-8 names file:line" 1 "badlabel.tsv:2: a label is not valid UTF-8 (byte 2 of the line)" \
  "$RNNC" classify train --data "$t/badlabel.tsv" --valid "$t/cls_dev.tsv" -o "$t/n4" --steps 2
printf 'more_x\tx y x\nless_x\ty \377 y\n' > "$t/badtok.tsv"
refused "classify train --tokenizer space: a token in invalid UTF-8 names file:line" 1 "badtok.tsv:2: invalid UTF-8 at byte 2" \
  "$RNNC" classify train --data "$t/badtok.tsv" --valid "$t/cls_dev.tsv" -o "$t/n4" --steps 2 --tokenizer space
printf 'a b\tX Y\nb a\tY X\377\n' > "$t/badtag.tsv"
refused "tag train: a tag in invalid UTF-8 names file:line" 1 "badtag.tsv:2: a tag is not valid UTF-8 (byte 7 of the line)" \
  "$RNNC" tag train --data "$t/badtag.tsv" --valid "$t/tag_dev.tsv" -o "$t/n4" --steps 2
check "... and no run directory" '[ ! -e "$t/n4" ]'
# a file whose lines do not split: the labels are too few, and the message says which line is why
printf 'more_x\tx y x\nless_x\tx\ty\n' > "$t/threecol.tsv"
refused "classify train: too few labels names the malformed line left out" 1 \
  "threecol.tsv: only one label ('more_x'): nothing to tell apart (1 line not in two columns left out; the first, line 2, has a second tab" \
  "$RNNC" classify train --data "$t/threecol.tsv" --valid "$t/cls_dev.tsv" -o "$t/n4" --steps 2

# CSV
F=(--context 14 --hidden 4 --steps 2)
refused "forecast train: a missing target column, listing the columns" 1 "fc.csv: no column 'price'; the columns are: day, sales, weekday" \
  "$RNNC" forecast train --data "$t/fc.csv" --target price -o "$t/c1" "${F[@]}"
sed '5s/,[0-9.]*,/,abc,/' "$t/fc.csv" > "$t/nonnum.csv"
refused "forecast train: a non-numeric cell names file:line:column (name)" 1 "nonnum.csv:5:2 (sales): 'abc' is not a number" \
  "$RNNC" forecast train --data "$t/nonnum.csv" --target sales -o "$t/c1" "${F[@]}"
sed '5s/,[0-9.]*,/,,/' "$t/fc.csv" > "$t/emptycell.csv"
refused "forecast train: an empty cell" 1 "emptycell.csv:5:2 (sales): empty cell" \
  "$RNNC" forecast train --data "$t/emptycell.csv" --target sales -o "$t/c1" "${F[@]}"
sed '9s/,[0-9]$/,x/' "$t/fc.csv" > "$t/badcov.csv"
refused "forecast train: a bad covariate cell" 1 "badcov.csv:9:3 (weekday): 'x' is not a number" \
  "$RNNC" forecast train --data "$t/badcov.csv" --target sales --known weekday -o "$t/c1" "${F[@]}"
sed '5s/,[0-9.]*,/,NaN,/' "$t/fc.csv" > "$t/nan.csv"
refused "forecast train: NaN" 1 "nan.csv:5:2 (sales): 'NaN' is not a number (NaN is refused" \
  "$RNNC" forecast train --data "$t/nan.csv" --target sales -o "$t/c1" "${F[@]}"
sed '5s/,[0-9.]*,/,-inf,/' "$t/fc.csv" > "$t/inf.csv"
refused "forecast train: Inf" 1 "inf.csv:5:2 (sales): '-inf' is infinite" \
  "$RNNC" forecast train --data "$t/inf.csv" --target sales -o "$t/c1" "${F[@]}"
sed '5s/,[0-9.]*,/,1e400,/' "$t/fc.csv" > "$t/huge.csv"
refused "forecast train: a value beyond a float" 1 "huge.csv:5:2 (sales): '1e400' is out of range" \
  "$RNNC" forecast train --data "$t/huge.csv" --target sales -o "$t/c1" "${F[@]}"
head -15 "$t/fc.csv" > "$t/short.csv"
refused "forecast train: a series shorter than --context + --horizon (and validation)" 1 "short.csv: 14 rows, 0 held out (--holdout) and 1 for validation (--valid-last) leave 13 to train on: fewer than --context 14 + --horizon 1" \
  "$RNNC" forecast train --data "$t/short.csv" --target sales -o "$t/c1" "${F[@]}"
refused "forecast train: --holdout of every row" 1 "fc.csv: 700 rows, 700 held out (--holdout) and 1 for validation (--valid-last) leave 0 to train on" \
  "$RNNC" forecast train --data "$t/fc.csv" --target sales --holdout 700 -o "$t/c1" "${F[@]}"
refused "forecast train: a --season longer than the rows before validation" 1 "fc.csv: --season 1000 looks back further than the 630 rows before the validation rows" \
  "$RNNC" forecast train --data "$t/fc.csv" --target sales --season 1000 -o "$t/c1" "${F[@]}"
refused "forecast train: a --known column the file lacks" 1 "fc.csv: no column 'holiday'; the columns are: day, sales, weekday" \
  "$RNNC" forecast train --data "$t/fc.csv" --target sales --known holiday -o "$t/c1" "${F[@]}"
refused "forecast train: the target also named as a covariate" 1 "column 'sales' is named twice (as --target and in --covariates)" \
  "$RNNC" forecast train --data "$t/fc.csv" --target sales --covariates sales -o "$t/c1" "${F[@]}"
refused "forecast train: a column twice in --known names the flag" 1 "column 'weekday' is named twice in --known" \
  "$RNNC" forecast train --data "$t/fc.csv" --target sales --known weekday,weekday -o "$t/c1" "${F[@]}"
check "... and no run directory after any of them" '[ ! -e "$t/c1" ]'
refused "forecast eval: a non-numeric cell" 1 "nonnum.csv:5:2 (sales): 'abc' is not a number" \
  "$RNNC" forecast eval --model "$FM" --data "$t/nonnum.csv"
refused "forecast eval: a series shorter than --context + --horizon" 1 "short.csv: the series has 14 rows, too few for --context 14 + --horizon 1 (one window needs 15 rows)" \
  "$RNNC" forecast eval --model "$FM" --data "$t/short.csv"
refused "forecast eval: --last leaving less than the context before it" 1 "fc.csv: --last 695 leaves 5 rows before it, fewer than the model's context of 14" \
  "$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" --last 695
head -10 "$t/fc.csv" > "$t/ten.csv"; echo "9,,2" >> "$t/ten.csv"
refused "forecast predict: fewer observed rows than the model's context" 1 "ten.csv: 9 rows with a target, but the model reads the last 14 (its --context)" \
  "$RNNC" forecast predict --model "$FM" --data "$t/ten.csv"
cut -d, -f1,2 "$t/fc.csv" > "$t/nocov.csv"
refused "forecast predict: a covariate column absent at predict time" 1 "nocov.csv: no column 'weekday'; the columns are: day, sales" \
  "$RNNC" forecast predict --model "$FM" --data "$t/nocov.csv" -o "$t/p3.csv"
check "... and -o wrote nothing" '[ -z "$(ls "$t" | grep "^p3.csv")" ]'
refused "forecast eval: a covariate column absent" 1 "nocov.csv: no column 'weekday'" "$RNNC" forecast eval --model "$FM" --data "$t/nocov.csv"
cut -d, -f1,3 "$t/fc.csv" > "$t/notarget.csv"
refused "forecast predict: the target column absent" 1 "notarget.csv: no column 'sales'; the columns are: day, weekday" \
  "$RNNC" forecast predict --model "$FM" --data "$t/notarget.csv"
refused "forecast eval: --last shorter than the horizon names --last" 1 "fc.csv: --last 2 is fewer rows than the model's horizon of 3" \
  "$RNNC" forecast eval --model "$t/fc3/best.safetensors" --data "$t/fc.csv" --last 2
(head -691 "$t/fc.csv"; printf ',,%d\n' 0 1 2) > "$t/morefut.csv"
"$RNNC" forecast predict --model "$FM" --data "$t/morefut.csv" > "$t/o" 2> "$t/err"
check "forecast predict: future rows past the horizon are used up to it, with one warning" \
  '[ $? -eq 0 ] && [ "$(wc -l < "$t/o")" -eq 2 ] && [ "$(wc -l < "$t/err")" -eq 1 ] && grep -q "warning: .*morefut.csv has 3 rows with the target empty after the last one with a target, but the model forecasts 1 step (its --horizon): the last 2 are not used" "$t/err"'
head -691 "$t/fc.csv" > "$t/nofut.csv"
refused "forecast predict: no future rows for a model with covariates known ahead" 1 "nofut.csv: the model takes 1 covariate known ahead, so the file must end with 1 row (one per forecast step) with the target empty and those covariates filled in; it has 0" \
  "$RNNC" forecast predict --model "$FM" --data "$t/nofut.csv"

# a model of another task, given to each command: an LM, a seq2seq model, the other seq tasks' models
"$RNNC" init --cell lstm --vocab 10 --embed 4 --hidden 4 -o "$t/lm.safetensors" 2>/dev/null
printf 'a b\tb a\nc d\td c\n' > "$t/s2s.tsv"
"$RNNC" seq2seq train --data "$t/s2s.tsv" --valid "$t/s2s.tsv" --hidden 4 --embed 4 --steps 1 -o "$t/s2s" 2>/dev/null
declare -A model=([lm]="$t/lm.safetensors" [seq2seq]="$t/s2s/model.safetensors" [classify]="$CM" [tag]="$TM" [forecast]="$FM")
declare -A article=([classify]="a classifier" [tag]="a tagger" [forecast]="a forecaster")
for task in classify tag forecast; do
  for other in lm seq2seq classify tag forecast; do
    [ $task = $other ] && continue
    # what the file is, then which commands take it
    case $other in
      lm) is="a language model"; use="use rnnc sample, rnnc eval or rnnc similar" ;;
      seq2seq) is="a seq2seq model"; use="use rnnc seq2seq translate or rnnc seq2seq eval" ;;
      *) is=${article[$other]}; use="use rnnc $other predict or rnnc $other eval" ;;
    esac
    refused "$task eval given a $other model: says what it is" 1 "${model[$other]}: this is $is" \
      "$RNNC" $task eval --model "${model[$other]}" --data "$t/cls_dev.tsv"
    check "... and which command takes it" 'grep -qF "$use" "$t/err"'
    if [ $task = forecast ]; then input=(--data "$t/fc.csv"); else input=("$t/in.txt"); fi
    refused "$task predict given a $other model: says what it is" 1 "${model[$other]}: this is $is" \
      "$RNNC" $task predict --model "${model[$other]}" "${input[@]}" -o "$t/p4"
    check "... and which command takes it" 'grep -qF "$use" "$t/err"'
  done
done
check "... and no predict wrote its -o" '[ -z "$(ls "$t" | grep "^p4")" ]'
refused "rnnc sample given a classifier" 1 "this is a classifier, not a language model; use rnnc classify predict or rnnc classify eval" \
  "$RNNC" sample --model "$CM" -n 3
refused "rnnc seq2seq translate given a forecaster" 1 "this is a forecaster, not a seq2seq model; use rnnc forecast predict or rnnc forecast eval" \
  "$RNNC" seq2seq translate --model "$FM"
refused "tag train --resume of a classify run names the command that resumes it" 1 "this is a checkpoint of a classify run; resume it with rnnc classify train --resume" \
  "$RNNC" tag train --resume "$t/cls" --steps 400
refused "rnnc train --resume of a forecast run names the command that resumes it" 1 "this is a checkpoint of a forecast run; resume it with rnnc forecast train --resume" \
  "$RNNC" train --resume "$t/fc" --steps 400

# flags: missing values, bad values, flags another task has, and what a resume may not change
refused "classify train --data with its value missing" 2 "--data needs a value (got the flag --valid)" \
  "$RNNC" classify train --data --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2
refused "tag train --valid with its value missing" 2 "--valid needs a value (got the flag -o)" \
  "$RNNC" tag train --data "$t/tag_train.tsv" --valid -o "$t/f1" --steps 2
refused "classify train --tokenizer at the end without a value" 2 "--tokenizer needs a value" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --tokenizer
refused "forecast train --target with its value missing" 2 "--target needs a value (got the flag --context)" \
  "$RNNC" forecast train --data "$t/fc.csv" --target --context 14 -o "$t/f1" --steps 2
refused "classify predict --model with its value missing" 2 "--model needs a value" "$RNNC" classify predict --model
refused "tag predict -o with its value missing" 2 "-o needs a value" "$RNNC" tag predict --model "$TM" -o
refused "tag eval --model with its value missing" 2 "--model needs a value (got the flag --data)" "$RNNC" tag eval --model --data "$t/tag_dev.tsv"
refused "forecast predict --data with its value missing" 2 "--data needs a value" "$RNNC" forecast predict --model "$FM" --data
# an empty value is a missing one, naming the flag ("rnnc: : cannot open" named none)
refused "classify train --tokenizer word:3 (below the least)" 2 "rnnc classify train: --tokenizer: word:3: a word vocabulary is at least 5 (4 reserved ids and a word)" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 1 --tokenizer word:3
refused "classify predict --model=" 2 "rnnc classify predict: --model needs a value" "$RNNC" classify predict --model=
refused "classify eval --data=" 2 "rnnc classify eval: --data needs a value" "$RNNC" classify eval --model "$CM" --data=
refused "tag eval --model ''" 2 "rnnc tag eval: --model needs a value" "$RNNC" tag eval --model "" --data "$t/tag_dev.tsv"
refused "tag predict --exactly-one=" 2 "rnnc tag predict: --exactly-one needs a value" "$RNNC" tag predict --model "$TM" --exactly-one=
refused "forecast predict --data=" 2 "rnnc forecast predict: --data needs a value" "$RNNC" forecast predict --model "$FM" --data=
refused "forecast eval --data=" 2 "rnnc forecast eval: --data needs a value" "$RNNC" forecast eval --model "$FM" --data=
refused "forecast eval --plot=" 2 "rnnc forecast eval: --plot needs a file name" "$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" --plot=
refused "classify train --data=" 2 "rnnc classify train: --data needs a value" "$RNNC" classify train --data= --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 1
check "... each with the hint line" '[ "$(sed -n 2p "$t/err")" = "(see rnnc classify train --help)" ]'
refused "forecast eval --last with its value missing" 2 "--last needs a value" "$RNNC" forecast eval --model "$FM" --data "$t/fc.csv" --last
refused "tag train --tokenizer word: a tag per token needs space or char" 2 "--tokenizer: tag needs space or char (each token gets one tag), not word" \
  "$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/f1" --steps 2 --tokenizer word
# char takes no size: an empty one gets the same answer as char:5 (it asked for a positive size)
for spec in char: char:5; do
  refused "classify train --tokenizer $spec: char takes no size" 2 "--tokenizer: $spec: a char vocabulary takes no size" \
    "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --tokenizer $spec
done
refused "classify train --pool median" 2 "--pool: unknown pooling 'median' (choose last, mean, max or final)" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --pool median
refused "forecast train --loss ce" 2 "--loss: mse or mae, not ce" "$RNNC" forecast train --data "$t/fc.csv" --target sales -o "$t/f1" --steps 2 --loss ce
refused "classify train --class-weight with a label the data lacks" 1 "--class-weight: no label 'more_z' in the training data" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --class-weight more_z=2
check "... and lists the labels there are" 'grep -qF "(its labels: more_x, more_y)" "$t/err"'
# what can be checked before the data is read is a usage error naming the flag (it was exit 1)
refused "classify train --class-weight NAME without =W" 2 "--class-weight: 'more_x' is not NAME=WEIGHT" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --class-weight more_x
refused "classify train --class-weight with a negative weight" 2 "--class-weight: weight '-1' of 'more_x' is not a number in [0, 1e6]" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --class-weight more_x=-1
for w in 0x10 "' 2'" inf; do
  eval "w=$w"
  refused "classify train --class-weight more_x=$w: decimal only, as every flag's number" 2 "--class-weight: weight '$w' of 'more_x' is not a number in [0, 1e6]" \
    "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --class-weight "more_x=$w"
done
refused "classify train --class-weight naming a label twice (the last won)" 2 "--class-weight: 'more_x' is given twice" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --class-weight more_x=2,more_y=1,more_x=3
# every class at 0: a loss of 0 that learns nothing (it trained silently)
refused "classify train --class-weight with every class at 0" 1 "--class-weight: every class has weight 0 (more_x=0,more_y=0)" \
  "$RNNC" classify train --data "$t/cls_train.tsv" --valid "$t/cls_dev.tsv" -o "$t/f1" --steps 2 --class-weight more_x=0,more_y=0
refused "tag train --pool (classify and forecast only)" 2 "unknown option '--pool'" \
  "$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/f1" --steps 2 --pool max
refused "forecast train --embed (numeric inputs have no embedding)" 2 "unknown option '--embed'" \
  "$RNNC" forecast train --data "$t/fc.csv" --target sales -o "$t/f1" --steps 2 --embed 8
refused "classify train without --valid" 2 "--valid DEV.tsv is required" "$RNNC" classify train --data "$t/cls_train.tsv" -o "$t/f1" --steps 2
refused "forecast train without --target" 2 "--target COL is required" "$RNNC" forecast train --data "$t/fc.csv" -o "$t/f1" --steps 2
refused "forecast train --horizon 0" 2 "--horizon" "$RNNC" forecast train --data "$t/fc.csv" --target sales -o "$t/f1" --steps 2 --horizon 0
refused "classify predict --batch 0" 2 "--batch must be between 1 and 65536, got 0" "$RNNC" classify predict --model "$CM" --batch 0
refused "an unknown subcommand" 2 "unknown subcommand 'fit' (train, predict, eval)" "$RNNC" tag fit
# --batch: the trainers take the whole range the parser allows (they refused 4097 late, exit 1),
# and refuse beyond it as a usage error naming the range
declare -A bdata=([classify]="--data $t/cls_train.tsv --valid $t/cls_dev.tsv" [tag]="--data $t/tag_train.tsv --valid $t/tag_dev.tsv"
                  [forecast]="--data $t/fc.csv --target sales --context 14")
for task in classify tag forecast; do
  "$RNNC" $task train ${bdata[$task]} -o "$t/b_$task" --hidden 4 --steps 1 --batch 4097 2> "$t/err"
  check "$task train --batch 4097 (above the trainers' old bound of 4096) runs" '[ $? -eq 0 ] && [ -s "$t/b_$task/model.safetensors" ]'
  refused "$task train --batch 65537: a usage error naming the range" 2 "--batch must be between 1 and 65536, got 65537" \
    "$RNNC" $task train ${bdata[$task]} -o "$t/f1" --steps 1 --batch 65537
done
check "... and none of them made a run directory" '[ ! -e "$t/f1" ]'
for f in "--hidden 32" "--bidirectional" "--tokenizer char" "--pool mean" "--class-weight balanced" "--output-dropout 0.1"; do
  refused "classify train --resume $f: refused, naming the flag" 2 "${f%% *} cannot change on --resume" \
    "$RNNC" classify train --resume "$t/cls" $f --steps 400
done
for f in "--context 7" "--known weekday" "--target day" "--season 14" "--horizon 2"; do
  refused "forecast train --resume $f: refused, naming the flag" 2 "${f%% *} cannot change on --resume" \
    "$RNNC" forecast train --resume "$t/fc" $f --steps 400
done
refused "tag train --resume --skip-long: refused, naming the flag" 2 "--skip-long cannot change on --resume" "$RNNC" tag train --resume "$t/bi" --skip-long --steps 400

# a run directory in use: a second run, or a resume, is refused naming the process (--time: should the
# Ctrl-C below go astray, the run still ends)
"$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/live" --hidden 4 --embed 4 --steps 100000000 --time 2m --log-every 1 2>/dev/null &
pid=$!
for _ in $(seq 500); do [ -s "$t/live/checkpoint.safetensors" ] && break; sleep 0.02; done
refused "a second run in a live run's directory: refused naming the process" 1 "live is in use by process $pid" \
  "$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/live" --steps 2 --force
refused "a resume of a live run: refused naming the process" 1 "live is in use by process $pid" "$RNNC" tag train --resume "$t/live" --steps 5
kill -INT $pid
wait $pid
check "Ctrl-C stops the run with exit 130 and a checkpoint" '[ $? -eq 130 ] && [ -s "$t/live/checkpoint.safetensors" ]'
refused "a stopped run's directory is not started over without --force" 1 "holds another run" \
  "$RNNC" tag train --data "$t/tag_train.tsv" --valid "$t/tag_dev.tsv" -o "$t/live" --steps 2

echo "$fails failed"
[ $fails -eq 0 ]
