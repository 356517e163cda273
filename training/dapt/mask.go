package dapt

import (
	"math/rand/v2"

	"github.com/openmed/openmed/training/loss"
)

// MaskOptions are DataCollatorForLanguageModeling's masking rates.
type MaskOptions struct {
	// Prob is mlm_probability (0.15): the share of non-special tokens selected.
	Prob float64
	// MaskFrac is the share of selected tokens replaced by [MASK] (0.8).
	MaskFrac float64
	// RandomFrac is the share replaced by a random token (0.1); the rest
	// (0.1) is kept unchanged.
	RandomFrac float64
}

// DefaultMaskOptions returns BERT's 15% / 80-10-10 masking.
func DefaultMaskOptions() MaskOptions { return MaskOptions{Prob: 0.15, MaskFrac: 0.8, RandomFrac: 0.1} }

// Masker applies dynamic MLM masking.
type Masker struct {
	Opts MaskOptions
	// MaskID is the [MASK] id; VocabSize bounds random replacements.
	MaskID    int32
	VocabSize int
	// Special ids are never selected ([CLS], [SEP], [PAD]).
	Special map[int32]bool
}

// Mask returns the model input and the labels for ids: each non-special token
// is selected with probability Prob; a selected token's label is its id (the
// others get -100) and its input becomes [MASK] with probability MaskFrac,
// a uniformly random vocabulary id with probability RandomFrac, and stays
// itself otherwise (HF torch_mask_tokens: replaced = bernoulli(0.8), random =
// bernoulli(0.5) of the rest).
func (m *Masker) Mask(ids []int32, r *rand.Rand) (input, labels []int32) {
	input = append([]int32(nil), ids...)
	labels = make([]int32, len(ids))
	randShare := 0.0
	if m.Opts.MaskFrac < 1 {
		randShare = m.Opts.RandomFrac / (1 - m.Opts.MaskFrac)
	}
	for i, id := range ids {
		labels[i] = loss.IgnoreIndex
		if m.Special[id] || r.Float64() >= m.Opts.Prob {
			continue
		}
		labels[i] = id
		switch {
		case r.Float64() < m.Opts.MaskFrac:
			input[i] = m.MaskID
		case r.Float64() < randShare:
			input[i] = int32(r.IntN(m.VocabSize))
		}
	}
	return input, labels
}
