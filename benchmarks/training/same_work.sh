#!/usr/bin/env bash
# Same-work NCBI-Disease comparison: openmed vs a PyTorch peer, in one command.
# One saved random initialisation (4-layer, 256-hidden, 4-head, 1024-FFN BERT
# with PubMedBERT's vocabulary), the same features (training.BuildDataset:
# first-sub-token labels, 256/50 windows), the same batches and recipe (full
# fine-tuning, 8 epochs, batch 16, AdamW lr 5e-4 wd 0.01, 10% warm-up + cosine,
# label smoothing 0.1, clip 1.0, dropout 0.1), scored by the same code
# (core/metrics, seqeval default micro-F1 on NCBI-Disease test).
#
#   bash benchmarks/training/same_work.sh                 # full run (minutes)
#   EPOCHS=1 TRAIN_SENTENCES=500 bash benchmarks/training/same_work.sh   # smoke run
#   WORK=/tmp/sw bash benchmarks/training/same_work.sh    # keep the work folder
#   PARALLEL=1 bash benchmarks/training/same_work.sh      # run both sides at once
#     (same machine conditions for both wall times; each gets about half the CPU)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
EPOCHS=${EPOCHS:-8}
LR=${LR:-5e-4}
TRAIN_SENTENCES=${TRAIN_SENTENCES:-0}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
bin="$WORK/samework"
go build -o "$bin" ./benchmarks/training/samework

"$bin" prepare -dir "$WORK" -shared ../shared -epochs "$EPOCHS" -lr "$LR" -train-sentences "$TRAIN_SENTENCES"
if [ "${PARALLEL:-0}" = 1 ]; then
  echo "== PyTorch peer and openmed, concurrently" >&2
  "$PY" benchmarks/training/peer_ncbi.py "$WORK" &
  peer=$!
  "$bin" train -dir "$WORK"
  wait "$peer"
else
  echo "== PyTorch peer" >&2
  "$PY" benchmarks/training/peer_ncbi.py "$WORK"
  echo "== openmed" >&2
  "$bin" train -dir "$WORK"
fi
"$bin" score -dir "$WORK" -pred "$WORK/peer/pred.json" -name peer
"$bin" score -dir "$WORK" -pred "$WORK/go/pred.json" -name go
"$bin" report -dir "$WORK"
echo "work folder: $WORK" >&2
