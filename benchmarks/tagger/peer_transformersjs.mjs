// transformers.js peer for the tagger benchmark (benchmarks/tagger/run.sh):
// @huggingface/transformers 4.3.1 (tests/js/node_modules) runs its
// token-classification pipeline (tokenise, ONNX Runtime via onnxruntime-node,
// softmax, aggregation "simple") on the same export and texts, batch 1 (one
// call per text) and 32 (an array of 32 texts per call). Prints JSON.
//
// Usage: node peer_transformersjs.mjs EXPORT_DIR TEXTS_JSON [REPS]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(here, '..', '..', 'tests', 'js', 'package.json'));
const { env, pipeline } = await import(require.resolve('@huggingface/transformers'));

const [exportDir, textsFile, repsArg] = process.argv.slice(2);
const reps = Number(repsArg || 3);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(exportDir)) + path.sep;
const modelId = path.basename(path.resolve(exportDir));
const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));
const tagger = await pipeline('token-classification', modelId, {
  dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
});
const results = [];
for (const bs of [1, 32]) {
  await tagger(bs === 1 ? texts[0] : texts.slice(0, bs), { aggregation_strategy: 'simple' });
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < texts.length; s += bs) {
      await tagger(bs === 1 ? texts[s] : texts.slice(s, s + bs), { aggregation_strategy: 'simple' });
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  results.push({ batch: bs, seconds: best });
}
console.log(JSON.stringify({ results }));
await tagger.dispose();
