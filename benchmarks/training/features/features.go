// Package features turns CoNLL sentences into the token-classification
// features both sides of openmed's PyTorch-peer comparisons train on, and
// writes and reads them as JSON for the Python peers.
//
// Labelling follows Hugging Face's run_ner.py / token-classification course
// convention (label_all_tokens=False): the first sub-token of every word
// carries the word's BIO label, continuation sub-tokens and the special
// [CLS]/[SEP] tokens carry -100 (torch CrossEntropyLoss ignore_index).
// Sentences longer than MaxLen tokens are split into word-aligned windows
// (tokenize.WordAlignedWindows; the paper's 256 tokens with 50 overlap).
package features

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training/loss"
)

// Feature is one model input: a window of one sentence.
type Feature struct {
	// Sent is the index of the sentence in its corpus.
	Sent int `json:"sent"`
	// IDs are the token ids, specials included, unpadded.
	IDs []int32 `json:"ids"`
	// Labels are label ids at first sub-tokens and -100 elsewhere.
	Labels []int32 `json:"labels"`
	// Words holds, at each first sub-token, the index of its word in the
	// sentence, and -1 elsewhere (the positions whose prediction counts).
	Words []int `json:"words"`
}

// Options configure Build.
type Options struct {
	// MaxLen is the window length in tokens, specials included (paper: 256).
	MaxLen int
	// Stride is the overlap between consecutive windows (paper: 50).
	Stride int
	// MapID, when non-nil, rewrites every token id (used to fit a real
	// vocabulary's ids into a tiny fixture vocabulary).
	MapID func(id int32) int32
}

// DefaultOptions are the paper's windows: 256 tokens, 50 overlap.
func DefaultOptions() Options {
	return Options{MaxLen: tokenize.DefaultWindowLen, Stride: 50}
}

// Build tokenizes every sentence with tok (HF is_split_into_words) and
// returns its windows as features. label2id maps BIO tags to class ids; an
// unknown tag is an error naming the corpus line.
func Build(tok *tokenize.Tokenizer, sents []corpus.Sentence, name string, label2id map[string]int, o Options) ([]Feature, error) {
	if o.MaxLen < 3 || o.Stride < 0 || o.Stride >= o.MaxLen-2 {
		return nil, fmt.Errorf("features: bad window %d/%d (MaxLen ≥ 3, 0 ≤ Stride < MaxLen−2)", o.MaxLen, o.Stride)
	}
	var out []Feature
	for si, s := range sents {
		tags := s.Tags()
		lab := make([]int32, len(tags))
		for i, t := range tags {
			id, ok := label2id[t]
			if !ok {
				return nil, fmt.Errorf("%s:%d: tag %q is not a model label", name, s.Line+i, t)
			}
			lab[i] = int32(id)
		}
		enc, err := tok.EncodeWords(s.Words())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: tokenize: %w", name, s.Line, err)
		}
		wins := []tokenize.Window{{Encoding: enc, Start: 0, End: enc.Len()}}
		if enc.Len() > o.MaxLen {
			if wins, err = tokenize.WordAlignedWindows(enc, o.MaxLen, o.Stride); err != nil {
				return nil, fmt.Errorf("%s:%d: windows: %w", name, s.Line, err)
			}
		}
		for _, w := range wins {
			out = append(out, feature(si, w.Encoding, lab, o.MapID))
		}
	}
	return out, nil
}

func feature(sent int, e *tokenize.Encoding, lab []int32, mapID func(int32) int32) Feature {
	n := e.Len()
	f := Feature{Sent: sent, IDs: make([]int32, n), Labels: make([]int32, n), Words: make([]int, n)}
	prev := -1
	for i := 0; i < n; i++ {
		f.IDs[i] = e.IDs[i]
		if mapID != nil {
			f.IDs[i] = mapID(e.IDs[i])
		}
		w := e.WordIDs[i]
		f.Labels[i], f.Words[i] = loss.IgnoreIndex, -1
		// First sub-token of a word: the word id changes (a window that starts
		// inside a word labels that word's first sub-token in the window, as HF).
		if w >= 0 && w != prev {
			f.Labels[i], f.Words[i] = lab[w], w
		}
		prev = w
	}
	return f
}

// Label2ID inverts a checkpoint config's id2label.
func Label2ID(cfg *checkpoint.Config) map[string]int {
	m := map[string]int{}
	for id, l := range cfg.ID2Label {
		m[l] = id
	}
	return m
}

// Tokens counts the token positions of feats (specials included, no padding).
func Tokens(feats []Feature) int {
	n := 0
	for _, f := range feats {
		n += len(f.IDs)
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

// Padded is a batch of features right-padded to the longest one, the way
// DataCollatorForTokenClassification pads (ids with the pad id, attention
// mask 0, labels -100), flattened row-major [Batch×SeqLen].
type Padded struct {
	Batch, SeqLen int
	IDs           []int32
	Mask          []float32
	Labels        []int32
}

// Pad builds a Padded batch from feats.
func Pad(feats []Feature, padID int32) Padded {
	L := 0
	for _, f := range feats {
		L = max(L, len(f.IDs))
	}
	p := Padded{Batch: len(feats), SeqLen: L, IDs: make([]int32, len(feats)*L), Mask: make([]float32, len(feats)*L), Labels: make([]int32, len(feats)*L)}
	for i, f := range feats {
		for j := 0; j < L; j++ {
			k := i*L + j
			if j < len(f.IDs) {
				p.IDs[k], p.Mask[k], p.Labels[k] = f.IDs[j], 1, f.Labels[j]
			} else {
				p.IDs[k], p.Labels[k] = padID, loss.IgnoreIndex
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
