#!/usr/bin/env bash
# rnnc plot: two runs in one well-formed SVG with their legend names; bad input gives one error line.
set -u
RNNC=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error CODE ARGS...: exit status CODE and, for runtime errors, exactly one "rnnc: " line
expect_error() {
    local code=$1; shift
    "$RNNC" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    [ "$rc" -eq "$code" ] || fail "rnnc $* exited $rc, expected $code"
    if [ "$code" -eq 1 ]; then
        [ "$(wc -l <"$T/err")" -eq 1 ] || fail "rnnc $*: expected one error line, got: $(cat "$T/err")"
        grep -q '^rnnc: ' "$T/err" || fail "rnnc $*: error line does not start with 'rnnc: '"
    fi
    [ -s "$T/out" ] && fail "rnnc $*: wrote to stdout on error"
}

mkdir -p "$T/run_a" "$T/run_b"
for s in 1 2 3 4 5 6; do
    echo "{\"step\":$s,\"tokens\":$((s * 4096)),\"train_loss\":$(awk "BEGIN{print 4 - $s * 0.3}")}" >>"$T/run_a/metrics.jsonl"
    echo "{\"step\":$s,\"tokens\":$((s * 4096)),\"train_loss\":$(awk "BEGIN{print 4.2 - $s * 0.25}")}" >>"$T/run_b/metrics.jsonl"
done
echo '{"step":6,"tokens":24576,"val_loss":2.5,"val_bpb":3.6}' >>"$T/run_a/metrics.jsonl"
printf '{"step":7,"tok' >>"$T/run_b/metrics.jsonl" # torn tail, as after a crash

"$RNNC" plot "$T/run_a" "$T/run_b/metrics.jsonl" --labels 'rnnc,PyTorch <1.13>' --title 'A & B' -o "$T/loss.svg" \
    || fail "plot of two runs failed"
[ -s "$T/loss.svg" ] || fail "no SVG written"
if command -v xmllint >/dev/null; then
    xmllint --noout "$T/loss.svg" || fail "xmllint rejects the SVG"
fi
grep -q '>rnnc training<' "$T/loss.svg" || fail "legend lacks 'rnnc training'"
grep -q '>rnnc validation<' "$T/loss.svg" || fail "legend lacks 'rnnc validation'"
grep -q '>PyTorch &lt;1.13&gt; training<' "$T/loss.svg" || fail "legend lacks the escaped PyTorch label"
grep -q '>A &amp; B<' "$T/loss.svg" || fail "title missing or unescaped"
ls "$T" | grep -q '\.tmp\.' && fail "temp file left behind"

# default labels are the run directory names; --x step, --log-x, --metric bpb
"$RNNC" plot "$T/run_a" "$T/run_b" --x step --log-x -o "$T/steps.svg" || fail "plot --x step --log-x failed"
grep -q '>run_a training<' "$T/steps.svg" || fail "default label is not the directory name"
grep -q '>optimizer steps<' "$T/steps.svg" || fail "--x step does not label the axis"
# --x time: minutes from each row's elapsed seconds; a log without elapsed times is an error
mkdir -p "$T/run_t"
for s in 1 2 3; do echo "{\"step\":$s,\"train_loss\":$((4 - s)),\"elapsed\":$((s * 90))}" >>"$T/run_t/metrics.jsonl"; done
"$RNNC" plot "$T/run_t" --x time -o "$T/time.svg" || fail "plot --x time failed"
grep -q '>minutes of training<' "$T/time.svg" || fail "--x time does not label the axis"
grep -q '>4\.5<' "$T/time.svg" || fail "--x time: 270 s is not at 4.5 minutes"
"$RNNC" plot "$T/run_a" --x time -o "$T/notime.svg" 2>"$T/err" && fail "--x time without elapsed times succeeded"
grep -q "elapsed time" "$T/err" || fail "--x time without elapsed times: no clear error"
"$RNNC" plot "$T/run_a" --metric bpb -o "$T/bpb.svg" || fail "plot --metric bpb failed"
grep -q '>validation bits per byte<' "$T/bpb.svg" || fail "--metric bpb does not label the axis"
# any validation figure of the tasks: classify's accuracy, forecast's MAE
for s in 1 2 3; do echo "{\"step\":$s,\"tokens\":$s,\"val_loss\":1,\"val_acc\":0.$((s + 5)),\"val_mae\":$((20 - s))}" >>"$T/run_c/metrics.jsonl" 2>/dev/null ||
  { mkdir -p "$T/run_c"; echo "{\"step\":$s,\"tokens\":$s,\"val_loss\":1,\"val_acc\":0.$((s + 5)),\"val_mae\":$((20 - s))}" >>"$T/run_c/metrics.jsonl"; }; done
"$RNNC" plot "$T/run_c" --metric acc -o "$T/acc.svg" || fail "plot --metric acc failed"
grep -q '>validation accuracy<' "$T/acc.svg" || fail "--metric acc does not label the axis"
"$RNNC" plot "$T/run_c" --metric mae -o "$T/mae.svg" || fail "plot --metric mae failed"
expect_error 2 plot "$T/run_c" --metric loss_rate -o "$T/x.svg"
expect_error 1 plot "$T/run_c" --metric span_f1 -o "$T/x.svg"
# the log read must not be the picture written over it (by its directory, or as ./ another spelling)
cp "$T/run_c/metrics.jsonl" "$T/log.bak"
expect_error 2 plot "$T/run_c" -o "$T/run_c/metrics.jsonl"
grep -q "which this command reads" "$T/err" || fail "plot -o LOG: $(cat "$T/err")"
expect_error 2 plot "$T/run_c/metrics.jsonl" -o "$T/run_c/./metrics.jsonl"
cmp -s "$T/run_c/metrics.jsonl" "$T/log.bak" || fail "plot -o LOG changed the log"
# the training's gradient norm: one solid curve, its own axis label; a log without it is an error
mkdir -p "$T/run_g"
for s in 1 2 3; do echo "{\"step\":$s,\"tokens\":$((s * 100)),\"train_loss\":2,\"grad_norm\":$((4 - s)).5,\"clip_share\":0}" >>"$T/run_g/metrics.jsonl"; done
"$RNNC" plot "$T/run_g" --metric grad_norm -o "$T/gn.svg" || fail "plot --metric grad_norm failed"
grep -q '>gradient norm before clipping (mean per report)<' "$T/gn.svg" || fail "--metric grad_norm does not label the axis"
grep -q '>Gradient norm before clipping (mean per report)<' "$T/gn.svg" || fail "--metric grad_norm: the default title does not name it"
grep -q '>Validation bits per byte<' "$T/bpb.svg" || fail "--metric bpb: the default title does not name it"
grep -q '>validation<' "$T/gn.svg" && fail "--metric grad_norm drew a validation curve"
expect_error 1 plot "$T/run_c" --metric grad_norm -o "$T/x.svg"

# the axes follow the run's task: from the checkpoint beside the log (a real forecast run, MSE), or
# from the log's validation figures when there is none (classify: loss per item); a language
# model's (run_a: bpb) per token; runs of different tasks get labels true of both
awk 'BEGIN { print "y"; for (i = 0; i < 60; i++) print 10 + i % 7 }' >"$T/series.csv"
"$RNNC" forecast train --data "$T/series.csv" --target y --context 7 --hidden 4 --steps 2 --threads 1 -o "$T/run_fc" \
    >/dev/null 2>&1 || fail "training the forecaster to plot"
"$RNNC" plot "$T/run_fc" -o "$T/fc.svg" || fail "plot of a forecast run failed"
grep -q '>rows read<' "$T/fc.svg" || fail "a forecast run's x axis is not the rows read"
grep -q '>loss (MSE on the normalised values)<' "$T/fc.svg" || fail "a forecast run's loss axis: $(grep -o '>loss[^<]*<' "$T/fc.svg")"
"$RNNC" plot "$T/run_fc/metrics.jsonl" -o "$T/fc2.svg" && grep -q '>rows read<' "$T/fc2.svg" || fail "plot of a forecast run's log"
mkdir -p "$T/run_cls"
for s in 1 2 3; do echo "{\"step\":$s,\"tokens\":$((s * 50)),\"train_loss\":0.$((7 - s)),\"val_loss\":0.6,\"val_acc\":0.$((s + 5))}" >>"$T/run_cls/metrics.jsonl"; done
"$RNNC" plot "$T/run_cls" -o "$T/cls.svg" || fail "plot of a classify log failed"
grep -q '>loss (nats per item)<' "$T/cls.svg" && grep -q '>tokens seen<' "$T/cls.svg" || fail "a classify log's axes: $(grep -o '>[a-z ]*\(loss\|seen\|read\)[^<]*<' "$T/cls.svg")"
grep -q '>loss (nats per token)<' "$T/loss.svg" || fail "a language model's loss axis is not per token"
"$RNNC" plot "$T/run_fc" "$T/run_cls" -o "$T/mix.svg" || fail "plot of a forecast and a classify run"
grep -q '>loss<' "$T/mix.svg" && grep -q '>tokens seen (rows read, forecast)<' "$T/mix.svg" || fail "mixed tasks' axes"

# bad input: one error line, nothing written
expect_error 1 plot "$T/missing_run" -o "$T/x.svg"
mkdir -p "$T/empty_run" && : >"$T/empty_run/metrics.jsonl"
expect_error 1 plot "$T/empty_run" -o "$T/x.svg"
mkdir -p "$T/not_a_run"
expect_error 1 plot "$T/not_a_run" -o "$T/x.svg"
echo '{"step":1,"lr":0.001}' >"$T/no_loss.jsonl"
expect_error 1 plot "$T/no_loss.jsonl" -o "$T/x.svg"
expect_error 1 plot "$T/run_b" --metric bpb -o "$T/x.svg"
expect_error 1 plot "$T/run_a" -o "$T/no/such/dir/x.svg"
[ -e "$T/x.svg" ] && fail "an SVG was written despite the error"
expect_error 2 plot "$T/run_a"
expect_error 2 plot -o "$T/x.svg"
expect_error 2 plot "$T/run_a" "$T/run_b" --labels only_one -o "$T/x.svg"
expect_error 2 plot "$T/run_a" --labels a,b -o "$T/x.svg"
expect_error 2 plot "$T/run_a" --x epochs -o "$T/x.svg"
expect_error 2 plot "$T/run_a" --bogus -o "$T/x.svg"
"$RNNC" plot --help | grep -q 'usage: rnnc plot' || fail "--help"
# a flag whose value is missing names the flag (and is not taken as the output file)
expect_error 2 plot "$T/run_a" -o --labels a
grep -q -- "^rnnc plot: -o needs a value (got the flag --labels)" "$T/err" || fail "-o --labels: $(cat "$T/err")"
[ -e "--labels" ] && fail "-o --labels wrote a file named --labels"
expect_error 2 plot "$T/run_a" --title --log-x -o "$T/x.svg"
grep -q -- "--title needs a value (got the flag --log-x)" "$T/err" || fail "--title --log-x: $(cat "$T/err")"
# an empty --title or --labels is refused, naming it (it drew a blank title's room, or an unnamed run)
for f in --title= --labels= -o= --x= --metric=; do
    expect_error 2 plot "$T/run_a" -o "$T/empty.svg" "$f"
    want=${f%=}
    [ "$(head -1 "$T/err")" = "rnnc plot: $want needs a $([ "$want" = -o ] && echo "file name" || echo value)" ] &&
        [ "$(sed -n 2p "$T/err")" = "(see rnnc plot --help)" ] || fail "plot $f: $(cat "$T/err")"
done
[ -e "$T/empty.svg" ] && fail "an empty flag value drew the plot"
# --name=VALUE takes the value as it is, even one that starts with a dash
"$RNNC" plot "$T/run_a" --title=--dashes-- -o "$T/dash.svg" && grep -q -- '--dashes--' "$T/dash.svg" || fail "--title=--dashes--"
# usage errors point at plot's help
expect_error 2 plot "$T/run_a" --bogus -o "$T/x.svg"
[ "$(tail -1 "$T/err")" = "(see rnnc plot --help)" ] || fail "usage error hint: $(cat "$T/err")"

# a file that is not a log is named for what it is; a log of torn lines only is a log without rows
printf 'hello\nworld\n' >"$T/notes.txt"
expect_error 1 plot "$T/notes.txt" -o "$T/x.svg"
grep -q "notes.txt: this is a text file, not a metrics log" "$T/err" || fail "text file as a log: $(cat "$T/err")"
printf 'a\tb\n' >"$T/pairs.tsv"
expect_error 1 plot "$T/pairs.tsv" -o "$T/x.svg"
grep -q "this is a TSV file, not a metrics log" "$T/err" || fail "TSV file as a log: $(cat "$T/err")"
mkdir -p "$T/torn_run" && printf '{"step":1,"tra' >"$T/torn_run/metrics.jsonl"
expect_error 1 plot "$T/torn_run" -o "$T/x.svg"
grep -q "no metrics in the log yet (1 line that is not a JSON object" "$T/err" || fail "torn log: $(cat "$T/err")"
[ -e "$T/x.svg" ] && fail "an SVG was written despite the error"

# a log with nothing plottable is an error, not an empty chart: NaN is not JSON, 1e400 is not finite;
# --log-x cannot place a token count of 0
printf '{"step":1,"tokens":10,"train_loss":NaN}\n{"step":2,"tokens":20,"train_loss":1e400}\n' >"$T/nan.jsonl"
expect_error 1 plot "$T/nan.jsonl" -o "$T/x.svg"
grep -q "no finite train_loss or val_loss values.*skipped 1 line that is not a JSON object, the first at $T/nan.jsonl:1" "$T/err" ||
    fail "log of NaN and 1e400: $(cat "$T/err")"
printf '{"step":1,"tokens":0,"train_loss":2}\n{"step":2,"tokens":0,"train_loss":3}\n' >"$T/zero.jsonl"
expect_error 1 plot "$T/zero.jsonl" --log-x -o "$T/x.svg"
grep -q "above 0 (--log-x cannot place 0)" "$T/err" || fail "--log-x with all tokens 0: $(cat "$T/err")"
[ -e "$T/x.svg" ] && fail "an SVG was written despite the error"
# a line that is not JSON before the last is skipped with a warning naming file:line (a torn last
# line, as in run_b above, is skipped quietly); success ends with the "wrote" line
printf '{"step":1,"tokens":10,"train_loss":2}\ngarbage line\n{"step":3,"tokens":30,"train_loss":1}\n' >"$T/mid.jsonl"
"$RNNC" plot "$T/mid.jsonl" -o "$T/mid.svg" 2>"$T/err" || fail "plot of a log with a bad middle line: $(cat "$T/err")"
grep -q "^rnnc plot: warning: $T/mid.jsonl:2: not a JSON object, skipped (1 such line" "$T/err" || fail "bad middle line: $(cat "$T/err")"
grep -q "^wrote $T/mid.svg: 1 run, 2 points$" "$T/err" || fail "no 'wrote' line: $(cat "$T/err")"
"$RNNC" plot "$T/run_b" -o "$T/b.svg" 2>"$T/err" && [ "$(cat "$T/err")" = "wrote $T/b.svg: 1 run, 6 points" ] ||
    fail "a torn last line should pass quietly: $(cat "$T/err")"

# a legend name wider than the plot loses its middle, and the legend stays inside the picture
long="run-$(printf 'x%.0s' $(seq 1 200))-lr0.003"
mkdir -p "$T/$long" && cp "$T/run_a/metrics.jsonl" "$T/$long/"
for w in 900 300; do
    "$RNNC" plot "$T/$long" "$T/run_b" --width $w -o "$T/long$w.svg" || fail "plot of a long run name, width $w"
    grep -q "$long" "$T/long$w.svg" && fail "width $w: the long name is drawn whole"
    grep -q "…" "$T/long$w.svg" || fail "width $w: no ellipsis in the cut name"
    box=$(grep -o '<rect x="[-0-9.]*" y="[-0-9.]*" width="[0-9.]*"[^>]*rx="4"' "$T/long$w.svg" |
          sed 's/.*x="\([-0-9.]*\)".*width="\([0-9.]*\)".*/\1 \2/')
    awk -v b="$box" -v w="$w" 'BEGIN{split(b, a, " "); exit !(b != "" && a[1] >= 0 && a[1] + a[2] <= w)}' ||
        fail "width $w: the legend box (x, width) is '$box'"
done
grep -q '>run-xxx[x]*…x*-lr0.003 training<' "$T/long900.svg" || fail "the cut name does not keep both ends"

[ "$fails" -eq 0 ] && echo "cli_plot: all passed"
exit "$fails"
