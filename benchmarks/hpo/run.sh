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
#   HPO_PRUNE_WARMUP  no median pruning before this epoch (default 0, Optuna's)
#   HPO_SEEDS    extra seeds at which both settings are trained again, to
#                tell a real gain from seed noise (default "1 2"; "" for none)
#   OPENMED_SHARED  the shared data folder (default ../shared beside the repo)
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,19p' "$0" >&2
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
  --sampler "${HPO_SAMPLER:-tpe}" --seed "$seed" --epochs "$epochs" --prune-warmup "${HPO_PRUNE_WARMUP:-0}"

train_at() { # OUT SEED [FLAGS…]: one resumable openmed train run
  local out=$1 s=$2; shift 2
  [ -f "$out/metrics.json" ] && return 0
  local r=()
  [ -f "$out/checkpoints/latest.json" ] && r=(--resume)
  bin/openmed train --base "$base" --train "$data/train.tsv" --dev "$data/devel.tsv" --test "$data/test.tsv" \
    --out "$out" --seed "$s" --epochs "$epochs" --quiet "${r[@]}" "$@"
}

echo "== default settings ($(date -u +%FT%TZ))" >&2
train_at "$work/default" "$seed"

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

# Seed spread: the best trial was picked on dev among 40, so part of its dev
# gain can be luck of the seed. Train both settings at other seeds and report
# mean ± sd over all seeds (HPO_SEED's runs above included).
seeds=${HPO_SEEDS-1 2}
[ -n "$seeds" ] || exit 0
read -r -a best_flags < <(/usr/bin/python3 - "$work/search/best.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["params"]
flag = {"learning_rate": "--lr", "batch_size": "--batch-size", "weight_decay": "--weight-decay",
        "warmup_ratio": "--warmup-ratio", "lora_r": "--r", "lora_dropout": "--lora-dropout"}
unknown = sorted(set(p) - set(flag))
if unknown:
    sys.exit(f"run.sh: best.json parameter(s) without a train flag: {unknown}")
print(" ".join(f"{flag[k]} {v!r}" for k, v in sorted(p.items())))
PY
)
[ ${#best_flags[@]} -gt 0 ] || { echo "run.sh: could not read the best parameters from $work/search/best.json" >&2; exit 1; }
runs=("default:$work/default" "best:$work/search/final")
for s in $seeds; do
  echo "== seed $s: default settings and TPE best ($(date -u +%FT%TZ))" >&2
  train_at "$work/seeds/default-$s" "$s"
  train_at "$work/seeds/best-$s" "$s" "${best_flags[@]}"
  runs+=("default:$work/seeds/default-$s" "best:$work/seeds/best-$s")
done
echo "== seed spread (seeds $seed $seeds), entity micro-F1"
/usr/bin/python3 - "${runs[@]}" <<'PY'
import json, statistics, sys
by = {}
for a in sys.argv[1:]:
    name, d = a.split(":", 1)
    m = json.load(open(d + "/metrics.json"))
    by.setdefault(name, []).append((m["dev"]["micro"]["f1"], m["test"]["micro"]["f1"]))
print(f"{'settings':<18} {'n':>2} {'dev F1 mean ± sd':>18} {'test F1 mean ± sd':>18}  per seed (dev/test)")
for name in ("default", "best"):
    v = by[name]
    dev, test = [x[0] for x in v], [x[1] for x in v]
    print(f"{name:<18} {len(v):>2} {statistics.mean(dev):>10.4f} ± {statistics.stdev(dev):.4f} "
          f"{statistics.mean(test):>10.4f} ± {statistics.stdev(test):.4f}  "
          + "  ".join(f"{a:.4f}/{b:.4f}" for a, b in v))
PY
