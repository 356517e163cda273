#!/usr/bin/env bash
# Issue 18, step 3: domain-adaptive pre-training with LoRA on the real
# encoders, the paper's Table 1 settings (LoRA r 16, alpha 32, dropout 0.05
# on query/value; 15% dynamic masking; 256-token blocks; warm-up then
# cosine), on the train splits of the 10 corpora (`--corpora`: never a
# devel/test sentence). A release without an MLM head gets a new one,
# trained with the LoRA. Resumable: rerunning continues each run from its
# last checkpoint; finished runs are skipped.
#
# usage: benchmarks/recipe/dapt.sh [WORK]   (default $OPENMED_CACHE/recipe)
# env:   ENCODERS (default "all-minilm-l6-v2 bert-base-cased"), SHARED,
#        THREADS (engine threads; default all cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${OPENMED_CACHE:-$HOME/.cache/openmed}"
WORK="${1:-$CACHE/recipe}"
SHARED="${SHARED:-../shared}"
BIN=bin/openmed
go build -o "$BIN" ./cmd/openmed
mkdir -p "$WORK"

# Per encoder: epochs, peak LR (LoRA), batch (blocks) x accumulation, and a
# cap on training blocks (0: all ~8,500). BERT-base trains at ~90 tokens/s
# per core here: 3,000 blocks (~0.77 M tokens, a third of the text) is about
# 2.5 hours on one core; MiniLM takes 3 full epochs in less.
settings() {
  case "$1" in
    all-minilm-l6-v2) echo "3 5e-4 16 2 0" ;;
    bert-base-cased)  echo "1 3e-4 16 2 3000" ;;
    *)                echo "1 3e-4 16 2 3000" ;;
  esac
}

for enc in ${ENCODERS:-all-minilm-l6-v2 bert-base-cased}; do
  out="$WORK/dapt-$enc"
  if [ -f "$out/metrics.json" ]; then echo "dapt $enc: done ($out)"; continue; fi
  read -r epochs lr batch accum maxblocks <<<"$(settings "$enc")"
  resume=()
  if [ -d "$out/checkpoints" ]; then resume=(--resume); fi
  echo "dapt $enc: epochs $epochs lr $lr batch $batch x $accum, at most $maxblocks blocks (0: all) ${resume[*]:-}"
  "$BIN" dapt --base "$enc" --lora --r 16 --alpha 32 --lora-dropout 0.05 --targets query,value \
    --corpora "$SHARED/data" --max-len 256 --mlm-probability 0.15 --held-out 0.05 \
    --epochs "$epochs" --max-train-blocks "$maxblocks" --lr "$lr" --batch-size "$batch" --grad-accum "$accum" --warmup-ratio 0.06 \
    --eval-steps 100 --save-steps 25 --seed 42 --threads "${THREADS:-0}" --quiet --out "$out" "${resume[@]}"
done
