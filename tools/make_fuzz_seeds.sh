#!/usr/bin/env bash
# Remakes the generated fuzz seeds (tiny model files, tokenizer JSON, rank files with sidecars,
# prefixed text inputs) under fuzz/seeds/<target>/ with tools/make_fuzz_seeds.c, built against
# the library in its own build directory (build-seeds, or $1). Hand-written seeds in the same
# folders are left as they are; generated ones are overwritten with identical bytes when nothing
# in the formats changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bdir=${1:-build-seeds}
cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DRNNC_NATIVE=OFF >/dev/null
cmake --build "$bdir" --target make_fuzz_seeds -j"$(nproc)" >/dev/null
OMP_NUM_THREADS=1 "$bdir/make_fuzz_seeds" fuzz/seeds
