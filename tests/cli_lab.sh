#!/usr/bin/env bash
# rnnc lab: every registered lab runs with --quick and its output has the shape every lab promises
# (a table, a well-formed SVG, CSV and JSON files that parse, no temp files, a last line that is
# the verdict); then each lab's own sanity checks on its numbers (check_<name> below: the 4x/3x
# ratios exactly, LSTM beating Elman on the adding problem, ...); then the command's errors.
# Usage: cli_lab.sh RNNC_BINARY REPO_ROOT
set -u
RNNC=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LC_ALL=C RNNC_NO_PROGRESS=1 OMP_WAIT_POLICY=passive
export RNNC_DATA=${RNNC_DATA:-$ROOT/data}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error CODE ARGS...: exit status CODE, nothing on stdout, and one "rnnc: " line for exit 1
expect_error() {
    local code=$1; shift
    "$RNNC" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    [ "$rc" -eq "$code" ] || fail "rnnc $* exited $rc, expected $code: $(head -2 "$T/err")"
    if [ "$code" -eq 1 ]; then
        [ "$(wc -l <"$T/err")" -eq 1 ] || fail "rnnc $*: expected one error line, got: $(cat "$T/err")"
        grep -q '^rnnc: ' "$T/err" || fail "rnnc $*: error line does not start with 'rnnc: '"
    fi
    [ -s "$T/out" ] && [ "$code" -eq 2 ] && fail "rnnc $*: wrote to stdout on a usage error"
    return 0
}

# csv_col FILE COLUMN [FILTER_COLUMN VALUE]: the values of a column of a lab's CSV, one a line
csv_col() {
    "$PY" - "$@" <<'EOF'
import csv, sys
f, col = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f, newline="")))
for r in rows:
    if len(sys.argv) > 4 and r[sys.argv[3]] != sys.argv[4]:
        continue
    print(r[col])
EOF
}

# ---- each lab's own checks: check_NAME DIR STDOUT (python stdin scripts raise on a failed check) ----

# pycheck NAME SCRIPT ARGS...: runs the python check; its exception's message becomes the failure
pycheck() {
    local name=$1 script=$2; shift 2
    "$PY" -c "$script" "$@" >"$T/check.out" 2>&1 || fail "$name: $(tail -1 "$T/check.out")"
}

# params: formula = library = file on every row, and LSTM exactly 4x, GRU exactly 3x Elman's count
check_params() {
    pycheck params '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) >= 9 and len(rows) % 3 == 0, f"{len(rows)} rows"
for i in range(0, len(rows), 3):
    e, l, g = rows[i:i + 3]
    assert (e["cell"], l["cell"], g["cell"]) == ("elman", "lstm", "gru"), "cell order"
    for r in (e, l, g):
        assert r["formula"] == r["library"] == r["file"], f"counts disagree: {r}"
        assert all(r[k] == e[k] for k in ("E", "H", "layers", "dirs")), "configs differ in a triple"
    E, H, L, D = (int(e[k]) for k in ("E", "H", "layers", "dirs"))
    n = int(e["formula"])
    # the formula written a third time, here
    G1 = sum(D * H * ((E if k == 0 else D * H) + H + 2) for k in range(L))
    assert n == G1, f"elman {n} != {G1}"
    assert int(l["formula"]) == 4 * n, "lstm %s != 4 x %d" % (l["formula"], n)
    assert int(g["formula"]) == 3 * n, "gru %s != 3 x %d" % (g["formula"], n)
    assert l["x elman"] == "4x" and g["x elman"] == "3x", "ratio column"
    assert float(l["tagger x elman"].rstrip("x")) < 4 and float(g["tagger x elman"].rstrip("x")) < 3, "tagger ratios"
' "$1/params.csv"
    ls "$1"/lstm-*.safetensors >/dev/null 2>&1 || fail "params: the kept model files are missing"
    for f in "$1"/*.safetensors; do
        "$RNNC" info "$f" >"$T/info" 2>&1 || fail "params: rnnc info $f failed: $(head -2 "$T/info")"
    done
}

# tokens: L falls as BPE's |V| grows (256 ids = one token a byte), word L is the same at every |V|
# while its OOV falls, char is about a byte a token; three LMs trained, each with a held-out bpb
check_tokens() {
    pycheck tokens '
import csv, json, math, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
bpe = [r for r in rows if r["tokenizer"].startswith("bpe")]
word = [r for r in rows if r["tokenizer"].startswith("word")]
char = [r for r in rows if r["tokenizer"] == "char"]
assert len(char) == 1 and len(bpe) >= 3 and len(word) >= 1, "rows per tokenizer"
assert abs(float(char[0]["bytes/token"]) - 1) < 0.01, "char is not about one byte a token"
V = [int(r["|V|"]) for r in bpe]; L = [int(r["L (tokens)"]) for r in bpe]
assert V == sorted(V) and all(a > b for a, b in zip(L, L[1:])), f"bpe L does not fall as |V| grows: {L}"
assert V[0] == 256 and bpe[0]["bytes/token"] == "1.000", "bpe at 256 ids is not one token a byte"
assert len({r["L (tokens)"] for r in word}) == 1, "word L changes with |V|"
oov = [float(r["OOV"].rstrip("%")) for r in word]
assert all(a > b for a, b in zip(oov, oov[1:])), f"word OOV does not fall as |V| grows: {oov}"
tr = list(csv.DictReader(open(sys.argv[2], newline="")))
assert [r["tokenizer"].split(":")[0] for r in tr] == ["char", "bpe", "bpe"], "the three trained tokenizers"
bpt = [float(r["bytes/token"]) for r in tr]
assert bpt[0] < bpt[1] < bpt[2], f"bytes per token of the three: {bpt}"
for r in tr:
    b, b0 = float(r["held-out bits/byte"]), float(r["bits/byte at start"])
    assert math.isfinite(b) and 0 < b < 12 and math.isfinite(b0) and 0 < b0 < 12, f"held-out bits per byte {b0} -> {b}"
    assert int(r["steps"]) > 0 and float(r["tokens/s"]) > 0 and float(r["text kB/CPU-s"]) > 0, "no training"
assert float(tr[0]["held-out bits/byte"]) < float(tr[0]["bits/byte at start"]), "char did not learn"
j = json.load(open(sys.argv[3]))
assert len(j["training"]["runs"]) == 3 and all(len(r["curve"]) > 0 for r in j["training"]["runs"]), "curves"
' "$1/tokens_vocab.csv" "$1/tokens_training.csv" "$1/tokens.json"
}

# embeddings: every category row, the start at random level, and above random vectors after
# training: the input embedding started small and the output vectors of both runs (the bar the
# issue sets; the quick runs are step-budgeted, so this holds in every build, sanitizers included)
check_embeddings() {
    pycheck embeddings '
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["category"] for r in rows] == ["US states", "months", "countries", "number words", "first names", "mean"], "rows"
mean = rows[-1]
rnd = float(mean["random"])
assert 0 < rnd < 0.5, f"random purity {rnd}"
for k in ("input at step 0", "N(0,1) input", "N(0,1) output", "N(0,0.01) input", "N(0,0.01) output"):
    v = float(mean[k])
    assert 0 <= v <= 1, f"{k}: purity {v}"
    if k in ("N(0,0.01) input", "N(0,1) output", "N(0,0.01) output"):
        assert v > 2 * rnd, f"{k}: purity {v} is not above random ({rnd})"
assert float(mean["input at step 0"]) < 2 * rnd, "the untrained embedding already groups the categories"
j = json.load(open(sys.argv[2]))
for r in j["runs"]:
    steps = [s["step"] for s in r["snapshots"]]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == j["steps"] == r["steps"], f"snapshot steps {steps}"
' "$1/embeddings_purity.csv" "$1/embeddings.json"
    ls "$1"/embeddings-model-*.safetensors >/dev/null 2>&1 || fail "embeddings: the models are missing"
    "$RNNC" similar --model "$1/embeddings-model-small-init.safetensors" January >"$T/sim" 2>&1 ||
        fail "embeddings: rnnc similar on the lab's model failed: $(head -2 "$T/sim")"
}

# stacking: a time for every (T, layers), more parameters with more layers, a held-out bpb each
check_stacking() {
    pycheck stacking '
import csv, math, sys
t = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(t) >= 3, "timing rows"
for r in t:
    for k in ("CPU ms 1 layer", "CPU ms 2 layers", "CPU ms 3 layers"):
        assert float(r[k]) > 0, f"{k} at T={r[chr(84)]}"
tr = list(csv.DictReader(open(sys.argv[2], newline="")))
assert [int(r["layers"]) for r in tr] == [1, 2, 3], "layers"
p = [int(r["parameters"]) for r in tr]
assert p[0] < p[1] < p[2] and p[2] - p[1] == p[1] - p[0], f"parameters {p}: a layer adds the same count"
st = [int(r["steps"]) for r in tr]
assert st[0] > st[1] > st[2], f"steps {st}: equal compute buys fewer steps of a deeper stack"
for r in tr:
    b = float(r["held-out bits/byte"])
    assert math.isfinite(b) and 0 < b < 12 and int(r["steps"]) > 0, f"run {r}"
' "$1/stacking_time.csv" "$1/stacking_training.csv"
}

# teacher-forcing: the three regimes; the teacher-forced decoder does worse on its own inputs than
# on gold ones (exposure bias), and the free-running one has the smaller gap
check_teacher-forcing() {
    pycheck teacher-forcing '
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["training"] for r in rows] == ["teacher forcing", "scheduled sampling", "free running"], "rows"
gap = {}
for r in rows:
    g, o = float(r["dev loss, gold inputs"]), float(r["dev loss, own inputs"])
    assert math.isfinite(g) and math.isfinite(o) and g > 0 and o > 0, f"losses {r}"
    assert abs(float(r["exposure-bias gap"]) - (o - g)) < 2e-4, "gap is not own - gold"
    for k in ("dev PER", "dev WER"):
        v = float(r[k].rstrip("%"))
        assert 0 <= v <= 100, f"{k} {v}"
    gap[r["training"]] = o - g
assert gap["teacher forcing"] > 0, f"no exposure bias: {gap}"
assert abs(gap["free running"]) < gap["teacher forcing"], f"free running has the larger gap: {gap}"
' "$1/teacher_forcing.csv"
}

# memory: every (cell, T) once, finite MSEs, and at the longest T the gated cells far below Elman's
check_memory() {
    pycheck memory '
import csv, json, math, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
Ts = sorted({int(r["T"]) for r in rows})
assert len(rows) == 3 * len(Ts) and len(Ts) >= 2, "%d rows for T = %s" % (len(rows), Ts)
mse = {(r["cell"], int(r["T"])): float(r["mse"]) for r in rows}
assert all(math.isfinite(v) and v >= 0 for v in mse.values()), "an MSE is not a finite number: %s" % mse
T = Ts[-1]
e, l, g = mse["elman", T], mse["lstm", T], mse["gru", T]
assert l < e / 5 and g < e / 5, "at T = %d LSTM %.4f and GRU %.4f are not far below Elman %.4f" % (T, l, g, e)
assert e > 0.1, "Elman %.4f at T = %d: the adding problem is not hard enough to show anything" % (e, T)
j = json.load(open(sys.argv[2]))
assert j["lab"] == "memory" and len(j["runs"]) == len(rows) and j["held"] is True, "memory.json"
' "$1/memory.csv" "$1/memory.json"
    for c in elman lstm gru; do
        ls "$1/$c"-T*.safetensors >/dev/null 2>&1 || fail "memory: no $c model file"
    done
}

# vanishing: a full profile per cell, the gradient falling with the distance at initialisation for
# every cell, and after training Elman's gone far below the gated cells'
check_vanishing() {
    pycheck vanishing '
import csv, json, math, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
cells = ["elman-tanh", "elman-relu", "lstm", "gru"]
prof = {}
for r in rows:
    prof.setdefault((r["cell"], r["when"]), []).append((int(r["k"]), float(r["state_grad_rms"]), float(r["h_grad_rms"])))
assert sorted(prof) == sorted((c, w) for c in cells for w in ("init", "trained")), "profiles: %s" % sorted(prof)
T = max(k for k, _, _ in prof["lstm", "init"])
for key, p in prof.items():
    assert [k for k, _, _ in p] == list(range(T + 1)), "%s: k is not 0..%d" % (key, T)
    assert all(math.isfinite(g) and g >= 0 and h <= g * (1 + 1e-6) for _, g, h in p), "%s: a bad norm" % (key,)
    if key[1] == "init":
        assert p[T][1] < 1e-3 * p[1][1], "%s: no decay at initialisation (%g -> %g)" % (key, p[1][1], p[T][1])
ratio = {c: prof[c, "trained"][T][1] / prof[c, "trained"][1][1] for c in cells}
assert ratio["elman-tanh"] < 1e-3, "trained Elman keeps %g of its gradient over %d steps" % (ratio["elman-tanh"], T)
assert ratio["lstm"] > 100 * ratio["elman-tanh"] and ratio["gru"] > 100 * ratio["elman-tanh"], "ratios %s" % ratio
j = json.load(open(sys.argv[2]))
assert j["lab"] == "vanishing" and [c["cell"] for c in j["cells"]] == cells, "vanishing.json"
assert all(0 < c["init_rate"] < 1 for c in j["cells"]), "decay rates at initialisation: %s" % [c["init_rate"] for c in j["cells"]]
# the measurement against the loss itself: a central difference along the measured gradient at k = 5
fd = [c[k] for c in j["cells"] for k in ("fd_rel_err_init", "fd_rel_err_trained")]
assert all(0 <= e < 0.02 for e in fd), "finite-difference check of the gradients: %s" % fd
' "$1/vanishing.csv" "$1/vanishing.json"
}

# bidirectional: equal sizes (within 5%), equal budgets, and the bidirectional tagger ahead where
# the tag lies in the future (the synthetic task's first half)
check_bidirectional() {
    pycheck bidirectional '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
syn = [r for r in rows if r["task"] == "synthetic"]
assert [r["model"] for r in syn] == ["left to right", "bidirectional"], "rows: %s" % [r["model"] for r in syn]
u, b = syn
pu, pb = int(u["parameters"]), int(b["parameters"])
assert abs(pu - pb) <= 0.05 * pu, "sizes differ: %d against %d" % (pu, pb)
assert u["steps"] == b["steps"], "the --quick budgets differ"
acc = lambda r, k: float(r[k].rstrip("%"))
assert acc(b, "tag acc") > acc(u, "tag acc") + 20, "bidirectional %s against %s" % (b["tag acc"], u["tag acc"])
assert acc(u, "acc 1st half") < 40 and acc(u, "acc 2nd half") > 80, "left to right by half: %s, %s" % (u["acc 1st half"], u["acc 2nd half"])
' "$1/bidirectional.csv"
    for f in synthetic-train.tsv synthetic-dev.tsv synthetic-uni.safetensors synthetic-bi.safetensors; do
        [ -s "$1/$f" ] || fail "bidirectional: $f missing"
    done
    "$RNNC" tag eval --model "$1/synthetic-bi.safetensors" --data "$1/synthetic-dev.tsv" >"$T/tageval" 2>&1 ||
        fail "bidirectional: rnnc tag eval on the lab's model failed: $(head -2 "$T/tageval")"
}

# ---- the list ----
"$RNNC" lab >"$T/list" || fail "rnnc lab (the list) exited $?"
labs=$(awk '/^  [a-z]/ { print $1 }' "$T/list")
[ -n "$labs" ] || fail "rnnc lab lists no labs"
for want in tokens embeddings vanishing memory params bidirectional stacking teacher-forcing; do
    echo "$labs" | grep -qx "$want" || fail "rnnc lab does not list '$want'"
done
"$RNNC" lab --help >"$T/help" || fail "rnnc lab --help exited $?"
for l in $labs; do
    grep -q "^  $l " "$T/help" || fail "rnnc lab --help does not list $l"
    "$RNNC" lab "$l" --help >"$T/lhelp" || fail "rnnc lab $l --help exited $?"
    grep -q "claim" "$T/lhelp" || fail "rnnc lab $l --help does not state the claim"
done

# ---- every lab, --quick ----
for l in $labs; do
    d=$T/lab-$l
    start=$(date +%s)
    "$RNNC" lab "$l" --quick -o "$d" --threads 1 >"$T/$l.out" 2>"$T/$l.err"
    rc=$?
    secs=$(($(date +%s) - start))
    echo "lab $l --quick: exit $rc, ${secs}s"
    if [ $rc -ne 0 ]; then
        fail "rnnc lab $l --quick exited $rc: $(tail -3 "$T/$l.err")"
        continue
    fi
    head -1 "$T/$l.out" | grep -q "^== rnnc lab $l --quick" || fail "$l: the first line does not name the lab"
    last=$(tail -1 "$T/$l.out")
    case $last in
        "verdict: the seed's claim held. "?*|"verdict: the seed's claim did NOT hold. "?*|"verdict: inconclusive. "?*) ;;
        *) fail "$l: the last line is not the verdict: $last" ;;
    esac
    [ "$(grep -c '^verdict: ' "$T/$l.out")" -eq 1 ] || fail "$l: more than one verdict line"
    grep -q $'\033' "$T/$l.out" && fail "$l: control characters on stdout without a terminal"
    ls "$d"/*.svg >/dev/null 2>&1 || fail "$l: no SVG in $d"
    ls "$d"/*.json >/dev/null 2>&1 || ls "$d"/*.csv >/dev/null 2>&1 || fail "$l: neither JSON nor CSV in $d"
    for f in "$d"/*.svg; do
        [ -e "$f" ] || continue
        grep -q '<svg' "$f" || fail "$l: $f is not an SVG"
        if command -v xmllint >/dev/null; then xmllint --noout "$f" 2>/dev/null || fail "$l: xmllint rejects $f"; fi
    done
    for f in "$d"/*.json; do
        [ -e "$f" ] || continue
        "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || fail "$l: $f is not JSON"
    done
    for f in "$d"/*.csv; do
        [ -e "$f" ] || continue
        "$PY" -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows), "ragged or empty"' "$f" 2>/dev/null ||
            fail "$l: $f is not a rectangular CSV with a header and rows"
    done
    ls "$d" | grep -q '\.tmp' && fail "$l: temp files left in $d: $(ls "$d" | grep '\.tmp')"
    if declare -F "check_$l" >/dev/null; then "check_$l" "$d" "$T/$l.out"; fi
done

# ---- repeatable: --quick budgets are steps, so a second run makes the same numbers (all but the
# times and rates); the labs that were time-budgeted before (CHECKLIST: step budgets repeat) ----
# same_again LAB CSV COLUMN...: runs LAB --quick again and compares those columns of CSV
same_again() {
    local l=$1 f=$2; shift 2
    [ -s "$T/lab-$l/$f" ] || return 0 # its first run failed, and said so
    "$RNNC" lab "$l" --quick -o "$T/again-$l" --threads 1 >/dev/null 2>"$T/again.err" ||
        { fail "rnnc lab $l --quick, run again, exited $?: $(tail -2 "$T/again.err")"; return; }
    "$PY" - "$T/lab-$l/$f" "$T/again-$l/$f" "$@" >"$T/check.out" 2>&1 <<'EOF2' || fail "$l run again: $(tail -1 "$T/check.out")"
import csv, sys
a, b = (list(csv.DictReader(open(f, newline=""))) for f in sys.argv[1:3])
assert len(a) == len(b), f"{len(a)} rows, then {len(b)}"
for ra, rb in zip(a, b):
    for k in sys.argv[3:]:
        assert ra[k] == rb[k], f"{k}: {ra[k]}, then {rb[k]}"
EOF2
}
same_again embeddings embeddings_purity.csv "words in |V|" random "input at step 0" "N(0,1) input" "N(0,1) output" \
    "N(0,0.01) input" "N(0,0.01) output"
same_again stacking stacking_training.csv parameters steps "held-out bits/byte"
same_again tokens tokens_training.csv steps "bits/byte at start" "held-out bits/byte"

# ---- errors ----
expect_error 2 lab nosuchlab
grep -q "params" "$T/err" || fail "an unknown lab does not list the labs"
expect_error 2 lab --quick
expect_error 2 lab params --bogus
expect_error 2 lab params -o
expect_error 2 lab params --quick -o -
expect_error 2 lab params --seed -3
expect_error 2 lab params --seed 1e400
expect_error 2 lab params --threads 0
expect_error 2 lab params --seed --quick
# lab takes -o and --output, with or without '=', as the other commands do, and says "unknown
# option" in their words (it said "unknown argument '--output'")
# lab_usage LINE ARGS...: exit 2, "rnnc lab: LINE", then the hint
lab_usage() {
    local line=$1; shift
    expect_error 2 "$@"
    [ "$(head -1 "$T/err")" = "rnnc lab: $line" ] && [ "$(sed -n 2p "$T/err")" = "(see rnnc lab --help)" ] ||
        fail "rnnc $*: $(cat "$T/err")"
}
lab_usage "unknown option '--bogus'" lab params --bogus
lab_usage "unexpected argument 'extra' (one lab at a time: its name comes first)" lab params extra
lab_usage "--output needs a value" lab params --output
lab_usage "--output needs a directory name" lab params --output=
lab_usage "-o needs a directory name" lab params -o ""
lab_usage "--output -: a lab writes a directory of files, not to stdout; give the directory" lab params --output -
for o in "--output $T/out-a" "--output=$T/out-b" "-o=$T/out-c"; do
    # shellcheck disable=SC2086
    "$RNNC" lab params --quick $o >/dev/null 2>"$T/err" && [ -s "$T/out-${o: -1}/params.csv" ] ||
        fail "lab params $o: $(cat "$T/err")"
done
: >"$T/afile"
expect_error 1 lab params --quick -o "$T/afile"
expect_error 1 lab params --quick -o "$T/afile/sub"
# data that is there but wrong says so, naming the file (and line), never "missing" or a subset's
mkdir -p "$T/bad/cmudict" && : >"$T/bad/sotu.txt"
printf 'abc\n' >"$T/bad/cmudict/train.tsv" && printf 'a b\tA B\n' >"$T/bad/cmudict/dev.tsv"
RNNC_DATA=$T/bad expect_error 1 lab teacher-forcing --quick -o "$T/badtf"
grep -q "bad/cmudict/train.tsv:1: the line has no tab" "$T/err" || fail "teacher-forcing on a malformed train.tsv: $(cat "$T/err")"
RNNC_DATA=$T/bad expect_error 1 lab stacking -o "$T/badst"
grep -q "bad/sotu.txt is empty" "$T/err" || fail "stacking on an empty sotu.txt: $(cat "$T/err")"

echo "cli_lab: $(echo "$labs" | wc -w) labs; $fails failed"
[ "$fails" -eq 0 ]
