package tokenize

import (
	"fmt"
	"unicode/utf8"
)

// wordPiece is HF's models.WordPiece: for each word, repeatedly take the
// longest vocabulary entry starting at the cursor (continuations looked up
// with the `##` prefix); if some position has no match, or the word is longer
// than max_input_chars_per_word code points, the whole word becomes unk.
type wordPiece struct {
	vocab      map[string]int32
	cont       map[string]int32 // entries starting with prefix, prefix removed
	prefix     string
	unk        string
	unkID      int32
	maxChars   int
	maxLen     int
	maxContLen int
	ids        []string
}

func newWordPiece(vocab map[string]int32, unk, prefix string, maxChars int) (*wordPiece, error) {
	w := &wordPiece{vocab: vocab, cont: make(map[string]int32), prefix: prefix, unk: unk, maxChars: maxChars}
	id, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("model.unk_token %q is not in model.vocab", unk)
	}
	w.unkID = id
	maxID := int32(-1)
	for k, v := range vocab {
		if v < 0 {
			return nil, fmt.Errorf("model.vocab[%q]: negative id %d", k, v)
		}
		if v > maxID {
			maxID = v
		}
		if len(k) > w.maxLen {
			w.maxLen = len(k)
		}
		if prefix != "" && len(k) > len(prefix) && k[:len(prefix)] == prefix {
			w.cont[k[len(prefix):]] = v
			if len(k)-len(prefix) > w.maxContLen {
				w.maxContLen = len(k) - len(prefix)
			}
		}
	}
	if int(maxID) > 2*len(vocab)+1024 {
		return nil, fmt.Errorf("model.vocab: ids up to %d for %d entries (ids must be dense)", maxID, len(vocab))
	}
	if prefix == "" {
		w.cont = vocab
		w.maxContLen = w.maxLen
	}
	w.ids = make([]string, maxID+1)
	for k, v := range vocab {
		w.ids[v] = k
	}
	return w, nil
}

func (w *wordPiece) kind() ModelKind { return ModelWordPiece }
func (w *wordPiece) size() int       { return len(w.vocab) }

func (w *wordPiece) tokenToID(tok string) (int32, bool) {
	id, ok := w.vocab[tok]
	return id, ok
}

func (w *wordPiece) idToToken(id int32) (string, bool) {
	if id < 0 || int(id) >= len(w.ids) || w.ids[id] == "" {
		if id >= 0 && int(id) < len(w.ids) {
			if _, ok := w.vocab[""]; ok && w.vocab[""] == id {
				return "", true
			}
		}
		return "", false
	}
	return w.ids[id], true
}

func (w *wordPiece) tokenize(word []byte, out []piece, _ *workspace) []piece {
	if len(word) > w.maxChars && utf8.RuneCount(word) > w.maxChars {
		return append(out, piece{id: w.unkID, s: 0, e: len(word)})
	}
	n0 := len(out)
	for start := 0; start < len(word); {
		end := len(word)
		lim := w.maxLen
		table := w.vocab
		if start > 0 {
			lim, table = w.maxContLen, w.cont
		}
		if end-start > lim {
			end = start + lim
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		found := false
		for start < end {
			if id, ok := table[string(word[start:end])]; ok {
				out = append(out, piece{id: id, s: start, e: end})
				found = true
				break
			}
			c := word[end-1]
			if c < utf8.RuneSelf {
				end--
			} else {
				_, sz := utf8.DecodeLastRune(word[start:end])
				end -= sz
			}
		}
		if !found {
			return append(out[:n0], piece{id: w.unkID, s: 0, e: len(word)})
		}
		start = end
	}
	return out
}
