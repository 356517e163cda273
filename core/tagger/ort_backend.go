// Package tagger turns text into entities; this part holds the Backend
// interface (token ids → logits) and its ONNX Runtime implementation
// (ort*.go), which runs the graphs core/onnx exports.
package tagger

import "github.com/openmed/openmed/core/tensor"

// Backend computes token-classification logits for a batch of encoded
// windows. Inputs are [batch][seq] int64 ids as HF tokenizers produce them
// (input_ids, attention_mask, token_type_ids); every row has the same length.
// tokenTypeIDs may be nil (all zeros). The result is float32 logits
// [batch, seq, num_labels], one row per token, padded positions included.
type Backend interface {
	Logits(inputIDs, attentionMask, tokenTypeIDs [][]int64) (*tensor.Tensor, error)
	// Close releases the backend's resources; Logits fails afterwards.
	Close() error
}
