#!/usr/bin/env bash
# Runs tests/interop (issue 20) on the pinned Hugging Face stack from PyPI
# (scripts/peers_env.sh: torch, transformers, PEFT, seqeval, ONNX Runtime, PySpark):
# adapters crossing between openmed and PEFT, `openmed eval` against seqeval,
# openmed's ONNX export in PyPI onnxruntime.
#
# usage: scripts/test_interop.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/peers_env.sh)
"$PY" -m pip install -q --disable-pip-version-check --require-hashes -r requirements/test.txt
# openmed.spark runs this checkout's package: python/ with build/libopenmed.so
mkdir -p build
go build -buildmode=c-shared -o build/libopenmed.so ./capi
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
# one thread per torch/ORT: the suite compares numbers, and CI shares 2 cores
OMP_NUM_THREADS=1 "$PY" -m pytest -q -p no:cacheprovider tests/interop "$@"
