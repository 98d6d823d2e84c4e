#!/usr/bin/env bash
# Installs ONNX Runtime for node (npm onnxruntime-node, the version pinned in tools/onnx/package.json
# and package-lock.json) into tools/onnx/node_modules (git-ignored): the ONNX export test
# (tests/test_onnx.c) runs rnnc's exported graphs in it, and bench/onnx_vs_rnnc.sh times it.
# --ignore-scripts: the package's install script only tries to download GPU libraries from outside
# (and fails without a network); the CPU library ships inside the package.
# Idempotent: nothing is done when the pinned version is already there. `make test` runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/tools/onnx
want=$(node -p 'require(process.argv[1]).dependencies["onnxruntime-node"]' "$dir/package.json")
have=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' \
  "$dir/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)
if [ "$have" = "$want" ]; then exit 0; fi
command -v npm >/dev/null || { echo "install-onnxruntime: npm is missing; run scripts/install-deps.sh" >&2; exit 1; }
echo "install-onnxruntime: installing onnxruntime-node $want from npm into $dir/node_modules"
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
node -e 'require(process.argv[1])' "$dir/node_modules/onnxruntime-node" ||
  { echo "install-onnxruntime: onnxruntime-node does not load" >&2; exit 1; }
