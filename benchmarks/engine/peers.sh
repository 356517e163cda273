#!/usr/bin/env bash
# Engine vs the Hugging Face stack from PyPI (issue 20), in one command and
# one run: openmed's Go engine against torch + transformers + PEFT from the
# pinned peers venv (scripts/peers_env.sh), each side at its fastest setting,
# in fp32 and in bf16.
#
#   workloads  BERT-base LoRA r16 q/v step 8x128 (the headline), BERT-base
#              full fine-tuning step 8x128, DeBERTa-v3-base LoRA step 8x128
#   openmed    --precision fp32|bf16 x --threads 1|2 (engine and deberta
#              benchmarks; the GEMM peak at each precision in the same process)
#   peer       peer_hf.py: torch.autocast bf16 or fp32 x sdpa|eager attention x
#              torch.compile or not x torch.set_num_threads(1|2), each setting
#              in its own process (fused AdamW)
#
# Prints one table line per workload and precision (best vs best, ratio
# peer/ours, % of the GEMM peak) and writes all JSON to $OUT (default a temp
# dir). Takes 30-50 minutes on 2 vCPUs; run it on an idle machine.
#
#   bash benchmarks/engine/peers.sh                  # STEPS=3 WARMUP=2
#   WORKLOADS="bert-lora bert-full" bash benchmarks/engine/peers.sh
#
# PRECISIONS defaults to "fp32 bf16" where the CPU has AVX512-BF16 or AMX,
# else "fp32" (the bf16 path needs those kernels); WORKLOADS to all three.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-3}
# ATTENTION=sdpa,eager also times transformers' eager attention for BERT
# (sdpa is transformers' default).
ATTENTION=${ATTENTION:-sdpa}
WARMUP=${WARMUP:-2}
OUT=${OUT:-$(mktemp -d)}
if grep -q -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
	PRECISIONS=${PRECISIONS:-fp32 bf16}
else
	PRECISIONS=${PRECISIONS:-fp32}
fi
WORKLOADS=${WORKLOADS:-bert-lora bert-full deberta-lora}
want() { [[ " $WORKLOADS " == *" $1 "* ]]; }
PEER_PRECISION=$(echo $PRECISIONS | tr ' ' ',')
mkdir -p "$OUT"
PEER=$(bash scripts/peers_env.sh | tail -1)
echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); flags: $(grep -o -w -E 'avx512f|avx512_bf16|amx_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')" | tee "$OUT/host.txt" >&2
go build -o "$OUT/engine" ./benchmarks/engine
go build -o "$OUT/deberta" ./benchmarks/engine/deberta
if want deberta-lora; then
	/usr/bin/python3 benchmarks/engine/peer_deberta.py prepare --out "$OUT/deberta-run" --seed 0 >&2
fi

: >"$OUT/ours.jsonl"
for prec in $PRECISIONS; do
	for t in 1 2; do
		# the BERT LoRA run also measures the GEMM peak, which the table needs
		echo "== openmed BERT-base LoRA, $prec, $t thread(s)" >&2
		"$OUT/engine" --precision "$prec" --threads "$t" --steps "$STEPS" --warmup "$WARMUP" --json |
			sed 's/^{/{"workload":"bert-lora",/' >>"$OUT/ours.jsonl"
		if want bert-full; then
			echo "== openmed BERT-base full, $prec, $t thread(s)" >&2
			"$OUT/engine" --full --precision "$prec" --threads "$t" --steps "$STEPS" --warmup "$WARMUP" --peak 0 --json |
				sed 's/^{/{"workload":"bert-full",/' >>"$OUT/ours.jsonl"
		fi
		if want deberta-lora; then
			echo "== openmed DeBERTa-v3-base LoRA, $prec, $t thread(s)" >&2
			"$OUT/deberta" --dir "$OUT/deberta-run" --precision "$prec" --threads "$t" --steps "$STEPS" --warmup "$WARMUP" --json |
				sed 's/^{/{"workload":"deberta-lora",/' >>"$OUT/ours.jsonl"
		fi
	done
done

if want bert-lora; then
	echo "== peer: BERT-base LoRA" >&2
	"$PEER" benchmarks/engine/peer_hf.py --arch bert --mode lora --attention "$ATTENTION" --precision "$PEER_PRECISION" --steps "$STEPS" --warmup "$WARMUP" >"$OUT/peer_bert_lora.jsonl"
fi
if want bert-full; then
	echo "== peer: BERT-base full" >&2
	"$PEER" benchmarks/engine/peer_hf.py --arch bert --mode full --attention sdpa --precision "$PEER_PRECISION" --steps "$STEPS" --warmup "$WARMUP" >"$OUT/peer_bert_full.jsonl"
fi
if want deberta-lora; then
	echo "== peer: DeBERTa-v3-base LoRA (eager attention: transformers has no sdpa for DebertaV2)" >&2
	"$PEER" benchmarks/engine/peer_hf.py --arch deberta --mode lora --attention eager --precision "$PEER_PRECISION" --steps "$STEPS" --warmup "$WARMUP" >"$OUT/peer_deberta_lora.jsonl"
fi
echo "== $(date -u +%FT%TZ) load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/host.txt" >&2

/usr/bin/python3 - "$OUT" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
ours = [json.loads(l) for l in open(os.path.join(out, "ours.jsonl")) if l.strip()]
peers = {}
for wl, f in (("bert-lora", "peer_bert_lora.jsonl"), ("bert-full", "peer_bert_full.jsonl"), ("deberta-lora", "peer_deberta_lora.jsonl")):
    path = os.path.join(out, f)
    rows = [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []
    peers[wl] = [r for r in rows if "median_s" in r]
    for r in rows:
        if "error" in r:
            print("peer %s setting failed: %s" % (wl, r))
peak = {}
for r in ours:
    if r["workload"] == "bert-lora" and r.get("sgemm_peak_gflops"):
        peak[(r["precision"], r["threads"])] = r["sgemm_peak_gflops"]
print("| workload | precision | openmed best (threads) | peer best (setting) | peer / openmed | openmed GFLOP/s, % of GEMM peak | peak RSS MB ours / peer |")
print("|---|---|---|---|---|---|---|")
for wl in ("bert-lora", "bert-full", "deberta-lora"):
    for prec in ("fp32", "bf16"):
        o = [r for r in ours if r["workload"] == wl and r["precision"] == prec]
        p = [r for r in peers[wl] if r["precision"] == prec]
        if not o or not p:
            continue
        bo, bp = min(o, key=lambda r: r["median_s"]), min(p, key=lambda r: r["median_s"])
        g = bo.get("achieved_gflops")
        pk = peak.get((prec, bo["threads"]))
        eff = "%.0f, %.0f %% of %.0f" % (g, 100 * g / pk, pk) if g and pk else "—"
        print("| %s | %s | %.3f s (%d) | %.3f s (%s, %s, %d thr) | **%.2f×** | %s | %.0f / %.0f |" % (
            wl, prec, bo["median_s"], bo["threads"], bp["median_s"], bp["attention"],
            "compiled" if bp["compile"] else "eager mode", bp["threads"], bp["median_s"] / bo["median_s"], eff,
            bo["peak_rss_mb"], bp["peak_rss_mb"]))
print("\nall settings (median s/step):")
for wl in ("bert-lora", "bert-full", "deberta-lora"):
    for r in sorted(ours, key=lambda r: (r["precision"], r["threads"])):
        if r["workload"] == wl:
            print("  openmed %-12s %s %d thr: %.3f" % (wl, r["precision"], r["threads"], r["median_s"]))
    for r in peers[wl]:
        print("  peer    %-12s %s %s %s %d thr: %.3f (first steps %.1f s)" % (wl, r["precision"], r["attention"],
              "compile" if r["compile"] else "eager", r["threads"], r["median_s"], r["warmup_s"]))
PYEOF
echo "JSON in $OUT" >&2
