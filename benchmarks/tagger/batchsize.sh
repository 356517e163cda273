#!/usr/bin/env bash
# Windows per inference call (`openmed tag --batch-size`, tagger.Options.BatchSize):
# wall time and peak RSS of batch sizes 1, 4 and 8 at one and two threads, on
# ONNX Runtime and the Go engine, for one BERT-base adapter (the archived
# NCBI-Disease lora-mixed run over the DAPT'd base) and the small `fast`
# preset, over 25 NCBI-Disease test abstracts, 250 test sentences (a line
# each) and (fast only) a 100 KB one-line document. Rounds alternate the settings so drift hits them alike.
# Needs bert-base-cased in the encoder cache and bin/openmed (make build);
# run it on an idle machine.
#
# usage: [BINS="bin/openmed /tmp/openmed-old"] bash benchmarks/tagger/batchsize.sh [rounds (2)]
# BINS: openmed binaries to compare, alternated within each round (default bin/openmed);
# SIZES: the --batch-size values (default "1 4 8"; the first is the reference for the spans check).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
read -r -a BINS <<< "${BINS:-bin/openmed}"
read -r -a SIZES <<< "${SIZES:-1 4 8}"
. benchmarks/tagger/bertmanifest.sh
export OPENMED_ORT_LIB=${OPENMED_ORT_LIB:-$PWD/third_party/onnxruntime/libonnxruntime.so.1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
M=$TMP/bert1
bert_manifest "$M" disease
python3 benchmarks/tagger/abstracts.py "$TMP/abs25.txt"
python3 benchmarks/tagger/abstracts.py --sentences 1 --docs 250 "$TMP/sent250.txt"
python3 benchmarks/tagger/longdoc.py --bytes 100000 "$TMP/doc100k.txt"
CACHE=(--cache "$TMP/cache") # exports and merges; the encoder cache stays $OPENMED_CACHE
for warm in "$M" fast; do
  "${BINS[0]}" tag "${CACHE[@]}" --threads 1 --model "$warm" --text "warm-up: exports and merges into the cache" > /dev/null
done
echo "bin model input backend threads batch round seconds peak_kb" > "$TMP/times.txt"
for r in $(seq "$ROUNDS"); do
  for case in "$M abs25" "$M sent250" "fast abs25" "fast sent250" "fast doc100k"; do
    read -r model input <<< "$case"
    for backend in ort go; do
      for threads in 1 2; do
        for bin in "${BINS[@]}"; do for bs in "${SIZES[@]}"; do
          /usr/bin/time -o "$TMP/t" -f "%e %M" "$bin" tag "${CACHE[@]}" --model "$model" --backend "$backend" \
            --threads "$threads" --batch-size "$bs" --input "$TMP/$input.txt" --format jsonl > "$TMP/out-$bs.jsonl"
          echo "$bin $(basename "$model") $input $backend $threads $bs $r $(cat "$TMP/t")" >> "$TMP/times.txt"
          python3 - "$TMP/out-${SIZES[0]}.jsonl" "$TMP/out-$bs.jsonl" "$(basename "$model") $input $backend batch $bs" <<'PY'
import json, sys
spans = lambda p: [[(e["start"], e["end"], e["entity_group"]) for e in json.loads(l)["entities"]] for l in open(p)]
if spans(sys.argv[1]) != spans(sys.argv[2]):
    print(f"batchsize.sh: {sys.argv[3]}: spans differ from the first batch size", file=sys.stderr)
PY
        done; done
      done
    done
  done
done
python3 - "$TMP/times.txt" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1])][1:]
g = collections.defaultdict(list)
for b, m, inp, be, th, bs, r, s, kb in rows:
    g[(b, m, inp, be, th)].append((int(bs), float(s), int(kb)))
sizes = sorted({int(r[5]) for r in rows})
print("| binary | model | input | backend | threads | " + " | ".join(f"batch {b}: s (MB)" for b in sizes) + f" | {sizes[-1]} ÷ {sizes[0]} |")
print("|---" * (6 + len(sizes)) + "|")
for k, v in g.items():
    cells, med = [], {}
    for b in sizes:
        s = [x[1] for x in v if x[0] == b]
        kb = max(x[2] for x in v if x[0] == b)
        med[b] = statistics.median(s)
        cells.append(f"{'/'.join(f'{x:.1f}' for x in s)} ({kb // 1024})")
    print(f"| {' | '.join(k)} | {' | '.join(cells)} | {med[sizes[-1]] / med[sizes[0]]:.2f} |")
PY
