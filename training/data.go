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
	// Packing says which sentences share windows (zero value: documents;
	// training.Config defaults to mixed).
	Packing Packing
	// Warn receives warnings (unknown tags when allowed); nil discards them.
	Warn func(msg string)
}

// DefaultDataOptions returns the paper's windowing: 256 tokens, 50 overlap,
// first-sub-token labels, unknown tags an error.
func DefaultDataOptions() DataOptions {
	return DataOptions{MaxLen: tokenize.DefaultWindowLen, Stride: tokenize.DefaultStride}
}

// Example is one window of a document (or of a sentence), ready to batch.
type Example struct {
	// IDs are the window's token ids, specials included.
	IDs []int32
	// Labels are class ids, loss.IgnoreIndex (-100) where no label applies.
	Labels []int32
	// Owned[i] is the word whose prediction is read at position i (its first
	// sub-token, in the window that predicts the word), or -1. Words are
	// numbered over the whole dataset, sentence after sentence
	// (Dataset.WordBase).
	Owned []int
}

// Dataset is an encoded CoNLL file.
type Dataset struct {
	// Name is the source file (error messages).
	Name      string
	Sentences []corpus.Sentence
	Examples  []Example
	Labels    *LabelSet
	// WordBase[s] is the dataset-wide number of sentence s's first word
	// (len(Sentences)+1 entries).
	WordBase []int
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

// BuildDataset encodes c for token classification: the sentences of each
// document (o.Packing) are encoded one after the other with the tokenizer's
// pre-split words mode (HF is_split_into_words) and cut into word-aligned
// windows of o.MaxLen tokens overlapping by o.Stride
// (tokenize.WordAlignedWindows). Each word is labelled in exactly one
// window, the one tokenize.PredictingWindows gives it, on its first
// sub-token; other positions and specials get -100. A tag absent from labels
// is an error naming file:line and the tag unless o.AllowUnknownTags.
func BuildDataset(c *corpus.Corpus, tok *tokenize.Tokenizer, labels *LabelSet, o DataOptions) (*Dataset, error) {
	if len(c.Sentences) == 0 {
		return nil, fmt.Errorf("%s: no sentences (empty file?)", c.Name)
	}
	d := &Dataset{Name: c.Name, Sentences: c.Sentences, Labels: labels, WordBase: wordBase(sentenceLens(c.Sentences))}
	tags := make([]int32, d.WordBase[len(c.Sentences)])
	unknown := 0
	for si, s := range c.Sentences {
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
			tags[d.WordBase[si]+wi] = int32(id)
		}
	}
	for _, g := range packGroups(c.Sentences, o.Packing) {
		var words []string
		for _, s := range c.Sentences[g[0]:g[1]] {
			words = append(words, s.Words()...)
		}
		if len(words) == 0 {
			continue
		}
		wins, err := encodeWords(tok, words, d.WordBase[g[0]], o.MaxLen, o.Stride)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", c.Name, c.Sentences[g[0]].Line, err)
		}
		for _, w := range wins {
			ex := Example{IDs: w.ids, Owned: w.owned, Labels: make([]int32, len(w.ids))}
			for i := range ex.Labels {
				ex.Labels[i] = loss.IgnoreIndex
				if gw := w.owned[i]; gw >= 0 {
					ex.Labels[i] = tags[gw]
				} else if gw := w.cont[i]; gw >= 0 && o.LabelAllSubtokens && tags[gw] >= 0 {
					ex.Labels[i] = int32(labels.continuation(int(tags[gw])))
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

// packGroups returns the [first, end) sentence ranges that share windows:
// runs of one Sentence.Doc (PackDocuments), single sentences
// (PackSentences), or both (PackMixed: the documents, then the sentences).
func packGroups(ss []corpus.Sentence, p Packing) [][2]int {
	if p == PackMixed {
		return append(packGroups(ss, PackDocuments), packGroups(ss, PackSentences)...)
	}
	var out [][2]int
	for i := 0; i < len(ss); {
		j := i + 1
		for p == PackDocuments && j < len(ss) && ss[j].Doc == ss[i].Doc {
			j++
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

func sentenceLens(ss []corpus.Sentence) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		out[i] = s.Len()
	}
	return out
}

// wordBase returns the running sum of lens (len(lens)+1 entries).
func wordBase(lens []int) []int {
	out := make([]int, len(lens)+1)
	for i, n := range lens {
		out[i+1] = out[i] + n
	}
	return out
}
