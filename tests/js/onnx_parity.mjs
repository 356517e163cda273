// transformers.js check of an openmed ONNX export (issue #6).
//
// Usage: node onnx_parity.mjs EXPORT_DIR CASE_JSON [TOL]
//
// Loads EXPORT_DIR (config.json + onnx/model.onnx, the layout `openmed export`
// writes) with @huggingface/transformers' AutoModelForTokenClassification,
// offline (env.allowRemoteModels = false) in fp32 on its onnxruntime-node
// backend, feeds the fixture's input_ids / attention_mask / token_type_ids
// and compares the logits with the Hugging Face (PyTorch) logits stored in
// CASE_JSON at every position. The fixtures' 128-token vocabularies have no
// tokenizer, so tensors are fed directly. Prints one JSON line and exits 1 when
// the max abs difference exceeds TOL (default 1e-4).
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoModelForTokenClassification, Tensor } from '@huggingface/transformers';

const [exportDir, caseJson, tolArg] = process.argv.slice(2);
if (!exportDir || !caseJson) {
  console.error('usage: node onnx_parity.mjs EXPORT_DIR CASE_JSON [TOL]');
  process.exit(2);
}
const tol = tolArg ? Number(tolArg) : 1e-4;

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(exportDir)) + path.sep;
const modelId = path.basename(path.resolve(exportDir));

const fixture = JSON.parse(fs.readFileSync(caseJson, 'utf8'));
const toTensor = (a) => new Tensor('int64', BigInt64Array.from(a.data.map(BigInt)), a.shape);

const model = await AutoModelForTokenClassification.from_pretrained(modelId, { dtype: 'fp32', device: 'cpu' });
const inputs = {
  input_ids: toTensor(fixture.inputs.input_ids),
  attention_mask: toTensor(fixture.inputs.attention_mask),
};
if (fixture.inputs.token_type_ids) inputs.token_type_ids = toTensor(fixture.inputs.token_type_ids);

const t0 = performance.now();
const { logits } = await model(inputs);
const ms = performance.now() - t0;

const want = fixture.outputs.logits;
if (JSON.stringify(logits.dims) !== JSON.stringify(want.shape)) {
  console.log(JSON.stringify({ ok: false, error: `logits dims ${logits.dims} != ${want.shape}` }));
  process.exit(1);
}
let maxDiff = 0;
for (let i = 0; i < want.data.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(logits.data[i] - want.data[i]));
}
const labels = model.config.id2label;
const ok = maxDiff <= tol && Number.isFinite(maxDiff);
console.log(JSON.stringify({ ok, maxDiff, tol, dims: logits.dims, ms, numLabels: Object.keys(labels).length }));
await model.dispose();
process.exit(ok ? 0 : 1);
