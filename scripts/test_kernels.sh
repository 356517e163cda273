#!/usr/bin/env bash
# Runs the Go tests that compare numerics (engine vs Hugging Face fixtures,
# batched vs single windows, ORT vs the Go engine, merged vs unmerged LoRA,
# resume) a second time under another OpenBLAS kernel set and one thread, so a
# tolerance that only holds for the host's own SGEMM kernels or thread split
# fails in CI instead of on a user's machine. `make test` runs them once with
# the host's defaults (2 threads); this script picks the second kernel set:
# Haswell (AVX2) unless the host already runs Haswell, then SkylakeX where the
# CPU has AVX-512, else Sandybridge.
#
# usage: scripts/test_kernels.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
host=${OPENBLAS_CORETYPE:-}
alt=Haswell
if [ "${host,,}" = "haswell" ]; then
  if grep -qw avx512f /proc/cpuinfo; then alt=SkylakeX; else alt=Sandybridge; fi
fi
PKGS=(./core/tensor ./core/model ./core/lora ./core/onnx ./core/tagger
      ./training ./training/loss ./training/optim ./training/dapt
      ./tests/parity ./tests/deberta ./cmd/openmed)
echo "== numeric tests under OPENBLAS_CORETYPE=$alt, OPENMED_THREADS=1 (host: ${host:-unset}, $(nproc) CPUs)"
OPENBLAS_CORETYPE=$alt OPENMED_THREADS=1 go test -count=1 "$@" "${PKGS[@]}"
