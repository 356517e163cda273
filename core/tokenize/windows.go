package tokenize

import "fmt"

// Paper defaults for long inputs (OpenMed NER §3: 256-token windows with a
// 50-token overlap, for training and inference).
const (
	DefaultWindowLen = 256
	DefaultStride    = 50
)

// Window is one window of a long encoding: a complete Encoding (the
// post-processor's special tokens re-added around the slice, as HF does for
// return_overflowing_tokens) plus the content range [Start, End) it covers,
// as token indices of the source encoding.
type Window struct {
	*Encoding
	Start, End int
}

// content locates the post-processor specials around the single sequence.
func content(enc *Encoding) (pre, post int, err error) {
	n := enc.Len()
	for i := 0; i < n; i++ {
		if enc.AttentionMask[i] == 0 {
			return 0, 0, fmt.Errorf("tokenize: window an unpadded encoding (token %d is padding)", i)
		}
	}
	for pre < n && enc.SequenceIDs[pre] < 0 {
		pre++
	}
	post = n
	for post > pre && enc.SequenceIDs[post-1] < 0 {
		post--
	}
	for i := pre; i < post; i++ {
		if enc.SequenceIDs[i] != enc.SequenceIDs[pre] {
			return 0, 0, fmt.Errorf("tokenize: cannot window a pair encoding (sequence change at token %d)", i)
		}
	}
	return pre, post, nil
}

func makeWindow(enc *Encoding, pre, post, s, e int) Window {
	w := &Encoding{}
	w.grow(pre + (e - s) + (enc.Len() - post))
	w.appendRange(enc, 0, pre)
	w.appendRange(enc, s, e)
	w.appendRange(enc, post, enc.Len())
	return Window{Encoding: w, Start: s, End: e}
}

func windowSize(enc *Encoding, maxLen, stride, pre, post int) (int, error) {
	size := maxLen - pre - (enc.Len() - post)
	if stride < 0 || size <= stride {
		return 0, fmt.Errorf("tokenize: window of %d tokens (%d for content) must exceed the stride %d", maxLen, size, stride)
	}
	return size, nil
}

// Windows splits an encoding (made with special tokens, unpadded, single
// sequence) into windows of at most maxLen tokens, specials included, the way
// HF's truncation with return_overflowing_tokens and stride does: content
// windows of size maxLen - #specials start every size - stride tokens, so
// consecutive windows share exactly stride tokens, and the last one ends at
// the end. Every window carries the source ids, offsets and word ids
// unchanged. An encoding that fits gives one window.
func Windows(enc *Encoding, maxLen, stride int) ([]Window, error) {
	pre, post, err := content(enc)
	if err != nil {
		return nil, err
	}
	size, err := windowSize(enc, maxLen, stride, pre, post)
	if err != nil {
		return nil, err
	}
	var out []Window
	for s := pre; ; s += size - stride {
		e := min(s+size, post)
		out = append(out, makeWindow(enc, pre, post, s, e))
		if e >= post {
			return out, nil
		}
	}
}

// WordAlignedWindows is Windows that never cuts a word's sub-tokens across a
// window edge where possible: a window's end moves back to the start of the
// word it would cut (unless that word alone exceeds the window, which is
// then cut), and the next window starts at the first word start at or after
// end - stride, so consecutive windows share at most stride tokens (exactly
// stride when that position is a word start) and always make progress. The
// tagger and trainer prefer it: each word is whole in at least one window.
func WordAlignedWindows(enc *Encoding, maxLen, stride int) ([]Window, error) {
	pre, post, err := content(enc)
	if err != nil {
		return nil, err
	}
	size, err := windowSize(enc, maxLen, stride, pre, post)
	if err != nil {
		return nil, err
	}
	boundary := func(i int) bool {
		return i <= pre || i >= post || enc.WordIDs[i] != enc.WordIDs[i-1] || enc.WordIDs[i] < 0
	}
	var out []Window
	for s := pre; ; {
		e := min(s+size, post)
		if e < post {
			b := e
			for b > s && !boundary(b) {
				b--
			}
			if b > s {
				e = b
			}
		}
		out = append(out, makeWindow(enc, pre, post, s, e))
		if e >= post {
			return out, nil
		}
		ns := max(e-stride, s+1)
		for ns < e && !boundary(ns) {
			ns++
		}
		s = ns
	}
}
