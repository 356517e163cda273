// Package onnx writes the ONNX graph of a (merged) token-classification model
// so ONNX Runtime, Optimum and transformers.js can run it.
//
// The package has three layers:
//
//   - proto.go encodes the subset of onnx.proto (ModelProto, GraphProto,
//     NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto) with
//     google.golang.org/protobuf/encoding/protowire; field numbers follow
//     onnx/onnx.proto (IR version 8, opset 17).
//   - Builder (builder.go, ops.go) is a small graph-builder API with one helper
//     per ONNX operator, so an encoder architecture is a plain Go function.
//   - bert.go builds BERT and ELECTRA, deberta.go DeBERTa-v3 token-classification
//     graphs from a Hugging Face config and state_dict (transformers 4.36
//     semantics, checked against the shared fixtures), and export.go lays the
//     result out the way HF Optimum / transformers.js expect:
//     <out>/onnx/model.onnx next to config.json and the tokenizer files.
//   - signature.go reads a model's inputs and outputs without its weights.
package onnx
