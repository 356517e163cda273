#!/usr/bin/env bash
# Builds libopenmed.so (go build -buildmode=c-shared ./capi), checks that
# bindings/openmed.h agrees with the cgo-generated header, builds and runs the
# C test program, then checks the tokenize and tag paths for leaks with two
# checkers that can both fail:
#   1. leak checkers: LeakSanitizer (the C test built with gcc's
#      -fsanitize=leak) on every CPU, and valgrind memcheck (--leak-check=full)
#      where valgrind can run a Go c-shared program on this CPU: a probe runs
#      valgrind on a program that leaks on purpose and uses valgrind only when
#      it reports that leak (valgrind 3.19 dies with SIGILL on some CPUs);
#   2. bounded RSS growth over RSS_ITERS calls (runs on every CPU; it also sees
#      memory the Go runtime holds, which neither leak checker does).
# Each checker first runs on a deliberate leak of library-allocated results and
# must report it, so a checker that cannot fail cannot pass.
#
# usage: scripts/test_capi.sh [SHARED_DIR]   (default ../shared)
# env:   OPENMED_LEAK_CHECKER=auto|valgrind|lsan (default auto: LeakSanitizer,
#        plus valgrind where the probe says it runs); LEAK_ITERS (default 200); RSS_ITERS (default 30000);
#        RSS_MAX_BYTES per iteration (default 300).
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

MODEL_TMP=$(mktemp -d)
trap 'rm -rf "$MODEL_TMP"' EXIT
echo "== training a tiny model for the tag path"
"$BUILD/test_openmed" "$SHARED" make-model "$MODEL_TMP" >/dev/null
MODEL=$MODEL_TMP/ner

# --- checker 1: LeakSanitizer always, valgrind where it runs here -----------
VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite
    --suppressions=bindings/test/go_runtime.supp --error-exitcode=97)

run_valgrind() {
  echo "== leak checker: valgrind $(valgrind --version 2>/dev/null | sed 's/valgrind-//')"
  # The probe already saw valgrind report the deliberate malloc leak. Results
  # a caller forgets to free are not "definitely lost" to valgrind: the
  # library's live-buffer registry, in the Go heap that valgrind scans, still
  # points at them; LeakSanitizer and the RSS check do catch those.
  echo "== valgrind: tokenize + tag path, ${LEAK_ITERS:-200} iterations"
  "${VG[@]}" "$BUILD/test_openmed" "$SHARED" leak "${LEAK_ITERS:-200}" "$MODEL"
}

run_lsan() {
  echo "== leak checker: LeakSanitizer (gcc $(gcc -dumpversion) -fsanitize=leak)"
  gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fsanitize=leak -fno-omit-frame-pointer -I bindings \
    -o "$BUILD/test_openmed_lsan" bindings/test/test_openmed.c \
    -L "$BUILD" -lopenmed -lpthread -Wl,-rpath,"$BUILD"
  echo "== LeakSanitizer: a deliberate leak must be reported (one malloc; library results left unfreed)"
  local mode rc
  for mode in "selftest-leak" "leak-nofree 3 $MODEL"; do
    set +e
    # shellcheck disable=SC2086
    LSAN_OPTIONS=exitcode=97 "$BUILD/test_openmed_lsan" "$SHARED" $mode >/dev/null 2>&1
    rc=$?
    set -e
    if [ $rc -ne 97 ]; then
      echo "test_capi: LeakSanitizer did not report the deliberate leak ($mode, exit $rc): the leak check is broken" >&2
      exit 1
    fi
  done
  echo "== LeakSanitizer: tokenize + tag path, ${LEAK_ITERS:-200} iterations"
  LSAN_OPTIONS=exitcode=97 "$BUILD/test_openmed_lsan" "$SHARED" leak "${LEAK_ITERS:-200}" "$MODEL"
}

# valgrind_runs: the probe. valgrind must get through the Go runtime's
# start-up (some valgrind versions die with SIGILL on instructions of newer
# CPUs) and report the deliberate one-malloc leak with its error exit code.
valgrind_runs() {
  if ! command -v valgrind >/dev/null; then
    echo "== valgrind is not installed"
    return 1
  fi
  local probe rc why
  set +e
  probe=$("${VG[@]}" "$BUILD/test_openmed" "$SHARED" selftest-leak 2>&1 >/dev/null)
  rc=$?
  set -e
  [ $rc -eq 97 ] && return 0
  why=$(printf '%s\n' "$probe" | grep -m1 -iE 'illegal|unhandled|unrecognised|signal|error' || true)
  echo "== valgrind cannot check a Go c-shared program on this CPU (exit $rc${why:+: $why})"
  return 1
}

CHECKERS=()
case "${OPENMED_LEAK_CHECKER:-auto}" in
  auto)
    CHECKERS=(lsan)
    if valgrind_runs; then CHECKERS+=(valgrind); fi
    ;;
  lsan) CHECKERS=(lsan) ;;
  valgrind)
    valgrind_runs || { echo "test_capi: OPENMED_LEAK_CHECKER=valgrind, but valgrind cannot run here" >&2; exit 1; }
    CHECKERS=(valgrind)
    ;;
  *)
    echo "test_capi: OPENMED_LEAK_CHECKER must be auto, valgrind or lsan, not '$OPENMED_LEAK_CHECKER'" >&2
    exit 2
    ;;
esac
for c in "${CHECKERS[@]}"; do "run_$c"; done

# --- checker 2: bounded RSS growth (every CPU) ------------------------------
RSS_ITERS=${RSS_ITERS:-30000}
RSS_MAX=${RSS_MAX_BYTES:-300}
echo "== RSS growth: a deliberate leak must exceed $RSS_MAX bytes/iteration"
if "$BUILD/test_openmed" "$SHARED" rss-nofree "$RSS_ITERS" "$MODEL" "$RSS_MAX" >"$MODEL_TMP/rss.log" 2>&1; then
  cat "$MODEL_TMP/rss.log"
  echo "test_capi: the RSS check did not see the deliberate leak: it is broken" >&2
  exit 1
fi
grep '^rss:' "$MODEL_TMP/rss.log"
echo "== RSS growth: tokenize + tag path, $RSS_ITERS iterations, at most $RSS_MAX bytes/iteration"
"$BUILD/test_openmed" "$SHARED" rss "$RSS_ITERS" "$MODEL" "$RSS_MAX"
echo "test_capi: OK (leak checkers that ran: ${CHECKERS[*]} + RSS growth)"
