package training

import (
	"fmt"

	"github.com/openmed/openmed/core/tokenize"
)

// wordWindow is one window of an encoded sentence with its word ownership.
type wordWindow struct {
	ids []int32
	// words[i] is the word of position i (-1 for specials).
	words []int
	// owned[i] is the word read at position i (its first sub-token, when this
	// window owns the word), else -1.
	owned []int
	// ownsWord[w] reports whether this window owns word w.
	ownsWord map[int]bool
}

// encodeWords encodes pre-split words and cuts them into word-aligned windows
// of at most maxLen tokens with stride overlap, assigning every word that
// has at least one sub-token to exactly one window (windowOwners). A word
// with no sub-token at all (e.g. one made only of characters the normaliser
// strips) is owned by no window: prediction gives it "O".
func encodeWords(tok *tokenize.Tokenizer, words []string, maxLen, stride int) ([]wordWindow, error) {
	enc, err := tok.EncodeWords(words)
	if err != nil {
		return nil, err
	}
	wins, err := tokenize.WordAlignedWindows(enc, maxLen, stride)
	if err != nil {
		return nil, err
	}
	owner, err := windowOwners(enc, wins, len(words))
	if err != nil {
		return nil, err
	}
	out := make([]wordWindow, len(wins))
	for k, w := range wins {
		pre := 0
		for pre < w.Len() && w.SequenceIDs[pre] < 0 {
			pre++
		}
		ww := wordWindow{ids: w.IDs, words: w.WordIDs, owned: make([]int, w.Len()), ownsWord: map[int]bool{}}
		for i := range ww.owned {
			ww.owned[i] = -1
		}
		for wid, o := range owner {
			if o.window == k {
				ww.owned[pre+o.first-w.Start] = wid
				ww.ownsWord[wid] = true
			}
		}
		out[k] = ww
	}
	return out, nil
}

// wordOwner is the window that predicts a word and the word's first
// sub-token index in the source encoding.
type wordOwner struct{ window, first int }

// windowOwners picks, for every word, the window whose prediction counts:
// among the windows containing the word's first sub-token, the one where the
// word sits farthest from a cut edge — distance min(first − Start,
// End − 1 − last) with last the word's last sub-token inside the window, an
// edge that is the sentence's own start or end counting as infinitely far
// (no context is lost there). Ties go to the earlier window. Words without
// sub-tokens get window −1.
func windowOwners(enc *tokenize.Encoding, wins []tokenize.Window, nWords int) ([]wordOwner, error) {
	first := make([]int, nWords)
	last := make([]int, nWords)
	for i := range first {
		first[i], last[i] = -1, -1
	}
	lo, hi := len(enc.IDs), 0
	for i, w := range enc.WordIDs {
		if w < 0 {
			continue
		}
		if w >= nWords {
			return nil, fmt.Errorf("tokenizer word id %d out of range (%d words)", w, nWords)
		}
		if first[w] < 0 {
			first[w] = i
		}
		last[w] = i
		lo, hi = min(lo, i), max(hi, i+1)
	}
	const far = 1 << 30
	out := make([]wordOwner, nWords)
	for w := range out {
		out[w] = wordOwner{window: -1, first: first[w]}
		if first[w] < 0 {
			continue
		}
		best := -1
		for k, win := range wins {
			if first[w] < win.Start || first[w] >= win.End {
				continue
			}
			left, right := first[w]-win.Start, win.End-1-min(last[w], win.End-1)
			if win.Start <= lo {
				left = far
			}
			if win.End >= hi {
				right = far
			}
			if d := min(left, right); d > best {
				best, out[w].window = d, k
			}
		}
	}
	return out, nil
}
