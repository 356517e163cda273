// Package tagger turns text into entities, as the OpenMed NER paper runs its
// taggers and as Hugging Face's TokenClassificationPipeline reports them.
//
//	tg, err := tagger.Open(modelDir)            // HF folder, ONNX export or PEFT adapter
//	ents, err := tg.Tag(ctx, "Famotidine-associated delirium.")
//	err = tg.AddAdapter("chemical", dir)        // hot-swap adapters on one base
//	ents, err = tg.Tag(ctx, text, tagger.WithAllAdapters())
//
// Pipeline: HF-exact tokenisation (core/tokenize), word-aligned windows of
// 256 tokens with a 50-token stride, length-sorted batches, a Backend (ONNX
// Runtime, ort*.go, running the graphs core/onnx exports; or the pure-Go
// Engine over core/model), each token's softmax scores taken from the window
// where it is farthest from an edge, then one aggregation pass over the
// whole document (none / simple / first / average / max). Entity offsets
// are code points (Start/End) and bytes (StartByte/EndByte). Empty or
// whitespace-only text gives no entities; invalid UTF-8 is ErrInvalidUTF8.
// MergeAdapter folds a LoRA adapter into an HF checkpoint (openmed merge).
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
