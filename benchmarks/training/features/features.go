// Package features moves the trainer's token-classification examples
// (training.BuildDataset: first-sub-token labels, 256/50 word-aligned
// windows) between openmed and its Python peers: padding into batches the
// way both sides collate, and JSON files the peers read and write.
package features

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loss"
)

// Padded is a batch of examples right-padded to the longest one, the way
// DataCollatorForTokenClassification pads (ids with the pad id, attention
// mask 0, labels -100), flattened row-major [Batch×SeqLen].
type Padded struct {
	Batch, SeqLen int
	IDs           []int32
	Mask          []float32
	Labels        []int32
}

// Pad builds a Padded batch from exs.
func Pad(exs []training.Example, padID int32) Padded {
	L := 0
	for _, e := range exs {
		L = max(L, len(e.IDs))
	}
	p := Padded{Batch: len(exs), SeqLen: L, IDs: make([]int32, len(exs)*L), Mask: make([]float32, len(exs)*L), Labels: make([]int32, len(exs)*L)}
	for i, e := range exs {
		for j := 0; j < L; j++ {
			k := i*L + j
			switch {
			case j >= len(e.IDs):
				p.IDs[k], p.Labels[k] = padID, loss.IgnoreIndex
			case e.Labels == nil:
				p.IDs[k], p.Mask[k], p.Labels[k] = e.IDs[j], 1, loss.IgnoreIndex
			default:
				p.IDs[k], p.Mask[k], p.Labels[k] = e.IDs[j], 1, e.Labels[j]
			}
		}
	}
	return p
}

// Rows returns a flat [Batch×SeqLen] slice as Batch rows (for JSON).
func Rows[T any](flat []T, batch, seqLen int) [][]T {
	out := make([][]T, batch)
	for i := range out {
		out[i] = flat[i*seqLen : (i+1)*seqLen]
	}
	return out
}

// Tokens counts the token positions of exs (specials included, no padding).
func Tokens(exs []training.Example) int {
	n := 0
	for _, e := range exs {
		n += len(e.IDs)
	}
	return n
}

// WriteJSON writes v as JSON to path atomically (checkpoint.WriteFileAtomic).
func WriteJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("features: encode %s: %w", path, err)
	}
	return checkpoint.WriteFileAtomic(path, b)
}

// ReadJSON reads path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
