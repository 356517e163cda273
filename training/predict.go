package training

import (
	"fmt"
	"sort"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/scheme"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training/loss"
)

// PredictOptions are the inference settings of Predict.
type PredictOptions struct {
	// MaxLen and Stride are the windowing (paper: 256 / 50).
	MaxLen, Stride int
	// BatchSize is the number of windows per forward pass.
	BatchSize int
}

// DefaultPredictOptions returns 256-token windows, 50 overlap, batches of 32.
func DefaultPredictOptions() PredictOptions {
	return PredictOptions{MaxLen: tokenize.DefaultWindowLen, Stride: tokenize.DefaultStride, BatchSize: 32}
}

// Predict tags pre-split sentences with a token-classification model, each
// sentence on its own (PredictDocuments packs them as training does): the
// words are encoded as in training, long sentences cut into 256/50 windows,
// each word predicted from its window (tokenize.PredictingWindows; first
// sub-token's argmax), words without sub-tokens get "O", and each sentence
// is repaired to valid IOB2 (scheme.RepairIOB2). Class names come from the
// model config's id2label.
func Predict(m *model.Model, tok *tokenize.Tokenizer, sentences [][]string) ([][]string, error) {
	return PredictWith(m, tok, sentences, DefaultPredictOptions())
}

// PredictWith is Predict with explicit options.
func PredictWith(m *model.Model, tok *tokenize.Tokenizer, sentences [][]string, o PredictOptions) ([][]string, error) {
	groups := make([][2]int, len(sentences))
	for i := range groups {
		groups[i] = [2]int{i, i + 1}
	}
	return predictGroups(m, tok, sentences, groups, o)
}

// PredictDocuments is Predict for the sentences of one document, packed into
// shared windows as BuildDataset packs them (PackDocuments).
func PredictDocuments(m *model.Model, tok *tokenize.Tokenizer, sentences [][]string, o PredictOptions) ([][]string, error) {
	return predictGroups(m, tok, sentences, [][2]int{{0, len(sentences)}}, o)
}

func predictGroups(m *model.Model, tok *tokenize.Tokenizer, sentences [][]string, groups [][2]int, o PredictOptions) ([][]string, error) {
	if err := CheckVocab(tok, m); err != nil {
		return nil, err
	}
	lens := make([]int, len(sentences))
	for i, s := range sentences {
		lens[i] = len(s)
	}
	base := wordBase(lens)
	var exs []Example
	for _, g := range groups {
		var words []string
		for _, s := range sentences[g[0]:g[1]] {
			words = append(words, s...)
		}
		if len(words) == 0 {
			continue
		}
		wins, err := encodeWords(tok, words, base[g[0]], o.MaxLen, o.Stride)
		if err != nil {
			return nil, fmt.Errorf("sentence %d: %w", g[0], err)
		}
		for _, w := range wins {
			exs = append(exs, Example{IDs: w.ids, Owned: w.owned})
		}
	}
	pred, _, err := predictExamples(m, exs, lens, padID(tok), o.BatchSize)
	return pred, err
}

// padID is the tokenizer's [PAD] id (0 when it has none, BERT's convention).
func padID(tok *tokenize.Tokenizer) int32 {
	if p := tok.Special().PAD; p >= 0 {
		return p
	}
	return 0
}

// CheckVocab reports a tokenizer whose ids can exceed the model's embedding
// table, naming both sizes.
func CheckVocab(tok *tokenize.Tokenizer, m *model.Model) error {
	if tv, mv := tok.VocabSize(), m.Config.VocabSize; tv > mv {
		return fmt.Errorf("tokenizer/model mismatch: the tokenizer has %d tokens but the model's vocab_size is %d (ids ≥ %d have no embedding); use the tokenizer the model was trained with", tv, mv, mv)
	}
	return nil
}

// predictExamples runs the model in eval mode over examples and stitches the
// owned positions back to the words of sentences of sentLens (owned indices
// count words over all sentences, Dataset.WordBase); it also returns the mean loss over labelled
// positions (0 when examples carry no labels).
func predictExamples(m *model.Model, exs []Example, sentLens []int, pad int32, batchSize int) ([][]string, float64, error) {
	names := m.Config.Labels()
	if len(names) == 0 {
		return nil, 0, fmt.Errorf("training: model config has no id2label")
	}
	defer m.InferenceMode()()
	base := wordBase(sentLens)
	pred := make([][]string, len(sentLens))
	for i, n := range sentLens {
		pred[i] = make([]string, n)
		for j := range pred[i] {
			pred[i][j] = "O"
		}
	}
	if batchSize <= 0 {
		batchSize = 32
	}
	var lossSum float64
	var lossN int
	C := len(names)
	for _, idx := range sequentialBatches(exampleLengths(exs), batchSize) {
		group := make([]*Example, len(idx))
		for i, k := range idx {
			group[i] = &exs[k]
		}
		b, labels := collate(group, pad)
		logits, err := m.Forward(b)
		if err != nil {
			return nil, 0, err
		}
		if l, n := loss.CrossEntropy(logits.Data, b.Tokens(), C, labels, 0, nil); n > 0 {
			lossSum += float64(l) * float64(n)
			lossN += n
		}
		for i, e := range group {
			for j, w := range e.Owned {
				if w < 0 {
					continue
				}
				row := logits.Data[(i*b.SeqLen+j)*C : (i*b.SeqLen+j+1)*C]
				best := 0
				for c := 1; c < C; c++ {
					if row[c] > row[best] {
						best = c
					}
				}
				si := sort.Search(len(sentLens), func(i int) bool { return base[i+1] > w })
				pred[si][w-base[si]] = names[best]
			}
		}
	}
	for i := range pred {
		pred[i] = scheme.RepairIOB2(pred[i])
	}
	mean := 0.0
	if lossN > 0 {
		mean = lossSum / float64(lossN)
	}
	return pred, mean, nil
}

// EvalResult is the evaluation of a model on a labelled file.
type EvalResult struct {
	// Default is seqeval's default-mode report (the paper's entity-level
	// exact-match micro-F1 is Default.Micro.F1).
	Default *metrics.Report `json:"default"`
	// Strict is seqeval's mode='strict' report with the IOB2 scheme.
	Strict *metrics.Report `json:"strict"`
	// Loss is the mean token-classification loss (no smoothing) over
	// labelled positions.
	Loss float64 `json:"loss"`
	// Pred holds the repaired predicted tags, one slice per sentence.
	Pred [][]string `json:"-"`
}

// Evaluate predicts d's sentences and scores them with core/metrics against
// the original CoNLL tags (every gold word gets a prediction), in seqeval's
// default and strict IOB2 modes.
func Evaluate(m *model.Model, d *Dataset, pad int32, batchSize int) (*EvalResult, error) {
	pred, l, err := predictExamples(m, d.Examples, sentenceLens(d.Sentences), pad, batchSize)
	if err != nil {
		return nil, err
	}
	gold := d.Gold()
	def, err := metrics.Evaluate(gold, pred)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	strict, err := metrics.Evaluate(gold, pred, metrics.WithMode(scheme.Strict), metrics.WithScheme(scheme.IOB2))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	return &EvalResult{Default: def, Strict: strict, Loss: l, Pred: pred}, nil
}

// PredictionsCorpus returns d's sentences with predicted tags (for writing a
// CoNLL prediction file).
func PredictionsCorpus(d *Dataset, pred [][]string) []corpus.Sentence {
	out := make([]corpus.Sentence, len(d.Sentences))
	for i, s := range d.Sentences {
		ns := corpus.Sentence{Doc: s.Doc, Line: s.Line, Tokens: make([]corpus.Token, len(s.Tokens))}
		for j, t := range s.Tokens {
			ns.Tokens[j] = corpus.Token{Text: t.Text, Tag: pred[i][j]}
		}
		out[i] = ns
	}
	return out
}

// EvaluateFile scores a token-classification model on a CoNLL file: the
// label set is the model's id2label, the file is encoded with o (tags the
// model does not know are an error unless o.AllowUnknownTags; either way the
// gold is the file's tags) and predicted with windows, as Evaluate does.
func EvaluateFile(m *model.Model, tok *tokenize.Tokenizer, path string, o DataOptions, batchSize int) (*EvalResult, error) {
	labels, err := NewLabelSet(m.Config.Labels())
	if err != nil {
		return nil, err
	}
	if err := CheckVocab(tok, m); err != nil {
		return nil, err
	}
	d, err := LoadDataset(path, tok, labels, o)
	if err != nil {
		return nil, err
	}
	return Evaluate(m, d, padID(tok), batchSize)
}
