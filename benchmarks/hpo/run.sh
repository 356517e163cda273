#!/usr/bin/env bash
# The paper's 40-trial TPE search (§3.4) on NCBI-Disease with the shipped small
# encoder, against one run with the default settings (training.DefaultConfig),
# printing dev and test micro-F1 of both. Long (hours on 2 cores); resumable:
# run the same command again after an interruption — finished trials are kept.
#
# Usage: benchmarks/hpo/run.sh BASE_DIR [WORK_DIR]
#   BASE_DIR  the encoder folder (e.g. models/openmed-small-bio: config.json,
#             weights, tokenizer files)
#   WORK_DIR  output folder (default ~/.cache/openmed/hpo-ncbi)
# Environment:
#   HPO_TRIALS   trials (default 40)     HPO_WORKERS  parallel trials (default 1)
#   HPO_EPOCHS   max epochs per trial and for the default run (default 10)
#   HPO_SAMPLER  tpe | tpe-univariate | random (default tpe)
#   HPO_SEED     seed of the sampler and of every run (default 0)
#   OPENMED_SHARED  the shared data folder (default ../shared beside the repo)
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
base=$(realpath "$1")
work=${2:-$HOME/.cache/openmed/hpo-ncbi}
cd "$(dirname "$0")/../.."
shared=${OPENMED_SHARED:-$(realpath ../shared)}
data=$shared/data/NCBI-Disease
for f in train.tsv devel.tsv test.tsv; do
  [ -f "$data/$f" ] || { echo "run.sh: $data/$f not found (set OPENMED_SHARED)" >&2; exit 1; }
done
[ -f "$base/config.json" ] || { echo "run.sh: $base/config.json not found: BASE_DIR must be an encoder folder" >&2; exit 1; }
mkdir -p "$work"
go build -o bin/openmed ./cmd/openmed

epochs=${HPO_EPOCHS:-10}
seed=${HPO_SEED:-0}
echo "== search: ${HPO_TRIALS:-40} trials ($(date -u +%FT%TZ))" >&2
bin/openmed search --base "$base" --train "$data/train.tsv" --dev "$data/devel.tsv" --test "$data/test.tsv" \
  --out "$work/search" --trials "${HPO_TRIALS:-40}" --workers "${HPO_WORKERS:-1}" \
  --sampler "${HPO_SAMPLER:-tpe}" --seed "$seed" --epochs "$epochs"

echo "== default settings ($(date -u +%FT%TZ))" >&2
resume=()
if [ -f "$work/default/checkpoints/latest.json" ] && [ ! -f "$work/default/metrics.json" ]; then
  resume=(--resume)
fi
if [ ! -f "$work/default/metrics.json" ]; then
  bin/openmed train --base "$base" --train "$data/train.tsv" --dev "$data/devel.tsv" --test "$data/test.tsv" \
    --out "$work/default" --seed "$seed" --epochs "$epochs" --quiet "${resume[@]}"
fi

echo "== NCBI-Disease, entity micro-F1 (seqeval default mode)"
/usr/bin/python3 - "$work/default/metrics.json" "$work/search/final/metrics.json" "$work/search/best.json" <<'PY'
import json, sys
d, s, b = (json.load(open(p)) for p in sys.argv[1:4])
print(f"{'run':<22} {'dev F1':>8} {'test F1':>8}")
print(f"{'default settings':<22} {d['dev']['micro']['f1']:>8.4f} {d['test']['micro']['f1']:>8.4f}")
print(f"{'TPE best (trial %d)' % b['trial']:<22} {s['dev']['micro']['f1']:>8.4f} {s['test']['micro']['f1']:>8.4f}")
print(f"trials: {b['complete']} complete, {b['pruned']} pruned, {b['failed']} failed; best params {json.dumps(b['params'], sort_keys=True)}")
PY
echo "== best-of-two and significance on test"
bin/openmed select --runs "$work/search/final,$work/default" --corpus NCBI-Disease --gold "$data/test.tsv"
