#!/usr/bin/env bash
# `make reproduce`: run (or continue) the reproduction pipeline, write
# benchmarks/reproduce/RESULTS.md, and ship models/ once the encoder and the
# NCBI-Disease / BC5CDR-Chem adapters are done. Resumable: run it again to
# continue; finished jobs are skipped, interrupted ones resume.
#
# Environment:
#   OPENMED_REPRO_DIR  work dir (default ~/.cache/openmed/reproduce)
#   REPRO_BUDGET       stop cleanly after this long, e.g. 6h (default: no limit)
#   REPRO_ARGS         extra flags, e.g. "--only NCBI-Disease,BC5CDR-Chem"
# Any arguments are passed on as well (see `bin/reproduce -h`).
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o bin/reproduce ./benchmarks/reproduce
# shellcheck disable=SC2086
bin/reproduce --budget "${REPRO_BUDGET:-0}" --ship-when-ready ${REPRO_ARGS:-} "$@"
# shellcheck disable=SC2086
if ! bin/reproduce --table-only --ship ${REPRO_ARGS:-} "$@"; then
  echo "run.sh: not shipping models/ yet (the encoder or an adapter is unfinished); run again to continue." >&2
fi
