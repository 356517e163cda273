#!/usr/bin/env bash
# Executes notebooks/reproduce.ipynb with Debian's jupyter nbconvert (the
# ipykernel of /usr/bin/python3) so the notebook cannot rot. The executed copy
# goes to a temporary folder; the committed notebook is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  if [ "${CI:-}" = "true" ]; then echo "test_notebook: ../shared is missing" >&2; exit 1; fi
  echo "test_notebook: skipped: ../shared not found beside the repository"; exit 0
fi
go build -buildmode=c-shared -o build/libopenmed.so ./capi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" OPENMED_LIB="$PWD/build/libopenmed.so" \
  jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1800 \
  --output-dir "$out" notebooks/reproduce.ipynb
echo "test_notebook: notebooks/reproduce.ipynb executed without errors"
