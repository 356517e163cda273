package training

import (
	"fmt"
	"strings"

	"github.com/openmed/openmed/core/tokenize"
)

// Packing says which sentences share windows.
type Packing int

const (
	// PackDocuments packs the consecutive sentences of a document into
	// 256/50 windows (OpenMed NER §3.6): documents are delimited by
	// -DOCSTART- lines where a corpus has them, else the file's sentences
	// follow each other in corpus order. Sentences are joined without
	// separators, as the tagger sees a paragraph of raw text. The zero
	// value, and the packing of evaluation windows.
	PackDocuments Packing = iota
	// PackSentences windows every sentence alone (HF run_ner.py's
	// tokenize_and_align_labels features).
	PackSentences
	// PackMixed trains on both: every document's packed windows and every
	// sentence alone (twice the tokens per epoch), so the model tags a
	// sentence without its neighbours as well as a paragraph; evaluation
	// windows stay documents. Training's default (Config.Packing): MiniLM on
	// BC5CDR-Chem, at equal tokens, went from 75.2 to 80.0 test F1, and
	// from 71.8 to 81.1 on raw sentences (benchmarks/recipe).
	PackMixed
)

// String is the flag spelling.
func (p Packing) String() string {
	switch p {
	case PackSentences:
		return "sentences"
	case PackMixed:
		return "mixed"
	}
	return "documents"
}

// MarshalText implements encoding.TextMarshaler.
func (p Packing) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("documents" or
// "sentences"; empty means documents).
func (p *Packing) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "", "documents", "document", "docs":
		*p = PackDocuments
	case "sentences", "sentence":
		*p = PackSentences
	case "mixed":
		*p = PackMixed
	default:
		return fmt.Errorf("training: unknown packing %q (want documents, sentences or mixed)", b)
	}
	return nil
}

// wordWindow is one window of an encoded run of words.
type wordWindow struct {
	ids []int32
	// owned[i] is the word (base + index in the run) read at position i —
	// its first sub-token, in the window that predicts it — else -1.
	owned []int
	// cont[i] is the word of a later sub-token at i that this window
	// predicts (LabelAllSubtokens), else -1.
	cont []int
}

// encodeWords encodes pre-split words (one sentence, or the sentences of a
// document one after the other) and cuts them into word-aligned windows of
// at most maxLen tokens with stride overlap. Which window predicts which
// token is tokenize.PredictingWindows, the rule the tagger stitches by. base
// is added to the word indices stored in owned and cont. A word with no
// sub-token at all (one made only of characters the normaliser strips) is
// owned by no window: prediction gives it "O".
func encodeWords(tok *tokenize.Tokenizer, words []string, base, maxLen, stride int) ([]wordWindow, error) {
	enc, err := tok.EncodeWords(words)
	if err != nil {
		return nil, err
	}
	wins, err := tokenize.WordAlignedWindows(enc, maxLen, stride)
	if err != nil {
		return nil, err
	}
	pre := 0
	for pre < enc.Len() && enc.SequenceIDs[pre] < 0 {
		pre++
	}
	out := make([]wordWindow, len(wins))
	for k, w := range wins {
		ww := wordWindow{ids: w.IDs, owned: make([]int, w.Len()), cont: make([]int, w.Len())}
		for i := range ww.owned {
			ww.owned[i], ww.cont[i] = -1, -1
		}
		out[k] = ww
	}
	for src, k := range tokenize.PredictingWindows(enc, wins) {
		wid := enc.WordIDs[src]
		if k < 0 || wid < 0 {
			continue
		}
		if wid >= len(words) {
			return nil, fmt.Errorf("tokenizer word id %d out of range (%d words)", wid, len(words))
		}
		pos := pre + src - wins[k].Start
		if src == 0 || enc.WordIDs[src-1] != wid {
			out[k].owned[pos] = base + wid
		} else {
			out[k].cont[pos] = base + wid
		}
	}
	return out, nil
}
