#!/usr/bin/env bash
# Engine benchmark: openmed's Go training engine vs the PyTorch peer, in one
# command. BERT-base shape, LoRA r=16 on query/value, batch 8x128, one full
# training step (forward, label-smoothed CE, backward, AdamW); median of
# STEPS timed steps after a warm-up. Also: 2048^3 SGEMM peak, step GFLOP,
# % of peak, and peak RSS at 8x256 (separate process, VmHWM).
#
#   bash benchmarks/engine/run.sh            # STEPS=5 by default
#   STEPS=7 THREADS=2 bash benchmarks/engine/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-5}
THREADS=${THREADS:-0}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/engine" ./benchmarks/engine

echo "== openmed engine, 8x128 (sgemm peak measured in the same process)" >&2
"$tmp/engine" --batch 8 --seq 128 --steps "$STEPS" --warmup 1 --threads "$THREADS" --json >"$tmp/ours.json"
echo "== openmed engine, 8x256 peak RSS" >&2
"$tmp/engine" --batch 8 --seq 256 --steps 2 --warmup 1 --threads "$THREADS" --peak 0 --json >"$tmp/ours256.json"
echo "== PyTorch peer (python3-torch, best of 1 and 2 threads), 8x128" >&2
"$PY" benchmarks/engine/peer_torch.py --mode lora --batch 8 --seq 128 --steps "$STEPS" >"$tmp/peer.json"

"$PY" - "$tmp/ours.json" "$tmp/ours256.json" "$tmp/peer.json" <<'PYEOF'
import json, sys
ours = json.load(open(sys.argv[1]))
o256 = json.load(open(sys.argv[2]))
peer = json.loads(open(sys.argv[3]).read().strip().splitlines()[-1])
print("openmed engine  : %.3f s/step median (%s), %d threads" % (ours["median_s"], ", ".join("%.2f" % s for s in ours["steps"]), ours["threads"]))
print("  step work     : %.1f GFLOP -> %.1f GFLOP/s" % (ours["step_gflop"], ours["achieved_gflops"]))
print("  sgemm peak    : %.1f GFLOP/s (%d^3) -> %.1f%% of peak" % (ours["sgemm_peak_gflops"], ours["sgemm_n"], ours["pct_of_sgemm_peak"]))
print("  peak RSS      : %.0f MB at 8x128, %.0f MB at 8x256" % (ours["peak_rss_mb"], o256["peak_rss_mb"]))
print("  trainable     : %d / %d" % (ours["trainable_params"], ours["total_params"]))
print("pytorch peer    : %.3f s/step median, %s threads, peak RSS %.0f MB" % (peer["median_s"], peer["threads"], peer["peak_rss_mb"]))
print("ratio peer/ours : %.2fx (target >= 1.2x)" % (peer["median_s"] / ours["median_s"]))
print(json.dumps({"ours": ours, "ours_8x256": o256, "peer": peer}))
PYEOF
