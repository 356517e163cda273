#!/usr/bin/env bash
# Five BERT-base LoRA adapters on one DAPT'd base, as the default tagger of
# issue 18 will ship them: peak RSS and wall time of `openmed tag` over 25
# NCBI-Disease test abstracts (10 sentences each) at one thread, ONNX Runtime
# (the adapters share one session, onnx.BuildShared) vs the Go engine in fp32
# and bf16, the shipped default tagger as it is (models/default.json, however
# many adapters it has shipped) and the small `fast` preset for scale. The five adapters are
# copies of the archived NCBI-Disease lora-mixed run (the shapes are what matters; the finished adapters replace
# them when the grid ships). Needs bert-base-cased in the encoder cache
# (ENCODERS=bert-base-cased make encoders) and bin/openmed (make build).
#
# usage: bash benchmarks/tagger/shared.sh [rounds (2)]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
. benchmarks/tagger/bertmanifest.sh
export OPENMED_ORT_LIB=${OPENMED_ORT_LIB:-$PWD/third_party/onnxruntime/libonnxruntime.so.1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
M=$TMP/m5
bert_manifest "$M" disease disease-cdr chemical gene species
python3 benchmarks/tagger/abstracts.py "$TMP/abs25.txt"
CACHE=(--cache "$TMP/cache") # exports and merges; the encoder cache stays $OPENMED_CACHE
for warm in "$M" default fast; do
  bin/openmed tag "${CACHE[@]}" --threads 1 --model "$warm" --text "warm-up: exports and merges into the cache" > /dev/null
done
/usr/bin/time -f "ort open + one sentence: %e s, %M KB peak RSS" bin/openmed tag "${CACHE[@]}" --threads 1 --model "$M" --text "Famotidine-associated delirium." > /dev/null
for r in $(seq "$ROUNDS"); do
  for mode in ort go-fp32 go-bf16 default fast; do
    case $mode in
      ort) args=(--model "$M") ;;
      go-fp32) args=(--model "$M" --backend go) ;;
      go-bf16) args=(--model "$M" --backend go --precision bf16) ;;
      default) args=(--model default) ;; # the shipped default tagger (ONNX Runtime)
      fast) args=(--model fast) ;; # the small tagger preset, for scale
    esac
    if [ "$mode" = go-bf16 ] && ! grep -q avx512_bf16 /proc/cpuinfo && ! grep -q amx_bf16 /proc/cpuinfo; then
      echo "go-bf16: skipped (no AVX512-BF16/AMX)"; continue
    fi
    /usr/bin/time -f "$mode round $r: %e s, %M KB peak RSS" bin/openmed tag "${CACHE[@]}" --threads 1 "${args[@]}" --input "$TMP/abs25.txt" --format jsonl > "$TMP/$mode.jsonl"
  done
done
python3 - "$TMP" <<'PY'
import json, sys, os
def ents(p):
    return {(i, e["start"], e["end"], e["entity_group"], e.get("adapter")) for i, l in enumerate(open(p)) for e in json.loads(l)["entities"]}
base = ents(os.path.join(sys.argv[1], "ort.jsonl"))
for m in ("go-fp32", "go-bf16"):
    p = os.path.join(sys.argv[1], m + ".jsonl")
    if os.path.exists(p):
        o = ents(p)
        print(f"{m} vs ort: {len(o)} vs {len(base)} entities, {len(o & base)} identical")
PY
