// transformers.js end-to-end load of an openmed ONNX export (issue #6).
//
// Usage: node pipeline_check.mjs EXPORT_DIR TEXT
//
// EXPORT_DIR is what `openmed export` writes (config.json with id2label,
// tokenizer.json, tokenizer_config.json, onnx/model.onnx). The folder is loaded
// offline (env.allowRemoteModels = false, fp32) by transformers.js's own
// token-classification pipeline and, separately, by its tokenizer + model so
// the caller can compare the logits with another runtime. Prints one JSON
// line: {input_ids, attention_mask, token_type_ids, dims, logits, entities}.
import path from 'node:path';
import { env, pipeline, AutoTokenizer, AutoModelForTokenClassification } from '@huggingface/transformers';

const [exportDir, text] = process.argv.slice(2);
if (!exportDir || text === undefined) {
  console.error('usage: node pipeline_check.mjs EXPORT_DIR TEXT');
  process.exit(2);
}
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(exportDir)) + path.sep;
const modelId = path.basename(path.resolve(exportDir));

const tagger = await pipeline('token-classification', modelId, { dtype: 'fp32', device: 'cpu' });
const entities = await tagger(text, { ignore_labels: [] });

const tokenizer = await AutoTokenizer.from_pretrained(modelId);
const model = await AutoModelForTokenClassification.from_pretrained(modelId, { dtype: 'fp32', device: 'cpu' });
const enc = await tokenizer(text);
const { logits } = await model(enc);
const ints = (t) => Array.from(t.data, Number);
console.log(JSON.stringify({
  input_ids: ints(enc.input_ids),
  attention_mask: ints(enc.attention_mask),
  token_type_ids: enc.token_type_ids ? ints(enc.token_type_ids) : null,
  dims: logits.dims,
  logits: Array.from(logits.data),
  entities: entities.map((e) => ({ word: e.word, entity: e.entity, index: e.index, score: e.score })),
}));
await tagger.dispose();
await model.dispose();
