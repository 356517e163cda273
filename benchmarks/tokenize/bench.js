// HF Rust tokenizers peer (npm tokenizers@0.23.2): tokens/s of encodeBatch on
// the NCBI-Disease train sentences (CoNLL tokens joined by one space),
// special tokens included. Threads come from RAYON_NUM_THREADS (run.sh sets
// 1 for the single-threaded row). Prints one JSON line per tokenizer.
// Usage: node bench.js SHARED_DIR TOKENIZER[,TOKENIZER...] [REPS]
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require(path.join(__dirname, "node_modules", "tokenizers"));

function readSentences(file) {
  const out = [];
  let cur = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") {
      if (cur.length) out.push(cur.join(" "));
      cur = [];
      continue;
    }
    cur.push(line.split("\t")[0]);
  }
  if (cur.length) out.push(cur.join(" "));
  return out;
}

async function main() {
  const [shared, names, repsArg] = process.argv.slice(2);
  const reps = Number(repsArg || 7);
  const sents = readSentences(path.join(shared, "data", "NCBI-Disease", "train.tsv"));
  const threads = Number(process.env.RAYON_NUM_THREADS || require("os").cpus().length);
  for (const name of names.split(",")) {
    const tok = Tokenizer.fromFile(path.join(shared, "tokenizers", name, "tokenizer.json"));
    let tokens = 0;
    const times = [];
    for (let r = 0; r <= reps; r++) {
      const t0 = process.hrtime.bigint();
      const encs = await tok.encodeBatch(sents);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r === 0) {
        tokens = encs.reduce((n, e) => n + e.getIds().length, 0);
        continue;
      }
      times.push(secs);
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    console.log(JSON.stringify({
      impl: "hf-tokenizers-rust", tokenizer: name, threads, sentences: sents.length, tokens,
      seconds: med, best_seconds: times[0], tokens_per_s: tokens / med, best_tokens_per_s: tokens / times[0],
    }));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
