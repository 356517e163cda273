#!/usr/bin/env bash
# Installs every system package openmed needs, idempotently.
# Debian bookworm: OpenBLAS for the training engine (cgo), the Python test stack
# (pytest, numpy) and the PyTorch peer used by parity tests and benchmarks.
set -euo pipefail

APT_PACKAGES=(
  build-essential pkg-config libopenblas-dev
  python3 python3-venv python3-pip python3-pytest python3-numpy python3-torch
  python3-onnx
)

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
