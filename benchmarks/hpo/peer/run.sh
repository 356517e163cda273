#!/usr/bin/env bash
# openmed's TPE (training/hpo) against Optuna's TPESampler from PyPI
# (scripts/peers_env.sh) on hpo.BenchmarkProblems: univariate and
# multivariate, plus random search; prints the Markdown table.
#
# usage: benchmarks/hpo/peer/run.sh [TRIALS (100)] [SEEDS (30)] [OUT_DIR (/tmp/hpo-peer)]
set -euo pipefail
cd "$(dirname "$0")/../../.."
trials=${1:-100}; seeds=${2:-30}; out=${3:-/tmp/hpo-peer}
mkdir -p "$out"
PY=$(bash scripts/peers_env.sh)
go build -o "$out/peer" ./benchmarks/hpo/peer
"$out/peer" run -trials "$trials" -seeds "$seeds" > "$out/openmed.jsonl"
"$PY" benchmarks/hpo/peer/optuna_peer.py "$out/peer" --trials "$trials" --seeds "$seeds" > "$out/optuna.jsonl"
"$PY" -c 'import optuna; print("optuna", optuna.__version__)' >&2
"$PY" benchmarks/hpo/peer/table.py "$out/openmed.jsonl" "$out/optuna.jsonl"
