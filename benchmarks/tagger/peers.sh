#!/usr/bin/env bash
# Tagger vs the Hugging Face stack from PyPI (issue 20), in one command:
#
# 1. Throughput: openmed's Tagger (ORT backend, 1 thread, aggregation
#    "first") on the benchmark's BERT-base model (benchmarks/tagger/run.sh
#    prepare: random weights, PubMedBERT tokenizer, 128 texts of exactly 128
#    tokens) against transformers' pipeline("token-classification") in fp32
#    and bf16 (peer_hf.py), and against our own export quantized to int8 by
#    onnxruntime.quantization.quantize_dynamic (PyPI onnxruntime), tagged by
#    the same openmed Tagger; and the Tagger on the Go engine in fp32 and bf16
#    (--precision bf16: oneDNN AMX). Batch 1 and 32, best of REPS.
# 2. The F1 cost of int8 on NCBI-Disease: the BERT-base NCBI-Disease adapter
#    of the recipe grid (NCBI_ADAPTER) merged, exported, quantized, and both
#    exports scored by `openmed eval-text` (raw test text, default settings,
#    sentence by sentence and 10-sentence paragraphs).
#
#   bash benchmarks/tagger/peers.sh        # REPS=3; WORK=DIR keeps the files
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-3}
TEXTS=${TEXTS:-128}
NCBI_ADAPTER=${NCBI_ADAPTER:-${OPENMED_CACHE:-$HOME/.cache/openmed}/recipe/bert-base-cased/NCBI-Disease/lora}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
PEER=$(bash scripts/peers_env.sh | tail -1)
make -s build
go build -o "$work/tbench" ./benchmarks/tagger
B="$work/tbench --work $work --shared ../shared --texts $TEXTS --reps $REPS"
echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ ! -f "$work/texts.json" ]; then
	echo "== prepare: BERT-base random weights, ONNX export, $TEXTS texts x 128 tokens" >&2
	$B prepare
fi

# quantize SRC DST: a copy of export folder SRC with onnx/model.onnx (or
# model.onnx) replaced by its dynamic int8 quantization (weights QInt8,
# activations quantized per call: ORT's MatMulInteger path).
quantize() {
	"$PEER" - "$1" "$2" <<'PYEOF'
import os, shutil, sys
from onnxruntime.quantization import QuantType, quantize_dynamic
src, dst = sys.argv[1], sys.argv[2]
if os.path.exists(dst):
    shutil.rmtree(dst)
shutil.copytree(src, dst)
for rel in ("onnx/model.onnx", "model.onnx"):
    if os.path.exists(os.path.join(src, rel)):
        quantize_dynamic(os.path.join(src, rel), os.path.join(dst, rel), weight_type=QuantType.QInt8)
        print("quantized %s -> %s (%.0f MB -> %.0f MB)" % (rel, dst, os.path.getsize(os.path.join(src, rel)) / 2**20,
              os.path.getsize(os.path.join(dst, rel)) / 2**20), file=sys.stderr)
        break
else:
    sys.exit("no model.onnx in %s" % src)
PYEOF
}
quantize "$work/export" "$work/export-int8"
echo "== openmed Tagger, ORT fp32 export" >&2
$B bench >"$work/ours.json"
echo "== openmed Tagger, ORT int8 export" >&2
$B --export "$work/export-int8" bench >"$work/ours_int8.json"
for prec in fp32 bf16; do
	echo "== openmed Tagger, Go engine $prec" >&2
	$B --backend go --precision "$prec" bench >"$work/ours_go_$prec.json"
done
echo "== transformers pipeline (fp32, bf16)" >&2
"$PEER" benchmarks/tagger/peer_hf.py "$work" "$REPS" >"$work/hf.json"

f1=""
if [ -f "$NCBI_ADAPTER/adapter_config.json" ]; then
	base=$("$PEER" -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_model_name_or_path"])' "$NCBI_ADAPTER/adapter_config.json")
	echo "== NCBI-Disease: merge $NCBI_ADAPTER onto $base, export, quantize" >&2
	bin/openmed merge --base "$base" --adapter "$NCBI_ADAPTER" --out "$work/ncbi-merged" >&2
	bin/openmed export --model "$work/ncbi-merged" --out "$work/ncbi-export" >&2
	quantize "$work/ncbi-export" "$work/ncbi-int8"
	for m in ncbi-export ncbi-int8; do
		echo "== eval-text $m" >&2
		bin/openmed eval-text --gold ../shared/data/NCBI-Disease/test.tsv --model "$work/$m" --backend ort --threads 1 --format json >"$work/$m.eval.json"
	done
	f1=1
else
	echo "== no NCBI adapter at $NCBI_ADAPTER: skipping the int8 F1 cost (set NCBI_ADAPTER)" >&2
fi

/usr/bin/python3 - "$work" "$f1" <<'PYEOF'
import json, os, sys
w, f1 = sys.argv[1], sys.argv[2]
ours = json.load(open(os.path.join(w, "ours.json")))
q = json.load(open(os.path.join(w, "ours_int8.json")))
g32 = json.load(open(os.path.join(w, "ours_go_fp32.json")))
g16 = json.load(open(os.path.join(w, "ours_go_bf16.json")))
hf = json.load(open(os.path.join(w, "hf.json")))
print("ORT %s (openmed, 1 thread); torch %s, transformers %s, 1 thread; texts of 128 tokens" % (ours["ort"], hf["torch"], hf["transformers"]))
print("| batch | openmed ORT fp32 | openmed ORT int8 | openmed Go fp32 | openmed Go bf16 | pipeline fp32 | pipeline bf16 | ORT fp32 / best pipeline | ORT int8 / best | Go bf16 / best |")
print("|---|---|---|---|---|---|---|---|---|---|")
for o, oq, a, b in zip(ours["results"], q["results"], g32["results"], g16["results"]):
    p = {r["dtype"]: r for r in hf["results"] if r["batch"] == o["batch"]}
    best = max(p["fp32"]["tokens_per_s"], p["bf16"]["tokens_per_s"])
    print("| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | **%.2f×** | **%.2f×** | **%.2f×** |" % (o["batch"], o["tokens_per_s"], oq["tokens_per_s"],
          a["tokens_per_s"], b["tokens_per_s"], p["fp32"]["tokens_per_s"], p["bf16"]["tokens_per_s"],
          o["tokens_per_s"] / best, oq["tokens_per_s"] / best, b["tokens_per_s"] / best))
print("(tokens/s, 1 thread; entities at batch 32: ORT fp32 %d, int8 %d, Go fp32 %d, Go bf16 %d, pipeline fp32 %d, bf16 %d)" % (
    ours["results"][1]["entities"], q["results"][1]["entities"], g32["results"][1]["entities"], g16["results"][1]["entities"],
    [r for r in hf["results"] if r["batch"] == 32 and r["dtype"] == "fp32"][0]["entities"],
    [r for r in hf["results"] if r["batch"] == 32 and r["dtype"] == "bf16"][0]["entities"]))
if f1:
    print("\nNCBI-Disease test, raw text through `openmed eval-text` (BERT-base DAPT + LoRA adapter, merged):")
    print("| export | sentences F1 | paragraphs (10) F1 |")
    print("|---|---|---|")
    for m in ("ncbi-export", "ncbi-int8"):
        r = json.load(open(os.path.join(w, m + ".eval.json")))["paragraph"]
        print("| %s | %.2f | %.2f |" % (m, 100 * r["1"]["f1"], 100 * r["10"]["f1"]))
PYEOF
