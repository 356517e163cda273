#!/usr/bin/env bash
# Five BERT-base LoRA adapters on one DAPT'd base, as the default tagger of
# issue 18 will ship them: peak RSS and wall time of `openmed tag` over 25
# NCBI-Disease test abstracts (10 sentences each) at one thread, ONNX Runtime
# (the adapters share one session, onnx.BuildShared) vs the Go engine in fp32
# and bf16, and the small `fast` preset for scale. The five adapters are
# copies of the archived NCBI-Disease lora-mixed run (the shapes are what matters; the finished adapters replace
# them when the grid ships). Needs bert-base-cased in the encoder cache
# (ENCODERS=bert-base-cased make encoders) and bin/openmed (make build).
#
# usage: bash benchmarks/tagger/shared.sh [rounds (2)]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
RUN=benchmarks/recipe/runs/bert-base-cased/NCBI-Disease/lora-mixed
DAPT=benchmarks/recipe/runs/dapt-bert-base-cased/dapt_adapter
[ -f "$RUN/adapter_model.safetensors" ] || { echo "shared.sh: $RUN has no adapter (run the recipe grid)" >&2; exit 1; }
export OPENMED_ORT_LIB=${OPENMED_ORT_LIB:-$PWD/third_party/onnxruntime/libonnxruntime.so.1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
M=$TMP/m5
mkdir -p "$M"
cp -r "$DAPT" "$M/bert-base-cased-dapt"
for n in disease disease-cdr chemical gene species; do
  mkdir "$M/$n"
  cp "$RUN"/{adapter_config.json,adapter_model.safetensors,config.json,special_tokens_map.json,tokenizer_config.json,vocab.txt} "$M/$n/"
done
cat > "$M/default.json" <<'JSON'
{"base_encoder": "bert-base-cased", "base_adapter": "bert-base-cased-dapt",
 "adapters": {"disease": "disease", "disease-cdr": "disease-cdr", "chemical": "chemical", "gene": "gene", "species": "species"},
 "tag_with": "all"}
JSON
python3 - "$TMP/abs25.txt" <<'PY'
import sys
docs, cur, words = [], [], []
for line in open("../shared/data/NCBI-Disease/test.tsv", encoding="utf-8"):
    line = line.strip()
    if not line:
        if words:
            cur.append(" ".join(words)); words = []
        if len(cur) >= 10:
            docs.append(" ".join(cur)); cur = []
        continue
    words.append(line.split("\t")[0])
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(docs[:25]) + "\n")
PY
CACHE=(--cache "$TMP/cache") # exports and merges; the encoder cache stays $OPENMED_CACHE
for warm in "$M" fast; do
  bin/openmed tag "${CACHE[@]}" --threads 1 --model "$warm" --text "warm-up: exports and merges into the cache" > /dev/null
done
/usr/bin/time -f "ort open + one sentence: %e s, %M KB peak RSS" bin/openmed tag "${CACHE[@]}" --threads 1 --model "$M" --text "Famotidine-associated delirium." > /dev/null
for r in $(seq "$ROUNDS"); do
  for mode in ort go-fp32 go-bf16 fast; do
    case $mode in
      ort) args=(--model "$M") ;;
      go-fp32) args=(--model "$M" --backend go) ;;
      go-bf16) args=(--model "$M" --backend go --precision bf16) ;;
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
