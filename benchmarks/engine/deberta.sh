#!/usr/bin/env bash
# DeBERTa-v3-base LoRA training-step benchmark: openmed's Go engine vs the
# PyTorch peer (torchdeberta.py, HF modeling_deberta_v2 formulas and names),
# in one command and one run.
#
# 1. peer_deberta.py prepare writes the random-init deberta-v3-base model
#    (seed 0), the PEFT adapter (r16 / alpha 32 / dropout 0.1 on
#    query_proj,value_proj; classifier trainable) and the 8x128 batch once;
#    both sides load exactly these files.
# 2. openmed (deberta/main.go) at 1 and 2 threads, then the peer at
#    torch.set_num_threads(1) and (2), each in its own process: one dropout-free
#    check step (loss before and after its AdamW update), WARMUP untimed steps,
#    STEPS timed steps (median). One step = forward + label-smoothed CE +
#    backward + AdamW.
# 3. The summary fails (exit 1) unless every run's check losses equal the
#    peer's to <= 1e-4: a benchmark on different maths is worthless.
#
#   bash benchmarks/engine/deberta.sh                    # STEPS=5 WARMUP=1
#   STEPS=3 THREAD_LIST="2" bash benchmarks/engine/deberta.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-1}
THREAD_LIST=${THREAD_LIST:-"1 2"}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== load before: $(uptime)" >&2
go build -o "$tmp/engine" ./benchmarks/engine/deberta
echo "== writing the shared deberta-v3-base weights, adapter and batch (seed 0)" >&2
"$PY" benchmarks/engine/peer_deberta.py prepare --out "$tmp/run" --seed 0 >&2

for t in $THREAD_LIST; do
	echo "== openmed engine, deberta-v3-base 8x128, $t thread(s)" >&2
	"$tmp/engine" --dir "$tmp/run" --steps "$STEPS" --warmup "$WARMUP" --threads "$t" --json >"$tmp/ours_$t.json"
done
# Same BLAS kernels on both sides: openmed re-selects OpenBLAS's kernel set
# from the CPU features (Debian's DYNAMIC_ARCH build falls back to generic
# Prescott kernels on CPUs it does not know); the peer's torch calls the same
# libopenblas and gets that set through OPENBLAS_CORETYPE (see run.sh).
core=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["blas_core"])' "$tmp/ours_${THREAD_LIST##* }.json")
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$core}
echo "== PyTorch peer (python3-torch, 1 and 2 threads, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE), 8x128" >&2
"$PY" benchmarks/engine/peer_deberta.py run --dir "$tmp/run" --steps "$STEPS" --warmup "$WARMUP" >"$tmp/peer.json"
echo "== load after: $(uptime)" >&2

"$PY" - "$tmp" "$THREAD_LIST" <<'PYEOF'
import json, os, sys
tmp, tl = sys.argv[1], sys.argv[2].split()
runs = [json.load(open(os.path.join(tmp, "ours_%s.json" % t))) for t in tl]
ours = min(runs, key=lambda r: r["median_s"])
peer = json.loads(open(os.path.join(tmp, "peer.json")).read().strip().splitlines()[-1])
pruns = peer.get("runs", [peer])
for r in runs:
    print("openmed engine  : %d thread(s): %.3f s/step median (%s); CPU %.2f s/step; peak RSS %.0f MB (end %.0f MB)"
          % (r["threads"], r["median_s"], ", ".join("%.2f" % s for s in r["steps"]), r["cpu_s_per_step"], r["peak_rss_mb"], r["rss_end_mb"]))
for r in pruns:
    print("pytorch peer    : %d thread(s): %.3f s/step median (%s); peak RSS %.0f MB (end %.0f MB)"
          % (r["threads"], r["median_s"], ", ".join("%.2f" % s for s in r["steps"]), r["peak_rss_mb"], r["rss_end_mb"]))
print("trainable       : %d / %d (ours), %d / %d (peer)" % (ours["trainable_params"], ours["total_params"], peer["trainable_params"], peer["total_params"]))
print("blas kernels    : %s (ours), OPENBLAS_CORETYPE=%s (peer)" % (ours["blas_core"], peer["openblas_coretype"]))
print("ratio peer/ours : %.2fx (best vs best: ours %d thread(s) %.3f s, peer %d thread(s) %.3f s)"
      % (peer["median_s"] / ours["median_s"], ours["threads"], ours["median_s"], peer["threads"], peer["median_s"]))
worst = 0.0
for r in runs + pruns:
    for k in ("check_loss0", "check_loss1"):
        worst = max(worst, abs(r[k] - pruns[0][k]))
print("check losses    : ours %.6f -> %.6f, peer %.6f -> %.6f (dropout off, before/after one AdamW step); max |diff| %.2e"
      % (runs[0]["check_loss0"], runs[0]["check_loss1"], pruns[0]["check_loss0"], pruns[0]["check_loss1"], worst))
print(json.dumps({"ours": runs, "peer": peer}))
if not worst <= 1e-4:
    sys.exit("FAIL: the two sides' check losses differ by %.3g > 1e-4: not the same maths" % worst)
PYEOF
