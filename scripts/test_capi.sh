#!/usr/bin/env bash
# Builds libopenmed.so (go build -buildmode=c-shared ./capi), checks that
# bindings/openmed.h agrees with the cgo-generated header, builds and runs the
# C test program, then runs the tokenize and tag paths
# under valgrind with --leak-check=full --errors-for-leak-kinds=definite.
#
# usage: scripts/test_capi.sh [SHARED_DIR]   (default ../shared)
# env:   OPENMED_VALGRIND=0 skips the valgrind step; LEAK_ITERS (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${1:-${SHARED:-$ROOT/../shared}}
if [ ! -d "$SHARED/tokenizers" ]; then
  echo "test_capi: $SHARED not found (need ../shared with tokenizers/, data/, fixtures/)" >&2
  exit 1
fi
SHARED=$(cd "$SHARED" && pwd)
BUILD=$ROOT/build
mkdir -p "$BUILD"

echo "== go build -buildmode=c-shared -o build/libopenmed.so ./capi"
# DWARF 4 (GOEXPERIMENT=nodwarf5): Debian bookworm's valgrind 3.19 cannot read
# Go's default DWARF 5 and would print "Serious error when reading debug info".
GOEXPERIMENT=nodwarf5 go build -buildmode=c-shared -o "$BUILD/libopenmed.so" ./capi

echo "== header check + C tests (go test ./bindings ./capi)"
go test -count=1 ./capi ./bindings

echo "== C test program"
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -I bindings \
  -o "$BUILD/test_openmed" bindings/test/test_openmed.c \
  -L "$BUILD" -lopenmed -lpthread -Wl,-rpath,"$BUILD"
"$BUILD/test_openmed" "$SHARED"

if [ "${OPENMED_VALGRIND:-1}" = "0" ]; then
  echo "== valgrind skipped (OPENMED_VALGRIND=0)"
  exit 0
fi
if ! command -v valgrind >/dev/null; then
  echo "test_capi: valgrind not installed (apt-get install valgrind)" >&2
  exit 1
fi
VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite
    --suppressions=bindings/test/go_runtime.supp --error-exitcode=97)
echo "== valgrind: leak check must catch a deliberate leak"
if "${VG[@]}" "$BUILD/test_openmed" "$SHARED" selftest-leak >/dev/null 2>&1; then
  echo "test_capi: valgrind did not report the deliberate leak: the leak check is broken" >&2
  exit 1
fi
MODEL_TMP=$(mktemp -d)
trap 'rm -rf "$MODEL_TMP"' EXIT
echo "== training a tiny model for the tag path (outside valgrind)"
"$BUILD/test_openmed" "$SHARED" make-model "$MODEL_TMP" >/dev/null
echo "== valgrind: tokenize + tag path, ${LEAK_ITERS:-200} iterations"
"${VG[@]}" "$BUILD/test_openmed" "$SHARED" leak "${LEAK_ITERS:-200}" "$MODEL_TMP/ner"
echo "test_capi: OK"
