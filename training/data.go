package training

import (
	"fmt"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training/loss"
)

// DataOptions controls how CoNLL sentences become token-classification
// examples (HF run_ner.py tokenize_and_align_labels, with the paper's long-
// sentence windows).
type DataOptions struct {
	// MaxLen is the window length in tokens, specials included (paper: 256).
	MaxLen int
	// Stride is the overlap between consecutive windows (paper: 50).
	Stride int
	// LabelAllSubtokens labels every sub-token of a word (HF
	// label_all_tokens, B-X continuations become I-X) instead of the first
	// only; the other positions get -100.
	LabelAllSubtokens bool
	// AllowUnknownTags accepts tags absent from the label set: they are
	// ignored by the loss (-100) and reported through Warn, instead of being
	// an error naming file:line and the tag.
	AllowUnknownTags bool
	// Warn receives warnings (unknown tags when allowed); nil discards them.
	Warn func(msg string)
}

// DefaultDataOptions returns the paper's windowing: 256 tokens, 50 overlap,
// first-sub-token labels, unknown tags an error.
func DefaultDataOptions() DataOptions {
	return DataOptions{MaxLen: tokenize.DefaultWindowLen, Stride: tokenize.DefaultStride}
}

// Example is one window of one sentence, ready to batch.
type Example struct {
	// Sentence indexes Dataset.Sentences.
	Sentence int
	// IDs are the window's token ids, specials included.
	IDs []int32
	// Labels are class ids, loss.IgnoreIndex (-100) where no label applies.
	Labels []int32
	// Owned[i] is the word whose prediction is read at position i (its first
	// sub-token, in the window that owns the word), or -1.
	Owned []int
}

// Dataset is an encoded CoNLL file.
type Dataset struct {
	// Name is the source file (error messages).
	Name      string
	Sentences []corpus.Sentence
	Examples  []Example
	Labels    *LabelSet
}

// Tokens is the number of tokens over all examples (specials included).
func (d *Dataset) Tokens() int {
	n := 0
	for _, e := range d.Examples {
		n += len(e.IDs)
	}
	return n
}

// Words returns every sentence's words.
func (d *Dataset) Words() [][]string {
	out := make([][]string, len(d.Sentences))
	for i, s := range d.Sentences {
		out[i] = s.Words()
	}
	return out
}

// Gold returns every sentence's gold tags as in the file.
func (d *Dataset) Gold() [][]string {
	out := make([][]string, len(d.Sentences))
	for i, s := range d.Sentences {
		out[i] = s.Tags()
	}
	return out
}

// LoadDataset reads a CoNLL file and encodes it (see BuildDataset). An empty
// file is an error.
func LoadDataset(path string, tok *tokenize.Tokenizer, labels *LabelSet, o DataOptions) (*Dataset, error) {
	c, err := corpus.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return BuildDataset(c, tok, labels, o)
}

// BuildDataset encodes every sentence of c with the tokenizer's pre-split
// words mode (HF is_split_into_words) and splits sentences longer than
// o.MaxLen tokens into word-aligned windows overlapping by o.Stride tokens
// (tokenize.WordAlignedWindows). Each word is labelled in exactly one window,
// the one where it sits farthest from a cut edge (see windowOwners), on its
// first sub-token; other positions and specials get -100. A tag absent from
// labels is an error naming file:line and the tag unless o.AllowUnknownTags.
func BuildDataset(c *corpus.Corpus, tok *tokenize.Tokenizer, labels *LabelSet, o DataOptions) (*Dataset, error) {
	if len(c.Sentences) == 0 {
		return nil, fmt.Errorf("%s: no sentences (empty file?)", c.Name)
	}
	d := &Dataset{Name: c.Name, Sentences: c.Sentences, Labels: labels}
	unknown := 0
	for si, s := range c.Sentences {
		wins, err := encodeWords(tok, s.Words(), o.MaxLen, o.Stride)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", c.Name, s.Line, err)
		}
		ids := make([]int32, len(s.Tokens))
		for wi, t := range s.Tokens {
			id, ok := labels.ID(t.Tag)
			if !ok {
				if !o.AllowUnknownTags {
					return nil, fmt.Errorf("%s:%d: tag %q is not in the training label set %v (pass AllowUnknownTags / --allow-unknown-tags to ignore it)",
						c.Name, s.Line+wi, t.Tag, labels.Names)
				}
				if o.Warn != nil && unknown < 10 {
					o.Warn(fmt.Sprintf("%s:%d: tag %q is not in the training label set: ignored by the loss", c.Name, s.Line+wi, t.Tag))
				}
				unknown++
				id = loss.IgnoreIndex
			}
			ids[wi] = int32(id)
		}
		for _, w := range wins {
			ex := Example{Sentence: si, IDs: w.ids, Owned: w.owned, Labels: make([]int32, len(w.ids))}
			for i := range ex.Labels {
				ex.Labels[i] = loss.IgnoreIndex
				if wid := w.owned[i]; wid >= 0 {
					ex.Labels[i] = ids[wid]
				}
			}
			if o.LabelAllSubtokens {
				for i, wid := range w.words {
					if wid >= 0 && w.owned[i] < 0 && w.ownsWord[wid] && ids[wid] >= 0 {
						ex.Labels[i] = int32(labels.continuation(int(ids[wid])))
					}
				}
			}
			d.Examples = append(d.Examples, ex)
		}
	}
	if unknown > 0 && o.Warn != nil {
		o.Warn(fmt.Sprintf("%s: %d tags not in the training label set were ignored", c.Name, unknown))
	}
	return d, nil
}
