#!/usr/bin/env bash
# Runs every benchmark driver in bench/ (each compares rnnc with its peer in the same run and
# prints ratios). Results and the commands that made them are kept in docs/PERFORMANCE.md.
# Usage: bench/run.sh [NAME...]   (NAME: a driver's file name without extension)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake --build build -j"$(nproc)" --target all >/dev/null
status=0
for drv in bench/*.sh bench/*.py; do
  [ -e "$drv" ] || continue
  name=$(basename "${drv%.*}")
  [ "$name" = run ] && continue
  case "$(basename "$drv")" in _*|*_lib.*) continue ;; esac
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  echo "== $name"
  case "$drv" in
    *.sh) bash "$drv" || status=1 ;;
    *.py) /usr/bin/python3 "$drv" || status=1 ;;
  esac
done
exit $status
