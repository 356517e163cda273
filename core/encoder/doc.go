// Package encoder imports pretrained encoder releases into normal Hugging
// Face model folders and keeps the encoder cache
// ($OPENMED_CACHE/encoders/<name>, default ~/.cache/openmed/encoders).
//
// Real pretrained encoders reach this project only inside registry packages,
// in three shapes: TensorFlow tensor bundles (Google's BERT releases, BioBERT,
// TF-Hub SavedModel variables; FormatTF), ONNX exports (FormatONNX) and
// Hugging Face / sentence-transformers folders (FormatHF). Import turns each
// into config.json + model.safetensors + tokenizer files that training,
// DAPT, tagging, export and transformers all load, and records where it came
// from in InfoFile; nothing downstream knows an encoder's origin.
package encoder
