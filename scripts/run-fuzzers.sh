#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang and runs each for a bounded time.
set -euo pipefail
secs=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ls fuzz/fuzz_*.c >/dev/null 2>&1 || { echo "run-fuzzers: no fuzz targets"; exit 0; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRNNC_FUZZ=ON -DRNNC_NATIVE=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  corpus="build-fuzz/corpus-$name"
  mkdir -p "$corpus"
  [ -d "fuzz/seeds/$name" ] && cp -n fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null || true
  echo "run-fuzzers: $name for ${secs}s"
  ./build-fuzz/"$name" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 "$corpus" 2>&1 | tail -2
done
echo "run-fuzzers: all targets ran ${secs}s without a crash"
