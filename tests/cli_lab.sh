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

# ---- the list ----
"$RNNC" lab >"$T/list" || fail "rnnc lab (the list) exited $?"
labs=$(awk '/^  [a-z]/ { print $1 }' "$T/list")
[ -n "$labs" ] || fail "rnnc lab lists no labs"
for want in params; do
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
    "$RNNC" lab "$l" --quick -o "$d" --threads 2 >"$T/$l.out" 2>"$T/$l.err"
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
        "verdict: the seed's claim held. "?*|"verdict: the seed's claim did NOT hold. "?*) ;;
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

# ---- errors ----
expect_error 2 lab nosuchlab
grep -q "params" "$T/err" || fail "an unknown lab does not list the labs"
expect_error 2 lab --quick
expect_error 2 lab params --bogus
expect_error 2 lab params -o
expect_error 2 lab params --seed -3
expect_error 2 lab params --seed 1e400
expect_error 2 lab params --threads 0
expect_error 2 lab params --seed --quick
: >"$T/afile"
expect_error 1 lab params --quick -o "$T/afile"
expect_error 1 lab params --quick -o "$T/afile/sub"

echo "cli_lab: $(echo "$labs" | wc -w) labs; $fails failed"
[ "$fails" -eq 0 ]
