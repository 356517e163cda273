#!/usr/bin/env bash
# Engine benchmark: openmed's Go training engine vs the PyTorch peer, in one
# command. BERT-base shape, LoRA r=16 on query/value, batch 8x128, one full
# training step (forward, label-smoothed CE, backward, AdamW); median of
# STEPS timed steps after a warm-up. Like the peer (best of 1 and 2 torch
# threads), openmed runs with 1 and 2 threads and the faster run counts.
# Also: 2048^3 SGEMM peak (same process), step GFLOP, % of peak, and peak RSS
# at 8x256 (separate process, VmHWM).
#
#   bash benchmarks/engine/run.sh                 # STEPS=5
#   STEPS=7 THREAD_LIST="2" bash benchmarks/engine/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-5}
THREAD_LIST=${THREAD_LIST:-"1 2"}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/engine" ./benchmarks/engine

for t in $THREAD_LIST; do
	echo "== openmed engine, 8x128, $t thread(s) (sgemm peak measured in the same process)" >&2
	"$tmp/engine" --batch 8 --seq 128 --steps "$STEPS" --warmup 1 --threads "$t" --json >"$tmp/ours_$t.json"
done
echo "== openmed engine, 8x256 peak RSS" >&2
"$tmp/engine" --batch 8 --seq 256 --steps 1 --warmup 1 --peak 0 --json >"$tmp/ours256.json"
# Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) falls back to its generic SSE3
# "Prescott" kernels on CPUs it does not know (e.g. Sapphire Rapids in a VM);
# openmed re-selects the kernels at start-up. The peer's torch calls the same
# libopenblas, so it gets the same kernel set through OPENBLAS_CORETYPE
# (unless the caller set one): like-for-like BLAS on both sides.
core=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["blas_core"])' "$tmp/ours_${THREAD_LIST##* }.json")
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$core}
echo "== PyTorch peer (python3-torch, best of 1 and 2 threads, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE), 8x128" >&2
"$PY" benchmarks/engine/peer_torch.py --mode lora --batch 8 --seq 128 --steps "$STEPS" >"$tmp/peer.json"

"$PY" - "$tmp" "$THREAD_LIST" <<'PYEOF'
import json, sys, os
tmp, tl = sys.argv[1], sys.argv[2].split()
runs = [json.load(open(os.path.join(tmp, "ours_%s.json" % t))) for t in tl]
ours = min(runs, key=lambda r: r["median_s"])
o256 = json.load(open(os.path.join(tmp, "ours256.json")))
peer = json.loads(open(os.path.join(tmp, "peer.json")).read().strip().splitlines()[-1])
for r in runs:
    print("openmed engine  : %d thread(s): %.3f s/step median (%s); %.1f GFLOP/s = %.1f%% of sgemm peak %.1f GFLOP/s; CPU %.2f s/step"
          % (r["threads"], r["median_s"], ", ".join("%.2f" % s for s in r["steps"]), r["achieved_gflops"], r["pct_of_sgemm_peak"], r["sgemm_peak_gflops"], r["cpu_s_per_step"]))
print("  best          : %d thread(s), %.3f s/step" % (ours["threads"], ours["median_s"]))
print("  step work     : %.1f GFLOP (from the shapes)" % ours["step_gflop"])
print("  peak RSS      : %.0f MB at 8x128, %.0f MB at 8x256" % (ours["peak_rss_mb"], o256["peak_rss_mb"]))
print("  trainable     : %d / %d (%.2f%%)" % (ours["trainable_params"], ours["total_params"], 100.0 * ours["trainable_params"] / ours["total_params"]))
for r in peer.get("runs", [peer]):
    print("pytorch peer    : %s thread(s): %.3f s/step median (%s), peak RSS %.0f MB"
          % (r["threads"], r["median_s"], ", ".join("%.2f" % s for s in r["steps"]), r["peak_rss_mb"]))
print("blas kernels    : %s (both sides)" % ours["blas_core"])
print("ratio peer/ours : %.2fx (best vs best; target >= 1.2x)" % (peer["median_s"] / ours["median_s"]))
print(json.dumps({"ours": runs, "ours_8x256": o256, "peer": peer}))
PYEOF
