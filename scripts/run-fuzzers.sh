#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang and runs each for a bounded time.
#
#   scripts/run-fuzzers.sh [SECONDS [TARGET...]]      (make fuzz FUZZ_SECONDS=N runs them all)
#
# Each target fuzz/fuzz_NAME.c runs for SECONDS (default 20) on its own corpus (build-fuzz/
# corpus-NAME, kept between runs) plus the committed seeds (fuzz/seeds/NAME/) and crash inputs
# (fuzz/regress/NAME/), with its dictionary (fuzz/NAME.dict) and its max_len from fuzz/NAME.options
# (4096 when absent). A crash, leak, undefined behaviour, timeout or out-of-memory makes the script fail (after the
# other targets have run) and names the input libFuzzer saved; copy that input to
# fuzz/regress/NAME/ (under a descriptive name) so that `make test` replays it from then on.
# FUZZ_BUILD names the build directory (default build-fuzz).
set -euo pipefail
secs=${1:-20}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bdir=${FUZZ_BUILD:-build-fuzz}
ls fuzz/fuzz_*.c >/dev/null 2>&1 || { echo "run-fuzzers: no fuzz targets"; exit 0; }
CC=clang cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Debug -DRNNC_FUZZ=ON -DRNNC_NATIVE=OFF >/dev/null
cmake --build "$bdir" -j"$(nproc)" >/dev/null

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
fi

failed=()
start=$SECONDS
for name in "${targets[@]}"; do
  name=fuzz_${name#fuzz_}
  [ -x "$bdir/$name" ] || { echo "run-fuzzers: no target $name"; failed+=("$name"); continue; }
  corpus="$bdir/corpus-$name"
  crashes="$bdir/crashes/$name"
  log="$bdir/fuzz-$name.log"
  mkdir -p "$corpus" "$crashes"
  max_len=$(sed -n 's/^max_len *= *\([0-9]*\).*/\1/p' "fuzz/$name.options" 2>/dev/null || true)
  args=(-max_total_time="$secs" -max_len="${max_len:-4096}" -timeout=30 -print_final_stats=1
        -artifact_prefix="$crashes/")
  [ -f "fuzz/$name.dict" ] && args+=(-dict="fuzz/$name.dict")
  dirs=("$corpus")
  for d in "fuzz/seeds/$name" "fuzz/regress/$name"; do [ -d "$d" ] && dirs+=("$d"); done
  echo "run-fuzzers: $name for ${secs}s (max_len ${max_len:-4096})"
  rc=0
  # The library is built with recoverable UBSan checks: halt on the first report so it counts.
  OMP_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "./$bdir/$name" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "run-fuzzers: $name: ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files"
  if [ "$rc" -ne 0 ]; then
    failed+=("$name")
    echo "run-fuzzers: $name FAILED (exit $rc); the end of its log ($log):"
    grep -v '^#[0-9]' "$log" | tail -40 | sed 's/^/    /'
    found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
    if [ -n "$found" ]; then
      for f in $found; do
        echo "run-fuzzers: the input is $f"
        echo "run-fuzzers:   reproduce: ./$bdir/$name $f"
        echo "run-fuzzers:   keep it:   mkdir -p fuzz/regress/$name && cp $f fuzz/regress/$name/<what-it-hits>"
      done
    else
      echo "run-fuzzers: no input was saved under $crashes (see the log)"
    fi
  fi
done
echo "run-fuzzers: ${#targets[@]} targets in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-fuzzers: FAILED: ${failed[*]}; copy each input named above to fuzz/regress/<target>/ (make test replays it) and fix the library"
  exit 1
fi
echo "run-fuzzers: all targets ran ${secs}s without a crash"
