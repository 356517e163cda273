#!/usr/bin/env bash
# Installs every system package openmed needs, idempotently.
# Debian bookworm: OpenBLAS for the training engine (cgo), the Python test stack
# (numpy, setuptools/wheel for the offline package build, nbconvert for the
# notebook; pytest comes pinned from PyPI into .venv), valgrind and gcc's
# LeakSanitizer runtime for the C ABI leak checks, the PyTorch peer used by
# parity tests and benchmarks, ONNX (checker), ONNX Runtime (from npm) and
# transformers.js (tests/js).
set -euo pipefail

APT_PACKAGES=(
  build-essential pkg-config libopenblas-dev libdnnl-dev
  python3 python3-venv python3-pip python3-numpy python3-torch
  python3-onnx python3-setuptools python3-wheel valgrind liblsan0
  jupyter-nbconvert python3-nbconvert python3-ipykernel python3-matplotlib
)
# Node.js + npm (ONNX Runtime comes from npm; transformers.js and HF's Rust
# tokenizers are the cross-checks). Machines that already ship a Node.js with
# npm (e.g. NodeSource's) keep it; otherwise Debian's packages.
if ! command -v npm >/dev/null 2>&1; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages present"
fi

# Go modules (offline afterwards).
cd "$(dirname "$0")/.."
go mod download

# ONNX Runtime 1.30.0 (CPU) for the inference backend, from npm onnxruntime-node.
bash scripts/fetch_onnxruntime.sh

# transformers.js (tests/js) for the cross-language check of the ONNX export.
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's post-install only fetches CUDA parts.
if [ ! -d tests/js/node_modules/@huggingface/transformers ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix tests/js --no-audit --no-fund
fi
