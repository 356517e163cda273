// Package checkpoint reads and writes Hugging Face model folders: config.json,
// model.safetensors (and sharded index), legacy pytorch_model.bin (zip + pickle,
// read by a data-only unpickler that never executes code) and PEFT adapter
// folders (adapter_config.json + adapter_model.safetensors|bin).
//
// Tensors are returned as float32 *tensor.Tensor keyed by the Hugging Face
// state_dict name (e.g. "bert.encoder.layer.0.attention.self.query.weight"),
// in torch's layout (Linear weights are [out, in]).
package checkpoint
