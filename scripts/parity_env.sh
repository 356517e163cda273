#!/usr/bin/env bash
# Makes the venv of the reference stacks (TensorFlow, PyTorch, transformers,
# ONNX, ONNX Runtime from PyPI, requirements/parity.txt) that the encoder
# importers' parity script and the fixture generators run on. Idempotent;
# prints the venv's python path last.
#
# usage: scripts/parity_env.sh   (env: OPENMED_CACHE, default ~/.cache/openmed)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${OPENMED_CACHE:-$HOME/.cache/openmed}/venv-parity
if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -r requirements/parity.txt >&2
echo "$VENV/bin/python"
