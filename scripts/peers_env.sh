#!/usr/bin/env bash
# Makes the venv of the Hugging Face stack from PyPI (requirements/peers.txt:
# torch 2.x, transformers, PEFT, tokenizers, ONNX Runtime, optuna, pyarrow,
# pandas; then seqeval and PySpark from requirements/peers-sdist.txt) that tests/interop and the
# benchmarks' peers run on. Idempotent and quick when nothing changed: the
# venv records the sha256 of both requirement files it was built from.
# Prints the venv's python path last (stdout); progress goes to stderr.
#
# usage: scripts/peers_env.sh   (env: OPENMED_CACHE, default ~/.cache/openmed)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${OPENMED_CACHE:-$HOME/.cache/openmed}/venv-peers
stamp="$VENV/.openmed-requirements"
want=$(cat requirements/peers.txt requirements/peers-sdist.txt | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "peers_env: $VENV up to date" >&2
  echo "$VENV/bin/python"; exit 0
fi
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv "$VENV"
fi
echo "peers_env: installing the pinned PyPI stack into $VENV (torch with its CUDA runtime wheels: ~4 GB)" >&2
"$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes -r requirements/peers.txt >&2
"$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes --no-build-isolation -r requirements/peers-sdist.txt >&2
"$VENV/bin/python" -c 'import torch, transformers, peft, seqeval, optuna, onnxruntime, onnx, tokenizers, pyspark, pyarrow, pandas' >&2
echo "$want" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
echo "peers_env: done in $(( $(date +%s) - start )) s" >&2
echo "$VENV/bin/python"
