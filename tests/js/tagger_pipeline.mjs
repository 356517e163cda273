// transformers.js token-classification pipeline over many texts (issue #6
// acceptance check for openmed's tagger).
//
// Usage: node tagger_pipeline.mjs EXPORT_DIR TEXTS_JSON
//
// EXPORT_DIR is an `openmed export` folder (config.json with id2label,
// tokenizer.json, tokenizer_config.json, onnx/model.onnx), loaded offline
// (env.allowRemoteModels = false) in fp32. TEXTS_JSON is a JSON array of
// strings. Prints one JSON array: per text, {input_ids, none, simple} where
// `none` is the pipeline's output with aggregation_strategy "none" and
// `simple` with "simple", both with ignore_labels: [] (the caller drops "O").
import fs from 'node:fs';
import path from 'node:path';
import { env, pipeline, AutoTokenizer } from '@huggingface/transformers';

const [exportDir, textsFile] = process.argv.slice(2);
if (!exportDir || !textsFile) {
  console.error('usage: node tagger_pipeline.mjs EXPORT_DIR TEXTS_JSON');
  process.exit(2);
}
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(exportDir)) + path.sep;
const modelId = path.basename(path.resolve(exportDir));
const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));

const tagger = await pipeline('token-classification', modelId, { dtype: 'fp32', device: 'cpu' });
const tokenizer = await AutoTokenizer.from_pretrained(modelId);
const out = [];
for (const text of texts) {
  const none = await tagger(text, { ignore_labels: [], aggregation_strategy: 'none' });
  const simple = await tagger(text, { ignore_labels: [], aggregation_strategy: 'simple' });
  const enc = await tokenizer(text);
  out.push({ input_ids: Array.from(enc.input_ids.data, Number), none, simple });
}
console.log(JSON.stringify(out));
await tagger.dispose();
