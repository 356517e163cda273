#!/usr/bin/env bash
# Tagger benchmark: openmed's Tagger (ORT backend through the public API:
# tokenise, window, batch, softmax, aggregate "simple") vs the PyTorch peer
# (python3-torch, torch.set_num_threads(1)) and transformers.js 4.3.1 on the
# same ONNX export, in one run. BERT-base shape (12x768, PubMedBERT vocab and
# tokenizer, random weights), texts of exactly 128 tokens from NCBI-Disease,
# batch 1 and 32, one thread each; best of REPS. Also the share of our time
# spent outside ONNX Runtime (same ids run bare through the ORT session), and
# VmRSS with the base only vs base + 2 LoRA adapters (r=16), Go engine and ORT.
#
#   bash benchmarks/tagger/run.sh            # REPS=3 TEXTS=128
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-3}
TEXTS=${TEXTS:-128}
PY=/usr/bin/python3
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
go build -o "$work/tbench" ./benchmarks/tagger
B="$work/tbench --work $work --shared ../shared --texts $TEXTS --reps $REPS"
if [ ! -f "$work/texts.json" ]; then
	echo "== prepare: BERT-base random weights, ONNX export, 2 adapters, $TEXTS texts x 128 tokens" >&2
	$B prepare
fi
echo "== openmed Tagger (ORT, 1 thread)" >&2
$B bench >"$work/ours.json"
echo "== PyTorch peer (1 thread)" >&2
"$PY" benchmarks/tagger/peer_torch.py "$work" "$REPS" >"$work/torch.json"
echo "== transformers.js peer (1 thread)" >&2
node benchmarks/tagger/peer_transformersjs.mjs "$work/export" "$work/texts.json" "$REPS" >"$work/js.json"
echo "== RSS: base vs base + 2 adapters" >&2
for be in go ort; do
	for n in 0 2; do $B rss "$be" "$n"; done
done >"$work/rss.jsonl"

"$PY" - "$work" <<'PYEOF'
import json, sys, os
w = sys.argv[1]
ours = json.load(open(os.path.join(w, "ours.json")))
th = json.load(open(os.path.join(w, "torch.json")))
js = json.load(open(os.path.join(w, "js.json")))
rss = [json.loads(l) for l in open(os.path.join(w, "rss.jsonl")) if l.strip()]
print("ORT %s, ours %d thread(s); torch %s, %d thread(s)" % (ours["ort"], ours["threads"], th["torch"], th["threads"]))
print("| batch | openmed tok/s | outside ORT | PyTorch tok/s | ratio | transformers.js tok/s | ratio |")
print("|---|---|---|---|---|---|---|")
for o, t, j in zip(ours["results"], th["results"], js["results"]):
    jt = o["tokens"] / j["seconds"]
    print("| %d | %.0f | %.1f%% | %.0f | %.2fx | %.0f | %.2fx |" % (
        o["batch"], o["tokens_per_s"], 100 * o["outside_ort_share"], t["tokens_per_s"],
        o["tokens_per_s"] / t["tokens_per_s"], jt, o["tokens_per_s"] / jt))
print()
print("| backend | adapters | VmRSS MiB |")
print("|---|---|---|")
for r in rss:
    print("| %s | %d | %.0f |" % (r["backend"], r["adapters"], r["rss_mib"]))
PYEOF
