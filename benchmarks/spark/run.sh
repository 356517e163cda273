#!/usr/bin/env bash
# benchmarks/spark: openmed.spark on local[1], local[2] and a 2-worker
# standalone cluster against in-process tagging (run.py's docstring).
# usage: benchmarks/spark/run.sh [--docs N] [--only inprocess,local1,local2,standalone]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=$(bash scripts/peers_env.sh)
mkdir -p build
go build -buildmode=c-shared -o build/libopenmed.so ./capi
PYTHONPATH=$PWD/python OMP_NUM_THREADS=1 "$PY" benchmarks/spark/run.py "$@"
