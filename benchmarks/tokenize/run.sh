#!/usr/bin/env bash
# Tokenizer throughput: openmed (Go) vs Hugging Face's Rust tokenizers, both
# through npm (tokenizers@0.23.2, encodeBatch) and in-process in Python from
# PyPI (the peers venv's tokenizers, encode_batch: what transformers' fast
# tokenizers run), on the NCBI-Disease train sentences, one thread and all
# cores, run interleaved in the same session.
# Usage: benchmarks/tokenize/run.sh [SHARED_DIR] [REPS]   (from the repo root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="${1:-$root/../shared}"
reps="${2:-9}"
names="pubmedbert-abstract,deberta-v3"
cores="$(nproc)"
if [ ! -d "$here/node_modules/tokenizers" ]; then
  npm install --no-save --prefix "$here" tokenizers@0.23.2 >&2
fi
peer="$(cd "$root" && bash scripts/peers_env.sh | tail -1)"
bin="$(mktemp -d)/tokenize-bench"
(cd "$root" && go build -o "$bin" ./benchmarks/tokenize)
out="$(mktemp)"
for name in ${names//,/ }; do
  for th in 1 "$cores"; do
    "$bin" -shared "$shared" -tokenizers "$name" -threads "$th" -reps "$reps" | tee -a "$out" >&2
    RAYON_NUM_THREADS="$th" node "$here/bench.js" "$shared" "$name" "$reps" | tee -a "$out" >&2
    RAYON_NUM_THREADS="$th" "$peer" "$here/bench_py.py" "$shared" "$name" "$reps" | tee -a "$out" >&2
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const key = (r) => r.tokenizer + "/" + r.threads;
const by = {};
for (const r of rows) (by[key(r)] = by[key(r)] || {})[r.impl] = r;
const M = (x) => (x / 1e6).toFixed(2);
console.log("| tokenizer | threads | tokens | openmed Go M tok/s (median / best) | HF Rust (npm) M tok/s | HF tokenizers (PyPI, in Python) M tok/s | Go / npm | Go / PyPI |");
console.log("|---|---|---|---|---|---|---|---|");
for (const k of Object.keys(by)) {
  const g = by[k]["openmed-go"], r = by[k]["hf-tokenizers-rust"], p = by[k]["hf-tokenizers-pypi"];
  console.log(`| ${g.tokenizer} | ${g.threads} | ${g.tokens} | ${M(g.tokens_per_s)} / ${M(g.best_tokens_per_s)} | ${M(r.tokens_per_s)} / ${M(r.best_tokens_per_s)} | ${M(p.tokens_per_s)} / ${M(p.best_tokens_per_s)} (v${p.version}) | ${(g.tokens_per_s / r.tokens_per_s).toFixed(2)}x | ${(g.tokens_per_s / p.tokens_per_s).toFixed(2)}x |`);
  if (g.tokens !== p.tokens || g.tokens !== r.tokens) console.log(`token counts differ: go ${g.tokens}, npm ${r.tokens}, pypi ${p.tokens}`);
}' "$out"
