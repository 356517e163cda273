#!/usr/bin/env bash
# Builds build/libopenmed.so and runs the Python test suite with the venv's
# pytest (.venv, made by make setup from requirements/test.txt;
# PYTHONPATH=python: the development layout).
# With --installed, installs the package into a venv (scripts/install_python.sh)
# and runs the suite against the installed copy instead.
#
# usage: scripts/test_python.sh [--installed] [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--installed" ]; then
  shift
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  VENV=$TMP/venv
  scripts/install_python.sh "$VENV"
  rm -rf build/lib.* build/bdist.*  # setuptools' in-tree build folders
  # run from a folder where python/ is not importable, so the installed package is used
  REPO=$PWD
  mkdir -p "$TMP/run" && cd "$TMP/run"
  OPENMED_TEST_INSTALLED=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$REPO/python/tests" "$@"
  exit $?
fi
if [ ! -x .venv/bin/python ]; then
  echo "test_python: .venv is missing: run make setup (or scripts/install_python.sh)" >&2
  exit 1
fi
mkdir -p build
go build -buildmode=c-shared -o build/libopenmed.so ./capi
PYTHONPATH=python .venv/bin/python -m pytest -q -p no:cacheprovider python/tests "$@"
