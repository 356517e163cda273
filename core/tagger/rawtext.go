package tagger

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/scheme"
)

// RawTextOptions say how EvaluateRawText turns a CoNLL corpus into text.
type RawTextOptions struct {
	// Paragraph is how many consecutive sentences of a document (never
	// across -DOCSTART-) are joined into one text; 1 or 0 tags sentence by
	// sentence.
	Paragraph int `json:"paragraph"`
	// BatchSize is the number of texts per TagBatch call (0: 64).
	BatchSize int `json:"batch_size,omitempty"`
}

// RawTextResult is entity-level exact-match scoring of a tagger on raw
// text: an entity counts when its type and its character span equal a gold
// entity's.
type RawTextResult struct {
	Texts     int     `json:"texts"`
	Gold      int     `json:"gold"`
	Predicted int     `json:"predicted"`
	Correct   int     `json:"correct"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// InsideWord counts predicted entities that start or end inside a word
	// of the corpus's tokenisation.
	InsideWord int `json:"inside_word"`
}

// charSpan is one entity by type and code-point range.
type charSpan struct {
	typ        string
	start, end int
}

// EvaluateRawText scores t as a user meets it: the words of each sentence
// joined with single spaces, Paragraph sentences of a document joined with
// single spaces into one text, tagged with opts (the tagger's defaults when
// none), and each predicted entity compared with the gold entities (IOB2,
// seqeval's default decoding) by type and exact character span. Micro
// precision, recall and F1 over all texts.
func EvaluateRawText(ctx context.Context, t *Tagger, c *corpus.Corpus, o RawTextOptions, opts ...TagOption) (*RawTextResult, error) {
	units, err := rawTexts(c, max(o.Paragraph, 1))
	if err != nil {
		return nil, err
	}
	bs := o.BatchSize
	if bs <= 0 {
		bs = 64
	}
	texts := make([]string, len(units))
	for i, u := range units {
		texts[i] = u.text
	}
	pred := make([][]Entity, 0, len(units))
	for s := 0; s < len(texts); s += bs {
		ents, err := t.TagBatch(ctx, texts[s:min(s+bs, len(texts))], opts...)
		if err != nil {
			return nil, err
		}
		pred = append(pred, ents...)
	}
	return scoreRaw(units, pred), nil
}

// rawText is one text built from CoNLL sentences, its gold entities and its
// word boundaries (code points).
type rawText struct {
	text         string
	gold         []charSpan
	starts, ends map[int]bool
}

// rawTexts joins the words of each sentence, and per consecutive sentences
// of a document, with single spaces.
func rawTexts(c *corpus.Corpus, per int) ([]rawText, error) {
	var out []rawText
	for _, doc := range c.Documents() {
		for i := 0; i < len(doc); i += per {
			var b strings.Builder
			u := rawText{starts: map[int]bool{}, ends: map[int]bool{}}
			pos := 0
			for _, s := range doc[i:min(i+per, len(doc))] {
				words := s.Words()
				off := make([][2]int, len(words))
				for k, w := range words {
					if pos > 0 {
						b.WriteByte(' ')
						pos++
					}
					n := utf8.RuneCountInString(w)
					off[k] = [2]int{pos, pos + n}
					u.starts[pos], u.ends[pos+n] = true, true
					b.WriteString(w)
					pos += n
				}
				tags := s.Tags()
				for k, tg := range tags {
					if _, _, ok := scheme.ParseTag(tg); !ok {
						return nil, fmt.Errorf("%s:%d: invalid tag %q", c.Name, s.Line+k, tg)
					}
				}
				for _, sp := range scheme.Decode(tags, scheme.Default, scheme.IOB2) {
					u.gold = append(u.gold, charSpan{sp.Type, off[sp.Start][0], off[sp.End-1][1]})
				}
			}
			if pos > 0 {
				u.text = b.String()
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// scoreRaw matches predicted entities to gold ones by type and exact span.
func scoreRaw(units []rawText, pred [][]Entity) *RawTextResult {
	r := &RawTextResult{Texts: len(units)}
	for i, u := range units {
		want := map[charSpan]bool{}
		for _, g := range u.gold {
			want[g] = true
		}
		r.Gold += len(want)
		seen := map[charSpan]bool{}
		for _, en := range pred[i] {
			p := charSpan{en.Label, en.Start, en.End}
			if seen[p] {
				continue
			}
			seen[p] = true
			r.Predicted++
			if want[p] {
				r.Correct++
			}
			if !u.starts[en.Start] || !u.ends[en.End] {
				r.InsideWord++
			}
		}
	}
	r.Precision, r.Recall, r.F1 = prf(r.Correct, r.Predicted, r.Gold)
	return r
}

// prf is micro precision, recall and F1 (0 where undefined, as seqeval).
func prf(correct, pred, gold int) (p, r, f float64) {
	if pred > 0 {
		p = float64(correct) / float64(pred)
	}
	if gold > 0 {
		r = float64(correct) / float64(gold)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}
