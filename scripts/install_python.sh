#!/usr/bin/env bash
# Installs the openmed Python package into a venv (default .venv): Debian's
# /usr/bin/python3 with system site-packages (setuptools, wheel from apt), the
# pinned test stack from PyPI (requirements/test.txt, hash-checked; skipped
# when already satisfied), then the package itself offline (no index, no build
# isolation). The build step compiles libopenmed.so with Go (setup.py) and
# puts it inside the package.
#
# usage: scripts/install_python.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/pip" install -q --require-hashes -r requirements/test.txt
"$VENV/bin/pip" install --no-build-isolation --no-index --no-deps .
rm -rf python/openmed.egg-info
"$VENV/bin/python" -c 'import openmed; print("installed openmed", openmed.__version__, "lib", openmed.version(), "at", openmed.library_path())'
